"""The benchmark harness (benchmarks/): its counting helpers and its synthetic repository.

The benchmark itself is a script, not a timed test; these checks keep it from rotting silently
(a synthetic forge the snapshot reader no longer accepts, a diff counter that counts nothing).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from benchmarks.run import Corpus, copy_corpus, count_changes, remote_uses, total_requests
from benchmarks.synthetic import build_forge, build_repo
from pinner.forge.snapshot import SnapshotForge


def test_remote_uses_keeps_only_remote_refs() -> None:
    text = (
        "steps:\n"
        "  - uses: actions/checkout@v4\n"
        "  - uses: 'org/repo/sub@v1'  # comment\n"
        '    uses: "a/b@0123456789abcdef0123456789abcdef01234567" # v1.2.3\n'
        "  - uses: ./local\n"
        "  - uses: docker://alpine:3\n"
        "  - uses: ${{ matrix.action }}\n"
        "jobs:\n  call:\n    uses: o/r/.github/workflows/x.yml@main\n"
    )
    assert remote_uses(text) == [
        "actions/checkout@v4",
        "org/repo/sub@v1",
        "a/b@0123456789abcdef0123456789abcdef01234567",
        "o/r/.github/workflows/x.yml@main",
    ]


def test_count_changes(tmp_path: Path) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    for root in (before, after):
        (root / "r").mkdir(parents=True)
    (before / "r" / "w.yml").write_text("a: 1\n- uses: x/y@v1\nb: 2\n")
    (after / "r" / "w.yml").write_text(
        "a: 1\n- uses: x/y@0123456789abcdef0123456789abcdef01234567 # v1.0.0\nb: 2\n"
    )
    assert count_changes(before, after, [Path("r/w.yml")]) == (1, 1)
    assert count_changes(before, before, [Path("r/w.yml")]) == (0, 0)


def test_each_round_copies_the_corpus_afresh(tmp_path: Path) -> None:
    """A round's ``pinner lock`` writes ``actions.lock`` beside the copied workflows; the next
    round's copy must not have it (it would measure a re-lock, not the first lock)."""
    source = tmp_path / "corpus"
    (source / "r" / ".github" / "workflows").mkdir(parents=True)
    (source / "r" / ".github" / "workflows" / "ci.yml").write_text("on: push\n")
    files = [Path("r/.github/workflows/ci.yml")]
    corpus = Corpus(source, files, remote_uses=0, distinct_actions=0, distinct_repos=0)
    copy = copy_corpus(corpus, tmp_path / "lock-cold")
    (copy / "r" / ".github" / "workflows" / "actions.lock").write_text("version: 'v0.0.2'\n")
    (copy / "r" / ".github" / "workflows" / "ci.yml").write_text("changed\n")
    again = copy_corpus(corpus, tmp_path / "lock-cold")
    assert sorted(p.name for p in (again / "r" / ".github" / "workflows").iterdir()) == ["ci.yml"]
    assert (again / "r" / ".github" / "workflows" / "ci.yml").read_text() == "on: push\n"


@pytest.mark.parametrize(
    "stats, total",
    [
        ({"rest": 3, "git": 2, "total": 5}, 5),
        ({"requests": 7}, 7),
        ({"requests": {"a": 1, "b": 2}}, 3),
    ],
)
def test_total_requests(stats: dict, total: int) -> None:
    assert total_requests(stats) == total


def test_synthetic_forge_is_a_valid_snapshot_and_resolves_the_repo(tmp_path: Path) -> None:
    actions = build_forge(tmp_path / "forge", repos=3, versions=5)
    uses = build_repo(tmp_path / "repo", actions, files=12)
    assert uses > 12
    forge = SnapshotForge(tmp_path / "forge")

    async def check() -> None:
        for action in actions:
            listing = await forge.list_refs(action.repo)
            for tag, commit in zip(action.tags, action.commits, strict=True):
                ref = listing.tag(tag)
                assert ref is not None and ref.commit == commit
            assert listing.tag("v1") is not None  # floating major tag
            body = await forge.get_file(action.repo, action.commits[0], "action.yml")
            assert body is not None and b"runs:" in body

    asyncio.run(check())
    files = sorted((tmp_path / "repo" / ".github" / "workflows").glob("*.yml"))
    assert len(files) == 12
    assert any(b"\r\n" in f.read_bytes() for f in files)  # CRLF files are part of the mix


def test_pin_on_the_synthetic_repo_rewrites_it(tmp_path: Path) -> None:
    """The local benchmark's command works end to end (small size: this is no timing)."""
    from typer.testing import CliRunner

    from pinner.cli import app

    actions = build_forge(tmp_path / "forge", repos=3, versions=5)
    build_repo(tmp_path / "repo", actions, files=5)
    shutil.copytree(tmp_path / "repo", tmp_path / "original")
    result = CliRunner().invoke(
        app,
        ["pin", str(tmp_path / "repo"), "--snapshot", str(tmp_path / "forge"), "--no-cache"],
    )
    assert result.exit_code in (0, 1), result.output
    files = [p.relative_to(tmp_path / "repo") for p in (tmp_path / "repo").rglob("*.yml")]
    changed, pinned = count_changes(tmp_path / "original", tmp_path / "repo", files)
    assert changed > 0
    total = sum(len(remote_uses((tmp_path / "repo" / f).read_text())) for f in files)
    assert pinned == total  # every synthetic action exists: everything ends up pinned
