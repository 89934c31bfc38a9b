"""Read the YAML nesting of template lines from their indentation.

Templates are line-oriented YAML with `{{ }}` actions. kfix masks the actions, reads
each remaining line's indentation, `- ` and `key:` to rebuild the mapping/sequence
nesting, and attaches output actions to the node they render under (by their
`nindent`/`indent` or column). Lines of named templates included on their own line
(`include "x.podSpec" . | nindent 6`) are expanded in place, shifted by the indent.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from kfix.helm import absval as A
from kfix.helm.expr import Ident, Lit, Pipe
from kfix.helm.gotmpl import Action, tokenize
from kfix.helm.walk import Cond, Env, Evaluator, Helper, Info, outputs, walk

MASK = "\x01"
_KEY = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#"'{\[\-][^#]*?|-[^\s#][^#]*?)[ \t]*:(?=[ \t\r]|$)""")
_BLOCK = re.compile(r"[|>][0-9+-]*\s*(#.*)?$")
_TEXT = re.compile("[^ \t\r" + MASK + "]")
_FORMAT = {"nindent", "indent", "trim", "trimSuffix", "trimPrefix", "quote"}


@dataclass
class Out:
    """An output action as placed in the YAML: its pipeline, environment and indent."""

    act: Action
    info: Info
    path: str  # chart-relative file
    line: int
    col: int  # effective column of the action
    indent: int  # column its rendered text starts at
    reindent: bool  # piped through nindent/indent
    expanded: bool = False  # its helper's lines follow in the stream
    seq: int = 0  # its line's position in the stream

    @property
    def text(self) -> str:
        return self.act.tok.body


@dataclass
class Line:
    path: str
    lineno: int
    col: int  # effective column of the first non-blank char
    masked: str  # source line, actions replaced by MASK
    raw: str
    shift: int
    info: Info | None  # at the first text char
    outs: list[Out]
    seq: int = 0  # position in the stream (expanded lines included)

    def __post_init__(self) -> None:
        self.has_text = _TEXT.search(self.masked) is not None


@dataclass(eq=False)
class YNode:
    key: str | None  # None: sequence item; "" document root
    col: int
    line: Line | None
    parent: "YNode | None" = None
    children: list["YNode"] = field(default_factory=list)
    value: str = ""  # inline text after `key:` / `- `, actions masked
    raw_value: str = ""  # the same text with its actions
    inline: list[Out] = field(default_factory=list)
    content: list[Out] = field(default_factory=list)

    @property
    def info(self) -> Info | None:
        return self.line.info if self.line else None

    def child(self, key: str) -> list["YNode"]:
        return [c for c in self.children if c.key == key]

    def items(self) -> list["YNode"]:
        return [c for c in self.children if c.key is None]


def render_indent(pipe: Pipe | None) -> int | None:
    """The argument of the pipeline's last nindent/indent, if any."""
    ind = None
    for cmd in pipe.cmds if pipe else ():
        if isinstance(cmd[0], Ident) and cmd[0].name in ("nindent", "indent"):
            lit = next((a.value for a in cmd[1:] if isinstance(a, Lit) and isinstance(a.value, int)), None)
            if lit is not None:
                ind = lit
    return ind


def include_call(act: Action) -> tuple[str, object] | None:
    """(name, argument node) if the action renders a named template, only re-indented."""
    if act.word == "template":
        return act.name, (act.pipe if act.pipe else None)
    p = act.pipe
    if not p or not p.cmds:
        return None
    head = p.cmds[0]
    if not (isinstance(head[0], Ident) and head[0].name in ("include", "template") and len(head) >= 2
            and isinstance(head[1], Lit) and isinstance(head[1].value, str)):
        return None
    if any(not (isinstance(c[0], Ident) and c[0].name in _FORMAT) for c in p.cmds[1:]):
        return None
    return head[1].value, (head[2] if len(head) > 2 else None)


