"""Deployment units and Kustomize: cross-file facts count within the unit a resource is deployed with,
gathered from the whole repository whatever files are named; Kustomize patches are never filled with
hardening blocks, their bases are."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import run_kfix
from kfix.api import make_options, plan_paths
from kfix.config import Config, load_config

HERE = Path(__file__).parent
KUSTOMIZE = HERE / "data" / "kustomize-podinfo"

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      {sa}containers:
      - name: app
        image: registry.example.com/{name}@sha256:0123
"""
BINDING = """apiVersion: rbac.authorization.k8s.io/v1
kind: {kind}
metadata:
  name: {name}-binding
  {ns}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}}
subjects:
- kind: ServiceAccount
  name: {sa}
  {subject_ns}
"""
NETPOL = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n  namespace: {ns}\nspec:\n" \
         "  podSelector: {{}}\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _repo(root: Path, git: bool = True) -> Path:
    """Three applications: `api` binds its own service account next to its deployment, `jobs` binds the
    `default` service account, `web` binds nothing (and must not see the others' bindings)."""
    _write(root / "api" / "deploy.yaml", DEPLOY.format(name="api", ns="shop", sa="serviceAccountName: api\n      "))
    _write(root / "api" / "rbac.yaml", BINDING.format(kind="RoleBinding", name="api", ns="namespace: shop",
                                                      sa="api", subject_ns=""))
    _write(root / "api" / "netpol.yaml", NETPOL.format(ns="shop"))
    _write(root / "jobs" / "deploy.yaml", DEPLOY.format(name="jobs", ns="shop", sa=""))
    _write(root / "jobs" / "rbac.yaml", BINDING.format(kind="ClusterRoleBinding", name="jobs", ns="",
                                                       sa="default", subject_ns="namespace: shop"))
    _write(root / "web" / "deploy.yaml", DEPLOY.format(name="web", ns="shop", sa=""))
    if git:
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _decisions(result, name: str) -> set[tuple]:
    # paths in messages as the run spells them ("./api/rbac.yaml" when "." was named)
    return {(r.rule, r.finding.facet, r.status, r.finding.message.replace("./", "")) for p in result.plans
            for r in p.findings
            if os.path.normpath(p.path) == os.path.normpath(name)
            and r.rule in ("no-service-account-token", "network-policy", "resource-quota")}


def _plan(root: Path, args: list[str], config: Config | None = None):
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return plan_paths(args, make_options(config or Config()), jobs=1)
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("git", [True, False], ids=["git", "config-folder"])
def test_decisions_do_not_depend_on_which_files_are_named(tmp_path: Path, git: bool) -> None:
    root = _repo(tmp_path / "repo", git)
    config = None
    if not git:
        (root / ".kfix.yaml").write_text("profile: hardened\n")
        config = load_config(start=root)
    whole = _plan(root, ["."], config)
    for name in ("api/deploy.yaml", "jobs/deploy.yaml", "web/deploy.yaml"):
        alone = _plan(root, [name], config)
        assert _decisions(alone, name) == _decisions(whole, name), name
        assert _decisions(whole, name)
    api = _decisions(whole, "api/deploy.yaml")
    assert any(status == "report" and facet == "bound" for _, facet, status, _m in api)  # keeps its token
    assert not any(rule == "network-policy" for rule, *_ in api)  # its folder has one
    web = _decisions(whole, "web/deploy.yaml")
    assert ("no-service-account-token", "automount", "fix") in {d[:3] for d in web}  # nobody binds web's SA
    assert any(rule == "network-policy" for rule, *_ in web)  # api's policy is not web's
    jobs = _decisions(whole, "jobs/deploy.yaml")
    assert ("no-service-account-token", "default-sa", "report") in {d[:3] for d in jobs}


