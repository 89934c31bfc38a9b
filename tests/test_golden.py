"""Golden tests: real manifests (tests/golden/cases) against reviewed expected outputs, byte for byte."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import golden  # noqa: E402

PARAMS = [(mode, case) for mode in golden.MODES for case in golden.case_dirs()]


@pytest.mark.parametrize("mode,case", PARAMS, ids=[f"{m}-{c.name}" for m, c in PARAMS])
def test_golden(mode: str, case: Path) -> None:
    actual = golden.run_case(case, golden.MODES[mode])
    expected_dir = golden.EXPECTED / mode / case.name
    expected = {p.name: p.read_bytes() for p in expected_dir.iterdir()}
    assert sorted(actual) == sorted(expected), "files changed/reported differ from the golden set"
    for name, data in expected.items():
        assert actual[name] == data, f"{mode}/{case.name}/{name} differs from its golden output"


@pytest.mark.parametrize("mode", list(golden.MODES))
def test_golden_outputs_are_fixed_points(mode: str, tmp_path: Path) -> None:
    """A second run over each fixed case folder changes nothing (idempotence on real files)."""
    import shutil

    for case in golden.case_dirs():
        work = tmp_path / mode / case.name
        shutil.copytree(case, work)
        for expected in (golden.EXPECTED / mode / case.name).glob("*.yaml"):
            shutil.copyfile(expected, work / expected.name)
        again = golden.run_case(work, golden.MODES[mode])
        rewritten = [name for name in again if name.endswith(".yaml")]
        assert rewritten == [], f"{case.name}: {rewritten} change again on a second run"


def test_golden_inputs_untouched_outside_edits() -> None:
    """Every line of each input survives in its expected output, in order (only insertions/edits)."""
    import difflib

    for case in golden.case_dirs():
        for expected in (golden.EXPECTED / "default" / case.name).glob("*.yaml"):
            before = (case / expected.name).read_bytes().splitlines(True)
            after = expected.read_bytes().splitlines(True)
            sm = difflib.SequenceMatcher(None, before, after, autojunk=False)
            for tag, i1, i2, _j1, _j2 in sm.get_opcodes():
                if tag in ("delete", "replace"):
                    # a replaced line may only be the one whose value moved to a block, or the last line
                    # gaining a line break before new text; it must keep its comment text
                    for line in before[i1:i2]:
                        assert line.strip().startswith(b"#") is False, (expected, line)
