"""Proof by rendering (kfix.helm.render, helm-python-sdk): each fixture chart rendered before and
after kfix's values edit — the rendered workloads kfix can reach through values pass the hardened
profile, and nothing outside the security fields changed. Skipped only without helm-python-sdk."""

from __future__ import annotations

import functools
import shutil
import sys
from pathlib import Path

import pytest
from conftest import make_chart

from kfix.api import make_options
from kfix.config import Config
from kfix.helm import render as R
from kfix.helm.plan import plan_chart
from kfix.helm.values import merge_user

pytestmark = pytest.mark.skipif(not R.available(), reason="helm-python-sdk is not installed")

HERE = Path(__file__).parent
CHARTS = HERE / "charts"
sys.path.insert(0, str(HERE / "golden_helm"))
regen = pytest.importorskip("regen")
CASES = sorted(regen.CASES)
OPTIONS = make_options(Config())

# why a finding may stay in a rendered workload after the edit: not reachable through values, on purpose
ACCEPTED = ("report only", "unsafe fix not applied")
# ... or the render proof refused it and said why (grafana's memory limit also sets an env entry)
REFUSED = "cannot fix: refused: rendering the chart shows"


@functools.lru_cache(maxsize=None)
def planned(case: str):
    return regen.plan_case(case)


def render_case(case: str, edited: bool) -> R.Rendered:
    chart_dir = CHARTS / regen.CASES[case][0]
    plans = {p.path: p for p in planned(case)}
    texts = {}
    for name in ("values.yaml",) + regen.CASES[case][1]:
        path = str(chart_dir / name)
        p = plans.get(path)
        texts[name] = p.new_text if edited and p is not None and p.changed else (chart_dir / name).read_text()
    extra = [R.parse_values_text(texts[n]) for n in regen.CASES[case][1]]
    return R.render(chart_dir, merge_user(extra), texts["values.yaml"] if edited else None)


@pytest.mark.parametrize("case", CASES)
def test_nothing_outside_security_fields_changes(case):
    before, again, after = render_case(case, False), render_case(case, False), render_case(case, True)
    unstable = R.unstable_paths(before, again)
    assert [d.template for d in before.docs] == [d.template for d in after.docs]
    assert R.outside_changes(before, after, unstable, volumes=True) == []
    # and without allowing volumes, only the charts whose own extra-volume keys carry /tmp differ
    strict = R.outside_changes(before, after, unstable, volumes=False)
    assert all("volume" in line.lower() for line in strict), strict


@pytest.mark.parametrize("case", CASES)
def test_rendered_workloads_pass_where_values_reach(case):
    plans = planned(case)
    proof = plans[0].proof
    assert proof is not None and proof.rendered and proof.refused == []
    assert proof.outside == [] or proof.partial  # grafana: a change kept in part, its other part refused
    assert proof.workloads
    for w in proof.workloads:
        for message, why in w.remaining:
            assert why.startswith(ACCEPTED) or why.startswith(REFUSED) and proof.partial, (case, w.resource, message,
                                                                                      why)
    # every fixable finding in values was cleared in the rendered output (when that pod renders)
    assert proof.cleared == sum(len(w.cleared) for w in proof.workloads)


def test_counts_per_chart():
    """The numbers the README quotes (cleared / remaining findings in rendered output)."""
    counts = {case: (planned(case)[0].proof.cleared, planned(case)[0].proof.remaining) for case in CASES}
    assert counts["mychart"][0] > 0 and counts["prometheus-pushgateway"][0] > 0
    assert all(cleared >= 0 and remaining >= 0 for cleared, remaining in counts.values())


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: demo
  annotations:
    config: {{ .Values.podSecurityContext | toJson | quote }}
