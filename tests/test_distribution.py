"""How people get kfix: the wheel's metadata (a name of its own on the package index, licence, classifiers,
URLs, dependencies), the documents shipped with it, and the pre-commit hooks run for real through
``pre-commit try-repo`` on a git repository in a temporary folder."""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import kfix
from conftest import CASES, REPO, kfix_env, run_kfix

DIST = "kfix-harden"  # "kfix" on the package index is an unrelated project
VOTE = "dockersamples+example-voting-app/k8s-specifications__vote-deployment.yaml"
PY_CASE = REPO / "tests" / "python_golden" / "cases" / "k8s-client" / "kubernetes-client+python" / "examples" / \
    "rollout-statefulset.py"
source_tree = pytest.mark.skipif(not (REPO / "pyproject.toml").exists(), reason="needs the source tree")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(REPO), "-w", str(out)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {proc.stderr[-300:]}")
    (path,) = out.glob("kfix_harden-*.whl")
    return zipfile.ZipFile(path)


def _metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.message_from_bytes(wheel.read(name))


@source_tree
def test_wheel_metadata(wheel) -> None:
    meta = _metadata(wheel)
    assert meta["Name"] == DIST and meta["Version"] == kfix.__version__
    assert meta["Requires-Python"] == ">=3.10"
    requires = meta.get_all("Requires-Dist")
    assert any(re.fullmatch(r'tomli>=[\d.]+; python_version < "3.11"', r) for r in requires), requires
    assert any(r.startswith("pathspec") for r in requires)
    assert not any(r.startswith("tomli") and "extra" in r for r in requires), "tomli is a plain dependency on 3.10"
    classifiers = meta.get_all("Classifier")
    assert "License :: OSI Approved :: Apache Software License" in classifiers
    assert "Programming Language :: Python :: 3.10" in classifiers and "Topic :: Security" in classifiers
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Repository", "Issues", "Changelog"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())
    licence = [n for n in wheel.namelist() if ".dist-info/" in n and n.rsplit("/", 1)[1] == "LICENSE"]
    assert licence and wheel.read(licence[0]) == (REPO / "LICENSE").read_bytes()
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "kfix = kfix.cli:main" in wheel.read(entry_points).decode(), "the command stays 'kfix'"
    assert "kfix/rules/docs.py" in wheel.namelist() and "kfix/gitignore.py" in wheel.namelist()


