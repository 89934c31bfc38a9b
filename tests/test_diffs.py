"""Diffs ``git apply`` takes as they are: each file once, odd file names quoted the way git quotes them,
files outside the working directory named from the root of the file system."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import copy_case, run_kfix

from kfix.diffs import quote_path

CASE = "dockersamples+example-voting-app/k8s-specifications__vote-deployment.yaml"
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd,
                          check=check, capture_output=True, env=env)


def _headers(patch: bytes) -> list[bytes]:
    return [line for line in patch.splitlines() if line.startswith(b"+++ ")]


def test_a_file_named_twice_is_processed_once(tmp_path: Path) -> None:
    copy_case(CASE, tmp_path / "d", "x.yaml")
    rc, patch, err = run_kfix(["diff", ".", "d/x.yaml", "./d/x.yaml", str(tmp_path / "d")], cwd=tmp_path)
    assert rc == 1, err
    assert _headers(patch) == [b"+++ b/d/x.yaml"]
    rc, _out, err = run_kfix(["apply", "--write", ".", "d/x.yaml"], cwd=tmp_path)
    assert "1 file changed" in err, err
    _git(tmp_path, "init", "-q", ".")
    copy_case(CASE, tmp_path / "d", "x.yaml")
    proc = subprocess.run(["git", "apply", "--check", "-"], cwd=tmp_path, input=patch, capture_output=True)
    assert proc.returncode == 0, proc.stderr


ODD_NAMES = ["tab\there.yaml", "new\nline.yaml", 'quote"d.yaml', "back\\slash.yaml", "sp ace.yaml",
             "d\u00e9ploiement.yaml", "\u30c7\u30d7\u30ed\u30a4.yaml"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_header_names_are_quoted_like_git(tmp_path: Path, name: str) -> None:
    """Compare with git's own diff header for the same change, then apply ours with git."""
    repo = tmp_path / "repo"
    target = copy_case(CASE, repo, name)
    _git(repo, "init", "-q", ".")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "input")
    rc, patch, err = run_kfix(["diff", "."], cwd=repo)
    assert rc == 1, err
    rc, _out, err = run_kfix(["apply", "--write", "."], cwd=repo)
    fixed = target.read_bytes()
    git_diff = _git(repo, "diff").stdout
    assert _headers(patch) == _headers(git_diff)
    _git(repo, "checkout", "--", ".")
    proc = subprocess.run(["git", "apply", "-"], cwd=repo, input=patch, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes() == fixed


def test_quote_path_follows_gits_rules() -> None:
    assert quote_path("a/plain-name_1.yaml") == "a/plain-name_1.yaml"
    assert quote_path("a/sp ace.yaml") == "a/sp ace.yaml"
    assert quote_path("a/t\tb") == '"a/t\\tb"'
    assert quote_path('a/"q"') == '"a/\\"q\\""'
    assert quote_path("a/\u00e9") == '"a/\\303\\251"'
    assert quote_path("a/\x01") == '"a/\\001"'


def test_files_outside_the_working_directory(tmp_path: Path) -> None:
    """``..`` would make git apply refuse the diff: such files are named from the root of the file system."""
    outside = copy_case(CASE, tmp_path / "other", "x.yaml")
    work = tmp_path / "work"
    work.mkdir()
    rc, patch, err = run_kfix(["diff", "../other/x.yaml"], cwd=work)
    assert rc == 1, err
    name = str(outside).lstrip("/").encode()
    assert _headers(patch) == [b"+++ b/" + name]
    assert b".." not in patch.split(b"\n@@")[0]
    proc = subprocess.run(["git", "apply", "--check", "-"], cwd="/", input=patch, capture_output=True)
    assert proc.returncode == 0, proc.stderr
