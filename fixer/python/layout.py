"""Where new arguments, dict entries and list items go, and the whitespace they take from their neighbours.

A call, a dict and a list all hold a sequence of elements separated by commas; what differs is where the
whitespace before the closing bracket lives. ``extend`` appends elements after the last one, after any
comment lines that follow it, with the separator the existing elements use (one per line, indented as
they are, or inline), and keeps a trailing comma only where the file had one. ``remove`` takes elements
out, the last one handing its comma and closing whitespace to the one before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import libcst as cst

_PW = cst.ParenthesizedWhitespace


@dataclass(frozen=True)
class Style:
    """How the elements of one bracket are laid out."""

    multiline: bool
    indent: bool  # ParenthesizedWhitespace.indent of the element lines
    item: str  # extra indentation of the element lines (relative to the statement)
    close: str  # extra indentation of the closing bracket's line
    trailing: bool  # a comma after the last element

    @property
    def step(self) -> str:
        extra = len(self.item) - len(self.close)
        return " " * (extra if extra > 0 else 4)

    def nested(self) -> "Style":
        """The style of a new bracket opened on one of these element lines."""
        return Style(True, self.indent, self.item + self.step, self.item, self.trailing)


INLINE = Style(False, True, "", "", False)


def line_break(indent: bool, extra: str) -> _PW:
    return _PW(first_line=cst.TrailingWhitespace(), empty_lines=[], indent=indent,
               last_line=cst.SimpleWhitespace(extra))


def _tail(node: cst.CSTNode) -> cst.BaseParenthesizableWhitespace:
    """The whitespace before the closing bracket (after the last element and its comma, if any)."""
    if isinstance(node, cst.Call):
        if not node.args:
            return cst.SimpleWhitespace("")
        last = node.args[-1]
        return last.comma.whitespace_after if isinstance(last.comma, cst.Comma) else last.whitespace_after_arg
    if isinstance(node, cst.Dict):
        return node.rbrace.whitespace_before
    if isinstance(node, cst.ImportFrom):
        return node.rpar.whitespace_before if node.rpar is not None else cst.SimpleWhitespace("")
    return node.rbracket.whitespace_before


def _with_tail(node: cst.CSTNode, ws) -> cst.CSTNode:
    if isinstance(node, cst.Dict):
        return node.with_changes(rbrace=node.rbrace.with_changes(whitespace_before=ws))
    if isinstance(node, cst.ImportFrom):
        return node.with_changes(rpar=node.rpar.with_changes(whitespace_before=ws)) if node.rpar is not None else node
    return node.with_changes(rbracket=node.rbracket.with_changes(whitespace_before=ws))


def _opening(node: cst.CSTNode) -> cst.BaseParenthesizableWhitespace:
    if isinstance(node, cst.Call):
        return node.whitespace_before_args
    if isinstance(node, cst.Dict):
        return node.lbrace.whitespace_after
    if isinstance(node, cst.ImportFrom):
        return node.lpar.whitespace_after if node.lpar is not None else cst.SimpleWhitespace("")
    return node.lbracket.whitespace_after


def _elements(node: cst.CSTNode) -> Sequence:
    if isinstance(node, cst.Call):
        return node.args
    if isinstance(node, cst.ImportFrom):
        return node.names
    return node.elements


def style_of(node: cst.CSTNode) -> Style:
    """The layout of a call's arguments, a dict's entries or a list's items."""
    els = _elements(node)
    if not els:
        return INLINE
    last = els[-1]
    trailing = isinstance(last.comma, cst.Comma)
    tail = _tail(node)
    seps = [e.comma.whitespace_after for e in els[:-1] if isinstance(e.comma, cst.Comma)]
    sep = seps[-1] if seps else _opening(node)
    if isinstance(sep, _PW):
        close = tail.last_line.value if isinstance(tail, _PW) else sep.last_line.value
        return Style(True, sep.indent, sep.last_line.value, close, trailing and isinstance(tail, _PW))
    return Style(False, True, "", "", False)


