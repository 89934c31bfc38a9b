"""Helm template edits (``--edit-templates``, kfix.helm.template_edit) on real charts.

Golden outputs live in tests/golden_helm_templates/<case>/ (every file kfix rewrites, by its path in the
chart); regenerate with `KFIX_REGEN=1 python -m pytest tests/test_helm_template_edit.py -k golden` and
review the diff. Each case is also checked for the promise: the moves alone render byte for byte as the
chart did (default values and the case's --values files), no rendered security setting is lost or
weaker and nothing outside security fields changes, and a second run changes nothing.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kfix.api import make_options, plan_charts
from kfix.config import Config
from kfix.helm import render as R
from kfix.helm.template_edit import TemplatePlan, TemplatedValuesPlan, render_texts, same_bytes
from kfix.helm.values import merge_user
from kfix.rules.weakening import weakened

pytestmark = pytest.mark.skipif(not R.available(), reason="helm-python-sdk is not installed")

HERE = Path(__file__).parent
CHARTS = HERE / "charts"
GOLDEN = HERE / "golden_helm_templates"

# case -> (chart, --values files in the chart, --unsafe-fixes)
CASES = {
    "podinfo": ("podinfo", (), False),  # test pods, a hook Job, the redis Deployment, the main pod's token
    "podinfo+prod": ("podinfo", ("values-prod.yaml",), False),  # the byte-for-byte proof with a --values file
    "prometheus-node-exporter": ("prometheus-node-exporter", (), False),  # an init container's resources
    "alertmanager": ("alertmanager", (), True),  # a test pod under the chart's testFramework key
    "mychart": ("mychart", (), False),  # `helm create`: tests.testConnection.*
    # each service's token under its own key (adservice.yaml -> adService.*); an init container whose first
    # line is `- command:` gets its block below its `name:` line
    "microservices-demo": ("microservices-demo", (), False),
}


def options(unsafe: bool = False):
    return dataclasses.replace(make_options(Config(), unsafe_fixes=unsafe), edit_templates=True)


def copy_chart(tmp_path: Path, name: str) -> Path:
    dest = tmp_path / name
    shutil.copytree(CHARTS / name, dest)
    for p in dest.rglob("*"):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return dest


def plan(chart: Path, extra: tuple[str, ...], unsafe: bool):
    return plan_charts([str(chart)], options(unsafe), tuple(str(chart / f) for f in extra))


def write(plans) -> None:
    for p in plans:
        if p.changed:
            Path(p.path).write_text(p.new_text, encoding="utf-8")


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case, tmp_path):
    name, extra, unsafe = CASES[case]
    chart = copy_chart(tmp_path, name)
    plans = plan(chart, extra, unsafe)
    assert not [p.error for p in plans if p.error], [p.error for p in plans if p.error]
    got = {str(Path(p.path).relative_to(chart)): p.new_text for p in plans if p.changed}
    assert any(isinstance(p, TemplatePlan) for p in plans if p.changed)
    where = GOLDEN / case
    if os.environ.get("KFIX_REGEN"):
        shutil.rmtree(where, ignore_errors=True)
        for rel, text in got.items():
            (where / rel).parent.mkdir(parents=True, exist_ok=True)
            (where / rel).write_text(text, encoding="utf-8")
    expected = {str(p.relative_to(where)): p.read_text(encoding="utf-8") for p in where.rglob("*") if p.is_file()}
    assert sorted(got) == sorted(expected)
    for rel in got:
        assert got[rel] == expected[rel], rel


@pytest.mark.parametrize("case", sorted(CASES))
def test_moves_alone_render_byte_for_byte(case, tmp_path):
    """Step 1 on its own (the edited templates, values.yaml with only the new keys) renders exactly as the
    chart did: with the default values and with the case's --values files."""
    name, extra, unsafe = CASES[case]
    chart = copy_chart(tmp_path, name)
    plans = plan(chart, extra, unsafe)
    values = next(p for p in plans if isinstance(p, TemplatedValuesPlan))
    assert values.moves
    moved = copy_chart(tmp_path / "moved", name)
    for p in plans:
        target = moved / Path(p.path).relative_to(chart)
        if isinstance(p, TemplatePlan):
            target.write_text(p.new_text, encoding="utf-8")
        elif p is values:
            target.write_text(values.render_changes({m.id for m in values.moves}), encoding="utf-8")
    users = [None] + ([merge_user([R.parse_values_text((chart / f).read_text()) for f in extra])] if extra else [])
    for user in users:
        before, again = render_texts(chart, user), render_texts(chart, user)
        assert same_bytes(before, again, render_texts(moved, user)) == ""


