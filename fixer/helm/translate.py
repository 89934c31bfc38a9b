"""Translating a rule's operations on a synthetic pod into operations on values keys.

A pod operation goes through the source of the field it touches: a values key takes the rest of
the path under it, a template literal through the values inside it, a values list of volumes or
mounts takes the appended entry. Each translation is checked: the field rendered from the edited
values must have the operation's effect. What cannot go through values comes back as
``(why, (template, line))``.
"""

from __future__ import annotations

from kfix import ops as O
from kfix.helm.charts import ChartNode
from kfix.helm.gates import owned_gate
from kfix.helm.structure import UNKNOWN_VALUE, LNode
from kfix.helm.synthetic import MISSING, Consumer, Source, SyntheticPods, field_data
from kfix.helm.values import truthy

TEMPLATE_CHANGE = "needs a template change"
NOT_RENDERED = "not rendered with these values"


class Translator:
    """Values operations for pod operations, judged against the chart's synthetic pods."""

    def __init__(self, pods: SyntheticPods):
        self.pods = pods
        self.rendered = pods.rendered

    def translate(self, c: Consumer, ops: tuple, values: dict):
        """Values operations for a finding's operations; per op None or (why not, (template, line))."""
        vops: list[O.Op] = []
        problems: list = []
        flips: list[tuple] = []
        prefixes: list[tuple] = []
        first_src: Source | None = None
        pairs = self.paired(c, ops)
        for k, op in enumerate(ops):
            res = pairs[k] if k in pairs else self.translate_one(c, op, O.apply(values, vops) if vops else values)
            if isinstance(res, tuple) and len(res) == 2 and isinstance(res[0], str):
                problems.append(res)
                continue
            ops_out, flip, prefix, src = res
            # the values edit must reach the rendered field exactly as the rule wanted
            trial = O.apply(values, vops + ops_out)
            if not self.reaches(c, op, trial, prefix):
                problems.append((f"the values edit would not reach the rendered {fmt_path(prefix[1:])}",
                                 c.where(op.path)))
                continue
            problems.append(None)
            done = O.apply(values, vops)
            for x in ops_out:  # what the values already say needs no edit
                if x not in vops and not O.is_noop(done, x):
                    vops.append(x)
                    O.apply_one(done, x)
            if flip and flip not in flips:
                flips.append(flip)
            prefixes.append(prefix)
            first_src = first_src or src
        return vops, problems, flips, prefixes, first_src

    def paired(self, c: Consumer, ops: tuple) -> dict[int, object]:
        """A writable emptyDir whose mount and volume one entry of a values list renders both of (grafana's
        `extraEmptyDirMounts`): the mount's operation becomes that entry, the volume's nothing more."""
        out: dict[int, object] = {}
        for j, m in enumerate(ops):
            vpath = c.pairs.get(tuple(m.path)) if isinstance(m, O.Append) else None
            if vpath is None or not isinstance(m.value, dict) or set(m.value) != {"name", "mountPath"}:
                continue
            want = {"name": m.value["name"], "emptyDir": {}}
            i = next((i for i, v in enumerate(ops) if isinstance(v, O.Append) and tuple(v.path) == ("spec", "volumes")
                      and v.value == want and i not in out), None)
            if i is None:
                continue
            why = self.unrendered(c, tuple(m.path))
            if why:
                out[i] = out[j] = (why, c.where(m.path))
                continue
            out[j] = ([O.Append(vpath, dict(m.value), "mountPath")], None, tuple(m.path), None)
            out[i] = ([], None, ("spec", "volumes"), None)
        return out

    def unrendered(self, c: Consumer, prefix: tuple) -> str:
        """Why kfix does not add a writable volume through values here ("" when it may)."""
        if (self.rendered is not None and c.workload is None) or (
                len(prefix) > 3 and tuple(prefix[:3]) not in c.rendered_containers) or (
                self.rendered is None and not self.pods.may_render(c.chart, c.pod, None, None)):
            return f"{NOT_RENDERED}: kfix adds a writable emptyDir only where it can check the rendered pod"
        return ""

    def reaches(self, c: Consumer, op: O.Op, values_after: dict, prefix: tuple) -> bool:
        """Whether the field, rendered from ``values_after``, has the operation's effect."""
        src = c.sources.get(prefix)
        if src is None:  # a values list of volumes or mounts: rendered as it is
            return True
        present, data = field_data(src, values_after, would=False)
        holder = {"f": O.clone(data) if present else None}
        return O.is_noop(holder, O.with_path(op, ("f",) + tuple(op.path[len(prefix):])))

    def translate_one(self, c: Consumer, op: O.Op, values: dict):
        hit = c.source_for(op.path)
        if hit is None:
            return self.translate_list(c, op, values)
        prefix, src = hit
        rest = tuple(op.path[len(prefix):])
        where = (src.template, src.line) if src.template else c.where(op.path)
        if src.kind == "none":
            return (src.note or f"the template does not set {src.fld}", where)
        if src.kind == "preset":
            return (f"resources come from the preset {'.'.join(src.path)}", where)
        if src.kind == "computed":
            if rest or not isinstance(op, O.Set):
                return (f"{src.fld} is {src.note}", where)
            if src.rendered not in (None, MISSING) and src.rendered != O.get(values, src.path):
                return (f"{src.fld} is {src.note}", where)
            return [O.Set(src.path, op.value)], None, prefix, src
        if src.kind == "literal":
            assert src.lnode is not None
            res = self.translate_literal(src.lnode, rest, op, values, (src.template, src.line))
            if isinstance(res[0], str):
                return res
            ops_out, flip = res
            for g in src.lnode.gates:  # the field itself renders only under these
                if not truthy(O.get(values, g)):
                    if not any(owned_gate(g, tuple(x.path)) for x in ops_out):
                        return (f"{src.fld} renders only when {'.'.join(g)} is set, which kfix does not turn on",
                                where)
                    ops_out.insert(0, O.Set(g, True))
                    flip = flip or g
            return ops_out, flip, prefix, src
        # values
        shared = self.sa_keys(c.chart).get(tuple(src.path))
        if shared:
            return (f"values key {'.'.join(map(str, src.path))} also sets the ServiceAccount's "
                    f"automountServiceAccountToken ({shared})", where)
        if rest and rest[0] in src.omit:
            return (f"the chart drops {rest[0]} from {'.'.join(src.path)}", where)
        preset = self.pods.preset_keys.get((c.chart.prefix, tuple(src.path)))
        if preset is not None:
            return (f"values key {'.'.join(map(str, src.path))} would also replace the resources preset "
                    f"{'.'.join(preset)} ({O.get(values, preset)}) that another container renders", where)
        current = O.get(values, src.path)
        if src.fallback is not None and not truthy(current):
            # the template writes its own defaults while the key is empty: the key gets them too
            out = self.with_fallback(src, op, rest, values)
            if out is None:
                return (f"while {'.'.join(src.path)} is empty the template writes {src.fld} itself, with values "
                        "kfix cannot work out, and setting the key would drop them", where)
        elif rest and current is not None and not isinstance(current, dict):
            return (f"values key {'.'.join(src.path)} is not a mapping", where)
        else:
            out = [O.with_path(op, tuple(src.path) + tuple(rest))]
        flip = None
        if src.gate and not truthy(O.get(values, src.gate)):
            if not src.gate_ok:
                return (f"{src.fld} renders only when {'.'.join(src.gate)} is set, which kfix does not turn on",
                        where)
            flip = src.gate
            out.insert(0, O.Set(src.gate, True))
        return out, flip, prefix, src

    @staticmethod
    def with_fallback(src: Source, op: O.Op, rest: tuple, values: dict) -> list[O.Op] | None:
        """The values key set to what the template writes without it, with ``op`` performed on that."""
        present, base = field_data(src, values, would=True)
        base = O.clone(base) if present and base is not None else {}
        if not isinstance(base, dict) or UNKNOWN_VALUE in repr(base):
            return None
        holder = {"f": base}
        O.apply_one(holder, O.with_path(op, ("f",) + tuple(rest)))
        return [O.Set(tuple(src.path), holder["f"])]

    def sa_keys(self, chart: ChartNode) -> dict[tuple, str]:
        """Values keys that a ServiceAccount's automountServiceAccountToken reads (from discovery's notes)."""
        out: dict[tuple, str] = {}
        for note in chart.cmap.notes:
            head, sep, key = note.partition(": ServiceAccount sets automountServiceAccountToken from values ")
            if sep:
                out[tuple(key.strip().split("."))] = head
        return out

    def translate_literal(self, node: LNode, rest: tuple, op: O.Op, values: dict, where: tuple):
        if not rest:
            return ("the template writes the whole field", where)
        key = rest[0]
        child = node.children.get(key) if node.kind == "map" else None
        here = (node.template or where[0], node.line or where[1])
        if child is None:
            return (f"the template writes this field itself, without {key}", here)
        cwhere = (child.template or here[0], child.line or here[1])
        if child.unknown_cond:
            return (f"{key} renders under a condition kfix cannot judge ({child.unknown_cond})", cwhere)
        flips = [g for g in child.gates if not truthy(O.get(values, g))]
        ops_out: list[O.Op] = []
        if child.kind == "values":
            if len(rest) > 1 and rest[1] in child.omit:
                return (f"the chart drops {rest[1]}", cwhere)
            ops_out.append(O.with_path(op, tuple(child.path) + tuple(rest[1:])))
        elif child.kind == "leaf" and len(rest) == 1 and isinstance(op, O.Set) and \
                not isinstance(op.value, (dict, list)):
            ops_out.append(O.Set(child.path, op.value))
        elif child.kind == "map" and len(rest) > 1:
            res = self.translate_literal(child, rest[1:], op, values, cwhere)
            if isinstance(res[0], str):
                return res
            ops_out.extend(res[0])
            flips.extend(g for g in ([res[1]] if res[1] else []) if g not in flips)
        elif child.kind == "map" and isinstance(op, O.Set) and isinstance(op.value, dict) and op.value:
            for k, v in op.value.items():
                res = self.translate_literal(child, (k,), O.Set(rest + (k,), v), values, cwhere)
                if isinstance(res[0], str):
                    return res
                ops_out.extend(res[0])
        else:
            return (f"the template writes {key} itself", cwhere)
        for g in flips:
            if not any(owned_gate(g, tuple(x.path)) for x in ops_out):
                return (f"{key} renders only when {'.'.join(g)} is set, which kfix does not turn on", cwhere)
        return [O.Set(g, True) for g in flips] + ops_out, (flips[0] if flips else None)

    def translate_list(self, c: Consumer, op: O.Op, values: dict):
        where = c.where(op.path)
        for prefix, (vpath, gates) in c.lists.items():
            if tuple(op.path[:len(prefix)]) == prefix and isinstance(op, O.Append) and len(op.path) == len(prefix):
                why = self.unrendered(c, prefix)
                if why:
                    return (why, where)
                current = O.get(values, vpath)
                if current is not None and not isinstance(current, list):
                    return (f"values key {'.'.join(vpath)} is not a list", where)
                return [O.Append(vpath, op.value, op.unique_key)], None, prefix, None
        what = op.path[-1] if op.path else "?"
        if what in ("volumes", "volumeMounts"):
            return (f"no values key adds {what} here (a writable emptyDir needs one, e.g. extraVolumes)", where)
        return (f"{fmt_path(op.path[1:])} is not set through values (kfix edits securityContext, resources and "
                "automountServiceAccountToken)", where)


def fmt_path(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def not_fixed(why: str) -> str:
    if why.startswith(NOT_RENDERED):
        return why
    return f"{TEMPLATE_CHANGE}: {why}"


def is_volume(op: O.Op) -> bool:
    return isinstance(op, O.Append) and bool(op.path) and op.path[-1] in ("volumes", "volumeMounts")


def what_op(op: O.Op) -> str:
    if is_volume(op):
        return "the writable emptyDir volume and its mount"
    return fmt_path(tuple(op.path[1:]))
