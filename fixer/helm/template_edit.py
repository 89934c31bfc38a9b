"""Template edits (``--edit-templates``): reach a field values cannot, in two proven steps.

Where a template writes a pod or container field itself, or never renders it (test pods, hooks,
init containers), values cannot harden it. With template edits on, kfix

1. moves the field into a new values key — a `{{- with .Values.x.securityContext }}` block with
   `toYaml . | nindent N` where the field was (or, where it was absent, right below the pod's
   `spec:` or the container's first line), and the key in values.yaml holding what the template
   wrote (`{}` where it wrote nothing) — and proves, by rendering the chart before and after with its
   default values (and with the `--values` files), that the output is byte for byte the same; an
   edit that is not is refused and reported;
2. hardens through those keys with the ordinary values plan and its render proof (nothing outside
   security fields changes, no security setting is lost or weaker).

Lines of the template that are not edited stay byte for byte; after a run the keys exist, so a
second run finds nothing to move. The plans: each edited template (``TemplatePlan``), the chart's
values.yaml with the moves and the hardening (``TemplatedValuesPlan``), and any other values file.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kfix.rules import Fix

from kfix import ops as O
from kfix.helm import render as R
from kfix.helm.gotmpl import Block, Define, TemplateError, parse
from kfix.helm.model import ContainerTemplate
from kfix.helm.plan import Planner
from kfix.helm.proof import ValuesPlan, render_values
from kfix.helm.synthetic import Consumer, Source, container_id
from kfix.helm.template_readme import add_rows
from kfix.helm.template_keys import KeyNames, container_prefix, free, key_names, pod_prefix, valid_key
from kfix.helm.templates import GUESS_PATHS, POD_PATHS
from kfix.helm.translate import TEMPLATE_CHANGE
from kfix.helm.values import merge_user
from kfix.errors import InputError
from kfix.planner import Change, FilePlan, Options, Reported
from kfix.yaml.source import decode

__all__ = ["plan_chart_with_templates", "TemplatePlan", "TemplatedValuesPlan"]

ABSENT = object()  # a key step 1 does not write (automountServiceAccountToken while the template has none)
_KEY_LINE = re.compile(r"^( *)([A-Za-z]+):[ \t]*(.*?)[ \t]*\r?$")
_ITEM_LINE = re.compile(r"^( *)-( +)([A-Za-z_][\w.-]*)[ \t]*:[ \t]*(.*?)[ \t]*\r?$")


@dataclass
class Target:
    """One field to move into a values key."""

    template: str  # chart-relative file
    line: int  # absent: the line the block goes below; literal: the field's key line
    fld: str
    level: str
    literal: bool
    key: tuple[str, ...] = ()
    default: Any = ABSENT
    reps: list[Reported] = field(default_factory=list)
    refused: str = ""
    end: int = 0  # literal: the last line of the field
    indent: int = 0
    root: str = ".Values"

    @property
    def where(self) -> str:
        return f"{self.template}:{self.line}"


@dataclass
class TemplatePlan(FilePlan):
    """A template kfix edits: one change per moved field, all or nothing (they are proven together)."""

    chart: str = ""

    def render_changes(self, change_ids: set[str]) -> str:
        assert self.source is not None
        if self.new_text is not None and any(c.id in change_ids for c in self.changes):
            return self.new_text
        return self.source.text


@dataclass
class TemplatedValuesPlan(ValuesPlan):
    """values.yaml of a chart with template edits: first the new keys (``moves``), then the hardening."""

    moves: list[Change] = field(default_factory=list)

    def render_changes(self, change_ids: set[str]) -> str:
        assert self.source is not None
        text = self.source.text
        first = [c for c in self.moves if c.id in change_ids]
        if first:
            text = render_values(text, first, self.hints)
        rest = [c for c in self.changes if c.id in change_ids and c not in self.moves]
        return render_values(text, rest, self.hints) if rest else text


def plan_chart_with_templates(chart_dir: str | os.PathLike, options: Options,
                              values_files: list[str] | tuple[str, ...] = ()) -> list[FilePlan]:
    """Plan a chart with template edits: values first; the findings that need a template change are
    moved into values keys (proven byte for byte), then hardened through them."""
    chart_dir = Path(chart_dir)
    try:
        return _plan(chart_dir, options, list(values_files))
    except Exception as exc:  # noqa: BLE001 - one chart that trips a bug must not end the run
        if os.environ.get("KFIX_DEBUG"):
            raise
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        path = str(chart_dir / "values.yaml")
        return [ValuesPlan(path, error=InputError(f"internal error in template edits, chart left untouched (a kfix "
                                                  f"bug, please report it with this chart): {detail}", 1, path))]


def _plan(chart_dir: Path, options: Options, values_files: list[str]) -> list[FilePlan]:
    first = Planner(chart_dir, options, list(values_files), None)
    plans = first.run()
    if any(p.error is not None for p in plans):
        return plans
    targets = find_targets(first)
    if not targets:
        return plans
    if first.rendered is None:
        why = f"template edits need the chart rendered to prove them ({first.render_note or 'not rendered'})"
        _refuse_all(targets, why)
        return plans
    return TemplateEditor(chart_dir, options, list(values_files), first, targets).run() or plans


# --------------------------------------------------------------------------- targets


def find_targets(planner: Planner) -> list[Target]:
    """The fields the values plan reported as needing a template change, one target per template place."""
    by_label = {c.label: c for c in planner.consumers}
    names = key_names(planner.cmap)
    out: dict[tuple, Target] = {}
    for rep in planner.reported:
        if rep.status != "report" or TEMPLATE_CHANGE not in rep.note or not rep.finding.ops:
            continue
        c = by_label.get(rep.resource)
        if c is None or c.chart.prefix:
            continue
        for op in rep.finding.ops:
            hit = c.source_for(tuple(op.path))
            if hit is None:
                continue
            prefix, src = hit
            t = _target(planner, c, prefix, src, names)
            if t is None:
                continue
            t = out.setdefault((t.template, t.line, t.fld, t.level), t)
            if rep not in t.reps:
                t.reps.append(rep)
    return list(out.values())


def _target(planner: Planner, c: Consumer, prefix: tuple, src: Source, names: KeyNames) -> Target | None:
    values = planner.charts[0].eff
    if src.kind == "literal" and src.template:
        t = Target(src.template, src.line, src.fld, src.level, True)
    elif src.kind == "none" and not src.template:
        if src.level == "pod":
            spec = _pod_spec_line(planner, c)
            if spec is None:
                return None
            t = Target(spec[0], spec[1], src.fld, "pod", False)
        else:
            cont = _container(c, prefix)
            if cont is None or not cont.template:
                return None
            t = Target(cont.template, cont.line, src.fld, "container", False)
    else:
        return None
    text = _read(planner.dir / c.pod.template)
    if src.level == "pod":
        base, why = pod_prefix(c.pod, values, text)
    else:
        cont = _container(c, prefix)
        base, why = container_prefix(c.pod, cont, values, text) if cont is not None else (None, "container not found")
    if base is None:
        t.refused = why
        return t
    t.key = tuple(base) + (names.name(src.fld, src.level),)
    if not valid_key(t.key):
        t.refused = f"no plain values key to name after {'.'.join(t.key)}"
        return t
    if free(values, t.key):
        t.refused = free(values, t.key)
    return t


def _container(c: Consumer, prefix: tuple) -> ContainerTemplate | None:
    if len(prefix) < 3 or not isinstance(prefix[2], int):
        return None
    entry = c.containers.get(container_id(prefix[1], prefix[2]))
    if entry is None:
        return None
    _name, template, line = entry
    return next((ct for ct in c.pod.containers if ct.template == template and ct.line == line
                 and ct.values_list is None), None)


def _pod_spec_line(planner: Planner, c: Consumer) -> tuple[str, int] | None:
    for path in ([POD_PATHS[c.pod.kind]] if c.pod.kind in POD_PATHS else list(GUESS_PATHS)):
        node = planner.layout.pod_spec(c.pod.template, c.pod.line, path)
        if node is not None and node.line is not None:
            return node.line.path, node.line.lineno
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


# --------------------------------------------------------------------------- editing a template


def edit_template(text: str, targets: list[Target]) -> str:
    """The template with each target's field moved into its values key (targets refused here get why)."""
    lines = text.splitlines(keepends=True)
    eol = "\r\n" if "\r\n" in text else "\n"
    try:
        tree = parse(text)
    except TemplateError as exc:
        for t in targets:
            t.refused = f"the template does not parse ({exc})"
        return text
    edits: list[tuple[int, int, list[str]]] = []  # (first line index, end index exclusive, new lines)
    for t in targets:
        if t.refused:
            continue
        why = _locate(lines, t, tree, text)
        if why:
            t.refused = why
            continue
        block = _block(t, eol)
        if t.literal:
            edits.append((t.line - 1, t.end, block))
        else:
            edits.append((t.line, t.line, block))
    edits.sort(key=lambda e: (e[0], e[1]))
    for (a0, a1, _), (b0, _b1, _) in zip(edits, edits[1:]):
        if b0 < a1:
            return _refuse_overlap(targets, text)
    for start, end, new in reversed(edits):
        lines[start:end] = new
    return "".join(lines)


