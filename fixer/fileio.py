"""Reading inputs and replacing them safely.

A file is read once, with a stamp of what was read (device, inode, size, mtime, content hash). It is
replaced only if it is still that file, only inside the paths the run was given, keeping its owner,
group and mode, and atomically: the new bytes go to a temporary file in the same folder (named
``.kfix-tmp-<pid>-<random>``, so a run killed half-way leaves something recognisable, which the next
writing run removes) that is then renamed over the old one. Every reader sees the old file or the
new one, never a mix, even when kfix is killed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import stat
from dataclasses import dataclass

from kfix.errors import InputError

DEFAULT_MAX_FILE_SIZE = 64 * 1024 * 1024  # far above real manifests (a large CRD bundle is a few MB)
TEMP_PREFIX = ".kfix-tmp-"
_TEMP_NAME = re.compile(r"\.kfix-tmp-(\d+)-[0-9a-f]{16}\Z")
_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


@dataclass(frozen=True)
class FileStamp:
    """What was read: the file's identity and the hash of its bytes."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    digest: bytes

    def same_file(self, st: os.stat_result) -> bool:
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) == (self.dev, self.ino, self.size, self.mtime_ns)


def _kind(mode: int) -> str | None:
    """What a non-regular file is, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_input(path: str, max_size: int = DEFAULT_MAX_FILE_SIZE) -> tuple[bytes, FileStamp]:
    """The bytes of a regular file and their stamp; anything else is an InputError (nothing blocks:
    a FIFO is opened without waiting for a writer and refused, a device is never read)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except IsADirectoryError:
        raise InputError("is a directory", 1, path) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError("symbolic link loop", 1, path) from None
        raise InputError(f"cannot read: {exc.strerror or exc}", 1, path) from None
    try:
        before = os.fstat(fd)
        kind = _kind(before.st_mode)
        if kind is not None:
            raise InputError(f"{kind}, not a regular file; only regular files are read", 1, path)
        if before.st_size > max_size:
            raise InputError(f"{before.st_size} bytes, over the size limit of {max_size} bytes "
                             "(max-file-size in the configuration)", 1, path)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, max(65536, before.st_size + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_size:
                raise InputError(f"over the size limit of {max_size} bytes (max-file-size in the configuration)",
                                 1, path)
        after = os.fstat(fd)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", 1, path) from None
    finally:
        os.close(fd)
    raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or after.st_size != len(raw):
        raise InputError("changed while it was being read; left alone (run kfix again)", 1, path)
    return raw, FileStamp(after.st_dev, after.st_ino, after.st_size, after.st_mtime_ns, _digest(raw))


def _digest(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()


def inside(real: str, roots: tuple[str, ...]) -> bool:
    """Whether the resolved path ``real`` is one of ``roots`` (resolved) or below one of them."""
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def resolved_roots(paths: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(os.path.realpath(p) for p in paths)


def is_temp_name(name: str) -> bool:
    """A temporary file of kfix's atomic write (``.kfix-tmp-<pid>-<random>``)."""
    return name.startswith(TEMP_PREFIX) and _TEMP_NAME.match(name) is not None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid < 2**31
    return True


def remove_stale_temp_files(folders) -> list[str]:
    """Remove kfix's own temporary files that a killed run left in ``folders`` (those of a kfix process
    still running are kept); returns the paths removed."""
    removed = []
    for folder in sorted(set(folders)):
        try:
            names = [n for n in os.listdir(folder) if n.startswith(TEMP_PREFIX)]
        except OSError:
            continue
        for name in names:
            match = _TEMP_NAME.match(name)
            if match is None or _alive(int(match.group(1))):
                continue
            path = os.path.join(folder, name)
            try:
                if stat.S_ISREG(os.lstat(path).st_mode):
                    os.unlink(path)
                    removed.append(path)
            except OSError:
                pass
    return removed


class NotWritten(Exception):
    """A file kfix decided not to replace (it is reported; the file stays as it was)."""


def write_file(path: str, data: bytes, stamp: FileStamp | None = None, original: bytes | None = None,
               roots: tuple[str, ...] | None = None) -> None:
    """Replace ``path`` with ``data`` atomically, keeping owner, group and mode.

    ``stamp`` / ``original``: what was read; the file is replaced only if it is still that file
    (otherwise someone changed or deleted it since: NotWritten). ``roots``: resolved paths the run was
    given; a file whose real path is outside them (a symbolic link out of the tree) is NotWritten.
    A symbolic link inside stays a link: its target is rewritten. A file with several hard links or
    without any write permission is NotWritten (replacing it would split the links or override the
    read-only choice). OSError for what the system refuses.
    """
    target = os.path.realpath(path)
    if roots is not None and not inside(target, roots):
        raise NotWritten(f"resolves to {target}, outside the paths given; not written")
    folder = os.path.dirname(target) or "."
    expected = stamp is not None or original is not None
    try:
        st = os.stat(target)
    except FileNotFoundError:
        if expected:
            raise NotWritten("deleted since kfix read it; not recreated") from None
        st = None
    if st is not None:
        _check_replaceable(st)
        _check_unchanged(target, st, stamp, original)
        mode, uid, gid = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
    else:  # a new file: the mode open() would give it
        umask = os.umask(0)
        os.umask(umask)
        mode, uid, gid = 0o666 & ~umask, None, None
    tmp = os.path.join(folder, f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if uid is not None:
                own = os.fstat(fd)
                if (own.st_uid, own.st_gid) != (uid, gid):
                    try:
                        os.fchown(fd, uid, gid)
                    except PermissionError:
                        raise NotWritten(f"owned by uid {uid} gid {gid}; kfix (uid {os.geteuid()}) cannot keep "
                                         "its owner and group, not written") from None
            os.fchmod(fd, mode)  # after chown, which clears set-user-ID bits
        finally:
            os.close(fd)
        if st is not None:  # the last look before the rename: still the file that was read?
            try:
                now = os.stat(target)
            except FileNotFoundError:
                raise NotWritten("deleted since kfix read it; not recreated") from None
            _check_unchanged(target, now, stamp, original, hash_always=True)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _check_replaceable(st: os.stat_result) -> None:
    kind = _kind(st.st_mode)
    if kind is not None:
        raise NotWritten(f"{kind}, not a regular file; not written")
    if st.st_nlink > 1:
        raise NotWritten(f"has {st.st_nlink} hard links; replacing it would split them, not written "
                         "(break the links, or edit one of them yourself)")
    if not st.st_mode & 0o222:
        raise NotWritten(f"read-only (mode {stat.S_IMODE(st.st_mode):04o}); not written (make it writable to "
                         "let kfix fix it)")


def _check_unchanged(target: str, st: os.stat_result, stamp: FileStamp | None, original: bytes | None,
                     hash_always: bool = False) -> None:
    if stamp is None and original is None:
        return
    changed = "changed on disk since kfix read it; not written (run kfix again)"
    if stamp is not None and not stamp.same_file(st):
        raise NotWritten(changed)
    if original is not None and st.st_size != len(original):
        raise NotWritten(changed)
    if not hash_always and stamp is not None:
        return
    try:
        with open(target, "rb") as fh:
            now = fh.read(st.st_size + 1)
    except OSError as exc:
        raise NotWritten(f"cannot read it again before writing: {exc.strerror or exc}; not written") from None
    if (stamp is not None and _digest(now) != stamp.digest) or (original is not None and now != original):
        raise NotWritten(changed)
