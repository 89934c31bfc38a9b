"""The pull-request bot as a library: one call per repository, a status a scheduler can act on.

    from kfix.git.bot import propose, Status
    from kfix.git.forges import make_forge

    forge = make_forge("github", "acme/web")          # token from KFIX_TOKEN / GITHUB_TOKEN
    outcome = propose("/srv/clones/web", ["deploy"], forge=forge, base="main")
    if outcome.status is Status.CREATED:
        print(outcome.pull.url)

What ``propose`` does, in order:

1. Looks up the remote's base branch (default: the remote's HEAD) and the bot branch with
   ``git ls-remote``, and fetches them into private temporary refs (the user's refs are untouched).
2. Asks the forge for the request opened from the bot branch. If it was closed without merging,
   stops: ``CLOSED_UNMERGED`` (kfix never reopens or recreates a request a person closed).
3. If the remote bot branch holds anything but the bot's single commit on some version of the base
   (a commit by someone else, more than one commit, a merge), stops: ``PERSON_PUSHED``.
4. Checks the base out in a temporary ``git worktree``, runs the fixes there (configuration from the
   base's own ``.kfix.yaml`` unless options are given). The changes a person declined in the decisions
   file (``decisions=``, else the one the configuration names: ``decisions:`` in the base's own) are left
   out. Nothing to fix: ``NOTHING_TO_FIX`` (no branch, no request).
5. Builds one commit on the base (author and committer: the bot identity). If the remote bot branch
   already has that exact tree on that exact base: no push (``UP_TO_DATE`` when the request is open
   and its description current). Otherwise force-pushes with a lease on the remote branch's previous
   sha (a push by someone in between is detected and reported as ``PERSON_PUSHED``).
6. Opens the request (``CREATED``; also after an earlier one was merged) or updates the open one's
   description (``UPDATED``). The title is stable; on update it is left as a person may have set it.

``dry_run=True`` does steps 1–5 without pushing or writing to the forge (it may read the request's
state) and returns ``DRY_RUN`` with ``would`` set to the status a real run would report.

Tokens are secrets: the forge client keeps its own, and the token passed here for ``git push`` goes
through GIT_ASKPASS in the child's environment only (see kfix.git.gitops.credentials_env). Messages and
exceptions coming out of this module are scrubbed of both.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Sequence

from git import Actor

from kfix.git import gitops, prbody
from kfix.api import RunResult, make_options, plan_paths
from kfix.config import Config, decisions_path, load_config
from kfix.diffs import unified_diff
from kfix.git.forges import Forge, ForgeError, PullRequest, truncate_body
from kfix.planner import Options

__all__ = ["Status", "Outcome", "BotError", "propose", "DEFAULT_BRANCH"]

log = logging.getLogger(__name__)

DEFAULT_BRANCH = "kfix/harden"


class Status(str, Enum):
    CREATED = "created"
    UPDATED = "updated"
    UP_TO_DATE = "up-to-date"
    NOTHING_TO_FIX = "nothing-to-fix"
    PERSON_PUSHED = "person-pushed"
    CLOSED_UNMERGED = "closed-unmerged"
    DRY_RUN = "dry-run"


class BotError(Exception):
    """A step failed (git, forge, configuration); the message is safe to show and holds no token.

    ``retry_after``: set when the forge asked to wait that many seconds (a rate limit longer than the
    client sleeps by itself); a scheduler can run the repository again after that delay.
    """

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Outcome:
    """What ``propose`` did (or, for a dry run, would do) in one repository."""

    status: Status
    message: str
    branch: str
    base: str
    base_sha: str | None = None
    commit: str | None = None  # the bot's commit (new or already on the remote)
    pushed: bool = False
    pull: PullRequest | None = None
    would: Status | None = None  # dry run: what a real run would report
    title: str = ""
    body: str = ""
    commit_message: str = ""
    diff: str = ""
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # inputs that could not be processed (file:line: why)
    result: RunResult | None = None


def _config_at(root: str) -> Config:
    """The configuration stored in the repository itself (at its root), or the defaults."""
    for name in (".kfix.yaml",):
        candidate = Path(root, name)
        if candidate.is_file():
            return load_config(str(candidate))
    pyproject = Path(root, "pyproject.toml")
    if pyproject.is_file() and "[tool.kfix" in pyproject.read_text(encoding="utf-8", errors="replace"):
        return load_config(str(pyproject))
    return Config()


def _decisions(tree: str, root: str, explicit: str | None, config: Config):
    """The decisions the bot honours (``kfix.review.Decisions``), or None: ``explicit`` (a file in the clone at
    ``root``; it must exist), else the one ``config`` names (none yet: no decisions). A file in the clone, not
    in the base's checkout ``tree``, is read where it is and answers for the files at the same place in ``tree``."""
    from kfix.review import DecisionsError, decisions_file, load_decisions

    try:
        path = decisions_file(explicit, decisions_path(config), "decisions file", root)
    except DecisionsError as exc:
        raise BotError(str(exc)) from None
    if path is None:
        return None
    real = os.path.realpath(path)
    anchor = None
    for folder in (tree, root):
        inside = os.path.relpath(real, os.path.realpath(folder))
        if inside != os.pardir and not inside.startswith(os.pardir + os.sep):
            anchor = os.path.join(tree, inside)
            break
    if anchor is None:
        raise BotError(f"decisions file {explicit or path}: outside the repository; its paths would name "
                       "no file of it")
    try:
        record = load_decisions(path)
    except DecisionsError as exc:
        raise BotError(str(exc)) from None
    record.path = anchor  # entries are relative to the decisions file: the same place in the base's checkout
    return record


