"""The library API the CLI, the review UI and the bot share: plan files, render, write.

    options = make_options(load_config())
    result = plan_paths(["deploy/"], options)
    for plan in result.plans:
        write_plan(plan)  # only if the file is still what was read; otherwise plan.error says why
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from kfix.rules import Finding, Inventory, rules_for

from kfix.config import Config, check_rule_ids
from kfix.errors import ConfigError, InputError
from kfix.fileio import DEFAULT_MAX_FILE_SIZE, FileStamp, NotWritten, read_input, remove_stale_temp_files, resolved_roots
from kfix.fileio import write_file
from kfix.files import PYTHON_SUFFIXES, Candidate, discover
from kfix.inventory import collect_inventory
from kfix.yaml.loader import parse, too_deep
from kfix.planner import Change, FilePlan, Options, Reported, plan_text, render_subset
from kfix.yaml.source import SourceText, decode

__all__ = ["Change", "FilePlan", "Options", "Reported", "RunResult", "make_options", "plan_paths", "plan_charts",
           "plan_bytes", "read_stream",
           "render_subset", "write_file", "write_plan", "lean_plan", "collect_inventory"]


@dataclass
class RunResult:
    plans: list[FilePlan] = field(default_factory=list)

    @property
    def errors(self) -> list[FilePlan]:
        return [p for p in self.plans if p.error is not None]

    @property
    def changed(self) -> list[FilePlan]:
        """Plans that change their file (and met no error, such as a file that could not be written)."""
        return [p for p in self.plans if p.changed and p.error is None]

    def findings(self) -> list[Reported]:
        """Every finding, namespace-level ones once per namespace."""
        out, seen = [], set()
        for plan in self.plans:
            for rep in plan.findings:
                if rep.finding.facet == "namespace":
                    key = (rep.rule, rep.finding.message)
                    if key in seen:
                        continue
                    seen.add(key)
                out.append(rep)
        return out


def make_options(config: Config, profile: str | None = None, select: Iterable[str] = (),
                 ignore: Iterable[str] = (), unsafe_fixes: bool | None = None,
                 edit_templates: bool | None = None) -> Options:
    """Options from the configuration file, overridden by command-line choices."""
    select, ignore = tuple(select) or config.select, tuple(ignore) + config.ignore
    check_rule_ids(select + ignore, "--select/--ignore")
    chosen_profile = profile or config.profile
    rules = rules_for(chosen_profile, list(select), list(ignore))
    if not rules:
        raise ConfigError("no rules selected")
    config_dir = os.path.dirname(os.path.abspath(config.source)) if config.source and \
        os.path.exists(config.source) else None
    return Options(tuple(rules), chosen_profile, config.unsafe_fixes if unsafe_fixes is None else unsafe_fixes,
                   config.settings, config.custom_resources, config_dir=config_dir,
                   edit_templates=config.edit_templates if edit_templates is None else edit_templates)


# --- running over many files (optionally in worker processes) ---------------------------------------
@dataclass
class _RunState:
    """What every file's planning shares: options, the inventory of each file's deployment unit, output roots."""

    options: Options
    inventory: Inventory
    inventories: dict[str, Inventory] = field(default_factory=dict)  # path -> its deployment unit's facts
    patches: dict[str, str] = field(default_factory=dict)  # path of a Kustomize patch -> the note on it
    write: bool = False  # rewrite each changed file right after planning it
    lean: bool = False  # keep of each plan only what the run's summary needs
    roots: tuple[str, ...] = ()  # resolved paths given: nothing outside them is written
    max_size: int = DEFAULT_MAX_FILE_SIZE


# Per thread: a pool worker process plans in one thread, and in-process runs may plan in several threads
# at once (``kfix fleet`` handles repositories side by side).
_local = threading.local()


def _use_state(state: _RunState | None) -> None:
    _local.state = state


def _init_worker(state: _RunState) -> None:
    """Pool initializer: a worker process plans with the run's state and without the cyclic collector."""
    import gc

    gc.disable()  # short-lived workers: the cyclic collector only costs time on large node trees
    _use_state(state)


def _plan_candidate(cand: Candidate) -> FilePlan:
    state = getattr(_local, "state", None)
    assert state is not None
    if cand.error:
        return FilePlan(cand.path, error=InputError(cand.error, path=cand.path))
    if cand.note:
        return FilePlan(cand.path, note=cand.note)
    try:
        raw, stamp = read_input(cand.path, state.max_size)
    except InputError as exc:
        return FilePlan(cand.path, error=exc.located(cand.path))
    patch_note = state.patches.get(cand.path)
    options = replace(state.options, overlay=True) if patch_note else state.options
    plan = _plan_safely(cand.path, raw, options, state.inventories.get(cand.path, state.inventory))
    plan.stamp = stamp
    if patch_note and plan.error is None:
        plan.note = patch_note
    if state.write:
        write_plan(plan, state.roots)
    return lean_plan(plan) if state.lean else plan


_STUBS: dict[tuple, Finding] = {}


