"""Which release of a library a Python file is built with, without running anything.

A library's features and defaults change between releases (cdk8s-plus gained capabilities and seccomp
profiles in later 2.x releases), so what kfix may write depends on the release in use. It is taken from,
in this order: a lock file (``Pipfile.lock``, ``poetry.lock``, ``uv.lock``) or an exact pin (``==``) in
the file's folder or the nearest parent folder that declares the library (up to the repository root);
the distribution installed beside kfix; the lowest release the declared requirement admits
(``requirements*.txt``, ``pyproject.toml`` of PEP 621 or Poetry, ``Pipfile``, ``setup.cfg``,
``setup.py`` read as text). ``packaging`` parses the version numbers and requirement strings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

_LOCKS = ("Pipfile.lock", "poetry.lock", "uv.lock")
_DECLARATIONS = ("pyproject.toml", "Pipfile", "setup.cfg", "setup.py")
_MAX_PARENTS = 8


@dataclass(frozen=True)
class Release:
    """A release of a distribution and where kfix learnt it (``exact`` False: the lowest one declared)."""

    version: Version
    source: str
    exact: bool = True


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def release_of(distribution: str, path: str | None) -> Release | None:
    """The release of ``distribution`` the code at ``path`` is built with, or None when nothing says."""
    folder = Path(path).resolve().parent if path else None
    declared = _declared(normalise(distribution), str(folder)) if folder is not None else None
    if declared is not None and declared.exact:
        return declared
    installed = _installed(normalise(distribution))
    if installed is not None and (declared is None or installed.version >= declared.version):
        return installed
    return declared


@lru_cache(maxsize=64)
def _installed(distribution: str) -> Release | None:
    try:
        return Release(Version(metadata.version(distribution)), "installed")
    except (metadata.PackageNotFoundError, InvalidVersion, ValueError):
        return None


@lru_cache(maxsize=1024)
def _declared(distribution: str, folder: str) -> Release | None:
    """The nearest folder's declaration of ``distribution`` (stopping at a repository root)."""
    here = Path(folder)
    for _ in range(_MAX_PARENTS):
        found = _in_folder(distribution, here)
        if found is not None:
            return found
        if (here / ".git").exists() or here.parent == here:
            return None
        here = here.parent
    return None


def _in_folder(distribution: str, folder: Path) -> Release | None:
    lowest: Release | None = None
    for name in _LOCKS:
        pinned = _read(folder / name, lambda text, n=name: _lock_version(n, text, distribution))
        if pinned is not None:
            return Release(pinned, _shown(folder / name))
    candidates = sorted(folder.glob("requirements*.txt")) + [folder / n for n in _DECLARATIONS]
    for path in candidates:
        found = _read(path, lambda text, p=path: _declared_in(p.name, text, distribution))
        if found is None:
            continue
        version, exact = found
        release = Release(version, _shown(path), exact)
        if exact:
            return release
        if lowest is None:
            lowest = release
    return lowest


def _shown(path: Path) -> str:
    """A declaration file as messages name it: relative to the working directory when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read(path: Path, parse):
    try:
        if not path.is_file() or path.stat().st_size > 4_000_000:
            return None
        return parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, tomllib.TOMLDecodeError):
        return None  # an unreadable or unusual file declares nothing kfix can use


def _lock_version(name: str, text: str, distribution: str) -> Version | None:
    if name == "Pipfile.lock":
        data = json.loads(text)
        for section in ("default", "develop"):
            for dist, entry in (data.get(section) or {}).items():
                if normalise(dist) == distribution and isinstance(entry, dict):
                    return _version(str(entry.get("version", "")).lstrip("="))
        return None
    for package in tomllib.loads(text).get("package", []):
        if isinstance(package, dict) and normalise(str(package.get("name", ""))) == distribution:
            return _version(str(package.get("version", "")))
    return None


def _declared_in(name: str, text: str, distribution: str) -> tuple[Version, bool] | None:
    """(release, exact) of the requirement on ``distribution`` in one declaration file."""
    if name == "pyproject.toml":
        data = tomllib.loads(text)
        project = data.get("project", {})
        lines = list(project.get("dependencies", []))
        for extra in (project.get("optional-dependencies") or {}).values():
            lines.extend(extra)
        found = _from_lines(lines, distribution)
        if found is not None:
            return found
        poetry = data.get("tool", {}).get("poetry", {})
        tables = [poetry.get("dependencies", {}), poetry.get("dev-dependencies", {})]
        tables += [g.get("dependencies", {}) for g in (poetry.get("group") or {}).values() if isinstance(g, dict)]
        return _from_tables(tables, distribution)
    if name == "Pipfile":
        data = tomllib.loads(text)
        return _from_tables([data.get("packages", {}), data.get("dev-packages", {})], distribution)
    if name.endswith(".txt"):
        return _from_lines(text.splitlines(), distribution)
    # setup.py / setup.cfg: requirement strings read as text, never executed
    pattern = re.compile(r"""(?:^|["'\s])(%s\s*(?:\[[^\]]*\])?\s*[<>=!~][^"'\n#;]*)""" % _name_pattern(distribution),
                         re.IGNORECASE | re.MULTILINE)
    return _from_lines([m.group(1) for m in pattern.finditer(text)], distribution)


def _name_pattern(distribution: str) -> str:
    return "[-_.]+".join(re.escape(p) for p in distribution.split("-"))


def _from_lines(lines, distribution: str) -> tuple[Version, bool] | None:
    for line in lines:
        line = str(line).split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if normalise(req.name) == distribution:
            return _lowest(req.specifier)
    return None


def _from_tables(tables, distribution: str) -> tuple[Version, bool] | None:
    for table in tables:
        if not isinstance(table, dict):
            continue
        for dist, spec in table.items():
            if normalise(dist) != distribution:
                continue
            if isinstance(spec, dict):
                spec = spec.get("version", "*")
            return _poetry_lowest(str(spec))
    return None


def _poetry_lowest(spec: str) -> tuple[Version, bool] | None:
    """Poetry and Pipfile constraints: ``*``, ``2.2.6``, ``^2.2``, ``~2.2``, ``==2.2.6``, ``>=2.2,<3``."""
    spec = spec.strip()
    if spec in ("", "*"):
        return None
    if spec[0] in "^~" and not spec.startswith("~="):
        version = _version(spec.lstrip("^~").strip())
        return (version, False) if version is not None else None
    if spec[0].isdigit():
        version = _version(spec)
        return (version, True) if version is not None else None
    try:
        return _lowest(SpecifierSet(spec))
    except InvalidSpecifier:
        return None


def _lowest(specifiers: SpecifierSet) -> tuple[Version, bool] | None:
    """The lowest release a requirement admits, and whether it admits only that one."""
    lowest: Version | None = None
    for spec in specifiers:
        if spec.operator in ("==", "===") and "*" not in spec.version:
            version = _version(spec.version)
            if version is not None:
                return version, True
        if spec.operator in (">=", "~=", ">", "=="):
            version = _version(spec.version.rstrip(".*"))
            if version is not None and (lowest is None or version > lowest):
                lowest = version
    return (lowest, False) if lowest is not None else None


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None
