"""Names a template computes, worked out without Helm: `{{ include "grafana.name" . }}-sc-alerts`.

Findings name containers and kinds; a name written as template text says little, so kfix evaluates it
the way Helm would, with the chart's values and release "kfix", as far as it can: text, `if`/`else`,
`$var :=`, `include`/`template` of the chart's named templates, and the string functions name helpers use
(`default`, `trunc`, `trimSuffix`, `printf`, `contains`, ...). Anything else (`with`, `range`, other
functions, chart metadata other than the name) leaves the name unresolved (``Unresolved``), never guessed.
"""

from __future__ import annotations

import re
from typing import Any

from kfix.helm.expr import Dot, Field, Ident, Lit, Pipe, Var
from kfix.helm.gotmpl import Action, Block, Define, TemplateError, Token, parse
from kfix.helm.walk import Helper

MAX_DEPTH = 20  # nested includes


class Unresolved(Exception):
    """The name uses something kfix does not evaluate."""


def evaluate_name(text: str, helpers: dict[str, Helper], values: dict, chart_name: str, release: str,
                  namespace: str) -> str:
    """``text`` rendered with the chart's ``values`` (root context); Unresolved when kfix cannot tell."""
    try:
        nodes = parse(text)
    except TemplateError as exc:
        raise Unresolved(str(exc)) from None
    root = {"Values": values, "Chart": {"Name": chart_name}, "Release": {"Name": release, "Namespace": namespace}}
    out = _Run(helpers).body(nodes, text, root, {"$": root}, 0)
    if not out or any(ch.isspace() for ch in out):
        raise Unresolved("not a name")
    return out


def _truthy(v: Any) -> bool:
    return not (v is None or v is False or v == 0 or v == "" or (isinstance(v, (list, dict)) and not v))


def _text(v: Any) -> str:
    if v is None:
        raise Unresolved("no value")
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (str, int, float)):
        return str(v)
    raise Unresolved("not a plain value")


def _printf(fmt: Any, *args: Any) -> str:
    if not isinstance(fmt, str):
        raise Unresolved("printf format")
    items = list(args)

    def verb(m: re.Match) -> str:
        if m.group() == "%%":
            return "%"
        if not items:
            raise Unresolved("printf arguments")
        return _text(items.pop(0))
    if any(v not in "sdv" for v in re.findall(r"%([^%])", fmt.replace("%%", ""))):
        raise Unresolved("printf verb")
    return re.sub(r"%%|%[sdv]", verb, fmt)


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise Unresolved("not a string")
    return v


FUNCS: dict[str, Any] = {
    "default": lambda d, *v: v[0] if v and _truthy(v[0]) else d,
    "trunc": lambda n, s: _str(s)[:n] if n >= 0 else _str(s)[n:],
    "trimSuffix": lambda x, s: _str(s)[:-len(x)] if x and _str(s).endswith(x) else _str(s),
    "trimPrefix": lambda x, s: _str(s)[len(x):] if x and _str(s).startswith(x) else _str(s),
    "trim": lambda s: _str(s).strip(),
    "lower": lambda s: _str(s).lower(),
    "upper": lambda s: _str(s).upper(),
    "replace": lambda old, new, s: _str(s).replace(_str(old), _str(new)),
    "contains": lambda sub, s: _str(sub) in _str(s),
    "hasPrefix": lambda p, s: _str(s).startswith(_str(p)),
    "hasSuffix": lambda p, s: _str(s).endswith(_str(p)),
    "printf": _printf,
    "print": lambda *a: "".join(_text(x) for x in a),
    "toString": _text,
    "quote": _text,  # a name is read back from YAML, so `"x"` is x
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
    "not": lambda a: not _truthy(a),
    "and": lambda *a: next((x for x in a if not _truthy(x)), a[-1]),
    "or": lambda *a: next((x for x in a if _truthy(x)), a[-1]),
}


