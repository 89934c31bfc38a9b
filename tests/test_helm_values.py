"""Helm values backend: kfix hardens a chart by rewriting its values files (kfix.helm.plan).

Golden outputs live in tests/golden_helm/<case>/ (regenerate with tests/golden_helm/regen.py and
review the diff). Every case is also checked for what the core promise says: untouched lines are
byte-identical, comments stay, the rewrite re-parses to the intended data, a second run changes
nothing, and every key kfix writes is one that discovery ties to a pod's security fields.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from conftest import make_chart
import yaml

from kfix import ops as O
from kfix.api import make_options
from kfix.config import Config
from kfix.helm import discover
from kfix.helm.plan import ValuesPlan, chart_dirs, is_chart, plan_chart
from kfix.helm.render import available
from kfix.helm.schema import check_ops
from kfix.helm.structure import Layout
from kfix.helm.values import coalesce, param_splices
from kfix.yaml.loader import parse

HERE = Path(__file__).parent
CHARTS = HERE / "charts"
GOLDEN = HERE / "golden_helm"
sys.path.insert(0, str(GOLDEN))
regen = pytest.importorskip("regen")  # tests/golden_helm/regen.py: the cases and how outputs are made

CASES = sorted(regen.CASES)
RENDERS = available()
OPTIONS = make_options(Config())


@functools.lru_cache(maxsize=None)
def planned(case: str, render: bool | None = None):
    return regen.plan_case(case, render=render)


def chart_of(case: str) -> Path:
    return CHARTS / regen.CASES[case][0]


def by_path(plans) -> dict[str, ValuesPlan]:
    return {p.path: p for p in plans}


def outputs(case: str, render: bool | None = None) -> dict[str, str]:
    return regen.outputs(case, planned(case, render))


# --------------------------------------------------------------------------- goldens and invariants


@pytest.mark.parametrize("render", [None, False])
@pytest.mark.parametrize("case", CASES)
def test_golden(case, render):
    """The same values edits with the rendered facts (helm-python-sdk) and from the templates alone."""
    if render is None and not RENDERS or render is False and case in regen.RENDERED_ONLY:
        pytest.skip("helm-python-sdk is not installed" if render is None else "planned with the render only")
    for name, text in outputs(case, render).items():
        expected = (GOLDEN / case / name).read_text(encoding="utf-8")
        assert text == expected, f"{case}/{name} differs from the golden (run tests/golden_helm/regen.py, review)"


def test_crlf_and_bom_values_file(tmp_path):
    chart = tmp_path / "nginx"
    shutil.copytree(CHARTS / "nginx", chart)
    raw = (chart / "values.yaml").read_bytes().replace(b"\n", b"\r\n")
    (chart / "values.yaml").write_bytes(b"\xef\xbb\xbf" + raw)
    plan = plan_chart(chart, OPTIONS, render=False)[0]
    assert plan.source.bom and plan.changed
    golden = (GOLDEN / "nginx" / "values.yaml").read_bytes().replace(b"\n", b"\r\n")
    assert plan.source.encode(plan.new_text) == b"\xef\xbb\xbf" + golden


@pytest.mark.parametrize("render", [None, False])
@pytest.mark.parametrize("case", CASES)
def test_rewrite_keeps_every_other_byte(case, render):
    """Only `key: {}`/scalar lines are replaced; every other original line is still there, in order;
    comments are all kept; the result re-parses to the original data plus the planned operations."""
    plans = planned(case, render)
    assert not [p.error for p in plans if p.error]
    for p in plans:
        if not p.changed:
            continue
        old, new = p.source.text, p.new_text
        a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
        removed = []
        for tag, i1, i2, _j1, _j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if tag in ("replace", "delete"):
                removed.extend(a[i1:i2])
        ops = [op for c in p.changes for op in c.ops]
        assert len(removed) <= len(ops), removed
        for line in removed:  # a value replaced in place: `key: {}` -> `key:` + block, `enabled: false`,
            # or an empty `{}` on the line after its key (jenkins)
            assert re.match(r"^\s*(- )?[\w.\-\"']+:( +[^#\s][^#]*?)?\s*(#.*)?$", line) or \
                re.match(r"^\s*(\{\}|\[\])\s*$", line), line
        comments = [ln for ln in a if ln.lstrip().startswith("#")]
        kept = [ln for ln in b if ln.lstrip().startswith("#")]
        for ln in set(comments):
            assert kept.count(ln) >= comments.count(ln), ln
        before = parse(old)[0].data
        assert parse(new)[0].data == O.apply(before, ops)


@pytest.mark.parametrize("case", CASES)
def test_second_run_changes_nothing(case, tmp_path):
    chart = chart_of(case)
    copy_dir = tmp_path / chart.name
    shutil.copytree(chart, copy_dir)
    changed = 0
    for p in planned(case):
        if p.changed:
            (copy_dir / Path(p.path).relative_to(chart)).write_text(p.new_text, encoding="utf-8", newline="")
            changed += 1
    extra = [str(copy_dir / f) for f in regen.CASES[case][1]]
    again = plan_chart(copy_dir, OPTIONS, extra)
    assert [p.path for p in again if p.changed] == []
    assert not any(p.error for p in again)
    fixable = [r for p in again for r in p.findings if r.status == "fix"]
    assert fixable == []


def _allowed_paths(case: str) -> list[tuple]:
    """Values paths discovery (and the template layout) ties to pod security fields."""
    chart = chart_of(case)
    m = discover(chart)
    layout = Layout(chart)
    out: list[tuple] = []
    for pod in m.pods:
        for b in pod.bindings + [b for c in pod.containers for b in c.bindings]:
            if b.ref is not None:
                out.append(b.ref.path)
                if b.ref.gate:
                    out.append(b.ref.gate)
                if b.ref.default_from:
                    out.append(b.ref.default_from)
            elif b.literal:
                node = layout.field_node(b.template, b.line, b.field)
                stack = [layout.literal(node)] if node is not None else []
                while stack:
                    n = stack.pop()
                    out.extend(n.gates)
                    if n.kind in ("leaf", "values"):
                        out.append(n.path)
                    stack.extend(n.children.values())
        paths = [("spec", "template", "spec"), ("spec",), ("spec", "jobTemplate", "spec", "template", "spec")]
        for p in paths:
            spec = layout.pod_spec(pod.template, pod.line, p)
            if spec is not None:
                hit = layout.values_list(spec, "volumes")
                if hit:
                    out.append(hit[0])
                for c in pod.containers:
                    node = layout.container(c.template, c.line)
                    hit = layout.values_list(node, "volumeMounts") if node is not None else None
                    if hit:
                        out.append(hit[0])
                    # a list the template ranges over to write both a mount and its emptyDir volume
                    ranged = layout.ranged_items(node, "volumeMounts") if node is not None else {}
                    out.extend(v for v, item in ranged.items() if item.get("mountPath") == ("entry", "mountPath")
                               and "emptyDir" in layout.ranged_items(spec, "volumes").get(v, {}))
                break
    return out


def _matches(path: tuple, allowed: tuple) -> bool:
    if len(path) < len(allowed):
        return False
    return all(a == "*" and isinstance(p, int) or a == p for p, a in zip(path, allowed))


@pytest.mark.parametrize("case", CASES)
def test_every_written_key_is_one_discovery_ties_to_a_pod(case):
    allowed = _allowed_paths(case)
    for p in planned(case):
        for c in p.changes:
            for op in c.ops:
                assert any(_matches(tuple(op.path), a) for a in allowed), (case, c.id, op)


@pytest.mark.parametrize("case", CASES)
def test_plans_are_reported_per_values_file(case):
    plans = planned(case)
    chart = chart_of(case)
    assert plans[0].path == str(chart / "values.yaml")
    assert all(isinstance(p, ValuesPlan) and p.chart == str(chart) for p in plans)
    for p in plans:
        ids = {c.id for c in p.changes}
        for rep in p.findings:
            assert rep.file.startswith(str(chart)), rep.file
            if rep.status == "fix":
                assert rep.change_id in ids and rep.file == p.path
            if "needs a template change" in rep.note and rep.status == "report":
                assert "/templates/" in rep.file and rep.line > 0


# --------------------------------------------------------------------------- what each chart shows


def test_helm_create_empty_mapping_with_commented_examples():
    """`podSecurityContext: {}` followed by commented examples: the `{}` becomes a block, inserted
    before the comment lines, which stay where they were and still read as examples."""
    text = outputs("mychart")["values.yaml"]
    assert "podSecurityContext:\n  runAsNonRoot: true\n  runAsUser: 10001\n  runAsGroup: 10001\n" \
           "  seccompProfile:\n    type: RuntimeDefault\n  # fsGroup: 2000\n\n" in text
    assert ("securityContext:\n  capabilities:\n    drop:\n    - ALL\n  allowPrivilegeEscalation: false\n"
            "  readOnlyRootFilesystem: true\n  # capabilities:\n  #   drop:\n  #   - ALL\n") in text
    assert "resources:\n  requests:\n    cpu: 100m\n    memory: 128Mi\n  limits:\n    cpu: '1'\n" \
           "    memory: 512Mi\n  # We usually recommend not to specify default resources" in text
    # the chart's own extra volumes keys carry the writable /tmp
    assert "volumes:\n- name: kfix-tmp\n  emptyDir: {}\n  # - name: foo\n" in text
    assert "volumeMounts:\n- name: kfix-tmp\n  mountPath: /tmp\n  # - name: foo\n" in text


def test_bitnami_gate_params_and_presets():
    plans = planned("nginx")
    text = outputs("nginx")["values.yaml"]
    # @param lines in the section's own style, next to their siblings, in the order added
    assert ("## @param podSecurityContext.sysctls sysctl settings of the NGINX pods\n"
            "## @param podSecurityContext.runAsNonRoot Set NGINX pod's Security Context runAsNonRoot\n"
            "## @param podSecurityContext.seccompProfile.type Set the pod's Security Context seccompProfile.type\n"
            "##\npodSecurityContext:\n") in text
    assert ("  ## @param metrics.securityContext.runAsUser Set NGINX Exporter container's Security Context runAsUser\n"
            "  ## @param metrics.securityContext.capabilities.drop ") in text
    # every key kfix added under a documented section is documented (readme-generator keeps working)
    data = yaml.safe_load(text)
    params = set(re.findall(r"@param (\S+)", text))
    for section in ("podSecurityContext", "metrics"):
        def leaves(prefix, value):
            if isinstance(value, dict) and value:
                for k, v in value.items():
                    yield from leaves(prefix + (k,), v)
            else:
                yield ".".join(prefix)
        old = yaml.safe_load((CHARTS / "nginx" / "values.yaml").read_text())
        new_leaves = set(leaves((section,), data[section])) - set(leaves((section,), old[section]))
        assert new_leaves and new_leaves <= params, new_leaves - params
    # a gate that is off is turned on with the change that needs it
    metrics = [c for c in plans[0].changes if c.id == "helm:metrics.securityContext:drop-capabilities"]
    assert metrics and O.Set(("metrics", "securityContext", "enabled"), True) in metrics[0].ops
    assert "    enabled: true\n    seLinuxOptions: {}\n    runAsUser: 1001\n" in text
    # resourcesPreset "nano" counts as resources set: no resources change at all
    assert not [c for p in plans for c in p.changes if c.rule == "resources"]
    assert not [r for p in plans for r in p.findings if r.rule == "resources"]


def test_shared_values_key_is_one_change():
    """pushgateway's Deployment and StatefulSet render the same pod spec: one edit per key."""
    plans = planned("prometheus-pushgateway")
    changes = plans[0].changes
    assert len({c.id for c in changes}) == len(changes)
    drop = next(c for c in changes if c.rule == "drop-capabilities")
    assert drop.resource == "Deployment templates/deployment.yaml (+1 more)"
    reps = [r for r in plans[0].findings if r.change_id == drop.id]
    assert sorted(r.resource for r in reps) == ["Deployment templates/deployment.yaml",
                                                "StatefulSet templates/statefulset.yaml"]


