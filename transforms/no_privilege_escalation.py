"""no-privilege-escalation: allowPrivilegeEscalation: false in every container (practice 2)."""

from kfix.ops import Set

from kfix.rules.base import Fix, Pod, Rule, sc_path
from kfix.rules.drop_capabilities import cap_name


class NoPrivilegeEscalation(Rule):
    id = "no-privilege-escalation"
    summary = "allowPrivilegeEscalation: false"
    level = "container"
    profiles = ("restricted", "hardened")
    safe_fix = "add allowPrivilegeEscalation: false"
    unsafe_fix = "true -> false"
    checks = {"ape": ("checkov:CKV_K8S_20", "kube-linter:privilege-escalation-container",
                      "polaris:privilegeEscalationAllowed")}

    def check(self, pod: Pod):
        for c in pod.containers():
            sc = c.security_context
            value = sc.get("allowPrivilegeEscalation")
            if value is False:
                continue
            path = sc_path(c.path) + ("allowPrivilegeEscalation",)
            caps = sc.get("capabilities") if isinstance(sc.get("capabilities"), dict) else {}
            added = caps.get("add") if isinstance(caps.get("add"), list) else []
            if sc.get("privileged") is True or "SYS_ADMIN" in map(cap_name, added):
                why = "privileged: true" if sc.get("privileged") is True else "CAP_SYS_ADMIN"
                yield self.finding("ape", f"container {c.name} may escalate privileges; Kubernetes rejects "
                                   f"allowPrivilegeEscalation: false together with {why}", Fix.REPORT, path, c)
                continue
            fix = Fix.UNSAFE if value is True else Fix.SAFE
            yield self.finding("ape", f"container {c.name} allows privilege escalation", fix, path, c,
                               [Set(path, False)])
