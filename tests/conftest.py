"""Shared fixtures: where the shared data lives, and the GitHub emulator."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # make ``tests.forge`` importable under any import mode
    sys.path.insert(0, str(REPO_ROOT))

SHARED_DIR = (REPO_ROOT / ".." / "shared").resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (corpus, schemas, git captures); skips the test when absent."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"../shared is absent ({SHARED_DIR}): shared corpus/schemas not available")
    return SHARED_DIR


@pytest.fixture(scope="session")
def corpus_forge_dir(shared_dir: Path) -> Path:
    """``../shared/corpus/forge``; skips when absent."""
    path = shared_dir / "corpus" / "forge"
    if not path.is_dir():
        pytest.skip(f"{path} is absent: corpus forge snapshot not available")
    return path


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The repository's hand-made ``fixtures/`` directory."""
    return REPO_ROOT / "fixtures"
