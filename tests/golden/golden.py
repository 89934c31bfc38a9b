"""Golden cases: each folder of tests/golden/cases is one run; expected outputs per mode.

``python tests/golden/golden.py`` rewrites the expected files (review the diff before committing).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
EXPECTED = HERE / "expected"
MODES = {"default": False, "unsafe": True}


def case_dirs() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.is_dir())


def run_case(case: Path, unsafe: bool) -> dict[str, bytes]:
    """Expected-file name -> bytes, for one case folder in one mode."""
    from kfix import report
    from kfix.api import make_options, plan_paths
    from kfix.config import Config

    options = make_options(Config(), unsafe_fixes=unsafe)
    cwd = os.getcwd()
    os.chdir(case)  # paths in outputs are relative to the case folder
    try:
        result = plan_paths(["."], options, jobs=1)
    finally:
        os.chdir(cwd)
    out: dict[str, bytes] = {}
    for plan in result.plans:
        name = os.path.relpath(plan.path, ".")
        if plan.error is not None:
            out[name + ".error"] = (str(plan.error) + "\n").encode()
        elif plan.changed:
            out[name] = plan.source.encode(plan.new_text)
    out["findings.txt"] = report.as_text(result.findings()).encode()
    notes = "".join(f"{os.path.relpath(p.path, '.')}: {p.note}\n" for p in result.plans if p.note and p.error is None)
    if notes:  # files kfix leaves alone on purpose (Kustomize patches), and why
        out["notes.txt"] = notes.encode()
    return out


def regenerate() -> None:
    for mode, unsafe in MODES.items():
        for case in case_dirs():
            target = EXPECTED / mode / case.name
            for old in target.glob("*") if target.exists() else []:
                old.unlink()
            target.mkdir(parents=True, exist_ok=True)
            for name, data in run_case(case, unsafe).items():
                (target / name).write_bytes(data)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    regenerate()