def _refuse_overlap(targets: list[Target], text: str) -> str:
    for t in targets:
        t.refused = t.refused or "two edits of this template overlap"
    return text


def _locate(lines: list[str], t: Target, tree: list, text: str) -> str:
    """Find the indentation (and for a literal, the extent and value) of a target; why not, if not."""
    if t.line < 1 or t.line > len(lines):
        return "the template line is out of range"
    line = lines[t.line - 1]
    offset = sum(len(x) for x in lines[:t.line - 1])
    scope = _scope(tree, offset)
    if scope == "define":
        return "the field is in a named template (a helper), whose context kfix does not know"
    t.root = "$.Values" if scope in ("with", "range") else ".Values"
    if t.literal:
        m = _KEY_LINE.match(line.rstrip("\n"))
        if not m or m.group(2) != t.fld:
            return "the field's line is not a plain `key:` line"
        t.indent = len(m.group(1))
        end = t.line
        while end < len(lines):
            nxt = lines[end]
            if nxt.strip() and (len(nxt) - len(nxt.lstrip(" "))) <= t.indent:
                break
            end += 1
        while end > t.line and not lines[end - 1].strip():
            end -= 1
        body = "".join(lines[t.line - 1:end])
        if "{{" in body:
            return "the field mixes template actions with literal text"
        try:
            data = yaml.safe_load(body)
        except yaml.YAMLError:
            return "the field's literal text is not plain YAML"
        if not isinstance(data, dict) or t.fld not in data:
            return "the field's literal text is not plain YAML"
        t.default, t.end = data[t.fld], end
        if t.fld == "automountServiceAccountToken" and not isinstance(t.default, bool):
            return "automountServiceAccountToken is not true or false"
        if t.fld != "automountServiceAccountToken" and not isinstance(t.default, dict):
            return f"{t.fld} is not a mapping"
        return ""
    if t.level == "pod":
        m = _KEY_LINE.match(line.rstrip("\n"))
        if not m or m.group(2) != "spec" or m.group(3):
            return "the pod's `spec:` line holds more than the key"
        own = len(m.group(1))
        for nxt in lines[t.line:]:
            if nxt.strip() and not nxt.lstrip().startswith("{{"):
                ind = len(nxt) - len(nxt.lstrip(" "))
                if ind <= own:
                    return "the pod's spec has no keys of its own to place the field among"
                t.indent = ind
                break
        else:
            return "the pod's spec has no keys of its own to place the field among"
    else:
        m = _ITEM_LINE.match(line.rstrip("\n"))
        if not m:
            return "the container's first line is not a `- key: ...` line"
        t.indent = len(m.group(1)) + 1 + len(m.group(2))
        if not _plain(m.group(4)):  # `- command: |` ...: go below the container's `name:` line instead
            at = _name_line(lines, t.line, t.indent)
            if at is None:
                return "the container has no plain `key: value` line to place the field below"
            t.line = at
        for nxt in lines[t.line:]:
            if nxt.strip():
                if (len(nxt) - len(nxt.lstrip(" "))) > t.indent and not nxt.lstrip().startswith("{{"):
                    return "the container's first value goes on over several lines"
                break
    t.default = ABSENT if t.fld == "automountServiceAccountToken" else {}
    return ""


