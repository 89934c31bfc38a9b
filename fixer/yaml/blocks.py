"""Block scalars (``|`` and ``>``) next to lines that are removed or added.

A block scalar runs until the first non-blank line indented less than its content. With keep chomping
(``+``) the blank lines before that line are part of its value, and unless it strips (``-``) so is the
line break of its last line. Lines removed or added right after one can therefore change its value: once
the line that ended it is gone, the blank lines or deeper-indented comments after it would join it; and in
a file without a final line break, removing the last lines takes the break that ends it. ``guard_splices``
keeps every edit from changing a block scalar: a removal that would hand blank lines to a kept scalar takes
them too, and what cannot be written without changing one is refused with the scalar's line.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kfix.errors import EditUnsupported

Splice = tuple[int, int, str]
_HEADER = re.compile(r"[|>](?:([1-9])([+-]?)|([+-]?)([1-9]?))$")
# what every block scalar's header line ends with: the indicator, its modifiers, spaces and a comment
_MAY_BE_HEADER = re.compile("[|>][-+1-9]{0,2}[ \t]*(?:#[^\n\r\x85\u2028\u2029]*)?(?:[\n\r\x85\u2028\u2029]|\\Z)")


@dataclass(frozen=True)
class Block:
    """Where a block scalar's value ends in the text, and what may follow it."""

    line: int  # 1-based line of its header
    body_end: int  # just past its last non-blank character (its header's end when it has no content)
    end: int  # where it ends: the start of the first line that is not part of it, or the end of the text
    indent: int  # its content's indentation, or (explicit indicator, no content) the least it can be
    chomp: str  # "+" (keep), "-" (strip) or "" (clip)


def find_blocks(text: str, root: Node | None) -> list[Block]:
    """The block scalars under ``root``, in text order."""
    if root is None or _MAY_BE_HEADER.search(text) is None:  # most manifests have none: no walk over the nodes
        return []
    found: dict[int, Block] = {}
    stack = [root] if root is not None else []
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            stack.extend(n for pair in node.value for n in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, ScalarNode) and node.style in ("|", ">"):
            block = _block(text, node)
            found[block.body_end] = block
    return [found[k] for k in sorted(found)]


def value_end(text: str, node: ScalarNode) -> int:
    """End of a block scalar's last line that belongs to its value (before that line's break): its last
    content line, or its last trailing line when those are content too (kept, or indented past its content)."""
    block = _block(text, node)
    if not _kept_tail(text, block):
        return block.body_end
    end, header_end = block.end, _line_end(text, node.start_mark.index)
    if text[end - 2:end] == "\r\n":
        return max(end - 2, header_end)
    return max(end - 1, header_end) if text[end - 1:end] == "\n" else end


def _block(text: str, node: ScalarNode) -> Block:
    start, end = node.start_mark.index, node.end_mark.index
    line_start = text.rfind("\n", 0, start) + 1
    header_end = _line_end(text, start)
    tokens = text[start:header_end].split("#")[0].split() if start < header_end else []
    header = next((t for t in tokens if t[:1] in "|>"), "")
    m = _HEADER.match(header)
    chomp = (m.group(2) or m.group(3) or "") if m else "+"  # an unreadable header: assume the most that is kept
    explicit = not m or bool(m.group(1) or m.group(4))
    least = _spaces(text[line_start:header_end]) + 1  # content is indented deeper than its key or dash
    body_end = end
    while body_end > header_end and text[body_end - 1] in " \t\r\n":
        body_end -= 1
    indent = least
    if not explicit:
        pos = _next_line(text, header_end)
        while pos < end:
            line = text[pos:_line_end(text, pos)]
            if line.strip(" \r"):
                indent = max(least, _spaces(line))
                break
            pos = _next_line(text, pos)
    return Block(node.start_mark.line + 1, body_end, end, indent, chomp)


