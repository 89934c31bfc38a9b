"""Values files of a chart: Helm's merge order, which file an edit goes to, `## @param` doc lines.

A chart's effective values are its ``values.yaml`` overridden by each extra values file in order
(``helm -f a.yaml -f b.yaml``), and a subchart's are its own ``values.yaml`` overridden by the
parent's values under the subchart's key. kfix edits the values files as YAML source (through
``kfix.yaml.editor``), so every byte outside the edit is kept; this module knows nothing about
security.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kfix import ops as O
from kfix.errors import InputError
from kfix.yaml.loader import Document, parse
from kfix.yaml.source import SourceText, decode
from kfix.yaml.editor import Splice

_MISSING = object()


# --------------------------------------------------------------------------- merging


def coalesce(base: Any, override: Any) -> Any:
    """Helm's merge of a values file over another: maps merge deeply, a null deletes the key,
    anything else (lists included) replaces."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return O.clone(override)
    out = O.clone(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = coalesce(out[key], value)
        else:
            out[key] = O.clone(value)
    return out


def merge_user(values: list[Any]) -> dict:
    """`-f a -f b`: the user's files merged in order (nulls kept: Helm applies them over the chart)."""
    out: dict = {}
    for v in values:
        if isinstance(v, dict):
            out = _merge_keep_null(out, v)
    return out


def _merge_keep_null(base: dict, override: dict) -> dict:
    out = O.clone(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_keep_null(out[key], value)
        else:
            out[key] = O.clone(value)
    return out


def exists(data: Any, path: tuple) -> bool:
    return O.get(data, path, _MISSING) is not _MISSING


def truthy(value: Any) -> bool:
    """Go template truth: false, 0, "", nil, empty collections are false."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return True


# --------------------------------------------------------------------------- files


@dataclass
class ValuesFile:
    """One values file: its text, its single YAML document and its data."""

    path: str
    source: SourceText | None
    doc: Document | None
    data: Any
    error: InputError | None = None

    @property
    def text(self) -> str:
        return self.source.text if self.source is not None else ""

    @property
    def editable(self) -> bool:
        return self.error is None and self.doc is not None and self.doc.node is not None and \
            isinstance(self.data, dict)


def load_values_file(path: str, raw: bytes | None = None) -> ValuesFile:
    """Read and parse a values file; problems become ``error`` (file left alone)."""
    try:
        if raw is None:
            with open(path, "rb") as fh:
                raw = fh.read()
        source = decode(raw)
    except OSError as exc:
        return ValuesFile(path, None, None, {}, InputError(f"cannot read: {exc.strerror or exc}", path=path))
    except InputError as exc:
        return ValuesFile(path, None, None, {}, exc.located(path))
    try:
        docs = [d for d in parse(source.text) if d.node is not None]
    except InputError as exc:
        return ValuesFile(path, source, None, {}, exc.located(path))
    if not docs:
        return ValuesFile(path, source, None, {})
    if len(docs) > 1:
        return ValuesFile(path, source, docs[0], docs[0].data,
                          InputError("more than one YAML document in a values file", docs[1].line, path))
    data = docs[0].data
    if data is not None and not isinstance(data, dict):
        return ValuesFile(path, source, docs[0], {}, InputError("a values file must be a mapping", docs[0].line, path))
    return ValuesFile(path, source, docs[0], data if isinstance(data, dict) else {})


@dataclass
class Layer:
    """A source of values for one chart: a file's data at ``prefix`` (the subchart's key)."""

    file: ValuesFile
    prefix: tuple = ()
    editable: bool = True

    @property
    def data(self) -> Any:
        return O.get(self.file.data, self.prefix) if self.prefix else self.file.data


@dataclass
class ValuesChain:
    """The values a chart renders with: layers from lowest to highest priority."""

    layers: list[Layer] = field(default_factory=list)

    def effective(self) -> dict:
        out: dict = {}
        for layer in self.layers:
            data = layer.data
            if isinstance(data, dict):
                out = coalesce(out, data)
        return out

    def defining(self, path: tuple) -> int | None:
        """Index of the highest-priority layer that writes ``path``."""
        for i in range(len(self.layers) - 1, -1, -1):
            if exists(self.layers[i].data, path):
                return i
        return None

    def default_target(self) -> int | None:
        for i in range(len(self.layers) - 1, -1, -1):
            if self.layers[i].editable:
                return i
        return None


def place(chain: ValuesChain, ops: list[O.Op]) -> tuple[int | None, list[O.Op], str]:
    """Which layer a group of values operations goes to, and the operations as written there.

    The highest-priority layer any operation needs wins (an override file beats the defaults); a
    list that only a lower layer defines is written whole (Helm replaces lists, it never merges
    them). Returns (layer index or None, operations with the layer's prefix, reason when None).
    """
    default = chain.default_target()
    if default is None:
        return None, [], "no values file kfix can edit"
    target = -1
    for op in ops:
        i = chain.defining(op.path)
        if i is None:
            i = default
        target = max(target, i)
    if not chain.layers[target].editable:
        target = default if default >= target else -1
        if target < 0:
            return None, [], "the values key is defined only in a file kfix does not edit"
    layer = chain.layers[target]
    eff = chain.effective()
    out: list[O.Op] = []
    for op in ops:
        if isinstance(op, (O.Append, O.Discard)) and not exists(layer.data, op.path) and \
                isinstance(O.get(eff, op.path), list):
            after = O.apply(eff, [op])
            op = O.Set(op.path, O.get(after, op.path))
            eff = after
        else:
            eff = O.apply(eff, [op])
        out.append(prefixed(op, layer.prefix))
    return target, out, ""


def prefixed(op: O.Op, prefix: tuple) -> O.Op:
    return O.with_path(op, prefix + tuple(op.path)) if prefix else op


# --------------------------------------------------------------------------- ## @param lines

_PARAM = re.compile(r"^([ \t]*#+[ \t]*)@param[ \t]+(\S+)(?:[ \t]+(.*?))?[ \t]*$")


@dataclass
class _Param:
    line_start: int  # offset of the line
    line_end: int  # offset just past its line ending
    prefix: str
    path: str
    desc: str


def added_leaves(before: Any, ops: list[O.Op]) -> list[tuple]:
    """Value paths that ``ops`` create (keys absent before), as leaves: scalars and lists."""
    out: list[tuple] = []

    def leaves(path: tuple, value: Any) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                leaves(path + (k,), v)
        else:
            out.append(path)

    data = O.clone(before)
    for op in ops:
        if isinstance(op, O.Set) and not exists(data, op.path):
            # the first missing ancestor and everything under it is new
            i = next(i for i in range(1, len(op.path) + 1) if not exists(data, op.path[:i]))
            new = op.value
            for key in reversed(op.path[i:]):
                new = {key: new}
            leaves(op.path[:i], new)
        elif isinstance(op, O.Append) and not exists(data, op.path):
            out.append(tuple(op.path))
        O.apply_one(data, op)
    seen: list[tuple] = []
    for p in out:
        if p not in seen and all(isinstance(k, str) for k in p):
            seen.append(p)
    return seen


def _key_lines(doc: Document) -> dict[tuple, int]:
    """Offset of the start of the key of every mapping entry, by path (block mappings only)."""
    from yaml.nodes import MappingNode, ScalarNode

    out: dict[tuple, int] = {}
    stack = [((), doc.node)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, MappingNode):
            continue
        for k, v in node.value:
            if isinstance(k, ScalarNode):
                p = path + (k.value,)
                out.setdefault(p, k.start_mark.index)
                if len(p) < 12:
                    stack.append((p, v))
    return out


def _comment_block(text: str, key_pos: int) -> list[_Param]:
    """The `@param` lines of the comment block right above the line of ``key_pos``."""
    start = text.rfind("\n", 0, key_pos) + 1
    params: list[_Param] = []
    pos = start
    while pos > 0:
        prev_end = pos - 1  # the "\n" ending the previous line
        prev_start = text.rfind("\n", 0, prev_end) + 1
        line = text[prev_start:prev_end].rstrip("\r")
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        m = _PARAM.match(line)
        if m:
            params.append(_Param(prev_start, pos, m.group(1), m.group(2), m.group(3) or ""))
        pos = prev_start
    params.reverse()
    return params


def param_splices(text: str, doc: Document | None, leaves: list[tuple], hints: dict[tuple, str]) -> list[Splice]:
    """New `## @param` lines for added keys, in sections that document their keys that way.

    The line goes after the documented sibling that shares the longest path with the new key, in
    that line's own prefix (`## `, indentation); its description follows a sibling's wording when
    one ends with its own key name ("... fsGroup" -> "... runAsNonRoot"), else ``hints``.
    """
    if not leaves or doc is None or doc.node is None:
        return []
    keys = _key_lines(doc)
    blocks: dict[tuple, list[_Param]] = {}
    inserts: dict[int, list[str]] = {}
    for leaf in leaves:
        dotted = ".".join(leaf)
        for depth in range(len(leaf) - 1, 0, -1):
            anc = leaf[:depth]
            if anc not in keys:
                continue
            if anc not in blocks:
                blocks[anc] = _comment_block(text, keys[anc])
            params = [p for p in blocks[anc] if p.path.startswith(".".join(anc) + ".") or p.path == ".".join(anc)]
            if not params:
                continue
            if any(p.path == dotted for p in params):
                break
            best = max(params, key=lambda p: (_common(p.path.split("."), list(leaf)), params.index(p)))
            desc = _describe(leaf, params, hints.get(leaf, ""))
            eol = "\r\n" if text[best.line_start:best.line_end].endswith("\r\n") else "\n"
            line = f"{best.prefix}@param {dotted}" + (f" {desc}" if desc else "") + eol
            inserts.setdefault(best.line_end, []).append(line)
            # later leaves of the same section go after this one
            blocks[anc].insert(blocks[anc].index(best) + 1, _Param(best.line_start, best.line_end, best.prefix,
                                                                    dotted, desc))
            break
    return [(pos, pos, "".join(lines)) for pos, lines in sorted(inserts.items())]


def _common(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _describe(leaf: tuple, params: list[_Param], hint: str) -> str:
    parent = ".".join(leaf[:-1])
    for p in params:
        parts = p.path.split(".")
        if ".".join(parts[:-1]) == parent and p.desc.endswith(parts[-1]) and not p.desc.startswith("["):
            return p.desc[: -len(parts[-1])] + leaf[-1]
    return hint