def _plain(value: str) -> bool:
    return bool(value) and value[0] not in "|>&*!{[" and value.count("{{") == value.count("}}")


def _name_line(lines: list[str], first: int, indent: int) -> int | None:
    """The 1-based line of the container's own `name: value` (at its key indentation), if plain."""
    for i in range(first, len(lines)):
        text = lines[i]
        if not text.strip() or text.lstrip().startswith("{{"):
            continue
        ind = len(text) - len(text.lstrip(" "))
        if ind < indent:
            return None
        m = _KEY_LINE.match(text.rstrip("\n"))
        if ind == indent and m and m.group(2) == "name" and _plain(m.group(3)):
            nxt = next((x for x in lines[i + 1:] if x.strip()), "")
            if (len(nxt) - len(nxt.lstrip(" "))) > indent and not nxt.lstrip().startswith("{{"):
                return None
            return i + 1
    return None


def _scope(tree: list, offset: int) -> str:
    """The innermost block around ``offset`` that changes `.`: "with", "range", "define" or ""."""
    def walk(nodes: list, inside: str) -> str:
        for n in nodes:
            if isinstance(n, Define):
                if n.action.tok.end <= offset and (n.end is None or offset < n.end.start):
                    return walk(n.body, "define")
            elif isinstance(n, Block):
                if n.branches[0].action.tok.end <= offset and (n.end is None or offset < n.end.start):
                    for i, br in enumerate(n.branches):
                        nxt = n.branches[i + 1].action.tok.start if i + 1 < len(n.branches) else \
                            (n.end.start if n.end else offset + 1)
                        if br.action.tok.end <= offset < nxt:
                            # the else branch of a with keeps the outer dot; inside a helper `$` is its argument
                            here = n.kind if (n.kind == "range" or (n.kind == "with" and i == 0)) else inside
                            return walk(br.body, "define" if inside == "define" else here)
        return inside
    return walk(tree, "")


