"""Is a chart usable at all? Its Chart.yaml and values.schema.json files, checked before planning.

A chart whose Chart.yaml is empty, binary or malformed, or whose values.schema.json is not valid JSON,
not a JSON Schema kfix can follow, or nested too deeply, is reported (file and line) and not planned:
kfix would otherwise plan values edits against a schema it could not read or a chart Helm refuses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kfix.errors import InputError
from kfix.fileio import read_input
from kfix.yaml.loader import parse
from kfix.yaml.source import decode

MAX_SCHEMA_DEPTH = 200
_MAX_SIZE = 16 * 1024 * 1024
_TYPES = {"object", "array", "string", "boolean", "integer", "number", "null"}
_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = ("additionalProperties", "items", "additionalItems", "not", "if", "then", "else", "contains",
               "propertyNames", "unevaluatedProperties", "unevaluatedItems")


def chart_problems(chart_dir: str | Path) -> list[InputError]:
    """What makes the chart at ``chart_dir`` (and its subchart folders) unusable; empty when nothing."""
    chart_dir = Path(chart_dir)
    problems: list[InputError] = []
    for folder in [chart_dir, *_subchart_dirs(chart_dir)]:
        err = _chart_yaml_problem(folder / "Chart.yaml")
        if err is not None:
            problems.append(err)
        schema = folder / "values.schema.json"
        if schema.exists() or schema.is_symlink():
            err = _schema_file_problem(schema)
            if err is not None:
                problems.append(err)
    return problems


def _subchart_dirs(chart_dir: Path) -> list[Path]:
    out: list[Path] = []
    stack = [chart_dir / "charts"]
    while stack:
        folder = stack.pop()
        if not folder.is_dir() or folder.is_symlink():
            continue
        for sub in sorted(folder.iterdir()):
            if sub.is_dir() and not sub.is_symlink() and (sub / "Chart.yaml").is_file():
                out.append(sub)
                stack.append(sub / "charts")
    return out


def _chart_yaml_problem(path: Path) -> InputError | None:
    where = str(path)
    try:
        text = decode(read_input(where, _MAX_SIZE)[0]).text
        if not text.strip():
            raise InputError("empty file: a chart needs at least name and version", 1)
        docs = [d for d in parse(text) if d.node is not None]
    except InputError as exc:
        return InputError(exc.message, exc.line, where)
    data = docs[0].data if docs else None
    if not isinstance(data, dict):
        return InputError("Chart.yaml must be a mapping (name, version, ...)", docs[0].line if docs else 1, where)
    for key in ("name", "version"):
        if data.get(key) in (None, ""):
            return InputError(f"Chart.yaml has no '{key}' (Helm requires it)", docs[0].line, where)
    return None


def _schema_file_problem(path: Path) -> InputError | None:
    where = str(path)
    try:
        text = decode(read_input(where, _MAX_SIZE)[0]).text
        schema = json.loads(text)
    except InputError as exc:
        return InputError(exc.message, exc.line, where)
    except json.JSONDecodeError as exc:
        return InputError(f"not valid JSON: {exc.msg}; the chart is not planned", exc.lineno, where)
    except RecursionError:
        return InputError(f"nested more than {MAX_SCHEMA_DEPTH} levels deep; the chart is not planned", 1, where)
    why = schema_problem(schema)
    return InputError(f"not a JSON Schema kfix can follow: {why}; the chart is not planned", 1, where) if why else None


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a JSON Schema kfix can follow (None: it is). Iterative: any depth is safe."""
    stack: list[tuple[Any, str, int]] = [(schema, "#", 0)]
    while stack:
        node, at, depth = stack.pop()
        if isinstance(node, bool):
            continue
        if not isinstance(node, dict):
            return f"{at}: a schema must be an object or a boolean, not {type(node).__name__}"
        if depth > MAX_SCHEMA_DEPTH:
            return f"nested more than {MAX_SCHEMA_DEPTH} levels deep (at {at[:120]}…)"
        kind = node.get("type")
        kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
        bad = [k for k in kinds if k not in _TYPES]
        if bad or (kind is not None and not kinds):
            return f"{at}/type: {bad[0] if bad else kind!r} is not a JSON Schema type"
        if "required" in node and not (isinstance(node["required"], list)
                                       and all(isinstance(r, str) for r in node["required"])):
            return f"{at}/required: must be a list of names"
        if "enum" in node and not isinstance(node["enum"], list):
            return f"{at}/enum: must be a list"
        if "$ref" in node and not isinstance(node["$ref"], str):
            return f"{at}/$ref: must be text"
        for key in _SCHEMA_MAPS:
            if key in node:
                if not isinstance(node[key], dict):
                    return f"{at}/{key}: must be an object of schemas"
                stack.extend((sub, f"{at}/{key}/{name}", depth + 1) for name, sub in node[key].items())
        for key in _SCHEMA_LISTS:
            if key in node:
                if not isinstance(node[key], list):
                    return f"{at}/{key}: must be a list of schemas"
                stack.extend((sub, f"{at}/{key}/{i}", depth + 1) for i, sub in enumerate(node[key]))
        for key in _SCHEMA_ONE:
            if key in node:
                sub = node[key]
                if key == "items" and isinstance(sub, list):  # draft-07 tuple form
                    stack.extend((s, f"{at}/items/{i}", depth + 1) for i, s in enumerate(sub))
                else:
                    stack.append((sub, f"{at}/{key}", depth + 1))
    return None
