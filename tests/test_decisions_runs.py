"""A decisions file (``kfix review --decisions``) honoured by ``scan``, ``diff`` and ``apply``: given with
``--decisions`` or named by ``decisions:`` in the configuration. The real command in a subprocess; every
expected file is rendered with the library (``render_subset``) from the same manifest, without the declined
change, and compared byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import CASES, run_kfix, snapshot
from kfix.api import make_options, plan_paths, render_subset
from kfix.config import Config, load_config

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: nginx:1.25
        - name: sidecar
          image: busybox:1.36
"""
RESOURCE = "Deployment/shop/web"
# the sidecar's drop-capabilities change, declined in review
DECLINE = ("decisions:\n"
           "- {rule: drop-capabilities, file: %s, resource: Deployment/shop/web, container: sidecar, decision: 'no'}\n"
           "- {rule: drop-capabilities, file: %s, resource: Deployment/shop/web, container: app, decision: 'yes'}\n")


def project(tmp_path: Path, config: str | None = None) -> Path:
    """A project folder with web.yaml, and the decisions file review/decisions.yaml declining one change."""
    root = tmp_path / "project"
    (root / "review").mkdir(parents=True)
    (root / "web.yaml").write_text(WEB)
    (root / "review" / "decisions.yaml").write_text(DECLINE % ("../web.yaml", "../web.yaml"))
    if config is not None:
        (root / ".kfix.yaml").write_text(config)
    return root


def expected(path: Path, declined: bool, select: tuple[str, ...] = ()) -> str:
    """The file's text with every change, or with all but the sidecar's drop-capabilities."""
    plan = plan_paths([str(path)], make_options(Config(), select=select)).plans[0]
    keep = {c.id for c in plan.changes
            if not (declined and c.rule == "drop-capabilities" and c.container == "sidecar")}
    assert len(keep) == len(plan.changes) - declined
    return render_subset(plan, keep)


def findings(out: bytes) -> list[dict]:
    return json.loads(out)["findings"]


def test_declined_change_is_not_in_the_diff_not_written_and_exempt(tmp_path):
    root = project(tmp_path)
    web, record = root / "web.yaml", root / "review" / "decisions.yaml"
    with_all, without = expected(web, False), expected(web, True)
    assert with_all != without

    rc, out, err = run_kfix(["diff", "--decisions", record, "web.yaml"], cwd=root)
    assert rc == 1, err
    rc_all, out_all, _ = run_kfix(["diff", "web.yaml"], cwd=root)
    assert rc_all == 1
    # the diff is the one of the plan without the declined change
    assert out.decode().count("- ALL") == 1 and out_all.decode().count("- ALL") == 2
    assert "1 declined in review (decisions file)" in err
    assert "declined" not in run_kfix(["diff", "web.yaml"], cwd=root)[2]

    rc, out, err = run_kfix(["scan", "--format", "json", "--decisions", record, "web.yaml"], cwd=root)
    assert rc == 1, err  # report-only findings remain
    caps = {f["container"]: f for f in findings(out) if f["rule"] == "drop-capabilities"}
    assert caps["sidecar"]["status"] == "exempt" and "declined in review" in caps["sidecar"]["note"]
    assert caps["app"]["status"] == "fix"
    text_rc, _, text_err = run_kfix(["scan", "--decisions", record, "web.yaml"], cwd=root)
    assert text_rc == 1 and "(1 change declined in review)" in text_err

    before = snapshot(web)
    rc, _, err = run_kfix(["apply", "--check", "--decisions", record, "web.yaml"], cwd=root)
    assert rc == 1 and snapshot(web) == before
    rc, out, err = run_kfix(["apply", "--write", "--decisions", record, "web.yaml"], cwd=root)
    assert rc == 0, err
    assert web.read_text() == without
    assert "1 file changed, " in err and "1 declined in review" in err
    # nothing left but the declined change: --check passes with the decisions, not without
    assert run_kfix(["apply", "--check", "--decisions", record, "web.yaml"], cwd=root)[0] == 0
    rc, out, _ = run_kfix(["diff", "web.yaml"], cwd=root)
    assert rc == 1 and out.decode().count("+                - ALL") == 1


