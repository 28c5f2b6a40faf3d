"""``pinner lock`` on the real-world corpus: every consumer, and tampered lockfiles.

Every consumer of ``../shared/corpus/consumers`` (copied) gets a lockfile GitHub's parser accepts,
and a second run changes nothing. Then a lockfile written for one consumer is tampered with the
four ways an attacker or a bad merge would (a moved commit, a changed id, a missing entry, an
impostor commit): ``pinner lock --check`` must name each with the extension's finding (or
pinner's, where the extension has none) and exit 1, where the untouched file passed.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from pinner.core.lockfile import key_ref, key_repo, parse_lockfile
from pinner.forge.snapshot import SnapshotData
from pinner.formats.lockfile import LockEntry, Lockfile, commit_digest, render
from tests.lockvectors import LOCKCHECK, lockcheck
from tests.test_lock_cli import files_of, run_lock

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

LOCK = ".github/workflows/actions.lock"


def copy_consumer(src: Path, dst: Path) -> Path:
    """A writable copy (the corpus is read-only)."""
    shutil.copytree(src, dst, copy_function=shutil.copyfile)
    for path in [dst, *dst.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dst


@pytest.fixture(scope="module")
def consumers(shared_dir: Path) -> list[Path]:
    root = shared_dir / "corpus" / "consumers"
    if not root.is_dir() or not LOCKCHECK.exists():
        pytest.skip("corpus consumers or lockcheck absent")
    return sorted(p for p in root.iterdir() if p.is_dir())


def test_every_consumer_locks_and_relocks_to_the_same_bytes(
    consumers: list[Path], corpus_forge_dir: Path, emulator, tmp_path: Path
) -> None:
    emu = emulator(corpus_forge_dir)
    locked = 0
    for consumer in consumers:
        repo = copy_consumer(consumer, tmp_path / consumer.name)
        first = run_lock(emu, cwd=repo)
        assert first.returncode in (0, 1), (consumer.name, first.stderr)
        assert "Traceback" not in first.stderr
        if not (repo / LOCK).exists():
            assert "0 entries" in first.stderr, (consumer.name, first.stderr)
            continue
        lockcheck(repo / LOCK)
        locked += 1
        written = files_of(repo)
        second = run_lock(emu, cwd=repo)
        assert second.returncode == first.returncode, (consumer.name, second.stderr)
        assert files_of(repo) == written, f"{consumer.name}: the second run changed files"
        assert "up to date" in second.stderr
    assert locked >= 20  # nearly every consumer uses remote actions


# ----------------------------------------------------------------------------- tampering

CONSUMER = "cli__cli"


@pytest.fixture(scope="module")
def forge_data(shared_dir: Path) -> SnapshotData:
    return SnapshotData(shared_dir / "corpus" / "forge")


@pytest.fixture
def locked_repo(consumers: list[Path], corpus_forge_dir: Path, emulator, tmp_path: Path):
    """``cli/cli`` locked, verified clean, with the emulator it was locked against."""
    emu = emulator(corpus_forge_dir)
    repo = copy_consumer(next(c for c in consumers if c.name == CONSUMER), tmp_path / "repo")
    assert run_lock(emu, cwd=repo).returncode == 0
    clean = run_lock(emu, "--check", "--format", "json", cwd=repo)
    assert clean.returncode == 0, clean.stdout
    assert not [f for f in json.loads(clean.stdout)["findings"] if f["blocking"]]
    return emu, repo


def _tampered(repo: Path, change) -> Lockfile:  # type: ignore[no-untyped-def]
    lockfile = parse_lockfile((repo / LOCK).read_bytes())
    new = change(lockfile)
    (repo / LOCK).write_bytes(render(new))
    lockcheck(repo / LOCK)  # still a file GitHub's parser accepts: only pinner can tell
    return new


def _symbolic_entry(lockfile: Lockfile, data: SnapshotData, want) -> tuple[str, LockEntry]:  # type: ignore[no-untyped-def]
    for key in sorted(lockfile.dependencies):
        entry = lockfile.dependencies[key]
        snap = data.find(key_repo(key))
        if (
            entry is not None
            and snap is not None
            and not re.fullmatch(r"[0-9a-f]{40}", key_ref(key))
        ) and want(snap, entry):
            return key, entry
    raise AssertionError("no entry to tamper with")


def _commits(snap):  # type: ignore[no-untyped-def]
    """Every commit the snapshot knows of a repository (loading it first)."""
    snap.graph  # noqa: B018 - loads the repository
    return list(snap.commits.values())


def _check_findings(emu, repo: Path, *extra: str) -> tuple[int, list[dict]]:  # type: ignore[no-untyped-def]
    result = run_lock(emu, "--check", "--format", "json", *extra, cwd=repo)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)["findings"]


def test_moved_commit_is_an_unreachable_pin(locked_repo, forge_data: SnapshotData) -> None:
    emu, repo = locked_repo
    moved: dict[str, str] = {}

    def move(lockfile: Lockfile) -> Lockfile:
        def other_commit(snap, entry: LockEntry) -> str | None:  # type: ignore[no-untyped-def]
            published = (c.sha for c in _commits(snap) if c.origin == "refs")
            return next((c for c in published if not snap.is_ancestor(c, entry.sha)), None)

        key, entry = _symbolic_entry(lockfile, forge_data, other_commit)
        other = other_commit(forge_data.repo(key_repo(key)), entry)
        moved[key] = other
        deps = dict(lockfile.dependencies)
        deps[key] = LockEntry(entry.ref, commit_digest(other), entry.owner_id, entry.repo_id)
        return Lockfile(lockfile.workflows, deps)

    _tampered(repo, move)
    code, findings = _check_findings(emu, repo)
    assert code == 1
    (key,) = moved
    hits = [f for f in findings if f["category"] == "unreachable-pin" and f["dependency"] == key]
    assert hits and hits[0]["blocking"] and hits[0]["severity"] == "error"


def test_changed_id_is_a_repository_identity_change(locked_repo) -> None:
    emu, repo = locked_repo
    changed: list[str] = []

    def change(lockfile: Lockfile) -> Lockfile:
        key = sorted(lockfile.dependencies)[0]
        entry = lockfile.dependencies[key]
        assert entry is not None
        changed.append(key)
        deps = dict(lockfile.dependencies)
        deps[key] = LockEntry(
            entry.ref, entry.commit, entry.owner_id, entry.repo_id + 1, entry.uses
        )
        return Lockfile(lockfile.workflows, deps)

    _tampered(repo, change)
    code, findings = _check_findings(emu, repo)
    assert code == 1
    hits = [f for f in findings if f["category"] == "repo-identity-changed"]
    assert [f["dependency"] for f in hits] == changed
    assert "repo_id" in hits[0]["detail"] and hits[0]["blocking"]


def test_missing_entry_is_not_pinned(locked_repo) -> None:
    emu, repo = locked_repo
    removed: list[str] = []

    def drop(lockfile: Lockfile) -> Lockfile:
        _path, items = sorted(lockfile.workflows.items())[0]
        removed.append(items[0])
        deps = {k: v for k, v in lockfile.dependencies.items() if k != items[0]}
        return Lockfile(lockfile.workflows, deps)

    _tampered(repo, drop)
    code, findings = _check_findings(emu, repo)
    assert code == 1
    hits = [f for f in findings if f["category"] == "not-pinned"]
    assert hits and all(f["blocking"] and not f["fixed"] for f in hits)
    assert any("no lockfile entry" in f["detail"] for f in hits)
    # and a write run repairs it: the entry is back, byte for byte as before
    assert run_lock(emu, cwd=repo).returncode == 0
    assert removed[0] in parse_lockfile((repo / LOCK).read_bytes()).dependencies


def test_impostor_commit_is_caught(locked_repo, forge_data: SnapshotData) -> None:
    emu, repo = locked_repo
    forged: dict[str, str] = {}

    def forge(lockfile: Lockfile) -> Lockfile:
        def has_pull(snap, entry: LockEntry) -> bool:  # type: ignore[no-untyped-def]
            return any(c.origin == "pull" for c in _commits(snap))

        key, entry = _symbolic_entry(lockfile, forge_data, has_pull)
        snap = forge_data.repo(key_repo(key))
        impostor = next(c.sha for c in _commits(snap) if c.origin == "pull")
        forged[key] = impostor
        deps = dict(lockfile.dependencies)
        deps[key] = LockEntry(entry.ref, commit_digest(impostor), entry.owner_id, entry.repo_id)
        return Lockfile(lockfile.workflows, deps)

    _tampered(repo, forge)
    (key,) = forged
    # by default there is no fixed compare budget: every branch and tag is compared and the
    # commit is named for what it is
    code, findings = _check_findings(emu, repo)
    assert code == 1
    by_category = {f["category"] for f in findings if f["dependency"] == key}
    assert {"unreachable-pin", "impostor-commit"} <= by_category
    # a budget too small to decide is still blocking, as an unverified commit
    code, findings = _check_findings(emu, repo, "--verify-budget", "0")
    assert code == 1
    assert any(
        f["dependency"] == key and f["category"] == "unverified-commit" and f["blocking"]
        for f in findings
    )
    code, findings = _check_findings(emu, repo)
    hits = [f for f in findings if f["dependency"] == key and f["category"] == "impostor-commit"]
    assert hits and hits[0]["severity"] == "error" and "in no branch or tag" in hits[0]["detail"]
