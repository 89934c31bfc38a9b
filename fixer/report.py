"""Findings as text, JSON or SARIF 2.1.0, and the one-line run summary."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from urllib.parse import quote

from kfix.rules import RULES

from kfix import __version__
from kfix.diffs import display_path
from kfix.planner import Reported

STATUS_TEXT = {"fix": "fixable", "unsafe": "unsafe fix available", "report": "report only",
               "exempt": "exempt", "unfixable": "cannot fix"}


def finding_dict(rep: Reported) -> dict:
    f = rep.finding
    return {"rule": f.rule, "facet": f.facet, "file": display_path(rep.file), "line": rep.line,
            "resource": rep.resource, "container": f.container, "fix": f.fix.value, "status": rep.status,
            "message": f.message, "note": rep.note, "checks": sorted(f.checks)}


def as_text(findings: list[Reported]) -> str:
    lines = []
    for rep in findings:
        f = rep.finding
        where = f" container {f.container}" if f.container else ""
        note = f" ({rep.note})" if rep.note else ""
        lines.append(f"{display_path(rep.file)}:{rep.line}: {f.rule} [{STATUS_TEXT[rep.status]}] "
                     f"{rep.resource}{where}: {f.message}{note}")
    return "\n".join(lines) + ("\n" if lines else "")


def as_json(findings: list[Reported]) -> str:
    return json.dumps({"version": __version__, "findings": [finding_dict(r) for r in findings]}, indent=2) + "\n"


def fingerprint(rep: Reported, occurrence: int = 0) -> str:
    """A stable identity for code-scanning alerts: rule, file, resource, container and where in the
    object (not the line, which moves on unrelated edits). ``occurrence`` tells apart findings that
    share all of these (two findings of one rule on the same field)."""
    f = rep.finding
    key = "|".join([f.rule, f.facet, display_path(rep.file), rep.resource, f.container or "",
                    ".".join(map(str, f.path))] + ([str(occurrence)] if occurrence else []))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def artifact_uri(path: str) -> str:
    """The relative URI reference SARIF wants: the display path, percent-encoded (spaces, '#', '%', non-ASCII)."""
    return quote(display_path(path), safe="/")


def as_sarif(findings: list[Reported]) -> str:
    rules = [{"id": r.id, "name": "".join(p.capitalize() for p in r.id.split("-")),
              "shortDescription": {"text": r.summary},
              "fullDescription": {"text": f"{r.summary}. Safe fix: {r.safe_fix or '-'}. "
                                          f"Unsafe fix: {r.unsafe_fix or '-'}."},
              "defaultConfiguration": {"level": "warning" if r.safe_fix or r.unsafe_fix else "note"},
              "properties": {"profiles": list(r.profiles), "level": r.level}} for r in RULES]
    index = {r.id: i for i, r in enumerate(RULES)}
    results = []
    seen: Counter = Counter()
    for rep in findings:
        f = rep.finding
        if rep.status == "exempt":
            continue
        base = fingerprint(rep)
        occurrence, seen[base] = seen[base], seen[base] + 1
        results.append({
            "ruleId": f.rule, "ruleIndex": index[f.rule],
            "level": "note" if rep.status == "report" else "warning",
            "message": {"text": f"{rep.resource}{' container ' + f.container if f.container else ''}: {f.message}"
                                + (f" ({rep.note})" if rep.note else "")},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": artifact_uri(rep.file), "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": rep.line}}}],
            "partialFingerprints": {"kfixFinding/v1": fingerprint(rep, occurrence)},
            "properties": {"fix": f.fix.value, "status": rep.status, "resource": rep.resource,
                           "container": f.container, "facet": f.facet, "checks": sorted(f.checks)},
        })
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "kfix", "version": __version__, "semanticVersion": __version__,
                                         "informationUri": "https://github.com/kfix-dev/kfix", "rules": rules}},
                     "results": results}]}
    return json.dumps(doc, indent=2) + "\n"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(result, written: bool) -> str:
    """One line: files changed, fixes, unsafe fixes held back, what remains, what was skipped."""
    changed = result.changed
    n_changes = sum(len(p.changes) for p in changed)
    findings = result.findings()
    statuses = Counter(r.status for r in findings)
    verb = "changed" if written else "would change"
    parts = [f"{_n(len(changed), 'file')} {verb}", _n(n_changes, "fix") .replace("fixs", "fixes")]
    if statuses["unsafe"]:
        parts.append(f"{statuses['unsafe']} unsafe fix{'es' if statuses['unsafe'] != 1 else ''} not applied "
                     "(use --unsafe-fixes)")
    if statuses["unfixable"]:
        parts.append(f"{statuses['unfixable']} could not be edited safely")
    if statuses["report"]:
        parts.append(f"{_n(statuses['report'], 'finding')} to fix by hand")
    errors = result.errors
    if errors:
        parts.append(f"{_n(len(errors), 'file')} skipped: " + ", ".join(display_path(p.path) for p in errors[:3])
                     + (", …" if len(errors) > 3 else ""))
    return ", ".join(parts)


def rules_table() -> str:
    """The rules, their profiles and fixes, as an aligned table."""
    head = ("rule", "level", "baseline", "restricted", "hardened", "safe fix", "unsafe fix")
    rows = [head] + [(r.id, r.level, *("yes" if p in r.profiles else "-" for p in ("baseline", "restricted", "hardened")),
                      r.safe_fix or "-", r.unsafe_fix or "-") for r in RULES]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n" for row in rows)
