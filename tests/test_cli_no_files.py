"""Nothing to do is not success: every command that reads workflows refuses an empty place.

A wrong directory or a typo used to give exit 0 ("nothing to change"), so ``pin --check`` in
CI passed by finding nothing. Now each command exits 2 with one line naming the path.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinner.cli import app
from pinner.errors import InputError
from pinner.sources.discovery import NoFilesFound, discover
from tests.test_pin_cli import clean_env

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SNAPSHOT = str(FIXTURES / "forge")
WORKFLOW = "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: o/r@v1\n"

COMMANDS = [
    ["pin"],
    ["pin", "--check"],
    ["pin", "--diff"],
    ["pin", "--format", "json"],
    ["audit"],
    ["audit", "--format", "json"],
    ["audit", "--format", "sarif"],
    ["update"],
    ["update", "--check"],
    ["update", "--format", "json"],
    ["checksums"],
]


def _snapshot_args(command: list[str]) -> list[str]:
    # checksums downloads fresh bytes: it has no --snapshot, and never gets as far as asking
    return [] if command[0] == "checksums" else ["--snapshot", SNAPSHOT]


def _not_a_repository(root: Path) -> Path:
    """A directory with files, none of which GitHub runs or pinner reads."""
    root.mkdir(parents=True)
    (root / "README.md").write_text("hello\n")
    nested = root / ".github" / "workflows" / "sub"
    nested.mkdir(parents=True)
    (nested / "nested.yml").write_text(WORKFLOW)  # subdirectories of workflows never run
    (root / ".github" / "workflows" / "notes.txt").write_text("x\n")
    return root


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_refuses_a_place_without_workflows(
    tmp_path: Path, command: list[str]
) -> None:
    empty = _not_a_repository(tmp_path / "elsewhere")
    result = CliRunner().invoke(
        app, [*command, *_snapshot_args(command), str(empty)], env=clean_env()
    )
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"pinner: error: no workflow or action files under {empty}")


@pytest.mark.parametrize("command", [["pin", "--check"], ["audit"], ["update"], ["checksums"]])
def test_the_default_path_is_named_as_dot(tmp_path: Path, command: list[str]) -> None:
    """Run in a directory with nothing (the default ``.``): the real process, real exit code."""
    proc = subprocess.run(
        [sys.executable, "-m", "pinner", *command, *_snapshot_args(command)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("pinner: error: no workflow or action files under . ")
    assert proc.stderr.count("\n") == 1


def test_one_empty_path_among_several_is_named(tmp_path: Path) -> None:
    """``pin --check real typo-dir``: the typo must not hide behind the real repository."""
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW)
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in (["pin", "--check"], ["update", "--check"]):
        result = CliRunner().invoke(
            app, [*command, "--snapshot", SNAPSHOT, str(repo), str(empty)], env=clean_env()
        )
        assert result.exit_code == 2, result.output
        assert f"no workflow or action files under {empty}" in result.stderr
        assert str(repo) not in result.stderr


def test_checksums_with_only_urls_reads_no_workflows(tmp_path: Path) -> None:
    """The maintainer's form (``--url`` without PATH) never looks for workflows: no error."""
    result = CliRunner().invoke(
        app, ["checksums", "--url", "ftp://example.invalid/x"], env=clean_env()
    )
    assert "no workflow or action files" not in result.output
    assert result.exit_code == 2  # the URL's scheme is refused instead
    assert "not an http(s) URL" in result.stderr


# ----------------------------------------------------------------------------- the discovery layer


def test_discover_requires_files_per_path(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW)
    empty = _not_a_repository(tmp_path / "empty")

    assert discover([empty]) == []  # without require: the old, quiet answer
    with pytest.raises(NoFilesFound, match="no workflow or action files under") as caught:
        discover([repo, empty], require=True)
    assert caught.value.given == empty
    assert isinstance(caught.value, InputError) and caught.value.exit_code == 2
    assert len(discover([repo], require=True)) == 1


def test_a_path_whose_files_were_found_before_still_counts(tmp_path: Path) -> None:
    """``pin . .github/workflows``: the second path's files are the first's (deduplicated),
    which is not the same as finding nothing there."""
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW)
    found = discover([repo, repo / ".github" / "workflows"], require=True)
    assert [f.relpath for f in found] == [".github/workflows/ci.yml"]


def test_an_explicit_file_is_always_taken(tmp_path: Path) -> None:
    odd = tmp_path / "odd-name.txt"
    odd.write_text(WORKFLOW)
    assert [f.relpath for f in discover([odd], require=True)] == ["odd-name.txt"]
