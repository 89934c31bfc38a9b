"""``kfix fleet`` (propose hardening in every repository of an organisation) and ``kfix fleet worker``:
thin layers over kfix.fleet.

Exit codes of ``kfix fleet``:
  0  every repository settled: request opened/updated/up to date, nothing to fix, or left alone
  1  --dry-run only: a real run would open or update requests
  2  usage or forge error, a repository failed (the others still ran), or the run was interrupted
"""

from __future__ import annotations

import gc
import os
import sys
from typing import List, Optional

import typer

from kfix.cli.git import _TOKEN_ENV, ForgeKind
from kfix.cli.options import IGNORE, PROFILE, QUIET, SELECT, UNSAFE, Profile, fail, split_list

fleet_app = typer.Typer(add_completion=False, rich_markup_mode=None, invoke_without_command=True,
                        context_settings={"help_option_names": ["-h", "--help"]})


@fleet_app.callback()
def fleet(ctx: typer.Context,
          forge: Optional[ForgeKind] = typer.Option(None, "--forge", help="Where the repositories are hosted."),
          org: Optional[str] = typer.Option(None, "--org", help="Organisation (GitLab: group path) whose repositories to work on."),
          api_url: Optional[str] = typer.Option(None, "--api-url", help="API root (GitHub Enterprise, self-hosted GitLab, Gitea/Forgejo)."),
          repos: Optional[str] = typer.Option(None, "--repos", help="File of OWNER/NAME lines to work on instead of listing --org."),
          include: Optional[List[str]] = typer.Option(None, "--include", help="Only repositories matching this glob (repeatable; without '/': the name)."),
          exclude: Optional[List[str]] = typer.Option(None, "--exclude", help="Skip repositories matching this glob (repeatable)."),
          include_archived: bool = typer.Option(False, "--include-archived", help="Also archived repositories."),
          include_forks: bool = typer.Option(False, "--include-forks", help="Also forks."),
          branch: str = typer.Option("kfix/harden", "--branch", help="The bot's branch in every repository."),
          base: Optional[str] = typer.Option(None, "--base", help="Branch to propose into (default: each repository's default branch)."),
          path: Optional[List[str]] = typer.Option(None, "--path", help="Only these paths inside each repository (repeatable; default: all)."),
          label: Optional[List[str]] = typer.Option(None, "--label", help="Label for new requests (repeatable)."),
          draft: bool = typer.Option(False, "--draft", help="Open requests as drafts."),
          dry_run: bool = typer.Option(False, "--dry-run", help="Push and open nothing; report what would happen."),
          broker: Optional[str] = typer.Option(None, "--broker", help="redis://... : run the jobs on 'kfix fleet worker' processes through Dramatiq."),
          workers: int = typer.Option(4, "--workers", min=1, help="Embedded engine: repositories handled at once."),
          writes_per_minute: int = typer.Option(30, "--writes-per-minute", min=1, help="Forge-wide budget of content-creating API calls."),
          max_wait: float = typer.Option(300.0, "--max-wait", min=0, help="Longest rate-limit wait slept inside a job; longer waits requeue the job."),
          report: Optional[str] = typer.Option(None, "--report", help="Write the campaign report as JSON to this file."),
          state: Optional[str] = typer.Option(None, "--state", help="Embedded engine: file recording settled repositories (default: in the user's cache)."),
          workdir: Optional[str] = typer.Option(None, "--workdir", help="Keep the per-repository git folders here (default: a temporary folder)."),
          fresh: bool = typer.Option(False, "--fresh", help="Ignore what earlier runs settled; look at every repository again."),
          profile: Optional[Profile] = PROFILE, select: Optional[List[str]] = SELECT,
          ignore: Optional[List[str]] = IGNORE, unsafe_fixes: bool = UNSAFE, quiet: bool = QUIET) -> None:
    """Run what 'kfix pr' does in every repository of an organisation, on a rate-limited job queue.

    The token comes from KFIX_TOKEN or the forge's usual variable and is never printed; with --broker
    each worker reads its own. Re-runs skip repositories already proposed on the same base commit.
    """
    if ctx.invoked_subcommand is not None:
        return
    gc.enable()  # a campaign is a long run: unlike the other commands, it needs the cyclic collector
    from kfix.fleet.embedded import Interrupted
    from kfix.fleet.model import Campaign
    from kfix.fleet.report import exit_code
    from kfix.git.forges import ForgeError, implausible_token, resolve_api_url, token_from_env
    from kfix.git.gitops import scrub

    if forge is None:
        fail("--forge is required (github, gitlab, gitea or forgejo)")
    if not org and not repos:
        fail("--org ORG or --repos FILE is required")
    kind = forge.value
    token = token_from_env(kind)
    if not token and not broker and not dry_run:
        fail(f"no token: set KFIX_TOKEN or {_TOKEN_ENV[kind]}")
    if implausible_token(token):
        typer.echo(f"kfix: warning: {implausible_token(token)}", err=True)
    campaign = Campaign(forge=kind, api_url=api_url, branch=branch, base=base, paths=split_list(path) or ["."],
                        labels=split_list(label), draft=draft, dry_run=dry_run,
                        profile=profile.value if profile else None, select=split_list(select),
                        ignore=split_list(ignore), unsafe_fixes=True if unsafe_fixes else None,
                        writes_per_minute=writes_per_minute, max_wait=max_wait, fresh=fresh)
    try:
        api_root = resolve_api_url(kind, api_url)
        targets, missing = _targets(kind, api_url, token, org, repos, include, exclude, include_archived,
                                    include_forks)
    except (ForgeError, ValueError) as exc:
        fail(scrub(str(exc), [token]))
    results, complete = [], True
    total = len(targets) + len(missing)
    done = [0]

    def progress(result) -> None:
        from kfix.fleet.report import progress_line

        done[0] += 1
        if not quiet:
            typer.echo(progress_line(result, done[0], total), err=True)

    from kfix.fleet.model import Outcome, RepoResult

    for slug in missing:
        progress(RepoResult(slug, Outcome.FAILED, "not found in its owner's repository list (or no access)"))
    if not quiet:
        engine = f"workers on {_redacted(broker)}" if broker else f"{workers} at a time in this process"
        typer.echo(f"kfix fleet: {len(targets)} repositor{'y' if len(targets) == 1 else 'ies'}, {engine}", err=True)
    try:
        results = _run(campaign, targets, token, broker, workers, state, workdir, api_root, progress)
    except Interrupted as stopped:
        results, complete = stopped.results, False
        typer.echo(f"kfix fleet: interrupted after {len(results)} of {len(targets)} repositories; run the same "
                   "command again to resume", err=True)
    except (ForgeError, ValueError, OSError) as exc:
        fail(scrub(str(exc), [token]))
    except Exception as exc:  # the broker (redis) unreachable, and the like
        fail(scrub(f"{type(exc).__name__}: {exc}", [token]))
    results = [RepoResult(s, Outcome.FAILED, "not found in its owner's repository list (or no access)")
               for s in missing] + list(results)
    _finish(results, campaign, total, report, complete, quiet)
    raise typer.Exit(exit_code(results, complete))


