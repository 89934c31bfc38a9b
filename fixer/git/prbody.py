"""The words of a kfix change: commit message, pull-request title and body.

The body is what a reviewer reads instead of the diff: a summary (files, resources, fixes per rule),
one table per resource of what changed — computed with deepdiff on the parsed objects before and
after, so it shows data paths and values rather than text lines — then what kfix did *not* do (unsafe
fixes held back, findings with no automatic fix, edits it could not make safely, files it could not
read), and how to opt a resource out. It is deterministic: the same run gives the same text, so a
re-run can tell that nothing changed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import yaml

from kfix import __version__
from kfix.errors import InputError
from kfix.git.forges import truncate_body
from kfix.planner import Change, FilePlan, Reported
from kfix.review import is_declined

__all__ = ["Row", "ResourceChange", "Report", "build_report", "title", "commit_message", "body", "MARKER"]

#: Hidden marker at the end of every body kfix writes (lets tools recognise kfix's requests).
MARKER = "<!-- kfix:pull-request -->"
TITLE = "kfix: harden Kubernetes manifests"
_MAX_VALUE = 100
_MAX_ITEMS_COMPACT = 100


@dataclass
class Row:
    """One changed data path of a resource."""

    path: str
    change: str  # added | changed | removed | item added | item removed | type changed
    value: str
    rules: tuple[str, ...]


@dataclass
class ResourceChange:
    file: str
    resource: str
    line: int
    changes: list[Change]
    rows: list[Row] = field(default_factory=list)

    @property
    def rules(self) -> list[str]:
        return sorted({c.rule for c in self.changes})


@dataclass
class Report:
    """Everything the texts say, with paths already relative to the repository."""

    files: list[str]
    resources: list[ResourceChange]
    fixes_by_rule: Counter
    unsafe: list[Reported]
    manual: list[Reported]
    unfixable: list[Reported]
    exempt: int
    errors: list[str]
    rel: Callable[[str], str]
    declined: int = 0  # changes left out because a person declined them (kfix.review's decisions file)
    decisions: str | None = None  # that decisions file, relative to the repository

    @property
    def n_fixes(self) -> int:
        return sum(self.fixes_by_rule.values())


# --- building the report ----------------------------------------------------------------------------

def build_report(plans: Iterable[FilePlan], findings: Iterable[Reported], rel: Callable[[str], str] = str,
                 decisions: str | None = None) -> Report:
    """Summarise a run (``RunResult.plans`` and ``RunResult.findings()``); ``rel`` maps paths for display;
    ``decisions``: the decisions file the run honoured (as the body names it)."""
    plans = list(plans)
    resources: list[ResourceChange] = []
    files: list[str] = []
    fixes: Counter = Counter()
    errors: list[str] = []
    for plan in plans:
        if plan.error is not None:
            err = plan.error
            where = rel(err.path or plan.path) + (f":{err.line}" if err.line else "")
            errors.append(f"{where}: {err.message}")
            continue
        if not plan.changed:
            continue
        files.append(rel(plan.path))
        for change in plan.changes:
            fixes[change.rule] += 1
        resources.extend(_resource_changes(plan, rel(plan.path)))
    findings = list(findings)
    by_status: dict[str, list[Reported]] = {"unsafe": [], "report": [], "unfixable": []}
    exempt = 0
    for rep in findings:
        if rep.status in by_status:
            by_status[rep.status].append(rep)
        elif rep.status == "exempt" and not is_declined(rep):  # opted out, not declined in review
            exempt += 1
    return Report(files, resources, fixes, by_status["unsafe"], by_status["report"], by_status["unfixable"],
                  exempt, errors, rel, sum(p.declined for p in plans), decisions)


def _resource_changes(plan: FilePlan, file: str) -> list[ResourceChange]:
    """One entry per resource with changes, with the semantic diff of its object."""
    assert plan.source is not None and plan.new_text is not None
    grouped: dict[tuple[int, str], list[Change]] = {}
    for change in plan.changes:
        grouped.setdefault((change.doc, change.resource), []).append(change)
    try:
        old_docs, new_docs = plan.document_data()
    except InputError:  # pragma: no cover - both parsed during planning
        old_docs = new_docs = []
    out = []
    for (doc, resource), changes in grouped.items():
        entry = ResourceChange(file, resource, min(c.line for c in changes), changes)
        if doc < len(old_docs) and doc < len(new_docs):
            entry.rows = _rows(old_docs[doc], new_docs[doc], changes)
        out.append(entry)
    out.sort(key=lambda r: (r.file, r.line, r.resource))
    return out


def _rows(old_doc: Any, new_doc: Any, changes: list[Change]) -> list[Row]:
    """deepdiff of the object the changes touch, as readable rows."""
    from deepdiff import DeepDiff

    prefix = _object_prefix(changes)
    old_obj, new_obj = _get(old_doc, prefix), _get(new_doc, prefix)
    diff = DeepDiff(old_obj, new_obj, view="tree", verbose_level=2, threshold_to_diff_deeper=0)
    rows: list[Row] = []
    for report_type, levels in diff.items():
        for level in levels:
            keys = list(level.path(output_format="list"))
            if report_type == "dictionary_item_added":
                kind, value = "added", _show(level.t2)
            elif report_type == "dictionary_item_removed":
                kind, value = "removed", _show(level.t1)
            elif report_type == "iterable_item_added":
                kind, value = "item added", _show(level.t2)
                keys = keys[:-1]
            elif report_type == "iterable_item_removed":
                kind, value = "item removed", _show(level.t1)
                keys = keys[:-1]
            elif report_type in ("values_changed", "type_changes"):
                kind = "changed"
                value = f"{_show(level.t1)} → {_show(level.t2)}"
            else:  # pragma: no cover - kinds kfix's edits do not produce
                kind, value = report_type.replace("_", " "), _show(level.t1 if _absent(level.t2) else level.t2)
            full = tuple(prefix) + tuple(keys)
            rules = sorted({c.rule for c in changes for op in c.ops if _overlaps(tuple(op.path), full)})
            rows.append(Row(_path_text(old_obj if kind in ("removed", "item removed") else new_obj, keys),
                            kind, value, tuple(rules)))
    rows.sort(key=lambda r: r.path)
    return rows


def _object_prefix(changes: list[Change]) -> tuple:
    """Path of the Kubernetes object inside its document (non-empty only inside a List)."""
    paths = [tuple(op.path) for c in changes for op in c.ops]
    if not paths:
        return ()
    first = paths[0]
    if len(first) >= 2 and first[0] == "items" and isinstance(first[1], int):
        return first[:2]
    return ()


def _get(data: Any, path: tuple) -> Any:
    for key in path:
        data = data[key]
    return data


def _absent(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"


def _overlaps(a: tuple, b: tuple) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _path_text(obj: Any, keys: list) -> str:
    """``spec.template.spec.containers[web].securityContext``: list items named by their ``name``."""
    out = ""
    node = obj
    for key in keys:
        if isinstance(key, int):
            item = node[key] if isinstance(node, list) and key < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            out += f"[{name}]" if isinstance(name, str) and name else f"[{key}]"
            node = item
        else:
            out += ("." if out else "") + str(key)
            node = node.get(key) if isinstance(node, dict) else None
    return out or "(whole object)"


def _show(value: Any) -> str:
    """A value in compact YAML flow style, shortened."""
    if _absent(value):
        return ""
    try:
        text = yaml.safe_dump(value, default_flow_style=True, width=math.inf, sort_keys=False,
                              allow_unicode=True).strip()
    except yaml.YAMLError:  # pragma: no cover - data came from YAML
        text = repr(value)
    if text.endswith("\n..."):
        text = text[:-4].strip()
    elif text.endswith("..."):
        text = text[:-3].strip()
    text = " ".join(text.split())
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


# --- texts ------------------------------------------------------------------------------------------

def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def title(report: Report) -> str:
    """Stable across runs (the body carries the numbers), so re-runs never fight a person's edit of it."""
    return TITLE


