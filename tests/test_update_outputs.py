"""``pinner update``'s output files: checked before anything is done, written with the
workflows or not at all (issue 13, item 11), through the real CLI.

A bot runs ``pinner update --pr-title ... --pr-body ... --commit-message ...`` and commits
whatever changed: workflows rewritten without the texts that describe them (or the other way
round) would open a pull request that lies. So every output path is checked before a file is
read, and the workflows, the texts and the ``--output`` report are one all-or-nothing write.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pinner.core import rewrite
from tests.test_hardening_faults import FORGE, UPDATE_CONSUMER, invoke, tree_bytes

NOW = "2026-06-01T00:00:00Z"
FLAGS = ("--pr-title", "--pr-body", "--commit-message", "--output")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(UPDATE_CONSUMER, copy, ignore=shutil.ignore_patterns("expected*"))
    (copy / ".git").mkdir()
    return copy


def update(repo: Path, *args: str):
    return invoke("update", "--snapshot", str(FORGE), "--no-cache", "--now", NOW, *args, str(repo))


@pytest.mark.parametrize("flag", FLAGS)
def test_an_output_in_a_missing_directory_stops_the_run_before_any_workflow_changes(
    repo: Path, tmp_path: Path, flag: str
) -> None:
    before = tree_bytes(repo)
    others = [a for f in FLAGS if f != flag for a in (f, str(tmp_path / f"{f[2:]}.txt"))]
    result = update(repo, *others, flag, str(tmp_path / "no-such-dir" / "out.txt"))
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"pinner: error: {flag} {tmp_path / 'no-such-dir' / 'out.txt'}: no such directory: "
        f"{tmp_path / 'no-such-dir'}\n"
    )
    assert tree_bytes(repo) == before
    assert not any((tmp_path / f"{f[2:]}.txt").exists() for f in FLAGS)


def test_an_output_that_is_a_directory_or_named_twice_is_refused(
    repo: Path, tmp_path: Path
) -> None:
    before = tree_bytes(repo)
    same = tmp_path / "texts.md"
    twice = update(repo, "--pr-title", str(same), "--pr-body", str(same))
    assert twice.exit_code == 2, twice.output
    assert "--pr-body and --pr-title name the same file" in twice.stderr
    directory = update(repo, "--commit-message", str(tmp_path))
    assert directory.exit_code == 2, directory.output
    assert tree_bytes(repo) == before and not same.exists()


def test_output_writes_the_report_to_a_file_with_the_workflows(repo: Path, tmp_path: Path) -> None:
    report = tmp_path / "update.json"
    result = update(repo, "--format", "json", "--output", str(report))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    data = json.loads(report.read_text())
    assert data["schema"] == "pinner.update/1"
    assert data["written"] == [".github/workflows/ci.yml", "local-action/action.yml"]
    assert "v2.1.0" in (repo / ".github" / "workflows" / "ci.yml").read_text()


def test_a_text_that_cannot_be_written_leaves_every_workflow_as_it_was(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory of --pr-body disappears after the check: the write phase fails, and the
    workflows it would have rewritten with it are untouched."""
    texts = tmp_path / "texts"
    texts.mkdir()
    before = tree_bytes(repo)
    real = rewrite.write_all

    def write_all(*args, **kwargs) -> None:
        shutil.rmtree(texts)
        real(*args, **kwargs)

    monkeypatch.setattr(rewrite, "write_all", write_all)
    result = update(
        repo, "--pr-title", str(tmp_path / "title.txt"), "--pr-body", str(texts / "b.md")
    )
    assert result.exit_code == 2, result.output
    assert "cannot write" in result.stderr and "no file was changed" in result.stderr
    assert tree_bytes(repo) == before
    assert not (tmp_path / "title.txt").exists()


def test_a_workflow_edited_during_the_run_is_kept_and_nothing_is_written(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14, item 6, for update (tests/test_write_recheck.py has the rest)."""
    from tests.test_write_recheck import assert_refused, before_writing

    before = tree_bytes(repo)
    ci = repo / ".github" / "workflows" / "ci.yml"
    edited = ci.read_bytes() + b"# edited\n"
    before_writing(monkeypatch, lambda: ci.write_bytes(edited))
    body = tmp_path / "pr-body.md"
    result = update(repo, "--pr-body", str(body))
    assert_refused(result, "ci.yml", "edited")
    assert tree_bytes(repo) == {**before, ".github/workflows/ci.yml": edited}
    assert not body.exists()  # the pull-request text was not written either


def test_output_to_a_pipe_is_written_into(repo: Path) -> None:
    """``--output /dev/stdout`` is a pipe here: it cannot be replaced by a rename, so it is
    written into, as the shell's ``>`` would."""
    import subprocess
    import sys

    from tests.test_hardening_faults import ROOT, hermetic_env

    args = ["--snapshot", str(FORGE), "--no-cache", "--now", NOW, "--format", "json"]
    result = subprocess.run(
        [sys.executable, "-m", "pinner", "update", *args, "--output", "/dev/stdout", str(repo)],
        env={**hermetic_env(token=None), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["written"] == [
        ".github/workflows/ci.yml",
        "local-action/action.yml",
    ]
