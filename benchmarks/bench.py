"""kfix throughput against a plain libyaml load of the same files, and start-up time.

Builds a corpus of at least 5,000 documents from samples/ and the golden test inputs (or takes a folder
with --corpus), then reports, in one run, each command's time relative to the reference loads taken just
before and after it:
  - load:   PyYAML CSafeLoader, load_all of every file, single process, fresh interpreter (the reference, 1.0x)
  - kfix apply --write, one process (--jobs 1) and default jobs (all cores for large inputs)
  - kfix apply --check on the tree ``apply --write`` left (already hardened: the CI / pre-commit steady
    state): with --no-cache, with a cold cache (first run, fills it), with a warm cache (second run) and
    once more (third run: every file older than the cache's two-second clock margin)
  - kfix scan --format json (default jobs) and scan --jobs 1
  - kfix --version start-up (seconds: the best of 10)
Every ratio comes from this run: the machine's speed drifts, so a figure measured minutes earlier would not
compare. Usage: python benchmarks/bench.py [--docs N] [--corpus DIR] [--python PYTHON] [--before [NAME=]PYTHON]...
(--python: the interpreter of the kfix to measure; --before: that of another kfix installation, e.g. a
checkout before a change, measured in the same run: each command runs for every installation in turn.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


@dataclass
class Kfix:
    """One kfix installation being measured, with its own trees and cache (runs of two never share them)."""

    name: str
    python: str
    tmp: Path

    def __post_init__(self) -> None:
        self.cmd = [self.python, "-m", "kfix"]
        self.cache = self.tmp / f"cache-{self.name}"
        # as installed: with its modules' bytecode written (pip compiles it; an environment that forbids
        # writing it would time Python's compiler on every run), which the first run here does
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.env["KFIX_CACHE_DIR"] = str(self.cache)
        help_text = subprocess.run([*self.cmd, "apply", "--help"], capture_output=True, text=True,
                                   env=self.env).stdout
        self.has_cache = "--no-cache" in help_text
        warm = self.tmp / f"warm-up-{self.name}.yaml"
        warm.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n"
                        "    image: nginx\n")
        subprocess.run([*self.cmd, "apply", "--write", str(warm)], capture_output=True, env=self.env)

    def tree(self, kind: str, base: Path) -> Path:
        return base if kind == "corpus" else self.tmp / f"{kind}-{self.name}"

    def startup(self) -> float:
        exe = Path(self.python).parent / "kfix"
        return min(time_cmd([str(exe) if exe.exists() else "kfix", "--version"], self.env) for _ in range(10))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--corpus", type=Path, help="a folder of manifests to measure instead of the built corpus")
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the kfix to measure")
    parser.add_argument("--before", action="append", default=[], metavar="[NAME=]PYTHON",
                        help="the interpreter of another kfix, measured in the same run (may be repeated)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "corpus"
        n_files, n_docs = copy_corpus(args.corpus, base) if args.corpus else build_corpus(base, args.docs)
        paths = _yaml_files(base)
        load_cmd = [sys.executable, "-c", LOAD, *paths]
        kfixes = [Kfix(*(b.split("=", 1) if "=" in b else (f"before{i + 1 if i else ''}", b)), Path(tmp))
                  for i, b in enumerate(args.before)] + [Kfix("kfix", args.python, Path(tmp))]
        # (label, arguments, tree it runs on, fresh copy of the corpus first, needs the cache)
        commands = [
            ("apply --write --jobs 1", ["apply", "--write", "--jobs", "1", "--no-cache"], "copy", True, False),
            ("apply --write", ["apply", "--write", "--no-cache"], "hardened", True, False),
            ("apply --check (hardened) --no-cache", ["apply", "--check", "--no-cache"], "hardened", False, False),
            # cold: an empty cache (the run fills it); warm: the next run. Files written moments before (by
            # apply --write) are hashed again then (the cache vouches for a file by its identity only once it
            # is two seconds old); the second warm run is the steady state of a tree nobody touched since.
            ("apply --check (hardened) cold cache", ["apply", "--check"], "hardened", False, True),
            ("apply --check (hardened) warm cache", ["apply", "--check"], "hardened", False, True),
            ("apply --check (hardened) warm, steady", ["apply", "--check"], "hardened", False, True),
            ("scan --format json", ["scan", "--format", "json", "--no-cache"], "corpus", False, False),
            ("scan --format json --jobs 1", ["scan", "--format", "json", "--jobs", "1", "--no-cache"], "corpus", False,
             False),
        ]
        time_cmd(load_cmd)  # warm the page cache
        # Each command is timed between two reference loads and compared with their mean: these machines
        # slow down and speed up over a run, and a ratio to a load measured minutes earlier would drift.
        results: dict[tuple[str, str], tuple[float, float]] = {}
        load = time_cmd(load_cmd)
        loads = [load]
        for label, cmd, tree, fresh, needs_cache in commands:
            for k in kfixes:
                if needs_cache and not k.has_cache:
                    continue
                target = k.tree(tree, base)
                if fresh:
                    shutil.rmtree(target, ignore_errors=True)
                    shutil.copytree(base, target)
                if "cold cache" in label:
                    shutil.rmtree(k.cache, ignore_errors=True)
                argv = [a for a in cmd if a != "--no-cache" or k.has_cache]
                seconds = time_cmd([*k.cmd, *argv, "--quiet", str(target)], k.env)
                after = time_cmd(load_cmd)
                loads.append(after)
                results[(k.name, label)] = (seconds, seconds / ((load + after) / 2))
                load = after
        startups = {k.name: k.startup() for k in kfixes}
    print(f"corpus: {n_files} files, {n_docs} documents; {os.cpu_count()} cores")
    print(f"{'CSafeLoader load (reference)':42s} {min(loads):7.3f} s   1.00x  (min of {len(loads)}; "
          f"max {max(loads):.3f} s)")
    if len(kfixes) > 1:
        print(f"{'':42s} " + "   ".join(f"{k.name:>16s}" for k in kfixes))
    for label, *_ in commands:
        cells = [f"{results[(k.name, label)][0]:7.3f} s {results[(k.name, label)][1]:5.2f}x"
                 if (k.name, label) in results else f"{'-':>16s}" for k in kfixes]
        print(f"{'kfix ' + label:42s} " + "   ".join(cells))
    print(f"{'kfix --version start-up':42s} " + "   ".join(f"{startups[k.name]:7.3f} s{'':7s}" for k in kfixes))


if __name__ == "__main__":
    main()
