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


def test_client_proof_builds_new_values_with_the_library() -> None:
    """With the kubernetes package installed, new client-model values are built and serialised by the library
    itself; a field its models do not have is refused (the file is never written with it)."""
    import pytest

    pytest.importorskip("kubernetes")
    from kfix import ops as O
    from kfix.errors import VerificationError
    from kfix.python.plan import parse_source, read_sites
    from kfix.python.proof import prove_client_edits
    from kfix.python.writer import Edits

    text = "from kubernetes import client\n\nspec = client.V1PodSpec(containers=[client.V1Container(name='a')])\n"
    source = parse_source(text)
    pod = read_sites(source)[0].value
    good = Edits(source)
    good.add(pod, O.Set(("containers", 0, "securityContext", "capabilities", "drop"), ["ALL"]))
    good.add(pod, O.Set(("securityContext", "seccompProfile", "type"), "RuntimeDefault"))
    assert prove_client_edits(good) == 2
    bad = Edits(source)
    bad.add(pod, O.Set(("containers", 0, "securityContext", "allowEscalation"), False))
    try:
        prove_client_edits(bad)
    except VerificationError as exc:
        assert "allow_escalation" in exc.message
    else:
        raise AssertionError("a field the client's models lack was accepted")


# --- new edit kinds: entries removed (legacy annotations), cdk8s-plus enum lists, followed values --------

ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"


@st.composite
def annotated_pods(draw):
    """A client pod whose metadata holds the legacy seccomp annotation among others, one per line, with
    comments after entries and on lines of their own in varied places."""
    q = draw(st.sampled_from("\"'"))
    others = draw(st.lists(NAMES, min_size=0, max_size=3, unique=True))
    at = draw(st.integers(0, len(others)))
    keys = others[:at] + [ANNOTATION] + others[at:]
    lines = []
    for i, key in enumerate(keys):
        value = "runtime/default" if key == ANNOTATION else "x"
        if draw(st.booleans()):
            lines.append(f"            # about {key}")
        trailing = f"  # note {i}" if draw(st.booleans()) else ""
        last = i == len(keys) - 1
        comma = "," if not last or draw(st.booleans()) else ""
        lines.append(f"            {q}{key}{q}: {q}{value}{q}{comma}{trailing}")
    body = "\n".join(lines)
    return (f"from kubernetes import client\n\npod = client.V1Pod(\n    metadata=client.V1ObjectMeta(\n"
            f"        name={q}web{q},\n        annotations={{\n{body}\n        }},\n    ),\n"
            f"    spec=client.V1PodSpec(containers=[client.V1Container(name={q}web{q}, image={q}web:1{q})]),\n)\n")


SECCOMP_ONLY = make_options(Config(), select=["seccomp-runtime-default"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(annotated_pods())
def test_legacy_annotation_is_migrated_and_every_comment_kept(text: str) -> None:
    plan = plan_python("gen.py", text.encode(), SECCOMP_ONLY, Inventory())
    assert plan.error is None, (plan.error, text)
    (rep,) = [r for r in plan.findings if "legacy" in r.finding.message]
    if rep.status == "unfixable":  # the annotation's comments have no line of their own to go to
        assert "would lose a comment" in rep.note, rep.note
        return
    assert rep.status == "fix", (rep.status, rep.note)
    new = plan.new_text
    assert f'"{ANNOTATION}"' not in new.replace("'", '"')  # (the comments about it stay)
    assert 'seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault")' in new.replace("'", '"')
    assert _comments(new) == _comments(text)
    ast.parse(new)
    again = plan_python("gen.py", new.encode(), SECCOMP_ONLY, Inventory())
    assert again.error is None and not again.changes, (again.error, new)


@st.composite
def plus_pods(draw):
    """cdk8s-plus containers with and without a drop list (enum members), props or dicts, in varied layouts."""
    lay = draw(layouts())
    q = lay["quote"]
    kind = draw(st.sampled_from(["props", "dict", "none"]))
    drop = draw(st.lists(st.sampled_from(["NET_RAW", "SYS_ADMIN", "CHOWN"]), max_size=2, unique=True))
    enum = "[" + ", ".join(f"kplus.Capability.{d}" for d in drop) + "]"
    pairs = [("image", f"{q}web:1{q}")]
    if kind == "props":
        pairs.append(("security_context", "kplus.ContainerSecurityContextProps(capabilities="
                                          f"kplus.ContainerSecutiryContextCapabilities(drop={enum}))"))
    elif kind == "dict":
        pairs.append(("security_context", f"{{{q}capabilities{q}: {{{q}drop{q}: {enum}}}}}"))
    container = f"kplus.ContainerProps({_args(pairs, 'call', lay, '        ', 'call')})"
    return ("import cdk8s_plus_30 as kplus\n\n"
            f"web = kplus.Deployment(\n    None,\n    {q}web{q},\n    containers=[\n        {container},\n    ],\n)\n")


CAPS_ONLY = make_options(Config(), select=["drop-capabilities"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plus_pods())
def test_cdk8s_plus_capabilities_are_enum_members(text: str) -> None:
    plan = plan_python("gen.py", text.encode(), CAPS_ONLY, Inventory())
    assert plan.error is None, (plan.error, text)
    assert [r.status for r in plan.findings] == ["fix"], [(r.status, r.note) for r in plan.findings]
    new = plan.new_text
    assert new.count("kplus.Capability.ALL") == 1 and '"ALL"' not in new and "'ALL'" not in new
    assert _comments(new) == _comments(text)
    again = plan_python("gen.py", new.encode(), CAPS_ONLY, Inventory())
    assert again.error is None and not again.changes, (again.error, new)


@st.composite
def followed_containers(draw):
    """The same container reached inline, through a variable, a ``self`` attribute or a function's result."""
    via = draw(st.sampled_from(["inline", "variable", "attribute", "function", "method"]))
    lay = draw(layouts())
    q = lay["quote"]
    built = f"client.V1Container({_args([('name', f'{q}web{q}'), ('image', f'{q}web:1{q}')], 'call', lay, '        ', 'call')})"
    head = "from kubernetes import client\n\n\n"
    if via == "inline":
        return head + f"spec = client.V1PodSpec(containers=[{built}])\n"
    if via == "variable":
        return head + f"web = {built}\nspec = client.V1PodSpec(containers=[web])\n"
    if via == "function":
        return head + f"def web():\n    return {built}\n\n\nspec = client.V1PodSpec(containers=[web()])\n"
    if via == "method":
        return head + (f"class Web:\n    def _c(self):\n        return {built}\n\n    def spec(self):\n"
                       "        return client.V1PodSpec(containers=[self._c()])\n")
    return head + (f"class Web:\n    def __init__(self):\n        self.c = {built}\n\n    def spec(self):\n"
                   "        return client.V1PodSpec(containers=[self.c])\n")


ESCALATION_ONLY = make_options(Config(), select=["no-privilege-escalation"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(followed_containers())
def test_followed_values_are_fixed_where_they_are_built(text: str) -> None:
    plan = plan_python("gen.py", text.encode(), ESCALATION_ONLY, Inventory())
    assert plan.error is None, (plan.error, text)
    assert [r.status for r in plan.findings] == ["fix"], ([(r.status, r.note) for r in plan.findings], text)
    new = plan.new_text
    assert new.count("allow_privilege_escalation=False") == 1
    assert _comments(new) == _comments(text)
    again = plan_python("gen.py", new.encode(), ESCALATION_ONLY, Inventory())
    assert again.error is None and not again.changes, (again.error, new)