def _block(t: Target, eol: str) -> list[str]:
    pad = " " * t.indent
    ref = f"{t.root}.{'.'.join(t.key)}"
    if t.fld == "automountServiceAccountToken":
        parent = f"{t.root}.{'.'.join(t.key[:-1])}" if len(t.key) > 1 else t.root
        return [f"{pad}{{{{- if hasKey {parent} \"{t.key[-1]}\" }}}}{eol}",
                f"{pad}{t.fld}: {{{{ {ref} }}}}{eol}",
                f"{pad}{{{{- end }}}}{eol}"]
    return [f"{pad}{{{{- with {ref} }}}}{eol}",
            f"{pad}{t.fld}:{eol}",
            f"{pad}  {{{{- toYaml . | nindent {t.indent + 2} }}}}{eol}",
            f"{pad}{{{{- end }}}}{eol}"]


# --------------------------------------------------------------------------- proving and planning


def render_texts(chart_dir: Path, user: dict | None) -> dict[str, str]:
    """The chart rendered by Helm, as text per template (RenderError when it does not render)."""
    try:
        import helm_python as helm
    except Exception as exc:  # noqa: BLE001
        raise R.RenderError(f"helm-python-sdk is not available ({exc})") from None
    try:
        with helm.Chart.load(os.fspath(chart_dir)) as chart:
            return dict(chart.render(values=user or None, name=R.RELEASE, namespace=R.NAMESPACE))
    except helm.HelmError as exc:
        raise R.RenderError(" ".join(str(exc).split())[:300]) from None


def same_bytes(before: dict[str, str], again: dict[str, str], after: dict[str, str]) -> str:
    """"" when ``after`` renders byte for byte as ``before`` (lines that differ between two renders of
    the same chart, names Helm draws at random, left out), else the first difference."""
    if sorted(before) != sorted(after):
        return "the edited chart renders other files"
    for name in sorted(before):
        a, b, c = before[name], again.get(name, before[name]), after[name]
        if a == c:
            continue
        al, bl, cl = a.split("\n"), b.split("\n"), c.split("\n")
        if len(al) != len(cl) or len(al) != len(bl):
            return f"{R._rel(name)}: the render differs (line count {len(al)} -> {len(cl)})"
        for i, (x, y, z) in enumerate(zip(al, bl, cl)):
            if x != z and x == y:
                return f"{R._rel(name)}: rendered line {i + 1} differs ({x.strip()[:60]!r} -> {z.strip()[:60]!r})"
    return ""


