"""Synthetic pods: each pod template as the values make it, field by field.

Each pod or container field kfix may change has a ``Source`` saying how the chart renders it (from a
values key, a preset, a literal in the template, a computed expression, or not at all); a
``Consumer`` is one pod template with those sources, and ``SyntheticPods`` builds them from discovery
and, when there is one, the Helm render (which containers render, their names, the pod's facts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kfix import ops as O
from kfix.helm import render as R
from kfix.helm.charts import ChartNode
from kfix.helm.gates import owned_gate, preset_marker, preset_on
from kfix.helm.names import Unresolved, evaluate_name
from kfix.helm.model import ContainerTemplate, FieldBinding, PodTemplate
from kfix.helm.structure import Layout, LNode, evaluate
from kfix.helm.templates import GUESS_PATHS, POD_PATHS
from kfix.helm.values import truthy

SECTIONS = ("initContainers", "containers", "ephemeralContainers")
MISSING = object()
# a ranged values list whose entries each render a mount and an emptyDir volume (Layout.ranged_items)
EMPTYDIR_MOUNT = {"name": ("entry", "name"), "mountPath": ("entry", "mountPath")}
EMPTYDIR_VOLUME = {"name": ("entry", "name"), "emptyDir": ("literal", {})}


@dataclass
class Source:
    """How one field of a synthetic pod is rendered, and so how kfix can change it."""

    kind: str  # values | preset | literal | computed | none
    fld: str
    level: str
    owner: str  # "pod" or the container's name
    path: tuple = ()  # values path (relative to the chart's values), concrete list indexes
    omit: tuple = ()
    gate: tuple | None = None
    gate_ok: bool = True
    lnode: LNode | None = None
    template: str = ""
    line: int = 0
    note: str = ""
    rendered: Any = MISSING  # the rendered value (computed / none / fallback), when known
    fallback: LNode | None = None  # what the template writes instead while the values key is empty


@dataclass
class Consumer:
    """One pod template as kfix sees it through the values."""

    chart: ChartNode
    pod: PodTemplate
    label: str
    name: str
    facts: dict  # {"spec": ..., "metadata": ...} without the values-bound fields
    sources: dict[tuple, Source]
    lists: dict[tuple, tuple]  # synthetic path of volumes/volumeMounts -> (values path, gates)
    containers: dict[int, tuple[str, str, int]]  # id -> (name, template, line)
    workload: R.Workload | None = None
    rendered_containers: set = field(default_factory=set)  # synthetic paths of containers that render
    # synthetic path of a container's volumeMounts -> values list each entry of which renders both a mount
    # of it and an emptyDir volume (grafana's extraEmptyDirMounts)
    pairs: dict[tuple, tuple] = field(default_factory=dict)

    def doc(self, values: dict, would: bool) -> dict:
        doc = O.clone(self.facts)
        for prefix, src in self.sources.items():
            present, data = field_data(src, values, would)
            parent = O.get(doc, prefix[:-1])
            if not isinstance(parent, dict):
                continue
            if present:
                parent[prefix[-1]] = O.clone(data)
            else:
                parent.pop(prefix[-1], None)
        return doc

    def source_for(self, path: tuple) -> tuple[tuple, Source] | None:
        for n in range(len(path), 0, -1):
            src = self.sources.get(tuple(path[:n]))
            if src is not None:
                return tuple(path[:n]), src
        return None

    def where(self, path: tuple) -> tuple[str, int]:
        """Template and line for a synthetic pod path (the field's binding, else its container or pod)."""
        hit = self.source_for(path)
        if hit is not None and hit[1].template:
            return hit[1].template, hit[1].line
        if len(path) >= 3 and path[1] in SECTIONS:
            c = self.containers.get(container_id(path[1], path[2]))
            if c is not None and c[1]:
                return c[1], c[2]
        return self.pod.template, self.pod.line


def container_id(section: str, index: int) -> int:
    return SECTIONS.index(section) * 10000 + index


def field_data(src: Source, values: dict, would: bool) -> tuple[bool, Any]:
    """(rendered?, value) of a field under ``values``; ``would``: as if its gate were on."""
    if src.kind in ("none", "computed") and src.rendered is not MISSING:
        if src.kind == "none" or src.rendered is not None:
            return src.rendered is not None, src.rendered
    if src.kind == "none":
        return False, None
    if src.kind == "preset":
        return True, preset_marker(O.get(values, src.path))
    if src.kind == "literal":
        assert src.lnode is not None
        return evaluate(src.lnode, values, O.get)
    if src.gate and not (would and src.gate_ok) and not truthy(O.get(values, src.gate)):
        return False, None
    value = O.get(values, src.path, MISSING)
    if src.fallback is not None and not truthy(None if value is MISSING else value):
        if src.rendered is not MISSING:
            return src.rendered is not None, src.rendered
        return evaluate(src.fallback, values, O.get)
    if value is MISSING or value is None:
        return False, None
    if isinstance(value, dict) and src.omit:
        value = {k: v for k, v in value.items() if k not in src.omit}
    return True, value


class SyntheticPods:
    """Builds the ``Consumer`` of each pod template from the chart's layout and its render (if any)."""

    def __init__(self, layout: Layout, rendered: R.Rendered | None):
        self.layout = layout
        self.rendered = rendered
        self.pool: dict[tuple, list[R.Workload]] | None = None  # rendered workloads not yet matched
        # (chart prefix, values key) -> the preset key a container renders while that key is empty
        self.preset_keys: dict[tuple[str, tuple], tuple] = {}

    def consumer(self, chart: ChartNode, pod: PodTemplate) -> Consumer:
        """The synthetic pod of one pod template, its field sources and the rendered workload it is."""
        workload = self.match(chart, pod)
        facts: dict = {"spec": {}, "metadata": {}}
        if workload is not None:
            spec = O.clone(workload.spec)
            for k in ("securityContext", "automountServiceAccountToken"):
                spec.pop(k, None)
            facts["spec"] = spec
            meta = O.get(workload.doc.data, workload.site.meta_path)
            if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
                facts["metadata"] = {"annotations": O.clone(meta["annotations"])}
        elif self.layout.rbac:
            facts["spec"]["serviceAccountName"] = "<not rendered>"
        spec = facts["spec"]
        rendered_spec = workload.spec if workload is not None else {}
        sources: dict[tuple, Source] = {}
        lists: dict[tuple, tuple] = {}
        containers: dict[int, tuple[str, str, int]] = {}
        for fld in ("securityContext", "automountServiceAccountToken"):
            sources[("spec", fld)] = self.source(chart, pod.get(fld), fld, "pod", "pod",
                                                 rendered_spec.get(fld, MISSING))
        spec_node = self.spec_node(pod)
        ranged_volumes: dict = {}
        pairs: dict[tuple, tuple] = {}
        if spec_node is not None:
            hit = self.layout.values_list(spec_node, "volumes")
            if hit:
                lists[("spec", "volumes")] = hit
            ranged_volumes = self.layout.ranged_items(spec_node, "volumes")
        claimed: dict[str, set[int]] = {s: set() for s in SECTIONS}
        new_lists: dict[str, list] = {s: [] for s in SECTIONS}
        rendered_paths: set = set()
        expanded = [(c, [(resolved_name(name, chart), i, e) for name, i, e in self.expand(chart, c)])
                    for c in pod.containers]
        reserved = {name for _c, items in expanded for name, _i, _e in items if "{{" not in name}
        for c, items in expanded:
            rendered_list = rendered_spec.get(c.section) if isinstance(rendered_spec.get(c.section), list) else []
            for name, ref_sub, element in items:
                # a container whose name the template computes claims a rendered one in order, unless
                # a plain values condition keeps it from rendering (`if .Values.sidecar.enabled`)
                off = "{{" in name and workload is not None and not self.may_render(chart, pod, c, element)
                idx = None if off else self.claim(rendered_list, claimed[c.section], name, reserved)
                base = O.clone(rendered_list[idx]) if idx is not None else {}
                shown = str(base.get("name") or name.replace("{{ .Chart.Name }}", chart.cmap.name))
                if idx is None and workload is not None and "{{" in shown:
                    shown += " (not rendered with these values)"  # its name is known only from a render
                base.pop("securityContext", None)
                base.pop("resources", None)
                base["name"] = shown
                i = len(new_lists[c.section])
                new_lists[c.section].append(base)
                containers[container_id(c.section, i)] = (shown, c.template, c.line)
                if idx is not None or (workload is None and self.may_render(chart, pod, c, element)):
                    rendered_paths.add(("spec", c.section, i))
                rc = rendered_list[idx] if idx is not None else {}
                for fld in ("securityContext", "resources"):
                    src = self.source(chart, c.get(fld), fld, "container", shown, rc.get(fld, MISSING),
                                      ref_sub, element)
                    sources[("spec", c.section, i, fld)] = src
                node = self.layout.container(c.template, c.line) if element is None else None
                if node is not None:
                    hit = self.layout.values_list(node, "volumeMounts")
                    if hit:
                        lists[("spec", c.section, i, "volumeMounts")] = hit
                    for vpath, item in self.layout.ranged_items(node, "volumeMounts").items():
                        if item == EMPTYDIR_MOUNT and ranged_volumes.get(vpath) == EMPTYDIR_VOLUME:
                            pairs[("spec", c.section, i, "volumeMounts")] = vpath
        # rendered containers discovery did not see: part of the pod, not reachable through values
        for section in SECTIONS:
            rendered_list = rendered_spec.get(section) if isinstance(rendered_spec.get(section), list) else []
            for j, rc in enumerate(rendered_list):
                if j in claimed[section] or not isinstance(rc, dict):
                    continue
                base = {k: O.clone(v) for k, v in rc.items() if k not in ("securityContext", "resources")}
                i = len(new_lists[section])
                new_lists[section].append(base)
                containers[container_id(section, i)] = (str(rc.get("name")), pod.template, pod.line)
                for fld in ("securityContext", "resources"):
                    sources[("spec", section, i, fld)] = Source(
                        "none", fld, "container", str(rc.get("name")), template=pod.template, line=pod.line,
                        note="the container is rendered by a template construct kfix does not analyse",
                        rendered=rc.get(fld) if fld in rc else None)
        for section in SECTIONS:
            if new_lists[section]:
                spec[section] = new_lists[section]
            else:
                spec.pop(section, None)
        # a values key that lists volumes or mounts is a list the pod has, even while it renders empty
        for list_path in list(lists) + [p for m in pairs for p in (m, ("spec", "volumes"))]:
            owner = O.get(facts, list_path[:-1])
            if isinstance(owner, dict) and owner.get(list_path[-1]) is None:
                owner[list_path[-1]] = []
        name = workload.site.name if workload is not None else pod.template
        kind = workload.site.kind if workload is not None else resolved_name(pod.kind, chart)
        label = f"{kind} {pod.template}"
        return Consumer(chart, pod, label, name, facts, sources, lists, containers, workload, rendered_paths, pairs)

    @staticmethod
    def label_duplicates(consumers: list[Consumer]) -> None:
        seen: dict[str, int] = {}
        for c in consumers:
            seen[c.label] = seen.get(c.label, 0) + 1
        for c in consumers:
            if seen[c.label] > 1:
                c.label = f"{c.label}:{c.pod.line}"

    def spec_node(self, pod: PodTemplate):
        paths = [POD_PATHS[pod.kind]] if pod.kind in POD_PATHS else list(GUESS_PATHS)
        for p in paths:
            node = self.layout.pod_spec(pod.template, pod.line, p)
            if node is not None:
                return node
        return None

    def expand(self, chart: ChartNode, c: ContainerTemplate):
        """(name, index path for `*`, element) per container: one, or one per values list entry
        (a values list of containers, or a list the template ranges over to build containers)."""
        values_list = c.values_list or ranged_list(c)
        if values_list is None:
            yield c.name, None, None
            return
        items = O.get(chart.eff, values_list)
        if not isinstance(items, list):
            return
        for i, item in enumerate(items):
            if isinstance(item, dict):
                name = str(item.get("name") or f"{'.'.join(values_list)}[{i}]")
                yield name, i, item

    def may_render(self, chart: ChartNode, pod: PodTemplate, c: ContainerTemplate | None,
                   element: dict | None) -> bool:
        """Without a render: whether the pod (or container) renders with these values, judging only
        conditions that are plain values paths (`if .Values.x.enabled`); others count as true."""
        kind = self.layout.field_node(pod.template, pod.line, "kind")
        if c is None:
            node, owner = kind, None
        else:
            if element is not None:
                return True  # an entry of a values list renders because it is there
            node = self.layout.container(c.template, c.line)
            owner = self.spec_node(pod)
        if node is None:
            return True
        gates, _unknown = self.layout.gates(self.layout.local_conds(node, owner))
        return all(truthy(O.get(chart.eff, g)) for g in gates)

    @staticmethod
    def claim(rendered: list, claimed: set[int], name: str, reserved: set[str]) -> int | None:
        """The rendered container a discovered one is: by name, or (a name the template computes)
        the first one in order that no named container stands for."""
        if "{{" not in name:
            for j, rc in enumerate(rendered):
                if j not in claimed and isinstance(rc, dict) and rc.get("name") == name:
                    claimed.add(j)
                    return j
            return None  # a named container that does not render (a condition is off)
        for j, rc in enumerate(rendered):
            if j not in claimed and isinstance(rc, dict) and rc.get("name") not in reserved:
                claimed.add(j)
                return j
        return None

    def match(self, chart: ChartNode, pod: PodTemplate) -> R.Workload | None:
        if self.rendered is None:
            return None
        if self.pool is None:
            self.pool = {}
            for w in self.rendered.workloads():
                self.pool.setdefault((w.doc.template, w.site.kind), []).append(w)
        helm_template = chart.helm_prefix + pod.template[len(chart.prefix):]
        if "{{" in pod.kind:  # a kind the template computes (`.Values.kind | default "Deployment"`)
            pools = [p for (t, _k), p in self.pool.items() if t == helm_template]
        else:
            pools = [self.pool.get((helm_template, pod.kind), [])]
        want = {c.name for c in pod.containers if "{{" not in c.name and c.values_list is None and not c.when}
        for pool in pools:
            for w in pool:
                names = {str(c.get("name")) for s in SECTIONS for c in (w.spec.get(s) or []) if isinstance(c, dict)}
                if want <= names:
                    pool.remove(w)
                    return w
        return None

    def source(self, chart: ChartNode, bindings: list[FieldBinding], fld: str, level: str, owner: str,
               rendered: Any, index: int | None = None, element: dict | None = None) -> Source:
        refs = [b for b in bindings if b.ref is not None and not b.preset]
        presets = [b for b in bindings if b.ref is not None and b.preset]
        literals = [b for b in bindings if b.literal]
        rv = None if rendered is MISSING else rendered  # the field as rendered (None: absent or unknown)
        if refs:
            b = refs[0]
            ref = b.ref
            assert ref is not None
            path = _concrete(ref.path, index)
            if "*" in path:  # a workload the template builds once per entry of a values list
                head = ".".join(path[:path.index("*")])
                return Source("none", fld, level, owner, template=b.template, line=b.line, rendered=rv,
                              note=f"set per entry of the values list {head}, which the template builds a workload "
                                   "from each; kfix does not tell the entries apart")
            src = Source("values", fld, level, owner, path, ref.omit, ref.gate, True, None, b.template, b.line,
                         b.note)
            if b.note.startswith("computed by"):
                src.kind = "computed"
                src.rendered = rv
            value = O.get(chart.eff, path)
            if not truthy(value) and ref.default_from is not None:
                dflt = _concrete(ref.default_from, index)
                if any(p.ref is not None and p.ref.path == ref.default_from for p in presets):
                    if preset_on(O.get(chart.eff, dflt)):
                        self.preset_keys[(chart.prefix, path)] = dflt
                        return Source("preset", fld, level, owner, dflt, template=b.template, line=b.line,
                                      note=f"from the preset {'.'.join(dflt)}")
                elif isinstance(O.get(chart.eff, dflt), dict) and O.get(chart.eff, dflt):
                    src.path = dflt
                    src.note = (f"{'.'.join(path)} is empty, so the chart renders {'.'.join(dflt)}; "
                                "kfix edits what the chart uses")
                elif O.get(chart.eff, dflt) not in (None, MISSING) and truthy(O.get(chart.eff, dflt)):
                    return Source("none", fld, level, owner, template=b.template, line=b.line,
                                  note=f"built from {'.'.join(dflt)} when {'.'.join(path)} is empty",
                                  rendered=rv)
            if src.gate is not None:
                src.gate = _concrete(src.gate, index)
                src.gate_ok = owned_gate(src.gate, src.path)
            if src.kind == "values" and src.path == tuple(ref.path) and not truthy(value):
                node = self.layout.field_node(b.template, b.line, fld)
                src.fallback = self.layout.fallback(node, src.path) if node is not None else None
                if src.fallback is not None:
                    src.rendered = rendered
            return src
        if presets:
            b = presets[0]
            assert b.ref is not None
            path = _concrete(b.ref.path, index)
            if "*" in path:
                return Source("none", fld, level, owner, template=b.template, line=b.line, rendered=rv,
                              note=f"resources come from a preset set per entry of {'.'.join(path[:path.index('*')])}")
            if preset_on(O.get(chart.eff, path)):
                return Source("preset", fld, level, owner, path, template=b.template, line=b.line)
            return Source("none", fld, level, owner, template=b.template, line=b.line,
                          note=f"resources come from the preset named by {'.'.join(path)}",
                          rendered=rv)
        if literals:
            b = literals[0]
            node = self.layout.field_node(b.template, b.line, fld)
            if node is not None:
                lnode = self.layout.literal(node)
                owner_node = node.parent
                while owner_node is not None and owner_node.key not in (None, "spec"):
                    owner_node = owner_node.parent
                gates, unknown = self.layout.gates(self.layout.local_conds(node, owner_node)) \
                    if owner_node is not None else ((), "")
                lnode.gates, lnode.unknown_cond = gates, unknown
                if not unknown:
                    return Source("literal", fld, level, owner, lnode=lnode, template=b.template, line=b.line,
                                  note="written in the template")
            return Source("none", fld, level, owner, template=b.template, line=b.line,
                          note=b.note or "written in the template", rendered=rv)
        note = f"the template does not set {fld}"
        if fld == "automountServiceAccountToken":
            sa = [n.split(" from values ", 1)[1] for n in chart.cmap.notes
                  if "ServiceAccount sets automountServiceAccountToken from values " in n]
            if sa:
                note += (f" (the chart's ServiceAccount takes automountServiceAccountToken from values {sa[0]}, "
                         "which kfix leaves alone: the pod field is what the rule checks)")
        return Source("none", fld, level, owner, note=note, rendered=rv)


def _concrete(path: tuple, index: int | None) -> tuple:
    if index is None or "*" not in path:
        return tuple(path)
    i = path.index("*")
    return tuple(path[:i]) + (index,) + tuple(p for p in path[i + 1:] if p != "*")


def ranged_list(c: ContainerTemplate) -> tuple | None:
    """The values list a container is built from once per entry (`range .Values.x.extraModules`),
    seen in its fields' values paths (`x.extraModules.*.containerSecurityContext`)."""
    heads = {tuple(b.ref.path[:b.ref.path.index("*")]) for b in c.bindings if b.ref is not None and "*" in b.ref.path}
    return heads.pop() if len(heads) == 1 else None


_NAME_PART = re.compile(r"\{\{-?\s*(\.Chart\.Name|\.Release\.Name|\.Values(?:\.[A-Za-z_][\w]*)+)"
                        r"(?:\s*\|\s*default\s+\"([^\"{}]*)\")?\s*-?\}\}")


def resolved_name(name: str, chart: ChartNode) -> str:
    """A container name (or kind) as Helm renders it with the chart's values (kfix.helm.names); failing that,
    with `{{ .Chart.Name }}`, `{{ .Release.Name }}` and plain `{{ .Values.x }}` parts (`| default "y"` too)
    filled in and the rest left as written."""
    if "{{" not in name:
        return name
    try:
        return evaluate_name(name, chart.cmap.helpers, chart.eff, chart.cmap.name, R.RELEASE, R.NAMESPACE)
    except Unresolved:
        pass

    def part(m: re.Match) -> str:
        ref = m.group(1)
        if ref == ".Chart.Name":
            return chart.cmap.name
        if ref == ".Release.Name":
            return R.RELEASE
        value = O.get(chart.eff, tuple(ref.split(".")[2:]))
        if m.group(2) is not None and not truthy(value):
            return m.group(2)
        return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else m.group(0)
    return _NAME_PART.sub(part, name) if "{{" in name else name