class Stream:
    """Produces the Lines of a template, with structural named templates expanded."""

    def __init__(self, ev: Evaluator, helpers: dict[str, Helper], max_depth: int = 8):
        self.ev, self.helpers, self.max_depth = ev, helpers, max_depth
        self._structural: dict[str, bool] = {}
        self._toks: dict[tuple[str, int], list] = {}
        self._seq = 0

    def structural(self, name: str, seen: frozenset = frozenset()) -> bool:
        """Whether a named template renders YAML lines (directly or via its own includes)."""
        if name in self._structural:
            return self._structural[name]
        h = self.helpers.get(name)
        if h is None or name in seen:
            return False
        res = h.has_text
        if not res:
            for a in outputs(h.define.body):
                call = include_call(a)
                if call and self.structural(call[0], seen | {name}):
                    res = True
                    break
        self._structural[name] = res
        return res

    def lines(self, src: str, path: str, nodes: list, start: int, end: int,
              env: Env, conds: tuple[Cond, ...], shift: int = 0, depth: int = 0) -> list[Line]:
        """Lines of src[start:end] (a file, or a define's body rendered with `env` under
        `conds`), each column shifted right by `shift`."""
        infos: dict[int, Info] = {}
        walk(nodes, env, conds, self.ev, infos)
        key = (path, len(src))
        if key not in self._toks:
            self._toks[key] = tokenize(src)
        toks = [t for t in self._toks[key] if t.end > start and t.start < end]
        acts = {a.tok.start: a for a in outputs(nodes)}
        starts = [t.start for t in toks]
        out: list[Line] = []
        pos = start
        lineno = src.count("\n", 0, start) + 1
        line_start = src.rfind("\n", 0, start) + 1
        while pos < end:
            nl = src.find("\n", pos)
            stop = min(end, nl if nl >= 0 else len(src))
            out.extend(self._line(src, path, lineno, line_start, pos, stop, toks, starts, acts, infos,
                                  shift, depth))
            if nl < 0 or nl >= end:
                break
            pos = line_start = nl + 1
            lineno += 1
        return out

    def _line(self, src, path, lineno, line_start, lo, hi, toks, starts, acts, infos, shift, depth):
        raw = src[line_start:hi]
        chars = list(raw)
        for i in range(line_start, lo):  # before the unit's range: not part of it
            chars[i - line_start] = " "
        i = max(bisect.bisect_right(starts, lo) - 1, 0)
        outs: list[Out] = []
        text_info = None
        while i < len(toks) and toks[i].start < hi:
            t = toks[i]
            if t.kind != "text":
                for k in range(max(t.start, lo), min(t.end, hi)):
                    chars[k - line_start] = MASK
                if lo <= t.start < hi and t.start in acts and t.start in infos:
                    col = t.start - line_start + shift
                    act = acts[t.start]
                    ind = render_indent(act.pipe)
                    outs.append(Out(act, infos[t.start], path, lineno, col,
                                    col if ind is None else ind + shift, ind is not None))
            elif text_info is None and t.start in infos:
                seg = src[max(t.start, lo):min(t.end, hi)]
                if seg.strip():
                    text_info = infos[t.start]
            i += 1
        masked = "".join(chars)
        stripped = masked.lstrip(" \t")
        if not stripped.strip(" \t\r"):
            return []
        self._seq += 1
        line = Line(path, lineno, len(masked) - len(stripped) + shift, masked, raw, shift, text_info, outs,
                    self._seq)
        for o in outs:
            o.seq = self._seq
        if depth >= self.max_depth or not outs or not _expandable_position(line, outs[-1]):
            return [line]
        o = outs[-1]
        call = include_call(o.act)
        if not call or not self.structural(call[0]):
            return [line]
        h = self.helpers[call[0]]
        arg = self.ev.node(call[1], o.info.env) if call[1] is not None else A.UNKNOWN
        o.expanded = True
        body = h.define
        return [line] + self.lines(h.src, h.path, body.body, body.action.tok.end,
                                   body.end.start if body.end else len(h.src),
                                   Env(arg, arg), o.info.conds, o.indent if o.reindent else shift, depth + 1)


def _expandable_position(line: Line, o: Out) -> bool:
    """An include renders lines of its own when it is alone on its line or is the
    whole value of a `key:` (with nindent)."""
    if not line.has_text:
        return True
    before = line.masked[: o.col - line.shift].rstrip()
    after = line.masked[o.col - line.shift:].replace(MASK, "").strip()
    return before.endswith(":") and not after and o.reindent


def unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        return s[1:-1]
    return s


def _target(stack: list[YNode], indent: int) -> YNode:
    """The node an output rendered at `indent` belongs to: the deepest open node left of
    it, or a `key:` at the same column whose block is a flush sequence (`- ` items)."""
    for n in reversed(stack):
        if n.col < indent:
            return n
        if n.col == indent and n.key and not n.value and all(c.key is None for c in n.children):
            return n
    return stack[0]


def build(lines: list[Line]) -> list[YNode]:
    """Nest lines into YAML documents (one root YNode per `---` section)."""
    docs = [YNode("", -1, None)]
    stack: list[YNode] = [docs[0]]
    block_col: int | None = None
    for ln in lines:
        if block_col is not None:
            col = ln.col if ln.has_text else min((o.indent for o in ln.outs), default=ln.col)
            if col > block_col:
                continue
            block_col = None
        body = ln.masked[ln.col - ln.shift:]
        if not ln.has_text:
            for o in ln.outs:
                if not o.expanded:
                    _target(stack, o.indent).content.append(o)
            continue
        if body.startswith("#"):
            continue
        if ln.col == 0 and re.match(r"---(\s|$)", body):
            docs.append(YNode("", -1, None))
            stack = [docs[-1]]
            continue
        col, rest = ln.col, body
        node = None
        while rest.startswith("-") and (len(rest) == 1 or rest[1] in " \t\r"):
            while stack[-1].col > col or (stack[-1].col == col and stack[-1].key is None):
                stack.pop()
            node = YNode(None, col, ln, stack[-1])
            stack[-1].children.append(node)
            stack.append(node)
            stripped = rest[1:].lstrip(" \t")
            col += len(rest) - len(stripped)
            rest = stripped
        m = _KEY.match(rest)
        if m:
            while stack[-1].col >= col:
                stack.pop()
            src_col = col - ln.shift
            key = unquote(ln.raw[src_col:src_col + len(m.group(1))])
            node = YNode(key, col, ln, stack[-1])
            stack[-1].children.append(node)
            stack.append(node)
            rest = rest[m.end():]
            col += m.end()
        if node is None:  # a continuation scalar or flow text: belongs to the open node
            continue
        value_col = col + (len(rest) - len(rest.lstrip(" \t")))
        node.value = rest.strip(" \t\r")
        node.raw_value = ln.raw[value_col - ln.shift:].strip(" \t\r")
        node.inline = [o for o in ln.outs if o.col >= value_col and not o.expanded]
        if _BLOCK.match(node.value):
            block_col = node.col
    return docs
