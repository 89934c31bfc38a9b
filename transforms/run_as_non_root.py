"""run-as-non-root: runAsNonRoot, a high runAsUser/runAsGroup, fsGroup with volumes (practice 3).

Container-level values win in Kubernetes, so a container that explicitly runs as root (``runAsUser: 0``,
or ``runAsNonRoot: false`` without a user, on the container or the pod) blocks a pod-level
``runAsNonRoot: true`` (it would not start) and a pod-level ``runAsUser`` (it would run as another
user): that is reported, or fixed with unsafe fixes. ``runAsGroup`` and ``fsGroup`` are added only
next to a ``runAsUser`` kfix sets itself.
"""

from kfix.ops import Set

from kfix.rules.base import Fix, Pod, Rule, runs_as_root, sc_path

_CHECKS = ("checkov:CKV_K8S_23", "kube-linter:run-as-non-root", "polaris:runAsRootAllowed", "kubeaudit:allow-run-as-root")


class RunAsNonRoot(Rule):
    id = "run-as-non-root"
    summary = "runAsNonRoot: true, runAsUser/runAsGroup (10001), fsGroup when volumes are mounted"
    level = "pod"
    profiles = ("restricted", "hardened")
    safe_fix = "add runAsNonRoot, runAsUser, runAsGroup, fsGroup"
    unsafe_fix = "runAsNonRoot: false / runAsUser: 0 -> hardened values"
    # an exemption that allows root also covers the UID fix; a high-UID exemption covers only the UID
    checks = {"non-root": _CHECKS, "container-root": _CHECKS, "uid": ("checkov:CKV_K8S_40", *_CHECKS),
              "low-uid": ("checkov:CKV_K8S_40",)}

    def check(self, pod: Pod):
        s = pod.settings
        containers = list(pod.containers())
        # containers the manifest says run as root; in safe mode nothing added at pod level may change that
        root = [] if pod.unsafe_fixes else [c for c in containers if runs_as_root(pod, c)]
        for c in containers:
            sc = c.security_context
            ops = []
            if sc.get("runAsNonRoot") is False:
                ops.append(Set(sc_path(c.path) + ("runAsNonRoot",), True))
            if sc.get("runAsUser") == 0:
                ops.append(Set(sc_path(c.path) + ("runAsUser",), s.run_as_user))
            if ops:
                yield self.finding("container-root", f"container {c.name} explicitly runs as root", Fix.UNSAFE,
                                   sc_path(c.path), c, ops)
            elif isinstance(sc.get("runAsUser"), int) and 0 < sc["runAsUser"] < 10000:
                yield self.finding("low-uid", f"container {c.name} runs as UID {sc['runAsUser']} (below 10000, "
                                   "may collide with host users)", Fix.REPORT, sc_path(c.path) + ("runAsUser",), c)
        if pod.windows:
            return
        psc = pod.security_context
        base = sc_path(pod.path)
        unsafe, safe = [], []
        # a pod-level value takes effect on every container that does not set its own
        flag_blocked = [c.name for c in root if c.security_context.get("runAsNonRoot") is not False]
        user_blocked = [c.name for c in root if c.security_context.get("runAsUser") is None]
        if psc.get("runAsNonRoot") is False:
            unsafe.append(Set(base + ("runAsNonRoot",), True))
        elif "runAsNonRoot" not in psc and not all(c.security_context.get("runAsNonRoot") is True
                                                   for c in containers):
            if flag_blocked:
                yield self.finding("non-root", "pod-level runAsNonRoot not added: container(s) "
                                   f"{', '.join(flag_blocked)} explicitly run as root", Fix.REPORT, base)
            else:
                safe.append(Set(base + ("runAsNonRoot",), True))
        uid = psc.get("runAsUser")
        if uid == 0:
            unsafe.append(Set(base + ("runAsUser",), s.run_as_user))
        elif uid is None and not all(c.security_context.get("runAsUser") is not None for c in containers):
            if user_blocked:
                yield self.finding("non-root", "pod-level runAsUser not added: it would make container(s) "
                                   f"{', '.join(user_blocked)}, which explicitly run as root, run as another "
                                   "user", Fix.REPORT, base)
            else:
                safe.append(Set(base + ("runAsUser",), s.run_as_user))
        elif isinstance(uid, int) and 0 < uid < 10000:
            yield self.finding("low-uid", f"pod runs as UID {uid} (below 10000, may collide with host users)",
                               Fix.REPORT, base + ("runAsUser",))
        # the group and the volume group go only with a user kfix sets: next to a person's UID they are
        # guesses that can lock the process out of its own files
        sets_user = any(op.path[-1] == "runAsUser" for op in unsafe + safe)
        if sets_user and "runAsGroup" not in psc and not all("runAsGroup" in c.security_context
                                                              for c in containers):
            (unsafe if uid == 0 else safe).append(Set(base + ("runAsGroup",), s.run_as_group))
        if sets_user and "fsGroup" not in psc and _needs_fs_group(pod):
            (unsafe if uid == 0 else safe).append(Set(base + ("fsGroup",), s.fs_group))
        if unsafe:
            yield self.finding("non-root", "pod runs as root", Fix.UNSAFE, base, ops=unsafe)
        flag = [op for op in safe if op.path[-1] == "runAsNonRoot"]
        ids = [op for op in safe if op.path[-1] != "runAsNonRoot"]
        if flag:
            yield self.finding("non-root", "pod does not require a non-root user", Fix.SAFE, base, ops=flag)
        if ids:
            names = ", ".join(op.path[-1] for op in ids)
            yield self.finding("uid", f"pod does not set {names}", Fix.SAFE, base, ops=ids)


def _needs_fs_group(pod: Pod) -> bool:
    """Volumes whose files the pod's group must own (an emptyDir is writable by anyone)."""
    volumes = pod.spec.get("volumes")
    return isinstance(volumes, list) and any(isinstance(v, dict) and "emptyDir" not in v for v in volumes)