def test_literal_template_fields_report_their_template_line_or_go_through_values_inside():
    """microservices-demo writes its security contexts in the templates: what values can still do
    (turn `seccompProfile.enable` on) is done once for all pods; the rest points at template lines."""
    plans = planned("microservices-demo")
    assert [c.ops for c in plans[0].changes] == [[O.Set(("seccompProfile", "enable"), True)]]
    assert "seccompProfile:\n  enable: true\n  type: RuntimeDefault\n" in outputs("microservices-demo")["values.yaml"]
    token = [r for r in plans[0].findings if r.rule == "no-service-account-token"]
    assert token and all(r.status == "report" and r.note.startswith("needs a template change") for r in token)
    first = next(r for r in token if r.resource == "Deployment templates/adservice.yaml")
    assert first.file == str(CHARTS / "microservices-demo" / "templates" / "adservice.yaml") and first.line == 31
    low_uid = [r for r in plans[0].findings if "UID 1000" in r.finding.message]
    assert low_uid and all(r.file.endswith(".yaml") and "/templates/" in r.file for r in low_uid)


def test_bound_service_accounts_keep_their_token():
    plans = planned("cert-manager")
    token = [r for r in plans[0].findings if r.rule == "no-service-account-token"]
    assert len(token) == 4 and all(r.status == "report" and "bound to a role" in r.finding.message for r in token)
    assert not [c for c in plans[0].changes if c.rule == "no-service-account-token"]