def test_configured_decisions_file(tmp_path):
    """``decisions:`` is relative to the configuration's folder; a configured file that does not exist yet is
    no decisions (review makes it); ``--decisions`` overrides it."""
    root = project(tmp_path, "decisions: review/decisions.yaml\n")
    web = root / "web.yaml"
    sub = root / "review"
    rc, out, err = run_kfix(["apply", "--write", str(web)], cwd=sub)  # run from elsewhere: same file
    assert rc == 0, err
    assert web.read_text() == expected(project(tmp_path / "fresh") / "web.yaml", True)

    other = project(tmp_path / "b", "decisions: not-yet.yaml\n")
    rc, _, err = run_kfix(["apply", "--write", "web.yaml"], cwd=other)
    assert rc == 0, err
    assert (other / "web.yaml").read_text() == expected(project(tmp_path / "fresh2") / "web.yaml", False)
    assert not (other / "not-yet.yaml").exists()

    third = project(tmp_path / "c", "decisions: not-yet.yaml\n")
    rc, _, err = run_kfix(["apply", "--write", "--decisions", "review/decisions.yaml", "web.yaml"], cwd=third)
    assert rc == 0, err
    assert (third / "web.yaml").read_text() == (root / "web.yaml").read_text()

    # review defaults to the configured file: it records there, and asks nothing already decided
    fourth = project(tmp_path / "d", "decisions: review/decisions.yaml\n")
    proc = run_kfix(["review", "--select", "drop-capabilities", "web.yaml"], input="", cwd=fourth)
    assert proc[0] == 0, proc[2]
    assert "Apply this change" not in proc[1].decode()
    assert (fourth / "web.yaml").read_text() == expected(project(tmp_path / "fresh3") / "web.yaml", True,
                                                          ("drop-capabilities",))
    fifth = project(tmp_path / "e", "decisions: made-by-review.yaml\n")
    proc = run_kfix(["review", "--select", "drop-capabilities", "web.yaml"], input="n\ny\n", cwd=fifth)
    assert proc[0] == 0, proc[2]
    made = (fifth / "made-by-review.yaml").read_text()
    assert "file: web.yaml" in made and "decision: 'no'" in made
    assert run_kfix(["apply", "--check", "--select", "drop-capabilities", "web.yaml"], cwd=fifth)[0] == 0


@pytest.mark.parametrize("case", ["missing", "folder", "bad-yaml", "bad-entry"])
def test_a_given_decisions_file_kfix_cannot_read_is_a_usage_error(case, tmp_path):
    root = project(tmp_path)
    web = root / "web.yaml"
    given = {"missing": "nope.yaml", "folder": "review"}.get(case, "bad.yaml")
    if case == "bad-yaml":
        (root / "bad.yaml").write_text("decisions: [\n")
    if case == "bad-entry":
        (root / "bad.yaml").write_text("decisions:\n- {rule: x, file: web.yaml, resource: Pod/x, decision: maybe}\n")
    before = snapshot(web)
    for command in (["scan"], ["diff"], ["apply", "--write"]):
        rc, out, err = run_kfix([*command, "--decisions", given, "web.yaml"], cwd=root)
        assert rc == 2 and out == b"", (command, err)
        assert err.startswith("kfix: ") and "Traceback" not in err
        assert {"missing": "--decisions nope.yaml: no such file", "folder": "--decisions review: a folder",
                "bad-yaml": "bad.yaml:2: decisions file: not valid YAML",
                "bad-entry": "bad.yaml:2: decisions entry 1: 'decision' must be yes or no"}[case] in err
    assert snapshot(web) == before


def test_configuration_key_is_checked(tmp_path):
    root = project(tmp_path, "decisions: 3\n")
    rc, _, err = run_kfix(["scan", "web.yaml"], cwd=root)
    assert rc == 2 and "'decisions' must be the path of a decisions file" in err
    (root / ".kfix.yaml").write_text("decisions: review/decisions.yaml\n")
    assert load_config(str(root / ".kfix.yaml")).decisions == "review/decisions.yaml"
    (root / "review" / "decisions.yaml").write_text("decisions: {}\n")  # configured, exists, unusable
    rc, _, err = run_kfix(["scan", "web.yaml"], cwd=root)
    assert rc == 2 and "decisions.yaml:1: decisions file: expected a 'decisions' list" in err


