"""drop-capabilities: drop ALL capabilities; add back none but NET_BIND_SERVICE (practice 7).

Root keeps its default capabilities only as long as nothing drops them: a container that explicitly
runs as root, adds file-ownership capabilities (CHOWN, DAC_OVERRIDE, FOWNER, SETUID, ...) or runs
``chown``/``chmod`` does that work on purpose, and ``drop: [ALL]`` would make it fail. There dropping
ALL is an unsafe fix.
"""

import re

from kfix.ops import Append, Discard

from kfix.rules.base import Container, Fix, Pod, Rule, runs_as_root, sc_path

# Capabilities the PSS baseline level still allows a container to add.
BASELINE_CAPS = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                           "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})


# Capabilities that change file ownership, permissions or the process's user: the work of permission fixers.
OWNERSHIP_CAPS = frozenset({"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "SETUID", "SETGID"})
_OWNERSHIP_COMMAND = re.compile(r"(?<![\w-])(chown|chmod|chgrp|setfacl)(?![\w-])")


def cap_name(value: object) -> str:
    return str(value).upper().removeprefix("CAP_")


def needs_root_capabilities(pod: Pod, c: Container, added: list) -> str | None:
    """Why this container relies on root's capabilities (None when nothing says it does)."""
    if runs_as_root(pod, c):
        return "explicitly runs as root"
    kept = sorted({cap_name(cap) for cap in added} & OWNERSHIP_CAPS)
    if kept:
        return f"adds {', '.join(kept)}"
    for key in ("command", "args"):
        words = c.data.get(key)
        for word in words if isinstance(words, list) else [words]:
            m = _OWNERSHIP_COMMAND.search(word) if isinstance(word, str) else None
            if m:
                return f"runs {m.group(1)}"
    return None


class DropCapabilities(Rule):
    id = "drop-capabilities"
    summary = "capabilities.drop contains ALL; no added capabilities but NET_BIND_SERVICE"
    level = "container"
    profiles = ("baseline", "restricted", "hardened")
    safe_fix = "add drop: [ALL] (or ALL to an existing drop list)"
    unsafe_fix = "remove added capabilities other than NET_BIND_SERVICE"
    checks = {
        "drop-all": ("checkov:CKV_K8S_37", "checkov:CKV_K8S_28", "kube-linter:drop-net-raw-capability",
                     "polaris:insecureCapabilities"),
        "added": ("checkov:CKV_K8S_25", "checkov:CKV_K8S_39", "polaris:dangerousCapabilities"),
        "kept": ("checkov:CKV_K8S_25",),
    }

    def check(self, pod: Pod):
        if pod.windows:
            return
        baseline = pod.profile == "baseline"
        allowed = BASELINE_CAPS if baseline else frozenset(map(cap_name, pod.settings.allowed_capabilities))
        for c in pod.containers():
            caps = c.security_context.get("capabilities")
            caps = caps if isinstance(caps, dict) else {}
            base = sc_path(c.path) + ("capabilities",)
            drop = caps.get("drop") if isinstance(caps.get("drop"), list) else []
            added = caps.get("add") if isinstance(caps.get("add"), list) else []
            if not baseline and "ALL" not in drop:
                spelled = next((cap for cap in drop if cap_name(cap) == "ALL"), None)
                if spelled is not None:  # the runtime drops all; admission and scanners want "ALL" as written
                    yield self.finding("drop-all", f"container {c.name} drops {spelled!r}, not 'ALL': Pod Security "
                                       "admission (restricted) and scanners accept only 'ALL' as written (the "
                                       "container runtime reads both alike, so adding 'ALL' changes nothing it "
                                       "runs with)", Fix.SAFE, base + ("drop",), c, [Append(base + ("drop",), "ALL")])
                else:
                    message = f"container {c.name} does not drop ALL capabilities"
                    why = needs_root_capabilities(pod, c, added)
                    if why:
                        message += f"; it {why}, so dropping them may stop its work (unsafe fix)"
                    yield self.finding("drop-all", message, Fix.UNSAFE if why else Fix.SAFE,
                                       base, c, [Append(base + ("drop",), "ALL")])
            bad = [cap for cap in added if cap_name(cap) not in allowed or cap_name(cap) == "ALL"]
            for cap in bad:  # one finding each: an exemption (kubeaudit's) may allow one capability
                yield self.with_checks(
                    self.finding("added", f"container {c.name} adds capability {cap}", Fix.UNSAFE,
                                 base + ("add",), c, [Discard(base + ("add",), cap)]),
                    f"kubeaudit:allow-capability-{cap_name(cap).lower().replace('_', '-')}")
            kept = [cap for cap in added if cap not in bad]
            for cap in kept:
                yield from self._spelling(c, cap, base + ("add",))
            if kept and not baseline:
                yield self.finding("kept", f"container {c.name} adds {', '.join(map(str, kept))} (allowed by the "
                                   "restricted profile; scanners may still flag it)", Fix.REPORT, base + ("add",), c)

    def _spelling(self, c: Container, cap: object, at: tuple):
        """An allowed capability spelled otherwise than Kubernetes names it: Pod Security admission compares
        the names exactly, so ``net_bind_service`` or ``CAP_NET_BIND_SERVICE`` is refused where
        ``NET_BIND_SERVICE`` is allowed. Reported, not fixed: runtimes upper-case a name but differ on a
        ``CAP_`` prefix, and rewriting one item of a list would tie this to the container's other fixes."""
        if not isinstance(cap, str) or cap == cap_name(cap):
            return
        name = cap_name(cap)
        how = "container runtimes read both alike" if cap.upper() == name else \
            "Kubernetes names capabilities without the CAP_ prefix, and container runtimes differ in how they read it"
        yield self.finding("spelling", f"container {c.name} adds capability {cap!r}: Pod Security admission accepts "
                           f"only {name!r} as written ({how}); write {name!r}", Fix.REPORT, at, c)
