"""Read a chart's files — a directory, or a packaged `.tgz` subchart — without Helm.

Named templates are global across a chart and its subcharts (Bitnami's `common`
library lives under charts/), so kfix loads every chart in the tree.
"""

from __future__ import annotations

import fnmatch
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass
class ChartFiles:
    root: Path  # chart directory, or the .tgz for a packaged subchart
    prefix: str  # path of this chart relative to the top chart ("" for the top chart)
    meta: dict
    files: dict[str, str]  # chart-relative path -> text, for templates/
    subcharts: list["ChartFiles"] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or self.root.name)

    @property
    def library(self) -> bool:
        return self.meta.get("type") == "library"

    def all(self) -> list["ChartFiles"]:
        out = [self]
        for s in self.subcharts:
            out.extend(s.all())
        return out


def _meta(text: str | None) -> dict:
    try:
        data = yaml.safe_load(text or "") or {}
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def load(chart_dir: Path, prefix: str = "") -> ChartFiles:
    chart_dir = Path(chart_dir)
    files: dict[str, str] = {}
    errors: list[str] = []
    tdir = chart_dir / "templates"
    rules = _ignore_rules(chart_dir / ".helmignore")
    for p in sorted(tdir.rglob("*")) if tdir.is_dir() else []:
        if p.is_file():
            rel = p.relative_to(chart_dir).as_posix()
            if ignored(rel, rules):
                continue  # Helm leaves it out of the chart, so it never renders
            try:
                files[rel] = p.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError) as e:
                errors.append(f"{prefix}{rel}: cannot read ({e.__class__.__name__})")
    meta_path = chart_dir / "Chart.yaml"
    meta = _meta(meta_path.read_text(encoding="utf-8", errors="replace") if meta_path.is_file() else None)
    cf = ChartFiles(chart_dir, prefix, meta, files, errors=errors)
    sub = chart_dir / "charts"
    for p in sorted(sub.iterdir()) if sub.is_dir() else []:
        if p.is_dir() and (p / "Chart.yaml").is_file():
            cf.subcharts.append(load(p, f"{prefix}charts/{p.name}/"))
        elif p.is_file() and p.name.endswith(".tgz"):
            cf.subcharts.extend(_load_tgz(p, f"{prefix}charts/{p.name}/", errors))
    return cf


def _ignore_rules(path: Path) -> list[tuple[bool, bool, str]]:
    """(negated, directories only, pattern) per rule of a .helmignore file."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line[1:] if negated else line
        out.append((negated, line.endswith("/"), line.strip("/")))
    return out


def ignored(rel: str, rules: list[tuple[bool, bool, str]]) -> bool:
    """Whether Helm leaves out the chart-relative file ``rel``: it checks each folder on the way down and
    then the file; a pattern with a slash matches the path, one without the name, one ending in `/` only
    folders; as in Helm, a `!pattern` rule leaves out whatever it does not match."""
    parts = rel.split("/")
    for n in range(1, len(parts) + 1):
        path, is_dir = "/".join(parts[:n]), n < len(parts)
        for negated, dirs_only, pattern in rules:
            hit = (is_dir or not dirs_only) and fnmatch.fnmatchcase(path if "/" in pattern else parts[n - 1],
                                                                    pattern.lstrip("/"))
            if hit != negated:
                return True
    return False


def _load_tgz(path: Path, prefix: str, errors: list[str]) -> list[ChartFiles]:
    """A packaged chart: <name>/Chart.yaml, <name>/templates/..., nested charts ignored."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            texts: dict[str, str] = {}
            for m in tar.getmembers():
                parts = m.name.split("/")
                if not m.isfile() or len(parts) < 2 or "charts" in parts[1:-1]:
                    continue
                rel = "/".join(parts[1:])
                if rel == "Chart.yaml" or rel.startswith("templates/"):
                    f = tar.extractfile(m)
                    if f is not None:
                        texts[rel] = f.read().decode("utf-8", errors="replace")
    except (tarfile.TarError, OSError) as e:
        errors.append(f"{prefix}: cannot open packaged chart ({e.__class__.__name__})")
        return []
    meta = _meta(texts.pop("Chart.yaml", None))
    return [ChartFiles(path, prefix, meta, texts)]


def load_schema(chart_dir: Path) -> dict | None:
    """The chart's values.schema.json, parsed; None when absent or not valid JSON."""
    p = Path(chart_dir) / "values.schema.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
