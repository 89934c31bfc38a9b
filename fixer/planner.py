"""Plan one file: run the rules on every pod, group accepted fixes into changes, render and verify.

A *change* is one rule applied to one pod or container: the unit a reviewer accepts or rejects.
Rendering any subset of a file's changes goes through the same verification, so review, apply and
the bot write only text that re-parses to exactly the intended data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from yaml.nodes import MappingNode, SequenceNode

from kfix.rules import Finding, Fix, Inventory, Pod, Rule, Settings
from kfix.rules.exemptions import exempt_ids_of, exempted_by
from kfix.rules.valid_pod import ValidPod
from kfix.rules.weak_values import patch_finding, weakening_fields

from kfix import ops as O
from kfix.errors import EditUnsupported, InputError, VerificationError
from kfix.yaml.loader import Document, ends_in_open_block_scalar, iter_documents, parse
from kfix.yaml.source import SourceText, decode, other_line_break
from kfix.workloads import DEFAULT_CUSTOM_RESOURCES, CustomResource, PodSite, workload_sites
from kfix.yaml.editor import Editor, apply_splices


@dataclass(frozen=True)
class Options:
    """What a run checks and fixes (from the command line and the configuration file)."""

    rules: tuple[Rule, ...]
    profile: str = "hardened"
    unsafe_fixes: bool = False
    settings: Settings = field(default_factory=Settings)
    custom_resources: tuple[CustomResource, ...] = DEFAULT_CUSTOM_RESOURCES
    config_dir: str | None = None  # folder of the configuration file (a repository root without git)
    overlay: bool = False  # a Kustomize patch: only values it sets that weaken its base (unsafe findings)
    edit_templates: bool = False  # Helm: move fields values cannot reach into new values keys (proven)


@dataclass(slots=True)
class Reported:
    """A finding with where it is and what became of it.

    status: "fix" (a safe fix, or an unsafe one with --unsafe-fixes, in a change), "unsafe" (unsafe fix
    not applied), "report" (no automatic fix), "exempt" (opted out), "unfixable" (cannot be edited safely).
    """

    finding: Finding
    file: str
    line: int
    resource: str
    status: str
    note: str = ""
    change_id: str | None = None

    @property
    def rule(self) -> str:
        return self.finding.rule

    def __reduce__(self):
        """Pickled as a call, the cheapest to unpickle (worker processes send many findings back)."""
        return (Reported, (self.finding, self.file, self.line, self.resource, self.status, self.note, self.change_id))


@dataclass(slots=True)
class Change:
    """One rule applied to one pod or container; ``ops`` are performed together or not at all."""

    id: str
    rule: str
    fix: Fix
    doc: int
    resource: str
    container: str | None
    line: int
    ops: list[O.Op]
    messages: list[str]
    # Changes in several files that only work together (a Helm template edit: the template, its new values
    # key, the README row) share a ``link`` and are accepted or rejected as one; a change that ``requires``
    # a link is dropped when that link is rejected.
    link: str = ""
    requires: str = ""


@dataclass
class FilePlan:
    """Everything kfix knows about one file after planning."""

    path: str
    source: SourceText | None = None
    findings: list[Reported] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    new_text: str | None = None  # with every change applied (None: nothing to change)
    error: InputError | None = None
    note: str | None = None  # skipped with a note (not an error)
    kubernetes: bool = False
    parsed: list[Document] | None = field(default=None, repr=False, compare=False)  # for render_subset only
    stamp: Any = field(default=None, repr=False, compare=False)  # kfix.fileio.FileStamp of what was read

    settled: bool | None = field(default=None, repr=False, compare=False)  # ``changed``, once the texts are let go
    diff: str | None = field(default=None, repr=False, compare=False)  # the unified diff, made where it was planned
    cache_entry: Any = field(default=None, repr=False, compare=False)  # what the run's cache is to record of it
    declined: int = field(default=0, repr=False, compare=False)  # changes a decisions file left out (kfix.review)

    @property
    def changed(self) -> bool:
        if self.settled is not None:
            return self.settled
        return self.new_text is not None and self.source is not None and self.new_text != self.source.text

    def document_data(self) -> tuple[list[Any], list[Any]]:
        """Each document's data before and after the changes (what a semantic diff compares, indexed like
        ``Change.doc``); InputError when a text does not parse."""
        assert self.source is not None and self.new_text is not None
        return [d.data for d in parse(self.source.text)], [d.data for d in parse(self.new_text)]


_STUBS: dict[tuple, Finding] = {}


def finding_stub(rule: str, facet: str, fix: Fix, message: str) -> Finding:
    """The one shared stand-in for findings alike in what a run's summary counts (rule, facet, fix, and a
    namespace finding's message: those are counted once per namespace)."""
    key = (rule, facet, fix, message if facet == "namespace" else "")
    stub = _STUBS.get(key)
    if stub is None:
        stub = _STUBS[key] = Finding(rule, facet, key[3], fix, ())
    return stub


