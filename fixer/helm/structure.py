"""What a template writes inside a field, for the values backend.

Discovery (``kfix.helm.templates``) says which values key feeds a field, or that the template
writes it literally (with its file and line). For a literal field kfix needs more: which keys the
template writes, with which values, under which conditions — so it knows what the rendered pod
has, and whether a fix can still go through values (a sub-key rendered from ``.Values.x``, a block
behind ``if .Values.flag``). This module rebuilds the same line layout as discovery and reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kfix.helm import absval as A
from kfix.helm import chartfiles
from kfix.helm.layout import MASK, Stream, YNode, build
from kfix.helm.templates import _parse_all
from kfix.helm.walk import ROOT_ENV, Cond, Evaluator

UNKNOWN_VALUE = "<set by the template>"  # stands for a scalar the template computes
_OTHER_KINDS = re.compile(r"kind:\s*[\"']?(RoleBinding|ClusterRoleBinding|NetworkPolicy|ResourceQuota)\b")


@dataclass
class LNode:
    """One key of a field as the template writes it.

    kind: "map" (literal keys below), "scalar" (a literal value), "leaf" (a scalar from a values
    path), "values" (a mapping or list rendered from a values path), "unknown".
    gates: values paths that must be truthy for the key to render; unknown_cond: it renders under
    a condition kfix cannot evaluate.
    """

    kind: str
    template: str
    line: int
    value: Any = None
    path: tuple = ()
    omit: tuple = ()
    children: dict[str, "LNode"] = field(default_factory=dict)
    gates: tuple[tuple[str, ...], ...] = ()
    unknown_cond: str = ""


class Layout:
    """The template line trees of a chart (and its subcharts), indexed by file and line."""

    def __init__(self, chart_dir: Path, only: set[str] | None = None):
        """``only``: chart-relative templates to lay out (those with pods); others are laid out only
        when they may hold role bindings or namespace policies."""
        cf = chartfiles.load(Path(chart_dir))
        trees, helpers, _notes = _parse_all(cf)
        self.ev = Evaluator(helpers)
        stream = Stream(self.ev, helpers)
        self.keyed: dict[tuple[str, int, str], YNode] = {}
        self.items: dict[tuple[str, int], YNode] = {}
        self.rbac: list[tuple[str, int, str]] = []  # (template, line, kind) of role bindings
        self.policies: list[tuple[str, int, str]] = []  # NetworkPolicy / ResourceQuota
        for chart in cf.all():
            if chart.library:
                continue
            for rel, text in chart.files.items():
                base = rel.rsplit("/", 1)[-1]
                if base.startswith("_") or base == "NOTES.txt":
                    continue
                path = chart.prefix + rel
                tree = trees.get(path)
                if tree is None:
                    continue
                if only is not None and path not in only and not _OTHER_KINDS.search(text):
                    continue
                try:
                    docs = build(stream.lines(text, path, tree, 0, len(text), ROOT_ENV, ()))
                except Exception:  # noqa: BLE001 - discovery already noted what it could not read
                    continue
                for doc in docs:
                    self._index(doc)

    def _index(self, doc: YNode) -> None:
        stack = [doc]
        while stack:
            n = stack.pop()
            if n.line is not None:
                if n.key:
                    self.keyed.setdefault((n.line.path, n.line.lineno, n.key), n)
                else:
                    self.items.setdefault((n.line.path, n.line.lineno), n)
            if n.key == "kind" and n.parent is not None and n.parent.key == "":
                kind = n.raw_value.strip().strip("\"'")
                if kind in ("RoleBinding", "ClusterRoleBinding"):
                    self.rbac.append((n.line.path, n.line.lineno, kind))
                elif kind in ("NetworkPolicy", "ResourceQuota"):
                    self.policies.append((n.line.path, n.line.lineno, kind))
            stack.extend(n.children)

    # -- lookups ----------------------------------------------------------------------------------
    def field_node(self, template: str, line: int, key: str) -> YNode | None:
        return self.keyed.get((template, line, key))

    def pod_spec(self, template: str, line: int, path: tuple[str, ...]) -> YNode | None:
        kind = self.keyed.get((template, line, "kind"))
        if kind is None or kind.parent is None:
            return None
        cur = [kind.parent]
        for key in path:
            cur = [c for n in cur for c in n.child(key)]
        return cur[0] if cur else None

    def container(self, template: str, line: int) -> YNode | None:
        return self.items.get((template, line))

    # -- reading ----------------------------------------------------------------------------------
    def local_conds(self, node: YNode, owner: YNode | None) -> tuple[Cond, ...]:
        mine = node.info.conds if node.info else ()
        theirs = owner.info.conds if owner is not None and owner.info else ()
        return tuple(c for c in mine if not any(c is o for o in theirs))

    def gates(self, conds: tuple[Cond, ...]) -> tuple[tuple[tuple[str, ...], ...], str]:
        """Values paths that must be truthy, and a description of any condition kfix cannot judge."""
        out: list[tuple[str, ...]] = []
        unknown = []
        for c in conds:
            if c.negated or not c.truthy or c.word.split()[-1] not in ("if", "with"):
                unknown.append(c.describe() or c.word)
                continue
            if c.word.split()[-1] == "if" and not _plain_truth(c.text, len(c.truthy)):
                unknown.append(c.describe())
                continue
            out.extend(c.truthy)
        return tuple(out), " and ".join(unknown)

    def values_source(self, node: YNode) -> A.AV | None:
        """The single output action that renders a key's whole content, evaluated."""
        outs = [o for o in node.inline + node.content if not o.expanded]
        if len(outs) != 1 or node.children:
            return None
        if node.value.replace(MASK, "").strip():
            return None
        return self.ev.output(outs[0].act, outs[0].info.env)

    def values_list(self, owner: YNode, key: str) -> tuple[tuple[str, ...], tuple] | None:
        """The values list that a key's items come from (`volumes: {{ toYaml .Values.volumes }}`)."""
        for n in owner.child(key):
            for o in n.inline + n.content:
                if o.expanded:
                    continue
                av = self.ev.output(o.act, o.info.env)
                if isinstance(av, A.VPath) and av.path and "*" not in av.path and not av.omit:
                    # `if (or ... .Values.x.extraVolumes ...)`: holds once the list has an entry
                    conds = tuple(c for c in self.local_conds(n, owner) if not _or_with(c, av.path))
                    gates, unknown = self.gates(conds)
                    if unknown:
                        continue
                    return av.path, gates
        return None

    def ranged_items(self, owner: YNode, key: str) -> dict[tuple[str, ...], dict[str, tuple]]:
        """Items of a list the template writes once per entry of a values list, with nothing but the entry's
        own keys and literals in them (grafana's `range .Values.extraEmptyDirMounts` writes a mount
        `name: {{ .name }}` + `mountPath: {{ .mountPath }}` and a volume `name: {{ .name }}` + `emptyDir: {}`):
        values list path -> {item key: ("entry", entry key) or ("literal", value)}."""
        out: dict[tuple[str, ...], dict[str, tuple]] = {}
        for n in owner.child(key):
            for item in n.items():
                conds = self.local_conds(item, owner)
                if len(conds) != 1 or conds[0].word != "range" or item.inline or item.content or \
                        item.value.replace(MASK, "").strip():
                    continue
                fields: dict[str, tuple] = {}
                lists = set()
                for ch in item.children:
                    if not ch.key or ch.key in fields or self.local_conds(ch, item) or ch.children:
                        break
                    av = self.values_source(ch)
                    if isinstance(av, A.VPath) and len(av.path) >= 3 and av.path[-2] == "*" and \
                            av.fallback is None and not av.omit and "*" not in av.path[:-2]:
                        lists.add(av.path[:-2])
                        fields[ch.key] = ("entry", av.path[-1])
                    elif not (ch.inline or ch.content) and ch.value.strip() == "{}":
                        fields[ch.key] = ("literal", {})
                    else:
                        break
                else:
                    if len(lists) == 1 and fields:
                        out.setdefault(lists.pop(), fields)
        return out

    def fallback(self, node: YNode, path: tuple) -> LNode | None:
        """What a field's template writes when the values key ``path`` that renders it is empty
        (`if .Values.x` toYaml ... `else` literal keys `end`), as a map LNode; None when nothing.

        Setting the key drops these keys from the render, so a values edit must carry them."""
        branch = None
        for o in node.inline + node.content:
            if o.expanded or o.info is None:
                continue
            for c in o.info.conds:
                if c.word.split()[-1] in ("if", "with") and "else" not in c.word and tuple(path) in c.truthy:
                    branch = c
        if branch is None:
            return None
        out = LNode("map", node.line.path if node.line else "", node.line.lineno if node.line else 0)
        for ch in node.children:
            if not ch.key or ch.key in out.children:
                continue
            conds = self.local_conds(ch, node)
            other = tuple(x for x in conds if not (x.block is branch.block and x.word == "else"))
            if len(other) == len(conds):
                continue  # rendered whether the key is set or not
            child = self._lnode(ch, node)
            child.gates, child.unknown_cond = self.gates(other)
            out.children[ch.key] = child
        return out if out.children else None

    def literal(self, node: YNode) -> LNode:
        """A field the template writes itself, as an LNode tree."""
        return self._lnode(node, None)

    def _lnode(self, n: YNode, owner: YNode | None) -> LNode:
        path, lineno = (n.line.path, n.line.lineno) if n.line else ("", 0)
        gates, unknown = self.gates(self.local_conds(n, owner)) if owner is not None else ((), "")
        base = dict(template=path, line=lineno, gates=gates, unknown_cond=unknown)
        outs = [o for o in n.inline + n.content if not o.expanded]
        if outs:
            av = self.values_source(n)
            if isinstance(av, A.VPath) and av.path and "*" not in av.path:
                single_inline = len(n.inline) == 1 and not n.content and not outs[0].reindent
                return LNode("leaf" if single_inline else "values", path=av.path, omit=av.omit, **base)
            return LNode("unknown", **base)
        value = n.value.strip()
        if value:
            if value.startswith(("|", ">")):
                return LNode("unknown", **base)
            try:
                return LNode("scalar", value=yaml.safe_load(n.raw_value), **base)
            except yaml.YAMLError:
                return LNode("unknown", **base)
        if not n.children:
            return LNode("scalar", value=None, **base)
        if all(c.key is None for c in n.children):
            items = []
            for c in n.children:
                if c.inline or c.content or MASK in c.value or self.local_conds(c, n):
                    return LNode("unknown", **base)
                if c.children:  # a mapping item (`- name: x`): literal keys only
                    item = self._lnode(c, n) if not c.value.strip() else None
                    if item is None or not _static(item):
                        return LNode("unknown", **base)
                    items.append(evaluate(item, {}, lambda _values, _path: None)[1])
                    continue
                try:
                    items.append(yaml.safe_load(c.raw_value))
                except yaml.YAMLError:
                    return LNode("unknown", **base)
            return LNode("scalar", value=items, **base)
        out = LNode("map", **base)
        for c in n.children:
            if c.key and c.key not in out.children:
                out.children[c.key] = self._lnode(c, n)
        return out


