"""`kfix pr` and kfix.git.bot.propose against real git (bare repositories as remotes) and the fake forges.

Every scenario runs for GitHub, GitLab and Gitea: the forge side is tests/forge_fake.py, which checks
each request against the forges' published API descriptions.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kfix.git import gitops
from kfix.api import make_options, plan_paths
from kfix.config import Config
from kfix.git.bot import BotError, Status, propose
from kfix.git.forges import make_forge

try:
    from forge_fake import FakeForge, forge_server  # noqa: F401
except ImportError:  # pragma: no cover - when tests/ becomes a package
    from tests.forge_fake import FakeForge, forge_server  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "golden" / "cases"
KFIX = [sys.executable, "-m", "kfix"]
SLUG = "acme/web"
BRANCH = "kfix/harden"
KINDS = ["github", "gitlab", "gitea"]

# Real manifests from the golden corpus, and what each exercises in the request body.
MANIFESTS = {
    "deploy/vote.yaml": "dockersamples+example-voting-app/k8s-specifications__vote-deployment.yaml",  # safe fixes
    "deploy/db.yaml": "dockersamples+example-voting-app/k8s-specifications__db-deployment.yaml",  # safe fixes
    # hostNetwork/privileged: unsafe fixes held back, plus safe fixes
    "deploy/privileged.yaml": "ContainerSolutions+kubernetes-examples/Pod__spec.containers.securityContext__privileged-namespace.yaml",
    "deploy/merged.yaml": "kfix/merge-keys.yaml",  # merge keys/anchors: fixes kfix cannot make safely
    "deploy/kustomization.yaml":  # nothing to do
        "GoogleCloudPlatform+microservices-demo/kustomize__components__google-cloud-operations__kustomization.yaml",
}
EXTRA = "ContainerSolutions+kubernetes-examples/Job__simple.yaml"


# --- a small world of repositories ------------------------------------------------------------------

def git(cwd, *args, env=None, check=True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if check and proc.returncode:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


pytestmark = pytest.mark.usefixtures("isolated_git")


class World:
    """A bare remote seeded with manifests, the bot's clone, and a helper clone for people."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.remote = tmp / "remote.git"
        git(tmp, "init", "--bare", "-q", "-b", "main", str(self.remote))
        seed = tmp / "seed"
        git(tmp, "clone", "-q", str(self.remote), str(seed))
        for dest, src in MANIFESTS.items():
            (seed / dest).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(CASES / src, seed / dest)
        (seed / "README.md").write_text("# web\n")
        git(seed, "add", "-A")
        git(seed, "commit", "-q", "-m", "initial manifests")
        git(seed, "push", "-q", "origin", "main")
        self.people = seed
        self.clone = tmp / "clone"
        git(tmp, "clone", "-q", str(self.remote), str(self.clone))

    def sha(self, ref: str) -> str | None:
        out = git(self.remote, "rev-parse", "--verify", "--quiet", ref, check=False)
        return out or None

    def base_change(self, name: str = "deploy/job.yaml", src: str = EXTRA) -> str:
        """A person adds a manifest to main; returns the new main sha."""
        git(self.people, "checkout", "-q", "main")
        git(self.people, "pull", "-q", "--ff-only", "origin", "main")
        shutil.copyfile(CASES / src, self.people / name)
        git(self.people, "add", name)
        git(self.people, "commit", "-q", "-m", f"add {name}")
        git(self.people, "push", "-q", "origin", "main")
        return self.sha("refs/heads/main")

    def person_commits_on_branch(self, branch: str = BRANCH) -> str:
        git(self.people, "fetch", "-q", "origin")
        git(self.people, "checkout", "-q", "-B", branch, f"origin/{branch}")
        path = self.people / "deploy" / "vote.yaml"
        path.write_text(path.read_text() + "# tuned by Bob\n")
        env = {**os.environ, "GIT_AUTHOR_NAME": "Bob", "GIT_AUTHOR_EMAIL": "bob@example.com",
               "GIT_COMMITTER_NAME": "Bob", "GIT_COMMITTER_EMAIL": "bob@example.com"}
        git(self.people, "commit", "-q", "-am", "keep my tweak", env=env)
        git(self.people, "push", "-q", "origin", branch)
        git(self.people, "checkout", "-q", "main")
        return self.sha(f"refs/heads/{branch}")

    def local_state(self) -> tuple:
        """Everything of the bot's clone that kfix must leave alone."""
        refs = git(self.clone, "for-each-ref", "--format=%(refname) %(objectname)").splitlines()
        # (a push updates the remote-tracking ref of the pushed branch, as every git push does)
        refs = [r for r in refs if not r.startswith(f"refs/remotes/origin/{BRANCH} ")]
        return (refs,
                git(self.clone, "symbolic-ref", "-q", "HEAD", check=False), git(self.clone, "rev-parse", "HEAD"),
                git(self.clone, "status", "--porcelain", "--ignored"), git(self.clone, "worktree", "list"),
                (self.clone / ".git" / "config").read_text())


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


