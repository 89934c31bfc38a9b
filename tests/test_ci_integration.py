"""kfix in CI and editors: --check semantics and --fail-on, configuration found from the targets, SARIF
relative to the repository root, .gitignore, colour conventions, rule explanations, shell completion and a
light ``--version``. End to end: the real ``kfix`` in real git repositories in temporary folders."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

from conftest import CASES, REPO, age, copy_case, kfix_env, run_kfix, snapshot

VOTE = "dockersamples+example-voting-app/k8s-specifications__vote-deployment.yaml"
HARDENED = REPO / "samples" / "already-hardened.yaml"
ESC = "\x1b["

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(root: Path, files: dict[str, str | Path]) -> Path:
    """A git repository with ``files`` (text, or a golden case to copy) committed on main."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", ".")
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_text(content)
        age(target)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "manifests")
    return root


@pytest.fixture(autouse=True)
def _git_identity(isolated_git):
    """Every test here runs git with a known identity and no user configuration."""


# --- --check means "a file would change" ---------------------------------------------------------------------
def test_check_passes_on_the_hardened_sample_and_scan_still_reports(tmp_path: Path) -> None:
    sample = tmp_path / "already-hardened.yaml"
    shutil.copyfile(HARDENED, sample)
    before = snapshot(sample)
    rc, out, err = run_kfix(["apply", "--check", "already-hardened.yaml"], cwd=tmp_path)
    assert (rc, out) == (0, b""), err
    assert "0 files would change" in err and "2 findings to fix by hand" in err
    # the report-only findings (no NetworkPolicy, no ResourceQuota) fail scan, and apply with --fail-on report
    rc, out, _err = run_kfix(["scan", "already-hardened.yaml"], cwd=tmp_path)
    assert rc == 1 and b"network-policy [report only]" in out and b"resource-quota [report only]" in out
    rc, _out, err = run_kfix(["apply", "--check", "--fail-on", "report", "already-hardened.yaml"], cwd=tmp_path)
    assert rc == 1, err
    rc, _out, err = run_kfix(["apply", "--check", "--fail-on", "unsafe", "already-hardened.yaml"], cwd=tmp_path)
    assert rc == 0, "no unsafe fix is held back"
    assert snapshot(sample) == before


def test_check_fails_only_when_a_file_would_change(tmp_path: Path) -> None:
    vote = copy_case(VOTE, tmp_path, "vote.yaml")
    rc, out, err = run_kfix(["apply", "--check", "vote.yaml"], cwd=tmp_path)
    assert (rc, out) == (1, b"") and "would change: vote.yaml" in err
    rc, _out, err = run_kfix(["apply", "--write", "vote.yaml"], cwd=tmp_path)
    assert rc == 0 and "1 unsafe fix not applied" in err
    rc, _out, err = run_kfix(["apply", "--check", "vote.yaml"], cwd=tmp_path)
    assert rc == 0, err
    rc, _out, err = run_kfix(["apply", "--check", "--fail-on", "unsafe", "vote.yaml"], cwd=tmp_path)
    assert rc == 1, "the read-only root filesystem fix is unsafe here and was held back"
    rc, _out, err = run_kfix(["apply", "--write", "--unsafe-fixes", "vote.yaml"], cwd=tmp_path)
    assert rc == 0, err
    rc, _out, err = run_kfix(["apply", "--check", "--fail-on", "unsafe", "vote.yaml"], cwd=tmp_path)
    assert rc == 0, err
    rc, _out, err = run_kfix(["apply", "--check", "--fail-on", "report", "vote.yaml"], cwd=tmp_path)
    assert rc == 1, "image digest, NetworkPolicy and ResourceQuota remain for a person"
    assert "readOnlyRootFilesystem: true" in vote.read_text()


def test_fail_on_takes_only_its_values(tmp_path: Path) -> None:
    copy_case(VOTE, tmp_path, "vote.yaml")
    rc, _out, err = run_kfix(["apply", "--check", "--fail-on", "everything", "vote.yaml"], cwd=tmp_path)
    assert rc == 2 and "Traceback" not in err


# --- configuration found upward from each target --------------------------------------------------------------
def test_repository_configuration_applies_from_another_folder(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {".kfix.yaml": "run-as-user: 23456\nignore: [resources]\n",
                                         "deploy/vote.yaml": CASES / VOTE})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for target in (str(repo / "deploy"), str(repo / "deploy" / "vote.yaml"), "../repo/deploy"):
        rc, out, err = run_kfix(["apply", target], cwd=elsewhere)
        assert rc == 1, err
        assert b"runAsUser: 23456" in out and b"resources:" not in out, target