@pytest.mark.parametrize("case", sorted(CASES))
def test_hardened_render_never_weakens_and_a_second_run_changes_nothing(case, tmp_path):
    name, extra, unsafe = CASES[case]
    chart = copy_chart(tmp_path, name)
    user = merge_user([R.parse_values_text((chart / f).read_text()) for f in extra])
    before, again = R.render(chart, user), R.render(chart, user)
    write(plan(chart, extra, unsafe))
    after = R.render(chart, user)
    assert R.outside_changes(before, after, R.unstable_paths(before, again), volumes=True) == []
    later = {(w.doc.template, w.doc.index, w.site.path): w for w in after.workloads()}
    for w in before.workloads():
        w2 = later[(w.doc.template, w.doc.index, w.site.path)]
        assert weakened(w.spec, w2.spec, unsafe) == []
    assert not [p.path for p in plan(chart, extra, unsafe) if p.changed]


def test_test_pod_is_hardened_through_the_new_keys(tmp_path):
    """The helm-create test pod had no securityContext, resources or token setting; after the edit its
    render has them, automountServiceAccountToken: false included (through `hasKey`)."""
    chart = copy_chart(tmp_path, "mychart")
    write(plan(chart, (), False))
    pod = next(d.data for d in R.render(chart).docs if d.template == "templates/tests/test-connection.yaml")
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    container = spec["containers"][0]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]) == {"requests", "limits"}


LITERALS = """      securityContext:
        allowPrivilegeEscalation: false
        runAsUser: 1000
      resources:
        requests:
          memory: 64Mi
        limits:
          memory: 64Mi
          cpu: 100m
"""


def test_a_literal_is_moved_when_it_renders_the_same_and_refused_when_not(tmp_path):
    """securityContext written in toYaml's order moves into values (its runAsUser kept); resources written
    memory-before-cpu would render in another order through toYaml: refused, reported, left as written."""
    chart = copy_chart(tmp_path, "mychart")
    test = chart / "templates/tests/test-connection.yaml"
    original = test.read_text().replace("      image: busybox\n", "      image: busybox\n" + LITERALS)
    test.write_text(original)
    plans = plan(chart, (), False)
    edited = next(p for p in plans if p.path == str(test))
    assert "{{- with .Values.tests.testConnection.securityContext }}" in edited.new_text
    assert LITERALS.split("      resources:\n")[1] in edited.new_text  # resources lines untouched
    refused = [r for p in plans for r in p.findings if r.rule == "resources" and r.file == str(test)]
    assert refused and all("template edit refused: moving it into values does not render byte for byte"
                           in r.note for r in refused)
    write(plans)
    values = (chart / "values.yaml").read_text()
    assert "    securityContext:\n      allowPrivilegeEscalation: false\n      runAsUser: 1000\n" in values
    container = next(d.data for d in R.render(chart).docs
                     if d.template == "templates/tests/test-connection.yaml")["spec"]["containers"][0]
    assert container["securityContext"]["runAsUser"] == 1000
    assert container["resources"] == {"requests": {"memory": "64Mi"}, "limits": {"memory": "64Mi", "cpu": "100m"}}


def test_off_by_default(tmp_path):
    chart = copy_chart(tmp_path, "mychart")
    plans = plan_charts([str(chart)], make_options(Config()))
    assert not any(isinstance(p, TemplatePlan) for p in plans)
    notes = [r.note for p in plans for r in p.findings if r.file.endswith("test-connection.yaml")]
    assert notes and all("template edit" not in n for n in notes)


