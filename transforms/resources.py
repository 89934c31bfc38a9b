"""resources: CPU and memory requests and limits on every container (practice 4; STRIDE 6.1/6.4).

Only what is missing is filled in; a value a person wrote is never lowered, and a filled-in default
never breaks request <= limit (it takes the other side's value instead).
"""

from kfix.ops import Set

from kfix.rules.base import Fix, Pod, Rule
from kfix.rules.quantities import parse_quantity

_FACETS = {
    ("requests", "cpu"): ("checkov:CKV_K8S_10", "kube-linter:unset-cpu-requirements", "polaris:cpuRequestsMissing"),
    ("limits", "cpu"): ("checkov:CKV_K8S_11", "kube-linter:unset-cpu-requirements", "polaris:cpuLimitsMissing"),
    ("requests", "memory"): ("checkov:CKV_K8S_12", "kube-linter:unset-memory-requirements",
                             "polaris:memoryRequestsMissing"),
    ("limits", "memory"): ("checkov:CKV_K8S_13", "kube-linter:unset-memory-requirements",
                           "polaris:memoryLimitsMissing"),
}


class Resources(Rule):
    id = "resources"
    summary = "resources.requests and resources.limits for cpu and memory"
    level = "container"
    profiles = ("hardened",)
    safe_fix = "add the missing requests/limits (configurable defaults)"
    unsafe_fix = "-"
    checks = {f"{section}.{res}": ids for (section, res), ids in _FACETS.items()}

    def check(self, pod: Pod):
        defaults = {"requests": pod.settings.requests, "limits": pod.settings.limits}
        for c in pod.containers():
            if c.ephemeral:  # the API forbids resources on ephemeral containers
                continue
            res = c.data.get("resources") if isinstance(c.data.get("resources"), dict) else {}
            have = {s: (res.get(s) if isinstance(res.get(s), dict) else {}) for s in ("requests", "limits")}
            for section, name in _FACETS:
                if name in have[section]:
                    continue
                value = defaults[section].get(name)
                if value is None:
                    continue
                other = "limits" if section == "requests" else "requests"
                theirs = parse_quantity(have[other].get(name))
                mine = parse_quantity(value)
                if theirs is not None and mine is not None and (
                        (section == "limits" and mine < theirs) or (section == "requests" and mine > theirs)):
                    value = have[other][name]
                path = c.path + ("resources", section, name)
                yield self.finding(f"{section}.{name}", f"container {c.name} has no {name} {section[:-1]}",
                                   Fix.SAFE, path, c, [Set(path, value)])
