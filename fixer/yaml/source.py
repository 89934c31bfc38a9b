"""Bytes in, text out, and back: the encoding facts (BOM, line ending) a rewrite must keep."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from kfix.errors import InputError

_BOM = codecs.BOM_UTF8
# Characters a YAML stream may not contain (YAML 1.1 "printable", as libyaml's reader checks it). Found
# here, they are reported with their line; libyaml's own message has no line and spans several.
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class SourceText:
    """A decoded YAML file. ``text`` has no BOM; ``encode`` puts back exactly what was there."""

    text: str
    bom: bool

    def encode(self, text: str | None = None) -> bytes:
        body = (self.text if text is None else text).encode("utf-8")
        return _BOM + body if self.bom else body


def decode(raw: bytes) -> SourceText:
    """Decode UTF-8 (with or without BOM); anything else is an InputError with its line."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InputError("not UTF-8 (UTF-16/32 byte order mark); kfix reads UTF-8 only", 1)
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise InputError("binary file (contains a NUL byte)", raw.count(b"\n", 0, nul) + 1)
    bom = raw.startswith(_BOM)
    body = raw[3:] if bom else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not valid UTF-8 (byte 0x{body[exc.start]:02x})", line) from None
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise InputError(f"control character U+{ord(bad.group()):04X} is not allowed in YAML", line)
    return SourceText(text, bom)


_OTHER_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
_BREAK_NAMES = {"\r": "a lone CR", "\x85": "NEL (U+0085)", "\u2028": "U+2028", "\u2029": "U+2029"}


def other_line_break(text: str) -> InputError | None:
    """The first line break other than LF and CRLF (YAML also breaks lines at a lone CR, NEL, U+2028 and
    U+2029), as the reason an edit that could not be made safely is refused; None when there is none."""
    found = _OTHER_BREAKS.search(text)
    if found is None:
        return None
    return InputError(f"line break {_BREAK_NAMES[found.group()]} here: kfix edits only files whose lines end "
                      "in LF or CRLF", text.count("\n", 0, found.start()) + 1)


def line_ending_at(text: str, pos: int) -> str:
    """The line ending used by the line containing ``pos`` (or the nearest one before it)."""
    nl = text.find("\n", pos)
    if nl < 0:
        nl = text.rfind("\n", 0, pos)
    if nl < 0:
        return "\n"
    return "\r\n" if nl > 0 and text[nl - 1] == "\r" else "\n"
