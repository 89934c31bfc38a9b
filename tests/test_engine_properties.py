"""Property tests of the YAML source-editing engine (SPEC "What preserving means").

Manifests are generated and rendered in varied styles by ``strategies.py`` (its own renderer, not
the engine's). Properties, checked for the whole pipeline (``plan_bytes``) and for ``Editor`` on
random operation lists:

1. the output re-parses to the input data with exactly the intended changes (type-strict);
2. every line outside the edited nodes is kept byte for byte and in order; every comment survives
   (unless its line was removed with a deleted key or list item); line endings, BOM and a missing
   final newline are kept;
3. inserted text follows the local layout: new keys at the column of the mapping's keys, new nested
   mappings at the surrounding indentation step, new block sequences flush or indented like the
   surrounding ones, appended mapping items with the same ``-`` spacing as the existing first item;
4. a second run changes nothing;
5. files that need no change get no new text.

Engine bugs these properties found are kept as minimal reproducers at the end of this file (each
must edit correctly or be refused with EditUnsupported).
Budget: about 30-45 s for the whole file (300 + 60 pipeline files, 450 Editor op lists).
"""

from __future__ import annotations

import difflib
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kfix import ops as O
from kfix.api import make_options, plan_bytes
from kfix.config import Config
from kfix.errors import EditUnsupported, InputError
from kfix.yaml.loader import load_data, parse
from kfix.yaml.editor import Editor, apply_splices
from kfix.rules import Settings

from strategies import ABSENT, COMMENT_TOKEN, KEYS, ManifestFile, manifest_files, scalar_values, values

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


def event(value: str) -> None:
    """hypothesis.event, also usable from the plain (non-hypothesis) tests below."""
    try:
        hypothesis.event(value)
    except hypothesis.errors.InvalidArgument:
        pass


def note(value: str) -> None:
    try:
        hypothesis.note(value)
    except hypothesis.errors.InvalidArgument:
        pass


WRITABLE = {"one": ("/tmp",), "two": ("/tmp", "/var/cache")}
OPTIONS = {(flag, paths): make_options(Config(settings=Settings(writable_paths=WRITABLE[paths])), unsafe_fixes=flag)
           for flag in (False, True) for paths in WRITABLE}
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                       HealthCheck.filter_too_much])


# ==================================================================================================
# Helpers
# ==================================================================================================
def canon(x: Any) -> Any:
    """Type-strict form for comparisons (``True == 1`` and ``1 == 1.0`` in Python; not here)."""
    if isinstance(x, dict):  # key order is not data (kept keys keep their lines: property 2 checks that)
        return ("map", tuple(sorted(((canon(k), canon(v)) for k, v in x.items()), key=repr)))
    if isinstance(x, list):
        return ("seq", tuple(canon(i) for i in x))
    if isinstance(x, float) and x != x:
        return ("float", "nan")
    return (type(x).__name__, x)


def assert_same_data(actual: list, expected: list, old: str, new: str) -> None:
    if canon(actual) != canon(expected):
        from deepdiff import DeepDiff

        raise AssertionError("re-parsed data differs from the intended data:\n"
                             f"{DeepDiff(expected, actual, verbose_level=2)}\n{udiff(old, new)}")


def lines_of(text: str) -> list[str]:
    """Lines split after "\\n" only (YAML's line breaks in our inputs), endings kept."""
    out = text.split("\n")
    lines = [line + "\n" for line in out[:-1]]
    if out[-1]:
        lines.append(out[-1])
    return lines


def udiff(old: str, new: str) -> str:
    return "".join(difflib.unified_diff(lines_of(old), lines_of(new), "before", "after", n=2))


def compose(text: str) -> list[Node | None]:
    return list(yaml.compose_all(text, Loader=_Loader))


def key_of(k: Node) -> Any:
    if not isinstance(k, ScalarNode):
        return None
    if k.tag.endswith(":str"):
        return k.value
    return yaml.load(k.value, Loader=_Loader)


