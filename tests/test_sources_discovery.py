"""Discovery: what GitHub runs, in-repo actions, explicit files, roots, and unsafe symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pinner.errors import InputError
from pinner.sources.discovery import SkippedPath, discover, find_root

WF = "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: o/r@v1\n"
ACTION = "runs:\n  using: composite\n  steps:\n    - uses: o/r@v1\n"


def make(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def rels(found: list) -> list[tuple[str, str]]:
    return [(f.relpath, f.kind) for f in found]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    make(
        root,
        {
            ".github/workflows/b.yml": WF,
            ".github/workflows/a.yaml": WF,
            ".github/workflows/notes.md": "x",
            ".github/workflows/sub/nested.yml": WF,  # GitHub never runs these
            ".github/actions/setup/action.yml": ACTION,
            "action.yaml": ACTION,
            "tools/x/action.yml": ACTION,
            "node_modules/pkg/action.yml": ACTION,
            "tools/x/other.yml": WF,
        },
    )
    (root / ".git").mkdir()
    make(root, {".git/action.yml": ACTION})
    return root


def test_directory_discovery(repo: Path) -> None:
    found = discover([repo])
    assert rels(found) == [
        (".github/workflows/a.yaml", "workflow"),
        (".github/workflows/b.yml", "workflow"),
        (".github/actions/setup/action.yml", "action"),
        ("action.yaml", "action"),
        ("tools/x/action.yml", "action"),
    ]
    assert all(f.root == repo and f.path.is_absolute() for f in found)


def test_explicit_file_relative_to_git_root(repo: Path) -> None:
    found = discover([repo / ".github/workflows/sub/nested.yml", repo / "tools/x/other.yml"])
    assert rels(found) == [
        (".github/workflows/sub/nested.yml", "workflow"),
        ("tools/x/other.yml", "workflow"),
    ]
    assert found[0].root == repo


def test_root_without_git(tmp_path: Path) -> None:
    make(tmp_path, {"proj/.github/workflows/ci.yml": WF, "loose/action.yml": ACTION})
    assert find_root(tmp_path / "proj/.github/workflows/ci.yml") == tmp_path / "proj"
    assert find_root(tmp_path / "loose/action.yml") == tmp_path / "loose"


def test_workflows_directory_given(repo: Path) -> None:
    found = discover([repo / ".github" / "workflows"])
    assert rels(found) == [
        (".github/workflows/a.yaml", "workflow"),
        (".github/workflows/b.yml", "workflow"),
    ]
    github = discover([repo / ".github"])
    assert [r for r, _ in rels(github)][-1] == ".github/actions/setup/action.yml"


def test_duplicates_removed(repo: Path) -> None:
    found = discover([repo, repo / ".github/workflows/a.yaml"])
    assert len(found) == len(discover([repo]))


def test_missing_path_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        discover([tmp_path / "nope"])


def test_symlink_loop_and_escape_reported(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    make(outside, {"action.yml": ACTION, "wf.yml": WF})
    (repo / "la").mkdir()
    (repo / "lb").mkdir()
    os.symlink(repo / "lb/action.yml", repo / "la/action.yml")
    os.symlink(repo / "la/action.yml", repo / "lb/action.yml")
    os.symlink(outside, repo / "vendored")  # directory leaving the root
    os.symlink(outside / "wf.yml", repo / ".github/workflows/escape.yml")  # file leaving
    os.symlink("self.yml", repo / ".github/workflows/self.yml")
    (repo / "tools/self").symlink_to(repo / "tools")  # directory loop inside the root
    skipped: list[SkippedPath] = []
    found = discover([repo], on_skip=skipped.append)
    assert rels(found) == rels(discover([repo], on_skip=lambda s: None))
    assert (".github/workflows/escape.yml", "workflow") not in rels(found)
    assert all(not str(f.path).startswith(str(outside)) for f in found)
    reasons = {p.path.name: p.reason for p in skipped}
    loops = [p.reason for p in skipped if p.path.parent.name in ("la", "lb")]
    assert "outside the repository root" in reasons["vendored"]
    assert "outside the repository root" in reasons["escape.yml"]
    assert "loop" in reasons["self.yml"]
    assert loops == ["symlink loop", "symlink loop"]
    assert "self" not in reasons  # a link inside the root is simply not descended into
    assert all(str(s).count("\n") == 0 for s in skipped)


def test_symlinked_workflow_inside_root_reads_target(repo: Path) -> None:
    make(repo, {"ci/shared.yml": WF})
    os.symlink("../../ci/shared.yml", repo / ".github/workflows/shared.yml")
    found = {f.relpath: f for f in discover([repo])}
    link = found[".github/workflows/shared.yml"]
    assert link.path == (repo / "ci/shared.yml").resolve()


def test_symlinked_workflows_dir_leaving_root(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    make(outside, {"ci.yml": WF})
    root = tmp_path / "r"
    (root / ".github").mkdir(parents=True)
    os.symlink(outside, root / ".github" / "workflows")
    skipped: list[SkippedPath] = []
    assert discover([root], on_skip=skipped.append) == []
    assert [s.path.name for s in skipped] == ["workflows"]


def test_default_is_current_directory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    assert rels(discover([])) == rels(discover([repo]))


def test_relative_path_with_dotdot(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo / "tools")
    found = discover([Path("..")])
    assert found[0].root == repo
    assert rels(found) == rels(discover([repo]))


def test_explicit_symlink_loop_or_escape_is_an_input_error(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    make(outside, {"wf.yml": WF})
    workflows = repo / ".github" / "workflows"
    os.symlink("loop.yml", workflows / "loop.yml")
    os.symlink(outside / "wf.yml", workflows / "escape.yml")
    with pytest.raises(InputError, match=r"loop\.yml: symlink loop; refusing to read it"):
        discover([workflows / "loop.yml"])
    with pytest.raises(InputError, match="outside the repository root"):
        discover([workflows / "escape.yml"])
    os.symlink("b.yml", workflows / "inside.yml")  # a link inside the root is fine
    assert rels(discover([workflows / "inside.yml"])) == [
        (".github/workflows/inside.yml", "workflow")
    ]
