"""Hypothesis strategies for the engine property tests: Kubernetes manifests rendered as YAML text.

Two phases. First, plain data is drawn: Deployments, Pods, CronJobs, StatefulSets (and a few other
objects) with 1-3 containers and initContainers, random existing securityContext / resources /
volumes / volumeMounts, some already hardened. Then every value is given a layout (indentation step
2/3/4, or mixed per mapping; block sequences flush with their key or indented; flow mappings and
sequences; full-line and end-of-line comments; blank lines; quoted keys and values; block scalars
with chomping; empty and null values) and rendered line by line by the small renderer below, which
is independent of the engine's own renderer. Documents are joined with ``---`` (leading or not,
``...`` ends, comments between them), with LF, CRLF or mixed line endings, an optional BOM and an
optional missing final newline.

Every full-line and end-of-line comment carries a unique token ``~N~`` so the tests can follow it.
"""

from __future__ import annotations

import functools
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import strategies as st

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

ABSENT = object()  # a key that is not written at all

COMMENT_TOKEN = re.compile(r"~(\d+)~")


# ==================================================================================================
# Layout model
# ==================================================================================================
@dataclass
class Scal:
    value: Any
    text: str  # as written after "key: " / "- " (a block scalar's header: "|-", ">+", ...)
    block: list[str] | None = None  # content lines of a block scalar (without indentation)
    keep: bool = False  # keep chomping (``+``): blank lines after it would become content
    folded_plain: bool = False  # a plain scalar continued on more lines (``block``): no comment after it


@dataclass
class Entry:
    key: Any
    key_text: str
    value: Any  # Scal | Map | Seq
    before: list = field(default_factory=list)  # ("blank",) or ("comment", mode, text)
    eol: str = ""


@dataclass
class Item:
    value: Any
    before: list = field(default_factory=list)
    eol: str = ""
    own_line: bool = False  # a mapping item that starts on the line after its "-"


@dataclass
class Map:
    entries: list[Entry]
    flow: bool = False
    step: int = 2  # columns from my keys to the keys of my nested block mappings
    seq_indent: int = 0  # columns from my keys to the "-" of my nested block sequences
    after: list = field(default_factory=list)  # full-line comments after the last entry
    pad: bool = False  # "{ a: b }" rather than "{a: b}"


@dataclass
class Seq:
    items: list[Item]
    flow: bool = False
    item_offset: int = 2  # columns from "-" to the first key of a mapping item
    after: list = field(default_factory=list)
    pad: bool = False
    multiline: bool = False  # a flow sequence written over several lines


# ==================================================================================================
# Renderer (lines without line endings; KEEP_END marks the end of a keep-chomped block scalar)
# ==================================================================================================
KEEP_END = object()


def _comment_line(col: int, spec: tuple) -> str:
    _, mode, text = spec
    c = {"same": col, "zero": 0, "deeper": col + 1}[mode]
    return " " * c + text


def _before_lines(col: int, before: list) -> list:
    out: list = []
    for spec in before:
        out.append("" if spec[0] == "blank" else _comment_line(col, spec))
    return out


def _eol(text: str) -> str:
    return f"  {text}" if text else ""


def render_flow(node: Any) -> str:
    if isinstance(node, Scal):
        return node.text
    if isinstance(node, Map):
        if not node.entries:
            return "{ }" if node.pad else "{}"
        inner = ", ".join(f"{e.key_text}: {render_flow(e.value)}" for e in node.entries)
        return "{ " + inner + " }" if node.pad else "{" + inner + "}"
    if not node.items:
        return "[ ]" if node.pad else "[]"
    inner = ", ".join(render_flow(i.value) for i in node.items)
    return "[ " + inner + " ]" if node.pad else "[" + inner + "]"


def _is_flowish(node: Any) -> bool:
    return isinstance(node, (Map, Seq)) and (node.flow or not (node.entries if isinstance(node, Map) else node.items))


