"""Render a chart with the optional Helm library (helm-python-sdk), offline, and compare renders.

Used to learn facts the values cannot tell (volumes, service accounts and their role bindings) and
to prove a values edit: render before and after, check that only security fields changed, and run
kfix's own rules on the rendered pods. Everything here is optional: without ``helm_python`` (the
``kfix-harden[helm]`` extra) kfix plans values edits from the templates alone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kfix.workloads import PodSite, pod_sites

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
RELEASE = "kfix"
NAMESPACE = "kfix-release-namespace"
_SEP = re.compile(r"(?:^|\s*\n)---\s*")  # Helm's releaseutil.SplitManifests separator
_IGNORE_DIRS = shutil.ignore_patterns(".git", ".hg", ".svn", "node_modules", "__pycache__")


class RenderError(Exception):
    """The chart could not be rendered (message says why, in one line)."""


def available() -> bool:
    try:
        import helm_python  # noqa: F401
    except Exception:  # noqa: BLE001 - missing package or a native library that does not load
        return False
    return True


@dataclass
class RenderedDoc:
    template: str  # chart-relative template path ("templates/x.yaml", "charts/sub/templates/y.yaml")
    index: int  # position among the documents of that template
    data: Any


@dataclass
class Workload:
    """A rendered pod: its document, the pod site in it and the template it came from."""

    doc: RenderedDoc
    site: PodSite

    @property
    def spec(self) -> dict:
        node: Any = self.doc.data
        for key in self.site.path:
            node = node[key]
        return node

    @property
    def resource(self) -> str:
        return self.site.resource


@dataclass
class Rendered:
    docs: list[RenderedDoc] = field(default_factory=list)

    def workloads(self) -> list[Workload]:
        out = []
        for d in self.docs:
            for site in pod_sites(d.data):
                out.append(Workload(d, site))
        return out


def split_manifest(text: str) -> list[str]:
    return [d.strip() for d in _SEP.split(text.strip()) if d.strip()]


def _rel(name: str) -> str:
    parts = name.split("/", 1)
    return parts[1] if len(parts) == 2 else name


def render(chart_dir: Path, user_values: dict | None = None, values_text: str | None = None) -> Rendered:
    """Render ``chart_dir`` with its defaults (``values_text`` replaces its values.yaml) and
    ``user_values`` on top, as `helm template` would; RenderError when Helm refuses."""
    try:
        import helm_python as helm
    except Exception as exc:  # noqa: BLE001
        raise RenderError(f"helm-python-sdk is not available ({exc})") from None
    missing = missing_dependencies(chart_dir, _merged_values(chart_dir, user_values, values_text))
    if missing:
        raise RenderError(f"dependencies not in charts/ (run `helm dependency build`): {', '.join(missing)}")
    tmp = None
    try:
        path = Path(chart_dir)
        if values_text is not None:
            tmp = tempfile.mkdtemp(prefix="kfix-chart-")
            path = Path(tmp) / Path(chart_dir).name
            shutil.copytree(chart_dir, path, symlinks=True, ignore=_IGNORE_DIRS)
            copied = path / "values.yaml"
            if copied.is_symlink():  # the copy keeps links: write a file of its own, never through the link
                copied.unlink()
            copied.write_text(values_text, encoding="utf-8")
        with helm.Chart.load(os.fspath(path)) as chart:
            out = chart.render(values=user_values or None, name=RELEASE, namespace=NAMESPACE)
    except helm.HelmError as exc:
        raise RenderError(" ".join(str(exc).split())[:300]) from None
    except OSError as exc:
        raise RenderError(f"cannot copy the chart: {exc}") from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    rendered = Rendered()
    for name in sorted(out):
        if name.endswith("NOTES.txt"):
            continue
        rel = _rel(name)
        for i, text in enumerate(split_manifest(out[name])):
            try:
                data = yaml.load(text, Loader=_LOADER)
            except yaml.YAMLError as exc:
                raise RenderError(f"{rel}: the rendered output is not YAML ({' '.join(str(exc).split())[:120]})") \
                    from None
            if data is not None:
                rendered.docs.append(RenderedDoc(rel, i, data))
    return rendered


def missing_dependencies(chart_dir: Path, values: dict | None = None) -> list[str]:
    """Dependencies of Chart.yaml that are not vendored in charts/ and that ``values`` turn on (Helm leaves
    out a dependency whose `condition` is false, so it need not be there)."""
    import helm_python as helm

    try:
        deps = helm.dependency_list(os.fspath(chart_dir))
    except helm.HelmError:
        return []
    off = _disabled(chart_dir, values or {})
    return [f"{d.get('name')} ({d.get('status')})" for d in deps
            if d.get("status") not in ("ok", "unpacked") and d.get("name") not in off]


def _disabled(chart_dir: Path, values: dict) -> set[str]:
    """Dependencies whose `condition` is false: the first of its comma-separated values paths that holds
    a boolean decides, as in Helm."""
    try:
        meta = yaml.load((Path(chart_dir) / "Chart.yaml").read_text(encoding="utf-8"), Loader=_LOADER) or {}
    except (OSError, yaml.YAMLError):
        return set()
    out = set()
    for dep in meta.get("dependencies") or [] if isinstance(meta, dict) else []:
        if not isinstance(dep, dict) or not isinstance(dep.get("condition"), str):
            continue
        for path in dep["condition"].split(","):
            node: Any = values
            for key in path.strip().split("."):
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, bool):
                if not node:
                    out.add(str(dep.get("name")))
                break
    return out


def _merged_values(chart_dir: Path, user: dict | None, values_text: str | None) -> dict:
    """The chart's values (or ``values_text``) with ``user`` on top, for conditions."""
    try:
        text = values_text if values_text is not None else (Path(chart_dir) / "values.yaml").read_text(encoding="utf-8")
        base = yaml.load(text, Loader=_LOADER) or {}
    except (OSError, yaml.YAMLError):
        base = {}

    def merge(a: Any, b: Any) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            return {**a, **{k: merge(a.get(k), v) for k, v in b.items()}}
        return b if b is not None else a

    return merge(base if isinstance(base, dict) else {}, user or {})


