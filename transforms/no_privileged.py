"""no-privileged: containers do not run privileged (STRIDE 7.2; PSS baseline)."""

from kfix.ops import Set

from kfix.rules.base import Fix, Pod, Rule, sc_path


class NoPrivileged(Rule):
    id = "no-privileged"
    summary = "containers are not privileged (privileged: false)"
    level = "container"
    profiles = ("baseline", "restricted", "hardened")
    safe_fix = "-"
    unsafe_fix = "privileged: true -> false"
    checks = {"privileged": ("checkov:CKV_K8S_16", "kube-linter:privileged-container", "polaris:runAsPrivileged",
                                "kubeaudit:allow-privileged")}

    def check(self, pod: Pod):
        for c in pod.containers():
            if c.security_context.get("privileged") is True:
                path = sc_path(c.path) + ("privileged",)
                yield self.finding("privileged", f"container {c.name} runs privileged", Fix.UNSAFE, path, c,
                                   [Set(path, False)])
