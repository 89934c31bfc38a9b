"""The library API the CLI, the review UI and the bot share: plan files, render, write.

    options = make_options(load_config())
    result = plan_paths(["deploy/"], options)
    for plan in result.plans:
        write_plan(plan)  # only if the file is still what was read; otherwise plan.error says why
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from kfix.rules import Finding, Inventory, rules_for

from kfix.config import Config, check_rule_ids
from kfix.errors import ConfigError, InputError
from kfix.fileio import DEFAULT_MAX_FILE_SIZE, FileStamp, NotWritten, read_input, remove_stale_temp_files, resolved_roots
from kfix.fileio import write_file
from kfix.cache import ContentCache, cache_folder
from kfix.files import PYTHON_SUFFIXES, Candidate, Listing, discover
from kfix.inventory import collect_inventory, fact_objects, inventory_object
from kfix.yaml.loader import parse, too_deep
from kfix.planner import Change, FilePlan, Options, Reported, finding_stub, plan_text, render_subset
from kfix.yaml.source import SourceText, decode
from kfix.wire import pack, unpack

__all__ = ["Change", "FilePlan", "Options", "Reported", "RunResult", "make_options", "plan_paths", "plan_charts",
           "plan_bytes", "read_stream",
           "render_subset", "write_file", "write_plan", "lean_plan", "keep_only", "plan_diff", "collect_inventory"]


@dataclass
class RunResult:
    plans: list[FilePlan] = field(default_factory=list)

    @property
    def errors(self) -> list[FilePlan]:
        return [p for p in self.plans if p.error is not None]

    @property
    def declined(self) -> int:
        """Changes a decisions file left out (declined in review)."""
        return sum(p.declined for p in self.plans)

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
    output: str | None = None  # what of each plan to keep (see ``keep_only``); None: everything
    roots: tuple[str, ...] = ()  # resolved paths given: nothing outside them is written
    max_size: int = DEFAULT_MAX_FILE_SIZE
    cache: ContentCache | None = None  # findings of files that needed no change, by content and facts
    stamps: dict[str, FileStamp] = field(default_factory=dict)  # path -> what reading its unit found
    absolute: dict[str, str] = field(default_factory=dict)  # path -> its absolute path
    decisions: Any = None  # kfix.review.Decisions: each plan without the changes declined there, before writing


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


def _known_plan(cand: Candidate, state: _RunState) -> FilePlan | None:
    """The plan of a file that needs no planning: one discovery refused or passed over, or one the cache
    answers for from the stamp its unit's facts were read with. None: the file is to be planned."""
    if cand.error:
        return FilePlan(cand.path, error=InputError(cand.error, path=cand.path))
    if cand.note:
        return FilePlan(cand.path, note=cand.note)
    cache = state.cache
    stamp = state.stamps.get(cand.path) if cache is not None else None
    if stamp is None:
        return None
    patch_note = state.patches.get(cand.path)
    options = replace(state.options, overlay=True) if patch_note else state.options
    inventory = state.inventories.get(cand.path, state.inventory)
    absolute = state.absolute.get(cand.path) or os.path.abspath(cand.path)
    hit = cache.lookup(absolute, cand.path, cache.key(stamp.digest, options, inventory, patch_note),
                       state.output in ("summary", "diff"))
    # the same bytes, options and facts needed no change last time
    return _answered(cand, hit, stamp, patch_note, state) if hit is not None else None


