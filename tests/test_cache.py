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

from conftest import REPO, age, kfix_env, run_kfix

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


def indexes(cache: Path) -> list[Path]:
    return sorted(cache.glob("kfix-*/index.json"))


def records(cache: Path) -> dict:
    """The index's records (absolute path -> record) of this kfix version's cache."""
    found = [p for p in indexes(cache) if p.parent.name == f"kfix-{kfix.__version__}"]
    return json.loads(found[0].read_text())["files"] if found else {}


def entries(cache: Path) -> list[str]:
    """The files whose findings the cache holds (those that needed no change)."""
    return sorted(path for path, rec in records(cache).items() if rec.get("findings") is not None)


def rewrite(cache: Path, change) -> None:
    (index,) = indexes(cache)
    data = json.loads(index.read_text())
    for path, rec in data["files"].items():
        change(path, rec)
    index.write_text(json.dumps(data))


def plant(cache: Path) -> int:
    """Put the marker into every stored finding's message; returns how many files' findings were changed."""
    changed = []

    def mark(path, rec):
        for item in rec.get("findings") or []:
            item[2] = MARKER
        changed.extend([path] if rec.get("findings") else [])

    rewrite(cache, mark)
    return len(changed)


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


def test_a_kustomization_namespace_is_a_cross_file_fact(tree):
    """The namespace a Kustomize build deploys the file to changes what its findings say: another key."""
    root, cache = tree
    (root / "kustomization.yaml").write_text("resources:\n- app.yaml\n")
    scan(root, cache)
    assert plant(cache) == 1
    (root / "kustomization.yaml").write_text("namespace: shop\nresources:\n- app.yaml\n")
    _, report = scan(root, cache)
    assert MARKER not in messages(report)
    assert any("namespace shop (set by its Kustomize build)" in m for m in messages(report)), messages(report)


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
    assert [p.parent.name for p in indexes(cache)] == ["kfix-0.0.0-other"]
    plant(cache)
    monkeypatch.undo()
    monkeypatch.setenv("KFIX_CACHE_DIR", str(cache))
    result = plan_paths([str(root)], options, jobs=1, cache=True)
    assert MARKER not in [rep.finding.message for rep in result.findings()]
    # the other version's index is gone from the folder kfix made
    assert [p.parent.name for p in indexes(cache)] == [f"kfix-{kfix.__version__}"]


def test_an_index_of_other_code_is_not_used(tree):
    root, cache = tree
    scan(root, cache)
    plant(cache)
    (index,) = indexes(cache)
    data = json.loads(index.read_text())
    data["code"] = "0" * 64  # as kfix with other modules (an edited install) writes it
    index.write_text(json.dumps(data))
    _, report = scan(root, cache)
    assert MARKER not in messages(report)


def test_a_corrupt_index_is_ignored_and_replaced(tree):
    root, cache = tree
    _, first = scan(root, cache)
    for garbage in (b"", b"\x00\xff not json", b'{"code": 1}', b"[]", b'{"files": {}}'):
        (index,) = indexes(cache)
        index.write_bytes(garbage)
        _, report = scan(root, cache)
        assert report == first
    assert len(entries(cache)) == 1


@pytest.mark.parametrize("damage", [
    lambda rec: rec.update(findings=[[1]]),
    lambda rec: rec["findings"][0].__setitem__(9, "not-a-status"),
    lambda rec: rec["findings"][0].__setitem__(0, 5),
    lambda rec: rec.pop("kubernetes"),
    lambda rec: rec.update(findings="x"),
])
def test_a_damaged_record_with_the_right_key_is_ignored(tree, damage):
    root, cache = tree
    _, first = scan(root, cache)
    rewrite(cache, lambda path, rec: damage(rec))
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
    assert len(records(cache)) == 41


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


def test_a_file_the_cache_knows_by_its_identity_is_not_read_again(tree):
    """Files older than a clock tick are known by device, inode, size and times: their hash and fact
    objects come from the index (a damaged record is read again), and a change shows in their identity."""
    root, cache = tree
    (root / "netpol.yaml").write_text(NETWORK_POLICY)
    for path in root.iterdir():
        age(path)
    _, first = scan(root, cache)
    assert [f["rule"] for f in first["findings"]] == ["resource-quota"]
    assert all(rec["stat"] for rec in records(cache).values())
    plant(cache)
    _, again = scan(root, cache)
    assert messages(again) == [MARKER]
    rewrite(cache, lambda path, rec: rec.update(objects=5) if path.endswith("netpol.yaml") else None)
    _, damaged = scan(root, cache)
    assert [f["rule"] for f in damaged["findings"]] == ["resource-quota"]
    (root / "netpol.yaml").write_text(NETWORK_POLICY.replace("  name: default-deny\n",
                                                             "  name: default-deny\n  namespace: elsewhere\n"))
    _, moved = scan(root, cache)
    assert sorted(f["rule"] for f in moved["findings"]) == ["network-policy", "resource-quota"]
    assert MARKER not in messages(moved)


def test_a_file_changed_within_a_clock_tick_is_hashed_again(tree):
    """A file written moments ago is never vouched for by its identity alone (it could change again within
    the same clock tick, keeping size and times): its bytes are read and hashed on every run."""
    root, cache = tree
    scan(root, cache)
    assert [rec["stat"] for rec in records(cache).values()] == [None]
    (root / "app.yaml").write_text(HARDENED.replace("static-site", "static-sitE"))
    _, report = scan(root, cache)
    assert {f["resource"] for f in report["findings"]} == {"Deployment/static-sitE"}


def test_records_of_deleted_files_are_pruned_when_the_index_is_written(tree):
    root, cache = tree
    (root / "gone.yaml").write_text(HARDENED)
    (root / "kept.yaml").write_text(HARDENED)
    scan(root, cache)
    assert {Path(p).name for p in records(cache)} == {"app.yaml", "gone.yaml", "kept.yaml"}
    (root / "gone.yaml").unlink()
    (root / "new.yaml").write_text(HARDENED)  # something to record: the index is written, without gone.yaml
    scan(root, cache)
    assert {Path(p).name for p in records(cache)} == {"app.yaml", "kept.yaml", "new.yaml"}
    # a record of a file outside this run's paths stays while the file exists
    other = root.parent / "other"
    other.mkdir()
    (other / "x.yaml").write_text(HARDENED)
    scan(other, cache)
    (root / "newer.yaml").write_text(HARDENED)
    scan(root, cache)
    assert {Path(p).name for p in records(cache)} == {"app.yaml", "kept.yaml", "new.yaml", "newer.yaml", "x.yaml"}