def _redacted(url: Optional[str]) -> str:
    from kfix.fleet.distributed import redact_url

    return redact_url(url or "")


def _targets(kind, api_url, token, org, repos_file, include, exclude, include_archived, include_forks):
    from kfix.fleet.targets import read_repos_file, resolve

    names = read_repos_file(repos_file) if repos_file else []
    if repos_file and not names:
        raise ValueError(f"{repos_file}: no OWNER/NAME lines")
    return resolve(kind, api_url, token, org=org, names=names, include=split_list(include),
                   exclude=split_list(exclude), include_archived=include_archived, include_forks=include_forks)


def _run(campaign, targets, token, broker, workers, state_path, workdir, api_root, progress):
    if broker:
        try:
            from kfix.fleet.distributed import run_distributed
        except ImportError:
            fail("--broker needs the fleet extra: pip install 'kfix-harden[fleet]'")

        def waiting() -> None:
            typer.echo("kfix fleet: waiting for workers ('kfix fleet worker --broker URL' must be running)", err=True)

        return run_distributed(campaign, targets, broker, progress=progress, waiting=waiting)
    from kfix.fleet.embedded import run_embedded
    from kfix.fleet.state import JsonState, default_state_path

    store = None if campaign.dry_run else JsonState(state_path or default_state_path(campaign.state_key(api_root)))
    return run_embedded(campaign, targets, token=token, workers=workers, state=store, workdir=workdir,
                        progress=progress)


def _finish(results, campaign, total, report_path, complete, quiet) -> None:
    from kfix.fleet.report import summary, table, to_json, write_json

    if results:
        sys.stdout.write(table(results))
    sys.stdout.flush()
    typer.echo(f"kfix fleet: {summary(results, total)}", err=True)
    if report_path:
        try:
            write_json(report_path, to_json(results, campaign.to_dict(), total))
        except OSError as exc:
            fail(f"{report_path}: cannot write the report: {exc}")


@fleet_app.command("worker")
def worker(broker: str = typer.Option(..., "--broker", help="redis://HOST:PORT/DB of the campaign's Redis."),
           threads: int = typer.Option(4, "--threads", min=1, help="Repositories this worker handles at once."),
           workdir: Optional[str] = typer.Option(None, "--workdir", help="Keep the per-repository git folders here."),
           quiet: bool = QUIET) -> None:
    """Take 'kfix fleet --broker' jobs from Redis until stopped (SIGTERM/Ctrl-C finish the running jobs).

    The token comes from this process's environment (KFIX_TOKEN or the forge's usual variable).
    """
    gc.enable()  # a worker runs for days
    try:
        from kfix.fleet.distributed import redact_url, run_worker
    except ImportError:
        fail("'kfix fleet worker' needs the fleet extra: pip install 'kfix-harden[fleet]'")

    def ready() -> None:
        if not quiet:
            typer.echo(f"kfix fleet worker: taking jobs from {redact_url(broker)} ({threads} at a time, pid "
                       f"{os.getpid()})", err=True)

    def unreachable(exc: Exception) -> None:
        typer.echo(f"kfix fleet worker: cannot reach {redact_url(broker)} yet ({redact_url(str(exc))}); "
                   "waiting for it", err=True)

    try:
        run_worker(broker, threads=threads, workdir=workdir, ready=ready, unreachable=unreachable)
    except ValueError as exc:
        fail(str(exc))
    except Exception as exc:  # redis unreachable, and the like
        fail(f"worker stopped: {type(exc).__name__}: {redact_url(str(exc))}")


def register(app: typer.Typer) -> None:
    app.add_typer(fleet_app, name="fleet")
