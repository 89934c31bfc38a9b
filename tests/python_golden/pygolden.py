"""Golden cases for Python sources: real files from public projects (see SOURCES.txt and licenses/), one
folder per style (cdk8s, cdk8s-plus, dicts, k8s-client, pulumi); expected outputs per mode.

``python tests/python_golden/pygolden.py`` rewrites the expected files (review the diff before committing);
``python tests/python_golden/pygolden.py --report [FOLDER]`` prints, per construction style, how many
container constructions were hardened in each mode and why the others were not (the golden copy of that
table for these cases is expected/containers.md); ``--check [FOLDER]`` runs ``kfix apply --write`` on a copy
of the folder in both modes and checks every changed file on its syntax tree (``check_corpus``).
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
EXPECTED = HERE / "expected"
MODES = {"default": False, "unsafe": True}


def style_dirs() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.is_dir())


def flat(rel: str) -> str:
    return rel.replace(os.sep, "__")


_RUNS: dict = {}


def run_style(style: Path, unsafe: bool):
    """(expected-file name -> bytes, the run's result) for one style folder in one mode (the golden cases'
    runs are kept for the other tests of the same session)."""
    key = (style, unsafe)
    if style.is_relative_to(CASES) and key in _RUNS:
        return _RUNS[key]
    out = _run_style(style, unsafe)
    if style.is_relative_to(CASES):
        _RUNS[key] = out
    return out


def _run_style(style: Path, unsafe: bool):
    from kfix import report
    from kfix.api import make_options, plan_paths
    from kfix.config import Config

    options = make_options(Config(), unsafe_fixes=unsafe)
    cwd = os.getcwd()
    os.chdir(style)  # paths in outputs are relative to the style folder
    try:
        result = plan_paths(["."], options, jobs=1)
    finally:
        os.chdir(cwd)
    out: dict[str, bytes] = {}
    for plan in result.plans:
        name = flat(os.path.relpath(plan.path, "."))
        if plan.error is not None:
            out[name + ".error"] = (str(plan.error) + "\n").encode()
        elif plan.changed:
            out[name] = plan.source.encode(plan.new_text)
    out["findings.txt"] = report.as_text(result.findings()).encode()
    return out, result


def regenerate() -> None:
    for mode, unsafe in MODES.items():
        for style in style_dirs():
            target = EXPECTED / mode / style.name
            for old in target.glob("*") if target.exists() else []:
                old.unlink()
            target.mkdir(parents=True, exist_ok=True)
            for name, data in run_style(style, unsafe)[0].items():
                (target / name).write_bytes(data)


def _reason(rep) -> str:
    """Why a finding stayed open, without the names of the container, the code or the line."""
    import re

    if rep.status == "unfixable":
        text = rep.note.split("cannot be edited safely: ", 1)[-1]
        text = re.sub(r"`[^`]*`", "`...`", text)
        text = re.sub(r" \(?[\w./-]*(requirements|Pipfile|pyproject|poetry|setup|uv)[\w./-]*\)", "", text)
        text = re.sub(r" \(line \d+\)", "", text)
        return re.sub(r" at line \d+", "", text).strip()
    if "; " in rep.finding.message:
        return rep.finding.message.split("; ", 1)[1]
    return "it changes a value the code sets explicitly"


STYLES = ("cdk8s", "cdk8s-plus", "Pulumi Args", "Pulumi dicts", "ArgsDict", "kubernetes client", "plain dicts")


def construction_style(value, pod) -> str:
    """The style a container is built in (from its own construction, else from its pod's)."""
    from kfix.python.names import CDK8S, CLIENT, DICT, PLUS, PULUMI
    from kfix.python.reader import Obj

    node = value if isinstance(value, Obj) else pod
    if node.family == DICT:
        return "Pulumi dicts" if node.snake_keys else "plain dicts"
    if node.family == PULUMI:
        return "ArgsDict" if node.ref is not None and node.ref.dict_args else "Pulumi Args"
    return {CLIENT: "kubernetes client", CDK8S: "cdk8s", PLUS: "cdk8s-plus"}[node.family]


def containers_by_style(result) -> dict[tuple[str, str, str], str]:
    """(file, resource, container name) -> construction style, for every container kfix read."""
    from kfix.python import cdk8s_plus as plus
    from kfix.python.names import PLUS
    from kfix.python.plan import parse_source, read_sites
    from kfix.python.reader import Seq, data

    out = {}
    for plan in result.plans:
        if not plan.kubernetes or plan.source is None or not plan.path.endswith(".py"):
            continue
        source = parse_source(plan.source.text, plan.path)
        for site in read_sites(source):
            spec = data(site.value)
            if site.value.family == PLUS:
                spec = plus.with_defaults(spec, source.plus_line(site.value.ref.module))
            for section in ("initContainers", "containers"):
                field = site.value.fields.get(section)
                if field is None or not isinstance(field.value, Seq):
                    continue
                for i, (item, c) in enumerate(zip(field.value.items, spec.get(section) or [])):
                    # (a container kfix cannot read is reported under its place in the list)
                    name = c.get("name") if isinstance(c, dict) else f"{section}[{i}]"
                    out[(plan.path, site.resource, str(name))] = construction_style(item, site.value)
    return out


def container_table(folder: Path) -> str:
    """Per construction style: containers kfix read, how many are hardened after a run (every fix of their
    own and of their pod applied; report-only findings aside) in each mode, and why the others are not."""
    rows: dict[str, dict] = {s: {"total": 0, "default": 0, "unsafe": 0, "why": {m: Counter() for m in MODES}}
                             for s in STYLES}
    parts = style_dirs() if folder == CASES else [folder]
    for mode, unsafe in MODES.items():
        styles: dict = {}
        findings = []
        for part in parts:
            _, result = run_style(part, unsafe)
            cwd = os.getcwd()
            os.chdir(part)  # the plans' paths are relative to the folder
            try:
                styles.update({(part, *k): v for k, v in containers_by_style(result).items()})
            finally:
                os.chdir(cwd)
            findings += [(part, rep) for rep in result.findings()]
        open_: dict[tuple, set] = {key: set() for key in styles}
        for part, rep in findings:
            if rep.status not in ("unsafe", "unfixable"):
                continue
            reason = f"{rep.rule}: {'unsafe fix' if rep.status == 'unsafe' else 'cannot fix'}: {_reason(rep)}"
            for key in styles:
                if key[:3] == (part, rep.file, rep.resource) and rep.finding.container in (None, key[3]):
                    open_[key].add(reason)
        for key, style in styles.items():
            row = rows[style]
            if mode == "default":
                row["total"] += 1
            if not open_[key]:
                row[mode] += 1
            for reason in open_[key]:
                row["why"][mode][reason] += 1
    lines = ["| style | containers | hardened (default) | hardened (--unsafe-fixes) |", "|---|---|---|---|"]
    lines += [f"| {s} | {r['total']} | {r['default']} | {r['unsafe']} |" for s, r in rows.items()]
    for mode in MODES:
        lines.append(f"\nwhy the others are not ({mode}): containers per reason")
        for style, row in rows.items():
            for reason, n in sorted(row["why"][mode].items()):
                lines.append(f"  {style}: {n} x {reason}")
    return "\n".join(lines) + "\n"


def _is_literal(node) -> bool:
    import ast

    return isinstance(node, ast.Constant) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
                                              and isinstance(node.operand, ast.Constant))


