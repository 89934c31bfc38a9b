"""What ``--write`` promises (README, "What kfix guarantees"): a person's edit is never lost, nothing is
written outside the paths given, only regular files are read, owner/group/mode are kept, and a killed
run leaves nothing that the next run mistakes for input.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import age, copy_case, kfix_env, run_kfix, snapshot

from kfix.api import make_options, plan_paths, write_plan
from kfix.config import Config

CASE = "dockersamples+example-voting-app/k8s-specifications__vote-deployment.yaml"
POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    image: nginx\n"


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error: ")]


def _fixed(path: Path) -> bool:
    return b"allowPrivilegeEscalation: false" in path.read_bytes()


def _options():
    return make_options(Config())


# --- 1. lost updates -------------------------------------------------------------------------------------
def test_an_edit_saved_after_planning_is_never_overwritten(tmp_path: Path) -> None:
    """A person saves the file between kfix reading it and writing it: same size, even the same mtime;
    the content hash still tells, the file keeps the person's text and the plan reports it."""
    target = copy_case(CASE, tmp_path)
    result = plan_paths([str(tmp_path)], _options(), jobs=1)
    (plan,) = result.plans
    assert plan.changed
    st = target.stat()
    edited = target.read_bytes().replace(b"replicas: 1", b"replicas: 7")
    assert len(edited) == st.st_size and edited != target.read_bytes()
    target.write_bytes(edited)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    write_plan(plan)
    assert target.read_bytes() == edited
    assert plan.error is not None and "changed on disk" in str(plan.error)
    assert str(plan.error).startswith(f"{target}:")  # file and line


def test_a_touched_file_is_not_written(tmp_path: Path) -> None:
    target = copy_case(CASE, tmp_path)
    (plan,) = plan_paths([str(tmp_path)], _options(), jobs=1).plans
    before = target.read_bytes()
    os.utime(target, ns=(2_000_000_000 * 10**9, 2_000_000_000 * 10**9))
    write_plan(plan)
    assert target.read_bytes() == before and "changed on disk" in str(plan.error)


def test_a_file_deleted_after_planning_is_not_recreated(tmp_path: Path) -> None:
    target = copy_case(CASE, tmp_path)
    (plan,) = plan_paths([str(tmp_path)], _options(), jobs=1).plans
    target.unlink()
    write_plan(plan)
    assert not target.exists()
    assert "deleted" in str(plan.error)
    assert os.listdir(tmp_path) == []


def test_a_file_replaced_by_another_is_not_written(tmp_path: Path) -> None:
    """Same bytes, another inode (an editor that saves by rename): still not the file that was read."""
    target = copy_case(CASE, tmp_path)
    (plan,) = plan_paths([str(tmp_path)], _options(), jobs=1).plans
    st = target.stat()
    other = tmp_path / "other"
    other.write_bytes(target.read_bytes())
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, target)
    write_plan(plan)
    assert not _fixed(target) and "changed on disk" in str(plan.error)


def test_edits_made_while_a_run_goes_on_are_kept(tmp_path: Path) -> None:
    """Files edited or deleted while a ``--write`` run works on other files: each file is read when its
    turn comes, so an edit saved before that is fixed on top of, and a deleted file stays deleted."""
    names = [f"f{i}.yaml" for i in range(4)]
    for name in names:
        copy_case(CASE, tmp_path, name)
    comment = b"# saved by a person during the run\n"

    def person(done: int, _total: int) -> None:
        if done == 1:
            (tmp_path / "f1.yaml").write_bytes(comment + (tmp_path / "f1.yaml").read_bytes())
            (tmp_path / "f2.yaml").unlink()

    result = plan_paths([str(tmp_path)], _options(), jobs=1, progress=person, write=True)
    assert (tmp_path / "f1.yaml").read_bytes().startswith(comment) and _fixed(tmp_path / "f1.yaml")
    assert not (tmp_path / "f2.yaml").exists()
    assert [p.path for p in result.errors] == [str(tmp_path / "f2.yaml")]
    assert _fixed(tmp_path / "f0.yaml") and _fixed(tmp_path / "f3.yaml")


