"""An independent judge of a rewrite's intent: did a security setting of the input disappear or weaken, and
does a container the manifest says runs as root now run as another user?

Written apart from kfix's rules (it reads plain YAML with PyYAML) so that it can catch their mistakes.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
POD_PATHS = (("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec"), ("spec",),
             ("template", "spec"))
LISTS = ("initContainers", "containers", "ephemeralContainers")
# field -> the value that is the weaker of the two booleans
WEAK = {"runAsNonRoot": False, "allowPrivilegeEscalation": True, "readOnlyRootFilesystem": False,
        "privileged": True, "automountServiceAccountToken": True, "hostNetwork": True, "hostPID": True,
        "hostIPC": True}


def _objects(root: str) -> dict[tuple, dict]:
    out: dict[tuple, dict] = {}
    for folder, _, names in os.walk(root):
        for name in sorted(names):
            if not name.endswith((".yaml", ".yml")):
                continue
            path = os.path.join(folder, name)
            try:
                with open(path, encoding="utf-8-sig") as fh:
                    docs = list(yaml.load_all(fh, Loader=_LOADER))
            except Exception:  # noqa: BLE001 - unparseable input is not this judge's business
                continue
            for i, doc in enumerate(docs):
                if isinstance(doc, dict):
                    out[(os.path.relpath(path, root), i)] = doc
    return out


def _pods(doc: dict) -> Iterator[tuple[tuple, dict]]:
    for pod_path in POD_PATHS:
        node: Any = doc
        for key in pod_path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get("containers"), list):
            yield pod_path, node
            return


def _sc(owner: dict) -> dict:
    sc = owner.get("securityContext")
    return sc if isinstance(sc, dict) else {}


def _leaves(data: Any, prefix: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, prefix + (key,))
    elif isinstance(data, list) and prefix and prefix[-1] in ("add", "drop"):
        for item in data:
            yield prefix + (str(item).upper().removeprefix("CAP_"),), True
    elif data is not None and data != [] and data != {}:
        yield prefix, data  # a null or an empty collection sets nothing


def security_leaves(pod: dict) -> dict[tuple, Any]:
    out = {("pod", k): pod[k] for k in ("automountServiceAccountToken", "hostNetwork", "hostPID", "hostIPC")
           if k in pod}
    out.update({("pod",) + p: v for p, v in _leaves(_sc(pod))})
    for lst in LISTS:
        for c in pod.get(lst) or []:
            if isinstance(c, dict):
                out.update({(lst, str(c.get("name"))) + p: v for p, v in _leaves(_sc(c))})
    return out


def runs_as_root(pod: dict, c: dict) -> bool:
    uid = _sc(c).get("runAsUser", _sc(pod).get("runAsUser"))
    if uid is not None:
        return uid == 0
    return _sc(c).get("runAsNonRoot", _sc(pod).get("runAsNonRoot")) is False


def effective_uid(pod: dict, c: dict) -> Any:
    uid = _sc(c).get("runAsUser")
    return uid if uid is not None else _sc(pod).get("runAsUser")


def _weakened(path: tuple, before: Any, after: Any, present: bool) -> bool:
    if len(path) >= 2 and path[-2] == "add":
        return False  # an added capability removed (or kept): never weaker
    if not present:
        return True
    if before == after and type(before) is type(after):
        return False
    leaf = path[-1]
    if leaf in WEAK:
        return not (before is WEAK[leaf] and after is (not WEAK[leaf]))
    if path[-2:] == ("seccompProfile", "type"):
        return not (before == "Unconfined" and after == "RuntimeDefault")
    if leaf in ("runAsUser", "runAsGroup", "fsGroup"):
        return not (before == 0 and after not in (0, None))
    return True


def judge(original_root: str, fixed_root: str) -> list[str]:
    """Every weakened setting and every container moved off root, as readable lines (empty: none)."""
    problems: list[str] = []
    fixed = _objects(fixed_root)
    for key, doc in _objects(original_root).items():
        after = fixed.get(key)
        if after is None:
            continue
        for pod_path, pod in _pods(doc):
            new_pod: Any = after
            for step in pod_path:
                new_pod = new_pod.get(step) if isinstance(new_pod, dict) else None
            if not isinstance(new_pod, dict):
                problems.append(f"{key[0]}#{key[1]}: pod spec gone")
                continue
            new = security_leaves(new_pod)
            for path, value in security_leaves(pod).items():
                if _weakened(path, value, new.get(path), path in new):
                    problems.append(f"{key[0]}#{key[1]} {'/'.join(map(str, path))}: {value!r} -> "
                                    f"{new.get(path, '<gone>')!r}")
            by_name = {(lst, str(c.get("name"))): c for lst in LISTS for c in new_pod.get(lst) or []
                       if isinstance(c, dict)}
            for lst in LISTS:
                for c in pod.get(lst) or []:
                    if isinstance(c, dict) and runs_as_root(pod, c):
                        c2 = by_name.get((lst, str(c.get("name"))))
                        if c2 is not None and effective_uid(new_pod, c2) not in (0, None):
                            problems.append(f"{key[0]}#{key[1]} {lst}/{c.get('name')}: runs as root in the "
                                            f"manifest, as UID {effective_uid(new_pod, c2)} after the fix")
    return problems
