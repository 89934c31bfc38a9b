"""What every ``kfix`` command shares: option declarations, the resolved ``Run``, exit codes."""

from __future__ import annotations

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


class Run:
    """Options shared by every command, resolved once."""

    def __init__(self, profile, select, ignore, unsafe_fixes, config, exclude, jobs, quiet, no_color, values=None):
        from kfix.api import make_options
        from kfix.config import env_no_color, load_config
        from kfix.errors import ConfigError

        try:
            self.config = load_config(config)
            self.options = make_options(self.config, profile.value if profile else None, split_list(select),
                                        split_list(ignore), True if unsafe_fixes else None)
        except ConfigError as exc:
            fail(str(exc))
        except (TypeError, ValueError, AttributeError) as exc:  # a malformed value config.py did not expect
            from pathlib import Path

            from kfix.config import find_config

            where = config or find_config(Path.cwd().resolve()) or "configuration"
            fail(f"{where}: invalid configuration: {type(exc).__name__}: {one_line(exc)}")
        self.excludes = tuple(split_list(exclude)) + self.config.exclude
        self.jobs = jobs
        self.values_files = tuple(values or ())
        self.quiet = quiet
        self.color = not no_color and not env_no_color() and sys.stdout.isatty()

    def plan(self, paths: list[str], write: bool = False):
        from kfix.api import RunResult, plan_bytes, plan_paths

        if paths == ["-"]:
            if self.values_files:
                fail("--values goes with a chart directory, not with '-' (stdin)")
            return RunResult([plan_bytes("-", self.read_stdin(), self.options)])
        if "-" in paths:
            fail("'-' (stdin) cannot be combined with other paths")
        show = (lambda done, total: _progress(done, total)) if sys.stderr.isatty() and not self.quiet else None
        from kfix.errors import ConfigError

        try:
            result = plan_paths(paths, self.options, self.excludes, self.jobs, progress=show,
                                values_files=self.values_files, write=write, lean=write,
                                max_file_size=self.config.max_file_size)
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
NO_COLOR = typer.Option(False, "--no-color", help="Never colour the output.")
VALUES = typer.Option(None, "--values", "-f", help="A values file of the Helm chart being fixed (repeatable, in "
                      "helm's order); kfix edits it where it overrides the chart's values.yaml.")


def exit_code(result, remaining: bool) -> int:
    if result.errors:
        return 2
    return 1 if remaining else 0


def unfixed(result, written: bool) -> bool:
    """Whether anything is left to do after this run."""
    for rep in result.findings():
        if rep.status in ("unsafe", "report", "unfixable"):
            return True
        if rep.status == "fix" and not written:
            return True
    return False