def tree_delta(old, new, unsafe: bool, found: Counter | None = None) -> Counter:
    """What ``new`` (a module's ``ast``) adds to ``old``: keyword arguments, dict entries, list items and
    imported names, removed dict entries (legacy annotations migrated), and (``unsafe``) replaced literals
    and removed list items. Anything else fails. Written apart
    from kfix's own verifier so that one cannot vouch for itself."""
    import ast

    found = Counter() if found is None else found
    where = getattr(new, "lineno", "?")
    if _is_literal(old) and _is_literal(new):
        if ast.dump(old) != ast.dump(new):
            assert unsafe, f"line {where}: a literal changed in safe mode"
            found["literal replaced"] += 1
        return found
    assert type(old) is type(new), f"line {where}: {type(old).__name__} became {type(new).__name__}"
    if isinstance(old, ast.Dict):
        new_pairs = {ast.dump(k) if k is not None else f"**{i}": v for i, (k, v) in enumerate(zip(new.keys, new.values))}
        kept = 0
        for i, (k, v) in enumerate(zip(old.keys, old.values)):
            key = ast.dump(k) if k is not None else f"**{i}"
            if key not in new_pairs:  # a migrated legacy annotation (safe), or a weak value taken out (unsafe)
                found["entry removed"] += 1
                continue
            kept += 1
            tree_delta(v, new_pairs[key], unsafe, found)
        found["entry added"] += len(new.keys) - kept
        return found
    if isinstance(old, ast.Call):
        tree_delta(old.func, new.func, unsafe, found)
        _pairwise(old.args, new.args, unsafe, found, where)
        new_kw = {k.arg: k for k in new.keywords}
        assert len(new_kw) == len(new.keywords), f"line {where}: a keyword is given twice"
        for k in old.keywords:
            assert k.arg in new_kw, f"line {where}: keyword {k.arg} went away"
            tree_delta(k.value, new_kw[k.arg].value, unsafe, found)
        found["keyword added"] += len(new.keywords) - len(old.keywords)
        return found
    if isinstance(old, (ast.List, ast.Tuple)):
        if len(new.elts) >= len(old.elts):
            _pairwise(old.elts, new.elts[:len(old.elts)], unsafe, found, where)
            found["item added"] += len(new.elts) - len(old.elts)
        else:
            assert unsafe, f"line {where}: a list item went away in safe mode"
            rest = iter([ast.dump(e) for e in old.elts])
            assert all(any(d == x for x in rest) for d in (ast.dump(e) for e in new.elts)), f"line {where}"
            found["item removed"] += len(old.elts) - len(new.elts)
        return found
    if isinstance(old, ast.ImportFrom):
        assert (old.module, old.level) == (new.module, new.level), f"line {where}: an import changed"
        assert [ast.dump(a) for a in old.names] == [ast.dump(a) for a in new.names[:len(old.names)]]
        found["import added"] += len(new.names) - len(old.names)
        return found
    if isinstance(old, ast.Module):
        body = [b for b in new.body if not isinstance(b, (ast.Import, ast.ImportFrom))
                or any(ast.dump(b) == ast.dump(o) or (isinstance(o, ast.ImportFrom) and isinstance(b, ast.ImportFrom)
                       and o.module == b.module and o.lineno == b.lineno) for o in old.body)]
        for b in new.body:
            if b not in body:
                found["import added"] += len(b.names)
        _pairwise(old.body, body, unsafe, found, 1)
        return found
    for name in old._fields:
        a, b = getattr(old, name), getattr(new, name)
        if isinstance(a, list):
            _pairwise(a, b, unsafe, found, where)
        elif isinstance(a, ast.AST):
            tree_delta(a, b, unsafe, found)
        else:
            assert a == b, f"line {where}: {name} of {type(old).__name__} changed"
    return found


