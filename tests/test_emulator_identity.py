"""Repository identity in the emulator and the forges: ids, renames, re-created repositories.

``pinner lock`` records GitHub's ``owner_id``/``repo_id`` and compares them on every run, so the
emulator must answer them the way GitHub does on both APIs (REST ``id``/``owner.id``, GraphQL
``databaseId``), follow a rename the way GitHub does (REST ``301`` to ``/repositories/{id}``,
GraphQL ``followRenames``), and let a test re-create a repository under the same name (a new
``repo_id`` in ``meta.json``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from pinner.forge.github import GitHubForge
from pinner.forge.snapshot import SnapshotForge
from pinner.settings import ForgeUrls, Settings
from tests.forge.builder import RepoBuilder

QUERY = """query($o: String!, $n: String!, $f: Boolean!) {
  repository(owner: $o, name: $n, followRenames: $f) {
    databaseId nameWithOwner isArchived url
    owner { login ... on Organization { databaseId } ... on User { databaseId } }
  }
}"""


def _repo(root: Path, name: str, meta: dict | None = None) -> None:
    b = RepoBuilder(name)
    c = b.commit("c1")
    b.branch("main", c)
    b.light_tag("v1.0.0", c)
    written = b.write(root)
    if meta is not None:
        (written / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "forge"
    _repo(root, "Old-Org/Thing", {"full_name": "New-Org/thing-two", "repo_id": 77, "owner_id": 88})
    _repo(root, "acme/recreated", {"repo_id": 5001, "owner_id": 9})
    _repo(root, "acme/derived")
    return root


def _graphql(client: httpx.Client, owner: str, name: str, follow: bool = True) -> dict:
    body = {"query": QUERY, "variables": {"o": owner, "n": name, "f": follow}}
    answer = client.post("/graphql", json=body, headers={"Authorization": "bearer t"}).json()
    return answer


def test_rest_and_graphql_answer_the_same_ids(emulator, data_dir: Path) -> None:
    emu = emulator(data_dir)
    with httpx.Client(base_url=emu.url, timeout=10) as client:
        for name in ("acme/recreated", "acme/derived", "ACME/Derived"):
            rest = client.get(f"/repos/{name}").json()
            node = _graphql(client, *name.split("/"))["data"]["repository"]
            assert node["databaseId"] == rest["id"] > 0
            assert node["owner"]["databaseId"] == rest["owner"]["id"] > 0
            assert node["nameWithOwner"] == rest["full_name"]
        assert client.get("/repos/acme/recreated").json()["id"] == 5001
        # an owner's id is the owner's: the same for every repository it has
        derived = client.get("/repos/acme/derived").json()["owner"]["id"]
        assert derived == client.get("/repos/acme/derived").json()["owner"]["id"]


def test_a_renamed_repository_redirects_like_github(emulator, data_dir: Path) -> None:
    emu = emulator(data_dir)
    with httpx.Client(base_url=emu.url, timeout=10) as client:
        moved = client.get("/repos/old-org/thing")
        assert moved.status_code == 301
        assert moved.headers["location"] == f"{emu.url}/repositories/77"
        assert moved.json()["message"] == "Moved Permanently"
        followed = client.get("/repos/old-org/thing", follow_redirects=True).json()
        assert (followed["full_name"], followed["id"], followed["owner"]["id"]) == (
            "New-Org/thing-two",
            77,
            88,
        )
        assert client.get("/repos/new-org/thing-two").json()["id"] == 77  # the new name works
        assert client.get("/repositories/999999").status_code == 404
        node = _graphql(client, "old-org", "thing")["data"]["repository"]
        assert (node["nameWithOwner"], node["databaseId"]) == ("New-Org/thing-two", 77)
        strict = _graphql(client, "old-org", "thing", follow=False)
        assert strict["data"]["repository"] is None
        assert strict["errors"][0]["type"] == "NOT_FOUND"


@pytest.mark.parametrize("token", ["t", None], ids=["graphql", "rest"])
def test_forges_agree_on_identity(emulator, data_dir: Path, token: str | None) -> None:
    """The real forge (GraphQL batch with a token, REST without) and ``--snapshot`` give the
    same ids and current names for the same snapshot."""
    emu = emulator(data_dir)
    names = ("old-org/thing", "acme/recreated", "acme/derived")
    settings = Settings(
        urls=ForgeUrls.derive(emu.url),
        token=token,
        cache_dir=None,
        offline=False,
        jobs=4,
        snapshot_dirs=(),
    )

    async def ask() -> tuple[list, list, object]:
        async with GitHubForge(settings) as forge:
            live = await asyncio.gather(*(forge.get_repo(n) for n in names))
            stats = forge.stats
        offline = SnapshotForge(data_dir)
        local = [await offline.get_repo(n) for n in names]
        return live, local, stats

    live, local, stats = asyncio.run(ask())
    for got, want in zip(live, local, strict=True):
        assert (got.full_name, got.repo_id, got.owner_id, got.default_branch) == (
            want.full_name,
            want.repo_id,
            want.owner_id,
            want.default_branch,
        )
    assert live[0].full_name == "New-Org/thing-two" and live[1].repo_id == 5001
    if token:  # one query for all three repositories
        assert stats.sent["graphql"] == 1 and stats.sent["rest"] == 0
    else:
        assert stats.sent["rest"] == 4 and stats.redirects == 1