def lean_plan(plan: FilePlan) -> FilePlan:
    """Let go of what only a file's own output needs (its texts, operations, messages and paths), keeping
    what the run's summary and exit code read: whether it changed, its changes, each finding's rule,
    status and fix, and a namespace finding's message (those are counted once per namespace). A run
    over many files then holds little per file."""
    plan.settled = plan.changed
    if plan.source is not None:
        plan.source = SourceText("", plan.source.bom)
    plan.new_text, plan.parsed = None, None
    for change in plan.changes:
        change.ops, change.messages = [], []
    for rep in plan.findings:
        f = rep.finding
        key = (f.rule, f.facet, f.fix, f.message if f.facet == "namespace" else "")
        stub = _STUBS.get(key)
        if stub is None:
            stub = _STUBS[key] = Finding(f.rule, f.facet, key[3], f.fix, ())
        rep.finding, rep.note = stub, ""
    return plan


def write_plan(plan: FilePlan, roots: tuple[str, ...] | None = None) -> FilePlan:
    """Write a changed plan's file if it is still the file that was read and lies inside ``roots``; a
    refusal or failure becomes the plan's error (the file stays as it was)."""
    if plan.changed and plan.error is None and plan.source is not None:
        line = plan.changes[0].line if plan.changes else 1
        try:
            write_file(plan.path, plan.source.encode(plan.new_text), stamp=plan.stamp,
                       original=None if plan.stamp is not None else plan.source.encode(), roots=roots)
        except NotWritten as exc:
            plan.error = InputError(str(exc), line, plan.path)
        except OSError as exc:
            plan.error = InputError(f"cannot write: {exc.strerror or exc}; not written", line, plan.path)
    return plan


def _plan_safely(path: str, raw: bytes, options: Options, inventory: Inventory, docs: list | None = None) -> FilePlan:
    """``plan_text``, with an unexpected exception (a kfix bug) turned into this file's error.

    One file that trips a bug is reported (file:line, never a traceback) and left untouched; the run
    goes on with the other files. ``KFIX_DEBUG=1`` lets the exception through.
    """
    try:
        if path.endswith(PYTHON_SUFFIXES):
            from kfix.python.plan import plan_python  # libcst is loaded only for runs with Python files

            return plan_python(path, raw, options, inventory)
        return plan_text(path, raw, options, inventory, docs)
    except RecursionError:  # nesting deep enough to exhaust the stack somewhere: the nesting refusal
        return FilePlan(path, error=too_deep(decode(raw).text).located(path))
    except Exception as exc:  # noqa: BLE001 - the safety net for bad input kfix does not expect
        if os.environ.get("KFIX_DEBUG"):
            raise
        import traceback

        frames = traceback.extract_tb(exc.__traceback__)
        where = f" in {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        return FilePlan(path, error=InputError(f"internal error, file left untouched (a kfix bug, please report "
                                               f"it with this file): {detail}{where}", 1, path))


