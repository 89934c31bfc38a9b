"""no-host-namespaces: pods do not share the node's network, PID or IPC namespace (STRIDE 9)."""

from kfix.ops import Set

from kfix.rules.base import Fix, Pod, Rule

_FIELDS = {
    "hostNetwork": ("checkov:CKV_K8S_19", "kube-linter:host-network", "polaris:hostNetworkSet",
                    "kubeaudit:allow-namespace-host-network"),
    "hostPID": ("checkov:CKV_K8S_17", "kube-linter:host-pid", "polaris:hostPIDSet", "kubeaudit:allow-namespace-host-PID"),
    "hostIPC": ("checkov:CKV_K8S_18", "kube-linter:host-ipc", "polaris:hostIPCSet", "kubeaudit:allow-namespace-host-IPC"),
}


class NoHostNamespaces(Rule):
    id = "no-host-namespaces"
    summary = "no hostNetwork, hostPID or hostIPC set to true"
    level = "pod"
    profiles = ("baseline", "restricted", "hardened")
    safe_fix = "-"
    unsafe_fix = "true -> false"
    checks = dict(_FIELDS)

    def check(self, pod: Pod):
        for name in _FIELDS:
            if pod.spec.get(name) is True:
                path = pod.path + (name,)
                yield self.finding(name, f"pod shares the node's namespace ({name}: true)", Fix.UNSAFE, path,
                                   ops=[Set(path, False)])