class _Run:
    def __init__(self, helpers: dict[str, Helper]):
        self.helpers = helpers

    def body(self, nodes: list, src: str, dot: Any, env: dict, depth: int, trim_first: bool = False) -> str:
        out: list[str] = []
        trim_next = trim_first
        for n in nodes:
            if isinstance(n, Token):
                text = src[n.start:n.end]
                out.append(text.lstrip() if trim_next else text)
                trim_next = False
                continue
            tok = n.branches[0].action.tok if isinstance(n, Block) else n.action.tok if isinstance(n, Define) \
                else n.tok
            if src.startswith("{{-", tok.start) and out:
                out[-1] = out[-1].rstrip()
            if isinstance(n, Define):
                trim_next = _right_trim(src, n.end)
                continue
            if isinstance(n, Block):
                out.append(self.block(n, src, dot, env, depth))
                trim_next = _right_trim(src, n.end)
                continue
            assert isinstance(n, Action)
            out.append(self.action(n, dot, env, depth))
            trim_next = _right_trim(src, n.tok)
        return "".join(out)

    def block(self, blk: Block, src: str, dot: Any, env: dict, depth: int) -> str:
        if blk.kind != "if":
            raise Unresolved(blk.kind)
        for i, br in enumerate(blk.branches):
            if br.word == "else" or (br.action.pipe is not None and _truthy(self.pipe(br.action.pipe, dot, env,
                                                                                          depth))):
                closing = blk.branches[i + 1].action.tok if i + 1 < len(blk.branches) else blk.end
                text = self.body(br.body, src, dot, dict(env), depth, _right_trim(src, br.action.tok))
                if closing is not None and src.startswith("{{-", closing.start):
                    text = text.rstrip()
                return text
            if br.word not in ("if", "else if"):
                raise Unresolved(br.word)
        return ""

    def action(self, act: Action, dot: Any, env: dict, depth: int) -> str:
        if act.word in ("template",):
            arg = self.pipe(act.pipe, dot, env, depth) if act.pipe is not None else None
            return self.include(act.name, arg, depth)
        if act.word or act.pipe is None:
            raise Unresolved(act.word or "action")
        value = self.pipe(act.pipe, dot, env, depth)
        if act.pipe.decl:
            return ""
        return _text(value)

    def include(self, name: str, arg: Any, depth: int) -> str:
        helper = self.helpers.get(name)
        if helper is None or depth >= MAX_DEPTH:
            raise Unresolved(f"template {name}")
        d: Define = helper.define
        text = self.body(d.body, helper.src, arg, {"$": arg}, depth + 1, _right_trim(helper.src, d.action.tok))
        return text.rstrip() if d.end is not None and helper.src.startswith("{{-", d.end.start) else text

    def pipe(self, p: Pipe, dot: Any, env: dict, depth: int) -> Any:
        value: Any = None
        for i, cmd in enumerate(p.cmds):
            value = self.command(cmd, dot, env, depth, (value,) if i else ())
        if p.decl:
            if len(p.decl) != 1:
                raise Unresolved("range variables")
            env[p.decl[0]] = value
        return value

    def command(self, cmd: tuple, dot: Any, env: dict, depth: int, piped: tuple) -> Any:
        head = cmd[0]
        if isinstance(head, Ident):
            args = [self.operand(a, dot, env, depth) for a in cmd[1:]] + list(piped)
            if head.name in ("include", "tpl"):
                if head.name == "tpl" or len(args) != 2 or not isinstance(args[0], str):
                    raise Unresolved(head.name)
                return self.include(args[0], args[1], depth)
            fn = FUNCS.get(head.name)
            if fn is None:
                raise Unresolved(f"function {head.name}")
            try:
                return fn(*args)
            except (TypeError, IndexError) as exc:
                raise Unresolved(f"{head.name}: {exc}") from None
        if len(cmd) != 1 or piped:
            raise Unresolved("not a function")
        return self.operand(head, dot, env, depth)

    def operand(self, x: Any, dot: Any, env: dict, depth: int) -> Any:
        if isinstance(x, Lit):
            return x.value
        if isinstance(x, Dot):
            return dot
        if isinstance(x, Var):
            if x.name not in env:
                raise Unresolved(f"variable {x.name}")
            return env[x.name]
        if isinstance(x, Field):
            base = self.operand(x.base, dot, env, depth)
            for name in x.names:
                if not isinstance(base, dict):
                    raise Unresolved(f"field {name}")
                if name not in base and base.get("Name") is not None and "Values" not in base:
                    raise Unresolved(f"field {name}")  # chart or release facts kfix does not know
                base = base.get(name)
            return base
        if isinstance(x, Pipe):
            return self.pipe(x, dot, dict(env), depth)
        if isinstance(x, Ident):
            return self.command((x,), dot, env, depth, ())
        raise Unresolved("operand")


def _right_trim(src: str, tok: Token | None) -> bool:
    return tok is not None and src.endswith("-}}", 0, tok.end)