def test_each_target_gets_its_own_configuration(tmp_path: Path) -> None:
    one = make_repo(tmp_path / "one", {".kfix.yaml": "run-as-user: 11111\n", "k8s/vote.yaml": CASES / VOTE})
    two = make_repo(tmp_path / "two", {"pyproject.toml": "[tool.kfix]\nrun-as-user = 22222\nprofile = \"restricted\"\n",
                                       "k8s/vote.yaml": CASES / VOTE})
    plain = tmp_path / "plain"
    copy_case(VOTE, plain, "vote.yaml")
    rc, _out, err = run_kfix(["apply", "--write", str(one / "k8s"), str(two / "k8s"), str(plain)], cwd=tmp_path)
    assert rc == 0, err
    first, second, third = ((p / "vote.yaml").read_text() for p in (one / "k8s", two / "k8s", plain))
    assert "runAsUser: 11111" in first and "resources:" in first
    assert "runAsUser: 22222" in second and "resources:" not in second, "the restricted profile has no resources rule"
    assert "runAsUser: 10001" in third, "no configuration: the defaults"
    # --config wins for every target
    (tmp_path / "all.yaml").write_text("run-as-user: 33333\n")
    rc, out, err = run_kfix(["diff", "--config", "all.yaml", str(plain / "vote.yaml"), str(one / "k8s")],
                            cwd=tmp_path)
    assert rc == 0 and out == b"", "already written"
    copy_case(VOTE, tmp_path / "fresh", "vote.yaml")
    rc, out, err = run_kfix(["diff", "--config", "all.yaml", "fresh"], cwd=tmp_path)
    assert rc == 1 and b"runAsUser: 33333" in out, err


def test_an_invalid_configuration_of_one_target_is_a_usage_error(tmp_path: Path) -> None:
    good = make_repo(tmp_path / "good", {"vote.yaml": CASES / VOTE})
    bad = make_repo(tmp_path / "bad", {".kfix.yaml": "profile: paranoid\n", "vote.yaml": CASES / VOTE})
    before = snapshot(good / "vote.yaml")
    rc, out, err = run_kfix(["apply", "--write", str(good), str(bad)], cwd=tmp_path)
    assert rc == 2 and out == b"" and "Traceback" not in err
    assert str(bad / ".kfix.yaml") in err and "profile" in err
    assert snapshot(good / "vote.yaml") == before, "nothing is written when the configuration is wrong"


# --- SARIF relative to the repository root --------------------------------------------------------------------
def _sarif_validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _uris(doc: dict) -> set[str]:
    return {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]}


def test_sarif_from_a_subfolder_names_files_from_the_repository_root(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"services/shop/deploy/vote.yaml": CASES / VOTE,
                                         "services/shop/deploy/second copy.yaml": CASES / VOTE})
    validator = _sarif_validator()
    sub = repo / "services" / "shop"
    outside = tmp_path / "outside"
    outside.mkdir()
    for cwd, target in ((sub, "deploy"), (sub / "deploy", "."), (outside, str(sub / "deploy")), (repo, "services")):
        rc, out, err = run_kfix(["scan", "--format", "sarif", target], cwd=cwd)
        assert rc == 1, err
        doc = json.loads(out)
        errors = list(validator.iter_errors(doc))
        assert not errors, errors[0].message
        run = doc["runs"][0]
        assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": repo.resolve().as_uri() + "/"}}
        assert _uris(doc) == {"services/shop/deploy/vote.yaml", "services/shop/deploy/second%20copy.yaml"}, \
            (cwd, target)
        for result in run["results"]:
            location = result["locations"][0]["physicalLocation"]["artifactLocation"]
            assert location["uriBaseId"] == "%SRCROOT%"
            assert (repo / unquote(location["uri"])).is_file()


def test_sarif_outside_a_repository_is_relative_to_the_working_directory(tmp_path: Path) -> None:
    copy_case(VOTE, tmp_path / "k8s", "vote.yaml")
    rc, out, err = run_kfix(["scan", "--format", "sarif", "k8s"], cwd=tmp_path)
    doc = json.loads(out)
    assert _uris(doc) == {"k8s/vote.yaml"}
    assert doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"