def plan_paths(paths: list[str], options: Options, excludes: tuple[str, ...] = (), jobs: int = 0,
               progress: Callable[[int, int], None] | None = None,
               values_files: tuple[str, ...] = (), write: bool = False,
               max_file_size: int = DEFAULT_MAX_FILE_SIZE, lean: bool = False,
               ignore_files: bool = True) -> RunResult:
    """Plan every YAML and Python file under ``paths``. ``jobs`` 0 = all cores for large inputs, 1 = in-process.

    Helm charts (a folder with Chart.yaml) are planned through their values files (``values_files``:
    `--values`, in helm's order); each chart gives one plan per values file. ``write``: rewrite each
    changed file (atomically) as soon as it is planned, in the process that planned it; a file that
    cannot be written gets the error on its plan and is left as it was. Nothing is written outside
    ``paths`` and ``values_files``; a file larger than ``max_file_size`` bytes is reported, not read.
    Files are read one at a time (twice when they hold objects other files need to know about).
    ``lean``: keep of each plan only what the run's summary needs (``lean_plan``), for runs over many files.
    ``ignore_files``: folders are walked without what git ignores.
    """
    roots = resolved_roots(list(paths) + list(values_files))
    candidates = discover(paths, excludes, roots, ignore_files)
    if write:  # temporary files an interrupted earlier run left where this one writes
        remove_stale_temp_files(os.path.dirname(os.path.realpath(c.path)) if not c.chart else c.path
                                for c in candidates if not c.error)
    charts = [c.path for c in candidates if c.chart]
    candidates = [c for c in candidates if not c.chart]
    chart_plans = plan_charts(charts, options, values_files)
    import gc

    collecting = gc.isenabled()
    gc.disable()  # planning builds large node trees and frees them in order: the cyclic collector only costs
    try:
        state = _RunState(options, Inventory(), write=write, lean=lean, roots=roots, max_size=max_file_size)
        _unit_facts(state, candidates, paths)
        if jobs == 0:
            jobs = (os.cpu_count() or 1) if len(candidates) >= 200 else 1
        result = RunResult()
        if jobs <= 1 or len(candidates) < 2:
            _use_state(state)
            try:
                for i, cand in enumerate(candidates):
                    result.plans.append(_plan_candidate(cand))
                    if progress:
                        progress(i + 1, len(candidates))
            finally:
                _use_state(None)  # the run's contents and inventory are not kept past it
        else:
            import multiprocessing

            ctx = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
            chunk = max(1, min(64, len(candidates) // (jobs * 8) or 1))
            with ctx.Pool(jobs, initializer=_init_worker, initargs=(state,)) as pool:
                for i, plan in enumerate(pool.imap(_plan_candidate, candidates, chunksize=chunk)):
                    result.plans.append(lean_plan(plan) if lean else plan)  # share the stubs again
                    if progress:
                        progress(i + 1, len(candidates))
    finally:
        if collecting:
            gc.enable()
    for plan in chart_plans:
        if write:
            write_plan(plan, roots)
        result.plans.append(lean_plan(plan) if lean else plan)
    return result


def _unit_facts(state: _RunState, candidates: list[Candidate], args: list[str]) -> None:
    """Each file's cross-file facts, from the YAML files of its deployment unit (read from disk whether or
    not they were named), and the notes of the Kustomize patches among the files."""
    from kfix.units import find_units

    named = {os.path.abspath(c.path): c.path for c in candidates if not c.error and not c.note}
    units = find_units(sorted(named), args, state.options.config_dir)
    by_unit: dict[int, Inventory] = {}
    for absolute, path in named.items():
        unit = units.of.get(absolute)
        if unit is None:
            continue
        inventory = by_unit.get(id(unit))
        if inventory is None:
            sources = ((named.get(m) or _shown(m), m) for m in unit.files if not m.endswith(PYTHON_SUFFIXES))
            inventory = by_unit[id(unit)] = collect_inventory(_readable(sources, state.max_size))
            inventory.unit = unit.name
        state.inventories[path] = inventory
        patch = units.patches.get(absolute)
        if patch is not None:
            bases = ", ".join(_shown(b) for b in patch.bases) or "its base"
            state.patches[path] = (f"Kustomize patch ({_shown(patch.kustomization)}) over {bases}: not hardened itself "
                                   "(the base is); only values it sets that weaken the base are findings")


def _shown(path: str) -> str:
    """A path as reports show it: relative to the working folder when under it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _readable(sources: Iterable[tuple[str, str]], max_size: int):
    """(shown path, bytes) of each file that can be read, one at a time (errors are reported when planning)."""
    for shown, path in sources:
        try:
            yield shown, read_input(path, max_size)[0]
        except InputError:
            continue


def plan_charts(charts: list[str], options: Options, values_files: tuple[str, ...] = ()) -> list[FilePlan]:
    """Plan Helm charts through their values files. A `--values` file goes with the only chart of the
    run, or with the chart whose folder holds it; any other is a usage error (ConfigError)."""
    if values_files and not charts:
        raise ConfigError("--values needs a Helm chart (a folder with Chart.yaml) among the paths")
    owners: dict[str, list[str]] = {c: [] for c in charts}
    for f in values_files:
        if not os.path.isfile(f):
            raise ConfigError(f"--values {f}: no such file")
        if len(charts) == 1:
            owners[charts[0]].append(f)
            continue
        real = os.path.realpath(f)
        hits = [c for c in charts if real.startswith(os.path.realpath(c) + os.sep)]
        if len(hits) != 1:
            raise ConfigError(f"--values {f}: several charts in this run; name one chart, or keep the file in "
                              "the chart it belongs to")
        owners[hits[0]].append(f)
    if not charts:
        return []
    from kfix.helm.checks import chart_problems
    from kfix.helm.plan import plan_chart
    from kfix.helm.template_edit import plan_chart_with_templates

    out: list[FilePlan] = []
    for chart in charts:
        problems = chart_problems(chart)  # a Chart.yaml or values.schema.json kfix cannot use: not planned
        if problems:
            out.extend(FilePlan(p.path or chart, error=p) for p in problems)
            continue
        planner = plan_chart_with_templates if options.edit_templates else plan_chart
        out.extend(planner(chart, options, owners[chart]))
    return out


def read_stream(stream, name: str = "-", max_size: int = DEFAULT_MAX_FILE_SIZE) -> bytes:
    """All of a binary stream (stdin), refused past ``max_size`` bytes (``/dev/zero`` never ends)."""
    raw = stream.read(max_size + 1)
    if len(raw) > max_size:
        raise InputError(f"over the size limit of {max_size} bytes (max-file-size in the configuration)", path=name)
    return raw


def plan_bytes(name: str, raw: bytes, options: Options) -> FilePlan:
    """Plan one stream (stdin): its own bindings and policies form the inventory. An empty stream (a
    filter fed nothing) has nothing to fix: it passes through."""
    if not raw.strip(b" \t\r\n"):
        return FilePlan(name, source=decode(raw))
    parsed: dict = {}
    inventory = collect_inventory([(name, raw)], parsed)
    return _plan_safely(name, raw, options, inventory, parsed.get(name))
