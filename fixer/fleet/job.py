"""One repository of a campaign: lock it, skip it if an earlier run settled it, else ``propose``.

The local side is a bare-bones repository per slug under the job's work folder (``git init`` plus an
``origin`` remote with the clone URL from the API): ``propose`` fetches just the base and the bot
branch into it, works in a temporary worktree and pushes. Credentials reach git only through
GIT_ASKPASS (never in the remote URL or the repository's configuration).

Any failure in a repository becomes a ``failed`` result with a reason (scrubbed of the token); it
never stops the other repositories. A forge asking to wait longer than the client sleeps by itself
raises ``Reschedule`` so the engine can run the repository again after that delay.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from typing import Any, Callable, ContextManager

import git

from kfix.fleet.model import DONE, Campaign, Outcome, RepoResult, outcome_of
from kfix.fleet.state import StateStore
from kfix.git import gitops
from kfix.git.bot import BotError, propose
from kfix.git.forges import ForgeError, make_forge
from kfix.git.orgs import RemoteRepo

__all__ = ["Reschedule", "run_repo", "local_repo"]


class Reschedule(Exception):
    """Run this repository again after ``delay`` seconds (the forge asked for it)."""

    def __init__(self, delay: float, message: str):
        super().__init__(message)
        self.delay = delay


def local_repo(workdir: str, kind: str, repo: RemoteRepo) -> str:
    """The job's local repository for ``repo``: created once, its ``origin`` kept at the API's clone URL."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", repo.slug)[:80]
    digest = hashlib.sha256(f"{kind}|{repo.slug}".encode()).hexdigest()[:8]
    path = os.path.join(workdir, f"{safe}-{digest}")
    if not os.path.isdir(os.path.join(path, ".git")):
        os.makedirs(path, exist_ok=True)
        local = git.Repo.init(path)
    else:
        local = git.Repo(path)
    with local.config_writer() as cfg:  # a job's own repository: no hooks, no gc in the middle of a push
        cfg.set_value("gc", "auto", "0")
    if "origin" in {r.name for r in local.remotes}:
        local.git.remote("set-url", "origin", repo.clone_url)
    else:
        local.git.remote("add", "origin", repo.clone_url)
    return path


def _record(result: RepoResult, fingerprint: str) -> dict[str, Any]:
    return {"outcome": result.outcome.value, "base": result.base, "base_sha": result.base_sha, "url": result.url,
            "message": result.message, "fingerprint": fingerprint}


def _settled(campaign: Campaign, repo: RemoteRepo, path: str, token: str | None, state: StateStore | None,
             secrets: list[str]) -> RepoResult | None:
    """The earlier run's result when it still holds: same settings, same base commit on the remote."""
    if state is None or campaign.fresh or campaign.dry_run:
        return None
    record = state.get(repo.slug)
    if not record or record.get("fingerprint") != campaign.fingerprint():
        return None
    try:
        outcome = Outcome(record.get("outcome"))
    except ValueError:
        return None
    base = campaign.base or record.get("base")
    if outcome not in DONE or not base or not record.get("base_sha"):
        return None
    local = git.Repo(path)
    with gitops.credentials_env(repo.clone_url, token, campaign.forge) as env:
        heads = gitops.remote_heads(local, "origin", [base], env, secrets)
    if heads.get(base) != record["base_sha"]:
        return None
    settled = Outcome.UP_TO_DATE if outcome in (Outcome.CREATED, Outcome.UPDATED) else outcome
    where = f" ({record['url']})" if record.get("url") else ""
    return RepoResult(repo.slug, settled, f"settled by an earlier run on {base} ({record['base_sha'][:12]}): "
                                          f"{outcome.value}{where}; not touched", url=record.get("url"), base=base,
                      base_sha=record["base_sha"], resumed=True)


def run_repo(campaign: Campaign, repo: RemoteRepo, *, token: str | None, workdir: str,
             write_gate: Callable[[], None] | None = None,
             lock: Callable[[str], ContextManager[Any]] | None = None,
             state: StateStore | None = None, attempt: int = 1,
             sleep: Callable[[float], None] | None = None) -> RepoResult:
    """Propose the campaign's fixes in one repository; never raises except ``Reschedule``."""
    secrets = [token] if token else []
    try:
        with (lock(repo.slug) if lock is not None else contextlib.nullcontext()):
            path = local_repo(workdir, campaign.forge, repo)
            done = _settled(campaign, repo, path, token, state, secrets)
            if done is not None:
                return done
            options: dict[str, Any] = {"write_gate": write_gate, "max_wait": campaign.max_wait}
            if sleep is not None:
                options["sleep"] = sleep
            if not token and not campaign.dry_run:
                return RepoResult(repo.slug, Outcome.FAILED, "no token: set KFIX_TOKEN (or the forge's usual "
                                                             "variable) where the job runs", attempts=attempt)
            forge = make_forge(campaign.forge, repo.slug, api_url=campaign.api_url, token=token, **options) \
                if token else None
            out = propose(path, campaign.paths, None, forge, campaign.base or repo.default_branch, campaign.branch,
                          labels=campaign.labels, draft=campaign.draft, dry_run=campaign.dry_run,
                          token=token, profile=campaign.profile, select=campaign.select, ignore=campaign.ignore,
                          unsafe_fixes=campaign.unsafe_fixes, excludes=campaign.excludes, jobs=1)
    except BotError as exc:
        if exc.retry_after is not None and attempt < campaign.max_attempts:
            raise Reschedule(exc.retry_after, str(exc)) from None
        return RepoResult(repo.slug, Outcome.FAILED, gitops.scrub(str(exc), secrets), attempts=attempt)
    except (ForgeError, gitops.GitOpsError, ValueError, OSError) as exc:
        return RepoResult(repo.slug, Outcome.FAILED, gitops.scrub(str(exc), secrets), attempts=attempt)
    except Exception as exc:  # a bug must not stop the campaign; say what it was
        text = gitops.scrub(f"{type(exc).__name__}: {exc}", secrets)
        return RepoResult(repo.slug, Outcome.FAILED, f"internal error: {text}", attempts=attempt)
    result = RepoResult(repo.slug, outcome_of(out.status, out.would), gitops.scrub(out.message, secrets),
                        url=out.pull.url if out.pull is not None else None, base=out.base, base_sha=out.base_sha,
                        errors=[gitops.scrub(e, secrets) for e in out.errors], attempts=attempt)
    if state is not None and result.outcome in DONE and not campaign.dry_run:
        state.put(repo.slug, _record(result, campaign.fingerprint()))
    return result