def test_only_named_files_are_written(tmp_path: Path) -> None:
    root = _repo(tmp_path / "repo")
    before = (root / "web" / "deploy.yaml").read_bytes()
    rc, _out, err = run_kfix(["apply", "--write", "api/deploy.yaml"], cwd=root)
    assert rc in (0, 1) and "Traceback" not in err
    assert (root / "web" / "deploy.yaml").read_bytes() == before
    assert b"automountServiceAccountToken" not in (root / "api" / "deploy.yaml").read_bytes()


def test_rolebinding_binds_only_in_its_namespace(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _write(root / "app" / "deploy.yaml", DEPLOY.format(name="a", ns="other", sa="serviceAccountName: api\n      "))
    _write(root / "app" / "rbac.yaml", BINDING.format(kind="RoleBinding", name="api", ns="namespace: shop",
                                                      sa="api", subject_ns=""))
    got = _decisions(_plan(root, ["."]), "app/deploy.yaml")
    assert ("no-service-account-token", "automount", "fix") in {d[:3] for d in got}


# --- Kustomize ------------------------------------------------------------------------------------------------
@pytest.fixture()
def kustomize_tree(tmp_path: Path) -> Path:
    root = tmp_path / "podinfo"
    shutil.copytree(KUSTOMIZE, root)
    for path in root.rglob("*"):
        if path.is_file():
            path.chmod(0o644)  # a checkout's modes (the copy keeps those of the source tree)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_kustomize_patches_are_not_hardened_their_base_is(kustomize_tree: Path) -> None:
    root = kustomize_tree
    patches = ["overlays/prod/debug-patch.yaml", "overlays/prod/replicas-patch.yaml", "overlays/prod/json-patch.yaml"]
    before = {p: (root / p).read_bytes() for p in patches}
    rc, _out, err = run_kfix(["apply", "--write", "--fail-on", "report", "."], cwd=root)
    assert rc == 1 and "Traceback" not in err, err  # findings for a person remain (--fail-on report)
    for p in patches:
        assert (root / p).read_bytes() == before[p], p
    base = (root / "base" / "deployment.yaml").read_text()
    assert "allowPrivilegeEscalation: false" in base and "runAsNonRoot: true" in base
    # the overlay binds the default service account: the base keeps its token in every build
    assert "automountServiceAccountToken" not in base
    # the report says which patches overlay the hardened base
    assert "note: ./overlays/prod/debug-patch.yaml: Kustomize patch (overlays/prod/kustomization.yaml) over " \
           "base/deployment.yaml" in err, err
    rc, out, _err = run_kfix(["scan", "--format", "json", "."], cwd=root)
    import json

    findings = json.loads(out)["findings"]
    patch = [f for f in findings if f["file"].endswith("debug-patch.yaml")]
    assert [(f["rule"], f["status"]) for f in patch] == [("no-privileged", "unsafe")], patch
    json_patch = [f for f in findings if f["file"].endswith("json-patch.yaml")]
    assert [(f["rule"], f["status"], f["line"]) for f in json_patch] == [("no-privilege-escalation", "report", 6)]
    assert "allowPrivilegeEscalation to true, weakening its base" in json_patch[0]["message"]
    default_sa = [f for f in findings if f["rule"] == "no-service-account-token" and f["file"].endswith("deployment.yaml")]
    assert {f["status"] for f in default_sa} == {"report"} and len(default_sa) == 2, default_sa


def test_kustomize_weakening_patch_is_fixed_only_with_unsafe_fixes(kustomize_tree: Path) -> None:
    root = kustomize_tree
    run_kfix(["apply", "--write", "--unsafe-fixes", "."], cwd=root)
    patch = (root / "overlays/prod/debug-patch.yaml").read_text()
    assert "privileged: false" in patch
    assert "runAsNonRoot" not in patch and "resources" not in patch and "capabilities" not in patch


def test_a_named_base_file_sees_the_overlays_binding(kustomize_tree: Path) -> None:
    whole = _plan(kustomize_tree, ["."])
    alone = _plan(kustomize_tree, ["base/deployment.yaml"])
    assert _decisions(alone, "base/deployment.yaml") == _decisions(whole, "base/deployment.yaml")


def test_weak_values_a_json_patch_can_write() -> None:
    from kfix.rules.weak_values import weakening_fields

    sc = ("spec", "template", "spec", "containers", "0", "securityContext")
    got = weakening_fields(sc, {"privileged": True, "runAsUser": 0, "runAsNonRoot": True, "readOnlyRootFilesystem": 1,
                                "capabilities": {"add": ["NET_ADMIN", "NET_BIND_SERVICE"]},
                                "seccompProfile": {"type": "Unconfined"}})
    assert [(p[-1], field) for p, field, _ in got] == [("privileged", "privileged"), ("runAsUser", "runAsUser"),
                                                      ("0", "capabilities.add"), ("type", "seccompProfile")]
    assert weakening_fields(("spec", "hostNetwork"), 1) == [] and weakening_fields(("x", "runAsUser"), False) == []
    assert weakening_fields(sc + ("capabilities", "add", "-"), "SYS_ADMIN")


# --- a kustomization's namespace: the namespace its build deploys everything to ---------------------------------
def _overlays(root: Path, prod_ns: str = "namespace: prod\n", subject: str = "app", subject_ns: str = "") -> Path:
    """A base deployment that states `namespace: dev` and uses service account `app`; overlays/prod binds a service
    account (in a RoleBinding stating `namespace: default`) and has a NetworkPolicy stating no namespace;
    overlays/staging deploys the same base with nothing else."""
    _write(root / "base" / "deploy.yaml", DEPLOY.format(name="app", ns="dev", sa="serviceAccountName: app\n      "))
    _write(root / "base" / "kustomization.yaml", "resources:\n- deploy.yaml\n")
    _write(root / "overlays" / "prod" / "kustomization.yaml",
           prod_ns + "resources:\n- ../../base\n- rbac.yaml\n- netpol.yaml\n")
    _write(root / "overlays" / "prod" / "rbac.yaml", BINDING.format(kind="RoleBinding", name="app", ns="namespace: default",
                                                                    sa=subject, subject_ns=subject_ns))
    _write(root / "overlays" / "prod" / "netpol.yaml",
           "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\nspec:\n  podSelector: {}\n")
    _write(root / "overlays" / "staging" / "kustomization.yaml", "namespace: staging\nresources:\n- ../../base\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_kustomize_namespace_applies_to_bindings_and_policies(tmp_path: Path) -> None:
    root = _overlays(tmp_path / "repo")
    got = _decisions(_plan(root, ["base/deploy.yaml"]), "base/deploy.yaml")
    assert got == _decisions(_plan(root, ["."]), "base/deploy.yaml")
    # prod binds `app` in prod (the RoleBinding's `namespace: default` is replaced by the build's): the token stays
    assert {d[:3] for d in got if d[0] == "no-service-account-token"} == {("no-service-account-token", "bound", "report")}
    # prod's NetworkPolicy is prod's; staging has none, and neither has a ResourceQuota
    messages = sorted(m for rule, _f, _s, m in got if rule in ("network-policy", "resource-quota"))
    assert messages == [
        "namespace prod (set by its Kustomize build) has no ResourceQuota in its Kustomize build overlays/prod/, "
        "overlays/staging/",
        "namespace staging (set by its Kustomize build) has no NetworkPolicy in its Kustomize build overlays/prod/, "
        "overlays/staging/",
        "namespace staging (set by its Kustomize build) has no ResourceQuota in its Kustomize build overlays/prod/, "
        "overlays/staging/"], messages


def test_kustomize_namespace_leaves_a_subject_that_names_its_namespace(tmp_path: Path) -> None:
    """Kustomize sets the build's namespace on a binding's subjects named `default` only: a subject naming
    `namespace: dev` binds `app` in dev, where no build deploys the pod, so its token is not needed."""
    root = _overlays(tmp_path / "repo", subject_ns="namespace: dev")
    got = _decisions(_plan(root, ["."]), "base/deploy.yaml")
    assert ("no-service-account-token", "automount", "fix") in {d[:3] for d in got}


def test_kustomize_namespace_moves_default_subjects(tmp_path: Path) -> None:
    root = _overlays(tmp_path / "repo", subject="default", subject_ns="namespace: dev")
    (root / "base" / "deploy.yaml").write_text(DEPLOY.format(name="app", ns="dev", sa=""))
    got = {d[:3] for d in _decisions(_plan(root, ["."]), "base/deploy.yaml")}
    assert {("no-service-account-token", "bound", "report"), ("no-service-account-token", "default-sa", "report")} <= got


def test_without_a_kustomization_namespace_the_stated_ones_count(tmp_path: Path) -> None:
    root = _overlays(tmp_path / "repo", prod_ns="")
    (root / "overlays" / "staging" / "kustomization.yaml").write_text("resources:\n- ../../base\n")
    got = _decisions(_plan(root, ["."]), "base/deploy.yaml")
    # the binding states `default`, the pod `dev`: no match; the policy states none (it counts for no namespace)
    assert ("no-service-account-token", "automount", "fix") in {d[:3] for d in got}
    assert any(rule == "network-policy" and "namespace dev has" in m for rule, _f, _s, m in got), got


@pytest.mark.parametrize("style", ["strategic-merge", "json6902"])
def test_a_service_account_a_patch_sets_is_carried_to_the_base(kustomize_tree: Path, style: str) -> None:
    """The prod overlay binds `podinfo` and gives the base Deployment that service account by a patch: the base
    keeps its token (in prod it needs it), and the report names the patch."""
    root = kustomize_tree
    rbac = root / "overlays/prod/rbac.yaml"
    rbac.write_text(rbac.read_text().replace("name: default", "name: podinfo"))
    kustomization = root / "overlays/prod/kustomization.yaml"
    if style == "strategic-merge":
        _write(root / "overlays/prod/sa-patch.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\n"
                                                    "spec:\n  template:\n    spec:\n      serviceAccountName: podinfo\n")
        kustomization.write_text(kustomization.read_text().replace("  - debug-patch.yaml\n",
                                                                   "  - debug-patch.yaml\n  - sa-patch.yaml\n"))
        where = "overlays/prod/sa-patch.yaml:1"
    else:
        _write(root / "overlays/prod/sa-patch.yaml",
               "- op: add\n  path: /spec/template/spec/serviceAccountName\n  value: podinfo\n")
        kustomization.write_text(kustomization.read_text() + "  - target:\n      kind: Deployment\n      name: podinfo\n"
                                                             "    path: sa-patch.yaml\n")
        where = "overlays/prod/sa-patch.yaml:1"
    whole = _decisions(_plan(root, ["."]), "base/deployment.yaml")
    assert _decisions(_plan(root, ["base/deployment.yaml"]), "base/deployment.yaml") == whole
    token = [d for d in whole if d[0] == "no-service-account-token"]
    assert [d[1:3] for d in token] == [("bound", "report")], token
    assert f"service account podinfo (set by the patch {where}) is bound to a role (overlays/prod/rbac.yaml:1 " \
           "RoleBinding/podinfo-leader-election -> Role/leader-election)" in token[0][3], token
    # without the patch the base's own (default) service account is not bound: its token goes
    (root / "overlays/prod/sa-patch.yaml").unlink()
    kustomization.write_text(kustomization.read_text().replace("  - sa-patch.yaml\n", ""))
    if style == "json6902":
        kustomization.write_text(kustomization.read_text().rsplit("  - target:\n      kind: Deployment\n", 1)[0])
    alone = _decisions(_plan(root, ["."]), "base/deployment.yaml")
    assert ("no-service-account-token", "automount", "fix") in {d[:3] for d in alone}, alone
