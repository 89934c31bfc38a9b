"""Abstract values: what a template expression evaluates to, in terms of values keys.

Instead of rendering, kfix follows where `.Values` paths flow (through `with`, `$vars`,
`dict` arguments, `default`, `omit`, `merge`) so it can name the values key that feeds
a rendered field.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


class AV:
    """Base of abstract values."""


@dataclass(frozen=True)
class Unknown(AV):
    """Nothing known (release info, chart info, computed strings without values)."""


UNKNOWN = Unknown()


@dataclass(frozen=True)
class Bottom(AV):
    """A branch that never yields output (`fail`)."""


BOTTOM = Bottom()


@dataclass(frozen=True)
class Root(AV):
    """The top-level context: `.Values`, `.Chart`, `.Release`, ..."""


@dataclass(frozen=True)
class VPath(AV):
    """A values path; `*` stands for every element of a list or map."""

    path: tuple[str, ...]
    omit: tuple[str, ...] = ()
    fallback: AV | None = None  # used when this path is empty (`default`, merge order)


@dataclass(frozen=True)
class VPreset(AV):
    """A preset name read from values, expanded through a dict of presets."""

    path: tuple[str, ...]


@dataclass(frozen=True)
class VLit(AV):
    value: object


@dataclass(frozen=True)
class VDict(AV):
    items: tuple[tuple[str, AV], ...]

    def get(self, key: str) -> AV | None:
        for k, v in self.items:
            if k == key:
                return v
        return None


@dataclass(frozen=True)
class VList(AV):
    items: tuple[AV, ...]


@dataclass(frozen=True)
class VMerge(AV):
    """`merge a b c`: keys of earlier parts win."""

    parts: tuple[AV, ...]


@dataclass(frozen=True)
class VAny(AV):
    """One of several values (branches of `ternary`)."""

    options: tuple[AV, ...]


@dataclass(frozen=True)
class Computed(AV):
    """Derived from values by a function kfix does not model."""

    sources: tuple[tuple[str, ...], ...]


def sources(av: AV | None) -> tuple[tuple[str, ...], ...]:
    """Values paths an abstract value depends on, in order, without repeats."""
    out: list[tuple[str, ...]] = []

    def add(p: tuple[str, ...]) -> None:
        if p not in out:
            out.append(p)

    def go(v: AV | None) -> None:
        if isinstance(v, VPath):
            if v.path:
                add(v.path)
            go(v.fallback)
        elif isinstance(v, VPreset):
            add(v.path)
        elif isinstance(v, Computed):
            for p in v.sources:
                add(p)
        elif isinstance(v, VDict):
            for _, x in v.items:
                go(x)
        elif isinstance(v, VList):
            for x in v.items:
                go(x)
        elif isinstance(v, VMerge):
            for x in v.parts:
                go(x)
        elif isinstance(v, VAny):
            for x in v.options:
                go(x)

    go(av)
    return tuple(out)


def with_fallback(av: AV, fb: AV | None) -> AV:
    """Attach a fallback to the end of av's fallback chain."""
    if fb is None or isinstance(fb, (Unknown, Bottom)):
        return av
    if isinstance(av, VPath):
        return replace(av, fallback=with_fallback(av.fallback, fb) if av.fallback else fb)
    return av


def access(av: AV | None, name: str) -> AV:
    """`av.name`."""
    if isinstance(av, Root):
        return VPath(()) if name == "Values" else UNKNOWN
    if isinstance(av, VPath):
        if name in av.omit:
            return UNKNOWN
        fb = access(av.fallback, name) if av.fallback is not None else None
        return with_fallback(VPath(av.path + (name,)), fb)
    if isinstance(av, VDict):
        return av.get(name) or UNKNOWN
    if isinstance(av, VMerge):
        found = [v for v in (access(p, name) for p in av.parts) if not isinstance(v, Unknown)]
        if not found:
            return UNKNOWN
        head = found[0]
        for nxt in found[1:]:
            head = with_fallback(head, nxt)
        return head
    if isinstance(av, VAny):
        return unify([access(o, name) for o in av.options])
    if isinstance(av, Computed):
        return av
    return UNKNOWN


def element(av: AV) -> AV:
    """What `range` binds `.` to for each element."""
    if isinstance(av, VPath):
        return VPath(av.path + ("*",))
    if isinstance(av, VList):
        return unify(list(av.items))
    if isinstance(av, VDict):
        return unify([v for _, v in av.items])
    return UNKNOWN


