"""YAML source editing backend: turn data-path operations into splices of the original text.

Nothing here knows about security. Given a parsed document (nodes with exact offsets) and a list of
``kfix.ops`` operations, it computes the smallest text splices that make the document re-parse to
the data with the operations applied. Every byte outside a splice is kept; inserted text follows
the style of the place it goes (indentation step, flush or indented sequences, flow style inside flow
collections, the line ending of that line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kfix import ops as O
from kfix.errors import EditUnsupported
from kfix.yaml.blocks import find_blocks, guard_splices, value_end
from kfix.yaml.loader import MERGE_TAG, Document
from kfix.yaml.render import Style, flow, render_entries, render_items, scalar
from kfix.yaml.source import line_ending_at

Splice = tuple[int, int, str]  # replace text[start:end] with the string


@dataclass(eq=False)
class _Ctx:
    """Where a node sits: its parent context, the key it is the value of, whether in flow style."""

    node: Node
    parent: "_Ctx | None" = None
    key: Node | None = None
    flow: bool = False


@dataclass
class _Shared:
    """Operations that reach an anchored node that several places use."""

    node: Node
    first: tuple  # the path through which the edit is planned (at the anchor)
    users: dict[tuple, list[tuple]] = field(default_factory=dict)  # path to node -> relative ops


class _Model:
    """What to change, keyed by existing nodes; new content is plain data."""

    def __init__(self) -> None:
        self.inserts: dict[int, tuple[_Ctx, dict]] = {}
        self.replaces: dict[int, tuple[_Ctx, Any]] = {}
        self.appends: dict[int, tuple[_Ctx, list]] = {}
        self.deletes: dict[int, tuple[_Ctx, set[int]]] = {}
        self.discards: dict[int, tuple[_Ctx, set[int]]] = {}


class Editor:
    """Plan and render the splices for one document's operations."""

    def __init__(self, text: str, doc: Document):
        self.text = text
        self.doc = doc
        self.root = _Ctx(doc.node, None, None, bool(getattr(doc.node, "flow_style", False)))
        self._keys: dict[int, dict] = {}
        self._children: dict[tuple[int, Any], _Ctx | None] = {}
        self._pruned = False  # did the last plan remove emptied collections with their keys

    # ---- public -------------------------------------------------------------------------------
    def splices(self, op_list: list[O.Op]) -> list[Splice]:
        """Splices for ``op_list`` (applied in order); EditUnsupported when one cannot be expressed."""
        return self.edit(op_list)[0]

    def shared_nodes(self, op_list: list[O.Op]) -> set[int]:
        """Ids of the anchored nodes (shared through aliases) that these operations go through."""
        shared: dict[int, _Shared] = {}
        for op in op_list:
            self._register_shared(op, shared)
        return set(shared)

    def edit(self, op_list: list[O.Op], performed: tuple[list[bool], Any] | None = None) -> tuple[list[Splice], Any]:
        """Splices for ``op_list`` and the data the edited document must re-parse to.

        ``performed``: the operations were performed on the document's data already, in this order: which
        were no-ops then, and the data they left (it is not changed here)."""
        try:
            return self._edit(op_list, performed, prune=True)
        except EditUnsupported:
            if not self._pruned:
                raise
        # refused with emptied collections going with their keys (say a comment after one would join a
        # block scalar before it once that key is gone): plan again, leaving them as {} and []
        return self._edit(op_list, performed, prune=False)

    def _edit(self, op_list: list[O.Op], performed: tuple[list[bool], Any] | None,
              prune: bool) -> tuple[list[Splice], Any]:
        self._pruned = False
        _check_conflicts(op_list)
        model = _Model()
        data = _Overlay(self.doc.data)
        shared: dict[int, _Shared] = {}
        noops = performed[0] if performed is not None else None
        for i, op in enumerate(op_list):
            self._register_shared(op, shared)
            if noops is not None:
                if not noops[i]:
                    self._plan(model, op, shared)
                continue
            if data.is_noop(op):
                continue
            self._plan(model, op, shared)
            data.apply(op)
        for group in shared.values():
            self._check_shared(group)
        for node_id in [n for n, (_ctx, items) in model.appends.items() if not items]:
            del model.appends[node_id]  # every item it would add was discarded again
        emptied = self._prune(model) if prune else []
        self._pruned = bool(emptied)
        result = data.result() if performed is None else performed[1]
        if emptied:
            result = O.clone(result)
            for path in emptied:  # deepest first, as they were found
                parent = O.get(result, path[:-1])
                if isinstance(parent, dict) and parent.get(path[-1]) in ({}, []):
                    del parent[path[-1]]
        return self._render(model), result

    def _prune(self, model: _Model) -> list[tuple]:
        """A mapping whose keys are all removed, or a list whose items are all removed, goes with its key
        (no ``{}`` or ``[]`` left behind) where that key can be cut as whole lines. Returns the data paths
        of the collections removed that way, in the order removed (an emptied parent follows its child).
        ``edit`` plans again without this when the cuts cannot be written."""
        removed: list[tuple] = []
        queue = [(ctx, idxs, id(ctx.node) in model.inserts) for ctx, idxs in model.deletes.values()]
        queue += [(ctx, idxs, id(ctx.node) in model.appends) for ctx, idxs in model.discards.values()]
        while queue:
            ctx, idxs, adding = queue.pop()
            parent = ctx.parent
            if adding or len(idxs) != len(ctx.node.value) or parent is None or parent is self.root or \
                    ctx.key is None or parent.flow or not isinstance(parent.node, MappingNode) or \
                    id(ctx.node) in self.doc.shared or id(parent.node) in self.doc.shared or \
                    self._is_alias_use(ctx) or id(parent.node) in model.replaces or \
                    self.text[self._line_start(ctx.key.start_mark.index):ctx.key.start_mark.index].strip():
                continue
            index = next(i for i, (k, _v) in enumerate(parent.node.value) if k is ctx.key)
            model.deletes.pop(id(ctx.node), None)
            model.discards.pop(id(ctx.node), None)
            siblings = model.deletes.setdefault(id(parent.node), (parent, set()))[1]
            siblings.add(index)
            removed.append(self._path_of(ctx))
            queue.append((parent, siblings, id(parent.node) in model.inserts))
        return removed

    def _path_of(self, ctx: _Ctx) -> tuple:
        keys = []
        c = ctx
        while c.parent is not None:
            parent = c.parent.node
            if isinstance(parent, SequenceNode):
                keys.append(next(i for i, n in enumerate(parent.value) if n is c.node))
            else:
                keys.append(self._key_data(c.key))
            c = c.parent
        return tuple(reversed(keys))

    # ---- planning -------------------------------------------------------------------------------
    def _plan(self, model: _Model, op: O.Op, shared: dict[int, _Shared]) -> None:
        ctx = self.root
        path = op.path
        target_depth = len(path) if isinstance(op, (O.Append, O.Discard)) else len(path) - 1
        for i in range(target_depth):
            key = path[i]
            pending = self._pending_or_expand(model, ctx, key)
            if pending is not None:
                self._plan_in_data(pending, op, path[i:])
                return
            child = self._child(ctx, key)
            if child is None:  # key missing: new content from here on
                if isinstance(key, int) or not isinstance(ctx.node, MappingNode):
                    raise EditUnsupported(f"cannot create {_fmt(path[: i + 1])} here", _line(ctx.node))
                new = model.inserts.setdefault(id(ctx.node), (ctx, {}))[1]
                self._plan_in_data(new, op, path[i:])
                return
            group = shared.get(id(child.node))
            if group is not None and group.first != path[: i + 1]:
                return  # the anchor's first user plans the edit; _check_shared vouches for the others
            ctx = child
        node = ctx.node
        if isinstance(op, O.Set):
            pending = self._pending_or_expand(model, ctx, path[-1])
            if pending is not None:
                pending[path[-1]] = O.clone(op.value)
                return
            if not isinstance(node, MappingNode):
                raise EditUnsupported(f"{_fmt(path[:-1])} is not a mapping", _line(node))
            child = self._child(ctx, path[-1])
            if child is None:
                model.inserts.setdefault(id(node), (ctx, {}))[1][path[-1]] = O.clone(op.value)
            elif isinstance(child.node, ScalarNode) or _is_empty(child.node):
                model.replaces[id(child.node)] = (child, O.clone(op.value))
            else:
                raise EditUnsupported(f"replacing the collection at {_fmt(path)} is not supported",
                                      _line(child.node))
        elif isinstance(op, O.Append):
            if id(node) in model.replaces and isinstance(model.replaces[id(node)][1], list):
                model.replaces[id(node)][1].append(O.clone(op.value))
            elif _is_null(node) or _is_empty(node):
                model.replaces[id(node)] = (ctx, [O.clone(op.value)])
            elif isinstance(node, SequenceNode):
                model.appends.setdefault(id(node), (ctx, []))[1].append(O.clone(op.value))
            else:
                raise EditUnsupported(f"{_fmt(path)} is not a list", _line(node))
        elif isinstance(op, O.Delete):
            if not isinstance(node, MappingNode):
                raise EditUnsupported(f"{_fmt(path[:-1])} is not a mapping", _line(node))
            for idx, (k, _v) in enumerate(node.value):
                if k.tag != MERGE_TAG and self._key_data(k) == path[-1]:
                    model.deletes.setdefault(id(node), (ctx, set()))[1].add(idx)
                    return
            raise EditUnsupported(f"{_fmt(path)} comes from a merge key (<<); not removed", _line(node))
        else:  # Discard
            for planned in (model.appends.get(id(node)), model.replaces.get(id(node))):
                if planned is not None and isinstance(planned[1], list):  # items this op list added
                    planned[1][:] = [item for item in planned[1] if item != op.value]
            if not isinstance(node, SequenceNode):
                if _is_null(node) or _is_empty(node):
                    return
                raise EditUnsupported(f"{_fmt(path)} is not a list", _line(node))
            items = O.get(self.doc.data, path)
            hits = {i for i, item in enumerate(items) if item == op.value}
            model.discards.setdefault(id(node), (ctx, set()))[1].update(hits)

    def _plan_in_data(self, data: Any, op: O.Op, rest: tuple) -> None:
        """Perform ``op`` (its path below ``rest``) on content that is being created anyway."""
        O.apply_one(data, O.with_path(op, rest))

    def _pending(self, model: _Model, ctx: _Ctx) -> Any:
        entry = model.replaces.get(id(ctx.node))
        if entry is not None and isinstance(entry[1], (dict, list)):
            return entry[1]
        return None

    def _pending_or_expand(self, model: _Model, ctx: _Ctx, key: Any) -> Any:
        """New content planned for ``ctx``; a null or empty mapping becomes new content here."""
        pending = self._pending(model, ctx)
        if pending is None and ctx is not self.root and not isinstance(key, int) and (
                _is_null(ctx.node) or (isinstance(ctx.node, MappingNode) and not ctx.node.value)):
            pending = {}
            model.replaces[id(ctx.node)] = (ctx, pending)
        return pending

    def _register_shared(self, op: O.Op, shared: dict[int, _Shared]) -> None:
        """Note the first anchored node an operation's path goes through, and from where."""
        if not self.doc.shared:
            return
        ctx = self.root
        for i, key in enumerate(op.path):
            try:
                child = self._child(ctx, key)
            except EditUnsupported:
                return
            if child is None:
                return
            if id(child.node) in self.doc.shared:
                group = shared.setdefault(id(child.node), _Shared(child.node, op.path[: i + 1]))
                group.users.setdefault(op.path[: i + 1], []).append(_relative(op, i + 1))
                return
            ctx = child

    def _child(self, ctx: _Ctx, key: Any) -> _Ctx | None:
        """The context of ``ctx``'s child at ``key`` (None: no such child); each is made once per editor
        (every operation walks its path from the root)."""
        memo = (id(ctx), key)
        if memo in self._children:
            return self._children[memo]
        child = self._child_of(ctx, key)
        self._children[memo] = child  # ctx stays alive: the root holds it, or a memoised child does
        return child

    def _child_of(self, ctx: _Ctx, key: Any) -> _Ctx | None:
        node = ctx.node
        if isinstance(node, SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                return None
            return self._ctx_for(node.value[key], ctx, None)
        if not isinstance(node, MappingNode) or isinstance(key, int):
            return None
        index = self._key_index(node)
        hit = index.get(key)
        if hit is not None:
            return self._ctx_for(hit[1], ctx, hit[0])
        merged = MERGE_TAG in index
        if merged and key in (O.get(self._data_for(ctx), ()) or {}):
            raise EditUnsupported(f"'{key}' is inherited through a merge key (<<); edit it at its anchor",
                                  _line(node))
        return None

    def _data_for(self, ctx: _Ctx) -> Any:
        return O.get(self.doc.data, self._path_of(ctx))

    def _key_index(self, node: MappingNode) -> dict:
        """Explicit keys of a mapping -> (key node, value node), built once per node."""
        index = self._keys.get(id(node))
        if index is None:
            index = {}
            for k, v in node.value:
                if k.tag == MERGE_TAG:
                    index[MERGE_TAG] = None
                else:
                    index.setdefault(self._key_data(k), (k, v))
            self._keys[id(node)] = index
        return index

    def _ctx_for(self, node: Node, parent: _Ctx, key: Node | None) -> _Ctx:
        flow = parent.flow or bool(getattr(node, "flow_style", False))
        return _Ctx(node, parent, key, flow)

    @staticmethod
    def _key_data(k: Node) -> Any:
        if isinstance(k, ScalarNode):
            return k.value if k.tag.endswith(":str") else _resolve_key(k)
        return None

    def _check_shared(self, group: _Shared) -> None:
        users = self.doc.shared[id(group.node)]
        variants = {tuple(sorted(map(repr, rel))) for rel in group.users.values()}
        if len(group.users) != users or len(variants) != 1:
            raise EditUnsupported("the value is an anchor (&) that other objects share through aliases; "
                                  "changing it would change them too", _line(group.node))

    # ---- rendering ------------------------------------------------------------------------------
    def _render(self, model: _Model) -> list[Splice]:
        ranked: list[tuple[int, Splice]] = []  # (depth of the edited node, splice)

        def add(ctx: _Ctx, splices: list[Splice]) -> None:
            depth = sum(1 for _ in self._ancestors(ctx))
            ranked.extend((depth, s) for s in splices)

        for ctx, entries in model.inserts.values():
            add(ctx, self._render_insert(ctx, entries))
        for ctx, value in model.replaces.values():
            add(ctx, self._render_replace(ctx, value))
        for ctx, items in model.appends.values():
            add(ctx, self._render_append(ctx, items))
        for ctx, idxs in model.deletes.values():
            add(ctx, self._render_delete(ctx, idxs, id(ctx.node) in model.inserts))
        for ctx, idxs in model.discards.values():
            add(ctx, self._render_discard(ctx, idxs, id(ctx.node) in model.appends))
        # at one position, content of a deeper node goes before the keys of the nodes around it
        ranked.sort(key=lambda r: (r[1][0], r[1][1], -r[0]))
        out = self._keep_last_break([s for _, s in ranked])
        if out:  # lines removed or added after a block scalar must leave its value as it was
            out = guard_splices(self.text, out, find_blocks(self.text, self.doc.node))
        for a, b in zip(out, out[1:]):
            if b[0] < a[1]:
                raise EditUnsupported("overlapping edits", self._line_at(a[0]))
        return out

    def _keep_last_break(self, out: list[Splice]) -> list[Splice]:
        """A file without a final line break whose last lines are removed gives up the break before them; when
        new lines are added at its end too, that break stays as it was (CRLF or LF) and they follow it."""
        end = len(self.text)
        if len(out) < 2 or self.text.endswith("\n"):
            return out
        (cut_start, cut_end, cut_text), (ins_start, ins_end, added) = out[-2], out[-1]
        kept = 2 if self.text.startswith("\r\n", cut_start) else 1 if self.text.startswith("\n", cut_start) else 0
        lead = 2 if added.startswith("\r\n") else 1 if added.startswith("\n") else 0
        if not (kept and lead and cut_end == ins_start == ins_end == end and not cut_text):
            return out
        cut = [(cut_start + kept, end, "")] if cut_start + kept < end else []
        return out[:-2] + cut + [(end, end, added[lead:])]

    def _render_insert(self, ctx: _Ctx, entries: dict) -> list[Splice]:
        node = ctx.node
        if not isinstance(node, MappingNode) or not node.value:
            raise EditUnsupported("cannot add keys here", _line(node))
        if ctx.flow:
            last_key, last_value = node.value[-1]
            end = self._value_end(last_key, last_value)
            style = self._style(ctx, flow=True)
            return [(end, end, "".join(f", {scalar(k, True)}: {flow(v, style)}" for k, v in entries.items()))]
        first_key = node.value[0][0]
        indent = first_key.start_mark.column
        if self._line_prefix(first_key.start_mark.index).strip(" -"):
            raise EditUnsupported("mapping does not start its line", _line(node))
        pos = self._block_end(node, indent)
        style = self._style(ctx)
        lines = render_entries(entries, indent, style)
        return [self._insert_lines(pos, lines)]

    def _render_replace(self, ctx: _Ctx, value: Any) -> list[Splice]:
        node = ctx.node
        start, end = node.start_mark.index, self._node_end(node)
        if self._is_alias_use(ctx):
            raise EditUnsupported("value is an alias (*); not replaced", _line(node))
        in_flow = ctx.parent is not None and ctx.parent.flow
        if not isinstance(value, (dict, list)) or in_flow or not value:
            text = flow(value) if isinstance(value, (dict, list)) else scalar(value, in_flow)
            if start == end:  # empty (null) value right after the colon
                return [(start, end, " " + text)]
            if isinstance(node, ScalarNode) and node.style in ("|", ">"):  # keep the header's comment
                header = re.search(r"[ \t]+#[^\n]*", self.text[start:self._line_end(start)])
                text += header.group(0).rstrip("\r") if header else ""
            return [(start, end, text)]
        parent = ctx.parent
        if parent is None or not isinstance(parent.node, MappingNode) or ctx.key is None:
            raise EditUnsupported("cannot expand a value that is not under a key", _line(node))
        key_col = ctx.key.start_mark.column
        style = self._style(ctx)
        if isinstance(value, dict):
            lines = render_entries(value, key_col + style.step, style)
        else:
            lines = render_items(value, key_col + style.seq_offset, style)
        splices: list[Splice] = []
        if start != end:
            cut = start
            while cut > 0 and self.text[cut - 1] in " \t\r\n":  # `key:` with `{}` on the next line too
                cut -= 1
            if self.text[cut - 1] != ":":
                raise EditUnsupported("unexpected text before the value", _line(node))
            splices.append((cut, end, ""))
        rest_of_line = self.text[end: self._line_end(end)]
        if rest_of_line.strip() and not rest_of_line.strip().startswith("#"):
            raise EditUnsupported("more content on the line of the value", _line(node))
        splices.append(self._insert_lines(self._next_line(end), lines))
        return splices

    def _render_append(self, ctx: _Ctx, items: list) -> list[Splice]:
        node = ctx.node
        last = node.value[-1]
        quote = _common_quote(node)
        if ctx.flow:
            end = self._item_end(node, len(node.value) - 1)
            style = replace(self._style(ctx, flow=True), quote=quote)
            return [(end, end, "".join(f", {flow(i, style)}" for i in items))]
        dash = self._dash_col(node)
        style = replace(self._style(ctx), quote=quote)
        first = node.value[0]
        if isinstance(first, MappingNode) and first.value and first.start_mark.line == self._dash_line(node):
            style = style.with_item_offset(first.value[0][0].start_mark.column - dash)
        del last
        pos = self._block_end(node, dash)
        return [self._insert_lines(pos, render_items(items, dash, style))]

    def _render_delete(self, ctx: _Ctx, idxs: set[int], inserting: bool) -> list[Splice]:
        node = ctx.node
        if ctx.flow:
            raise EditUnsupported("removing keys from a flow mapping is not supported", _line(node))
        out: list[Splice] = []
        for idx in sorted(idxs):
            k, v = node.value[idx]
            start = self._line_start(k.start_mark.index)
            if self.text[start:k.start_mark.index].strip():
                raise EditUnsupported("key does not start its line", _line(k))
            out.append((start, self._next_line(self._value_end(k, v)), ""))
        out = self._cut_lines(out)
        if len(idxs) == len(node.value) and not inserting:
            out.append(self._empty_marker(ctx, "{}"))
        return out

    def _render_discard(self, ctx: _Ctx, idxs: set[int], appending: bool) -> list[Splice]:
        node = ctx.node
        n = len(node.value)
        out: list[Splice] = []
        if ctx.flow:
            if appending:
                raise EditUnsupported("removing and adding items of one flow list is not supported", _line(node))
            keep = [i for i in range(n) if i not in idxs]
            if not keep and not appending:
                return [(node.value[0].start_mark.index, self._item_end(node, n - 1), "")]
            for i in sorted(idxs):
                if i + 1 < n:
                    out.append((node.value[i].start_mark.index, node.value[i + 1].start_mark.index, ""))
                else:
                    out.append((self._item_end(node, i - 1), self._item_end(node, i), ""))
            return _merge_adjacent(out)
        for i in sorted(idxs):
            item = node.value[i]
            dash = self._find_dash_before(item)
            start = self._line_start(dash)
            if self.text[start:dash].strip():
                raise EditUnsupported("list item does not start its line", _line(item))
            out.append((start, self._next_line(self._item_end(node, i)), ""))
        out = self._cut_lines(out)
        if len(idxs) == n and not appending:
            out.append(self._empty_marker(ctx, "[]"))
        return out

    def _cut_lines(self, cuts: list[Splice]) -> list[Splice]:
        """Removals of whole lines, adjacent ones merged; when the last one ends the file without a
        line break, it takes the break (and blank lines) before it, so the file still ends without one."""
        out = _merge_adjacent(cuts)
        while out and out[-1][1] >= len(self.text) and not self.text.endswith("\n") and out[-1][0] > 0 \
                and self.text[out[-1][0] - 1] == "\n":
            start = out[-1][0]
            while start > 0:  # the line break before, and blank lines that would end the file
                start -= 2 if self.text[start - 2:start] == "\r\n" else 1
                line_start = self._line_start(start)
                if line_start == 0 or self.text[line_start:start].strip(" \t"):
                    break
                start = line_start
            out[-1] = (start, out[-1][1], "")
            out = _merge_adjacent(out)  # the widened removal may now reach the one before it
        return out

    def _empty_marker(self, ctx: _Ctx, marker: str) -> Splice:
        if ctx.key is None:
            raise EditUnsupported("cannot empty a collection that is not under a key", _line(ctx.node))
        colon = self.text.find(":", ctx.key.end_mark.index)
        return (colon + 1, colon + 1, " " + marker)

    # ---- positions ------------------------------------------------------------------------------
    def _line(self, node: Node) -> int:
        return node.start_mark.line + 1

    def _line_at(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def _line_start(self, pos: int) -> int:
        return self.text.rfind("\n", 0, pos) + 1

    def _line_end(self, pos: int) -> int:
        nl = self.text.find("\n", pos)
        return len(self.text) if nl < 0 else nl

    def _next_line(self, pos: int) -> int:
        nl = self.text.find("\n", pos)
        return len(self.text) if nl < 0 else nl + 1

    def _line_prefix(self, pos: int) -> str:
        return self.text[self._line_start(pos):pos]

    def _is_alias_use(self, ctx: _Ctx) -> bool:
        return ctx.key is not None and ctx.node.start_mark.index < ctx.key.end_mark.index

    def _value_end(self, key: Node, value: Node) -> int:
        """Offset just past the last character of ``value`` as written after ``key``."""
        if value.start_mark.index < key.end_mark.index:  # an alias: the node lives at its anchor
            return self._alias_end(key.end_mark.index)
        return self._node_end(value)

    def _item_end(self, seq: SequenceNode, i: int) -> int:
        item = seq.value[i]
        prev_end = seq.value[i - 1].end_mark.index if i else seq.start_mark.index
        if item.start_mark.index < prev_end or item.start_mark.index < seq.start_mark.index:
            return self._alias_end(self._item_start_hint(seq, i))
        return self._node_end(item)

    def _item_start_hint(self, seq: SequenceNode, i: int) -> int:
        if i == 0:
            return seq.start_mark.index
        return self._item_end(seq, i - 1)

    def _alias_end(self, after: int) -> int:
        m = re.compile(r"[\s:,\-\[]*\*([^\s,\[\]{}]+)").match(self.text, after)
        if not m:
            raise EditUnsupported("cannot find the alias after this point", self._line_at(after))
        return m.end()

    def _node_end(self, node: Node) -> int:
        if isinstance(node, ScalarNode):
            if node.style in ("|", ">"):
                return value_end(self.text, node)  # with its trailing lines where they are content
            return node.end_mark.index
        if getattr(node, "flow_style", False) or not node.value:
            return node.end_mark.index
        if isinstance(node, MappingNode):
            k, v = node.value[-1]
            return self._value_end(k, v)
        return self._item_end(node, len(node.value) - 1)

    def _block_end(self, node: Node, indent: int) -> int:
        """Where new lines go after a block collection: after its content and the comments nested in it."""
        pos = self._next_line(self._node_end(node))
        text = self.text
        while pos < len(text):
            line_end = self._line_end(pos)
            line = text[pos:line_end]
            stripped = line.lstrip(" ")
            if not stripped.startswith("#") or len(line) - len(stripped) <= indent:
                break
            pos = self._next_line(pos)
        return pos

    def _insert_lines(self, pos: int, lines: list[str]) -> Splice:
        eol = line_ending_at(self.text, max(pos - 1, 0))
        body = eol.join(lines)
        if pos >= len(self.text) and not self.text.endswith("\n"):
            return (len(self.text), len(self.text), eol + body)
        return (pos, pos, body + eol)

    def _dash_col(self, seq: SequenceNode) -> int:
        dash = self._seq_dash(seq)
        return dash - self._line_start(dash)

    def _dash_line(self, seq: SequenceNode) -> int:
        return self.text.count("\n", 0, self._seq_dash(seq))

    def _seq_dash(self, seq: SequenceNode) -> int:
        start = seq.start_mark.index
        return start if self.text.startswith("-", start) else self._find_dash_before(seq.value[0])

    def _find_dash_before(self, item: Node) -> int:
        pos = self.text.rfind("-", 0, item.start_mark.index)
        if pos < 0:
            raise EditUnsupported("cannot find the list item marker", _line(item))
        return pos

    # ---- style ----------------------------------------------------------------------------------
    def _style(self, ctx: _Ctx, flow: bool = False) -> Style:
        step = self._indent_step(ctx)
        return Style(step=step, seq_offset=self._seq_offset(ctx, step), item_offset=2, flow=flow)

    def _ancestors(self, ctx: _Ctx):
        c: _Ctx | None = ctx
        while c is not None:
            yield c
            c = c.parent

    def _indent_step(self, ctx: _Ctx) -> int:
        for c in self._ancestors(ctx):
            node = c.node
            if isinstance(node, MappingNode) and not getattr(node, "flow_style", False) and node.value:
                col = node.value[0][0].start_mark.column
                for k, v in node.value:
                    if isinstance(v, MappingNode) and not v.flow_style and v.value and v.start_mark.index > k.end_mark.index:
                        step = v.value[0][0].start_mark.column - col
                        if step > 0:
                            return step
        return self._doc_step()

    def _seq_offset(self, ctx: _Ctx, step: int) -> int:
        for c in self._ancestors(ctx):
            node = c.node
            if isinstance(node, MappingNode) and not getattr(node, "flow_style", False):
                for k, v in node.value:
                    if isinstance(v, SequenceNode) and not v.flow_style and v.value and v.start_mark.index > k.end_mark.index:
                        off = self._dash_col(v) - k.start_mark.column
                        if off >= 0:
                            return off
        return 0

    def _doc_step(self) -> int:
        stack = [self.doc.node]
        seen = 0
        while stack and seen < 2000:
            node = stack.pop()
            seen += 1
            if isinstance(node, MappingNode) and not node.flow_style:
                for k, v in node.value:
                    if isinstance(v, MappingNode) and not v.flow_style and v.value and v.start_mark.index > k.end_mark.index:
                        step = v.value[0][0].start_mark.column - k.start_mark.column
                        if step > 0:
                            return step
                    stack.append(v)
            elif isinstance(node, SequenceNode):
                stack.extend(node.value)
        return 2


class _Overlay:
    """The document's data as the operations planned so far leave it (to skip no-op operations)."""

    def __init__(self, data: Any):
        self._base = data
        self._data: Any = None

    def is_noop(self, op: O.Op) -> bool:
        return O.is_noop(self._data if self._data is not None else self._base, op)

    def apply(self, op: O.Op) -> None:
        """Perform an operation ``is_noop`` has just found to change something."""
        if self._data is None:
            self._data = O.clone(self._base)
        O.perform(self._data, op)

    def result(self) -> Any:
        return self._base if self._data is None else self._data


def _check_conflicts(op_list: list[O.Op]) -> None:
    """Refuse operation lists whose paths step on each other (text positions would not add up):
    anything inside a key that is removed, or an index into a list that loses items."""
    removed = [op for op in op_list if isinstance(op, O.Delete)]
    shrunk = [op.path for op in op_list if isinstance(op, O.Discard)]
    for op in op_list:
        for deletion in removed:
            gone = deletion.path
            if op != deletion and (op.path[:len(gone)] == gone or gone[:len(op.path)] == op.path):
                raise EditUnsupported(f"conflicting edits under {_fmt(gone)}")
        for lst in shrunk:
            if len(op.path) > len(lst) and op.path[:len(lst)] == lst:
                raise EditUnsupported(f"an edit inside {_fmt(lst)} while items are removed from it")


def _merge_adjacent(splices: list[Splice]) -> list[Splice]:
    out: list[Splice] = []
    for s in sorted(splices):
        if out and s[0] <= out[-1][1]:
            prev = out.pop()
            out.append((prev[0], max(prev[1], s[1]), ""))
        else:
            out.append(s)
    return out


def _relative(op: O.Op, depth: int) -> tuple:
    return (type(op).__name__, op.path[depth:], repr(getattr(op, "value", None)))


def _common_quote(seq: SequenceNode) -> str | None:
    """The quote style every item of a list of strings shares ('"' or "'"), else None (plain or mixed)."""
    styles = {n.style if isinstance(n, ScalarNode) and n.tag.endswith(":str") else "" for n in seq.value}
    return styles.pop() if len(styles) == 1 and styles <= {'"', "'"} else None


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag.endswith(":null")


def _is_empty(node: Node) -> bool:
    return isinstance(node, (MappingNode, SequenceNode)) and not node.value


def _resolve_key(k: ScalarNode) -> Any:
    import yaml

    return yaml.safe_load(k.value) if k.style is None else k.value


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _fmt(path: tuple) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path)


def apply_splices(text: str, splices: list[Splice]) -> str:
    """The text with non-overlapping, sorted splices applied."""
    parts: list[str] = []
    pos = 0
    for start, end, new in splices:
        parts.append(text[pos:start])
        parts.append(new)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)