def test_without_rendering_bindings_are_assumed():
    plans = planned("cert-manager", False)
    token = [r for r in plans[0].findings if r.rule == "no-service-account-token"]
    assert token and all(r.status == "report" for r in token)
    assert "helm-python-sdk" not in (plans[0].note or "") or not RENDERS
    assert plans[0].proof is not None and not plans[0].proof.rendered


def test_extra_values_file_is_edited_where_it_overrides():
    plans = by_path(planned("podinfo+prod"))
    chart = CHARTS / "podinfo"
    prod = plans[str(chart / "values-prod.yaml")]
    assert prod.changed and not plans[str(chart / "values.yaml")].changed
    res = next(c for c in prod.changes if c.rule == "resources")
    assert res.ops == [O.Set(("resources", "limits", "cpu"), "1")]  # prod sets a memory limit already


# --------------------------------------------------------------------------- refusals


def _copy(chart: str, tmp_path: Path) -> Path:
    dst = tmp_path / chart
    shutil.copytree(CHARTS / chart, dst)
    return dst


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_schema_forbids_a_key(tmp_path):
    """cert-manager's strict schema, made stricter: the pod securityContext allows only two keys."""
    chart = _copy("cert-manager", tmp_path)
    schema = json.loads((chart / "values.schema.json").read_text())
    schema["$defs"]["helm-values.securityContext"] = {
        "type": "object", "additionalProperties": False,
        "properties": {"runAsNonRoot": {"type": "boolean"}, "seccompProfile": {"type": "object"}}}
    schema["$defs"]["helm-values.webhook.resources"] = {
        "type": "object", "properties": {"limits": {"type": "object", "properties": {"cpu": {"type": "integer"}}}}}
    (chart / "values.schema.json").write_text(json.dumps(schema))
    plans = plan_chart(chart, OPTIONS, render=False)
    reps = [r for r in plans[0].findings if r.resource == "Deployment templates/deployment.yaml"
            and r.rule == "run-as-non-root"]
    assert reps and all(r.status == "unfixable" for r in reps)
    assert "does not allow the key securityContext.runAsUser (additionalProperties: false)" in reps[0].note
    webhook = [r for r in plans[0].findings if r.resource == "Deployment templates/webhook-deployment.yaml"
               and r.rule == "resources"]
    assert webhook and all(r.status == "unfixable" and "integer" in r.note for r in webhook)
    ids = {c.id for c in plans[0].changes}
    assert "helm:securityContext:run-as-non-root" not in ids and "helm:webhook.resources:resources" not in ids
    assert "helm:cainjector.resources:resources" in ids  # the rest goes through
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(yaml.safe_load(plans[0].new_text), schema)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_schema_checker_agrees_with_jsonschema_on_the_rewrites():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((CHARTS / "cert-manager" / "values.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(outputs("cert-manager")["values.yaml"]), schema)
    nginx = json.loads((CHARTS / "nginx" / "values.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(outputs("nginx")["values.yaml"]), nginx)


def test_schema_checker_unit():
    schema = {"type": "object", "additionalProperties": False, "$defs": {"sc": {"type": "object", "properties": {
        "runAsUser": {"type": "integer"}}, "additionalProperties": False}},
        "properties": {"sc": {"$ref": "#/$defs/sc"}, "res": {"anyOf": [{"type": "null"}, {"type": "object"}]},
                       "drop": {"type": "array", "items": {"enum": ["ALL", "NET_RAW"]}}}}
    assert check_ops(schema, {}, [O.Set(("sc", "runAsUser"), 10001)]) is None
    assert "runAsUser" in check_ops(schema, {}, [O.Set(("sc", "runAsUser"), "x")])
    assert "sc.fsGroup" in check_ops(schema, {}, [O.Set(("sc", "fsGroup"), 1)])
    assert "other" in check_ops(schema, {}, [O.Set(("other",), 1)])
    assert check_ops(schema, {}, [O.Set(("res", "limits"), {"cpu": "1"})]) is None
    assert check_ops(schema, {"drop": []}, [O.Append(("drop",), "ALL")]) is None
    assert "allows only" in check_ops(schema, {"drop": []}, [O.Append(("drop",), "SYS_ADMIN")])
    assert check_ops(None, {}, [O.Set(("x",), 1)]) is None


DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  template:
    spec:
      automountServiceAccountToken: false
      securityContext: {{{{- toYaml .Values.{psc} | nindent 8 }}}}
      containers:
        - name: {name}
          image: app@sha256:0000000000000000000000000000000000000000000000000000000000000000
          securityContext: {{{{- toYaml .Values.{csc} | nindent 12 }}}}
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{cpu: "1", memory: 512Mi}}
"""


def test_anchored_values_are_reported_not_edited(tmp_path):
    """An anchor that something else (not a pod's security field) aliases: editing it would change
    that too, so the edit is refused; an anchor whose every user gets the same edit is fine."""
    values = ("pod: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: {type: RuntimeDefault}}\n"
              "# the app's container settings, also used as the defaults of an operator's CR\n"
              "app: &sc\n  readOnlyRootFilesystem: true\n"
              "crDefaults: *sc\n")
    chart = make_chart(tmp_path / "c", {"a.yaml": DEPLOY.format(name="a", psc="pod", csc="app")}, values)
    plans = plan_chart(chart, OPTIONS, render=False)
    assert not plans[0].changed
    reps = [r for r in plans[0].findings if r.rule in ("drop-capabilities", "no-privilege-escalation")]
    assert reps and all(r.status == "unfixable" and "anchor" in r.note for r in reps)
    shared = make_chart(tmp_path / "d", {"a.yaml": DEPLOY.format(name="a", psc="pod", csc="app"),
                                          "b.yaml": DEPLOY.format(name="b", psc="pod", csc="job")},
                         values.replace("crDefaults", "job"))
    plans = plan_chart(shared, OPTIONS, render=False)
    assert plans[0].changed and "app: &sc\n  readOnlyRootFilesystem: true\n  capabilities:" in plans[0].new_text


def test_consumers_that_need_different_settings_are_reported(tmp_path):
    """One pod-level key, two pods; one of them has a container that runs as root (kfix must not
    add runAsNonRoot: true there), so the shared key is reported, not edited."""
    root_container = DEPLOY.format(name="b", psc="pod", csc="root")
    chart = make_chart(tmp_path / "c", {
        "a.yaml": DEPLOY.format(name="a", psc="pod", csc="app"),
        "b.yaml": root_container},
        "pod: {seccompProfile: {type: RuntimeDefault}}\n"
        "app: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}\n"
        "root: {runAsUser: 0, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, "
        "capabilities: {drop: [ALL]}}\n")
    plans = plan_chart(chart, OPTIONS, render=False)
    nonroot = [r for r in plans[0].findings if r.rule == "run-as-non-root" and r.resource.endswith("a.yaml")
               and "non-root user" in r.finding.message]
    assert nonroot and all(r.status == "report" and "shared with" in r.note for r in nonroot)
    assert "runAsNonRoot" not in (plans[0].new_text or "")


def test_fallback_key_the_chart_really_uses_is_edited(tmp_path):
    chart = make_chart(tmp_path / "c", {"w.yaml": """\
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: worker
          securityContext: {{- toYaml (default .Values.containerSecurityContext .Values.worker.securityContext) | nindent 12 }}
          resources: {{- toYaml .Values.worker.resources | nindent 12 }}
"""}, "containerSecurityContext:\n  readOnlyRootFilesystem: true\nworker:\n  securityContext: {}\n  resources: {}\n")
    plans = plan_chart(chart, OPTIONS, render=False)
    paths = {op.path[0] for c in plans[0].changes for op in c.ops if c.rule != "resources"}
    assert paths == {"containerSecurityContext"}  # worker.securityContext is empty: the chart uses the default


def test_subchart_values_live_under_its_key(tmp_path):
    app = make_chart(tmp_path / "app", {}, "# parent\ndatabase:\n  replicas: 1\n",
                      "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: db\n    version: 0.1.0\n"
                      "    alias: database\n")
    make_chart(app / "charts" / "db", {"sts.yaml": DEPLOY.format(name="db", psc="podSecurityContext",
                                                                   csc="containerSecurityContext")},
                "replicas: 1\npodSecurityContext:\n  fsGroup: 2000\ncontainerSecurityContext: {}\n",
                "apiVersion: v2\nname: db\nversion: 0.1.0\n")
    plans = plan_chart(app, OPTIONS, render=False)
    assert [p.path for p in plans] == [str(app / "values.yaml")]
    assert all(op.path[0] == "database" for c in plans[0].changes for op in c.ops)
    data = yaml.safe_load(plans[0].new_text)
    assert data["database"]["podSecurityContext"]["runAsNonRoot"] is True
    assert "fsGroup" not in data["database"]["podSecurityContext"]  # the subchart's own default still applies
    assert "subchart db" in plans[0].note


def test_unreadable_values_file_is_an_error_and_nothing_is_planned(tmp_path):
    chart = _copy("mychart", tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    plans = plan_chart(chart, OPTIONS, [str(bad)], render=False)
    assert any(p.path == str(bad) and p.error is not None and p.error.line for p in plans)
    assert not any(p.changed for p in plans)


def test_chart_helpers():
    assert is_chart(CHARTS / "nginx") and not is_chart(CHARTS)
    assert [p.name for p in chart_dirs(CHARTS)] == sorted(p.name for p in CHARTS.iterdir() if p.is_dir())
    assert coalesce({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {"a": {"c": 2, "d": 3}}


def test_review_subsets_render_with_their_param_lines():
    plan = planned("nginx")[0]
    one = next(c for c in plan.changes if c.rule == "seccomp-runtime-default")
    text = plan.render_changes({one.id})
    assert "## @param podSecurityContext.seccompProfile.type" in text
    pod_section = text.split("## NGINX containers' Security Context.")[0].split("podSecurityContext:")[-1]
    assert "runAsNonRoot" not in pod_section
    assert plan.render_changes({c.id for c in plan.changes}) == plan.new_text


def test_param_lines_only_in_documented_sections():
    text = "## @param a.x Set the x\n## @param a.w The w of a\na:\n  x: 1\n  w: 2\n# plain comment\nb:\n  y: 2\n"
    doc = parse(text)[0]
    out = param_splices(text, doc, [("a", "z"), ("b", "z")], {("a", "z"): "fallback"})
    end = text.index("a:\n")
    assert out == [(end, end, "## @param a.z Set the z\n")]
    assert param_splices(text, doc, [("a", "q", "r")], {("a", "q", "r"): "fallback"}) == \
        [(end, end, "## @param a.q.r fallback\n")]


# --------------------------------------------------------------------------- the command line


def _routed() -> bool:
    import kfix.api

    return hasattr(kfix.api, "plan_charts")


@pytest.mark.skipif(not _routed(), reason="chart directories are not routed to the values backend yet")
def test_cli_routes_chart_directories_and_values_files(tmp_path):
    import subprocess

    chart = tmp_path / "podinfo"
    shutil.copytree(CHARTS / "podinfo", chart)
    run = [sys.executable, "-m", "kfix", "apply", "--write", "-q"]
    out = subprocess.run(run + [str(tmp_path), "--values", str(chart / "values-prod.yaml")], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr  # written; findings that need template changes remain (see --fail-on)
    assert (chart / "values-prod.yaml").read_text() == (GOLDEN / "podinfo+prod" / "values-prod.yaml").read_text()
    assert (chart / "values.yaml").read_text() == (CHARTS / "podinfo" / "values.yaml").read_text()
    again = subprocess.run(run[:-2] + ["--check", str(chart), "-f", str(chart / "values-prod.yaml")],
                           capture_output=True, text=True)
    assert again.returncode in (0, 1) and "would change:" not in again.stderr
    bad = subprocess.run([sys.executable, "-m", "kfix", "scan", str(chart), "--values", str(tmp_path / "nope.yaml")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "nope.yaml" in bad.stderr


def test_presets_without_the_vendored_common_library(tmp_path):
    """Before `helm dependency build` Bitnami's common library is not in charts/: its preset helper is known
    by name, so `resourcesPreset: nano` still counts as resources set (as the chart's README says)."""
    chart = tmp_path / "nginx"
    shutil.copytree(CHARTS / "nginx", chart, ignore=shutil.ignore_patterns("charts"))
    plans = plan_chart(chart, OPTIONS)
    assert "dependencies not in charts/" in plans[0].note
    assert not [c for p in plans for c in p.changes if c.rule == "resources"]
    assert not [r for p in plans for r in p.findings if r.rule == "resources"]


def test_a_key_that_would_replace_another_containers_preset_is_reported(tmp_path):
    """argo-cd's dex: the init container renders `dex.resources` only when set, the main container falls
    back to `dex.resourcesPreset`. Setting the key for the first would replace the preset of the second."""
    chart = make_chart(tmp_path / "c", {"dex.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: dex
spec:
  template:
    spec:
      initContainers:
        - name: copy
          image: dex
          {{- if .Values.dex.resources }}
          resources: {{- toYaml .Values.dex.resources | nindent 12 }}
          {{- end }}
      containers:
        - name: dex
          image: dex
          {{- if .Values.dex.resources }}
          resources: {{- toYaml .Values.dex.resources | nindent 12 }}
          {{- else if ne .Values.dex.resourcesPreset "none" }}
          resources: {{- include "common.resources.preset" (dict "type" .Values.dex.resourcesPreset) | nindent 12 }}
          {{- end }}
"""}, "dex:\n  resourcesPreset: nano\n  resources: {}\n")
    plans = plan_chart(chart, OPTIONS, render=False)
    assert not [c for c in plans[0].changes if c.rule == "resources"]
    copy = [r for r in plans[0].findings if r.rule == "resources" and r.finding.container == "copy"]
    assert copy and all(r.status == "report" and "would also replace the resources preset dex.resourcesPreset "
                        "(nano) that another container renders" in r.note for r in copy)


def test_workloads_built_per_list_entry_are_reported_not_crashed_on(tmp_path):
    """dremio builds one StatefulSet per `executor.engines` entry: a pod field read from the entry cannot
    be edited as one key (it stopped the whole chart before); it is reported, the rest is planned."""
    chart = make_chart(tmp_path / "c", {"sts.yaml": """\
{{- range .Values.engines }}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .name }}
spec:
  template:
    spec:
      automountServiceAccountToken: {{ .overrides.automountServiceAccountToken }}
      containers:
        - name: executor
          image: executor
          resources: {{- toYaml $.Values.resources | nindent 12 }}
{{- end }}
"""}, "engines:\n  - name: default\n    overrides:\n      automountServiceAccountToken: true\nresources: {}\n")
    for render in (None, False):
        plans = plan_chart(chart, make_options(Config(), unsafe_fixes=True), render=render)
        assert not [p.error for p in plans if p.error]
        token = [r for r in plans[0].findings if r.rule == "no-service-account-token"]
        assert token and all(r.status == "report" and "per entry of the values list engines" in r.note
                             for r in token)
        assert [c.rule for c in plans[0].changes] == ["resources"]


def test_templates_helmignore_leaves_out_are_not_planned(tmp_path):
    """Helm leaves out what .helmignore matches (a folder of drafts, `*.bak`): no findings there."""
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n    - name: c\n      image: c\n"
    chart = make_chart(tmp_path / "c", {"pod.yaml": pod.format(name="kept"), "old.yaml.bak": pod.format(name="bak")},
                       "{}\n")
    (chart / "templates" / "drafts").mkdir()
    (chart / "templates" / "drafts" / "pod.yaml").write_text(pod.format(name="draft"))
    (chart / ".helmignore").write_text("# drafts\n*.bak\ntemplates/drafts/\n")
    for render in (None, False):
        plans = plan_chart(chart, OPTIONS, render=render)
        files = {Path(r.file).relative_to(chart).as_posix() for r in plans[0].findings}
        assert files == {"templates/pod.yaml"}, files
    from kfix.helm.chartfiles import _ignore_rules, ignored
    rules = _ignore_rules(chart / ".helmignore")
    assert ignored("templates/drafts/pod.yaml", rules) and ignored("templates/x.bak", rules)
    assert not ignored("templates/drafts.yaml", rules) and not ignored("templates/pod.yaml", rules)
    assert ignored("templates/pod.yaml", [(True, False, "keep.yaml")])  # Helm's own reading of `!keep.yaml`