def unify(cands: list[AV]) -> AV:
    """Merge the possible outputs of branches into one abstract value."""
    cands = [c for c in cands if not isinstance(c, Bottom)]
    distinct: list[AV] = []
    for c in cands:
        if c not in distinct:
            distinct.append(c)
    if not distinct:
        return UNKNOWN
    if len(distinct) == 1:
        return distinct[0]
    strong = [c for c in distinct if not isinstance(c, (Computed, Unknown, VLit))]
    if len(strong) == 1:
        own = set(sources(strong[0]))
        if all(set(sources(c)) <= own for c in distinct if isinstance(c, Computed)):
            return strong[0]
    known = [c for c in distinct if not isinstance(c, Unknown)]
    if not known:
        return UNKNOWN
    return known[0] if len(known) == 1 else VAny(tuple(known))


# Functions whose output has the structure of one argument (index from the end).
_PASS_LAST = {
    "toYaml", "toYamlPretty", "mustToYaml", "toJson", "mustToJson", "toPrettyJson", "toRawJson",
    "fromYaml", "fromJson", "mustFromJson", "nindent", "indent", "quote", "squote", "toString",
    "required", "deepCopy", "mustDeepCopy", "trim", "fromYamlArray",
}
_PASS_FIRST = {"tpl"}


def call(fn: str, args: list[AV], lits: list[object]) -> AV:
    """Apply function fn to abstract args (lits holds literal values or None)."""
    if fn == "fail":
        return BOTTOM
    if fn in _PASS_LAST and args:
        return args[-1]
    if fn in _PASS_FIRST and args:
        return args[0]
    if fn == "default" and len(args) == 2:
        dflt, val = args
        if isinstance(val, Unknown):
            return dflt
        return with_fallback(val, dflt)
    if fn == "coalesce" and args:
        known = [a for a in args if not isinstance(a, Unknown)]
        if not known:
            return UNKNOWN
        head = known[0]
        for nxt in known[1:]:
            head = with_fallback(head, nxt)
        return head
    if fn in ("omit", "mustOmit") and args:
        base, keys = args[0], tuple(k for k in lits[1:] if isinstance(k, str))
        if isinstance(base, VPath):
            return replace(base, omit=base.omit + tuple(k for k in keys if k not in base.omit))
        if isinstance(base, VDict):
            return VDict(tuple((k, v) for k, v in base.items if k not in keys))
        return base
    if fn == "dict":
        items = []
        for i in range(0, len(args) - 1, 2):
            if isinstance(lits[i], str):
                items.append((lits[i], args[i + 1]))
        return VDict(tuple(items))
    if fn == "list":
        return VList(tuple(args))
    if fn in ("merge", "mustMerge"):
        return VMerge(tuple(args))
    if fn in ("mergeOverwrite", "mustMergeOverwrite"):
        return VMerge(tuple(reversed(args)))
    if fn in ("index", "get") and args:
        cur = args[0]
        for a, lit in zip(args[1:], lits[1:]):
            if isinstance(lit, str):
                cur = access(cur, lit)
            elif isinstance(cur, VList) and isinstance(lit, int) and not isinstance(lit, bool) and \
                    0 <= lit < len(cur.items):
                cur = cur.items[lit]  # `$root := index . 0` of a helper called with `(list $ "name")`
            elif isinstance(cur, VDict) and cur.items and all(isinstance(v, VDict) for _, v in cur.items) \
                    and isinstance(a, VPath):
                cur = VPreset(a.path)  # a named preset picked from a dict of dicts
            elif isinstance(cur, VPath):
                cur = VPath(cur.path + ("*",))
            else:
                return UNKNOWN
        return cur
    if fn == "dig" and len(args) >= 3:
        cur, keys = args[-1], lits[:-2]
        for k in keys:
            if not isinstance(k, str):
                return UNKNOWN
            cur = access(cur, k)
        return with_fallback(cur, args[-2])
    if fn == "ternary" and len(args) == 3:
        a, b, cond = args
        if a == b:
            return a
        if isinstance(a, VLit) and isinstance(b, VLit):
            src = sources(cond)
            return Computed(src) if src else UNKNOWN
        return unify([a, b])
    src = sources(VList(tuple(args)))  # booleans, string functions, anything else
    return Computed(src) if src else UNKNOWN
