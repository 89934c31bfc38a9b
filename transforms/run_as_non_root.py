"""run-as-non-root: runAsNonRoot, a high runAsUser/runAsGroup, fsGroup with volumes (practice 3).

Container-level values win in Kubernetes, so a container that explicitly runs as root blocks the
pod-level ``runAsNonRoot: true`` (it would not start), and a pod-level ``runAsUser`` would move it off
root when it names no user itself: both are reported, or fixed with unsafe fixes.
"""

from kfix.ops import Set

from kfix.rules.base import Fix, Pod, Rule, sc_path

_CHECKS = ("checkov:CKV_K8S_23", "kube-linter:run-as-non-root", "polaris:runAsRootAllowed")


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
        root_containers = []
        for c in pod.containers():
            sc = c.security_context
            ops = []
            if sc.get("runAsNonRoot") is False:
                ops.append(Set(sc_path(c.path) + ("runAsNonRoot",), True))
            if sc.get("runAsUser") == 0:
                ops.append(Set(sc_path(c.path) + ("runAsUser",), s.run_as_user))
            if ops:
                if not pod.unsafe_fixes:
                    root_containers.append(c.name)
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
        if psc.get("runAsNonRoot") is False:
            unsafe.append(Set(base + ("runAsNonRoot",), True))
        elif "runAsNonRoot" not in psc and not all(c.security_context.get("runAsNonRoot") is True
                                                   for c in pod.containers()):
            if root_containers:
                yield self.finding("non-root", "pod-level runAsNonRoot not added: container(s) "
                                   f"{', '.join(root_containers)} explicitly run as root", Fix.REPORT, base)
            else:
                safe.append(Set(base + ("runAsNonRoot",), True))
        containers = list(pod.containers())
        uid = psc.get("runAsUser")
        if uid == 0:
            unsafe.append(Set(base + ("runAsUser",), s.run_as_user))
        elif uid is None and not all("runAsUser" in c.security_context for c in containers):
            # a pod-level user would also move a container that says it runs as root (with its image's user)
            rooted = [c.name for c in containers if c.name in root_containers and "runAsUser" not in c.security_context]
            if rooted:
                yield self.finding("uid", f"pod-level runAsUser not added: container(s) {', '.join(rooted)} "
                                   "explicitly run as root", Fix.REPORT, base)
            else:
                safe.append(Set(base + ("runAsUser",), s.run_as_user))
        elif isinstance(uid, int) and 0 < uid < 10000:
            yield self.finding("low-uid", f"pod runs as UID {uid} (below 10000, may collide with host users)",
                               Fix.REPORT, base + ("runAsUser",))
        if "runAsGroup" not in psc and not all("runAsGroup" in c.security_context for c in containers):
            safe.append(Set(base + ("runAsGroup",), s.run_as_group))
        if "fsGroup" not in psc and _needs_fs_group(pod):
            safe.append(Set(base + ("fsGroup",), s.fs_group))
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
