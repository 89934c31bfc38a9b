"""Plan one Python file: read its pods, run the rules unchanged, turn their operations into source edits.

The plan is a ``FilePlan`` like a YAML file's: findings with file:line, changes (one rule on one pod or
container) that review, apply, the bot and the decisions file handle as for manifests. Any subset of
the changes renders through the same checks: the rewrite parses, keeps every comment, its syntax tree
is the original's plus exactly the intended edits, its pods read back as the intended data, and (for
the full plan) a second run would change nothing.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from kfix.rules import Finding, Fix, Inventory, Pod
from kfix.rules.exemptions import exempt_ids_of, exempted_by

from kfix import ops as O
from kfix.errors import EditUnsupported, InputError, VerificationError
from kfix.planner import Change, FilePlan, Options, Reported, explain_mismatch, wants_fix
from kfix.python import cdk8s_plus as plus
from kfix.python.names import PLUS
from kfix.python.proof import prove_client_edits
from kfix.python.reader import Obj, Seq, Source, Unknown, Value, data
from kfix.python.sites import PodSite, locate
from kfix.python.verify import check_rewrite
from kfix.python.writer import Edits
from kfix.yaml.source import SourceText

__all__ = ["PythonPlan", "plan_python", "mentions_kubernetes"]

# A file that names none of the libraries and has no "containers" key holds no pod kfix can read.
_PRECHECK = re.compile(r"kubernetes|cdk8s|pulumi_kubernetes|\bimports\b|[\"']containers[\"']")
_SPEC = ("spec",)


def mentions_kubernetes(text: str) -> bool:
    """The cheap test before parsing: does the file import a known library or hold a containers key?"""
    return _PRECHECK.search(text) is not None


@dataclass
class PythonPlan(FilePlan):
    """A Python file's plan; ``render_changes`` renders any subset of its changes, verified."""

    def document_data(self) -> tuple[list[Any], list[Any]]:
        """Each pod's document (kind, its metadata and spec as the code builds them) before and after."""
        assert self.source is not None and self.new_text is not None
        return _documents(self.source.text, self.path), _documents(self.new_text, self.path)

    def render_changes(self, change_ids: set[str]) -> str:
        assert self.source is not None
        chosen = [c for c in self.changes if c.id in change_ids]
        if not chosen:
            return self.source.text
        return render(self.source.text, chosen, self.path)


def decode_python(raw: bytes) -> SourceText:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError("not UTF-8 (UTF-16 byte order mark); kfix reads UTF-8 only", 1)
    if b"\x00" in raw:
        raise InputError("binary file (contains a NUL byte)", raw.count(b"\n", 0, raw.index(b"\x00")) + 1)
    bom = raw.startswith(codecs.BOM_UTF8)
    body = raw[3:] if bom else raw
    try:
        return SourceText(body.decode("utf-8"), bom)
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid UTF-8 (byte 0x{body[exc.start]:02x})", body.count(b"\n", 0, exc.start) + 1) \
            from None


def parse_source(text: str, path: str | None = None) -> Source:
    try:
        return Source(text, path)
    except cst.ParserSyntaxError as exc:
        raise InputError(f"invalid Python: {exc.message}", exc.raw_line) from None
    except RecursionError:
        raise InputError("Python nesting too deep to read", 1) from None


def read_sites(source: Source) -> list[PodSite]:
    sites = []
    for node, snake_keys in source.pod_nodes():
        value = source.value(node, "PodSpec", snake_keys)
        if isinstance(value, Obj) and value.type == "PodSpec":
            sites.append(locate(source, node, value))
    return sites


def plan_python(path: str, raw: bytes, options: Options, inventory: Inventory) -> FilePlan:
    plan = PythonPlan(path)
    try:
        plan.source = decode_python(raw)
        text = plan.source.text
        if not mentions_kubernetes(text):
            return plan
        source = parse_source(text, path)
        sites = read_sites(source)
        unread = source.unreadable_pod_specs() + source.star_unresolved()
        if not sites and not unread:
            return plan
        plan.kubernetes = True
        for value in unread:
            _unreadable_pod(plan, source, value, options)
        for index, site in enumerate(sites):
            _run_rules(plan, source, index, site, options, inventory)
        plan.changes = _expressible(plan, source, sites)
        if plan.changes:
            plan.new_text, rewritten = _render(source, sites, plan.changes)
            _check_fixed_point(path, rewritten, options, inventory)
    except InputError as exc:
        plan.error = exc.located(path)
    except VerificationError as exc:
        plan.error = InputError(f"internal check failed, file not written: {exc.message}", exc.line, path)
        plan.new_text = None
    return plan


