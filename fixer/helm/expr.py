"""Parse the inside of one Go template action into a small AST.

kfix never executes templates; it only needs the shape of pipelines (which values
path flows through which function) to follow `.Values` keys into rendered fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class ExprError(ValueError):
    """An action body kfix cannot parse."""


@dataclass(frozen=True)
class Dot:
    """`.` — the current context."""


@dataclass(frozen=True)
class Var:
    name: str  # "$" or "$name"


@dataclass(frozen=True)
class Field:
    """A field chain on a base: `.Values.x` (base Dot), `$v.a`, `(pipe).a`."""

    base: object
    names: tuple[str, ...]


@dataclass(frozen=True)
class Lit:
    value: object  # str, int/float, bool or None


@dataclass(frozen=True)
class Ident:
    name: str  # a function name


@dataclass(frozen=True)
class Pipe:
    cmds: tuple[tuple[object, ...], ...]
    decl: tuple[str, ...] = ()
    assign: bool = False  # `=` rather than `:=`
    text: str = ""


_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<str>"(?:[^"\\]|\\.)*")
    |(?P<raw>`[^`]*`)
    |(?P<chr>'(?:[^'\\]|\\.)*')
    |(?P<decl>:=)|(?P<eq>=)|(?P<pipe>\|)|(?P<lp>\()|(?P<rp>\))|(?P<comma>,)
    |(?P<var>\$[A-Za-z0-9_]*)
    |(?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
    |(?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+))
    |(?P<dot>\.)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)""",
    re.X,
)


def _lex(text: str) -> list[tuple[str, str, bool]]:
    """Tokens as (kind, text, glued) where glued means no space before it."""
    out: list[tuple[str, str, bool]] = []
    pos, glued = 0, False
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExprError(f"cannot read {text[pos:pos + 20]!r}")
        kind = m.lastgroup or ""
        if kind == "ws":
            glued = False
        else:
            out.append((kind, m.group(), glued))
            glued = True
        pos = m.end()
    return out


def _unquote(kind: str, s: str) -> str:
    if kind == "raw":
        return s[1:-1]
    body = s[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


class _Parser:
    def __init__(self, text: str):
        self.toks = _lex(text)
        self.i = 0

    def peek(self) -> tuple[str, str, bool] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def pipe(self, text: str = "") -> Pipe:
        decl: list[str] = []
        assign = False
        # `$a, $b := x` or `$a := x` or `$a = x`
        j, names = self.i, []
        while j < len(self.toks) and self.toks[j][0] == "var":
            names.append(self.toks[j][1])
            j += 1
            if j < len(self.toks) and self.toks[j][0] == "comma":
                j += 1
                continue
            break
        if names and j < len(self.toks) and self.toks[j][0] in ("decl", "eq"):
            decl, assign = names, self.toks[j][0] == "eq"
            self.i = j + 1
        cmds: list[tuple[object, ...]] = []
        args: list[object] = []
        while (t := self.peek()) is not None and t[0] != "rp":
            if t[0] == "pipe":
                self.i += 1
                cmds.append(tuple(args))
                args = []
                continue
            args.append(self.operand())
        cmds.append(tuple(args))
        return Pipe(tuple(c for c in cmds if c), tuple(decl), assign, text)

    def chain(self, base: object) -> object:
        names = []
        while (t := self.peek()) is not None and t[0] == "field" and t[2]:
            names.append(t[1][1:])
            self.i += 1
        return Field(base, tuple(names)) if names else base

    def operand(self) -> object:
        kind, s, _ = self.toks[self.i]
        self.i += 1
        if kind == "var":
            return self.chain(Var(s))
        if kind == "field":
            self.i -= 1
            names = [s[1:]]
            self.i += 1
            while (t := self.peek()) is not None and t[0] == "field" and t[2]:
                names.append(t[1][1:])
                self.i += 1
            return Field(Dot(), tuple(names))
        if kind == "dot":
            return Dot()
        if kind == "lp":
            inner = self.pipe()
            if self.peek() is None or self.peek()[0] != "rp":
                raise ExprError("unbalanced (")
            self.i += 1
            return self.chain(inner)
        if kind in ("str", "raw", "chr"):
            return Lit(_unquote(kind, s))
        if kind == "num":
            try:
                return Lit(int(s, 0))
            except ValueError:
                return Lit(float(s))
        if kind == "ident":
            if s in ("true", "false"):
                return Lit(s == "true")
            if s == "nil":
                return Lit(None)
            return Ident(s)
        raise ExprError(f"unexpected {s!r}")


def parse_pipe(text: str) -> Pipe:
    """Parse a pipeline such as `toYaml .Values.x | nindent 8` or `$v := .Values.x`."""
    p = _Parser(text)
    pipe = p.pipe(text.strip())
    if p.peek() is not None:
        raise ExprError("unbalanced )")
    return pipe

