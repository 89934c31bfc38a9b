"""The ``kfix`` command line, run as a real subprocess on copies of real manifests (tests/golden/cases)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CASES, OLD_MTIME_NS, REPO, age, copy_case, kfix_env, run_kfix, snapshot

VOTE = "dockersamples+example-voting-app/k8s-specifications__vote-deployment.yaml"
NFS_PRIVILEGED = "kubernetes+examples/_archived__volumes__nfs__nfs-server-deployment.yaml"
KUSTOMIZATION = "GoogleCloudPlatform+microservices-demo/kustomize__components__google-cloud-operations__kustomization.yaml"
SUMMARY = re.compile(r"^(?P<files>\d+) files? (?P<verb>changed|would change), (?P<fixes>\d+) fix(es)?\b", re.M)
ESC = "\x1b["

# Nothing left to do: every setting present, image pinned, NetworkPolicy and ResourceQuota in its namespace.
HARDENED = (REPO / "samples" / "already-hardened.yaml").read_text() + """---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: quota
spec:
  hard:
    requests.cpu: "4"
"""


def fixable_clean() -> str:
    """A Deployment that needs only safe fixes, after which nothing is left (no report-only finding)."""
    text = (CASES / VOTE).read_text()
    text = text.replace("image: dockersamples/examplevotingapp_vote",
                        "image: dockersamples/examplevotingapp_vote@sha256:" + "ab" * 32)
    # volume lists, so the writable /tmp of read-only-root-filesystem is a safe fix
    text += "        volumeMounts:\n        - {name: cache, mountPath: /cache}\n      volumes:\n      - {name: cache, emptyDir: {}}\n"
    policies = HARDENED.split("---\n", 1)[1]
    return text + "---\n" + policies


def _vote(folder: Path, name: str = "vote.yaml") -> Path:
    return copy_case(VOTE, folder, name)


def _findings(out: bytes) -> list[dict]:
    return json.loads(out)["findings"]


# --- apply / diff / --write / --check ------------------------------------------------------------------------
def test_apply_dry_run_prints_a_diff_and_touches_nothing(tmp_path: Path) -> None:
    vote = _vote(tmp_path)
    before = snapshot(vote)
    rc, out, err = run_kfix(["apply", "vote.yaml"], cwd=tmp_path)
    assert rc == 1, err
    text = out.decode()
    assert text.startswith("--- a/vote.yaml\n+++ b/vote.yaml\n@@ ")
    assert "+          allowPrivilegeEscalation: false\n" in text
    assert snapshot(vote) == before
    summary = SUMMARY.search(err)
    assert summary and summary["files"] == "1" and summary["verb"] == "would change", err


def test_diff_command_prints_the_same_diff(tmp_path: Path) -> None:
    _vote(tmp_path)
    copy_case(NFS_PRIVILEGED, tmp_path)
    rc_apply, out_apply, _ = run_kfix(["apply", "."], cwd=tmp_path)
    rc_diff, out_diff, _ = run_kfix(["diff", "."], cwd=tmp_path)
    assert out_diff == out_apply and out_diff.count(b"\n+++ b/") == 2
    assert rc_diff == rc_apply == 1


def test_write_rewrites_and_summarises(tmp_path: Path) -> None:
    vote = _vote(tmp_path)
    rc, out, err = run_kfix(["apply", "--write", "vote.yaml"], cwd=tmp_path)
    assert out == b""
    assert rc == 0, "report-only findings (image digest, NetworkPolicy, ResourceQuota) remain, but nothing to write"
    summary = SUMMARY.search(err)
    assert summary and (summary["files"], summary["verb"]) == ("1", "changed") and int(summary["fixes"]) >= 5, err
    assert re.search(r"\d+ findings? to fix by hand", err)
    text = vote.read_text()
    assert "allowPrivilegeEscalation: false" in text and "runAsNonRoot: true" in text
    # the pod has no volumes list for a writable /tmp: the read-only flag alone is an unsafe fix
    assert "readOnlyRootFilesystem" not in text and "1 unsafe fix not applied" in err
    assert vote.stat().st_mtime_ns != OLD_MTIME_NS
    # the rewrite is complete: a second run has nothing to change
    age(vote)
    again = snapshot(vote)
    rc, _out, err = run_kfix(["apply", "--check", "vote.yaml"], cwd=tmp_path)
    assert rc == 0 and "would change" not in err.replace("0 files would change", ""), err
    # what remains is an unsafe fix held back and report-only findings: --fail-on makes them fail the check
    for fail_on in ("unsafe", "report"):
        rc, _out, err = run_kfix(["apply", "--check", "--fail-on", fail_on, "vote.yaml"], cwd=tmp_path)
        assert rc == 1, (fail_on, err)
    rc, _out, _err = run_kfix(["apply", "--write", "vote.yaml"], cwd=tmp_path)
    assert snapshot(vote) == again


def test_write_exits_0_when_nothing_is_left(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(fixable_clean())
    rc, _out, err = run_kfix(["apply", "--write", "app.yaml"], cwd=tmp_path)
    assert rc == 0, err
    assert SUMMARY.search(err)["verb"] == "changed"
    rc, _out, err = run_kfix(["apply", "--check", "app.yaml"], cwd=tmp_path)
    assert rc == 0, err


def test_check_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    vote = _vote(tmp_path)
    before = snapshot(vote)
    rc, out, err = run_kfix(["apply", "--check", "."], cwd=tmp_path)
    assert rc == 1
    assert out == b""
    assert "would change: ./vote.yaml" in err
    assert snapshot(vote) == before


@pytest.mark.parametrize("command", [["apply"], ["apply", "--check"], ["apply", "--write"], ["diff"], ["scan"]])
def test_exit_0_on_hardened_and_non_kubernetes_files(tmp_path: Path, command: list[str]) -> None:
    hardened = tmp_path / "hardened.yaml"
    hardened.write_text(HARDENED)
    age(hardened)
    kustomization = copy_case(KUSTOMIZATION, tmp_path, "kustomization.yaml")
    plain = tmp_path / "settings.yml"
    plain.write_text("# an application's own settings\nlog_level: debug\nports: [80, 443]\n")
    age(plain)
    before = {p.name: snapshot(p) for p in (hardened, kustomization, plain)}
    rc, out, err = run_kfix([*command, "."], cwd=tmp_path)
    assert rc == 0, err
    if command[0] != "scan":
        assert out == b""
    assert "error" not in err
    assert {p.name: snapshot(p) for p in (hardened, kustomization, plain)} == before


def test_files_needing_no_change_are_never_rewritten(tmp_path: Path) -> None:
    hardened = tmp_path / "hardened.yaml"
    hardened.write_text(HARDENED)
    age(hardened)
    vote = _vote(tmp_path)
    # kube-prometheus' grafana Deployment has every setting but the pod-level seccompProfile
    grafana = copy_case("prometheus-operator+kube-prometheus/manifests__grafana-deployment.yaml", tmp_path)
    kustomization = copy_case(KUSTOMIZATION, tmp_path, "kustomization.yaml")
    untouched = {p: snapshot(p) for p in (hardened, grafana, kustomization)}
    rc, _out, err = run_kfix(["apply", "--write", "--ignore", "seccomp-runtime-default", "."], cwd=tmp_path)
    assert rc == 0, err
    assert {p: snapshot(p) for p in untouched} == untouched
    assert vote.stat().st_mtime_ns != OLD_MTIME_NS
    assert SUMMARY.search(err)["files"] == "1"


# --- stdin ---------------------------------------------------------------------------------------------------
def _written_bytes(tmp_path: Path, rel: str, *args: str) -> bytes:
    work = tmp_path / "written"
    target = copy_case(rel, work, "file.yaml")
    run_kfix(["apply", "--write", *args, "file.yaml"], cwd=work)
    data = target.read_bytes()
    shutil.rmtree(work)
    return data


@pytest.mark.parametrize("rel", [VOTE, "kfix/bom.yaml",
                                 "kubernetes+examples/_archived__sysdig-cloud__sysdig-daemonset.yaml",
                                 "stefanprodan+podinfo/deploy__bases__cache__deployment.yaml"])
@pytest.mark.parametrize("write", [[], ["--write"]])
def test_stdin_is_a_filter(tmp_path: Path, rel: str, write: list[str]) -> None:
    """``kfix apply -`` writes the fixed stream to stdout: the bytes --write gives (BOM, CRLF, no final newline)."""
    expected = _written_bytes(tmp_path, rel)
    raw = (CASES / rel).read_bytes()
    assert expected != raw
    rc, out, err = run_kfix(["apply", *write, "-"], input=raw, cwd=tmp_path)
    assert out == expected
    assert rc == 0, err  # a filter has written its fixes (report-only findings remain)
    rc, out, err = run_kfix(["apply", *write, "--fail-on", "report", "-"], input=raw, cwd=tmp_path)
    assert (rc, out) == (1, expected), err
    assert "Traceback" not in err


def test_stdin_needing_nothing_is_echoed_unchanged(tmp_path: Path) -> None:
    for text in (HARDENED, "log_level: debug  # not Kubernetes\n"):
        rc, out, err = run_kfix(["apply", "-"], input=text.encode(), cwd=tmp_path)
        assert (rc, out) == (0, text.encode()), err


def test_stdin_check_and_diff(tmp_path: Path) -> None:
    raw = (CASES / VOTE).read_bytes()
    rc, out, err = run_kfix(["apply", "--check", "-"], input=raw, cwd=tmp_path)
    assert (rc, out) == (1, b"")
    rc, out, err = run_kfix(["diff", "-"], input=raw, cwd=tmp_path)
    assert rc == 1 and out.startswith(b"--- a/") and b"+          allowPrivilegeEscalation: false\n" in out
    rc, out, err = run_kfix(["scan", "--format", "json", "-"], input=raw, cwd=tmp_path)
    assert rc == 1 and _findings(out)


def test_stdin_cannot_be_mixed_with_paths(tmp_path: Path) -> None:
    _vote(tmp_path)
    rc, _out, err = run_kfix(["apply", "-", "vote.yaml"], input=b"a: 1\n", cwd=tmp_path)
    assert rc == 2 and "stdin" in err and "Traceback" not in err


# --- rule selection, profiles, unsafe fixes ------------------------------------------------------------------
def _rules_in(out: bytes, status: str | None = None) -> set[str]:
    return {f["rule"] for f in _findings(out) if status is None or f["status"] == status}


def test_select_and_ignore(tmp_path: Path) -> None:
    _vote(tmp_path)
    rc, out, _ = run_kfix(["apply", "--select", "no-privilege-escalation", "vote.yaml"], cwd=tmp_path)
    added = [line for line in out.decode().splitlines() if line.startswith("+ ")]
    assert "allowPrivilegeEscalation: false" in out.decode()
    assert not any(k in out.decode() for k in ("readOnlyRootFilesystem", "resources:", "runAsNonRoot", "seccomp"))
    assert added
    rc, out, _ = run_kfix(["scan", "--format", "json", "--select", "resources,seccomp-runtime-default",
                           "--select", "image-digest", "vote.yaml"], cwd=tmp_path)
    assert _rules_in(out) == {"resources", "seccomp-runtime-default", "image-digest"}
    rc, out, _ = run_kfix(["scan", "--format", "json", "--ignore", "resources", "--ignore",
                           "image-digest,network-policy", "vote.yaml"], cwd=tmp_path)
    rules = _rules_in(out)
    assert "resources" not in rules and "image-digest" not in rules and "network-policy" not in rules
    assert "no-privilege-escalation" in rules
    rc, out, _ = run_kfix(["apply", "--ignore", "resources", "vote.yaml"], cwd=tmp_path)
    assert b"resources:" not in out and b"allowPrivilegeEscalation: false" in out


@pytest.mark.parametrize("option", [["--select", "no-such-rule"], ["--ignore", "resources,bogus"]])
def test_unknown_rule_is_a_usage_error(tmp_path: Path, option: list[str]) -> None:
    vote = _vote(tmp_path)
    before = snapshot(vote)
    rc, out, err = run_kfix(["apply", "--write", *option, "vote.yaml"], cwd=tmp_path)
    assert rc == 2 and out == b""
    assert "unknown rule" in err and option[1].split(",")[-1] in err and "Traceback" not in err
    assert snapshot(vote) == before


def test_profiles(tmp_path: Path) -> None:
    from kfix.rules import RULES

    _vote(tmp_path)
    copy_case(NFS_PRIVILEGED, tmp_path, "nfs.yaml")
    seen = {}
    for profile in ("baseline", "restricted", "hardened"):
        rc, out, err = run_kfix(["scan", "--format", "json", "--profile", profile, "."], cwd=tmp_path)
        assert rc == 1, err
        allowed = {r.id for r in RULES if profile in r.profiles}
        seen[profile] = _rules_in(out)
        assert seen[profile] <= allowed, (profile, seen[profile] - allowed)
    assert seen["baseline"] < seen["restricted"] < seen["hardened"]
    assert {"no-privileged", "seccomp-runtime-default"} <= seen["baseline"]
    assert "run-as-non-root" not in seen["baseline"] and "run-as-non-root" in seen["restricted"]
    assert "resources" not in seen["restricted"] and "resources" in seen["hardened"]
    _rc, out, _ = run_kfix(["apply", "--profile", "baseline", "vote.yaml"], cwd=tmp_path)
    assert b"seccompProfile" in out and b"allowPrivilegeEscalation" not in out and b"runAsNonRoot" not in out
    rc, _out, err = run_kfix(["apply", "--profile", "paranoid", "vote.yaml"], cwd=tmp_path)
    assert rc == 2 and "Traceback" not in err


def test_unsafe_fixes_only_with_the_flag(tmp_path: Path) -> None:
    nfs = copy_case(NFS_PRIVILEGED, tmp_path, "nfs.yaml")
    rc, _out, err = run_kfix(["apply", "--write", "--fail-on", "unsafe", "nfs.yaml"], cwd=tmp_path)
    assert rc == 1, "--fail-on unsafe: an unsafe fix was held back"
    assert "privileged: true" in nfs.read_text() and "privileged: false" not in nfs.read_text()
    assert "unsafe fix" in err and "--unsafe-fixes" in err
    rc, out, _ = run_kfix(["scan", "--format", "json", "nfs.yaml"], cwd=tmp_path)
    assert any(f["rule"] == "no-privileged" and f["fix"] == "unsafe" and f["status"] == "unsafe"
               for f in _findings(out))
    rc, _out, err = run_kfix(["apply", "--write", "--unsafe-fixes", "nfs.yaml"], cwd=tmp_path)
    text = nfs.read_text()
    assert "privileged: false" in text and "privileged: true" not in text
    assert "unsafe fix" not in err


# --- configuration -------------------------------------------------------------------------------------------
CONFIG = """\
run-as-user: 12345
run-as-group: 23456
resources:
  requests: {cpu: 250m, memory: 256Mi}
  limits: {cpu: "2", memory: 1Gi}
