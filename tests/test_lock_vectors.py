"""GitHub's actions-lockfile vectors, reproduced byte for byte by the real ``pinner lock``.

For each vector of ``../shared/actions-lockfile/vectors``: its upstream facts become an emulator
snapshot (:mod:`tests.lockvectors`), its ``input/`` a repository, and the CLI runs with the
vector's flags and paths. The lockfile must be the vector's ``expected/actions.lock`` exactly,
every rewritten file its ``expected/files`` bytes (less the two documented differences: no
header, comments kept), every other file untouched, the exit code the vector's, GitHub's parser
must accept the result, and a second run must change nothing.
"""

from __future__ import annotations

import pytest

from tests.lockvectors import LOCKCHECK, Vector, lockcheck, vector_dirs
from tests.test_lock_cli import files_of, run_lock

pytestmark = pytest.mark.corpus

VECTORS = vector_dirs()


@pytest.mark.skipif(not VECTORS, reason="../shared/actions-lockfile/vectors is absent")
@pytest.mark.parametrize("vector_dir", VECTORS, ids=[v.name for v in VECTORS])
def test_vector_reproduces_byte_for_byte(vector_dir, emulator, tmp_path) -> None:
    vector = Vector(vector_dir)
    snapshot = vector.write_snapshot(tmp_path / "forge")
    repo = vector.write_repository(tmp_path / "repo")
    emu = emulator(snapshot)
    before = files_of(repo)

    result = run_lock(emu, *vector.arguments(), cwd=repo)

    assert result.returncode == vector.facts["expected_exit_code"], result.stderr
    lock_path = repo / ".github/workflows/actions.lock"
    expected = vector.expected_lockfile()
    assert (lock_path.read_bytes() if lock_path.exists() else None) == expected
    if expected is not None:
        lockcheck(lock_path)
    after = files_of(repo)
    rewritten = vector.expected_files()
    for rel, data in after.items():
        if rel == ".github/workflows/actions.lock":
            continue
        assert data == rewritten.get(rel, before.get(rel)), rel
    assert set(after) - {".github/workflows/actions.lock"} == set(before) - {
        ".github/workflows/actions.lock"
    }

    again = run_lock(emu, *vector.arguments(), cwd=repo)
    assert again.returncode == vector.facts["expected_exit_code"], again.stderr
    assert files_of(repo) == after, "a second run changed something"


def test_lockcheck_is_there() -> None:
    """The oracle the vector tests rest on must run here (it is a static x86-64 program)."""
    if not LOCKCHECK.exists():
        pytest.skip("../shared/actions-lockfile/lockcheck is absent")
    assert LOCKCHECK.stat().st_mode & 0o111
