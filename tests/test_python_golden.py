"""Golden tests for the Python-source backend: real files (tests/python_golden/cases, from public projects)
against reviewed expected outputs, byte for byte, in both modes; and the preservation promises on each."""

from __future__ import annotations

import ast
import io
import shutil
import sys
import tokenize
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "python_golden"))
import pygolden as golden  # noqa: E402

PARAMS = [(mode, style) for mode in golden.MODES for style in golden.style_dirs()]


@pytest.mark.parametrize("mode,style", PARAMS, ids=[f"{m}-{s.name}" for m, s in PARAMS])
def test_python_golden(mode: str, style: Path) -> None:
    actual, _ = golden.run_style(style, golden.MODES[mode])
    expected_dir = golden.EXPECTED / mode / style.name
    expected = {p.name: p.read_bytes() for p in expected_dir.iterdir()}
    assert sorted(actual) == sorted(expected), "files changed/reported differ from the golden set"
    for name, data in expected.items():
        assert actual[name] == data, f"{mode}/{style.name}/{name} differs from its golden output"


def _originals(style: Path) -> dict[str, Path]:
    return {golden.flat(str(p.relative_to(style))): p for p in style.rglob("*.py")}


def _comments(text: str) -> Counter:
    return Counter(t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT)


def _leaves(text: str) -> list[str]:
    """Every name and literal of the module in source order (what an edit that only adds must keep)."""
    out = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Constant):
            out.append(repr(node.value))
        elif isinstance(node, ast.Name):
            out.append(node.id)
        elif isinstance(node, ast.keyword) and node.arg:
            out.append(node.arg + "=")
    return out


def _legacy_annotations(text: str) -> Counter:
    """The keys and values of legacy seccomp annotations (migrated to the field, so they go away)."""
    out: Counter = Counter()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and "seccomp.security.alpha.kubernetes.io/" in str(k.value):
                    out[repr(k.value)] += 1
                    if isinstance(v, ast.Constant):
                        out[repr(v.value)] += 1
    return out


def _is_subsequence(small: list, big: list) -> bool:
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


@pytest.mark.parametrize("mode", list(golden.MODES))
def test_python_outputs_keep_everything(mode: str) -> None:
    """Each changed file parses, keeps every comment, and only adds to the original (default mode: every
    name, literal and keyword of the original is still there, in the same breadth-first order)."""
    changed = 0
    for style in golden.style_dirs():
        originals = _originals(style)
        for out in (golden.EXPECTED / mode / style.name).glob("*.py"):
            before = originals[out.name].read_text(encoding="utf-8")
            after = out.read_text(encoding="utf-8")
            ast.parse(after)
            assert _comments(before) == _comments(after), out
            if mode == "default":
                old, new = sorted(_leaves(before)), sorted(_leaves(after))
                lost = Counter(old) - Counter(new)
                assert not (lost - _legacy_annotations(before)), f"{out.name} lost names or literals"
            changed += 1
    assert changed >= 20


@pytest.mark.parametrize("mode", list(golden.MODES))
def test_python_outputs_are_fixed_points(mode: str, tmp_path: Path) -> None:
    """A second run over each fixed style folder changes nothing."""
    for style in golden.style_dirs():
        work = tmp_path / mode / style.name
        shutil.copytree(style, work)
        originals = _originals(work)
        for expected in (golden.EXPECTED / mode / style.name).glob("*.py"):
            shutil.copyfile(expected, originals[expected.name])
        again, _ = golden.run_style(work, golden.MODES[mode])
        rewritten = [name for name in again if name.endswith(".py")]
        assert rewritten == [], f"{style.name}: {rewritten} change again on a second run"


def test_python_golden_keeps_license_notices() -> None:
    sources = (golden.HERE / "SOURCES.txt").read_text()
    for style in golden.style_dirs():
        for path in style.rglob("*.py"):
            repo_dir = path.relative_to(style).parts[0]
            if repo_dir == "kfix":  # hand-made cases of this project
                continue
            repo = repo_dir.replace("+", "/")
            assert repo in sources, path
            assert (golden.HERE / "licenses" / f"{repo_dir}.LICENSE").is_file(), path


def test_container_table_per_construction_style() -> None:
    """Per style (cdk8s, cdk8s-plus, Pulumi Args, Pulumi dicts, ArgsDict, kubernetes client, plain dicts):
    the containers read, how many are hardened in each mode, and why the others are not (reviewed table)."""
    table = golden.container_table(golden.CASES)
    assert table == (golden.EXPECTED / "containers.md").read_text()
    assert all(f"| {style} |" in table for style in golden.STYLES)


@pytest.mark.parametrize("mode", list(golden.MODES))
def test_rewrites_only_add_what_was_intended(mode: str) -> None:
    """Each golden output (what kfix writes, byte for byte) against its original, on the syntax tree: the
    original's plus keyword arguments, dict entries, list items and imports only (and, with --unsafe-fixes,
    replaced literals and removed items). ``pygolden.py --check`` runs the same check through the command."""
    import ast

    totals: Counter = Counter()
    for style in golden.style_dirs():
        originals = _originals(style)
        for out in (golden.EXPECTED / mode / style.name).glob("*.py"):
            before, after = originals[out.name].read_text(), out.read_text()
            totals.update(golden.tree_delta(ast.parse(before), ast.parse(after), mode == "unsafe"))
    assert totals["keyword added"] >= 50 and totals["entry added"] >= 20 and totals["import added"] >= 10
    assert ("literal replaced" in totals) is (mode == "unsafe")


def test_corpus_check_through_the_command(tmp_path: Path) -> None:
    """The done-when check end to end on a few real files: ``kfix apply --write`` in both modes, every changed
    file parsed, its comments and syntax tree compared, a second run changing nothing."""
    folder = tmp_path / "in"
    for style in ("k8s-client", "pulumi"):
        shutil.copytree(golden.CASES / style / "kfix", folder / style)
    default = golden.check_corpus(folder, False, tmp_path / "work")
    unsafe = golden.check_corpus(folder, True, tmp_path / "work")
    assert default["files changed"] == unsafe["files changed"] == 3
    assert default["entry removed"] == 2  # the legacy seccomp annotations, migrated
    assert unsafe.get("literal replaced", 0) >= 1 and "literal replaced" not in default


def test_tree_delta_refuses_what_kfix_must_never_do() -> None:
    import ast

    old = ast.parse("c = V1Container(name='a', image='b:1')\nspec = {'containers': [c]}\n")
    ok = ast.parse("c = V1Container(name='a', image='b:1', x=1)\nspec = {'containers': [c], 'y': {}}\n")
    assert golden.tree_delta(old, ok, False) == Counter({"keyword added": 1, "entry added": 1})
    for bad in ("c = V1Container(name='a', image='b:2')\nspec = {'containers': [c]}\n",
                "c = V1Container(name='a')\nspec = {'containers': [c]}\n",
                "c = V1Container(name='a', image='b:1')\nspec = {'containers': []}\n",
                "c = V1Container(name='a', image='b:1')\nspec = {'containers': [c]}\nprint(c)\n"):
        with pytest.raises(AssertionError):
            golden.tree_delta(old, ast.parse(bad), False)
