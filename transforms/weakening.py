"""What a rewrite took from a pod: security settings it had before that are gone or weaker after.

Rules only add or strengthen settings, so a rewrite of the pod itself cannot weaken it. A backend that
rewrites what *produces* the pod (a chart's values, which its templates turn into pods) can: setting a
values key may replace defaults the template wrote while the key was empty. Such a backend compares the
pods before and after with ``weakened``; anything it returns is a reason to refuse the rewrite.

A setting counts when it is under a pod's or container's ``securityContext``, is
``automountServiceAccountToken`` or a host namespace, or is a resource request or limit. It is weakened
when it is gone, or changed in any direction but the hardening one (``privileged: true`` to ``false``,
``Unconfined`` to ``RuntimeDefault``, UID 0 to another); an explicit non-root user changed to another
counts too (a fix never moves a person's chosen user). Without unsafe fixes, a container whose settings
say it runs as root must still run as root.
"""

from __future__ import annotations

from typing import Any

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
POD_KEYS = ("automountServiceAccountToken", "hostNetwork", "hostPID", "hostIPC")
STRONGER = {  # setting -> (weak value, strong value): moving from weak to strong is hardening
    "runAsNonRoot": (False, True),
    "allowPrivilegeEscalation": (True, False),
    "readOnlyRootFilesystem": (False, True),
    "privileged": (True, False),
    "automountServiceAccountToken": (True, False),
    "hostNetwork": (True, False),
    "hostPID": (True, False),
    "hostIPC": (True, False),
}


def _leaves(data: Any, prefix: tuple = ()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, prefix + (k,))
    elif isinstance(data, list) and prefix and prefix[-1] in ("drop", "add"):
        for v in data:
            yield prefix + (str(v).upper().removeprefix("CAP_"),), True
    elif data is not None and data != [] and data != {}:
        yield prefix, data  # a null or empty value sets nothing


def _containers(spec: dict):
    for lst in CONTAINER_LISTS:
        for c in spec.get(lst) or []:
            if isinstance(c, dict):
                yield lst, c


def security_settings(spec: dict) -> dict[tuple, Any]:
    """The security settings of one pod spec: {(where, path...): value}."""
    out: dict[tuple, Any] = {}
    for k in POD_KEYS:
        if k in spec and spec[k] is not None:
            out[("pod", k)] = spec[k]
    for path, value in _leaves(spec.get("securityContext") or {}):
        out[("pod", "securityContext") + path] = value
    for lst, c in _containers(spec):
        for fld in ("securityContext", "resources"):
            for path, value in _leaves(c.get(fld) or {}):
                out[(lst, str(c.get("name")), fld) + path] = value
    return out


def _weaker(path: tuple, before: Any, after: Any, present: bool) -> bool:
    leaf = path[-1]
    if not present:
        return not (len(path) >= 2 and path[-2] == "add")  # an added capability gone is hardening
    if before == after and type(before) is type(after):
        return False
    if len(path) >= 2 and path[-2] in ("drop", "add"):
        return False
    if leaf in STRONGER:
        weak, strong = STRONGER[leaf]
        return not (before == weak and after == strong)
    if leaf == "type" and len(path) >= 2 and path[-2] == "seccompProfile":
        return not (before == "Unconfined" and after == "RuntimeDefault")
    if leaf in ("runAsUser", "runAsGroup", "fsGroup"):
        return not (before == 0 and after not in (0, None))
    if len(path) >= 2 and path[-2] in ("limits", "requests"):
        return False  # a different amount is not less safe; a request or limit gone is
    return True


def _sc(data: dict) -> dict:
    sc = data.get("securityContext")
    return sc if isinstance(sc, dict) else {}


def _uid(spec: dict, c: dict) -> Any:
    for sc in (_sc(c), _sc(spec)):
        if sc.get("runAsUser") is not None:
            return sc["runAsUser"]
    return None


def _runs_as_root(spec: dict, c: dict) -> bool:
    uid = _uid(spec, c)
    if uid is not None:
        return uid == 0
    return _sc(c).get("runAsNonRoot", _sc(spec).get("runAsNonRoot")) is False


def weakened(before: dict, after: dict, unsafe_fixes: bool = False) -> list[str]:
    """Settings of pod spec ``before`` that are gone or weaker in ``after``, as `where.path: old -> new`."""
    out = []
    old, new = security_settings(before), security_settings(after)
    for path, value in old.items():
        present = path in new
        if _weaker(path, value, new.get(path), present):
            shown = repr(new[path]) if present else "gone"
            out.append(f"{'.'.join(map(str, path))}: {value!r} -> {shown}")
    if not unsafe_fixes:
        later = {(lst, str(c.get("name"))): c for lst, c in _containers(after)}
        for lst, c in _containers(before):
            c2 = later.get((lst, str(c.get("name"))))
            if c2 is not None and _runs_as_root(before, c) and _uid(after, c2) not in (0, None):
                out.append(f"{lst}.{c.get('name')}: runs as root, and no longer would")
    return out
