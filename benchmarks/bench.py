"""kfix throughput against a plain libyaml load of the same files, and start-up time.

Builds a corpus of at least 5,000 documents from samples/ and the golden test inputs, then reports,
in one run, each command's time relative to the reference loads taken just before and after it:
  - load:   PyYAML CSafeLoader, load_all of every file, single process (the reference, 1.0x)
  - kfix apply --write, one process (--jobs 1), as a ratio to load
  - kfix apply --write, all cores (--jobs 0), as a ratio to load
  - kfix apply --check (everything but the writes: parse, rules, edits, verifying re-parse), and kfix scan
  - kfix --version start-up
Usage: python benchmarks/bench.py [--docs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "samples", ROOT / "tests" / "golden" / "cases"]


def build_corpus(target: Path, min_docs: int) -> tuple[int, int]:
    files = [p for src in SOURCES for p in sorted(src.rglob("*.y*ml"))]
    usable = []
    for p in files:
        try:
            docs = [d for d in yaml.load_all(p.read_bytes(), Loader=yaml.CSafeLoader) if d is not None]
        except yaml.YAMLError:
            continue
        if docs:
            usable.append((p, len(docs)))
    total_docs = n_files = copy = 0
    while total_docs < min_docs:
        for p, n in usable:
            dest = target / f"copy{copy:03d}" / p.parent.name / p.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest)
            total_docs += n
            n_files += 1
        copy += 1
    return n_files, total_docs


def time_load(root: Path) -> float:
    paths = sorted(root.rglob("*.y*ml"))
    start = time.perf_counter()
    for p in paths:
        list(yaml.load_all(p.read_bytes(), Loader=yaml.CSafeLoader))
    return time.perf_counter() - start


def time_cmd(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=5000)
    args = parser.parse_args()
    kfix = [sys.executable, "-m", "kfix"]
    exe = shutil.which("kfix", path=str(Path(sys.executable).parent)) or shutil.which("kfix")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "corpus"
        n_files, n_docs = build_corpus(base, args.docs)
        time_load(base)  # warm the page cache
        commands = {
            "apply --write --jobs 1": ["apply", "--write", "--jobs", "1"],
            "apply --write --jobs 0": ["apply", "--write", "--jobs", "0"],
            "apply --check --jobs 1": ["apply", "--check", "--jobs", "1"],
            "scan --jobs 1": ["scan", "--jobs", "1"],
        }
        # Each command is timed between two reference loads and compared with their mean: these machines
        # slow down and speed up over a run, and a ratio to a load measured minutes earlier would drift.
        results = {}
        load = time_load(base)
        loads = [load]
        for label, cmd in commands.items():
            target = base
            if "--write" in cmd:
                target = Path(tmp) / label.replace(" ", "_")
                shutil.copytree(base, target)
            seconds = time_cmd([*kfix, *cmd, "--quiet", str(target)])
            after = time_load(base)
            loads.append(after)
            results[label] = (seconds, seconds / ((load + after) / 2))
            load = after
        startup = min(time_cmd([exe or "kfix", "--version"]) for _ in range(10))
    print(f"corpus: {n_files} files, {n_docs} documents; {os.cpu_count()} cores")
    print(f"{'CSafeLoader load (reference)':32s} {min(loads):7.3f} s   1.00x  (min of {len(loads)}; "
          f"max {max(loads):.3f} s)")
    for label, (seconds, ratio) in results.items():
        print(f"{'kfix ' + label:32s} {seconds:7.3f} s   {ratio:5.2f}x")
    print(f"{'kfix --version start-up':32s} {startup:7.3f} s")


if __name__ == "__main__":
    main()
