"""no-privilege-escalation: allowPrivilegeEscalation: false in every container (practice 2)."""

from kfix.ops import Set

from kfix.rules.base import Fix, Pod, Rule, odd_value, sc_path
from kfix.rules.drop_capabilities import cap_name


class NoPrivilegeEscalation(Rule):
    id = "no-privilege-escalation"
    summary = "allowPrivilegeEscalation: false"
    level = "container"
    profiles = ("restricted", "hardened")
    safe_fix = "add allowPrivilegeEscalation: false"
    unsafe_fix = "true -> false"
    checks = {"ape": ("checkov:CKV_K8S_20", "kube-linter:privilege-escalation-container",
                      "polaris:privilegeEscalationAllowed", "kubeaudit:allow-privilege-escalation")}

    def check(self, pod: Pod):
        for c in pod.containers():
            sc = c.security_context
            value = sc.get("allowPrivilegeEscalation")
            if value is False:
                continue
            path = sc_path(c.path) + ("allowPrivilegeEscalation",)
            caps = sc.get("capabilities") if isinstance(sc.get("capabilities"), dict) else {}
            added = caps.get("add") if isinstance(caps.get("add"), list) else []
            privileged = sc.get("privileged") is True or odd_value(sc, "privileged")
            if privileged or "SYS_ADMIN" in map(cap_name, added):
                why = "CAP_SYS_ADMIN" if not privileged else \
                    "privileged: true" if sc.get("privileged") is True else f"privileged: {sc.get('privileged')!r}"
                yield self.finding("ape", f"container {c.name} may escalate privileges; Kubernetes rejects "
                                   f"allowPrivilegeEscalation: false together with {why}", Fix.REPORT, path, c)
                continue
            if odd_value(sc, "allowPrivilegeEscalation"):
                yield self.finding("ape", f"container {c.name} sets allowPrivilegeEscalation to {value!r}, not a "
                                   "boolean", Fix.UNSAFE, path, c, [Set(path, False)])
                continue
            fix = Fix.UNSAFE if value is True else Fix.SAFE
            yield self.finding("ape", f"container {c.name} allows privilege escalation", fix, path, c,
                               [Set(path, False)])
