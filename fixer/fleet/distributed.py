"""The distributed engine: Dramatiq with a Redis broker, and ``kfix fleet worker`` processes.

``kfix fleet --broker redis://...`` sends one message per repository to the ``kfix-fleet`` queue and
follows the results as workers write them (a Redis hash per run). Any number of ``kfix fleet worker
--broker redis://...`` processes, on any machines, take the messages. What they share lives in the
same Redis, through Dramatiq's rate limiters:

- the forge-wide write budget is a ``WindowRateLimiter`` keyed by the forge's API root (every
  campaign against that forge draws from it);
- the per-repository lock is a ``ConcurrentRateLimiter`` with a limit of 1 (a mutex that expires
  if its holder dies);
- the records that make runs resumable are a Redis hash per forge and bot branch.

Messages carry the campaign's settings and the repository (slug, clone URL), never a token: each
worker reads its own from its environment (KFIX_TOKEN or the forge's usual variable). A job the
forge asks to wait for is sent again with that delay instead of holding a worker thread.

Dramatiq and redis are imported here only: they are the optional ``fleet`` extra.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import urllib.parse
import uuid
from typing import Any, Callable, Iterator, Sequence

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.rate_limits import ConcurrentRateLimiter, WindowRateLimiter
from dramatiq.rate_limits.backends import RedisBackend

from kfix.fleet.embedded import Interrupted
from kfix.fleet.job import Reschedule, run_repo
from kfix.fleet.model import Campaign, Outcome, RepoResult
from kfix.git.forges import resolve_api_url, token_from_env
from kfix.git.orgs import RemoteRepo

__all__ = ["QUEUE", "make_broker", "declare", "run_distributed", "run_worker", "RedisState", "redact_url"]

QUEUE = "kfix-fleet"
ACTOR = "kfix_fleet_repo"
PREFIX = "kfix:fleet"
RESULTS_TTL = 7 * 24 * 3600
LOCK_TTL_MS = 2 * 3600 * 1000
JOB_TIME_LIMIT_MS = 2 * 3600 * 1000

_worker: dict[str, Any] = {}  # the worker process's broker and work folder


def redact_url(url: str) -> str:
    """The broker URL without its password, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url


def make_broker(url: str) -> RedisBroker:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"--broker must be a redis:// URL, got {redact_url(url)!r}")
    return RedisBroker(url=url, namespace="kfix-fleet")


def declare(broker: RedisBroker) -> dramatiq.Actor:
    """The fleet actor on ``broker`` (the same name and queue on the sending and the working side)."""
    if ACTOR in broker.actors:
        return broker.get_actor(ACTOR)
    return dramatiq.actor(_handle, broker=broker, actor_name=ACTOR, queue_name=QUEUE, max_retries=0,
                          time_limit=JOB_TIME_LIMIT_MS)


def _results_key(run_id: str) -> str:
    return f"{PREFIX}:run:{run_id}"


class RedisState:
    """The resumable-run records in a Redis hash."""

    def __init__(self, client: Any, key: str):
        self.client, self.key = client, f"{PREFIX}:state:{key}"

    def get(self, repo: str) -> dict[str, Any] | None:
        raw = self.client.hget(self.key, repo)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def put(self, repo: str, record: dict[str, Any]) -> None:
        self.client.hset(self.key, repo, json.dumps(record, sort_keys=True))


class WriteBudget:
    """The forge-wide budget of content-creating calls per minute, shared by every worker."""

    def __init__(self, backend: RedisBackend, api_root: str, per_minute: int,
                 sleep: Callable[[float], None] = time.sleep):
        self._limiter = WindowRateLimiter(backend, f"{PREFIX}:writes:{api_root}", limit=max(1, per_minute), window=60)
        self._sleep = sleep

    def __call__(self) -> None:
        while True:
            with self._limiter.acquire(raise_on_failure=False) as acquired:
                if acquired:
                    return
            self._sleep(0.25)


class RedisLocks:
    """One lock per repository across all workers (a Dramatiq concurrent limiter with a limit of 1)."""

    def __init__(self, backend: RedisBackend, sleep: Callable[[float], None] = time.sleep):
        self.backend, self._sleep = backend, sleep

    @contextlib.contextmanager
    def hold(self, slug: str) -> Iterator[None]:
        mutex = ConcurrentRateLimiter(self.backend, f"{PREFIX}:lock:{slug.lower()}", limit=1, ttl=LOCK_TTL_MS)
        while True:
            with mutex.acquire(raise_on_failure=False) as acquired:
                if acquired:
                    yield
                    return
            self._sleep(0.5)


