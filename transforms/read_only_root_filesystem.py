"""read-only-root-filesystem: readOnlyRootFilesystem: true, with emptyDir volumes at writable paths.

Most programs still need a writable /tmp; each configured writable path gets an emptyDir volume
mounted there (unless something is mounted there already), offered as one change with the flag.
"""

import re

from fixer.ops import Append, Set

from .base import Container, Fix, Pod, Rule, sc_path


def volume_name(path: str, taken: set[str]) -> str:
    base = "kfix-" + (re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root")
    name, n = base[:63], 2
    while name in taken:
        name, n = f"{base[:58]}-{n}", n + 1
    return name


class ReadOnlyRootFilesystem(Rule):
    id = "read-only-root-filesystem"
    summary = "readOnlyRootFilesystem: true, emptyDir volumes at writable paths (default /tmp)"
    level = "container"
    profiles = ("hardened",)
    safe_fix = "add readOnlyRootFilesystem: true and the writable-path volumes"
    unsafe_fix = "false -> true"
    checks = {"read-only": ("checkov:CKV_K8S_22", "kube-linter:no-read-only-root-fs",
                            "polaris:notReadOnlyRootFilesystem")}

    def check(self, pod: Pod):
        if pod.windows:
            return
        for c in pod.containers():
            if c.ephemeral:
                continue
            value = c.security_context.get("readOnlyRootFilesystem")
            if value is True:
                continue
            path = sc_path(c.path) + ("readOnlyRootFilesystem",)
            ops = [Set(path, True), *self._writable_volumes(pod, c)]
            fix = Fix.UNSAFE if value is False else Fix.SAFE
            yield self.finding("read-only", f"container {c.name} has a writable root filesystem", fix, path, c, ops)

    def _writable_volumes(self, pod: Pod, c: Container):
        mounts = c.data.get("volumeMounts") if isinstance(c.data.get("volumeMounts"), list) else []
        mounted = {str(m.get("mountPath", "")).rstrip("/") for m in mounts if isinstance(m, dict)}
        volumes = pod.spec.get("volumes") if isinstance(pod.spec.get("volumes"), list) else []
        by_name = {v.get("name"): v for v in volumes if isinstance(v, dict)}
        for wpath in pod.settings.writable_paths:
            if wpath.rstrip("/") in mounted:
                continue
            name = volume_name(wpath, set())
            if name in by_name and by_name[name].get("emptyDir") is None:
                name = volume_name(wpath, set(by_name))
            yield Append(pod.path + ("volumes",), {"name": name, "emptyDir": {}}, "name")
            yield Append(c.path + ("volumeMounts",), {"name": name, "mountPath": wpath}, "mountPath")