def plan_text(path: str, raw: bytes, options: Options, inventory: Inventory,
              docs: list[Document] | None = None, lines: bool = True) -> FilePlan:
    """Plan one file. ``docs``: its documents when they were parsed already (by the inventory pass).
    ``lines=False``: a run that shows no findings (only its summary, or diffs): the findings of documents
    that change get no line (0), which only a report shows; every other finding, and every change, has its
    line (a file that needs no change keeps its findings in the cache, for a later report)."""
    plan = FilePlan(path)
    try:
        plan.source = decode(raw)
        text = plan.source.text
        if not text.strip():
            raise InputError("empty file", 1)
        try:
            _plan_docs(plan, text, iter_documents(text) if docs is None else docs, options, inventory, lines)
        except InputError as exc:
            if "{{" in text and exc.message.startswith("invalid YAML"):
                raise InputError("Helm template syntax ({{ }}) in a plain YAML file; point kfix at the chart "
                                 "directory instead", text.count("\n", 0, text.index("{{")) + 1) from None
            raise
    except InputError as exc:
        plan.error = exc.located(path)
    except VerificationError as exc:
        # a layout the editor cannot keep is a refusal with its reason; anything else is a kfix bug
        text = plan.source.text if plan.source is not None else ""
        known = ends_in_open_block_scalar(_documents_or_none(text), text) or other_line_break(text)
        plan.error = known.located(path) if known is not None else \
            InputError(f"internal check failed, file not written: {exc.message}", exc.line, path)
    if plan.error is not None:  # a file refused part-way (a bad document after good ones): nothing of it counts
        plan.findings, plan.changes, plan.new_text = [], [], None
    return plan


def _documents_or_none(text: str) -> list[Document]:
    try:
        return parse(text)
    except InputError:
        return []


def _plan_docs(plan: FilePlan, text: str, docs: Iterable[Document], options: Options, inventory: Inventory,
               lines: bool = True) -> None:
    """Plan one document at a time: once its splices and intended data are known, its nodes can go
    (``docs`` may be a generator), so memory follows the largest document rather than the file."""
    splices: list = []
    expected: list = []  # per document, the data (or for a large file its fingerprint) it must re-parse to
    keep = fingerprint if len(text) >= FINGERPRINT_FROM else None
    for doc in docs:
        expected.append(keep(doc.data) if keep else doc.data)
        if options.overlay and isinstance(doc.data, list):
            _json_patch_findings(plan, doc)
            continue
        sites = []
        for site, state in workload_sites(doc.data, options.custom_resources):
            if state == "pod":
                sites.append(site)
            else:
                _podless(plan, doc, site, state, options)
        if not sites:
            if isinstance(doc.data, dict) and "apiVersion" in doc.data and "kind" in doc.data:
                plan.kubernetes = True
            continue
        plan.kubernetes = True
        first_change, first_finding = len(plan.changes), len(plan.findings)
        working = _Working(doc.data)
        unplaced: list[tuple[Reported, tuple]] = []  # findings whose line is looked up once known to be needed
        for site in sites:
            _run_rules(plan, doc, site, working, options, inventory, unplaced)
        if len(plan.changes) == first_change:
            _place(doc, unplaced)
            continue
        own = {doc.index: doc}
        findings = plan.findings[first_finding:]
        changes = _merged(plan.changes[first_change:], findings, text, own)
        changes, edits = _editable_changes(changes, findings, text, own, working)
        del working
        plan.changes[first_change:] = changes
        if lines or doc.index not in edits:
            _place(doc, unplaced)
        if doc.index in edits:
            doc_splices, intended = edits[doc.index]
            expected[-1] = keep(intended) if keep else intended
            splices.extend(doc_splices)
    if plan.changes:
        splices.sort(key=lambda s: (s[0], s[1]))
        plan.new_text = apply_splices(text, splices)
        verify(plan.new_text, expected, keep)