def parse_values_text(text: str) -> Any:
    """A values file as Helm reads it (its own YAML parser)."""
    import helm_python as helm

    return helm.values_from_yaml(text)


# --------------------------------------------------------------------------- comparing renders


def diff_paths(a: Any, b: Any, path: tuple = ()) -> list[tuple]:
    """Paths where two rendered documents differ (a list of different length differs as a whole)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[tuple] = []
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                out.append(path + (k,))
            else:
                out.extend(diff_paths(a[k], b[k], path + (k,)))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out.extend(diff_paths(x, y, path + (i,)))
        return out
    if a == b and type(a) is type(b):
        return []
    return [path]


SECURITY_POD_FIELDS = ("securityContext", "automountServiceAccountToken")
SECURITY_CONTAINER_FIELDS = ("securityContext", "resources")
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def allowed(doc: Any, path: tuple, volumes: bool = False) -> bool:
    """Whether a changed path of a rendered document is a security field of one of its pods
    (``volumes``: also pod volumes and container volume mounts, for writable paths)."""
    for site in pod_sites(doc):
        n = len(site.path)
        if tuple(path[:n]) != site.path or len(path) <= n:
            continue
        rest = path[n:]
        if rest[0] in SECURITY_POD_FIELDS or (volumes and rest[0] == "volumes"):
            return True
        if rest[0] in CONTAINER_LISTS and len(rest) >= 3 and isinstance(rest[1], int):
            if rest[2] in SECURITY_CONTAINER_FIELDS or (volumes and rest[2] == "volumeMounts"):
                return True
    return False


def _checksum(path: tuple) -> bool:
    return len(path) >= 2 and path[-2] == "annotations" and str(path[-1]).startswith("checksum/")


def outside_changes(before: Rendered, after: Rendered, unstable: set, volumes: bool = False) -> list[str]:
    """Changes between two renders outside the security fields, as `template#doc: path` lines.

    ``unstable``: (template, index, path) triples that differ between two renders of the same
    values (random names, generated certificates) and are ignored.
    """
    out: list[str] = []
    a = {(d.template, d.index): d for d in before.docs}
    b = {(d.template, d.index): d for d in after.docs}
    for key in sorted(set(a) | set(b)):
        if key not in a:
            out.append(f"{key[0]}: a new document ({_kind(b[key].data)})")
            continue
        if key not in b:
            out.append(f"{key[0]}: a document is gone ({_kind(a[key].data)})")
            continue
        for p in diff_paths(a[key].data, b[key].data):
            if any(_under(p, u) for (t, i, u) in unstable if (t, i) == key):
                continue
            if allowed(a[key].data, p, volumes) or _checksum(p):
                continue
            out.append(f"{key[0]} ({_kind(a[key].data)}): {'.'.join(map(str, p)) or '(whole document)'}")
    return out


def unstable_paths(first: Rendered, second: Rendered) -> set:
    out = set()
    a = {(d.template, d.index): d for d in first.docs}
    for d in second.docs:
        other = a.get((d.template, d.index))
        if other is None:
            continue
        for p in diff_paths(other.data, d.data):
            out.add((d.template, d.index, p))
    return out


def _under(path: tuple, prefix: tuple) -> bool:
    return tuple(path[:len(prefix)]) == tuple(prefix)


def _kind(data: Any) -> str:
    if isinstance(data, dict):
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        return f"{data.get('kind')}/{meta.get('name')}"
    return type(data).__name__