def _value_lines(head: str, value: Any, eol: str, child_col: int, seq_col: int, block_col: int) -> list:
    """Lines for ``head`` (a key with its colon, or a dash) followed by ``value``."""
    if isinstance(value, Scal):
        if value.block is None:
            sep = " " if value.text else ""
            return [f"{head}{sep}{value.text}{_eol(eol)}"]
        lines: list = [f"{head} {value.text}{'' if value.folded_plain else _eol(eol)}"]
        lines.extend(" " * block_col + ln if ln else "" for ln in value.block)
        if value.keep:
            lines.append(KEEP_END)
        return lines
    if _is_flowish(value):
        if isinstance(value, Seq) and value.multiline and value.items:
            pad = " " * child_col
            lines = [f"{head} [{_eol(eol)}"]
            for n, item in enumerate(value.items):
                comma = "," if n + 1 < len(value.items) else ""
                lines.append(f"{pad}{render_flow(item.value)}{comma}")
            lines.append(f"{pad}]")
            return lines
        return [f"{head} {render_flow(value)}{_eol(eol)}"]
    if isinstance(value, Map):
        return [f"{head}{_eol(eol)}", *render_map(value, child_col)]
    return [f"{head}{_eol(eol)}", *render_seq(value, seq_col)]


def render_map(m: Map, col: int, first_prefix: str | None = None) -> list:
    """A block mapping with its keys at ``col``; ``first_prefix`` replaces the first key's indentation."""
    lines: list = []
    pad = " " * col
    for n, e in enumerate(m.entries):
        lead = first_prefix if (n == 0 and first_prefix is not None) else pad
        if not (n == 0 and first_prefix is not None):
            lines.extend(_before_lines(col, e.before))
        lines.extend(_value_lines(f"{lead}{e.key_text}:", e.value, e.eol, col + m.step, col + m.seq_indent,
                                  col + m.step))
    lines.extend(_before_lines(col, m.after))
    return lines


def render_seq(s: Seq, dash: int) -> list:
    lines: list = []
    pad = " " * dash
    for item in s.items:
        lines.extend(_before_lines(dash, item.before))
        v = item.value
        if isinstance(v, Map) and not _is_flowish(v):
            if item.own_line:
                lines.append(f"{pad}-{_eol(item.eol)}")
                lines.extend(render_map(v, dash + s.item_offset))
            else:
                prefix = pad + "-" + " " * (s.item_offset - 1)
                lines.extend(render_map(v, dash + s.item_offset, prefix))
        elif isinstance(v, Seq) and not _is_flowish(v):
            raise AssertionError("nested block sequences are not generated")
        else:
            lines.extend(_value_lines(f"{pad}-", v, item.eol, dash + 2, dash + 2, dash + 2))
    lines.extend(_before_lines(dash, s.after))
    return lines


def finish_lines(lines: list) -> list[str]:
    """Drop blank lines right after a keep-chomped block scalar (they would become its content)."""
    out: list[str] = []
    dropping = False
    for line in lines:
        if line is KEEP_END:
            dropping = True
            continue
        if dropping and line == "":
            continue
        dropping = False
        out.append(line)
    return out


# ==================================================================================================
# Scalars
# ==================================================================================================
_PLAIN_BAD_START = set("-?:,[]{}#&*!|>'\"%@` ")


@functools.lru_cache(maxsize=4096)
def plain_ok(value: str, in_flow: bool) -> bool:
    if not value or value != value.strip() or "\n" in value or "\t" in value:
        return False
    if value[0] in _PLAIN_BAD_START or ": " in value or " #" in value or value.endswith(":"):
        return False
    if in_flow and set(value) & set(",[]{}"):
        return False
    if any(ord(ch) < 32 or ord(ch) in (0x85, 0x2028, 0x2029, 0xFEFF) for ch in value):
        return False
    try:
        back = yaml.load(value, Loader=_Loader)
    except yaml.YAMLError:
        return False
    return isinstance(back, str) and back == value


def quote(value: str, style: str) -> str:
    if style == "single" and "\n" not in value and all(32 <= ord(ch) for ch in value):
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value, ensure_ascii=False)


# ==================================================================================================
# Phase 1: plain data of Kubernetes objects (dicts keep key order)
# ==================================================================================================
NAMES = ["web", "api", "db", "worker", "cache", "sidecar", "init-db", "proxy", "migrate", "exporter"]
IMAGES = ["nginx:1.25", "busybox:1.36", "ghcr.io/acme/api:v2.1", "redis@sha256:" + "ab" * 32, "postgres:16",
          "registry.example.com:5000/team/app:latest"]
SCRIPTS = ["echo start\nexec /app/run\n", "set -e\n\nmigrate up\n", "sleep 5\necho done",
           "cat /etc/config # not a comment\nexit 0\n", "a: not a key\n- not an item\n\n"]
