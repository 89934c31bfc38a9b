"""Namespace-level findings (report only): no NetworkPolicy (STRIDE 6.4), no ResourceQuota (STRIDE 6.1).

Judged within the pod's deployment unit (its Kustomize build, or its folder): a namespace with pods
but without such an object there. Reported once per namespace and unit (the first pod stands for it).
"""

from kfix.rules.base import Fix, Pod, Rule


def _ns(pod: Pod, namespace: str | None) -> str:
    if namespace is None:
        return "(no namespace set)"
    return namespace if namespace == pod.namespace else f"{namespace} (set by its Kustomize build)"


def _where(pod: Pod) -> str:
    return f"in its {pod.inventory.unit}" if pod.inventory.unit else "in these files"


class NetworkPolicy(Rule):
    id = "network-policy"
    summary = "each namespace with pods has a NetworkPolicy in its deployment unit (report only)"
    level = "pod"
    profiles = ("hardened",)
    checks = {"namespace": ("polaris:missingNetworkPolicy",)}

    def check(self, pod: Pod):
        for namespace in pod.namespaces:
            if namespace not in pod.inventory.network_policies:
                yield self.finding("namespace", f"namespace {_ns(pod, namespace)} has no NetworkPolicy {_where(pod)}",
                                   Fix.REPORT, pod.path)


class ResourceQuota(Rule):
    id = "resource-quota"
    summary = "each namespace with pods has a ResourceQuota in its deployment unit (report only)"
    level = "pod"
    profiles = ("hardened",)
    checks = {"namespace": ()}

    def check(self, pod: Pod):
        for namespace in pod.namespaces:
            if namespace not in pod.inventory.resource_quotas:
                yield self.finding("namespace", f"namespace {_ns(pod, namespace)} has no ResourceQuota {_where(pod)}",
                                   Fix.REPORT, pod.path)
