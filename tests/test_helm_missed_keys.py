"""Values keys kfix used to miss, each on the real chart that has it (tests/charts, licenses kept):

- grafana's `extraEmptyDirMounts`, a list the template ranges over to write both a mount and its emptyDir
  volume: the writable /tmp of read-only-root-filesystem goes in as one entry;
- jenkins's config-reload containers, written by a helper called as
  `include "jenkins.configReloadContainer" (list $ "config-reload" "sidecar")` whose `$root := index . 0`
  toYaml's `controller.sidecars.configAutoReload.resources` (and is written `resources:` + `{}` on the
  next line);
- elastic filebeat, whose template renders only the container's securityContext from values: the pod's
  seccompProfile goes on the container.

Each is checked through the render (helm-python-sdk): the hardened field is in the rendered pod, and no
security setting the chart rendered is gone or weaker.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kfix.api import make_options
from kfix.config import Config
from kfix.helm import render as R
from kfix.helm.plan import plan_chart
from kfix.rules.weakening import weakened

CHARTS = Path(__file__).parent / "charts"
OPTIONS = make_options(Config())
needs_helm = pytest.mark.skipif(not R.available(), reason="helm-python-sdk is not installed")


def edited(chart: str, tmp_path: Path, render: bool | None = None) -> tuple[Path, list]:
    """The chart planned and written (``render`` None: with Helm's render, skipped without the SDK)."""
    if render is None and not R.available():
        pytest.skip("helm-python-sdk is not installed")
    copy = tmp_path / chart
    shutil.copytree(CHARTS / chart, copy)
    plans = plan_chart(copy, OPTIONS, render=render)
    assert not [p.error for p in plans if p.error]
    for p in plans:
        if p.changed:
            Path(p.path).write_text(p.new_text, encoding="utf-8")
    return copy, plans


def ops_of(plans, change_id: str) -> list[str]:
    return [f"{type(op).__name__} {'.'.join(map(str, op.path))} {getattr(op, 'value', None)!r}"
            for p in plans for c in p.changes if c.id == change_id for op in c.ops]


def pods(chart: Path) -> dict[str, dict]:
    """Rendered pods by kind and template (test pods carry random names)."""
    return {f"{w.site.kind} {w.doc.template}#{w.doc.index}": w.spec for w in R.render(chart).workloads()}


def container(spec: dict, name: str) -> dict:
    return next(c for s in ("initContainers", "containers") for c in spec.get(s) or [] if c["name"] == name)


def assert_not_weakened(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    for name, spec in before.items():
        assert weakened(spec, after[name]) == [], name


# --------------------------------------------------------------------------- grafana: extraEmptyDirMounts


@pytest.mark.parametrize("render", [None, False])
def test_grafana_writable_tmp_through_extra_empty_dir_mounts(tmp_path, render):
    _copy, plans = edited("grafana", tmp_path, render)
    assert ops_of(plans, "helm:containerSecurityContext:read-only-root-filesystem") == [
        "Set containerSecurityContext.readOnlyRootFilesystem True",
        "Append extraEmptyDirMounts {'name': 'kfix-tmp', 'mountPath': '/tmp'}",
    ]


@needs_helm
def test_grafana_rendered_container_gets_an_empty_dir_at_tmp(tmp_path):
    copy, _plans = edited("grafana", tmp_path)
    before, after = pods(CHARTS / "grafana"), pods(copy)
    assert_not_weakened(before, after)
    spec = after["Deployment templates/deployment.yaml#0"]
    grafana = container(spec, "grafana")
    assert grafana["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "kfix-tmp", "mountPath": "/tmp"} in grafana["volumeMounts"]
    assert {"name": "kfix-tmp", "emptyDir": {}} in spec["volumes"]
    old = container(before["Deployment templates/deployment.yaml#0"], "grafana")
    assert [m for m in grafana["volumeMounts"] if m["name"] != "kfix-tmp"] == old["volumeMounts"]


# --------------------------------------------------------------------------- jenkins: resources in a helper


@pytest.mark.parametrize("render", [None, False])
def test_jenkins_config_reload_resources_through_its_helper(tmp_path, render):
    copy, plans = edited("jenkins", tmp_path, render)
    change = next(c for p in plans for c in p.changes if c.id == "helm:controller.sidecars.configAutoReload."
                                                                  "resources:resources")
    assert change.container == "config-reload-init, config-reload"
    text = (copy / "values.yaml").read_text()
    assert ("      resources:\n        requests:\n          cpu: 100m\n          memory: 128Mi\n        limits:\n"
            "          cpu: '1'\n          memory: 512Mi\n        #   limits:\n") in text
    assert not [f for p in plans for f in p.findings if f.rule == "resources" and
                (f.finding.container or "").startswith("config-reload") and f.status != "fix"]


@needs_helm
def test_jenkins_rendered_config_reload_containers_get_resources(tmp_path):
    copy, _plans = edited("jenkins", tmp_path)
    before, after = pods(CHARTS / "jenkins"), pods(copy)
    assert_not_weakened(before, after)
    spec = after["StatefulSet templates/jenkins-controller-statefulset.yaml#0"]
    for name in ("config-reload-init", "config-reload"):
        assert container(spec, name)["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"},
                                                      "limits": {"cpu": "1", "memory": "512Mi"}}
    # the pod's seccomp profile went on each container, the pod-level field being the template's own
    for name in ("init", "jenkins", "config-reload-init", "config-reload"):
        assert container(spec, name)["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


# --------------------------------------------------------------------------- filebeat: container-level seccomp


@pytest.mark.parametrize("render", [None, False])
def test_filebeat_seccomp_profile_on_the_container(tmp_path, render):
    _copy, plans = edited("filebeat", tmp_path, render)
    assert ops_of(plans, "helm:daemonset.securityContext:seccomp-runtime-default") == [
        "Set daemonset.securityContext.seccompProfile {'type': 'RuntimeDefault'}"]
    left = [f for p in plans for f in p.findings if f.rule == "seccomp-runtime-default" and f.status != "fix"
            and f.resource == "DaemonSet templates/daemonset.yaml"]
    assert [f.note.endswith("the pod-level default for containers added later is left") for f in left] == [True]


@needs_helm
def test_filebeat_rendered_daemonset_runs_with_runtime_default(tmp_path):
    copy, _plans = edited("filebeat", tmp_path)
    before, after = pods(CHARTS / "filebeat"), pods(copy)
    assert_not_weakened(before, after)
    spec = after["DaemonSet templates/daemonset.yaml#0"]
    assert "seccompProfile" not in (spec.get("securityContext") or {})
    assert container(spec, "filebeat")["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    # a second run changes nothing: the pod-level default (for containers added later) is left to a template
    # change, and said so
    again = plan_chart(copy, OPTIONS)
    assert not [c for p in again for c in p.changes]
    left = [f for p in again for f in p.findings if f.rule == "seccomp-runtime-default"
            and f.resource == "DaemonSet templates/daemonset.yaml"]
    assert left and all(f.status == "report" and "needs a template change" in f.note for f in left)


def test_container_seccomp_never_overrides_another_pods_own_profile(tmp_path):
    """The container key is shared with a pod that sets its own (Localhost) profile: a container-level
    RuntimeDefault would override it there, so the pod-level finding stays a report."""
    from conftest import make_chart

    container = ("      containers:\n        - name: app\n          image: nginx\n          securityContext:\n"
                 "            {{- toYaml .Values.securityContext | nindent 12 }}\n")
    head = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n"
    chart = make_chart(tmp_path / "shared", {
        "a.yaml": head.format(name="a") + container,
        "b.yaml": head.format(name="b") + "      securityContext:\n        seccompProfile:\n"
                                          "          type: Localhost\n          localhostProfile: app.json\n"
                  + container,
    }, "securityContext:\n  runAsNonRoot: true\n")
    plans = plan_chart(chart, OPTIONS, render=False)
    seccomp = [f for p in plans for f in p.findings if f.rule == "seccomp-runtime-default"]
    assert seccomp and all(f.status != "fix" for f in seccomp)
    assert not [op for p in plans for c in p.changes for op in c.ops if "seccompProfile" in op.path]