def _plan_candidate(cand: Candidate) -> FilePlan:
    state = getattr(_local, "state", None)
    assert state is not None
    known = _known_plan(cand, state)
    if known is not None:
        return known
    patch_note = state.patches.get(cand.path)
    options = replace(state.options, overlay=True) if patch_note else state.options
    inventory = state.inventories.get(cand.path, state.inventory)
    cache, key = state.cache, None
    lean = state.output in ("summary", "diff")  # findings as lean_plan leaves them
    if cache is not None:
        absolute = state.absolute.get(cand.path) or os.path.abspath(cand.path)
    try:
        raw, stamp = read_input(cand.path, state.max_size)
    except InputError as exc:
        return FilePlan(cand.path, error=exc.located(cand.path))
    if cache is not None:
        key = cache.key(stamp.digest, options, inventory, patch_note)
        hit = cache.lookup(absolute, cand.path, key, lean)
        if hit is not None:
            return _answered(cand, hit, stamp, patch_note, state)
    plan = _plan_safely(cand.path, raw, options, inventory, lines=not lean)  # a lean run shows no finding's line
    plan.stamp = stamp
    if cache is not None:  # of the plan before the decisions: a file with declined changes is not cached
        entry = cache.entry_of(plan, key)
        plan.cache_entry = (absolute, entry) if entry is not None else None
    if patch_note and plan.error is None:
        plan.note = patch_note
    if state.decisions is not None:  # one file's plan: a template edit's links are within a chart (planned apart)
        plan = state.decisions.filter(plan)
    if state.write:
        write_plan(plan, state.roots)
    return keep_only(plan, state.output)


def _plan_packed(cand: Candidate) -> Any:
    """A pool worker's task: the plan of one file, packed for the parent (``kfix.wire``)."""
    return pack(_plan_candidate(cand), _local.state.output)


def _answered(cand: Candidate, hit: tuple, stamp: FileStamp, note: str | None, state: _RunState) -> FilePlan:
    """The plan of a file the cache answered for: its findings (already in the form the run keeps), no
    change, and no text (it was not parsed)."""
    return FilePlan(cand.path, findings=hit[0], stamp=stamp, note=note, kubernetes=hit[1], settled=False)


OUTPUTS = (None, "summary", "diff", "findings")


def keep_only(plan: FilePlan, output: str | None) -> FilePlan:
    """What of a plan a run keeps (and a worker process sends back): None everything; ``summary`` what
    the run's summary and exit code read (``lean_plan``); ``diff`` that and the unified diff
    (``plan.diff``); ``findings`` every finding as reports show it (without its operations), and
    whether the file changed. A run over many files then holds, and moves between processes, little."""
    if output is None:
        return plan
    if output == "findings":
        plan.settled = plan.changed
        plan.source, plan.new_text, plan.parsed = None, None, None
        for rep in plan.findings:
            f = rep.finding
            if f.ops:  # (the constructor directly: ``dataclasses.replace`` costs several times more per finding)
                rep.finding = Finding(f.rule, f.facet, f.message, f.fix, f.path, f.container, (), f.checks)
        for change in plan.changes:
            change.ops, change.messages = [], []
        return plan
    if output == "diff" and plan.changed and plan.error is None and plan.source is not None:
        plan.diff = plan_diff(plan)
    return lean_plan(plan)


def plan_diff(plan: FilePlan) -> str:
    """The unified diff of a changed plan (``git apply`` takes it)."""
    if plan.diff is not None:
        return plan.diff
    from kfix.diffs import unified_diff

    bom = "\ufeff" if plan.source.bom else ""
    return unified_diff(plan.path, bom + plan.source.text, bom + plan.new_text)


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
        rep.finding, rep.note = finding_stub(f.rule, f.facet, f.fix, f.message), ""
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


