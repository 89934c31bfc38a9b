"""The content cache: a file that needed no change last time, and whose key is unchanged, is not parsed again.

In CI and pre-commit kfix mostly reads trees it hardened before. Per file, the cache keeps the findings
of its last plan when that plan changed nothing, under a key made of the hash of the file's bytes,
kfix's version (and its installed code), the run's effective options and the cross-file facts the
file's decisions could use (its deployment unit's bindings, NetworkPolicies and ResourceQuotas, and
whether it is a Kustomize patch). Any difference in the key is a miss; a changed, refused or failed
file is never stored.

Where: ``KFIX_CACHE_DIR`` when set, else ``.kfix_cache/`` beside the configuration file, else at the
root of the git work tree of the first path; outside both, there is no cache. One entry per file
(named by a hash of its real path), written atomically (a temporary file renamed over it), so two
kfix processes can share a cache: each reader sees a whole entry or none, and an entry that cannot be
read or does not match is a miss. Entries are JSON: the cache never runs anything it reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from typing import Any

from kfix.rules import Finding, Fix, Inventory

from kfix import __version__
from kfix.planner import FilePlan, Options, Reported

FOLDER_NAME = ".kfix_cache"
ENV = "KFIX_CACHE_DIR"
FORMAT = 1  # of the entries; part of every key
FACTS = ".facts"  # suffix of the entry that holds a file's objects with cross-file facts
_STATUSES = frozenset({"fix", "unsafe", "report", "exempt", "unfixable"})
_FIXES = {f.value: f for f in Fix}
_MARKER = "# Automatically created by kfix.\n"
_README = "Cache of kfix (https://github.com/kfix-dev/kfix): safe to delete.\n"


def cache_folder(paths: list[str], config_dir: str | None) -> str | None:
    """Where the cache of a run over ``paths`` lives (see the module's docstring); None outside any
    project (no configuration file, no git work tree): kfix then writes nothing beside the files."""
    explicit = os.environ.get(ENV)
    if explicit:
        return os.path.abspath(explicit)
    if config_dir:
        return os.path.join(config_dir, FOLDER_NAME)
    from kfix.gitignore import work_tree_root

    first = next((p for p in paths if p != "-"), ".")
    start = first if os.path.isdir(first) else os.path.dirname(os.path.abspath(first))
    root = work_tree_root(start)
    return os.path.join(root, FOLDER_NAME) if root else None


def _code_stamp() -> str:
    """kfix's version and the size and time of each of its modules: a cache is never trusted by another
    kfix, released or not."""
    import kfix
    import kfix.rules

    parts = [__version__, str(FORMAT)]
    for package in (kfix, kfix.rules):
        folder = os.path.dirname(package.__file__)
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(".py"):
                    st = os.stat(os.path.join(dirpath, name))
                    parts.append(f"{os.path.relpath(os.path.join(dirpath, name), folder)}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def options_stamp(options: Options) -> str:
    """The effective options, spelled out (every field that can change a finding)."""
    return repr((tuple(r.id for r in options.rules), options.profile, options.unsafe_fixes, options.settings,
                 options.custom_resources, options.overlay))


def _sorted_set(values: set) -> list:
    return sorted(values, key=lambda v: (v is not None, str(v)))


def facts_stamp(inventory: Inventory) -> str:
    """The cross-file facts of a deployment unit, spelled out: its name, bindings, policies and quotas."""
    bindings = sorted(((repr(k), v) for k, v in inventory.bindings.items()))
    return repr((inventory.unit, bindings, _sorted_set(inventory.network_policies),
                 _sorted_set(inventory.resource_quotas)))


class ContentCache:
    """One run's view of a cache folder: ``lookup`` before planning a file, ``store`` after."""

    def __init__(self, folder: str):
        self.root = folder
        self.folder = os.path.join(folder, f"kfix-{__version__}")
        self._code = _code_stamp()
        self._stamps: dict[int, tuple[Any, str]] = {}  # id(options or inventory) -> (object, its stamp)
        self._ready = False

    def key(self, content: bytes, options: Options, inventory: Inventory, patch_note: str | None) -> str:
        """The key of a file whose bytes hash to ``content`` (``FileStamp.digest``), planned with these
        options, its unit's facts and, for a Kustomize patch, its note."""
        digest = hashlib.sha256(content)
        digest.update(b"\0" + self._stamp(options, options_stamp).encode())
        digest.update(b"\0" + self._stamp(inventory, facts_stamp).encode())
        digest.update(b"\0" + repr(patch_note).encode() + b"\0" + self._code.encode())
        return digest.hexdigest()

    def _stamp(self, obj: Any, make) -> str:
        held = self._stamps.get(id(obj))
        if held is None or held[0] is not obj:
            held = self._stamps[id(obj)] = (obj, make(obj))
        return held[1]

    def entry(self, real: str) -> str:
        """The entry of the file whose resolved path is ``real``."""
        return os.path.join(self.folder, hashlib.sha256(real.encode()).hexdigest()[:40])

    def lookup(self, path: str, real: str, key: str) -> tuple[list[Reported], bool] | None:
        """The findings stored for the file ``path`` (resolved: ``real``) under ``key`` and whether it held Kubernetes objects; None when there is none, it is another key, or
        the entry cannot be read (a partial write of another program, a foreign file)."""
        try:
            with open(self.entry(real), "rb") as fh:
                entry = json.loads(fh.read())
            if entry["key"] != key:
                return None
            return [_reported(item, path) for item in entry["findings"]], bool(entry["kubernetes"])
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None

    def facts(self, real: str, digest: bytes) -> list[tuple[int, dict]] | None:
        """The objects with cross-file facts (``kfix.inventory.fact_objects``) stored for the file whose
        bytes hash to ``digest``; None when there is no such entry."""
        try:
            with open(self.entry(real) + FACTS, "rb") as fh:
                entry = json.loads(fh.read())
            if entry["key"] != self._facts_key(digest):
                return None
            return [(int(line), obj) for line, obj in entry["objects"] if isinstance(obj, dict)]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store_facts(self, real: str, digest: bytes, objects: list[tuple[int, dict]]) -> None:
        """Keep a file's fact objects when JSON gives them back exactly (else they are read anew each run)."""
        try:
            data = json.dumps({"key": self._facts_key(digest), "objects": objects}, separators=(",", ":"))
            if json.loads(data)["objects"] != [list(item) for item in objects]:
                return
        except (TypeError, ValueError):
            return
        self._write(self.entry(real) + FACTS, data.encode())

    def _facts_key(self, digest: bytes) -> str:
        return f"{digest.hex()}:{self._code}"

    def store(self, real: str, key: str, plan: FilePlan) -> None:
        """Keep the findings of a plan that changed nothing; nothing is stored for any other plan, and a
        cache that cannot be written is passed over (the run goes on without it)."""
        if plan.error is not None or plan.changes or plan.changed:
            return
        try:
            data = json.dumps({"key": key, "kubernetes": plan.kubernetes, "findings": [_item(rep) for rep in plan.findings]},
                              separators=(",", ":")).encode()
        except (TypeError, ValueError):  # a path step JSON cannot hold: not cached
            return
        self._write(self.entry(real), data)

    def _write(self, entry: str, data: bytes) -> None:
        """Replace an entry atomically (readers see the old or the new one); a failure is passed over."""
        tmp = os.path.join(self.folder, f".tmp-{os.getpid()}-{secrets.token_hex(8)}")
        try:
            self._prepare()
            with open(tmp, "xb") as fh:
                fh.write(data)
            os.replace(tmp, entry)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def _prepare(self) -> None:
        """Create the folder; one kfix creates holds a ``.gitignore`` that keeps it out of git (like ruff's),
        and in such a folder the entries of other kfix versions are removed."""
        if self._ready:
            return
        created = not os.path.isdir(self.root)
        os.makedirs(self.folder, exist_ok=True)
        ignore = os.path.join(self.root, ".gitignore")
        if created:
            _write_small(ignore, _MARKER + "*\n")
            _write_small(os.path.join(self.root, "README"), _README)
        try:
            with open(ignore, encoding="utf-8") as fh:
                ours = fh.read(len(_MARKER)) == _MARKER
        except (OSError, UnicodeDecodeError):
            ours = False
        if ours:  # never clean up in a folder kfix did not make (KFIX_CACHE_DIR may name any folder)
            for name in os.listdir(self.root):
                if name.startswith("kfix-") and name != os.path.basename(self.folder):
                    _remove_tree(os.path.join(self.root, name))
        self._ready = True


def _item(rep: Reported) -> list:
    f = rep.finding
    return [f.rule, f.facet, f.message, f.fix.value, list(f.path), f.container, sorted(f.checks),
            rep.line, rep.resource, rep.status, rep.note, rep.change_id]


def _reported(item: list, path: str) -> Reported:
    rule, facet, message, fix, where, container, checks, line, resource, status, note, change_id = item
    if status not in _STATUSES or not all(isinstance(v, str) for v in (rule, facet, message, resource, note)):
        raise ValueError("not an entry of this cache")
    finding = Finding(rule, facet, message, _FIXES[fix], tuple(where), container, (), frozenset(checks))
    return Reported(finding, path, int(line), resource, status, note, change_id)


def _write_small(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}-{secrets.token_hex(4)}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
