"""A chart's values edit never weakens what the chart renders (kfix.rules.weakening, the render proof).

Templates often say "if the key is set use it, else write these defaults": the istio gateway's pod and
container, ingress-nginx's controller (real charts in tests/charts, licenses kept). Setting the key drops
the defaults, so kfix writes them into the key along with the fix; and the render proof refuses any edit
after which a security setting the rendered pods had is gone or weaker.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import make_chart
from hypothesis import given, settings
from strategies import workload

from kfix import ops as O
from kfix.api import make_options, plan_bytes
from kfix.config import Config
from kfix.helm import render as R
from kfix.helm.plan import plan_chart
from kfix.helm.values import merge_user
from kfix.rules.weakening import weakened
from kfix.workloads import pod_sites

CHARTS = Path(__file__).parent / "charts"
OPTIONS = make_options(Config())
UNSAFE = make_options(Config(), unsafe_fixes=True)
needs_helm = pytest.mark.skipif(not R.available(), reason="helm-python-sdk is not installed")


def edited_copy(chart: Path, tmp_path: Path, options=OPTIONS, values_files=(), render=None) -> tuple[Path, list]:
    """The chart copied to tmp_path with kfix's planned values edits written."""
    copy = tmp_path / chart.name
    shutil.copytree(chart, copy)
    plans = plan_chart(copy, options, [str(copy / f) for f in values_files], render=render)
    assert not [p.error for p in plans if p.error]
    for p in plans:
        if p.changed:
            Path(p.path).write_text(p.new_text, encoding="utf-8")
    return copy, plans


def rendered_pods(chart: Path, values_files=()) -> dict[str, dict]:
    user = merge_user([yaml.safe_load((chart / f).read_text()) for f in values_files])
    return {w.resource: w.spec for w in R.render(chart, user).workloads()}


def container(spec: dict, name: str, section: str = "containers") -> dict:
    return next(c for c in spec[section] if c["name"] == name)


# --------------------------------------------------------------------------- the real charts


