"""Helm template analysis: which values keys feed each pod's and container's
securityContext, resources and automountServiceAccountToken (kfix.helm)."""

from __future__ import annotations

import dataclasses
import functools
import io
import random
import tarfile
from pathlib import Path

import pytest
import yaml

from kfix.helm import ChartMap, FieldBinding, PodTemplate, ValuesRef, discover, load_schema

CHARTS = Path(__file__).parent / "charts"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "manifests"


def fmt(b: FieldBinding, pod: PodTemplate) -> str:
    """One binding as text: `field <- values.path omit=.. gate=.. default=.. @line`."""
    if b.ref is None:
        s = f"{b.field} LITERAL" if b.literal else f"{b.field} ?"
    else:
        s = f"{b.field} <- {'.'.join(b.ref.path)}"
        if b.ref.omit:
            s += " omit=" + ",".join(b.ref.omit)
        if b.ref.gate:
            s += " gate=" + ".".join(b.ref.gate)
        if b.ref.default_from:
            s += " default=" + ".".join(b.ref.default_from)
        if b.preset:
            s += " preset"
    where = str(b.line) if b.template == pod.template else f"{b.template}:{b.line}"
    return f"{s} @{where}"


def summarize(m: ChartMap) -> list:
    return [(p.kind, p.template, p.line, [fmt(b, p) for b in p.bindings],
             [(c.section, c.name, [fmt(b, p) for b in c.bindings]) for c in p.containers])
            for p in m.pods]


@functools.lru_cache(maxsize=None)
def chart(name: str) -> ChartMap:
    return discover(CHARTS / name)


# --------------------------------------------------------------------------- fixtures


def test_helm_create_securitycontext_is_container_level():
    m = chart("mychart")
    assert m.name == "mychart"
    assert summarize(m) == [
        ("Deployment", "templates/deployment.yaml", 2,
         ["securityContext <- podSecurityContext @32"],
         [("containers", "{{ .Chart.Name }}",
           ["securityContext <- securityContext @38", "resources <- resources @56"])]),
        ("Pod", "templates/tests/test-connection.yaml", 2, [], [("containers", "wget", [])]),
    ]
    sc = m.pods[0].containers[0].get("securityContext")[0]
    assert (sc.level, sc.ref) == ("container", ValuesRef(("securityContext",)))
    # no pod-level automountServiceAccountToken: only the ServiceAccount sets one
    assert m.pods[0].get("automountServiceAccountToken") == []
    assert m.notes == ["templates/serviceaccount.yaml:12: ServiceAccount sets "
                       "automountServiceAccountToken from values serviceAccount.automount"]


def test_node_exporter_securitycontext_is_pod_level():
    m = chart("prometheus-node-exporter")
    assert summarize(m) == [
        ("DaemonSet", "templates/daemonset.yaml", 2,
         ["automountServiceAccountToken <- serviceAccount.automountServiceAccountToken @33",
          "securityContext <- securityContext @35"],
         [("initContainers", "extraInitContainers[*]",
           ["securityContext <- extraInitContainers.*.securityContext @46",
            "resources <- extraInitContainers.*.resources @46"]),
          ("initContainers", "permission-fix",
           ["securityContext <- permissionInitContainer.securityContext @58"]),
          ("containers", "node-exporter",
           ["securityContext <- containerSecurityContext @116", "resources <- resources @178"]),
          ("containers", "sidecars[*]",
           ["securityContext <- sidecars.*.securityContext default=containerSecurityContext @235",
            "resources <- sidecars.*.resources @235"]),
          ("containers", "kube-rbac-proxy",
           ["resources <- kubeRBACProxy.resources @290",
            "securityContext <- kubeRBACProxy.containerSecurityContext @307"])]),
    ]
    pod = m.pods[0]
    sc = pod.get("securityContext")[0]
    assert (sc.level, sc.ref) == ("pod", ValuesRef(("securityContext",)))
    # the same values key name, opposite level, in the helm create chart
    helm_create = chart("mychart").pods[0].containers[0].get("securityContext")[0]
    assert helm_create.ref.path == sc.ref.path and helm_create.level != sc.level
    auto = pod.get("automountServiceAccountToken")[0]
    assert auto.note == ("computed by {{ ternary true false (or .Values.serviceAccount.automountServiceAccountToken "
                         ".Values.kubeRBACProxy.enabled) }}")
    sidecars = pod.container("sidecars[*]")
    assert sidecars.values_list == ("sidecars",) and sidecars.when == ("range .Values.sidecars",)
    assert pod.container("kube-rbac-proxy").when == (".Values.kubeRBACProxy.enabled",)


