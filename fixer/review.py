"""Review proposed changes one at a time and write only what was accepted.

Asking (and editing) is kept apart from writing: ``Reviewer.run`` only decides, ``Reviewer.write``
writes, so a review interrupted before its end leaves every file as it was. Answers can be kept in
a decisions file: a later review asks only about new changes, and ``scan``/``diff``/``apply`` and the bot
honour the same file (``decisions:`` in the configuration; ``kfix.api.plan_paths(..., decisions=)``, which
uses ``load_decisions(path).filter_plans(plans)``) so a declined change is never proposed again (and a change
that only works together with changes in other files is kept or left out with them).

    reviewer = Reviewer(result, options, ask=my_prompt, out=sys.stdout)
    reviewer.run()
    reviewer.write()
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, TextIO

from kfix.files import PYTHON_SUFFIXES
from kfix.diffs import BOLD, RESET, colorize, display_path, unified_diff
from kfix.errors import ConfigError, EditUnsupported, InputError, VerificationError
from kfix.yaml.loader import parse
from kfix.planner import Change, FilePlan, Options, Reported, render_subset
from kfix.api import write_file
from kfix.fileio import NotWritten
from kfix.yaml.source import SourceText, decode

__all__ = ["Decisions", "DecisionsError", "FileReview", "Reviewer", "load_decisions", "render_on_top", "HELP"]

HELP = """\
y - apply this change
n - do not apply this change
a - apply this change and all remaining changes in this file
d - do not apply this change nor any remaining change in this file
q - quit; write the changes accepted so far, leave the rest
e - edit the proposed text of this file in $VISUAL/$EDITOR (kept only if it still parses)
? - print help
"""
_HELP_NO_EDITOR = "".join(line + "\n" for line in HELP.splitlines() if not line.startswith("e "))

DecisionKey = tuple[str, str, str, str]  # rule, file, resource, container ("" for the pod)


class DecisionsError(ConfigError):
    """A decisions file kfix cannot read (exit code 2, like a bad configuration file)."""


# --- decisions file ---------------------------------------------------------------------------------
_YES = {"yes", "y", "true", "accept", "accepted"}
_NO = {"no", "n", "false", "reject", "rejected", "decline", "declined"}
_HEADER = ("# kfix review decisions: 'no' = never propose this change again, 'yes' = apply it without "
           "asking.\n# Paths are relative to this file. Written by 'kfix review --decisions'; edit freely.\n")


def decisions_file(explicit: str | None, configured: str | None, name: str = "--decisions",
                   folder: str = "") -> str | None:
    """The decisions file a run honours: the one given (relative to ``folder``; it must be a file:
    DecisionsError, naming it as ``name``, otherwise), else the configured one while it exists (review
    creates it), else None."""
    if explicit:
        path = os.path.join(folder, explicit)
        if os.path.isdir(path):
            raise DecisionsError(f"{name} {explicit}: a folder, not a decisions file")
        if not os.path.isfile(path):
            raise DecisionsError(f"{name} {explicit}: no such file")
        return path
    if configured is None or not os.path.exists(configured):
        return None
    if os.path.isdir(configured):
        raise DecisionsError(f"decisions: {configured}: a folder, not a decisions file")
    return configured


DECLINED = "declined"  # how the note of a finding whose change a decisions file left out begins


def is_declined(rep: Reported) -> bool:
    """Whether ``rep`` is exempt because a person declined its change (not because of an annotation)."""
    return rep.status == "exempt" and rep.note.startswith(DECLINED + " ")


class Decisions:
    """Recorded answers, one per (rule, file, resource, container).

    File paths are kept relative to the decisions file, so the same file works from any working
    directory and in any checkout of the repository that holds it.
    """

    def __init__(self, path: str | None = None, entries: dict[DecisionKey, bool] | None = None):
        self.path = path
        self.entries: dict[DecisionKey, bool] = dict(entries or {})
        self.dirty = False

    def file_key(self, path: str) -> str:
        if self.path is None:
            return display_path(path)
        base = os.path.dirname(os.path.abspath(self.path))
        try:
            rel = os.path.relpath(os.path.abspath(path), base)
        except ValueError:  # another drive
            rel = os.path.abspath(path)
        return rel.replace(os.sep, "/")

    def key(self, path: str, change: Change) -> DecisionKey:
        return (change.rule, self.file_key(path), change.resource, change.container or "")

    def get(self, path: str, change: Change) -> bool | None:
        """True: accepted earlier; False: declined earlier; None: never decided."""
        return self.entries.get(self.key(path, change))

    def answer(self, plan: FilePlan, change: Change) -> bool | None:
        """The recorded answer for ``change`` of ``plan``. An entry that names both a change of a link and
        one outside it (in values.yaml: a new key, and the hardening that sets it) is the answer for the
        latter; the link's change goes with its link, which its other files decide."""
        return None if self.shared(plan, change) else self.get(plan.path, change)

    def shared(self, plan: FilePlan, change: Change) -> bool:
        """Whether ``change`` is of a link and has the key of a change of ``plan`` outside every link."""
        return bool(change.link) and any(not c.link and c.rule == change.rule and c.resource == change.resource
                                         and c.container == change.container for c in plan.changes)

    def record(self, path: str, change: Change, accepted: bool) -> None:
        key = self.key(path, change)
        if self.entries.get(key) is not accepted:
            self.entries[key] = accepted
            self.dirty = True

    def filter(self, plan: FilePlan) -> FilePlan:
        """``plan`` without the changes declined here: ``filter_plans`` for one file. A Helm template edit
        spans several files that only work together; give all of a chart's plans to ``filter_plans``."""
        return self.filter_plans([plan])[0]

    def filter_plans(self, plans: Iterable[FilePlan]) -> list[FilePlan]:
        """Each plan without the changes declined here, re-rendered (verified): what to write.

        Declined changes' findings become ``exempt`` with a note, so reports and exit codes treat
        them as settled; a change that cannot be applied without a declined one (they share YAML
        nodes) is dropped too and its findings become ``unfixable``, saying why. Changes that share a
        ``link`` (a template edit: templates, new values keys, README rows) are kept or left out
        together in every file: one declined (or one that cannot be written) leaves out all of them,
        and the changes that ``require`` that link. An undecided change is kept. A plan nothing is
        taken from is returned as it was.
        """
        plans = list(plans)
        gone = self.declined_links(plans)
        while True:
            out, stuck = [], {}
            for plan in plans:
                filtered, more = self._filter_one(plan, gone)
                out.append(filtered)
                for link, why in more.items():
                    stuck.setdefault(link, why)
            if not stuck:
                return out
            gone.update(stuck)

    def declined_links(self, plans: Iterable[FilePlan]) -> dict[str, str]:
        """Links with a change declined here, each with where (in the first file that declines one)."""
        gone: dict[str, str] = {}
        for plan in plans:
            if plan.source is None:
                continue
            for change in plan.changes:
                if change.link and change.link not in gone and self.answer(plan, change) is False:
                    gone[change.link] = f"declined in {self.file_key(plan.path)}"
        return gone

    def _filter_one(self, plan: FilePlan, gone: dict[str, str]) -> tuple[FilePlan, dict[str, str]]:
        """``plan`` without its declined changes and those of the links ``gone``; and the links of
        changes that could not be written without a left-out one (link -> why)."""
        if not plan.changes or plan.source is None:
            return plan, {}
        where = f" ({self.path or 'decisions'})"
        left: dict[str, tuple[str, str]] = {}  # change id -> (status, note) of its findings
        for c in plan.changes:
            if self.answer(plan, c) is False:
                left[c.id] = ("exempt", DECLINED + " in review" + where)
            elif c.link in gone:
                left[c.id] = ("exempt", f"{DECLINED} together with {c.link}: {gone[c.link]}{where}")
            elif c.requires in gone:
                left[c.id] = ("unfixable", f"needs {c.requires}, which is left out: {gone[c.requires]}{where}")
        if not left:
            return plan, {}
        queue = [c for c in plan.changes if c.id not in left]
        keep: list[Change] = []
        stuck: dict[str, str] = {}  # link -> why its changes cannot all be written
        text = plan.source.text
        try:  # at once first: rendering one change at a time is needed only when that fails
            if queue:
                text = render_subset(plan, {c.id for c in queue})
            keep, queue = queue, []
        except _RenderError:
            pass
        while queue:
            change = queue.pop(0)
            try:
                group, text = render_on_top(plan, {c.id for c in keep}, change)
                keep.extend(group)
            except _RenderError as exc:
                left[change.id] = ("unfixable", f"cannot be applied without a declined change: {exc.message}")
                if change.link:
                    stuck.setdefault(change.link, f"{self.file_key(plan.path)} cannot be written without "
                                                  "a declined change")
        findings = []
        for rep in plan.findings:
            if rep.change_id in left:
                status, note = left[rep.change_id]
                rep = replace(rep, status=status, note=note, change_id=None)
            findings.append(rep)
        keep.sort(key=plan.changes.index)
        declined = sum(1 for status, _ in left.values() if status == "exempt")
        return replace(plan, changes=keep, findings=findings, new_text=text if keep else None,
                       diff=None, settled=None, declined=plan.declined + declined), stuck

    def dumps(self) -> str:
        rows = [{"rule": rule, "file": file, "resource": resource, "container": container or None,
                 "decision": "yes" if accepted else "no"}
                for (rule, file, resource, container), accepted in
                sorted(self.entries.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][3], kv[0][0]))]
        if _is_json(self.path):
            return json.dumps({"decisions": rows}, indent=2) + "\n"
        import yaml

        return _HEADER + yaml.safe_dump({"decisions": rows}, sort_keys=False, default_flow_style=False)

    def save(self) -> bool:
        """Write the file (atomically) if anything was recorded; returns whether it was written."""
        if self.path is None or not (self.dirty or not os.path.exists(self.path)):
            return False
        write_file(self.path, self.dumps().encode("utf-8"))
        self.dirty = False
        return True