FOLDABLE = ["run the server with the default options and exit cleanly", "one two three four five six"]


def _opt(draw, p: float = 0.5) -> bool:
    """True with probability ``p``; shrinks towards False."""
    return draw(st.integers(0, 99)) >= 100 - round(p * 100)


@st.composite
def container_security_context(draw, hardened: bool):
    if hardened:
        sc = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
              "capabilities": {"drop": ["ALL"]}}
        if _opt(draw):
            sc["runAsNonRoot"] = True
        if _opt(draw, 0.3):
            sc["capabilities"]["add"] = ["NET_BIND_SERVICE"]
        if _opt(draw, 0.3):
            sc["seccompProfile"] = {"type": "RuntimeDefault"}
        return _shuffled(draw, sc)
    kind = draw(st.sampled_from(["absent", "absent", "empty", "null", "partial", "partial", "partial", "hard"]))
    if kind == "absent":
        return ABSENT
    if kind == "empty":
        return {}
    if kind == "null":
        return None
    if kind == "hard":
        return draw(container_security_context(True))
    sc: dict = {}
    for key, values in [("allowPrivilegeEscalation", [True, False]), ("privileged", [True, False]),
                        ("readOnlyRootFilesystem", [True, False]), ("runAsNonRoot", [True, False]),
                        ("runAsUser", [0, 1000, 10001]), ("runAsGroup", [0, 3000])]:
        if _opt(draw, 0.3):
            sc[key] = draw(st.sampled_from(values))
    if _opt(draw, 0.4):
        caps: dict = {}
        if _opt(draw, 0.6):
            caps["drop"] = draw(st.lists(st.sampled_from(["ALL", "NET_RAW", "MKNOD"]), max_size=2, unique=True))
        if _opt(draw, 0.6):
            caps["add"] = draw(st.lists(st.sampled_from(["NET_ADMIN", "SYS_ADMIN", "NET_BIND_SERVICE", "CHOWN"]),
                                        max_size=3, unique=True))
        sc["capabilities"] = caps
    if _opt(draw, 0.2):
        sc["seccompProfile"] = {"type": draw(st.sampled_from(["Unconfined", "RuntimeDefault"]))}
    return sc


@st.composite
def resources(draw, hardened: bool):
    full = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}}
    if hardened:
        return full
    kind = draw(st.sampled_from(["absent", "empty", "null", "partial", "partial", "full"]))
    if kind == "absent":
        return ABSENT
    if kind == "empty":
        return {}
    if kind == "null":
        return None
    if kind == "full":
        return full
    res: dict = {}
    for section in ("requests", "limits"):
        if _opt(draw):
            sub = {}
            for name, values in (("cpu", ["10m", "250m", "3", "500m"]), ("memory", ["32Mi", "2Gi", "700Mi"])):
                if _opt(draw):
                    sub[name] = draw(st.sampled_from(values))
            res[section] = sub
    return res


def _shuffled(draw, d: dict, keep_first: tuple = ()) -> dict:
    keys = [k for k in d if k not in keep_first]
    order = draw(st.permutations(keys)) if len(keys) > 1 else keys
    return {**{k: d[k] for k in keep_first if k in d}, **{k: d[k] for k in order}}


@st.composite
def container(draw, name: str, hardened: bool, volumes: dict):
    c: dict = {"name": name, "image": draw(st.sampled_from(IMAGES))}
    if _opt(draw, 0.2):
        c["imagePullPolicy"] = "IfNotPresent"
    if _opt(draw, 0.3):
        c["command"] = ["sh", "-c", draw(st.sampled_from(SCRIPTS))]
    if _opt(draw, 0.3):
        c["args"] = draw(st.lists(st.sampled_from(["--port=8080", "-v", "serve", "--config", "/etc/app.yaml",
                                                   "two words", "true", "80", FOLDABLE[0]]), min_size=1, max_size=3))
    if _opt(draw, 0.3):
        c["ports"] = [{"containerPort": draw(st.sampled_from([80, 8080, 9090])), "name": "http", "protocol": "TCP"}]
    if _opt(draw, 0.3):
        c["env"] = [{"name": "MODE", "value": draw(st.sampled_from(["prod", "1", "yes", "a b"]))}]
    sc = draw(container_security_context(hardened))
    if sc is not ABSENT:
        c["securityContext"] = sc
    res = draw(resources(hardened))
    if res is not ABSENT:
        c["resources"] = res
    mounts = []
    for vname, path in (("data", "/data"), ("config", "/etc/app"), ("tmp", "/tmp")):
        if (hardened and vname == "tmp") or _opt(draw, 0.25):
            mount = {"name": vname, "mountPath": path}
            if _opt(draw, 0.2):
                mount["readOnly"] = True
            mounts.append(mount)
            volumes[vname] = True
    if mounts or _opt(draw, 0.1):
        c["volumeMounts"] = mounts
    return _shuffled(draw, c, ("name",) if _opt(draw, 0.8) else ())