def kfix(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kfix", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_flag_and_configuration_key(tmp_path):
    flag = copy_chart(tmp_path / "a", "mychart")
    out = kfix("apply", "--write", "--edit-templates", str(flag))
    assert out.returncode == 0, out.stderr
    golden = GOLDEN / "mychart"
    for p in golden.rglob("*"):
        if p.is_file():
            assert (flag / p.relative_to(golden)).read_text() == p.read_text()
    assert kfix("apply", "--check", "--edit-templates", str(flag)).returncode == 0

    configured = copy_chart(tmp_path / "b", "mychart")
    (tmp_path / "b" / ".kfix.yaml").write_text("edit-templates: true\n")
    assert kfix("apply", "--write", str(configured)).returncode == 0
    for p in golden.rglob("*"):
        if p.is_file():
            assert (configured / p.relative_to(golden)).read_text() == p.read_text()

    plain = copy_chart(tmp_path / "c", "mychart")
    template = (plain / "templates/tests/test-connection.yaml").read_text()
    diff = kfix("diff", str(plain))
    assert "test-connection.yaml" not in diff.stdout
    assert kfix("apply", "--write", str(plain)).returncode == 0
    assert (plain / "templates/tests/test-connection.yaml").read_text() == template

    (tmp_path / "c" / ".kfix.yaml").write_text("edit-templates: yes please\n")
    bad = kfix("scan", str(plain))
    assert bad.returncode == 2 and "'edit-templates' must be true or false" in bad.stderr


def test_readme_rows_follow_the_table_and_are_added_once():
    """Bitnami's generated table (Name | Description | Value): the row goes after the last row of its parent
    key, padded like the header; a key the table has is not added again."""
    from kfix.helm.template_readme import add_rows

    text = (CHARTS / "nginx/README.md").read_text()
    new = add_rows(text, [("metrics.podSecurityContext", {}, "Set the pod's Security Context"),
                          ("image.registry", "x", "already documented")])
    added = [line for line in new.splitlines() if line not in text.splitlines()]
    assert len(added) == 1 and added[0].startswith("| `metrics.podSecurityContext` ")
    lines = new.splitlines()
    at = lines.index(added[0])
    header = next(line for line in reversed(lines[:at]) if line.startswith("| Name "))
    assert [len(c) for c in added[0].split("|")] == [len(c) for c in header.split("|")]
    assert lines[at - 1].startswith("| `metrics.") and not lines[at + 1].startswith("| `metrics.")
    assert add_rows(new, [("metrics.podSecurityContext", {}, "Set the pod's Security Context")]) == new


# --------------------------------------------------------------------------- the editing engine, by property

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kfix.helm.template_edit import ABSENT, Target, edit_template  # noqa: E402

_EXTRA = ["image: busybox", "imagePullPolicy: IfNotPresent", "command:\n{i}  - sh\n{i}  - -c",
          "args: ['{{ .Values.port }}']", "command: |\n{i}  echo hi\n{i}  exit 0",
          "{{- if .Values.on }}\n{i}env:\n{i}  - name: A\n{i}    value: b\n{i}{{- end }}"]


@st.composite
def pod_templates(draw):
    """A Pod template: its containers (each a first line and other keys, some multi-line or under an `if`),
    list items indented or not, and the targets a template edit would have."""
    seq_indent = draw(st.sampled_from([2, 4]))
    names = draw(st.lists(st.sampled_from(["app", "side-car", "init", "x"]), min_size=1, max_size=3, unique=True))
    lines = ["apiVersion: v1", "kind: Pod", "metadata:", "  name: demo", "spec:"]
    wrap = draw(st.booleans())
    if wrap:
        lines.append("  {{- with .Values.nodeSelector }}\n  nodeSelector:\n    {{- toYaml . | nindent 4 }}\n  {{- end }}")
    lines.append("  containers:")
    first_lines: list[int] = []
    key_col = seq_indent + 2
    for name in names:
        first = draw(st.sampled_from(["name", "image"]))
        dash = " " * seq_indent + "- "
        first_lines.append(sum(x.count("\n") + 1 for x in lines) + 1)
        if first == "name":
            lines.append(f"{dash}name: {name}")
            rest = draw(st.lists(st.sampled_from(_EXTRA), max_size=3))
        else:
            lines.append(f"{dash}image: busybox")
            rest = [f"name: {name}"] + draw(st.lists(st.sampled_from(_EXTRA[1:]), max_size=2))
        for extra in rest:
            lines.append(" " * key_col + extra.replace("{i}", " " * key_col))
    lines.append("  restartPolicy: Never")
    text = "\n".join(lines) + "\n"
    spec_line = text.splitlines().index("spec:") + 1
    targets = [Target("templates/pod.yaml", spec_line, "securityContext", "pod", False, ("t", "podSecurityContext")),
               Target("templates/pod.yaml", spec_line, "automountServiceAccountToken", "pod", False,
                      ("t", "automountServiceAccountToken"))]
    for i, (name, line) in enumerate(zip(names, first_lines)):
        for fld in ("securityContext", "resources"):
            targets.append(Target("templates/pod.yaml", line, fld, "container", False, ("t", f"c{i}", fld)))
    return text, targets, names


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pod_templates())
def test_edit_only_adds_blocks_and_renders_the_same_until_the_keys_are_set(case):
    """Every line of the template is kept byte for byte (the edit only inserts the blocks); with the new keys
    empty Helm renders exactly what it rendered before; with them set each lands on its own pod or container
    (automountServiceAccountToken false included)."""
    import tempfile

    text, targets, names = case
    new = edit_template(text, targets)
    assert not [t.refused for t in targets if t.refused]
    kept = iter(new.splitlines(keepends=True))
    assert all(any(line == other for other in kept) for line in text.splitlines(keepends=True))
    inserted = len(new.splitlines()) - len(text.splitlines())
    assert inserted == sum(3 if t.fld == "automountServiceAccountToken" else 4 for t in targets)
    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / "demo"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
        empty = {"t": {f"c{i}": {"securityContext": {}, "resources": {}} for i in range(len(names))}}
        empty["t"]["podSecurityContext"] = {}
        import yaml as _yaml

        (chart / "values.yaml").write_text(_yaml.safe_dump(empty))
        (chart / "templates/pod.yaml").write_text(text)
        before = render_texts(chart, None)
        (chart / "templates/pod.yaml").write_text(new)
        assert render_texts(chart, None) == before
        full = {"t": {f"c{i}": {"securityContext": {"runAsUser": 1000 + i}, "resources": {"limits": {"cpu": "1"}}}
                      for i in range(len(names))}}
        full["t"]["podSecurityContext"] = {"runAsNonRoot": True}
        full["t"]["automountServiceAccountToken"] = False
        (chart / "values.yaml").write_text(_yaml.safe_dump(full))
        pod = _yaml.safe_load(render_texts(chart, None)["demo/templates/pod.yaml"])
        assert pod["spec"]["securityContext"] == {"runAsNonRoot": True}
        assert pod["spec"]["automountServiceAccountToken"] is False
        for i, name in enumerate(names):
            c = next(c for c in pod["spec"]["containers"] if c["name"] == name)
            assert c["securityContext"] == {"runAsUser": 1000 + i} and c["resources"] == {"limits": {"cpu": "1"}}