def _run_rules(plan: FilePlan, source: Source, index: int, site: PodSite, options: Options,
               inventory: Inventory) -> None:
    spec = data(site.value)
    release = source.plus_line(site.value.ref.module) if site.value.family == PLUS and site.value.ref else None
    if site.value.family == PLUS:
        spec = plus.with_defaults(spec, release)
    doc = {"kind": site.kind or "Pod", "metadata": site.metadata, "spec": spec}
    working = O.clone(doc)
    exempt = _exemptions(site)
    pod = Pod(working, _SPEC, ("metadata",), site.kind or "Pod", site.name or "", site.namespace, options.profile,
              options.settings, inventory, options.unsafe_fixes)
    changes: dict[tuple, Change] = {}
    rules = {r.id: r for r in options.rules}
    _unreadable_containers(plan, site, options, exempt)
    for rule in options.rules:
        for finding in list(rule.check(pod)):
            root = _root(site, finding.path)
            line = line_of(root, finding.path[1:]) if root is not None else site.line
            rep = Reported(finding, plan.path, line, site.resource, "report")
            plan.findings.append(rep)
            if not wants_fix(rep, exempt, options):
                continue
            outside = next((op for op in finding.ops if _root(site, op.path) is None), None)
            if outside is not None:
                rep.status = "unfixable"
                where = ".".join(map(str, outside.path))
                rep.note = (f"cannot be edited safely: {where} is in the pod's metadata, which the code does not "
                            "build as a call or dict kfix can edit" if outside.path[:1] == ("metadata",) else
                            f"cannot be edited safely: {where} is outside the pod spec and its metadata")
                continue
            blocked = next((p for p in (O.conflict(working, op) for op in finding.ops) if p is not None), None)
            if blocked is not None:
                rep.status = "unfixable"
                rep.note = f"cannot be edited safely: {_blocked_why(_root(site, blocked), blocked[1:])}"
                continue
            container = finding.container if rules[finding.rule].level == "container" else None
            key = (finding.rule, container)
            change = changes.get(key)
            if change is None:
                cid = f"py:{index}:{site.line}:{finding.rule}:{container or ''}"
                change = changes[key] = Change(cid, finding.rule, finding.fix, index, site.resource, container,
                                               line, [], [])
            elif finding.fix is Fix.UNSAFE:
                change.fix = Fix.UNSAFE
            for op in finding.ops:
                change.ops.extend(plus.pod_wide(op, spec, release) if site.value.family == PLUS else [op])
            change.messages.append(finding.message)
            rep.status, rep.change_id = "fix", change.id
            for op in finding.ops:
                O.apply_one(working, op)
    plan.changes.extend(changes.values())


def _exemptions(site: PodSite) -> frozenset[str]:
    """What the annotations (and kubeaudit's labels) of the workload object and its pod template exempt."""
    return exempt_ids_of((site.object_metadata, site.metadata))


def _unreadable_pod(plan: FilePlan, source: Source, value: Unknown, options: Options) -> None:
    """A pod spec the code passes as a value kfix cannot read: every rule reports it as not fixable."""
    site = locate(source, value.node, Obj(value.node, "PodSpec", "", value.line))
    exempt = _exemptions(site)
    for rule in options.rules:
        finding = Finding(rule.id, "unreadable", "the pod spec cannot be read from the code", Fix.SAFE, _SPEC)
        _report_unreadable(plan, finding, value, site.resource, exempt, options)


def _report_unreadable(plan: FilePlan, finding: Finding, value: Unknown, resource: str, exempt,
                       options: Options) -> None:
    rep = Reported(finding, plan.path, value.line, resource, "unfixable",
                   f"cannot be edited safely: {value.why}: `{value.code}` (line {value.line}); kfix does not guess it")
    plan.findings.append(rep)
    if exempted_by(finding, exempt):
        wants_fix(rep, exempt, options)


def _unreadable_containers(plan: FilePlan, site: PodSite, options: Options, exempt) -> None:
    """A container whose construction kfix cannot read (a parameter, a call it cannot follow) is no container
    the rules can see: each container rule reports it as not fixable, with the line and the reason."""
    for section in ("initContainers", "containers", "ephemeralContainers"):
        fld = site.value.fields.get(section)
        if fld is None or not isinstance(fld.value, Seq):
            continue
        for i, item in enumerate(fld.value.items):
            if not isinstance(item, Unknown):
                continue
            name = f"{section}[{i}]"
            for rule in options.rules:
                if rule.level != "container":
                    continue
                finding = Finding(rule.id, "unreadable", f"container {name} cannot be read from the code",
                                  Fix.SAFE, ("spec", section, i), name)
                _report_unreadable(plan, finding, item, site.resource, exempt, options)