writable-paths: [/tmp, /var/cache/nginx]
custom-resources:
- kind: WebApp
  api-group: apps.example.com
  pod-path: spec.podTemplate.spec
"""
WEBAPP = """\
apiVersion: apps.example.com/v1
kind: WebApp
metadata:
  name: shop
spec:
  podTemplate:
    spec:
      containers:
      - name: shop
        image: nginx
        volumeMounts:
        - name: content
          mountPath: /usr/share/nginx/html
      volumes:
      - name: content
        configMap:
          name: shop-content
"""


def _assert_configured(text: str, volumes: bool) -> None:
    assert "runAsUser: 12345" in text and "runAsGroup: 23456" in text
    assert "cpu: 250m" in text and "memory: 256Mi" in text and "memory: 1Gi" in text
    if volumes:  # a writable emptyDir at each configured path, in the pod's own volume lists
        assert "mountPath: /var/cache/nginx" in text and "mountPath: /tmp" in text
        assert text.count("emptyDir: {}") == 2 and "readOnlyRootFilesystem: true" in text
    else:  # no volume lists to extend: the flag alone is an unsafe fix, not applied by default
        assert "emptyDir" not in text and "readOnlyRootFilesystem" not in text


@pytest.mark.parametrize("how", ["--config", "found-in-cwd", "found-upward"])
def test_kfix_yaml_configuration(tmp_path: Path, how: str) -> None:
    project = tmp_path / "project"
    work = project / "deploy" / "prod"
    vote = _vote(work)
    webapp = work / "webapp.yaml"
    webapp.write_text(WEBAPP)
    if how == "--config":
        (tmp_path / "settings.yaml").write_text(CONFIG)
        args, cwd = ["--config", str(tmp_path / "settings.yaml")], work
    else:
        (project / ".kfix.yaml").write_text(CONFIG)
        args, cwd = [], project if how == "found-in-cwd" else work
    target = "deploy/prod" if cwd == project else "."
    rc, _out, err = run_kfix(["apply", "--write", *args, target], cwd=cwd)
    assert rc == 0, err
    _assert_configured(vote.read_text(), volumes=False)
    _assert_configured(webapp.read_text(), volumes=True)


def test_custom_resource_needs_its_configuration(tmp_path: Path) -> None:
    (tmp_path / "webapp.yaml").write_text(WEBAPP)
    rc, out, err = run_kfix(["apply", "webapp.yaml"], cwd=tmp_path)
    assert (rc, out) == (0, b""), err


def test_pyproject_tool_kfix_found_upward(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.kfix]\nrun-as-user = 34567\n'
                                             'ignore = ["resources"]\n')
    work = tmp_path / "k8s" / "apps"
    vote = _vote(work)
    rc, _out, err = run_kfix(["apply", "--write", "vote.yaml"], cwd=work)
    assert rc == 0, err
    text = vote.read_text()
    assert "runAsUser: 34567" in text and "resources:" not in text


def test_config_file_wins_over_pyproject_and_cli_over_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.kfix]\nrun-as-user = 34567\n")
    (tmp_path / ".kfix.yaml").write_text("run-as-user: 45678\nprofile: restricted\n")
    vote = _vote(tmp_path)
    _rc, out, _ = run_kfix(["apply", "vote.yaml"], cwd=tmp_path)
    assert b"runAsUser: 45678" in out and b"resources:" not in out
    _rc, out, _ = run_kfix(["apply", "--profile", "hardened", "vote.yaml"], cwd=tmp_path)
    assert b"resources:" in out
    assert vote.read_bytes() == (CASES / VOTE).read_bytes()


@pytest.mark.parametrize("config", [
    "unknown-key: 1\n",
    "profile: paranoid\n",
    "select: [no-such-rule]\n",
    "resources: {requests: {cpu: lots}}\n",
    "writable-paths: [tmp]\n",
    "run-as-user: -1\n",
    "unsafe-fixes: maybe\n",
    "custom-resources: [{kind: WebApp}]\n",
    "custom-resources: 5\n",
    "- not a mapping\n",
    "run-as-user: [\n",
    b"run-as-user: 1\nname: caf\xe9\n",
])
def test_invalid_configuration_is_exit_2(tmp_path: Path, config: str | bytes) -> None:
    vote = _vote(tmp_path)
    before = snapshot(vote)
    cfg = tmp_path / ".kfix.yaml"
    cfg.write_bytes(config if isinstance(config, bytes) else config.encode())
    for args in (["apply", "--write", "vote.yaml"], ["scan", "vote.yaml"], ["apply", "--config", str(cfg), "vote.yaml"]):
        rc, out, err = run_kfix(args, cwd=tmp_path)
        assert rc == 2, (config, err)
        assert out == b""
        assert "Traceback" not in err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("kfix: ") and ".kfix.yaml" in lines[0], err
    assert snapshot(vote) == before


def test_invalid_pyproject_and_missing_config(tmp_path: Path) -> None:
    _vote(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.kfix]\nrun-as-user = \n")
    rc, _out, err = run_kfix(["scan", "vote.yaml"], cwd=tmp_path)
    assert rc == 2 and "pyproject.toml" in err and "Traceback" not in err
    rc, _out, err = run_kfix(["scan", "--config", "nope.yaml", "vote.yaml"], cwd=tmp_path)
    assert rc == 2 and "nope.yaml" in err and "Traceback" not in err


# --- which files ---------------------------------------------------------------------------------------------
def test_exclude(tmp_path: Path) -> None:
    keep = _vote(tmp_path / "apps")
    skipped_file = _vote(tmp_path / "apps", "skip-me.yaml")
    skipped_dir = _vote(tmp_path / "vendor" / "upstream")
    before = {p: snapshot(p) for p in (skipped_file, skipped_dir)}
    rc, out, err = run_kfix(["apply", "--write", "--exclude", "skip-*.yaml", "--exclude", "vendor", "."], cwd=tmp_path)
    assert rc == 0, err
    assert "runAsNonRoot" in keep.read_text()
    assert {p: snapshot(p) for p in before} == before
    assert SUMMARY.search(err)["files"] == "1"


def test_directories_take_yaml_files_only_and_skip_vcs_folders(tmp_path: Path) -> None:
    _vote(tmp_path, "app.yaml")
    _vote(tmp_path, "app.yml")
    other = _vote(tmp_path, "notes.txt")
    git_copy = _vote(tmp_path / ".git", "x.yaml")
    before = {p: snapshot(p) for p in (other, git_copy)}
    rc, _out, err = run_kfix(["apply", "--write", "."], cwd=tmp_path)
    assert SUMMARY.search(err)["files"] == "2"
    assert {p: snapshot(p) for p in before} == before
    # an explicit file argument is taken whatever its suffix
    rc, out, _ = run_kfix(["apply", "notes.txt"], cwd=tmp_path)
    assert b"+++ b/notes.txt" in out


def test_jobs_2_gives_the_same_results_as_jobs_1(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        for case in ("kubernetes+examples", "FairwindsOps+polaris", "kfix"):
            shutil.copytree(CASES / case, folder / case)
    outputs = {}
    for jobs, folder in (("1", one), ("2", two)):
        outputs[jobs] = [run_kfix([*cmd, "--jobs", jobs, "."], cwd=folder)
                         for cmd in (["scan", "--format", "json"], ["diff"], ["scan", "--format", "sarif"])]
        outputs[jobs].append(run_kfix(["apply", "--write", "--jobs", jobs, "."], cwd=folder))
        sarif = json.loads(outputs[jobs][2][1])
        assert sarif["runs"][0].pop("originalUriBaseIds")["%SRCROOT%"]["uri"] == folder.resolve().as_uri() + "/"
        outputs[jobs][2] = (outputs[jobs][2][0], sarif, outputs[jobs][2][2])
    assert outputs["1"] == outputs["2"]
    assert outputs["1"][0][0] == 2  # the duplicate-key files of the corpus
    for path in one.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (two / path.relative_to(one)).read_bytes(), path


def test_quiet(tmp_path: Path) -> None:
    _vote(tmp_path)
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (chart / "templates" / "d.yaml").write_text("metadata:\n  name: {{ .Release.Name }}\n")
    (tmp_path / "broken.yaml").write_text("a: [\n")
    rc, _out, err = run_kfix(["apply", "--check", "."], cwd=tmp_path)
    assert "would change:" in err and "note:" in err
    rc, _out, err = run_kfix(["apply", "--check", "--quiet", "."], cwd=tmp_path)
    assert rc == 2
    assert "would change:" not in err and "note:" not in err
    assert "error: ./broken.yaml:" in err, "errors are never silenced"
    assert SUMMARY.search(err), "the summary stays"


# --- colour --------------------------------------------------------------------------------------------------
def test_no_escape_codes_through_a_pipe(tmp_path: Path) -> None:
    _vote(tmp_path)
    (tmp_path / "broken.yaml").write_text("a: [\n")
    for command in (["apply"], ["diff"], ["scan"], ["apply", "--check"], ["rules"]):
        _rc, out, err = run_kfix([*command, "."] if command != ["rules"] else command, cwd=tmp_path)
        assert ESC not in out.decode() and ESC not in err, command


def _pty(args: list[str], cwd: Path, env: dict | None = None) -> str:
    pexpect = pytest.importorskip("pexpect")
    cmd = " ".join([sys.executable, "-m", "kfix", *args])
    out, status = pexpect.run(cmd, cwd=str(cwd), env=kfix_env(env), withexitstatus=True, encoding="utf-8",
                              timeout=60)
    return out


def test_colour_on_a_terminal_only(tmp_path: Path) -> None:
    _vote(tmp_path)
    out = _pty(["diff", "vote.yaml"], tmp_path)
    assert "\x1b[32m+" in out and "\x1b[1m--- a/vote.yaml" in out
    for args, env in ((["diff", "--no-color", "vote.yaml"], None), (["apply", "vote.yaml"], {"NO_COLOR": "1"})):
        out = _pty(args, tmp_path, env)
        assert "+++ b/vote.yaml" in out
        assert ESC not in out, repr(out[:200])


# --- small commands ------------------------------------------------------------------------------------------
def test_version(tmp_path: Path) -> None:
    from kfix import __version__

    rc, out, err = run_kfix(["--version"], cwd=tmp_path)
    assert (rc, out.decode()) == (0, f"kfix {__version__}\n")
    script = Path(sys.executable).with_name("kfix")
    if not script.exists():
        pytest.skip("no installed kfix console script beside this Python")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, env=kfix_env(), cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, f"kfix {__version__}\n")
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", __version__)


def test_rules_lists_every_rule(tmp_path: Path) -> None:
    from kfix.rules import RULES

    rc, out, err = run_kfix(["rules"], cwd=tmp_path)
    assert rc == 0
    rows = {line.split()[0]: line.split() for line in out.decode().splitlines()[1:]}
    assert set(rows) == {r.id for r in RULES}
    for rule in RULES:
        columns = rows[rule.id][2:5]
        assert columns == ["yes" if p in rule.profiles else "-" for p in ("baseline", "restricted", "hardened")]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    for args in (["apply", "--no-such-option", "."], ["frobnicate"], ["apply"], ["scan", "--format", "xml", "."]):
        rc, _out, err = run_kfix(args, cwd=tmp_path)
        assert rc == 2, (args, err)
        assert "Traceback" not in err


# --- scan output ---------------------------------------------------------------------------------------------
def test_scan_json(tmp_path: Path) -> None:
    _vote(tmp_path)
    copy_case(NFS_PRIVILEGED, tmp_path, "nfs.yaml")
    rc, out, err = run_kfix(["scan", "--format", "json", "."], cwd=tmp_path)
    assert rc == 1
    doc = json.loads(out)
    findings = doc["findings"]
    assert findings
    for f in findings:
        assert {"rule", "file", "line", "resource", "container", "fix", "status", "message"} <= set(f)
        assert f["fix"] in ("safe", "unsafe", "report-only")
        assert isinstance(f["line"], int) and f["line"] >= 1
        assert f["file"] in ("vote.yaml", "nfs.yaml")
    ape = [f for f in findings if f["file"] == "vote.yaml" and f["rule"] == "no-privilege-escalation"]
    assert len(ape) == 1
    assert (ape[0]["resource"], ape[0]["container"], ape[0]["fix"], ape[0]["line"]) == \
        ("Deployment/vote", "vote", "safe", 18)  # the line of the container's first key
    pod_level = [f for f in findings if f["file"] == "vote.yaml" and f["rule"] == "run-as-non-root"]
    assert pod_level and pod_level[0]["container"] is None
    privileged = [f for f in findings if f["rule"] == "no-privileged"]
    assert privileged and privileged[0]["fix"] == "unsafe" and privileged[0]["line"] == 26
    lines = (tmp_path / "nfs.yaml").read_text().splitlines()
    assert "privileged: true" in lines[privileged[0]["line"] - 1]


def test_scan_text(tmp_path: Path) -> None:
    _vote(tmp_path)
    rc, out, err = run_kfix(["scan", "vote.yaml"], cwd=tmp_path)
    assert rc == 1
    for line in out.decode().splitlines():
        assert re.match(r"^vote\.yaml:\d+: [a-z-]+ \[[a-z ()-]+\] Deployment/vote", line), line
    assert re.search(r"^\d+ findings in 1 files?$", err, re.M)


# --- exemptions ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case, resource, exempt_rules, fixed_rules", [
    ("kfix/exempt-kfix.yaml", "Deployment/video-encoder", {"read-only-root-filesystem", "resources"},
     {"no-privilege-escalation", "run-as-non-root"}),
    ("kfix/exempt-kfix.yaml", "Deployment/vendor-appliance", "all", set()),
    ("kfix/exempt-checkov.yaml", "Deployment/pdf-renderer", {"read-only-root-filesystem"},
     {"no-privilege-escalation", "resources"}),
    ("kfix/exempt-kube-linter.yaml", "Deployment/metrics-gateway", {"read-only-root-filesystem"},
     {"no-privilege-escalation", "run-as-non-root"}),
    ("kfix/exempt-polaris.yaml", "DaemonSet/node-log-collector",
     {"read-only-root-filesystem", "run-as-non-root", "host-path-volume"}, {"no-privilege-escalation", "resources"}),
    ("kfix/exempt-polaris.yaml", "Deployment/legacy-admin-ui", {"no-privilege-escalation", "resources"}, set()),
])
def test_exemption_annotations(tmp_path: Path, case: str, resource: str, exempt_rules, fixed_rules: set) -> None:
    copy_case(case, tmp_path, "app.yaml")
    _rc, out, _ = run_kfix(["scan", "--format", "json", "app.yaml"], cwd=tmp_path)
    mine = [f for f in _findings(out) if f["resource"] == resource]
    assert mine
    if exempt_rules == "all":
        assert all(f["status"] == "exempt" for f in mine), mine
    else:
        for rule in exempt_rules:
            statuses = {f["status"] for f in mine if f["rule"] == rule}
            assert statuses == {"exempt"}, (rule, statuses)
    for rule in fixed_rules:
        assert "fix" in {f["status"] for f in mine if f["rule"] == rule}, rule
    # the written file: nothing added for exempt rules in that resource, and the run still exits normally
    _rc, _out, err = run_kfix(["apply", "--write", "app.yaml"], cwd=tmp_path)
    assert "Traceback" not in err
    docs = (tmp_path / "app.yaml").read_text().split("\n---\n")
    name = resource.split("/")[-1]
    doc = next(d for d in docs if f"name: {name}\n" in d)
    if exempt_rules == "all":
        assert doc == next(d for d in (CASES / case).read_text().split("\n---\n") if f"name: {name}\n" in d)
    else:
        if "read-only-root-filesystem" in exempt_rules:
            assert "readOnlyRootFilesystem" not in doc
        if "resources" in exempt_rules:
            assert "resources:" not in doc
        if "no-privilege-escalation" in fixed_rules:
            assert "allowPrivilegeEscalation: false" in doc


def test_checkov_skip_of_high_uid_check_keeps_the_image_uid(tmp_path: Path) -> None:
    app = copy_case("kfix/exempt-checkov.yaml", tmp_path, "app.yaml")
    run_kfix(["apply", "--write", "app.yaml"], cwd=tmp_path)
    assert "runAsUser" not in app.read_text()


def test_annotation_written_by_hand_in_a_pod_template(tmp_path: Path) -> None:
    """kfix.dev/ignore on the pod template's own metadata also counts."""
    text = (CASES / VOTE).read_text().replace("    metadata:\n      labels:\n",
                                              "    metadata:\n      annotations:\n"
                                              "        kfix.dev/ignore: resources\n      labels:\n")
    assert "kfix.dev/ignore" in text
    (tmp_path / "vote.yaml").write_text(text)
    _rc, out, _ = run_kfix(["apply", "vote.yaml"], cwd=tmp_path)
    assert b"allowPrivilegeEscalation: false" in out and b"resources:" not in out