def _is_json(path: str | None) -> bool:
    return bool(path) and path.lower().endswith(".json")


def load_decisions(path: str) -> Decisions:
    """Read a decisions file (YAML, or JSON when named ``*.json``); a missing file is an empty record.
    A file kfix cannot use is a DecisionsError that names the file and line."""
    from kfix.fileio import read_input

    if not os.path.lexists(path):
        return Decisions(path)
    try:
        text = decode(read_input(path, 16 * 1024 * 1024)[0]).text
    except InputError as exc:
        raise DecisionsError(_where(path, exc.line, f"decisions file: cannot read: {exc.message}")) from None
    kind = "JSON" if _is_json(path) else "YAML"
    if not text.strip():
        return Decisions(path)
    if kind == "JSON":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise DecisionsError(_where(path, exc.lineno, f"decisions file: not valid JSON: {exc.msg}")) from None
    try:
        docs = [d for d in parse(text) if d.node is not None]
    except InputError as exc:
        why = exc.message.removeprefix("invalid YAML: ")
        raise DecisionsError(_where(path, exc.line, f"decisions file: not valid {kind}: {why}")) from None
    if not docs:
        return Decisions(path)
    if len(docs) > 1:
        raise DecisionsError(_where(path, docs[1].line, "decisions file: more than one document"))
    raw, node = docs[0].data, docs[0].node
    rows, rows_node = raw, node
    if isinstance(raw, dict):
        rows = raw.get("decisions")
        rows_node = next((v for k, v in node.value if getattr(k, "value", None) == "decisions"), node)
    if not isinstance(rows, list):
        raise DecisionsError(_where(path, rows_node.start_mark.line + 1, "decisions file: expected a 'decisions' list"))
    items = rows_node.value if isinstance(rows_node.value, list) and len(rows_node.value) == len(rows) else []
    entries: dict[DecisionKey, bool] = {}
    for n, row in enumerate(rows, 1):
        line = items[n - 1].start_mark.line + 1 if items else rows_node.start_mark.line + 1
        key = _entry_key(path, line, n, row)
        entries[key] = _entry_value(path, line, n, row)
    return Decisions(path, entries)


