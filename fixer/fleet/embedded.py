"""The embedded engine: the campaign's jobs on a thread pool inside the kfix process.

Nothing to install or run beside kfix. The jobs are mostly waiting (git, the forge's API), so
threads suffice; they share one write budget (``WindowLimiter``), one set of repository locks and
one state file. A job the forge asks to wait for longer than the client sleeps by itself is run
again after that delay. Ctrl-C stops handing out new repositories, lets the running ones finish,
and returns what was done: everything settled is in the state file, so the next run resumes.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Callable, Sequence

from kfix.fleet.job import Reschedule, run_repo
from kfix.fleet.limits import RepoLocks, WindowLimiter
from kfix.fleet.model import Campaign, RepoResult
from kfix.fleet.state import StateStore
from kfix.git.orgs import RemoteRepo

__all__ = ["run_embedded", "Interrupted"]


class Interrupted(Exception):
    """The run was stopped (Ctrl-C); ``results`` holds the repositories that were finished."""

    def __init__(self, results: list[RepoResult]):
        super().__init__("interrupted")
        self.results = results


def run_embedded(campaign: Campaign, repos: Sequence[RemoteRepo], *, token: str | None, workers: int = 4,
                 state: StateStore | None = None, workdir: str | None = None,
                 progress: Callable[[RepoResult], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> list[RepoResult]:
    """Run every repository; results in the order of ``repos``. Raises Interrupted on Ctrl-C."""
    limiter = WindowLimiter(campaign.writes_per_minute, 60.0, sleep=sleep)
    locks = RepoLocks()
    stop = threading.Event()
    own_workdir = workdir is None
    folder = tempfile.mkdtemp(prefix="kfix-fleet-") if own_workdir else workdir

    def job(repo: RemoteRepo) -> RepoResult:
        attempt = 1
        while True:
            try:
                return run_repo(campaign, repo, token=token, workdir=folder, write_gate=limiter, lock=locks.hold,
                                state=state, attempt=attempt, sleep=sleep)
            except Reschedule as again:
                if stop.is_set():
                    raise
                sleep(again.delay)
                attempt += 1

    results: dict[str, RepoResult] = {}
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="kfix-fleet") as pool:
            pending: dict[Future, RemoteRepo] = {pool.submit(job, r): r for r in repos}
            try:
                while pending:
                    finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in finished:
                        repo = pending.pop(future)
                        result = future.result()
                        results[repo.slug] = result
                        if progress is not None:
                            progress(result)
            except KeyboardInterrupt:
                stop.set()
                for future in pending:
                    future.cancel()
                for future, repo in pending.items():
                    if not future.cancelled():
                        try:
                            results[repo.slug] = future.result()
                        except (Reschedule, Exception):
                            continue
                        if progress is not None:
                            progress(results[repo.slug])
                raise Interrupted([results[r.slug] for r in repos if r.slug in results]) from None
    finally:
        if own_workdir:
            shutil.rmtree(folder, ignore_errors=True)
    return [results[r.slug] for r in repos]
