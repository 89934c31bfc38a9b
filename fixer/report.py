"""Findings as text, JSON or SARIF 2.1.0, and the one-line run summary."""

from __future__ import annotations

import hashlib
import json
import os
from json.encoder import encode_basestring_ascii as _escape  # the C escaper json.dumps uses for strings
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from kfix.rules import RULES
from kfix.rules.docs import describe

from kfix import __version__
from kfix.diffs import display_path
from kfix.gitignore import work_tree_root
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
    """``json.dumps`` of every ``finding_dict`` with an indent of 2: the same text, filled into a template
    with each string escaped by json's C escaper (the indenting encoder is pure Python, and slow)."""
    try:
        body = ",\n    ".join(map(_finding_json, findings))
    except (TypeError, _Unexpected):  # a value of a type the template does not expect
        return pretty_json({"version": __version__, "findings": [finding_dict(r) for r in findings]}) + "\n"
    body = "[\n    " + body + "\n  ]" if findings else "[]"
    return '{\n  "version": ' + _escape(__version__) + ',\n  "findings": ' + body + "\n}\n"


_FINDING = "{\n" + ",\n".join(f'      "{key}": %s' for key in (
    "rule", "facet", "file", "line", "resource", "container", "fix", "status", "message", "note", "checks")) + "\n    }"


def _finding_json(rep: Reported) -> str:
    f = rep.finding
    if type(rep.line) is not int:
        raise _Unexpected
    checks = sorted(f.checks)
    listed = "[\n        " + ",\n        ".join(map(_escape, checks)) + "\n      ]" if checks else "[]"
    return _FINDING % (_escape(f.rule), _escape(f.facet), _escape(display_path(rep.file)), int.__repr__(rep.line),
                       _escape(rep.resource), "null" if f.container is None else _escape(f.container),
                       _escape(f.fix.value), _escape(rep.status), _escape(f.message), _escape(rep.note), listed)


def pretty_json(data) -> str:
    """``json.dumps(data, indent=2)``, the same text, made faster: with an indent, ``json`` takes its
    pure-Python encoder, which costs more than planning on a large report; here strings go through the
    C escaper and the structure is laid out directly. Data it does not expect goes to ``json.dumps``."""
    out: list[str] = []
    try:
        _lay_out(data, "\n", out)
    except _Unexpected:
        return json.dumps(data, indent=2)
    return "".join(out)


class _Unexpected(Exception):
    pass


def _scalar(value) -> str | None:
    """A scalar's JSON text (None for a list or mapping); json's own order of type checks."""
    kind = type(value)
    if kind is str:
        return _escape(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, (list, tuple, dict)):
        return None
    raise _Unexpected


def _lay_out(value, newline: str, out: list[str]) -> None:
    text = _scalar(value)
    if text is not None:
        out.append(text)
        return
    is_dict = isinstance(value, dict)
    if not value:
        out.append("{}" if is_dict else "[]")
        return
    inner = newline + "  "
    sep = ("{" if is_dict else "[") + inner
    for key, item in value.items() if is_dict else zip(value, value):
        if is_dict:
            if type(key) is not str and not isinstance(key, str):
                raise _Unexpected
            head = sep + _escape(key) + ": "
        else:
            head = sep
        text = _scalar(item)
        if text is not None:
            out.append(head + text)
        else:
            out.append(head)
            _lay_out(item, inner, out)
        sep = "," + inner
    out.append(newline + ("}" if is_dict else "]"))


def fingerprint(rep: Reported, occurrence: int = 0) -> str:
    """A stable identity for code-scanning alerts: rule, file, resource, container and where in the
    object (not the line, which moves on unrelated edits). ``occurrence`` tells apart findings that
    share all of these (two findings of one rule on the same field)."""
    f = rep.finding
    key = "|".join([f.rule, f.facet, display_path(rep.file), rep.resource, f.container or "",
                    ".".join(map(str, f.path))] + ([str(occurrence)] if occurrence else []))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


HELP_URI = "https://github.com/kfix-dev/kfix#rules"


def sarif_root(paths: list[str]) -> str:
    """The folder SARIF URIs are relative to: the git work tree of the first path given (so code scanning
    can place results wherever in the repository kfix ran), else the working directory."""
    for path in paths:
        if path == "-":
            continue
        start = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        root = work_tree_root(start)
        if root is not None:
            return os.path.realpath(root)
    return os.path.realpath(os.getcwd())


def artifact_location(path: str, root: str) -> dict:
    """Where a file is, for SARIF: a percent-encoded URI relative to ``root`` (base id %SRCROOT%), or an
    absolute file URI for a file outside it."""
    if path == "-":
        return {"uri": "stdin"}
    full = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))), os.path.basename(path))
    rel = os.path.relpath(full, root)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return {"uri": Path(full).as_uri()}
    return {"uri": quote(rel.replace(os.sep, "/"), safe="/"), "uriBaseId": "%SRCROOT%"}


