"""Configuration: ``.kfix.yaml`` or ``[tool.kfix]`` in pyproject.toml, found upward from a directory."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from kfix.rules import BY_ID, PROFILES, Settings
from kfix.rules.quantities import parse_quantity

from kfix.errors import ConfigError, InputError
from kfix.fileio import DEFAULT_MAX_FILE_SIZE, read_input
from kfix.workloads import DEFAULT_CUSTOM_RESOURCES, CustomResource

KEYS = {"profile", "select", "ignore", "unsafe-fixes", "exclude", "run-as-user", "run-as-group", "fs-group",
        "resources", "writable-paths", "allowed-capabilities", "custom-resources", "max-file-size",
        "edit-templates", "decisions"}
MAX_CONFIG_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Config:
    profile: str = "hardened"
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    unsafe_fixes: bool = False
    exclude: tuple[str, ...] = ()
    settings: Settings = field(default_factory=Settings)
    custom_resources: tuple[CustomResource, ...] = DEFAULT_CUSTOM_RESOURCES
    source: str | None = None
    max_file_size: int = DEFAULT_MAX_FILE_SIZE  # bytes; a larger input is reported, not read
    edit_templates: bool = False  # Helm charts: template edits (off: charts change through values only)
    decisions: str | None = None  # the project's decisions file (kfix.review), relative to the configuration's folder


def find_config(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        candidate = folder / ".kfix.yaml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.kfix" in pyproject.read_text(encoding="utf-8", errors="replace"):
            return pyproject
    return None


def config_start(target: str) -> Path:
    """Where the search for a target's configuration starts: the folder itself, or a file's folder."""
    path = Path(target).absolute()
    return path if path.is_dir() else path.parent


def config_for_paths(paths: list[str], explicit: str | None = None) -> list[tuple[Path | None, Config, list[str]]]:
    """The paths of a run grouped by the configuration that applies to them, in the order given.

    Like ruff, the configuration is found upward from each target (a folder, or a file's folder), not from
    the working directory; ``explicit`` (``--config``) applies to every path. Stdin ('-') and no paths
    search from the working directory. Each entry: (configuration file or None, its Config, paths).
    """
    if explicit:
        return [(Path(explicit), load_config(explicit), list(paths))]
    groups: dict[Path | None, tuple[Config, list[str]]] = {}
    for target in paths or ["-"]:
        found = find_config(Path.cwd().resolve() if target == "-" else config_start(target).resolve())
        if found not in groups:
            groups[found] = (load_config(str(found)) if found else Config(), [])
        groups[found][1].append(target)
    return [(found, cfg, group) for found, (cfg, group) in groups.items()]


def load_config(path: str | None = None, start: Path | None = None) -> Config:
    """Read the configuration file (explicit, or found upward from ``start``); defaults when none."""
    found = Path(path) if path else find_config((start or Path.cwd()).resolve())
    if found is None:
        return Config()
    try:
        text = read_input(str(found), MAX_CONFIG_SIZE)[0].decode("utf-8-sig")
    except InputError as exc:
        raise ConfigError(f"{found}: cannot read configuration: {exc.message}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{found}: cannot read configuration: not UTF-8 ({exc.reason})") from None
    try:
        if found.suffix == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # pragma: no cover - Python 3.10
                import tomli as tomllib  # type: ignore[no-redef]
            raw = tomllib.loads(text).get("tool", {}).get("kfix", {})
        else:
            raw = yaml.safe_load(text) or {}
    except Exception as exc:
        raise ConfigError(f"{found}: invalid configuration: {str(exc).splitlines()[0]}") from None
    try:
        return parse_config(raw, str(found))
    except (TypeError, ValueError, AttributeError) as exc:  # a malformed value the checks above did not expect
        raise ConfigError(f"{found}: invalid configuration: {type(exc).__name__}: {exc}") from None


def _list(raw: dict, key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of strings")
    return tuple(value)


MAX_ID = 2**31 - 1  # Kubernetes accepts UIDs and GIDs up to this


def _id(raw: dict, key: str, default: int, where: str) -> int:
    """A UID or GID kfix may write: 1..2^31-1 (0 is root: a hardening default must not be root)."""
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{where}: '{key}' must be an integer from 1 to {MAX_ID}")
    if value == 0:
        raise ConfigError(f"{where}: '{key}' is 0 (root); kfix sets it next to runAsNonRoot: true, so it must be "
                          f"a non-root ID from 1 to {MAX_ID}")
    if not 1 <= value <= MAX_ID:
        raise ConfigError(f"{where}: '{key}' is {value}; Kubernetes accepts IDs from 1 to {MAX_ID}")
    return value


def parse_config(raw: Any, where: str = "configuration") -> Config:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: configuration must be a mapping")
    unknown = set(raw) - KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s): {', '.join(sorted(unknown))} (known: {', '.join(sorted(KEYS))})")
    profile = raw.get("profile", "hardened")
    if profile not in PROFILES:
        raise ConfigError(f"{where}: profile must be one of {', '.join(PROFILES)}")
    select, ignore = _list(raw, "select", where), _list(raw, "ignore", where)
    check_rule_ids(select + ignore, where)
    base = Settings()
    res = raw.get("resources", {}) or {}
    if not isinstance(res, dict) or set(res) - {"requests", "limits"}:
        raise ConfigError(f"{where}: 'resources' takes 'requests' and 'limits'")
    sections = {}
    for section in ("requests", "limits"):
        values = dict(getattr(base, section))
        given = res.get(section, {}) or {}
        if not isinstance(given, dict) or set(given) - {"cpu", "memory"}:
            raise ConfigError(f"{where}: 'resources.{section}' takes 'cpu' and 'memory'")
        for name, value in given.items():
            if value is not None and (parse_quantity(value) is None or parse_quantity(value) < 0):
                raise ConfigError(f"{where}: resources.{section}.{name}: '{value}' is not a Kubernetes quantity "
                                  "(a non-negative number with an optional suffix such as 100m, 128Mi, 1G)")
            values[name] = None if value is None else str(value)
        sections[section] = values
    for name in ("cpu", "memory"):
        request, limit = sections["requests"].get(name), sections["limits"].get(name)
        if request is not None and limit is not None and parse_quantity(request) > parse_quantity(limit):
            given = res.get("limits") or {}
            raise ConfigError(f"{where}: resources.requests.{name} ({request}) is above "
                              f"{'' if name in given else 'the default '}resources.limits.{name} ({limit}); "
                              "Kubernetes rejects a request above its limit")
    writable = _list(raw, "writable-paths", where) if "writable-paths" in raw else base.writable_paths
    for p in writable:
        if not p.startswith("/"):
            raise ConfigError(f"{where}: writable path '{p}' must be absolute")
    settings = replace(base, run_as_user=_id(raw, "run-as-user", base.run_as_user, where),
                       run_as_group=_id(raw, "run-as-group", base.run_as_group, where),
                       fs_group=_id(raw, "fs-group", base.fs_group, where),
                       requests=sections["requests"], limits=sections["limits"], writable_paths=writable,
                       allowed_capabilities=_list(raw, "allowed-capabilities", where)
                       if "allowed-capabilities" in raw else base.allowed_capabilities)
    custom = list(DEFAULT_CUSTOM_RESOURCES)
    for entry in raw.get("custom-resources", []) or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("kind"), str) or \
                not isinstance(entry.get("pod-path"), str) or set(entry) - {"kind", "pod-path", "api-group"}:
            raise ConfigError(f"{where}: each custom-resources entry needs 'kind' and 'pod-path' "
                              "(and optionally 'api-group')")
        custom.append(CustomResource(entry["kind"], tuple(entry["pod-path"].split(".")), entry.get("api-group")))
    unsafe = raw.get("unsafe-fixes", False)
    if not isinstance(unsafe, bool):
        raise ConfigError(f"{where}: 'unsafe-fixes' must be true or false")
    max_size = raw.get("max-file-size", DEFAULT_MAX_FILE_SIZE)
    if not isinstance(max_size, int) or isinstance(max_size, bool) or max_size < 1:
        raise ConfigError(f"{where}: 'max-file-size' must be a positive number of bytes")
    edit = raw.get("edit-templates", False)
    if not isinstance(edit, bool):
        raise ConfigError(f"{where}: 'edit-templates' must be true or false")
    decisions = raw.get("decisions")
    if decisions is not None and (not isinstance(decisions, str) or not decisions.strip()):
        raise ConfigError(f"{where}: 'decisions' must be the path of a decisions file (relative to the "
                          "configuration's folder)")
    return Config(profile, select, ignore, unsafe, _list(raw, "exclude", where), settings, tuple(custom), where,
                  max_size, edit, decisions)


def decisions_path(config: Config) -> str | None:
    """The absolute path of the configured decisions file (``decisions:`` is relative to the folder of the
    configuration file that names it), or None when none is configured."""
    if config.decisions is None:
        return None
    folder = os.path.dirname(os.path.abspath(config.source)) if config.source and os.path.exists(config.source) \
        else os.getcwd()
    return os.path.normpath(os.path.join(folder, config.decisions))


def check_rule_ids(ids: tuple[str, ...] | list[str], where: str) -> None:
    bad = [i for i in ids if i not in BY_ID]
    if bad:
        raise ConfigError(f"{where}: unknown rule(s): {', '.join(bad)} (see 'kfix rules')")
