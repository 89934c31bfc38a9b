"""What git ignores: ``.gitignore`` files and ``.git/info/exclude`` in a git work tree (with ``pathspec``,
which implements git's own matching rules, negation and directory patterns included).

Like git and ripgrep, ignore files count only inside a git work tree, and a deeper ``.gitignore`` wins
over a shallower one, which wins over ``.git/info/exclude``.
"""

from __future__ import annotations

import os

import pathspec


def work_tree_root(folder: str) -> str | None:
    """The nearest folder at or above ``folder`` that holds ``.git`` (a folder, or a file in a worktree)."""
    current = os.path.abspath(folder)
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _read_spec(path: str) -> pathspec.GitIgnoreSpec | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    return spec if spec.patterns else None


class GitIgnore:
    """Answers "does git ignore this path?" for the folders one walk visits (specs read once per folder)."""

    def __init__(self) -> None:
        self._specs: dict[str, list[tuple[str, pathspec.GitIgnoreSpec]]] = {}
        self._roots: dict[str, str | None] = {}

    def _root(self, folder: str) -> str | None:
        if folder not in self._roots:
            self._roots[folder] = work_tree_root(folder)
        return self._roots[folder]

    def _chain(self, folder: str, root: str) -> list[tuple[str, pathspec.GitIgnoreSpec]]:
        """The (base folder, spec) pairs that apply inside ``folder``, weakest first."""
        if folder in self._specs:
            return self._specs[folder]
        if folder == root:
            chain = []
            exclude = _read_spec(os.path.join(root, ".git", "info", "exclude"))
            if exclude is not None:
                chain.append((root, exclude))
        else:
            chain = list(self._chain(os.path.dirname(folder), root))
        own = _read_spec(os.path.join(folder, ".gitignore"))
        if own is not None:
            chain.append((folder, own))
        self._specs[folder] = chain
        return chain

    def ignored(self, path: str, is_dir: bool = False) -> bool:
        """Whether git ignores ``path`` (a file, or a folder with ``is_dir``); False outside a work tree."""
        full = os.path.abspath(path)
        folder = os.path.dirname(full)
        root = self._root(folder)
        if root is None:
            return False
        decision = False
        for base, spec in self._chain(folder, root):
            rel = os.path.relpath(full, base).replace(os.sep, "/") + ("/" if is_dir else "")
            include = spec.check_file(rel).include
            if include is not None:
                decision = include
        return decision
