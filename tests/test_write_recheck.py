"""Files are checked again just before they are replaced (issue 14, item 6), through the CLI.

Between reading a file and replacing it, ``pin`` and ``update`` spend seconds on the network;
the user's editor, a ``git checkout`` or a hostile process can change the file meanwhile. The
write must then write nothing at all (exit 2, one line naming the file), keep the change that
was made, and never write through a symlink that took a file's or a directory's place. The
changes are made from inside the run, at the moment the write phase starts (or between its
check and its renames), so the tests do not depend on timing.

A path named on the command line that leads outside the repository through a symlinked
directory is refused like a symlinked file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pinner.core import rewrite
from tests.test_hardening_faults import CONSUMERS, FORGE, invoke, tree_bytes

WORKFLOWS = Path(".github") / "workflows"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(
        CONSUMERS / "demo", repo, ignore=shutil.ignore_patterns("expected.json", "README.md")
    )
    (repo / ".git").mkdir()
    return repo


def before_writing(monkeypatch: pytest.MonkeyPatch, meddle: Callable[[], None]) -> None:
    """Run ``meddle`` when the write phase starts, after every file was read and resolved."""
    real = rewrite.write_all

    def write_all(*args, **kwargs) -> None:
        meddle()
        real(*args, **kwargs)

    monkeypatch.setattr(rewrite, "write_all", write_all)


def pin(repo: Path, *paths: Path):
    return invoke("pin", "--snapshot", str(FORGE), "--no-cache", *map(str, paths or [repo]))


def assert_refused(result, name: str, why: str) -> None:
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in result.output
    assert name in line and f"changed on disk while pinner ran ({why})" in line, line
    assert "no file was changed" in line


def leftovers(root: Path) -> list[str]:
    return [p.name for p in root.rglob("*") if p.name.endswith((".pinner-tmp", ".pinner-bak"))]


def test_a_file_edited_during_the_run_is_not_overwritten_and_nothing_is_written(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree_bytes(demo)
    ci = demo / WORKFLOWS / "ci.yml"
    edited = ci.read_bytes() + b"# saved by the user's editor meanwhile\n"
    before_writing(monkeypatch, lambda: ci.write_bytes(edited))
    result = pin(demo)
    assert_refused(result, "ci.yml", "edited")
    assert ci.read_bytes() == edited  # the user's change is kept
    assert tree_bytes(demo) == {**before, f"{WORKFLOWS.as_posix()}/ci.yml": edited}


def test_a_file_swapped_for_a_symlink_is_never_written_through(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The link leads outside the repository to a file with the very bytes pinner read, so
    only the check that it is a link (not its content) can stop the write."""
    ci = demo / WORKFLOWS / "ci.yml"
    victim = tmp_path / "outside" / "victim.yml"
    victim.parent.mkdir()
    victim.write_bytes(ci.read_bytes())

    def swap() -> None:
        ci.unlink()
        ci.symlink_to(victim)

    before_writing(monkeypatch, swap)
    result = pin(demo)
    assert_refused(result, "ci.yml", "replaced by a symlink")
    assert victim.read_bytes() == (CONSUMERS / "demo" / WORKFLOWS / "ci.yml").read_bytes()
    assert ci.is_symlink()
    assert not leftovers(demo) and not leftovers(victim.parent)


def test_a_directory_swapped_for_a_symlink_is_never_written_through(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflows = demo / WORKFLOWS
    outside = tmp_path / "outside"
    original = tree_bytes(workflows)

    def swap() -> None:
        shutil.copytree(workflows, outside)
        shutil.rmtree(workflows)
        workflows.symlink_to(outside, target_is_directory=True)

    before_writing(monkeypatch, swap)
    result = pin(demo)
    assert result.exit_code == 2, result.output
    assert "its directory was moved or replaced by a symlink" in result.stderr
    assert tree_bytes(outside) == original


def test_a_file_edited_between_the_check_and_its_rename_rolls_everything_back(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last check (inode, size, mtime) sits right before each rename: a change there puts
    back every file already renamed."""
    before = tree_bytes(demo)
    release = demo / WORKFLOWS / "release.yml"  # renamed after ci.yml and docs.yml
    edited = release.read_bytes().replace(b"\n", b"\n\n", 1)
    real = rewrite._replace_all

    def edit_then_replace(targets) -> None:
        release.write_bytes(edited)
        real(targets)

    monkeypatch.setattr(rewrite, "_replace_all", edit_then_replace)
    result = pin(demo)
    assert_refused(result, "release.yml", "edited")
    assert tree_bytes(demo) == {**before, f"{WORKFLOWS.as_posix()}/release.yml": edited}


# ----------------------------------------------------------------------------- symlinked dirs


@pytest.fixture
def linked(tmp_path: Path) -> tuple[Path, Path]:
    """A repository with ``link`` -> a directory outside it holding a workflow."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    shutil.copytree(CONSUMERS / "demo" / WORKFLOWS, outside / WORKFLOWS)
    (repo / "link").symlink_to(outside, target_is_directory=True)
    return repo, outside


@pytest.mark.parametrize("command", ["pin", "update"])
def test_a_path_through_a_symlinked_directory_out_of_the_repository_is_refused(
    linked: tuple[Path, Path], command: str
) -> None:
    repo, outside = linked
    before = tree_bytes(outside)
    target = repo / "link" / WORKFLOWS / "ci.yml"
    extra = ["--now", "2026-06-01T00:00:00Z"] if command == "update" else []
    result = invoke(command, "--snapshot", str(FORGE), "--no-cache", *extra, str(target))
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert "symlink points outside the repository root" in result.stderr
    assert "refusing to read it" in result.stderr
    assert tree_bytes(outside) == before


def test_a_symlinked_directory_given_inside_a_repository_that_leaves_it_is_refused(
    linked: tuple[Path, Path],
) -> None:
    repo, outside = linked
    before = tree_bytes(outside)
    result = pin(repo, repo / "link")
    assert result.exit_code == 2, result.output
    assert "symlink points outside the repository root" in result.stderr
    assert tree_bytes(outside) == before


def test_a_symlinked_directory_inside_the_repository_still_works(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    shutil.copytree(CONSUMERS / "demo" / WORKFLOWS, repo / "real" / WORKFLOWS)
    (repo / "alias").symlink_to(repo / "real", target_is_directory=True)
    result = pin(repo, repo / "alias" / WORKFLOWS / "ci.yml")
    assert result.exit_code in (0, 1), result.output  # the demo has problems to report
    written = (repo / "real" / WORKFLOWS / "ci.yml").read_text()
    assert "@67225fc235da7df7104e91219c0d4f5a70438459 # v1.2.3" in written
    assert os.path.islink(repo / "alias")
