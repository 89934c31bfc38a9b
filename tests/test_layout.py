"""The package's shape: one top-level package ``kfix``, no import cycles, no module over 800 lines.

The import graph counts every ``import`` / ``from ... import`` between kfix's own modules, those inside
functions too; a package's ``__init__`` importing its own children is the one exception.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import kfix

REPO = Path(__file__).resolve().parents[1]
MAX_LINES = 800


def _modules() -> dict[str, Path]:
    """Every module of the installed package: dotted name -> source file.

    An editable install maps ``kfix.rules`` from another folder than ``kfix``, so packages are walked one by
    one: ``kfix``'s own children, and the sub-packages pyproject.toml declares when the source tree is here.
    """
    found, packages = {}, ["kfix"]
    pyproject = REPO / "pyproject.toml"
    if pyproject.exists():
        import tomllib

        packages += tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["packages"]
    while packages:
        name = packages.pop()
        if name in found:
            continue
        package = importlib.import_module(name)
        found[name] = Path(package.__file__)
        for info in pkgutil.iter_modules(package.__path__, name + "."):
            if info.ispkg:
                packages.append(info.name)
            else:
                found[info.name] = Path(importlib.util.find_spec(info.name).origin)
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The kfix modules ``name`` imports (``from pkg import sub`` counts as importing ``pkg.sub``)."""
    is_pkg = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".")
                parts = parts if is_pkg else parts[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in known else base)
    return {m for m in out if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    graph = {}
    for name, path in mods.items():
        edges = _imports(name, path, known)
        if path.name == "__init__.py":  # a package re-exporting its own children is not a cycle
            edges = {e for e in edges if not e.startswith(name + ".")}
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    graph = _graph()
    assert len(graph) > 40 and "kfix.rules.base" in graph and "kfix.cli.app" in graph
    assert _cycles(graph) == []


def test_no_module_over_800_lines() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    assert {n: s for n, s in sizes.items() if s > MAX_LINES} == {}


def test_rules_know_no_text_and_backends_know_no_rules() -> None:
    """Rules read plain data (never the YAML backend); the YAML backend never imports the rules."""
    graph = _graph()
    for name, edges in graph.items():
        if name.startswith("kfix.rules"):
            assert not {e for e in edges if e.startswith(("kfix.yaml", "kfix.helm", "kfix.git", "kfix.cli"))}, name
        if name.startswith("kfix.yaml"):
            assert not {e for e in edges if e.startswith("kfix.rules")}, name


def test_python_m_kfix_version() -> None:
    out = subprocess.run([sys.executable, "-m", "kfix", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == f"kfix {kfix.__version__}\n"


@pytest.mark.skipif(not (REPO / "pyproject.toml").exists(), reason="needs the source tree")
def test_the_wheel_holds_one_top_level_package(tmp_path: Path) -> None:
    """``pip install .`` puts exactly one package, ``kfix``, into site-packages (no ``fixer``, no ``transforms``)."""
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(REPO), "-w", str(tmp_path)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {proc.stderr[-300:]}")
    (wheel,) = tmp_path.glob("kfix_harden-*.whl")  # the distribution's name
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"kfix"}
    for expected in ("kfix/__main__.py", "kfix/rules/__init__.py", "kfix/yaml/editor.py", "kfix/helm/templates.py",
                     "kfix/git/bot.py", "kfix/cli/app.py"):
        assert expected in names
