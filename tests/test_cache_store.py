"""FileCacheStore: atomic one-file-per-key entries, TTLs, corruption as a miss, concurrency."""

from __future__ import annotations

import multiprocessing
import os
import stat
import sys
from pathlib import Path

import pytest

from pinner.forge.cache import FORMAT, FileCacheStore, namespace_of


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def entry_files(root: Path) -> list[Path]:
    return [p for p in (root / FORMAT).rglob("*") if p.is_file()]


def test_round_trip_immutable_entry(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path)
    store.put("file/github.com/actions/checkout/" + "a" * 40 + "/action.yml", b"name: x\n")
    entry = store.get("file/github.com/actions/checkout/" + "a" * 40 + "/action.yml")
    assert entry is not None
    assert entry.value == b"name: x\n"
    assert entry.fresh is True
    assert entry.ttl is None
    assert entry.etag is None


def test_missing_key_is_none(tmp_path: Path) -> None:
    assert FileCacheStore(tmp_path).get("refs/x/y") is None
    assert FileCacheStore(tmp_path / "does" / "not" / "exist").get("refs/x/y") is None


def test_ttl_expiry_keeps_value_and_etag_but_marks_stale(tmp_path: Path) -> None:
    clock = FakeClock()
    store = FileCacheStore(tmp_path, clock=clock)
    store.put("refs/h/o/r", b"listing", ttl=60, etag='W/"abc"')
    clock.now += 59
    fresh = store.get("refs/h/o/r")
    assert fresh is not None and fresh.fresh and fresh.etag == 'W/"abc"'
    clock.now += 2
    stale = store.get("refs/h/o/r")
    assert stale is not None
    assert stale.fresh is False
    assert stale.value == b"listing"
    assert stale.etag == 'W/"abc"'
    # re-storing (e.g. after a 304) makes it fresh again
    store.put("refs/h/o/r", b"listing", ttl=60, etag='W/"abc"')
    again = store.get("refs/h/o/r")
    assert again is not None and again.fresh


def test_overwrite_replaces_value(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path)
    store.put("k/1", b"old")
    store.put("k/1", b"new")
    entry = store.get("k/1")
    assert entry is not None and entry.value == b"new"
    assert len(entry_files(tmp_path)) == 1


def test_empty_and_binary_values(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path)
    store.put("file/a", b"")
    store.put("file/b", bytes(range(256)) * 10)
    a, b = store.get("file/a"), store.get("file/b")
    assert a is not None and a.value == b""
    assert b is not None and b.value == bytes(range(256)) * 10


def test_format_version_and_namespace_in_path(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path)
    store.put("refs/github.com/actions/checkout", b"x")
    (path,) = entry_files(tmp_path)
    rel = path.relative_to(tmp_path).parts
    assert rel[0] == FORMAT
    assert rel[1] == "refs"
    assert len(rel[2]) == 2 and len(rel[3]) == 62  # sha256 split 2/62: no key text in paths


@pytest.mark.parametrize(
    "key, namespace",
    [("refs/x", "refs"), ("HTTP/x", "http"), ("../../etc/x", "_"), ("a b/c", "a_b"), ("", "_")],
)
def test_namespace_is_a_safe_file_name(key: str, namespace: str) -> None:
    assert namespace_of(key) == namespace


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # torn / truncated write
        lambda data: b"",  # zero-length file after a power cut
        lambda data: b"garbage" + data,  # wrong magic
        lambda data: data[:-1] + bytes([data[-1] ^ 0xFF]),  # bit rot in the value
        lambda data: data[:8] + b"\xff\xff\xff\xff" + data[12:],  # absurd header length
        lambda data: data[:13] + b"\x00" + data[14:],  # broken header JSON
    ],
)
def test_corrupt_entries_are_misses_and_get_overwritten(tmp_path: Path, damage) -> None:
    store = FileCacheStore(tmp_path)
    store.put("file/x", b"some value that is long enough")
    (path,) = entry_files(tmp_path)
    path.write_bytes(damage(path.read_bytes()))
    assert store.get("file/x") is None
    store.put("file/x", b"repaired")
    entry = store.get("file/x")
    assert entry is not None and entry.value == b"repaired"