def forge_for(fake: FakeForge, kind: str):
    if kind == "gitea" and not fake.gitea_labels:
        fake.add_gitea_label("security")
    return make_forge(kind, SLUG, api_url=fake.api_url(kind), token=fake.token)


def run_bot(world: World, fake: FakeForge, kind: str, **kw):
    kw.setdefault("base", "main")
    return propose(str(world.clone), ["deploy"], forge=forge_for(fake, kind), labels=["security"], **kw)


def writes(fake: FakeForge, kind: str) -> list:
    return [r for r in fake.requests_for(kind) if r.method != "GET"]


def branch_commits(world: World, branch: str = BRANCH) -> list[str]:
    return git(world.remote, "rev-list", f"main..{branch}").split()


def commit_identity(world: World, ref: str) -> str:
    return git(world.remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>", ref)


def kfix(cwd, *args, env_extra=None):
    env = {**os.environ, "PYTHONSAFEPATH": "1", "NO_COLOR": "1", **(env_extra or {})}
    return subprocess.run([*KFIX, *args], cwd=cwd, capture_output=True, text=True, env=env)


# --- the first run ----------------------------------------------------------------------------------

def test_first_run_pushes_one_commit_and_opens_a_request(world, forge_server, kind):
    fake = forge_server
    before = world.local_state()
    out = run_bot(world, fake, kind)

    assert out.status is Status.CREATED, out.message
    assert out.pushed and out.pull is not None and out.pull.state == "open"
    main = world.sha("refs/heads/main")
    tip = world.sha(f"refs/heads/{BRANCH}")
    assert tip == out.commit
    assert git(world.remote, "rev-parse", f"{BRANCH}^") == main  # one commit, right on the base
    assert branch_commits(world) == [tip]
    assert commit_identity(world, BRANCH) == f"{gitops.BOT_NAME} <{gitops.BOT_EMAIL}>|{gitops.BOT_NAME} <{gitops.BOT_EMAIL}>"
    changed = sorted(git(world.remote, "diff", "--name-only", "main", BRANCH).split())
    assert changed == ["deploy/db.yaml", "deploy/merged.yaml", "deploy/privileged.yaml", "deploy/vote.yaml"]
    assert out.files == changed

    # The pushed files are exactly what 'kfix apply --write' writes.
    check = world.tmp / "check"
    git(world.tmp, "clone", "-q", str(world.remote), str(check))
    result = plan_paths([str(check / "deploy")], make_options(Config()))
    left = [r for r in result.findings() if r.status in ("unsafe", "report", "unfixable")]
    proc = kfix(check, "apply", "--write", "deploy")
    assert proc.returncode in (0, 1), proc.stderr
    for name in changed:
        assert git(world.remote, "show", f"{BRANCH}:{name}") == (check / name).read_text().rstrip("\n")

    # The request: one, from the bot branch into main, labelled, with the whole story in its body.
    pulls = list(fake.pulls[kind].values())
    assert len(pulls) == 1
    pull = pulls[0]
    assert (pull.head, pull.base, pull.state) == (BRANCH, "main", "open")
    assert pull.labels == ["security"]
    assert pull.title == "kfix: harden Kubernetes manifests"
    body = pull.body
    assert f"`main` ({main[:12]})" in body
    assert "| `run-as-non-root` |" in body  # fixes by rule
    assert "#### `Deployment/vote` in `deploy/vote.yaml:17`" in body  # one table per resource
    assert "| `spec.template.spec.securityContext` | added |" in body  # deepdiff rows
    assert "runAsNonRoot: true" in body
    assert "### Unsafe fixes not applied" in body
    assert "`deploy/privileged.yaml:10` `Pod/privileged-namespace-pod`: **no-host-namespaces**" in body
    assert "### Findings kfix cannot fix automatically" in body
    assert "`deploy/db.yaml:18` `Deployment/db` container `postgres`: **image-digest**" in body
    assert "### Fixes kfix could not make safely" in body
    # every finding kfix left for a person is listed with file:line
    assert {r.status for r in left} == {"unsafe", "report", "unfixable"}
    for rep in left:
        where = f"`{os.path.relpath(rep.file, check)}:{rep.line}` `{rep.resource}`"
        assert f"{where}" in body and f"**{rep.rule}** — {rep.finding.message}" in body
    assert "kfix.dev/ignore" in body
    assert "deploy/kustomization.yaml" not in body

    # The bot's clone is exactly as it was: refs, HEAD, files, worktrees, config.
    assert world.local_state() == before
    assert not list((world.clone / ".git").glob("refs/kfix-tmp*/**/*.*"))
    assert "kfix-tmp" not in git(world.clone, "for-each-ref")


def test_draft_request(world, forge_server, kind):
    out = run_bot(world, forge_server, kind, draft=True)
    assert out.status is Status.CREATED and out.pull.draft
    assert forge_server.pulls[kind][1].draft


def test_default_base_is_the_remotes_default_branch(world, forge_server):
    out = propose(str(world.clone), ["deploy"], forge=forge_for(forge_server, "github"))
    assert out.status is Status.CREATED and out.base == "main"
    assert forge_server.pulls["github"][1].base == "main"


# --- re-runs ----------------------------------------------------------------------------------------

def test_rerun_with_nothing_new_is_up_to_date(world, forge_server, kind):
    fake = forge_server
    first = run_bot(world, fake, kind)
    tip = world.sha(f"refs/heads/{BRANCH}")
    n_writes = len(writes(fake, kind))

    again = run_bot(world, fake, kind)

    assert again.status is Status.UP_TO_DATE, again.message
    assert not again.pushed and again.commit == tip == first.commit
    assert world.sha(f"refs/heads/{BRANCH}") == tip  # no new commit, no push
    assert len(writes(fake, kind)) == n_writes  # no new request, no edit
    assert len(fake.pulls[kind]) == 1


def test_rerun_after_the_base_moved_rebuilds_and_updates(world, forge_server, kind):
    fake = forge_server
    first = run_bot(world, fake, kind)
    old_tip = world.sha(f"refs/heads/{BRANCH}")
    new_main = world.base_change()

    again = run_bot(world, fake, kind)

    assert again.status is Status.UPDATED, again.message
    assert again.pushed and again.pull.number == first.pull.number
    tip = world.sha(f"refs/heads/{BRANCH}")
    assert tip != old_tip
    assert git(world.remote, "rev-parse", f"{BRANCH}^") == new_main  # rebuilt on the new base
    assert branch_commits(world) == [tip]  # still exactly one commit
    assert "deploy/job.yaml" in git(world.remote, "diff", "--name-only", "main", BRANCH)
    pull = fake.pulls[kind][first.pull.number]
    assert len(fake.pulls[kind]) == 1
    assert f"({new_main[:12]})" in pull.body and "`Job/jobs-simple-job`" in pull.body
    assert pull.title == "kfix: harden Kubernetes manifests"  # title left as it was
    edits = [r for r in writes(fake, kind) if r.method in ("PATCH", "PUT")]
    assert len(edits) == 1 and "title" not in edits[0].body

    # and the next run has nothing new again
    assert run_bot(world, fake, kind).status is Status.UP_TO_DATE


def test_opting_a_resource_out_as_the_body_says_drops_it(world, forge_server):
    fake = forge_server
    first = run_bot(world, fake, "github")
    assert "#### `Deployment/vote`" in fake.pulls["github"][1].body
    git(world.people, "pull", "-q", "--ff-only", "origin", "main")
    vote = world.people / "deploy" / "vote.yaml"
    vote.write_text(vote.read_text().replace("metadata:\n  labels:", 'metadata:\n  annotations:\n'
                                             '    kfix.dev/ignore: "all"\n  labels:', 1))
    git(world.people, "commit", "-q", "-am", "vote: opt out of kfix")
    git(world.people, "push", "-q", "origin", "main")

    out = run_bot(world, fake, "github")
    assert out.status is Status.UPDATED and out.pull.number == first.pull.number
    assert "deploy/vote.yaml" not in out.files
    assert "deploy/vote.yaml" not in git(world.remote, "diff", "--name-only", "main", BRANCH)
    body = fake.pulls["github"][1].body
    assert "#### `Deployment/vote`" not in body and "skipped because the resource opted out" in body


def test_changed_options_update_the_branch_on_the_same_base(world, forge_server):
    fake = forge_server
    run_bot(world, fake, "github", select=["run-as-non-root"])
    tip = world.sha(f"refs/heads/{BRANCH}")
    out = run_bot(world, fake, "github")
    assert out.status is Status.UPDATED and out.pushed
    assert world.sha(f"refs/heads/{BRANCH}") != tip
    assert git(world.remote, "rev-parse", f"{BRANCH}^") == world.sha("refs/heads/main")


# --- people ----------------------------------------------------------------------------------------

def test_a_person_pushed_to_the_branch(world, forge_server, kind):
    fake = forge_server
    run_bot(world, fake, kind)
    bob_tip = world.person_commits_on_branch()
    body_before = fake.pulls[kind][1].body
    n_writes = len(writes(fake, kind))
    world.base_change()  # even with a moved base, the branch stays theirs

    out = run_bot(world, fake, kind)

    assert out.status is Status.PERSON_PUSHED
    assert "bob@example.com" in out.message and BRANCH in out.message
    assert world.sha(f"refs/heads/{BRANCH}") == bob_tip
    assert len(writes(fake, kind)) == n_writes and fake.pulls[kind][1].body == body_before


def test_a_person_replaced_the_bot_commit(world, forge_server):
    """A force-push of a person's own single commit is theirs too."""
    fake = forge_server
    run_bot(world, fake, "gitlab")
    git(world.people, "fetch", "-q", "origin")
    git(world.people, "checkout", "-q", "-B", "mine", "origin/main")
    (world.people / "deploy" / "notes.txt").write_text("by hand\n")
    git(world.people, "add", "deploy/notes.txt")
    git(world.people, "commit", "-q", "-m", "my own take")
    git(world.people, "push", "-q", "--force", "origin", f"mine:{BRANCH}")
    tip = world.sha(f"refs/heads/{BRANCH}")

    out = run_bot(world, fake, "gitlab")
    assert out.status is Status.PERSON_PUSHED and "alice@example.com" in out.message
    assert world.sha(f"refs/heads/{BRANCH}") == tip


def test_someone_pushes_while_kfix_works(world, forge_server, monkeypatch):
    """The lease: a push between kfix's fetch and its push is not overwritten."""
    fake = forge_server
    run_bot(world, fake, "github")
    world.base_change()
    real = gitops.branch_ownership
    pushed = {}

    def racing(*args, **kw):
        answer = real(*args, **kw)  # kfix inspected the branch: it is the bot's ...
        pushed["tip"] = world.person_commits_on_branch()  # ... and now Bob pushes
        return answer

    monkeypatch.setattr(gitops, "branch_ownership", racing)
    out = run_bot(world, fake, "github")
    assert out.status is Status.PERSON_PUSHED and "changed while kfix was working" in out.message
    assert world.sha(f"refs/heads/{BRANCH}") == pushed["tip"]


def test_push_with_lease_refuses_a_stale_expectation(world):
    repo = gitops.open_repo(str(world.clone))
    head = git(world.clone, "rev-parse", "HEAD")
    gitops.push_with_lease(repo, "origin", head, "topic", None)
    assert world.sha("refs/heads/topic") == head
    other = gitops.commit_files(repo, head, {"README.md": b"# other\n"}, "other\n").hexsha
    with pytest.raises(gitops.LeaseRejected):
        gitops.push_with_lease(repo, "origin", other, "topic", None)  # "must not exist yet"
    with pytest.raises(gitops.LeaseRejected):
        gitops.push_with_lease(repo, "origin", other, "topic", "1" * 40)
    assert world.sha("refs/heads/topic") == head
    gitops.push_with_lease(repo, "origin", other, "topic", head)  # the right lease: a forced update
    assert world.sha("refs/heads/topic") == other


def test_a_request_closed_without_merge_is_left_closed(world, forge_server, kind):
    fake = forge_server
    first = run_bot(world, fake, kind)
    fake.close(kind, first.pull.number)
    tip = world.sha(f"refs/heads/{BRANCH}")
    n_writes = len(writes(fake, kind))
    world.base_change()

    out = run_bot(world, fake, kind)

    assert out.status is Status.CLOSED_UNMERGED
    assert f"#{first.pull.number}" in out.message and "closed without merging" in out.message
    assert world.sha(f"refs/heads/{BRANCH}") == tip
    assert len(writes(fake, kind)) == n_writes
    assert [p.state for p in fake.pulls[kind].values()] == ["closed"]


def test_after_a_merge_kfix_proposes_only_new_work(world, forge_server, kind):
    fake = forge_server
    first = run_bot(world, fake, kind)
    git(world.people, "fetch", "-q", "origin")
    git(world.people, "push", "-q", "origin", f"origin/{BRANCH}:refs/heads/main")  # fast-forward merge
    fake.merge(kind, first.pull.number)

    out = run_bot(world, fake, kind)
    assert out.status is Status.NOTHING_TO_FIX, out.message
    assert len(fake.pulls[kind]) == 1

    world.base_change()
    out = run_bot(world, fake, kind)
    assert out.status is Status.CREATED and out.pull.number != first.pull.number
    assert out.files == ["deploy/job.yaml"]
    assert git(world.remote, "rev-parse", f"{BRANCH}^") == world.sha("refs/heads/main")


def test_nothing_to_fix_makes_no_branch_and_no_request(world, forge_server, kind):
    fake = forge_server
    out = propose(str(world.clone), ["deploy/kustomization.yaml", "README.md"], forge=forge_for(fake, kind), base="main")
    assert out.status is Status.NOTHING_TO_FIX
    assert world.sha(f"refs/heads/{BRANCH}") is None
    assert writes(fake, kind) == [] and fake.pulls[kind] == {}


# --- body limits, inputs, arguments --------------------------------------------------------------

def test_body_fits_the_forges_limit(world, forge_server, kind, monkeypatch):
    fake = forge_server
    forge = forge_for(fake, kind)
    monkeypatch.setattr(type(forge), "max_body_chars", 3000)
    out = propose(str(world.clone), ["deploy"], forge=forge, base="main")
    assert out.status is Status.CREATED
    body = fake.pulls[kind][1].body
    assert len(body) <= 3000 and len(out.body) <= 3000
    assert "kfix" in body and ("truncated" in body or "left out" in body)


def test_unprocessable_input_is_reported_and_the_rest_proposed(world, forge_server):
    fake = forge_server
    shutil.copyfile(CASES / "kfix" / "duplicate-keys.yaml", world.people / "deploy" / "dup.yaml")
    git(world.people, "add", "-A")
    git(world.people, "commit", "-q", "-m", "dup")
    git(world.people, "push", "-q", "origin", "main")
    out = run_bot(world, fake, "github")
    assert out.status is Status.CREATED
    assert out.errors and out.errors[0].startswith("deploy/dup.yaml:") and "duplicate key" in out.errors[0]
    assert "### Files kfix could not process (1)" in fake.pulls["github"][1].body


def test_configuration_comes_from_the_base(world, forge_server):
    (world.people / ".kfix.yaml").write_text("select: [run-as-non-root]\n")
    git(world.people, "add", ".kfix.yaml")
    git(world.people, "commit", "-q", "-m", "kfix config")
    git(world.people, "push", "-q", "origin", "main")
    out = run_bot(world, forge_server, "github")
    assert out.status is Status.CREATED
    assert {c.rule for p in out.result.plans for c in p.changes} == {"run-as-non-root"}


def test_bad_arguments(world, forge_server):
    with pytest.raises(ValueError):
        propose(str(world.clone), ["deploy"], forge=None, base="main")
    with pytest.raises(BotError, match="no branch 'nope'"):
        run_bot(world, forge_server, "github", base="nope")
    with pytest.raises(BotError, match="paths must be inside"):
        propose(str(world.clone), ["../elsewhere"], forge=forge_for(forge_server, "github"), base="main")
    with pytest.raises(BotError, match="both"):
        run_bot(world, forge_server, "github", base=BRANCH)


def test_dry_run_library(world, forge_server, kind):
    fake = forge_server
    before = world.local_state()
    out = run_bot(world, fake, kind, dry_run=True)
    assert out.status is Status.DRY_RUN and out.would is Status.CREATED
    assert out.diff.startswith("--- a/deploy/") and out.body and out.commit_message and out.title
    assert world.sha(f"refs/heads/{BRANCH}") is None and writes(fake, kind) == []
    assert world.local_state() == before
    run_bot(world, fake, kind)
    assert run_bot(world, fake, kind, dry_run=True).would is Status.UP_TO_DATE


# --- the command line, and the token ---------------------------------------------------------------

def _all_bytes_under(path: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in path.rglob("*") if p.is_file()]


def _assert_no_token(token: str, texts, *trees: Path) -> None:
    for text in texts:
        assert token not in text
    for tree in trees:
        for path, data in _all_bytes_under(tree):
            assert token.encode() not in data, f"token found in {path}"


def test_cli_full_cycle_and_the_token_never_leaks(world, forge_server, kind):
    fake = forge_server
    if kind == "gitea":
        fake.add_gitea_label("security")  # Gitea applies only labels that exist
    token = fake.token  # a recognisable fake credential
    env = {"KFIX_TOKEN": token}
    args = ["pr", "--forge", kind, "--repo-slug", SLUG, "--api-url", fake.api_url(kind), "--base", "main",
            "--label", "security", "deploy"]
    texts = []

    dry = kfix(world.clone, *args, "--dry-run", env_extra=env)
    texts += [dry.stdout, dry.stderr]
    assert dry.returncode == 1, dry.stderr
    for part in (f"branch: {BRANCH}", "would: created", "=== commit message ===", "kfix: harden Kubernetes manifests",
                 "=== title ===", "=== body ===", "### Changes per resource", "=== diff ===",
                 "--- a/deploy/vote.yaml", "+++ b/deploy/vote.yaml", "+      securityContext:"):
        assert part in dry.stdout
    assert world.sha(f"refs/heads/{BRANCH}") is None and writes(fake, kind) == []

    first = kfix(world.clone, *args, env_extra=env)
    texts += [first.stdout, first.stderr]
    assert first.returncode == 0, first.stderr
    assert "kfix: created: opened request #1:" in first.stdout
    assert fake.pulls[kind][1].labels == ["security"]

    again = kfix(world.clone, *args, env_extra=env)
    texts += [again.stdout, again.stderr]
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stdout
    assert len(fake.pulls[kind]) == 1

    world.base_change()
    moved = kfix(world.clone, *args, env_extra=env)
    texts += [moved.stdout, moved.stderr]
    assert moved.returncode == 0 and "kfix: updated:" in moved.stdout

    world.person_commits_on_branch()
    person = kfix(world.clone, *args, env_extra=env)
    texts += [person.stdout, person.stderr]
    assert person.returncode == 0 and "kfix: person pushed:" in person.stdout

    fake.fail_next(500, f"internal error near {token}", kind=kind)  # a forge echoing the secret back
    failing = kfix(world.clone, *args, env_extra=env)
    texts += [failing.stdout, failing.stderr]
    assert failing.returncode == 2 and "HTTP 500" in failing.stderr and "Traceback" not in failing.stderr

    # every request carried the token in a header; no output, file or config holds it
    assert all(r.kind == kind for r in fake.requests)
    _assert_no_token(token, texts, world.clone / ".git", world.remote, world.clone / "deploy")
    assert token not in git(world.clone, "config", "--list", "--show-origin")


def test_cli_closed_request_and_nothing_to_fix(world, forge_server):
    fake = forge_server
    env = {"KFIX_TOKEN": fake.token}
    base = ["pr", "--forge", "gitea", "--repo-slug", SLUG, "--api-url", fake.api_url("gitea"), "--base", "main"]
    none = kfix(world.clone, *base, "deploy/kustomization.yaml", env_extra=env)
    assert none.returncode == 0 and "kfix: nothing to fix:" in none.stdout
    assert kfix(world.clone, *base, env_extra=env).returncode == 0
    fake.close("gitea", 1)
    closed = kfix(world.clone, *base, env_extra=env)
    assert closed.returncode == 0 and "kfix: closed unmerged:" in closed.stdout and "#1" in closed.stdout


def test_cli_usage_errors(world, forge_server):
    no_token = kfix(world.clone, "pr", "--forge", "github", "--repo-slug", SLUG, "--base", "main")
    assert no_token.returncode == 2 and "KFIX_TOKEN or GITHUB_TOKEN" in no_token.stderr
    no_slug = kfix(world.clone, "pr", "--forge", "github", "--dry-run")
    assert no_slug.returncode == 2 and "--repo-slug" in no_slug.stderr
    slug_env = kfix(world.clone, "pr", "--forge", "github", "--dry-run", "--base", "main",
                    env_extra={"GITHUB_REPOSITORY": SLUG})
    assert slug_env.returncode == 1 and "would: created" in slug_env.stdout  # dry run needs no token
    outside = kfix(world.clone, "pr", "--forge", "github", "--repo-slug", SLUG, "--dry-run", "/etc")
    assert outside.returncode == 2 and "outside the repository" in outside.stderr
    bad_rule = kfix(world.clone, "pr", "--forge", "github", "--repo-slug", SLUG, "--dry-run", "--select", "nope",
                    "--base", "main")
    assert bad_rule.returncode == 2 and "unknown rule" in bad_rule.stderr and "Traceback" not in bad_rule.stderr


def test_cli_paths_are_relative_to_the_current_folder(world, forge_server):
    env = {"KFIX_TOKEN": forge_server.token}
    proc = kfix(world.clone / "deploy", "pr", "--forge", "github", "--repo-slug", SLUG, "--api-url",
                forge_server.api_url("github"), "--base", "main", "--dry-run", "vote.yaml", env_extra=env)
    assert proc.returncode == 1, proc.stderr
    assert "files: deploy/vote.yaml\n" in proc.stdout


class _AuthChallenge(http.server.BaseHTTPRequestHandler):
    """An https-less git host stand-in that always asks for credentials and records what it got."""

    seen: list = []

    def do_GET(self):  # noqa: N802
        type(self).seen.append(self.headers.get("Authorization"))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_git_gets_the_token_only_through_askpass(world, forge_server):
    """Over http(s) git asks GIT_ASKPASS; the token reaches the server, never a file, URL or message."""
    import base64

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AuthChallenge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _AuthChallenge.seen = []
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/acme/web.git"
        git(world.clone, "remote", "set-url", "origin", url)
        token = forge_server.token
        with pytest.raises(BotError) as info:
            propose(str(world.clone), ["deploy"], forge=forge_for(forge_server, "github"), base="main", token=token)
    finally:
        server.shutdown()
        server.server_close()
    sent = [base64.b64decode(h.split()[1]).decode() for h in _AuthChallenge.seen if h]
    assert f"x-access-token:{token}" in sent  # git got the credential from the askpass script
    assert token not in str(info.value) and token not in repr(info.value)
    assert url in git(world.clone, "remote", "get-url", "origin")  # remote URL unchanged
    _assert_no_token(token, [], world.clone / ".git")


def test_credentials_env_keeps_the_secret_out_of_files():
    token = "kfix-recognisable-secret-0042"
    with gitops.credentials_env("https://example.com/a/b.git", token, "gitlab") as env:
        script = Path(env["GIT_ASKPASS"])
        assert token.encode() not in script.read_bytes()
        assert oct(script.stat().st_mode & 0o777) == "0o700"
        run = {**os.environ, **env}
        user = subprocess.run([str(script), "Username for 'https://example.com': "], env=run, capture_output=True,
                              text=True).stdout.strip()
        password = subprocess.run([str(script), "Password for 'https://oauth2@example.com': "], env=run,
                                  capture_output=True, text=True).stdout.strip()
        assert (user, password) == ("oauth2", token)
    assert not script.exists() and not script.parent.exists()
    with gitops.credentials_env("/srv/git/repo.git", token) as env:
        assert token not in env.values() and "GIT_ASKPASS" not in env
    with gitops.credentials_env("git@example.com:a/b.git", token) as env:
        assert "GIT_ASKPASS" not in env


# --- decisions files ---------------------------------------------------------------------------------

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: nginx:1.25
        - name: sidecar
          image: busybox:1.36
"""
DECLINE_SIDECAR = ("decisions:\n- {rule: drop-capabilities, file: %s, resource: Deployment/web, container: sidecar, "
                   "decision: 'no'}\n")


def _commit_on_main(world: World, files: dict[str, str], message: str) -> str:
    git(world.people, "checkout", "-q", "main")
    git(world.people, "pull", "-q", "--ff-only", "origin", "main")
    for name, text in files.items():
        (world.people / name).parent.mkdir(parents=True, exist_ok=True)
        (world.people / name).write_text(text)
    git(world.people, "add", "-A")
    git(world.people, "commit", "-q", "-m", message)
    git(world.people, "push", "-q", "origin", "main")
    return world.sha("refs/heads/main")


def _web_without_the_sidecars_caps(world: World) -> tuple[str, str]:
    """deploy/web.yaml of main with every change, and without the sidecar's drop-capabilities."""
    from kfix.api import render_subset

    check = world.tmp / "check-web"
    shutil.rmtree(check, ignore_errors=True)
    git(world.tmp, "clone", "-q", str(world.remote), str(check))
    plan = plan_paths([str(check / "deploy" / "web.yaml")], make_options(Config())).plans[0]
    keep = {c.id for c in plan.changes if (c.rule, c.container) != ("drop-capabilities", "sidecar")}
    assert len(keep) == len(plan.changes) - 1
    return plan.new_text, render_subset(plan, keep)


def test_decisions_file_configured_on_the_base_is_honoured(world, forge_server, kind):
    """The base's .kfix.yaml names a decisions file: the change a person declined in review is not pushed
    (the other container's is), and the body says what was left out and where it is recorded."""
    fake = forge_server
    _commit_on_main(world, {"deploy/web.yaml": WEB, ".kfix.yaml": "decisions: review/decisions.yaml\n",
                            "review/decisions.yaml": DECLINE_SIDECAR % "../deploy/web.yaml"}, "web, and a review")
    every, without = _web_without_the_sidecars_caps(world)
    assert every != without

    out = run_bot(world, fake, kind)
    assert out.status is Status.CREATED, out.message
    assert git(world.remote, "show", f"{BRANCH}:deploy/web.yaml") == without.rstrip("\n")
    assert "deploy/web.yaml" in out.files and ".kfix.yaml" not in out.files and "review/decisions.yaml" not in out.files
    assert out.result.declined == 1
    body = fake.pulls[kind][1].body
    assert "1 change was left out because a person declined it in review (recorded in `review/decisions.yaml`" \
        in body
    assert "opted out" not in body  # declined changes are not counted as exemption annotations
    assert "container `sidecar`" in body and "container `app`" in body  # the sidecar's other fixes are there

    # given rules (options) do not set a person's decisions aside
    dry = propose(str(world.clone), ["deploy"], make_options(Config()), dry_run=True, base="main")
    assert dry.result.declined == 1 and "- ALL" in dry.diff and dry.diff.count("+                - ALL") == 1

    # with the decisions file gone from the base, the change is proposed again
    git(world.people, "rm", "-q", "review/decisions.yaml")
    git(world.people, "commit", "-q", "-m", "forget the review")
    git(world.people, "push", "-q", "origin", "main")
    again = run_bot(world, fake, kind)
    assert again.status is Status.UPDATED
    assert git(world.remote, "show", f"{BRANCH}:deploy/web.yaml") == every.rstrip("\n")
    assert "declined" not in fake.pulls[kind][1].body


def test_decisions_file_passed_explicitly(world, forge_server):
    """A decisions file given to the bot (here not committed, as ``kfix review`` just wrote it in the clone):
    its entries answer for the base's files at the same place; a file that does not exist is an error."""
    fake = forge_server
    _commit_on_main(world, {"deploy/web.yaml": WEB}, "web")
    git(world.clone, "pull", "-q", "--ff-only", "origin", "main")
    _, without = _web_without_the_sidecars_caps(world)
    (world.clone / "mine.yaml").write_text(DECLINE_SIDECAR % "deploy/web.yaml")

    env = {"KFIX_TOKEN": fake.token}
    args = ["pr", "--forge", "github", "--repo-slug", SLUG, "--api-url", fake.api_url("github"), "--base", "main",
            "deploy"]
    dry = kfix(world.clone, *args, "--dry-run", "--decisions", "mine.yaml", env_extra=env)
    assert dry.returncode == 1, dry.stderr
    assert "1 change was left out because a person declined it in review (recorded in `mine.yaml`" in dry.stdout
    missing = kfix(world.clone, *args, "--decisions", "nope.yaml", env_extra=env)
    assert missing.returncode == 2 and "--decisions nope.yaml: no such file" in missing.stderr
    with pytest.raises(BotError, match="no such file"):
        run_bot(world, fake, "github", decisions="nope.yaml")

    out = run_bot(world, fake, "github", decisions="mine.yaml")
    assert out.status is Status.CREATED and out.result.declined == 1
    assert git(world.remote, "show", f"{BRANCH}:deploy/web.yaml") == without.rstrip("\n")
    assert "mine.yaml" not in out.files