def _separator(node: cst.CSTNode) -> cst.BaseParenthesizableWhitespace:
    els = _elements(node)
    seps = [e.comma.whitespace_after for e in els[:-1] if isinstance(e.comma, cst.Comma)]
    sep = seps[-1] if seps else _opening(node)
    if isinstance(sep, _PW):
        return line_break(sep.indent, sep.last_line.value)
    if seps and isinstance(sep, cst.SimpleWhitespace) and "\\" not in sep.value and "\n" not in sep.value:
        return cst.SimpleWhitespace(sep.value)
    return cst.SimpleWhitespace(" ")


def _comma_before(node: cst.CSTNode) -> cst.BaseParenthesizableWhitespace:
    for e in _elements(node):
        if isinstance(e.comma, cst.Comma):
            return e.comma.whitespace_before
    return cst.SimpleWhitespace("")


def _join(tail: cst.BaseParenthesizableWhitespace, sep: cst.BaseParenthesizableWhitespace):
    """What follows the old last element's new comma: its own comment and comment lines, then ``sep``."""
    if isinstance(tail, _PW):
        if isinstance(sep, _PW):
            return tail.with_changes(indent=sep.indent, last_line=sep.last_line)
        return tail  # an inline list closed on its own line: the new item starts the closing line's indent
    return sep


def _fresh(tail: cst.BaseParenthesizableWhitespace):
    """The whitespace before the closing bracket after the new last element (without the old comments)."""
    if isinstance(tail, _PW):
        return line_break(tail.indent, tail.last_line.value)
    if isinstance(tail, cst.SimpleWhitespace) and ("\n" in tail.value or "\\" in tail.value):
        return cst.SimpleWhitespace("")
    return tail


def extend(node: cst.CSTNode, new: list) -> cst.CSTNode:
    """``node`` (Call, Dict, List, ImportFrom) with the elements ``new`` (without commas) appended."""
    if not new:
        return node
    els = list(_elements(node))
    if not els:
        items = [n.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for n in new[:-1]]
        items.append(new[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT))
        return _with_elements(node, items)
    sep = _separator(node)
    before = _comma_before(node)
    last = els[-1]
    tail = _tail(node)
    trailing = isinstance(last.comma, cst.Comma)
    middle = [n.with_changes(comma=cst.Comma(whitespace_before=before, whitespace_after=sep)) for n in new[:-1]]
    if isinstance(node, cst.Call):
        if trailing:
            els[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=_join(tail, sep)))
            final = new[-1].with_changes(comma=cst.Comma(whitespace_before=before, whitespace_after=_fresh(tail)))
        else:
            els[-1] = last.with_changes(comma=cst.Comma(whitespace_before=before, whitespace_after=_join(tail, sep)),
                                        whitespace_after_arg=cst.SimpleWhitespace(""))
            final = new[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=_fresh(tail))
        return _with_elements(node, els + middle + [final])
    old_comma = last.comma if trailing else cst.Comma(whitespace_before=before)
    els[-1] = last.with_changes(comma=old_comma.with_changes(whitespace_after=_join(tail, sep)))
    final = new[-1].with_changes(comma=cst.Comma(whitespace_before=before, whitespace_after=last.comma.whitespace_after)
                                 if trailing else cst.MaybeSentinel.DEFAULT)
    return _with_tail(_with_elements(node, els + middle + [final]), _fresh(tail))


def _comments(node: cst.CSTNode) -> list[str]:
    found: list[str] = []

    class Visit(cst.CSTVisitor):
        def visit_Comment(self, comment: cst.Comment) -> None:
            found.append(comment.value)

    node.visit(Visit())
    return found


def _with_comment_lines(ws, comments: list[str]):
    """``ws`` (the line break before an element) with ``comments`` as lines of their own before that element."""
    lines = [cst.EmptyLine(indent=ws.indent, whitespace=cst.SimpleWhitespace(ws.last_line.value),
                           comment=cst.Comment(c)) for c in comments]
    return ws.with_changes(empty_lines=[*ws.empty_lines, *lines])


