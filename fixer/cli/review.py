"""The ``kfix review`` command: the terminal side of ``kfix.review`` (prompts, stdin, Ctrl-C)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import List, Optional

import typer

from kfix.cli.options import (COLOR, CONFIG, EDIT_TEMPLATES, EXCLUDE, IGNORE, JOBS, NO_COLOR, NO_IGNORE, PROFILE, QUIET, SELECT, UNSAFE,
                              ColorChoice, Profile, Run, fail)

REVIEW_PATHS = typer.Argument(..., help="Files or directories to review (answers are read from stdin).")
YES = typer.Option(False, "--yes", "-y", help="Accept every proposed change without asking.")
DECISIONS = typer.Option(None, "--decisions", metavar="FILE",
                         help="Record answers in FILE (YAML, or JSON if *.json) and honour earlier ones: "
                              "declined changes are not proposed again, later runs ask only about new ones "
                              "(default: 'decisions' in the configuration).")


def _make_ask(interactive: bool):
    """Read one answer per line; on a pipe, echo it so the transcript shows what was answered."""

    def ask(prompt: str) -> str | None:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            sys.stdout.write("\n")
            return None
        if not interactive:
            sys.stdout.write(line.strip() + "\n")
        return line

    return ask


def register(app: typer.Typer) -> None:
    @app.command()
    def review(paths: List[str] = REVIEW_PATHS, yes: bool = YES, decisions: Optional[str] = DECISIONS,
               profile: Optional[Profile] = PROFILE, select: Optional[List[str]] = SELECT,
               ignore: Optional[List[str]] = IGNORE, unsafe_fixes: bool = UNSAFE, config: Optional[str] = CONFIG,
               exclude: Optional[List[str]] = EXCLUDE, jobs: int = JOBS, quiet: bool = QUIET,
               no_color: bool = NO_COLOR, color: Optional[ColorChoice] = COLOR,
               no_ignore: bool = NO_IGNORE, edit_templates: bool = EDIT_TEMPLATES) -> None:
        """Walk through each proposed change (per resource and rule), accept or reject it, write only what
        was accepted. Answers: y, n, a (rest of file), d (none of the rest of file), q, e (edit), ?."""
        from kfix.review import DecisionsError, Reviewer, load_decisions

        if "-" in paths:
            fail("review reads its answers from stdin; pass files or directories, not '-'")
        run = Run(profile, select, ignore, unsafe_fixes, config, exclude, jobs, quiet, no_color, paths=paths,
                  color=color, no_ignore=no_ignore, edit_templates=edit_templates)
        from kfix.config import decisions_path

        path = decisions or decisions_path(run.config)  # a configured file that does not exist yet is made here
        try:
            record = load_decisions(path) if path else None
        except DecisionsError as exc:
            fail(str(exc))
        interactive = sys.stdin.isatty()
        try:
            from kfix.fileio import resolved_roots

            result = run.plan(paths)
            run.report_problems(result)
            reviewer = Reviewer(result, run.options, ask=_make_ask(interactive), out=sys.stdout, err=sys.stderr,
                                color=run.color, editor=os.environ.get("VISUAL") or os.environ.get("EDITOR"), decisions=record,
                                accept_all=yes, quiet=quiet,
                                # the editor must not read the answers meant for kfix from a pipe
                                editor_stdin=None if interactive else subprocess.DEVNULL,
                                roots=resolved_roots(list(paths) + list(run.values_files)))
            reviewer.run()
        except KeyboardInterrupt:
            sys.stdout.write("\n")
            sys.stdout.flush()
            typer.echo("kfix: interrupted; no file was written", err=True)
            raise typer.Exit(130)
        sys.stdout.flush()
        _write_uninterrupted(reviewer, record)
        typer.echo(reviewer.summary(), err=True)
        raise typer.Exit(2 if result.errors or reviewer.errors else 0)


def _write_uninterrupted(reviewer, record) -> None:
    """Write the accepted changes and the decisions; Ctrl-C waits until they are all written, so a
    run never stops with some of its accepted files written and others not."""
    from kfix.fileio import NotWritten

    previous = None
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread (embedded use): nothing to hold off
        pass
    try:
        reviewer.write()
        if record is not None:
            try:
                record.save()
            except (OSError, NotWritten) as exc:
                reviewer.errors.append(f"{record.path}: cannot write the decisions: "
                                       f"{getattr(exc, 'strerror', None) or exc}")
                typer.echo(f"error: {reviewer.errors[-1]}", err=True)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
