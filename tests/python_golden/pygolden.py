"""Golden cases for Python sources: real files from public projects (see SOURCES.txt and licenses/), one
folder per style (cdk8s, cdk8s-plus, dicts, k8s-client, pulumi); expected outputs per mode.

``python tests/python_golden/pygolden.py`` rewrites the expected files (review the diff before committing);
``python tests/python_golden/pygolden.py --report`` prints, per style, how many container constructions
were hardened and why the others were not.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
EXPECTED = HERE / "expected"
MODES = {"default": False, "unsafe": True}


def style_dirs() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.is_dir())


def flat(rel: str) -> str:
    return rel.replace(os.sep, "__")


def run_style(style: Path, unsafe: bool):
    """(expected-file name -> bytes, the run's result) for one style folder in one mode."""
    from kfix import report
    from kfix.api import make_options, plan_paths
    from kfix.config import Config

    options = make_options(Config(), unsafe_fixes=unsafe)
    cwd = os.getcwd()
    os.chdir(style)  # paths in outputs are relative to the style folder
    try:
        result = plan_paths(["."], options, jobs=1)
    finally:
        os.chdir(cwd)
    out: dict[str, bytes] = {}
    for plan in result.plans:
        name = flat(os.path.relpath(plan.path, "."))
        if plan.error is not None:
            out[name + ".error"] = (str(plan.error) + "\n").encode()
        elif plan.changed:
            out[name] = plan.source.encode(plan.new_text)
    out["findings.txt"] = report.as_text(result.findings()).encode()
    return out, result


def regenerate() -> None:
    for mode, unsafe in MODES.items():
        for style in style_dirs():
            target = EXPECTED / mode / style.name
            for old in target.glob("*") if target.exists() else []:
                old.unlink()
            target.mkdir(parents=True, exist_ok=True)
            for name, data in run_style(style, unsafe)[0].items():
                (target / name).write_bytes(data)


def _reason(rep) -> str:
    """Why a finding stayed open, without the names of the container or the line."""
    import re

    if rep.status == "unfixable":
        text = rep.note.split("cannot be edited safely: ", 1)[-1]
        text = re.sub(r"`[^`]*`", "`...`", text)
        return re.sub(r" *\(?(at )?line \d+\)*", "", text).strip()
    if "; " in rep.finding.message:
        return rep.finding.message.split("; ", 1)[1]
    return "it changes a value the code sets explicitly"


def container_report(unsafe: bool) -> str:
    """Per style: container constructions read, hardened (every safe fix applied), and why not."""
    lines = []
    for style in style_dirs():
        _, result = run_style(style, unsafe)
        containers: dict[tuple, list] = {}
        for rep in result.findings():
            if rep.finding.container is not None:
                containers.setdefault((rep.file, rep.resource, rep.finding.container), []).append(rep)
        why: Counter = Counter()
        hardened = 0
        for reps in containers.values():
            open_ = [r for r in reps if r.status in ("unsafe", "unfixable")]
            if not open_:
                hardened += 1
            for reason in {f"{r.rule}: {r.status}: {_reason(r)}" for r in open_}:
                why[reason] += 1  # containers left open for this reason
        files = len({p.path for p in result.plans if p.kubernetes})
        lines.append(f"{style.name}: {len(containers)} containers in {files} files, {hardened} fully hardened")
        lines.extend(f"    {n} x {w}" for w, n in sorted(why.items()))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    if "--report" in sys.argv:
        for mode, unsafe in MODES.items():
            print(f"[{mode}]")
            print(container_report(unsafe), end="")
    else:
        regenerate()
