"""Intent wins in safe mode: what a person wrote keeps its meaning, and configuration that would make
invalid pods is refused at load time (exit 2, one clear line)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import copy_case, run_kfix, snapshot
from kfix.api import make_options, plan_bytes
from kfix.config import Config


def _plan(text: str, unsafe: bool = False):
    plan = plan_bytes("pod.yaml", text.encode(), make_options(Config(), unsafe_fixes=unsafe))
    assert plan.error is None, plan.error
    fixed = yaml.safe_load(plan.new_text) if plan.changed else yaml.safe_load(text)
    return plan, fixed


def _pod(pod_sc: str = "", container_sc: str = "", extra: str = "") -> str:
    return ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n"
            + (f"  securityContext:\n{pod_sc}" if pod_sc else "")
            + "  containers:\n  - name: c\n    image: img@sha256:abc\n"
            + (f"    securityContext:\n{container_sc}" if container_sc else "") + extra)


def _effective_uid(spec: dict, c: dict):
    for sc in (c.get("securityContext") or {}, spec.get("securityContext") or {}):
        if sc.get("runAsUser") is not None:
            return sc["runAsUser"]
    return None


@pytest.mark.parametrize("pod_sc,container_sc", [
    ("", "      runAsNonRoot: false\n"),
    ("    runAsNonRoot: false\n", ""),
    ("    runAsUser: 0\n", ""),
    ("", "      runAsUser: 0\n"),
    ("    runAsNonRoot: false\n", "      runAsGroup: 0\n"),
])
def test_root_intent_keeps_root_in_safe_mode(pod_sc: str, container_sc: str) -> None:
    plan, fixed = _plan(_pod(pod_sc, container_sc))
    spec = fixed["spec"]
    c = spec["containers"][0]
    assert _effective_uid(spec, c) in (0, None)
    assert "runAsGroup" not in (spec.get("securityContext") or {}) or "runAsGroup" in pod_sc
    # a root container keeps root's capabilities in safe mode: dropping them is only offered
    assert "ALL" not in ((c.get("securityContext") or {}).get("capabilities") or {}).get("drop", [])
    statuses = {(r.rule, r.status) for r in plan.findings}
    assert ("drop-capabilities", "unsafe") in statuses
    # with --unsafe-fixes the container is moved off root, with a full set of IDs
    _, hardened = _plan(_pod(pod_sc, container_sc), unsafe=True)
    hc = hardened["spec"]["containers"][0]
    assert _effective_uid(hardened["spec"], hc) == 10001
    assert hc["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_other_containers_of_a_root_pod_still_hardened() -> None:
    """A pod-level user is withheld only where it would reach the root container; a container that sets
    its own user is out of its reach."""
    text = _pod(container_sc="      runAsUser: 0\n") + ("  - name: web\n    image: img@sha256:abc\n"
                                                           "    securityContext:\n      runAsUser: 20000\n")
    _, fixed = _plan(text)
    psc = fixed["spec"]["securityContext"]
    assert "runAsUser" not in psc and "runAsNonRoot" not in psc  # runAsNonRoot: true would stop the root one
    assert fixed["spec"]["containers"][1]["securityContext"]["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("container_sc,extra", [
    ("      capabilities:\n        add: [CHOWN]\n", ""),
    ("      capabilities:\n        add: [cap_fowner, NET_BIND_SERVICE]\n", ""),
    ("", "    command: [sh, -c, 'chown -R 1000:1000 /data && chmod 0750 /data']\n"),
    ("", "    args:\n    - find /data -exec chmod g+r {} +\n"),
])
def test_ownership_work_keeps_its_capabilities(container_sc: str, extra: str) -> None:
    plan, fixed = _plan(_pod(container_sc=container_sc, extra=extra))
    c = fixed["spec"]["containers"][0]
    assert "drop" not in ((c.get("securityContext") or {}).get("capabilities") or {})
    [rep] = [r for r in plan.findings if r.rule == "drop-capabilities" and r.finding.facet == "drop-all"]
    assert rep.status == "unsafe"


def test_words_containing_chown_are_not_commands() -> None:
    _, fixed = _plan(_pod(extra="    command: [/bin/chowner-daemon, --no-chmod-check]\n"))
    assert fixed["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_person_chosen_ids_gain_no_group() -> None:
    _, fixed = _plan(_pod("    runAsUser: 65534\n    fsGroup: 65534\n",
                          extra="    volumeMounts:\n    - {name: d, mountPath: /d}\n  volumes:\n"
                                "  - name: d\n    persistentVolumeClaim: {claimName: d}\n"))
    psc = fixed["spec"]["securityContext"]
    assert psc["runAsUser"] == 65534 and psc["fsGroup"] == 65534 and "runAsGroup" not in psc
    # the IDs kfix adds itself come as a set
    _, fresh = _plan(_pod(extra="    volumeMounts:\n    - {name: d, mountPath: /d}\n  volumes:\n"
                                "  - name: d\n    persistentVolumeClaim: {claimName: d}\n"))
    psc = fresh["spec"]["securityContext"]
    assert (psc["runAsUser"], psc["runAsGroup"], psc["fsGroup"]) == (10001, 10001, 10001)


@pytest.mark.parametrize("value", ['"true"', "1", "null", "[]", "''", "yes please"])
def test_odd_boolean_values_are_a_persons(value: str) -> None:
    text = _pod(container_sc=f"      allowPrivilegeEscalation: {value}\n      readOnlyRootFilesystem: {value}\n",
                extra="    volumeMounts: []\n  volumes: []\n").replace(
        "spec:\n", f"spec:\n  automountServiceAccountToken: {value}\n", 1)
    original = yaml.safe_load(text)
    plan, fixed = _plan(text)
    for path in (("spec", "automountServiceAccountToken"),
                 ("spec", "containers", 0, "securityContext", "allowPrivilegeEscalation"),
                 ("spec", "containers", 0, "securityContext", "readOnlyRootFilesystem")):
        a, b = original, fixed
        for key in path:
            a, b = a[key], b[key]
        assert a == b and type(a) is type(b), path
    unsafe = {r.rule for r in plan.findings if r.status == "unsafe"}
    assert {"no-service-account-token", "no-privilege-escalation", "read-only-root-filesystem"} <= unsafe
    _, hardened = _plan(text, unsafe=True)
    assert hardened["spec"]["automountServiceAccountToken"] is False
    assert hardened["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] is False


# --- configuration --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("config,message", [
    ("run-as-user: 0\n", "'run-as-user' is 0 (root)"),
    ("run-as-group: 0\n", "'run-as-group' is 0 (root)"),
    ("fs-group: 2147483648\n", "from 1 to 2147483647"),
    ("run-as-user: -5\n", "from 1 to 2147483647"),
    ("run-as-user: 1.5\n", "must be an integer"),
    ("resources: {requests: {memory: -128Mi}}\n", "'-128Mi' is not a Kubernetes quantity"),
    ("resources: {requests: {cpu: 2}, limits: {cpu: 500m}}\n", "resources.requests.cpu (2) is above "
                                                              "resources.limits.cpu (500m)"),
    ("resources: {requests: {memory: 1Gi}}\n", "is above the default resources.limits.memory (512Mi)"),
])
def test_configuration_that_makes_invalid_pods_is_refused(tmp_path: Path, config: str, message: str) -> None:
    vote = copy_case("dockersamples+example-voting-app/k8s-specifications__vote-deployment.yaml", tmp_path,
                     "vote.yaml")
    before = snapshot(vote)
    (tmp_path / ".kfix.yaml").write_text(config)
    rc, out, err = run_kfix(["apply", "--write", "vote.yaml"], cwd=tmp_path)
    assert rc == 2 and out == b"" and "Traceback" not in err
    assert err.startswith("kfix: ") and ".kfix.yaml" in err and message in err, err
    assert snapshot(vote) == before


def test_valid_ids_and_quantities_are_accepted(tmp_path: Path) -> None:
    (tmp_path / ".kfix.yaml").write_text("run-as-user: 2147483647\nrun-as-group: 1\nfs-group: 1\n"
                                         "resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 1, memory: 1Gi}}\n")
    vote = copy_case("dockersamples+example-voting-app/k8s-specifications__vote-deployment.yaml", tmp_path,
                     "vote.yaml")
    rc, _out, err = run_kfix(["apply", "--write", "vote.yaml"], cwd=tmp_path)
    assert rc in (0, 1), err
    assert "runAsUser: 2147483647" in vote.read_text()


def test_weakening_judge_sees_a_root_container_moved_and_a_setting_weakened(tmp_path: Path) -> None:
    """The corpus test's judge (tests/weakening.py) reports what it is there to catch."""
    import weakening

    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir()
    after.mkdir()
    (before / "p.yaml").write_text(_pod("    runAsNonRoot: false\n", "      allowPrivilegeEscalation: false\n"))
    (after / "p.yaml").write_text(_pod("    runAsNonRoot: false\n    runAsUser: 10001\n",
                                       "      allowPrivilegeEscalation: true\n"))
    problems = weakening.judge(str(before), str(after))
    assert len(problems) == 2 and "runs as root" in problems[1] and "allowPrivilegeEscalation" in problems[0]
    (after / "p.yaml").write_text(_pod("    runAsNonRoot: false\n    seccompProfile: {type: RuntimeDefault}\n",
                                       "      allowPrivilegeEscalation: false\n"))
    assert weakening.judge(str(before), str(after)) == []


@pytest.mark.parametrize("written,reported", [
    ("[net_bind_service]", ["'net_bind_service'"]),
    ("[Net_Bind_Service, NET_BIND_SERVICE]", ["'Net_Bind_Service'"]),
    ("[CAP_NET_BIND_SERVICE]", ["'CAP_NET_BIND_SERVICE'"]),
    ("[NET_BIND_SERVICE]", []),
])
def test_an_allowed_capability_spelled_otherwise_is_reported(written: str, reported: list) -> None:
    """Pod Security admission compares capability names exactly: another spelling of an allowed one is
    reported (kept as written), and the container's other fixes are still made."""
    plan, fixed = _plan(_pod(container_sc=f"      runAsNonRoot: true\n      capabilities:\n        add: {written}\n"))
    caps = fixed["spec"]["containers"][0]["securityContext"]["capabilities"]
    assert caps["add"] == yaml.safe_load(written) and caps["drop"] == ["ALL"]
    spelled = [r for r in plan.findings if r.rule == "drop-capabilities" and r.finding.facet == "spelling"]
    assert [r.finding.message.split("adds capability ")[1].split(":")[0] for r in spelled] == reported
    assert all(r.status == "report" and "'NET_BIND_SERVICE'" in r.finding.message for r in spelled)