def test_podinfo():
    m = chart("podinfo")
    assert summarize(m) == [
        ("Deployment", "templates/deployment.yaml", 2,
         ["securityContext <- podSecurityContext @204"],
         [("containers", "{{ .Chart.Name }}",
           ["securityContext <- securityContext @42",
            "securityContext LITERAL @45",
            "resources <- resources @201"])]),
        ("Job", "templates/hooks/job.yaml", 7, [], [("containers", "job", [])]),
        ("Deployment", "templates/redis/deployment.yaml", 3, [],
         [("containers", "redis", ["resources LITERAL @50"])]),
        ("Pod", "templates/tests/cache.yaml", 3, [], [("containers", "curl", [])]),
        ("Pod", "templates/tests/fail.yaml", 3, [], [("containers", "fault", [])]),
        ("Pod", "templates/tests/grpc.yaml", 2, [], [("containers", "grpc-health-probe", [])]),
        ("Pod", "templates/tests/jwt.yaml", 2, [], [("containers", "tools", [])]),
        ("Pod", "templates/tests/service.yaml", 2, [], [("containers", "curl", [])]),
        ("Pod", "templates/tests/timeout.yaml", 3, [], [("containers", "fault", [])]),
        ("Pod", "templates/tests/tls.yaml", 3, [], [("containers", "curl", [])]),
    ]
    app = m.pods[0].containers[0]
    fallback = app.get("securityContext")[1]
    assert fallback == FieldBinding(
        "securityContext", "container", None, "templates/deployment.yaml", 45, True,
        "written in the template; when not (.Values.securityContext) and "
        "(or .Values.service.hostPort .Values.tls.hostPort)",
        ("allowPrivilegeEscalation", "capabilities"))
    assert m.pods[2].when == (".Values.redis.enabled",)
    assert m.pods[2].containers[0].get("resources")[0].literal_keys == ("limits", "requests")