VOLUME_SOURCES = {"data": [{"persistentVolumeClaim": {"claimName": "data"}}, {"hostPath": {"path": "/var/data"}}],
                  "config": [{"configMap": {"name": "app-config"}}], "tmp": [{"emptyDir": {}}]}


@st.composite
def pod_spec(draw, hardened: bool, restart: bool):
    spec: dict = {}
    volumes: dict = {}
    if hardened:
        spec["securityContext"] = _shuffled(draw, {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                                   "fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}})
        spec["automountServiceAccountToken"] = False
    else:
        kind = draw(st.sampled_from(["absent", "empty", "null", "partial", "partial"]))
        if kind == "empty":
            spec["securityContext"] = {}
        elif kind == "null":
            spec["securityContext"] = None
        elif kind == "partial":
            psc: dict = {}
            for key, values in [("runAsNonRoot", [True, False]), ("runAsUser", [0, 999, 10001]),
                                ("fsGroup", [2000]), ("seccompProfile", [{"type": "Unconfined"},
                                                                         {"type": "RuntimeDefault"}])]:
                if _opt(draw, 0.35):
                    psc[key] = draw(st.sampled_from(values))
            spec["securityContext"] = psc
        if _opt(draw, 0.3):
            spec["automountServiceAccountToken"] = draw(st.booleans())
        if _opt(draw, 0.15):
            spec[draw(st.sampled_from(["hostNetwork", "hostPID", "hostIPC"]))] = draw(st.booleans())
    if _opt(draw, 0.3):
        spec["serviceAccountName"] = "app"
    if restart:
        spec["restartPolicy"] = draw(st.sampled_from(["Never", "OnFailure"]))
    if _opt(draw, 0.2):
        spec["nodeSelector"] = {"kubernetes.io/os": "linux"}
    names = iter(draw(st.permutations(NAMES)))
    if _opt(draw, 0.4):
        spec["initContainers"] = [draw(container(next(names), hardened, volumes))
                                  for _ in range(draw(st.integers(1, 2)))]
    spec["containers"] = [draw(container(next(names), hardened, volumes)) for _ in range(draw(st.integers(1, 3)))]
    if volumes or _opt(draw, 0.1):
        spec["volumes"] = [{"name": v, **draw(st.sampled_from(VOLUME_SOURCES[v]))} for v in volumes]
    return _shuffled(draw, spec)


@st.composite
def annotations(draw, containers: list[str], hardened: bool):
    ann: dict = {}
    if _opt(draw, 0.3):
        ann["description"] = draw(st.sampled_from(["the web tier", FOLDABLE[1], "line one\nline two\n"]))
    if not hardened and _opt(draw, 0.3):
        ann["seccomp.security.alpha.kubernetes.io/pod"] = draw(st.sampled_from(["runtime/default", "unconfined",
                                                                                 "localhost/prof.json"]))
    if not hardened and containers and _opt(draw, 0.2):
        ann["container.seccomp.security.alpha.kubernetes.io/" + draw(st.sampled_from(containers))] = \
            draw(st.sampled_from(["runtime/default", "docker/default"]))
    if _opt(draw, 0.1):
        ann["kfix.dev/ignore"] = draw(st.sampled_from(["resources", "read-only-root-filesystem,drop-capabilities"]))
    return _shuffled(draw, ann)


def _meta(draw, name: str, ann: dict, namespace: bool = True) -> dict:
    meta: dict = {"name": name}
    if namespace and _opt(draw, 0.3):
        meta["namespace"] = "prod"
    if _opt(draw, 0.6):
        meta["labels"] = {"app": name, "app.kubernetes.io/part-of": "shop"}
    if ann or _opt(draw, 0.05):
        meta["annotations"] = ann
    return meta


@st.composite
def workload(draw, hardened: bool | None = None):
    if hardened is None:
        hardened = _opt(draw, 0.15)
    kind = draw(st.sampled_from(["Deployment", "Pod", "CronJob", "StatefulSet", "Job", "DaemonSet"]))
    name = draw(st.sampled_from(NAMES))
    spec = draw(pod_spec(hardened, kind in ("Pod", "CronJob", "Job")))
    cnames = [c["name"] for c in spec.get("containers", []) + spec.get("initContainers", [])]
    pod_ann = draw(annotations(cnames, hardened))
    api = {"Pod": "v1", "CronJob": "batch/v1", "Job": "batch/v1"}.get(kind, "apps/v1")
    obj: dict = {"apiVersion": api, "kind": kind}
    if kind == "Pod":
        obj["metadata"] = _meta(draw, name, pod_ann)
        obj["spec"] = spec
        return obj
    obj["metadata"] = _meta(draw, name, draw(annotations([], True)))
    template = {"metadata": _meta(draw, name, pod_ann, namespace=False), "spec": spec}
    if _opt(draw, 0.2):
        template = {"spec": spec, "metadata": template["metadata"]}
    if kind == "CronJob":
        obj["spec"] = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        outer: dict = {}
        if kind in ("Deployment", "StatefulSet"):
            outer["replicas"] = draw(st.integers(1, 3))
        if kind == "StatefulSet":
            outer["serviceName"] = name
        if kind != "Job":
            outer["selector"] = {"matchLabels": {"app": name}}
        outer["template"] = template
        obj["spec"] = _shuffled(draw, outer) if _opt(draw, 0.2) else outer
    return obj


@st.composite
def other_object(draw):
    kind = draw(st.sampled_from(["ConfigMap", "Service"]))
    if kind == "ConfigMap":
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"},
                "data": {"app.yaml": draw(st.sampled_from(SCRIPTS)), "mode": "prod", "empty": ""}}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}


