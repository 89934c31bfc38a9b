"""read-only-root-filesystem: readOnlyRootFilesystem: true, with emptyDir volumes at writable paths.

Most programs still need a writable /tmp; each configured writable path gets an emptyDir volume
mounted there (unless something is mounted there already), offered as one change with the flag.
The volume goes into the pod's existing ``volumes`` list and the container's existing
``volumeMounts`` list. Where either list is missing, kfix does not restructure the pod to create
it: the flag alone could stop a program that writes there, so it is an unsafe fix (applied only
with --unsafe-fixes, and then without the volume), and the finding says what is missing.
"""

import re

from kfix.ops import Append, Set

from kfix.rules.base import Container, Fix, Pod, Rule, odd_value, sc_path


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
    safe_fix = "add readOnlyRootFilesystem: true, with writable-path volumes in the existing volume lists"
    unsafe_fix = "false -> true; the flag alone where the volume lists are missing"
    checks = {"read-only": ("checkov:CKV_K8S_22", "kube-linter:no-read-only-root-fs",
                            "polaris:notReadOnlyRootFilesystem", "kubeaudit:allow-read-only-root-filesystem-false")}

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
            message = f"container {c.name} has a writable root filesystem"
            unmounted = _unmounted(pod, c)
            if unmounted and not _has_volume_lists(pod, c):
                where = "volumes list" if not isinstance(pod.spec.get("volumes"), list) else "volumeMounts list"
                message += (f"; the pod has no {where} to add a writable {', '.join(unmounted)} emptyDir to, "
                            "so the flag alone is an unsafe fix")
                yield self.finding("read-only", message, Fix.UNSAFE, path, c, [Set(path, True)])
                continue
            ops = [Set(path, True), *_writable_volumes(pod, c, unmounted)]
            if odd_value(c.security_context, "readOnlyRootFilesystem"):
                message += f" (readOnlyRootFilesystem is {value!r}, not a boolean)"
            fix = Fix.UNSAFE if value is False or odd_value(c.security_context, "readOnlyRootFilesystem") \
                else Fix.SAFE
            yield self.finding("read-only", message, fix, path, c, ops)


def _has_volume_lists(pod: Pod, c: Container) -> bool:
    return isinstance(pod.spec.get("volumes"), list) and isinstance(c.data.get("volumeMounts"), list)


def _unmounted(pod: Pod, c: Container) -> list[str]:
    """The configured writable paths that nothing is mounted at in this container."""
    mounts = c.data.get("volumeMounts") if isinstance(c.data.get("volumeMounts"), list) else []
    mounted = {str(m.get("mountPath", "")).rstrip("/") for m in mounts if isinstance(m, dict)}
    return [w for w in pod.settings.writable_paths if w.rstrip("/") not in mounted]


def _writable_volumes(pod: Pod, c: Container, paths: list[str]):
    volumes = pod.spec["volumes"] if paths else []
    by_name = {v.get("name"): v for v in volumes if isinstance(v, dict)}
    for wpath in paths:
        name = volume_name(wpath, set())
        if name in by_name and by_name[name].get("emptyDir") is None:
            name = volume_name(wpath, set(by_name))
        yield Append(pod.path + ("volumes",), {"name": name, "emptyDir": {}}, "name")
        yield Append(c.path + ("volumeMounts",), {"name": name, "mountPath": wpath}, "mountPath")