def test_bitnami_nginx_gates_omit_and_presets():
    m = chart("nginx")
    cs = "containerSecurityContext omit=enabled gate=containerSecurityContext.enabled"
    assert summarize(m) == [
        ("Deployment", "templates/deployment.yaml", 7,
         ["automountServiceAccountToken <- automountServiceAccountToken @61",
          "securityContext <- podSecurityContext omit=enabled gate=podSecurityContext.enabled @97"],
         [("initContainers", "preserve-logs-symlinks",
           [f"securityContext <- {cs} @110",
            "resources <- resources default=resourcesPreset @113",
            "resources <- resourcesPreset preset @115"]),
          ("initContainers", "git-clone-repository",
           [f"securityContext <- {cs} @137",
            "resources <- cloneStaticSiteFromGit.gitSync.resources "
            "default=cloneStaticSiteFromGit.gitSync.resourcesPreset @154",
            "resources <- cloneStaticSiteFromGit.gitSync.resourcesPreset preset @156"]),
          ("initContainers", "initContainers[*]",
           ["securityContext <- initContainers.*.securityContext @184",
            "resources <- initContainers.*.resources @184"]),
          ("containers", "git-repo-syncer",
           [f"securityContext <- {cs} @193",
            "resources <- cloneStaticSiteFromGit.gitSync.resources "
            "default=cloneStaticSiteFromGit.gitSync.resourcesPreset @212",
            "resources <- cloneStaticSiteFromGit.gitSync.resourcesPreset preset @214"]),
          ("containers", "nginx",
           [f"securityContext <- {cs} @244",
            "resources <- resources default=resourcesPreset @323",
            "resources <- resourcesPreset preset @325"]),
          ("containers", "metrics",
           ["securityContext <- metrics.securityContext omit=enabled gate=metrics.securityContext.enabled @392",
            "resources <- metrics.resources default=metrics.resourcesPreset @431",
            "resources <- metrics.resourcesPreset preset @433"]),
          ("containers", "sidecars[*]",
           ["securityContext <- sidecars.*.securityContext @437",
            "resources <- sidecars.*.resources @437"])]),
    ]
    pod = m.pods[0]
    assert pod.get("securityContext") == [FieldBinding(
        "securityContext", "pod",
        ValuesRef(("podSecurityContext",), omit=("enabled",), gate=("podSecurityContext", "enabled")),
        "templates/deployment.yaml", 97, False)]
    preset = pod.container("nginx").get("resources")[1]
    assert preset.preset and preset.note == (
        'names a resources preset; when not (.Values.resources) and ne .Values.resourcesPreset "none"')
    assert m.presets == (("resourcesPreset",), ("cloneStaticSiteFromGit", "gitSync", "resourcesPreset"),
                         ("metrics", "resourcesPreset"))
    assert pod.container("metrics").when == (".Values.metrics.enabled",)
    assert m.subcharts == []  # the vendored common chart is a library: helpers only
    assert m.notes == [
        "templates/serviceaccount.yaml:17: ServiceAccount sets automountServiceAccountToken from values "
        "serviceAccount.automountServiceAccountToken",
        "charts/common: library chart common: named templates only"]


def test_cert_manager_workloads():
    m = chart("cert-manager")
    assert summarize(m) == [
        ("Deployment", "templates/cainjector-deployment.yaml", 3,
         ["automountServiceAccountToken <- cainjector.automountServiceAccountToken @64",
          "securityContext <- cainjector.securityContext @74"],
         [("containers", "{{ .Chart.Name }}-cainjector",
           ["securityContext <- cainjector.containerSecurityContext @125",
            "resources <- cainjector.resources @129"])]),
        ("Deployment", "templates/deployment.yaml", 2,
         ["automountServiceAccountToken <- automountServiceAccountToken @63",
          "securityContext <- securityContext @73"],
         [("containers", "{{ .Chart.Name }}-controller",
           ["securityContext <- containerSecurityContext @166", "resources <- resources @200"]),
          ("containers", "extraContainers[*]",
           ["securityContext <- extraContainers.*.securityContext @222",
            "resources <- extraContainers.*.resources @222"])]),
        ("Job", "templates/startupapicheck-job.yaml", 3,
         ["automountServiceAccountToken <- startupapicheck.automountServiceAccountToken @41",
          "securityContext <- startupapicheck.securityContext @51"],
         [("containers", "{{ .Chart.Name }}-startupapicheck",
           ["securityContext <- startupapicheck.containerSecurityContext @70",
            "resources <- startupapicheck.resources @82"])]),
        ("Deployment", "templates/webhook-deployment.yaml", 2,
         ["automountServiceAccountToken <- webhook.automountServiceAccountToken @63",
          "securityContext <- webhook.securityContext @73"],
         [("containers", "{{ .Chart.Name }}-webhook",
           ["securityContext <- webhook.containerSecurityContext @170",
            "resources <- webhook.resources @182"])]),
    ]
    controller = m.pods[1]
    # `securityContext` is the pod-level key in cert-manager, like prometheus-community
    assert controller.get("securityContext")[0].level == "pod"
    assert controller.get("automountServiceAccountToken")[0].note == \
        'when hasKey .Values "automountServiceAccountToken"'
    assert [p.when for p in m.pods] == [(".Values.cainjector.enabled",), (), (".Values.startupapicheck.enabled",), ()]
    assert len(m.notes) == 4 and all("ServiceAccount sets automountServiceAccountToken" in n for n in m.notes)