# ==================================================================================================
# Phase 2: layout
# ==================================================================================================
@dataclass
class FileStyle:
    step: int
    mixed_steps: bool
    seq: str  # flush | indented | mixed
    p_flow: float
    p_comment: float
    p_eol: float
    p_blank: float
    p_quote: float
    p_block: float


@st.composite
def file_styles(draw):
    return FileStyle(
        step=draw(st.sampled_from([2, 4, 3])),
        mixed_steps=_opt(draw, 0.3),
        seq=draw(st.sampled_from(["flush", "indented", "mixed"])),
        p_flow=draw(st.sampled_from([0.0, 0.05, 0.15, 0.3])),
        p_comment=draw(st.sampled_from([0.0, 0.1, 0.3])),
        p_eol=draw(st.sampled_from([0.0, 0.1, 0.3])),
        p_blank=draw(st.sampled_from([0.0, 0.05, 0.15])),
        p_quote=draw(st.sampled_from([0.0, 0.1, 0.4])),
        p_block=draw(st.sampled_from([0.0, 0.5, 1.0])),
    )


class Styler:
    """Gives plain data a layout. File-level knobs come from hypothesis (so shrinking can turn comments,
    flow style, quoting... off); the many per-node choices come from a seeded ``random.Random``."""

    def __init__(self, rnd: random.Random, style: FileStyle, counter: list[int]):
        self.rnd = rnd
        self.style = style
        self.counter = counter

    def p(self, prob: float) -> bool:
        return prob > 0 and self.rnd.random() < prob

    def pick(self, options: list) -> Any:
        return self.rnd.choice(options)

    def comment(self) -> str:
        self.counter[0] += 1
        words = self.pick(["", " keep this", " TODO: review", " key: value", " - item", " #!x"])
        return f"#~{self.counter[0]}~{words}"

    def _before(self) -> list:
        out: list = []
        if self.p(self.style.p_blank):
            out.append(("blank",))
        while self.p(self.style.p_comment) and len(out) < 3:
            out.append(("comment", self.pick(["same", "same", "zero", "deeper"]), self.comment()))
        return out

    def _eol(self) -> str:
        return self.comment() if self.p(self.style.p_eol) else ""

    def key_text(self, key: Any) -> str:
        if isinstance(key, str) and plain_ok(key, True) and not self.p(self.style.p_quote):
            return key
        return quote(str(key), self.pick(["single", "double"]))

    def scalar(self, value: Any, in_flow: bool, mapping_value: bool) -> Scal:
        if value is None:
            options = ["null", "~"] + (["", ""] if mapping_value and not in_flow else [])
            return Scal(None, self.pick(options))
        if isinstance(value, bool):
            return Scal(value, "true" if value else "false")
        if isinstance(value, int):
            return Scal(value, str(value))
        assert isinstance(value, str)
        if not in_flow and self.p(self.style.p_block):
            block = self._block_scalar(value)
            if block is not None:
                return block
        if plain_ok(value, in_flow) and not self.p(self.style.p_quote):
            words = value.split(" ")
            if not in_flow and len(words) > 2 and value == " ".join(words) and self.p(0.3):
                cut = self.rnd.randint(1, len(words) - 1)  # a plain scalar over two lines
                return Scal(value, " ".join(words[:cut]), [" ".join(words[cut:])], folded_plain=True)
            return Scal(value, value)
        return Scal(value, quote(value, self.pick(["single", "double"])))

    def _block_scalar(self, value: str) -> Scal | None:
        if "\n" in value:
            if value.startswith((" ", "\n")) or any(ln != ln.rstrip() for ln in value.split("\n")):
                return None
            body = value.rstrip("\n")
            trailing = len(value) - len(body)
            lines = body.split("\n")
            if trailing == 0:
                return Scal(value, "|-", lines)
            if trailing == 1 and not self.p(0.3):
                return Scal(value, "|", lines)
            return Scal(value, "|+", lines + [""] * (trailing - 1), keep=True)
        if " " in value and value == " ".join(value.split()):
            words = value.split(" ")
            cut = self.rnd.randint(1, len(words))
            lines = [" ".join(words[:cut])] + ([" ".join(words[cut:])] if cut < len(words) else [])
            return Scal(value, ">-", lines)
        return None

    def node(self, value: Any, in_flow: bool = False, mapping_value: bool = True) -> Any:
        if isinstance(value, dict):
            return self.mapping(value, in_flow)
        if isinstance(value, list):
            return self.sequence(value, in_flow)
        return self.scalar(value, in_flow, mapping_value)

    def mapping(self, value: dict, in_flow: bool, root: bool = False) -> Map:
        flow = in_flow or not value or (not root and self.p(self.style.p_flow))
        step = self.pick([2, 3, 4]) if self.style.mixed_steps else self.style.step
        seq = self.style.seq if self.style.seq != "mixed" else self.pick(["flush", "indented"])
        seq_indent = 0 if seq == "flush" else step
        entries = []
        for k, v in value.items():
            child = self.node(v, flow, True)
            entries.append(Entry(k, self.key_text(k), child, [] if flow else self._before(),
                                 "" if flow else self._eol()))
        after = [] if flow else [("comment", self.pick(["same", "zero", "deeper"]), self.comment())
                                 for _ in range(2) if self.p(self.style.p_comment)]
        return Map(entries, flow, step, seq_indent, after, pad=flow and self.p(0.2))

    def sequence(self, value: list, in_flow: bool) -> Seq:
        flow = in_flow or not value or self.p(self.style.p_flow)
        items = []
        for v in value:
            child = self.node(v, flow, False)
            inline_map = isinstance(child, Map) and not _is_flowish(child)
            own = inline_map and self.p(0.1)
            items.append(Item(child, [] if flow else self._before(),
                              "" if flow or (inline_map and not own) else self._eol(), own))
        after = [] if flow else [("comment", self.pick(["same", "zero"]), self.comment())
                                 for _ in range(1) if self.p(self.style.p_comment)]
        multiline = flow and not in_flow and bool(value) and all(not isinstance(v, (dict, list)) for v in value) \
            and self.p(0.15)
        return Seq(items, flow, self.pick([2, 2, 2, 3, 4]), after, pad=flow and self.p(0.2), multiline=multiline)