spec:
  automountServiceAccountToken: false
  securityContext: {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: app
      image: app@sha256:0000000000000000000000000000000000000000000000000000000000000000
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: {drop: [ALL]}
      resources:
        requests: {cpu: 100m, memory: 128Mi}
        limits: {cpu: "1", memory: 512Mi}
"""


def test_edit_that_changes_more_than_security_fields_is_refused(tmp_path):
    """The values key also feeds an annotation: the rendered change is not only a security field."""
    chart = make_chart(tmp_path / "c", {"pod.yaml": POD}, "podSecurityContext: {}\n")
    plans = plan_chart(chart, OPTIONS)
    assert not plans[0].changed
    proof = plans[0].proof
    assert proof.refused and any("metadata.annotations.config" in o for o in proof.outside)
    reps = [r for r in plans[0].findings if r.rule in ("run-as-non-root", "seccomp-runtime-default")]
    assert reps and all(r.status == "unfixable" and r.note.startswith("refused") for r in reps)


def test_random_names_are_not_outside_changes(tmp_path):
    chart = make_chart(tmp_path / "c", {"pod.yaml": POD.replace("name: demo", "name: demo-{{ randAlphaNum 5 | lower }}")
                                    .replace("    config: {{ .Values.podSecurityContext | toJson | quote }}\n", "")
                                    .replace("  annotations:\n", "")},
                   "podSecurityContext: {}\n")
    plans = plan_chart(chart, OPTIONS)
    assert plans[0].changed and plans[0].proof.refused == []
    assert plans[0].proof.cleared > 0


def test_chart_that_needs_user_values_is_planned_without_rendering(tmp_path):
    pod = POD.replace("name: demo\n", "name: {{ required \"set .Values.name\" .Values.name }}\n")
    chart = make_chart(tmp_path / "c", {"pod.yaml": pod}, "podSecurityContext: {}\n")
    plans = plan_chart(chart, OPTIONS)
    assert plans[0].changed  # the values edit is still planned from the templates
    assert plans[0].proof is not None and not plans[0].proof.rendered
    assert "does not render" in plans[0].note and "set .Values.name" in plans[0].note


def test_missing_dependency_is_planned_without_rendering(tmp_path):
    chart = make_chart(tmp_path / "c", {"pod.yaml": POD}, "podSecurityContext: {}\n",
                   "apiVersion: v2\nname: demo\nversion: 0.1.0\ndependencies:\n  - name: redis\n    version: 1.0.0\n"
                   "    repository: https://charts.example.com\n")
    plans = plan_chart(chart, OPTIONS)
    assert plans[0].proof is not None and not plans[0].proof.rendered
    assert "does not render" in plans[0].note


def test_split_like_helm():
    # Helm's separator regex eats the blank line after `---`, so a marker can stay at a document's start
    assert R.split_manifest("a: 1\n---# comment\nb: 2\n---\n\n---\nc: 3") == ["a: 1", "# comment\nb: 2",
                                                                              "---\nc: 3"]


def test_render_copies_chart_for_edited_values(tmp_path):
    chart = tmp_path / "mychart"
    shutil.copytree(CHARTS / "mychart", chart)
    before = (chart / "values.yaml").read_text()
    out = R.render(chart, None, before.replace("replicaCount: 1", "replicaCount: 3"))
    dep = next(d for d in out.docs if d.template == "templates/deployment.yaml")
    assert dep.data["spec"]["replicas"] == 3
    assert (chart / "values.yaml").read_text() == before  # the chart itself is never touched


def test_a_missing_dependency_that_is_turned_off_does_not_stop_the_render(tmp_path):
    """Helm leaves out a dependency whose condition is false, so it need not be in charts/ (elasticsearch's
    kibana behind `global.kibanaEnabled: false`); one that is on still must be."""
    meta = ("apiVersion: v2\nname: demo\nversion: 0.1.0\ndependencies:\n  - name: kibana\n    version: 12.x.x\n"
            "    repository: oci://registry-1.docker.io/bitnamicharts\n"
            "    condition: kibana.enabled,global.kibanaEnabled\n")
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: c\n"
    for values, renders in (("global:\n  kibanaEnabled: false\n", True), ("global:\n  kibanaEnabled: true\n", False),
                            ("kibana:\n  enabled: true\nglobal:\n  kibanaEnabled: false\n", False)):
        chart = make_chart(tmp_path / str(len(values)), {"pod.yaml": pod}, values, meta)
        proof = plan_chart(chart, OPTIONS)[0].proof
        assert proof.rendered is renders, (values, proof.note)
        if not renders:
            assert "dependencies not in charts/" in proof.note and "kibana (missing)" in proof.note