def test_pushgateway_pod_spec_from_named_template():
    m = chart("prometheus-pushgateway")
    helper = "templates/_helpers.tpl"
    body = (["automountServiceAccountToken <- automountServiceAccountToken @" + helper + ":151",
             "securityContext <- securityContext @" + helper + ":303"],
            [("initContainers", "extraInitContainers[*]",
              [f"securityContext <- extraInitContainers.*.securityContext @{helper}:165",
               f"resources <- extraInitContainers.*.resources @{helper}:165"]),
             ("containers", "extraContainers[*]",
              [f"securityContext <- extraContainers.*.securityContext @{helper}:169",
               f"resources <- extraContainers.*.resources @{helper}:169"]),
             ("containers", "pushgateway",
              [f"resources <- resources @{helper}:246",
               f"securityContext <- containerSecurityContext @{helper}:250"])])
    assert summarize(m) == [("Deployment", "templates/deployment.yaml", 3, *body),
                            ("StatefulSet", "templates/statefulset.yaml", 3, *body)]
    assert [p.when for p in m.pods] == [("not .Values.runAsStatefulSet",), (".Values.runAsStatefulSet",)]


def test_microservices_demo_writes_security_contexts_itself():
    m = chart("microservices-demo")

    def svc(template, line, pod_sc, containers):
        return ("Deployment", f"templates/{template}.yaml", line, [f"securityContext LITERAL @{pod_sc}"],
                containers)

    def server(sc, key, res, name="server"):
        return ("containers", name, [f"securityContext LITERAL @{sc}", f"resources <- {key}.resources @{res}"])

    assert summarize(m) == [
        svc("adservice", 31, 53, [server(65, "adService", 78)]),
        svc("cartservice", 29, 57, [server(69, "cartService", 86)]),
        svc("cartservice", 216, 235,
            [("containers", "redis", ["securityContext LITERAL @247", "resources LITERAL @272"])]),
        svc("checkoutservice", 31, 52, [server(64, "checkoutService", 109)]),
        svc("currencyservice", 31, 53, [server(65, "currencyService", 99)]),
        svc("emailservice", 31, 53, [server(65, "emailService", 100)]),
        svc("frontend", 31, 54, [server(66, "frontend", 133)]),
        svc("loadgenerator", 31, 57, [("initContainers", "frontend-check", ["securityContext LITERAL @88"]),
                                      server(102, "loadGenerator", 117, "main")]),
        svc("opentelemetry-collector", 31, 51,
            [("initContainers", "otel-gateway-init", ["securityContext LITERAL @67"]),
             ("containers", "otel-gateway", ["securityContext LITERAL @90"])]),
        svc("paymentservice", 31, 53, [server(65, "paymentService", 98)]),
        svc("productcatalogservice", 31, 53, [server(65, "productCatalogService", 100)]),
        svc("recommendationservice", 31, 53, [server(65, "recommendationService", 102)]),
        svc("shippingservice", 31, 52, [server(64, "shippingService", 88)]),
    ]
    pod_sc = m.pods[0].get("securityContext")[0]
    assert pod_sc.literal_keys == ("fsGroup", "runAsGroup", "runAsNonRoot", "runAsUser", "seccompProfile")
    assert pod_sc.note == ("written in the template; values inside: seccompProfile.type; "
                           "when .Values.securityContext.enable")
    assert m.pods[0].when == (".Values.adService.create",)
    assert m.notes == []


def test_all_fixture_bindings_are_consistent():
    """Level follows where a binding is rendered; literal iff no values ref; lines point at the key."""
    for d in sorted(CHARTS.iterdir()):
        m = chart(d.name)
        assert m.pods, d.name
        for pod in m.pods:
            groups = [("pod", pod.bindings)] + [("container", c.bindings) for c in pod.containers]
            for level, bindings in groups:
                for b in bindings:
                    assert b.level == level
                    assert b.literal == (b.ref is None)
                    text = (d / b.template).read_text().splitlines()[b.line - 1]
                    if "values list" in b.note or "whole container" in b.note:
                        assert "{{" in text
                    else:
                        assert f"{b.field}:" in text, (d.name, b)


