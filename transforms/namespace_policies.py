"""Namespace-level findings (report only): no NetworkPolicy (STRIDE 6.4), no ResourceQuota (STRIDE 6.1).

Judged within the pod's deployment unit (its Kustomize build, or its folder): a namespace with pods
but without such an object there. Reported once per namespace and unit (the first pod stands for it).
"""

from kfix.rules.base import Fix, Pod, Rule


def _ns(pod: Pod) -> str:
    return pod.namespace or "(no namespace set)"


def _where(pod: Pod) -> str:
    return f"in its {pod.inventory.unit}" if pod.inventory.unit else "in these files"


class NetworkPolicy(Rule):
    id = "network-policy"
    summary = "each namespace with pods has a NetworkPolicy in its deployment unit (report only)"
    level = "pod"
    profiles = ("hardened",)
    checks = {"namespace": ("polaris:missingNetworkPolicy",)}

    def check(self, pod: Pod):
        if pod.namespace not in pod.inventory.network_policies:
            yield self.finding("namespace", f"namespace {_ns(pod)} has no NetworkPolicy {_where(pod)}",
                               Fix.REPORT, pod.path)


class ResourceQuota(Rule):
    id = "resource-quota"
    summary = "each namespace with pods has a ResourceQuota in its deployment unit (report only)"
    level = "pod"
    profiles = ("hardened",)
    checks = {"namespace": ()}

    def check(self, pod: Pod):
        if pod.namespace not in pod.inventory.resource_quotas:
            yield self.finding("namespace", f"namespace {_ns(pod)} has no ResourceQuota {_where(pod)}",
                               Fix.REPORT, pod.path)