# --- 2. symbolic links out of the tree -------------------------------------------------------------------
def test_a_symlink_out_of_the_tree_is_never_written_through(tmp_path: Path) -> None:
    outside = copy_case(CASE, tmp_path / "outside", "target.yaml")
    inside = copy_case(CASE, tmp_path / "tree" / "real", "inside.yaml")
    tree = tmp_path / "tree"
    os.symlink("../outside/target.yaml", tree / "escape.yaml")
    os.symlink("real/inside.yaml", tree / "link.yaml")  # inside the tree: followed (once)
    before = snapshot(outside)
    for command in (["apply", "--write"], ["diff"]):
        rc, out, err = run_kfix([*command, "tree"], cwd=tmp_path)
        assert rc == 2, err
        assert snapshot(outside) == before
        assert any("escape.yaml" in e and "outside the paths given" in e for e in _error_lines(err)), err
        assert b"target.yaml" not in out and b"escape.yaml" not in out
    assert _fixed(inside) and os.path.islink(tree / "link.yaml")


def test_a_chart_values_file_linked_out_of_the_tree_is_not_written(tmp_path: Path) -> None:
    from conftest import make_chart

    template = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n"
                "      containers:\n        - name: web\n          image: nginx\n          securityContext:\n"
                "            {{- toYaml .Values.securityContext | nindent 12 }}\n")
    chart = make_chart(tmp_path / "tree" / "chart", {"deploy.yaml": template}, "securityContext: {}\n")
    outside = tmp_path / "outside.yaml"
    outside.write_text("securityContext: {}\n")
    (chart / "values.yaml").unlink()
    os.symlink(outside, chart / "values.yaml")
    rc, _out, err = run_kfix(["apply", "--write", "tree"], cwd=tmp_path)
    assert rc == 2, err
    assert outside.read_text() == "securityContext: {}\n"
    assert any("values.yaml" in e and "outside the paths given" in e for e in _error_lines(err)), err


# --- 4. special files ------------------------------------------------------------------------------------
def test_a_fifo_does_not_hang_the_run(tmp_path: Path) -> None:
    good = copy_case(CASE, tmp_path)
    os.mkfifo(tmp_path / "x.yaml")
    rc, _out, err = run_kfix(["apply", "--write", "."], cwd=tmp_path, timeout=60)
    assert rc == 2
    assert any("x.yaml" in e and "FIFO" in e for e in _error_lines(err)), err
    assert _fixed(good)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_devices_are_never_read(tmp_path: Path) -> None:
    good = copy_case(CASE, tmp_path)
    os.symlink("/dev/zero", tmp_path / "zero.yaml")
    rc, _out, err = run_kfix(["apply", "--write", "zero.yaml", good.name], cwd=tmp_path, timeout=60)
    assert rc == 2
    assert any("zero.yaml" in e and "character device" in e for e in _error_lines(err)), err
    assert _fixed(good)
    rc, _out, err = run_kfix(["scan", "--config", "/dev/zero", "."], cwd=tmp_path, timeout=60)
    assert rc == 2 and "/dev/zero" in err and "character device" in err and "Traceback" not in err


def test_the_size_limit_is_reported_as_such(tmp_path: Path) -> None:
    big = copy_case(CASE, tmp_path, "big.yaml")
    small = copy_case(CASE, tmp_path, "small.yaml")
    (tmp_path / ".kfix.yaml").write_text(f"max-file-size: {big.stat().st_size}\n")
    big.write_bytes(big.read_bytes() + b"# one byte more than the limit\n")
    before = snapshot(big)
    rc, _out, err = run_kfix(["apply", "--write", "."], cwd=tmp_path)
    assert rc == 2
    assert any("big.yaml" in e and "size limit" in e for e in _error_lines(err)), err
    assert snapshot(big) == before and not _fixed(big)
    assert _fixed(small)  # exactly at the limit
    (tmp_path / ".kfix.yaml").write_text("max-file-size: many\n")
    rc, _out, err = run_kfix(["scan", "."], cwd=tmp_path)
    assert rc == 2 and "max-file-size" in err