# --- cross-file RBAC -----------------------------------------------------------------------------------------
def test_service_account_bound_in_another_file_keeps_its_token(tmp_path: Path) -> None:
    """A binding counts within the deployment unit (here: the folder) whichever files are named."""
    deploy = copy_case("kfix/crossfile-rbac-deployment.yaml", tmp_path / "app")
    copy_case("kfix/crossfile-rbac-rolebinding.yaml", tmp_path / "app")
    other = copy_case("kfix/crossfile-rbac-deployment.yaml", tmp_path / "other")
    rc, out, _ = run_kfix(["scan", "--format", "json", "."], cwd=tmp_path)
    token = [f for f in _findings(out) if f["rule"] == "no-service-account-token" and f["file"].startswith("app")]
    assert len(token) == 1 and token[0]["status"] == "report" and token[0]["fix"] == "report-only"
    assert "RoleBinding/leader-election" in token[0]["message"] and "crossfile-rbac-rolebinding.yaml" in token[0]["message"]
    # only the deployment named (as pre-commit passes files): the binding beside it still counts
    rc, _out, err = run_kfix(["apply", "--write", "app/crossfile-rbac-deployment.yaml"], cwd=tmp_path)
    text = deploy.read_text()
    assert "\n      automountServiceAccountToken" not in text
    assert "allowPrivilegeEscalation: false" in text
    # the same workload in another folder is another unit: the binding is not its own
    rc, _out, _ = run_kfix(["apply", "--write", "."], cwd=tmp_path)
    assert "\n      automountServiceAccountToken: false\n" in other.read_text()
    assert "\n      automountServiceAccountToken" not in deploy.read_text()