def _pairwise(old: list, new: list, unsafe: bool, found: Counter, where) -> None:
    import ast

    assert len(old) == len(new), f"line {where}: elements added or removed where kfix never edits"
    for a, b in zip(old, new):
        if isinstance(a, ast.AST):
            tree_delta(a, b, unsafe, found)
        else:
            assert a == b, f"line {where}"


def _comments(text: str) -> Counter:
    import io
    import tokenize

    return Counter(t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT)


def check_corpus(folder: Path, unsafe: bool, work: Path) -> dict:
    """Run ``kfix apply --write`` (the command itself) on a writable copy of ``folder``, then check every
    changed file: it parses, keeps every comment, its syntax tree differs from the original's only by
    added arguments/entries/items/imports (and, with --unsafe-fixes, replaced literals and removed items),
    and a second run changes nothing. Returns the counts; raises AssertionError on any fault."""
    import ast
    import shutil
    import stat
    import subprocess

    copy = work / ("unsafe" if unsafe else "default")
    shutil.copytree(folder, copy)
    for path in copy.rglob("*"):
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    flags = ["--unsafe-fixes"] if unsafe else []
    cmd = [sys.executable, "-m", "kfix", "apply", "--write", *flags, "."]
    first = subprocess.run(cmd, cwd=copy, capture_output=True, text=True)
    assert first.returncode in (0, 1), first.stderr
    assert "Traceback" not in first.stderr and "error:" not in first.stderr, first.stderr
    totals: Counter = Counter()
    changed = 0
    for path in sorted(copy.rglob("*.py")):
        original = (folder / path.relative_to(copy)).read_text(encoding="utf-8")
        text = path.read_text(encoding="utf-8")
        if text == original:
            continue
        changed += 1
        new_tree = ast.parse(text)
        assert _comments(original) == _comments(text), f"{path}: comments differ"
        totals.update(tree_delta(ast.parse(original), new_tree, unsafe))
    before = {p: p.read_bytes() for p in copy.rglob("*.py")}
    again = subprocess.run(cmd, cwd=copy, capture_output=True, text=True)
    assert again.returncode in (0, 1), again.stderr
    assert {p: p.read_bytes() for p in copy.rglob("*.py")} == before, "a second run changed files"
    assert " 0 fixes" in again.stderr or "0 files changed" in again.stderr, again.stderr
    return {"files changed": changed, **dict(sorted(totals.items())), "summary": first.stderr.strip().splitlines()[-1]}


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    if "--report" in sys.argv or "--check" in sys.argv:
        import tempfile

        args = [a for a in sys.argv[1:] if not a.startswith("--")]
        folder = Path(args[0]).resolve() if args else CASES
        if "--check" in sys.argv:
            with tempfile.TemporaryDirectory() as tmp:
                for mode, unsafe in MODES.items():
                    print(f"{mode}: {check_corpus(folder, unsafe, Path(tmp))}")
        if "--report" in sys.argv:
            print(container_table(folder), end="")
    else:
        regenerate()
        (EXPECTED / "containers.md").write_text(container_table(CASES))
