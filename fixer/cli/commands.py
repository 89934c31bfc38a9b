"""The file commands of the CLI: ``scan``, ``apply``, ``diff``, ``rules`` and ``rule`` (thin layers over ``kfix.api``).

Exit codes: 0 nothing left to do; 1 changes proposed but not written, or findings that could not be
fixed remain; 2 usage or configuration error, or some input could not be processed.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import List, Optional

import typer

from kfix.cli.options import (COLOR, CONFIG, DECISIONS, EDIT_TEMPLATES, EXCLUDE, FAIL_ON, IGNORE, JOBS, NO_CACHE, NO_COLOR,
                              NO_IGNORE, PATHS, PROFILE, QUIET, SELECT, UNSAFE, VALUES, ColorChoice, FailOn, Format,
                              Profile, Run, apply_exit_code,
                              exit_code, fail)


def scan(paths: List[str] = PATHS, format: Format = typer.Option(Format.text, "--format", help="Output format."),
         profile: Optional[Profile] = PROFILE, select: Optional[List[str]] = SELECT,
         ignore: Optional[List[str]] = IGNORE, unsafe_fixes: bool = UNSAFE, config: Optional[str] = CONFIG,
         exclude: Optional[List[str]] = EXCLUDE, jobs: int = JOBS, quiet: bool = QUIET,
         no_color: bool = NO_COLOR, values: Optional[List[str]] = VALUES, color: Optional[ColorChoice] = COLOR,
         no_ignore: bool = NO_IGNORE, no_cache: bool = NO_CACHE, edit_templates: bool = EDIT_TEMPLATES,
         decisions: Optional[str] = DECISIONS) -> None:
    """Report findings (rule, file, line, resource, container, safe/unsafe/report-only); exit 1 if any."""
    from kfix import report

    run = Run(profile, select, ignore, unsafe_fixes, config, exclude, jobs, quiet, no_color, values, paths=paths,
              color=color, no_ignore=no_ignore, cache=not no_cache, edit_templates=edit_templates,
              decisions=decisions, with_decisions=True)
    result = run.plan(paths, output="findings")
    run.report_problems(result)
    findings = result.findings()
    if format is Format.sarif:
        sys.stdout.write(report.as_sarif(findings, report.sarif_root(paths)))
    else:
        sys.stdout.write((report.as_json if format is Format.json else report.as_text)(findings))
    open_findings = [f for f in findings if f.status != "exempt"]
    if not quiet and format is Format.text:
        n = result.declined
        declined = f" ({n} change{'' if n == 1 else 's'} declined in review)" if n else ""
        typer.echo(f"{len(open_findings)} findings in {len({f.file for f in open_findings})} files{declined}", err=True)
    raise typer.Exit(exit_code(result, bool(open_findings)))


def _apply(paths, write, check, run: Run, fail_on: Optional[FailOn] = None) -> int:
    from kfix import report
    from kfix.api import plan_diff
    from kfix.diffs import colorize

    stream = paths == ["-"]
    written = bool(write) and not check and not stream
    # with --write, each file is written as soon as it is planned (by the process that planned it)
    result = run.plan(paths, write=written, output="summary" if written or check else "diff")
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
            diff = plan_diff(plan)
            sys.stdout.write(colorize(diff) if run.color else diff)
    sys.stdout.flush()
    applied = (bool(write) or stream) and not check
    typer.echo(report.summary(result, applied), err=True)
    return apply_exit_code(result, applied, fail_on)


def apply(paths: List[str] = PATHS, write: bool = typer.Option(False, "--write", "-w", help="Rewrite the files in place."),
          check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if a file would change."),
          fail_on: Optional[FailOn] = FAIL_ON,
          profile: Optional[Profile] = PROFILE, select: Optional[List[str]] = SELECT,
          ignore: Optional[List[str]] = IGNORE, unsafe_fixes: bool = UNSAFE, config: Optional[str] = CONFIG,
          exclude: Optional[List[str]] = EXCLUDE, jobs: int = JOBS, quiet: bool = QUIET,
          no_color: bool = NO_COLOR,
          branch: Optional[str] = typer.Option(None, "--branch", help="With --write: commit the fixes on this new "
                                               "branch (made from HEAD); your checkout and working tree stay as they are."),
          commit_message: Optional[str] = typer.Option(None, "--commit-message", help="Message of the --branch commit."),
          author: Optional[str] = typer.Option(None, "--author", help='Author of the --branch commit, "Name <email>" '
                                               "(default: kfix <kfix@users.noreply.github.com>)."),
          values: Optional[List[str]] = VALUES, color: Optional[ColorChoice] = COLOR,
          no_ignore: bool = NO_IGNORE, no_cache: bool = NO_CACHE, edit_templates: bool = EDIT_TEMPLATES,
          decisions: Optional[str] = DECISIONS) -> None:
    """Fix the files: without --write, print the unified diff (a dry run); with '-', filter stdin to stdout.

    Exit 1 when a file would change (dry run, --check) or, with --fail-on, when such findings remain."""
    if branch is None and (commit_message is not None or author is not None):
        fail("--commit-message and --author go with --branch")
    if branch is not None and (not write or check):
        fail("--branch needs --write (and not --check)")
    run = Run(profile, select, ignore, unsafe_fixes, config, exclude, jobs, quiet, no_color, values, paths=paths,
              color=color, no_ignore=no_ignore, cache=not no_cache, edit_templates=edit_templates,
              decisions=decisions, with_decisions=True)
    if branch is not None:
        from kfix.cli.git import apply_to_branch

        run.cache = False  # the working tree stays exactly as it was, cache folder included

        raise typer.Exit(apply_to_branch(paths, run, branch, commit_message, author, fail_on))
    raise typer.Exit(_apply(paths, write, check, run, fail_on))


def diff(paths: List[str] = PATHS, profile: Optional[Profile] = PROFILE, select: Optional[List[str]] = SELECT,
         ignore: Optional[List[str]] = IGNORE, unsafe_fixes: bool = UNSAFE, config: Optional[str] = CONFIG,
         exclude: Optional[List[str]] = EXCLUDE, jobs: int = JOBS, quiet: bool = QUIET,
         no_color: bool = NO_COLOR, values: Optional[List[str]] = VALUES, color: Optional[ColorChoice] = COLOR,
         no_ignore: bool = NO_IGNORE, no_cache: bool = NO_CACHE,
         edit_templates: bool = EDIT_TEMPLATES, decisions: Optional[str] = DECISIONS) -> None:
    """Print the unified diff of the proposed fixes (the same as 'apply' without --write)."""
    run = Run(profile, select, ignore, unsafe_fixes, config, exclude, jobs, quiet, no_color, values, paths=paths,
              color=color, no_ignore=no_ignore, cache=not no_cache, edit_templates=edit_templates,
              decisions=decisions, with_decisions=True)
    if paths == ["-"]:
        from kfix.api import plan_bytes
        from kfix.diffs import unified_diff

        plan = plan_bytes("-", run.read_stdin(), run.options)
        if plan.error:
            typer.echo(f"error: {plan.error}", err=True)
            raise typer.Exit(2)
        if plan.changed:
            sys.stdout.write(unified_diff("stdin", plan.source.text, plan.new_text))
        raise typer.Exit(1 if plan.changed else 0)
    raise typer.Exit(_apply(paths, False, False, run))


class RulesFormat(str, Enum):
    text = "text"
    json = "json"


def rules(format: RulesFormat = typer.Option(RulesFormat.text, "--format", help="Output format.")) -> None:
    """List the rules with their profiles and fixes (--format json: with reasons, severity, other tools' ids)."""
    from kfix.report import rules_json, rules_table

    sys.stdout.write(rules_json() if format is RulesFormat.json else rules_table())


def _rule_names(incomplete: str) -> list[str]:
    from kfix.rules import RULES

    return [r.id for r in RULES if r.id.startswith(incomplete)]


def rule(name: str = typer.Argument(..., help="A rule id (see 'kfix rules').", autocompletion=_rule_names)) -> None:
    """Explain one rule: what it checks, why, its safe and unsafe fixes, its sources, other tools' ids."""
    from kfix.report import rule_text
    from kfix.rules import BY_ID

    if name not in BY_ID:
        fail(f"unknown rule {name!r} (known: {', '.join(BY_ID)})")
    sys.stdout.write(rule_text(BY_ID[name]))


def register(app: typer.Typer) -> None:
    """Attach the file commands to ``app``."""
    for command in (scan, apply, diff, rules, rule):
        app.command()(command)
