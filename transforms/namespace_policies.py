"""Namespace-level findings (report only): no NetworkPolicy (STRIDE 6.4), no ResourceQuota (STRIDE 6.1).

Judged on the files of the run: a namespace with pods but without such an object in these files.
Reported once per namespace (the first pod found stands for it).
"""

from kfix.rules.base import Fix, Pod, Rule


def _ns(pod: Pod) -> str:
    return pod.namespace or "(no namespace set)"


class NetworkPolicy(Rule):
    id = "network-policy"
    summary = "each namespace with pods has a NetworkPolicy in the same files (report only)"
    level = "pod"
    profiles = ("hardened",)
    checks = {"namespace": ("polaris:missingNetworkPolicy",)}

    def check(self, pod: Pod):
        if pod.namespace not in pod.inventory.network_policies:
            yield self.finding("namespace", f"namespace {_ns(pod)} has no NetworkPolicy in these files",
                               Fix.REPORT, pod.path)


class ResourceQuota(Rule):
    id = "resource-quota"
    summary = "each namespace with pods has a ResourceQuota in the same files (report only)"
    level = "pod"
    profiles = ("hardened",)
    checks = {"namespace": ()}

    def check(self, pod: Pod):
        if pod.namespace not in pod.inventory.resource_quotas:
            yield self.finding("namespace", f"namespace {_ns(pod)} has no ResourceQuota in these files",
                               Fix.REPORT, pod.path)