def _check_rel(path: str) -> str:
    norm = os.path.normpath(path.replace("\\", "/")) if path else "."
    if os.path.isabs(norm) or norm == ".." or norm.startswith("../"):
        raise BotError(f"{path}: paths must be inside the repository (relative to its root)")
    return norm


def propose(
    repo_dir: str,
    paths: Sequence[str] = (".",),
    options: Options | None = None,
    forge: Forge | None = None,
    base: str | None = None,
    branch: str = DEFAULT_BRANCH,
    *,
    remote: str = "origin",
    labels: Sequence[str] = (),
    draft: bool = False,
    dry_run: bool = False,
    author: Actor = gitops.BOT,
    token: str | None = None,
    config_path: str | None = None,
    profile: str | None = None,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    unsafe_fixes: bool | None = None,
    excludes: Sequence[str] = (),
    jobs: int = 1,
    decisions: str | None = None,
) -> Outcome:
    """Propose kfix's fixes for ``paths`` (relative to the repository root) as one pull request.

    ``options``: use these rules and settings as they are; otherwise they come from ``config_path``
    or the base's own configuration file, overridden by profile/select/ignore/unsafe_fixes.
    ``decisions``: a decisions file (``kfix review --decisions``) in the clone ``repo_dir`` (relative to its root,
    or absolute), read as it is there; its entries answer for the base's files at the same place. Without
    it, the file the configuration names (``decisions:``; the base's own configuration, read from the base,
    also when ``options`` are given) is honoured. Declined changes are not proposed; the body says how many.
    ``token`` authenticates ``git`` over https (the forge client has its own); None: no credentials
    are offered to git (ssh keys, a credential helper or a CI checkout's own setup apply).
    Raises BotError for git/forge/configuration failures; ValueError for bad arguments.
    """
    if forge is None and not dry_run:
        raise ValueError("a forge is needed unless dry_run is set")
    secrets = [s for s in (token, getattr(forge, "_token", None)) if s]
    try:
        return _propose(repo_dir, [_check_rel(p) for p in paths] or ["."], options, forge, base, branch, remote,
                        labels, draft, dry_run, author, token, config_path, profile, select, ignore,
                        unsafe_fixes, excludes, jobs, secrets, decisions)
    except gitops.GitOpsError as exc:
        raise BotError(gitops.scrub(str(exc), secrets)) from None
    except ForgeError as exc:
        raise BotError(gitops.scrub(str(exc), secrets), getattr(exc, "retry_after", None)) from None


