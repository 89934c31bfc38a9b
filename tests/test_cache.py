"""The content cache (kfix.cache): what invalidates an entry, where it lives, what it tolerates.

Whether a run used an entry is seen from its output: the tests plant a marker in a stored finding's
message; a run that prints the marker used the entry, one that does not planned the file again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, kfix_env, run_kfix

import kfix.cache
from kfix.api import make_options, plan_paths
from kfix.cache import ContentCache
from kfix.config import Config

HARDENED = (REPO / "samples" / "already-hardened.yaml").read_text()  # needs no change; two report-only findings
MARKER = "<planted in the cache>"
NETWORK_POLICY = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""


@pytest.fixture
def tree(tmp_path):
    """A folder with one hardened manifest, and the cache folder its runs use (KFIX_CACHE_DIR)."""
    root = tmp_path / "deploy"
    root.mkdir()
    (root / "app.yaml").write_text(HARDENED)
    return root, tmp_path / "cache"


def scan(root: Path, cache: Path | None, *extra: str) -> tuple[int, dict]:
    code, out, err = run_kfix(["scan", "--format", "json", *extra, root],
                              env={"KFIX_CACHE_DIR": str(cache)} if cache else None)
    assert code in (0, 1), err
    return code, json.loads(out)


def entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.glob("kfix-*/*") if not p.name.startswith(".") and p.suffix != ".facts")


def plant(cache: Path) -> int:
    """Put the marker into every stored finding's message; returns how many entries were changed."""
    changed = 0
    for entry in entries(cache):
        data = json.loads(entry.read_text())
        for item in data["findings"]:
            item[2] = MARKER
        entry.write_text(json.dumps(data))
        changed += 1
    return changed


def messages(report: dict) -> list[str]:
    return [f["message"] for f in report["findings"]]


def test_a_file_that_needed_no_change_is_read_from_the_cache(tree):
    root, cache = tree
    _, first = scan(root, cache)
    assert len(first["findings"]) == 2 and MARKER not in messages(first)
    assert plant(cache) == 1
    _, second = scan(root, cache)
    assert messages(second) == [MARKER, MARKER]
    # everything else about the findings comes back as it was
    strip = lambda report: [{k: v for k, v in f.items() if k != "message"} for f in report["findings"]]  # noqa: E731
    assert strip(second) == strip(first)


def test_no_cache_neither_reads_nor_writes(tree):
    root, cache = tree
    scan(root, cache)
    plant(cache)
    _, report = scan(root, cache, "--no-cache")
    assert MARKER not in messages(report)
    other = cache.parent / "other-cache"
    scan(root, other, "--no-cache")
    assert not other.exists()


def test_a_changed_file_is_planned_again(tree):
    root, cache = tree
    scan(root, cache)
    plant(cache)
    (root / "app.yaml").write_text(HARDENED.replace("runAsNonRoot: true\n", "runAsNonRoot: true\n        fsGroup: 10001\n"))
    _, report = scan(root, cache)
    assert len(report["findings"]) == 2 and MARKER not in messages(report)


def test_a_changed_option_is_another_key(tree):
    root, cache = tree
    scan(root, cache)
    plant(cache)
    _, report = scan(root, cache, "--ignore", "resource-quota")
    assert messages(report) and MARKER not in messages(report)
    assert [f["rule"] for f in report["findings"]] == ["network-policy"]
    _, again = scan(root, cache)  # the first options' entry was replaced: planned again, no marker
    assert MARKER not in messages(again) and len(again["findings"]) == 2


def test_a_changed_configuration_setting_is_another_key(tree):
    root, cache = tree
    scan(root, cache)
    plant(cache)
    (root / ".kfix.yaml").write_text("profile: baseline\n")
    _, report = scan(root, cache)
    assert MARKER not in messages(report)


def test_a_changed_cross_file_fact_is_another_key(tree):
    """A NetworkPolicy added beside the file (its deployment unit) changes what the file's findings are."""
    root, cache = tree
    scan(root, cache)
    plant(cache)
    (root / "netpol.yaml").write_text(NETWORK_POLICY)
    _, report = scan(root, cache)
    app = [f for f in report["findings"] if f["file"].endswith("app.yaml")]
    assert [f["rule"] for f in app] == ["resource-quota"] and MARKER not in messages(report)


def test_a_file_that_needs_a_change_is_not_stored(tree):
    root, cache = tree
    (root / "app.yaml").write_text(HARDENED.replace("          allowPrivilegeEscalation: false\n", ""))
    code, out, err = run_kfix(["apply", "--check", root], env={"KFIX_CACHE_DIR": str(cache)})
    assert code == 1, err
    assert entries(cache) == []