def _rule_help(rule) -> tuple[str, str]:
    """A rule's help as plain text and as Markdown (GitHub shows the Markdown beside an alert)."""
    d = describe(rule)
    fixes = [f"Safe fix: {d['safe_fix']}." if d["safe_fix"] else "No safe fix.",
             f"Unsafe fix (with --unsafe-fixes): {d['unsafe_fix']}." if d["unsafe_fix"] else "No unsafe fix."]
    if d["report_only"]:
        fixes = ["Report only: kfix does not change this; fix it by hand."]
    tools = "; ".join(f"{tool}: {', '.join(ids)}" for tool, ids in d["other_tools"].items())
    text = "\n\n".join(filter(None, [
        f"{rule.summary}.", f"Why: {d['why']}", " ".join(fixes), f"Sources: {d['seeds']}" if d["seeds"] else "",
        f"Pod Security Standards: {d['pod_security_standards']}." if d["pod_security_standards"] else "",
        f"Other tools: {tools}." if tools else "",
        "Opt out: annotate the object or its pod template with "
        f"kfix.dev/ignore: \"{rule.id}\" (see `kfix rule {rule.id}`)."]))
    markdown = "\n\n".join(filter(None, [
        f"**{rule.id}**: {rule.summary}.", f"**Why.** {d['why']}", " ".join(fixes),
        f"**Sources.** {d['seeds']}" if d["seeds"] else "",
        f"**Pod Security Standards:** {d['pod_security_standards']}." if d["pod_security_standards"] else "",
        f"**Other tools:** {tools}." if tools else "",
        f"**Opt out:** annotate the object or its pod template with `kfix.dev/ignore: \"{rule.id}\"`."]))
    return text, markdown


def _sarif_rule(rule) -> dict:
    d = describe(rule)
    text, markdown = _rule_help(rule)
    return {"id": rule.id, "name": "".join(p.capitalize() for p in rule.id.split("-")),
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": f"{rule.summary}. {d['why']}"},
            "help": {"text": text, "markdown": markdown}, "helpUri": HELP_URI,
            "defaultConfiguration": {"level": "note" if d["report_only"] else "warning"},
            "properties": {"security-severity": f"{d['security_severity']:.1f}", "tags": d["tags"],
                           "precision": "very-high", "problem.severity": "recommendation" if d["report_only"]
                           else "warning", "profiles": list(rule.profiles), "level": rule.level}}


def as_sarif(findings: list[Reported], root: str | None = None) -> str:
    """SARIF 2.1.0 for GitHub code scanning. URIs are relative to ``root`` (default: see ``sarif_root``),
    named by ``originalUriBaseIds``; exempted findings are results with an in-source suppression."""
    root = root or sarif_root(["."])
    rules = [_sarif_rule(r) for r in RULES]
    index = {r.id: i for i, r in enumerate(RULES)}
    results = []
    seen: Counter = Counter()
    for rep in findings:
        f = rep.finding
        base = fingerprint(rep)
        occurrence, seen[base] = seen[base], seen[base] + 1
        result = {
            "ruleId": f.rule, "ruleIndex": index[f.rule],
            "level": "note" if rep.status in ("report", "exempt") else "warning",
            "message": {"text": f"{rep.resource}{' container ' + f.container if f.container else ''}: {f.message}"
                                + (f" ({rep.note})" if rep.note else "")},
            "locations": [{"physicalLocation": {
                "artifactLocation": artifact_location(rep.file, root),
                "region": {"startLine": rep.line}}}],
            "partialFingerprints": {"kfixFinding/v1": fingerprint(rep, occurrence)},
            "properties": {"fix": f.fix.value, "status": rep.status, "resource": rep.resource,
                           "container": f.container, "facet": f.facet, "checks": sorted(f.checks)},
        }
        if rep.status == "exempt":
            result["suppressions"] = [{"kind": "inSource", "status": "accepted",
                                       "justification": rep.note or "exempted by an annotation"}]
        results.append(result)
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "kfix", "version": __version__, "semanticVersion": __version__,
                                         "informationUri": "https://github.com/kfix-dev/kfix", "rules": rules}},
                     "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(root).as_uri().rstrip("/") + "/"}},
                     "results": results}]}
    return pretty_json(doc) + "\n"


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
    if getattr(result, "declined", 0):
        parts.append(f"{result.declined} declined in review (decisions file)")
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


def rules_json() -> str:
    """Every rule as data: id, profiles, fixes, reasons, severity, other tools' ids."""
    return json.dumps({"version": __version__, "rules": [describe(r) for r in RULES]}, indent=2) + "\n"


def rule_text(rule) -> str:
    """``kfix rule NAME``: what the rule checks, why, how it fixes, where it comes from, other tools' ids."""
    d = describe(rule)
    lines = [f"{rule.id}: {rule.summary}", "",
             f"Checks:    {'each container' if rule.level == 'container' else 'each ' + rule.level}"
             f" (profiles: {', '.join(rule.profiles)})"]
    if d["report_only"]:
        lines.append("Fix:       none (report only: fix it by hand)")
    else:
        lines.append(f"Safe fix:  {d['safe_fix'] or 'none'}")
        lines.append(f"Unsafe fix (only with --unsafe-fixes): {d['unsafe_fix'] or 'none'}")
    lines.append(f"Severity:  {d['security_severity']:.1f}"
                 + (f"; Pod Security Standards: {d['pod_security_standards']}" if d["pod_security_standards"] else ""))
    lines += ["", "Why:", *_wrap(d["why"])]
    if d["seeds"]:
        lines += ["", "Sources:", *_wrap(d["seeds"])]
    if d["other_tools"]:
        lines += ["", "Other tools:"] + [f"  {tool}: {', '.join(ids)}" for tool, ids in d["other_tools"].items()]
    lines += ["", "Opt out:", *_wrap(f'metadata.annotations: {{kfix.dev/ignore: "{rule.id}"}} on the object or its '
                                     "pod template (checkov, kube-linter and Polaris exemptions for the ids above "
                                     "count too).")]
    return "\n".join(lines) + "\n"


def _wrap(text: str) -> list[str]:
    import textwrap

    return textwrap.wrap(text, 100, initial_indent="  ", subsequent_indent="  ")
