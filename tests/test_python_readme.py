"""The README's Python examples are what kfix does: each ``diff`` block of its Python section is a run of
lines of the diff kfix prints for one of the programs in tests/python_readme (one per library and style),
with the rules the README names."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from conftest import run_kfix

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tests" / "python_readme"
SELECT = "no-privilege-escalation,drop-capabilities,run-as-non-root"


def _section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Python code")
    return text[start:text.index("\n## ", start + 1)]


def _blocks() -> list[list[str]]:
    return [block.splitlines() for block in re.findall(r"```diff\n(.*?)```", _section(), re.S)]


def _hunk_lines(diff: str) -> list[str]:
    return [line for line in diff.splitlines() if not line.startswith(("---", "+++", "@@"))]


def _contains(big: list[str], small: list[str]) -> bool:
    return any(big[i:i + len(small)] == small for i in range(len(big) - len(small) + 1))


def test_readme_python_examples_are_kfix_output(tmp_path: Path) -> None:
    assert f"--select {SELECT}" in _section()
    outputs = {}
    for example in sorted(EXAMPLES.glob("*.py")):
        shutil.copyfile(example, tmp_path / example.name)
        code, out, err = run_kfix(["apply", "--select", SELECT, example.name], cwd=tmp_path)
        assert code == 1 and out, err
        outputs[example.stem] = _hunk_lines(out.decode())
    blocks = _blocks()
    shown = {}
    for block in blocks:
        matches = [name for name, lines in outputs.items() if _contains(lines, block)]
        assert matches, "a README Python example is not what kfix prints:\n" + "\n".join(block)
        shown.update(dict.fromkeys(matches, True))
    assert sorted(shown) == sorted(outputs), "every library and style has its README example"
