"""Hostile and unusual input: every file is fixed, or refused with a reason and a line, never an internal
error, and never at a cost out of proportion to its size (alias bombs, deep nesting).

The fuzzing tests are bounded in examples (hypothesis; derandomized in CI by the "ci" profile).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_kfix

from kfix.api import make_options, plan_bytes
from kfix.config import Config
from kfix.errors import InputError
from kfix.yaml.loader import MAX_DEPTH, parse

POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    image: nginx\n"
DEPLOYMENT = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n"
              "      containers:\n      - name: web\n        image: nginx\n        securityContext: {}\n"
              "        args:\n        - |\n          echo hi\n      volumes: []\n")
OPTIONS = make_options(Config())
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _plan(text: str):
    return plan_bytes("x.yaml", text.encode("utf-8"), OPTIONS)


def _never_internal(plan) -> None:
    if plan.error is not None:
        assert "internal" not in plan.error.message and "kfix bug" not in plan.error.message, plan.error
        assert plan.error.line, plan.error


# --- 3. alias bombs, however the anchors are spelled --------------------------------------------------------
def _bomb(before_anchor: list[str], levels: int = 6, fan: int = 9) -> str:
    """A flow-sequence billion-laughs document; ``before_anchor[i]`` is written just before anchor i."""
    lines = ["["]
    lines.append(f'{before_anchor[0]}&a0 [{", ".join(["lol"] * fan)}],')
    for i in range(1, levels):
        lines.append(f'{before_anchor[i]}&a{i} [{", ".join([f"*a{i - 1}"] * fan)}],')
    lines.append("]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_with_a_bom_before_each_anchor_is_refused() -> None:
    """libyaml skips a BOM at the start of a line: an anchor right after it is still an anchor."""
    text = _bomb(["\ufeff"] * 9, levels=9)
    assert len(text.encode()) < 500
    with pytest.raises(InputError) as refused:
        parse(text)
    assert "alias" in refused.value.message and refused.value.line


def test_alias_bomb_with_boms_through_the_cli(tmp_path) -> None:
    (tmp_path / "bomb.yaml").write_text(_bomb(["\ufeff"] * 9, levels=9), encoding="utf-8")
    rc, _out, err = run_kfix(["scan", "bomb.yaml"], cwd=tmp_path, timeout=60)
    assert rc == 2 and "bomb.yaml:" in err and "alias" in err and "Traceback" not in err


@FUZZ
@given(st.lists(st.sampled_from(["", " ", "\t", "\ufeff", "  ", "\n", "\n\ufeff", "\n  ", " \ufeff"]),
                min_size=6, max_size=6))
def test_alias_bombs_are_refused_whatever_precedes_the_anchors(before: list[str]) -> None:
    text = _bomb(before, levels=6, fan=9)  # 9**6 = 531,441 nodes expanded: over the limit
    try:
        parse(text)
    except InputError as exc:
        assert "alias" in exc.message or "invalid YAML" in exc.message, exc.message
    else:  # it parsed: then libyaml did not see anchors there, and nothing was expanded
        pytest.fail(f"parsed an alias bomb: {text!r}")


# --- 8. valid files refused as internal errors -------------------------------------------------------------
@pytest.mark.parametrize("style", ["|", "|-", "|+", ">", ">-", "|2"])
def test_a_file_ending_inside_a_block_scalar_without_newline(style: str) -> None:
    text = POD + f"    args:\n    - {style}\n      echo hi"
    plan = _plan(text)
    _never_internal(plan)
    if plan.error is not None:
        assert "block scalar" in plan.error.message and plan.error.line == 10, plan.error
    else:
        assert plan.changed


LINE_BREAKS = ["\r", "\x85", "\u2028", "\u2029", "\r\n"]


@FUZZ
@given(st.sampled_from([POD, DEPLOYMENT]), st.data())
def test_other_line_breaks_are_handled_or_refused_with_a_line(base: str, data) -> None:
    positions = [i for i, c in enumerate(base) if c == "\n"]
    chosen = data.draw(st.lists(st.sampled_from(positions), min_size=1, max_size=4, unique=True))
    text = list(base)
    for pos in chosen:
        text[pos] = data.draw(st.sampled_from(LINE_BREAKS))
    text = "".join(text)
    if data.draw(st.booleans()):
        text = text.rstrip("\n")
    plan = _plan(text)
    _never_internal(plan)


@pytest.mark.parametrize("brk", LINE_BREAKS[:4])
def test_a_lone_line_break_after_an_edited_flow_mapping_is_a_refusal(brk: str) -> None:
    """The editor splits lines at LF: ``{}`` turned into a block before a lone break cannot be kept."""
    text = DEPLOYMENT.replace("securityContext: {}\n        args:\n        - |\n          echo hi\n",
                              "securityContext: {}" + brk)
    plan = _plan(text)
    _never_internal(plan)
    assert plan.error is not None and "line break" in plan.error.message and plan.error.line == 11


# nesting: block levels (indentation) and flow levels mixed so that no single sign is large
def _nested_pod(block: int, flow: int) -> str:
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n"
    text += "".join(" " * (i + 3) + f"k{i}:\n" for i in range(block))
    text += " " * (block + 3) + "v: " + "[" * flow + "]" * flow + "\n"
    return text + "spec:\n  containers:\n  - name: web\n    image: nginx\n"


@pytest.mark.parametrize("block,flow", [(390, 400), (300, 495), (495, 300), (150, 700)])
def test_deep_nesting_is_the_same_refusal_with_its_line(block: int, flow: int) -> None:
    plan = _plan(_nested_pod(block, flow))
    assert plan.error is not None
    assert f"nested more than {MAX_DEPTH} levels" in plan.error.message
    assert plan.error.line == block + 6  # the line of the deepest flow collection


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 480), st.integers(0, 480))
def test_nesting_is_fixed_or_refused_never_an_internal_error(block: int, flow: int) -> None:
    plan = _plan(_nested_pod(block, flow))
    _never_internal(plan)
    depth = block + flow + 3  # metadata, annotations, the mapping at the bottom
    if depth > MAX_DEPTH:
        assert plan.error is not None and "nested" in plan.error.message
    else:
        assert plan.error is None and plan.changed


# --- 10. the smaller ones -------------------------------------------------------------------------------------
JOB = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\nspec:\n  template:\n    spec:\n      containers:\n" \
      "      - name: j\n        image: busybox\n"
BAD_DECISIONS = {
    "not-a-mapping": ("decisions: [1, 2]\n", 1, "not a mapping"),
    "second-entry": ("decisions:\n- {rule: resources, file: j.yaml, resource: Job/j, decision: yes}\n"
                     "- {rule: resources, file: j.yaml, resource: Job/j, decision: 2017-01-01}\n", 3, "yes or no"),
    "invalid-yaml": ("decisions:\n- [\n", 3, "not valid YAML"),
    "duplicate-key": ("decisions: []\ndecisions: []\n", 2, "duplicate key"),
    "two-documents": ("decisions: []\n---\ndecisions: []\n", 3, "more than one document"),
    "entry-without-file": ("decisions:\n- rule: resources\n  file: [a]\n", 2, "'file'"),
}


@pytest.mark.parametrize("name", sorted(BAD_DECISIONS))
def test_a_malformed_decisions_file_is_exit_2_with_file_and_line(tmp_path, name: str) -> None:
    text, line, words = BAD_DECISIONS[name]
    (tmp_path / "j.yaml").write_text(JOB)
    (tmp_path / "d.yaml").write_text(text)
    rc, _out, err = run_kfix(["review", "--decisions", "d.yaml", "j.yaml"], input="n\n", cwd=tmp_path)
    assert rc == 2 and "Traceback" not in err, err
    assert f"d.yaml:{line}: " in err and words in err, err
    assert (tmp_path / "j.yaml").read_text() == JOB


def test_a_malformed_json_decisions_file_names_its_line(tmp_path) -> None:
    (tmp_path / "j.yaml").write_text(JOB)
    (tmp_path / "d.json").write_text('{"decisions": [\n  {"rule": "resources"}\n')
    rc, _out, err = run_kfix(["review", "--decisions", "d.json", "j.yaml"], input="n\n", cwd=tmp_path)
    assert rc == 2 and "d.json:3: " in err and "not valid JSON" in err, err


@pytest.mark.parametrize("stream", [b"", b"\n", b"  \n\n"])
@pytest.mark.parametrize("command", [["apply", "-"], ["apply", "--write", "-"], ["diff", "-"], ["scan", "-"]])
def test_empty_stdin_passes_through(command: list[str], stream: bytes) -> None:
    rc, out, err = run_kfix(command, input=stream)
    assert rc == 0, err
    assert out == (stream if command[0] == "apply" else b"")
    assert "error" not in err


def test_stdin_is_bounded(tmp_path) -> None:
    (tmp_path / ".kfix.yaml").write_text("max-file-size: 1000\n")
    rc, out, err = run_kfix(["apply", "-"], input=POD * 100, cwd=tmp_path)
    assert rc == 2 and out == b"" and "stdin" in err and "size limit" in err


CHART_TEMPLATE = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n"
                  "      containers:\n        - name: web\n          image: nginx\n          securityContext:\n"
                  "            {{- toYaml .Values.securityContext | nindent 12 }}\n")
GOOD_META = "apiVersion: v2\nname: demo\nversion: 0.1.0\n"


def _deep_schema(levels: int) -> str:
    return '{"type": "object", "properties": {"a": ' * levels + '{"type": "string"}' + "}}" * levels


CHART_PROBLEMS = {  # file -> (content, line, words)
    "empty-chart-yaml": ("Chart.yaml", "", 1, "empty"),
    "binary-chart-yaml": ("Chart.yaml", "\x00\x01", 1, "binary"),
    "malformed-chart-yaml": ("Chart.yaml", "apiVersion: v2\nname: [x\n", 3, "invalid YAML"),
    "chart-yaml-list": ("Chart.yaml", "- a\n", 1, "mapping"),
    "chart-yaml-without-version": ("Chart.yaml", "apiVersion: v2\nname: demo\n", 1, "'version'"),
    "schema-not-json": ("values.schema.json", '{\n  "type": "object",\n  bad\n}', 3, "not valid JSON"),
    "schema-bad-type": ("values.schema.json", '{"properties": {"securityContext": {"type": "nope"}}}', 1,
                        "'nope' is not a JSON Schema type"),
    "schema-a-list": ("values.schema.json", "[1, 2]", 1, "object or a boolean"),
    "schema-deep": ("values.schema.json", _deep_schema(300), 1, "nested more than"),
    "schema-deeper-than-json": ("values.schema.json", _deep_schema(5000), 1, "nested more than"),
}


@pytest.mark.parametrize("name", sorted(CHART_PROBLEMS))
def test_unusable_chart_files_are_reported(tmp_path, name: str) -> None:
    from conftest import make_chart

    file, content, line, words = CHART_PROBLEMS[name]
    chart = make_chart(tmp_path / "chart", {"deploy.yaml": CHART_TEMPLATE}, "securityContext: {}\n", GOOD_META)
    (chart / file).write_text(content)
    values = (chart / "values.yaml").read_bytes()
    rc, _out, err = run_kfix(["apply", "--write", "chart"], cwd=tmp_path)
    assert rc == 2 and "Traceback" not in err and "internal" not in err, err
    assert f"error: chart/{file}:{line}: " in err and words in err, err
    assert (chart / "values.yaml").read_bytes() == values


def test_one_character_tokens_are_not_redacted_and_are_warned_about() -> None:
    from kfix.git.forges import implausible_token, redact
    from kfix.git.gitops import scrub

    assert redact("the branch exists", "e") == "the branch exists"
    assert scrub("the branch exists", ["e", None]) == "the branch exists"
    assert "cannot be a real one" in implausible_token("e")
    token = "ghp_" + "x1" * 18
    assert redact(f"bad token {token} at https://h/?t={token}", token) == \
        "bad token [REDACTED] at https://h/?t=[REDACTED]"
    assert implausible_token(token) is None


def test_a_file_that_cannot_be_written_is_named_with_its_line(tmp_path) -> None:
    from kfix.api import plan_paths, write_plan

    target = tmp_path / "pod.yaml"
    target.write_text(POD)
    (plan,) = plan_paths([str(tmp_path)], OPTIONS, jobs=1).plans
    os.chmod(tmp_path, 0o555)
    import shutil
    import subprocess as sp

    locked = shutil.which("chattr") and sp.run(["chattr", "+i", str(tmp_path)], capture_output=True).returncode == 0
    try:
        write_plan(plan)
    finally:
        if locked:
            sp.run(["chattr", "-i", str(tmp_path)], check=True)
        os.chmod(tmp_path, 0o755)
    if plan.error is None:
        pytest.skip("this user can write into a read-only folder")
    assert str(plan.error).startswith(f"{target}:{plan.changes[0].line}: cannot write: ")
