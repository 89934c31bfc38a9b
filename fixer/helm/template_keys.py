"""Names for the values keys a template edit adds, in the chart's own style.

A template edit moves a pod or container field into a new values key. The key should look like the
chart's other keys: under the prefix the container already reads its values from
(`permissionInitContainer.resources` next to `permissionInitContainer.securityContext`), under a
test framework key where the chart has one (`testFramework.containerSecurityContext`, as grafana),
under the key named like the template's folder (`redis.podSecurityContext` for
`templates/redis/deployment.yaml`), or at the top for the chart's own templates; and with the
chart's names for the two security contexts (`podSecurityContext` + `securityContext` in `helm
create` charts, `securityContext` + `containerSecurityContext` in prometheus-community and grafana).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from kfix.helm.model import ChartMap, ContainerTemplate, PodTemplate

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


@dataclass(frozen=True)
class KeyNames:
    """What the chart calls a field at pod and at container level."""

    pod_security: str = "podSecurityContext"
    container_security: str = "securityContext"

    def name(self, fld: str, level: str) -> str:
        if fld == "securityContext":
            return self.pod_security if level == "pod" else self.container_security
        return fld


def key_names(cmap: ChartMap) -> KeyNames:
    """The chart's names for the pod's and the containers' securityContext keys (the most used)."""
    pod: Counter = Counter()
    container: Counter = Counter()
    for p in cmap.pods:
        for b in p.get("securityContext"):
            if b.ref is not None and b.ref.path and "*" not in b.ref.path:
                pod[b.ref.path[-1]] += 1
        for c in p.containers:
            for b in c.get("securityContext"):
                if b.ref is not None and b.ref.path and "*" not in b.ref.path:
                    container[b.ref.path[-1]] += 1
    cname = container.most_common(1)[0][0] if container else "securityContext"
    pname = next((n for n, _ in pod.most_common() if n != cname), None)
    if pname is None:
        pname = "securityContext" if cname != "securityContext" else "podSecurityContext"
    return KeyNames(pname, cname)


def camel(text: str) -> str | None:
    """`cache-test` -> `cacheTest`; None for a name that is not plain words (template text)."""
    words = [w for w in re.split(r"[-_.\s]+", text) if w]
    if not words or not all(re.match(r"^[A-Za-z0-9]+$", w) for w in words) or not words[0][0].isalpha():
        return None
    return words[0][0].lower() + words[0][1:] + "".join(w[0].upper() + w[1:] for w in words[1:])


def is_test(pod: PodTemplate, template_text: str) -> bool:
    return "/tests/" in f"/{pod.template}" or bool(re.search(r"helm\.sh/hook\"?'?\s*:\s*\"?test", template_text))


def _refs_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...] | None:
    """The values mapping a container's other keys live in (their common parent), if one."""
    parents = {p[:-1] for p in paths if len(p) >= 2 and "*" not in p}
    return parents.pop() if len(parents) == 1 else None


def pod_prefix(pod: PodTemplate, values: dict, template_text: str) -> tuple[tuple[str, ...] | None, str]:
    """Where the new keys of a pod go, or (None, why not)."""
    parts = pod.template.split("/")
    if len(parts) == 2 and parts[0] == "templates":  # `adservice.yaml` reads `adService.*`: its keys go there
        stem = parts[1].rsplit(".", 1)[0].replace("-", "").replace("_", "").lower()
        named = [k for k, v in values.items() if isinstance(v, dict) and k.lower() == stem]
        if len(named) == 1:
            return (named[0],), ""
    refs = [b.ref.path for b in pod.bindings if b.ref is not None]
    own = _refs_prefix(refs)
    if own is not None:
        return own, ""
    if is_test(pod, template_text) and isinstance(values.get("testFramework"), dict):
        return ("testFramework",), ""
    if len(parts) >= 3 and parts[0] == "templates":
        folder = camel(parts[1])
        stem = camel(parts[-1].rsplit(".", 1)[0])
        if folder and isinstance(values.get(folder), dict):
            return (folder,), ""
        if folder and stem and folder not in values:
            return (folder, stem), ""
        return None, f"no values key to put the new keys under (`{parts[1]}` is taken by a value that is not a mapping)"
    if len(parts) == 2 and parts[0] == "templates":
        return (), ""
    return None, "the pod is written in a helper or a subchart; kfix adds keys only for a chart's own templates"


def container_prefix(pod: PodTemplate, container: ContainerTemplate, values: dict,
                     template_text: str) -> tuple[tuple[str, ...] | None, str]:
    """Where the new keys of a container go: beside the keys the container already reads, else under
    the pod's prefix (by the container's name when the pod has several containers)."""
    own = _refs_prefix([b.ref.path for b in container.bindings if b.ref is not None])
    if own is not None:
        return own, ""
    base, why = pod_prefix(pod, values, template_text)
    if base is None:
        return None, why
    if len(pod.containers) == 1:
        return base, ""
    name = camel(container.name)
    if name is None:
        return None, f"the container's name ({container.name}) is not a plain word to name a values key after"
    return base + (name,), ""


def free(values: dict, path: tuple[str, ...]) -> str:
    """"" when ``path`` can be added to ``values`` (every parent a mapping or absent, the key itself
    absent), else why not."""
    node: Any = values
    for i, key in enumerate(path):
        if not isinstance(node, dict):
            return f"values key {'.'.join(path[:i])} is not a mapping"
        if key not in node:
            return ""
        node = node[key]
    return f"values key {'.'.join(path)} exists already but the template does not read it"


def valid_key(path: tuple[str, ...]) -> bool:
    return all(_IDENT.match(k) for k in path)