def _where(path: str, line: int | None, message: str) -> str:
    return f"{path}:{line}: {message}" if line else f"{path}: {message}"


def _entry_key(path: str, line: int, n: int, row: object) -> DecisionKey:
    if not isinstance(row, dict):
        raise DecisionsError(_where(path, line, f"decisions entry {n} is not a mapping"))
    for name in ("rule", "file", "resource"):
        if not isinstance(row.get(name), str) or not row[name]:
            raise DecisionsError(_where(path, line, f"decisions entry {n} needs a '{name}' (text)"))
    container = row.get("container")
    if container is not None and not isinstance(container, str):
        raise DecisionsError(_where(path, line, f"decisions entry {n}: 'container' must be text or null"))
    return (row["rule"], row["file"].replace("\\", "/"), row["resource"], container or "")


def _entry_value(path: str, line: int, n: int, row: dict) -> bool:
    value = row.get("decision")
    if isinstance(value, bool):  # YAML 1.1 reads an unquoted yes/no as a boolean
        return value
    if isinstance(value, str) and value.strip().lower() in _YES | _NO:
        return value.strip().lower() in _YES
    raise DecisionsError(_where(path, line, f"decisions entry {n}: 'decision' must be yes or no"))


_RenderError = (VerificationError, EditUnsupported)


