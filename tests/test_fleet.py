"""`kfix fleet`: an organisation's repositories (real bare git repositories as remotes) against the fake forges
(tests/forge_fake.py, checked against the forges' published API descriptions), in the embedded engine and with a
real Redis and two `kfix fleet worker` processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import kfix_env
from kfix.git.forges import RateLimited, make_forge
from kfix.git.http import retry_delay
from kfix.git.orgs import list_org_repos

try:
    from forge_fake import FakeForge, forge_server  # noqa: F401
except ImportError:  # pragma: no cover - when tests/ becomes a package
    from tests.forge_fake import FakeForge, forge_server  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "golden" / "cases"
EXPECTED = ROOT / "tests" / "golden" / "expected" / "default"
VOTE = "dockersamples+example-voting-app/k8s-specifications__vote-deployment.yaml"
DB = "dockersamples+example-voting-app/k8s-specifications__db-deployment.yaml"
ORG = "acme"
NEEDS_FIXES = ["api", "billing", "cart", "docs", "edge"]
HARDENED = "hardened"

pytestmark = pytest.mark.usefixtures("isolated_git")


def git(cwd, *args) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


def make_remote(tmp: Path, name: str, files: dict[str, Path]) -> Path:
    """A bare repository on ``main`` holding ``files`` (repository path -> source file)."""
    seed = tmp / "seeds" / name
    seed.mkdir(parents=True)
    git(seed, "init", "-q", "-b", "main")
    for rel, src in files.items():
        (seed / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, seed / rel)
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "manifests")
    remote = tmp / "remotes" / f"{name}.git"
    git(tmp, "clone", "-q", "--bare", str(seed), str(remote))
    return remote


class Org:
    """Six repositories of one organisation (five need fixes, one is already hardened), plus an archived one
    and a fork that a campaign skips by default."""

    def __init__(self, tmp: Path, fake: FakeForge, kind: str = "github"):
        self.tmp, self.fake, self.kind = tmp, fake, kind
        self.remotes: dict[str, Path] = {}
        for name in NEEDS_FIXES:
            self.add(name, {"deploy/vote.yaml": CASES / VOTE, "deploy/db.yaml": CASES / DB})
        self.add(HARDENED, {"deploy/vote.yaml": EXPECTED / VOTE})
        self.add("old", {"deploy/vote.yaml": CASES / VOTE}, archived=True)
        self.add("forked", {"deploy/vote.yaml": CASES / VOTE}, fork=True)
        if kind == "gitea":
            fake.add_gitea_label("security")

    def add(self, name: str, files: dict[str, Path], **flags) -> Path:
        remote = make_remote(self.tmp, name, files)
        self.remotes[name] = remote
        self.fake.add_repo(self.kind, f"{ORG}/{name}", str(remote), **flags)
        return remote

    def branch(self, name: str, branch: str = "kfix/harden") -> str | None:
        proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
                              cwd=self.remotes[name], capture_output=True, text=True)
        return proc.stdout.strip() or None

    def pulls(self) -> dict[str, int]:
        """Requests per repository."""
        out: dict[str, int] = {}
        for p in self.fake.pulls[self.kind].values():
            out[p.repo] = out.get(p.repo, 0) + 1
        return out


def fleet(fake: FakeForge, kind: str, *args, env: dict | None = None, timeout: float = 300):
    cmd = [sys.executable, "-m", "kfix", "fleet", "--forge", kind, "--api-url", fake.api_url(kind),
           "--label", "security", *map(str, args)]
    full = kfix_env({"KFIX_TOKEN": fake.token, "NO_COLOR": "1", **(env or {})})
    return subprocess.run(cmd, capture_output=True, text=True, env=full, timeout=timeout, stdin=subprocess.DEVNULL)


def assert_token_nowhere(token: str, texts, *trees: Path) -> None:
    for text in texts:
        assert token not in text
    for tree in trees:
        for path in tree.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert token.encode() not in path.read_bytes(), f"token found in {path}"


def outcomes(report: Path) -> dict[str, str]:
    data = json.loads(report.read_text())
    return {r["repo"]: r["outcome"] for r in data["repositories"]}


def writes(fake: FakeForge, kind: str) -> int:
    return sum(1 for r in fake.requests_for(kind) if r.method != "GET")


EXPECTED_FIRST = {**{f"{ORG}/{n}": "created" for n in NEEDS_FIXES}, f"{ORG}/{HARDENED}": "nothing to fix"}


# --- the organisation listing ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["github", "gitlab", "gitea"])
def test_org_listing_pages_and_skips_archived_and_forks(forge_server, kind, tmp_path):
    fake = forge_server
    for name in ["e", "a", "d", "c", "b"]:
        fake.add_repo(kind, f"{ORG}/{name}", f"/srv/{name}.git")
    fake.add_repo(kind, f"{ORG}/zz-archived", "/srv/x.git", archived=True)
    fake.add_repo(kind, f"{ORG}/zz-fork", "/srv/y.git", fork=True)
    fake.add_repo(kind, "other/a", "/srv/other.git")

    repos = list_org_repos(kind, ORG, fake.api_url(kind), fake.token, page_size=2)
    assert [r.slug for r in repos] == [f"{ORG}/{n}" for n in "abcde"]
    assert repos[0].clone_url == "/srv/a.git" and repos[0].default_branch == "main"
    lists = [r for r in fake.requests_for(kind) if r.method == "GET"]
    # GitLab filters archived projects on the server: 6 listed -> 3 pages; GitHub and Gitea list all 7 -> 4 pages.
    assert len(lists) == (3 if kind == "gitlab" else 4)
    assert [r.query.get("page") for r in lists][:2] == [["1"], ["2"]]  # the second page came from the Link header

    everything = list_org_repos(kind, ORG, fake.api_url(kind), fake.token, include_archived=True, include_forks=True)
    assert {r.slug for r in everything} == {f"{ORG}/{n}" for n in [*"abcde", "zz-archived", "zz-fork"]}
    assert {r.slug for r in everything if r.archived} == {f"{ORG}/zz-archived"}
    assert {r.slug for r in everything if r.fork} == {f"{ORG}/zz-fork"}


# --- rate limits, in the client ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["github", "gitlab", "gitea"])
def test_rate_limit_answers_are_waited_out_as_the_forge_asks(forge_server, kind):
    fake = forge_server
    if kind == "gitea":
        fake.add_gitea_label("security")
    slept: list[float] = []
    forge = make_forge(kind, f"{ORG}/web", api_url=fake.api_url(kind), token=fake.token, sleep=slept.append)
    first = forge.create_pull("kfix/harden", "main", "Harden", "body")
    # the forge answers a write with its rate-limit response (GitHub: the secondary limit's 403) and Retry-After: 7;
    # the client sleeps what it was told, then retries and succeeds
    fake.fail_next(403 if kind == "github" else 429, "You have exceeded a secondary rate limit.", kind=kind,
                   headers={"Retry-After": "7"})
    updated = forge.update_pull(first.number, body="new body")
    assert slept == [7.0] and updated.body == "new body"
    assert fake.pulls[kind][first.number].body == "new body"
    # a primary limit: no Retry-After, but x-ratelimit-remaining 0 and the reset time
    reset = str(int(time.time()) + 20)
    headers = ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset} if kind == "github"
               else {"RateLimit-Remaining": "0", "RateLimit-Reset": reset})
    fake.fail_next(403 if kind == "github" else 429, "API rate limit exceeded", kind=kind, headers=headers)
    forge.update_pull(first.number, body="again")
    assert len(slept) == 2 and 15 <= slept[1] <= 22
    # a wait longer than the client's limit is not slept: the scheduler gets it
    short = make_forge(kind, f"{ORG}/web", api_url=fake.api_url(kind), token=fake.token, sleep=slept.append,
                       max_wait=30)
    fake.fail_next(429, "slow down", kind=kind, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited) as info:
        short.update_pull(first.number, body="third")
    assert info.value.retry_after == 3600 and len(slept) == 2
    assert fake.token not in str(info.value)


def test_when_to_retry_and_how_long_to_wait():
    now = 1_700_000_000.0
    secondary = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    assert retry_delay(403, {"Retry-After": "12"}, secondary, 0, now) == 12
    assert retry_delay(403, {}, secondary, 0, now) == 60  # GitHub: no header -> at least a minute
    assert retry_delay(403, {}, secondary, 1, now) == 120
    assert retry_delay(429, {"Retry-After": "Tue, 14 Nov 2023 22:13:40 GMT"}, None, 0, now) == 20
    assert retry_delay(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(now) + 30)}, None, 0, now) == 31
    assert retry_delay(429, {"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(now) + 5)}, None, 0, now) == 6
    assert 0.5 <= retry_delay(503, {}, None, 0, now) <= 1 and 4 <= retry_delay(502, {}, None, 3, now) <= 8
    # not a limit: a 403 for missing permission, a 404, a 422 are answers, not reasons to wait
    assert retry_delay(403, {"X-RateLimit-Remaining": "4999"}, {"message": "Resource not accessible"}, 0, now) is None
    assert retry_delay(404, {}, None, 0, now) is None and retry_delay(422, {"Retry-After": "1"}, None, 0, now) is None


def test_the_fake_limits_writes_per_window(forge_server):
    fake = forge_server
    forge = make_forge("github", f"{ORG}/web", api_url=fake.api_url("github"), token=fake.token,
                       sleep=lambda s: time.sleep(min(s, 1.0)))
    fake.limit_writes(1, window=1)
    for n in range(3):
        forge.create_pull(f"b{n}", "main", "t", "b")
    assert fake.limited >= 1  # the second write in the same second got a 403 with Retry-After: 1, waited out
    limited = [r for r in fake.requests if r.status == 403]
    assert limited and all(r.reply_headers.get("Retry-After") == "1" for r in limited)
    assert len(fake.pulls["github"]) == 3


def test_embedded_write_budget_blocks_until_the_window_frees():
    from kfix.fleet.limits import WindowLimiter

    now = [100.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    limiter = WindowLimiter(3, 60.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.acquire()
    assert waits == []
    limiter.acquire()  # the fourth waits for the first to leave the window
    assert waits == [60.0]
    now[0] += 10  # t=170: the fourth (t=160) and two more fill the window again
    assert limiter.try_acquire() == 0 and limiter.try_acquire() == 0
    assert limiter.try_acquire() == pytest.approx(50.0)  # free again when the t=160 one leaves


# --- the embedded engine ----------------------------------------------------------------------------

def test_embedded_campaign_five_requests_limits_waited_out_and_a_rerun_makes_none(forge_server, tmp_path):
    fake = forge_server
    org = Org(tmp_path, fake)
    fake.limit_writes(3, window=1)  # secondary limit: more than 3 writes a second get 403 + Retry-After
    report, state, work = tmp_path / "report.json", tmp_path / "state.json", tmp_path / "work"
    args = ["--org", ORG, "--report", report, "--state", state, "--workdir", work, "--workers", "3"]

    first = fleet(fake, "github", *args)
    assert first.returncode == 0, first.stderr
    assert outcomes(report) == EXPECTED_FIRST
    assert org.pulls() == {f"{ORG}/{n}": 1 for n in NEEDS_FIXES}  # five requests, none for the hardened one
    assert org.branch(HARDENED) is None and org.branch("old") is None and org.branch("forked") is None
    assert all(p.labels == ["security"] for p in fake.pulls["github"].values())
    assert fake.limited > 0  # rate-limit answers came, and were waited out
    assert all(r.status != 403 or r.method != "GET" for r in fake.requests)
    assert not any("/old/" in r.path or "/forked/" in r.path for r in fake.requests)
    # progress while it runs, a table at the end
    assert first.stderr.count("] acme/") == 6 and "kfix fleet: 6 repositories: 5 created, 1 nothing to fix" in first.stderr
    table = first.stdout.splitlines()
    assert table[0].split() == ["repository", "outcome", "details"]
    assert any(line.startswith("acme/api ") and "created" in line and "/pull/" in line for line in table)
    assert any(line.startswith("acme/hardened ") and "nothing to fix" in line for line in table)

    n_writes = writes(fake, "github")
    again = fleet(fake, "github", *args)
    assert again.returncode == 0, again.stderr
    assert writes(fake, "github") == n_writes and len(fake.pulls["github"]) == 5
    data = json.loads(report.read_text())
    assert {r["repo"]: (r["outcome"], r["resumed"]) for r in data["repositories"]} == {
        **{f"{ORG}/{n}": ("up to date", True) for n in NEEDS_FIXES}, f"{ORG}/{HARDENED}": ("nothing to fix", True)}

    # without the record (--fresh) kfix looks again: the requests are up to date, still no new one
    fresh = fleet(fake, "github", *args, "--fresh")
    assert fresh.returncode == 0, fresh.stderr
    assert set(outcomes(report).values()) == {"up to date", "nothing to fix"}
    assert len(fake.pulls["github"]) == 5 and writes(fake, "github") == n_writes

    texts = [first.stdout, first.stderr, again.stdout, again.stderr, fresh.stdout, fresh.stderr]
    assert_token_nowhere(fake.token, texts, tmp_path)


def test_a_wait_longer_than_max_wait_runs_the_repository_again_later(forge_server, tmp_path):
    from kfix.fleet.embedded import run_embedded
    from kfix.fleet.model import Campaign
    from kfix.git.orgs import RemoteRepo

    fake = forge_server
    remote = make_remote(tmp_path, "web", {"deploy/vote.yaml": CASES / VOTE})
    slept: list[float] = []
    campaign = Campaign(forge="github", api_url=fake.api_url("github"), max_wait=60)
    fake.fail_next(429, "API rate limit exceeded", kind="github",
                   headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 3600)})
    (result,) = run_embedded(campaign, [RemoteRepo(f"{ORG}/web", str(remote))], token=fake.token, workers=1,
                             sleep=slept.append)
    assert result.outcome.value == "created" and result.attempts == 2
    assert len(slept) == 1 and 3500 < slept[0] <= 3601  # the job waited for the reset, not the client
    assert len(fake.pulls["github"]) == 1


def test_a_failing_repository_does_not_stop_the_rest(forge_server, tmp_path):
    fake = forge_server
    kind = "gitea"
    fake.add_gitea_label("security")
    good = make_remote(tmp_path, "good", {"deploy/vote.yaml": CASES / VOTE})
    fake.add_repo(kind, f"{ORG}/good", str(good))
    fake.add_repo(kind, f"{ORG}/broken", str(tmp_path / "nowhere" / "broken.git"))  # a clone URL that leads nowhere
    names = tmp_path / "repos.txt"
    names.write_text(f"# the campaign\n{ORG}/broken\n{ORG}/good\n{ORG}/missing\n")
    report = tmp_path / "report.json"

    proc = fleet(fake, kind, "--repos", names, "--report", report, "--state", tmp_path / "s.json")
    assert proc.returncode == 2, proc.stderr
    data = {r["repo"]: r for r in json.loads(report.read_text())["repositories"]}
    assert data[f"{ORG}/good"]["outcome"] == "created"
    assert data[f"{ORG}/broken"]["outcome"] == "failed" and "git ls-remote" in data[f"{ORG}/broken"]["message"]
    assert data[f"{ORG}/missing"]["outcome"] == "failed" and "not found" in data[f"{ORG}/missing"]["message"]
    assert [p.repo for p in fake.pulls[kind].values()] == [f"{ORG}/good"]
    assert "Traceback" not in proc.stderr
    assert_token_nowhere(fake.token, [proc.stdout, proc.stderr], tmp_path)


def test_an_interrupted_run_resumes_where_it_stopped(forge_server, tmp_path):
    fake = forge_server
    kind = "gitlab"
    org = Org(tmp_path, fake, kind)
    report, state = tmp_path / "report.json", tmp_path / "state.json"
    args = ["--org", ORG, "--report", report, "--state", state, "--workers", "1"]
    cmd = [sys.executable, "-m", "kfix", "fleet", "--forge", kind, "--api-url", fake.api_url(kind), *map(str, args)]
    proc = subprocess.Popen(cmd, env=kfix_env({"KFIX_TOKEN": fake.token}), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(fake.pulls[kind]) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, err
    assert "interrupted after" in err and "run the same command again to resume" in err
    interrupted = outcomes(report)
    assert 2 <= len(interrupted) < 6
    settled = {r for r, o in interrupted.items() if o in ("created", "nothing to fix")}
    before = len(fake.pulls[kind])

    resumed = fleet(fake, kind, *args)
    assert resumed.returncode == 0, resumed.stderr
    data = {r["repo"]: r for r in json.loads(report.read_text())["repositories"]}
    assert {r: d["outcome"] for r, d in data.items() if not d["resumed"]}.keys() == set(EXPECTED_FIRST) - settled
    assert all(data[r]["resumed"] for r in settled)
    assert org.pulls() == {f"{ORG}/{n}": 1 for n in NEEDS_FIXES}
    assert len(fake.pulls[kind]) == 5 and before >= 2
    assert_token_nowhere(fake.token, [out, err, resumed.stdout, resumed.stderr], tmp_path)


def test_dry_run_and_usage_errors(forge_server, tmp_path):
    fake = forge_server
    org = Org(tmp_path, fake)
    dry = fleet(fake, "github", "--org", ORG, "--dry-run", "--state", tmp_path / "s.json")
    assert dry.returncode == 1, dry.stderr
    assert dry.stdout.count("would create") == 5 and writes(fake, "github") == 0
    assert org.branch("api") is None and not (tmp_path / "s.json").exists()

    # --include / --exclude: a glob without '/' matches the name, with one the slug
    narrowed = fleet(fake, "github", "--org", ORG, "--dry-run", "--include", "b*", "--include", "acme/c*",
                     "--include", "e*", "--exclude", "edge", "--report", tmp_path / "narrow.json")
    assert narrowed.returncode == 1, narrowed.stderr
    assert outcomes(tmp_path / "narrow.json") == {f"{ORG}/billing": "would create", f"{ORG}/cart": "would create"}

    no_token = fleet(fake, "github", "--org", ORG, env={"KFIX_TOKEN": ""})
    assert no_token.returncode == 2 and "KFIX_TOKEN or GITHUB_TOKEN" in no_token.stderr
    neither = fleet(fake, "github")
    assert neither.returncode == 2 and "--org ORG or --repos FILE" in neither.stderr
    bad = tmp_path / "bad.txt"
    bad.write_text("acme/api\nnot a slug\n")
    wrong = fleet(fake, "github", "--repos", bad)
    assert wrong.returncode == 2 and f"{bad}:2: expected OWNER/NAME" in wrong.stderr
    assert "Traceback" not in no_token.stderr + neither.stderr + wrong.stderr


# --- Dramatiq with a real Redis, two workers ---------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (CI installs it: .ci/run)")
    redis = pytest.importorskip("redis")
    port = _free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder), "--daemonize", "no"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            raise AssertionError("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=30)


def _worker(url: str, token: str, log: Path) -> subprocess.Popen:
    fh = open(log, "w")
    return subprocess.Popen([sys.executable, "-m", "kfix", "fleet", "worker", "--broker", url, "--threads", "2"],
                            env=kfix_env({"KFIX_TOKEN": token}), stdout=fh, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def test_redis_broker_two_workers(forge_server, redis_url, tmp_path):
    import redis

    fake = forge_server
    org = Org(tmp_path, fake)
    fake.limit_writes(3, window=1)
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
    workers = [_worker(redis_url, fake.token, log) for log in logs]
    try:
        report = tmp_path / "report.json"
        args = ["--org", ORG, "--broker", redis_url, "--report", report, "--max-wait", "1"]
        # one job is told to wait longer than --max-wait: it goes back to the queue as a delayed message
        fake.fail_next(403, "You have exceeded a secondary rate limit.", kind="github", headers={"Retry-After": "2"},
                       method="POST")
        # the sending side lists the organisation with its token; the workers use their own
        first = fleet(fake, "github", *args)
        assert first.returncode == 0, first.stderr + "".join(log.read_text() for log in logs)
        assert outcomes(report) == EXPECTED_FIRST
        assert org.pulls() == {f"{ORG}/{n}": 1 for n in NEEDS_FIXES}
        assert fake.limited > 0
        attempts = sorted(r["attempts"] for r in json.loads(report.read_text())["repositories"])
        assert attempts == [1, 1, 1, 1, 1, 2]  # the rescheduled one ran again, and made it
        handled_by = {r["worker"] for r in json.loads(report.read_text())["repositories"]}
        pids = {f"{socket.gethostname()}:{w.pid}" for w in workers}
        assert handled_by and handled_by <= pids  # the jobs ran in the worker processes
        n_writes = writes(fake, "github")

        again = fleet(fake, "github", *args)
        assert again.returncode == 0, again.stderr
        assert writes(fake, "github") == n_writes and len(fake.pulls["github"]) == 5
        assert set(outcomes(report).values()) == {"up to date", "nothing to fix"}
        assert all(r["resumed"] for r in json.loads(report.read_text())["repositories"])
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        codes = [w.wait(timeout=60) for w in workers]
    assert codes == [0, 0]
    worker_out = [log.read_text() for log in logs]
    assert all("taking jobs from" in text for text in worker_out)
    assert all("Traceback" not in text for text in worker_out)
    # nothing the campaign left in Redis holds the token
    client = redis.Redis.from_url(redis_url)
    for key in client.keys("*"):
        kind = client.type(key)
        values = ([client.get(key)] if kind == b"string" else list(client.hgetall(key).values()) if kind == b"hash"
                  else [])
        assert all(fake.token.encode() not in (v or b"") for v in values), key
    client.close()
    assert_token_nowhere(fake.token, [first.stdout, first.stderr, again.stdout, again.stderr, *worker_out], tmp_path)


class _Polled(Exception):
    pass


@pytest.mark.parametrize("where", ["process", "redis"])
def test_one_repository_is_never_handled_twice_at_once(where, request):
    import threading

    polled = threading.Event()

    def sleep(_seconds: float) -> None:  # the waiting side says it waited, then waits a little
        polled.set()
        time.sleep(0.01)

    if where == "redis":
        from dramatiq.rate_limits.backends import RedisBackend
        import redis

        from kfix.fleet.distributed import RedisLocks

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        first, second = RedisLocks(RedisBackend(client=client), sleep=sleep), RedisLocks(RedisBackend(client=client),
                                                                                          sleep=sleep)
    else:
        from kfix.fleet.limits import RepoLocks

        first = second = RepoLocks()
    entered, release = threading.Event(), threading.Event()

    def other_job() -> None:
        with second.hold("acme/api"):
            entered.set()

    with first.hold("acme/api"):
        with second.hold("acme/web"):  # another repository is not held up
            pass
        job = threading.Thread(target=other_job)
        job.start()
        if where == "redis":
            assert polled.wait(30)  # it tried, found the lock taken, and waits
        else:
            job.join(0.2)  # a thread blocked on the lock
        assert not entered.is_set()
    job.join(30)
    assert entered.is_set()


def test_workers_share_one_write_budget(redis_url):
    from dramatiq.rate_limits.backends import RedisBackend
    import redis

    from kfix.fleet.distributed import WriteBudget

    client = redis.Redis.from_url(redis_url)

    def refuse_to_wait(_seconds: float) -> None:
        raise _Polled

    # two workers (two budgets over the same Redis) against one forge: 3 writes a minute in all
    one = WriteBudget(RedisBackend(client=client), "https://forge.example/api", 3, sleep=refuse_to_wait)
    two = WriteBudget(RedisBackend(client=client), "https://forge.example/api", 3, sleep=refuse_to_wait)
    other_forge = WriteBudget(RedisBackend(client=client), "https://other.example/api", 3, sleep=refuse_to_wait)
    one(), two(), one()
    with pytest.raises(_Polled):
        two()  # the fourth write in the minute waits, whichever worker makes it
    other_forge()  # another forge has its own budget
    client.close()
