"""Shared helpers for the command-line tests: run the real ``kfix`` in a subprocess, copy golden inputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# CI explores the same examples on every run (a landing must not depend on luck); local runs explore anew.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "golden" / "cases"
OLD_MTIME_NS = 1_000_000_000 * 10**9  # 2001: a rewrite, even of identical bytes, moves the mtime off this


def kfix_env(extra: dict | None = None) -> dict:
    """The environment kfix runs in: no colour or debug settings leaking in, and the working folder never on
    the import path (``python -m kfix`` in a folder that holds a ``kfix/`` directory must still run the
    installed package, which an editable install maps from ``fixer/``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "KFIX_DEBUG", "FORCE_COLOR", "KFIX_CACHE_DIR")}
    env["PYTHONSAFEPATH"] = "1"
    env.update(extra or {})
    return env


def run_kfix(args, input: bytes | str | None = None, cwd=None, env: dict | None = None,
             timeout: float = 120) -> tuple[int, bytes, str]:
    """Run ``python -m kfix ARGS``; return (exit code, stdout bytes, stderr text)."""
    if isinstance(input, str):
        input = input.encode()
    proc = subprocess.run([sys.executable, "-m", "kfix", *map(str, args)], input=input,
                          stdin=None if input is not None else subprocess.DEVNULL, cwd=cwd,
                          capture_output=True, env=kfix_env(env), timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace")


def copy_case(rel: str, dest: Path, name: str | None = None) -> Path:
    """Copy ``tests/golden/cases/<rel>`` into ``dest`` (as ``name``), aged so a rewrite shows in its mtime."""
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / (name or Path(rel).name)
    shutil.copyfile(CASES / rel, target)
    age(target)
    return target


def writable_copy(src: Path, dest: Path) -> Path:
    """Copy a folder tree as a checkout would have it: owner-writable files and folders (kfix leaves
    read-only files alone, and the shared corpus is kept read-only)."""
    shutil.copytree(src, dest, copy_function=shutil.copyfile)
    for folder, _dirs, files in os.walk(dest):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return dest


def age(path: Path) -> None:
    os.utime(path, ns=(OLD_MTIME_NS, OLD_MTIME_NS), follow_symlinks=False)


def snapshot(path: Path) -> tuple[bytes, int]:
    """What "untouched" means: same bytes, same mtime."""
    return path.read_bytes(), path.stat().st_mtime_ns


@pytest.fixture
def kfix():
    return run_kfix


@pytest.fixture
def isolated_git(tmp_path, monkeypatch):
    """Real git with no user or system configuration (a person called Alice by default) and no
    forge variables or tokens from the environment."""
    home = tmp_path / "home"
    home.mkdir()
    cfg = home / ".gitconfig"
    cfg.write_text("[user]\n\tname = Alice Example\n\temail = alice@example.com\n"
                   "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_DIR",
                "GIT_WORK_TREE", "GIT_INDEX_FILE", "KFIX_TOKEN", "GITHUB_TOKEN", "GITLAB_TOKEN", "GITEA_TOKEN",
                "FORGEJO_TOKEN", "GITHUB_REPOSITORY", "CI_PROJECT_PATH", "GITHUB_API_URL", "CI_API_V4_URL"):
        monkeypatch.delenv(var, raising=False)


def make_chart(root: Path, templates: dict[str, str], values: str,
               meta: str = "apiVersion: v2\nname: demo\nversion: 0.1.0\n") -> Path:
    """A small Helm chart written to ``root`` (Chart.yaml, values.yaml, templates/)."""
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(meta)
    (root / "values.yaml").write_text(values)
    for name, text in templates.items():
        (root / "templates" / name).write_text(text)
    return root
