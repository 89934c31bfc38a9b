"""Harden a Helm chart by rewriting its values files: the Helm values backend.

For each pod the templates render, kfix builds the pod as the values make it (a *synthetic* pod:
each field that discovery ties to a values key holds that key's value; fields the template writes
itself hold what it writes; rendered facts such as volumes and the service account fill in the
rest when the optional Helm library is installed), runs the same rules as for plain manifests, and
maps each rule operation on the pod back to an operation on the values key that renders that field
(``ValuesRef.path`` + the rest of the path). Those operations are written into the values file
with the YAML source editor, so every byte outside the edit is kept, and re-parsed to verify.

What values cannot express is reported, never forced: a field the template writes literally (or
never renders) "needs a template change" at its template line; a key the schema forbids; a key
that several pods share but that they would need set differently; a gate kfix does not own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfix.rules import Finding, Fix, Inventory, Pod

from kfix import ops as O
from kfix.errors import InputError, VerificationError
from kfix.yaml.loader import parse
from kfix.planner import Change, FilePlan, Options, Reported, _editable, _line_of, verify
from kfix.yaml.editor import Editor, apply_splices
from kfix.helm import render as R
from kfix.helm.chartfiles import load_schema
from kfix.helm.model import ChartMap, ContainerTemplate, FieldBinding, PodTemplate
from kfix.helm.schema import check_ops
from kfix.helm.structure import Layout, LNode, evaluate
from kfix.helm.templates import POD_PATHS, GUESS_PATHS, discover
from kfix.helm.values import (Layer, ValuesChain, ValuesFile, added_leaves, load_values_file, merge_user, prefixed,
                     param_splices, place, truthy)

__all__ = ["plan_chart", "ValuesPlan", "RenderProof", "WorkloadProof", "is_chart", "chart_dirs"]

SECTIONS = ("initContainers", "containers", "ephemeralContainers")
_MISSING = object()
TEMPLATE_CHANGE = "needs a template change"
NOT_RENDERED = "not rendered with these values"


# --------------------------------------------------------------------------- results


@dataclass
class WorkloadProof:
    """One rendered workload: which findings the values edit cleared and which remain (and why)."""

    resource: str  # rendered Kind/name (release "kfix")
    template: str
    cleared: list[str] = field(default_factory=list)  # "rule: message"
    remaining: list[tuple[str, str]] = field(default_factory=list)  # ("rule: message", why)


@dataclass
class RenderProof:
    """The chart rendered before and after the values edit (helm-python-sdk)."""

    rendered: bool
    note: str = ""
    workloads: list[WorkloadProof] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # changes outside security fields (refused)
    refused: list[str] = field(default_factory=list)  # change ids refused because of them

    @property
    def cleared(self) -> int:
        return sum(len(w.cleared) for w in self.workloads)

    @property
    def remaining(self) -> int:
        return sum(len(w.remaining) for w in self.workloads)

    def summary(self) -> str:
        if not self.rendered:
            return f"not rendered: {self.note}" if self.note else "not rendered"
        text = (f"rendered with Helm: {self.cleared} findings cleared, {self.remaining} remain in "
                f"{len(self.workloads)} workloads")
        if self.refused:
            text += f"; {len(self.refused)} changes refused (they changed more than security fields)"
        return text

    def as_text(self) -> str:
        lines = [self.summary()]
        for w in self.workloads:
            lines.append(f"  {w.resource} ({w.template}): {len(w.cleared)} cleared, {len(w.remaining)} remain")
            for msg, why in w.remaining:
                lines.append(f"    - {msg} [{why}]")
        for o in self.outside:
            lines.append(f"  outside security fields: {o}")
        return "\n".join(lines) + "\n"


@dataclass
class ValuesPlan(FilePlan):
    """A values file of a chart: the plan of a manifest file, plus the chart and the render proof.

    ``render_changes`` renders any subset of the changes (for review) with its `## @param` lines.
    """

    chart: str = ""
    proof: RenderProof | None = None
    hints: dict = field(default_factory=dict, repr=False)

    def render_changes(self, change_ids: set[str]) -> str:
        assert self.source is not None
        text = self.source.text
        chosen = [c for c in self.changes if c.id in change_ids]
        if not chosen:
            return text
        return _render_values(text, chosen, self.hints)


def _render_values(text: str, changes: list[Change], hints: dict) -> str:
    docs = [d for d in parse(text) if d.node is not None]
    doc = docs[0]
    ops = [op for c in changes for op in c.ops]
    splices, expected = Editor(text, doc).edit(ops)
    splices = sorted(splices + param_splices(text, doc, added_leaves(doc.data, ops), hints),
                     key=lambda s: (s[0], s[1]))
    new_text = apply_splices(text, splices)
    verify(new_text, [expected])
    return new_text


# --------------------------------------------------------------------------- charts


def is_chart(path: str | os.PathLike) -> bool:
    return (Path(path) / "Chart.yaml").is_file()


def chart_dirs(path: str | os.PathLike) -> list[Path]:
    """Top-level charts under ``path`` (a chart itself, or a folder holding charts); subcharts
    under a chart's ``charts/`` are handled with their parent."""
    root = Path(path)
    if is_chart(root):
        return [root]
    out: list[Path] = []
    for dirpath, dirnames, _files in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "node_modules")
        if "Chart.yaml" in _files:
            out.append(Path(dirpath))
            dirnames[:] = []
    return out


@dataclass
class _Chart:
    """One chart of the tree (the top chart or a subchart) with its values chain."""

    cmap: ChartMap
    prefix: str  # template path prefix ("" or "charts/x/")
    helm_prefix: str  # the same in Helm's rendered names ("" or "charts/<name>/")
    chain: ValuesChain
    schemas: list[tuple[dict, tuple, "_Chart"]]  # (schema, path prefix from that chart's root, chart)
    parent: "_Chart | None" = None
    key: tuple = ()  # values path of this chart inside its parent's values
    note: str = ""

    def __post_init__(self) -> None:
        self.eff = self.chain.effective()


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
    rendered: Any = _MISSING  # the rendered value (computed / none), when known