def commit_message(report: Report) -> str:
    lines = [TITLE, "",
             f"Apply {_n(report.n_fixes, 'fix', 'fixes')} to {_n(len(report.resources), 'resource')} "
             f"in {_n(len(report.files), 'file')}:"]
    lines += [f"- {rule}: {count}" for rule, count in sorted(report.fixes_by_rule.items())]
    left = len(report.unsafe) + len(report.manual) + len(report.unfixable)
    if left:
        lines += ["", f"Not fixed here: {_n(len(report.unsafe), 'unsafe fix', 'unsafe fixes')} held back, "
                      f"{_n(len(report.manual) + len(report.unfixable), 'finding')} for a person."]
    lines += ["", f"Generated by kfix {__version__}."]
    return "\n".join(lines) + "\n"


def body(report: Report, base: str | None = None, base_sha: str | None = None, limit: int | None = None) -> str:
    """The pull-request description, within ``limit`` characters (the forge's maximum)."""
    text = _render(report, base, base_sha, detailed=True)
    if limit is not None and len(text) > limit:
        text = _render(report, base, base_sha, detailed=False)
        if len(text) > limit:
            text = truncate_body(text, limit)
    return text


def _code(text: str) -> str:
    """Inline code that survives backticks and table pipes in the content."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _where(report: Report, rep: Reported) -> str:
    return _code(f"{report.rel(rep.file)}:{rep.line}")


def _finding_line(report: Report, rep: Reported, note: bool = True) -> str:
    f = rep.finding
    container = f" container {_code(f.container)}" if f.container else ""
    extra = f" — {_cell(rep.note)}" if note and rep.note else ""
    return f"- {_where(report, rep)} {_code(rep.resource)}{container}: **{f.rule}** — {_cell(f.message)}{extra}"


def _rule_summary(rule: str) -> str:
    from kfix.rules import BY_ID

    r = BY_ID.get(rule)
    return r.summary if r is not None else ""


def _render(report: Report, base: str | None, base_sha: str | None, detailed: bool) -> str:
    out: list[str] = []
    add = out.append
    on = ""
    if base:
        on = f" on `{base}`" + (f" ({base_sha[:12]})" if base_sha else "")
    add("## kfix: hardened Kubernetes manifests")
    add("")
    add(f"kfix applied **{_n(report.n_fixes, 'fix', 'fixes')}** to **{_n(len(report.resources), 'resource')}** "
        f"in **{_n(len(report.files), 'file')}**{on}. Each file was edited in place: comments, quoting, "
        "indentation and everything outside the edited spans are byte-for-byte unchanged, and every "
        "rewrite was re-parsed and checked to hold exactly the intended data.")
    add("")
    add("| rule | fixes | what it does |")
    add("|---|---:|---|")
    for rule, count in sorted(report.fixes_by_rule.items()):
        add(f"| {_code(rule)} | {count} | {_cell(_rule_summary(rule))} |")
    add("")
    add("### Changes per resource")
    add("")
    for res in report.resources:
        containers = sorted({c.container for c in res.changes if c.container})
        add(f"#### {_code(res.resource)} in {_code(f'{res.file}:{res.line}')}")
        add("")
        rules = ", ".join(_code(r) for r in res.rules)
        add(f"Rules: {rules}" + (f"; containers: {', '.join(_code(c) for c in containers)}" if containers else ""))
        add("")
        if detailed and res.rows:
            add("| field | change | value | rule |")
            add("|---|---|---|---|")
            for row in res.rows:
                add(f"| {_code(row.path)} | {row.change} | {_code(row.value) if row.value else ''} | "
                    f"{', '.join(row.rules)} |")
            add("")
    if not detailed:
        add("_Per-field tables left out to fit the forge's size limit; run `kfix diff` to see every line._")
        add("")

    def listing(items: list[Reported], heading: str, intro: str, note: bool) -> None:
        if not items:
            return
        add(f"### {heading} ({len(items)})")
        add("")
        add(intro)
        add("")
        shown = items if detailed else items[:_MAX_ITEMS_COMPACT]
        for rep in shown:
            add(_finding_line(report, rep, note))
        if len(shown) < len(items):
            add(f"- … and {len(items) - len(shown)} more (run `kfix scan`)")
        add("")

    listing(report.unsafe, "Unsafe fixes not applied",
            "These would override a value someone wrote explicitly, which can break the workload. Check each "
            "one, then fix it by hand or run `kfix apply --write --unsafe-fixes`.", False)
    listing(report.manual, "Findings kfix cannot fix automatically",
            "Report-only rules: they need a decision by a person (for example pinning an image digest or "
            "adding a NetworkPolicy).", False)
    listing(report.unfixable, "Fixes kfix could not make safely",
            "A fix exists, but the file could not be edited without touching shared or unusual YAML; "
            "kfix left these places as they were.", True)
    if report.errors:
        add(f"### Files kfix could not process ({len(report.errors)})")
        add("")
        for err in report.errors if detailed else report.errors[:_MAX_ITEMS_COMPACT]:
            add(f"- {_code(err)}")
        add("")
    if report.declined:
        where = f" in {_code(report.decisions)}" if report.decisions else ""
        add(f"{_n(report.declined, 'change was', 'changes were')} left out because a person declined "
            f"{'it' if report.declined == 1 else 'them'} in review (recorded{where}; `kfix review --decisions` "
            "changes that).")
        add("")
    if report.exempt:
        add(f"{_n(report.exempt, 'finding was', 'findings were')} skipped because the resource opted out "
            "(kfix or another scanner's exemption annotation).")
        add("")
    example = ",".join(sorted(report.fixes_by_rule)[:2]) or "rule-id"
    add("### Opting a resource out")
    add("")
    where = f"`{base}`" if base else "the base branch"
    add(f"To keep a resource as it is, annotate it on {where} (the object's or the pod template's `metadata`) "
        "with the rules to skip, or `all`; the next kfix run drops its changes from this request:")
    add("")
    add("```yaml")
    add("metadata:")
    add("  annotations:")
    add(f'    kfix.dev/ignore: "{example}"   # or "all"')
    add("```")
    add("")
    add("Exemptions already written for checkov (`checkov.io/skip*`), kube-linter "
        "(`ignore-check.kube-linter.io/*`) and Polaris (`polaris.fairwinds.com/*-exempt`) are honoured too.")
    add("")
    add("---")
    add(f"<sub>Generated by kfix {__version__}. kfix rebuilds this branch on each run; if you push to it, "
        "kfix stops updating it. Closing this request without merging stops kfix from proposing it "
        "again on this branch.</sub>")
    add("")
    add(MARKER)
    return "\n".join(out) + "\n"
