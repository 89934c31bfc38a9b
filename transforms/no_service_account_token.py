"""no-service-account-token: automountServiceAccountToken: false (practice 5; STRIDE 2.2).

A pod whose service account is bound to a Role or ClusterRole in its deployment unit needs its
token: that is reported (with the binding), not fixed. Binding the namespace's ``default`` service
account is a finding of its own (every pod without a service account of its own gets those rights).
"""

from kfix.ops import Set

from kfix.rules.base import Fix, Pod, Rule, odd_value


def service_account(pod: Pod) -> str:
    spec = pod.spec
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")


def binding_for(pod: Pod) -> tuple[str, str] | None:
    """The pod's service account that is bound to a role (in the pod's deployment unit) and where, if one is:
    the one it names, or one a Kustomize patch of its builds gives it."""
    namespaces = pod.namespaces
    accounts = [(service_account(pod), "")] + [
        (sa, f" (set by the patch {via})") for sa, via in pod.inventory.service_accounts.get((pod.kind, pod.name), ())]
    for name, how in accounts:
        for (ns, sa), where in pod.bound_service_accounts.items():
            if sa == name and (ns is None or any(n is None or ns == n for n in namespaces)):
                return f"{name}{how}", where
    return None


class NoServiceAccountToken(Rule):
    id = "no-service-account-token"
    summary = "automountServiceAccountToken: false unless the service account is bound to a role in its unit"
    level = "pod"
    profiles = ("hardened",)
    safe_fix = "add automountServiceAccountToken: false"
    unsafe_fix = "true -> false"
    checks = {"automount": ("checkov:CKV_K8S_38", "polaris:automountServiceAccountToken",
                            "kubeaudit:allow-automount-service-account-token"),
              "bound": ("checkov:CKV_K8S_38", "polaris:automountServiceAccountToken",
                        "kubeaudit:allow-automount-service-account-token"),
              "default-sa": ("kubeaudit:allow-automount-service-account-token",)}

    def check(self, pod: Pod):
        value = pod.spec.get("automountServiceAccountToken")
        if value is False:
            return
        path = pod.path + ("automountServiceAccountToken",)
        found = binding_for(pod)
        if found:
            account, bound = found
            yield self.finding("bound", f"service account {account} is bound to a role ({bound}); "
                               "it keeps its token (consider a projected token with expirationSeconds and "
                               "audience)", Fix.REPORT, path)
            if account == "default":
                yield self.finding("default-sa", f"the default service account is bound to a role ({bound}): "
                                   "every pod of the namespace without its own service account gets those rights; "
                                   "give this workload a service account of its own", Fix.REPORT, path)
            return
        odd = odd_value(pod.spec, "automountServiceAccountToken")
        fix = Fix.UNSAFE if value is True or odd else Fix.SAFE
        message = "pod mounts a service account token it does not need"
        if odd:
            message += f" (automountServiceAccountToken is {value!r}, not a boolean)"
        yield self.finding("automount", message, fix, path, ops=[Set(path, False)])
