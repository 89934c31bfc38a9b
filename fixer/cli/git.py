"""Git commands of the CLI: ``kfix pr`` and ``kfix apply --write --branch`` (thin layers over
kfix.git.bot and kfix.git.gitops).

Exit codes of ``kfix pr``:
  0  the request was opened or updated, or is up to date; nothing to fix; or kfix deliberately left
     things alone (a person pushed to the bot branch, or closed the request without merging) — the
     message says which.
  1  --dry-run only: a real run would push and open/update a request.
  2  usage, configuration, git or forge error, or some input file could not be processed (the
     request is still opened/updated with the other files' fixes).
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import List, Optional

import typer

from kfix.cli.options import (COLOR, EXCLUDE, IGNORE, JOBS, NO_COLOR, PROFILE, QUIET, SELECT, UNSAFE, ColorChoice,
                              FailOn, Profile, Run, apply_exit_code, fail, split_list, use_color)


class ForgeKind(str, Enum):
    github = "github"
    gitlab = "gitlab"
    gitea = "gitea"
    forgejo = "forgejo"


_SLUG_ENV = {"github": ("GITHUB_REPOSITORY",), "gitlab": ("CI_PROJECT_PATH",),
             "gitea": ("GITEA_REPOSITORY", "GITHUB_REPOSITORY"), "forgejo": ("GITHUB_REPOSITORY",)}
_TOKEN_ENV = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN", "gitea": "GITEA_TOKEN", "forgejo": "FORGEJO_TOKEN"}


def apply_to_branch(paths: list[str], run: Run, branch: str, commit_message: Optional[str],
                    author: Optional[str], fail_on: Optional[FailOn] = None) -> int:
    """``kfix apply --write --branch NAME``: the fixes as one commit on a new branch; checkout untouched."""
    from kfix.git import gitops, prbody
    from kfix.report import summary

    if "-" in paths:
        fail("--branch cannot be used with stdin ('-')")
    try:
        actor = gitops.parse_author(author)
        repo = gitops.open_repo(paths[0])
        name = gitops.check_branch_name(repo, branch)
        if name in {h.name for h in repo.heads}:
            raise gitops.GitOpsError(f"branch {name!r} already exists; choose another --branch")
    except gitops.GitOpsError as exc:
        fail(str(exc))
    result = run.plan(paths)
    run.report_problems(result)
    files = {p.path: p.source.encode(p.new_text) for p in result.plans if p.changed and p.source is not None}
    if not files:
        typer.echo(summary(result, False), err=True)
        typer.echo(f"kfix: nothing to fix; branch {name} not created", err=True)
        return apply_exit_code(result, True, fail_on)
    root = os.path.realpath(repo.working_tree_dir or ".")
    message = commit_message
    if not message:
        report = prbody.build_report(result.plans, result.findings(),
                                     lambda p: os.path.relpath(os.path.realpath(p), root).replace(os.sep, "/"))
        message = prbody.commit_message(report)
    elif not message.endswith("\n"):
        message += "\n"
    try:
        made = gitops.commit_to_new_branch(files, name, message, actor, repo)
    except gitops.GitOpsError as exc:
        fail(f"{exc} (nothing was committed)")
    try:
        where = f"branch {repo.active_branch.name}"
    except TypeError:
        where = f"detached HEAD at {made.parent[:12]}"
    typer.echo(summary(result, True).replace("changed", "committed", 1), err=True)
    typer.echo(f"kfix: committed {len(made.files)} file{'s' if len(made.files) != 1 else ''} to new branch "
               f"{made.branch} ({made.commit[:12]}); your checkout ({where}) and working tree are unchanged. "
               f"See it with: git switch {made.branch}", err=True)
    return apply_exit_code(result, True, fail_on)


def _repo_paths(paths: Optional[List[str]], root: str) -> list[str]:
    """Command-line paths -> paths relative to the repository root.

    Given paths are relative to the current directory when it is inside the repository (as with git),
    else to the repository root; no paths means the whole repository.
    """
    if not paths:
        return ["."]
    cwd = os.path.realpath(os.getcwd())
    inside = cwd == root or cwd.startswith(root + os.sep)
    out = []
    for p in paths:
        if p == "-":
            fail("'kfix pr' works on the repository's files, not on stdin")
        full = os.path.abspath(p) if inside or os.path.isabs(p) else os.path.join(root, p)
        rel = os.path.relpath(os.path.normpath(full), root)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            fail(f"{p}: outside the repository at {root}")
        out.append(rel.replace(os.sep, "/"))
    return out


PR_CONFIG = typer.Option(None, "--config", help="Configuration file (default: the .kfix.yaml or [tool.kfix] at the "
                                                "root of the base branch).")
PR_DECISIONS = typer.Option(None, "--decisions", metavar="FILE",
                            help="A decisions file of the repository ('kfix review --decisions'): changes declined "
                                 "there are not proposed (default: 'decisions' in the configuration, the base's own).")


def register(app: typer.Typer) -> None:
    @app.command()
    def pr(paths: Optional[List[str]] = typer.Argument(None, help="Files or folders of the repository (default: all of it)."),
           forge: ForgeKind = typer.Option(..., "--forge", help="Where the repository is hosted."),
           repo_slug: Optional[str] = typer.Option(None, "--repo-slug",
                                                   help="OWNER/NAME on the forge (default: $GITHUB_REPOSITORY or $CI_PROJECT_PATH)."),
           api_url: Optional[str] = typer.Option(None, "--api-url", help="API root (GitHub Enterprise, self-hosted GitLab, Gitea/Forgejo)."),
           base: Optional[str] = typer.Option(None, "--base", help="Branch to propose into (default: the remote's default branch)."),
           remote: str = typer.Option("origin", "--remote", help="Git remote to fetch from and push to."),
           branch: str = typer.Option("kfix/harden", "--branch", help="The bot's branch."),
           label: Optional[List[str]] = typer.Option(None, "--label", help="Label for a new request (repeatable)."),
           draft: bool = typer.Option(False, "--draft", help="Open the request as a draft."),
           dry_run: bool = typer.Option(False, "--dry-run", help="Print the branch, commit message, title, body and diff; push and open nothing."),
           repo: str = typer.Option(".", "--repo", help="The local clone (default: the current directory)."),
           author: Optional[str] = typer.Option(None, "--author", help='Bot identity "Name <email>" (default: kfix <kfix@users.noreply.github.com>).'),
           profile: Optional[Profile] = PROFILE, select: Optional[List[str]] = SELECT, ignore: Optional[List[str]] = IGNORE,
           unsafe_fixes: bool = UNSAFE, config: Optional[str] = PR_CONFIG, exclude: Optional[List[str]] = EXCLUDE,
           jobs: int = JOBS, quiet: bool = QUIET, no_color: bool = NO_COLOR,
           color: Optional[ColorChoice] = COLOR, decisions: Optional[str] = PR_DECISIONS) -> None:
        """Put the fixes on a branch (one commit on the remote base) and open or update a pull/merge request.

        The token comes from KFIX_TOKEN or the forge's usual variable (GITHUB_TOKEN, GITLAB_TOKEN,
        GITEA_TOKEN/FORGEJO_TOKEN) and is never printed. Re-runs update the same request; a request
        closed without merging is not reopened; a branch a person pushed to is left alone.
        """
        from kfix.git import gitops
        from kfix.git.bot import BotError, Status, propose
        from kfix.errors import ConfigError
        from kfix.git.forges import ForgeError, implausible_token, make_forge, token_from_env

        kind = forge.value
        token = token_from_env(kind)
        slug = repo_slug or next((os.environ[v] for v in _SLUG_ENV[kind] if os.environ.get(v)), None)
        if not slug:
            fail("--repo-slug OWNER/NAME is required (or set GITHUB_REPOSITORY / CI_PROJECT_PATH)")
        if not token and not dry_run:
            fail(f"no token: set KFIX_TOKEN or {_TOKEN_ENV[kind]}")
        if implausible_token(token):
            typer.echo(f"kfix: warning: {implausible_token(token)}", err=True)
        try:
            actor = gitops.parse_author(author)
            local = gitops.open_repo(repo)
            root = os.path.realpath(local.working_tree_dir or local.git_dir)
            client = make_forge(kind, slug, api_url=api_url, token=token) if token else None
        except (gitops.GitOpsError, ForgeError) as exc:
            fail(gitops.scrub(str(exc), [token]))
        repo_paths = _repo_paths(paths, root)
        options = None
        excludes = tuple(split_list(exclude))
        configured = None
        if config is not None:
            from kfix.config import decisions_path

            run = Run(profile, select, ignore, unsafe_fixes, config, exclude, jobs, quiet, no_color)
            options, excludes = run.options, run.excludes
            configured = decisions_path(run.config)
        if decisions is not None or configured is not None:
            from kfix.review import DecisionsError, decisions_file

            try:
                decisions = decisions_file(decisions, configured)
            except DecisionsError as exc:
                fail(str(exc))
        if decisions is not None:
            decisions = os.path.abspath(decisions)
        try:
            outcome = propose(root, repo_paths, options, client, base, branch, remote=remote, labels=split_list(label),
                              draft=draft, dry_run=dry_run, author=actor, token=token,
                              profile=profile.value if profile else None, select=split_list(select),
                              ignore=split_list(ignore), unsafe_fixes=True if unsafe_fixes else None,
                              excludes=excludes, jobs=jobs, decisions=decisions)
        except (BotError, ConfigError, ValueError) as exc:
            fail(gitops.scrub(str(exc), [token]))
        for err in outcome.errors:
            typer.echo(f"error: {err}", err=True)
        if dry_run:
            _print_dry_run(outcome, color=use_color(ColorChoice.never if no_color else color))
            typer.echo(f"kfix: {outcome.message}", err=True)
            if outcome.errors:
                raise typer.Exit(2)
            raise typer.Exit(1 if outcome.would in (Status.CREATED, Status.UPDATED) else 0)
        typer.echo(f"kfix: {outcome.status.value.replace('-', ' ')}: {outcome.message}")
        raise typer.Exit(2 if outcome.errors else 0)


def _print_dry_run(outcome, color: bool) -> None:
    from kfix.diffs import colorize

    out = sys.stdout
    out.write(f"branch: {outcome.branch}\n")
    out.write(f"base: {outcome.base} ({(outcome.base_sha or '')[:12]})\n")
    out.write(f"would: {outcome.would.value if outcome.would else '-'}\n")
    if not outcome.files:
        out.flush()
        return
    out.write(f"files: {', '.join(outcome.files)}\n")
    out.write("\n=== commit message ===\n" + outcome.commit_message)
    out.write("\n=== title ===\n" + outcome.title + "\n")
    out.write("\n=== body ===\n" + outcome.body)
    out.write("\n=== diff ===\n" + (colorize(outcome.diff) if color else outcome.diff))
    out.flush()
