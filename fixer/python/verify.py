"""Check a Python rewrite before it is written: it parses, keeps every comment, and its syntax tree is the
original's plus exactly the intended arguments, entries, items, literals and imports.

The comparison uses Python's own ``ast`` (not the libcst tree the edit was made with), so a mistake in
the editor cannot hide itself: the two trees are walked together, lists of keywords, dict entries, list
items and imports may differ only by elements added (or removed) as a whole, and every difference is
counted; the counts must equal what the editor says it did.
"""

from __future__ import annotations

import ast
import difflib
import io
import tokenize
from collections import Counter

from kfix.errors import VerificationError

_INSERT = {(ast.Call, "keywords"): "keyword+", (ast.List, "elts"): "item+", (ast.Tuple, "elts"): "item+",
           (ast.ImportFrom, "names"): "import+"}


def comments(text: str) -> Counter:
    """Every comment of a module, with how often it occurs."""
    out: Counter = Counter()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.string] += 1
    return out


def check_rewrite(old_text: str, new_text: str, expected: Counter) -> None:
    """Raise VerificationError unless ``new_text`` is ``old_text`` plus exactly the ``expected`` edits."""
    try:
        new_tree = ast.parse(new_text)
    except SyntaxError as exc:
        raise VerificationError(f"the rewrite does not parse ({exc.msg})", exc.lineno) from None
    old_tree = ast.parse(old_text)
    lost = comments(old_text) - comments(new_text)
    if lost:
        raise VerificationError(f"the rewrite loses comments: {', '.join(sorted(lost))[:200]}")
    extra = comments(new_text) - comments(old_text)
    if extra:
        raise VerificationError(f"the rewrite adds comments: {', '.join(sorted(extra))[:200]}")
    found: Counter = Counter()
    _walk(old_tree, new_tree, found)
    if +found != +expected:
        raise VerificationError(f"the rewrite's syntax tree differs from the intended edit: found {dict(+found)}, "
                                f"expected {dict(+expected)}")


def _walk(a: ast.AST, b: ast.AST, found: Counter) -> None:
    if type(a) is not type(b):
        if _literal(a) and _literal(b):
            found["value~"] += 1
            return
        raise VerificationError(f"unexpected change at line {getattr(b, 'lineno', '?')}: "
                                f"{type(a).__name__} became {type(b).__name__}", getattr(b, "lineno", None))
    if isinstance(a, ast.Constant):
        if a.value != b.value or type(a.value) is not type(b.value):
            found["value~"] += 1
        return
    if _literal(a) and _literal(b) and ast.dump(a) != ast.dump(b):
        found["value~"] += 1
        return
    if isinstance(a, ast.Dict):
        _align(list(zip(a.keys, a.values)), list(zip(b.keys, b.values)), "entry+", found, _pair)
        return
    for name in a._fields:
        va, vb = getattr(a, name), getattr(b, name)
        if isinstance(va, list):
            kind = _INSERT.get((type(a), name))
            if isinstance(a, ast.Module) and name == "body":
                kind = "import"
            _align(va, vb, kind, found, _walk)
        elif isinstance(va, ast.AST) and isinstance(vb, ast.AST):
            _walk(va, vb, found)
        elif va != vb:
            raise VerificationError(f"unexpected change at line {getattr(b, 'lineno', '?')}: {name} of "
                                    f"{type(a).__name__}", getattr(b, "lineno", None))


def _pair(a: tuple, b: tuple, found: Counter) -> None:
    for x, y in zip(a, b):
        if x is None or y is None:
            if x is not y:
                raise VerificationError("unexpected change of a ** entry")
            continue
        _walk(x, y, found)


def _dump(node) -> str:
    if isinstance(node, tuple):
        return "|".join(_dump(n) for n in node)
    return ast.dump(node) if isinstance(node, ast.AST) else repr(node)


def _align(old: list, new: list, kind: str | None, found: Counter, walk) -> None:
    """Pair the elements of two lists; the unpaired ones must be whole insertions or removals of ``kind``."""
    if len(old) == len(new):
        for x, y in zip(old, new):
            if isinstance(x, (ast.AST, tuple)):
                walk(x, y, found)
            elif x != y:
                raise VerificationError("unexpected change")
        return
    if kind is None:
        line = next((getattr(n, "lineno", None) for n in new if isinstance(n, ast.AST)), None)
        raise VerificationError(f"unexpected insertion or removal near line {line}", line)
    matcher = difflib.SequenceMatcher(None, [_dump(n) for n in old], [_dump(n) for n in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        common = min(i2 - i1, j2 - j1)
        for x, y in zip(old[i1:i1 + common], new[j1:j1 + common]):
            walk(x, y, found)
        for y in new[j1 + common:j2]:
            if kind == "import":
                if not isinstance(y, (ast.Import, ast.ImportFrom)):
                    raise VerificationError(f"unexpected statement added at line {y.lineno}", y.lineno)
                found["import+"] += len(y.names)
            else:
                found[kind] += 1
        removed = i2 - i1 - common
        if removed:
            if kind == "import":
                raise VerificationError("a statement was removed")
            found["removed"] += removed


def _literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)
