"""The pre-commit hooks (``.pre-commit-hooks.yaml``), run by the real ``pre-commit try-repo``.

pre-commit builds a virtual environment for the hook repository and pip-installs it (from PyPI
for the dependencies, hatchling building pinner from the repository), exactly as for a user. The
hook repository is a committed copy of this working tree, so uncommitted changes are tested
too and the environment is built once for the whole module. The hooks run on a temporary git
repository against the emulator: an unpinned workflow fails ``pinner-check`` and ``pinner-pin``,
``pinner-pin`` leaves it pinned, and the pinned one then passes ``pinner-check`` and
``pinner-audit``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.actions_runner import runner_environment

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
UNPINNED = """\
name: ci
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: pinner-fixtures/checkout-lite@v1 # keep this note
      - run: echo hello
"""

pytestmark = pytest.mark.slow


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This working tree (tracked and new files, not ignored ones), committed in a fresh repo."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file():
            continue  # deleted but not yet committed
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hook repository")
    return repo


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(UNPINNED, encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "unpinned")
    return repo


def try_repo(
    hook_repo: Path, home: Path, project: Path, hook: str, server: str, cache: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        **runner_environment(),
        "PRE_COMMIT_HOME": str(home),
        "GITHUB_SERVER_URL": server,
        "PINNER_CACHE_DIR": str(cache),
        "PINNER_NO_GH": "1",
        "NO_COLOR": "1",
    }
    for var in ("PIP_FIND_LINKS", "PIP_DEFAULT_TIMEOUT", "PIP_CERT", "PIP_INDEX_URL"):
        if var in os.environ:  # how this machine reaches PyPI, if it needs telling
            env[var] = os.environ[var]
    return subprocess.run(
        [str(BIN / "pre-commit"), "try-repo", str(hook_repo), hook, "--all-files", "--color=never"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


def test_unpinned_fails_is_fixed_by_pinner_pin_then_passes(
    hook_repo: Path, pre_commit_home: Path, project: Path, tmp_path: Path, emulator
) -> None:
    emu = emulator(ROOT / "fixtures" / "forge")
    cache = tmp_path / "cache"
    workflow = project / ".github" / "workflows" / "ci.yml"

    def run(hook: str) -> subprocess.CompletedProcess[str]:
        return try_repo(hook_repo, pre_commit_home, project, hook, emu.url, cache)

    check = run("pinner-check")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "pinner pin --check" in check.stdout and "Failed" in check.stdout
    assert workflow.read_text(encoding="utf-8") == UNPINNED, "--check must not write"

    fixed = run("pinner-pin")
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr
    assert "files were modified by this hook" in fixed.stdout
    pinned = workflow.read_text(encoding="utf-8")
    assert pinned == UNPINNED.replace(
        "checkout-lite@v1 # keep this note",
        "checkout-lite@67225fc235da7df7104e91219c0d4f5a70438459 # v1.2.3 # keep this note",
    )

    again = run("pinner-pin")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Passed" in again.stdout
    for hook in ("pinner-check", "pinner-audit"):
        clean = run(hook)
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert "Passed" in clean.stdout
    assert workflow.read_text(encoding="utf-8") == pinned


def test_audit_hook_fails_on_findings(
    hook_repo: Path, pre_commit_home: Path, project: Path, tmp_path: Path, emulator
) -> None:
    emu = emulator(ROOT / "fixtures" / "forge")
    result = try_repo(
        hook_repo, pre_commit_home, project, "pinner-audit", emu.url, tmp_path / "cache"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "unpinned-ref" in result.stdout and "Failed" in result.stdout
