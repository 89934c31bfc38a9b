"""cdk8s-plus: its classes, its own names for pod fields, and what it sets when the code says nothing.

cdk8s-plus (``cdk8s_plus_NN``, NN the Kubernetes minor version) builds a pod from a workload call
(``kplus.Deployment(self, "web", containers=[kplus.ContainerProps(...)])``) and ``add_container`` calls.
Since its 2.x line it defaults the container security context (``ensureNonRoot``, ``readOnlyRootFilesystem``,
no privilege escalation, not privileged, user 25000 / group 26000), resources, the pod's
``ensureNonRoot`` and ``automountServiceAccountToken: false``; the pod kfix checks holds those defaults
where the code is silent, so only what the library does not already set is added. A value a person wrote
(``ensure_non_root=False``) is read as written: changing it is an unsafe fix. Capabilities exist only in
cdk8s-plus-28 and later (with ``Capability.ALL``); seccomp profiles in none: those are reported.
"""

from __future__ import annotations

import re
from typing import Any

from kfix import ops as O

PLUS = "cdk8s-plus"
_MODULE = re.compile(r"^cdk8s_plus_(\d+)$")
CAPABILITIES_FROM = 28

WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "Pod", "CronJob"})
# class name -> API type
TYPES = {"ContainerProps": "Container", "ContainerSecurityContextProps": "SecurityContext",
         "PodSecurityContextProps": "PodSecurityContext", "ContainerSecutiryContextCapabilities": "Capabilities",
         "ContainerResources": "PlusResources"}
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
                        "allowPrivilegeEscalation", "capabilities"},
    "PodSecurityContext": {"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup"},
    "Capabilities": {"add", "drop"},
}

CONTAINER_SECURITY = {"runAsNonRoot": True, "privileged": False, "readOnlyRootFilesystem": True,
                      "allowPrivilegeEscalation": False, "runAsUser": 25000, "runAsGroup": 26000}
RESOURCES = {"requests": {"cpu": "1000m", "memory": "512Mi"}, "limits": {"cpu": "1500m", "memory": "2048Mi"}}


def version_of(module: str) -> int | None:
    m = _MODULE.match(module.split(".")[0])
    return int(m.group(1)) if m else None


def api_type(class_name: str) -> str | None:
    if class_name in WORKLOADS:
        return "PodSpec"
    return TYPES.get(class_name)


def field_name(owner: str | None, keyword: str, camel) -> str:
    return RENAMES.get((owner, keyword)) or camel(keyword)


def keyword(owner: str | None, field: str, snake) -> str:
    return KEYWORDS.get((owner, field)) or snake(field)


def unwritable(owner: str | None, rest: tuple, version: int | None) -> str | None:
    """Why cdk8s-plus props cannot hold the fields ``rest`` added under an ``owner`` object (None: they can)."""
    types = {("PodSpec", "securityContext"): "PodSecurityContext", ("Container", "securityContext"): "SecurityContext",
             ("SecurityContext", "capabilities"): "Capabilities"}
    node = owner
    for key in rest:
        if isinstance(key, int):
            continue
        if key == "seccompProfile":
            return "cdk8s-plus has no seccomp profile property (set it with an escape hatch)"
        if key == "capabilities" and (version is None or version < CAPABILITIES_FROM):
            return (f"cdk8s-plus-{version} has no capabilities property (cdk8s-plus-{CAPABILITIES_FROM} and later "
                    "have it)")
        if node not in WRITABLE or key not in WRITABLE[node]:
            return f"cdk8s-plus props have no field for {key}"
        node = types.get((node, key))
    return None


def with_defaults(pod: dict) -> dict:
    """The pod cdk8s-plus synthesises from ``pod`` (the fields the code sets): its defaults where it is silent."""
    out = O.clone(pod)
    sc = out.setdefault("securityContext", {})
    if isinstance(sc, dict):
        sc.setdefault("runAsNonRoot", True)
    out.setdefault("automountServiceAccountToken", False)
    for key in ("initContainers", "containers"):
        items = out.get(key)
        if not isinstance(items, list):
            continue
        for i, c in enumerate(items):
            if not isinstance(c, dict):
                continue
            c.setdefault("name", "main" if len(items) == 1 else f"main-{i}")
            csc = c.setdefault("securityContext", {})
            if isinstance(csc, dict):
                for k, v in CONTAINER_SECURITY.items():
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
