"""The render proof: the chart rendered with Helm before and after the values edit.

An edit is kept only if the render changes nothing outside security fields (names Helm draws at
random and generated certificates left out) and no security setting the rendered pods had is gone
or weaker (``kfix.rules.weakening``); the offending changes are refused one by one, else all
together. Per rendered workload the proof records which findings the edit cleared and which
remain, and why. ``ValuesPlan`` carries the proof with the plan of a values file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from kfix.rules import Inventory, Pod
from kfix.rules.weakening import weakened

from kfix import ops as O
from kfix.yaml.loader import parse
from kfix.planner import Change, FilePlan, Options, Reported, verify
from kfix.yaml.editor import Editor, apply_splices
from kfix.helm import render as R
from kfix.helm.synthetic import Consumer
from kfix.helm.values import ValuesFile, added_leaves, merge_user, param_splices




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
    weakened: list[str] = field(default_factory=list)  # security settings gone or weaker (refused)
    refused: list[str] = field(default_factory=list)  # change ids refused because of them
    partial: list[str] = field(default_factory=list)  # change ids kept in part (the findings that pass)

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
            why = "they changed more than security fields" if not self.weakened else \
                "they changed more than security fields or weakened a setting the chart had" if self.outside else \
                "they would weaken a security setting the chart had"
            text += f"; {len(self.refused)} changes refused ({why})"
        if self.partial:
            text += f"; {len(self.partial)} changes kept in part (the findings whose edits pass the proof)"
        return text

    def as_text(self) -> str:
        lines = [self.summary()]
        for w in self.workloads:
            lines.append(f"  {w.resource} ({w.template}): {len(w.cleared)} cleared, {len(w.remaining)} remain")
            for msg, why in w.remaining:
                lines.append(f"    - {msg} [{why}]")
        for o in self.outside:
            lines.append(f"  outside security fields: {o}")
        for o in self.weakened:
            lines.append(f"  weakened: {o}")
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
        return render_values(text, chosen, self.hints)


def render_values(text: str, changes: list[Change], hints: dict) -> str:
    docs = [d for d in parse(text) if d.node is not None]
    doc = docs[0]
    ops = [op for c in changes for op in c.ops]
    splices, expected = Editor(text, doc).edit(ops)
    splices = sorted(splices + param_splices(text, doc, added_leaves(doc.data, ops), hints),
                     key=lambda s: (s[0], s[1]))
    new_text = apply_splices(text, splices)
    verify(new_text, [expected])
    return new_text


def render_before(chart_dir: os.PathLike, files: list[ValuesFile],
                  wanted: bool | None) -> tuple[R.Rendered | None, str]:
    """The chart rendered with its values files as they are (None and why not, when it is not)."""
    if wanted is False:
        return None, "rendering not requested"
    if not R.available():
        return None, "helm-python-sdk is not installed (pip install 'kfix-harden[helm]'); planned from the templates only"
    user = merge_user([f.data for f in files[1:]])
    try:
        first = R.render(chart_dir, user)
    except R.RenderError as exc:
        return None, f"the chart does not render with these values ({exc}); planned from the templates only"
    return first, ""


class RenderProver:
    """Proves the planned values edits of one chart by rendering it; refuses what fails the proof."""

    def __init__(self, chart_dir: os.PathLike, files: list[ValuesFile], rendered: R.Rendered | None, render_note: str,
                 options: Options, inventory: Inventory, consumers: list[Consumer], reported: list[Reported],
                 parts: dict[str, list[tuple[Reported, list]]] | None = None):
        self.dir = chart_dir
        self.files = files
        self.rendered = rendered
        self.render_note = render_note
        self.options = options
        self.inventory = inventory
        self.consumers = consumers
        self.reported = reported
        self.parts = parts or {}  # change id -> (finding, its values operations) it is made of
        self.unstable: set | None = None  # what differs between two renders of the same values

    def unstable_paths(self) -> set:
        if self.unstable is None:
            try:
                again = R.render(self.dir, merge_user([f.data for f in self.files[1:]]))
                self.unstable = R.unstable_paths(self.rendered, again)
            except R.RenderError:
                self.unstable = set()
        return self.unstable

    def prove(self, plans: list[FilePlan]) -> None:
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
                after, err = self.render_after(plans)
                outside = self.outside(after, plans)
                weaker = self.weakened(after)
                if after is not None and not outside and not weaker:
                    break
                proof.outside.extend(outside or ([] if weaker else [f"Helm rejects the edited values: {err}"]))
                proof.weakened.extend(weaker)
                why = _refusal(after, outside, weaker, err)
                bad = self.offenders(plans) if _round == 0 else []
                trimmed = bool(bad) and len(bad) > len(bad := self.trim(plans, bad, proof))
                if not bad and not trimmed:  # together they break it, or a second round: refuse them all
                    bad = [(p, c, why) for p in plans for c in p.changes]
                self.refuse(plans, bad, proof)
            proof.workloads = self.workload_proofs(self.rendered, after or self.rendered)
        for p in plans:
            if isinstance(p, ValuesPlan):
                p.proof = proof
        if proof.rendered:
            summary = proof.summary()
            main.note = f"{main.note}; {summary}" if main.note else summary

    def refuse(self, plans: list[FilePlan], bad: list, proof: RenderProof) -> None:
        for p, c, why in bad:
            proof.refused.append(c.id)
            for rep in self.reported:
                if rep.change_id == c.id:
                    rep.status, rep.change_id, rep.note = "unfixable", None, why
            if c in p.changes:
                p.changes.remove(c)
        for p in plans:
            if isinstance(p, ValuesPlan) and p.source is not None:
                p.new_text = render_values(p.source.text, p.changes, p.hints) if p.changes else None

    def weakened(self, after: R.Rendered | None) -> list[str]:
        """Security settings of the rendered pods that the edit removes or weakens."""
        if after is None or self.rendered is None:
            return []
        later = {(w.doc.template, w.doc.index, w.site.path): w for w in after.workloads()}
        out = []
        for w in self.rendered.workloads():
            w2 = later.get((w.doc.template, w.doc.index, w.site.path))
            if w2 is not None:
                out.extend(f"{w.resource} ({w.doc.template}): {x}"
                           for x in weakened(w.spec, w2.spec, self.options.unsafe_fixes))
        return out

    def outside(self, after: R.Rendered | None, plans: list[FilePlan]) -> list[str]:
        """Changes outside security fields (random names and generated certificates left out)."""
        if after is None:
            return []
        volumes = self.volume_edits(plans)
        found = R.outside_changes(self.rendered, after, set(), volumes)
        if found:
            found = R.outside_changes(self.rendered, after, self.unstable_paths(), volumes)
        return found

    def volume_edits(self, plans: list[FilePlan]) -> bool:
        lists = {vp for c in self.consumers for vp, _g in c.lists.values()} | \
            {vp for c in self.consumers for vp in c.pairs.values()}
        return any(tuple(op.path[-len(vp):]) == vp for p in plans for ch in p.changes for op in ch.ops for vp in lists)

    def render_after(self, plans: list[FilePlan], only: tuple | None = None) -> tuple[R.Rendered | None, str]:
        texts = {}
        for p in plans:
            if p.source is None:
                continue
            if only is not None:
                plan, change = only
                if p is plan:
                    texts[p.path] = render_values(p.source.text, [change], p.hints)  # type: ignore[attr-defined]
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

    def passes(self, plans: list[FilePlan], plan: FilePlan, change: Change) -> str:
        """"" when ``change`` alone passes the proof, else why not."""
        after, err = self.render_after(plans, (plan, change))
        outside = self.outside(after, [plan])
        weaker = self.weakened(after)
        return _refusal(after, outside, weaker, err) if after is None or outside or weaker else ""

    def trim(self, plans: list[FilePlan], bad: list, proof: RenderProof) -> list:
        """Offending changes made of several findings' edits keep the findings whose edits pass (grafana's
        memory limit also sets an environment variable: the other resources still go in). The rest stay bad."""
        still = []
        for p, c, why in bad:
            parts = self.parts.get(c.id, [])
            verdicts = [(rep, ops, self.passes(plans, p, replace(c, ops=[op for op in c.ops if op in ops])))
                        for rep, ops in parts] if len(parts) > 1 else []
            good = [(rep, ops) for rep, ops, no in verdicts if not no]
            if not good or len(good) == len(verdicts):
                still.append((p, c, why))
                continue
            kept = replace(c, ops=[op for op in c.ops if any(op in ops for _rep, ops in good)],
                           messages=list(dict.fromkeys(rep.finding.message for rep, _ops in good)))
            if self.passes(plans, p, kept):
                still.append((p, c, why))
                continue
            p.changes[p.changes.index(c)] = kept
            proof.partial.append(c.id)
            for rep, _ops, no in verdicts:
                if no:
                    rep.status, rep.change_id, rep.note = "unfixable", None, f"{no}; the rest of the change is kept"
        return still

    def offenders(self, plans: list[FilePlan]) -> list[tuple[FilePlan, Change, str]]:
        """The changes that fail the proof on their own, each with why."""
        bad = []
        for p in plans:
            for c in list(p.changes):
                after, err = self.render_after(plans, (p, c))
                outside = self.outside(after, [p])
                weaker = self.weakened(after)
                if after is None or outside or weaker:
                    bad.append((p, c, _refusal(after, outside, weaker, err)))
        return bad

    def workload_proofs(self, before: R.Rendered, after: R.Rendered) -> list[WorkloadProof]:
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


def _refusal(after: R.Rendered | None, outside: list[str], weaker: list[str], err: str) -> str:
    if after is None:
        return f"refused: Helm rejects the edited values ({err})"
    if outside:
        return f"refused: rendering the chart shows this values edit changes more than security fields ({outside[0]})"
    return ("refused: rendering the chart shows this values edit would remove or weaken a security setting the "
            f"chart had ({weaker[0]})")


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