def _changed(chart: Path, original: Path) -> dict[str, str]:
    return {str(p.relative_to(chart)): p.read_text() for p in chart.rglob("*")
            if p.is_file() and p.read_bytes() != (original / p.relative_to(chart)).read_bytes()}


def test_review_decides_a_template_edit_once_for_every_file_it_spans(tmp_path):
    """The template change, its new values keys and the README row only work together (a template that
    reads a key values.yaml lacks does not render; a moved literal without its default is lost): review
    asks once and applies the answer to every file; hardening of a new key goes when the edit is rejected."""
    original = CHARTS / "podinfo"
    rejected = copy_chart(tmp_path / "n", "podinfo")
    out = subprocess.run([sys.executable, "-m", "kfix", "review", "--edit-templates", str(rejected)],
                         input="n\n" * 400, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "rejected with the template edit it belongs to" in out.stdout
    assert _changed(rejected, original) == {}

    accepted = copy_chart(tmp_path / "y", "podinfo")
    golden = GOLDEN / "podinfo"
    # the first question is the first move; accepting it and quitting writes the whole template edit
    out = subprocess.run([sys.executable, "-m", "kfix", "review", "--edit-templates", str(accepted)],
                         input="y\nq\n", capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    changed = _changed(accepted, original)
    templates = {rel for rel in changed if rel.startswith("templates/")}
    assert templates == {str(p.relative_to(golden)) for p in golden.rglob("templates/**/*") if p.is_file()}
    for rel in templates:
        assert changed[rel] == (golden / rel).read_text()
    assert R.render(accepted, None)  # renders: every key the templates now read is in values.yaml
    before, after = R.render(original, None), R.render(accepted, None)
    assert R.outside_changes(before, after, R.unstable_paths(before, R.render(original, None)), volumes=True) == []

    everything = copy_chart(tmp_path / "a", "podinfo")
    out = subprocess.run([sys.executable, "-m", "kfix", "review", "--edit-templates", "--yes", str(everything)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert _changed(everything, original) == {rel: (golden / rel).read_text()
                                                for rel in (str(p.relative_to(golden)) for p in golden.rglob("*")
                                                            if p.is_file())}


# --- decisions files: a template edit is kept or left out in every file it spans ----------------------
def _decisions_file(path: Path, chart: Path, plans, answer) -> None:
    """A hand-written decisions file: ``answer(plan, change)`` is "yes", "no" or None (no entry)."""
    import yaml

    rows = [{"rule": c.rule, "file": os.path.relpath(p.path, path.parent).replace(os.sep, "/"),
             "resource": c.resource, "container": c.container, "decision": a}
            for p in plans for c in p.changes if (a := answer(p, c)) is not None]
    path.write_text(yaml.safe_dump({"decisions": rows}, sort_keys=False), encoding="utf-8")


def _without_the_link(chart: Path, plans) -> dict[str, str]:
    """Every file of ``chart`` as it is with the whole template edit left out (and what needs its keys)."""
    from kfix.planner import render_subset

    out = {str(p.relative_to(chart)): p.read_text(encoding="utf-8") for p in chart.rglob("*") if p.is_file()}
    for p in plans:
        alone = {c.id for c in p.changes if not c.link and not c.requires}
        out[str(Path(p.path).relative_to(chart))] = render_subset(p, alone)
    return out


def _files(chart: Path) -> dict[str, str]:
    return {str(p.relative_to(chart)): p.read_text(encoding="utf-8") for p in chart.rglob("*") if p.is_file()}


# one member of the template edit declined, every other one accepted: in a template, in README.md (in
# podinfo's values.yaml each new key has the entry of the hardening that sets it: see the test below)
DECLINED_IN = {
    "template": ("templates/hooks/job.yaml", "drop-capabilities"),
    "readme": ("README.md", "no-service-account-token"),
}


@pytest.mark.parametrize("how", ["review", "library"])
@pytest.mark.parametrize("where", sorted(DECLINED_IN))
def test_a_template_edit_declined_in_one_file_is_left_out_of_every_file(where, how, tmp_path):
    """A decisions file that declines one change of a template edit (and accepts the others) must not write
    half of it: a template reading a key values.yaml lacks does not render, a moved literal without its
    default is lost. The whole edit is left out of every file (the templates and README byte for byte as
    they were), with the hardening of its new keys; the rest of the chart is still fixed."""
    from kfix.review import load_decisions

    chart = copy_chart(tmp_path, "podinfo")
    plans = plan(chart, (), False)
    rel, rule = DECLINED_IN[where]
    link = next(c.link for p in plans for c in p.changes if c.link)
    declined = next(c for p in plans if Path(p.path) == chart / rel for c in p.changes
                    if c.link == link and c.rule == rule)

    def answer(p, c):
        if Path(p.path) == chart / rel and c.rule == declined.rule and c.resource == declined.resource \
                and c.container == declined.container:
            return "no"
        return "yes" if c.link else None

    record = tmp_path / "decisions.yaml"
    _decisions_file(record, chart, plans, answer)
    expected = _without_the_link(chart, plans)
    if how == "review":
        out = kfix("review", "--edit-templates", "--yes", "--decisions", str(record), str(chart))
        assert out.returncode == 0, out.stderr
        assert "rejected with the template edit it belongs to" in out.stdout
    else:
        filtered = load_decisions(str(record)).filter_plans(plans)
        assert not [c for p in filtered for c in p.changes if c.link or c.requires]
        # the hardening of the new keys cannot be applied: its findings say why (nothing else changes)
        needs = {c.id for p in plans for c in p.changes if c.requires}
        before = [r for p in plans for r in p.findings]
        after = [r for p in filtered for r in p.findings]
        assert sum(r.change_id in needs for r in before) > 0
        why = f"needs {link}, which is left out: declined in podinfo/{rel} ({record})"
        assert len(after) == len(before)
        for r, r0 in zip(after, before):
            assert (r.status, r.note, r.change_id) == (("unfixable", why, None) if r0.change_id in needs else
                                                       (r0.status, r0.note, r0.change_id))
        write(filtered)
    assert _files(chart) == expected
    original = CHARTS / "podinfo"
    for name in [rel for rel in expected if rel.startswith("templates/") or rel == "README.md"]:
        assert (chart / name).read_bytes() == (original / name).read_bytes(), name
    assert (chart / "values.yaml").read_text() != (original / "values.yaml").read_text()  # the rest is fixed
    before, after = R.render(original, None), R.render(chart, None)  # renders
    assert R.outside_changes(before, after, R.unstable_paths(before, R.render(original, None)), volumes=True) == []


@pytest.mark.parametrize("how", ["review", "library"])
def test_a_template_edit_accepted_in_every_file_is_written_in_every_file(how, tmp_path):
    """Every change accepted in a decisions file: the whole template edit is written, with the hardening of
    its new keys, as without a decisions file; the single-file ``filter`` leaves a template's plan as it
    was. (``filter_plans`` keeps undecided changes, review asks about them: here there are none.)"""
    from kfix.review import load_decisions

    chart = copy_chart(tmp_path, "podinfo")
    plans = plan(chart, (), False)
    record = tmp_path / "decisions.yaml"
    _decisions_file(record, chart, plans, lambda p, c: "yes")
    golden = GOLDEN / "podinfo"
    expected = _files(chart) | {rel: text for rel, text in _files(golden).items()}
    if how == "review":
        out = kfix("review", "--edit-templates", "--decisions", str(record), str(chart))  # nothing asked
        assert out.returncode == 0, out.stderr
        assert "(1/" not in out.stdout
    else:
        decisions = load_decisions(str(record))
        assert all(decisions.filter(p) is p for p in plans if isinstance(p, TemplatePlan))
        filtered = decisions.filter_plans(plans)
        assert [len(p.changes) for p in filtered] == [len(p.changes) for p in plans]
        write(filtered)
    assert _files(chart) == expected
    assert R.render(chart, None)


def test_a_decisions_file_gives_the_next_review_and_filter_plans_what_the_review_wrote(tmp_path):
    """The template edit accepted and every other change declined (the hardening of the new keys among
    them): in values.yaml a new key and the hardening that sets it have one decisions entry, which is the
    hardening's answer. A second review with that file, and ``filter_plans``, write what the first wrote."""
    from kfix.review import load_decisions

    first = copy_chart(tmp_path / "a", "podinfo")
    out = subprocess.run([sys.executable, "-m", "kfix", "review", "--edit-templates", "--decisions",
                          str(tmp_path / "a" / "decisions.yaml"), str(first)],
                         input="y\n" + "n\n" * 400, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    written = _files(first)
    assert written["templates/hooks/job.yaml"] == (GOLDEN / "podinfo" / "templates/hooks/job.yaml").read_text()
    assert written["values.yaml"] != (GOLDEN / "podinfo" / "values.yaml").read_text()
    assert R.render(first, None)

    for how in ("review", "library"):
        again = copy_chart(tmp_path / how, "podinfo")
        record = tmp_path / how / "decisions.yaml"
        shutil.copyfile(tmp_path / "a" / "decisions.yaml", record)
        if how == "review":
            out = kfix("review", "--edit-templates", "--decisions", str(record), str(again))  # nothing asked
            assert out.returncode == 0, out.stderr
            assert "(1/" not in out.stdout
            assert record.read_text() == (tmp_path / "a" / "decisions.yaml").read_text()
        else:
            write(load_decisions(str(record)).filter_plans(plan(again, (), False)))
        assert _files(again) == written, how


def test_a_values_entry_of_a_new_key_and_its_hardening_declines_the_hardening(tmp_path):
    """In values.yaml a new key and the hardening that sets it have one decisions entry (rule, file,
    resource, container): its "no" is the hardening's. The template edit is written whole; that hardening,
    and only it, is left out."""
    from kfix.review import load_decisions

    chart = copy_chart(tmp_path, "podinfo")
    plans = plan(chart, (), False)
    values = next(p for p in plans if isinstance(p, TemplatedValuesPlan))
    move = next(c for c in values.moves if c.rule == "resources" and c.resource == "Job templates/hooks/job.yaml")
    same = [c for c in values.changes if (c.rule, c.resource, c.container) == (move.rule, move.resource, move.container)]
    assert len(same) == 2 and {bool(c.link) for c in same} == {True, False}
    hardening = next(c for c in same if not c.link)
    record = tmp_path / "decisions.yaml"
    _decisions_file(record, chart, plans, lambda p, c: "no" if c in same else None)
    filtered = load_decisions(str(record)).filter_plans(plans)
    assert [[c.id for c in p.changes] for p in filtered] == \
        [[c.id for c in p.changes if c is not hardening] for p in plans]
    assert [r.status for p in filtered for r in p.findings if r.note == f"declined in review ({record})"] == \
        ["exempt"] * sum(r.change_id == hardening.id for r in values.findings)
    write(filtered)
    golden = GOLDEN / "podinfo"
    for rel, text in _files(golden).items():
        assert (_files(chart)[rel] == text) == (rel != "values.yaml"), rel
    assert R.render(chart, None)


def test_configured_decisions_keep_a_declined_template_edit_out_of_apply_and_diff(tmp_path):
    """``decisions:`` in the configuration, honoured by ``kfix diff`` and ``kfix apply --write
    --edit-templates``: the chart's plans are filtered together, so a template edit declined in one template
    is left out of every file it spans (with the hardening of its new keys), the rest of the chart is fixed,
    and the chart still renders."""
    project = tmp_path / "project"
    chart = copy_chart(project, "podinfo")
    plans = plan(chart, (), False)
    rel, rule = DECLINED_IN["template"]
    declined = next(c for p in plans if Path(p.path) == chart / rel for c in p.changes if c.link and c.rule == rule)
    (project / "review").mkdir()
    _decisions_file(project / "review" / "decisions.yaml", chart, plans,
                    lambda p, c: "no" if Path(p.path) == chart / rel and c.rule == rule
                    and (c.resource, c.container) == (declined.resource, declined.container) else None)
    (project / ".kfix.yaml").write_text("decisions: review/decisions.yaml\n")
    expected = _without_the_link(chart, plans)

    diff = kfix("diff", "--edit-templates", "podinfo", cwd=project)
    assert diff.returncode == 1, diff.stderr
    assert "templates/" not in diff.stdout and "README.md" not in diff.stdout and "+++ b/podinfo/values.yaml" in diff.stdout
    assert "declined in review (decisions file)" in diff.stderr
    out = kfix("apply", "--write", "--edit-templates", "podinfo", cwd=project)
    assert out.returncode == 0, out.stderr
    assert _files(chart) == expected
    original = CHARTS / "podinfo"
    for name in [n for n in expected if n.startswith("templates/") or n == "README.md"]:
        assert (chart / name).read_bytes() == (original / name).read_bytes(), name
    before, after = R.render(original, None), R.render(chart, None)
    assert R.outside_changes(before, after, R.unstable_paths(before, R.render(original, None)), volumes=True) == []
    again = kfix("apply", "--check", "--edit-templates", "podinfo", cwd=project)
    assert again.returncode == 0, again.stderr  # the declined edit stays out: nothing left to do