@dataclass
class _Consumer:
    """One pod template as kfix sees it through the values."""

    chart: _Chart
    pod: PodTemplate
    label: str
    name: str
    facts: dict  # {"spec": ..., "metadata": ...} without the values-bound fields
    sources: dict[tuple, Source]
    lists: dict[tuple, tuple]  # synthetic path of volumes/volumeMounts -> (values path, gates)
    containers: dict[int, tuple[str, str, int]]  # id -> (name, template, line)
    workload: R.Workload | None = None
    rendered_containers: set = field(default_factory=set)  # synthetic paths of containers that render

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
            c = self.containers.get(_cid(path[1], path[2]))
            if c is not None and c[1]:
                return c[1], c[2]
        return self.pod.template, self.pod.line


def _cid(section: str, index: int) -> int:
    return SECTIONS.index(section) * 10000 + index


def field_data(src: Source, values: dict, would: bool) -> tuple[bool, Any]:
    """(rendered?, value) of a field under ``values``; ``would``: as if its gate were on."""
    if src.kind in ("none", "computed") and src.rendered is not _MISSING:
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
    value = O.get(values, src.path, _MISSING)
    if value is _MISSING or value is None:
        return False, None
    if isinstance(value, dict) and src.omit:
        value = {k: v for k, v in value.items() if k not in src.omit}
    return True, value


def preset_marker(name: Any) -> dict:
    mark = f"<{name} preset>"
    return {"requests": {"cpu": mark, "memory": mark}, "limits": {"cpu": mark, "memory": mark}}


def _preset_on(value: Any) -> bool:
    return truthy(value) and str(value) != "none"


# --------------------------------------------------------------------------- entry point


def plan_chart(chart_dir: str | os.PathLike, options: Options, values_files: list[str] | tuple[str, ...] = (),
               render: bool | None = None) -> list[FilePlan]:
    """Plan the values edits that harden a chart.

    Returns one FilePlan (a ``ValuesPlan``) per values file kfix proposes to edit or reports on:
    the chart's values.yaml always (it carries the chart's findings, the template ones included,
    whose ``file`` is the template), and each extra values file that gets a change or has an error.
    ``render``: prove the edit with helm-python-sdk (None: when it is installed).
    """
    chart_dir = Path(chart_dir)
    try:
        return _Planner(chart_dir, options, list(values_files), render).run()
    except Exception as exc:  # noqa: BLE001 - one chart that trips a bug must not end the run
        if os.environ.get("KFIX_DEBUG"):
            raise
        import traceback

        frames = traceback.extract_tb(exc.__traceback__)
        where = f" in {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        path = str(chart_dir / "values.yaml")
        return [ValuesPlan(path, error=InputError(f"internal error, chart left untouched (a kfix bug, please "
                                                  f"report it with this chart): {detail}{where}", 1, path))]


@dataclass
class _Want:
    """A finding kfix can fix through values: its translated operations."""

    rep: Reported
    consumer: _Consumer
    chart: _Chart
    key: tuple  # change group: (chart prefix, rule, field anchor)
    vops: list[O.Op]
    field_prefix: tuple  # the synthetic field it edits (for gate checks)
    src: Source
    flip: tuple | None = None  # gate it turns on


