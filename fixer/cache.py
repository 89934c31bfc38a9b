"""The content cache: a file that needed no change last time, and whose key is unchanged, is not parsed again.

In CI and pre-commit kfix mostly reads trees it hardened before. Per file, the cache keeps the findings
of its last plan when that plan changed nothing, under a key made of the hash of the file's bytes,
kfix's version (and its installed code), the run's effective options and the cross-file facts the
file's decisions could use (its deployment unit's bindings, NetworkPolicies and ResourceQuotas, and
whether it is a Kustomize patch). Any difference in the key is a miss; a changed, refused or failed
file is never stored. It also keeps each file's objects with cross-file facts, and the identity its
bytes were hashed under (device, inode, size, times), so an unchanged file is not even read again.

Where: ``KFIX_CACHE_DIR`` when set, else ``.kfix_cache/`` beside the configuration file, else at the
root of the git work tree of the first path; outside both, there is no cache. One JSON index per kfix
version, read at the start of a run and written at its end (merged with what is on disk then, and
renamed over the old one), so two kfix processes can share a cache: each reads a whole index, and a
record that cannot be read or does not match is a miss. JSON: the cache never runs anything it reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import time
from typing import Any

from kfix.rules import Finding, Fix, Inventory

from kfix import __version__
from kfix.fileio import FileStamp
from kfix.planner import FilePlan, Options, Reported, finding_stub

FOLDER_NAME = ".kfix_cache"
ENV = "KFIX_CACHE_DIR"
FORMAT = 1  # of the entries; part of every key
INDEX = "index.json"  # per kfix version: absolute path of each file -> its record
RACY_NS = 2_000_000_000  # a file changed this recently is hashed every time (coarse file-system clocks)
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
    """The effective options, spelled out: every field (the rules by id), but where the configuration file
    is (which decides deployment units, and so shows in the facts)."""
    return repr(tuple((f.name, tuple(r.id for r in options.rules) if f.name == "rules" else getattr(options, f.name))
                      for f in dataclasses.fields(options) if f.name != "config_dir"))


def _sorted_set(values: set) -> list:
    return sorted(values, key=lambda v: (v is not None, str(v)))


def facts_stamp(inventory: Inventory) -> str:
    """The cross-file facts of a deployment unit, spelled out: its name, bindings, policies and quotas, and
    what its Kustomize builds give the file (namespaces, service accounts set by patches)."""
    bindings = sorted(((repr(k), v) for k, v in inventory.bindings.items()))
    accounts = sorted((repr(k), v) for k, v in inventory.service_accounts.items())
    return repr((inventory.unit, bindings, _sorted_set(inventory.network_policies),
                 _sorted_set(inventory.resource_quotas), list(inventory.namespaces), accounts))


class ContentCache:
    """One run's view of a cache folder: its index is read once, looked up before planning each file,
    and written back (merged with what other processes wrote meanwhile) at the end of the run."""

    def __init__(self, folder: str):
        self.root = folder
        self.folder = os.path.join(folder, f"kfix-{__version__}")
        self.index = os.path.join(self.folder, INDEX)
        self._code = _code_stamp()
        self._stamps: dict[int, tuple[Any, str]] = {}  # id(options or inventory) -> (object, its stamp)
        self._records: dict[str, dict] | None = None  # absolute path -> its record (see ``record``)
        self._changed: dict[str, dict] = {}  # the records this run made
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

    # ---- the index ------------------------------------------------------------------------------
    def _read_index(self) -> dict[str, dict]:
        """The records on disk; none when the index is missing, unreadable or of another kfix."""
        try:
            with open(self.index, "rb") as fh:
                data = json.loads(fh.read())
            if data["code"] != self._code or not isinstance(data["files"], dict):
                return {}
            return data["files"]
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def record(self, path: str) -> dict:
        """What the cache holds about the file at ``path`` (absolute): ``digest`` (hex) of its bytes,
        ``stat`` (the identity they were read under, when it can vouch for them), ``objects`` (its objects
        with cross-file facts), ``key``, ``kubernetes`` and ``findings`` (of its last plan, when it needed
        no change). Empty when there is nothing."""
        if self._records is None:
            self._records = self._read_index()
        found = self._changed.get(path) or self._records.get(path)
        return found if isinstance(found, dict) else {}

    def update(self, path: str, **fields: Any) -> None:
        """Change the record of ``path`` (kept in memory until ``save``)."""
        self._changed[path] = {**self.record(path), **fields}

    def save(self) -> None:
        """Write the index with this run's records over what is on disk now (another process may have
        written it meanwhile; where both wrote a file's record, this run's wins), without the records of
        files that no longer exist. Atomic: a reader sees
        the old index or the new one. A cache that cannot be written is passed over."""
        if not self._changed:
            return
        files = self._read_index()
        files.update(self._changed)
        for path in [p for p in files if p not in self._changed and not os.path.lexists(p)]:
            del files[path]  # a file deleted (or moved) since: its record would only grow the index
        self._write(self.index, json.dumps({"code": self._code, "files": files}, separators=(",", ":")).encode())
        self._changed = {}

    # ---- what a file's record says ----------------------------------------------------------------
    def known_stamp(self, path: str, st: os.stat_result) -> tuple[FileStamp, list] | None:
        """The stamp (with the hash of its bytes) and fact objects of a file the index knows by an
        identity it still has (device, inode, size, modification and change times), so it need not be
        read; None otherwise."""
        rec = self.record(path)
        if rec.get("stat") != [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]:
            return None
        try:
            digest = bytes.fromhex(rec["digest"])
            objects = [(int(line), obj) for line, obj in rec["objects"] if isinstance(obj, dict)]
        except (KeyError, TypeError, ValueError):
            return None
        return FileStamp(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, digest), objects

    def read(self, path: str, stamp: FileStamp, st: os.stat_result | None, objects: list) -> None:
        """Record what reading a file found. Its identity vouches for its bytes only when the file was
        last changed at least ``RACY_NS`` before it was read (a change within the same clock tick could
        leave every field the same: git's "racily clean" case)."""
        trusted = st is not None and st.st_mtime_ns < time.time_ns() - RACY_NS and \
            (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) == (stamp.dev, stamp.ino, stamp.size, stamp.mtime_ns)
        rec = self.record(path)
        fields: dict[str, Any] = {"digest": stamp.digest.hex(), "objects": _json_exact(objects)}
        if rec.get("digest") != fields["digest"]:
            fields.update(key=None, findings=None)
        fields["stat"] = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns] if trusted else None
        if fields["objects"] is None:
            fields["stat"] = None  # objects JSON cannot hold: the file is read again next time
            fields["objects"] = []
        if any(rec.get(k) != v for k, v in fields.items()):
            self.update(path, **fields)

    def lookup(self, path: str, shown: str, key: str, lean: bool = False) -> tuple[list[Reported], bool] | None:
        """The findings stored for the file at ``path`` (absolute; reports name it ``shown``) under ``key``
        (``lean``: as ``kfix.api.lean_plan`` leaves them) and whether it held Kubernetes objects; None when
        there are none, they are another key's, or the record is malformed."""
        rec = self.record(path)
        if rec.get("key") != key:
            return None
        try:
            make = _lean_reported if lean else _reported
            return [make(item, shown) for item in rec["findings"]], bool(rec["kubernetes"])
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None

    def entry_of(self, plan: FilePlan, key: str) -> tuple | None:
        """What to record of a plan that changed nothing (``store`` takes it); None for any other plan
        (a changed, refused or failed file is never stored)."""
        if plan.error is not None or plan.changes or plan.changed:
            return None
        items = _json_exact([_item(rep) for rep in plan.findings])
        return None if items is None else (key, plan.kubernetes, items)

    def store(self, path: str, entry: tuple) -> None:
        key, kubernetes, items = entry
        self.update(path, key=key, kubernetes=kubernetes, findings=items)

    def _write(self, target: str, data: bytes) -> None:
        """Replace a file of the cache atomically; a failure is passed over."""
        tmp = os.path.join(self.folder, f".tmp-{os.getpid()}-{secrets.token_hex(8)}")
        try:
            self._prepare()
            with open(tmp, "xb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def _prepare(self) -> None:
        """Create the folder; one kfix creates holds a ``.gitignore`` that keeps it out of git (like ruff's),
        and in such a folder the indexes of other kfix versions are removed."""
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


def _json_exact(value: Any) -> Any:
    """``value`` as JSON gives it back, or None when JSON would change it (a key that is not a string, a
    tuple, a date): such a value is not cached."""
    try:
        back = json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return None
    return back if back == value or _tuples_as_lists(value) == back else None


def _tuples_as_lists(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_tuples_as_lists(v) for v in value]
    return value


def _item(rep: Reported) -> list:
    f = rep.finding
    return [f.rule, f.facet, f.message, f.fix.value, list(f.path), f.container, sorted(f.checks),
            rep.line, rep.resource, rep.status, rep.note, rep.change_id]


def _reported(item: list, path: str) -> Reported:
    rule, facet, message, fix, where, container, checks, line, resource, status, note, change_id = item
    if status not in _STATUSES or type(rule) is not str or type(facet) is not str or type(message) is not str \
            or type(resource) is not str or type(note) is not str:
        raise ValueError("not an entry of this cache")
    finding = Finding(rule, facet, message, _FIXES[fix], tuple(where), container, (), frozenset(checks))
    return Reported(finding, path, int(line), resource, status, note, change_id)


def _lean_reported(item: list, path: str) -> Reported:
    rule, facet, message, fix, _where, _container, _checks, line, resource, status, _note, change_id = item
    if status not in _STATUSES or type(rule) is not str or type(facet) is not str or type(message) is not str:
        raise ValueError("not an entry of this cache")
    return Reported(finding_stub(rule, facet, _FIXES[fix], message), path, int(line), resource, status, "", change_id)


def _write_small(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}-{secrets.token_hex(4)}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
