"""Rows in a chart README's parameter table for the values keys a template edit adds.

Charts document their values in a Markdown table (`| Parameter | Default | Description |` in podinfo,
`| Name | Description | Value |` from Bitnami's readme generator). A key kfix adds gets a row of the same
shape, padded like the header, after the last row of the same parent key (else at the end of the table);
a key the table has already is left alone, so a second run adds nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

_ROW = re.compile(r"^\|.*\|[ \t]*\r?$")
_SEP = re.compile(r"^\|[ \t]*:?-{3,}")
KEY_HEADERS = ("parameter", "name", "key")
DEFAULT_HEADERS = ("default", "value")


def _cells(line: str) -> list[str]:
    return line.strip().strip("|").split("|")


def _key(cell: str) -> str:
    return cell.strip().strip("`").strip()


def shown(value: Any) -> str:
    """A default as the tables show it: `{}`, `false`, JSON for mappings and lists."""
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, (dict, list)):
        return f"`{json.dumps(value, separators=(', ', ': '))}`"
    return f"`{value}`"


def add_rows(text: str, rows: list[tuple[str, Any, str]]) -> str:
    """``text`` with a row for each (dotted key, default, description) the parameter tables lack."""
    lines = text.splitlines(keepends=True)
    tables = _tables(lines)
    if not tables:
        return text
    known = {_key(_cells(lines[i])[0]) for _h, _r, body in tables for i in body}
    inserts: dict[int, list[str]] = {}
    for key, default, description in rows:
        if key in known:
            continue
        header, roles, body = _where(lines, tables, key)
        at = _after(lines, body, key)
        widths = [len(c) - 2 for c in _cells(lines[header])]
        cells = []
        for role, width in zip(roles, widths):
            content = {"key": f"`{key}`", "default": shown(default), "description": description}.get(role, "")
            cells.append(" " + content.ljust(width) + " ")
        eol = "\r\n" if lines[at].endswith("\r\n") else "\n"
        inserts.setdefault(at, []).append("|" + "|".join(cells) + "|" + eol)
        known.add(key)
    for at in sorted(inserts, reverse=True):
        lines[at + 1:at + 1] = inserts[at]
    return "".join(lines)


def _tables(lines: list[str]) -> list[tuple[int, list[str], list[int]]]:
    """(header line, column roles, body lines) of each parameter table."""
    out = []
    i = 0
    while i + 1 < len(lines):
        if _ROW.match(lines[i]) and _SEP.match(lines[i + 1]):
            names = [c.strip().lower() for c in _cells(lines[i])]
            roles = ["key" if n in KEY_HEADERS and j == 0 else "default" if n in DEFAULT_HEADERS else
                     "description" if n == "description" else "" for j, n in enumerate(names)]
            body = []
            j = i + 2
            while j < len(lines) and _ROW.match(lines[j]):
                body.append(j)
                j += 1
            if roles and roles[0] == "key" and "description" in roles and body:
                out.append((i, roles, body))
            i = j
        else:
            i += 1
    return out


def _where(lines: list[str], tables: list, key: str) -> tuple[int, list[str], list[int]]:
    """The table whose rows share the longest leading part of ``key`` (the first table if none)."""
    best, score = tables[0], 0
    parts = key.split(".")
    for t in tables:
        for i in t[2]:
            other = _key(_cells(lines[i])[0]).split(".")
            n = 0
            while n < min(len(parts), len(other)) - 0 and parts[n] == other[n]:
                n += 1
            if n > score:
                best, score = t, n
    return best


def _after(lines: list[str], body: list[int], key: str) -> int:
    """The row to insert below: the last one of the longest shared parent, else the table's last row."""
    parts = key.split(".")
    for n in range(len(parts) - 1, 0, -1):
        parent = ".".join(parts[:n]) + "."
        hits = [i for i in body if _key(_cells(lines[i])[0]).startswith(parent)]
        if hits:
            return hits[-1]
    return body[-1]