# --- the diff applies with git ---------------------------------------------------------------------------------
GIT_CASES = [
    "kubernetes+examples/_archived__sysdig-cloud__sysdig-daemonset.yaml",  # CRLF
    "kubernetes+examples/_archived__volumes__azure_disk__static-provisioning__managed-disk__pod-uses-existing-managed-disk.yaml",
    "kfix/bom.yaml",
    "kubernetes+examples/_archived__nodesjs-mongodb__mongo-controller.yaml",  # no final newline
    "stefanprodan+podinfo/deploy__bases__cache__deployment.yaml",  # no final newline
    "FairwindsOps+polaris/test__checks__privilegeEscalationAllowed__failure.pod_unspecified.yaml",  # edit at EOF
    "FairwindsOps+polaris/test__checks__runAsPrivileged__failure.two_cont_one_unspecified.yaml",
    "kfix/doc-end-marker.yaml",
    "kfix/flow-style.yaml",
    "kfix/tabs-in-values.yaml",
    "GoogleCloudPlatform+microservices-demo/release__kubernetes-manifests.yaml",
]


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "core.autocrlf=false",
                           *args], cwd=repo, check=True, capture_output=True, text=True, env=env).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_apply_of_the_diff_gives_what_write_gives(tmp_path: Path) -> None:
    repo, written = tmp_path / "repo", tmp_path / "written"
    for rel in GIT_CASES:
        copy_case(rel, repo / "deploy")
    # line separators inside quoted scalars (str.splitlines would break the diff there)
    odd = (CASES / VOTE).read_text().replace("          name: vote\n", "          name: \"vo\u2028te\u0085x\"\n")
    (repo / "deploy" / "unicode separators.yaml").write_text(odd, encoding="utf-8")
    _vote(repo / "deploy", "d\u00e9ploiement.yaml")
    _git(repo, "init", "-q", ".")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "inputs")
    shutil.copytree(repo, written)

    rc, patch, err = run_kfix(["diff", "deploy"], cwd=repo)
    assert rc == 1 and "Traceback" not in err
    assert patch.count(b"\n+++ ") == len(GIT_CASES) + 2
    (tmp_path / "kfix.patch").write_bytes(patch)
    rc, _out, err = run_kfix(["apply", "--write", "deploy"], cwd=written)
    assert rc == 0, err

    _git(repo, "apply", "--check", str(tmp_path / "kfix.patch"))
    _git(repo, "apply", str(tmp_path / "kfix.patch"))
    for path in (repo / "deploy").iterdir():
        assert path.read_bytes() == (written / "deploy" / path.name).read_bytes(), path.name
    assert _git(repo, "status", "--porcelain").count("\n") == len(GIT_CASES) + 2
