"""`kfix apply --write --branch NAME`: the fixes as one commit on a new branch, the checkout untouched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kfix.git import gitops
from kfix.api import make_options, plan_paths
from kfix.config import Config

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "golden" / "cases"
MANIFESTS = {
    "k8s/vote.yaml": "dockersamples+example-voting-app/k8s-specifications__vote-deployment.yaml",
    "k8s/db.yaml": "dockersamples+example-voting-app/k8s-specifications__db-deployment.yaml",
    "k8s/job.yaml": "ContainerSolutions+kubernetes-examples/Job__simple.yaml",
    "k8s/kustomization.yaml":
        "GoogleCloudPlatform+microservices-demo/kustomize__components__google-cloud-operations__kustomization.yaml",
}
CHANGED = ["k8s/db.yaml", "k8s/job.yaml", "k8s/vote.yaml"]


def git(cwd, *args, check=True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


def kfix(cwd, *args):
    env = {**os.environ, "PYTHONSAFEPATH": "1", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "kfix", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL)


pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def repo(tmp_path) -> Path:
    path = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(path))
    for dest, src in MANIFESTS.items():
        (path / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CASES / src, path / dest)
    (path / "README.md").write_text("# app\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "manifests")
    return path


def snapshot(repo: Path) -> dict:
    """Everything the user sees of their checkout."""
    files = {p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*")
             if p.is_file() and ".git" not in p.relative_to(repo).parts}
    return {"head": git(repo, "rev-parse", "HEAD"), "ref": git(repo, "symbolic-ref", "-q", "HEAD", check=False),
            "status": git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all"),
            "index": git(repo, "ls-files", "-s"), "files": files, "worktrees": git(repo, "worktree", "list"),
            "main": git(repo, "rev-parse", "main")}


def expected_fixes(repo: Path) -> dict[str, bytes]:
    result = plan_paths([str(repo / "k8s")], make_options(Config()))
    return {os.path.relpath(p.path, repo): p.source.encode(p.new_text) for p in result.plans if p.changed}


def test_branch_gets_one_commit_and_the_checkout_stays_as_it_was(repo):
    before = snapshot(repo)
    want = expected_fixes(repo)
    proc = kfix(repo, "apply", "--write", "--branch", "kfix/harden", "k8s")

    assert proc.returncode == 0, proc.stderr  # written (to the branch); findings for a person remain (image digests, ...)
    assert "committed 3 files to new branch kfix/harden" in proc.stderr
    assert "your checkout (branch main) and working tree are unchanged" in proc.stderr
    assert snapshot(repo) == before  # same branch checked out, same HEAD, same files, index, status

    assert git(repo, "rev-parse", "kfix/harden^") == before["head"]  # made from HEAD
    assert git(repo, "rev-list", "--count", "main..kfix/harden") == "1"  # one commit
    assert sorted(git(repo, "diff", "--name-only", "main", "kfix/harden").split()) == CHANGED == sorted(want)
    for name, data in want.items():  # the committed bytes are what 'kfix apply --write' would write
        blob = subprocess.run(["git", "show", f"kfix/harden:{name}"], cwd=repo, capture_output=True).stdout
        assert blob == data
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "kfix/harden") == \
        "kfix <kfix@users.noreply.github.com>|kfix <kfix@users.noreply.github.com>"
    message = git(repo, "log", "-1", "--format=%B", "kfix/harden")
    assert message.startswith("kfix: harden Kubernetes manifests\n\nApply ") and "- run-as-non-root: 3" in message
    assert git(repo, "log", "-1", "--format=%s", "main") == "manifests"  # the original branch is untouched


def test_commit_message_and_author_are_configurable(repo):
    proc = kfix(repo, "apply", "--write", "--branch", "harden", "--commit-message", "Harden the pods",
                "--author", "Sec Bot <sec-bot@example.com>", "--fail-on", "report", "k8s/vote.yaml")
    assert proc.returncode == 1, proc.stderr  # --fail-on report: findings for a person remain
    assert git(repo, "log", "-1", "--format=%B", "harden") == "Harden the pods"
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "harden") == \
        "Sec Bot <sec-bot@example.com>|Sec Bot <sec-bot@example.com>"
    assert git(repo, "diff", "--name-only", "main", "harden") == "k8s/vote.yaml"


@pytest.mark.parametrize("how", ["unstaged", "staged", "untracked"])
def test_refuses_when_files_it_would_touch_have_uncommitted_changes(repo, how):
    target = repo / "k8s" / ("new.yaml" if how == "untracked" else "vote.yaml")
    if how == "untracked":
        shutil.copyfile(CASES / MANIFESTS["k8s/db.yaml"], target)
    else:
        target.write_text("# my local work in progress\n" + target.read_text())
        if how == "staged":
            git(repo, "add", str(target))
    before = snapshot(repo)

    proc = kfix(repo, "apply", "--write", "--branch", "kfix/harden", "k8s")

    assert proc.returncode == 2
    assert "uncommitted changes in files kfix would commit" in proc.stderr
    assert os.path.relpath(target, repo) in proc.stderr
    assert {"unstaged": "unstaged changes", "staged": "staged changes", "untracked": "untracked"}[how] in proc.stderr
    assert "Commit or stash them first" in proc.stderr and "Traceback" not in proc.stderr
    assert git(repo, "branch", "--list", "kfix/harden") == ""  # nothing created
    assert snapshot(repo) == before  # the user's work is where it was


def test_changes_in_other_files_do_not_block(repo):
    (repo / "README.md").write_text("# app\n\nwork in progress\n")
    (repo / "k8s" / "kustomization.yaml").write_text(
        (repo / "k8s" / "kustomization.yaml").read_text() + "# wip\n")  # kfix has nothing to change here
    before = snapshot(repo)
    proc = kfix(repo, "apply", "--write", "--branch", "kfix/harden", "k8s")
    assert proc.returncode == 0, proc.stderr
    assert snapshot(repo) == before
    assert sorted(git(repo, "diff", "--name-only", "main", "kfix/harden").split()) == CHANGED  # not README.md


def test_detached_head_stays_detached(repo):
    git(repo, "checkout", "-q", "--detach", "HEAD")
    before = snapshot(repo)
    proc = kfix(repo, "apply", "--write", "--branch", "fixes", "k8s")
    assert proc.returncode == 0, proc.stderr
    assert "detached HEAD" in proc.stderr
    assert snapshot(repo) == before and before["ref"] == ""
    assert git(repo, "rev-parse", "fixes^") == before["head"]


def test_run_from_a_subfolder(repo):
    before = snapshot(repo)
    proc = kfix(repo / "k8s", "apply", "--write", "--branch", "kfix/sub", "db.yaml")
    assert proc.returncode == 0, proc.stderr
    assert git(repo, "diff", "--name-only", "main", "kfix/sub") == "k8s/db.yaml"
    assert snapshot(repo) == before


def test_nothing_to_fix_creates_no_branch(repo):
    proc = kfix(repo, "apply", "--write", "--branch", "kfix/harden", "k8s/kustomization.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "nothing to fix; branch kfix/harden not created" in proc.stderr
    assert git(repo, "branch", "--list", "kfix/harden") == ""


@pytest.mark.parametrize("args, message", [
    (["--branch", "x", "k8s"], "--branch needs --write"),
    (["--write", "--check", "--branch", "x", "k8s"], "--branch needs --write"),
    (["--write", "--commit-message", "m", "k8s"], "go with --branch"),
    (["--write", "--branch", "main", "k8s"], "branch 'main' already exists"),
    (["--write", "--branch", "bad..name", "k8s"], "invalid branch name"),
    (["--write", "--branch", "x", "--author", "nobody", "k8s"], "--author must look like"),
    (["--write", "--branch", "x", "-"], "stdin"),
])
def test_usage_errors(repo, args, message):
    before = snapshot(repo)
    proc = kfix(repo, "apply", *args)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert snapshot(repo) == before
    assert git(repo, "branch", "--list", "x") == ""


def test_outside_a_repository(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    shutil.copyfile(CASES / MANIFESTS["k8s/vote.yaml"], folder / "vote.yaml")
    proc = kfix(folder, "apply", "--write", "--branch", "x", "vote.yaml")
    assert proc.returncode == 2 and "not inside a git repository" in proc.stderr


def test_library_commit_to_new_branch(repo):
    before = snapshot(repo)
    want = expected_fixes(repo)
    made = gitops.commit_to_new_branch({str(repo / k): v for k, v in want.items()}, "lib/branch", "lib\n")
    assert made.files == tuple(CHANGED) and made.parent == before["head"]
    assert git(repo, "rev-parse", "lib/branch") == made.commit
    assert snapshot(repo) == before
    with pytest.raises(gitops.GitOpsError, match="already exists"):
        gitops.commit_to_new_branch({str(repo / "k8s/db.yaml"): b"x"}, "lib/branch", "again\n")
    with pytest.raises(gitops.GitOpsError, match="outside the repository"):
        gitops.commit_to_new_branch({str(repo / "k8s/db.yaml"): b"x", "/etc/hosts": b"y"}, "other", "m\n",
                                    repo=gitops.open_repo(str(repo)))
    assert git(repo, "branch", "--list", "other") == ""


def test_gitattributes_filters_apply_to_the_commit(repo):
    """Blobs go through the repository's clean filters, as 'git add' would store them."""
    (repo / ".gitattributes").write_text("*.yaml text eol=crlf\n")
    git(repo, "add", ".gitattributes")
    git(repo, "rm", "-q", "--cached", "-r", "k8s")
    git(repo, "add", "k8s")
    git(repo, "commit", "-q", "-m", "attributes")
    git(repo, "checkout", "-q", "--", ".")
    for p in (repo / "k8s").iterdir():  # a fresh checkout of the files: CRLF on disk
        p.unlink()
    git(repo, "checkout", "-q", "--", "k8s")
    assert b"\r\n" in (repo / "k8s" / "db.yaml").read_bytes()
    before = snapshot(repo)
    proc = kfix(repo, "apply", "--write", "--branch", "crlf", "k8s/db.yaml")
    assert proc.returncode == 0, proc.stderr
    assert snapshot(repo) == before
    blob = subprocess.run(["git", "show", "crlf:k8s/db.yaml"], cwd=repo, capture_output=True).stdout
    assert b"\r\n" not in blob and b"runAsNonRoot: true\n" in blob  # stored normalised, as git add would