def test_load_schema():
    schema = load_schema(CHARTS / "nginx")
    assert schema["properties"]["podSecurityContext"]["properties"]["enabled"]["type"] == "boolean"
    assert load_schema(CHARTS / "cert-manager")["$schema"].startswith("http")
    assert load_schema(CHARTS / "mychart") is None


# --------------------------------------------------------------------------- constructs


def make_chart(root: Path, templates: dict[str, str], meta: str = "name: demo\n") -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(meta)
    for name, text in templates.items():
        p = root / "templates" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_vars_default_omit_and_cronjob(tmp_path):
    d = make_chart(tmp_path / "c", {"cron.yaml": """\
{{- $sc := .Values.worker.securityContext }}
apiVersion: batch/v1
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          securityContext: {{- toYaml (omit $sc "enabled") | nindent 12 }}
          automountServiceAccountToken: {{ .Values.worker.automount | default false }}
          containers:
            - name: worker
              resources: {{- toYaml (.Values.worker.resources | default .Values.resources) | nindent 16 }}
              securityContext:
                {{- toYaml (default .Values.containerSecurityContext .Values.worker.containerSecurityContext) | nindent 16 }}
"""})
    m = discover(d)
    assert summarize(m) == [
        ("CronJob", "templates/cron.yaml", 3,
         ["securityContext <- worker.securityContext omit=enabled @9",
          "automountServiceAccountToken <- worker.automount @10"],
         [("containers", "worker",
           ["resources <- worker.resources default=resources @13",
            "securityContext <- worker.containerSecurityContext default=containerSecurityContext @14"])]),
    ]


def test_range_over_containers_and_dollar(tmp_path):
    d = make_chart(tmp_path / "c", {"deploy.yaml": """\
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
      {{- range .Values.containers }}
      - name: {{ .name }}
        {{- with .securityContext }}
        securityContext: {{- toYaml . | nindent 10 }}
        {{- end }}
        resources:
          {{- toYaml $.Values.defaultResources | nindent 10 }}
      {{- end }}
"""})
    pod = discover(d).pods[0]
    assert [(c.name, [fmt(b, pod) for b in c.bindings]) for c in pod.containers] == [
        ("{{ .name }}", ["securityContext <- containers.*.securityContext @10",
                         "resources <- defaultResources @12"])]
    assert pod.containers[0].when == ("range .Values.containers",)


def test_if_else_fallback_sets_default_from(tmp_path):
    d = make_chart(tmp_path / "c", {"deploy.yaml": """\
kind: StatefulSet
spec:
  template:
    spec:
      {{- if .Values.podSecurityContext }}
      securityContext: {{ toYaml .Values.podSecurityContext | nindent 8 }}
      {{- else }}
      securityContext:
        runAsUser: {{ .Values.uid }}
        runAsNonRoot: true
      {{- end }}
      containers:
        - name: app
          {{- if .Values.app.resources }}
          resources: {{ toYaml .Values.app.resources | nindent 12 }}
          {{- else }}
          resources: {{ toYaml .Values.defaults.resources | nindent 12 }}
          {{- end }}
"""})
    pod = discover(d).pods[0]
    assert [fmt(b, pod) for b in pod.bindings] == ["securityContext <- podSecurityContext @6",
                                                   "securityContext LITERAL @8"]
    assert pod.bindings[1].note == ("written in the template; values inside: uid; "
                                    "when not (.Values.podSecurityContext)")
    assert pod.bindings[1].literal_keys == ("runAsUser", "runAsNonRoot")
    assert [fmt(b, pod) for b in pod.containers[0].bindings] == [
        "resources <- app.resources default=defaults.resources @15",
        "resources <- defaults.resources @17"]


