"""Read pods from Python source: calls of library classes, dicts and lists, as a tree of values.

Names are resolved with libcst's metadata (qualified names of imports, scopes of variables); a variable
assigned exactly once in its scope is followed to its value. What cannot be known without running the
program (a function parameter, a call of unknown code, ``**kwargs``) is kept as ``Unknown`` with its
line, so it is reported, never guessed. ``Obj.data`` gives the plain API data the rules read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

import libcst as cst
from libcst.metadata import (ExpressionContextProvider, MetadataWrapper, ParentNodeProvider, PositionProvider,
                             QualifiedNameProvider, ScopeProvider)

from kfix.python import cdk8s_plus as plus
from kfix.python import follow
from kfix.python.names import (CDK8S, DICT, FIELD_TYPES, MAP_FIELDS, PLUS, PULUMI, ClassRef, camel, classify,
                               looks_snake)


class Opaque:
    """A value only the running program knows (what the rules see in its place)."""

    __slots__ = ("code",)

    def __init__(self, code: str):
        self.code = code

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.code == self.code

    def __hash__(self) -> int:
        return hash(self.code)

    def __repr__(self) -> str:
        return f"<{self.code}>"

    __str__ = __repr__


@dataclass(eq=False)
class Lit:
    value: Any
    node: cst.BaseExpression
    line: int


@dataclass(eq=False)
class Unknown:
    why: str
    node: cst.BaseExpression
    line: int
    code: str
    built_here: bool = False  # built in this file, in more than one way or for more than one reader


@dataclass(eq=False)
class Field:
    key: str  # as written: keyword or dict key
    value: "Value"
    element: Union[cst.Arg, cst.DictElement]


@dataclass(eq=False)
class Obj:
    """An object built by a library class call, or a dict literal."""

    node: Union[cst.Call, cst.Dict]
    type: str | None  # API type, "map" for free-key maps, None when unknown
    family: str
    line: int
    ref: ClassRef | None = None  # the class a call constructs
    fields: dict[str, Field] = field(default_factory=dict)  # API field name -> field
    open: str | None = None  # why some fields cannot be seen (**kwargs, positional arguments)
    snake_keys: bool = False  # a dict whose keys are snake_case (Pulumi)


@dataclass(eq=False)
class Seq:
    node: Union[cst.List, cst.Tuple]
    items: list["Value"]
    item_type: str | None
    line: int
    open: str | None = None
    parent: Obj | None = None  # the call whose keyword argument holds this list
    key: str | None = None  # that argument's API field name


Value = Union[Obj, Seq, Lit, Unknown]


def data(value: Value) -> Any:
    """The plain API data a value stands for."""
    if isinstance(value, Obj):
        return {k: data(f.value) for k, f in value.fields.items()}
    if isinstance(value, Seq):
        return [data(v) for v in value.items]
    if isinstance(value, Lit):
        return value.value
    return Opaque(value.code)


class Source:
    """A parsed module with the metadata kfix resolves names with, and the values read from it."""

    def __init__(self, text: str, path: str | None = None):
        self.path = path
        self._plus_lines: dict[str, plus.Line | None] = {}
        self.module = cst.parse_module(text)
        self.lines = text.splitlines()
        self.widest = max((len(line) for line in self.lines), default=0)
        self.wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        meta = self.wrapper.resolve_many([QualifiedNameProvider, ScopeProvider, PositionProvider, ParentNodeProvider])
        self.qualified = meta[QualifiedNameProvider]
        self.scopes = meta[ScopeProvider]
        self.positions = meta[PositionProvider]
        self.parents = meta[ParentNodeProvider]
        self._values: dict[int, Value] = {}
        self._busy: set[int] = set()
        self.follow_cache: dict = {}
        self._contexts = None
        self.stars = [(self.module.code_for_node(s.module), self.line(s)) for line in self.module.body
                      if isinstance(line, cst.SimpleStatementLine) for s in line.body
                      if isinstance(s, cst.ImportFrom) and isinstance(s.names, cst.ImportStar) and s.module is not None
                      and not s.relative]

    def expression_contexts(self):
        """Which names and attributes are written (resolved on first use: most files never need it)."""
        if self._contexts is None:
            self._contexts = self.wrapper.resolve(ExpressionContextProvider)
        return self._contexts

    # -- places --
    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    def code(self, node: cst.CSTNode) -> str:
        text = self.module.code_for_node(node)
        return " ".join(text.split())[:60]

    def class_of(self, func: cst.BaseExpression) -> ClassRef | None:
        names = self.qualified.get(func)
        if callable(names):  # a lazily computed entry
            names = names()
        for q in sorted(n.name for n in names or ()):
            ref = classify(q)
            if ref is not None:
                return ref
        if not names and self.stars:
            return self._through_star(func)[0]
        return None

    def _through_star(self, func: cst.BaseExpression) -> tuple[ClassRef | None, str]:
        """A name the file binds nowhere, read through its ``from M import *``: the class when exactly one
        star-imported library module can hold it; else (None, why) when it looks like a library class."""
        dotted = []
        node = func
        while isinstance(node, cst.Attribute):
            dotted.insert(0, node.attr.value)
            node = node.value
        if not isinstance(node, cst.Name):
            return None, ""
        scope = self.scopes.get(node)
        if scope is None or list(scope[node.value]) or node.value in dir(__builtins__):
            return None, ""
        path = ".".join([node.value, *dotted])
        refs = {m: classify(f"{m}.{path}") for m, _ in self.stars}
        known = [r for r in refs.values() if r is not None]
        if len(known) == 1 and len(self.stars) == 1:
            return known[0], ""
        looks = any(classify(f"{root}.{path}") for root in _LIBRARY_ROOTS)
        if not looks and not known:
            return None, ""
        where = ", ".join(f"`from {m} import *` (line {line})" for m, line in self.stars)
        return None, f"`{path}` may come from {where}, which kfix cannot resolve to one library class"

    def star_unresolved(self) -> list[Unknown]:
        """Pod specs and workloads built by classes that only an unresolvable star import can bind."""
        if not self.stars:
            return []
        found = []
        source = self

        class Calls(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                names = source.qualified.get(node.func)
                if (names() if callable(names) else names):
                    return
                ref, why = source._through_star(node.func)
                code = source.code(node.func)
                guess = next((r for r in (classify(f"{root}.{code}") for root in _LIBRARY_ROOTS) if r), None)
                if ref is None and why and guess is not None and (guess.type == "PodSpec" or guess.kind):
                    found.append(Unknown(why, node, source.line(node), source.code(node)))

        self.module.visit(Calls())
        return found

    def plus_line(self, module: str) -> plus.Line | None:
        """The cdk8s-plus line and release this file's ``module`` import stands for."""
        if module not in self._plus_lines:
            self._plus_lines[module] = plus.line_of(module, self.path)
        return self._plus_lines[module]

    # -- variables --
    def assigned_value(self, name: cst.Name) -> tuple[cst.BaseExpression | None, str]:
        """The expression a simple variable holds, or (None, why not)."""
        scope = self.scopes.get(name)
        if scope is None:
            return None, f"`{name.value}` is not a simple variable"
        assignments = list(scope[name.value])
        if not assignments:
            return None, f"`{name.value}` is not defined in this file"
        if len(assignments) > 1:
            return None, f"`{name.value}` is assigned more than once"
        target = getattr(assignments[0], "node", None)
        parent = self.parents.get(target) if isinstance(target, cst.Name) else None
        if isinstance(parent, cst.AssignTarget):
            stmt = self.parents.get(parent)
            if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1:
                return stmt.value, ""
        if isinstance(parent, cst.AnnAssign) and parent.value is not None and parent.target is target:
            return parent.value, ""
        if isinstance(target, cst.Param) or isinstance(parent, cst.Param):
            return None, f"`{name.value}` is a function parameter (known at run time only)"
        if isinstance(target, (cst.Import, cst.ImportFrom)):
            return None, f"`{name.value}` is imported"
        return None, f"`{name.value}` is not a simple variable"

    def uses(self, stmt: cst.Assign) -> list[cst.CSTNode]:
        """Where the variable that ``stmt`` assigns is read (none when it is not one simple variable)."""
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0].target, cst.Name):
            return []
        name = stmt.targets[0].target
        scope = self.scopes.get(name)
        if scope is None:
            return []
        assignments = list(scope[name.value])
        if len(assignments) != 1:
            return []
        return [ref.node for ref in assignments[0].references]

    # -- values --
    def value(self, node: cst.BaseExpression, expected: str | None = None, snake_hint: bool = False) -> Value:
        key = id(node)
        known = self._values.get(key)
        if known is not None:
            return known
        if key in self._busy:
            return Unknown("refers to itself", node, self.line(node), self.code(node))
        self._busy.add(key)
        try:
            out = self._evaluate(node, expected, snake_hint)
        finally:
            self._busy.discard(key)
        self._values[key] = out
        return out

    def _evaluate(self, node: cst.BaseExpression, expected: str | None, snake_hint: bool) -> Value:
        line = self.line(node)
        if isinstance(node, cst.Call):
            return self._call(node, expected, line, snake_hint)
        if isinstance(node, cst.Dict):
            return self._dict(node, expected, snake_hint, line)
        if isinstance(node, (cst.List, cst.Tuple)):
            seq = Seq(node, [], expected, line)
            for el in node.elements:
                if isinstance(el, cst.StarredElement):
                    seq.open = f"a starred element at line {self.line(el)}"
                    continue
                seq.items.append(self.value(el.value, expected, snake_hint))
            return seq
        literal = _literal(node)
        if literal is not _NOT_LITERAL:
            return Lit(literal, node, line)
        if isinstance(node, cst.Attribute):
            member = self._enum_member(node)
            if member is not None:
                return Lit(member, node, line)
            expr, why = follow.self_attribute(self, node)
            if expr is not None:
                return self.value(expr, expected, snake_hint)
            if why:
                return Unknown(why, node, line, self.code(node), built_here="more than once" in why)
        if isinstance(node, cst.Name):
            expr, why = self.assigned_value(node)
            if expr is not None:
                return self.value(expr, expected, snake_hint)
            return Unknown(why, node, line, self.code(node), built_here=why.endswith("more than once"))
        return Unknown("a value computed at run time", node, line, self.code(node))

    def _enum_member(self, node: cst.Attribute) -> str | None:
        """``kplus.Capability.NET_ADMIN``, ``kplus.SeccompProfileType.RUNTIME_DEFAULT``: the API value of a
        cdk8s-plus enum member kfix knows."""
        names = self.qualified.get(node)
        if callable(names):
            names = names()
        for q in names or ():
            parts = q.name.split(".")
            if len(parts) == 3 and plus.version_of(parts[0]) is not None:
                value = plus.enum_value(parts[1], parts[2])
                if value is not None:
                    return value
        return None

    def _call(self, node: cst.Call, expected: str | None, line: int, snake_hint: bool = False) -> Value:
        ref = self.class_of(node.func)
        if ref is None:
            literal = self._quantity(node)
            if literal is not _NOT_LITERAL:
                return Lit(literal, node, line)
            expr, why = follow.function_result(self, node)
            if expr is not None:
                return self.value(expr, expected, snake_hint)
            if why:  # a function of this file
                return Unknown(f"the result of `{self.code(node.func)}(...)`: {why}", node, line, self.code(node),
                               built_here=True)
            return Unknown(f"the result of `{self.code(node.func)}(...)` (known at run time only)", node, line,
                           self.code(node))
        obj = Obj(node, ref.type, ref.family, line, ref)
        positional = [a for a in node.args if a.keyword is None and not a.star]
        if any(a.star for a in node.args):
            star = next(a for a in node.args if a.star)
            obj.open = f"`{star.star}{self.code(star.value)}` at line {self.line(star)}"
        elif positional and not (ref.kind or ref.workload):
            obj.open = f"positional arguments at line {line}"
        self._keywords(obj, node, ref)
        if ref.workload:
            self._added_containers(obj, node, ref)
        return obj

    def _keywords(self, obj: Obj, node: cst.Call, ref: ClassRef) -> None:
        for arg in node.args:
            if arg.keyword is None:
                continue
            key = plus.field_name(ref.type, arg.keyword.value, camel) if ref.family == PLUS else camel(arg.keyword.value)
            sub = FIELD_TYPES.get((ref.type, key), "map" if key in MAP_FIELDS else None)
            value = self.value(arg.value, sub, ref.family == PULUMI)
            if ref.family == PLUS and isinstance(value, Obj) and value.family == DICT:
                _plusify(value, ref.module)
            if isinstance(value, Seq) and value.parent is None:
                value.parent, value.key = obj, key
            obj.fields[key] = Field(arg.keyword.value, value, arg)

    def _added_containers(self, pod: Obj, node: cst.Call, ref: ClassRef) -> None:
        """cdk8s-plus ``workload.add_container(...)`` calls on the variable the workload is assigned to."""
        stmt = self.parents.get(node)
        uses = self.uses(stmt) if isinstance(stmt, cst.Assign) and stmt.value is node else []
        for section, method in (("initContainers", "add_init_container"), ("containers", "add_container")):
            items = []
            for use in uses:
                attr = self.parents.get(use)
                call = self.parents.get(attr) if isinstance(attr, cst.Attribute) else None
                if isinstance(call, cst.Call) and call.func is attr and attr.attr.value == method:
                    container = Obj(call, "Container", PLUS, self.line(call), ClassRef(PLUS, "Container", ref.module,
                                                                                       "ContainerProps"))
                    if any(a.keyword is None for a in call.args):
                        container.open = f"positional arguments at line {container.line}"
                    self._keywords(container, call, container.ref)
                    self._values[id(call)] = container
                    items.append(container)
            if not items:
                continue
            listed = pod.fields.get(section)
            before = listed.value.items if listed is not None and isinstance(listed.value, Seq) else []
            if listed is not None and not isinstance(listed.value, Seq):
                continue
            pod.fields[section] = Field(section, Seq(None, before + items, "Container", pod.line,
                                                     open="containers added by method calls"), None)

    def _quantity(self, node: cst.Call) -> Any:
        """cdk8s ``Quantity.from_string("100m")`` / ``from_number(1)``: the quantity itself."""
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in ("from_string", "from_number")
                and isinstance(func.value, cst.Attribute) and func.value.attr.value == "Quantity"
                and len(node.args) == 1 and node.args[0].keyword is None):
            return _NOT_LITERAL
        ref = self.class_of(func.value)
        if ref is None or ref.family != CDK8S:
            return _NOT_LITERAL
        return _literal(node.args[0].value)

    def _dict(self, node: cst.Dict, expected: str | None, snake_hint: bool, line: int) -> Obj:
        keys = [el.key for el in node.elements if isinstance(el, cst.DictElement)]
        texts = [_literal(k) for k in keys]
        is_map = expected == "map"
        if not is_map and "containers" in texts:
            expected = "PodSpec"
        snake = snake_hint
        names = [t for t in texts if isinstance(t, str)]
        if any(looks_snake(t) for t in names):
            snake = True
        elif any(t != t.lower() for t in names):
            snake = False
        obj = Obj(node, expected, DICT, line, snake_keys=snake)
        for el in node.elements:
            if isinstance(el, cst.StarredDictElement):
                obj.open = f"`**{self.code(el.value)}` at line {self.line(el)}"
                continue
            key = _literal(el.key)
            if not isinstance(key, str):
                obj.open = f"a key computed at run time at line {self.line(el)}"
                continue
            api = key if is_map or not snake else camel(key)
            sub = "map" if (not is_map and api in MAP_FIELDS) else (None if is_map else FIELD_TYPES.get((expected, api)))
            value = self.value(el.value, sub, snake)
            if isinstance(value, Seq) and value.parent is None:
                value.parent, value.key = obj, api
            obj.fields[api] = Field(key, value, el)
        return obj

    def _pulumi_inside(self, node: cst.CSTNode) -> bool:
        """Does a Pulumi class construct part of this dict (then its dict keys are snake_case)?"""
        source = self
        found = []

        class Calls(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> bool:
                ref = source.class_of(call.func)
                if ref is not None and ref.family == PULUMI:
                    found.append(call)
                return not found

        node.visit(Calls())
        return bool(found)

    # -- finding pods --
    def unreadable_pod_specs(self) -> list[Unknown]:
        """Pod specs the code passes as values kfix cannot read: ``spec=`` of a pod template or a Pod (a call
        of a known class, or a dict under ``template`` / of kind Pod) that is a parameter, a call, ... (not
        those built in this file: each construction there is read, and fixed, as a pod of its own)."""
        found: list[Unknown] = []
        source = self

        class Finder(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                ref = source.class_of(node.func)
                if ref is None or ref.type not in ("PodTemplateSpec", "Pod") or ref.workload:
                    return
                for arg in node.args:
                    if arg.keyword is not None and arg.keyword.value == "spec":
                        value = source.value(arg.value, "PodSpec")
                        if isinstance(value, Unknown) and not value.built_here:
                            found.append(value)

            def visit_Dict(self, node: cst.Dict) -> None:
                entries = {literal(el.key): el.value for el in node.elements if isinstance(el, cst.DictElement)}
                holders = []
                if isinstance(entries.get("template"), cst.Dict):
                    holders.append(entries["template"])
                if literal(entries.get("kind")) == "Pod":
                    holders.append(node)
                for holder in holders:
                    for el in holder.elements:
                        if isinstance(el, cst.DictElement) and literal(el.key) == "spec":
                            value = source.value(el.value, "PodSpec")
                            if isinstance(value, Unknown) and not value.built_here:
                                found.append(value)

        self.module.visit(Finder())
        return found

    def pod_nodes(self) -> list[tuple[cst.CSTNode, bool]]:
        """Pod spec constructions in source order: PodSpec calls and dicts with a ``containers`` key, each
        with whether its dict keys are snake_case (inside a Pulumi call, or a snake_case key in its tree)."""
        found: list[tuple[cst.CSTNode, bool]] = []
        source = self
        pulumi: list[bool] = []

        class Finder(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                ref = source.class_of(node.func)
                pulumi.append(ref is not None and ref.family == PULUMI)
                if ref is not None and ref.type == "PodSpec":
                    found.append((node, False))

            def leave_Call(self, node: cst.Call) -> None:
                pulumi.pop()

            def visit_Dict(self, node: cst.Dict) -> None:
                keys = [_literal(el.key) for el in node.elements if isinstance(el, cst.DictElement)]
                if "containers" in keys:
                    found.append((node, any(pulumi) or _snake_tree(node) or source._pulumi_inside(node)))

        self.module.visit(Finder())
        return found


_NOT_LITERAL = object()
# modules a library class may come from, to tell a library-looking name in a file with star imports
_LIBRARY_ROOTS = ("kubernetes.client", "pulumi_kubernetes.core.v1", "pulumi_kubernetes.apps.v1", ".imports.k8s")


def _plusify(obj: Obj, module: str) -> None:
    """A dict given to cdk8s-plus props is those props: their snake_case keys and field names."""
    if obj.type == "map" or obj.type not in plus.CLASSES:
        return
    obj.family = PLUS
    obj.snake_keys = True
    obj.ref = ClassRef(PLUS, obj.type, module, plus.CLASSES[obj.type], dict_args=True)
    fields = {}
    for f in obj.fields.values():
        api = plus.field_name(obj.type, f.key, camel)
        fields[api] = f
        sub = FIELD_TYPES.get((obj.type, api))
        if isinstance(f.value, Obj) and f.value.family == DICT and sub is not None:
            f.value.type = sub
            _plusify(f.value, module)
    obj.fields = fields


def _snake_tree(node: cst.CSTNode) -> bool:
    """Does a dict, or a dict nested in it, have a snake_case key (outside maps such as labels)?"""
    found = []

    class Keys(cst.CSTVisitor):
        def visit_DictElement(self, el: cst.DictElement) -> bool:
            key = _literal(el.key)
            if isinstance(key, str):
                if looks_snake(key):
                    found.append(key)
                if key in MAP_FIELDS:
                    return False
            return not found

    node.visit(Keys())
    return bool(found)


def _literal(node: cst.CSTNode | None) -> Any:
    """The value of a literal expression (strings, numbers, True/False/None), or _NOT_LITERAL."""
    if isinstance(node, cst.SimpleString):
        try:
            return node.evaluated_value
        except Exception:  # noqa: BLE001 - an unusual prefix: not a plain literal
            return _NOT_LITERAL
    if isinstance(node, cst.ConcatenatedString):
        left, right = _literal(node.left), _literal(node.right)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        return _NOT_LITERAL
    if isinstance(node, cst.Integer):
        return int(node.value.replace("_", ""), 0)
    if isinstance(node, cst.Float):
        return float(node.value.replace("_", ""))
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = _literal(node.expression)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner
    return _NOT_LITERAL


def literal(node: cst.CSTNode | None) -> Any:
    """The value of a literal expression, or None when it is not one."""
    out = _literal(node)
    return None if out is _NOT_LITERAL else out
