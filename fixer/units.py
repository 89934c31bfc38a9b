"""Deployment units: the files a resource is deployed together with.

Facts that cross files (a RoleBinding of a service account, a namespace's NetworkPolicy or
ResourceQuota) count only within the unit a resource is deployed with: the Kustomize builds that
include its file (``resources:`` of kustomization files, followed through folders), or else the
folder the file is in. Units are found over the whole repository (the git work tree, else the folder
of the configuration file, else the folder named on the command line), so the answer for a file never
depends on which other files were named. What a build changes counts too: its ``namespace:`` (the
namespace the pods, policies and bindings of the build are matched in) and the service account a patch
gives a base's workload. Helm charts are planned through their values files (kfix.helm), each chart on
its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable

import yaml

from kfix import kustomize
from kfix.files import SKIP_DIRS, YAML_SUFFIXES, Listing
from kfix.gitignore import work_tree_root
from kfix.workloads import BUILTIN_POD_PATHS

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Patch:
    """A Kustomize patch file: the kustomization that applies it, and the files of the objects it overlays."""

    kustomization: str
    bases: tuple[str, ...] = ()


@dataclass
class Unit:
    name: str  # how a report names it ("folder deploy/", "Kustomize build overlays/prod")
    files: tuple[str, ...]  # absolute paths


@dataclass
class Units:
    """For each file of a run: its unit; and which files are Kustomize patches."""

    of: dict[str, Unit] = field(default_factory=dict)  # absolute path -> unit
    patches: dict[str, Patch] = field(default_factory=dict)  # absolute path -> patch
    # absolute path -> the namespaces the builds that deploy it set on its objects (None: a build that sets none)
    namespaces: dict[str, frozenset] = field(default_factory=dict)
    # absolute path of a base -> (kind, name) -> ((service account, "patch:line"), ...) its builds' patches set
    service_accounts: dict[str, dict] = field(default_factory=dict)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def repository_roots(files: Iterable[str], args: Iterable[str], config_dir: str | None) -> list[str]:
    """Where units are looked for: per file its git work tree, else the configuration file's folder (when
    the file is inside it), else the folder named on the command line that holds it, else its folder."""
    named = [os.path.abspath(a) for a in args if os.path.isdir(a)]
    roots: set[str] = set()
    git_roots: dict[str, str | None] = {}  # folder -> its work tree (files share folders)
    for f in files:
        folder = os.path.dirname(f)
        if folder not in git_roots:
            git_roots[folder] = work_tree_root(folder)
        root = git_roots[folder]
        if root is None and config_dir and _inside(f, os.path.abspath(config_dir)):
            root = os.path.abspath(config_dir)
        if root is None:
            root = next((a for a in named if _inside(f, a)), os.path.dirname(f))
        roots.add(root)
    return sorted(r for r in roots if not any(o != r and _inside(r, o) for o in roots))


def _rel(path: str, roots: list[str] = ()) -> str:
    """A path for reports: relative to the working folder when under it, else to its repository root (the
    whole path when it is that root: "folder ./" would name the working folder)."""
    rel = os.path.relpath(path)
    if not rel.startswith(".."):
        return rel
    root = next((r for r in roots if _inside(path, r)), None)
    rel = os.path.relpath(path, root) if root else path
    return path if rel == "." else rel


def find_units(files: list[str], args: Iterable[str] = (), config_dir: str | None = None,
               listing: Listing | None = None) -> Units:
    """The units of ``files`` (absolute paths of the YAML files of a run). ``listing``: the folders the
    run's file discovery read, read again only where it did not go."""
    listing = listing or Listing()
    units = Units()
    if not files:
        return units
    found: dict[str, kustomize.Kustomization] = {}
    roots = repository_roots(files, args, config_dir)
    for root in roots:
        for path in kustomize.find_all(root, SKIP_DIRS, listing.walk):
            k = kustomize.read(path)
            if k is not None:
                found[k.path] = k
    builds = {path: _build_files(path, found, set()) for path in found}
    containing: dict[str, list[str]] = {}
    for path, members in builds.items():
        for f in members:
            containing.setdefault(f, []).append(path)
    for k in found.values():
        for patch, targets in k.patches.items():
            units.patches[patch] = Patch(k.path, _bases(targets, patch, builds[k.path]))
            for (kind, name), account in _patched_accounts(patch, targets, roots):
                for base in units.patches[patch].bases:
                    accounts = units.service_accounts.setdefault(base, {}).setdefault((kind, name), ())
                    if account not in accounts:
                        units.service_accounts[base][(kind, name)] = accounts + (account,)
    deployed: dict[str, set] = {}
    included = set().union(set(), *(_nested(path, found) for path in found))
    for path in found:
        if path not in included:  # a build no other build includes: what is deployed
            _namespaces(path, found, None, set(), deployed)
    units.namespaces = {f: frozenset(ns) for f, ns in deployed.items() if ns != {None}}
    cache: dict[tuple, Unit] = {}
    for f in files:
        ks = tuple(sorted(containing.get(f, ())))
        if ks:
            unit = cache.get(ks)
            if unit is None:
                top = [k for k in ks if not any(k != o and k in _nested(o, found) for o in ks)]
                names = ", ".join((_rel(os.path.dirname(k), roots) or ".") + "/" for k in top)
                members = sorted(set().union(*(builds[k] for k in ks)))
                unit = cache[ks] = Unit(f"Kustomize build {names}", tuple(members))
        else:
            folder = os.path.dirname(f)
            unit = cache.get(("folder", folder))
            if unit is None:
                members = [f2 for f2 in _folder_files(folder, listing) if f2 not in containing]
                unit = cache[("folder", folder)] = Unit(f"folder {_rel(folder, roots) or '.'}/", tuple(members))
        units.of[f] = unit
    return units