FINGERPRINT_FROM = 1 << 20  # characters: from this size on, a file keeps fingerprints of its intended data


def fingerprint(data: Any) -> int:
    """A hash of plain data that is equal for equal data (mapping order aside), so a large file need not
    keep every document's data until its rewrite is verified."""
    return hash(_canonical(data))


def _canonical(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return frozenset((_canonical(k), _canonical(v)) for k, v in value.items())
    if kind is list:
        return ("list", tuple(_canonical(v) for v in value))
    if kind is float:
        return ("float", repr(value))  # NaN: equal by spelling, as == is for the same object
    try:
        hash(value)
    except TypeError:  # a set, or another unhashable value a tag may give
        return (kind.__name__, repr(value))
    return (kind.__name__, value)


class _Working:
    """The document's data as the fixes accepted so far leave it (rules read earlier rules' fixes): the
    parsed data itself until the first fix, then a copy (most documents of a hardened tree get none).
    It records each operation and whether it changed anything, so the editor, given the same operations
    in the same order, need not perform them again (``Editor.edit``'s ``performed``)."""

    __slots__ = ("data", "copied", "ops", "noops")

    def __init__(self, data: Any):
        self.data, self.copied = data, False
        self.ops: list[O.Op] = []
        self.noops: list[bool] = []

    def apply(self, ops: tuple, pod: Pod) -> None:
        if not self.copied:
            self.data, self.copied = O.clone(self.data), True
            pod.doc = self.data
        for op in ops:
            noop = O.is_noop(self.data, op)
            if not noop:
                O.perform(self.data, op)
            self.ops.append(op)
            self.noops.append(noop)

    def performed(self, op_list: list[O.Op]) -> tuple[list[bool], Any] | None:
        """Which of ``op_list`` were no-ops and the data they left, when ``op_list`` is exactly what was
        performed here (the same operations in the same order); None otherwise."""
        if len(op_list) != len(self.ops) or any(a is not b for a, b in zip(op_list, self.ops)):
            return None
        return self.noops, self.data


def _podless(plan: FilePlan, doc: Document, site: PodSite, state: str, options: Options) -> None:
    """An object of a pod-holding kind without a pod: a Kustomize ``$patch: delete`` (a note on the file),
    or one the API server refuses (a valid-pod finding where the pod spec should be)."""
    plan.kubernetes = True
    if state == "deleted":
        note = f"Kustomize patch `$patch: delete` of {site.resource}: it removes the object from the build it is " \
               "applied to; nothing to harden"
        plan.note = note if plan.note is None else f"{plan.note}; {note}"
        return
    rule = next((r for r in options.rules if isinstance(r, ValidPod)), None)
    if rule is None or options.overlay:  # a patch is a partial object: its base holds the pod
        return
    containers_at = next((site.object_path + p for p in (("spec", "containers"), ("spec", "template", "containers"))
                          if isinstance(O.get(doc.data, site.object_path + p), list)), None)
    finding = rule.without_pod(site.kind, site.path[len(site.object_path):], containers_at and
                               containers_at[len(site.object_path):])
    rep = Reported(finding, plan.path, _line_of(doc, site.path), site.resource, "report")
    plan.findings.append(rep)
    wants_fix(rep, _exempt(doc, site), options)


def _exempt(doc: Document, site: PodSite) -> Any:
    """The exemptions of a pod: its object's and its own annotations and labels."""
    return exempt_ids_of(O.get(doc.data, path) for path in (site.object_path + ("metadata",), site.meta_path))


def _place(doc: Document, unplaced: list[tuple[Reported, tuple]]) -> None:
    """Give these findings their lines (while the document's nodes are still there)."""
    for rep, path in unplaced:
        rep.line = _line_of(doc, path)


def _run_rules(plan: FilePlan, doc: Document, site: PodSite, working: _Working, options: Options,
               inventory: Inventory, unplaced: list[tuple[Reported, tuple]]) -> None:
    exempt = _exempt(doc, site)
    pod = Pod(working.data, site.path, site.meta_path, site.kind, site.name, site.namespace, options.profile,
              options.settings, inventory, options.unsafe_fixes)
    changes: dict[tuple, Change] = {}
    resource = site.resource
    for rule in options.rules:
        findings = list(rule.check(pod))  # the rule reads data that its fixes change
        if isinstance(rule, ValidPod) and findings and not options.overlay:
            plan.findings.extend(Reported(f, plan.path, _line_of(doc, f.path), resource, "report") for f in findings)
            for rep in plan.findings[-len(findings):]:
                wants_fix(rep, exempt, options)
            return  # a pod the API server refuses: nothing else is judged or added
        for finding in findings:
            if options.overlay and not (finding.fix is Fix.UNSAFE and _overrides(working.data, finding.ops)):
                continue  # a patch adds nothing: what it leaves out comes from its (hardened) base
            rep = Reported(finding, plan.path, 0, resource, "report")
            unplaced.append((rep, finding.path))
            plan.findings.append(rep)
            if not wants_fix(rep, exempt, options):
                continue
            blocked = None
            for op in finding.ops:
                blocked = O.conflict(working.data, op)
                if blocked is not None:
                    break
            if blocked is not None:
                rep.status = "unfixable"
                rep.note = f"cannot be edited safely: {'.'.join(map(str, blocked))} is not of the expected type"
                continue
            # one change per rule and pod (pod-level rules) or per rule and container
            key = (site.path, finding.rule, finding.container if rule.level == "container" else None)
            change = changes.get(key)
            if change is None:
                cid = f"{doc.index}:{'.'.join(map(str, site.path))}:{finding.rule}:{key[2] or ''}"
                change = changes[key] = Change(cid, finding.rule, finding.fix, doc.index, resource,
                                               key[2], _line_of(doc, finding.path), [], [])
            elif finding.fix is Fix.UNSAFE:
                change.fix = Fix.UNSAFE
            change.ops.extend(finding.ops)
            change.messages.append(finding.message)
            rep.status, rep.change_id = "fix", change.id
            working.apply(finding.ops, pod)
    plan.changes.extend(changes.values())


def wants_fix(rep: Reported, exempt: Any, options: Options) -> bool:
    """Whether a finding's operations should be applied: not exempt, fixable, and safe or allowed unsafe.

    Marks ``rep`` exempt or unsafe on the way; every source backend triages its findings through here.
    """
    finding = rep.finding
    by = exempted_by(finding, exempt)
    if by:
        rep.status, rep.note = "exempt", f"exempted by {by}"
        return False
    if finding.fix is Fix.REPORT or not finding.ops:
        return False
    if finding.fix is Fix.UNSAFE and not options.unsafe_fixes:
        rep.status, rep.note = "unsafe", "unsafe fix not applied (use --unsafe-fixes)"
        return False
    return True


def _json_patch_findings(plan: FilePlan, doc: Document) -> None:
    """A JSON 6902 patch (a list of operations) that writes weak values over its base: report-only findings
    on the operations (what the base ends up with depends on the base, which is where kfix hardens)."""
    for i, op in enumerate(doc.data):
        if not (isinstance(op, dict) and op.get("op") in ("add", "replace") and isinstance(op.get("path"), str)
                and "value" in op):
            continue
        steps = tuple(part.replace("~1", "/").replace("~0", "~") for part in op["path"].strip("/").split("/"))
        for field_path, field_name, value in weakening_fields(steps, op["value"]):
            finding = patch_finding("/".join(field_path), field_name, value, (i, "value"))
            plan.findings.append(Reported(finding, plan.path, _line_of(doc, (i, "value")), f"JSON patch operation {i + 1}",
                                          "report"))
            plan.kubernetes = True


_MISSING = object()


def _overrides(data: Any, ops: tuple) -> bool:
    """Do the operations change a value that is there (rather than add one that is missing)?"""
    return any(O.get(data, op.path, _MISSING) is not _MISSING for op in ops if not isinstance(op, O.Append))


def _line_of(doc: Document, path: tuple) -> int:
    """Line of the deepest existing node on ``path`` (1-based); lookups are cached per document."""
    cache = doc.lines
    if path in cache:
        return cache[path][1]
    if not path:
        cache[path] = (doc.node, doc.line)
        return doc.line
    _line_of(doc, path[:-1])
    node, line = cache[path[:-1]]
    key = path[-1]
    nxt = None
    if isinstance(node, MappingNode):
        nxt = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
    elif isinstance(node, SequenceNode) and isinstance(key, int) and key < len(node.value):
        nxt = node.value[key]
    cache[path] = (nxt, nxt.start_mark.line + 1) if nxt is not None else (None, line)
    return cache[path][1]


def _merge_shared(plan: FilePlan, text: str, docs: list[Document]) -> list[Change]:
    """Changes whose edits land on the same anchored node can only be made together: merge them."""
    return _merged(plan.changes, plan.findings, text, {d.index: d for d in docs})


def _merged(changes: list[Change], findings: list[Reported], text: str, docs: dict[int, Document]) -> list[Change]:
    out: list[Change] = []
    owner: dict[tuple[int, int], Change] = {}  # (document, anchored node) -> the change that edits it
    renamed: dict[str, str] = {}
    editors = {i: Editor(text, d) for i, d in docs.items() if d.shared}
    for change in changes:
        editor = editors.get(change.doc)
        anchors = editor.shared_nodes(change.ops) if editor else set()
        target = next((owner[(change.doc, a)] for a in anchors if (change.doc, a) in owner), None)
        if target is None:
            out.append(change)
            target = change
        else:
            target.ops.extend(change.ops)
            target.messages.extend(change.messages)
            if target.container != change.container:
                target.container = None
            if change.fix is Fix.UNSAFE:
                target.fix = Fix.UNSAFE
            renamed[change.id] = target.id
        for a in anchors:
            owner.setdefault((change.doc, a), target)
    if renamed:
        for rep in findings:
            if rep.change_id in renamed:
                rep.change_id = renamed[rep.change_id]
    return out


def _editable(plan: FilePlan, text: str, docs: list[Document]) -> tuple[list[Change], dict]:
    """Drop the changes the editing backend cannot express (reported as unfixable).

    Returns the kept changes and, per document, the splices and expected data for all of them.
    """
    return _editable_changes(plan.changes, plan.findings, text, {d.index: d for d in docs})


def _editable_changes(changes_in: list[Change], findings: list[Reported], text: str,
                      docs: dict[int, Document], working: _Working | None = None) -> tuple[list[Change], dict]:
    """``working``: the one document's data as planning left it, to spare the editor performing the same
    operations again."""
    by_doc: dict[int, list[Change]] = {}
    for change in changes_in:
        by_doc.setdefault(change.doc, []).append(change)
    keep: list[Change] = []
    edits: dict[int, tuple[list, Any]] = {}
    for index, changes in by_doc.items():
        editor = Editor(text, docs[index])
        op_list = [op for c in changes for op in c.ops]
        try:
            edits[index] = editor.edit(op_list, working.performed(op_list) if working is not None else None)
            keep.extend(changes)
            continue
        except EditUnsupported:
            pass
        good: list[Change] = []
        for change in changes:
            try:
                edits[index] = editor.edit([op for c in good + [change] for op in c.ops])
                good.append(change)
            except EditUnsupported as exc:
                _mark_unfixable(findings, change, exc)
        if not good:
            edits.pop(index, None)
        keep.extend(good)
    return keep, edits


def _mark_unfixable(findings: list[Reported], change: Change, exc: EditUnsupported) -> None:
    for rep in findings:
        if rep.change_id == change.id:
            rep.status, rep.change_id = "unfixable", None
            rep.note = f"cannot be edited safely: {exc.message}" + (f" (line {exc.line})" if exc.line else "")


def render(text: str, docs: list[Document], changes: list[Change]) -> str:
    """The text with ``changes`` applied, verified to re-parse to exactly the intended data."""
    by_doc: dict[int, list[O.Op]] = {}
    for change in changes:
        by_doc.setdefault(change.doc, []).extend(change.ops)
    edits = {index: Editor(text, docs[index]).edit(doc_ops) for index, doc_ops in by_doc.items()}
    return _finish(text, docs, edits)


def _finish(text: str, docs: list[Document], edits: dict[int, tuple[list, Any]]) -> str:
    splices = []
    expected = [d.data for d in docs]
    for index, (doc_splices, data) in edits.items():
        splices.extend(doc_splices)
        expected[index] = data
    splices.sort(key=lambda s: (s[0], s[1]))
    new_text = apply_splices(text, splices)
    verify(new_text, expected)
    return new_text


def verify(new_text: str, expected: list[Any], keep: Callable[[Any], Any] | None = None) -> None:
    """Re-parse the rewrite and compare with the intended data (``keep``: the form ``expected`` holds it
    in, e.g. ``fingerprint``); a mismatch is never written. One document at a time: the rewrite's nodes
    are never all alive at once."""
    count = 0
    try:
        for doc in iter_documents(new_text, find_shared=False):
            actual = keep(doc.data) if keep else doc.data
            if doc.index >= len(expected) or actual != expected[doc.index]:
                if keep is not None:
                    raise VerificationError(f"rewrite differs from the intended data in document {doc.index + 1}",
                                            doc.line)
                want = expected[doc.index] if doc.index < len(expected) else None
                raise VerificationError(explain_mismatch(want, doc.data, doc.index), doc.line)
            count += 1
    except InputError as exc:
        raise VerificationError(f"the rewrite does not parse ({exc.message})", exc.line) from None
    if count != len(expected):
        raise VerificationError(f"rewrite differs from the intended data: {count} documents instead of "
                                f"{len(expected)}")


def explain_mismatch(expected: Any, actual: Any, index: int = 0) -> str:
    """What differs, with paths as ``root[<document>][...]``."""
    try:
        from deepdiff import DeepDiff

        return "rewrite differs from the intended data: " + \
            str(DeepDiff([expected], [actual], verbose_level=2)).replace("root[0]", f"root[{index}]")[:500]
    except Exception:  # pragma: no cover - deepdiff is a dependency; keep the message useful anyway
        return "rewrite differs from the intended data"


def render_subset(plan: FilePlan, change_ids: set[str]) -> str:
    """The file's text with only the chosen changes applied (for review), verified."""
    assert plan.source is not None
    render_changes = getattr(plan, "render_changes", None)
    if render_changes is not None:  # another backend (Helm values files: with their `## @param` lines)
        return render_changes(change_ids)
    text = plan.source.text
    chosen = [c for c in plan.changes if c.id in change_ids]
    if not chosen:
        return text
    if plan.parsed is None:  # review renders many subsets of one file: parse it once
        plan.parsed = parse(text)
    return render(text, plan.parsed, chosen)