def test_block_scalars_and_literal_scalars(tmp_path):
    d = make_chart(tmp_path / "c", {"pod.yaml": """\
apiVersion: v1
kind: ConfigMap
data:
  pod.yaml: |
    spec:
      securityContext:
        runAsUser: 0
---
apiVersion: v1
kind: Pod
spec:
  automountServiceAccountToken: false
  containers:
    - name: sh
      command:
        - sh
        - -c
        - |
          cat <<EOF
          securityContext:
            privileged: true
          EOF
      securityContext: {}
"""})
    m = discover(d)
    pod = m.pods[0]
    assert summarize(m) == [("Pod", "templates/pod.yaml", 10, ["automountServiceAccountToken LITERAL @12"],
                             [("containers", "sh", ["securityContext LITERAL @23"])])]
    assert pod.bindings[0].note == "written in the template (false)"


def test_library_helper_from_packaged_subchart(tmp_path):
    root = make_chart(tmp_path / "app", {"deploy.yaml": """\
kind: Deployment
spec:
  template:
    spec:
      {{- if .Values.podSecurityContext.enabled }}
      securityContext: {{- include "lib.securityContext" (dict "sc" .Values.podSecurityContext "ctx" $) | nindent 8 }}
      {{- end }}
      containers:
        - name: app
          resources: {{- include "lib.preset" (dict "size" .Values.sizePreset) | nindent 12 }}
"""})
    files = {
        "lib/Chart.yaml": "name: lib\ntype: library\nversion: 0.1.0\n",
        "lib/templates/_lib.tpl": """\
{{- define "lib.securityContext" -}}
{{- $sc := .sc -}}
{{- if .ctx.Values.openshift -}}
{{- $sc = omit $sc "runAsUser" -}}
{{- end -}}
{{- omit $sc "enabled" | toYaml -}}
{{- end -}}
{{- define "lib.preset" -}}
{{- $p := dict "small" (dict "requests" (dict "cpu" "100m")) "large" (dict "requests" (dict "cpu" "1")) -}}
{{- index $p .size | toYaml -}}
{{- end -}}
""",
    }
    (root / "charts").mkdir()
    with tarfile.open(root / "charts" / "lib-0.1.0.tgz", "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    m = discover(root)
    pod = m.pods[0]
    assert [fmt(b, pod) for b in pod.bindings] == [
        "securityContext <- podSecurityContext omit=enabled gate=podSecurityContext.enabled @6"]
    assert [fmt(b, pod) for b in pod.containers[0].bindings] == ["resources <- sizePreset preset @10"]
    assert m.presets == (("sizePreset",),)
    assert m.notes == ["charts/lib-0.1.0.tgz: library chart lib: named templates only"]


def test_subchart_is_mapped_with_its_own_values(tmp_path):
    root = make_chart(tmp_path / "app", {})
    make_chart(root / "charts" / "db", {"sts.yaml": """\
kind: StatefulSet
spec:
  template:
    spec:
      securityContext: {{ toYaml .Values.podSecurityContext | nindent 8 }}
      containers: []
"""}, "name: db\n")
    m = discover(root)
    assert m.pods == [] and [s.name for s in m.subcharts] == ["db"]
    sub = m.subcharts[0]
    assert summarize(sub) == [("StatefulSet", "charts/db/templates/sts.yaml", 1,
                               ["securityContext <- podSecurityContext @5"], [])]


def test_broken_template_is_reported_and_others_still_analysed(tmp_path):
    d = make_chart(tmp_path / "c", {
        "bad.yaml": "kind: Pod\nspec:\n  {{- if .Values.x }}\n  containers: []\n",
        "good.yaml": "kind: Pod\nspec:\n  securityContext: {{ toYaml .Values.sc | nindent 4 }}\n  containers: []\n",
    })
    m = discover(d)
    assert [p.template for p in m.pods] == ["templates/good.yaml"]
    assert m.notes == ["templates/bad.yaml:3: not analysed: line 3: block without end"]


def test_never_raises_on_mangled_templates(tmp_path):
    rng = random.Random(7)
    texts = [p.read_text() for p in sorted(CHARTS.glob("*/templates/*.yaml"))]
    junk = ["", "{{", "}}", "{{- end }}", "{{ if .Values.x }}", "-", ":", "\n  - ", '"', "|\n", "(", ")",
            '{{ include "x" (dict "a" .Values.b) | nindent 4 }}', "\t", "{{ $v := .Values.a }}"]
    for i in range(40):
        d = tmp_path / str(i)
        text = rng.choice(texts)
        for _ in range(rng.randint(1, 4)):
            a = rng.randrange(len(text) + 1)
            text = text[:a] + rng.choice(junk) + text[a + rng.randrange(40):]
        make_chart(d, {"t.yaml": text, "_h.tpl": rng.choice(texts)[: rng.randrange(2000)]})
        assert isinstance(discover(d), ChartMap)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_plain_manifests_as_templates_match_a_yaml_parse(tmp_path):
    """With no template actions at all, the line-based nesting must agree with a real YAML parser."""
    d = tmp_path / "c"
    files = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml"))
    make_chart(d, {f"{i:04d}.yaml": p.read_text(encoding="utf-8") for i, p in enumerate(files)})
    got = {}
    for pod in discover(d).pods:
        got.setdefault(pod.template, []).append(
            (pod.kind, sorted(b.field for b in pod.bindings),
             sorted((c.section, c.name, sorted(b.field for b in c.bindings)) for c in pod.containers)))
    paths = {"Pod": ("spec",), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}
    expected = {}
    for i, p in enumerate(files):
        try:
            docs = [x for x in yaml.safe_load_all(p.read_text(encoding="utf-8")) if isinstance(x, dict)]
        except yaml.YAMLError:
            continue
        for doc in docs:
            kind = doc.get("kind")
            if kind not in ("Pod", "CronJob", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                            "ReplicationController", "Job"):
                continue
            spec = doc
            for key in paths.get(kind, ("spec", "template", "spec")):
                spec = spec.get(key) if isinstance(spec, dict) else None
            if not isinstance(spec, dict):
                continue
            expected.setdefault(f"templates/{i:04d}.yaml", []).append(
                (kind, sorted(f for f in ("securityContext", "automountServiceAccountToken", "resources")
                              if f in spec),
                 sorted((sec, str(c.get("name", "")), sorted(f for f in ("securityContext", "resources") if f in c))
                        for sec in ("initContainers", "containers", "ephemeralContainers")
                        for c in spec.get(sec) or [] if isinstance(c, dict))))
    assert len(expected) > 300
    assert {k: sorted(v) for k, v in got.items()} == {k: sorted(v) for k, v in expected.items()}


def test_model_is_frozen_plain_data():
    b = FieldBinding("resources", "container", ValuesRef(("resources",)), "templates/x.yaml", 3, False)
    assert dataclasses.asdict(b)["ref"] == {"path": ("resources",), "omit": (), "gate": None,
                                            "default_from": None}
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.line = 4


def test_helper_in_helpers_tpl_with_dict_argument(tmp_path):
    d = make_chart(tmp_path / "c", {
        "_helpers.tpl": """\
{{- define "demo.securityContext" -}}
{{- $ctx := .secContext -}}
{{- if .context.Values.compat }}{{ $ctx = omit $ctx "runAsUser" }}{{ end -}}
{{- omit $ctx "enabled" | toYaml -}}
{{- end -}}
""",
        "ds.yaml": """\
kind: DaemonSet
spec:
  template:
    spec:
      containers:
        - name: agent
          {{- if .Values.agent.securityContext.enabled }}
          securityContext: {{- include "demo.securityContext" (dict "secContext" .Values.agent.securityContext "context" $) | nindent 12 }}
          {{- end }}
""",
    })
    c = discover(d).pods[0].containers[0]
    assert c.get("securityContext") == [FieldBinding(
        "securityContext", "container",
        ValuesRef(("agent", "securityContext"), omit=("enabled",), gate=("agent", "securityContext", "enabled")),
        "templates/ds.yaml", 8, False)]
