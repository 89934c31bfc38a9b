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

The parts: ``charts`` (the chart tree and its values chains), ``synthetic`` (the pods as the values
make them), ``translate`` (pod operations to values operations), ``grouping`` (changes, and the
refusals of shared keys, schemas and gates), ``proof`` (the render proof and the plan records).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kfix.rules import Finding, Fix, Inventory, Pod

from kfix import ops as O
from kfix.errors import InputError, VerificationError
from kfix.planner import Change, FilePlan, Options, Reported, _editable, _line_of
from kfix.helm import render as R
from kfix.helm.chartfiles import load_schema
from kfix.helm.charts import ChartNode, add_subcharts, chart_dirs, is_chart, pod_templates
from kfix.helm.grouping import Want, anchor, drop, group_wants, schema_error
from kfix.helm.proof import RenderProof, RenderProver, ValuesPlan, WorkloadProof, render_before, render_values
from kfix.helm.structure import Layout
from kfix.helm.templates import discover
from kfix.helm.synthetic import Consumer, Source, SyntheticPods, field_data
from kfix.helm.translate import Translator, is_volume, not_fixed, what_op
from kfix.helm.values import Layer, ValuesChain, ValuesFile, load_values_file, place, truthy

__all__ = ["plan_chart", "ValuesPlan", "RenderProof", "WorkloadProof", "is_chart", "chart_dirs"]


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
        return Planner(chart_dir, options, list(values_files), render).run()
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


