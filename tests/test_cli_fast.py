"""``kfix.cli.fast`` runs plain scan/apply/diff command lines without typer's parser: the same values, the
same output and exit code as typer gives, and anything unusual is left to typer."""

from __future__ import annotations

import shutil

import pytest
import typer.main
from typer.testing import CliRunner

from conftest import CASES

from kfix.cli import commands, fast
from kfix.cli.app import app

LINES = [
    ["scan", "--format", "json", "{d}"],
    ["scan", "--format=sarif", "--profile", "baseline", "-j", "1", "{d}"],
    ["scan", "{d}", "--select", "run-as-non-root,drop-capabilities", "--select", "resources", "-q"],
    ["apply", "--check", "{d}"],
    ["apply", "{d}", "--ignore", "resources", "--no-color", "--unsafe-fixes"],
    ["apply", "--fail-on", "report", "--color", "never", "{d}", "--no-cache", "--no-ignore"],
    ["diff", "--exclude", "*.yml", "--jobs", "2", "{d}"],
    ["apply", "--check", "{d}/missing.yaml"],
]


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "deploy"
    for case in ("kfix", "FairwindsOps+polaris"):
        shutil.copytree(CASES / case, d / case)
    return str(d)


@pytest.mark.parametrize("line", LINES, ids=lambda line: " ".join(line[:3]))
def test_same_output_and_exit_code_as_typer(line, folder, capsys, monkeypatch):
    args = [a.replace("{d}", folder) for a in line]
    expected = CliRunner().invoke(app, args)
    capsys.readouterr()
    code = fast.run(args)
    out = capsys.readouterr().out
    assert code is not None
    assert (code, out) == (expected.exit_code, expected.stdout)


@pytest.mark.parametrize("line", LINES[:7], ids=lambda line: " ".join(line[:3]))
def test_same_values_as_typer(line):
    args = [a.replace("{d}", "x") for a in line]
    command = typer.main.get_command(app).commands[args[0]]
    params = command.make_context("kfix", list(args[1:])).params
    typer_values = {k: (None if v == () else v) for k, v in params.items()}  # typer passes None for unset lists
    assert fast._parse(getattr(commands, args[0]), args[1:]) == typer_values


@pytest.mark.parametrize("line", [["scan", "--help", "x"], ["scan"], ["scan", "-j4", "x"], ["apply", "-qw", "x"],
                                  ["scan", "--format", "xml", "x"], ["apply", "--jobs", "-1", "x"],
                                  ["apply", "--jobs", "+1", "x"], ["scan", "--", "-x"], ["scan", "--profile"],
                                  ["scan", "--quiet=1", "x"], ["scan", "--config", "a", "--config", "b", "x"],
                                  ["rules"], ["review", "x"], [], ["--version"], ["apply", "--Write", "x"]])
def test_anything_unusual_is_left_to_typer(line):
    assert fast.run(line) is None