def _build_files(path: str, found: dict, seen: set[str]) -> set[str]:
    """The files a kustomization's build deploys, through the kustomizations of the folders it lists."""
    if path in seen:
        return set()
    seen.add(path)
    k = found.get(path) or kustomize.read(path)
    if k is None:
        return set()
    found.setdefault(path, k)
    out: set[str] = set()
    for entry in k.resources:
        if os.path.isdir(entry):
            sub = kustomize.kustomization_in(entry)
            if sub is not None:
                out |= _build_files(os.path.abspath(sub), found, seen)
        elif os.path.isfile(entry):
            out.add(entry)
    return out


def _namespaces(path: str, found: dict, outer: str | None, seen: set, out: dict[str, set]) -> None:
    """The namespace each file of a build is deployed to: Kustomize sets a kustomization's ``namespace:`` on
    everything its build yields, so the outermost one that sets it wins (None: the files' own)."""
    if (path, outer) in seen:
        return
    seen.add((path, outer))
    k = found.get(path)
    if k is None:
        return
    namespace = outer or k.namespace
    for entry in k.resources:
        if os.path.isdir(entry):
            sub = kustomize.kustomization_in(entry)
            if sub is not None:
                _namespaces(os.path.abspath(sub), found, namespace, seen, out)
        elif os.path.isfile(entry):
            out.setdefault(entry, set()).add(namespace)


def _nested(path: str, found: dict) -> set[str]:
    """The kustomizations a build includes (directly or through others)."""
    out: set[str] = set()
    stack = [path]
    while stack:
        k = found.get(stack.pop())
        for entry in k.resources if k else []:
            sub = kustomize.kustomization_in(entry) if os.path.isdir(entry) else None
            if sub is not None and os.path.abspath(sub) not in out:
                out.add(os.path.abspath(sub))
                stack.append(os.path.abspath(sub))
    return out


def _folder_files(folder: str, listing: Listing) -> list[str]:
    regular = listing.read(folder)[3]
    return [os.path.join(folder, n) for n in sorted(regular) if n.endswith(YAML_SUFFIXES) and n not in kustomize.NAMES]


def _objects_in(path: str) -> list[tuple[str, str]]:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            docs = list(yaml.load_all(fh, Loader=_LOADER))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    out = []
    for d in docs:
        if isinstance(d, dict) and isinstance(d.get("metadata"), dict):
            out.append((str(d.get("kind") or ""), str(d["metadata"].get("name") or "")))
    return out


_ACCOUNT_KEYS = ("serviceAccountName", "serviceAccount")


def _patched_accounts(patch: str, targets: tuple, roots: list[str]) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """The service accounts a patch sets on the pods of the objects it overlays: ((kind, name), (account,
    "patch:line")). A strategic-merge patch names its object; a JSON 6902 patch writes the field at a path
    of its target's pod spec."""
    try:
        with open(patch, encoding="utf-8-sig") as fh:
            text = fh.read()
        docs = list(zip(yaml.compose_all(text, Loader=_LOADER), yaml.load_all(text, Loader=_LOADER)))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    out = []
    shown = _rel(patch, roots)
    for node, data in docs:
        if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
            spec = data
            for key in BUILTIN_POD_PATHS.get(str(data.get("kind")), ("-",)):
                spec = spec.get(key) if isinstance(spec, dict) else None
            account = next((spec[k] for k in _ACCOUNT_KEYS if isinstance(spec, dict) and isinstance(spec.get(k), str)),
                           None)
            if account:
                out.append(((str(data.get("kind")), str(data["metadata"].get("name") or "")),
                            (account, f"{shown}:{node.start_mark.line + 1}")))
        elif isinstance(data, list) and isinstance(node, yaml.SequenceNode):
            for i, op in enumerate(data):
                if not (isinstance(op, dict) and op.get("op") in ("add", "replace") and isinstance(op.get("value"), str)
                        and str(op.get("path", "")).rsplit("/", 1)[-1] in _ACCOUNT_KEYS):
                    continue
                line = node.value[i].start_mark.line + 1
                out.extend((target, (op["value"], f"{shown}:{line}")) for target in targets)
    return out


def _bases(targets: tuple, patch: str, members: set[str]) -> tuple[str, ...]:
    """The build's files that define the objects a patch overlays (its targets, or its own kind/name)."""
    wanted = set(targets) or set(_objects_in(patch))
    if not wanted:
        return ()
    hits = []
    for f in sorted(members):
        objs = _objects_in(f)
        if any((not kind or kind == k) and (not name or name == n) for kind, name in wanted for k, n in objs):
            hits.append(f)
    return tuple(hits)
