"""The ``kfix`` command: a thin layer over ``fixer.api``.

Exit codes: 0 nothing left to do; 1 changes proposed but not written, or findings that could not be
fixed remain; 2 usage or configuration error, or some input could not be processed.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import List, Optional

import typer

from . import __version__

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Harden Kubernetes manifests in place, keeping every byte you wrote outside the edit.")


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


class Profile(str, Enum):
    baseline = "baseline"
    restricted = "restricted"
    hardened = "hardened"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kfix {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Show the version and exit.")) -> None:
    """kfix: Kubernetes manifest auto-remediation."""


def _split(values: Optional[List[str]]) -> list[str]:
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


class Run:
    """Options shared by every command, resolved once."""

    def __init__(self, profile, select, ignore, unsafe_fixes, config, exclude, jobs, quiet, no_color, values=None):
        from .api import make_options
        from .config import env_no_color, load_config
        from .errors import ConfigError

        try:
            self.config = load_config(config)
            self.options = make_options(self.config, profile.value if profile else None, _split(select),
                                        _split(ignore), True if unsafe_fixes else None)
        except ConfigError as exc:
            _fail(str(exc))
        except (TypeError, ValueError, AttributeError) as exc:  # a malformed value config.py did not expect
            from pathlib import Path

            from .config import find_config

            where = config or find_config(Path.cwd().resolve()) or "configuration"
            _fail(f"{where}: invalid configuration: {type(exc).__name__}: {_one_line(exc)}")
        self.excludes = tuple(_split(exclude)) + self.config.exclude
        self.jobs = jobs
        self.values_files = tuple(values or ())
        self.quiet = quiet
        self.color = not no_color and not env_no_color() and sys.stdout.isatty()

    def plan(self, paths: list[str], write: bool = False):
        from .api import RunResult, plan_bytes, plan_paths

        if paths == ["-"]:
            if self.values_files:
                _fail("--values goes with a chart directory, not with '-' (stdin)")
            raw = sys.stdin.buffer.read()
            return RunResult([plan_bytes("-", raw, self.options)])
        if "-" in paths:
            _fail("'-' (stdin) cannot be combined with other paths")
        show = (lambda done, total: _progress(done, total)) if sys.stderr.isatty() and not self.quiet else None
        from .errors import ConfigError

        try:
            result = plan_paths(paths, self.options, self.excludes, self.jobs, progress=show,
                                values_files=self.values_files, write=write)
        except ConfigError as exc:
            _fail(str(exc))
        if _progress_shown:
            sys.stderr.write("\r\033[K")
        return result

    def report_problems(self, result) -> None:
        for plan in result.plans:
            if plan.error is not None:
                typer.echo(f"error: {_one_line(plan.error)}", err=True)
            elif plan.note and not self.quiet:
                typer.echo(f"note: {plan.path}: {plan.note}", err=True)


def _one_line(message: object) -> str:
    """One problem, one line (a YAML library message may span several)."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


_progress_shown = False


def _progress(done: int, total: int) -> None:
    global _progress_shown
    if total >= 50 and (done % 25 == 0 or done == total):
        _progress_shown = True
        sys.stderr.write(f"\rkfix: {done}/{total} files")
        sys.stderr.flush()


def _fail(message: str) -> None:
    typer.echo(f"kfix: {message}", err=True)
    raise typer.Exit(2)


# Options shared by the commands (typer reads the defaults as declarations).
PATHS = typer.Argument(..., help="Files or directories ('-' reads one stream from stdin).")
PROFILE = typer.Option(None, "--profile", help="Rule profile (default: hardened).")
SELECT = typer.Option(None, "--select", help="Only these rules (comma-separated or repeated).")
IGNORE = typer.Option(None, "--ignore", help="Skip these rules.")
UNSAFE = typer.Option(False, "--unsafe-fixes", help="Also override values a person wrote explicitly.")
CONFIG = typer.Option(None, "--config", help="Configuration file (default: .kfix.yaml or [tool.kfix], searched upward).")
EXCLUDE = typer.Option(None, "--exclude", help="Glob of paths to skip (repeatable).")
JOBS = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0: all cores for large inputs).")
QUIET = typer.Option(False, "--quiet", "-q", help="Only errors and the summary.")
NO_COLOR = typer.Option(False, "--no-color", help="Never colour the output.")
VALUES = typer.Option(None, "--values", "-f", help="A values file of the Helm chart being fixed (repeatable, in "
                      "helm's order); kfix edits it where it overrides the chart's values.yaml.")


def _exit_code(result, remaining: bool) -> int:
    if result.errors:
        return 2
    return 1 if remaining else 0


def _unfixed(result, written: bool) -> bool:
    """Whether anything is left to do after this run."""
    for rep in result.findings():
        if rep.status in ("unsafe", "report", "unfixable"):
            return True
        if rep.status == "fix" and not written:
            return True
    return False


@app.command()
def scan(paths: List[str] = PATHS, format: Format = typer.Option(Format.text, "--format", help="Output format."),
         profile: Optional[Profile] = PROFILE, select: Optional[List[str]] = SELECT,
         ignore: Optional[List[str]] = IGNORE, unsafe_fixes: bool = UNSAFE, config: Optional[str] = CONFIG,
         exclude: Optional[List[str]] = EXCLUDE, jobs: int = JOBS, quiet: bool = QUIET,
         no_color: bool = NO_COLOR, values: Optional[List[str]] = VALUES) -> None:
    """Report findings (rule, file, line, resource, container, safe/unsafe/report-only)."""
    from . import report

    run = Run(profile, select, ignore, unsafe_fixes, config, exclude, jobs, quiet, no_color, values)
    result = run.plan(paths)
    run.report_problems(result)
    findings = result.findings()
    out = {Format.text: report.as_text, Format.json: report.as_json, Format.sarif: report.as_sarif}[format]
    sys.stdout.write(out(findings))
    open_findings = [f for f in findings if f.status != "exempt"]
    if not quiet and format is Format.text:
        typer.echo(f"{len(open_findings)} findings in {len({f.file for f in open_findings})} files", err=True)
    raise typer.Exit(_exit_code(result, bool(open_findings)))


