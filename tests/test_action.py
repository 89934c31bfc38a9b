"""The composite GitHub Action (action.yml), run here as the runner would run it: its expressions are
evaluated (the small subset it uses), its shell steps run in order with bash in a real git repository
(kfix installed from this checkout into a fresh virtualenv, exactly as the action does), and the
upload step is checked against the SARIF file the scan step produced. The Dockerfile is checked as text
(no image is built here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import CASES, REPO

VOTE = "dockersamples+example-voting-app/k8s-specifications__vote-deployment.yaml"
ACTION = REPO / "action.yml"
pytestmark = [pytest.mark.skipif(not ACTION.exists(), reason="needs the source tree"),
              pytest.mark.skipif(shutil.which("git") is None or shutil.which("bash") is None,
                                 reason="needs git and bash")]


def _action() -> dict:
    return yaml.safe_load(ACTION.read_text())


class Runner:
    """Just enough of a GitHub Actions runner for this composite action."""

    def __init__(self, workspace: Path, temp: Path, inputs: dict[str, str], default_branch: str = "main",
                 installed: Path | None = None):
        action = _action()
        self.inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
        self.inputs["token"] = "test-token"
        self.inputs.update(inputs)
        self.workspace, self.temp, self.default_branch = workspace, temp, default_branch
        self.steps: dict[str, dict[str, str]] = {}
        self.path_file, self.extra_path = temp / "github_path", []
        self.uploads: list[dict] = []
        self.installed = installed  # a virtualenv the install step already made: that step is not run again
        if installed is not None:
            self.extra_path = [str(installed / "bin")]

    def value(self, expr: str) -> str:
        expr = expr.strip()
        if "||" in expr:
            return next((v for v in (self.value(e) for e in expr.split("||")) if v), "")
        if expr.startswith("'") and expr.endswith("'"):
            return expr[1:-1]
        if expr.startswith("inputs."):
            return self.inputs[expr[len("inputs."):]]
        if expr.startswith("steps."):
            _steps, step, _outputs, name = expr.split(".", 3)
            return self.steps.get(step, {}).get(name, "")
        return {"github.action_path": str(REPO), "runner.temp": str(self.temp), "github.token": "test-token",
                "github.event.repository.default_branch": self.default_branch}[expr]

    def substitute(self, text: str) -> str:
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: self.value(m[1]), str(text))

    def condition(self, expr: str | None) -> bool:
        if expr is None:
            return True
        terms = []
        for clause in expr.split("&&"):
            m = re.fullmatch(r"\s*(\S+)\s*(==|!=)\s*(\S+)\s*", clause)
            assert m, f"unsupported condition {clause!r}"
            left, right = self.value(m[1]), self.value(m[3])
            terms.append((left == right) == (m[2] == "=="))
        return all(terms)

    def run(self, only: str | None = None) -> list[tuple[str, int]]:
        """Run every step (or the one named ``only``); returns (step name, exit code) for the shell steps run."""
        ran = []
        github_output = self.temp / "github_output"
        for step in _action()["runs"]["steps"]:
            if not self.condition(step.get("if")) or (only is not None and step.get("name") != only):
                continue
            if "uses" in step:
                self.uses(step)
                continue
            if self.installed is not None and step["name"] == "Install kfix":
                continue
            env = {k: v for k, v in os.environ.items() if not k.startswith(("KFIX_", "NO_COLOR", "FORCE_COLOR"))}
            env.pop("PYTHONPATH", None)
            env.update({k: self.substitute(v) for k, v in step.get("env", {}).items()})
            env["PATH"] = os.pathsep.join(self.extra_path + [os.path.dirname(sys.executable), env["PATH"]])
            github_output.write_text("")
            env.update(GITHUB_OUTPUT=str(github_output), GITHUB_PATH=str(self.path_file), RUNNER_TEMP=str(self.temp),
                       GITHUB_WORKSPACE=str(self.workspace), GITHUB_ACTIONS="true")
            assert step["shell"] == "bash"
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],
                                  cwd=self.workspace, env=env, capture_output=True, text=True, timeout=900)
            self.log = getattr(self, "log", "") + proc.stdout + proc.stderr
            outputs = dict(line.split("=", 1) for line in github_output.read_text().splitlines() if "=" in line)
            if "id" in step:
                self.steps[step["id"]] = outputs
            if self.path_file.exists():
                self.extra_path = self.path_file.read_text().split()
            ran.append((step["name"], proc.returncode))
            if proc.returncode != 0:
                break
        return ran

    def uses(self, step: dict) -> None:
        name = step["uses"].split("@")[0]
        if name == "actions/setup-python":
            return  # this test's Python stands in for it (python3 on PATH)
        assert name == "github/codeql-action/upload-sarif", name
        self.uploads.append({k: self.substitute(v) for k, v in step["with"].items()})


@pytest.fixture(scope="module")
def kfix_venv(tmp_path_factory) -> Path:
    """The action's install step, run once for the module: kfix from this checkout into a fresh virtualenv."""
    temp = tmp_path_factory.mktemp("runner-temp")
    workspace = tmp_path_factory.mktemp("workspace")
    runner = Runner(workspace, temp, {})
    action = _action()
    install = [s for s in action["runs"]["steps"] if s.get("name") == "Install kfix"]
    assert len(install) == 1
    ran = runner.run(only="Install kfix")
    assert ran == [("Install kfix", 0)], runner.log
    venv = temp / "kfix-venv"
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", "import kfix, sys; print(kfix.__file__)"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith(str(venv)), "kfix is installed in the action's own venv"
    assert (temp / "github_path").read_text().split() == [str(venv / "bin")]
    return venv


