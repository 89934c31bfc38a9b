"""Render small pieces of YAML (new keys, list items, scalars) in a given layout style."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import yaml


@dataclass(frozen=True)
class Style:
    """Layout of the place new text goes.

    step: indentation added per nested mapping; seq_offset: columns from a key to the ``-`` of its
    block sequence (0 = flush with the key); item_offset: columns from ``-`` to an item's keys.
    """

    step: int = 2
    seq_offset: int = 0
    item_offset: int = 2
    flow: bool = False
    quote: str | None = None  # '"' or "'": new string items of a list whose items all use these quotes

    def with_item_offset(self, offset: int) -> "Style":
        return replace(self, item_offset=max(offset, 2))


_FLOW_UNSAFE = set(",[]{}#&*!|>'\"%@`?:")
_LINE_BREAKS = set("\x85\u2028\u2029\r\n")  # YAML folds these inside single quotes


@lru_cache(maxsize=512)
def _scalar(kind: type, value: Any, in_flow: bool) -> str:
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return repr(value)
    dumped = yaml.safe_dump(value, default_flow_style=True, width=10**9, allow_unicode=True)
    dumped = dumped[:-5] if dumped.endswith("\n...\n") else dumped.rstrip("\n")
    if kind is float:
        return dumped
    if "\n" in dumped or _LINE_BREAKS & set(value) or (
            in_flow and dumped[:1] not in "'\"" and _FLOW_UNSAFE & set(dumped)):
        return _double_quoted(value)
    return dumped


def _double_quoted(value: str) -> str:
    """A YAML double-quoted scalar that reads back exactly, whatever the characters."""
    out = []
    for ch in value:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def scalar(value: Any, in_flow: bool = False) -> str:
    """A scalar as YAML: plain where that reads back as the same value, quoted otherwise."""
    return _scalar(type(value), value, in_flow)


def quoted(value: str, quote: str) -> str:
    """A string in the given quotes (a single-quoted one falls back to double quotes for line breaks)."""
    if quote == "'" and not (_LINE_BREAKS & set(value)):
        return "'" + value.replace("'", "''") + "'"
    return _double_quoted(value)


def flow(value: Any, style: Style | None = None) -> str:
    """Any value in flow style: ``{a: 1, b: [x]}``."""
    if style is not None and style.quote and isinstance(value, str):
        return quoted(value, style.quote)
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{" + ", ".join(f"{scalar(k, True)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value, True)


def render_entries(entries: dict, indent: int, style: Style) -> list[str]:
    """Block mapping entries at column ``indent`` (lines without line endings)."""
    pad = " " * indent
    lines: list[str] = []
    for key, value in entries.items():
        k = scalar(key)
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{k}:")
            lines.extend(render_entries(value, indent + style.step, style))
        elif isinstance(value, list) and value:
            lines.append(f"{pad}{k}:")
            lines.extend(render_items(value, indent + style.seq_offset, style))
        else:
            lines.append(f"{pad}{k}: {flow(value)}")
    return lines


def render_items(items: list, dash_col: int, style: Style) -> list[str]:
    """Block sequence items with their ``-`` at column ``dash_col``."""
    pad = " " * dash_col
    lines: list[str] = []
    for item in items:
        if isinstance(item, dict) and item:
            sub = render_entries(item, dash_col + style.item_offset, style)
            first = sub[0][dash_col + style.item_offset:]
            lines.append(pad + "-" + " " * (style.item_offset - 1) + first)
            lines.extend(sub[1:])
        else:
            lines.append(f"{pad}- {flow(item, style)}")
    return lines
