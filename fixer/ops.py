"""Edit operations on plain data paths: the contract between rules and editing backends.

Rules say *what* changes as a list of these operations on paths inside a document; a backend
(YAML source edits, Helm values edits) decides *how* to write them. ``apply`` performs them on plain
data, which gives the data a rewrite must re-parse to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

Path = tuple  # of str (mapping keys) and int (sequence indexes)


@dataclass(frozen=True, slots=True)
class Set:
    """Set ``path`` to ``value``, creating missing parent mappings; replaces an existing value."""

    path: Path
    value: Any


@dataclass(frozen=True, slots=True)
class Append:
    """Append ``value`` to the list at ``path`` (created when missing).

    With ``unique_key``, nothing happens when an item with the same value for that key exists;
    without it, nothing happens when an equal item exists.
    """

    path: Path
    value: Any
    unique_key: str | None = None


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove the mapping key at ``path``."""

    path: Path


@dataclass(frozen=True, slots=True)
class Discard:
    """Remove every item equal to ``value`` from the list at ``path``."""

    path: Path
    value: Any


Op = Union[Set, Append, Delete, Discard]


def with_path(op: Op, path: Path) -> Op:
    """The same operation at another path (rules' pod paths map to document or values paths)."""
    if isinstance(op, Set):
        return Set(path, op.value)
    if isinstance(op, Append):
        return Append(path, op.value, op.unique_key)
    if isinstance(op, Delete):
        return Delete(path)
    return Discard(path, op.value)


def get(data: Any, path: Path, default: Any = None) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(data, list) or key >= len(data):
                return default
        elif not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def _parent(data: Any, path: Path, create: bool) -> Any:
    for key in path[:-1]:
        if isinstance(key, int):
            data = data[key]
            continue
        if not isinstance(data.get(key), (dict, list)):
            if not create:
                return None
            data[key] = {}
        data = data[key]
    return data


def conflict(data: Any, op: Op) -> Path | None:
    """The path of a value that is in the way of ``op`` (a scalar or list where a mapping must be)."""
    node = data
    steps = op.path if isinstance(op, (Append, Discard)) else op.path[:-1]
    for i, key in enumerate(steps):
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                return op.path[:i]
        elif node is None:
            return None
        elif not isinstance(node, dict):
            return op.path[:i]
        node = node[key] if isinstance(key, int) else node.get(key)
    if isinstance(op, (Append, Discard)) and node is not None and not isinstance(node, list):
        return op.path
    if isinstance(op, (Set, Delete)) and node is not None and not isinstance(node, dict):
        return op.path[:-1]
    return None


def is_noop(data: Any, op: Op) -> bool:
    """Would ``op`` leave ``data`` as it is?"""
    if isinstance(op, Set):
        marker = object()
        current = get(data, op.path, marker)
        return current is not marker and current == op.value and type(current) is type(op.value)
    if isinstance(op, Append):
        items = get(data, op.path)
        return isinstance(items, list) and _has_item(items, op)
    if isinstance(op, Delete):
        parent = get(data, op.path[:-1])
        return not (isinstance(parent, dict) and op.path[-1] in parent)
    items = get(data, op.path)
    return not (isinstance(items, list) and op.value in items)


def _has_item(items: list, op: Append) -> bool:
    if op.unique_key is None:
        return op.value in items
    want = op.value.get(op.unique_key)
    return any(isinstance(i, dict) and i.get(op.unique_key) == want for i in items)


def apply_one(data: Any, op: Op) -> None:
    """Perform ``op`` on ``data`` in place."""
    if not is_noop(data, op):
        perform(data, op)


def perform(data: Any, op: Op) -> None:
    """``apply_one`` for an operation known not to be a no-op on ``data``."""
    if isinstance(op, Set):
        _parent(data, op.path, True)[op.path[-1]] = clone(op.value)
    elif isinstance(op, Append):
        parent = _parent(data, op.path, True)
        if not isinstance(parent.get(op.path[-1]), list):
            parent[op.path[-1]] = []
        parent[op.path[-1]].append(clone(op.value))
    elif isinstance(op, Delete):
        del _parent(data, op.path, False)[op.path[-1]]
    else:
        items = get(data, op.path)
        items[:] = [i for i in items if i != op.value]


def clone(data: Any) -> Any:
    """A deep copy of plain YAML data (dicts, lists, scalars), much faster than ``copy.deepcopy``.

    Objects shared through YAML aliases become separate copies; equality is what verification uses.
    """
    kind = type(data)
    if kind is dict:
        return {k: clone(v) for k, v in data.items()}
    if kind is list:
        return [clone(v) for v in data]
    return data


def apply(data: Any, ops: list[Op]) -> Any:
    """A copy of ``data`` with ``ops`` performed."""
    out = clone(data)
    for op in ops:
        apply_one(out, op)
    return out