def test_cache_does_not_store_a_file_whose_changes_were_declined(tmp_path):
    """The cache key holds no decisions: a file with declined changes is planned on every run, so a run
    without the decisions (or with other ones) still proposes them."""
    root = project(tmp_path, "{}\n")  # the cache lives beside the configuration
    web, record = root / "web.yaml", root / "review" / "decisions.yaml"
    only = ["--select", "drop-capabilities"]
    rc, _, err = run_kfix(["apply", "--write", *only, "--decisions", record, "web.yaml"], cwd=root)
    assert rc == 0, err
    assert (root / ".kfix_cache").is_dir()
    for _ in range(2):  # the file's only change is declined: nothing to do with the decisions
        rc, _, err = run_kfix(["apply", "--check", *only, "--decisions", record, "web.yaml"], cwd=root)
        assert rc == 0 and "1 declined in review" in err
        rc, out, err = run_kfix(["scan", "--format", "json", *only, "--decisions", record, "web.yaml"], cwd=root)
        assert rc == 0 and [f["status"] for f in findings(out)] == ["exempt"]
    rc, out, _ = run_kfix(["diff", *only, "web.yaml"], cwd=root)  # ... and something without them
    assert rc == 1 and "+                - ALL" in out.decode()
    rc, out, _ = run_kfix(["scan", "--format", "json", *only, "web.yaml"], cwd=root)
    assert rc == 1 and [f["status"] for f in findings(out)] == ["fix"]


def test_jobs_2_gives_the_same_results_as_jobs_1_with_decisions(tmp_path):
    """Over 200 files (worker processes plan and write them), the decisions file leaves the same changes
    out with one process or two, in the diff, the scan and the files written."""
    folders = {"1": tmp_path / "one", "2": tmp_path / "two"}
    for folder in folders.values():
        for case in ("kubernetes+examples", "FairwindsOps+polaris", "kfix"):
            shutil.copytree(CASES / case, folder / case)
        for n in range(130):  # with the corpus, over 200 files
            (folder / f"web{n}.yaml").write_text(WEB)
        # declined: the sidecar's drop-capabilities in web0 and web2 (web0 accepts the app's too)
        (folder / ".kfix.yaml").write_text("decisions: decisions.yaml\n")
        (folder / "decisions.yaml").write_text(
            DECLINE % ("web0.yaml", "web0.yaml")
            + "- {rule: drop-capabilities, file: web2.yaml, resource: Deployment/shop/web, container: sidecar, "
              "decision: no}\n")
    assert sum(1 for p in folders["1"].rglob("*.y*ml")) > 200
    outputs = {}
    for jobs, folder in folders.items():
        outputs[jobs] = [run_kfix([*cmd, "--jobs", jobs, "."], cwd=folder)
                         for cmd in (["scan", "--format", "json"], ["diff"], ["apply", "--check"])]
        outputs[jobs].append(run_kfix(["apply", "--write", "--jobs", jobs, "."], cwd=folder))
    assert outputs["1"] == outputs["2"]
    scan = findings(outputs["1"][0][1])
    declined = sorted((f["file"], f["container"]) for f in scan if f["status"] == "exempt"
                      and "declined in review" in (f.get("note") or ""))
    assert declined == [("web0.yaml", "sidecar"), ("web2.yaml", "sidecar")]
    assert "2 declined in review (decisions file)" in outputs["1"][1][2]
    for jobs, folder in folders.items():
        assert (folder / "web0.yaml").read_text() == (folder / "web2.yaml").read_text() == \
            expected(project(tmp_path / f"x{jobs}") / "web.yaml", True)
        assert (folder / "web1.yaml").read_text() == expected(project(tmp_path / f"y{jobs}") / "web.yaml", False)
    for path in folders["1"].rglob("*"):
        if path.is_file() and ".kfix_cache" not in path.parts:
            assert path.read_bytes() == (folders["2"] / path.relative_to(folders["1"])).read_bytes(), path
