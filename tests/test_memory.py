"""Memory follows the largest document, not the input: one large file stays within 40 times its size
(plus the interpreter), and each further small file of a run adds only what the summary needs.

Peak RSS is measured in the kfix process itself (``ru_maxrss`` at exit); the bounds are generous, for
the machines' noise, and far below what kfix used before it planned one document at a time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CASES, kfix_env

VOTE = (CASES / "dockersamples+example-voting-app" / "k8s-specifications__vote-deployment.yaml").read_text()
MB = 1024 * 1024
# kfix as `python -m kfix ARGS`, then its own peak RSS (kilobytes on Linux) as the last line of stderr
_MEASURED = ("import resource, runpy, sys\n"
             "sys.argv = ['kfix'] + sys.argv[1:]\n"
             "try:\n"
             "    runpy.run_module('kfix', run_name='__main__')\n"
             "except SystemExit:\n"
             "    pass\n"
             "sys.stderr.write('\\n%d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in kilobytes: Linux")


def _peak_rss(args: list[str], cwd: Path) -> int:
    """Peak resident memory of one kfix run, in bytes."""
    proc = subprocess.run([sys.executable, "-c", _MEASURED, *args], cwd=cwd, env=kfix_env(), capture_output=True,
                          text=True, timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr
    return int(proc.stderr.strip().splitlines()[-1]) * 1024


def _documents(count: int) -> list[str]:
    return [VOTE.replace("name: vote", f"name: vote{i}") for i in range(count)]


def test_one_large_file_stays_within_40_times_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("---\n".join(_documents(10000)))  # about 4 MB of Deployments
    size = big.stat().st_size
    (tmp_path / "small.yaml").write_text(VOTE)
    baseline = _peak_rss(["apply", "--write", "--quiet", "small.yaml"], tmp_path)
    peak = _peak_rss(["apply", "--write", "--quiet", "big.yaml"], tmp_path)
    assert b"allowPrivilegeEscalation: false" in big.read_bytes()
    assert peak - baseline <= 40 * size, f"{(peak - baseline) / size:.0f}x the file's {size} bytes"


def test_each_further_file_adds_little(tmp_path: Path) -> None:
    """A run over many small files keeps per file only what its summary needs (a few kilobytes), not
    the file's text, its rewrite and its findings' details."""
    peaks = {}
    for count in (500, 2500):
        tree = tmp_path / f"tree{count}"
        for i, text in enumerate(_documents(count)):
            folder = tree / f"d{i // 500}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"f{i}.yaml").write_text(text)
        peaks[count] = _peak_rss(["apply", "--write", "--quiet", "--jobs", "1", tree.name], tmp_path)
    per_file = (peaks[2500] - peaks[500]) / 2000
    assert per_file <= 8 * 1024, f"{per_file:.0f} bytes per file ({len(VOTE)} bytes of YAML each)"


def test_large_files_verify_against_fingerprints_with_the_same_outcome(monkeypatch) -> None:
    """A large file keeps fingerprints of its intended data instead of the data: same plan, and a
    rewrite that does not re-parse to the intended data is still caught."""
    from kfix import planner
    from kfix.api import make_options, plan_bytes
    from kfix.config import Config
    from kfix.errors import VerificationError

    options = make_options(Config())
    texts = [p.read_bytes() for p in sorted(CASES.rglob("*.yaml"))]
    good = [t for t in texts if not t.startswith(b"\xef") and plan_bytes("x.yaml", t, options).error is None]
    raw = b"\n---\n".join(t.rstrip(b"\n") for t in good)
    whole = plan_bytes("all.yaml", raw, options)
    monkeypatch.setattr(planner, "FINGERPRINT_FROM", 0)
    fingerprinted = plan_bytes("all.yaml", raw, options)
    assert whole.error is None and fingerprinted.error is None, (whole.error, fingerprinted.error)
    assert whole.changed and fingerprinted.new_text == whole.new_text
    assert [(r.rule, r.line, r.status) for r in fingerprinted.findings] == \
        [(r.rule, r.line, r.status) for r in whole.findings]

    docs = planner.parse(whole.new_text)
    expected = [planner.fingerprint(d.data) for d in docs]
    planner.verify(whole.new_text, expected, planner.fingerprint)
    wrong = whole.new_text.replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", 1)
    with pytest.raises(VerificationError):
        planner.verify(wrong, expected, planner.fingerprint)


def test_fingerprints_tell_data_apart_as_equality_does() -> None:
    from kfix.planner import fingerprint

    assert fingerprint({"a": 1, "b": [1, {"c": None}]}) == fingerprint({"b": [1, {"c": None}], "a": 1})
    assert fingerprint([float("nan")]) == fingerprint([float("nan")])
    for one, other in (({"a": 1}, {"a": "1"}), ([1, 2], [2, 1]), ({"a": [1]}, {"a": [[1]]}), ("x", ["x"]),
                       ({"a": {}}, {"a": []}), (1.5, 1.25)):
        assert fingerprint(one) != fingerprint(other)
