"""no-service-account-token: automountServiceAccountToken: false (practice 5; STRIDE 2.2).

A pod whose service account is bound to a Role or ClusterRole in the files being fixed needs its
token: that is reported (with the binding), not fixed.
"""

from kfix.ops import Set

from kfix.rules.base import Fix, Pod, Rule, odd_value


def service_account(pod: Pod) -> str:
    spec = pod.spec
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")


def binding_for(pod: Pod) -> str | None:
    """Where the pod's service account is bound to a role, if it is (in the files of this run)."""
    name = service_account(pod)
    for (ns, sa), where in pod.bound_service_accounts.items():
        if sa == name and (ns is None or pod.namespace is None or ns == pod.namespace):
            return where
    return None


class NoServiceAccountToken(Rule):
    id = "no-service-account-token"
    summary = "automountServiceAccountToken: false unless the service account is bound to a role"
    level = "pod"
    profiles = ("hardened",)
    safe_fix = "add automountServiceAccountToken: false"
    unsafe_fix = "true -> false"
    checks = {"automount": ("checkov:CKV_K8S_38", "polaris:automountServiceAccountToken"),
              "bound": ("checkov:CKV_K8S_38", "polaris:automountServiceAccountToken")}

    def check(self, pod: Pod):
        value = pod.spec.get("automountServiceAccountToken")
        if value is False:
            return
        path = pod.path + ("automountServiceAccountToken",)
        bound = binding_for(pod)
        if bound:
            yield self.finding("bound", f"service account {service_account(pod)} is bound to a role ({bound}); "
                               "it keeps its token (consider a projected token with expirationSeconds and "
                               "audience)", Fix.REPORT, path)
            return
        odd = odd_value(pod.spec, "automountServiceAccountToken")
        fix = Fix.UNSAFE if value is True or odd else Fix.SAFE
        message = "pod mounts a service account token it does not need"
        if odd:
            message += f" (automountServiceAccountToken is {value!r}, not a boolean)"
        yield self.finding("automount", message, fix, path, ops=[Set(path, False)])
