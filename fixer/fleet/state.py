"""What earlier runs settled, so an interrupted campaign resumes instead of starting over.

A record per repository: the base commit it was proposed on, the settings' fingerprint, the outcome
and the request's address. A job skips a repository whose record has a settling outcome (created,
updated, up to date, nothing to fix, left alone) for the same fingerprint on the base commit the
remote still has. Without a record the job simply runs: ``propose`` itself never makes a duplicate,
the record only saves the work.

``JsonState`` keeps the records in one JSON file (the embedded engine); the distributed engine keeps
them in a Redis hash (``kfix.fleet.distributed.RedisState``). Neither holds any credential.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from typing import Any, Protocol

__all__ = ["StateStore", "JsonState", "default_state_path"]


class StateStore(Protocol):
    def get(self, repo: str) -> dict[str, Any] | None: ...

    def put(self, repo: str, record: dict[str, Any]) -> None: ...


def default_state_path(key: str) -> str:
    """Where the embedded engine keeps its records: the user's cache folder, one file per forge and branch."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kfix", "fleet", f"{key}.json")


class JsonState:
    """Records in a JSON file, rewritten atomically after each repository (a kill loses nothing settled)."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = {}
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            if isinstance(data, dict) and isinstance(data.get("repositories"), dict):
                self._records = {k: v for k, v in data["repositories"].items() if isinstance(v, dict)}
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: cannot read the fleet state ({exc}); remove it or pass another --state")

    def get(self, repo: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._records.get(repo)
            return dict(record) if record else None

    def put(self, repo: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._records[repo] = dict(record)
            folder = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".kfix-fleet-", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump({"repositories": self._records}, fh, indent=1, sort_keys=True)
                    fh.write("\n")
                os.replace(tmp, self.path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
