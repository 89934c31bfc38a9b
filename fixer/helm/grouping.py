"""From findings to changes: one change per values key a group of findings edits, refused when the
pods sharing the key need different values, when the chart's schema forbids the edit, or when
turning a gate on would also apply what only an unsafe fix may change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kfix import ops as O
from kfix.planner import Reported
from kfix.helm.charts import ChartNode
from kfix.helm.schema import check_ops
from kfix.helm.synthetic import Consumer, Source
from kfix.helm.values import prefixed


@dataclass
class Want:
    """A finding kfix can fix through values: its translated operations."""

    rep: Reported
    consumer: Consumer
    chart: ChartNode
    key: tuple  # change group: (chart prefix, rule, field anchor)
    vops: list[O.Op]
    field_prefix: tuple  # the synthetic field it edits (for gate checks)
    src: Source
    flip: tuple | None = None  # gate it turns on


def group_wants(wants: list[Want], unsafe_in: list[tuple[Consumer, tuple]],
                refusals: list[tuple[ChartNode, str, tuple, Consumer]]) -> dict[tuple, list[Want]]:
    """The wants grouped into changes; the groups refused here get their findings' status and reason."""
    groups: dict[tuple, list[Want]] = {}
    for w in wants:
        groups.setdefault(w.key, []).append(w)
    # gates: turning one on also turns on what a person wrote under it
    blocked = {(id(c), p) for c, p in unsafe_in}
    for key, ws in list(groups.items()):
        if any(w.flip and (id(w.consumer), w.field_prefix) in blocked for w in ws):
            drop(ws, "report", "turning on the gate would also apply settings that kfix only fixes with "
                               "--unsafe-fixes")
            del groups[key]
    # shared keys: one edit, unless the consumers need different things
    for key, ws in list(groups.items()):
        why = conflict(ws, refusals)
        if why:
            drop(ws, "report", why)
            del groups[key]
    return groups


def conflict(ws: list[Want], refusals: list[tuple[ChartNode, str, tuple, Consumer]]) -> str:
    sets: dict[tuple, Any] = {}
    for w in ws:
        for op in w.vops:
            if isinstance(op, O.Set):
                if op.path in sets and sets[op.path] != op.value:
                    return (f"values key {'.'.join(map(str, op.path))} is shared by several workloads that need "
                            "different values")
                sets[op.path] = op.value
    asking: dict = {}
    for w in ws:
        for op in w.vops:
            asking.setdefault(repr(op), set()).add(id(w.consumer))
    rule = ws[0].rep.rule
    for chart, r, path, consumer in refusals:
        if r != rule or chart is not ws[0].chart:
            continue
        for w in ws:
            for op in w.vops:
                if tuple(op.path[:len(path)]) == tuple(path) and id(consumer) not in asking[repr(op)]:
                    return (f"values key {'.'.join(map(str, path))} is shared with {consumer.label}, which must "
                            f"not get {'.'.join(map(str, op.path))} ({rule} reports why there)")
    return ""


def drop(ws: list[Want], status: str, note: str) -> None:
    for w in ws:
        w.rep.status, w.rep.note, w.rep.change_id = status, note, None


def schema_error(chart: ChartNode, vops: list[O.Op]) -> str | None:
    for schema, prefix, owner in chart.schemas:
        err = check_ops(schema, owner.eff, [prefixed(op, prefix) for op in vops])
        if err:
            return err
    return None


def anchor(src: Source, vops: list[O.Op]) -> tuple:
    """What makes two findings one change: the same values key (a shared ref), or, for a field
    the template writes with values inside, the same values keys edited."""
    if src.kind in ("values", "computed", "preset"):
        return src.path
    return tuple(sorted({".".join(map(str, op.path)) for op in vops}))
