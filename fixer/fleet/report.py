"""The campaign report: a progress line per repository while it runs, a table at the end, JSON on request."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from typing import Any, Sequence

from kfix.fleet.model import Outcome, RepoResult

__all__ = ["progress_line", "table", "summary", "to_json", "write_json", "exit_code"]

_ORDER = [Outcome.CREATED, Outcome.UPDATED, Outcome.UP_TO_DATE, Outcome.NOTHING_TO_FIX, Outcome.LEFT_ALONE,
          Outcome.WOULD_CREATE, Outcome.WOULD_UPDATE, Outcome.FAILED]


def progress_line(result: RepoResult, done: int, total: int) -> str:
    width = len(str(total))
    return f"[{done:>{width}}/{total}] {result.repo}: {result.outcome.value}: {_one_line(result.message)}"


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _detail(result: RepoResult) -> str:
    if result.outcome is Outcome.FAILED or not result.url:
        text = _one_line(result.message, 120)
    else:
        text = result.url
    if result.resumed:
        text = f"(earlier run) {text}"
    if result.errors:
        text += f" [{len(result.errors)} file{'s' if len(result.errors) != 1 else ''} not processed]"
    return text


def table(results: Sequence[RepoResult]) -> str:
    """A plain-text table, one row per repository."""
    rows = [("repository", "outcome", "details")] + [(r.repo, r.outcome.value, _detail(r)) for r in results]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in rows]
    lines.insert(1, f"{'-' * w0}  {'-' * w1}  {'-' * 7}")
    return "\n".join(lines) + "\n"


def summary(results: Sequence[RepoResult], total: int | None = None) -> str:
    counts = Counter(r.outcome for r in results)
    parts = [f"{counts[o]} {o.value}" for o in _ORDER if counts[o]]
    n = len(results) if total is None else total
    head = f"{n} repositor{'y' if n == 1 else 'ies'}"
    if total is not None and len(results) < total:
        head += f" ({total - len(results)} not finished)"
    return f"{head}: {', '.join(parts) if parts else 'nothing done'}"


def to_json(results: Sequence[RepoResult], campaign: dict[str, Any], total: int | None = None) -> dict[str, Any]:
    counts = Counter(r.outcome.value for r in results)
    return {"campaign": campaign, "totals": dict(sorted(counts.items())),
            "repositories": [r.to_dict() for r in results],
            "finished": len(results), "total": len(results) if total is None else total}


def write_json(path: str, data: dict[str, Any]) -> None:
    """Write atomically: a report is either the old one or the whole new one."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".kfix-report-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def exit_code(results: Sequence[RepoResult], complete: bool = True) -> int:
    """2: a repository failed (or the run did not finish); 1: a dry run would change something; else 0."""
    if not complete or any(r.outcome is Outcome.FAILED or r.errors for r in results):
        return 2
    if any(r.outcome in (Outcome.WOULD_CREATE, Outcome.WOULD_UPDATE) for r in results):
        return 1
    return 0
