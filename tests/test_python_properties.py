"""Property tests of the Python-source backend: pods built in many styles (libraries, import styles, one
line or one argument per line, trailing commas, comments between arguments, nested calls, variables)
are hardened, the rewrite keeps every comment, re-reads as the intended data (checked by the planner
before anything is returned), and a second run changes nothing."""

from __future__ import annotations

import ast
import io
import tokenize
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfix.api import make_options
from kfix.config import Config
from kfix.python.plan import plan_python
from kfix.rules import Inventory

# family -> (import lines, how a class is named, keyword style: "call" or a dict key style)
FAMILIES = {
    "client-module": ("from kubernetes import client\n", "client.V1{}", "call"),
    "client-names": ("from kubernetes.client import V1Container, V1PodSpec, V1SecurityContext\n", "V1{}", "call"),
    "asyncio": ("from kubernetes_asyncio import client\n", "client.V1{}", "call"),
    "cdk8s": ("from imports import k8s\n", "k8s.{}", "call"),
    "pulumi-names": ("from pulumi_kubernetes.core.v1 import ContainerArgs, PodSpecArgs, SecurityContextArgs\n", "{}Args", "call"),
    "pulumi-module": ("import pulumi_kubernetes as k8s\n", "k8s.core.v1.{}Args", "call"),
    "dict-camel": ("", "", "camel"),
    "dict-snake": ("from pulumi_kubernetes.core.v1 import PodSpecArgs\n", "", "snake"),
}
NAMES = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)


@st.composite
def layouts(draw):
    return {"multiline": draw(st.booleans()), "trailing": draw(st.booleans()),
            "comment": draw(st.sampled_from(["", "  # note", "\n# between"])), "quote": draw(st.sampled_from("\"'"))}


def _args(pairs: list[tuple[str, str]], style: str, lay: dict, indent: str, kind: str) -> str:
    """Render keyword arguments or dict entries in ``lay``'s layout."""
    q = lay["quote"]
    items = [f"{k}={v}" if kind == "call" else f"{q}{k}{q}: {v}" for k, v in pairs]
    if not lay["multiline"]:
        return ", ".join(items)
    inner = indent + "    "
    lines = []
    for i, item in enumerate(items):
        last = i == len(items) - 1
        comma = "," if not last or lay["trailing"] else ""
        comment = lay["comment"] if i == 0 else ""
        if comment.startswith("\n"):
            lines.append(f"{inner}{item}{comma}\n{inner}{comment.strip()}")
        else:
            lines.append(f"{inner}{item}{comma}{comment}")
    return "\n" + "\n".join(lines) + "\n" + indent


@st.composite
def sources(draw):
    family = draw(st.sampled_from(sorted(FAMILIES)))
    imports, name_fmt, style = FAMILIES[family]
    lay = draw(layouts())
    q = lay["quote"]
    n = draw(st.integers(1, 2))
    names = draw(st.lists(NAMES, min_size=n, max_size=n, unique=True))
    use_var = draw(st.booleans())
    has_sc = draw(st.booleans())
    kind = "call" if style == "call" else "dict"
    key = (lambda camel, snake: snake) if style in ("call", "snake") else (lambda camel, snake: camel)
    containers = []
    for cname in names:
        pairs = [("name", f"{q}{cname}{q}"), ("image", f"{q}{cname}:1{q}")]
        if has_sc:
            if kind == "call":
                sc = f"{name_fmt.format('SecurityContext')}(run_as_user=20000)"
            else:
                sc = "{" + f"{q}{key('runAsUser', 'run_as_user')}{q}: 20000" + "}"
            pairs.append((key("securityContext", "security_context"), sc))
        body = _args(pairs, style, lay, "    ", kind)
        containers.append(f"{name_fmt.format('Container')}({body})" if kind == "call" else "{" + body + "}")
    lines = [imports]
    if use_var:
        for i, c in enumerate(containers):
            lines.append(f"c{i} = {c}\n")
        listed = "[" + ", ".join(f"c{i}" for i in range(len(containers))) + "]"
    else:
        listed = "[" + ", ".join(containers) + "]"
    pod_pairs = [(key("containers", "containers"), listed)]
    pod_body = _args(pod_pairs, style, lay, "", kind)
    if kind == "call":
        lines.append(f"pod = {name_fmt.format('PodSpec')}({pod_body})\n")
    elif style == "snake":
        lines.append(f"pod = PodSpecArgs(**{{}})\nspec = {{{pod_body}}}\nx = {{{q}api_version{q}: 1}}\n")
    else:
        lines.append("pod = {" + pod_body + "}\n")
    return "".join(lines)


def _comments(text: str) -> Counter:
    return Counter(t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT)


OPTIONS = make_options(Config())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sources())
def test_generated_pods_are_hardened_in_place(text: str) -> None:
    plan = plan_python("gen.py", text.encode(), OPTIONS, Inventory())
    assert plan.error is None, (plan.error, text)
    assert plan.kubernetes, text
    assert plan.changed, text
    new = plan.new_text
    ast.parse(new)
    assert _comments(new) == _comments(text)
    fixed = [r for r in plan.findings if r.rule == "no-privilege-escalation"]
    assert fixed and all(r.status == "fix" for r in fixed), [(r.status, r.note) for r in fixed]
    assert new.count("allow_privilege_escalation") + new.count("allowPrivilegeEscalation") == len(fixed)
    again = plan_python("gen.py", new.encode(), OPTIONS, Inventory())
    assert again.error is None and not again.changes, (again.error, new)