def _handle(run_id: str, campaign_data: dict, repo_data: dict, attempt: int = 1) -> None:
    """One message: one repository. Runs in a worker."""
    broker: RedisBroker = _worker["broker"]
    campaign = Campaign.from_dict(campaign_data)
    repo = RemoteRepo.from_dict(repo_data)
    client = broker.client
    try:
        api_root = resolve_api_url(campaign.forge, campaign.api_url)
        token = token_from_env(campaign.forge)
        backend = RedisBackend(client=client)
        result = run_repo(campaign, repo, token=token, workdir=_worker["workdir"],
                          write_gate=WriteBudget(backend, api_root, campaign.writes_per_minute),
                          lock=RedisLocks(backend).hold, state=RedisState(client, campaign.state_key(api_root)),
                          attempt=attempt)
    except Reschedule as again:
        declare(broker).send_with_options(args=(run_id, campaign_data, repo_data, attempt + 1),
                                          delay=int(again.delay * 1000))
        return
    except Exception as exc:  # never lose a repository's result
        result = RepoResult(repo.slug, Outcome.FAILED, f"worker error: {type(exc).__name__}: {exc}", attempts=attempt)
    result.worker = f"{socket.gethostname()}:{os.getpid()}"
    key = _results_key(run_id)
    client.hset(key, repo.slug, json.dumps(result.to_dict()))
    client.expire(key, RESULTS_TTL)


def run_distributed(campaign: Campaign, repos: Sequence[RemoteRepo], broker_url: str, *,
                    progress: Callable[[RepoResult], None] | None = None, poll: float = 0.5,
                    waiting: Callable[[], None] | None = None) -> list[RepoResult]:
    """Queue every repository and wait for the workers' results (in the order of ``repos``).

    Ctrl-C stops waiting (raises Interrupted with what is finished); the queued jobs stay with the
    workers, and a later run skips what they settled.
    """
    broker = make_broker(broker_url)
    try:
        actor = declare(broker)
        run_id = uuid.uuid4().hex
        for repo in repos:
            actor.send(run_id, campaign.to_dict(), repo.to_dict(), 1)
        results: dict[str, RepoResult] = {}
        key = _results_key(run_id)
        wanted = {r.slug for r in repos}
        idle = 0.0
        try:
            while len(results) < len(wanted):
                fresh = False
                for raw_slug, raw in broker.client.hgetall(key).items():
                    slug = raw_slug.decode() if isinstance(raw_slug, bytes) else raw_slug
                    if slug in wanted and slug not in results:
                        results[slug] = RepoResult.from_dict(json.loads(raw))
                        fresh = True
                        if progress is not None:
                            progress(results[slug])
                idle = 0.0 if fresh else idle + poll
                if idle >= 30 and waiting is not None:  # nothing for a while: are workers running?
                    waiting()
                    idle = 0.0
                if len(results) < len(wanted):
                    time.sleep(poll)
        except KeyboardInterrupt:
            raise Interrupted([results[r.slug] for r in repos if r.slug in results]) from None
        return [results[r.slug] for r in repos]
    finally:
        broker.close()


def run_worker(broker_url: str, *, threads: int = 4, workdir: str | None = None,
               ready: Callable[[], None] | None = None,
               unreachable: Callable[[Exception], None] | None = None) -> None:
    """Take fleet jobs from the broker until SIGTERM or SIGINT; finish the running ones, then return.

    A Redis that does not answer yet (started after the workers, as happens on a cluster) is waited
    for; ``unreachable`` hears about it once.
    """
    broker = make_broker(broker_url)
    declare(broker)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    told = False
    while not stop.is_set():
        try:
            broker.client.ping()
            break
        except Exception as exc:  # redis.ConnectionError and its kin
            if not told and unreachable is not None:
                unreachable(exc)
            told = True
            stop.wait(2.0)
    if stop.is_set():
        broker.close()
        return
    folder = workdir or tempfile.mkdtemp(prefix="kfix-fleet-worker-")
    _worker.update(broker=broker, workdir=folder)
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=max(1, threads))
    worker.start()
    try:
        if ready is not None:
            ready()
        while not stop.wait(1.0):
            pass
    finally:
        worker.stop(timeout=600_000)
        broker.close()
        if workdir is None:
            shutil.rmtree(folder, ignore_errors=True)
