"""What every ``kfix`` command shares: option declarations, the resolved ``Run``, exit codes."""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import List, Optional

import typer


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


class Profile(str, Enum):
    baseline = "baseline"
    restricted = "restricted"
    hardened = "hardened"


def split_list(values: Optional[List[str]]) -> list[str]:
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


class ColorChoice(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


class FailOn(str, Enum):
    unsafe = "unsafe"
    report = "report"


def use_color(choice: "ColorChoice | None", stream=None) -> bool:
    """Whether to colour ``stream``: ``--color always|never`` (``--no-color``) first, then ``NO_COLOR``
    (set and non-empty: never), then ``FORCE_COLOR`` (set and non-empty: always), else only on a terminal."""
    if choice is ColorChoice.always:
        return True
    if choice is ColorChoice.never:
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Run:
    """Options shared by every command, resolved once: the configuration is found upward from each path
    given (or read from ``--config``), and paths that share a configuration are planned together."""

    def __init__(self, profile, select, ignore, unsafe_fixes, config, exclude, jobs, quiet, no_color, values=None,
                 *, paths: Optional[List[str]] = None, color: Optional[ColorChoice] = None, no_ignore: bool = False,
                 cache: bool = False, edit_templates: bool = False, decisions: Optional[str] = None,
                 with_decisions: bool = False):
        from kfix.api import make_options
        from kfix.config import config_for_paths
        from kfix.errors import ConfigError

        self.groups: list[tuple[object, object, tuple[str, ...], list[str]]] = []  # config, options, excludes, paths
        try:
            for found, cfg, group in config_for_paths(paths or [], config):
                try:
                    options = make_options(cfg, profile.value if profile else None, split_list(select),
                                           split_list(ignore), True if unsafe_fixes else None,
                                           True if edit_templates else None)
                except (TypeError, ValueError, AttributeError) as exc:  # a malformed value config.py did not expect
                    fail(f"{found or 'configuration'}: invalid configuration: {type(exc).__name__}: {one_line(exc)}")
                self.groups.append((cfg, options, tuple(split_list(exclude)) + cfg.exclude, group))
        except ConfigError as exc:
            fail(one_line(exc))
        self.config, self.options, self.excludes, _ = self.groups[0]
        self.jobs = jobs
        self.values_files = tuple(values or ())
        self.quiet = quiet
        self.ignore_files = not no_ignore
        self.cache = cache  # the content cache (kfix.cache): scan, apply and diff, unless --no-cache
        self.color = use_color(ColorChoice.never if no_color else color)
        # per group: the decisions file (kfix.review) its plans go through; None: none
        self.decisions: list = [None] * len(self.groups)
        if with_decisions:
            self.decisions = [self.load_decisions(decisions, cfg) for cfg, *_ in self.groups]

    @staticmethod
    def load_decisions(explicit: Optional[str], cfg) -> object:
        """The decisions file given (``--decisions``: it must exist and be readable) or configured
        (``decisions:``; one that does not exist yet is no decisions), as ``kfix.review.Decisions``."""
        from kfix.config import decisions_path
        from kfix.review import DecisionsError, decisions_file, load_decisions

        try:
            path = decisions_file(explicit, decisions_path(cfg))
            if path is None:
                return None
            try:  # as findings' notes name it: relative to the working folder when under it
                shown = os.path.relpath(path)
            except ValueError:  # another drive
                shown = os.pardir
            return load_decisions(path if shown.startswith(os.pardir) else shown)
        except DecisionsError as exc:
            fail(one_line(exc))

    def plan(self, paths: list[str], write: bool = False, output: Optional[str] = None):
        """Plan ``paths`` (``-``: stdin). ``output``: what of each plan the command shows
        (``kfix.api.keep_only``); with ``write``, at least what the summary needs."""
        from kfix.api import RunResult, plan_bytes, plan_paths

        if paths == ["-"]:
            if self.values_files:
                fail("--values goes with a chart directory, not with '-' (stdin)")
            return RunResult([plan_bytes("-", self.read_stdin(), self.options)])
        if "-" in paths:
            fail("'-' (stdin) cannot be combined with other paths")
        show = (lambda done, total: _progress(done, total)) if sys.stderr.isatty() and not self.quiet else None
        from kfix.errors import ConfigError

        result = RunResult()
        try:
            for (cfg, options, excludes, group), decisions in zip(self.groups, self.decisions):
                part = plan_paths(paths if len(self.groups) == 1 else group, options, excludes, self.jobs,
                                  progress=show, values_files=self.values_files, write=write,
                                  output=output or ("summary" if write else None),
                                  max_file_size=cfg.max_file_size, ignore_files=self.ignore_files,
                                  cache=self.cache, decisions=decisions)
                result.plans.extend(part.plans)
        except ConfigError as exc:
            fail(str(exc))
        if _progress_shown:
            sys.stderr.write("\r\033[K")
        return result

    def read_stdin(self) -> bytes:
        """stdin, within the size limit (a usage error beyond it)."""
        from kfix.api import read_stream
        from kfix.errors import InputError

        try:
            return read_stream(sys.stdin.buffer, "-", self.config.max_file_size)
        except InputError as exc:
            fail(f"stdin: {exc.message}")

    def report_problems(self, result) -> None:
        for plan in result.plans:
            if plan.error is not None:
                typer.echo(f"error: {one_line(plan.error)}", err=True)
            elif plan.note and not self.quiet:
                typer.echo(f"note: {plan.path}: {plan.note}", err=True)


def one_line(message: object) -> str:
    """One problem, one line (a YAML library message may span several)."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


_progress_shown = False


def _progress(done: int, total: int) -> None:
    global _progress_shown
    if total >= 50 and (done % 25 == 0 or done == total):
        _progress_shown = True
        sys.stderr.write(f"\rkfix: {done}/{total} files")
        sys.stderr.flush()


def fail(message: str) -> None:
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
NO_COLOR = typer.Option(False, "--no-color", help="Never colour the output (the same as --color never).")
COLOR = typer.Option(None, "--color", help="Colour the output: auto (on a terminal, unless NO_COLOR is set; "
                     "FORCE_COLOR forces it), always or never.", show_default=False)
NO_IGNORE = typer.Option(False, "--no-ignore", help="Also read files that .gitignore (and .git/info/exclude) ignore.")
FAIL_ON = typer.Option(None, "--fail-on", help="Also exit 1 when findings kfix did not fix remain: 'unsafe' (unsafe "
                       "fixes not applied, spans that cannot be edited safely) or 'report' (those and report-only "
                       "findings).", show_default=False)
NO_CACHE = typer.Option(False, "--no-cache", help="Neither read nor write the cache of files that needed no change "
                        "(.kfix_cache/ beside the configuration or at the repository root; KFIX_CACHE_DIR moves it).")
EDIT_TEMPLATES = typer.Option(False, "--edit-templates", help="Helm charts: also edit templates where values cannot "
                              "reach a field (moved into a new values key, proven to render byte for byte, then "
                              "hardened through it).")
DECISIONS = typer.Option(None, "--decisions", metavar="FILE",
                         help="A decisions file 'kfix review --decisions' wrote (default: 'decisions' in the "
                              "configuration): changes declined there are left out and their findings exempt.")
VALUES = typer.Option(None, "--values", "-f", help="A values file of the Helm chart being fixed (repeatable, in "
                      "helm's order); kfix edits it where it overrides the chart's values.yaml.")


def exit_code(result, remaining: bool) -> int:
    if result.errors:
        return 2
    return 1 if remaining else 0


REMAINING = {FailOn.unsafe: {"unsafe", "unfixable"}, FailOn.report: {"unsafe", "unfixable", "report"}}


def remaining(result, fail_on: Optional[FailOn]) -> bool:
    """Whether findings that ``--fail-on`` names are left after the run."""
    statuses = REMAINING[fail_on] if fail_on else set()
    return any(rep.status in statuses for rep in result.findings())


def apply_exit_code(result, written: bool, fail_on: Optional[FailOn] = None) -> int:
    """``apply``: 1 when a file would change (dry run, --check) or ``--fail-on`` findings remain; 2 on errors."""
    if result.errors:
        return 2
    return 1 if (not written and result.changed) or remaining(result, fail_on) else 0