def render_on_top(plan: FilePlan, base: set[str], change: Change) -> tuple[list[Change], str]:
    """``change`` rendered on top of the changes ``base``, as (changes, text).

    The planner already merges changes that can only be made together (edits of one shared anchor),
    so a change that fails here fails on its own account; the render error is raised.
    """
    return [change], render_subset(plan, base | {change.id})


# --- the review walk --------------------------------------------------------------------------------
@dataclass
class FileReview:
    """One file under review: what is on disk, the current plan, and what has been accepted."""

    original: SourceText  # as read at planning time (the write is refused if the file changed since)
    plan: FilePlan  # re-planned from the edited text after an edit
    accepted: set[str] = field(default_factory=set)  # change ids of ``plan``
    text: str = ""  # ``plan``'s text with the accepted changes: what will be written
    edited: bool = False
    stamp: Any = None  # kfix.fileio.FileStamp of the bytes read at planning time

    @property
    def path(self) -> str:
        return self.plan.path

    @property
    def changed(self) -> bool:
        return self.text != self.original.text


class Reviewer:
    """Walks through every proposed change, asks, and remembers the answers.

    ``ask(prompt)`` returns the answer, or None at end of input (= quit). ``accept_all`` answers yes
    without asking. ``editor`` is the command for ``e`` (None: ``e`` is not offered).
    """

    def __init__(self, result, options: Options, *, ask: Callable[[str], str | None] | None = None,
                 out: TextIO, err: TextIO | None = None, color: bool = False, editor: str | None = None,
                 decisions: Decisions | None = None, accept_all: bool = False, quiet: bool = False,
                 editor_stdin: int | None = None, roots: tuple[str, ...] | None = None):
        self.result = result
        self.roots = roots  # resolved paths of the run: nothing outside them is written
        self.options = options
        self.ask = ask
        self.out = out
        self.err = err or out
        self.color = color
        self.editor = editor or None
        self.decisions = decisions if decisions is not None else Decisions()
        self.accept_all = accept_all
        self.quiet = quiet
        self.editor_stdin = editor_stdin
        self.files: list[FileReview] = []
        self.accepted = self.rejected = self.earlier_yes = self.earlier_no = 0
        self.errors: list[str] = []
        self.written: list[str] = []
        self.quit = False
        self._decided: set[DecisionKey] = set()
        self._taken: dict[DecisionKey, str] = {}  # accepted in this run: "asked" or "earlier"
        self._links: dict[str, bool] = {}  # Change.link -> the one answer for every change sharing it
        self._inventory = None
        self._done = 0
        self._total = 0

    # -- deciding --
    def run(self) -> None:
        """Ask about every change (nothing is written here)."""
        plans = [p for p in self.result.plans if p.error is None and p.source is not None and p.changes]
        # a link answered in the decisions file is answered for every file it spans: declined if any of
        # its changes is declined there (as ``Decisions.filter_plans`` does), else accepted if one is accepted
        self._links.update((link, False) for link in self.decisions.declined_links(plans))
        for p in plans:
            for c in p.changes:
                if c.link and self.decisions.answer(p, c):
                    self._links.setdefault(c.link, True)
        earlier = [self._earlier(p, c) for p in plans for c in p.changes]
        self._total = earlier.count(None)
        self.earlier_no = earlier.count(False)
        for plan in plans:
            if self.quit:
                break
            self._review_file(plan)

    @property
    def undecided(self) -> int:
        return self._total - self._done

    def _review_file(self, plan: FilePlan) -> None:
        fr = FileReview(plan.source, plan, set(), plan.source.text, stamp=plan.stamp)
        self.files.append(fr)
        queue = self._pending(fr)
        mode = None  # "a" or "d": the rest of this file was answered at once
        header_shown = False
        while queue and not self.quit:
            change = queue.pop(0)
            if self._follow_link(fr, change):
                continue
            if mode == "d":
                self._settle(fr, [change], False)
                continue
            found = self._render(fr, change, queue)
            if found is None:
                continue
            group, proposal = found
            if mode == "a" or self.accept_all:
                if self.accept_all and not self.quiet:
                    header_shown = self._show(fr, group, proposal, header_shown)
                self._settle(fr, group, True, proposal)
                continue
            header_shown = self._show(fr, group, proposal, header_shown)
            while True:
                answer = self.ask(self._prompt(len(group))) if self.ask else None
                if answer is None:
                    self.quit = True
                    break
                answer = answer.strip().lower()
                if answer in ("y", "yes"):
                    self._settle(fr, group, True, proposal)
                elif answer in ("n", "no"):
                    self._settle(fr, group, False)
                elif answer in ("a", "all"):
                    self._settle(fr, group, True, proposal)
                    mode = "a"
                elif answer == "d":
                    self._settle(fr, group, False)
                    mode = "d"
                elif answer in ("q", "quit"):
                    self.quit = True
                elif answer in ("e", "edit") and self.editor:
                    replanned = self._edit(fr, group, proposal, queue)
                    if replanned is None:
                        continue  # edit dropped: ask again about the same proposal
                    queue[:] = replanned
                    header_shown = False
                else:
                    if answer not in ("?", "h", "help"):
                        self.out.write(f"unknown answer {answer!r}\n" if answer else "")
                    self.out.write(self._help())
                    continue
                break

    def _follow_link(self, fr: FileReview, change: Change) -> bool:
        """Settle ``change`` by the answer already given for its link (True), or say it must be asked."""
        if change.link and change.link in self._links:
            accepted = self._links[change.link]
        elif change.requires and self._links.get(change.requires) is False:
            accepted = False
        else:
            return False
        if not accepted:
            self._settle(fr, [change], False)
            if not self.quiet:
                self.out.write(f"{self._where(fr, change)}: rejected with the template edit it belongs to\n")
            return True
        found = self._render(fr, change, [])
        if found is not None:
            self._settle(fr, found[0], True, found[1])
            if not self.quiet:
                self.out.write(f"{self._where(fr, change)}: accepted with the template edit it belongs to\n")
        return True

    def _earlier(self, plan: FilePlan, change: Change) -> bool | None:
        """The decisions file's answer for ``change``; an accepted change of a declined link (or one that
        requires it) is left out with it."""
        earlier = self.decisions.answer(plan, change)
        if earlier and False in (self._links.get(change.link), self._links.get(change.requires)):
            return False
        return earlier

    def _pending(self, fr: FileReview) -> list[Change]:
        """Changes to ask about; the ones accepted in the decisions file are applied without asking."""
        out, earlier_yes = [], []
        decided = set(self._decided)  # before this file (a change and the hardening of its new key share a key)
        for change in fr.plan.changes:
            key = self.decisions.key(fr.path, change)
            if key in decided:
                continue
            earlier = self._earlier(fr.plan, change)
            if earlier is None:
                out.append(change)
                continue
            self._decided.add(key)
            if earlier is False and self.decisions.answer(fr.plan, change) and not self.quiet:
                what = "it belongs to" if self._links.get(change.link) is False else "it needs"
                self.out.write(f"{self._where(fr, change)}: left out with the template edit {what} "
                               "(declined in the decisions file)\n")
            if change.link:
                self._links.setdefault(change.link, earlier)
            if earlier:
                earlier_yes.append(change)
        if earlier_yes:
            try:  # at once first: changes that share YAML nodes only render together
                fr.text = render_subset(fr.plan, fr.accepted | {c.id for c in earlier_yes})
                fr.accepted |= {c.id for c in earlier_yes}
                applied = earlier_yes
            except (VerificationError, EditUnsupported):
                applied = []
                for change in earlier_yes:
                    found = self._render(fr, change, [], counted=False)
                    if found is not None:
                        fr.accepted.add(change.id)
                        fr.text = found[1]
                        applied.append(change)
            self.earlier_yes += len(applied)
            self._taken.update((self.decisions.key(fr.path, c), "earlier") for c in applied)
            if not self.quiet:
                self.out.write("".join(f"{self._where(fr, c)}: accepted earlier (decisions file)\n" for c in applied))
        return out

    def _render(self, fr: FileReview, change: Change, queue: list[Change],
                counted: bool = True) -> tuple[list[Change], str] | None:
        """The proposal for ``change`` on top of the accepted ones, as (changes, text); None (and an
        error noted) when it cannot be rendered."""
        try:
            return render_on_top(fr.plan, fr.accepted, change)
        except (VerificationError, EditUnsupported) as exc:
            error = exc
        line = f" (line {error.line})" if error.line else ""
        self.errors.append(f"{self._where(fr, change)}: cannot apply this change, skipped: {error.message}{line}")
        self.err.write(f"error: {self.errors[-1]}\n")
        self._decided.add(self.decisions.key(fr.path, change))
        self._done += counted
        return None

    def _settle(self, fr: FileReview, group: list[Change], accepted: bool, proposal: str | None = None) -> None:
        if accepted:
            assert proposal is not None
            fr.accepted |= {c.id for c in group}
            fr.text = proposal
        for change in group:
            self._record(fr, change, accepted)

    def _record(self, fr: FileReview, change: Change, accepted: bool) -> None:
        if accepted:
            self.accepted += 1
            self._taken[self.decisions.key(fr.path, change)] = "asked"
        else:
            self.rejected += 1
        if not self.decisions.shared(fr.plan, change):  # else the entry is the other change's (see ``answer``)
            self.decisions.record(fr.path, change, accepted)
            self._decided.add(self.decisions.key(fr.path, change))
        self._done += 1
        if change.link:
            self._links.setdefault(change.link, accepted)

    # -- showing --
    def _where(self, fr: FileReview, change: Change) -> str:
        where = f" container {change.container}" if change.container else ""
        return f"{display_path(fr.path)}:{change.line}: {change.resource}{where}: {change.rule}"

    def _show(self, fr: FileReview, group: list[Change], proposal: str, header_shown: bool) -> bool:
        diff = unified_diff(fr.path, fr.text, proposal)
        lines = diff.splitlines(True)
        header, hunks = "".join(lines[:2]), "".join(lines[2:])
        out = []
        if not header_shown:
            out.append(colorize(header) if self.color else header)
        if len(group) > 1:
            out.append(f"{len(group)} changes that edit the same YAML nodes, applied together or not at all:\n")
        for change in group:
            title = f"{self._where(fr, change)} ({change.fix.value} fix)"
            out.append(f"{BOLD}{title}{RESET}\n" if self.color else title + "\n")
            out.extend(f"  # {m}\n" for m in change.messages)
        out.append(colorize(hunks) if self.color else hunks)
        self.out.write("".join(out))
        return True

    def _prompt(self, size: int = 1) -> str:
        keys = "y,n,a,d,q,e,?" if self.editor else "y,n,a,d,q,?"
        first, last = self._done + 1, self._done + size
        count = f"{first}/{self._total}" if size == 1 else f"{first}-{last}/{self._total}"
        what = "this change" if size == 1 else "these changes"
        return f"({count}) Apply {what} [{keys}]? "

    def _help(self) -> str:
        return HELP if self.editor else _HELP_NO_EDITOR

    # -- editing --
    def _edit(self, fr: FileReview, group: list[Change], proposal: str, queue: list[Change]) -> list[Change] | None:
        """Let the person edit the proposed text; on success it becomes the file's text and the
        remaining changes are planned again against it. None: the edit was dropped (message shown)."""
        edited = self._run_editor(fr, proposal)
        if edited is None:
            return None
        python = fr.path.endswith(PYTHON_SUFFIXES)
        if not python:
            try:
                parse(edited)
            except InputError as exc:
                where = f"line {exc.line}: " if exc.line else ""
                self.out.write(f"the edited text does not parse as YAML ({where}{exc.message}); "
                               "edit dropped, proposal unchanged\n")
                return None
        from kfix.inventory import collect_inventory
        from kfix.planner import plan_text

        if self._inventory is None:
            self._inventory = collect_inventory((p.path, p.source.encode()) for p in self.result.plans
                                                if p.source is not None and not p.path.endswith(PYTHON_SUFFIXES))
        if python:
            from kfix.python.plan import plan_python

            replanned = plan_python(fr.path, fr.original.encode(edited), self.options, self._inventory)
        else:
            replanned = plan_text(fr.path, fr.original.encode(edited), self.options, self._inventory)
        if replanned.error is not None:
            self.out.write(f"the edited text cannot be used ({replanned.error.message}); "
                           "edit dropped, proposal unchanged\n")
            return None
        open_keys = {self.decisions.key(fr.path, c) for c in replanned.changes}
        fr.plan, fr.accepted, fr.text, fr.edited = replanned, set(), edited, True
        # a change still proposed against the edited text was taken out by the person: declined
        for change in group:
            self._record(fr, change, self.decisions.key(fr.path, change) not in open_keys)
        for change in replanned.changes:
            how = self._taken.pop(self.decisions.key(fr.path, change), None)
            if how is not None:  # accepted before this edit, then edited away
                if how == "earlier":
                    self.earlier_yes -= 1
                else:
                    self.accepted -= 1
                self.rejected += 1
                self.decisions.record(fr.path, change, False)
        self._total -= len(queue)
        pending = self._pending(fr)
        self._total += len(pending)
        self.out.write(f"edited text kept for {display_path(fr.path)}"
                       + (f"; {len(pending)} change(s) left to review in this file\n" if pending else "\n"))
        return pending

    def _run_editor(self, fr: FileReview, proposal: str) -> str | None:
        suffix = os.path.splitext(fr.path)[1] or ".yaml"
        fd, tmp = tempfile.mkstemp(prefix="kfix-review-", suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(proposal.encode("utf-8"))
            try:
                argv = shlex.split(self.editor or "") + [tmp]
                code = subprocess.call(argv, stdin=self.editor_stdin)
            except (OSError, ValueError) as exc:
                self.out.write(f"cannot start the editor ({self.editor}): {exc}; proposal unchanged\n")
                return None
            if code != 0:
                self.out.write(f"the editor exited with status {code}; proposal unchanged\n")
                return None
            with open(tmp, "rb") as fh:
                raw = fh.read()
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        try:
            return decode(raw).text
        except InputError as exc:
            self.out.write(f"the edited text cannot be used ({exc.message}); proposal unchanged\n")
            return None

    # -- writing --
    def write(self) -> list[str]:
        """Write every file with accepted changes; refuse a file that changed on disk since planning."""

        self._complete_links()
        for fr in self.files:
            if not fr.changed:
                continue
            try:
                write_file(fr.path, fr.original.encode(fr.text), stamp=fr.stamp, original=fr.original.encode(),
                           roots=self.roots)
            except NotWritten as exc:
                changed = str(exc).startswith("changed on disk")
                self._write_error(fr, "changed on disk during the review, not written" if changed else str(exc))
                continue
            except OSError as exc:
                self._write_error(fr, f"cannot write: {exc.strerror or exc}; not written")
                continue
            self.written.append(fr.path)
        return self.written

    def _complete_links(self) -> None:
        """An accepted link is written in every file it spans, also those the review did not reach (it was
        quit); where that cannot be rendered, the whole link is left out of every file."""
        reviews = {fr.path: fr for fr in self.files}
        for link in [k for k, yes in self._links.items() if yes]:
            spanned = [p for p in self.result.plans if p.error is None and p.source is not None
                       and any(c.link == link for c in p.changes)]
            done: list[tuple[FileReview, str]] = []
            try:
                for plan in spanned:
                    fr = reviews.get(plan.path)
                    if fr is None:
                        fr = FileReview(plan.source, plan, set(), plan.source.text, stamp=plan.stamp)
                    ids = {c.id for c in fr.plan.changes if c.link == link} | fr.accepted
                    done.append((fr, render_subset(fr.plan, ids) if ids != fr.accepted else fr.text))
            except _RenderError as exc:
                self.errors.append(f"{link}: cannot be written in every file it spans, left out: {exc.message}")
                self.err.write(f"error: {self.errors[-1]}\n")
                for fr in (reviews.get(p.path) for p in spanned):
                    if fr is not None:
                        fr.accepted = {c.id for c in fr.plan.changes if c.id in fr.accepted
                                       and c.link != link and c.requires != link}
                        fr.text = render_subset(fr.plan, fr.accepted)
                continue
            for fr, text in done:
                fr.accepted |= {c.id for c in fr.plan.changes if c.link == link}
                fr.text = text
                if fr.path not in reviews:
                    reviews[fr.path] = fr
                    self.files.append(fr)
        for fr in self.files:  # accepted before its link was answered, and the link was not accepted
            orphans = {c.id for c in fr.plan.changes
                       if c.id in fr.accepted and c.requires and not self._links.get(c.requires)}
            if orphans:
                fr.accepted -= orphans
                fr.text = render_subset(fr.plan, fr.accepted)

    def _write_error(self, fr: FileReview, message: str) -> None:
        self.errors.append(f"{display_path(fr.path)}: {message}")
        self.err.write(f"error: {self.errors[-1]}\n")

    def summary(self) -> str:
        """accepted, rejected, what was left, files written."""
        parts = [f"{self.accepted + self.earlier_yes} accepted"
                 + (f" ({self.earlier_yes} earlier)" if self.earlier_yes else ""),
                 f"{self.rejected} rejected"]
        if self.undecided > 0:
            parts.append(f"{self.undecided} not reviewed")
        if self.earlier_no:
            parts.append(f"{self.earlier_no} declined earlier (not proposed)")
        n = len(self.written)
        parts.append(f"{n} file{'' if n == 1 else 's'} written")
        return "review: " + ", ".join(parts)
