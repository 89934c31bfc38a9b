"""Findings name containers as Helm renders them (kfix.helm.names), and a key several containers share is one edit.

The real charts in tests/charts (licenses kept) name containers through their helpers:
grafana's sidecars are `{{ include "grafana.name" . }}-sc-alerts`, ingress-nginx's default backend
`{{ template "ingress-nginx.name" . }}-default-backend`. kfix evaluates those names with the chart's values;
Helm itself (helm-python-sdk) checks the evaluator on every name helper of those charts.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from kfix.api import make_options
from kfix.config import Config
from kfix.helm import discover
from kfix.helm import render as R
from kfix.helm.names import Unresolved, evaluate_name
from kfix.helm.plan import plan_chart
from kfix.helm.values import load_values_file

CHARTS = Path(__file__).parent / "charts"
OPTIONS = make_options(Config())
needs_helm = pytest.mark.skipif(not R.available(), reason="helm-python-sdk is not installed")


def evaluate(chart: Path, text: str, values: dict | None = None) -> str:
    cmap = discover(chart)
    if values is None:
        values = load_values_file(str(chart / "values.yaml")).data
    return evaluate_name(text, cmap.helpers, values, cmap.name, R.RELEASE, R.NAMESPACE)


def name_helpers(chart: Path) -> list[str]:
    return sorted(n for n in discover(chart).helpers if re.search(r"\.(name|fullname|chart)$", n))


def test_grafana_sidecar_names():
    chart = CHARTS / "grafana"
    assert evaluate(chart, '{{ include "grafana.name" . }}-sc-alerts') == "grafana-sc-alerts"
    assert evaluate(chart, '{{ include "grafana.fullname" . }}') == "kfix-grafana"
    assert evaluate(chart, '{{ include "grafana.fullname" . }}', {"fullnameOverride": "g"}) == "g"
    assert evaluate(chart, '{{ include "grafana.name" . }}-x', {"nameOverride": "graf"}) == "graf-x"


def test_ingress_nginx_template_action():
    chart = CHARTS / "ingress-nginx"
    assert evaluate(chart, '{{ template "ingress-nginx.name" . }}-default-backend') == \
        "ingress-nginx-default-backend"


@pytest.mark.parametrize("text", [
    '{{ .Chart.Version }}',  # chart metadata kfix does not read
    '{{ include "no.such.helper" . }}',
    '{{ range .Values.x }}a{{ end }}',
    '{{ .Values.image.repository | sha256sum }}',  # a function kfix does not evaluate
    '{{ .Values.missing }}',  # Helm would print <no value>
])
def test_what_kfix_does_not_evaluate_stays_unresolved(text):
    with pytest.raises(Unresolved):
        evaluate(CHARTS / "grafana", text)


@needs_helm
@pytest.mark.parametrize("chart", ["grafana", "ingress-nginx", "alertmanager", "podinfo", "istio-gateway",
                                   "prometheus-node-exporter", "cert-manager"])
def test_every_name_helper_evaluates_as_helm_renders_it(chart, tmp_path):
    """Each `*.name`, `*.fullname`, `*.chart` helper, with default values and with overrides, is either what
    Helm renders or left unresolved."""
    src = CHARTS / chart
    helpers = name_helpers(src)
    assert helpers
    for overrides in ({}, {"nameOverride": "over", "fullnameOverride": ""}, {"fullnameOverride": "full-x"}):
        copy = tmp_path / f"{chart}-{len(overrides)}-{sorted(overrides)}".replace("'", "").replace(" ", "")
        shutil.copytree(src, copy)
        data = "\n".join(f'  h{i}: {{{{ include "{h}" . | toJson }}}}' for i, h in enumerate(helpers))
        (copy / "templates" / "kfix-names-probe.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kfix-names-probe\ndata:\n" + data + "\n")
        try:
            rendered = R.render(copy, overrides)
        except R.RenderError as exc:  # the istio gateway's schema allows no name overrides
            assert overrides and "schema" in str(exc)
            continue
        doc = next(d.data for d in rendered.docs if d.template == "templates/kfix-names-probe.yaml")
        values = load_values_file(str(src / "values.yaml")).data
        values.update(overrides)
        resolved = 0
        for i, h in enumerate(helpers):
            helm_says = json.loads(json.dumps(doc["data"][f"h{i}"]))
            try:
                mine = evaluate(src, f'{{{{ include "{h}" . }}}}', values)
            except Unresolved:
                continue
            resolved += 1
            assert mine == helm_says, (chart, h, overrides)
        assert resolved, (chart, helpers)


# --------------------------------------------------------------------------- findings and changes


def findings(chart: Path, render: bool | None):
    plans = plan_chart(chart, OPTIONS, render=render)
    return plans, [f for p in plans for f in p.findings]


@pytest.mark.parametrize("render", [None, False])
def test_grafana_findings_name_rendered_containers_and_share_one_edit(render):
    """No finding names a container by template text; the sidecars' shared `sidecar.resources` edit covers
    every sidecar (it was one container's change, and "needs a template change" for the other eight)."""
    if render is None and not R.available():
        pytest.skip("helm-python-sdk is not installed")
    plans, reps = findings(CHARTS / "grafana", render)
    assert not [r for r in reps if "{{" in (r.finding.container or "") + r.resource + r.finding.message]
    sidecars = [r for r in reps if r.rule == "resources" and (r.finding.container or "").startswith("grafana-")
                and "-sc-" in (r.finding.container or "")]
    names = {r.finding.container for r in sidecars}
    assert names == {f"grafana-{p}sc-{k}" for p in ("", "init-") for k in ("alerts", "dashboard", "datasources",
                                                                            "notifiers")} | {"grafana-sc-plugins"}
    assert {(r.status, r.change_id) for r in sidecars} == {("fix", "helm:sidecar.resources:resources")}
    change = next(c for p in plans for c in p.changes if c.id == "helm:sidecar.resources:resources")
    assert set(change.container.split(", ")) == names
    assert not [r for r in reps if "values already say so" in r.note]


def test_ingress_nginx_default_backend_named_as_rendered():
    plans, reps = findings(CHARTS / "ingress-nginx", False)
    backend = [r for r in reps if r.resource == "Deployment templates/default-backend-deployment.yaml"
               and r.finding.container]
    assert backend and {r.finding.container for r in backend} == {"ingress-nginx-default-backend"}
    yaml.safe_dump([r.finding.message for r in backend])


@needs_helm
def test_a_container_whose_name_only_a_render_tells_says_it_is_not_rendered():
    """elasticsearch's test pod writes `name: {{ .Values.healthNameOverride | quote }}` under
    `if .Values.healthNameOverride` (empty by default) and a random name otherwise: the first never renders,
    and its findings say so instead of naming it by template text alone."""
    _plans, reps = findings(CHARTS / "elasticsearch", None)
    test_pod = [r for r in reps if r.resource == "Pod templates/test/test-elasticsearch-health.yaml"
                and r.finding.container]
    names = {r.finding.container for r in test_pod}
    assert '{{ .Values.healthNameOverride | quote }} (not rendered with these values)' in names
    assert {n for n in names if "{{" in n} == {'{{ .Values.healthNameOverride | quote }} (not rendered with these '
                                               'values)'}
    assert evaluate(CHARTS / "elasticsearch", '{{ .Values.healthNameOverride | quote }}',
                    {"healthNameOverride": "health"}) == "health"