def _with_opening(node: cst.CSTNode, ws) -> cst.CSTNode:
    if isinstance(node, cst.Call):
        return node.with_changes(whitespace_before_args=ws)
    if isinstance(node, cst.Dict):
        return node.with_changes(lbrace=node.lbrace.with_changes(whitespace_after=ws))
    return node.with_changes(lbracket=node.lbracket.with_changes(whitespace_after=ws))


def _keep_comments(node: cst.CSTNode, drop: set[int]) -> tuple[cst.CSTNode, list[str]]:
    """``node`` where each element that follows removed elements carries their comments as lines of their
    own (kfix never drops a comment), and the comments of removed elements that no kept element follows."""
    out = list(_elements(node))
    opening = _opening(node)
    carried: list[str] = []
    kept = -1  # the last element kept so far: its comma's line break now leads to the next kept one
    for i, e in enumerate(list(out)):
        if i in drop:
            carried += _comments(e)
            continue
        if carried:
            prev = out[kept] if kept >= 0 else None
            before = (prev.comma.whitespace_after if isinstance(prev.comma, cst.Comma) else None) \
                if prev is not None else opening
            if not isinstance(before, _PW):
                raise ValueError("no line of its own for a comment of a removed element")
            if prev is None:
                opening = _with_comment_lines(before, carried)
            else:
                out[kept] = prev.with_changes(comma=prev.comma.with_changes(
                    whitespace_after=_with_comment_lines(before, carried)))
            carried = []
        kept = i
    return _with_opening(_with_elements(node, out), opening), carried


def _emptied_keeping_comments(node: cst.CSTNode) -> cst.CSTNode:
    """``node`` without elements, its comments on lines of their own between the brackets."""
    style = style_of(node)
    comments = _comments(node.with_changes(func=cst.Name("f")) if isinstance(node, cst.Call) else node)
    lines = [cst.EmptyLine(indent=style.indent, whitespace=cst.SimpleWhitespace(style.item), comment=cst.Comment(c))
             for c in comments]
    inside = _PW(first_line=cst.TrailingWhitespace(), empty_lines=lines, indent=style.indent,
                 last_line=cst.SimpleWhitespace(style.close))
    empty = _with_elements(node, [])
    if isinstance(node, cst.Call):
        return empty.with_changes(whitespace_before_args=inside)
    if isinstance(node, cst.Dict):
        return empty.with_changes(lbrace=cst.LeftCurlyBrace(whitespace_after=inside), rbrace=cst.RightCurlyBrace())
    return empty.with_changes(lbracket=node.lbracket.with_changes(whitespace_after=inside),
                              rbracket=node.rbracket.with_changes(whitespace_before=cst.SimpleWhitespace("")))


def removable(node: cst.CSTNode, drop: set[int]) -> bool:
    """Can the elements at ``drop`` go without losing a comment?"""
    try:
        remove(node, drop)
    except ValueError:
        return False
    return True


def _inner_comments(node: cst.CSTNode) -> list[str]:
    return _comments(node.with_changes(func=cst.Name("f")) if isinstance(node, cst.Call) else node)