def _propose(repo_dir, paths, options, forge, base, branch, remote, labels, draft, dry_run, author, token,
             config_path, profile, select, ignore, unsafe_fixes, excludes, jobs, secrets, decisions) -> Outcome:
    from kfix.errors import ConfigError

    repo = gitops.open_repo(repo_dir)
    branch = gitops.check_branch_name(repo, branch)
    url = gitops.remote_url(repo, remote)
    kind = getattr(forge, "kind", None)
    with gitops.credentials_env(url, token, kind) as env:
        if not base:
            base = gitops.remote_default_branch(repo, remote, env, secrets)
            if not base:
                raise BotError(f"cannot tell the default branch of {remote!r}; pass base=")
        base = gitops.check_branch_name(repo, base)
        if base == branch:
            raise BotError(f"the bot branch and the base are both {branch!r}")
        with gitops.fetch_refs(repo, remote, [base, branch], env, secrets) as heads:
            if base not in heads:
                raise BotError(f"the remote {remote!r} has no branch {base!r}")
            base_sha, tip = heads[base], heads.get(branch)
            out = Outcome(Status.DRY_RUN, "", branch, base, base_sha)

            def finish(status: Status, message: str) -> Outcome:
                if dry_run:
                    out.would, out.status = status, Status.DRY_RUN
                    out.message = f"dry run: {message}"
                else:
                    out.status, out.message = status, message
                return out

            # 2. a request closed without merging is a person's "no": respect it.
            pull = None
            if forge is not None:
                pull = forge.find_pull(branch)
                out.pull = pull
                if pull is not None and pull.state == "closed":
                    return finish(Status.CLOSED_UNMERGED,
                                  f"request #{pull.number} from {branch} was closed without merging ({pull.url}); "
                                  "kfix does not reopen or recreate it. Delete the branch and pass another "
                                  "--branch to propose the fixes again.")
            # 3. a branch a person pushed to is theirs now.
            if tip is not None:
                owner = gitops.branch_ownership(repo, base_sha, tip, author)
                if not owner.owned:
                    return finish(Status.PERSON_PUSHED,
                                  f"branch {branch} on {remote} has work that kfix did not make ({owner.reason}); "
                                  "leaving it and its request alone.")
            # 4. run the fixes on the base.
            with gitops.temporary_worktree(repo, base_sha) as tree:
                try:
                    if options is None:
                        config = load_config(config_path) if config_path else _config_at(tree)
                        options = make_options(config, profile, select, ignore, unsafe_fixes)
                        excludes = tuple(excludes) + config.exclude
                    else:  # the rules are given; a person's decisions still hold
                        config = _config_at(tree) if decisions is None else Config()
                except ConfigError as exc:
                    raise BotError(str(exc)) from None
                record = _decisions(tree, repo.working_tree_dir or repo_dir, decisions, config)
                real_tree = os.path.realpath(tree)

                def rel(p: str) -> str:
                    r = os.path.relpath(os.path.realpath(p) if os.path.isabs(p) else os.path.join(real_tree, p),
                                        real_tree)
                    return r.replace(os.sep, "/")

                result = plan_paths([os.path.join(tree, p) for p in paths], options, tuple(excludes), jobs,
                                    decisions=record)
                out.result = result
                out.errors = [f"{rel(e.error.path or e.path)}{f':{e.error.line}' if e.error.line else ''}: "
                              f"{e.error.message}" for e in result.errors]
                files: dict[str, bytes] = {}
                diffs = []
                for plan in result.plans:
                    if not plan.changed or plan.source is None:
                        continue
                    name = rel(plan.path)
                    if name.startswith("../"):
                        out.errors.append(f"{os.path.relpath(plan.path, tree)}: a link to outside the repository; "
                                          "not changed")
                        continue
                    files[name] = plan.source.encode(plan.new_text)
                    bom = "\ufeff" if plan.source.bom else ""
                    diffs.append(unified_diff(name, bom + plan.source.text, bom + plan.new_text))
                out.files = sorted(files)
                out.diff = "".join(diffs)
                if not files:
                    remaining = sum(1 for r in result.findings() if r.status in ("unsafe", "report", "unfixable"))
                    extra = f" ({remaining} findings need a person; see 'kfix scan')" if remaining else ""
                    if result.declined:
                        extra += f" ({result.declined} declined in {rel(record.path)} left out)"
                    if pull is not None and pull.state == "open":
                        return finish(Status.NOTHING_TO_FIX,
                                      f"nothing left to fix on {base}{extra}; request #{pull.number} ({pull.url}) "
                                      "is no longer needed and can be closed.")
                    return finish(Status.NOTHING_TO_FIX, f"nothing to fix on {base}{extra}; no branch, no request.")
                report = prbody.build_report(result.plans, result.findings(), rel,
                                             decisions=rel(record.path) if record is not None else None)
                limit = forge.max_body_chars if forge is not None else None
                out.title = prbody.title(report)
                out.commit_message = prbody.commit_message(report)
                out.body = prbody.body(report, base, base_sha, limit)
                # 5. one commit on the base; skip the push when the remote branch already has it.
                commit = gitops.commit_files(repo, base_sha, files, out.commit_message, author, author)
            same = tip is not None and _same_change(repo, tip, commit, base_sha)
            out.commit = tip if same else commit.hexsha
            if not same and not dry_run:
                try:
                    gitops.push_with_lease(repo, remote, commit.hexsha, branch, tip, env, secrets)
                except gitops.LeaseRejected as exc:
                    return finish(Status.PERSON_PUSHED, f"{exc}; leaving it alone.")
                out.pushed = True
            # 6. the request.
            if forge is None:
                return finish(Status.CREATED if tip is None else (Status.UP_TO_DATE if same else Status.UPDATED),
                              _dry_summary(out, same))
            if pull is not None and pull.state == "open":
                fitted = truncate_body(out.body, forge.max_body_chars)
                body_changed = pull.body.replace("\r\n", "\n").rstrip() != fitted.rstrip()
                if same and not body_changed:
                    return finish(Status.UP_TO_DATE, f"request #{pull.number} ({pull.url}) already has these "
                                                     f"fixes on {base} ({base_sha[:12]}); nothing pushed.")
                if not dry_run and body_changed:
                    out.pull = forge.update_pull(pull.number, body=out.body)
                what = f"rebuilt on {base} ({base_sha[:12]}) and force-pushed" if not same else "description refreshed"
                return finish(Status.UPDATED, f"updated request #{pull.number} ({pull.url}): {what}.")
            if not dry_run:
                out.pull = forge.create_pull(branch, base, out.title, out.body, labels=labels, draft=draft)
                return finish(Status.CREATED, f"opened request #{out.pull.number}: {out.pull.url}")
            return finish(Status.CREATED, f"would push {branch} and open a request into {base}.")


def _same_change(repo, tip: str, commit, base_sha: str) -> bool:
    """The remote branch already holds this change: one commit, on this very base, with this tree."""
    remote_commit = repo.commit(tip)
    return ([p.hexsha for p in remote_commit.parents] == [base_sha]
            and remote_commit.tree.hexsha == commit.tree.hexsha)


def _dry_summary(out: Outcome, same: bool) -> str:
    if same:
        return f"{out.branch} already holds these fixes on {out.base}."
    return f"would push {out.branch} ({len(out.files)} files) onto {out.base}."
