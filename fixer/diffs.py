"""Unified diffs that ``git apply`` accepts, coloured only for a terminal."""

from __future__ import annotations

import difflib
import os

RED, GREEN, CYAN, BOLD, RESET = "\033[31m", "\033[32m", "\033[36m", "\033[1m", "\033[0m"
NO_NEWLINE = "\\ No newline at end of file\n"


def display_path(path: str) -> str:
    """The path as a diff names it: relative to the working directory when inside it, otherwise from the
    root of the file system (``git apply`` refuses ``..`` in a path; run it from ``/`` for such a diff).
    Reports name a file once per finding: the answer is kept per working directory and path."""
    key = (os.getcwd(), path)
    shown = _DISPLAYED.get(key)
    if shown is None:
        if len(_DISPLAYED) >= 100_000:
            _DISPLAYED.clear()
        rel = os.path.relpath(path)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            rel = os.path.abspath(path).lstrip(os.sep)
        shown = _DISPLAYED[key] = rel.replace(os.sep, "/")
    return shown


_DISPLAYED: dict[tuple[str, str], str] = {}


_C_ESCAPES = {"\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r", '"': '"',
              "\\": "\\"}


def quote_path(name: str) -> str:
    """A path in a diff header as git writes it: in double quotes with C escapes (octal for control and
    non-ASCII bytes) when it holds such characters or a quote or backslash; as it is otherwise."""
    raw = os.fsencode(name)
    if all(0x20 <= b < 0x7F and b not in (0x22, 0x5C) for b in raw):
        return name
    out = []
    for b in raw:
        ch = chr(b)
        if ch in _C_ESCAPES:
            out.append("\\" + _C_ESCAPES[ch])
        elif 0x20 <= b < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def _header_name(name: str) -> str:
    """A ``---``/``+++`` name: quoted as git does, and ended by a tab when it holds a space (as git ends
    it, so that patch tools know the name does not go on to a date)."""
    quoted = quote_path(name)
    return quoted + "\t" if " " in quoted and not quoted.startswith('"') else quoted


def split_lines(text: str) -> list[str]:
    """Lines as git sees them: split after each LF only. str.splitlines would also split at U+2028,
    NEL, a lone CR... (which a YAML file may hold inside a quoted scalar) and git apply would reject
    the diff."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def unified_diff(path: str, old: str, new: str, context: int = 3) -> str:
    name = display_path(path)
    out: list[str] = []
    for line in difflib.unified_diff(split_lines(old), split_lines(new), _header_name(f"a/{name}"),
                                     _header_name(f"b/{name}"), n=context, lineterm="\n"):
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n" + NO_NEWLINE)
    return "".join(out)


def colorize(diff: str) -> str:
    out = []
    for line in split_lines(diff):
        body, end = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        if line.startswith(("--- ", "+++ ")):
            out.append(f"{BOLD}{body}{RESET}{end}")
        elif line.startswith("@@"):
            out.append(f"{CYAN}{body}{RESET}{end}")
        elif line.startswith("+"):
            out.append(f"{GREEN}{body}{RESET}{end}")
        elif line.startswith("-"):
            out.append(f"{RED}{body}{RESET}{end}")
        else:
            out.append(line)
    return "".join(out)
