"""The persistent cache: one file per key, shared safely by concurrent pinner processes.

Why files and not SQLite: several pinner processes (a matrix of CI jobs, an editor plugin and a
terminal) may share one cache dir. With one file per key written to a temporary name and then
``os.replace``-d into place, a reader sees either the whole old entry or the whole new one,
never a torn write, and no lock is ever held, so a crashed process cannot wedge the others.
Last writer wins, which is harmless: every writer stores an equally valid answer.

Layout (``FORMAT`` is part of the path so a future layout never reads this one)::

    ROOT/v1/NAMESPACE/ab/cdef0123...      sha256(key) split 2/62
    ROOT/v1/NAMESPACE/ab/.tmp-PID-XXXX   a write in progress (ignored by readers)

``NAMESPACE`` is the key's first ``/``-separated segment (``file``, ``refs``, ``http``, ...), so
``pinner cache info`` can say what the space is spent on. Each file is::

    MAGIC (8 bytes) | header length (4 bytes, big endian) | header JSON | value bytes

The header carries the key itself (a hash collision or a stray file is then a miss, not a wrong
answer), when it was stored, its TTL, the ETag and the value's length and CRC-32: anything that
does not check out is treated as a miss and will be overwritten, never an error. That includes
what is not a regular file at all: a directory, a FIFO or a symlink where an entry belongs is
a miss (never followed, never waited on), and the next write replaces it, as it replaces a file
where one of the cache's directories belongs. A damaged entry costs one request, never the
cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import struct
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

FORMAT = "v1"
"""Directory of the current on-disk layout under the cache root."""

_MAGIC = b"PINNERC1"
_HEADER_LEN = struct.Struct(">I")
_MAX_HEADER = 64 * 1024
_NAMESPACE_RE = re.compile(r"[^a-z0-9_.-]")
_TMP_PREFIX = ".tmp-"
_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO planted where an entry belongs must not block us
    | getattr(os, "O_NOFOLLOW", 0)  # nor a symlink lead the read elsewhere
    | getattr(os, "O_BINARY", 0)
)


@dataclass(frozen=True, slots=True)
class FileCacheEntry:
    """One entry read back from disk (implements :class:`pinner.forge.base.CacheEntry`)."""

    value: bytes
    etag: str | None
    fresh: bool  # False once a TTL entry has expired: still usable to revalidate or offline
    stored_at: float  # seconds since the epoch
    ttl: float | None  # None: immutable, kept forever
    age: float = 0.0  # seconds since stored, by the store's clock (readers may want it younger)


@dataclass(frozen=True, slots=True, eq=False)
class _Pending:
    """An entry accepted by ``put`` and not yet on disk (compared by identity)."""

    value: bytes
    etag: str | None
    stored_at: float
    ttl: float | None


@dataclass(frozen=True, slots=True)
class NamespaceUsage:
    """How many entries, and how many bytes on disk, one namespace holds."""

    entries: int
    bytes: int


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """What ``pinner cache info`` reports."""

    path: Path
    entries: int
    bytes: int
    namespaces: dict[str, NamespaceUsage] = field(default_factory=dict)
    other_formats: tuple[str, ...] = ()  # layouts of other pinner versions found beside ours

    def to_json(self) -> dict[str, object]:
        """``pinner cache info --format json`` (schema ``pinner.cache-info/1``)."""
        from pinner.formats.schemas import CACHE_INFO

        return {
            "schema": CACHE_INFO,
            "path": str(self.path),
            "format": FORMAT,
            "entries": self.entries,
            "bytes": self.bytes,
            "namespaces": {
                name: {"entries": u.entries, "bytes": u.bytes}
                for name, u in sorted(self.namespaces.items())
            },
            "other_formats": list(self.other_formats),
        }


def _stderr_warning(message: str) -> None:
    print(f"pinner: warning: {message}", file=sys.stderr)


class FileCacheStore:
    """A :class:`pinner.forge.base.CacheStore` backed by one file per key under ``root``.

    Every method is best-effort by design: a cache that cannot be read is a miss, a cache that
    cannot be written is skipped (with one warning per store), and pinner carries on, only
    slower. The cache must never be the reason a run fails.
    """

    def __init__(
        self,
        root: Path,
        *,
        warn: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
        background: bool = False,
    ) -> None:
        self.root = Path(root)
        self._dir = self.root / FORMAT
        self._warn = warn or _stderr_warning
        self._clock = clock
        self._writable = True
        self._lock = threading.Lock()
        # write-behind: key -> the entry being written, so reads see it before it lands
        self._pending: dict[str, _Pending] = {}
        self._writer = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="pinner-cache-writer")
            if background
            else None
        )

    def __repr__(self) -> str:
        return f"FileCacheStore({str(self.root)!r})"

    def __enter__(self) -> FileCacheStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def flush(self) -> None:
        """Wait until every write accepted so far is on disk (no-op without ``background``)."""
        if self._writer is not None:
            self._writer.submit(lambda: None).result()  # one worker: FIFO, so all before it

    def close(self) -> None:
        """Flush and stop the background writer; the store stays readable (and writes sync)."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.shutdown(wait=True)

    @property
    def writable(self) -> bool:
        """False once a write failed: the run then continues without storing anything."""
        return self._writable

    # ------------------------------------------------------------------ CacheStore protocol

    def get(self, key: str) -> FileCacheEntry | None:
        """The entry for ``key``, or None when absent, corrupt, or written by someone else."""
        with self._lock:
            pending = self._pending.get(key)
        if pending is not None:
            now = self._clock()
            return FileCacheEntry(
                value=pending.value,
                etag=pending.etag,
                fresh=pending.ttl is None or now < pending.stored_at + pending.ttl,
                stored_at=pending.stored_at,
                ttl=pending.ttl,
                age=now - pending.stored_at,
            )
        data = _read_entry(self._path(key))
        if data is None:  # absent, unreadable, a directory, not a regular file: all a miss
            return None
        parsed = _decode(data)
        if parsed is None:
            return None
        header, value = parsed
        if header.get("key") != key:
            return None
        stored_at = header.get("stored_at")
        ttl = header.get("ttl")
        etag = header.get("etag")
        if not isinstance(stored_at, int | float) or not (
            ttl is None or isinstance(ttl, int | float)
        ):
            return None
        if etag is not None and not isinstance(etag, str):
            return None
        now = self._clock()
        fresh = ttl is None or now < stored_at + ttl
        return FileCacheEntry(
            value=value, etag=etag, fresh=fresh, stored_at=stored_at, ttl=ttl, age=now - stored_at
        )

    def put(
        self, key: str, value: bytes, *, ttl: float | None = None, etag: str | None = None
    ) -> None:
        """Store ``value`` under ``key`` atomically; a failure disables writes, never raises.

        With ``background=True`` the file is written by one worker thread and this returns at
        once: on a slow or busy disk a write costs milliseconds, and a cold run makes hundreds
        of them from the event loop, which would otherwise stall every request in flight.
        """
        if not self._writable:
            return
        stored_at = self._clock()
        header = json.dumps(
            {
                "key": key,
                "stored_at": stored_at,
                "ttl": ttl,
                "etag": etag,
                "size": len(value),
                "crc32": zlib.crc32(value),
            },
            separators=(",", ":"),
        ).encode()
        blob = _MAGIC + _HEADER_LEN.pack(len(header)) + header + value
        writer = self._writer
        if writer is None:
            self._write(key, blob)
            return
        pending = _Pending(value, etag, stored_at, ttl)
        with self._lock:
            self._pending[key] = pending
        try:
            writer.submit(self._write_pending, key, blob, pending)
        except RuntimeError:  # closed meanwhile (interpreter shutting down): write here
            self._write_pending(key, blob, pending)

    def _write_pending(self, key: str, blob: bytes, pending: _Pending) -> None:
        try:
            self._write(key, blob)
        finally:
            with self._lock:
                if self._pending.get(key) is pending:  # a newer put may have replaced it
                    del self._pending[key]

    def _write(self, key: str, blob: bytes) -> None:
        if not self._writable:
            return
        target = self._path(key)
        try:
            try:
                self._write_once(target, blob)
            except OSError:
                # the first entry in this shard, another process's `cache clear` moved the
                # directory away under us, or something not ours is in the way (a directory
                # where the entry goes, a file where a directory goes): clear it, try once more
                self._clear_the_way(target)
                self._write_once(target, blob)
        except OSError as exc:
            with self._lock:
                first, self._writable = self._writable, False
            if first:
                reason = exc.strerror or type(exc).__name__
                self._warn(
                    f"cache dir {self.root} is not writable ({reason}); running without cache"
                )

    def _clear_the_way(self, target: Path) -> None:
        """Make ``target``'s directories real directories and ``target`` no directory.

        Only paths inside this store's format directory are touched, and only what stands
        where the store's own directories or entries belong.
        """
        for directory in (self._dir, target.parent.parent, target.parent):
            # a file, or a link to nothing: in the way (a link to a directory is kept)
            if not directory.is_dir() and (directory.is_symlink() or directory.exists()):
                directory.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir() and not target.is_symlink():
            aside = target.with_name(f"{_TMP_PREFIX}{os.getpid()}-stale-{target.name}")
            os.replace(target, aside)
            shutil.rmtree(aside, ignore_errors=True)

    @staticmethod
    def _write_once(target: Path, blob: bytes) -> None:
        """Write to a temporary file beside ``target``, then rename it into place."""
        fd, tmp = tempfile.mkstemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(blob)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    # ------------------------------------------------------------------ maintenance

    def info(self) -> CacheInfo:
        """Count entries and bytes per namespace (temporary files of live writers excluded)."""
        self.flush()
        namespaces: dict[str, NamespaceUsage] = {}
        for ns_dir in _subdirs(self._dir):
            entries = size = 0
            for path in _entry_files(ns_dir):
                try:
                    size += path.stat().st_size
                except OSError:  # removed by a concurrent clear
                    continue
                entries += 1
            if entries:
                namespaces[ns_dir.name] = NamespaceUsage(entries=entries, bytes=size)
        others = tuple(sorted(d.name for d in _subdirs(self.root) if d.name != FORMAT))
        return CacheInfo(
            path=self.root,
            entries=sum(u.entries for u in namespaces.values()),
            bytes=sum(u.bytes for u in namespaces.values()),
            namespaces=namespaces,
            other_formats=others,
        )

    def clear(self) -> int:
        """Delete every entry (of every format version); return how many entries were removed.

        The format directory is first renamed aside, so a concurrent pinner sees an empty cache
        at once instead of a half-deleted one, then deleted at leisure.
        """
        self.flush()
        removed = 0
        for version_dir in _subdirs(self.root):
            if not _is_format_dir(version_dir.name):
                continue  # never delete what pinner did not create
            removed += sum(1 for ns in _subdirs(version_dir) for _ in _entry_files(ns))
            aside = self.root / f"{_TMP_PREFIX}clear-{os.getpid()}-{version_dir.name}"
            try:
                os.replace(version_dir, aside)
            except OSError:
                aside = version_dir
            shutil.rmtree(aside, ignore_errors=True)
        for leftover in self.root.glob(f"{_TMP_PREFIX}clear-*") if self.root.is_dir() else ():
            shutil.rmtree(leftover, ignore_errors=True)
        return removed

    # ------------------------------------------------------------------ internals

    def _path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return self._dir / namespace_of(key) / digest[:2] / digest[2:]


