"""kfix throughput against a plain libyaml load of the same files, and start-up time.

Builds a corpus of at least 5,000 documents from samples/ and the golden test inputs (or takes a folder
with --corpus), then reports, in one run, each command's time relative to the reference loads taken just
before and after it:
  - load:   PyYAML CSafeLoader, load_all of every file, single process, fresh interpreter (the reference, 1.0x)
  - kfix apply --write, one process (--jobs 1) and default jobs (all cores for large inputs)
  - kfix apply --check on the tree ``apply --write`` left (already hardened: the CI / pre-commit steady
    state): with --no-cache, with a cold cache (first run, fills it) and with a warm cache (second run)
  - kfix scan --format json (default jobs) and scan --jobs 1
  - kfix --version start-up (seconds: the best of 10)
Every ratio comes from this run: the machine's speed drifts, so a figure measured minutes earlier would not
compare. Usage: python benchmarks/bench.py [--docs N] [--corpus DIR] [--python PYTHON]
(--python: the interpreter of another kfix installation, e.g. to measure a checkout before a change.)
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
SUFFIXES = (".yaml", ".yml")

# Loads every file in a fresh interpreter, as kfix starts in one: the reference includes an interpreter
# start and a PyYAML import, so the ratios compare whole commands.
LOAD = """
import sys, yaml
for p in sys.argv[1:]:
    with open(p, "rb") as fh:
        list(yaml.load_all(fh.read(), Loader=yaml.CSafeLoader))
"""


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


def copy_corpus(source: Path, target: Path) -> tuple[int, int]:
    shutil.copytree(source, target)
    n_files = n_docs = 0
    for p in _yaml_files(target):
        os.chmod(p, 0o644)  # a read-only source (kfix refuses to replace read-only files)
        n_files += 1
        try:
            n_docs += sum(1 for d in yaml.load_all(p.read_bytes(), Loader=yaml.CSafeLoader) if d is not None)
        except yaml.YAMLError:
            pass
    return n_files, n_docs


def _yaml_files(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.name.endswith(SUFFIXES) and p.is_file())


def time_cmd(args: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--corpus", type=Path, help="a folder of manifests to measure instead of the built corpus")
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the kfix to measure")
    args = parser.parse_args()
    kfix = [args.python, "-m", "kfix"]
    exe = Path(args.python).parent / "kfix"
    help_text = subprocess.run([*kfix, "apply", "--help"], capture_output=True, text=True).stdout
    has_cache = "--no-cache" in help_text
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "corpus"
        n_files, n_docs = copy_corpus(args.corpus, base) if args.corpus else build_corpus(base, args.docs)
        paths = _yaml_files(base)
        load_cmd = [sys.executable, "-c", LOAD, *paths]
        hardened = Path(tmp) / "hardened"
        cache = Path(tmp) / "cache"
        env = dict(os.environ, KFIX_CACHE_DIR=str(cache))
        no_cache = ["--no-cache"] if has_cache else []
        # (label, arguments, tree it runs on, fresh copy of the corpus first, empty the cache first)
        commands = [
            ("apply --write --jobs 1", ["apply", "--write", "--jobs", "1", *no_cache], "copy", True),
            ("apply --write", ["apply", "--write", *no_cache], "hardened", True),
            ("apply --check (hardened) --no-cache", ["apply", "--check", *no_cache], "hardened", False),
        ]
        if has_cache:
            commands += [("apply --check (hardened) cold cache", ["apply", "--check"], "hardened", False),
                         ("apply --check (hardened) warm cache", ["apply", "--check"], "hardened", False)]
        commands += [("scan --format json", ["scan", "--format", "json", *no_cache], "corpus", False),
                     ("scan --format json --jobs 1", ["scan", "--format", "json", "--jobs", "1", *no_cache],
                      "corpus", False)]
        time_cmd(load_cmd)  # warm the page cache
        # Each command is timed between two reference loads and compared with their mean: these machines
        # slow down and speed up over a run, and a ratio to a load measured minutes earlier would drift.
        results = {}
        load = time_cmd(load_cmd)
        loads = [load]
        for label, cmd, tree, fresh in commands:
            target = {"corpus": base, "hardened": hardened, "copy": Path(tmp) / "copy"}[tree]
            if fresh:
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(base, target)
            if "cold cache" in label:
                shutil.rmtree(cache, ignore_errors=True)
            seconds = time_cmd([*kfix, *cmd, "--quiet", str(target)], env)
            after = time_cmd(load_cmd)
            loads.append(after)
            results[label] = (seconds, seconds / ((load + after) / 2))
            load = after
        startup = min(time_cmd([str(exe) if exe.exists() else "kfix", "--version"]) for _ in range(10))
    print(f"corpus: {n_files} files, {n_docs} documents; {os.cpu_count()} cores")
    print(f"{'CSafeLoader load (reference)':40s} {min(loads):7.3f} s   1.00x  (min of {len(loads)}; "
          f"max {max(loads):.3f} s)")
    for label, (seconds, ratio) in results.items():
        print(f"{'kfix ' + label:40s} {seconds:7.3f} s   {ratio:5.2f}x")
    print(f"{'kfix --version start-up':40s} {startup:7.3f} s")


if __name__ == "__main__":
    main()
