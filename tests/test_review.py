"""`kfix review`: the real command in a pseudo-terminal (pexpect) and with answers piped on stdin.

Every expected file is computed with the library (``render_subset``) from the same copied manifest,
so a test states which changes were accepted and checks the bytes on disk against exactly that.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from kfix.api import make_options, plan_paths, render_subset
from kfix.config import load_config
from kfix.review import Decisions, DecisionsError, load_decisions

CASES = Path(__file__).parent / "golden" / "cases"
KFIX = str(Path(sys.executable).with_name("kfix"))
JOB = CASES / "ContainerSolutions+kubernetes-examples" / "Job__simple.yaml"
CRON = CASES / "ContainerSolutions+kubernetes-examples" / "CronJob__simple.yaml"
VOTE = CASES / "dockersamples+example-voting-app" / "k8s-specifications__vote-deployment.yaml"
BOM = CASES / "kfix" / "bom.yaml"
CRLF = CASES / "kubernetes+examples" / \
    "_archived__volumes__azure_disk__static-provisioning__managed-disk__pod-uses-existing-managed-disk.yaml"
DUPLICATE = CASES / "kfix" / "duplicate-keys.yaml"
ANCHORS = CASES / "kfix" / "anchors-aliases.yaml"  # two containers share one securityContext (&/*)
PROMPT = "Apply this change [y,n,a,d,q,?]? "
PROMPT_E = "Apply this change [y,n,a,d,q,e,?]? "
GREEN = "\x1b[32m"

EDITOR_SCRIPT = '''\
import os, shutil, sys
path = sys.argv[1]
with open(os.environ["EDIT_LOG"], "a", encoding="utf-8") as log:
    log.write(open(path, encoding="utf-8").read() + "\\n=====\\n")
mode = os.environ["EDIT_MODE"]
if mode == "comment":
    text = open(path, encoding="utf-8").read()
    open(path, "w", encoding="utf-8", newline="").write("# reviewed by a person\\n" + text)
elif mode == "invalid":
    open(path, "w", encoding="utf-8").write("spec: [unclosed\\n")
elif mode == "revert":
    shutil.copyfile(os.environ["EDIT_ORIGINAL"], path)
elif mode == "fail":
    sys.exit(3)
'''


# --- helpers ----------------------------------------------------------------------------------------
def copy(tmp_path: Path, *sources: Path) -> Path:
    work = tmp_path / "deploy"
    work.mkdir(exist_ok=True)
    for src in sources:
        shutil.copyfile(src, work / src.name)
    return work


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def plan_of(path: Path):
    """The file's plan as kfix review sees it (same default options)."""
    result = plan_paths([str(path)], make_options(load_config()), jobs=1)
    (plan,) = result.plans
    return plan


def expected(path: Path, accepted: list[int]) -> bytes:
    """The file's bytes with only its changes number ``accepted`` (0-based, plan order) applied."""
    plan = plan_of(path)
    ids = {plan.changes[i].id for i in accepted}
    return plan.source.encode(render_subset(plan, ids))


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "EDITOR", "VISUAL")}
    out.update(TERM="xterm", COLUMNS="120", **extra)
    return out


