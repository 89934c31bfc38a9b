"""Which files a run reads: YAML and Python files under the given paths, minus excludes and chart templates."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, replace
from pathlib import Path

from kfix.fileio import inside, is_temp_name
from kfix.gitignore import GitIgnore

YAML_SUFFIXES = (".yaml", ".yml")
PYTHON_SUFFIXES = (".py",)  # planned by the Python-source backend (kfix.python)
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "__pycache__", ".terraform", ".kfix_cache"}


@dataclass(frozen=True)
class Candidate:
    """A file to process, or one to mention and pass over (``note``) or report (``error``)."""

    path: str
    note: str | None = None
    error: str | None = None
    chart: bool = False  # a Helm chart directory: planned through its values files (kfix.helm.plan)
    real: str | None = None  # the resolved path (symbolic links followed), when discovery worked it out


class Listing:
    """Each folder a run walks, read once (``os.scandir``) and shared by everything that walks it: file
    discovery, the search for kustomizations, the files of a folder unit. ``walk`` is ``os.walk``
    (top-down, symbolic links to folders listed but not followed; pruning ``dirnames`` prunes)."""

    def __init__(self) -> None:
        self._folders: dict[str, tuple[list[str], list[str], frozenset[str], frozenset[str]]] = {}

    def read(self, folder: str) -> tuple[list[str], list[str], frozenset[str], frozenset[str]]:
        """(folders, other entries, names that are symbolic links, names that are regular files or links
        to one) of ``folder``; an unreadable folder is empty."""
        key = os.path.abspath(folder)
        held = self._folders.get(key)
        if held is None:
            dirs, other, links, regular = [], [], set(), set()
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        try:
                            is_dir = entry.is_dir()
                        except OSError:  # a symbolic link loop, a file gone meanwhile
                            is_dir = False
                        (dirs if is_dir else other).append(entry.name)
                        try:
                            if entry.is_symlink():
                                links.add(entry.name)
                            if not is_dir and entry.is_file():
                                regular.add(entry.name)
                        except OSError:  # treated with the care a symbolic link gets
                            links.add(entry.name)
            except OSError:
                pass
            held = self._folders[key] = (dirs, other, frozenset(links), frozenset(regular))
        return held

    def walk(self, top: str):
        dirs, other, links, _ = self.read(top)
        dirnames = list(dirs)
        yield top, dirnames, list(other)
        for name in dirnames:
            if name not in links:
                yield from self.walk(os.path.join(top, name))


def chart_root(path: Path) -> Path | None:
    """The Helm chart directory a file's ``templates/`` folder belongs to, if any."""
    for parent in path.parents:
        if parent.name == "templates" and (parent.parent / "Chart.yaml").is_file():
            return parent.parent
    return None


def is_chart_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "Chart.yaml"))


def _excluded(path: str, excludes: tuple[str, ...]) -> bool:
    norm = path.replace(os.sep, "/")
    return any(fnmatch.fnmatch(norm, g) or fnmatch.fnmatch(os.path.basename(norm), g) or
               fnmatch.fnmatch(norm, f"*/{g}") or fnmatch.fnmatch(norm, f"{g}/*") or
               fnmatch.fnmatch(norm, f"*/{g}/*") for g in excludes)


def discover(paths: list[str], excludes: tuple[str, ...] = (), roots: tuple[str, ...] | None = None,
             ignore_files: bool = True, listing: Listing | None = None) -> list[Candidate]:
    """Files to process in a stable order; explicit file arguments are taken whatever their suffix.

    A file named twice (or reached through a second name) is processed once. ``roots``: the resolved
    paths of the run; a symbolic link found in a folder that resolves outside them is reported, not
    followed. kfix's own temporary files are never input. ``ignore_files``: while walking folders, pass
    over what git ignores (``.gitignore``, ``.git/info/exclude``); a file named on the command line is
    always read. ``listing``: the folders read so far (shared with the search for kustomizations).
    """
    gitignore = GitIgnore() if ignore_files else None
    listing = listing or Listing()
    out: list[Candidate] = []
    seen: set[str] = set()
    real_dirs: dict[str, str] = {}

    def add(c: Candidate) -> None:
        key = c.real or (os.path.realpath(c.path) if c.error is None else c.path)
        if key not in seen:
            seen.add(key)
            out.append(c if c.real or c.error is not None else replace(c, real=key))

    for arg in paths:
        if os.path.islink(arg) and not os.path.exists(arg):
            add(Candidate(arg, error="broken symbolic link"))
            continue
        if os.path.isdir(arg):
            for dirpath, dirnames, filenames in listing.walk(arg):
                # a chart (its subcharts in charts/ go with it): its values files
                if "Chart.yaml" in filenames and is_chart_dir(dirpath):
                    add(Candidate(dirpath, chart=True))
                    dirnames[:] = []
                    continue
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS
                                     and not _excluded(os.path.join(dirpath, d), excludes)
                                     and not (gitignore and gitignore.ignored(os.path.join(dirpath, d), True)))
                links = listing.read(dirpath)[2]
                for name in sorted(filenames):
                    if not name.endswith(YAML_SUFFIXES + PYTHON_SUFFIXES) or is_temp_name(name):
                        continue
                    full = os.path.join(dirpath, name)
                    if (excludes and _excluded(full, excludes)) or (gitignore and gitignore.ignored(full)):
                        continue
                    if name in links:
                        add(_candidate(full, roots))
                        continue
                    real_dir = real_dirs.get(dirpath)
                    if real_dir is None:
                        real_dir = real_dirs[dirpath] = os.path.realpath(dirpath)
                    cand = _candidate(full, roots, link=False)
                    add(replace(cand, real=os.path.join(real_dir, name)) if cand.path == full else cand)
        elif os.path.exists(arg) or os.path.islink(arg):
            if is_temp_name(os.path.basename(arg)):
                add(Candidate(arg, note="a temporary file of an interrupted kfix run; not read"))
            elif not _excluded(arg, excludes):
                add(_candidate(arg))
        else:
            add(Candidate(arg, error="no such file or directory"))
    return out


def _candidate(path: str, roots: tuple[str, ...] | None = None, link: bool | None = None) -> Candidate:
    if link if link is not None else os.path.islink(path):
        try:
            os.stat(path)
        except OSError as exc:
            why = "symbolic link loop" if exc.errno == 40 else "broken symbolic link"
            return Candidate(path, error=why)
        real = os.path.realpath(path)
        if roots is not None and not inside(real, roots):
            return Candidate(path, error=f"symbolic link to {real}, outside the paths given; not followed")
    chart = chart_root(Path(path)) if "templates" in path else None  # the check walks every parent folder
    if chart is not None:
        return Candidate(path, note=f"Helm chart template (chart {chart}); not edited as YAML")
    parent = os.path.dirname(path) or "."
    if os.path.basename(path) == "values.yaml" and is_chart_dir(parent):
        return Candidate(parent, chart=True)  # a chart's values.yaml named on the command line: the chart
    return Candidate(path)