@source_tree
def test_licence_is_the_apache_2_text() -> None:
    text = (REPO / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License\n") and "Version 2.0, January 2004" in text
    for n, heading in enumerate(["Definitions", "Grant of Copyright License", "Grant of Patent License",
                                 "Redistribution", "Submission of Contributions", "Trademarks",
                                 "Disclaimer of Warranty", "Limitation of Liability",
                                 "Accepting Warranty or Additional Liability"], start=1):
        assert f"{n}. {heading}." in text, heading
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply the Apache License" in text
    assert 'license = { text = "Apache-2.0" }' in (REPO / "pyproject.toml").read_text()


@source_tree
def test_changelog_names_this_version() -> None:
    text = (REPO / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[?{re.escape(kfix.__version__)}\]?", text, re.M), "a section for the current version"


def install_targets(text: str) -> list[str]:
    """What each ``pip install`` in a text installs (its arguments that are not options)."""
    out = []
    for match in re.finditer(r"pip3?\"? install ([^\n`]*)", text):
        for token in re.split(r"\s+", match[1].split("&&")[0].split(" #")[0].strip()):
            if token and not token.startswith("-") and token != "\\":  # options, line continuations
                out.append(token.strip("'\""))
    return out


@source_tree
def test_every_install_line_installs_kfix_harden() -> None:
    """No document tells anyone to ``pip install kfix`` (another project) or ``kfix[helm]``."""
    docs = [REPO / "README.md", REPO / "CHANGELOG.md", REPO / ".pre-commit-hooks.yaml"]
    docs += [p for p in (REPO / "action.yml", REPO / "Dockerfile") if p.exists()]
    targets = [(doc.name, what) for doc in docs for what in install_targets(doc.read_text())]
    assert len(targets) >= 4
    for doc, what in targets:
        assert what.startswith((DIST, ".", "/", "$", "${")), (doc, what)
    readme = (REPO / "README.md").read_text()
    assert f"pip install {DIST}" in readme and f"pip install '{DIST}[helm]'" in readme
    assert install_targets("x && pip install -q 'kfix[helm]' && y") == ["kfix[helm]"], "the check has teeth"


# --- pre-commit -------------------------------------------------------------------------------------------------
def _pre_commit(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = kfix_env({"PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"})
    env.pop("PYTHONSAFEPATH", None)
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@source_tree
def test_hooks_manifest_is_valid(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    proc = _pre_commit("validate-manifest", str(REPO / ".pre-commit-hooks.yaml"), cwd=tmp_path, home=tmp_path / "pc")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"kfix-check", "kfix-fix", "kfix-check-python", "kfix-fix-python"}
    for name, hook in hooks.items():
        assert hook["entry"] == ("kfix apply --check" if "check" in name else "kfix apply --write")
        assert hook["types"] == (["python"] if name.endswith("-python") else ["yaml"])
        assert hook["language"] == "python" and hook["require_serial"] is True


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    """One pre-commit cache for the module: kfix's hook environment is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@source_tree
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_pre_commit_try_repo(tmp_path: Path, isolated_git, pre_commit_home: Path) -> None:
    """From a clone of kfix: the check hook fails on an unhardened manifest and passes once
    ``kfix apply --write --unsafe-fixes`` has fixed it; the fix hook rewrites the files itself."""
    pytest.importorskip("pre_commit")
    if not (REPO / ".git").exists():
        pytest.skip("the source tree is not a git checkout")
    project = tmp_path / "project"
    (project / "deploy").mkdir(parents=True)
    shutil.copyfile(CASES / VOTE, project / "deploy" / "vote.yaml")
    shutil.copyfile(CASES / VOTE, project / "deploy" / "other.yaml")
    shutil.copyfile(REPO / "samples" / "already-hardened.yaml", project / "deploy" / "hardened.yaml")
    (project / "ci.yml").write_text("steps: [build, test]\n")
    _git(project, "init", "-q", ".")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "manifests")

    proc = _pre_commit("try-repo", str(REPO), "kfix-check", "--all-files", cwd=project, home=pre_commit_home)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "would change: deploy/vote.yaml" in out and "would change: deploy/other.yaml" in out
    assert "would change: deploy/hardened.yaml" not in out

    for name in ("vote.yaml", "other.yaml"):
        rc, _out, err = run_kfix(["apply", "--write", "--unsafe-fixes", f"deploy/{name}"], cwd=project)
        assert rc == 0, err
    proc = _pre_commit("try-repo", str(REPO), "kfix-check", "--all-files", cwd=project, home=pre_commit_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@source_tree
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_pre_commit_fix_hook(tmp_path: Path, isolated_git, pre_commit_home: Path) -> None:
    """The fix hook from a .pre-commit-config.yaml naming this repository at its commit: it writes the safe
    fixes (the run fails because files changed), then passes; files git ignores are not passed to it."""
    pytest.importorskip("pre_commit")
    if not (REPO / ".git").exists():
        pytest.skip("the source tree is not a git checkout")
    rev = _git(REPO, "rev-parse", "HEAD").strip()
    if _git(REPO, "status", "--porcelain", "--untracked-files=no", "--", ".pre-commit-hooks.yaml", "pyproject.toml",
            "fixer", "transforms").strip():
        pytest.skip("uncommitted changes in kfix: pre-commit would install the committed kfix")
    project = tmp_path / "project"
    (project / "deploy").mkdir(parents=True)
    shutil.copyfile(CASES / VOTE, project / "deploy" / "vote.yaml")
    shutil.copyfile(PY_CASE, project / "deploy" / "rollout.py")
    (project / "deploy" / "tool.py").write_text("print('no pods here')\n")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {REPO}\n    rev: {rev}\n    hooks:\n      - id: kfix-fix\n"
        "      - id: kfix-fix-python\n      - id: kfix-check-python\n")
    _git(project, "init", "-q", ".")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "manifests")
    before = {name: (project / "deploy" / name).read_bytes() for name in ("vote.yaml", "rollout.py", "tool.py")}
    proc = _pre_commit("run", "--all-files", cwd=project, home=pre_commit_home)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.count("files were modified by this hook") == 2, proc.stdout
    after = {name: (project / "deploy" / name).read_bytes() for name in before}
    assert after["vote.yaml"] != before["vote.yaml"] and b"runAsNonRoot: true" in after["vote.yaml"]
    assert after["rollout.py"] != before["rollout.py"] and b"run_as_non_root=True" in after["rollout.py"]
    assert after["tool.py"] == before["tool.py"]
    rc, out, _err = run_kfix(["apply", "deploy/vote.yaml", "deploy/rollout.py"], cwd=project)
    assert (rc, out) == (0, b""), "the hooks wrote exactly what kfix apply --write writes"
    proc = _pre_commit("run", "--all-files", cwd=project, home=pre_commit_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