# ==================================================================================================
# Files
# ==================================================================================================
@dataclass
class ManifestFile:
    text: str  # decoded (no BOM)
    raw: bytes
    data: list  # plain data of every document, as the layout model says
    bom: bool
    eol: str  # "\n", "\r\n" or "mixed"
    final_newline: bool

    def __repr__(self) -> str:  # hypothesis prints this for a failing example
        return f"ManifestFile(raw={self.raw!r})"


@st.composite
def manifest_files(draw, hardened: bool | None = None, objects=None, max_docs: int = 3):
    """A whole file: 1..max_docs documents, each a workload (or, sometimes, another object)."""
    if objects is None:
        n = draw(st.integers(1, max_docs))
        objects = [draw(workload(hardened)) if hardened is not None or _opt(draw, 0.85) else draw(other_object())
                   for _ in range(n)]
    style = draw(file_styles())
    counter = [0]
    styler = Styler(random.Random(draw(st.integers(0, 2**32 - 1))), style, counter)
    lines: list = []
    if _opt(draw, 0.2):
        lines.append(styler.comment().replace("#", "# file header ", 1))
    directive = _opt(draw, 0.1)
    if directive:
        lines.append("%YAML 1.1")
    leading = directive or _opt(draw, 0.4)
    data: list = []
    for n, obj in enumerate(objects):
        if n > 0 or leading:
            marker = "---"
            if _opt(draw, 0.15):
                marker += " " + styler.comment()
            lines.append(marker)
        if n > 0 and _opt(draw, 0.2):
            lines.append(styler.comment())
        if n > 0 and _opt(draw, 0.1):  # an empty, comment-only document before this one
            lines.append(styler.comment())
            lines.append("---")
            data.append(None)
        data.append(obj)
        root = styler.mapping(obj, False, root=True)
        lines.extend(render_map(root, 0))
        if _opt(draw, 0.15):
            lines.append("...")
            if n + 1 < len(objects) and _opt(draw, 0.3):
                lines.append(styler.comment())
    lines = finish_lines(lines)
    eol = draw(st.sampled_from(["\n", "\r\n", "\n", "mixed"]))
    final_newline = _opt(draw, 0.75)
    if not final_newline and _ends_in_block_scalar(objects, lines):
        lines.append("# " + styler.comment()[1:] + " end")
    if eol == "mixed":
        ends = [styler.pick(["\n", "\r\n"]) for _ in lines]
    else:
        ends = [eol] * len(lines)
    if not final_newline:
        ends[-1] = ""
    text = "".join(line + end for line, end in zip(lines, ends))
    bom = _opt(draw, 0.15)
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    return ManifestFile(text, raw, data, bom, eol, final_newline)