def _plan_safely(path: str, raw: bytes, options: Options, inventory: Inventory, docs: list | None = None,
                 lines: bool = True) -> FilePlan:
    """``plan_text``, with an unexpected exception (a kfix bug) turned into this file's error.

    One file that trips a bug is reported (file:line, never a traceback) and left untouched; the run
    goes on with the other files. ``KFIX_DEBUG=1`` lets the exception through.
    """
    try:
        if path.endswith(PYTHON_SUFFIXES):
            from kfix.python.plan import plan_python  # libcst is loaded only for runs with Python files

            return plan_python(path, raw, options, inventory)
        return plan_text(path, raw, options, inventory, docs, lines)
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
               ignore_files: bool = True, cache: bool = False, output: str | None = None,
               decisions: Any = None) -> RunResult:
    """Plan every YAML and Python file under ``paths``. ``jobs`` 0 = all cores for large inputs, 1 = in-process.

    Helm charts (a folder with Chart.yaml) are planned through their values files (``values_files``:
    `--values`, in helm's order); each chart gives one plan per values file. ``write``: rewrite each
    changed file (atomically) as soon as it is planned, in the process that planned it; a file that
    cannot be written gets the error on its plan and is left as it was. Nothing is written outside
    ``paths`` and ``values_files``; a file larger than ``max_file_size`` bytes is reported, not read.
    Files are read one at a time (twice when they hold objects other files need to know about).
    ``output``: keep of each plan only what the caller shows (``keep_only``), for runs over many files;
    ``lean`` is ``output="summary"``.
    ``ignore_files``: folders are walked without what git ignores. ``cache``: use the content cache
    (``kfix.cache``) for the files that needed no change last time (their plans have findings, no
    changes and no ``source``: they were not parsed).
    ``decisions`` (``kfix.review.Decisions``): each plan goes through its ``filter_plans`` before anything
    is kept or written (a chart's plans all together): declined changes are left out, their findings exempt.
    """
    roots = resolved_roots(list(paths) + list(values_files))
    listing = Listing()  # one read of each folder, for discovery and for the deployment units
    candidates = discover(paths, excludes, roots, ignore_files, listing)
    if write:  # temporary files an interrupted earlier run left where this one writes
        remove_stale_temp_files(os.path.dirname(c.real or os.path.realpath(c.path)) if not c.chart else c.path
                                for c in candidates if not c.error)
    charts = [c.path for c in candidates if c.chart]
    candidates = [c for c in candidates if not c.chart]
    chart_plans = plan_charts(charts, options, values_files)
    import gc

    collecting = gc.isenabled()
    gc.disable()  # planning builds large node trees and frees them in order: the cyclic collector only costs
    try:
        if output not in OUTPUTS:
            raise ValueError(f"output: one of {OUTPUTS}")
        state = _RunState(options, Inventory(), write=write, output=output or ("summary" if lean else None),
                          roots=roots, max_size=max_file_size,
                          cache=_open_cache(paths, options) if cache else None, decisions=decisions)
        _unit_facts(state, candidates, paths, listing)
        # what the cache answers (and what discovery refused) is known here; only the rest is planned
        known = [_known_plan(cand, state) for cand in candidates] if state.cache is not None else []
        todo = [cand for i, cand in enumerate(candidates) if not known or known[i] is None]
        if jobs == 0:
            jobs = (os.cpu_count() or 1) if len(todo) >= 200 else 1
        result = RunResult()
        planned = iter(())
        pool = None
        if jobs > 1 and len(todo) >= 2:
            import multiprocessing

            ctx = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
            chunk = max(1, min(64, len(todo) // (jobs * 8) or 1))
            pool = ctx.Pool(jobs, initializer=_init_worker, initargs=(state,))
        _use_state(state)
        try:
            if pool is not None:
                planned = map(unpack, pool.imap(_plan_packed, todo, chunksize=chunk))
            for i, cand in enumerate(candidates):
                plan = known[i] if known and known[i] is not None else \
                    next(planned) if pool is not None else _plan_candidate(cand)
                plan = _recorded(plan, state)  # what a worker planned goes into this process's cache
                if pool is not None and state.output in ("summary", "diff") and type(plan) is not FilePlan:
                    plan = lean_plan(plan)  # another backend's plan, sent as it is: share the stubs again
                result.plans.append(plan)
                if progress:
                    progress(i + 1, len(candidates))
        finally:
            _use_state(None)  # the run's contents and inventory are not kept past it
            if pool is not None:
                if sys.exc_info()[0] is None:
                    pool.close()
                else:
                    pool.terminate()
                pool.join()
        if state.cache is not None:
            state.cache.save()
    finally:
        if collecting:
            gc.enable()
    if decisions is not None:  # a template edit spans a chart's files: they are kept or left out together
        chart_plans = decisions.filter_plans(chart_plans)
    for plan in chart_plans:
        if write:
            write_plan(plan, roots)
        result.plans.append(keep_only(plan, state.output))
    return result


def _recorded(plan: FilePlan, state: _RunState) -> FilePlan:
    if plan.cache_entry is not None:
        state.cache.store(*plan.cache_entry)
        plan.cache_entry = None
    return plan


def _open_cache(paths: list[str], options: Options) -> ContentCache | None:
    folder = cache_folder(paths, options.config_dir)
    return ContentCache(folder) if folder else None


def _unit_facts(state: _RunState, candidates: list[Candidate], args: list[str],
                listing: Listing | None = None) -> None:
    """Each file's cross-file facts, from the YAML files of its deployment unit (read from disk whether or
    not they were named), and the notes of the Kustomize patches among the files."""
    from kfix.units import find_units

    named = {os.path.abspath(c.path): c.path for c in candidates if not c.error and not c.note}
    state.absolute = {path: absolute for absolute, path in named.items()}
    units = find_units(sorted(named), args, state.options.config_dir, listing)
    by_unit: dict[int, Inventory] = {}
    by_namespaces: dict[tuple, Inventory] = {}
    for absolute, path in named.items():
        unit = units.of.get(absolute)
        if unit is None:
            continue
        inventory = by_unit.get(id(unit))
        if inventory is None:
            inventory = by_unit[id(unit)] = _unit_inventory(unit.files, named, state, units.namespaces)
            inventory.unit = unit.name
        namespaces = tuple(sorted(units.namespaces.get(absolute, ()), key=lambda n: (n is not None, n or "")))
        accounts = units.service_accounts.get(absolute)
        if accounts:  # the same facts, with the service accounts the builds' patches give this file's workloads
            inventory = replace(inventory, namespaces=namespaces, service_accounts=accounts)
        elif namespaces:  # the same facts, seen from a file its builds deploy to other namespaces
            key = (id(unit), namespaces)
            if key not in by_namespaces:
                by_namespaces[key] = replace(inventory, namespaces=namespaces)
            inventory = by_namespaces[key]
        state.inventories[path] = inventory
        patch = units.patches.get(absolute)
        if patch is not None:
            bases = ", ".join(_shown(b) for b in patch.bases) or "its base"
            state.patches[path] = (f"Kustomize patch ({_shown(patch.kustomization)}) over {bases}: not hardened itself "
                                   "(the base is); only values it sets that weaken the base are findings")


def _unit_inventory(files: Iterable[str], named: dict[str, str], state: _RunState,
                    deployed: dict[str, frozenset]) -> Inventory:
    """The cross-file facts of one unit's YAML files, read one at a time (one that cannot be read is
    reported when it is planned). With the cache, each file's stamp is kept, so a file the cache holds is
    not read again to be planned, and a file the cache knows by an unchanged identity is not read at all.
    ``deployed``: absolute path -> the namespaces Kustomize builds deploy its objects to."""
    inv = Inventory()
    cache = state.cache
    for absolute in files:
        if absolute.endswith(PYTHON_SUFFIXES):
            continue
        st = known = None
        if cache is not None:
            try:
                st = os.stat(absolute)
            except OSError:
                pass
            if st is not None and stat.S_ISREG(st.st_mode):
                known = cache.known_stamp(absolute, st)
        if known is not None:
            stamp, found = known
        else:
            try:
                raw, stamp = read_input(absolute, state.max_size)
            except InputError:
                continue
            found = fact_objects(raw)
            if cache is not None:
                cache.read(absolute, stamp, st, found)
        if cache is not None:
            state.stamps[named.get(absolute, absolute)] = stamp
        if found:
            shown = named.get(absolute) or _shown(absolute)
            for line, obj in found:
                inventory_object(inv, obj, f"{shown}:{line}", deployed.get(absolute, frozenset()))
    return inv


def _shown(path: str) -> str:
    """A path as reports show it: relative to the working folder when under it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


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