def run(args: list[str], answers: str = "", cwd: Path | None = None, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([KFIX, "review", *args], input=answers, capture_output=True, text=True, cwd=cwd,
                          env=env(**extra), timeout=60)


def spawn(args: list[str], cwd: Path, **extra: str) -> pexpect.spawn:
    return pexpect.spawn(KFIX, ["review", *args], cwd=str(cwd), env=env(**extra), encoding="utf-8",
                         timeout=30, dimensions=(50, 200))


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus if child.exitstatus is not None else -child.signalstatus


@pytest.fixture
def editor(tmp_path: Path):
    script = tmp_path / "editor.py"
    script.write_text(EDITOR_SCRIPT)
    log = tmp_path / "editor.log"

    def make(mode: str, **extra: str) -> dict[str, str]:
        return {"EDITOR": f"{sys.executable} {script}", "EDIT_MODE": mode, "EDIT_LOG": str(log), **extra}

    make.log = log
    return make


# --- piped stdin ------------------------------------------------------------------------------------
def test_piped_answers_write_only_what_was_accepted(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB, VOTE)
    job, vote = work / JOB.name, work / VOTE.name
    want_job = expected(job, [0, 3])  # y n n y, then d for the rest of the file
    vote_before = vote.read_bytes()
    proc = run([str(work)], "y\nn\nn\ny\nd\nd\n")
    assert proc.returncode == 0, proc.stderr
    assert job.read_bytes() == want_job
    assert vote.read_bytes() == vote_before  # 'd' on the first change of the second file: nothing
    assert PROMPT in proc.stdout and "(1/12) " in proc.stdout
    assert "review: 2 accepted, 10 rejected, 1 file written" in proc.stderr
    assert "\x1b[" not in proc.stdout + proc.stderr  # no colour on a pipe


def test_each_change_is_shown_with_place_rule_and_hunk_against_accepted_ones(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB)
    proc = run([str(work)], "y\nq\n", cwd=work)
    out = proc.stdout
    assert "--- a/Job__simple.yaml\n+++ b/Job__simple.yaml\n" in out
    assert ("Job__simple.yaml:12: Job/jobs-simple-job container jobs-simple-container: drop-capabilities "
            "(safe fix)\n  # container jobs-simple-container does not drop ALL capabilities\n@@ -12,3 +12,7 @@\n"
            in out)
    # the second hunk is taken against the text with the first change: its context shows it
    second = out.split("no-privilege-escalation (safe fix)")[1]
    assert "@@ -16,3 +16,4 @@\n             capabilities:\n               drop:\n                 - ALL\n" \
           "+            allowPrivilegeEscalation: false\n" in second


def test_help_and_unknown_answers_ask_again(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB)
    before = snapshot(work)
    proc = run([str(work)], "?\nwhat\n\nn\nq\n")
    assert proc.returncode == 0
    assert proc.stdout.count("(1/6) " + PROMPT) == 4  # ?, 'what', empty line, then n
    assert "a - apply this change and all remaining changes in this file" in proc.stdout
    assert "unknown answer 'what'" in proc.stdout
    assert "e - edit" not in proc.stdout  # no $EDITOR: 'e' is neither offered nor described
    assert snapshot(work) == before


def test_all_in_file_then_skip_file(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB, VOTE)
    job, vote = work / JOB.name, work / VOTE.name
    want_job = expected(job, [1, 2, 3, 4, 5])
    want_vote = expected(vote, [0])
    proc = run([str(work)], "n\na\ny\nd\n")
    assert proc.returncode == 0, proc.stderr
    assert job.read_bytes() == want_job
    assert vote.read_bytes() == want_vote
    assert "review: 6 accepted, 6 rejected, 2 files written" in proc.stderr
    assert proc.stdout.count(PROMPT) == 4


def test_end_of_input_is_quit(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB, VOTE)
    vote_before = (work / VOTE.name).read_bytes()
    want_job = expected(work / JOB.name, [0])
    proc = run([str(work)], "y\n")
    assert proc.returncode == 0
    assert (work / JOB.name).read_bytes() == want_job
    assert (work / VOTE.name).read_bytes() == vote_before
    assert "review: 1 accepted, 0 rejected, 11 not reviewed, 1 file written" in proc.stderr


def test_no_input_at_all_writes_nothing(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB)
    before = snapshot(work)
    proc = run([str(work)], "")
    assert proc.returncode == 0
    assert snapshot(work) == before
    assert "0 files written" in proc.stderr


def test_yes_accepts_everything_like_apply_write(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB, VOTE, BOM, CRLF, ANCHORS)
    wants = {p.name: p.read_bytes() for p in work.iterdir()}
    for path in work.iterdir():
        plan = plan_of(path)
        wants[path.name] = plan.source.encode(plan.new_text)
    proc = run(["--yes", str(work)])
    assert proc.returncode == 0, proc.stderr
    assert snapshot(work) == dict(sorted(wants.items()))
    assert PROMPT not in proc.stdout
    assert "5 files written" in proc.stderr


def test_bom_and_crlf_survive_a_partial_review(tmp_path: Path) -> None:
    work = copy(tmp_path, BOM, CRLF)
    want = {BOM.name: expected(work / BOM.name, [0, 2]), CRLF.name: expected(work / CRLF.name, [1])}
    # files are reviewed in path order: the CRLF one (_archived__...), then bom.yaml
    proc = run([str(work)], "n\ny\nd\ny\nn\ny\nd\n")
    assert proc.returncode == 0, proc.stderr
    assert (work / BOM.name).read_bytes().startswith(b"\xef\xbb\xbf")
    assert (work / BOM.name).read_bytes() == want[BOM.name]
    assert (work / CRLF.name).read_bytes() == want[CRLF.name]
    assert b"\r\n" in want[CRLF.name] and b"\n" not in want[CRLF.name].replace(b"\r\n", b"")


def test_changes_that_share_yaml_nodes_are_asked_together(tmp_path: Path) -> None:
    """Both containers' drop-capabilities edit one anchored securityContext: one change, one question."""
    work = copy(tmp_path, ANCHORS)
    path = work / ANCHORS.name
    plan = plan_of(path)
    rules = [(c.rule, c.container) for c in plan.changes]
    assert ("drop-capabilities", None) in rules and ("drop-capabilities", "transcoder") not in rules
    first = rules.index(("drop-capabilities", None))
    answers = "n\n" * first + "y\nd\n"
    want = expected(path, [first])
    proc = run([str(work)], answers)
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes() == want
    assert f"review: 1 accepted, {len(rules) - 1} rejected, 1 file written" in proc.stderr


def test_bad_input_exits_2_and_the_rest_is_reviewed(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB, DUPLICATE)
    dup_before = (work / DUPLICATE.name).read_bytes()
    want_job = expected(work / JOB.name, [0])
    proc = run([str(work)], "y\nq\n")
    assert proc.returncode == 2
    assert "duplicate-keys.yaml:23: duplicate key" in proc.stderr
    assert (work / JOB.name).read_bytes() == want_job
    assert (work / DUPLICATE.name).read_bytes() == dup_before


def test_stdin_path_is_refused(tmp_path: Path) -> None:
    proc = run(["-"], "y\n")
    assert proc.returncode == 2
    assert "reads its answers from stdin" in proc.stderr


# --- decisions file ---------------------------------------------------------------------------------
def test_decisions_second_run_asks_only_about_new_changes(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB)
    decisions = tmp_path / "decisions.yaml"
    first = run(["--decisions", str(decisions), str(work)], "y\nn\nq\n")
    assert first.returncode == 0
    saved = load_decisions(str(decisions))
    assert saved.entries == {
        ("drop-capabilities", "deploy/Job__simple.yaml", "Job/jobs-simple-job", "jobs-simple-container"): True,
        ("no-privilege-escalation", "deploy/Job__simple.yaml", "Job/jobs-simple-job", "jobs-simple-container"): False,
    }
    text = decisions.read_text()
    assert "decision: 'yes'" in text and "decision: 'no'" in text

    shutil.copyfile(CRON, work / CRON.name)  # a new file: its 6 changes are new
    second = run(["--decisions", str(decisions), str(work)], "a\na\n")
    assert second.returncode == 0, second.stderr
    # 6 new in the CronJob file (reviewed first), then 4 undecided in the Job file: drop-capabilities
    # is written and no-privilege-escalation was declined
    assert "(1/10) " + PROMPT in second.stdout and "(7/10) " + PROMPT in second.stdout
    assert second.stdout.count(PROMPT) == 2
    assert "allowPrivilegeEscalation" not in (work / JOB.name).read_text()  # declined: never proposed again
    assert "1 declined earlier (not proposed)" in second.stderr

    third = run(["--decisions", str(decisions), str(work)], "")
    assert PROMPT not in third.stdout
    assert "review: 0 accepted, 0 rejected, 1 declined earlier (not proposed), 0 files written" in third.stderr


def test_decisions_accepted_earlier_are_applied_without_asking(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB)
    decisions = tmp_path / "decisions.json"
    first = run(["--decisions", str(decisions), str(work)], "y\nn\nq\n")
    assert first.returncode == 0
    raw = json.loads(decisions.read_text())
    assert {r["decision"] for r in raw["decisions"]} == {"yes", "no"}
    shutil.copyfile(JOB, work / JOB.name)  # the written change is undone by hand
    second = run(["--decisions", str(decisions), str(work)], "q\n")
    assert "drop-capabilities: accepted earlier (decisions file)" in second.stdout
    assert second.stdout.count(PROMPT) == 1
    assert (work / JOB.name).read_bytes() == expected(JOB, [0])
    assert "1 accepted (1 earlier)" in second.stderr


def test_decisions_filter_for_bot_and_ci(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB)
    path = tmp_path / "decisions.yaml"
    path.write_text("decisions:\n"
                    "- {rule: resources, file: deploy/Job__simple.yaml, resource: Job/jobs-simple-job,\n"
                    "   container: jobs-simple-container, decision: no}\n")  # unquoted no = false in YAML 1.1
    decisions = load_decisions(str(path))
    plan = plan_of(work / JOB.name)
    filtered = decisions.filter(plan)
    assert [c.rule for c in filtered.changes] == [c.rule for c in plan.changes if c.rule != "resources"]
    assert filtered.new_text == render_subset(plan, {c.id for c in filtered.changes})
    assert "memory: 128Mi" not in filtered.new_text
    declined = [r for r in filtered.findings if r.rule == "resources"]
    assert declined and all(r.status == "exempt" and "declined" in r.note for r in declined)
    assert Decisions(str(path)).filter(plan) is plan  # nothing declined: the plan as it was


def test_decisions_filter_drops_a_declined_shared_anchor_change(tmp_path: Path) -> None:
    work = copy(tmp_path, ANCHORS)
    path = tmp_path / "decisions.yaml"
    path.write_text("decisions:\n- {rule: drop-capabilities, file: deploy/anchors-aliases.yaml,\n"
                    "   resource: Deployment/media-transcoder, decision: 'no'}\n")
    plan = plan_of(work / ANCHORS.name)
    filtered = load_decisions(str(path)).filter(plan)
    kept = [(c.rule, c.container) for c in filtered.changes]
    assert ("drop-capabilities", None) not in kept
    assert len(kept) == len(plan.changes) - 1
    assert filtered.new_text == render_subset(plan, {c.id for c in filtered.changes})


def test_bad_decisions_file_exits_2(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB)
    before = snapshot(work)
    bad = tmp_path / "decisions.yaml"
    bad.write_text("decisions:\n- {rule: resources, file: x.yaml, resource: Pod/x, decision: maybe}\n")
    proc = run(["--decisions", str(bad), str(work)], "y\n")
    assert proc.returncode == 2
    assert "'decision' must be yes or no" in proc.stderr
    assert snapshot(work) == before
    with pytest.raises(DecisionsError):
        load_decisions(str(bad))


# --- editing ----------------------------------------------------------------------------------------
def test_edit_keeps_valid_yaml_and_replans_the_rest(tmp_path: Path, editor) -> None:
    work = copy(tmp_path, JOB)
    job = work / JOB.name
    proposal = expected(job, [0]).decode()
    proc = run([str(work)], "e\nd\n", **editor("comment"))
    assert proc.returncode == 0, proc.stderr
    assert PROMPT_E in proc.stdout
    assert editor.log.read_text() == proposal + "\n=====\n"  # the editor got this change's proposal
    assert job.read_text() == "# reviewed by a person\n" + proposal
    assert "edited text kept for" in proc.stdout and "5 change(s) left to review" in proc.stdout
    assert "review: 1 accepted, 5 rejected, 1 file written" in proc.stderr


def test_edit_then_accept_builds_on_the_edited_text(tmp_path: Path, editor) -> None:
    work = copy(tmp_path, JOB)
    job = work / JOB.name
    proc = run([str(work)], "e\na\n", **editor("comment"))
    assert proc.returncode == 0, proc.stderr
    full = plan_of(work / JOB.name)  # already written: plan the original again from the case file
    want = plan_of(JOB)
    assert full.changes == []  # nothing left to do
    assert job.read_text() == "# reviewed by a person\n" + want.new_text


def test_edit_that_does_not_parse_is_dropped(tmp_path: Path, editor) -> None:
    work = copy(tmp_path, JOB)
    before = snapshot(work)
    proc = run([str(work)], "e\nn\nq\n", **editor("invalid"))
    assert proc.returncode == 0
    assert "does not parse as YAML" in proc.stdout and "proposal unchanged" in proc.stdout
    assert proc.stdout.count("(1/6) " + PROMPT_E) == 2  # asked again about the same change
    assert snapshot(work) == before


def test_edit_that_takes_the_change_out_counts_as_rejected(tmp_path: Path, editor) -> None:
    work = copy(tmp_path, JOB)
    before = snapshot(work)
    decisions = tmp_path / "decisions.yaml"
    proc = run(["--decisions", str(decisions), str(work)], "e\nq\n", **editor("revert", EDIT_ORIGINAL=str(JOB)))
    assert proc.returncode == 0
    assert snapshot(work) == before
    assert "review: 0 accepted, 1 rejected" in proc.stderr
    assert list(load_decisions(str(decisions)).entries.values()) == [False]


def test_edit_that_takes_out_an_accepted_change_records_it_declined(tmp_path: Path, editor) -> None:
    work = copy(tmp_path, JOB)
    before = snapshot(work)
    decisions = tmp_path / "decisions.yaml"
    proc = run(["--decisions", str(decisions), str(work)], "y\ne\nq\n",
               **editor("revert", EDIT_ORIGINAL=str(JOB)))
    assert proc.returncode == 0, proc.stderr
    assert snapshot(work) == before
    assert "review: 0 accepted, 2 rejected, 4 not reviewed, 0 files written" in proc.stderr
    assert list(load_decisions(str(decisions)).entries.values()) == [False, False]


def test_visual_wins_over_editor(tmp_path: Path, editor) -> None:
    """As git and other tools do: $VISUAL first, then $EDITOR."""
    work = copy(tmp_path, JOB)
    env = editor("comment")
    env["VISUAL"], env["EDITOR"] = env["EDITOR"], "false"
    proc = run([str(work)], "e\nd\n", **env)
    assert proc.returncode == 0, proc.stderr
    assert (work / JOB.name).read_text().startswith("# reviewed by a person\n")


def test_editor_failure_keeps_the_proposal(tmp_path: Path, editor) -> None:
    work = copy(tmp_path, JOB)
    proc = run([str(work)], "e\ny\nq\n", **editor("fail"))
    assert "the editor exited with status 3" in proc.stdout
    assert (work / JOB.name).read_bytes() == expected(JOB, [0])


def test_edit_in_a_terminal(tmp_path: Path, editor) -> None:
    work = copy(tmp_path, JOB)
    child = spawn([str(work)], work, **editor("comment"))
    child.expect_exact(PROMPT_E)
    child.sendline("e")
    child.expect_exact("edited text kept for")
    child.expect_exact(PROMPT_E)
    child.sendline("q")
    assert finish(child) == 0
    assert (work / JOB.name).read_text() == "# reviewed by a person\n" + expected(JOB, [0]).decode()


# --- a terminal -------------------------------------------------------------------------------------
def test_terminal_every_key_and_colour(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB, VOTE)
    want_job = expected(work / JOB.name, [0, 3, 4, 5])
    vote_before = (work / VOTE.name).read_bytes()
    child = spawn([str(work)], work)
    for answer in ("y", "n", "?", "n", "a", "d"):
        child.expect_exact(PROMPT)
        if answer == "y":
            assert GREEN + "+" in child.before  # coloured hunk on a terminal
            assert "\x1b[1m--- a/Job__simple.yaml" in child.before
        child.sendline(answer)
        if answer == "?":
            child.expect_exact("q - quit; write the changes accepted so far")
    assert finish(child) == 0
    assert (work / JOB.name).read_bytes() == want_job
    assert (work / VOTE.name).read_bytes() == vote_before


@pytest.mark.parametrize("how", ["--no-color", "NO_COLOR"])
def test_terminal_colour_can_be_turned_off(tmp_path: Path, how: str) -> None:
    work = copy(tmp_path, JOB)
    args, extra = ([how, str(work)], {}) if how.startswith("--") else ([str(work)], {how: "1"})
    child = spawn(args, work, **extra)
    child.expect_exact(PROMPT)
    assert "\x1b[" not in child.before
    child.sendline("q")
    assert finish(child) == 0


def test_terminal_quit_midway_writes_decisions_so_far(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB, VOTE)
    want_job = expected(work / JOB.name, [0])
    vote_before = (work / VOTE.name).read_bytes()
    child = spawn([str(work)], work)
    for answer in ("y", "n", "q"):
        child.expect_exact(PROMPT)
        child.sendline(answer)
    child.expect_exact("review: 1 accepted, 1 rejected, 10 not reviewed, 1 file written")
    assert finish(child) == 0
    assert (work / JOB.name).read_bytes() == want_job
    assert (work / VOTE.name).read_bytes() == vote_before


@pytest.mark.parametrize("answers_before", [0, 3, 8])
def test_ctrl_c_leaves_every_file_untouched(tmp_path: Path, answers_before: int) -> None:
    work = copy(tmp_path, JOB, VOTE)
    decisions = tmp_path / "decisions.yaml"
    before = snapshot(work)
    child = spawn(["--decisions", str(decisions), str(work)], work)
    for _ in range(answers_before):
        child.expect_exact(PROMPT)
        child.sendline("y")
    child.expect_exact(PROMPT)
    child.sendintr()
    child.expect_exact("interrupted; no file was written")
    assert finish(child) == 130
    assert snapshot(work) == before  # bytes identical, no temporary files left behind
    assert not decisions.exists()


def test_file_changed_during_the_review_is_not_written(tmp_path: Path) -> None:
    work = copy(tmp_path, JOB)
    job = work / JOB.name
    child = spawn([str(work)], work)
    child.expect_exact(PROMPT)
    job.write_bytes(job.read_bytes() + b"# a person edits the file meanwhile\n")
    edited = job.read_bytes()
    child.sendline("a")
    child.expect_exact("changed on disk during the review, not written")
    assert finish(child) == 2
    assert job.read_bytes() == edited