def namespace_of(key: str) -> str:
    """The directory a key lives in: its first segment, made safe as a file name."""
    head = key.split("/", 1)[0].lower()
    return _NAMESPACE_RE.sub("_", head)[:40].strip(".") or "_"


def _read_entry(path: Path) -> bytes | None:
    """The bytes of the regular file at ``path``; None for anything else or any error."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _decode(data: bytes) -> tuple[dict[str, object], bytes] | None:
    """Split a cache file into header and value; None for anything torn, truncated or alien."""
    start = len(_MAGIC) + _HEADER_LEN.size
    if len(data) < start or not data.startswith(_MAGIC):
        return None
    (header_len,) = _HEADER_LEN.unpack_from(data, len(_MAGIC))
    if header_len > _MAX_HEADER or len(data) < start + header_len:
        return None
    try:
        header = json.loads(data[start : start + header_len])
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict):
        return None
    value = data[start + header_len :]
    if header.get("size") != len(value) or header.get("crc32") != zlib.crc32(value):
        return None
    return header, value


def _is_format_dir(name: str) -> bool:
    return bool(re.fullmatch(r"v\d+", name))


def _subdirs(path: Path) -> Iterator[Path]:
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                yield Path(entry.path)


def _entry_files(ns_dir: Path) -> Iterator[Path]:
    for shard in _subdirs(ns_dir):
        try:
            entries = list(os.scandir(shard))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.startswith(_TMP_PREFIX):
                yield Path(entry.path)
