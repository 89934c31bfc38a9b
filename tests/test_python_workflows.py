"""Python changes through the rest of kfix, end to end: ``apply --check``, review with the ``e`` (edit)
answer, the decisions file on a later review and through ``Decisions.filter``, and the PR bot against a
real bare git remote and the fake forges (tests/forge_fake.py). Inputs are real files from the corpus."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_kfix, snapshot
from kfix.api import make_options, plan_paths
from kfix.config import Config
from kfix.git.bot import Status, propose
from kfix.git.forges import make_forge
from kfix.review import load_decisions

try:
    from forge_fake import FakeForge, forge_server  # noqa: F401
except ImportError:  # pragma: no cover
    from tests.forge_fake import FakeForge, forge_server  # noqa: F401

CASES = Path(__file__).resolve().parent / "python_golden" / "cases"
CLIENT = CASES / "k8s-client" / "kubernetes-client+python" / "examples" / "deployment_crud.py"
PULUMI = CASES / "pulumi" / "pulumi+examples" / "kubernetes-py-nginx" / "__main__.py"
ASYNCIO = CASES / "k8s-client" / "kfix" / "asyncio_models.py"

EDITOR = '''\
import os, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
if os.environ["EDIT_MODE"] == "comment":
    text = "# reviewed by a person\\n" + text
else:
    text = "x = (\\n" + text
open(path, "w", encoding="utf-8").write(text)
'''


def _copy(tmp_path: Path, *sources: Path) -> Path:
    work = tmp_path / "app"
    work.mkdir(exist_ok=True)
    for src in sources:
        shutil.copyfile(src, work / src.name)
    return work


def _state(folder: Path) -> dict:
    return {p.name: snapshot(p) for p in sorted(folder.iterdir())}


def _plan(path: Path):
    (plan,) = plan_paths([str(path)], make_options(Config()), jobs=1).plans
    return plan


def test_check_exits_1_and_writes_nothing_until_fixed(tmp_path: Path) -> None:
    work = _copy(tmp_path, CLIENT, PULUMI)
    before = _state(work)
    code, out, err = run_kfix(["apply", "--check", str(work)])
    assert code == 1, err
    assert "2 files would change" in err and out == b""
    assert _state(work) == before
    code, _, err = run_kfix(["apply", "--write", str(work)])
    assert "2 files changed" in err, err
    code, out, err = run_kfix(["apply", "--check", str(work)])
    assert code == 0 and "0 files would change" in err, err


def _review(args, answers: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "EDITOR", "VISUAL")}
    return subprocess.run([sys.executable, "-m", "kfix", "review", *args], input=answers, capture_output=True,
                          text=True, cwd=cwd, env={**clean, "PYTHONSAFEPATH": "1", **env}, timeout=120)


@pytest.fixture
def editor(tmp_path: Path):
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    return lambda mode: {"EDITOR": f"{sys.executable} {script}", "EDIT_MODE": mode}


def test_review_edit_keeps_valid_python_and_replans_the_rest(tmp_path: Path, editor) -> None:
    work = _copy(tmp_path, CLIENT)
    path = work / CLIENT.name
    plan = _plan(path)
    first = plan.changes[0]
    proposal = plan.render_changes({first.id})
    proc = _review([CLIENT.name], "e\nd\n", work, **editor("comment"))
    assert proc.returncode == 0, proc.stderr
    assert "Apply this change [y,n,a,d,q,e,?]? " in proc.stdout
    assert "edited text kept for" in proc.stdout and "change(s) left to review" in proc.stdout
    assert path.read_text() == "# reviewed by a person\n" + proposal  # the edit, nothing more
    again = _plan(path)
    assert again.error is None and first.rule not in {c.rule for c in again.changes}


def test_review_edit_that_is_not_python_is_dropped(tmp_path: Path, editor) -> None:
    work = _copy(tmp_path, CLIENT)
    before = _state(work)
    proc = _review([CLIENT.name], "e\nq\n", work, **editor("broken"))
    assert proc.returncode == 0, proc.stderr
    assert "cannot be used (invalid Python" in proc.stdout and "proposal unchanged" in proc.stdout
    assert _state(work) == before


def test_decisions_carry_over_to_the_next_review_and_to_filter(tmp_path: Path) -> None:
    work = _copy(tmp_path, ASYNCIO)
    path = work / ASYNCIO.name
    original = path.read_text()
    plan = _plan(path)
    declined = plan.changes[0]
    decisions = tmp_path / "decisions.yaml"
    proc = _review(["--decisions", str(decisions), ASYNCIO.name], "n\n" + "y\n" * 30, work)
    assert proc.returncode == 0, proc.stderr
    written = path.read_text()
    assert written == plan.render_changes({c.id for c in plan.changes[1:]})
    recorded = load_decisions(str(decisions))
    assert recorded.get(str(path), declined) is False

    # the bot and CI: the recorded decisions applied to a fresh plan of the original
    path.write_text(original)
    filtered = recorded.filter(_plan(path))
    assert filtered.new_text == written
    assert {r.status for r in filtered.findings if r.rule == declined.rule and r.resource == declined.resource} \
        == {"exempt"}

    # a later review asks nothing already decided, and writes the accepted changes again
    proc = _review(["--decisions", str(decisions), ASYNCIO.name], "", work)
    assert proc.returncode == 0, proc.stderr
    assert "Apply this change" not in proc.stdout
    assert path.read_text() == written


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.usefixtures("isolated_git")
def test_pr_bot_proposes_python_changes(tmp_path: Path, forge_server: FakeForge) -> None:
    """(The forges' differences are covered in test_pr_bot; the Python side is the same for each.)"""
    kind = "gitlab"
    remote, seed, clone = tmp_path / "remote.git", tmp_path / "seed", tmp_path / "clone"
    _git(tmp_path, "init", "--bare", "-q", "-b", "main", str(remote))
    _git(tmp_path, "clone", "-q", str(remote), str(seed))
    (seed / "infra").mkdir()
    shutil.copyfile(PULUMI, seed / "infra" / "__main__.py")
    shutil.copyfile(CLIENT, seed / "infra" / "deployment_crud.py")
    (seed / "infra" / "util.py").write_text("def add(a, b):\n    return a + b\n")
    _git(seed, "add", "-A")
    _git(seed, "commit", "-q", "-m", "infrastructure in Python")
    _git(seed, "push", "-q", "origin", "main")
    _git(tmp_path, "clone", "-q", str(remote), str(clone))
    if kind == "gitea":
        forge_server.add_gitea_label("security")
    forge = make_forge(kind, "acme/web", api_url=forge_server.api_url(kind), token=forge_server.token)

    out = propose(str(clone), ["infra"], forge=forge, base="main", labels=["security"])
    assert out.status is Status.CREATED, out.message
    assert out.files == ["infra/__main__.py", "infra/deployment_crud.py"]
    assert _git(remote, "rev-list", "main..kfix/harden").count("\n") == 0  # one commit

    # the pushed files are what 'kfix apply --write' writes
    check = tmp_path / "check"
    _git(tmp_path, "clone", "-q", str(remote), str(check))
    code, _, err = run_kfix(["apply", "--write", "infra"], cwd=check)
    assert "2 files changed" in err, err
    for name in out.files:
        assert _git(remote, "show", f"kfix/harden:{name}") == (check / name).read_text().rstrip("\n")

    (pull,) = forge_server.pulls[kind].values()
    body = pull.body
    # per resource, with the Python file and the line of its pod; what is left, with file:line and why
    assert "#### `Deployment/nginx-deployment` in `infra/deployment_crud.py:33`" in body
    assert "#### `Deployment/nginx-deployment` in `infra/__main__.py:22`" in body
    assert "| `run-as-non-root` | 2 |" in body and "| `resources` | 1 |" in body
    # what changed in each pod, computed on the data kfix reads back from the rewritten code
    assert "| `spec.containers[nginx].securityContext` | added | `{capabilities: {drop: [ALL]}, " \
           "allowPrivilegeEscalation: false}` | drop-capabilities, no-privilege-escalation |" in body
    assert "| `spec.automountServiceAccountToken` | added | `false` | no-service-account-token |" in body
    assert "- `infra/deployment_crud.py:33` `Deployment/nginx-deployment` container `nginx`: " \
           "**read-only-root-filesystem**" in body
    assert "- `infra/__main__.py:26` `Deployment/nginx-deployment` container `nginx`: **image-digest**" in body
    assert "util.py" not in body

    again = propose(str(clone), ["infra"], forge=forge, base="main", labels=["security"])
    assert again.status is Status.UP_TO_DATE, again.message
    assert len(forge_server.pulls[kind]) == 1