def test_entry_for_another_key_at_the_same_path_is_a_miss(tmp_path: Path) -> None:
    """A hash collision (or a file moved by hand) must never answer for the wrong key."""
    store = FileCacheStore(tmp_path)
    store.put("file/one", b"1")
    store.put("file/two", b"2")
    one = store._path("file/one")
    two = store._path("file/two")
    two.write_bytes(one.read_bytes())
    assert store.get("file/two") is None


def test_unwritable_cache_dir_warns_once_and_continues(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache dir should be")
    warnings: list[str] = []
    store = FileCacheStore(blocker, warn=warnings.append)
    store.put("file/a", b"1")
    store.put("file/b", b"2")
    assert store.get("file/a") is None
    assert store.writable is False
    assert len(warnings) == 1
    assert "not writable" in warnings[0] and str(blocker) in warnings[0]


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_directory_warns_once(tmp_path: Path) -> None:
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        warnings: list[str] = []
        store = FileCacheStore(root, warn=warnings.append)
        store.put("file/a", b"1")
        store.put("file/b", b"1")
        assert len(warnings) == 1
    finally:
        root.chmod(stat.S_IRWXU)


def test_default_warning_goes_to_stderr(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("x")
    FileCacheStore(blocker).put("file/a", b"1")
    err = capsys.readouterr().err
    assert err.startswith("pinner: warning: cache dir") and err.count("\n") == 1


def test_info_counts_entries_per_namespace(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path)
    for i in range(3):
        store.put(f"file/h/o/r/{i}", b"x" * 10)
    store.put("refs/h/o/r", b"y" * 5, ttl=10)
    # a write in progress by another process is not an entry
    shard = next((tmp_path / FORMAT / "refs").iterdir())
    (shard / ".tmp-999-abc").write_bytes(b"partial")
    info = store.info()
    assert info.path == tmp_path
    assert info.entries == 4
    assert set(info.namespaces) == {"file", "refs"}
    assert info.namespaces["file"].entries == 3
    assert info.namespaces["refs"].entries == 1
    assert info.bytes == sum(u.bytes for u in info.namespaces.values())
    assert info.namespaces["file"].bytes > 30  # headers included: bytes on disk
    as_json = info.to_json()
    assert as_json["entries"] == 4 and as_json["format"] == FORMAT


def test_info_of_missing_dir_is_empty(tmp_path: Path) -> None:
    info = FileCacheStore(tmp_path / "nothing").info()
    assert info.entries == 0 and info.bytes == 0 and info.namespaces == {}


def test_clear_removes_entries_of_every_format_but_nothing_else(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path)
    store.put("file/a", b"1")
    store.put("refs/b", b"2", ttl=5)
    old = tmp_path / "v0" / "file" / "ab"
    old.mkdir(parents=True)
    (old / "cd").write_bytes(b"old layout")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("user file")
    assert store.info().other_formats == ("v0",)
    assert store.clear() == 3
    assert store.get("file/a") is None
    assert store.info().entries == 0
    assert not (tmp_path / "v0").exists()
    assert unrelated.read_text() == "user file"
    # still usable after clearing
    store.put("file/a", b"again")
    entry = store.get("file/a")
    assert entry is not None and entry.value == b"again"


def test_clear_of_missing_dir(tmp_path: Path) -> None:
    assert FileCacheStore(tmp_path / "none").clear() == 0


def test_a_store_keeps_working_after_another_process_cleared_the_cache(tmp_path: Path) -> None:
    writer = FileCacheStore(tmp_path)
    writer.put("file/a", b"1")
    FileCacheStore(tmp_path).clear()
    writer.put("file/a", b"2")
    assert writer.writable
    entry = writer.get("file/a")
    assert entry is not None and entry.value == b"2"


# --------------------------------------------------------------------------- concurrency

_KEYS = [f"file/shared/{i}" for i in range(8)]


def _hammer(root: str, worker: int, rounds: int, queue) -> None:
    """Write and read the same keys as the other workers; report any torn or foreign value."""
    store = FileCacheStore(Path(root), background=worker % 2 == 1)  # both write paths
    bad: list[str] = []
    for r in range(rounds):
        for key in _KEYS:
            value = f"{key}|{worker}|{r}|".encode() * (50 + (worker * 37 + r) % 200)
            store.put(key, value, ttl=3600, etag=f'"{worker}-{r}"')
            got = store.get(key)
            if got is None:
                bad.append(f"miss {key}")
                continue
            unit = got.value.split(b"|", 3)
            if len(unit) < 4 or unit[0].decode() != key:
                bad.append(f"foreign value for {key}")
                continue
            w, rr = unit[1].decode(), unit[2].decode()
            expected = f"{key}|{w}|{rr}|".encode() * (50 + (int(w) * 37 + int(rr)) % 200)
            if got.value != expected or got.etag != f'"{w}-{rr}"':
                bad.append(f"torn value for {key}")
    store.close()
    queue.put((worker, bad, store.writable))


def test_concurrent_processes_never_see_torn_entries(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(str(tmp_path), w, 40, queue)) for w in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    for worker, bad, writable in results:
        assert bad == [], f"worker {worker}: {bad[:5]}"
        assert writable
    # no temporary files left behind, exactly one entry per key
    info = FileCacheStore(tmp_path).info()
    assert info.entries == len(_KEYS)
    leftovers = [p for p in (tmp_path / FORMAT).rglob(".tmp-*")]
    assert leftovers == []


# --------------------------------------------------------------------------- write-behind


def test_background_put_is_readable_at_once_and_lands_on_flush(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path, background=True)
    for i in range(50):
        store.put(f"file/k/{i}", f"v{i}".encode(), ttl=60, etag=f'"{i}"')
    entry = store.get("file/k/7")  # from memory or disk, whichever: the same entry
    assert entry is not None and entry.value == b"v7" and entry.etag == '"7"' and entry.fresh
    store.flush()
    assert len(entry_files(tmp_path)) == 50
    other = FileCacheStore(tmp_path)  # another process sees it once flushed
    got = other.get("file/k/49")
    assert got is not None and got.value == b"v49"
    store.close()


def test_background_last_put_wins(tmp_path: Path) -> None:
    with FileCacheStore(tmp_path, background=True) as store:
        for i in range(20):
            store.put("file/same", str(i).encode())
        entry = store.get("file/same")
        assert entry is not None and entry.value == b"19"
    entry = FileCacheStore(tmp_path).get("file/same")
    assert entry is not None and entry.value == b"19"


def test_background_pending_entry_expires_like_a_stored_one(tmp_path: Path) -> None:
    clock = FakeClock()
    store = FileCacheStore(tmp_path, clock=clock, background=True)
    store.put("refs/x", b"1", ttl=10)
    clock.now += 11
    entry = store.get("refs/x")
    assert entry is not None and not entry.fresh and entry.age >= 11
    store.close()


def test_background_unwritable_warns_once(tmp_path: Path) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("x")
    warnings: list[str] = []
    store = FileCacheStore(blocker, warn=warnings.append, background=True)
    for i in range(10):
        store.put(f"file/{i}", b"1")
    store.close()
    assert len(warnings) == 1 and not store.writable
    assert store.get("file/3") is None  # nothing pending is left behind


def test_close_then_put_writes_synchronously(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path, background=True)
    store.close()
    store.close()  # idempotent
    store.put("file/a", b"1")
    assert len(entry_files(tmp_path)) == 1


def test_clear_and_info_wait_for_pending_writes(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path, background=True)
    for i in range(30):
        store.put(f"file/{i}", b"x")
    assert store.info().entries == 30
    for i in range(30, 60):
        store.put(f"file/{i}", b"x")
    assert store.clear() == 60
    assert store.info().entries == 0
    store.close()


def test_directory_moved_away_mid_write_is_retried_not_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent `pinner cache clear` renames the format dir between mkstemp and rename."""
    warnings: list[str] = []
    store = FileCacheStore(tmp_path, warn=warnings.append)
    store.put("file/a", b"1")
    real_replace = os.replace
    calls = {"n": 0}

    def replace_after_clear(src, dst):
        calls["n"] += 1
        if calls["n"] == 1:
            FileCacheStore(tmp_path).clear()  # the temp file vanishes with its directory
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_after_clear)
    store.put("file/a", b"2")
    monkeypatch.setattr(os, "replace", real_replace)
    assert warnings == [] and store.writable
    entry = store.get("file/a")
    assert entry is not None and entry.value == b"2"