def test_exempt_findings_are_suppressions(tmp_path: Path) -> None:
    text = (CASES / VOTE).read_text().replace("metadata:\n", "metadata:\n  annotations:\n"
                                              "    kfix.dev/ignore: \"resources,image-digest\"\n", 1)
    repo = make_repo(tmp_path / "repo", {"vote.yaml": text})
    rc, out, err = run_kfix(["scan", "--format", "sarif", "."], cwd=repo)
    results = json.loads(out)["runs"][0]["results"]
    suppressed = {r["ruleId"] for r in results if r.get("suppressions")}
    assert suppressed == {"resources", "image-digest"}
    open_ = {r["ruleId"] for r in results if not r.get("suppressions")}
    assert "run-as-non-root" in open_ and not suppressed & open_
    assert not list(_sarif_validator().iter_errors(json.loads(out)))


# --- .gitignore ----------------------------------------------------------------------------------------------
def test_gitignored_files_are_not_read_unless_no_ignore(tmp_path: Path) -> None:
    vote = (CASES / VOTE).read_text()
    repo = make_repo(tmp_path / "repo", {
        ".gitignore": "build/\n*.generated.yaml\n!keep.generated.yaml\n",
        "deploy/app.yaml": vote,
        "deploy/.gitignore": "local-*.yaml\n",
        "README.md": "docs\n",
    })
    for rel in ("build/out.yaml", "deploy/x.generated.yaml", "deploy/keep.generated.yaml", "deploy/local-dev.yaml",
                "deploy/excluded.yaml", "deploy/nested/build/deep.yaml"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(vote)
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("excluded.yaml\n")

    def files(*args: str, cwd: Path = repo) -> set[str]:
        rc, out, err = run_kfix(["scan", "--format", "json", *args], cwd=cwd)
        assert rc == 1, err
        return {f["file"] for f in json.loads(out)["findings"]}

    kept = {"deploy/app.yaml", "deploy/keep.generated.yaml"}
    assert files(".") == kept
    assert files("deploy", cwd=repo) == kept
    assert files(".", cwd=repo / "deploy") == {"app.yaml", "keep.generated.yaml"}, "rules of the folders above"
    everything = kept | {"build/out.yaml", "deploy/x.generated.yaml", "deploy/local-dev.yaml", "deploy/excluded.yaml",
                         "deploy/nested/build/deep.yaml"}
    assert files("--no-ignore", ".") == everything
    # a file named on the command line is read whatever git thinks of it
    assert files("build/out.yaml") == {"build/out.yaml"}
    # --write leaves ignored files alone
    before = snapshot(repo / "build" / "out.yaml")
    rc, _out, err = run_kfix(["apply", "--write", "."], cwd=repo)
    assert rc == 0, err
    assert snapshot(repo / "build" / "out.yaml") == before
    assert "runAsNonRoot: true" in (repo / "deploy" / "app.yaml").read_text()


def test_gitignore_outside_a_repository_is_not_used(tmp_path: Path) -> None:
    """Like git (and ripgrep), ignore files count only inside a git work tree."""
    (tmp_path / ".gitignore").write_text("*.yaml\n")
    copy_case(VOTE, tmp_path, "vote.yaml")
    rc, out, _err = run_kfix(["scan", "--format", "json", "."], cwd=tmp_path)
    assert {f["file"] for f in json.loads(out)["findings"]} == {"vote.yaml"}


# --- colour ---------------------------------------------------------------------------------------------------
def _pty(args: list[str], cwd: Path, env: dict | None = None) -> str:
    pexpect = pytest.importorskip("pexpect")
    cmd = " ".join([sys.executable, "-m", "kfix", *args])
    out, _status = pexpect.run(cmd, cwd=str(cwd), env=kfix_env(env), withexitstatus=True, encoding="utf-8", timeout=60)
    return out


def test_colour_conventions(tmp_path: Path) -> None:
    copy_case(VOTE, tmp_path, "vote.yaml")
    # on a terminal: coloured unless NO_COLOR is set to something, --no-color or --color never
    assert "\x1b[32m+" in _pty(["diff", "vote.yaml"], tmp_path)
    assert "\x1b[32m+" in _pty(["diff", "vote.yaml"], tmp_path, {"NO_COLOR": ""}), "NO_COLOR='' does not count"
    for args, env in ((["diff", "vote.yaml"], {"NO_COLOR": "1"}), (["diff", "--no-color", "vote.yaml"], None),
                      (["diff", "--color", "never", "vote.yaml"], {"FORCE_COLOR": "1"})):
        out = _pty(args, tmp_path, env)
        assert "+++ b/vote.yaml" in out and ESC not in out, (args, env)
    # through a pipe: plain unless FORCE_COLOR (non-empty) or --color always, which also beats NO_COLOR
    assert ESC not in run_kfix(["diff", "vote.yaml"], cwd=tmp_path, env={"FORCE_COLOR": ""})[1].decode()
    for args, env in ((["diff", "vote.yaml"], {"FORCE_COLOR": "1"}),
                      (["diff", "--color", "always", "vote.yaml"], {"NO_COLOR": "1"}),
                      (["apply", "--color=always", "vote.yaml"], None)):
        out = run_kfix(args, cwd=tmp_path, env=env)[1].decode()
        assert "\x1b[32m+" in out and "\x1b[1m--- a/vote.yaml" in out, (args, env)
    assert ESC not in run_kfix(["diff", "vote.yaml"], cwd=tmp_path, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})[1].decode()