def walk(root: Node, path: tuple) -> list[tuple[Node | None, Node]]:
    """(key node, node) for the root and every existing prefix of ``path``."""
    chain: list[tuple[Node | None, Node]] = [(None, root)]
    node = root
    for key in path:
        nxt = None
        if isinstance(node, MappingNode) and not isinstance(key, int):
            nxt = next(((k, v) for k, v in node.value if key_of(k) == key), None)
        elif isinstance(node, SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = (None, node.value[key])
        if nxt is None:
            break
        chain.append(nxt)
        node = nxt[1]
    return chain


def is_block(node: Node) -> bool:
    return isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style and bool(node.value)


def is_null_or_empty(node: Node) -> bool:
    if isinstance(node, ScalarNode):
        return node.tag.endswith(":null")
    return not node.value


class Text:
    """Positions in one text."""

    def __init__(self, text: str):
        self.text = text

    def line(self, index: int) -> int:
        return self.text.count("\n", 0, index)

    def col(self, index: int) -> int:
        return index - (self.text.rfind("\n", 0, index) + 1)

    def end(self, node: Node) -> int:
        """Just past the node's last non-blank character."""
        if isinstance(node, ScalarNode):
            end = node.end_mark.index
            header = self.text[node.start_mark.index:].split("\n", 1)[0].split("#", 1)[0]
            if node.style in ("|", ">") and "+" not in header:  # keep chomping: trailing blank lines are content
                while end > node.start_mark.index and self.text[end - 1] in " \t\r\n":
                    end -= 1
            return end
        if node.flow_style or not node.value:
            return node.end_mark.index
        if isinstance(node, MappingNode):
            k, v = node.value[-1]
            return max(self.end(k), self.end(v))
        return self.end(node.value[-1])

    def lines(self, node: Node, key: Node | None = None) -> set[int]:
        first = self.line((key or node).start_mark.index)
        end = self.end(node)
        last = self.line(max(end - 1, node.start_mark.index))
        return set(range(first, max(first, last) + 1))

    def dash(self, seq: SequenceNode, item: Node) -> int:
        start = seq.start_mark.index if item is seq.value[0] and self.text.startswith("-", seq.start_mark.index) \
            else self.text.rfind("-", 0, item.start_mark.index)
        return start


# ==================================================================================================
# Property 2: untouched bytes
# ==================================================================================================
def edit_zones(t: Text, root: Node, op: O.Op) -> tuple[set[int], set[int]]:
    """Original lines an operation may modify in place, and lines it may remove."""
    modify: set[int] = set()
    remove: set[int] = set()
    path = op.path
    chain = walk(root, path)
    full = len(chain) == len(path) + 1
    key, node = chain[-1]
    parent_key, parent = chain[-2] if len(chain) > 1 else (None, None)

    def near(k: Node | None, n: Node) -> None:  # lines of a node written in place (flow, scalar, empty)
        modify.update(t.lines(n, k))

    if isinstance(op, O.Delete):
        if full:
            remove.update(t.lines(node, key))
            if parent is not None and parent.flow_style:
                near(None, parent)
            elif parent_key is not None:
                modify.add(t.line(parent_key.start_mark.index))
        return modify, remove
    if full and isinstance(op, O.Discard):
        if isinstance(node, SequenceNode) and node.flow_style:
            near(key, node)
        elif isinstance(node, SequenceNode):
            items = O.get(yaml.load(yaml.serialize(node), Loader=_Loader), ())  # plain data of the list
            for item_node, item in zip(node.value, items):
                if item == op.value:
                    remove.update(range(t.line(t.dash(node, item_node)), max(t.lines(item_node)) + 1))
            if key is not None:
                modify.add(t.line(key.start_mark.index))
        return modify, remove
    if full and isinstance(op, O.Append) and is_block(node):
        return modify, remove  # items go after the existing ones
    # Set, or Append to something empty/missing/flow, or an op below the deepest existing node
    if is_block(node) and not full:
        return modify, remove  # new keys go after the existing ones
    for k, n in chain:
        if isinstance(n, (MappingNode, SequenceNode)) and n.flow_style:
            near(k, n)  # inside a flow collection: its lines
            return modify, remove
    near(key, node)
    return modify, remove


def allow_pruned(expected: Any, original: Any, actual: Any, path: tuple = ()) -> tuple[Any, list[tuple]]:
    """``expected`` without the collections the operations emptied (non-empty in ``original``, empty in
    ``expected``) that ``actual`` dropped with their keys; and the paths of those."""
    if isinstance(expected, dict) and isinstance(original, dict) and isinstance(actual, dict):
        out, gone = dict(expected), []
        for key in list(out):
            if key in original:
                below_actual = actual[key] if key in actual else ({} if isinstance(out[key], dict) else None)
                out[key], below = allow_pruned(out[key], original[key], below_actual, path + (key,))
                gone += below
                if key not in actual and out[key] in ({}, []) and original[key] not in ({}, [], None):
                    del out[key]
                    gone.append(path + (key,))
        return out, gone
    if isinstance(expected, list) and isinstance(original, list) and isinstance(actual, list) and \
            len(original) <= len(expected) == len(actual):  # the same items, or more appended after them
        out, gone = [], []
        for i, (e, o, a) in enumerate(zip(expected, original, actual)):
            item, below = allow_pruned(e, o, a, path + (i,))
            out.append(item)
            gone += below
        return out + expected[len(original):], gone
    return expected, []


def pruned_zone(t: "Text", root: Node, path: tuple) -> tuple[set[int], set[int]]:
    """Lines of a collection removed with its key, and its parent's key line (which may gain ``{}``)."""
    chain = walk(root, path)
    key, node = chain[-1]
    modify = {t.line(chain[-2][0].start_mark.index)} if len(chain) > 2 and chain[-2][0] is not None else set()
    return modify, t.lines(node, key)


def kept_blank_zone(t: Text, root: Node, zones: list[tuple[set[int], set[int]]]) -> tuple[set[int], set[int]]:
    """Blank lines right after removed lines that follow a keep-chomped (``+``) block scalar: kept, they would
    join its value, so they may go with the removed lines."""
    removed = set().union(*(z[1] for z in zones)) if zones else set()
    lines = lines_of(t.text)
    blanks: set[int] = set()
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            stack.extend(n for pair in node.value for n in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif node.style in ("|", ">") and "+" in t.text[node.start_mark.index:].split("\n", 1)[0].split("#")[0]:
            k = t.line(node.end_mark.index)  # the line that ended it
            if node.end_mark.index >= len(t.text) or k not in removed:
                continue
            while k < len(lines) and (k in removed or not lines[k].strip()):
                if not lines[k].strip():
                    blanks.add(k)
                k += 1
    return set(), blanks


def check_untouched(old: str, new: str, zones: list[tuple[set[int], set[int]]]) -> None:
    modify = set().union(*(z[0] for z in zones)) if zones else set()
    remove = set().union(*(z[1] for z in zones)) if zones else set()
    allowed = modify | remove
    old_lines, new_lines = lines_of(old), lines_of(new)
    j = 0
    for i, line in enumerate(old_lines):
        if i in allowed:
            continue
        last_unterminated = i == len(old_lines) - 1 and not line.endswith("\n")
        # when the unterminated last line is removed, the line before it gives up its line break
        last_went = not old.endswith("\n") and (len(old_lines) - 1) in allowed
        if last_went and not line.strip() and all(not x.strip() or k in allowed
                                                  for k, x in enumerate(old_lines[i:-1], start=i)):
            continue  # a blank line before a removed unterminated last line goes with its line break
        while j < len(new_lines) and not (new_lines[j] == line or (
                last_unterminated and new_lines[j].rstrip("\r\n") == line) or (
                last_went and j == len(new_lines) - 1 and new_lines[j] == line.rstrip("\r\n"))):
            j += 1
        assert j < len(new_lines), (f"original line {i + 1} {line!r} is not kept (in order); edited lines "
                                    f"allowed: {sorted(x + 1 for x in allowed)}\n{udiff(old, new)}")
        j += 1
    # every comment survives, exactly once, unless its whole line was removed
    line_of = Text(old).line
    for m in COMMENT_TOKEN.finditer(old):
        count = new.count(m.group(0))
        if line_of(m.start()) in remove:
            assert count <= 1, f"comment {m.group(0)} duplicated\n{udiff(old, new)}"
        else:
            assert count == 1, f"comment {m.group(0)} lost or duplicated ({count})\n{udiff(old, new)}"


def check_line_endings(old: str, new: str, eol: str, removed: set[int] = frozenset()) -> None:
    assert new.endswith("\n") == old.endswith("\n"), f"final newline added or removed\n{udiff(old, new)}"
    if eol == "\r\n":
        bare = [n + 1 for n, line in enumerate(lines_of(new)) if line.endswith("\n") and not line.endswith("\r\n")]
        assert not bare, f"LF-only lines {bare} in a CRLF file\n{udiff(old, new)!r}"
    elif eol == "\n":
        assert "\r" not in new, f"CR in an LF file\n{udiff(old, new)!r}"
    else:  # mixed: every original ending kept (check_untouched compares lines with endings); new lines use one
        assert all(line.endswith(("\r\n", "\n")) for line in lines_of(new)[:-1])


# ==================================================================================================
# Property 3: layout of inserted text
# ==================================================================================================
def local_step(t: Text, chain: list[tuple[Node | None, Node]], root: Node) -> set[int]:
    """Indentation step(s) new nested mappings may use at the deepest node of ``chain``."""
    for _, n in reversed(chain):
        if isinstance(n, MappingNode) and is_block(n):
            col = n.value[0][0].start_mark.column
            for k, v in n.value:
                if isinstance(v, MappingNode) and is_block(v) and v.start_mark.index > k.end_mark.index:
                    step = v.value[0][0].start_mark.column - col
                    if step > 0:
                        return {step}
    return _doc_values(t, root, "step") or {2}


def local_seq_offset(t: Text, chain: list[tuple[Node | None, Node]], root: Node) -> set[int]:
    """Columns from a key to the "-" of a new block sequence under it, as the surrounding ones do."""
    for _, n in reversed(chain):
        if isinstance(n, MappingNode) and is_block(n):
            for k, v in n.value:
                if isinstance(v, SequenceNode) and is_block(v) and v.start_mark.index > k.end_mark.index:
                    off = t.col(t.dash(v, v.value[0])) - k.start_mark.column
                    if off >= 0:
                        return {off}
    return _doc_values(t, root, "seq") | {0}


def _doc_values(t: Text, root: Node, what: str) -> set[int]:
    out: set[int] = set()
    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, MappingNode):
            for k, v in n.value:
                if is_block(v) and not n.flow_style:
                    if what == "step" and isinstance(v, MappingNode):
                        out.add(v.value[0][0].start_mark.column - k.start_mark.column)
                    if what == "seq" and isinstance(v, SequenceNode):
                        out.add(t.col(t.dash(v, v.value[0])) - k.start_mark.column)
                stack.append(v)
        elif isinstance(n, SequenceNode):
            stack.extend(n.value)
    return {x for x in out if x >= 0}


def check_new_layout(nt: Text, key: Node | None, node: Node, steps: set[int], seqs: set[int],
                     item_offsets: set[int], where: str) -> None:
    """``node`` (and what is inside it) is new text: check its indentation against the local style."""
    if isinstance(node, MappingNode) and is_block(node):
        cols = {k.start_mark.column for k, _ in node.value}
        assert len(cols) == 1, f"{where}: keys of one mapping at columns {cols}"
        if key is not None:
            step = node.value[0][0].start_mark.column - key.start_mark.column
            assert step in steps, f"{where}: new mapping indented by {step}, local step is {steps}"
        for k, v in node.value:  # deeper lists: "- " or the spacing of the list this content joins
            check_new_layout(nt, k, v, steps, seqs, item_offsets | {2}, f"{where}.{k.value}")
    elif isinstance(node, SequenceNode) and is_block(node):
        dash_col = nt.col(nt.dash(node, node.value[0]))
        if key is not None:
            off = dash_col - key.start_mark.column
            assert off in seqs, f"{where}: new sequence's '-' {off} columns from its key, local style is {seqs}"
        for item in node.value:
            check_new_item(nt, node, item, steps, seqs, item_offsets, where)


def check_new_item(nt: Text, seq: SequenceNode, item: Node, steps: set[int], seqs: set[int],
                   item_offsets: set[int], where: str) -> None:
    if isinstance(item, MappingNode) and is_block(item):
        dash = nt.dash(seq, item)
        first = item.value[0][0]
        if nt.line(dash) == nt.line(first.start_mark.index):
            off = first.start_mark.column - nt.col(dash)
            assert off in item_offsets, f"{where}: new item's keys {off} columns after '-', expected {item_offsets}"
        for k, v in item.value:
            check_new_layout(nt, k, v, steps, seqs, item_offsets | {2}, f"{where}.{k.value}")


def check_layout(old: str, new: str, doc_ops: dict[int, list[O.Op]]) -> None:
    ot, nt = Text(old), Text(new)
    old_roots, new_roots = compose(old), compose(new)
    for index, op_list in doc_ops.items():
        for op in op_list:
            if isinstance(op, (O.Delete, O.Discard)):
                continue
            try:
                _check_op_layout(ot, nt, old_roots[index], new_roots[index], op)
            except AssertionError as exc:
                raise AssertionError(f"doc {index}, {op}: {exc}\n{udiff(old, new)}") from None


def _check_op_layout(ot: Text, nt: Text, oroot: Node, nroot: Node, op: O.Op) -> None:
    ochain = walk(oroot, op.path)
    nchain = walk(nroot, op.path)
    if any(isinstance(n, (MappingNode, SequenceNode)) and n.flow_style for _, n in ochain):
        return  # new content inside a flow collection is flow text (a YAML rule: nothing to check)
    steps = local_step(ot, ochain, oroot)
    seqs = local_seq_offset(ot, ochain, oroot)
    depth = len(ochain) - 1  # of the deepest node that existed
    _, onode = ochain[-1]
    if depth < len(nchain) and is_block(onode) and isinstance(onode, MappingNode):
        # new keys of an existing block mapping: at the column of its keys
        nnode = nchain[depth][1]
        if isinstance(nnode, MappingNode) and is_block(nnode):
            col = onode.value[0][0].start_mark.column
            cols = {k.start_mark.column for k, _ in nnode.value}
            assert cols == {col}, f"keys now at columns {cols}, were at {col}"
    if depth == len(op.path) and isinstance(op, O.Append) and is_block(onode):
        # items appended to an existing block sequence: "-" spacing of its first item
        nseq = nchain[-1][1] if len(nchain) == len(ochain) else None
        if isinstance(nseq, SequenceNode) and is_block(nseq):
            first = onode.value[0]
            offsets = {2}
            dash = ot.dash(onode, first)
            if isinstance(first, MappingNode) and first.value and \
                    ot.line(dash) == ot.line(first.value[0][0].start_mark.index):
                offsets = {max(2, first.value[0][0].start_mark.column - ot.col(dash))}
            for item in nseq.value[len(onode.value):]:
                check_new_item(nt, nseq, item, steps, seqs, offsets, "appended item")
        return
    # the first new node on the path, or the scalar / empty value that was replaced
    start = depth if depth > 0 and (isinstance(onode, ScalarNode) or is_null_or_empty(onode)) else depth + 1
    if start < len(nchain):
        nkey, nnode = nchain[start]
        if nkey is not None:
            check_new_layout(nt, nkey, nnode, steps, seqs, {2}, f"new {nkey.value!r}")
            event("layout checked")


# ==================================================================================================
# The whole pipeline
# ==================================================================================================
def ops_by_doc(plan) -> dict[int, list[O.Op]]:
    out: dict[int, list[O.Op]] = {}
    for change in plan.changes:
        out.setdefault(change.doc, []).extend(change.ops)
    return out


def check_renderer(mf: ManifestFile) -> None:
    """Test-side sanity: our text loads to the data our model says (else the generator is wrong)."""
    loaded = list(yaml.load_all(mf.text, Loader=_Loader))
    assert canon(loaded) == canon(mf.data), f"test renderer bug:\n{mf.text}"


DOCUMENTED_REFUSALS = (
    "removing keys from a flow mapping",
    # a file without a final line break whose last lines follow a block scalar (| or >, not |-): that scalar's
    # value ends with the line break before them, which removing them (or adding lines) would take (or add)
    "the file has no final line break: removing its last lines would change the block scalar",
    # a comment indented like a block scalar's content, after a key that goes, would join the scalar
    "would become part of the block scalar",
)


def run_pipeline_properties(mf: ManifestFile, unsafe: bool, paths: str = "one") -> None:
    check_renderer(mf)
    options = OPTIONS[unsafe, paths]
    plan = plan_bytes("m.yaml", mf.raw, options)
    assert plan.error is None, f"{plan.error}\n{mf.text}"
    assert plan.source is not None and plan.source.bom == mf.bom
    unfixable = [f"{r.rule} {r.resource}: {r.note}" for r in plan.findings if r.status == "unfixable"]
    for why in unfixable:  # the documented refusals our generated input can meet
        known = [reason for reason in DOCUMENTED_REFUSALS if reason in why]
        event(f"pipeline: refused: {known[0] if known else why}")
        assert known, f"refused on plain generated input: {why}\n{mf.text}"
    # property 5 (in general): no change planned -> no new text
    if not plan.changes:
        assert plan.new_text is None
        event("pipeline: nothing to change")
        return
    assert plan.new_text is not None
    event("pipeline: changed")
    old, new = plan.source.text, plan.new_text
    docs = parse(old)
    by_doc = ops_by_doc(plan)
    # property 1
    expected = [O.apply(d.data, by_doc[d.index]) if d.index in by_doc else d.data for d in docs]
    actual = load_data(new)
    pruned: dict[int, list[tuple]] = {}
    for i in by_doc:  # a collection the operations empty may go with its key (no `{}`/`[]` left)
        expected[i], pruned[i] = allow_pruned(expected[i], docs[i].data, actual[i])
    assert_same_data(actual, expected, old, new)
    assert expected != [d.data for d in docs], "changes planned that change nothing"
    # property 2
    roots = compose(old)
    t = Text(old)
    zones = [edit_zones(t, roots[i], op) for i, op_list in by_doc.items() for op in op_list]
    zones += [pruned_zone(t, roots[i], path) for i, paths in pruned.items() for path in paths]
    zones += [kept_blank_zone(t, roots[i], zones) for i in by_doc]
    check_untouched(old, new, zones)
    check_line_endings(old, new, mf.eol, set().union(*(z[1] for z in zones)))
    encoded = plan.source.encode(new)
    assert encoded.startswith(b"\xef\xbb\xbf") == mf.bom
    assert encoded.decode("utf-8-sig" if mf.bom else "utf-8") == new
    # property 3
    check_layout(old, new, by_doc)
    # property 4
    again = plan_bytes("m.yaml", encoded, options)
    assert again.error is None, f"second run failed: {again.error}\n{new}"
    assert again.new_text is None, f"second run changes the file again:\n{udiff(new, again.new_text or '')}"


@settings(max_examples=300, **SETTINGS)
@given(mf=manifest_files(), unsafe=st.booleans(), paths=st.sampled_from(sorted(WRITABLE)))
def test_pipeline_preserves_and_converges(mf: ManifestFile, unsafe: bool, paths: str) -> None:
    run_pipeline_properties(mf, unsafe, paths)


@settings(max_examples=60, **SETTINGS)
@given(mf=manifest_files(hardened=True))
def test_hardened_files_are_not_rewritten(mf: ManifestFile) -> None:
    """Property 5: a file whose pods are all hardened gets no new text (with unsafe fixes too)."""
    check_renderer(mf)
    for unsafe in (False, True):
        plan = plan_bytes("m.yaml", mf.raw, OPTIONS[unsafe, "one"])
        assert plan.error is None, plan.error
        assert not plan.changes, [c.id for c in plan.changes]
        assert plan.new_text is None


# ==================================================================================================
# Editor on random operation lists
# ==================================================================================================
def _places(data: Any, path: tuple = ()):
    """(kind, path, value) of every place in the data an operation can aim at."""
    if isinstance(data, dict):
        yield "map", path, data
        for k, v in data.items():
            yield "key", path + (k,), v
            yield from _places(v, path + (k,))
    elif isinstance(data, list):
        yield "list", path, data
        for i, v in enumerate(data):
            if isinstance(v, (dict, list)):
                yield from _places(v, path + (i,))


@st.composite
def op_lists(draw, data: Any):
    places = list(_places(data))
    maps = [p for k, p, _ in places if k == "map"]
    keys = [(p, v) for k, p, v in places if k == "key"]
    scalars = [(p, v) for p, v in keys if not isinstance(v, (dict, list))]
    empties = [p for p, v in keys if v is None or v == {} or v == []]
    lists = [(p, v) for k, p, v in places if k == "list" and p and not isinstance(p[-1], int)]
    ann = [p for p, _ in keys if len(p) >= 2 and p[-2] in ("annotations", "labels")]
    out: list[O.Op] = []
    for _ in range(draw(st.integers(1, 5))):
        kinds = ["set_new", "set_deep", "append_new"] + ["set_existing", "set_same"] * bool(scalars) + \
            ["set_empty", "append_empty"] * bool(empties) + ["append", "append", "discard"] * bool(lists) + \
            ["delete"] * bool(keys) + ["delete_ann"] * bool(ann)
        kind = draw(st.sampled_from(kinds))
        if kind == "set_new":
            out.append(O.Set(draw(st.sampled_from(maps)) + (draw(KEYS),), draw(values)))
        elif kind == "set_deep":
            out.append(O.Set(draw(st.sampled_from(maps)) + tuple(draw(st.lists(KEYS, min_size=2, max_size=3))),
                             draw(values)))
        elif kind == "append_new":
            out.append(O.Append(draw(st.sampled_from(maps)) + (draw(KEYS),), draw(values)))
        elif kind == "set_existing":
            path, _ = draw(st.sampled_from(scalars))
            out.append(O.Set(path, draw(st.one_of(scalar_values, scalar_values, values))))
        elif kind == "set_same":
            path, value = draw(st.sampled_from(scalars))
            out.append(O.Set(path, value))
        elif kind == "set_empty":
            out.append(O.Set(draw(st.sampled_from(empties)) + (draw(KEYS),), draw(values)))
        elif kind == "append_empty":
            out.append(O.Append(draw(st.sampled_from(empties)), draw(values)))
        elif kind == "append":
            path, items = draw(st.sampled_from(lists))
            value = draw(values)
            unique = None
            if isinstance(value, dict) and value and draw(st.booleans()):
                unique = draw(st.sampled_from(sorted(value, key=str)))
            out.append(O.Append(path, value, unique))
        elif kind == "discard":
            path, items = draw(st.sampled_from(lists))
            value = draw(st.sampled_from(items)) if items and draw(st.booleans()) else draw(scalar_values)
            out.append(O.Discard(path, value))
        elif kind == "delete":
            out.append(O.Delete(draw(st.sampled_from(keys))[0]))
        else:
            out.append(O.Delete(draw(st.sampled_from(ann))))
    return out


def _applicable(data: Any, op_list: list[O.Op]) -> bool:
    """Does ``kfix.ops.apply`` accept the list (no op through a scalar or a missing list index)?"""
    try:
        O.apply(data, op_list)
    except (TypeError, KeyError, IndexError, AttributeError):
        return False
    return True


def run_editor_properties(mf: ManifestFile, draw) -> None:
    text = mf.text
    docs = parse(text)
    targets = [d.index for d in docs if isinstance(d.data, dict)]
    chosen = draw(st.lists(st.sampled_from(targets), min_size=1, max_size=2, unique=True))
    splices = []
    expected = [d.data for d in docs]
    done: dict[int, list[O.Op]] = {}
    for index in chosen:
        op_list = draw(op_lists(docs[index].data))
        if not _applicable(docs[index].data, op_list):
            event("editor: ops not applicable to the data")
            continue
        note(f"doc {index} ops: {op_list}")
        try:
            got = Editor(text, docs[index]).splices(op_list)
        except EditUnsupported as exc:
            event(f"editor refused: {exc.message.split(':')[0][:40]}")
            continue
        assert got == sorted(got, key=lambda s: (s[0], s[1])), "splices not sorted"
        assert all(a[1] <= b[0] for a, b in zip(got, got[1:])), "overlapping splices"
        splices.extend(got)
        expected[index] = O.apply(docs[index].data, op_list)
        done[index] = op_list
    if not done:
        return
    event("editor: edited")
    splices.sort(key=lambda s: (s[0], s[1]))
    new = apply_splices(text, splices)
    note(f"output:\n{new}")
    # property 1
    try:
        actual = load_data(new)
    except Exception as exc:  # noqa: BLE001 - report with the diff
        raise AssertionError(f"output does not parse: {exc}\n{udiff(text, new)}") from None
    pruned: dict[int, list[tuple]] = {}
    for index in done:  # a collection the operations empty may go with its key (no `{}`/`[]` left)
        expected[index], pruned[index] = allow_pruned(expected[index], docs[index].data, actual[index])
    assert_same_data(actual, expected, text, new)
    # property 2
    roots = compose(text)
    t = Text(text)
    zones = [edit_zones(t, roots[i], op) for i, ops_ in done.items() for op in ops_]
    zones += [pruned_zone(t, roots[i], path) for i, paths in pruned.items() for path in paths]
    zones += [kept_blank_zone(t, roots[i], zones) for i in done]
    check_untouched(text, new, zones)
    check_line_endings(text, new, mf.eol, set().union(*(z[1] for z in zones)))
    # property 3
    check_layout(text, new, done)
    # ops that the new data already satisfies give no splices
    new_docs = parse(new)
    for index, op_list in done.items():
        if all(O.is_noop(expected[index], op) for op in op_list):
            assert Editor(new, new_docs[index]).splices(op_list) == [], "satisfied ops still edit the text"


@settings(max_examples=450, **SETTINGS)
@given(mf=manifest_files(max_docs=2), data=st.data())
def test_editor_random_ops(mf: ManifestFile, data) -> None:
    run_editor_properties(mf, data.draw)


# ==================================================================================================
# Small fixed examples (documentation of the properties on readable inputs)
# ==================================================================================================
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_fixed_example_crlf_comment_bom(eol: str) -> None:
    text = eol.join([
        "# header ~1~",
        "apiVersion: v1",
        "kind: Pod",
        "metadata:",
        "    name: p  #~2~",
        "spec:",
        "    containers:",
        "    -   name: a",
        "        image: nginx",
        "        securityContext: {}  #~3~",
        "        #~4~ trailing",
        "    # ~5~",
    ])
    raw = b"\xef\xbb\xbf" + text.encode()
    data = list(yaml.load_all(text, Loader=_Loader))
    mf = ManifestFile(text, raw, data, True, eol, False)
    run_pipeline_properties(mf, False)


# ==================================================================================================
# Engine bugs these properties found, as minimal reproducers (regression tests)
# ==================================================================================================
def edit(text: str, op_list: list[O.Op], index: int = 0) -> str:
    doc = parse(text)[index]
    return apply_splices(text, Editor(text, doc).splices(op_list))


def assert_edits_correctly(text: str, op_list: list[O.Op]) -> str:
    """The Editor either refuses (EditUnsupported) or produces text that loads to the intended data."""
    doc = parse(text)[0]
    try:
        new = edit(text, op_list)
    except EditUnsupported:
        return text
    expected = O.apply(doc.data, op_list)
    assert canon(load_data(new)) == canon([expected]), f"{new!r} does not load to {expected!r}"
    return new


@pytest.mark.parametrize("value", [1e-05, 1e20, float("inf")])
def test_bug1_float_without_dot(value: float) -> None:
    assert_edits_correctly("a: 1\n", [O.Set(("b",), value)])


@pytest.mark.parametrize("value", ["?q", ":x"])
def test_bug2_flow_indicator_scalar(value: str) -> None:
    assert_edits_correctly("a: [x]\n", [O.Append(("a",), value)])


def test_bug3_nel_in_string() -> None:
    assert_edits_correctly("a: 1\n", [O.Set(("b",), "x\x85y")])


@pytest.mark.parametrize("empty", ["[]", "", "{}"])
def test_bug4_two_appends_to_empty_list(empty: str) -> None:
    assert_edits_correctly(f"a: {empty}\n".replace(": \n", ":\n"), [O.Append(("a",), 1), O.Append(("a",), 2)])


def test_bug4_pipeline_two_writable_paths() -> None:
    raw = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n" \
          b"    image: nginx\n    volumeMounts: []\n  volumes: []\n"
    plan = plan_bytes("p.yaml", raw, OPTIONS[False, "two"])
    assert plan.error is None, str(plan.error)


def test_bug5_op_inside_deleted_key() -> None:
    assert_edits_correctly("a:\n  b: 1\nc: 2\n", [O.Set(("a", "x"), 1), O.Delete(("a",))])


def test_bug6_discard_and_append_flow_list() -> None:
    assert_edits_correctly("a: [x]\n", [O.Discard(("a",), "x"), O.Append(("a",), "y")])


def test_bug7_set_over_block_scalar() -> None:
    assert_edits_correctly("a: |\n  x\nb: 1\n", [O.Set(("a",), "y")])


def test_bug8_index_after_discard() -> None:
    assert_edits_correctly("a:\n- n: x\n- n: y\n", [O.Discard(("a",), {"n": "x"}), O.Set(("a", 0, "m"), 1)])


def test_bug9_missing_final_newline_kept_on_delete() -> None:
    assert edit("a: 1\nb: 2", [O.Delete(("b",))]) == "a: 1"


def test_bug9_pipeline() -> None:
    raw = b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: nginx\nmetadata:\n" \
          b"  name: p\n  annotations:\n    seccomp.security.alpha.kubernetes.io/pod: runtime/default"
    plan = plan_bytes("p.yaml", raw, OPTIONS[False, "one"])
    assert plan.new_text is not None and not plan.new_text.endswith("\n")


def test_bug11_emptied_mappings_cascade() -> None:
    text = "spec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n  template: {}\n"
    assert edit(text, [O.Delete(("spec", "selector", "matchLabels", "app"))]) == \
        "spec:\n  replicas: 1\n  template: {}\n"


def test_bug10_discard_of_an_item_appended_in_the_same_list() -> None:
    assert edit("a:\n- x\n", [O.Append(("a",), "y"), O.Discard(("a",), "y")]) == "a:\n- x\n"
    assert_edits_correctly("a:\n", [O.Append(("a",), "y"), O.Discard(("a",), "y")])


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_bug_last_lines_removed_and_a_key_added_keep_the_break_before_them(eol: str) -> None:
    """No final line break, its last key deleted and a key added: the line before keeps its own break (the
    CRLF here, in a file that also has LF lines), the new key follows it, and the file still ends without one."""
    text = f"kind: Service{eol}spec:\n  selector:\n    app: web\r\n  ports:{eol}  - port: 80\n    targetPort: 8080"
    new = edit(text, [O.Set(("newKey",), "ALL"), O.Delete(("spec", "ports"))])
    assert new == "kind: Service" + eol + "spec:\n  selector:\n    app: web\r\nnewKey: ALL"
    assert edit(text, [O.Delete(("spec", "ports"))]) == f"kind: Service{eol}spec:\n  selector:\n    app: web"


def test_bug12_blank_lines_after_removed_lines_do_not_join_a_kept_block_scalar() -> None:
    """Keep chomping (``|+``) makes the blank lines that end a block scalar part of its value. Once the line
    that ended it is removed, the blank lines after that line would join it: they go with the removed lines.
    The scalar's own trailing blank lines stay; a clipped scalar (``|``) drops trailing blank lines anyway."""
    text = "m:\n  d: |+\n    x\n  s: 1\n\n  n: p\n"
    assert edit(text, [O.Delete(("m", "s"))]) == "m:\n  d: |+\n    x\n  n: p\n"
    text = "m:\n  d: |+\n    x\n\n  s: 1\n\n\n  n: p\n"
    assert edit(text, [O.Delete(("m", "s"))]) == "m:\n  d: |+\n    x\n\n  n: p\n"
    text = "a:\n- |+\n  x\n- y\n\nb: 1\n"
    assert edit(text, [O.Discard(("a",), "y")]) == "a:\n- |+\n  x\nb: 1\n"
    text = "m:\n  d: |\n    x\n  s: 1\n\n  n: p\n"
    assert edit(text, [O.Delete(("m", "s"))]) == "m:\n  d: |\n    x\n\n  n: p\n"
    text = "m:\n  d: |+\n    x\n  s: 1\n\n  t: 2\n  n: p\n"  # two removals with a blank line between them
    assert edit(text, [O.Delete(("m", "s")), O.Delete(("m", "t"))]) == "m:\n  d: |+\n    x\n  n: p\n"


def test_bug12_pipeline_legacy_seccomp_annotation_after_a_kept_block_scalar() -> None:
    raw = (b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    description: |+\n      line one\n"
           b"    seccomp.security.alpha.kubernetes.io/pod: runtime/default\n\nspec:\n  containers:\n  - name: a\n"
           b"    image: nginx\n")
    plan = plan_bytes("p.yaml", raw, OPTIONS[False, "one"])
    assert plan.error is None, str(plan.error)
    assert plan.new_text is not None
    assert plan.new_text.startswith("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
                                    "    description: |+\n      line one\nspec:\n  containers:\n")
    assert load_data(plan.new_text)[0]["metadata"]["annotations"] == {"description": "line one\n"}


@pytest.mark.parametrize("text, op_list, why", [
    # a comment indented like the scalar's content, kept after the removed key, would become content
    ("a:\n  d: |\n    x\n  b: 1\n    # note\n  c: 2\n", [O.Delete(("a", "b"))], "would become part of"),
    # no final line break: the removed last line takes the break before it, which ends the scalar's value
    ("d: |\n  x\nb: 1", [O.Delete(("b",))], "no final line break"),
    ("d: |+\n  x\n\nb: 1", [O.Delete(("b",))], "no final line break"),
])
def test_bug13_edits_that_would_change_a_block_scalar_are_refused(text: str, op_list: list, why: str) -> None:
    with pytest.raises(EditUnsupported, match=why) as exc:
        edit(text, op_list)
    assert exc.value.line == text.count("\n", 0, text.index("|" if "|" in text else ">")) + 1


def test_bug13_a_stripped_block_scalar_has_no_line_break_to_lose() -> None:
    assert edit("d: |-\n  x\nb: 1", [O.Delete(("b",))]) == "d: |-\n  x"
    assert edit("d: |-\n  x", [O.Set(("b",), 1)]) == "d: |-\n  x\nb: 1"  # (| or >: the file is refused)


def test_bug13_pipeline_last_annotation_after_a_block_scalar_without_final_line_break() -> None:
    """The legacy annotation cannot go without changing the scalar before it (or adding a final line break):
    that fix is refused with its reason and line, the others are made, the file still ends without a break."""
    raw = (b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: nginx\nmetadata:\n  name: p\n"
           b"  annotations:\n    description: |\n      line one\n"
           b"    seccomp.security.alpha.kubernetes.io/pod: runtime/default")
    plan = plan_bytes("p.yaml", raw, OPTIONS[False, "one"])
    assert plan.error is None, str(plan.error)
    assert plan.new_text is not None and plan.new_text.endswith(
        "  annotations:\n    description: |\n      line one\n"
        "    seccomp.security.alpha.kubernetes.io/pod: runtime/default")
    notes = [r.note for r in plan.findings if r.status == "unfixable"]
    assert any("no final line break" in n and "(line 10)" in n for n in notes), notes


def test_bug14_an_emptied_list_stays_when_its_key_cannot_go() -> None:
    """Without its key, the comment after the emptied list would join the block scalar before it (or, at
    the end of a file without a final line break, the scalar would lose its last line break): the list
    stays, as ``[]``."""
    text = "c:\n  command:\n  - |-\n    sleep 5\n  ports:\n  - containerPort: 80\n    # about the port\n  image: x\n"
    assert edit(text, [O.Discard(("c", "ports"), {"containerPort": 80})]) == \
        "c:\n  command:\n  - |-\n    sleep 5\n  ports: []\n    # about the port\n  image: x\n"
    text = "c:\n  args: |\n    -v\n  ports:\n  - 80"
    assert edit(text, [O.Discard(("c", "ports"), 80)]) == "c:\n  args: |\n    -v\n  ports: []"
    text = "c:\n  command:\n  - |-\n    sleep 5\n  ports:\n  - 80\n  image: x\n"  # nothing in the way: it goes
    assert edit(text, [O.Discard(("c", "ports"), 80)]) == "c:\n  command:\n  - |-\n    sleep 5\n  image: x\n"