def _root(site: PodSite, path: tuple) -> Obj | None:
    """The value a document path starts from: the pod spec, or the pod's metadata when the code builds it."""
    if path[:1] == _SPEC:
        return site.value
    if path[:1] == ("metadata",):
        return site.meta
    return None


def _document(site: PodSite) -> dict:
    """The pod's document as kfix edits it: its spec and (when the code builds it) its metadata."""
    return {"spec": data(site.value), "metadata": data(site.meta) if site.meta is not None else {}}


def _documents(text: str, path: str) -> list[dict]:
    return [{"kind": site.kind or "Pod", **_document(site)} for site in read_sites(parse_source(text, path))]


def _blocked_why(value: Value, path: tuple) -> str:
    for key in path:
        if isinstance(value, Obj) and key in value.fields:
            value = value.fields[key].value
        elif isinstance(value, Seq) and isinstance(key, int) and key < len(value.items):
            value = value.items[key]
    if isinstance(value, Unknown):
        return f"{value.why}: `{value.code}` (line {value.line}); kfix does not guess it"
    return f"{'.'.join(map(str, path))} is not of the expected type (line {value.line})"


def line_of(value: Value, path: tuple) -> int:
    """The line of the deepest value on ``path`` that the code writes."""
    line = value.line
    for key in path:
        if isinstance(value, Obj) and key in value.fields:
            value = value.fields[key].value
        elif isinstance(value, Seq) and isinstance(key, int) and key < len(value.items):
            value = value.items[key]
        else:
            break
        line = value.line
    return line


def _edits(source: Source, sites: list[PodSite], changes: list[Change]) -> Edits:
    edits = Edits(source)
    for change in changes:
        site = sites[change.doc]
        for op in change.ops:
            edits.add(_root(site, op.path), O.with_path(op, op.path[1:]))
    return edits


def _expressible(plan: FilePlan, source: Source, sites: list[PodSite]) -> list[Change]:
    """The changes the source can express; the others' findings become unfixable, saying why."""
    try:
        _edits(source, sites, plan.changes)
        return plan.changes
    except EditUnsupported:
        pass
    good: list[Change] = []
    for change in plan.changes:
        try:
            _edits(source, sites, good + [change])
            good.append(change)
        except EditUnsupported as exc:
            for rep in plan.findings:
                if rep.change_id == change.id:
                    rep.status, rep.change_id = "unfixable", None
                    rep.note = f"cannot be edited safely: {exc.message}"
    return good


def render(text: str, changes: list[Change], path: str | None = None) -> str:
    """The text with ``changes`` applied, verified (see the module docstring)."""
    source = parse_source(text, path)
    return _render(source, read_sites(source), changes)[0]


def _render(source: Source, sites: list[PodSite], changes: list[Change]) -> tuple[str, Source]:
    """The rewritten text and its parse, verified."""
    text = source.module.code
    try:
        edits = _edits(source, sites, changes)
    except EditUnsupported as exc:
        raise VerificationError(exc.message, exc.line) from None
    new_text = edits.render()
    prove_client_edits(edits)
    expected = edits.kinds()
    expected["import+"] += len(edits.imports)
    check_rewrite(text, new_text, expected)
    try:
        rewritten = Source(new_text, source.path)
    except cst.ParserSyntaxError as exc:
        raise VerificationError(f"the rewrite does not parse ({exc.message})", exc.raw_line) from None
    again = read_sites(rewritten)
    if len(again) != len(sites):
        raise VerificationError(f"the rewrite has {len(again)} pod specs, the original {len(sites)}")
    for index, (before, after) in enumerate(zip(sites, again)):
        ops = [op for c in changes if c.doc == index for op in c.ops]
        want: Any = O.apply(_document(before), ops)
        got = _document(after)
        if want != got:
            raise VerificationError(explain_mismatch(want, got), after.line)
    return new_text, rewritten


def _check_fixed_point(path: str, source: Source, options: Options, inventory: Inventory) -> None:
    """The rewrite planned again must need no change (a second run is a no-op)."""
    probe = PythonPlan(path)
    sites = read_sites(source)
    for index, site in enumerate(sites):
        _run_rules(probe, source, index, site, options, inventory)
    if _expressible(probe, source, sites):
        first = probe.changes[0]
        raise VerificationError(f"a second run would change the file again ({first.rule} for {first.resource})",
                                first.line)