# --- rules ----------------------------------------------------------------------------------------------------
def test_rules_as_json_and_each_rule_explained(tmp_path: Path) -> None:
    from kfix.rules import RULES
    from kfix.rules.docs import DOCS

    assert set(DOCS) == {r.id for r in RULES}, "every rule has its reasons written down"
    rc, out, _err = run_kfix(["rules", "--format", "json"], cwd=tmp_path)
    assert rc == 0
    data = json.loads(out)["rules"]
    assert [r["id"] for r in data] == [r.id for r in RULES]
    for entry, rule in zip(data, RULES):
        assert entry["profiles"] == list(rule.profiles)
        assert entry["why"] and 0 < entry["security_severity"] <= 10
        assert entry["report_only"] == (entry["safe_fix"] is None and entry["unsafe_fix"] is None)
        assert entry["seeds"], rule.id
        tools = {f"{tool}:{name}" for tool, names in entry["other_tools"].items() for name in names}
        assert tools == {c for ids in rule.checks.values() for c in ids}
    ape = next(r for r in data if r["id"] == "no-privilege-escalation")
    assert ape["safe_fix"] and ape["unsafe_fix"] and ape["other_tools"]["checkov"] == ["CKV_K8S_20"]
    assert ape["pod_security_standards"] == "restricted" and "Practice 2" in ape["seeds"]
    for rule in RULES:
        rc, out, err = run_kfix(["rule", rule.id], cwd=tmp_path)
        text = out.decode()
        assert rc == 0 and text.startswith(f"{rule.id}: {rule.summary}\n"), err
        assert "Why:" in text and f'kfix.dev/ignore: "{rule.id}"' in text
        for ids in rule.checks.values():
            for check in ids:
                assert check.split(":", 1)[1] in text
    text = run_kfix(["rule", "image-digest"], cwd=tmp_path)[1].decode()
    assert "report only" in text and "Safe fix" not in text
    text = run_kfix(["rule", "no-privileged"], cwd=tmp_path)[1].decode()
    assert "Safe fix:  none" in text and "privileged: true -> false" in text
    rc, out, err = run_kfix(["rule", "no-such-rule"], cwd=tmp_path)
    assert rc == 2 and out == b"" and "unknown rule 'no-such-rule'" in err and "run-as-non-root" in err


# --- shell completion and start-up ----------------------------------------------------------------------------
def _complete(words: str, cword: int, cwd: Path) -> list[str]:
    env = kfix_env({"_KFIX_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    proc = subprocess.run([sys.executable, "-m", "kfix"], env=env, cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_shell_completion(tmp_path: Path) -> None:
    assert _complete("kfix ap", 1, tmp_path) == ["apply"]
    assert set(_complete("kfix r", 1, tmp_path)) == {"rules", "rule", "review"}
    assert _complete("kfix rule run-as", 2, tmp_path) == ["run-as-non-root"]
    assert _complete("kfix apply --fail", 2, tmp_path) == ["--fail-on"]
    assert _complete("kfix scan --format s", 3, tmp_path) == ["sarif"]
    for shell in ("bash", "zsh", "fish"):
        rc, out, err = run_kfix(["--show-completion", shell], cwd=tmp_path)
        assert rc == 0 and b"_KFIX_COMPLETE" in out, (shell, err)


def test_version_imports_nothing_heavy(tmp_path: Path) -> None:
    """``kfix --version`` answers before the CLI framework, YAML or git libraries are imported (start-up time)."""
    code = ("import sys; sys.argv = ['kfix', '--version']\n"
            "from kfix.cli import main\nmain()\n"
            "heavy = {'typer', 'click', 'rich', 'yaml', 'pathspec', 'git', 'deepdiff', 'kfix.api', 'kfix.rules'}\n"
            "print(sorted(m for m in sys.modules if m in heavy or m.split('.')[0] in heavy))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=kfix_env())
    assert proc.returncode == 0, proc.stderr
    version, loaded = proc.stdout.splitlines()
    assert re.fullmatch(r"kfix \d+\.\d+\.\d+\S*", version)
    assert loaded == "[]"
