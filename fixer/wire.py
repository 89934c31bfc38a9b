"""What a pool worker sends back for a file: its plan packed into tuples of plain values.

A worker keeps of a plan only what the run shows (``kfix.api.keep_only``) and the parent process
collects thousands of them while the workers go on planning. Pickle rebuilds objects by calling their
classes, field by field; tuples of strings and numbers load several times faster, and the parent then
builds each object once. ``unpack(pack(plan, output))`` equals ``plan`` in everything ``output`` keeps.
"""

from __future__ import annotations

from typing import Any

from kfix.rules import Finding, Fix

from kfix.fileio import FileStamp
from kfix.planner import Change, FilePlan, Reported, finding_stub
from kfix.yaml.source import SourceText

_FIX = {fix.value: fix for fix in Fix}
_NO_SOURCE, _EMPTY_SOURCE, _EMPTY_BOM_SOURCE = 0, 1, 2


def pack(plan: FilePlan, output: str | None) -> Any:
    """``plan`` as plain values for the parent, when ``output`` has let go of its texts and operations;
    anything else (a whole plan, another backend's plan) goes as it is."""
    if output not in ("summary", "diff", "findings") or type(plan) is not FilePlan or plan.new_text is not None \
            or plan.parsed is not None or (plan.source is not None and plan.source.text):
        return plan
    full = output == "findings"
    source = _NO_SOURCE if plan.source is None else _EMPTY_BOM_SOURCE if plan.source.bom else _EMPTY_SOURCE
    stamp = plan.stamp
    if stamp is not None:
        stamp = (stamp.dev, stamp.ino, stamp.size, stamp.mtime_ns, stamp.digest)
    findings = tuple(_finding(rep, full) for rep in plan.findings)
    changes = tuple((c.id, c.rule, c.fix.value, c.doc, c.resource, c.container, c.line, c.link, c.requires)
                    for c in plan.changes if not c.ops and not c.messages)
    if len(changes) != len(plan.changes):
        return plan
    return (full, plan.path, source, findings, changes, plan.error, plan.note, plan.kubernetes, stamp, plan.settled,
            plan.diff, plan.cache_entry, plan.declined)


def _finding(rep: Reported, full: bool) -> tuple:
    f = rep.finding
    head = (rep.file, rep.line, rep.resource, rep.status, rep.note, rep.change_id, f.rule, f.facet, f.message,
            f.fix.value)
    return head + (f.path, f.container, f.ops, f.checks) if full else head


def unpack(packed: Any) -> FilePlan:
    """The plan ``pack`` gave (a plan sent as it is comes back as it is)."""
    if isinstance(packed, FilePlan):
        return packed
    full, path, source, findings, changes, error, note, kubernetes, stamp, settled, diff, cache_entry, declined = packed
    plan = FilePlan(path, None if source == _NO_SOURCE else SourceText("", source == _EMPTY_BOM_SOURCE),
                    [_reported(item, full) for item in findings],
                    [Change(cid, rule, _FIX[fix], doc, resource, container, line, [], [], link, requires)
                     for cid, rule, fix, doc, resource, container, line, link, requires in changes],
                    error=error, note=note, kubernetes=kubernetes)
    plan.stamp = FileStamp(*stamp) if stamp is not None else None
    plan.settled, plan.diff, plan.cache_entry, plan.declined = settled, diff, cache_entry, declined
    return plan


def _reported(item: tuple, full: bool) -> Reported:
    file, line, resource, status, note, change_id, rule, facet, message, fix = item[:10]
    if full:
        finding = Finding(rule, facet, message, _FIX[fix], *item[10:])
    else:  # a lean finding: the run's one shared stand-in for its kind (``finding_stub``)
        finding = finding_stub(rule, facet, _FIX[fix], message)
    return Reported(finding, file, line, resource, status, note, change_id)