def _apply(paths, write, check, run: Run) -> int:
    from . import report
    from .diffs import colorize, unified_diff

    stream = paths == ["-"]
    written = bool(write) and not check and not stream
    result = run.plan(paths, write=written)  # with --write, each file is written as soon as it is planned
    run.report_problems(result)
    for plan in result.plans:
        if not plan.changed or plan.source is None:
            if stream and plan.source is not None and plan.error is None and not check:
                sys.stdout.buffer.write(plan.source.encode())
            continue
        if stream and not check:  # '-' is a filter: the fixed stream goes to stdout, with or without --write
            sys.stdout.buffer.write(plan.source.encode(plan.new_text))
        elif written:
            continue
        elif check:
            if not run.quiet:
                typer.echo(f"would change: {plan.path}", err=True)
        else:
            bom = "\ufeff" if plan.source.bom else ""
            diff = unified_diff(plan.path, bom + plan.source.text, bom + plan.new_text)
            sys.stdout.write(colorize(diff) if run.color else diff)
    sys.stdout.flush()
    applied = (bool(write) or stream) and not check
    typer.echo(report.summary(result, applied), err=True)
    return _exit_code(result, _unfixed(result, applied))


@app.command()
def apply(paths: List[str] = PATHS, write: bool = typer.Option(False, "--write", "-w", help="Rewrite the files in place."),
          check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if anything would change."),
          profile: Optional[Profile] = PROFILE, select: Optional[List[str]] = SELECT,
          ignore: Optional[List[str]] = IGNORE, unsafe_fixes: bool = UNSAFE, config: Optional[str] = CONFIG,
          exclude: Optional[List[str]] = EXCLUDE, jobs: int = JOBS, quiet: bool = QUIET,
          no_color: bool = NO_COLOR,
          branch: Optional[str] = typer.Option(None, "--branch", help="With --write: commit the fixes on this new "
                                               "branch (made from HEAD); your checkout and working tree stay as they are."),
          commit_message: Optional[str] = typer.Option(None, "--commit-message", help="Message of the --branch commit."),
          author: Optional[str] = typer.Option(None, "--author", help='Author of the --branch commit, "Name <email>" '
                                               "(default: kfix <kfix@users.noreply.github.com>)."),
          values: Optional[List[str]] = VALUES) -> None:
    """Fix the files: without --write, print the unified diff (a dry run); with '-', filter stdin to stdout."""
    if branch is None and (commit_message is not None or author is not None):
        _fail("--commit-message and --author go with --branch")
    if branch is not None and (not write or check):
        _fail("--branch needs --write (and not --check)")
    run = Run(profile, select, ignore, unsafe_fixes, config, exclude, jobs, quiet, no_color, values)
    if branch is not None:
        from .cli_git import apply_to_branch

        raise typer.Exit(apply_to_branch(paths, run, branch, commit_message, author))
    raise typer.Exit(_apply(paths, write, check, run))


@app.command()
def diff(paths: List[str] = PATHS, profile: Optional[Profile] = PROFILE, select: Optional[List[str]] = SELECT,
         ignore: Optional[List[str]] = IGNORE, unsafe_fixes: bool = UNSAFE, config: Optional[str] = CONFIG,
         exclude: Optional[List[str]] = EXCLUDE, jobs: int = JOBS, quiet: bool = QUIET,
         no_color: bool = NO_COLOR, values: Optional[List[str]] = VALUES) -> None:
    """Print the unified diff of the proposed fixes (the same as 'apply' without --write)."""
    run = Run(profile, select, ignore, unsafe_fixes, config, exclude, jobs, quiet, no_color, values)
    if paths == ["-"]:
        from .api import plan_bytes
        from .diffs import unified_diff

        plan = plan_bytes("-", sys.stdin.buffer.read(), run.options)
        if plan.error:
            typer.echo(f"error: {plan.error}", err=True)
            raise typer.Exit(2)
        if plan.changed:
            sys.stdout.write(unified_diff("stdin", plan.source.text, plan.new_text))
        raise typer.Exit(1 if plan.changed or any(r.status != "exempt" for r in plan.findings) else 0)
    raise typer.Exit(_apply(paths, False, False, run))


@app.command()
def rules() -> None:
    """List the rules with their profiles and fixes."""
    from .report import rules_table

    sys.stdout.write(rules_table())


_extensions: list[str] = []


def _register_extensions() -> None:
    """Commands that live in their own modules (review, git/PR) attach themselves to ``app``."""
    import importlib

    if _extensions:
        return
    _extensions.append("loaded")
    for name in ("cli_review", "cli_git"):
        try:
            module = importlib.import_module(f"fixer.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"fixer.{name}":
                raise
            continue
        module.register(app)


def main() -> None:
    """Console entry point; ``--version`` answers before anything heavy is imported.

    kfix is a short-lived process that allocates millions of small objects and keeps no reference
    cycles: the cyclic garbage collector stays off (its passes over a large run's data cost time).
    """
    if sys.argv[1:] == ["--version"]:
        print(f"kfix {__version__}")
        return
    import gc

    gc.disable()
    os.environ.setdefault("TYPER_USE_RICH", "0")
    _register_extensions()
    app(prog_name="kfix")


if __name__ == "__main__":  # pragma: no cover - ``python -m fixer.cli``: run the importable module's app
    from fixer.cli import main as _importable_main

    _importable_main()
