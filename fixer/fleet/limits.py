"""Budgets and locks for jobs running side by side in one process.

``WindowLimiter`` keeps content-creating forge calls under N per sliding window (GitHub asks for
no more than 80 content-creating requests a minute, and GitLab limits merge-request creation per
user); every write of every job waits its turn. ``RepoLocks`` makes sure two jobs never work on one
repository at once. The distributed engine has the same two things backed by Redis
(``kfix.fleet.distributed``), built from Dramatiq's rate limiters.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from typing import Callable, Iterator

__all__ = ["WindowLimiter", "RepoLocks"]


class WindowLimiter:
    """At most ``limit`` acquisitions in any ``window`` seconds; ``acquire`` blocks until one is free.

    ``clock`` and ``sleep`` are injectable so the budget can be checked without waiting in real time.
    """

    def __init__(self, limit: int, window: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if limit < 1 or window <= 0:
            raise ValueError("a limit needs a positive budget and window")
        self.limit, self.window = limit, window
        self._clock, self._sleep = clock, sleep
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def try_acquire(self) -> float:
        """Take a slot if one is free (returns 0), else return how long until one frees up."""
        with self._lock:
            now = self._clock()
            while self._times and now - self._times[0] >= self.window:
                self._times.popleft()
            if len(self._times) < self.limit:
                self._times.append(now)
                return 0.0
            return self._times[0] + self.window - now

    def acquire(self) -> None:
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return
            self._sleep(wait)

    __call__ = acquire  # usable directly as a forge client's write gate


class RepoLocks:
    """One lock per repository slug, for the jobs of this process."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def hold(self, slug: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(slug.lower(), threading.Lock())
        with lock:
            yield