def remove(node: cst.CSTNode, drop: set[int]) -> cst.CSTNode:
    """``node`` without the elements at the positions ``drop``. Comments in them stay, as lines of their own
    before the next element or the closing bracket (ValueError when the layout has no line for them)."""
    if len(drop) >= len(_elements(node)) and _inner_comments(node):
        if not style_of(node).multiline:
            raise ValueError("no line of its own for a comment of a removed element")
        return _emptied_keeping_comments(node)
    carried: list[str] = []
    if any(_comments(e) for i, e in enumerate(_elements(node)) if i in drop):
        node, carried = _keep_comments(node, drop)
    els = list(_elements(node))
    keep = [e for i, e in enumerate(els) if i not in drop]
    if not keep:
        out = _with_elements(node, [])
        if isinstance(node, cst.Call):
            return out.with_changes(whitespace_before_args=cst.SimpleWhitespace(""))
        if isinstance(node, cst.Dict):
            return out.with_changes(lbrace=cst.LeftCurlyBrace(), rbrace=cst.RightCurlyBrace())
        return out.with_changes(lbracket=node.lbracket.with_changes(whitespace_after=cst.SimpleWhitespace("")),
                                rbracket=node.rbracket.with_changes(whitespace_before=cst.SimpleWhitespace("")))
    old_last = els[-1]
    if keep[-1] is old_last:
        return _with_elements(node, keep)
    # the old last element went: the new last one takes its ending, keeping the comments on the way there
    new_last = keep[-1]
    own = new_last.comma.whitespace_after if isinstance(new_last.comma, cst.Comma) else None
    tail = _tail(node)
    lost = _comments(own) if own is not None else []
    if isinstance(tail, _PW) and tail.first_line.comment is not None:
        carried.append(tail.first_line.comment.value)  # the removed last element's own end-of-line comment
        tail = tail.with_changes(first_line=cst.TrailingWhitespace())
    if lost or carried:
        if not isinstance(tail, _PW) or (own is not None and not isinstance(own, _PW)):
            raise ValueError("no line of its own for a comment of a removed element")
        lines = [cst.EmptyLine(indent=tail.indent, whitespace=cst.SimpleWhitespace(_item_indent(node)),
                               comment=cst.Comment(c)) for c in carried]
        tail = tail.with_changes(first_line=own.first_line if own is not None else tail.first_line,
                                 empty_lines=[*(own.empty_lines if own is not None else []), *lines,
                                              *tail.empty_lines])
    if isinstance(node, cst.Call):
        if isinstance(old_last.comma, cst.Comma):
            keep[-1] = new_last.with_changes(comma=old_last.comma.with_changes(whitespace_after=tail),
                                             whitespace_after_arg=old_last.whitespace_after_arg)
        else:
            keep[-1] = new_last.with_changes(comma=old_last.comma, whitespace_after_arg=tail)
        return _with_elements(node, keep)
    keep[-1] = new_last.with_changes(comma=old_last.comma)
    return _with_tail(_with_elements(node, keep), tail)


def _item_indent(node: cst.CSTNode) -> str:
    return style_of(node).item


def _with_elements(node: cst.CSTNode, els: list) -> cst.CSTNode:
    if isinstance(node, cst.Call):
        return node.with_changes(args=els)
    if isinstance(node, cst.ImportFrom):
        return node.with_changes(names=els)
    return node.with_changes(elements=els)


def explode(node: cst.CSTNode, style: Style) -> cst.CSTNode:
    """An inline call, dict or list laid out one element per line in ``style`` (what a formatter would do
    when the new elements make the line too long); only whitespace between the elements changes."""
    els = list(_elements(node))
    if not els:
        return node
    item = line_break(style.indent, style.item)
    close = line_break(style.indent, style.close)
    out = []
    for i, e in enumerate(els):
        last = i == len(els) - 1
        if not last:
            comma = e.comma if isinstance(e.comma, cst.Comma) else cst.Comma()
            e = e.with_changes(comma=comma.with_changes(whitespace_after=item))
        elif style.trailing:
            comma = e.comma if isinstance(e.comma, cst.Comma) else cst.Comma()
            ws = close if isinstance(node, cst.Call) else cst.SimpleWhitespace("")
            e = e.with_changes(comma=comma.with_changes(whitespace_after=ws))
        else:
            e = e.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        if isinstance(node, cst.Call):
            e = e.with_changes(whitespace_after_arg=close if last and not style.trailing else cst.SimpleWhitespace(""))
        out.append(e)
    tail_ws = close
    if isinstance(node, cst.Call):
        return node.with_changes(args=out, whitespace_before_args=item)
    if isinstance(node, cst.ImportFrom):
        return node.with_changes(names=out, lpar=cst.LeftParen(whitespace_after=item),
                                 rpar=cst.RightParen(whitespace_before=tail_ws))
    if isinstance(node, cst.Dict):
        return node.with_changes(elements=out, lbrace=node.lbrace.with_changes(whitespace_after=item),
                                 rbrace=node.rbrace.with_changes(whitespace_before=tail_ws))
    return node.with_changes(elements=out, lbracket=node.lbracket.with_changes(whitespace_after=item),
                             rbracket=node.rbracket.with_changes(whitespace_before=tail_ws))
