"""A worker's packed plan (kfix.wire) must come back as the plan the run keeps, field for field."""

from __future__ import annotations

import pickle
from dataclasses import fields

import pytest

from conftest import CASES

from kfix.api import keep_only, make_options, plan_paths
from kfix.config import Config
from kfix.planner import FilePlan
from kfix.wire import pack, unpack


def _comparable(plan: FilePlan) -> dict:
    out = {f.name: getattr(plan, f.name) for f in fields(FilePlan) if f.name != "error"}
    out["error"] = str(plan.error) if plan.error is not None else None
    out["type"] = type(plan)
    return out


@pytest.mark.parametrize("output", ["summary", "diff", "findings"])
@pytest.mark.parametrize("unsafe", [False, True])
def test_packed_plans_come_back_equal(output: str, unsafe: bool) -> None:
    options = make_options(Config(), unsafe_fixes=unsafe)
    result = plan_paths([str(CASES)], options, jobs=1, output=output)
    assert len(result.plans) > 100
    packed = 0
    for plan in result.plans:
        sent = pack(plan, output)
        packed += isinstance(sent, tuple)
        back = unpack(pickle.loads(pickle.dumps(sent)))
        assert _comparable(back) == _comparable(plan), plan.path
    # every YAML file's plan travels packed (plans of other backends go as they are)
    assert packed == sum(type(p) is FilePlan for p in result.plans)


def test_whole_plans_and_other_backends_go_as_they_are() -> None:
    result = plan_paths([str(CASES / "kfix")], make_options(Config()), jobs=1)
    changed = next(p for p in result.plans if p.changed)
    assert pack(changed, None) is changed
    assert pack(changed, "summary") is changed  # its texts are still there: not what a worker sends
    lean = keep_only(changed, "summary")
    assert isinstance(pack(lean, "summary"), tuple)


def test_findings_output_keeps_every_field_of_a_finding_but_its_operations() -> None:
    from dataclasses import replace

    result = plan_paths([str(CASES / "kfix")], make_options(Config()), jobs=1)
    originals = {id(p): [rep.finding for rep in p.findings] for p in result.plans}
    assert any(f.ops for found in originals.values() for f in found)
    for plan in result.plans:
        kept = keep_only(plan, "findings")
        assert [rep.finding for rep in kept.findings] == [replace(f, ops=()) for f in originals[id(plan)]]


def test_a_run_that_shows_no_findings_leaves_out_only_the_lines_of_documents_that_change() -> None:
    from kfix.planner import plan_text
    from kfix.rules import Inventory

    options = make_options(Config())
    compared = 0
    for path in sorted((CASES / "kfix").glob("*.yaml")) + sorted((CASES / "kubernetes+examples").glob("*.yaml"))[:40]:
        raw = path.read_bytes()
        full = plan_text(str(path), raw, options, Inventory())
        lean = plan_text(str(path), raw, options, Inventory(), lines=False)
        assert lean.new_text == full.new_text and lean.changes == full.changes  # changes keep their lines
        changed_docs = {c.doc for c in full.changes}
        for a, b in zip(full.findings, lean.findings):
            compared += 1
            assert (a.finding, a.status, a.note, a.change_id) == (b.finding, b.status, b.note, b.change_id)
            assert b.line == a.line or (b.line == 0 and full.changed)
        if not changed_docs:
            assert [r.line for r in lean.findings] == [r.line for r in full.findings]
    assert compared > 200


def test_the_cache_a_summary_run_fills_gives_a_report_its_lines(tmp_path) -> None:
    import json
    import shutil

    from conftest import run_kfix

    tree = tmp_path / "deploy"
    shutil.copytree(CASES / "kfix", tree)
    env = {"KFIX_CACHE_DIR": str(tmp_path / "cache")}
    run_kfix(["apply", "--write", "--quiet", str(tree)], env=env)  # a summary run: hardens, and fills the cache
    run_kfix(["apply", "--check", "--quiet", str(tree)], env=env)  # records the files it left unchanged
    _rc, cached, _err = run_kfix(["scan", "--format", "json", str(tree)], env=env)
    _rc, planned, _err = run_kfix(["scan", "--format", "json", "--no-cache", str(tree)], env=env)
    assert json.loads(cached) == json.loads(planned)
    assert all(f["line"] > 0 for f in json.loads(cached)["findings"])