class TemplateEditor:
    """Step 1 (move, proven byte for byte) and step 2 (harden through values) for one chart."""

    def __init__(self, chart_dir: Path, options: Options, values_files: list[str], first: Planner,
                 targets: list[Target]):
        self.dir, self.options, self.values_files = chart_dir, options, values_files
        self.first, self.targets = first, targets
        self.users: list[dict | None] = [None]
        extra = [f.data for f in first.files[1:]]
        if extra:
            self.users.append(merge_user(extra))
        self.before: list[tuple[dict, dict]] = []

    def run(self) -> list[FilePlan] | None:
        try:
            for user in self.users:
                self.before.append((render_texts(self.dir, user), render_texts(self.dir, user)))
        except R.RenderError as exc:
            _refuse_all(self.targets, f"template edits need the chart rendered ({exc})")
            return None
        tmp = Path(tempfile.mkdtemp(prefix="kfix-templates-"))
        try:
            out = self.in_copy(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if out is None:
            _refuse_all(self.targets, "nothing could be moved")
        return out

    def copy(self, tmp: Path, name: str) -> Path:
        dest = tmp / name
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(self.dir, dest, symlinks=False, ignore=shutil.ignore_patterns(".git"))
        return dest

    def apply(self, dest: Path, targets: list[Target]) -> tuple[dict[str, str], str]:
        """Write the step-1 edits of ``targets`` into the copy: {template: new text}, new values.yaml text."""
        texts: dict[str, str] = {}
        for template in dict.fromkeys(t.template for t in targets):
            original = decode((self.dir / template).read_bytes()).text
            mine = [t for t in targets if t.template == template]
            new = edit_template(original, mine)
            if new != original:
                texts[template] = new
        live = [t for t in targets if not t.refused and t.template in texts]
        values_text = self.values_text(live)
        for template, new in texts.items():
            (dest / template).write_text(new, encoding="utf-8")
        if values_text is not None:
            vpath = dest / "values.yaml"
            if vpath.is_symlink():
                vpath.unlink()
            vpath.write_text(values_text, encoding="utf-8")
        return texts, values_text if values_text is not None else ""

    def move_ops(self, targets: list[Target]) -> dict[int, list[O.Op]]:
        """Each target's values operations: its key with what the template wrote; for a key that stays
        absent (automountServiceAccountToken), the mapping it is looked up in, unless another key makes it."""
        values = self.first.files[0].data if isinstance(self.first.files[0].data, dict) else {}
        out: dict[int, list[O.Op]] = {id(t): [] for t in targets}
        made: list[tuple] = []
        for t in targets:
            if t.default is not ABSENT:
                out[id(t)].append(O.Set(t.key, O.clone(t.default)))
                made.append(t.key)
        for t in targets:
            if t.default is ABSENT and len(t.key) > 1:
                parent = t.key[:-1]
                if not isinstance(O.get(values, parent), dict) and not any(k[:len(parent)] == parent for k in made):
                    out[id(t)].append(O.Set(parent, {}))
                    made.append(parent)
        return out

    def move_changes(self, targets: list[Target]) -> list[Change]:
        ops = self.move_ops(targets)
        out = []
        for t in targets:
            rep = t.reps[0]
            out.append(Change(f"helm-template:{t.where}:{t.fld}", rep.rule, Fix.SAFE, 0, rep.resource,
                              rep.finding.container, 1, ops[id(t)],
                              [f"move {t.fld} from {t.where} into values key {'.'.join(t.key)}"]))
        return out

    def values_text(self, targets: list[Target]) -> str | None:
        main = self.first.files[0]
        if main.source is None or not targets:
            return None
        changes = self.move_changes(targets)
        if not any(c.ops for c in changes):
            return main.source.text
        return render_values(main.source.text, [c for c in changes if c.ops], self.hints(targets))

    def hints(self, targets: list[Target]) -> dict:
        out = {}
        for t in targets:
            what = {"securityContext": "Security Context", "resources": "resource requests and limits",
                    "automountServiceAccountToken": "automountServiceAccountToken"}[t.fld]
            who = "pod's" if t.level == "pod" else "container's"
            out[t.key] = f"Set the {who} {what} (template {t.template})"
        return out

    def readme(self, live: list[Target], values_plan: "TemplatedValuesPlan | None") -> TemplatePlan | None:
        """The chart README's parameter table with a row per new key (when it has such a table)."""
        path = self.dir / "README.md"
        final = _final_values(values_plan)
        if not path.is_file() or not isinstance(final, dict):
            return None
        try:
            src = decode(path.read_bytes())
        except (OSError, InputError):
            return None
        hints = self.hints(live)
        rows = [(".".join(t.key), O.get(final, t.key), hints[t.key]) for t in live
                if O.get(final, t.key, ABSENT) is not ABSENT]
        new = add_rows(src.text, rows)
        if new == src.text:
            return None
        change = Change("helm-template:README.md", live[0].reps[0].rule, Fix.SAFE, 0, live[0].reps[0].resource, None,
                        1, [], [f"document {len(rows)} new values keys"])
        return TemplatePlan(str(path), source=src, changes=[change], new_text=new, kubernetes=True, chart=str(self.dir))

    def prove(self, dest: Path) -> str:
        for user, (before, again) in zip(self.users, self.before):
            try:
                after = render_texts(dest, user)
            except R.RenderError as exc:
                return f"the edited chart does not render ({exc})"
            why = same_bytes(before, again, after)
            if why:
                return why + (" with the --values files" if user is not None else "")
        return ""

    def in_copy(self, tmp: Path) -> list[FilePlan] | None:
        live = [t for t in self.targets if not t.refused]
        dest = self.copy(tmp, self.dir.name)
        texts, _ = self.apply(dest, live)
        live = [t for t in live if not t.refused]
        why = self.prove(dest) if live else "nothing to edit"
        if why and live:
            kept = []
            for t in live:  # one by one: keep the moves that are byte for byte on their own
                one = self.copy(tmp, self.dir.name)
                self.apply(one, [t])
                if t.refused:
                    continue
                no = self.prove(one)
                if no:
                    t.refused = f"moving it into values does not render byte for byte ({no})"
                else:
                    kept.append(t)
            live = kept
            dest = self.copy(tmp, self.dir.name)
            texts, _ = self.apply(dest, live)
            why = self.prove(dest) if live else "nothing to edit"
            if why and live:
                for t in live:
                    t.refused = f"the moves together do not render byte for byte ({why})"
                live = []
        if not live:
            return None
        return self.assemble(dest, live, texts)

    def assemble(self, dest: Path, live: list[Target], texts: dict[str, str]) -> list[FilePlan]:
        values_files = [f for f in self.values_files]
        second = Planner(dest, self.options, values_files, None).run()
        tmp_prefix = str(dest)
        orig = str(self.dir)

        def back(path: str) -> str:
            return orig + path[len(tmp_prefix):] if path.startswith(tmp_prefix + os.sep) or path == tmp_prefix else path

        main_path = str(self.dir / "values.yaml")
        main_file = self.first.files[0]
        moves = self.move_changes(live)
        move_hints = self.hints(live)
        out: list[FilePlan] = []
        refusals = {_rep_key(rep): t.refused for t in self.targets if t.refused for rep in t.reps}
        for p in second:
            p.path = back(p.path)
            for rep in p.findings:
                rep.file = back(rep.file)
                why = refusals.get(_rep_key(rep))
                if why and rep.status == "report" and TEMPLATE_CHANGE in rep.note:
                    rep.note += f"; template edit refused: {why}"
            if isinstance(p, ValuesPlan):
                p.chart = orig
            if p.path == main_path and isinstance(p, ValuesPlan):
                tp = TemplatedValuesPlan(main_path, source=main_file.source, findings=p.findings,
                                         changes=[m for m in moves if m.ops] + p.changes, note=p.note,
                                         kubernetes=True, chart=orig, proof=p.proof,
                                         hints={**move_hints, **p.hints}, error=p.error)
                tp.moves = [m for m in moves if m.ops]
                tp.new_text = p.new_text if p.changed else (dest / "values.yaml").read_text(encoding="utf-8")
                if tp.new_text == main_file.source.text:
                    tp.new_text = None
                out.append(tp)
            else:
                out.append(p)
        readme = self.readme(live, next((p for p in out if isinstance(p, TemplatedValuesPlan)), None))
        if readme is not None:
            out.append(readme)
        for template, new in texts.items():
            path = str(self.dir / template)
            raw = (self.dir / template).read_bytes()
            mine = [t for t in live if t.template == template]
            if not mine:
                continue
            src = decode(raw)
            changes = [Change(f"helm-template:{t.where}:{t.fld}", t.reps[0].rule, Fix.SAFE, 0, t.reps[0].resource,
                              t.reps[0].finding.container, t.line, [],
                              [f"move {t.fld} into values key {'.'.join(t.key)}"]) for t in mine]
            out.append(TemplatePlan(path, source=src, changes=changes, new_text=new, kubernetes=True,
                                    chart=orig))
        return out


def _final_values(plan: "TemplatedValuesPlan | None") -> Any:
    if plan is None or plan.source is None:
        return None
    try:
        return yaml.safe_load(plan.new_text if plan.new_text is not None else plan.source.text)
    except yaml.YAMLError:
        return None


def _rep_key(rep: Reported) -> tuple:
    return (rep.resource, rep.rule, rep.finding.container, rep.finding.message)


def _refuse_all(targets: list[Target], why: str) -> None:
    for t in targets:
        t.refused = t.refused or why
    for t in targets:
        for rep in t.reps:
            if "template edit refused" not in rep.note:
                rep.note += f"; template edit refused: {t.refused}"

