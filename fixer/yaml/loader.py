"""Parse YAML into node trees (with exact positions) and plain data, in one libyaml pass.

libyaml's composer gives every node its start/end character offsets; the safe constructor builds
plain Python data from the same nodes, so locating nodes costs no second parse. This module also
refuses input that cannot be handled safely: duplicate keys, alias bombs and runaway nesting.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Iterator

import operator
import re

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kfix.errors import InputError

try:  # libyaml binding: fast and gives marks; the pure-Python parser is a slow but exact fallback
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

MERGE_TAG = "tag:yaml.org,2002:merge"
MAX_DEPTH = 500
MAX_EXPANDED_NODES = 200_000
_TOO_DEEP = f"YAML nested more than {MAX_DEPTH} levels deep; refusing to process"


class DuplicateKeyError(ConstructorError):
    pass


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_TAGS: dict[str, str] = {}  # plain scalar -> its implicit tag (manifests repeat the same keys and values)
_TAGS_MAX = 100_000


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader that rejects duplicate keys and never rewrites nodes while merging ``<<``."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        """The tag of an untagged node (a safe loader has no path resolvers): a quoted scalar is a string,
        a plain one's tag depends on its text alone, so each text is matched against the patterns once."""
        if kind is ScalarNode:
            if not implicit[0]:
                return _STR
            tag = _TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_TAGS) >= _TAGS_MAX:
                    _TAGS.clear()
                _TAGS[value] = tag
            return tag
        return _MAP if kind is MappingNode else _SEQ

    def construct_mapping(self, node: Node, deep: bool = False) -> dict:  # type: ignore[override]
        if not isinstance(node, MappingNode):
            raise ConstructorError(None, None, f"expected a mapping node, but found {node.id}", node.start_mark)
        mapping: dict = {}
        pairs = _merged_pairs(node)
        for key_node, value_node in pairs:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise ConstructorError("while constructing a mapping", node.start_mark,
                                       "found unhashable key", key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=deep)
        if pairs is node.value and len(mapping) == len(pairs):
            return mapping  # no merge key and no key twice: the common case
        explicit = [k for k, _ in node.value if k.tag != MERGE_TAG]
        if len(explicit) > 1:
            seen: set = set()
            for key_node in explicit:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise DuplicateKeyError(None, None, f"duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return mapping


if not _Loader.yaml_path_resolvers:
    # libyaml's composer calls these hooks on every node; without path resolvers (a safe loader has none)
    # they do nothing, and a built-in that does nothing costs a fraction of PyYAML's Python methods
    _Loader.descend_resolver = staticmethod(operator.is_)  # type: ignore[assignment]
    _Loader.ascend_resolver = staticmethod(tuple)  # type: ignore[assignment]


def _merged_pairs(node: MappingNode) -> list[tuple[Node, Node]]:
    """The pairs of a mapping with ``<<`` merges expanded (explicit keys win), nodes unchanged."""
    if not any(k.tag == MERGE_TAG for k, _ in node.value):
        return node.value
    merged: list[tuple[Node, Node]] = []
    explicit: list[tuple[Node, Node]] = []
    for key_node, value_node in node.value:
        if key_node.tag != MERGE_TAG:
            explicit.append((key_node, value_node))
        elif isinstance(value_node, MappingNode):
            merged.extend(_merged_pairs(value_node))
        elif isinstance(value_node, SequenceNode):
            for sub in reversed(value_node.value):
                if not isinstance(sub, MappingNode):
                    raise ConstructorError("while constructing a mapping", node.start_mark,
                                           "a merge key needs mappings", sub.start_mark)
                merged.extend(_merged_pairs(sub))
        else:
            raise ConstructorError("while constructing a mapping", node.start_mark,
                                   "a merge key needs a mapping or a list of mappings", value_node.start_mark)
    return merged + explicit


@dataclass
class Document:
    """One YAML document: its root node (positions) and its plain data."""

    index: int
    node: Node | None
    data: Any
    shared: dict[int, int] = field(default_factory=dict)  # id(node) -> number of references, only >1
    lines: dict = field(default_factory=dict, repr=False)  # path -> (node, line): lookups cached by the planner

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1 if self.node is not None else 1


def parse(text: str, find_shared: bool = True) -> list[Document]:
    """Parse every document of ``text``; raise InputError (with a line) for unsafe or invalid input.

    ``find_shared``: map the nodes that aliases share (and refuse alias bombs); a rewrite being
    verified has the anchors its input had, already checked, so verification skips it.
    """
    return list(iter_documents(text, find_shared))


def iter_documents(text: str, find_shared: bool = True) -> Iterator[Document]:
    """The documents of ``text`` one at a time (as ``parse``), so a caller that is done with one lets
    its nodes go before the next is built: memory follows the largest document, not the file."""
    if _may_be_deep(text):
        _check_depth(text)
    loader = _Loader(text)
    # Sharing needs an anchor and an alias, whose indicators '&' and '*' have no other spelling: the
    # guard against alias bombs must not depend on what precedes them (libyaml skips a BOM there, too).
    has_anchor = "&" in text and "*" in text
    node = None
    index = 0
    try:
        while True:
            try:
                if not loader.check_node():
                    break
                node = loader.get_node()
                shared = _shared_nodes(node) if find_shared and has_anchor and node is not None else {}
                doc = Document(index, node, _construct(loader, node, has_anchor), shared)
            except (ValueError, TypeError, AttributeError) as exc:  # a constructor on a value unfit for its tag
                line = node.start_mark.line + 1 if node is not None else None
                raise InputError(f"invalid YAML: a value does not fit its tag ({type(exc).__name__}: {exc})"[:200],
                                 line) from None
            except DuplicateKeyError as exc:
                raise InputError(f"{exc.problem}: kfix does not guess which one counts", _line(exc)) from None
            except yaml.MarkedYAMLError as exc:
                raise _invalid(exc) from None
            except yaml.YAMLError as exc:
                raise InputError(f"invalid YAML: {exc}") from None
            except RecursionError:
                raise too_deep(text) from None
            node = None
            index += 1
            yield doc
            del doc
    finally:
        loader.dispose()


class _Unusual(Exception):
    """A node the fast constructor leaves to PyYAML's: merge keys, explicit tags, duplicate or odd keys."""


_SCALARS = {tag: _Loader.yaml_constructors[tag] for tag in (
    "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp")}


def _construct(loader: _Loader, node: Node | None, has_anchor: bool) -> Any:
    """Plain data of one document, as PyYAML's safe constructor builds it.

    Manifests are plain mappings, lists and scalars; building those directly costs a fraction of
    PyYAML's general constructor (which keeps per-node state for recursive structures). Anything
    else (a merge key, an explicit tag, a duplicate or unhashable key) goes to the general path,
    which also produces the precise error.
    """
    if node is None:
        return None
    try:
        return _build(node, loader, {} if has_anchor else None)  # with anchors, aliases give one object back
    except _Unusual:
        return loader.construct_document(node)


def _build(n: Node, loader: _Loader, memo: dict[int, Any] | None) -> Any:
    cls = n.__class__
    if cls is ScalarNode:
        tag = n.tag
        if tag == _STR:
            return n.value
        ctor = _SCALARS.get(tag)
        if ctor is None:
            raise _Unusual
        return ctor(loader, n)
    if memo is not None and id(n) in memo:
        return memo[id(n)]
    if cls is MappingNode and n.tag == _MAP:
        out: dict = {}
        if memo is not None:
            memo[id(n)] = out
        for k, v in n.value:
            if k.tag == MERGE_TAG:
                raise _Unusual
            key = _build(k, loader, memo)
            value = _build(v, loader, memo)
            try:
                out[key] = value
            except TypeError:  # an unhashable key
                raise _Unusual from None
        if len(out) != len(n.value):  # a key twice
            raise _Unusual
        return out
    if cls is SequenceNode and n.tag == _SEQ:
        items: list = []
        if memo is not None:
            memo[id(n)] = items
        for v in n.value:
            items.append(_build(v, loader, memo))
        return items
    raise _Unusual


def load_data(text: str) -> list[Any]:
    """Plain data of every document (used to verify a rewrite)."""
    return [d.data for d in iter_documents(text, find_shared=False)]


def _line(exc: yaml.MarkedYAMLError) -> int | None:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark is not None else None


def _may_be_deep(text: str) -> bool:
    """Whether nesting could exceed MAX_DEPTH, from a bound that holds however the text is written: a block
    node is nested at most one level per column of the indentation and compact ``- ``/``? `` indicators
    before it, and flow nesting at most one level per bracket."""
    room = MAX_DEPTH - text.count("[") - text.count("{") - 4
    if room <= 0:
        return True
    if room >= _SHALLOW_RUN and _SHALLOW.match(text) is None and _SHALLOW_LINE.search(text) is None:
        return False  # no line starts even that deep (the common case: one pattern, compiled once)
    return re.search(r"^[ ?-]{%d}" % room, text, re.M) is not None


_SHALLOW_RUN = 100
_SHALLOW = re.compile(r"[ ?-]{%d}" % _SHALLOW_RUN)
_SHALLOW_LINE = re.compile(r"\n[ ?-]{%d}" % _SHALLOW_RUN)  # a literal first: the fast search


def deepest_line(text: str) -> int | None:
    """The line where the nesting is deepest (for a refusal when something recursed too far)."""
    depth = best = 0
    line = None
    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > best:
                    best, line = depth, event.start_mark.line + 1
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        pass
    return line


def too_deep(text: str) -> InputError:
    """The refusal for nesting too deep to process, at its deepest line."""
    return InputError(_TOO_DEEP, deepest_line(text))


def _check_depth(text: str) -> None:
    """Measure nesting with the (non-recursive) event parser before the recursive composer runs."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InputError(_TOO_DEEP, event.start_mark.line + 1)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        raise _invalid(exc) from None


def _invalid(exc: yaml.MarkedYAMLError) -> InputError:
    """The message for a parse error; libyaml >= 0.2.6 stops runaway nesting itself (at 1,000 levels)."""
    problem = exc.problem or exc.context or "parse error"
    if "nesting depth" in problem:
        return InputError(_TOO_DEEP, _line(exc))
    return InputError(f"invalid YAML: {problem}", _line(exc))


def _shared_nodes(root: Node) -> dict[int, int]:
    """Nodes referenced more than once (anchors with aliases); refuse alias bombs and cycles."""
    counts: dict[int, int] = {}
    expanded: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            children = _children(node)
            size = 1 + sum(expanded[id(c)] for c in children)
            if size > MAX_EXPANDED_NODES:
                raise InputError("aliases expand to more than "
                                 f"{MAX_EXPANDED_NODES} nodes (an alias bomb?); refusing to process",
                                 node.start_mark.line + 1)
            expanded[nid] = size
            continue
        counts[nid] = counts.get(nid, 0) + 1
        if nid in on_path:
            raise InputError("recursive alias; refusing to process", node.start_mark.line + 1)
        if counts[nid] > 1:
            continue
        on_path.add(nid)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise InputError("recursive alias; refusing to process", child.start_mark.line + 1)
            stack.append((child, False))
    return {nid: n for nid, n in counts.items() if n > 1}


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        out: list[Node] = []
        for k, v in node.value:
            out.append(k)
            out.append(v)
        return out
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def ends_in_open_block_scalar(docs: list[Document], text: str) -> InputError | None:
    """A file whose last line is inside a block scalar (``|``, ``>``) with no final newline: text added
    after it would give that scalar a final line break it does not have. The refusal, or None."""
    if not docs or text.endswith(("\n", "\r", "\x85", "\u2028", "\u2029")):
        return None
    node = docs[-1].node
    while isinstance(node, (MappingNode, SequenceNode)) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):
        return InputError("the file ends inside a block scalar (| or >) with no final newline; kfix cannot add "
                          "anything after it without changing its value (add a newline at the end)",
                          node.start_mark.line + 1)
    return None


def is_scalar(node: Node) -> bool:
    return isinstance(node, ScalarNode)
