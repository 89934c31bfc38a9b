"""cdk8s-plus: its classes, its own names for pod fields, and what it sets when the code says nothing.

cdk8s-plus (``cdk8s_plus_NN``, NN the Kubernetes minor version) builds a pod from a workload call
(``kplus.Deployment(self, "web", containers=[kplus.ContainerProps(...)])``) and ``add_container`` calls.
What it sets when the code is silent, and which properties exist, depend on its release (taken from the
project's lock file or declared requirement, or the installed distribution: ``kfix.python.versions``;
from its source history):

- every 2.x release (cdk8s-plus-22 from 2.0.0-rc.122): the container's ``ensureNonRoot``,
  ``readOnlyRootFilesystem``, no privilege escalation, not privileged, resources; the pod's
  ``ensureNonRoot`` and ``automountServiceAccountToken: false``;
- user 25000 / group 26000 on each container only until 2.0.36 (cdk8s-plus-25) / 2.0.37 (-23, -24);
- ``capabilities`` (with ``Capability.ALL``) from cdk8s-plus-27 2.9.0, -28 and -29 2.3.0, -30 on;
- a container ``seccompProfile`` from cdk8s-plus-28 and -29 2.5.0, -30 2.2.0, -31 on; no release has a
  pod-level one, so a pod-wide profile is written on each container.

The pod kfix checks holds those defaults where the code is silent, so only what the library does not
already set is added. A value a person wrote (``ensure_non_root=False``) is read as written: changing it
is an unsafe fix. When only the module name is known, a feature that came within a line's 2.x releases
counts as missing and is reported, and so does a default that went away within it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from kfix import ops as O
from kfix.python.versions import Release, release_of

PLUS = "cdk8s-plus"
_MODULE = re.compile(r"^cdk8s_plus_(\d+)$")

# feature -> {line: first release with it}; lines above the highest listed have it in every release,
# lines below the lowest never
FIRST = {
    "capabilities": {27: "2.9.0", 28: "2.3.0", 29: "2.3.0", 30: "2.0.0"},
    "seccompProfile": {28: "2.5.0", 29: "2.5.0", 30: "2.2.0", 31: "2.0.0"},
}
_DEFAULTS_FROM = {22: "2.0.0rc122", 23: "2.0.0"}  # the security and resource defaults
_USER_DEFAULT_UNTIL = {22: "99", 23: "2.0.37", 24: "2.0.37", 25: "2.0.36"}  # user/group 25000/26000 before these
FEATURE_NAMES = {"capabilities": "capabilities property", "seccompProfile": "container seccompProfile property"}

WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "Pod", "CronJob"})
# class name -> API type
TYPES = {"ContainerProps": "Container", "ContainerSecurityContextProps": "SecurityContext",
         "PodSecurityContextProps": "PodSecurityContext", "ContainerSecutiryContextCapabilities": "Capabilities",
         "ContainerResources": "PlusResources", "SeccompProfile": "SeccompProfile"}
CLASSES = {api: name for name, api in TYPES.items()}
# (API type, keyword) -> API field, where cdk8s-plus names a field its own way
RENAMES = {
    ("SecurityContext", "ensure_non_root"): "runAsNonRoot", ("SecurityContext", "user"): "runAsUser",
    ("SecurityContext", "group"): "runAsGroup",
    ("PodSecurityContext", "ensure_non_root"): "runAsNonRoot", ("PodSecurityContext", "user"): "runAsUser",
    ("PodSecurityContext", "group"): "runAsGroup",
}
KEYWORDS = {(t, api): kw for (t, kw), api in RENAMES.items()}
# fields kfix may write through cdk8s-plus props, per API type
WRITABLE = {
    "PodSpec": {"securityContext", "automountServiceAccountToken", "hostNetwork", "hostPID", "hostIPC"},
    "Container": {"securityContext"},
    "SecurityContext": {"runAsNonRoot", "runAsUser", "runAsGroup", "privileged", "readOnlyRootFilesystem",
                        "allowPrivilegeEscalation", "capabilities", "seccompProfile"},
    "PodSecurityContext": {"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup"},
    "Capabilities": {"add", "drop"},
    "SeccompProfile": {"type", "localhostProfile"},
}
# fields whose values are members of a cdk8s-plus enum: (API type, field) -> enum class
ENUM_FIELDS = {("Capabilities", "add"): "Capability", ("Capabilities", "drop"): "Capability",
               ("SeccompProfile", "type"): "SeccompProfileType"}
_SECCOMP_TYPES = {"RuntimeDefault": "RUNTIME_DEFAULT", "Localhost": "LOCALHOST", "Unconfined": "UNCONFINED"}
_SECCOMP_VALUES = {m: v for v, m in _SECCOMP_TYPES.items()}

CONTAINER_SECURITY = {"runAsNonRoot": True, "privileged": False, "readOnlyRootFilesystem": True,
                      "allowPrivilegeEscalation": False}
USER_DEFAULTS = {"runAsUser": 25000, "runAsGroup": 26000}
RESOURCES = {"requests": {"cpu": "1000m", "memory": "512Mi"}, "limits": {"cpu": "1500m", "memory": "2048Mi"}}


@dataclass(frozen=True)
class Line:
    """A cdk8s-plus line (``cdk8s_plus_30``: 30) and, when kfix can tell, the release the code uses."""

    major: int
    release: Release | None = None

    def has(self, feature: str) -> bool | None:
        """Does this release have ``feature``? None: some releases of the line do, and kfix cannot tell which."""
        first = FIRST[feature]
        if self.major > max(first):
            return True
        if self.major not in first:
            return False
        since = Version(first[self.major])
        if self.release is None:
            return True if since <= Version("2.0.0") else None
        return self.release.version >= since

    def defaults(self) -> bool:
        """Does this release set the security and resource defaults (every 2.x release)?"""
        since = _DEFAULTS_FROM.get(self.major, "2.0.0" if self.major > 23 else None)
        if since is None:
            return False
        if self.release is None:
            return self.major >= 23
        return self.release.version >= Version(since)

    def user_defaults(self) -> bool:
        """Does it also default user 25000 / group 26000 (early 2.x releases; only when the release is pinned)?"""
        until = _USER_DEFAULT_UNTIL.get(self.major)
        if until is None or self.release is None or not self.release.exact:
            return False
        return self.defaults() and self.release.version < Version(until)

    def described(self) -> str:
        if self.release is None:
            return f"cdk8s-plus-{self.major}"
        return f"cdk8s-plus-{self.major} {self.release.version} ({self.release.source})"

    def lacks(self, feature: str) -> str | None:
        """Why this release cannot write ``feature`` (None: it can)."""
        has = self.has(feature)
        if has:
            return None
        first = FIRST[feature]
        every = min((m for m, v in first.items() if Version(v) <= Version("2.0.0")), default=max(first) + 1)
        where = "".join(f"-{m} {v}, " for m, v in sorted(first.items()) if m < every) + f"-{every} on"
        name = FEATURE_NAMES[feature]
        if has is None:
            return (f"cdk8s-plus-{self.major} has the {name} from {first[self.major]} on, and kfix cannot tell which "
                    "release this code uses (pin it in a lock file or requirements, or install it)")
        return f"{self.described()} has no {name} (cdk8s-plus{where} have it)"


def version_of(module: str) -> int | None:
    m = _MODULE.match(module.split(".")[0])
    return int(m.group(1)) if m else None


def line_of(module: str, path: str | None) -> Line | None:
    """The line a ``cdk8s_plus_NN`` module belongs to, with the release the code at ``path`` uses."""
    major = version_of(module)
    if major is None:
        return None
    return Line(major, release_of(f"cdk8s-plus-{major}", path))


def api_type(class_name: str) -> str | None:
    if class_name in WORKLOADS:
        return "PodSpec"
    return TYPES.get(class_name)


def field_name(owner: str | None, keyword: str, camel) -> str:
    return RENAMES.get((owner, keyword)) or camel(keyword)


def keyword(owner: str | None, field: str, snake) -> str:
    return KEYWORDS.get((owner, field)) or snake(field)


def enum_member(enum: str, value: Any) -> str:
    """The enum member that stands for an API value (``RuntimeDefault``: ``RUNTIME_DEFAULT``)."""
    return _SECCOMP_TYPES.get(str(value), str(value)) if enum == "SeccompProfileType" else str(value)


def enum_value(enum: str, member: str) -> str | None:
    """The API value of ``enum.member`` (None for an enum kfix does not read)."""
    if enum == "Capability":
        return member
    if enum == "SeccompProfileType":
        return _SECCOMP_VALUES.get(member)
    return None


def unwritable(owner: str | None, rest: tuple, line: Line | None) -> str | None:
    """Why cdk8s-plus props cannot hold the fields ``rest`` added under an ``owner`` object (None: they can)."""
    types = {("PodSpec", "securityContext"): "PodSecurityContext", ("Container", "securityContext"): "SecurityContext",
             ("SecurityContext", "capabilities"): "Capabilities", ("SecurityContext", "seccompProfile"): "SeccompProfile"}
    node = owner
    for key in rest:
        if isinstance(key, int):
            continue
        if key == "seccompProfile" and node == "PodSecurityContext":
            why = line.lacks(key) if line is not None else None
            return (f"{why}; it has no pod-level one" if why else
                    "cdk8s-plus has no pod-level seccomp profile property (kfix sets one on each container instead)")
        if key in FIRST and node == "SecurityContext":
            why = line.lacks(key) if line is not None else f"cdk8s-plus has no {FEATURE_NAMES[key]} property"
            if why:
                return why
        if node not in WRITABLE or key not in WRITABLE[node]:
            return f"cdk8s-plus props have no field for {key}"
        node = types.get((node, key))
    return None


def pod_wide(op: O.Op, spec: dict, line: Line | None) -> list[O.Op]:
    """``op`` (a path in the pod's document) as cdk8s-plus can write it: a pod-wide seccomp profile set on
    each container that has none (Kubernetes applies the pod's profile to exactly those), when the release
    has a container profile; other operations unchanged."""
    if not (isinstance(op, O.Set) and op.path == ("spec", "securityContext", "seccompProfile") and line is not None
            and line.has("seccompProfile")):
        return [op]
    out = []
    for section in ("initContainers", "containers"):
        items = spec.get(section)
        for i, c in enumerate(items if isinstance(items, list) else []):
            sc = c.get("securityContext") if isinstance(c, dict) else None
            if isinstance(sc, dict) and isinstance(sc.get("seccompProfile"), dict):
                continue
            out.append(O.Set(("spec", section, i, "securityContext", "seccompProfile"), O.clone(op.value)))
    return out or [op]


def with_defaults(pod: dict, line: Line | None) -> dict:
    """The pod cdk8s-plus synthesises from ``pod`` (the fields the code sets): its defaults where it is silent."""
    out = O.clone(pod)
    defaults = line is not None and line.defaults()
    if defaults:
        sc = out.setdefault("securityContext", {})
        if isinstance(sc, dict):
            sc.setdefault("runAsNonRoot", True)
        out.setdefault("automountServiceAccountToken", False)
    container_defaults = dict(CONTAINER_SECURITY, **(USER_DEFAULTS if line and line.user_defaults() else {}))
    for key in ("initContainers", "containers"):
        items = out.get(key)
        if not isinstance(items, list):
            continue
        for i, c in enumerate(items):
            if not isinstance(c, dict):
                continue
            c.setdefault("name", "main" if len(items) == 1 else f"main-{i}")
            if not defaults:
                continue
            csc = c.setdefault("securityContext", {})
            if isinstance(csc, dict):
                for k, v in container_defaults.items():
                    csc.setdefault(k, v)
            res = c.get("resources")
            c["resources"] = O.clone(RESOURCES) if res is None else _resources(res)
    return out


def _resources(res: Any) -> dict:
    """ContainerResources(cpu=..., memory=...) as requests/limits (values kfix cannot read stay opaque)."""
    if not isinstance(res, dict):
        return {"requests": {"cpu": res, "memory": res}, "limits": {"cpu": res, "memory": res}}
    out: dict = {"requests": {}, "limits": {}}
    for name in ("cpu", "memory"):
        part = res.get(name)
        if isinstance(part, dict):
            for side, section in (("request", "requests"), ("limit", "limits")):
                if side in part:
                    out[section][name] = part[side]
        elif part is not None:
            out["requests"][name] = out["limits"][name] = part
    return out
