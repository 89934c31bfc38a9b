"""Find, from a chart's templates, which values keys feed each pod's and container's
securityContext, resources and automountServiceAccountToken.

Pod vs container comes only from where a value is rendered (the YAML key path in the
template), never from the values key's name: `securityContext` is container-level in
`helm create` charts and pod-level in prometheus-community and cert-manager charts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from kfix.helm import absval as A
from kfix.helm import chartfiles
from kfix.helm.chartfiles import ChartFiles, load_schema
from kfix.helm.gotmpl import TemplateError, defines, parse
from kfix.helm.layout import MASK, Out, Stream, YNode, build, unquote
from kfix.helm.model import (CONTAINER_FIELDS, POD_FIELDS, ChartMap, ContainerTemplate, FieldBinding,
                    PodTemplate, ValuesRef)
from kfix.workloads import BUILTIN_POD_PATHS
from kfix.helm.walk import ROOT_ENV, Cond, Evaluator, Helper, has_text

__all__ = ["discover", "load_schema"]

POD_PATHS = BUILTIN_POD_PATHS
GUESS_PATHS = (("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec"),
               ("template", "spec"), ("spec",))
SECTIONS = ("initContainers", "containers", "ephemeralContainers")


def discover(chart_dir: Path) -> ChartMap:
    """Map a chart directory (and its subcharts) without rendering it.

    Template paths in bindings are relative to chart_dir, so a binding found in a
    library chart's helper reads e.g. `charts/common/templates/_compatibility.tpl`.
    """
    cf = chartfiles.load(Path(chart_dir))
    trees, helpers, notes = _parse_all(cf)
    ev = Evaluator(helpers)
    return _with_helpers(_Mapper(ev, Stream(ev, helpers), trees).chart(cf, notes), helpers)


def _with_helpers(cmap: ChartMap, helpers: dict[str, Helper]) -> ChartMap:
    """The chart map and its subcharts' with the tree's named templates (for names the templates compute)."""
    return replace(cmap, helpers=helpers, subcharts=[_with_helpers(s, helpers) for s in cmap.subcharts])


def _parse_all(cf: ChartFiles) -> tuple[dict[str, list], dict[str, Helper], list[str]]:
    """Parse every template of the chart tree once, and collect the named templates
    (global across the tree; a parent's definition wins, as in Helm)."""
    trees: dict[str, list] = {}
    helpers: dict[str, Helper] = {}
    notes: list[str] = []
    for chart in reversed(cf.all()):
        for rel, text in chart.files.items():
            try:
                tree = trees[chart.prefix + rel] = parse(text)
            except TemplateError as e:
                notes.append(f"{chart.prefix}{rel}:{e.line}: not analysed: {e}")
                continue
            for d in defines(tree):
                helpers[d.name] = Helper(d, text, chart.prefix + rel, has_text(text, d.body))
    return trees, helpers, notes


@dataclass
class _B:
    """A binding under construction, with the conditions local to its owner."""

    b: FieldBinding
    local: tuple[Cond, ...]
    seq: int  # stream position of the key, for source order across included files


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def _list_name(path: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """`sidecars.*.name` -> ("sidecars[*]", ("sidecars",))."""
    head = path[: path.index("*")] if "*" in path else path
    return f"{_dotted(head)}[*]", head


def _local(node_conds: tuple[Cond, ...], owner_conds: tuple[Cond, ...]) -> tuple[Cond, ...]:
    return tuple(c for c in node_conds if not any(c is o for o in owner_conds))


def _conds(x: YNode | Out | None) -> tuple[Cond, ...]:
    info = x.info if x is not None else None
    return info.conds if info else ()


class _Mapper:
    def __init__(self, ev: Evaluator, stream: Stream, trees: dict[str, list]):
        self.ev, self.stream, self.trees = ev, stream, trees

    # -- charts and files ----------------------------------------------------
    def chart(self, cf: ChartFiles, notes: list[str]) -> ChartMap:
        notes = list(cf.errors) + [n for n in notes if n.startswith(cf.prefix) and
                                   not any(n.startswith(s.prefix) for s in cf.subcharts)]
        pods: list[PodTemplate] = []
        for rel, text in cf.files.items():
            base = rel.rsplit("/", 1)[-1]
            if base.startswith("_") or base == "NOTES.txt":
                continue
            path = cf.prefix + rel
            tree = self.trees.get(path)
            if tree is None:
                continue  # could not be parsed: already noted
            docs = build(self.stream.lines(text, path, tree, 0, len(text), ROOT_ENV, ()))
            for doc in docs:
                pods.extend(self.pods(doc, path, notes))
        subs = []
        for s in cf.subcharts:
            if s.library:
                notes.append(f"{s.prefix.rstrip('/')}: library chart {s.name}: named templates only")
            else:
                subs.append(self.chart(s, notes))
        return ChartMap(cf.root, cf.name, pods, subs, notes)

    def pods(self, doc: YNode, path: str, notes: list[str]) -> list[PodTemplate]:
        kinds = doc.child("kind")
        kind = unquote(kinds[0].raw_value) if kinds else ""
        if kind == "ServiceAccount":
            for n in doc.child("automountServiceAccountToken"):
                bs = self.bindings(n, "automountServiceAccountToken", "pod", doc)
                for x in bs:
                    src = f"values {_dotted(x.b.ref.path)}" if x.b.ref else "the template"
                    notes.append(f"{x.b.template}:{x.b.line}: ServiceAccount sets "
                                 f"automountServiceAccountToken from {src}")
            return []
        out = []
        for spec_path in ([POD_PATHS[kind]] if kind in POD_PATHS else GUESS_PATHS):
            for spec in _descend(doc, spec_path):
                if kind not in POD_PATHS and not any(spec.child(s) for s in SECTIONS):
                    continue
                out.append(self.pod(kind, kinds[0] if kinds else spec, spec, notes))
            if out:
                break
        return out

    def pod(self, kind: str, kind_node: YNode, spec: YNode, notes: list[str]) -> PodTemplate:
        bs: list[_B] = []
        for fld in POD_FIELDS:
            for n in spec.child(fld):
                bs.extend(self.bindings(n, fld, "pod", spec))
        for o in spec.content:
            notes.append(f"{o.path}:{o.line}: pod spec keys rendered by {{{{ {o.text} }}}} are not analysed")
        containers: list[ContainerTemplate] = []
        for sec in SECTIONS:
            for sn in spec.child(sec):
                found = [(item.line.seq, self.container(item, sec, spec, notes)) for item in sn.items()]
                found += [(o.seq, self.values_containers(o, sec, sn, notes)) for o in sn.content]
                containers += [c for _, c in sorted(found, key=lambda x: x[0]) if c is not None]
        line = kind_node.line
        return PodTemplate(kind, line.path if line else "", line.lineno if line else 0,
                           [x.b for x in _link(bs)], containers,
                           tuple(c.describe() for c in _conds(kind_node)))

    # -- containers --------------------------------------------------------
    def container(self, item: YNode, sec: str, spec: YNode, notes: list[str]) -> ContainerTemplate:
        bs: list[_B] = []
        for fld in CONTAINER_FIELDS:
            for n in item.child(fld):
                bs.extend(self.bindings(n, fld, "container", item))
        names = item.child("name")
        name = self.plain_name(names[0]) if names else ""
        values_list = None
        whole = item.inline + (item.content if not item.children else [])
        for o in item.content:
            if o not in whole:
                notes.append(f"{o.path}:{o.line}: container keys rendered by {{{{ {o.text} }}}} are not analysed")
        for o in whole:  # `- {{ toYaml ... }}`: the whole container is rendered from values
            av = self.value(o)
            nav = A.access(av, "name")
            if isinstance(nav, A.VPath) and "*" in nav.path:
                name, values_list = _list_name(nav.path)
            elif not A.sources(av):
                notes.append(f"{o.path}:{o.line}: container keys rendered by {{{{ {o.text} }}}} are not analysed")
                continue
            for fld in CONTAINER_FIELDS:
                bs.extend(self.from_value(A.access(av, fld), fld, "container", o, item,
                                          "the whole container comes from values"))
        line = item.line
        return ContainerTemplate(name, [x.b for x in _link(bs)], sec, line.path if line else "",
                                 line.lineno if line else 0,
                                 tuple(c.describe() for c in _local(_conds(item), _conds(spec))), values_list)

    def plain_name(self, node: YNode) -> str:
        """A container's name, with the parts a helper's arguments fix filled in (jenkins's
        `{{ $containerName }}` from `include "jenkins.configReloadContainer" (list $ "config-reload" ...)`)."""
        name = unquote(node.raw_value)
        for o in node.inline:
            av = self.value(o)
            if isinstance(av, A.VLit) and isinstance(av.value, str) and "{{" not in av.value:
                name = re.sub(r"\{\{-?\s*" + re.escape(o.text) + r"\s*-?\}\}", lambda _m: av.value, name, count=1)
        return name

    def values_containers(self, o: Out, sec: str, sn: YNode, notes: list[str]) -> ContainerTemplate | None:
        """Containers spliced in from a values list (`toYaml .Values.extraContainers`)."""
        av = self.value(o)
        if not (isinstance(av, A.VPath) and av.path):
            notes.append(f"{o.path}:{o.line}: {sec} rendered by {{{{ {o.text} }}}} are not analysed")
            return None
        elem = A.element(av)
        name, head = _list_name(elem.path)
        bs: list[_B] = []
        for fld in CONTAINER_FIELDS:
            bs.extend(self.from_value(A.access(elem, fld), fld, "container", o, sn,
                                      "each entry of a values list of containers"))
        return ContainerTemplate(name, [x.b for x in bs], sec, o.path, o.line,
                                 tuple(c.describe() for c in _local(_conds(o), _conds(sn))), head)

    # -- fields ----------------------------------------------------------------
    def value(self, o: Out) -> A.AV:
        return self.ev.output(o.act, o.info.env)

    def bindings(self, n: YNode, fld: str, level: str, owner: YNode) -> list[_B]:
        outs = [o for o in n.inline + n.content if not o.expanded]
        keys = tuple(c.key for c in n.children if c.key)
        if not outs:
            local = _local(_conds(n), _conds(owner))
            parts = ["written in the template"]
            scalar = n.value.replace(MASK, "").strip()
            if scalar:
                parts[0] += f" ({n.raw_value})"
            inner = [p for c in _subtree(n) for o in c.inline + c.content for p in A.sources(self.value(o))]
            if inner:
                parts.append("values inside: " + ", ".join(dict.fromkeys(_dotted(p) for p in inner)))
            if local:
                parts.append("when " + " and ".join(c.describe() for c in local))
            b = FieldBinding(fld, level, None, n.line.path, n.line.lineno, True, "; ".join(parts), keys)
            return [_B(b, local, n.line.seq)]
        out: list[_B] = []
        for o in outs:
            out.extend(self.from_value(self.value(o), fld, level, o, owner, "", n, keys))
        return out

    def from_value(self, av: A.AV, fld: str, level: str, o: Out, owner: YNode, note: str,
                   node: YNode | None = None, keys: tuple[str, ...] = ()) -> list[_B]:
        line = node.line if node is not None and node.line else None
        path, lineno, seq = (line.path, line.lineno, line.seq) if line else (o.path, o.line, o.seq)
        local = _local(_conds(node) if node is not None else _conds(o), _conds(owner))
        # conditions between the key and its value (`with` on the value line) count too
        local += tuple(c for c in _local(_conds(o), _conds(owner)) if not any(c is x for x in local))
        refs = _refs(av, o.text)
        if not refs:
            b = FieldBinding(fld, level, None, path, lineno, True,
                             f"rendered from {{{{ {o.text} }}}}, which reads no values", keys)
            return [_B(b, local, seq)]
        out = []
        for ref, preset, extra in refs:
            gates = [p for c in local for p in c.truthy if ref.path[:len(p)] != p]
            if gates:
                ref = replace(ref, gate=gates[0])
            other = [c.describe() for c in local if c.negated or not c.truthy]
            when = "when " + " and ".join(other) if other else ""
            text = "; ".join(x for x in (note, extra, when) if x)
            out.append(_B(FieldBinding(fld, level, ref, path, lineno, False, text, keys, preset), local, seq))
        return out


def _refs(av: A.AV, expr: str) -> list[tuple[ValuesRef, bool, str]]:
    """ValuesRefs an abstract value stands for, with preset flags and notes."""
    def fb_path(v: A.AV | None) -> tuple[str, ...] | None:
        src = A.sources(v) if v is not None else ()
        return src[0] if src else None

    if isinstance(av, A.VPath) and av.path:
        return [(ValuesRef(av.path, av.omit, None, fb_path(av.fallback)), False, "")]
    if isinstance(av, A.VPreset):
        return [(ValuesRef(av.path), True, "names a resources preset")]
    if isinstance(av, A.VMerge):
        parts = [p for p in av.parts if isinstance(p, A.VPath) and p.path]
        if parts:
            nxt = parts[1].path if len(parts) > 1 else None
            return [(ValuesRef(parts[0].path, parts[0].omit, None, nxt), False, "merged with other values")]
    if isinstance(av, A.VAny):
        return [r for opt in av.options for r in _refs(opt, expr)]
    src = A.sources(av)
    if src:
        return [(ValuesRef(src[0]), False, f"computed by {{{{ {expr} }}}}")]
    return []


def _link(bs: list[_B]) -> list[_B]:
    """if/else fallbacks: a branch taken when its own key is set defaults to the next branch."""
    for i, a in enumerate(bs):
        for j in range(i + 1, len(bs)):
            b = bs[j]
            if a.b.field != b.b.field or a.b.ref is None:
                continue
            shared = [(ca, cb) for ca in a.local for cb in b.local
                      if ca.block is cb.block and ca.branch < cb.branch]
            if not shared or a.b.ref.path not in shared[0][0].truthy:
                continue
            if b.b.ref is not None and a.b.ref.default_from is None:
                a.b = replace(a.b, ref=replace(a.b.ref, default_from=b.b.ref.path))
    bs.sort(key=lambda x: x.seq)
    return bs


def _descend(node: YNode, path: tuple[str, ...]) -> list[YNode]:
    cur = [node]
    for key in path:
        cur = [c for n in cur for c in n.child(key)]
    return cur


def _subtree(n: YNode) -> list[YNode]:
    out = []
    for c in n.children:
        out.append(c)
        out.extend(_subtree(c))
    return out
