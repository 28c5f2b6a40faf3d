"""SnapshotData / SnapshotForge: the one reader of the snapshot format."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from pinner.errors import InputError, NotFoundError
from pinner.forge.base import Forge
from pinner.forge.snapshot import SnapshotData, SnapshotForge
from tests.forge.builder import RepoBuilder, example_repo, fake_sha

REPO = "Octo-Org/Hello-Action"


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def snap_dir(tmp_path: Path) -> Path:
    root = tmp_path / "forge"
    example_repo().write(root)
    return root


@pytest.fixture
def forge(snap_dir: Path) -> SnapshotForge:
    return SnapshotForge(snap_dir)


def sha(label: str) -> str:
    return fake_sha(f"{REPO}:{label}")


def test_implements_forge_protocol(forge: SnapshotForge) -> None:
    assert isinstance(forge, Forge)


def test_missing_directory_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="snapshot directory not found"):
        SnapshotData(tmp_path / "nope")


def test_list_refs_peels_and_reports_default_branch(forge: SnapshotForge) -> None:
    listing = run(forge.list_refs("octo-org/hello-action"))
    assert listing.repo == REPO
    assert listing.default_branch == "main"
    assert listing.tag("v1.1.0").commit == sha("c3")
    assert listing.tag("v1.1.0").annotated
    assert listing.tag("v1-nested").commit == sha("c3")  # tag of a tag, peeled
    assert not listing.tag("v1.0.0-light").annotated
    assert listing.branch("v1").commit == sha("c4")
    assert [r.name for r in listing.refs] == sorted(r.name for r in listing.refs)


def test_unknown_repo_is_not_found(forge: SnapshotForge) -> None:
    with pytest.raises(NotFoundError):
        run(forge.list_refs("octo-org/missing"))
    with pytest.raises(NotFoundError):
        run(forge.get_repo("octo-org/missing"))


def test_get_commit_tag_wins_over_branch(forge: SnapshotForge) -> None:
    assert run(forge.get_commit(REPO, "v1")).sha == sha("c3")  # tag v1 -> c3, branch v1 -> c4
    assert run(forge.get_commit(REPO, "refs/heads/v1")).sha == sha("c4")
    assert run(forge.get_commit(REPO, "heads/v1")).sha == sha("c4")
    assert run(forge.get_commit(REPO, "main")).sha == sha("c5")


def test_get_commit_by_full_and_short_sha(forge: SnapshotForge) -> None:
    c2 = run(forge.get_commit(REPO, sha("c2")))
    assert c2.parents == (sha("c1"),)
    assert c2.date is not None and c2.date.isoformat() == "2024-01-02T00:00:00+00:00"
    assert run(forge.get_commit(REPO, sha("c2")[:10])).sha == sha("c2")
    with pytest.raises(NotFoundError):
        run(forge.get_commit(REPO, "0" * 40))
    with pytest.raises(NotFoundError):
        run(forge.get_commit(REPO, "no-such-branch"))


def test_tag_object_of_a_tag(forge: SnapshotForge) -> None:
    listing = run(forge.list_refs(REPO))
    nested = run(forge.get_tag_object(REPO, listing.tag("v1-nested").object))
    assert nested.object_type == "tag"
    inner = run(forge.get_tag_object(REPO, nested.object_sha))
    assert inner.tag == "v1.1.0" and inner.object_type == "commit"
    assert inner.object_sha == sha("c3")
    with pytest.raises(NotFoundError):
        run(forge.get_tag_object(REPO, sha("c3")))  # a commit is not a tag object


def test_tag_object_sha_is_not_a_commit_but_peels(forge: SnapshotForge) -> None:
    listing = run(forge.list_refs(REPO))
    nested = listing.tag("v1-nested").object  # tag object -> tag object -> c3
    with pytest.raises(NotFoundError):  # GitHub: 422 "No commit found for SHA"
        run(forge.get_commit(REPO, nested))
    assert forge.data.repo(REPO).peel(nested) == sha("c3")
    assert forge.data.repo(REPO).peel(sha("c3")) is None


def test_compare_statuses(forge: SnapshotForge) -> None:
    ahead = run(forge.compare(REPO, "v1.0.0", "main"))
    assert (ahead.status, ahead.ahead_by, ahead.behind_by) == ("ahead", 3, 0)  # c2, c3, c5
    behind = run(forge.compare(REPO, "main", sha("c2")))
    assert (behind.status, behind.ahead_by, behind.behind_by) == ("behind", 0, 2)  # c3, c5
    assert behind.head_in_base
    diverged = run(forge.compare(REPO, "main", "release/v1"))
    assert (diverged.status, diverged.ahead_by, diverged.behind_by) == ("diverged", 1, 2)
    assert diverged.merge_base == sha("c2")
    assert run(forge.compare(REPO, "main", "no-such-ref")) is None  # GitHub: 404
    with pytest.raises(NotFoundError):
        run(forge.compare("octo-org/missing", "main", "main"))
    same = run(forge.compare(REPO, "v1.1.0", sha("c3")))
    assert (same.status, same.ahead_by, same.behind_by) == ("identical", 0, 0)


def test_network_commits_are_served_but_not_listed(tmp_path: Path) -> None:
    b = example_repo()
    impostor = b.network_commit("evil", sha("c3"))
    b.file(impostor, "action.yml", "name: evil\n")
    b.write(tmp_path)
    forge = SnapshotForge(tmp_path)
    assert run(forge.get_commit(REPO, impostor)).parents == (sha("c3"),)
    listing = run(forge.list_refs(REPO))
    assert all(r.commit != impostor for r in listing.refs)
    cmp = run(forge.compare(REPO, "main", impostor))
    assert (cmp.status, cmp.ahead_by, cmp.behind_by, cmp.merge_base) == (
        "diverged",
        1,
        1,  # c5
        sha("c3"),
    )
    assert run(forge.get_file(REPO, impostor, "action.yml")) == b"name: evil\n"


def test_pull_only_commits_branch_off_the_root(tmp_path: Path) -> None:
    b = example_repo()
    pr = b.pull_only_commit("pr")
    b.write(tmp_path)
    forge = SnapshotForge(tmp_path)
    commit = run(forge.get_commit(REPO, pr))
    assert commit.parents == ()  # unknown history is not invented in the commit itself
    cmp = run(forge.compare(REPO, "main", pr))
    assert (cmp.status, cmp.ahead_by, cmp.behind_by, cmp.merge_base) == (
        "diverged",
        1,
        3,  # c2, c3, c5
        sha("c1"),
    )


def test_unrelated_histories_compare_to_none(tmp_path: Path) -> None:
    b = example_repo()
    orphan = b.commit("orphan", date="2024-03-01T00:00:00Z")
    b.branch("gh-pages", orphan)
    b.write(tmp_path)
    assert run(SnapshotForge(tmp_path).compare(REPO, "main", "gh-pages")) is None


def test_get_file(forge: SnapshotForge) -> None:
    assert run(forge.get_file(REPO, sha("c3"), "action.yml")).startswith(b"name: hello")
    assert run(forge.get_file(REPO, sha("c3"), "action.yaml")) is None
    assert run(forge.get_file(REPO, sha("c5"), "sub/action.yaml")) is not None
    assert run(forge.get_file(REPO, sha("c5"), "../../../etc/passwd")) is None
    assert run(forge.get_file(REPO, "f" * 40, "action.yml")) is None  # raw host: 404
    with pytest.raises(NotFoundError):
        run(forge.get_file("octo-org/missing", sha("c3"), "action.yml"))


def test_forge_url_placeholder_substituted_only_when_given(snap_dir: Path) -> None:
    raw = run(SnapshotForge(snap_dir).get_file(REPO, sha("c5"), "sub/action.yaml"))
    assert b"__FORGE_URL__/dl/tool.tar.gz" in raw
    served = SnapshotForge(snap_dir, forge_url="http://127.0.0.1:9")
    body = run(served.get_file(REPO, sha("c5"), "sub/action.yaml"))
    assert b"http://127.0.0.1:9/dl/tool.tar.gz" in body


def test_synthesised_releases(forge: SnapshotForge) -> None:
    releases = run(forge.list_releases(REPO))
    by_tag = {r.tag_name: r for r in releases}
    # floating majors are not releases; "v1.0.0-light" parses as a pre-release version
    assert "v1" not in by_tag and "v1-nested" not in by_tag
    assert set(by_tag) == {"v1.0.0", "v1.1.0", "v1.0.0-light", "v2.0.0-rc.1", "sub/v1.2.3"}
    assert by_tag["v2.0.0-rc.1"].prerelease and not by_tag["v1.1.0"].prerelease
    # tagger date for annotated tags, commit date for lightweight ones
    assert by_tag["v1.1.0"].published_at.isoformat().startswith("2024-01-11")
    assert by_tag["sub/v1.2.3"].published_at.isoformat().startswith("2024-01-05")
    dates = [r.published_at for r in releases]
    assert dates == sorted(dates, reverse=True)
    assert by_tag["v1.1.0"].html_url == f"https://github.com/{REPO}/releases/tag/v1.1.0"


def test_releases_json_is_used_as_is(tmp_path: Path) -> None:
    b = example_repo()
    b.releases = [
        {
            "tag_name": "v1.1.0",
            "name": "One one",
            "draft": False,
            "prerelease": False,
            "published_at": "2024-01-11T00:00:00Z",
            "assets": [
                {
                    "name": "tool.tar.gz",
                    "size": 3,
                    "browser_download_url": "__FORGE_URL__/dl/tool.tar.gz",
                    "digest": "sha256:abc",
                }
            ],
        }
    ]
    b.write(tmp_path)
    forge = SnapshotForge(tmp_path, forge_url="http://127.0.0.1:1")
    (rel,) = run(forge.list_releases(REPO))
    assert rel.name == "One one"
    assert rel.assets[0].browser_download_url == "http://127.0.0.1:1/dl/tool.tar.gz"
    assert rel.assets[0].digest == "sha256:abc"


def test_merge_of_dirs_later_overlays_and_case_insensitive(tmp_path: Path) -> None:
    example_repo().write(tmp_path / "a")
    other = RepoBuilder("someone/other")
    c = other.commit("x")
    other.branch("trunk", c)
    other.default_branch = "trunk"
    other.write(tmp_path / "b")
    (tmp_path / "a" / "_downloads").mkdir()
    (tmp_path / "a" / "_downloads" / "t.bin").write_bytes(b"old")
    (tmp_path / "b" / "_downloads").mkdir()
    (tmp_path / "b" / "_downloads" / "t.bin").write_bytes(b"new")
    data = SnapshotData(tmp_path / "a", tmp_path / "b")
    assert data.repo_names() == [REPO, "someone/other"]
    assert data.find("SOMEONE/OTHER").name == "someone/other"
    assert data.download("t.bin") == b"new"
    assert data.download("../a/t.bin") is None
    info = run(SnapshotForge(tmp_path / "a", tmp_path / "b").get_repo("someone/other"))
    assert info.default_branch == "trunk"


def test_loading_is_lazy(tmp_path: Path) -> None:
    example_repo().write(tmp_path)
    broken = tmp_path / "broken" / "repo"
    broken.mkdir(parents=True)
    (broken / "refs.json").write_text("{not json")
    data = SnapshotData(tmp_path)  # does not read refs.json yet
    assert "broken/repo" in data.repo_names()
    with pytest.raises(InputError):
        data.repo("broken/repo").refs()


@pytest.mark.corpus
def test_corpus_large_graph_is_fast(corpus_forge_dir: Path) -> None:
    data = SnapshotData(corpus_forge_dir)
    snap = data.repo("github/codeql-action")
    start = time.perf_counter()
    main = snap.resolve("main")
    for tag in snap.tags()[:50]:
        snap.is_ancestor(tag.commit, main)
    snap.compare(snap.resolve("v3"), main)
    assert time.perf_counter() - start < 5.0
    # every ref of every corpus repo resolves to the commit refs.json says
    for name in data.repo_names()[:40]:
        repo = data.repo(name)
        meta = json.loads((corpus_forge_dir / name / "refs.json").read_text())
        for r in meta["refs"]:
            assert repo.resolve(r["ref"]) == r["peeled"]


@pytest.mark.corpus
def test_corpus_case_insensitive_lookup(corpus_forge_dir: Path) -> None:
    forge = SnapshotForge(corpus_forge_dir)
    assert run(forge.get_repo("azure/login")).full_name == "Azure/login"
