"""kill -9 during ``kfix apply --write`` on a copy of the shared corpus, 20 times at moments spread over a
run: every file is always its old or its new self, and one more run leaves exactly the tree a single
uninterrupted run gives (no temporary file left, none taken for input).

Skipped from a plain clone; CI has ../shared beside the project and runs it.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import kfix_env, writable_copy

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "manifests"
KILLS = 20

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _start(tree: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kfix", "apply", "--write", "--quiet", "--jobs", "1", "."],
                            cwd=tree, env=kfix_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_kill_9_during_write_leaves_old_or_new_files(tmp_path: Path) -> None:
    old = _files(CORPUS)
    expected = writable_copy(CORPUS, tmp_path / "expected")
    began = time.monotonic()
    _start(expected).wait()
    whole_run = time.monotonic() - began
    new = _files(expected)
    assert new != old

    tree = writable_copy(CORPUS, tmp_path / "tree")
    moments = random.Random(11)  # the same moments on every run (relative to this machine's run time)
    for _ in range(KILLS):
        proc = _start(tree)
        time.sleep(moments.uniform(0.1, 1.0) * whole_run)
        proc.kill()
        proc.wait()
        now = _files(tree)
        for name, data in now.items():
            if name in old:
                assert data in (old[name], new[name]), f"{name} is neither the old nor the new file"
            else:
                assert Path(name).name.startswith(".kfix-tmp-"), f"{name} appeared"
        assert set(old) <= set(now), "a file disappeared"
    _start(tree).wait()
    assert _files(tree) == new