@pytest.mark.parametrize("render", [None, False])
def test_istio_gateway_keeps_its_template_defaults(tmp_path, render):
    """The gateway writes `sysctls` (pod) and a hardened container securityContext while the keys are
    empty: kfix's pod-level edit carries the sysctl, and the container needs no edit at all."""
    if render is None and not R.available():
        pytest.skip("helm-python-sdk is not installed")
    chart = CHARTS / "istio-gateway"
    copy, plans = edited_copy(chart, tmp_path, render=render)
    values = yaml.safe_load(plans[0].new_text)
    assert values["securityContext"]["sysctls"] == [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]
    assert values["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert values["_internal_defaults_do_not_set"]["containerSecurityContext"] == {} and "containerSecurityContext" \
        not in values
    if R.available():
        before, after = rendered_pods(chart), rendered_pods(copy)
        assert before.keys() == after.keys() and before
        for name, spec in before.items():
            assert weakened(spec, after[name]) == []
            assert container(after[name], "istio-proxy")["securityContext"] == \
                container(spec, "istio-proxy")["securityContext"]
            assert after[name]["securityContext"]["sysctls"] == spec["securityContext"]["sysctls"]


@needs_helm
@pytest.mark.parametrize("options", [OPTIONS, UNSAFE], ids=["safe", "unsafe"])
def test_ingress_nginx_controller_keeps_its_user_capabilities_and_seccomp(tmp_path, options):
    chart = CHARTS / "ingress-nginx"
    copy, plans = edited_copy(chart, tmp_path, options)
    before, after = rendered_pods(chart), rendered_pods(copy)
    controller = next(n for n in before if n.startswith("Deployment/") and "controller" in n)
    old = container(before[controller], "controller")["securityContext"]
    new = container(after[controller], "controller")["securityContext"]
    assert (old["runAsUser"], old["runAsGroup"], old["capabilities"]["add"]) == (101, 82, ["NET_BIND_SERVICE"])
    if options.unsafe_fixes:  # the one unsafe override: the chart's readOnlyRootFilesystem: false
        assert new == {**old, "readOnlyRootFilesystem": True}
        assert yaml.safe_load(plans[0].new_text)["controller"]["containerSecurityContext"] == new
        # its writable /tmp goes through `extraVolumes`, which renders under `if (or ... extraVolumes ...)`
        assert {"name": "kfix-tmp", "mountPath": "/tmp"} in container(after[controller], "controller")["volumeMounts"]
        assert {"name": "kfix-tmp", "emptyDir": {}} in after[controller]["volumes"]
    else:
        assert new == old
    for name, spec in before.items():
        assert weakened(spec, after[name], options.unsafe_fixes) == []


@needs_helm
def test_ingress_nginx_extra_modules_are_planned_per_entry(tmp_path):
    """`controller.extraModules` builds an init container per entry through a helper (`range`): an empty
    list plans nothing there (it used to stop the whole chart), an entry is hardened under its own key."""
    chart = tmp_path / "src" / "ingress-nginx"
    shutil.copytree(CHARTS / "ingress-nginx", chart)
    (chart / "modules.yaml").write_text("controller:\n  extraModules:\n    - name: opentelemetry\n"
                                        "      image:\n        registry: registry.k8s.io\n"
                                        "        image: ingress-nginx/opentelemetry\n        tag: v1\n")
    copy, plans = edited_copy(chart, tmp_path / "edited", values_files=("modules.yaml",))
    before, after = rendered_pods(chart, ("modules.yaml",)), rendered_pods(copy, ("modules.yaml",))
    controller = next(n for n in before if n.startswith("Deployment/") and "controller" in n)
    module = container(after[controller], "opentelemetry", "initContainers")
    assert module["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert module["securityContext"]["allowPrivilegeEscalation"] is False
    assert module["resources"]["limits"]
    for name, spec in before.items():
        assert weakened(spec, after[name]) == []


# --------------------------------------------------------------------------- the proof


@needs_helm
def test_the_render_proof_refuses_an_edit_that_would_weaken(tmp_path):
    """`default (dict ...)`: the chart's own user 1001 while the key is empty. Moving it to 10001 would move
    the chart's chosen user, so the render proof refuses the edit and says why."""
    chart = make_chart(tmp_path / "c", {"w.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: w
spec:
  template:
    spec:
      securityContext: {{- toYaml (.Values.podSecurityContext | default (dict "runAsUser" 1001)) | nindent 8 }}
      containers:
        - name: app
          image: app
"""}, "podSecurityContext: {}\n")
    plans = plan_chart(chart, OPTIONS)
    proof = plans[0].proof
    assert proof.rendered and proof.refused and not plans[0].changed
    assert any("pod.securityContext.runAsUser: 1001 -> 10001" in w for w in proof.weakened)
    refused = [r for r in plans[0].findings if r.rule == "run-as-non-root" and r.status == "unfixable"]
    assert refused and all("would remove or weaken a security setting the chart had" in r.note for r in refused)
    assert "they would weaken a security setting the chart had" in proof.summary()


def test_weakened_settings():
    pod = {"securityContext": {"runAsUser": 1000, "seccompProfile": {"type": "Unconfined"}},
           "automountServiceAccountToken": True,
           "containers": [{"name": "a", "securityContext": {"privileged": True, "capabilities": {
               "drop": ["ALL"], "add": ["NET_ADMIN"]}}, "resources": {"limits": {"memory": "1Gi"}}}]}
    hardened = {"securityContext": {"runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
                "automountServiceAccountToken": False,
                "containers": [{"name": "a", "securityContext": {"privileged": False, "capabilities": {
                    "drop": ["ALL"]}}, "resources": {"limits": {"memory": "512Mi", "cpu": "1"}}}]}
    assert weakened(pod, hardened) == []
    assert weakened(hardened, pod) == [
        "pod.automountServiceAccountToken: False -> True",
        "pod.securityContext.seccompProfile.type: 'RuntimeDefault' -> 'Unconfined'",
        "containers.a.securityContext.privileged: False -> True",
        "containers.a.resources.limits.cpu: '1' -> gone"]
    moved = {**pod, "securityContext": {"runAsUser": 10001, "seccompProfile": {"type": "Unconfined"}}}
    assert weakened(pod, moved) == ["pod.securityContext.runAsUser: 1000 -> 10001"]
    dropped = {**pod, "containers": [{**pod["containers"][0], "securityContext": {"privileged": True}}]}
    assert weakened(pod, dropped) == ["containers.a.securityContext.capabilities.drop.ALL: True -> gone"]
    root = {"containers": [{"name": "a", "securityContext": {"runAsNonRoot": False}}]}
    as_user = {"containers": [{"name": "a", "securityContext": {"runAsNonRoot": False, "runAsUser": 10001}}]}
    assert weakened(root, as_user) == ["containers.a: runs as root, and no longer would"]
    assert weakened(root, as_user, unsafe_fixes=True) == []


@settings(max_examples=60, deadline=None)
@given(obj=workload())
def test_rules_never_weaken_a_pod(obj):
    """What the proof checks agrees with the rules: their fixes, safe or unsafe, only strengthen a pod."""
    raw = yaml.safe_dump(obj, sort_keys=False).encode()
    for options in (OPTIONS, UNSAFE):
        plan = plan_bytes("m.yaml", raw, options)
        assert plan.error is None
        after = yaml.safe_load(plan.new_text) if plan.new_text is not None else obj
        for site in pod_sites(obj):
            spec, fixed = obj, after
            for key in site.path:
                spec, fixed = spec[key], fixed[key]
            assert weakened(spec, fixed, options.unsafe_fixes) == []


# --------------------------------------------------------------------------- the misses


@needs_helm
def test_alertmanager_container_is_not_claimed_by_the_disabled_sidecar(tmp_path):
    """Both containers' names are computed (`{{ .Chart.Name }}-{{ .Values.configmapReload.name }}`, then
    `{{ .Chart.Name }}`); the first is off (`configmapReload.enabled: false`). The rendered `alertmanager`
    container is the second, so its fixes go to `securityContext`, never to `configmapReload.*`."""
    chart = CHARTS / "alertmanager"
    copy, plans = edited_copy(chart, tmp_path)
    ro = next(c for c in plans[0].changes if c.rule == "read-only-root-filesystem")
    assert (ro.container, ro.ops[0]) == ("alertmanager", O.Set(("securityContext", "readOnlyRootFilesystem"), True))
    before, after = rendered_pods(chart), rendered_pods(copy)
    (name, spec), = after.items()
    main = container(spec, "alertmanager")
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "kfix-tmp", "mountPath": "/tmp"} in main["volumeMounts"]
    assert weakened(before[name], spec) == []


@needs_helm
def test_grafana_resources_kept_in_part_when_the_memory_limit_changes_an_env_entry(tmp_path):
    """grafana adds `GOMEMLIMIT` to the container's env when `resources.limits.memory` is set: that part of
    the resources change fails the render proof and is left (and said why); the rest goes in."""
    chart = CHARTS / "grafana"
    copy, plans = edited_copy(chart, tmp_path)
    proof = plans[0].proof
    assert proof.partial == ["helm:resources:resources"] and "helm:resources:resources" not in proof.refused
    reps = {r.finding.message: r for r in plans[0].findings if r.rule == "resources" and r.finding.container == "grafana"}
    left = reps["container grafana has no memory limit"]
    assert left.status == "unfixable" and "changes more than security fields" in left.note \
        and "containers.0.env" in left.note and left.note.endswith("the rest of the change is kept")
    assert {m for m, r in reps.items() if r.status == "fix"} == {
        "container grafana has no cpu request", "container grafana has no cpu limit",
        "container grafana has no memory request"}
    after = rendered_pods(copy)
    (name, spec), = [(n, s) for n, s in after.items() if n.startswith("Deployment/") and n.endswith("/kfix-grafana")]
    assert container(spec, "grafana")["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"},
                                                        "limits": {"cpu": "1"}}
    assert "GOMEMLIMIT" not in str(container(spec, "grafana").get("env"))
