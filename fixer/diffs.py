"""Unified diffs that ``git apply`` accepts, coloured only for a terminal."""

from __future__ import annotations

import difflib
import os

RED, GREEN, CYAN, BOLD, RESET = "\033[31m", "\033[32m", "\033[36m", "\033[1m", "\033[0m"
NO_NEWLINE = "\\ No newline at end of file\n"


def display_path(path: str) -> str:
    """The path as a diff names it: relative to the working directory when inside it."""
    rel = os.path.relpath(path) if os.path.isabs(path) or not path.startswith("..") else path
    if rel.startswith(".."):
        rel = path.lstrip("/")
    return rel.replace(os.sep, "/")


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
    for line in difflib.unified_diff(split_lines(old), split_lines(new), f"a/{name}", f"b/{name}",
                                     n=context, lineterm="\n"):
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
