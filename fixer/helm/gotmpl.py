"""Split a Helm template into text and `{{ }}` actions and nest its control blocks.

Charts are Go templates, not YAML: kfix reads their structure (if/with/range/define)
so it can tell, for each piece of text, under which conditions and with which `.` it
renders — without a Helm binary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kfix.helm.expr import ExprError, Pipe, parse_pipe


class TemplateError(ValueError):
    """A template kfix cannot tokenize or nest (reported with its line)."""

    def __init__(self, msg: str, line: int):
        super().__init__(f"line {line}: {msg}")
        self.line = line


@dataclass
class Token:
    kind: str  # "text" | "action" | "comment"
    start: int  # offset of the first char (the `{` for actions)
    end: int  # offset after the last char
    body: str = ""  # action text without delimiters and trim markers


@dataclass
class Action:
    tok: Token
    pipe: Pipe | None  # None for keywords without a pipeline
    word: str = ""  # keyword: if, else, end, range, with, define, template, block, ...
    name: str = ""  # define/template/block name


@dataclass
class Branch:
    word: str  # "if", "else if", "with", "else with", "range", "else"
    action: Action
    body: list = field(default_factory=list)


@dataclass
class Block:
    kind: str  # "if" | "with" | "range"
    branches: list[Branch]
    end: Token | None = None


@dataclass
class Define:
    name: str
    action: Action
    body: list
    end: Token | None = None


_OPEN = re.compile(r"\{\{(-\s)?")


_SPECIAL = re.compile(r"[\"'`]|/\*|\}\}")


def _action_end(src: str, pos: int) -> int:
    """Offset just after the `}}` closing the action whose body starts at pos."""
    n = len(src)
    while (m := _SPECIAL.search(src, pos)) is not None:
        c = m.group()
        if c == "}}":
            return m.end()
        if c == "/*":
            j = src.find("*/", m.end())
            pos = (j if j >= 0 else n) + 2
        elif c == "`":
            j = src.find("`", m.end())
            pos = (j if j >= 0 else n) + 1
        else:
            j = m.end()
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            pos = j + 1
    return -1


def line_of(src: str, offset: int) -> int:
    return src.count("\n", 0, offset) + 1


def tokenize(src: str) -> list[Token]:
    toks: list[Token] = []
    pos = 0
    while True:
        m = _OPEN.search(src, pos)
        if not m:
            break
        if m.start() > pos:
            toks.append(Token("text", pos, m.start()))
        end = _action_end(src, m.end())
        if end < 0:
            raise TemplateError("unclosed {{", line_of(src, m.start()))
        inner = src[m.end():end - 2]
        inner = re.sub(r"\s-$", "", inner.rstrip()).strip()  # drop the ` -}}` trim marker
        kind = "comment" if inner.startswith("/*") else "action"
        toks.append(Token(kind, m.start(), end, inner))
        pos = end
    if pos < len(src):
        toks.append(Token("text", pos, len(src)))
    return toks


_WORDS = ("if", "else", "end", "range", "with", "define", "template", "block", "break", "continue")


def _action(src: str, tok: Token) -> Action:
    body = tok.body
    m = re.match(r"([a-z]+)\b\s*(.*)$", body, re.S)
    word = m.group(1) if m and m.group(1) in _WORDS else ""
    rest = m.group(2) if word else body
    name = ""
    try:
        if word == "else":
            sub = re.match(r"(if|with)\b\s*(.*)$", rest, re.S)
            if sub:
                return Action(tok, parse_pipe(sub.group(2)), "else " + sub.group(1))
            return Action(tok, None, "else")
        if word in ("define", "template", "block"):
            nm = re.match(r'"((?:[^"\\]|\\.)*)"\s*(.*)$', rest, re.S) or re.match(r"`([^`]*)`\s*(.*)$", rest, re.S)
            if not nm:
                raise TemplateError(f"{word} without a name", line_of(src, tok.start))
            name, rest = nm.group(1), nm.group(2)
            return Action(tok, parse_pipe(rest) if rest.strip() else None, word, name)
        if word in ("end", "break", "continue"):
            return Action(tok, None, word)
        return Action(tok, parse_pipe(rest), word)
    except ExprError as e:
        raise TemplateError(f"cannot parse {{{{ {body} }}}}: {e}", line_of(src, tok.start)) from None


def parse(src: str) -> list:
    """Nest tokens into Text tokens, Actions, Blocks and Defines."""
    root: list = []
    stack: list[tuple[object, list]] = []  # (Block|Define, current body)
    body = root
    for tok in tokenize(src):
        if tok.kind == "comment":
            continue
        if tok.kind == "text":
            body.append(tok)
            continue
        act = _action(src, tok)
        w = act.word
        if w in ("if", "with", "range"):
            blk = Block(w, [Branch(w, act)])
            body.append(blk)
            stack.append((blk, body))
            body = blk.branches[0].body
        elif w in ("define", "block"):
            d = Define(act.name, act, [])
            if w == "block":  # a block both defines and renders a template
                body.append(Action(tok, act.pipe, "template", act.name))
            body.append(d)
            stack.append((d, body))
            body = d.body
        elif w.startswith("else"):
            if not stack or not isinstance(stack[-1][0], Block):
                raise TemplateError("else outside if/with/range", line_of(src, tok.start))
            blk = stack[-1][0]
            br = Branch(w, act)
            blk.branches.append(br)
            body = br.body
        elif w == "end":
            if not stack:
                raise TemplateError("end without a block", line_of(src, tok.start))
            node, body = stack.pop()
            node.end = tok
        else:
            body.append(act)
    if stack:
        node = stack[-1][0]
        start = node.action.tok.start if isinstance(node, Define) else node.branches[0].action.tok.start
        raise TemplateError("block without end", line_of(src, start))
    return root


def defines(nodes: list) -> list[Define]:
    """All `define`d templates, including ones nested in blocks."""
    out: list[Define] = []
    for n in nodes:
        if isinstance(n, Define):
            out.append(n)
            out.extend(defines(n.body))
        elif isinstance(n, Block):
            for br in n.branches:
                out.extend(defines(br.body))
    return out
