"""kubeaudit's override labels as exemptions: which findings they cover, at pod and container level."""

from __future__ import annotations

from kfix.api import make_options, plan_bytes
from kfix.config import Config
from kfix.rules.exemptions import exempt_ids

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  labels: {LABELS_OBJ}
spec:
  template:
    metadata:
      labels: {LABELS_POD}
      annotations: {ANNOTATIONS}
    spec:
      containers:
      - name: web.v2
        image: img@sha256:abc
        securityContext:
          allowPrivilegeEscalation: true
          capabilities:
            add: [SYS_TIME, NET_ADMIN]
      - name: side
        image: img@sha256:abc
        securityContext:
          allowPrivilegeEscalation: true
"""


def _statuses(obj: str = "{}", pod: str = "{}", annotations: str = "{}") -> dict:
    text = DEPLOY.replace("{LABELS_OBJ}", obj).replace("{LABELS_POD}", pod).replace("{ANNOTATIONS}", annotations)
    plan = plan_bytes("d.yaml", text.encode(), make_options(Config()))
    assert plan.error is None, plan.error
    return {(r.rule, r.finding.container, r.finding.message.split()[-1]): r.status for r in plan.findings
            if r.rule in ("no-privilege-escalation", "drop-capabilities") and r.finding.facet in ("ape", "added")}


def test_container_label_covers_that_container_only() -> None:
    got = _statuses(pod='{"container.kubeaudit.io/web.v2.allow-privilege-escalation": "needs setuid"}')
    assert got[("no-privilege-escalation", "web.v2", "escalation")] == "exempt"
    assert got[("no-privilege-escalation", "side", "escalation")] == "unsafe"


def test_pod_label_on_the_object_covers_every_container() -> None:
    got = _statuses(obj='{"kubeaudit.io/allow-privilege-escalation": "x"}')
    assert {got[("no-privilege-escalation", c, "escalation")] for c in ("web.v2", "side")} == {"exempt"}


def test_capability_label_covers_that_capability_only() -> None:
    got = _statuses(pod='{"container.audit.kubernetes.io/web.v2.allow-capability-sys-time": ""}')  # deprecated form
    assert got[("drop-capabilities", "web.v2", "SYS_TIME")] == "exempt"
    assert got[("drop-capabilities", "web.v2", "NET_ADMIN")] == "unsafe"


def test_kubeaudit_keys_as_annotations_are_not_its_overrides() -> None:
    got = _statuses(annotations='{"kubeaudit.io/allow-privilege-escalation": "x"}')
    assert got[("no-privilege-escalation", "side", "escalation")] == "unsafe"


def test_label_parsing() -> None:
    assert exempt_ids({}, {"kubeaudit.io/allow-run-as-root": "", "audit.kubernetes.io/pod.allow-privileged": "",
                           "container.kubeaudit.io/a.b.allow-capability-chown": "", "kubeaudit.io/other": "",
                           "app": "web"}) == {"kubeaudit:allow-run-as-root", "kubeaudit:allow-privileged",
                                              "kubeaudit:a.b/allow-capability-chown"}
