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