class Planner:
    """The values plan of one chart: synthetic pods, rules, translation, grouping, the render proof."""

    def __init__(self, chart_dir: Path, options: Options, values_files: list[str], render: bool | None):
        self.dir = chart_dir
        self.options = options
        self.values_files = values_files
        self.render_wanted = render
        self.notes: list[str] = []
        self.reported: list[Reported] = []
        self.wants: list[Want] = []
        self.refusals: list[tuple[ChartNode, str, tuple, Consumer]] = []  # report findings on values paths
        self.unsafe_in: list[tuple[Consumer, tuple]] = []  # unsafe findings not applied: (consumer, prefix)
        self.parts: dict[str, list[tuple[Reported, list]]] = {}  # change id -> its findings and their edits

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
        self.layout = Layout(self.dir, pod_templates(self.cmap))
        self.notes.extend(self.cmap.notes)
        top = ChartNode(self.cmap, "", "", ValuesChain([Layer(f, (), f.editable) for f in self.files]),
                        [], None)
        schema = load_schema(self.dir)
        if schema:
            top.schemas.append((schema, (), top))
        self.charts = [top]
        add_subcharts(self.dir, top, self.charts, self.notes)
        self.rendered, self.render_note = render_before(self.dir, self.files, self.render_wanted)
        self.inventory = self.build_inventory()
        self.pods = SyntheticPods(self.layout, self.rendered)
        self.translator = Translator(self.pods)
        self.consumers = [self.pods.consumer(ch, pod) for ch in self.charts for pod in ch.cmap.pods]
        SyntheticPods.label_duplicates(self.consumers)
        for consumer in self.consumers:
            self.plan_consumer(consumer)
        groups = group_wants(self.wants, self.unsafe_in, self.refusals)
        plans = self.file_plans(groups)
        RenderProver(self.dir, self.files, self.rendered, self.render_note, self.options, self.inventory,
                     self.consumers, self.reported, self.parts).prove(plans)
        return plans

    def build_inventory(self) -> Inventory:
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

    def plan_consumer(self, c: Consumer) -> None:
        values = O.clone(c.chart.eff)
        working = c.doc(values, would=True)
        pod = self.pod(c, working)
        wanted_fields: set[tuple] = set()
        for rule in self.options.rules:
            for finding in list(rule.check(pod)):
                self.finding(c, finding, values, working, wanted_fields)
        # a field kept off by a gate whose content needs no fix: turning the gate on is the fix
        gated = [(p, s) for p, s in c.sources.items() if s.kind == "values" and s.gate and s.gate_ok and
                 not truthy(O.get(values, s.gate)) and p not in wanted_fields and field_data(s, values, True)[0]]
        if gated:
            actual = c.doc(values, would=False)
            apod = self.pod(c, actual)
            for rule in self.options.rules:
                for finding in list(rule.check(apod)):
                    if not finding.ops or finding.fix is Fix.REPORT:
                        continue
                    for prefix, src in gated:
                        if all(tuple(op.path[:len(prefix)]) == prefix for op in finding.ops):
                            self.gate_only(c, finding, prefix, src)
                            break

    def pod(self, c: Consumer, doc: dict) -> Pod:
        return Pod(doc, ("spec",), ("metadata",), c.pod.kind, c.name, None, self.options.profile,
                   self.options.settings, self.inventory, self.options.unsafe_fixes)

    def report(self, c: Consumer, finding: Finding, status: str, note: str = "",
               values_path: tuple | None = None) -> Reported:
        if values_path is not None:
            file, line = self.values_location(c.chart, values_path)
        else:
            template, line = c.where(finding.path)
            file = str(self.dir / template) if template else str(self.dir / c.pod.template)
        rep = Reported(finding, file, line, c.label, status, note)
        self.reported.append(rep)
        return rep

    def values_location(self, chart: ChartNode, path: tuple) -> tuple[str, int]:
        i = chart.chain.defining(path)
        if i is None or not chart.chain.layers[i].editable:
            i = chart.chain.default_target()
        layer = chart.chain.layers[i] if i is not None else chart.chain.layers[-1]
        vf = layer.file
        if vf.doc is None:
            return vf.path, 1
        return vf.path, _line_of(vf.doc, layer.prefix + tuple(path))

    def finding(self, c: Consumer, finding: Finding, values: dict, working: dict, wanted: set) -> None:
        hit = c.source_for(finding.path)
        vloc = None
        if hit is not None and hit[1].kind == "values":
            vloc = hit[1].path + tuple(finding.path[len(hit[0]):])
        if finding.fix is Fix.REPORT or not finding.ops:
            rep = self.report(c, finding, "report", "", vloc)
            if vloc is not None and finding.fix is Fix.REPORT:
                self.refusals.append((c.chart, finding.rule, vloc, c))
            return
        if finding.fix is Fix.UNSAFE and not self.options.unsafe_fixes:
            self.report(c, finding, "unsafe", "unsafe fix not applied (use --unsafe-fixes)", vloc)
            for op in finding.ops:  # a value a person wrote that only an unsafe fix overrides
                h = c.source_for(op.path)
                if h is not None and O.get(working, op.path) is not None:
                    self.unsafe_in.append((c, h[0]))
            return
        # volumes and their mounts (a writable emptyDir) go through values together or not at all
        volume_ops = [op for op in finding.ops if is_volume(op)]
        field_ops = [op for op in finding.ops if not is_volume(op)]
        vops, problems, flips, prefixes, src = self.translator.translate(c, tuple(field_ops), values)
        if any(p is not None for p in problems):
            per = per_container(field_ops, working)
            if per:  # the pod's seccompProfile on each container, where only their securityContext is values
                tried = self.translator.translate(c, tuple(per), values)
                if tried[0] and all(p is None for p in tried[1]) and not self.own_seccomp(c, tried[0]):
                    why, (template, line) = next(p for p in problems if p is not None)
                    left = self.report(c, finding, "report", f"{not_fixed(why)}; the containers' seccompProfile is set "
                                                             "through values instead, the pod-level default for "
                                                             "containers added later is left")
                    left.file, left.line = str(self.dir / template), line
                    field_ops = per
                    vops, problems, flips, prefixes, src = tried
        failed = [(op, p) for op, p in zip(field_ops, problems) if p is not None]
        fixed_ops = [op for op, p in zip(field_ops, problems) if p is None]
        if volume_ops and fixed_ops:
            v2, p2, f2, pre2, _s2 = self.translator.translate(c, tuple(volume_ops), O.apply(values, vops))
            bad = [p for p in p2 if p is not None]
            if bad and not self.options.unsafe_fixes:
                # without its writable volume the rest is the unsafe variant of the fix (see the rule)
                why, _where = bad[0]
                self.report(c, finding, "unsafe", f"unsafe fix not applied (use --unsafe-fixes): the writable "
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
            covered = self.covered(c, fixed_ops, values)
            if covered is not None:  # kfix's edit of a key this container shares with another one does it
                vops, flips, prefixes, src = covered
            else:
                failed.append((fixed_ops[0], ("the values already say so, but the rendered field does not follow "
                                              "them", c.where(fixed_ops[0].path))))
                fixed_ops = []
        if not fixed_ops or src is None:
            why, (template, line) = failed[0][1]
            rep = self.report(c, finding, "report", not_fixed(why), None)
            rep.file, rep.line = str(self.dir / template), line
            return
        rep = self.report(c, finding, "fix", "", vloc)
        if vloc is None:
            rep.file, rep.line = self.values_location(c.chart, _first_path(vops))
        if failed:
            parts = [what_op(op) for op, _p in failed]
            why, (template, line) = failed[0][1]
            rep.note = f"partly: {', '.join(parts)} not added ({not_fixed(why)})"
            extra = Finding(finding.rule, finding.facet, f"{finding.message}: {', '.join(parts)} not added",
                            Fix.REPORT, failed[0][0].path, finding.container, (), finding.checks)
            xrep = self.report(c, extra, "report", not_fixed(why))
            xrep.file, xrep.line = str(self.dir / template), line
        # a key that takes the template's own defaults with the first fix takes every fix at once
        key = (c.chart.prefix, "" if src.fallback is not None else finding.rule, anchor(src, vops))
        self.wants.append(Want(rep, c, c.chart, key, vops, prefixes[0], src, flips[0] if flips else None))
        wanted.update(prefixes)
        for op in fixed_ops:
            O.apply_one(working, op)
        for op in vops:
            O.apply_one(values, op)

    def own_seccomp(self, c: Consumer, vops: list[O.Op]) -> bool:
        """Whether another pod that renders one of these container keys has a seccompProfile of its own (the
        container's would override it there)."""
        keys = {tuple(op.path[:-1]) for op in vops if op.path and op.path[-1] == "seccompProfile"}
        for other in self.consumers:
            if other is c or other.chart is not c.chart:
                continue
            if any(s.kind == "values" and s.level == "container" and tuple(s.path) in keys
                   for s in other.sources.values()):
                sc = O.get(other.doc(O.clone(other.chart.eff), would=False), ("spec", "securityContext"))
                if isinstance(sc, dict) and sc.get("seccompProfile") is not None:
                    return True
        return False

    def covered(self, c: Consumer, ops: list[O.Op], values: dict) -> tuple | None:
        """The values operations that fix ``ops`` on the chart's own values, when the edits already planned
        for another container of this pod (a key they share, grafana's `sidecar.resources`) hold them all."""
        vops, problems, flips, prefixes, src = self.translator.translate(c, tuple(ops), O.clone(c.chart.eff))
        if not vops or src is None or any(p is not None for p in problems) or \
                not all(O.is_noop(values, op) for op in vops):
            return None
        return vops, flips, prefixes, src

    def gate_only(self, c: Consumer, finding: Finding, prefix: tuple, src: Source) -> None:
        assert src.gate is not None
        vops = [O.Set(src.gate, True)]
        rep = self.report(c, finding, "fix", f"turns on {'.'.join(src.gate)}", src.gate)
        key = (c.chart.prefix, finding.rule, anchor(src, vops))
        self.wants.append(Want(rep, c, c.chart, key, vops, prefix, src, src.gate))

    def file_plans(self, groups: dict[tuple, list[Want]]) -> list[FilePlan]:
        plans: dict[str, ValuesPlan] = {}
        for f in self.files:
            plans[f.path] = ValuesPlan(f.path, source=f.source, chart=str(self.dir), kubernetes=True)
        main = plans[self.files[0].path]
        by_file: dict[str, list[tuple[Change, list[Want]]]] = {}
        for key, ws in groups.items():
            chart = ws[0].chart
            vops: list[O.Op] = []
            for w in ws:
                vops.extend(op for op in w.vops if op not in vops)
            err = schema_error(chart, vops)
            if err:
                drop(ws, "unfixable", f"values.schema.json: {err}" if "schema" not in err else err)
                continue
            layer, fops, why = place(chart.chain, vops)
            if layer is None:
                drop(ws, "unfixable", why)
                continue
            vfile = chart.chain.layers[layer].file
            consumers = list(dict.fromkeys(w.consumer.label for w in ws))
            containers = list(dict.fromkeys(w.rep.finding.container for w in ws if w.rep.finding.container))
            rule = ws[0].rep.rule
            anchor_text = ".".join(map(str, key[2]))
            cid = f"helm:{key[0]}{anchor_text}:{rule}"
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
            self.parts[cid] = [(w.rep, w.vops) for w in ws]
        for path, items in by_file.items():
            plan = plans[path]
            vfile = next(f for f in self.files if f.path == path)
            plan.changes = [c for c, _ in items]
            plan.hints = param_hints(items)
            # findings of this file's changes live in its plan (for _editable's bookkeeping)
            plan.findings = [w.rep for _, ws in items for w in ws]
            if not vfile.editable or vfile.doc is None:
                for c, ws in items:
                    drop(ws, "unfixable", "the values file is empty or not a mapping; kfix does not create "
                                          "its content")
                plan.changes = []
                continue
            self.finish(plan, vfile)
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
        return out

    def finish(self, plan: ValuesPlan, vfile: ValuesFile) -> None:
        assert vfile.doc is not None and plan.source is not None
        text = plan.source.text
        docs = [vfile.doc]
        plan.changes, _edits = _editable(plan, text, docs)
        if not plan.changes:
            plan.new_text = None
            return
        try:
            plan.new_text = render_values(text, plan.changes, plan.hints)
        except VerificationError as exc:
            plan.error = InputError(f"internal check failed, file not written: {exc.message}", exc.line, plan.path)
            plan.new_text = None


def per_container(ops: list[O.Op], pod: dict) -> list[O.Op]:
    """A pod-level ``seccompProfile`` as the same setting on each container that has none (Kubernetes applies the
    pod's to every container that does not set its own): for charts whose templates render only the containers'
    securityContext from values (elastic's filebeat). [] when ``ops`` is something else."""
    if len(ops) != 1 or not isinstance(ops[0], O.Set) or tuple(ops[0].path) != ("spec", "securityContext",
                                                                                    "seccompProfile"):
        return []
    out: list[O.Op] = []
    for section in ("initContainers", "containers"):
        for i, container in enumerate(O.get(pod, ("spec", section)) or []):
            sc = container.get("securityContext") if isinstance(container, dict) else None
            if not isinstance(sc, dict) or not isinstance(sc.get("seccompProfile"), dict):
                out.append(O.Set(("spec", section, i, "securityContext", "seccompProfile"), ops[0].value))
    return out


def _ns(ns: Any) -> Any:
    return None if ns in (None, R.NAMESPACE) else ns


def _first_path(ops: list[O.Op]) -> tuple:
    for op in ops:
        return tuple(op.path)
    return ()


def param_hints(items: list) -> dict:
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
                for leaf, desc in leaf_hints(path, op.value, out[path] if path in out else "").items():
                    out[leaf] = desc
    return out


def leaf_hints(path: tuple, value: dict, base: str) -> dict:
    out = {}
    for k, v in value.items():
        p = path + (k,)
        if isinstance(v, dict) and v:
            out.update(leaf_hints(p, v, f"{base}.{k}" if base else k))
        else:
            out[p] = f"{base}.{k}" if base else str(k)
    return out
