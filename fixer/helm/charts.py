"""The chart tree kfix plans: the top chart and its subcharts, each with the values chain that
renders it (a subchart's values sit under its name or alias in the parent's values)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kfix.helm.chartfiles import load_schema
from kfix.helm.model import ChartMap
from kfix.helm.values import Layer, ValuesChain, ValuesFile, load_values_file


def is_chart(path: str | os.PathLike) -> bool:
    return (Path(path) / "Chart.yaml").is_file()


def chart_dirs(path: str | os.PathLike) -> list[Path]:
    """Top-level charts under ``path`` (a chart itself, or a folder holding charts); subcharts
    under a chart's ``charts/`` are handled with their parent."""
    root = Path(path)
    if is_chart(root):
        return [root]
    out: list[Path] = []
    for dirpath, dirnames, _files in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "node_modules")
        if "Chart.yaml" in _files:
            out.append(Path(dirpath))
            dirnames[:] = []
    return out


@dataclass
class ChartNode:
    """One chart of the tree (the top chart or a subchart) with its values chain."""

    cmap: ChartMap
    prefix: str  # template path prefix ("" or "charts/x/")
    helm_prefix: str  # the same in Helm's rendered names ("" or "charts/<name>/")
    chain: ValuesChain
    schemas: list[tuple[dict, tuple, "ChartNode"]]  # (schema, path prefix from that chart's root, chart)
    parent: "ChartNode | None" = None
    key: tuple = ()  # values path of this chart inside its parent's values
    note: str = ""

    def __post_init__(self) -> None:
        self.eff = self.chain.effective()


def add_subcharts(root: Path, parent: ChartNode, charts: list[ChartNode], notes: list[str]) -> None:
    """Append ``parent``'s subcharts (recursively) to ``charts``; what kfix cannot handle goes to ``notes``."""
    deps = parent.cmap.chart_dir / "Chart.yaml"
    aliases: dict[str, list[str]] = {}
    try:
        import yaml

        meta = yaml.safe_load(deps.read_text(encoding="utf-8")) if deps.is_file() else {}
        for d in (meta or {}).get("dependencies") or []:
            if isinstance(d, dict) and d.get("name"):
                aliases.setdefault(str(d["name"]), []).append(str(d.get("alias") or d["name"]))
    except Exception:  # noqa: BLE001 - a Chart.yaml kfix cannot read: discovery noted it
        pass
    for sub in parent.cmap.subcharts:
        names = aliases.get(sub.name, [sub.name])
        where = os.path.relpath(sub.chart_dir, root)
        if len(names) != 1:
            notes.append(f"{where}: subchart {sub.name} is used under several aliases "
                         f"({', '.join(names)}); its values are not handled")
            continue
        key = names[0]
        values = subchart_values(sub.chart_dir)
        layers = [Layer(values, (), False)] + [Layer(l.file, l.prefix + (key,), l.editable)
                                               for l in parent.chain.layers]
        prefix = where.replace(os.sep, "/") + "/"
        child = ChartNode(sub, prefix, parent.helm_prefix + f"charts/{key}/", ValuesChain(layers), [],
                          parent, (key,))
        own = load_schema(sub.chart_dir) if Path(sub.chart_dir).is_dir() else None
        if own:
            child.schemas.append((own, (), child))
        child.schemas.extend((s, (key,) + p, c) for s, p, c in parent.schemas)
        notes.append(f"{where}: subchart {sub.name}: its values are edited under `{key}:` in the "
                     "parent's values")
        charts.append(child)
        add_subcharts(root, child, charts, notes)


def pod_templates(cmap: ChartMap) -> set[str]:
    out: set[str] = set()
    for pod in cmap.pods:
        out.add(pod.template)
        out.update(c.template for c in pod.containers)
        out.update(b.template for b in pod.bindings)
        out.update(b.template for c in pod.containers for b in c.bindings)
    for sub in cmap.subcharts:
        out |= pod_templates(sub)
    return out


def subchart_values(chart_dir: Path) -> ValuesFile:
    p = Path(chart_dir)
    if p.is_dir():
        vf = p / "values.yaml"
        return load_values_file(str(vf)) if vf.is_file() else ValuesFile(str(vf), None, None, {})
    import tarfile

    try:
        with tarfile.open(p, "r:gz") as tar:
            for m in tar.getmembers():
                parts = m.name.split("/")
                if m.isfile() and len(parts) == 2 and parts[1] == "values.yaml":
                    fh = tar.extractfile(m)
                    if fh is not None:
                        return load_values_file(f"{p}/{m.name}", fh.read())
    except (tarfile.TarError, OSError):
        pass
    return ValuesFile(str(p), None, None, {})
