"""What a fleet campaign is, and what happened in each repository.

Everything here is plain data that survives a trip through JSON: a campaign and a repository travel
to workers as message arguments, results come back through Redis. None of it ever holds the token
(workers read their own from the environment).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import Any

from kfix.git.bot import DEFAULT_BRANCH, Status

__all__ = ["Campaign", "Outcome", "RepoResult", "outcome_of", "DONE"]


class Outcome(str, Enum):
    """Per repository: what the campaign did there."""

    CREATED = "created"
    UPDATED = "updated"
    UP_TO_DATE = "up to date"
    NOTHING_TO_FIX = "nothing to fix"
    LEFT_ALONE = "left alone"  # a person pushed to the bot branch, or closed the request unmerged
    WOULD_CREATE = "would create"  # dry runs
    WOULD_UPDATE = "would update"
    FAILED = "failed"


#: Outcomes that settle a repository for a given base commit: a resumed run skips them.
DONE = frozenset({Outcome.CREATED, Outcome.UPDATED, Outcome.UP_TO_DATE, Outcome.NOTHING_TO_FIX, Outcome.LEFT_ALONE})

_FROM_STATUS = {
    Status.CREATED: Outcome.CREATED,
    Status.UPDATED: Outcome.UPDATED,
    Status.UP_TO_DATE: Outcome.UP_TO_DATE,
    Status.NOTHING_TO_FIX: Outcome.NOTHING_TO_FIX,
    Status.PERSON_PUSHED: Outcome.LEFT_ALONE,
    Status.CLOSED_UNMERGED: Outcome.LEFT_ALONE,
}


def outcome_of(status: Status, would: Status | None = None) -> Outcome:
    """The campaign outcome of a ``propose`` status (a dry run reports what it would do)."""
    if status is Status.DRY_RUN:
        if would is Status.CREATED:
            return Outcome.WOULD_CREATE
        if would is Status.UPDATED:
            return Outcome.WOULD_UPDATE
        return _FROM_STATUS.get(would, Outcome.UP_TO_DATE) if would else Outcome.UP_TO_DATE
    return _FROM_STATUS[status]


@dataclass
class Campaign:
    """The settings every job of one run shares (what ``kfix fleet`` was asked to do)."""

    forge: str
    api_url: str | None = None
    branch: str = DEFAULT_BRANCH
    base: str | None = None  # None: each repository's default branch
    paths: list[str] = field(default_factory=lambda: ["."])
    labels: list[str] = field(default_factory=list)
    draft: bool = False
    dry_run: bool = False
    profile: str | None = None
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    unsafe_fixes: bool | None = None
    excludes: list[str] = field(default_factory=list)  # file globs inside each repository
    writes_per_minute: int = 30
    max_wait: float = 300.0  # longer waits put the job back instead of sleeping
    max_attempts: int = 5
    fresh: bool = False  # ignore what earlier runs recorded

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Campaign":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def state_key(self, api_root: str) -> str:
        """Which record of earlier runs applies: one per forge API and bot branch."""
        return hashlib.sha256(f"{self.forge}|{api_root}|{self.branch}".encode()).hexdigest()[:16]

    def fingerprint(self) -> str:
        """What the fixes depend on: a record made with other settings does not count as done."""
        parts = {k: getattr(self, k) for k in ("base", "paths", "profile", "select", "ignore", "unsafe_fixes",
                                               "excludes")}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class RepoResult:
    """What happened in one repository."""

    repo: str
    outcome: Outcome
    message: str
    url: str | None = None  # the request's web address
    base: str | None = None
    base_sha: str | None = None
    resumed: bool = False  # settled by an earlier run on the same base commit; not touched now
    errors: list[str] = field(default_factory=list)  # input files that could not be processed
    attempts: int = 1
    worker: str | None = None  # distributed: the worker (host:pid) that handled it

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = self.outcome.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RepoResult":
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["outcome"] = Outcome(values["outcome"])
        return cls(**values)