def _ends_in_block_scalar(objects: list, lines: list[str]) -> bool:
    """Would dropping the last line break change a value (the last line is block scalar content)?"""
    if not lines:
        return False
    try:
        with_nl = list(yaml.load_all("\n".join(lines) + "\n", Loader=_Loader))
        without = list(yaml.load_all("\n".join(lines), Loader=_Loader))
    except yaml.YAMLError:
        return True
    return with_nl != without


# ==================================================================================================
# Values for random edit operations
# ==================================================================================================
TRICKY_STRINGS = ["true", "no", "on", "null", "~", "123", "0o17", "1e3", "0x1F", ".inf", "", " lead", "trail ",
                  "a: b", "a #b", "#x", "- x", "[y]", "{x}", "*star", "&amp", "!tag", "%pct", "@at", "`tick",
                  "it's", 'say "hi"', "multi\nline", "ends\n", "tab\there", "ünïcödé", "key:", "|pipe",
                  ">gt", "a,b", "2024-01-01", "12:30", "=", "<<", "ls\u2028x", "bell\x07", "-x", "a?", "x:y"]


def known_engine_bug(value: Any) -> bool:
    """Values whose round trip cannot be compared by equality (NaN is never equal to itself)."""
    return isinstance(value, float) and value != value


scalar_values = st.one_of(
    st.sampled_from(["ALL", "RuntimeDefault", "/tmp", "10001", "prod", "web"]),
    st.sampled_from(TRICKY_STRINGS),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8),
    st.integers(-5, 70000),
    st.booleans(),
    st.none(),
    st.sampled_from([0.5, -1.25, 3.0, 1e-05, 1e20, float("inf")]),
).filter(lambda v: not known_engine_bug(v))

KEYS = st.one_of(st.sampled_from(["newKey", "runAsUser", "drop", "type", "a b", "x:y", "true", "123", "#k", "-k",
                                  "k#", "ünï", "null", "a?"]),
                 st.from_regex(r"\A[a-z][a-zA-Z0-9]{0,6}\Z")).filter(lambda v: not known_engine_bug(v))

values = st.recursive(scalar_values, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)), max_leaves=6)