def _or_with(cond: Cond, path: tuple) -> bool:
    """`if or A B ...` (parenthesised or not) with the values path ``path`` among its operands."""
    words = cond.text.strip().strip("()").split()
    return cond.word.split()[-1] == "if" and not cond.negated and len(words) > 1 and words[0] == "or" and \
        ".Values." + ".".join(path) in words[1:]


def _static(node: LNode) -> bool:
    """A literal tree with no values, conditions or computed parts in it."""
    if node.gates or node.unknown_cond:
        return False
    if node.kind == "map":
        return all(_static(c) for c in node.children.values())
    return node.kind == "scalar"


def _plain_truth(text: str, n: int) -> bool:
    """`if .Values.a` or `if and .Values.a .Values.b`: a condition that is exactly its paths' truth."""
    words = text.split()
    if not words:
        return False
    if words[0] == "and":
        words = words[1:]
    return len(words) == n and all(w.startswith((".", "$")) and "(" not in w for w in words)


def evaluate(node: LNode, values: dict, get) -> tuple[bool, Any]:
    """(renders, data) of a literal tree under ``values``; ``get(values, path)`` reads a path."""
    if node.unknown_cond:
        return False, None
    if any(not _truthy(get(values, g)) for g in node.gates):
        return False, None
    if node.kind == "scalar":
        return True, node.value
    if node.kind == "leaf":
        return True, get(values, node.path)
    if node.kind == "values":
        v = get(values, node.path)
        if isinstance(v, dict) and node.omit:
            v = {k: x for k, x in v.items() if k not in node.omit}
        return True, v
    if node.kind == "unknown":
        return True, UNKNOWN_VALUE
    data = {}
    for key, child in node.children.items():
        ok, v = evaluate(child, values, get)
        if ok:
            data[key] = v
    return True, data


def _truthy(value: Any) -> bool:
    from kfix.helm.values import truthy

    return truthy(value)
