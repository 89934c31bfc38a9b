"""Operations on pod data become edits of the Python source, in the file's own style.

``Edits.add`` walks an operation's path through the values read from the code: an existing argument or
entry is followed, a missing one is added to the call or dict that lacks it (never a second keyword of
the same name), a list gains items, a literal is replaced. ``Edits.render`` writes them: new values are
built the way the surrounding code builds them (``client.V1SecurityContext(...)``, ``k8s.SecurityContext``,
``SecurityContextArgs`` or a dict), laid out like their neighbours, and a missing import is added with
libcst's import helper. What cannot be written this way raises ``EditUnsupported`` with its line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from kfix import ops as O
from kfix.errors import EditUnsupported
from kfix.python.layout import INLINE, Style, explode, extend, line_break, remove, removable, style_of
from kfix.python import cdk8s_plus as plus
from kfix.python.names import CDK8S, DICT, FIELD_TYPES, MAP_FIELDS, PLUS, QUANTITY_MAPS, ClassRef, snake
from kfix.python.reader import Field, Lit, Obj, Seq, Source, Unknown, Value, data

_MISSING = object()
_CODE = cst.Module([])


class Edits:
    """The source edits that a set of operations on pods needs; ``kinds`` counts them for verification."""

    def __init__(self, source: Source):
        self.source = source
        self.added: dict[int, tuple[Obj, dict]] = {}  # new fields per object (plain data)
        self.appended: dict[int, tuple[Seq, list]] = {}  # new items per list
        self.replaced: dict[int, tuple[Lit, Any]] = {}  # literal node -> new value
        self.dropped: dict[int, set[int]] = {}  # object/list node -> positions of elements to remove
        self.imports: set[tuple[str, str]] = set()

    # -- from operations --
    def add(self, pod: Obj, op: O.Op) -> None:
        """Record the edits for ``op`` (its path starts at the pod spec)."""
        node: Value = pod
        path = op.path
        stop = len(path) if isinstance(op, (O.Append, O.Discard)) else len(path) - 1
        for i in range(stop):
            key = path[i]
            nxt = self._step(node, key)
            if nxt is _MISSING:
                return self._add_missing(node, path[i:], op)
            node = nxt
        if isinstance(op, (O.Append, O.Discard)):
            return self._list_op(node, op)
        self._blocked(node)
        assert isinstance(node, Obj)
        key = path[-1]
        fld = node.fields.get(key)
        pending = self.added.get(id(node.node))
        if fld is None:
            if isinstance(op, O.Delete):
                if pending is not None and key in pending[1]:
                    del pending[1][key]
                return None
            return self._add_missing(node, (key,), op)
        if isinstance(op, O.Delete):
            self._drop(node, {_position(node, fld)})
            return None
        target = fld.value
        if isinstance(target, Lit) and not isinstance(op.value, (dict, list)):
            self.replaced[id(target.node)] = (target, op.value)
            return None
        self._blocked(target)
        raise EditUnsupported(f"would replace the {type(target).__name__.lower()} at line {target.line}",
                              target.line)

    def _step(self, node: Value, key: Any) -> Any:
        self._blocked(node)
        if isinstance(node, Obj) and isinstance(key, str):
            fld = node.fields.get(key)
            if fld is not None:
                return fld.value
            pending = self.added.get(id(node.node))
            if node.open is not None and (pending is None or key not in pending[1]):
                raise EditUnsupported(f"cannot see every field of the object at line {node.line} ({node.open})",
                                      node.line)
            return _MISSING
        if isinstance(node, Seq) and isinstance(key, int) and key < len(node.items):
            return node.items[key]
        line = getattr(node, "line", None)
        raise EditUnsupported(f"the value at line {line} is not of the expected type", line)

    def _blocked(self, node: Value) -> None:
        if isinstance(node, Unknown):
            raise EditUnsupported(f"{node.why}: `{node.code}` (line {node.line}); kfix does not guess it", node.line)
        if isinstance(node, Lit) and node.value is None:
            raise EditUnsupported(f"set to None at line {node.line}", node.line)

    def _add_missing(self, obj: Value, rest: tuple, op: O.Op) -> None:
        self._blocked(obj)
        if not isinstance(obj, Obj):
            raise EditUnsupported(f"the value at line {obj.line} is not an object", obj.line)
        if obj.open is not None:
            raise EditUnsupported(f"cannot see every field of the object at line {obj.line} ({obj.open})", obj.line)
        if obj.family == PLUS:
            why = plus.unwritable(obj.type, rest, self.source.plus_line(obj.ref.module) if obj.ref else None)
            if why:
                raise EditUnsupported(why, obj.line)
        _, pending = self.added.setdefault(id(obj.node), (obj, {}))
        O.apply_one(pending, O.with_path(op, rest))

    def _list_op(self, node: Value, op: O.Op) -> None:
        self._blocked(node)
        if not isinstance(node, Seq):
            raise EditUnsupported(f"the value at line {node.line} is not a list", node.line)
        if node.open is not None:
            raise EditUnsupported(f"cannot see every item of the list at line {node.line} ({node.open})", node.line)
        current = data(node)
        if isinstance(op, O.Discard):
            self._drop(node, {i for i, item in enumerate(current) if item == op.value})
            return
        _, pending = self.appended.setdefault(id(node.node), (node, []))
        probe = current + pending
        if not O.is_noop({"x": probe}, O.Append(("x",), op.value, op.unique_key)):
            pending.append(O.clone(op.value))

    def _drop(self, value: Obj | Seq, positions: set[int]) -> None:
        drop = self.dropped.get(id(value.node), set()) | positions
        if not removable(value.node, drop):
            raise EditUnsupported(f"removing from the {'list' if isinstance(value, Seq) else 'object'} at line "
                                  f"{value.line} would lose a comment (it has no line of its own to keep it on)",
                                  value.line)
        self.dropped[id(value.node)] = drop

    def kinds(self) -> Counter:
        """How many arguments/entries/items are added, removed and literals replaced (what verification expects)."""
        out: Counter = Counter()
        for obj, fields in self.added.values():
            out["entry+" if isinstance(obj.node, cst.Dict) else "keyword+"] += len(fields)
        for seq, items in self.appended.values():
            out["item+"] += len(items)
        for node_id, drop in self.dropped.items():
            out["removed"] += len(drop)
        out["value~"] += len(self.replaced)
        return +out

    # -- to source --
    def render(self) -> str:
        builder = _Builder(self.source, self)
        tree = self.source.module.visit(builder)
        self.imports = builder.imports
        if builder.imports:
            tree = _add_imports(tree, builder.imports, max(88, self.source.widest))
        return tree.code


def _add_imports(tree: cst.Module, needed: set[tuple[str, str]], width: int) -> cst.Module:
    """Names added to the file's own ``from M import ...`` statement, in its layout; a new statement
    (libcst's import helper places it) only when the file has none for that module."""
    by_module: dict[str, list[str]] = {}
    for module, name in sorted(needed):
        by_module.setdefault(module, []).append(name)
    done: set[str] = set()

    class Extend(cst.CSTTransformer):
        def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
            if updated.relative or updated.module is None or isinstance(updated.names, cst.ImportStar):
                return updated
            module = _CODE.code_for_node(updated.module)
            if module not in by_module or module in done:
                return updated
            done.add(module)
            out = extend(updated, [cst.ImportAlias(name=cst.Name(n)) for n in by_module[module]])
            if out.lpar is None and len(_CODE.code_for_node(out)) > width:  # a formatter's parenthesised form
                trailing = cst.SimpleWhitespace("")
                out = explode(out.with_changes(lpar=cst.LeftParen(), rpar=cst.RightParen(whitespace_before=trailing)),
                              Style(True, False, tree.default_indent, "", True))
            return out

    tree = tree.visit(Extend())
    rest = [(m, n) for m, names in by_module.items() if m not in done for n in names]
    if rest:
        context = CodemodContext()
        for module, name in rest:
            AddImportsVisitor.add_needed_import(context, module, name)
        tree = AddImportsVisitor(context).transform_module(tree)
    return tree


def _position(obj: Obj, fld: Field) -> int:
    els = obj.node.args if isinstance(obj.node, cst.Call) else obj.node.elements
    return next(i for i, e in enumerate(els) if e is fld.element)


class _Builder(cst.CSTTransformer):
    def __init__(self, source: Source, edits: Edits):
        super().__init__()
        self.source = source
        self.edits = edits
        self.imports: set[tuple[str, str]] = set()
        self._file_quote: str | None = None
        self._trailing: bool | None = None

    def on_leave(self, original_node, updated_node):
        updated_node = super().on_leave(original_node, updated_node)
        key = id(original_node)
        if key in self.edits.replaced:
            lit, value = self.edits.replaced[key]
            return _scalar(value, _quote_of(original_node)).with_changes(
                lpar=getattr(original_node, "lpar", ()), rpar=getattr(original_node, "rpar", ()))
        drop = self.edits.dropped.get(key)
        if drop:
            updated_node = remove(updated_node, drop)
        if key in self.edits.added:
            obj, fields = self.edits.added[key]
            updated_node = self._add_fields(obj, fields, original_node, updated_node)
        if key in self.edits.appended:
            seq, items = self.edits.appended[key]
            style = style_of(original_node)
            quote = self._quote_near(original_node)
            parent = seq.parent
            if parent is not None and parent.family == PLUS and (parent.type, seq.key) in plus.ENUM_FIELDS:
                enums = _ValueBuilder(self, parent, quote)  # cdk8s-plus enum members, like the list's own items

                def item(value, style):
                    return enums.build(value, None, style, seq.key, parent.type)
            else:
                host = _ItemHost(self, seq, quote)

                def item(value, style):
                    return host.build(value, seq.item_type, style)
            new = [cst.Element(value=item(v, style)) for v in items]
            if not style.multiline and self._too_long(original_node, sum(len(_CODE.code_for_node(n)) + 2
                                                                            for n in new)):
                style = self._one_per_line(original_node)
                updated_node = explode(updated_node, style)
                new = [cst.Element(value=item(v, style)) for v in items]
            updated_node = extend(updated_node, new)
        return updated_node

    def _add_fields(self, obj: Obj, fields: dict, original, updated):
        style = style_of(original)
        quote = self._quote_near(original)
        new = self._new_fields(obj, fields, original, style, quote)
        if not style.multiline:
            width = sum(len(_CODE.code_for_node(n)) + 2 for n in new)
            if self._too_long(original, width):
                style = self._one_per_line(original)
                updated = explode(updated, style)
                new = self._new_fields(obj, fields, original, style, quote)
        return extend(updated, new)

    def _too_long(self, node: cst.CSTNode, width: int) -> bool:
        """Would ``width`` more characters on the line that closes ``node`` make it longer than the file's lines?"""
        pos = self.source.positions[node]
        lines = self.source.lines
        if pos.end.line != pos.start.line:
            return False
        return len(lines[pos.end.line - 1]) + width > max(88, self.source.widest)

    def _one_per_line(self, node: cst.CSTNode) -> Style:
        """One element per line, a level deeper than the line ``node`` starts on, and a level more for each
        bracket around it on that line that gains elements too (it is laid out one per line as well)."""
        start = self.source.positions[node].start.line
        line = self.source.lines[start - 1]
        indent = line[: len(line) - len(line.lstrip())]
        unit = self.source.module.default_indent
        cur = self.source.parents.get(node)
        while isinstance(cur, (cst.Call, cst.Dict, cst.List, cst.Tuple, cst.Arg, cst.DictElement, cst.Element)):
            pos = self.source.positions[cur]
            if pos.start.line != start:
                break
            if (id(cur) in self.edits.added or id(cur) in self.edits.appended) and pos.end.line == start:
                indent += unit
            cur = self.source.parents.get(cur)
        return Style(True, False, indent + unit, indent, self.trailing_commas())

    def trailing_commas(self) -> bool:
        """Does the file end its one-per-line brackets with a comma (most of them)?"""
        if self._trailing is None:
            counts = [0, 0]

            class Count(cst.CSTVisitor):
                def on_visit(self, node: cst.CSTNode) -> bool:
                    if isinstance(node, (cst.Call, cst.Dict, cst.List)):
                        style = style_of(node)
                        if style.multiline:
                            counts[style.trailing] += 1
                    return True

            self.source.module.visit(Count())
            self._trailing = counts[1] >= counts[0]
        return self._trailing

    def _new_fields(self, obj: Obj, fields: dict, original, style: Style, quote: str) -> list:
        new = []
        for key, value in fields.items():
            sub = FIELD_TYPES.get((obj.type, key), "map" if key in MAP_FIELDS else None)
            expr = _ValueBuilder(self, obj, quote).build(value, sub, style, key, obj.type)
            if isinstance(original, cst.Call):
                equal = next((a.equal for a in original.args if a.keyword is not None), cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
                name = plus.keyword(obj.type, key, snake) if obj.family == PLUS else snake(key)
                new.append(cst.Arg(value=expr, keyword=cst.Name(name), equal=equal))
            else:
                name = (plus.keyword(obj.type, key, snake) if obj.family == PLUS else snake(key)) if obj.snake_keys else key
                colon = next(((e.whitespace_before_colon, e.whitespace_after_colon) for e in original.elements
                              if isinstance(e, cst.DictElement)), (cst.SimpleWhitespace(""), cst.SimpleWhitespace(" ")))
                new.append(cst.DictElement(key=_string(name, quote), value=expr, whitespace_before_colon=colon[0],
                                           whitespace_after_colon=colon[1]))
        return new

    def _quote_near(self, node: cst.CSTNode) -> str:
        """The quote character of the strings in or around ``node`` (the file's, else a double quote)."""
        for n in _strings(node):
            return n
        if self._file_quote is None:
            self._file_quote = next(iter(_strings(self.source.module)), '"')
        return self._file_quote

    # -- names of classes --
    def class_expr(self, host: ClassRef, func: cst.BaseExpression, name: str) -> cst.BaseExpression:
        """An expression naming class ``name`` of ``host``'s family, written as ``func`` names ``host``."""
        if not name:
            raise EditUnsupported(f"{host.family} has no class kfix can build this value with")
        if host.family == PLUS:  # ``add_container`` calls do not name a class: use the module's import
            alias = self._module_alias(host.module)
            if alias is not None:
                return cst.Attribute(value=cst.parse_expression(alias), attr=cst.Name(name))
            func = cst.Name(host.name)
        if isinstance(func, cst.Attribute):
            return func.with_changes(attr=cst.Name(name))
        if not isinstance(func, cst.Name):
            raise EditUnsupported(f"cannot tell how this file names {name}")
        module = host.module
        scope = self.source.scopes.get(self.source.module)
        if scope is not None and name in scope:
            bound = list(scope[name])
            ok = any(isinstance(getattr(a, "node", None), (cst.Import, cst.ImportFrom)) for a in bound)
            if not ok:
                raise EditUnsupported(f"the name {name} is already used for something else in this file")
            return cst.Name(name)
        if any(star == module for star, _ in self.source.stars):  # ``from module import *`` binds it already
            return cst.Name(name)
        self.imports.add((module, name))
        return cst.Name(name)


    def _module_alias(self, module: str) -> str | None:
        """The name the file imports ``module`` as (``import cdk8s_plus_26 as kplus``: kplus)."""
        for stmt in self.source.module.body:
            for small in getattr(stmt, "body", ()):
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        if _CODE.code_for_node(alias.name) == module:
                            return alias.asname.name.value if alias.asname else module
        return None


class _ValueBuilder:
    """New values as the object they are added to builds its parts."""

    def __init__(self, builder: _Builder, host: Obj, quote: str):
        self.builder = builder
        self.host = host
        self.quote = quote

    def build(self, value: Any, api_type: str | None, style: Style, key: str = "",
              owner: str | None = None) -> cst.BaseExpression:
        host = self.host
        enum = plus.ENUM_FIELDS.get((owner, key)) if host.family == PLUS else None
        if enum is not None:
            return self._enum(enum, value)
        if isinstance(value, dict):
            if api_type == "map":
                return self._map(value, style, key)
            if host.family == DICT or (host.ref is not None and host.ref.dict_args):
                if host.family == PLUS and api_type not in plus.CLASSES:
                    raise EditUnsupported(f"cdk8s-plus props have no field for {key}", host.line)
                return self._dict(value, api_type, style, host.family == DICT and not host.snake_keys)
            if api_type is None or host.ref is None:
                raise EditUnsupported(f"kfix does not know which class builds `{key}` here", host.line)
            return self._call(value, api_type, style)
        if isinstance(value, list):
            items = [self.build(v, api_type, INLINE) for v in value]
            return extend(cst.List([]), [cst.Element(i) for i in items])
        return _scalar(value, self.quote)

    def _fields(self, value: dict, api_type: str | None, style: Style, spell) -> list[tuple[str, cst.BaseExpression]]:
        out = []
        for k, v in value.items():
            sub = FIELD_TYPES.get((api_type, k), "map" if k in MAP_FIELDS else None)
            out.append((spell(k), self.build(v, sub, style, k, api_type)))
        return out

    def _enum(self, enum: str, value: Any) -> cst.BaseExpression:
        """A cdk8s-plus enum member (``kplus.Capability.ALL``), or a list of them."""
        cls = self.builder.class_expr(self.host.ref, getattr(self.host.node, "func", None), enum)
        if isinstance(value, list):
            return extend(cst.List([]), [cst.Element(self._enum(enum, v)) for v in value])
        return cst.Attribute(value=cls, attr=cst.Name(plus.enum_member(enum, value)))

    def _call(self, value: dict, api_type: str, style: Style) -> cst.BaseExpression:
        host = self.host
        func = self.builder.class_expr(host.ref, getattr(host.node, "func", None), host.ref.sibling(api_type))
        layout = self._layout(value, style)
        spell = (lambda k: plus.keyword(api_type, k, snake)) if host.family == PLUS else snake
        def build(layout: Style):
            args = [cst.Arg(value=v, keyword=cst.Name(k), equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
                for k, v in self._fields(value, api_type, layout, spell)]
            return _fill(cst.Call(func=func), args, layout)

        return self._fitted(build, layout, style)

    def _fitted(self, build, layout: Style, style: Style):
        """``build(layout)``, or one field per line when one line would be long next to one-per-line fields."""
        out = build(layout)
        if style.multiline and not layout.multiline and len(_CODE.code_for_node(out)) > 70:
            out = build(replace(style.nested(), trailing=self.builder.trailing_commas()))
        return out

    def _dict(self, value: dict, api_type: str | None, style: Style, camel_keys: bool) -> cst.BaseExpression:
        layout = self._layout(value, style)
        spell = (lambda k: k) if camel_keys else snake
        if self.host.family == PLUS:
            spell = lambda k: plus.keyword(api_type, k, snake)  # noqa: E731
        def build(layout: Style):
            entries = [cst.DictElement(key=_string(k, self.quote), value=v)
                       for k, v in self._fields(value, api_type, layout, spell)]
            return _fill(cst.Dict([]), entries, layout)

        return self._fitted(build, layout, style)

    def _map(self, value: dict, style: Style, key: str) -> cst.BaseExpression:
        quantity = self.host.family == CDK8S and key in QUANTITY_MAPS
        entries = []
        for k, v in value.items():
            expr = _scalar(v, self.quote)
            if quantity:
                host = self.host
                qfunc = self.builder.class_expr(host.ref, getattr(host.node, "func", None), "Quantity")
                method = "from_number" if isinstance(v, (int, float)) and not isinstance(v, bool) else "from_string"
                expr = cst.Call(func=cst.Attribute(value=qfunc, attr=cst.Name(method)), args=[cst.Arg(expr)])
            entries.append(cst.DictElement(key=_string(str(k), self.quote), value=expr))
        inline = _fill(cst.Dict([]), entries, INLINE)
        if style.multiline and len(entries) >= 2 and len(_CODE.code_for_node(inline)) > 60:
            return _fill(cst.Dict([]), entries, replace(style.nested(), trailing=self.builder.trailing_commas()))
        return inline

    def _layout(self, value: dict, style: Style) -> Style:
        """One line, unless the neighbours are one per line and this object has several fields."""
        if style.multiline and len(value) >= 2:
            return replace(style.nested(), trailing=self.builder.trailing_commas())
        return INLINE


class _ItemHost(_ValueBuilder):
    """New list items, built like the list's other items (or as dicts in a list of dicts)."""

    def __init__(self, builder: "_Builder", seq: Seq, quote: str):
        self.seq = seq
        self.quote = quote
        model = next((v for v in seq.items if isinstance(v, Obj)), None)
        self.model = model
        self.host = model if model is not None else Obj(seq.node, None, DICT, seq.line)
        self.builder = builder
        pos = builder.source.positions.get(model.node) if model is not None else None
        self.model_inline = pos is not None and pos.start.line == pos.end.line

    def _layout(self, value: dict, style: Style) -> Style:
        """Like the list's other items: on one line when they are."""
        return INLINE if self.model_inline else super()._layout(value, style)

    def build(self, value: Any, api_type: str | None, style: Style, key: str = "",
              owner: str | None = None) -> cst.BaseExpression:
        if isinstance(value, dict) and self.model is not None and self.model.ref is not None:
            self.host = self.model
            layout = self._layout(value, style)
            func = self.builder.class_expr(self.model.ref, getattr(self.model.node, "func", None), self.model.ref.sibling(api_type or
                                                                                                       self.model.type))
            args = [cst.Arg(value=v, keyword=cst.Name(k), equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
                for k, v in self._fields(value, api_type or self.model.type, layout, snake)]
            return _fill(cst.Call(func=func), args, layout)
        return super().build(value, api_type, style, key, owner)


def _fill(node, items: list, layout: Style):
    """``node`` (an empty Call or Dict) holding ``items``, one per line or inline."""
    if not items:
        return node
    if not layout.multiline:
        return extend(node, items)
    comma = cst.Comma(whitespace_after=line_break(layout.indent, layout.item))
    last_comma = cst.Comma(whitespace_after=line_break(layout.indent, layout.close))
    if layout.trailing:
        done = [i.with_changes(comma=comma) for i in items[:-1]] + [items[-1].with_changes(comma=last_comma)]
    else:
        done = [i.with_changes(comma=comma) for i in items[:-1]] + [items[-1]]
    opening = line_break(layout.indent, layout.item)
    closing = line_break(layout.indent, layout.close)
    if isinstance(node, cst.Call):
        if not layout.trailing:
            done[-1] = done[-1].with_changes(whitespace_after_arg=closing)
        return node.with_changes(args=done, whitespace_before_args=opening)
    out = node.with_changes(elements=done, lbrace=cst.LeftCurlyBrace(whitespace_after=opening))
    if not layout.trailing:
        out = out.with_changes(rbrace=cst.RightCurlyBrace(whitespace_before=closing))
    return out


def _string(text: str, quote: str) -> cst.SimpleString:
    body = text.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return cst.SimpleString(f"{quote}{body}{quote}")


def _scalar(value: Any, quote: str) -> cst.BaseExpression:
    if isinstance(value, bool) or value is None:
        return cst.Name(repr(value))
    if isinstance(value, int):
        return cst.Integer(str(value)) if value >= 0 else cst.UnaryOperation(cst.Minus(), cst.Integer(str(-value)))
    if isinstance(value, float):
        return cst.Float(repr(value))
    if isinstance(value, str):
        return _string(value, quote)
    raise EditUnsupported(f"cannot write the value {value!r} in Python")


def _quote_of(node: cst.CSTNode) -> str:
    return next(iter(_strings(node)), '"')


def _strings(node: cst.CSTNode):
    """Quote characters of the plain string literals under ``node``, in source order."""
    found: list[str] = []

    class Quotes(cst.CSTVisitor):
        def visit_SimpleString(self, n: cst.SimpleString) -> None:
            q = n.quote
            if q in ('"', "'") and not n.prefix:
                found.append(q)

    node.visit(Quotes())
    return found