def test_another_kfix_version_never_uses_an_entry(tree, monkeypatch):
    root, cache = tree
    options = make_options(Config())
    monkeypatch.setattr(kfix.cache, "__version__", "0.0.0-other")
    monkeypatch.setenv("KFIX_CACHE_DIR", str(cache))
    plan_paths([str(root)], options, jobs=1, cache=True)
    assert [p.parent.name for p in entries(cache)] == ["kfix-0.0.0-other"]
    plant(cache)
    monkeypatch.undo()
    monkeypatch.setenv("KFIX_CACHE_DIR", str(cache))
    result = plan_paths([str(root)], options, jobs=1, cache=True)
    assert MARKER not in [rep.finding.message for rep in result.findings()]
    # the other version's entries are gone from the folder kfix made
    assert [p.parent.name for p in entries(cache)] == [f"kfix-{kfix.__version__}"]


def test_a_corrupt_entry_is_ignored_and_replaced(tree):
    root, cache = tree
    _, first = scan(root, cache)
    for garbage in (b"", b"\x00\xff not json", b'{"key": 1}', b'{"key": "x", "findings": [[1]]}', b"[]"):
        (entry,) = entries(cache)
        entry.write_bytes(garbage)
        _, report = scan(root, cache)
        assert report == first
    (entry,) = entries(cache)
    assert json.loads(entry.read_text())["findings"]


def test_a_tampered_entry_with_the_right_key_but_wrong_shape_is_ignored(tree):
    root, cache = tree
    _, first = scan(root, cache)
    (entry,) = entries(cache)
    data = json.loads(entry.read_text())
    data["findings"][0][9] = "not-a-status"
    entry.write_text(json.dumps(data))
    _, report = scan(root, cache)
    assert report == first


def test_kfix_cache_dir_is_honoured_and_the_default_is_beside_the_configuration(tree):
    root, cache = tree
    scan(root, cache)
    assert len(entries(cache)) == 1 and not (root / ".kfix_cache").exists()
    # no configuration, no git: no project to keep a cache in, nothing is written
    scan(root, None)
    assert not [p for p in root.parent.rglob(".kfix_cache")]
    # beside the configuration file
    (root.parent / ".kfix.yaml").write_text("profile: hardened\n")
    scan(root, None)
    assert len(entries(root.parent / ".kfix_cache")) == 1
    assert (root.parent / ".kfix_cache" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_the_default_cache_is_at_the_git_root_and_git_ignores_it(tmp_path, isolated_git):
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "app.yaml").write_text(HARDENED)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    code, _, err = run_kfix(["scan", "deploy"], cwd=repo)
    assert code == 1, err
    assert len(entries(repo / ".kfix_cache")) == 1
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo, check=True,
                            capture_output=True, text=True).stdout
    assert status.split() == ["??", "deploy/app.yaml"]


def test_discovery_never_reads_the_cache_folder(tree):
    root, _ = tree
    (root / ".kfix.yaml").write_text("profile: hardened\n")
    scan(root, None)
    (root / ".kfix_cache" / "stray.yaml").write_text(HARDENED)
    _, report = scan(root, None)
    assert [Path(f["file"]).name for f in report["findings"]] == ["app.yaml", "app.yaml"]


def test_two_processes_at_once_share_a_cache(tree):
    """Several kfix processes filling and reading one cache together all print what a run without it prints."""
    root, cache = tree
    for i in range(40):
        (root / f"app{i:02d}.yaml").write_text(HARDENED.replace("static-site", f"site-{i}"))
    _, expected = scan(root, cache, "--no-cache")
    env = kfix_env({"KFIX_CACHE_DIR": str(cache)})
    for _round in range(2):  # a cold cache, then a warm one
        procs = [subprocess.Popen([sys.executable, "-m", "kfix", "scan", "--format", "json", "--jobs", "1", str(root)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for _ in range(3)]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 1, err
            assert json.loads(out) == expected
    assert len(entries(cache)) == 41
    assert not [p for p in cache.rglob(".tmp-*")]


def test_a_cache_that_cannot_be_written_is_passed_over(tree):
    root, cache = tree
    cache.write_text("a file where the cache folder would be")
    code, report = scan(root, cache)
    assert code == 1 and len(report["findings"]) == 2


def test_library_runs_do_not_use_the_cache_unless_asked(tree, monkeypatch):
    root, cache = tree
    monkeypatch.setenv("KFIX_CACHE_DIR", str(cache))
    plan_paths([str(root)], make_options(Config()), jobs=1)
    assert not cache.exists()
    assert ContentCache(str(cache)).folder == os.path.join(str(cache), f"kfix-{kfix.__version__}")


def test_the_facts_of_a_changed_file_are_read_again(tree):
    """A file's objects with cross-file facts are kept too; a change to that file, or an entry that cannot
    be read, means they are parsed again."""
    root, cache = tree
    (root / "netpol.yaml").write_text(NETWORK_POLICY)
    _, first = scan(root, cache)
    assert [f["rule"] for f in first["findings"]] == ["resource-quota"]
    (facts,) = cache.glob("kfix-*/*.facts")
    facts.write_bytes(b"\x00 not json")
    _, again = scan(root, cache)
    assert again == first
    (root / "netpol.yaml").write_text(NETWORK_POLICY.replace("  name: default-deny\n",
                                                             "  name: default-deny\n  namespace: elsewhere\n"))
    _, moved = scan(root, cache)
    assert sorted(f["rule"] for f in moved["findings"]) == ["network-policy", "resource-quota"]