@pytest.fixture
def workspace(tmp_path: Path, isolated_git) -> Path:
    repo = tmp_path / "repo"
    (repo / "deploy" / "vendor").mkdir(parents=True)
    shutil.copyfile(CASES / VOTE, repo / "deploy" / "vote.yaml")
    shutil.copyfile(CASES / VOTE, repo / "deploy" / "vendor" / "upstream.yaml")
    (repo / ".kfix.yaml").write_text("ignore: [image-digest]\n")
    for args in (["init", "-q", "."], ["add", "-A"], ["commit", "-q", "-m", "manifests"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


def test_action_declares_a_composite_action() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    uses = [s["uses"] for s in action["runs"]["steps"] if "uses" in s]
    assert "github/codeql-action/upload-sarif@v3" in uses
    for step in action["runs"]["steps"]:
        if "run" in step:  # expressions only in env: no inputs spliced into shell code
            assert "${{" not in step["run"], step["name"]
    assert {"mode", "paths", "args", "version", "sarif-file", "upload", "token"} <= set(action["inputs"])


def test_action_scans_and_uploads_sarif(workspace: Path, tmp_path: Path, kfix_venv: Path) -> None:
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    runner = Runner(workspace, temp, {"paths": "deploy", "args": "--exclude vendor"}, installed=kfix_venv)
    ran = runner.run()
    assert [name for name, _ in ran] == ["kfix scan"], runner.log
    assert all(code == 0 for _, code in ran), runner.log
    assert runner.steps["scan"] == {"sarif-file": "kfix.sarif", "exit-code": "1"}
    (upload,) = runner.uploads
    assert upload == {"sarif_file": "kfix.sarif", "category": "kfix"}
    doc = json.loads((workspace / "kfix.sarif").read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]}
    assert uris == {"deploy/vote.yaml"}, "relative to the repository root; --exclude passed through"
    assert "image-digest" not in {r["ruleId"] for r in doc["runs"][0]["results"]}, "the repository's .kfix.yaml"

    runner = Runner(workspace, temp, {"paths": "deploy", "fail-on-findings": "true", "upload": "false"},
                    installed=kfix_venv)
    ran = runner.run()
    assert ran[-1] == ("kfix scan", 1) and "::error::kfix reported findings" in runner.log
    assert runner.uploads == []


def test_action_fails_on_bad_input_and_on_an_unknown_mode(workspace: Path, tmp_path: Path, kfix_venv: Path) -> None:
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    (workspace / "deploy" / "broken.yaml").write_text("a: [\n")
    runner = Runner(workspace, temp, {"paths": "deploy"}, installed=kfix_venv)
    ran = runner.run()
    assert ran[-1] == ("kfix scan", 2), runner.log
    assert "broken.yaml:" in runner.log and runner.steps["scan"]["exit-code"] == "2"
    runner = Runner(workspace, temp, {"mode": "fix-everything"}, installed=kfix_venv)
    ran = runner.run()
    assert ran[-1] == ("Unknown mode", 2) and "mode must be scan or pr" in runner.log


def test_action_pr_mode_dry_run(workspace: Path, tmp_path: Path, kfix_venv: Path) -> None:
    """mode pr hands its inputs to ``kfix pr`` (here with --dry-run against a real bare remote)."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(workspace), str(remote)], check=True, capture_output=True)
    subprocess.run(["git", "remote", "add", "origin", str(remote)], cwd=workspace, check=True)
    subprocess.run(["git", "fetch", "-q", "origin"], cwd=workspace, check=True)
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    runner = Runner(workspace, temp, {"mode": "pr", "paths": "deploy", "branch": "kfix/weekly", "token": "",
                                      "args": "--dry-run --repo-slug acme/shop --exclude vendor"},
                    installed=kfix_venv)
    ran = runner.run()
    assert [name for name, _ in ran] == ["kfix pr"], runner.log
    assert ran[-1][1] == 1, runner.log  # --dry-run: a real run would open a request
    assert runner.steps["pr"] == {"exit-code": "1"}
    assert "kfix/weekly" in runner.log and "deploy/vote.yaml" in runner.log
    assert "deploy/vendor/upstream.yaml" not in runner.log


def test_dockerfile_is_small_pinned_and_non_root() -> None:
    text = (REPO / "Dockerfile").read_text()
    bases = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert len(bases) == 1
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", bases[0]), bases[0]
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    assert froms and all(f == "${PYTHON_IMAGE}" for f in froms)
    assert re.search(r"^USER 10001:10001$", text, re.M), "runs as a non-root user"
    assert text.index("USER 10001") > text.rindex("FROM "), "the non-root user is set in the final image"
    assert 'ENTRYPOINT ["kfix"]' in text and "--no-install-recommends" in text and "rm -rf /var/lib/apt/lists" in text
    copied = re.findall(r"^COPY (?!--from)(.+) \./?\S*$", text, re.M)
    for line in copied:  # everything the image copies from the checkout exists
        for name in line.split():
            assert (REPO / name).exists(), name
