"""Does a chart's values.schema.json allow a value at a path? (the subset charts use)

kfix only adds and replaces values, so it checks each written value where it goes: the keys on the
way must be allowed (``properties``, ``patternProperties``, ``additionalProperties``), and the value
must fit the schema there (``type``, ``enum``, ``const``, nested keys and list items). ``$ref``
(local JSON pointers), ``allOf``, ``anyOf``, ``oneOf``, ``if``-less boolean schemas are followed;
keywords kfix does not model count as satisfied (Helm's own validation runs when rendering).
"""

from __future__ import annotations

import re
from typing import Any

from kfix import ops as O

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


class _Checker:
    def __init__(self, root: dict):
        self.root = root

    def deref(self, node: Any, depth: int = 0) -> Any:
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 32:
            ref = node["$ref"]
            if not ref.startswith("#"):
                return {}  # remote refs are not followed
            target: Any = self.root
            for part in ref[1:].split("/"):
                if not part:
                    continue
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, dict) else None
            if target is None:
                return {}
            rest = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **rest} if rest else target
            depth += 1
        return node

    def at(self, node: Any, path: tuple, value: Any, where: str = "") -> str | None:
        """Why ``value`` may not be written at ``path`` under ``node`` (None: allowed)."""
        node = self.deref(node)
        if node is True or node == {} or node is None:
            return None
        if node is False:
            return f"{where or 'the values'}: the schema allows nothing here"
        for sub in node.get("allOf", []):
            err = self.at(sub, path, value, where)
            if err:
                return err
        for key in ("anyOf", "oneOf"):
            subs = node.get(key)
            if isinstance(subs, list) and subs:
                errs = [self.at(s, path, value, where) for s in subs]
                if all(errs):
                    return errs[0]
        if not path:
            return self.value(node, value, where)
        key, rest = path[0], path[1:]
        here = f"{where}.{key}" if where else str(key)
        types = _types(node)
        if isinstance(key, int):
            if types and "array" not in types:
                return f"{where}: the schema wants {'/'.join(types)}, not a list"
            return self.at(node.get("items", {}), rest, value, here)
        if types and "object" not in types:
            return f"{where}: the schema wants {'/'.join(types)}, not a mapping"
        props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        if key in props:
            return self.at(props[key], rest, value, here)
        for pattern, sub in (node.get("patternProperties") or {}).items():
            try:
                if re.search(pattern, str(key)):
                    return self.at(sub, rest, value, here)
            except re.error:
                continue
        extra = node.get("additionalProperties", True)
        if extra is False:
            return f"values.schema.json does not allow the key {here} (additionalProperties: false)"
        return self.at(extra if isinstance(extra, dict) else {}, rest, value, here)

    def value(self, node: Any, value: Any, where: str) -> str | None:
        node = self.deref(node)
        if node is True or node == {} or node is None:
            return None
        if node is False:
            return f"{where}: the schema allows nothing here"
        for sub in node.get("allOf", []):
            err = self.value(sub, value, where)
            if err:
                return err
        for key in ("anyOf", "oneOf"):
            subs = node.get(key)
            if isinstance(subs, list) and subs:
                errs = [self.value(s, value, where) for s in subs]
                if all(errs):
                    return errs[0]
        types = _types(node)
        if types and not any(_TYPES.get(t, lambda v: True)(value) for t in types):
            return f"values.schema.json wants {where} to be {'/'.join(types)}, not {_type_name(value)}"
        if "enum" in node and isinstance(node["enum"], list) and value not in node["enum"]:
            return f"values.schema.json allows only {node['enum']} at {where}"
        if "const" in node and value != node["const"]:
            return f"values.schema.json wants {where} to be {node['const']!r}"
        if isinstance(value, dict):
            for k, v in value.items():
                err = self.at(node, (k,), v, where)
                if err:
                    return err
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for i, item in enumerate(value):
                err = self.value(node["items"], item, f"{where}[{i}]")
                if err:
                    return err
        return None


def _types(node: dict) -> list[str]:
    t = node.get("type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    return []


def _type_name(value: Any) -> str:
    for name, test in _TYPES.items():
        if name not in ("number",) and test(value):
            return {"object": "a mapping", "array": "a list"}.get(name, name)
    return type(value).__name__


def check_ops(schema: dict | None, values: Any, ops: list[O.Op]) -> str | None:
    """Why writing ``ops`` (values paths, already prefixed for the chart the schema belongs to)
    would break ``schema``; None when allowed (or there is no schema)."""
    if not schema:
        return None
    checker = _Checker(schema)
    data = O.clone(values)
    for op in ops:
        O.apply_one(data, op)
    for op in ops:
        if isinstance(op, (O.Delete, O.Discard)):
            continue
        target = op.path if isinstance(op, O.Set) else op.path
        err = checker.at(schema, tuple(target), O.get(data, tuple(target)))
        if err:
            return err
    return None