class _Planner:
    def __init__(self, chart_dir: Path, options: Options, values_files: list[str], render: bool | None):
        self.dir = chart_dir
        self.options = options
        self.values_files = values_files
        self.render_wanted = render
        self.notes: list[str] = []
        self.reported: list[Reported] = []
        self.wants: list[_Want] = []
        self.refusals: list[tuple[_Chart, str, tuple, _Consumer]] = []  # report findings on values paths
        self.unsafe_in: list[tuple[_Consumer, tuple]] = []  # unsafe findings not applied: (consumer, prefix)

    # ---- setup --------------------------------------------------------------------------------
    def run(self) -> list[FilePlan]:
        main_path = str(self.dir / "values.yaml")
        main = load_values_file(main_path) if (self.dir / "values.yaml").is_file() else \
            ValuesFile(main_path, None, None, {})
        self.files = [main] + [load_values_file(p) for p in self.values_files]
        broken = [f for f in self.files if f.error is not None]
        if broken:
            plans = [ValuesPlan(f.path, source=f.source, error=f.error, chart=str(self.dir)) for f in broken]
            if main.error is None:
                plans.insert(0, ValuesPlan(main.path, source=main.source, chart=str(self.dir),
                                           note="chart not planned: a values file cannot be read"))
            return plans
        self.cmap = discover(self.dir)
        self.layout = Layout(self.dir, _pod_templates(self.cmap))
        self.notes.extend(self.cmap.notes)
        top = _Chart(self.cmap, "", "", ValuesChain([Layer(f, (), f.editable) for f in self.files]),
                     [], None)
        schema = load_schema(self.dir)
        if schema:
            top.schemas.append((schema, (), top))
        self.charts = [top]
        self._subcharts(top)
        self.rendered, self.render_note = self._render_before()
        self.inventory = self._inventory()
        self.consumers = [self._consumer(ch, pod) for ch in self.charts for pod in ch.cmap.pods]
        self._label_duplicates()
        for consumer in self.consumers:
            self._plan_consumer(consumer)
        groups = self._group()
        plans = self._file_plans(groups)
        self._prove(plans)
        return plans

    def _subcharts(self, parent: _Chart) -> None:
        deps = parent.cmap.chart_dir / "Chart.yaml"
        aliases: dict[str, list[str]] = {}
        try:
            import yaml

            meta = yaml.safe_load(deps.read_text(encoding="utf-8")) if deps.is_file() else {}
            for d in (meta or {}).get("dependencies") or []:
                if isinstance(d, dict) and d.get("name"):
                    aliases.setdefault(str(d["name"]), []).append(str(d.get("alias") or d["name"]))
        except Exception:  # noqa: BLE001 - a Chart.yaml kfix cannot read: discovery noted it
            pass
        for sub in parent.cmap.subcharts:
            names = aliases.get(sub.name, [sub.name])
            where = os.path.relpath(sub.chart_dir, self.dir)
            if len(names) != 1:
                self.notes.append(f"{where}: subchart {sub.name} is used under several aliases "
                                  f"({', '.join(names)}); its values are not handled")
                continue
            key = names[0]
            values = _subchart_values(sub.chart_dir)
            layers = [Layer(values, (), False)] + [Layer(l.file, l.prefix + (key,), l.editable)
                                                  for l in parent.chain.layers]
            prefix = where.replace(os.sep, "/") + "/"
            child = _Chart(sub, prefix, parent.helm_prefix + f"charts/{key}/", ValuesChain(layers), [],
                           parent, (key,))
            own = load_schema(sub.chart_dir) if Path(sub.chart_dir).is_dir() else None
            if own:
                child.schemas.append((own, (), child))
            child.schemas.extend((s, (key,) + p, c) for s, p, c in parent.schemas)
            self.notes.append(f"{where}: subchart {sub.name}: its values are edited under `{key}:` in the "
                              "parent's values")
            self.charts.append(child)
            self._subcharts(child)

    def _render_before(self) -> tuple[R.Rendered | None, str]:
        if self.render_wanted is False:
            return None, "rendering not requested"
        if not R.available():
            return None, "helm-python-sdk is not installed (pip install 'kfix-harden[helm]'); planned from the templates only"
        user = merge_user([f.data for f in self.files[1:]])
        try:
            first = R.render(self.dir, user)
        except R.RenderError as exc:
            return None, f"the chart does not render with these values ({exc}); planned from the templates only"
        self.unstable: set | None = None  # what differs between two renders of the same values
        return first, ""

    def _unstable(self) -> set:
        if self.unstable is None:
            try:
                again = R.render(self.dir, merge_user([f.data for f in self.files[1:]]))
                self.unstable = R.unstable_paths(self.rendered, again)
            except R.RenderError:
                self.unstable = set()
        return self.unstable

    def _inventory(self) -> Inventory:
        inv = Inventory()
        if self.rendered is not None:
            from kfix.inventory import inventory_object
            from kfix.workloads import objects

            for d in self.rendered.docs:
                for _, obj in objects(d.data):
                    inventory_object(inv, obj, d.template)
            inv.bindings = {(_ns(ns), sa): where for (ns, sa), where in inv.bindings.items()}
            inv.network_policies = {_ns(n) for n in inv.network_policies}
            inv.resource_quotas = {_ns(n) for n in inv.resource_quotas}
        if self.layout.rbac:
            t, line, kind = self.layout.rbac[0]
            inv.bindings.setdefault((None, "<not rendered>"),
                                    f"{self.dir / t}:{line} {kind} (the chart binds service accounts to roles; "
                                    "which one this pod uses is known only from a render)")
        if self.rendered is None:
            for _t, _line, kind in self.layout.policies:
                (inv.network_policies if kind == "NetworkPolicy" else inv.resource_quotas).add(None)
        return inv

    # ---- synthetic pods -----------------------------------------------------------------------
    def _consumer(self, chart: _Chart, pod: PodTemplate) -> _Consumer:
        workload = self._match(chart, pod)
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
            sources[("spec", fld)] = self._source(chart, pod.get(fld), fld, "pod", "pod",
                                                  rendered_spec.get(fld, _MISSING))
        spec_node = self._spec_node(pod)
        if spec_node is not None:
            hit = self.layout.values_list(spec_node, "volumes")
            if hit:
                lists[("spec", "volumes")] = hit
        claimed: dict[str, set[int]] = {s: set() for s in SECTIONS}
        new_lists: dict[str, list] = {s: [] for s in SECTIONS}
        rendered_paths: set = set()
        expanded = [(c, list(self._expand(chart, c))) for c in pod.containers]
        reserved = {name for _c, items in expanded for name, _i, _e in items if "{{" not in name}
        for c, items in expanded:
            rendered_list = rendered_spec.get(c.section) if isinstance(rendered_spec.get(c.section), list) else []
            for name, ref_sub, element in items:
                idx = self._claim(rendered_list, claimed[c.section], name, reserved)
                base = O.clone(rendered_list[idx]) if idx is not None else {}
                shown = str(base.get("name") or name.replace("{{ .Chart.Name }}", chart.cmap.name))
                base.pop("securityContext", None)
                base.pop("resources", None)
                base["name"] = shown
                i = len(new_lists[c.section])
                new_lists[c.section].append(base)
                containers[_cid(c.section, i)] = (shown, c.template, c.line)
                if idx is not None or (workload is None and self._may_render(chart, pod, c, element)):
                    rendered_paths.add(("spec", c.section, i))
                rc = rendered_list[idx] if idx is not None else {}
                for fld in ("securityContext", "resources"):
                    src = self._source(chart, c.get(fld), fld, "container", shown, rc.get(fld, _MISSING),
                                       ref_sub, element)
                    sources[("spec", c.section, i, fld)] = src
                node = self.layout.container(c.template, c.line) if element is None else None
                if node is not None:
                    hit = self.layout.values_list(node, "volumeMounts")
                    if hit:
                        lists[("spec", c.section, i, "volumeMounts")] = hit
        # rendered containers discovery did not see: part of the pod, not reachable through values
        for section in SECTIONS:
            rendered_list = rendered_spec.get(section) if isinstance(rendered_spec.get(section), list) else []
            for j, rc in enumerate(rendered_list):
                if j in claimed[section] or not isinstance(rc, dict):
                    continue
                base = {k: O.clone(v) for k, v in rc.items() if k not in ("securityContext", "resources")}
                i = len(new_lists[section])
                new_lists[section].append(base)
                containers[_cid(section, i)] = (str(rc.get("name")), pod.template, pod.line)
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
        for list_path in lists:
            owner = O.get(facts, list_path[:-1])
            if isinstance(owner, dict) and owner.get(list_path[-1]) is None:
                owner[list_path[-1]] = []
        name = workload.site.name if workload is not None else pod.template
        label = f"{pod.kind} {pod.template}"
        return _Consumer(chart, pod, label, name, facts, sources, lists, containers, workload, rendered_paths)

    def _label_duplicates(self) -> None:
        seen: dict[str, int] = {}
        for c in self.consumers:
            seen[c.label] = seen.get(c.label, 0) + 1
        for c in self.consumers:
            if seen[c.label] > 1:
                c.label = f"{c.label}:{c.pod.line}"

    def _spec_node(self, pod: PodTemplate):
        paths = [POD_PATHS[pod.kind]] if pod.kind in POD_PATHS else list(GUESS_PATHS)
        for p in paths:
            node = self.layout.pod_spec(pod.template, pod.line, p)
            if node is not None:
                return node
        return None

    def _expand(self, chart: _Chart, c: ContainerTemplate):
        """(name, index path for `*`, element) per container: one, or one per values list entry."""
        if c.values_list is None:
            yield c.name, None, None
            return
        items = O.get(chart.eff, c.values_list)
        if not isinstance(items, list):
            return
        for i, item in enumerate(items):
            if isinstance(item, dict):
                name = str(item.get("name") or f"{'.'.join(c.values_list)}[{i}]")
                yield name, i, item

    def _may_render(self, chart: _Chart, pod: PodTemplate, c: ContainerTemplate | None,
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
            owner = self._spec_node(pod)
        if node is None:
            return True
        gates, _unknown = self.layout.gates(self.layout.local_conds(node, owner))
        return all(truthy(O.get(chart.eff, g)) for g in gates)

    @staticmethod
    def _claim(rendered: list, claimed: set[int], name: str, reserved: set[str]) -> int | None:
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

    def _match(self, chart: _Chart, pod: PodTemplate) -> R.Workload | None:
        if self.rendered is None:
            return None
        if not hasattr(self, "_pool"):
            self._pool: dict[tuple, list[R.Workload]] = {}
            for w in self.rendered.workloads():
                self._pool.setdefault((w.doc.template, w.site.kind), []).append(w)
        helm_template = chart.helm_prefix + pod.template[len(chart.prefix):]
        pool = self._pool.get((helm_template, pod.kind), [])
        want = {c.name for c in pod.containers if "{{" not in c.name and c.values_list is None and not c.when}
        for w in pool:
            names = {str(c.get("name")) for s in SECTIONS for c in (w.spec.get(s) or []) if isinstance(c, dict)}
            if want <= names:
                pool.remove(w)
                return w
        return None

    def _source(self, chart: _Chart, bindings: list[FieldBinding], fld: str, level: str, owner: str,
                rendered: Any, index: int | None = None, element: dict | None = None) -> Source:
        refs = [b for b in bindings if b.ref is not None and not b.preset]
        presets = [b for b in bindings if b.ref is not None and b.preset]
        literals = [b for b in bindings if b.literal]
        rv = None if rendered is _MISSING else rendered  # the field as rendered (None: absent or unknown)
        if refs:
            b = refs[0]
            ref = b.ref
            assert ref is not None
            path = _concrete(ref.path, index)
            src = Source("values", fld, level, owner, path, ref.omit, ref.gate, True, None, b.template, b.line,
                         b.note)
            if b.note.startswith("computed by"):
                src.kind = "computed"
                src.rendered = rv
            value = O.get(chart.eff, path)
            if not truthy(value) and ref.default_from is not None:
                dflt = _concrete(ref.default_from, index)
                if any(p.ref is not None and p.ref.path == ref.default_from for p in presets):
                    if _preset_on(O.get(chart.eff, dflt)):
                        return Source("preset", fld, level, owner, dflt, template=b.template, line=b.line,
                                      note=f"from the preset {'.'.join(dflt)}")
                elif isinstance(O.get(chart.eff, dflt), dict) and O.get(chart.eff, dflt):
                    src.path = dflt
                    src.note = (f"{'.'.join(path)} is empty, so the chart renders {'.'.join(dflt)}; "
                                "kfix edits what the chart uses")
                elif O.get(chart.eff, dflt) not in (None, _MISSING) and truthy(O.get(chart.eff, dflt)):
                    return Source("none", fld, level, owner, template=b.template, line=b.line,
                                  note=f"built from {'.'.join(dflt)} when {'.'.join(path)} is empty",
                                  rendered=rv)
            if src.gate is not None:
                src.gate = _concrete(src.gate, index)
                src.gate_ok = _owned(src.gate, src.path)
            return src
        if presets:
            b = presets[0]
            assert b.ref is not None
            path = _concrete(b.ref.path, index)
            if _preset_on(O.get(chart.eff, path)):
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

    # ---- rules --------------------------------------------------------------------------------
    def _plan_consumer(self, c: _Consumer) -> None:
        values = O.clone(c.chart.eff)
        working = c.doc(values, would=True)
        pod = self._pod(c, working)
        wanted_fields: set[tuple] = set()
        for rule in self.options.rules:
            for finding in list(rule.check(pod)):
                self._finding(c, finding, values, working, wanted_fields)
        # a field kept off by a gate whose content needs no fix: turning the gate on is the fix
        gated = [(p, s) for p, s in c.sources.items() if s.kind == "values" and s.gate and s.gate_ok and
                 not truthy(O.get(values, s.gate)) and p not in wanted_fields and field_data(s, values, True)[0]]
        if gated:
            actual = c.doc(values, would=False)
            apod = self._pod(c, actual)
            for rule in self.options.rules:
                for finding in list(rule.check(apod)):
                    if not finding.ops or finding.fix is Fix.REPORT:
                        continue
                    for prefix, src in gated:
                        if all(tuple(op.path[:len(prefix)]) == prefix for op in finding.ops):
                            self._gate_only(c, finding, prefix, src)
                            break

    def _pod(self, c: _Consumer, doc: dict) -> Pod:
        return Pod(doc, ("spec",), ("metadata",), c.pod.kind, c.name, None, self.options.profile,
                   self.options.settings, self.inventory, self.options.unsafe_fixes)

    def _report(self, c: _Consumer, finding: Finding, status: str, note: str = "",
                values_path: tuple | None = None) -> Reported:
        if values_path is not None:
            file, line = self._values_location(c.chart, values_path)
        else:
            template, line = c.where(finding.path)
            file = str(self.dir / template) if template else str(self.dir / c.pod.template)
        rep = Reported(finding, file, line, c.label, status, note)
        self.reported.append(rep)
        return rep

    def _values_location(self, chart: _Chart, path: tuple) -> tuple[str, int]:
        i = chart.chain.defining(path)
        if i is None or not chart.chain.layers[i].editable:
            i = chart.chain.default_target()
        layer = chart.chain.layers[i] if i is not None else chart.chain.layers[-1]
        vf = layer.file
        if vf.doc is None:
            return vf.path, 1
        return vf.path, _line_of(vf.doc, layer.prefix + tuple(path))

    def _finding(self, c: _Consumer, finding: Finding, values: dict, working: dict, wanted: set) -> None:
        hit = c.source_for(finding.path)
        vloc = None
        if hit is not None and hit[1].kind == "values":
            vloc = hit[1].path + tuple(finding.path[len(hit[0]):])
        if finding.fix is Fix.REPORT or not finding.ops:
            rep = self._report(c, finding, "report", "", vloc)
            if vloc is not None and finding.fix is Fix.REPORT:
                self.refusals.append((c.chart, finding.rule, vloc, c))
            return
        if finding.fix is Fix.UNSAFE and not self.options.unsafe_fixes:
            self._report(c, finding, "unsafe", "unsafe fix not applied (use --unsafe-fixes)", vloc)
            for op in finding.ops:  # a value a person wrote that only an unsafe fix overrides
                h = c.source_for(op.path)
                if h is not None and O.get(working, op.path) is not None:
                    self.unsafe_in.append((c, h[0]))
            return
        # volumes and their mounts (a writable emptyDir) go through values together or not at all
        volume_ops = [op for op in finding.ops if _is_volume(op)]
        field_ops = [op for op in finding.ops if not _is_volume(op)]
        vops, problems, flips, prefixes, src = self._translate(c, tuple(field_ops), values)
        failed = [(op, p) for op, p in zip(field_ops, problems) if p is not None]
        fixed_ops = [op for op, p in zip(field_ops, problems) if p is None]
        if volume_ops and fixed_ops:
            v2, p2, f2, pre2, _s2 = self._translate(c, tuple(volume_ops), O.apply(values, vops))
            bad = [p for p in p2 if p is not None]
            if bad and not self.options.unsafe_fixes:
                # without its writable volume the rest is the unsafe variant of the fix (see the rule)
                why, _where = bad[0]
                self._report(c, finding, "unsafe", f"unsafe fix not applied (use --unsafe-fixes): the writable "
                                                   f"emptyDir cannot go through values ({why})", vloc)
                return
            if bad:
                failed.append((volume_ops[0], bad[0]))
            else:
                vops.extend(x for x in v2 if x not in vops)
                fixed_ops.extend(volume_ops)
                flips.extend(f for f in f2 if f not in flips)
        elif volume_ops:
            failed.append((volume_ops[0], ("the rest of the fix does not go through values",
                                           c.where(volume_ops[0].path))))
        if fixed_ops and not vops:
            failed.append((fixed_ops[0], ("the values already say so, but the rendered field does not follow them",
                                          c.where(fixed_ops[0].path))))
            fixed_ops = []
        if not fixed_ops or src is None:
            why, (template, line) = failed[0][1]
            rep = self._report(c, finding, "report", _not_fixed(why), None)
            rep.file, rep.line = str(self.dir / template), line
            return
        rep = self._report(c, finding, "fix", "", vloc)
        if vloc is None:
            rep.file, rep.line = self._values_location(c.chart, _first_path(vops))
        if failed:
            parts = [_what(op) for op, _p in failed]
            why, (template, line) = failed[0][1]
            rep.note = f"partly: {', '.join(parts)} not added ({_not_fixed(why)})"
            extra = Finding(finding.rule, finding.facet, f"{finding.message}: {', '.join(parts)} not added",
                            Fix.REPORT, failed[0][0].path, finding.container, (), finding.checks)
            xrep = self._report(c, extra, "report", _not_fixed(why))
            xrep.file, xrep.line = str(self.dir / template), line
        key = (c.chart.prefix, finding.rule, _anchor(src, vops))
        self.wants.append(_Want(rep, c, c.chart, key, vops, prefixes[0], src, flips[0] if flips else None))
        wanted.update(prefixes)
        for op in fixed_ops:
            O.apply_one(working, op)
        for op in vops:
            O.apply_one(values, op)

    def _gate_only(self, c: _Consumer, finding: Finding, prefix: tuple, src: Source) -> None:
        assert src.gate is not None
        vops = [O.Set(src.gate, True)]
        rep = self._report(c, finding, "fix", f"turns on {'.'.join(src.gate)}", src.gate)
        key = (c.chart.prefix, finding.rule, _anchor(src, vops))
        self.wants.append(_Want(rep, c, c.chart, key, vops, prefix, src, src.gate))

    # ---- translating operations -------------------------------------------------------------------
    def _translate(self, c: _Consumer, ops: tuple, values: dict):
        """Values operations for a finding's operations; per op None or (why not, (template, line))."""
        vops: list[O.Op] = []
        problems: list = []
        flips: list[tuple] = []
        prefixes: list[tuple] = []
        first_src: Source | None = None
        for op in ops:
            res = self._translate_one(c, op, values)
            if isinstance(res, tuple) and len(res) == 2 and isinstance(res[0], str):
                problems.append(res)
                continue
            ops_out, flip, prefix, src = res
            # the values edit must reach the rendered field exactly as the rule wanted
            trial = O.apply(values, vops + ops_out)
            if not self._reaches(c, op, trial, prefix):
                problems.append((f"the values edit would not reach the rendered {_fmt(prefix[1:])}",
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

    def _reaches(self, c: _Consumer, op: O.Op, values_after: dict, prefix: tuple) -> bool:
        """Whether the field, rendered from ``values_after``, has the operation's effect."""
        src = c.sources.get(prefix)
        if src is None:  # a values list of volumes or mounts: rendered as it is
            return True
        present, data = field_data(src, values_after, would=False)
        holder = {"f": O.clone(data) if present else None}
        return O.is_noop(holder, O.with_path(op, ("f",) + tuple(op.path[len(prefix):])))

    def _translate_one(self, c: _Consumer, op: O.Op, values: dict):
        hit = c.source_for(op.path)
        if hit is None:
            return self._translate_list(c, op, values)
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
            if src.rendered not in (None, _MISSING) and src.rendered != O.get(values, src.path):
                return (f"{src.fld} is {src.note}", where)
            return [O.Set(src.path, op.value)], None, prefix, src
        if src.kind == "literal":
            assert src.lnode is not None
            res = self._translate_literal(src.lnode, rest, op, values, (src.template, src.line))
            if isinstance(res[0], str):
                return res
            ops_out, flip = res
            for g in src.lnode.gates:  # the field itself renders only under these
                if not truthy(O.get(values, g)):
                    if not any(_owned(g, tuple(x.path)) for x in ops_out):
                        return (f"{src.fld} renders only when {'.'.join(g)} is set, which kfix does not turn on",
                                where)
                    ops_out.insert(0, O.Set(g, True))
                    flip = flip or g
            return ops_out, flip, prefix, src
        # values
        shared = self._sa_keys(c.chart).get(tuple(src.path))
        if shared:
            return (f"values key {'.'.join(map(str, src.path))} also sets the ServiceAccount's "
                    f"automountServiceAccountToken ({shared})", where)
        if rest and rest[0] in src.omit:
            return (f"the chart drops {rest[0]} from {'.'.join(src.path)}", where)
        current = O.get(values, src.path)
        if rest and current is not None and not isinstance(current, dict):
            return (f"values key {'.'.join(src.path)} is not a mapping", where)
        out: list[O.Op] = [O.with_path(op, tuple(src.path) + tuple(rest))]
        flip = None
        if src.gate and not truthy(O.get(values, src.gate)):
            if not src.gate_ok:
                return (f"{src.fld} renders only when {'.'.join(src.gate)} is set, which kfix does not turn on",
                        where)
            flip = src.gate
            out.insert(0, O.Set(src.gate, True))
        return out, flip, prefix, src

    def _sa_keys(self, chart: _Chart) -> dict[tuple, str]:
        """Values keys that a ServiceAccount's automountServiceAccountToken reads (from discovery's notes)."""
        out: dict[tuple, str] = {}
        for note in chart.cmap.notes:
            head, sep, key = note.partition(": ServiceAccount sets automountServiceAccountToken from values ")
            if sep:
                out[tuple(key.strip().split("."))] = head
        return out

    def _translate_literal(self, node: LNode, rest: tuple, op: O.Op, values: dict, where: tuple):
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
            res = self._translate_literal(child, rest[1:], op, values, cwhere)
            if isinstance(res[0], str):
                return res
            ops_out.extend(res[0])
            flips.extend(g for g in ([res[1]] if res[1] else []) if g not in flips)
        elif child.kind == "map" and isinstance(op, O.Set) and isinstance(op.value, dict) and op.value:
            for k, v in op.value.items():
                res = self._translate_literal(child, (k,), O.Set(rest + (k,), v), values, cwhere)
                if isinstance(res[0], str):
                    return res
                ops_out.extend(res[0])
        else:
            return (f"the template writes {key} itself", cwhere)
        for g in flips:
            if not any(_owned(g, tuple(x.path)) for x in ops_out):
                return (f"{key} renders only when {'.'.join(g)} is set, which kfix does not turn on", cwhere)
        return [O.Set(g, True) for g in flips] + ops_out, (flips[0] if flips else None)

    def _translate_list(self, c: _Consumer, op: O.Op, values: dict):
        where = c.where(op.path)
        for prefix, (vpath, gates) in c.lists.items():
            if tuple(op.path[:len(prefix)]) == prefix and isinstance(op, O.Append) and len(op.path) == len(prefix):
                if (self.rendered is not None and c.workload is None) or (
                        len(prefix) > 3 and tuple(prefix[:3]) not in c.rendered_containers) or (
                        self.rendered is None and not self._may_render(c.chart, c.pod, None, None)):
                    return (f"{NOT_RENDERED}: kfix adds a writable emptyDir only where it can check the rendered "
                            "pod", where)
                current = O.get(values, vpath)
                if current is not None and not isinstance(current, list):
                    return (f"values key {'.'.join(vpath)} is not a list", where)
                return [O.Append(vpath, op.value, op.unique_key)], None, prefix, None
        what = op.path[-1] if op.path else "?"
        if what in ("volumes", "volumeMounts"):
            return (f"no values key adds {what} here (a writable emptyDir needs one, e.g. extraVolumes)", where)
        return (f"{_fmt(op.path[1:])} is not set through values (kfix edits securityContext, resources and "
                "automountServiceAccountToken)", where)

    # ---- changes ------------------------------------------------------------------------------
    def _group(self) -> dict[tuple, list[_Want]]:
        groups: dict[tuple, list[_Want]] = {}
        for w in self.wants:
            groups.setdefault(w.key, []).append(w)
        # gates: turning one on also turns on what a person wrote under it
        blocked = {(id(c), p) for c, p in self.unsafe_in}
        for key, ws in list(groups.items()):
            if any(w.flip and (id(w.consumer), w.field_prefix) in blocked for w in ws):
                self._drop(ws, "report", "turning on the gate would also apply settings that kfix only fixes with "
                                         "--unsafe-fixes")
                del groups[key]
        # shared keys: one edit, unless the consumers need different things
        for key, ws in list(groups.items()):
            why = self._conflict(ws)
            if why:
                self._drop(ws, "report", why)
                del groups[key]
        return groups

    def _conflict(self, ws: list[_Want]) -> str:
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
        for chart, r, path, consumer in self.refusals:
            if r != rule or chart is not ws[0].chart:
                continue
            for w in ws:
                for op in w.vops:
                    if tuple(op.path[:len(path)]) == tuple(path) and id(consumer) not in asking[repr(op)]:
                        return (f"values key {'.'.join(map(str, path))} is shared with {consumer.label}, which must "
                                f"not get {'.'.join(map(str, op.path))} ({rule} reports why there)")
        return ""

    def _drop(self, ws: list[_Want], status: str, note: str) -> None:
        for w in ws:
            w.rep.status, w.rep.note, w.rep.change_id = status, note, None

    def _file_plans(self, groups: dict[tuple, list[_Want]]) -> list[FilePlan]:
        plans: dict[str, ValuesPlan] = {}
        for f in self.files:
            plans[f.path] = ValuesPlan(f.path, source=f.source, chart=str(self.dir), kubernetes=True)
        main = plans[self.files[0].path]
        by_file: dict[str, list[tuple[Change, list[_Want]]]] = {}
        for key, ws in groups.items():
            chart = ws[0].chart
            vops: list[O.Op] = []
            for w in ws:
                vops.extend(op for op in w.vops if op not in vops)
            err = self._schema_error(chart, vops)
            if err:
                self._drop(ws, "unfixable", f"values.schema.json: {err}" if "schema" not in err else err)
                continue
            layer, fops, why = place(chart.chain, vops)
            if layer is None:
                self._drop(ws, "unfixable", why)
                continue
            vfile = chart.chain.layers[layer].file
            consumers = list(dict.fromkeys(w.consumer.label for w in ws))
            containers = list(dict.fromkeys(w.rep.finding.container for w in ws if w.rep.finding.container))
            rule = ws[0].rep.rule
            anchor = ".".join(map(str, key[2]))
            cid = f"helm:{key[0]}{anchor}:{rule}"
            fix = Fix.UNSAFE if any(w.rep.finding.fix is Fix.UNSAFE for w in ws) else Fix.SAFE
            line = _line_of(vfile.doc, _first_path(fops)) if vfile.doc is not None else 1
            resource = consumers[0] + (f" (+{len(consumers) - 1} more)" if len(consumers) > 1 else "")
            change = Change(cid, rule, fix, 0, resource, ", ".join(containers) or None, line, fops,
                            list(dict.fromkeys(w.rep.finding.message for w in ws)))
            for w in ws:
                w.rep.change_id = cid
                w.rep.file = vfile.path
                w.rep.line = _line_of(vfile.doc, _first_path(fops)) if vfile.doc is not None else 1
            by_file.setdefault(vfile.path, []).append((change, ws))
        for path, items in by_file.items():
            plan = plans[path]
            vfile = next(f for f in self.files if f.path == path)
            plan.changes = [c for c, _ in items]
            plan.hints = _hints(items)
            # findings of this file's changes live in its plan (for _editable's bookkeeping)
            plan.findings = [w.rep for _, ws in items for w in ws]
            if not vfile.editable or vfile.doc is None:
                for c, ws in items:
                    self._drop(ws, "unfixable", "the values file is empty or not a mapping; kfix does not create "
                                                "its content")
                plan.changes = []
                continue
            self._finish(plan, vfile)
        # every finding once, in the plan of the file it points at (template findings: values.yaml)
        for plan in plans.values():
            plan.findings = []
        for rep in self.reported:
            plans.get(rep.file, main).findings.append(rep)
        notes = list(dict.fromkeys(self.notes))
        if self.render_note:
            notes.append(self.render_note)
        main.note = "; ".join(notes) if notes else None
        out: list[FilePlan] = [main]
        out.extend(p for p in plans.values() if p is not main and (p.changes or p.findings))
        self._plans = out
        return out

    def _finish(self, plan: ValuesPlan, vfile: ValuesFile) -> None:
        assert vfile.doc is not None and plan.source is not None
        text = plan.source.text
        docs = [vfile.doc]
        plan.changes, _edits = _editable(plan, text, docs)
        if not plan.changes:
            plan.new_text = None
            return
        try:
            plan.new_text = _render_values(text, plan.changes, plan.hints)
        except VerificationError as exc:
            plan.error = InputError(f"internal check failed, file not written: {exc.message}", exc.line, plan.path)
            plan.new_text = None

    def _schema_error(self, chart: _Chart, vops: list[O.Op]) -> str | None:
        for schema, prefix, owner in chart.schemas:
            err = check_ops(schema, owner.eff, [prefixed(op, prefix) for op in vops])
            if err:
                return err
        return None

    # ---- proof by rendering -------------------------------------------------------------------
    def _prove(self, plans: list[FilePlan]) -> None:
        """Render before and after; refuse edits that change more than security fields."""
        main = plans[0]
        if self.rendered is None:
            proof = RenderProof(False, self.render_note)
        else:
            proof = RenderProof(True)
            after: R.Rendered | None = self.rendered
            for _round in range(2):
                if not any(p.changed for p in plans):
                    after = self.rendered
                    break
                after, err = self._render_after(plans)
                outside = self._outside(after, plans)
                if after is not None and not outside:
                    break
                proof.outside.extend(outside or [f"Helm rejects the edited values: {err}"])
                why = ("refused: rendering the chart shows this values edit changes more than security fields"
                       if outside else f"refused: Helm rejects the edited values ({err})")
                bad = self._offenders(plans) if _round == 0 else []
                if not bad:  # together they break it, or a second round: refuse them all
                    bad = [(p, c) for p in plans for c in p.changes]
                self._refuse(plans, bad, why, proof)
            proof.workloads = self._workload_proofs(self.rendered, after or self.rendered)
        for p in plans:
            if isinstance(p, ValuesPlan):
                p.proof = proof
        if proof.rendered:
            summary = proof.summary()
            main.note = f"{main.note}; {summary}" if main.note else summary

    def _refuse(self, plans: list[FilePlan], bad: list, why: str, proof: RenderProof) -> None:
        for p, c in bad:
            proof.refused.append(c.id)
            for rep in self.reported:
                if rep.change_id == c.id:
                    rep.status, rep.change_id, rep.note = "unfixable", None, why
            if c in p.changes:
                p.changes.remove(c)
        for p in plans:
            if isinstance(p, ValuesPlan) and p.source is not None:
                p.new_text = _render_values(p.source.text, p.changes, p.hints) if p.changes else None

    def _outside(self, after: R.Rendered | None, plans: list[FilePlan]) -> list[str]:
        """Changes outside security fields (random names and generated certificates left out)."""
        if after is None:
            return []
        volumes = self._volume_edits(plans)
        found = R.outside_changes(self.rendered, after, set(), volumes)
        if found:
            found = R.outside_changes(self.rendered, after, self._unstable(), volumes)
        return found

    def _volume_edits(self, plans: list[FilePlan]) -> bool:
        lists = {vp for c in self.consumers for vp, _g in c.lists.values()}
        return any(tuple(op.path[-len(vp):]) == vp for p in plans for ch in p.changes for op in ch.ops for vp in lists)

    def _render_after(self, plans: list[FilePlan], only: tuple | None = None) -> tuple[R.Rendered | None, str]:
        texts = {}
        for p in plans:
            if p.source is None:
                continue
            if only is not None:
                plan, change = only
                if p is plan:
                    texts[p.path] = _render_values(p.source.text, [change], p.hints)  # type: ignore[attr-defined]
                continue
            if p.changed:
                texts[p.path] = p.new_text
        main_text = texts.get(self.files[0].path)
        extra = []
        for f in self.files[1:]:
            text = texts.get(f.path)
            if text is None:
                extra.append(f.data)
            else:
                try:
                    extra.append(R.parse_values_text(text))
                except Exception as exc:  # noqa: BLE001
                    return None, str(exc)
        try:
            return R.render(self.dir, merge_user(extra), main_text), ""
        except R.RenderError as exc:
            return None, str(exc)

    def _offenders(self, plans: list[FilePlan]) -> list[tuple[FilePlan, Change]]:
        bad = []
        for p in plans:
            for c in list(p.changes):
                after, _err = self._render_after(plans, (p, c))
                if after is None or self._outside(after, [p]):
                    bad.append((p, c))
        return bad

    def _workload_proofs(self, before: R.Rendered, after: R.Rendered) -> list[WorkloadProof]:
        def key(w: R.Workload) -> tuple:
            return (w.doc.template, w.doc.index, w.site.path)

        after_by = {key(w): w for w in after.workloads()}
        label_of = {key(c.workload): c.label for c in self.consumers if c.workload is not None}
        why_index: dict[tuple, list[Reported]] = {}
        for rep in self.reported:
            why_index.setdefault((rep.resource, rep.rule, rep.finding.container), []).append(rep)
        out = []
        for w in before.workloads():
            w2 = after_by.get(key(w))
            if w2 is None:
                continue
            b = _findings(w, self.options, self.inventory)
            a = _findings(w2, self.options, self.inventory)
            proof = WorkloadProof(w.resource, w.doc.template)
            after_keys = {k for k, _ in a}
            proof.cleared = [msg for k, msg in b if k not in after_keys]
            label = label_of.get(key(w))
            for k, msg in a:
                proof.remaining.append((msg, _why(why_index.get((label, k[0], k[2]), []), k)))
            out.append(proof)
        return out


# --------------------------------------------------------------------------- helpers


def _findings(w: R.Workload, options: Options, inv: Inventory) -> list[tuple[tuple, str]]:
    data = O.clone(w.doc.data)
    pod = Pod(data, w.site.path, w.site.meta_path, w.site.kind, w.site.name, None, options.profile,
              options.settings, inv, options.unsafe_fixes)
    out = []
    for rule in options.rules:
        for f in rule.check(pod):
            key = (f.rule, f.facet, f.container, f.message)
            out.append((key, f"{f.rule}: {f.message}"))
    return out


def _why(reps: list[Reported], key: tuple) -> str:
    if not reps:
        return "not reachable through values"
    rep = next((r for r in reps if r.finding.facet == key[1]), reps[0])
    if rep.status == "unsafe":
        return "unsafe fix not applied (use --unsafe-fixes)"
    text = {"report": "report only", "unfixable": "cannot fix", "fix": "planned through values, yet not "
            "cleared"}.get(rep.status, rep.status)
    return f"{text}: {rep.note}" if rep.note else text


def _pod_templates(cmap: ChartMap) -> set[str]:
    out: set[str] = set()
    for pod in cmap.pods:
        out.add(pod.template)
        out.update(c.template for c in pod.containers)
        out.update(b.template for b in pod.bindings)
        out.update(b.template for c in pod.containers for b in c.bindings)
    for sub in cmap.subcharts:
        out |= _pod_templates(sub)
    return out


def _ns(ns: Any) -> Any:
    return None if ns in (None, R.NAMESPACE) else ns


def _subchart_values(chart_dir: Path) -> ValuesFile:
    p = Path(chart_dir)
    if p.is_dir():
        vf = p / "values.yaml"
        return load_values_file(str(vf)) if vf.is_file() else ValuesFile(str(vf), None, None, {})
    import tarfile

    try:
        with tarfile.open(p, "r:gz") as tar:
            for m in tar.getmembers():
                parts = m.name.split("/")
                if m.isfile() and len(parts) == 2 and parts[1] == "values.yaml":
                    fh = tar.extractfile(m)
                    if fh is not None:
                        return load_values_file(f"{p}/{m.name}", fh.read())
    except (tarfile.TarError, OSError):
        pass
    return ValuesFile(str(p), None, None, {})


def _concrete(path: tuple, index: int | None) -> tuple:
    if index is None or "*" not in path:
        return tuple(path)
    i = path.index("*")
    return tuple(path[:i]) + (index,) + tuple(p for p in path[i + 1:] if p != "*")


def _owned(gate: tuple, path: tuple) -> bool:
    """A gate kfix may turn on for ``path``: it sits beside or inside the key it gates
    (`podSecurityContext.enabled`, `seccompProfile.enable` next to `seccompProfile.type`)."""
    return len(gate) >= 2 and tuple(path[:len(gate) - 1]) == tuple(gate[:-1])


def _anchor(src: Source, vops: list[O.Op]) -> tuple:
    """What makes two findings one change: the same values key (a shared ref), or, for a field
    the template writes with values inside, the same values keys edited."""
    if src.kind in ("values", "computed", "preset"):
        return src.path
    return tuple(sorted({".".join(map(str, op.path)) for op in vops}))


def _first_path(ops: list[O.Op]) -> tuple:
    for op in ops:
        return tuple(op.path)
    return ()


def _fmt(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _not_fixed(why: str) -> str:
    if why.startswith(NOT_RENDERED):
        return why
    return f"{TEMPLATE_CHANGE}: {why}"


def _is_volume(op: O.Op) -> bool:
    return isinstance(op, O.Append) and bool(op.path) and op.path[-1] in ("volumes", "volumeMounts")


def _what(op: O.Op) -> str:
    if _is_volume(op):
        return "the writable emptyDir volume and its mount"
    return _fmt(tuple(op.path[1:]))


def _hints(items: list) -> dict:
    """Descriptions for `## @param` lines of keys a change adds, by values path."""
    out: dict = {}
    for change, ws in items:
        src = ws[0].src
        for op in change.ops:
            path = tuple(op.path)
            if src.fld == "securityContext":
                who = "pod's" if src.level == "pod" else "container's"
                rest = path[len(src.path):] if tuple(path[:len(src.path)]) == tuple(src.path) else path[-1:]
                out[path] = f"Set the {who} Security Context {'.'.join(map(str, rest))}"
            elif src.fld == "resources":
                rest = path[len(src.path):] if tuple(path[:len(src.path)]) == tuple(src.path) else path[-1:]
                out[path] = f"Set the container's resource {' '.join(map(str, rest))}"
            elif src.fld == "automountServiceAccountToken":
                out[path] = "Mount the service account token in the pod"
            if isinstance(op, O.Set) and isinstance(op.value, dict):
                for leaf, desc in _leaf_hints(path, op.value, out[path] if path in out else "").items():
                    out[leaf] = desc
    return out


def _leaf_hints(path: tuple, value: dict, base: str) -> dict:
    out = {}
    for k, v in value.items():
        p = path + (k,)
        if isinstance(v, dict) and v:
            out.update(_leaf_hints(p, v, f"{base}.{k}" if base else k))
        else:
            out[p] = f"{base}.{k}" if base else str(k)
    return out