# --- 6. metadata -----------------------------------------------------------------------------------------
def test_owner_group_and_mode_are_kept(tmp_path: Path) -> None:
    target = copy_case(CASE, tmp_path)
    target.chmod(0o640)
    if os.geteuid() == 0:
        import pwd

        nobody = pwd.getpwnam("nobody")
        os.chown(target, nobody.pw_uid, nobody.pw_gid)
    st = target.stat()
    rc, _out, err = run_kfix(["apply", "--write", "."], cwd=tmp_path)
    assert rc in (0, 1), err
    assert _fixed(target)
    now = target.stat()
    assert (now.st_uid, now.st_gid, stat.S_IMODE(now.st_mode)) == (st.st_uid, st.st_gid, 0o640)


def test_hard_linked_and_read_only_files_are_reported_not_written(tmp_path: Path) -> None:
    linked = copy_case(CASE, tmp_path, "linked.yaml")
    os.link(linked, tmp_path / "second-name.txt")
    readonly = copy_case(CASE, tmp_path, "readonly.yaml")
    readonly.chmod(0o444)
    good = copy_case(CASE, tmp_path, "good.yaml")
    before = {p: snapshot(p) for p in (linked, readonly)}
    rc, _out, err = run_kfix(["apply", "--write", "."], cwd=tmp_path)
    assert rc == 2
    errors = _error_lines(err)
    assert any("linked.yaml:18:" in e and "2 hard links" in e for e in errors), err
    assert any("readonly.yaml:18:" in e and "read-only" in e for e in errors), err
    assert {p: snapshot(p) for p in before} == before
    assert os.stat(linked).st_ino == os.stat(tmp_path / "second-name.txt").st_ino
    assert _fixed(good)


# --- 7. crash leftovers ----------------------------------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_a_killed_run_are_removed_and_never_read(tmp_path: Path) -> None:
    good = copy_case(CASE, tmp_path / "deploy")
    stale = tmp_path / "deploy" / f".kfix-tmp-{_dead_pid()}-0123456789abcdef"
    stale.write_bytes(b"")
    running = tmp_path / "deploy" / f".kfix-tmp-{os.getpid()}-0123456789abcdef"  # this process is alive
    running.write_bytes(b"")
    other = tmp_path / "deploy" / ".kfix-tmp-notours"
    other.write_bytes(b"")
    rc, _out, err = run_kfix(["scan", "deploy", str(stale)], cwd=tmp_path)
    assert "empty" not in err and stale.exists()  # a dry run or scan removes nothing
    assert "temporary file of an interrupted kfix run" in err
    rc, _out, err = run_kfix(["apply", "--write", "deploy"], cwd=tmp_path)
    assert rc == 0, err
    assert not stale.exists() and running.exists() and other.exists()
    assert _fixed(good)


def test_killed_writes_leave_old_or_new_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    """kill -9 at moments spread over a ``--write`` run: every file is its old or its new self."""
    src = Path(__file__).parent / "golden" / "cases"
    tree = tmp_path / "tree"
    import shutil

    shutil.copytree(src, tree)
    old = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    expected_dir = tmp_path / "expected"
    shutil.copytree(src, expected_dir)
    run_kfix(["apply", "--write", "--jobs", "1", "."], cwd=expected_dir)
    new = {tree / p.relative_to(expected_dir): p.read_bytes() for p in expected_dir.rglob("*") if p.is_file()}
    for delay in (0.2, 0.35, 0.5, 0.8):
        proc = subprocess.Popen([sys.executable, "-m", "kfix", "apply", "--write", "--jobs", "1", "."], cwd=tree,
                                env=kfix_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.wait()
        for p in tree.rglob("*"):
            if p.is_file() and p in old:
                assert p.read_bytes() in (old[p], new[p]), p
    run_kfix(["apply", "--write", "--jobs", "1", "."], cwd=tree)
    assert sorted(p for p in tree.rglob("*")) == sorted(p for p in (tmp_path / "expected").rglob("*")
                                                        for p in [tree / p.relative_to(expected_dir)])
    assert {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()} == new
