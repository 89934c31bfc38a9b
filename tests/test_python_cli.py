"""End-to-end tests of the Python-source backend through the real ``kfix`` command."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from conftest import age, run_kfix, snapshot

CLIENT = textwrap.dedent('''\
    from kubernetes import client

    # the web container
    container = client.V1Container(
        name="web",  # keep this comment
        image="nginx:1.25",
    )
    pod = client.V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1PodSpec(
            containers=[container],
        ),
    )
''')

DICTS = textwrap.dedent('''\
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "api", "image": "api:1", "securityContext": {"privileged": True}},
                    ],
                },
            },
        },
    }
''')


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    age(path)
    return path


def test_apply_dry_run_diff_applies_and_equals_write(tmp_path: Path) -> None:
    src = _write(tmp_path / "a", "app.py", CLIENT)
    _write(tmp_path / "a", "notes.py", "print('no pods here')\n")
    subprocess.run(["git", "init", "-q", str(tmp_path / "a")], check=True)
    code, out, err = run_kfix(["apply", "."], cwd=tmp_path / "a")
    assert code == 1, err
    diff = out.decode()
    assert "+++ b/app.py" in diff and "notes.py" not in diff
    assert "security_context=client.V1SecurityContext(" in diff
    proc = subprocess.run(["git", "apply", "-"], input=out, cwd=tmp_path / "a", capture_output=True)
    assert proc.returncode == 0, proc.stderr
    applied = src.read_text()
    src.write_text(CLIENT)
    code, _, err = run_kfix(["apply", "--write", "app.py"], cwd=tmp_path / "a")
    assert "1 file changed" in err  # exit 1: report-only findings (image digest, policies) remain
    assert src.read_text() == applied
    assert "# keep this comment" in applied and "# the web container" in applied
    code, out, err = run_kfix(["apply", "."], cwd=tmp_path / "a")
    assert out == b"" and "0 files would change" in err, err


def test_untouched_files_keep_bytes_and_mtime(tmp_path: Path) -> None:
    plain = _write(tmp_path, "tool.py", "import os\nprint(os.getcwd())\n")
    before = snapshot(plain)
    code, _, err = run_kfix(["apply", "--write", str(tmp_path)])
    assert code == 0, err
    assert snapshot(plain) == before


def test_unsafe_fix_only_with_flag(tmp_path: Path) -> None:
    src = _write(tmp_path, "gen.py", DICTS)
    code, out, err = run_kfix(["apply", "--write", "--fail-on", "unsafe", str(src)])
    assert code == 1, err  # the privileged container remains: an unsafe fix not applied
    text = src.read_text()
    assert '"privileged": True' in text and '"allowPrivilegeEscalation"' not in text
    assert "unsafe fix" in err
    code, _, err = run_kfix(["apply", "--write", "--unsafe-fixes", str(src)])
    text = src.read_text()
    assert '"privileged": False' in text and '"allowPrivilegeEscalation": False' in text, text


def test_scan_json_and_sarif_point_at_python_lines(tmp_path: Path) -> None:
    src = _write(tmp_path, "app.py", CLIENT)
    code, out, err = run_kfix(["scan", "--format", "json", str(src)])
    assert code == 1, err
    findings = json.loads(out)["findings"]
    rules = {(f["rule"], f["line"], f["container"]) for f in findings}
    assert ("no-privilege-escalation", 4, "web") in rules  # the V1Container call's line
    assert all(f["resource"] == "Pod/web" for f in findings)
    code, out, err = run_kfix(["scan", "--format", "sarif", str(src)])
    sarif = json.loads(out)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert len(uris) == 1 and uris.pop().endswith("app.py")


def test_review_with_piped_answers_and_decisions(tmp_path: Path) -> None:
    src = _write(tmp_path, "app.py", CLIENT)
    decisions = tmp_path / "decisions.yaml"
    code, out, err = run_kfix(["review", "app.py", "--decisions", str(decisions)], input="n\n" + "y\n" * 20,
                              cwd=tmp_path)
    assert code == 0, err
    text = src.read_text()
    assert "drop=[" not in text  # drop-capabilities came first and was declined
    assert "allow_privilege_escalation=False" in text
    recorded = decisions.read_text()
    assert "drop-capabilities" in recorded and "decision: 'no'" in recorded
    src.write_text(CLIENT)
    code, out, err = run_kfix(["apply", "--write", "app.py"], cwd=tmp_path)
    assert "drop=[" in src.read_text()  # apply alone does not read the decisions file


def test_bad_python_is_reported_with_line_and_the_run_goes_on(tmp_path: Path) -> None:
    bad = _write(tmp_path, "broken.py", "from kubernetes import client\nx = client.V1Container(\n")
    good = _write(tmp_path, "app.py", CLIENT)
    before = snapshot(bad)
    code, _, err = run_kfix(["apply", "--write", str(tmp_path)])
    assert code == 2
    assert "broken.py:" in err and "invalid Python" in err and "Traceback" not in err
    assert snapshot(bad) == before
    assert "security_context" in good.read_text()


def test_run_time_values_are_reported_not_guessed(tmp_path: Path) -> None:
    src = _write(tmp_path, "app.py", textwrap.dedent('''\
        from kubernetes import client


        def pod(extra, sc):
            return client.V1PodSpec(containers=[
                client.V1Container(name="a", image="a:1", **extra),
                client.V1Container(name="b", image="b:1", security_context=sc),
            ])
    '''))
    before = src.read_text()
    code, out, err = run_kfix(["scan", str(src)])
    text = out.decode()
    assert "**extra" in text and "line 6" in text
    assert "`sc` is a function parameter" in text
    run_kfix(["apply", "--write", str(src)])
    after = src.read_text()
    assert after.count("security_context=") == 2  # the pod's own, and b's run-time one; a gets none
    assert "client.V1Container(name=\"a\", image=\"a:1\", **extra)" in after
    assert after != before