def guard_splices(text: str, splices: list[Splice], blocks: list[Block]) -> list[Splice]:
    """``splices`` (sorted, not overlapping) such that no block scalar's value changes: a removal right after
    a kept (``+``) scalar also takes the blank lines it would hand to it; EditUnsupported for the rest."""
    if not blocks or not splices:
        return splices
    body_ends = [b.body_end for b in blocks]
    out: list[Splice] = []
    i = 0
    while i < len(splices):
        s, e, new = splices[i]
        j = bisect.bisect_right(body_ends, s) - 1
        if j < 0 or s > blocks[j].end or (new and s != e):  # not after a block scalar; or edited in place
            out.append(splices[i])
            i += 1
            continue
        block = blocks[j]
        if new:
            _check_added(text, block, s, new)
            out.append(splices[i])
            i += 1
        elif s < block.end:  # the last lines of a file without a final line break, with the break before them
            if block.chomp != "-" or _kept_tail(text, block):
                raise EditUnsupported("the file has no final line break: removing its last lines would change "
                                      "the block scalar before them", block.line)
            out.append(splices[i])
            i += 1
        else:
            taken, i = _after_removal(text, block, splices, i)
            out.extend(taken)
    return out


def _after_removal(text: str, block: Block, splices: list[Splice], i: int) -> tuple[list[Splice], int]:
    """Removals from ``splices[i]`` on that start where ``block`` ends, and the index after them: the text
    that now follows the block scalar must still end it, and blank lines it would keep go with them."""
    start = splices[i][0]
    taken: list[Splice] = []
    blank: int | None = None  # where the blank lines after the removed ones start
    pos = splices[i][0]
    while True:
        if i < len(splices) and splices[i][0] == pos and not splices[i][2]:
            taken.append(splices[i])
            pos = splices[i][1]
            i += 1
            continue
        if i < len(splices) and splices[i][0] == pos == splices[i][1]:  # new lines come next: they end it
            _check_added(text, block, pos, splices[i][2])
            break
        if pos >= len(text):
            break
        line = text[pos:_line_end(text, pos)]
        if line.strip(" \r"):
            if _joins(line, block):
                raise EditUnsupported(f"line {text.count(chr(10), 0, pos) + 1} would become part of the block "
                                      "scalar above it once the lines between them are removed", block.line)
            break
        blank = pos if blank is None else blank
        pos = _next_line(text, pos)
    if blank is None or not (block.chomp == "+" or _over_indented(text, blank, pos, block)):
        return taken, i
    if pos >= len(text) and not text.endswith("\n"):
        raise EditUnsupported("removing these lines would add the blank lines at the end of the file to the "
                              "block scalar before them", block.line)
    return [(start, pos, "")], i


def _check_added(text: str, block: Block, pos: int, new: str) -> None:
    """New lines at ``pos``, at or among the trailing lines of ``block``, must leave its value alone."""
    if pos < block.end:
        if _kept_tail(text, block):
            raise EditUnsupported("new lines here would split the block scalar's trailing lines", block.line)
    elif pos >= len(text) and not text.endswith("\n"):
        return  # the file ends in the scalar without a line break: the whole file is refused, with its reason
        # and line (kfix.yaml.loader.ends_in_open_block_scalar), as a new line after it would give it one
    elif _joins(new.lstrip("\r\n").split("\n")[0], block):
        raise EditUnsupported("new lines here would become part of the block scalar above them", block.line)


def _kept_tail(text: str, block: Block) -> bool:
    """Are the line breaks and blank lines after ``block``'s last content line part of its value?"""
    return block.chomp == "+" or _over_indented(text, _next_line(text, block.body_end), block.end, block)


def _over_indented(text: str, start: int, end: int, block: Block) -> bool:
    """Is a blank line in text[start:end] indented past ``block``'s content (then it is content too)?"""
    return any(_spaces(line) > block.indent or "\t" in line for line in text[start:end].split("\n"))


def _joins(line: str, block: Block) -> bool:
    """Would ``line``, right after ``block``, be part of it?"""
    spaces = _spaces(line)
    return spaces >= block.indent or line[spaces:spaces + 1] == "\t"


def _spaces(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _line_end(text: str, pos: int) -> int:
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl


def _next_line(text: str, pos: int) -> int:
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl + 1
