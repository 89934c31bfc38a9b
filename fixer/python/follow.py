"""Following values through the code where only one reading is possible: ``self.x`` read in a method of
the class that assigns it exactly once, and the result of a function of the file that is called exactly
once and ends in its only ``return``. Anything else is left to the caller to report with its line.

Only the file itself is read; an edit of what such a function returns or such an attribute holds changes
exactly the one pod that reads it, which is why a function called twice is not followed.
"""

from __future__ import annotations

from typing import Iterator

import libcst as cst
from libcst.metadata import ExpressionContext, ExpressionContextProvider

_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


def enclosing(source, node: cst.CSTNode, kind) -> cst.CSTNode | None:
    cur = source.parents.get(node)
    while cur is not None and not isinstance(cur, kind):
        cur = source.parents.get(cur)
    return cur


def _method_self(source, node: cst.CSTNode) -> tuple[cst.ClassDef | None, str]:
    """The class of the method ``node`` is in, and the name of that method's first parameter."""
    func = enclosing(source, node, cst.FunctionDef)
    while func is not None:
        block = source.parents.get(func)
        cls = source.parents.get(block) if isinstance(block, cst.IndentedBlock) else None
        if isinstance(cls, cst.ClassDef):
            params = func.params.params
            static = any(isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
                         for d in func.decorators)
            return (cls, params[0].name.value) if params and not static else (None, "")
        func = enclosing(source, func, cst.FunctionDef)
    return None, ""


def _self_attributes(source, cls: cst.ClassDef) -> dict[str, list[tuple[cst.Attribute, bool]]]:
    """Every ``self.x`` of the class's methods: attribute name -> [(node, written)]."""
    cache = source.follow_cache.setdefault("attrs", {})
    if id(cls) in cache:
        return cache[id(cls)]
    contexts = source.expression_contexts()
    found: dict[str, list[tuple[cst.Attribute, bool]]] = {}
    for stmt in cls.body.body:
        if not isinstance(stmt, cst.FunctionDef) or not stmt.params.params:
            continue
        me = stmt.params.params[0].name.value
        for node in _walk(stmt.body):
            if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == me:
                written = contexts.get(node) in (ExpressionContext.STORE, ExpressionContext.DEL)
                found.setdefault(node.attr.value, []).append((node, written))
    cache[id(cls)] = found
    return found


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield node
    for child in node.children:
        yield from _walk(child)


def self_attribute(source, node: cst.Attribute) -> tuple[cst.BaseExpression | None, str]:
    """The value ``self.x`` holds when the class assigns it exactly once (``self.x = value``), or (None, why
    not); (None, "") when ``node`` is not an attribute of ``self``."""
    if not isinstance(node.value, cst.Name):
        return None, ""
    cls, me = _method_self(source, node)
    if cls is None or node.value.value != me:
        return None, ""
    name = f"self.{node.attr.value}"
    writes = [n for n, written in _self_attributes(source, cls).get(node.attr.value, []) if written]
    if not writes:
        return None, f"`{name}` is not assigned in class {cls.name.value} (set at run time)"
    if len(writes) > 1:
        lines = ", ".join(str(source.line(w)) for w in writes)
        return None, f"`{name}` is assigned more than once (lines {lines})"
    target = source.parents.get(writes[0])
    stmt = source.parents.get(target) if isinstance(target, cst.AssignTarget) else target
    if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1 and stmt.targets[0].target is writes[0]:
        return stmt.value, ""
    if isinstance(stmt, cst.AnnAssign) and stmt.value is not None and stmt.target is writes[0]:
        return stmt.value, ""
    return None, f"`{name}` is set at line {source.line(writes[0])} in a way kfix does not follow"


def self_attribute_reads(source, target: cst.Attribute) -> list[cst.Attribute]:
    """Where the class reads the ``self.x`` that ``target`` assigns."""
    cls, me = _method_self(source, target)
    if cls is None or not isinstance(target.value, cst.Name) or target.value.value != me:
        return []
    return [n for n, written in _self_attributes(source, cls).get(target.attr.value, []) if not written]


def _function(source, func: cst.BaseExpression) -> tuple[cst.FunctionDef | None, list[cst.CSTNode]]:
    """The function of this file a call names (a plain name or ``self.method``) and every place that names it."""
    if isinstance(func, cst.Name):
        scope = source.scopes.get(func)
        if scope is None:
            return None, []
        assignments = list(scope[func.value])
        if len(assignments) != 1 or not isinstance(getattr(assignments[0], "node", None), cst.FunctionDef):
            return None, []
        return assignments[0].node, [ref.node for ref in assignments[0].references]
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        cls, me = _method_self(source, func)
        if cls is None or func.value.value != me:
            return None, []
        defs = [s for s in cls.body.body if isinstance(s, cst.FunctionDef) and s.name.value == func.attr.value]
        if len(defs) != 1:
            return None, []
        uses = [n for n, _ in _self_attributes(source, cls).get(func.attr.value, [])]
        return defs[0], uses
    return None, []


def _returns(fdef: cst.FunctionDef) -> tuple[list[cst.Return], bool]:
    """The function's own return statements (not those of nested functions), and whether it yields."""
    returns: list[cst.Return] = []
    yields = []

    class Visit(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is fdef

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Return(self, node: cst.Return) -> None:
            returns.append(node)

        def visit_Yield(self, node: cst.Yield) -> None:
            yields.append(node)

    fdef.visit(Visit())
    return returns, bool(yields)


def function_result(source, call: cst.Call) -> tuple[cst.BaseExpression | None, str]:
    """What a call of a function of this file returns, when that function is called only here, has no
    decorators, and ends in its only ``return``; (None, why not), or (None, "") for other callees."""
    fdef, uses = _function(source, call.func)
    if fdef is None:
        return None, ""
    name = fdef.name.value
    if fdef.decorators:
        return None, f"`{name}` has decorators"
    returns, yields = _returns(fdef)
    body = fdef.body.body if isinstance(fdef.body, cst.IndentedBlock) else []
    last = body[-1] if body else None
    final = last.body[-1] if isinstance(last, cst.SimpleStatementLine) and last.body else None
    if yields or len(returns) != 1 or returns[0] is not final or returns[0].value is None:
        return None, f"`{name}` (line {source.line(fdef)}) does not end in its only return statement"
    if len(uses) != 1:
        lines = ", ".join(str(source.line(u)) for u in uses)
        return None, (f"`{name}` is used {len(uses)} times (lines {lines}); kfix edits what a function returns "
                      "only when one call reads it")
    return returns[0].value, ""


def call_of_return(source, ret: cst.Return) -> cst.Call | None:
    """The one call that receives what ``ret`` returns (see ``function_result``)."""
    fdef = enclosing(source, ret, (cst.FunctionDef, cst.Lambda))
    if not isinstance(fdef, cst.FunctionDef):
        return None
    owner = source.parents.get(source.parents.get(fdef))
    if isinstance(owner, cst.ClassDef):
        cls, _ = _method_self(source, fdef.body)
        uses = [n for n, _ in _self_attributes(source, cls).get(fdef.name.value, [])] if cls is not None else []
    else:
        scope = source.scopes.get(fdef)
        assignments = list(scope[fdef.name.value]) if scope is not None else []
        uses = [r.node for r in assignments[0].references] if len(assignments) == 1 else []
    if len(uses) != 1:
        return None
    call = source.parents.get(uses[0])
    if isinstance(call, cst.Call) and call.func is uses[0] and function_result(source, call)[0] is ret.value:
        return call
    return None
