"""Kustomize layouts: which files a build deploys and which files are patches.

A ``kustomization.yaml`` (or ``.yml``, or ``Kustomization``) lists what its build deploys under
``resources:`` (and the older ``bases:``, and ``components:``): files, or folders with a kustomization
of their own. Files under ``patchesStrategicMerge:``, ``patchesJson6902:`` and ``patches:`` are
patches: partial objects (or JSON 6902 operations) laid over the build's resources, not workloads of
their own. Remote resources (URLs) are outside the repository and are skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import yaml

NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Kustomization:
    """One kustomization file, its paths resolved against its folder (normalised, absolute)."""

    path: str
    resources: list[str] = field(default_factory=list)  # files, and folders holding a kustomization
    patches: dict[str, tuple] = field(default_factory=dict)  # patch file -> targets ((kind, name), ...)
    namespace: str | None = None

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)


def kustomization_in(folder: str) -> str | None:
    """The kustomization file of a folder, if it has one."""
    for name in NAMES:
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def _local(entry: object) -> bool:
    text = str(entry)
    return isinstance(entry, str) and "://" not in text and not text.startswith(("github.com/", "git@")) \
        and "\n" not in text


def _target(spec: object) -> tuple:
    if isinstance(spec, dict) and (spec.get("kind") or spec.get("name")):
        return ((str(spec.get("kind") or ""), str(spec.get("name") or "")),)
    return ()


def read(path: str) -> Kustomization | None:
    """The kustomization at ``path``; None when it is not one kfix can read (it is then not a build)."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = yaml.load(fh, Loader=_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    k = Kustomization(os.path.abspath(path))
    if isinstance(data.get("namespace"), str):
        k.namespace = data["namespace"]

    def resolve(entry: str) -> str:
        return os.path.normpath(os.path.join(k.folder, entry))

    for key in ("resources", "bases", "components"):
        entries = data.get(key)
        for entry in entries if isinstance(entries, list) else []:
            if _local(entry):
                k.resources.append(resolve(entry))
    smp = data.get("patchesStrategicMerge")
    for entry in smp if isinstance(smp, list) else []:
        if _local(entry):
            k.patches.setdefault(resolve(entry), ())
    for key in ("patchesJson6902", "patches"):
        entries = data.get(key)
        for entry in entries if isinstance(entries, list) else []:
            path_ = entry.get("path") if isinstance(entry, dict) else entry
            if _local(path_):
                target = _target(entry.get("target")) if isinstance(entry, dict) else ()
                k.patches[resolve(path_)] = k.patches.get(resolve(path_), ()) + target
    return k


def find_all(root: str, skip_dirs: frozenset[str] | set[str], walk=os.walk) -> list[str]:
    """Every kustomization file under ``root`` (hidden folders and ``skip_dirs`` left out). ``walk``: an
    ``os.walk`` (e.g. ``kfix.files.Listing.walk``, which shares the folders file discovery read)."""
    out: list[str] = []
    for folder, dirs, names in walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs and not d.startswith("."))
        found = next((n for n in NAMES if n in names), None)
        if found:
            out.append(os.path.join(folder, found))
    return out
