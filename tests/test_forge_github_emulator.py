"""GitHubForge end to end against the project's emulator (loopback only, hand-made fixtures)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pinner.errors import NotFoundError
from pinner.forge.base import NotBatched
from pinner.forge.download import fetch_hashed
from pinner.forge.github import GitHubForge
from pinner.forge.http import Transport
from pinner.models import GitRef
from pinner.settings import ForgeUrls, Secret, Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "forge"
REPO = "pinner-fixtures/checkout-lite"
TOKEN = "ghp_SENTINELemulatorTOKEN"


def settings_for(url: str, **kw) -> Settings:
    kw.setdefault("token", Secret(TOKEN))
    return Settings(urls=ForgeUrls.derive(url), jobs=4, timeout=10.0, **kw)


def snapshot_refs(repo: str) -> dict[str, tuple[str, str]]:
    data = json.loads((FIXTURES / repo / "refs.json").read_text())
    return {r["ref"]: (r["object"], r["peeled"]) for r in data["refs"]}


def eventually(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    """The emulator logs a request just after answering it: give its thread a moment."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def forge_dir() -> Path:
    if not (FIXTURES / REPO / "refs.json").is_file():
        pytest.skip(f"{FIXTURES / REPO} is absent: fixture forge not available")
    return FIXTURES


def test_forge_against_the_emulator(emulator, forge_dir):
    emu = emulator(forge_dir)
    settings = settings_for(emu.url, max_retry_time=3.0)
    expected = snapshot_refs(REPO)
    default = json.loads((forge_dir / REPO / "refs.json").read_text())["snapshot_commit"]

    async def go():
        async with GitHubForge(settings) as forge:
            listing = await forge.list_refs(REPO)
            action = await forge.get_file(REPO, default, "action.yml")
            missing = await forge.get_file(REPO, default, "nope.yml")
            commit = await forge.get_commit(REPO, "main")
            comparison = await forge.compare(REPO, "main", default)
            releases = await forge.list_releases(REPO)
            info = await forge.get_repo(REPO)
            annotated = listing.tag("v1.1.0")
            tag = await forge.get_tag_object(REPO, annotated.object)
            with pytest.raises(NotFoundError):
                await forge.list_refs("pinner-fixtures/does-not-exist")
            with pytest.raises(NotFoundError):
                await forge.get_commit(REPO, "no-such-ref")
            return listing, action, missing, commit, comparison, releases, info, tag, forge.stats

    listing, action, missing, commit, comparison, releases, info, tag, stats = asyncio.run(go())
    assert {r.name: (r.object, r.commit) for r in listing.refs} == expected
    assert listing.default_branch == "main"
    stored = (forge_dir / REPO / "files" / default / "action.yml").read_bytes()
    assert action == stored.replace(b"__FORGE_URL__", emu.url.encode())
    assert missing is None
    assert commit.sha == default
    assert comparison is not None and comparison.status == "identical"
    assert releases and all(r.tag_name for r in releases)
    assert info.default_branch == "main"
    assert tag.tag == "v1.1.0" and tag.object_type == "commit"
    assert (info.repo_id, info.owner_id) == (
        emu.data.repo(REPO).repo_id,
        emu.data.repo(REPO).owner_id,
    )
    # GraphQL for refs (the repository's metadata comes with them: no query of its own), the
    # missing repository and the tag object (with a token), raw for files; git only for the
    # repository GraphQL could not find, to say in its words that it is missing
    assert stats.sent["graphql"] == 3 and stats.sent["git"] == 1 and stats.sent["raw"] == 2
    assert stats.sent["rest"] >= 4


def test_forge_survives_a_hostile_emulator(emulator, forge_dir):
    """Seeded 502/503/resets/truncations: retries make every answer come through intact."""
    emu = emulator(forge_dir, fail_rate=0.4, seed=7, faults=("502", "503", "reset", "truncate"))
    settings = settings_for(emu.url, max_retry_time=60.0)
    expected = snapshot_refs(REPO)
    files = {
        p.parent.name: p.read_bytes().replace(b"__FORGE_URL__", emu.url.encode())
        for p in (forge_dir / REPO / "files").glob("*/action.yml")
    }

    async def instant(_seconds: float) -> None:
        return None

    async def go():
        transport = Transport(settings, sleep=instant)
        async with GitHubForge(settings, transport=transport) as forge:
            listing = await forge.list_refs(REPO)
            got = {sha: await forge.get_file(REPO, sha, "action.yml") for sha in sorted(files)}
            commits = [await forge.get_commit(REPO, sha) for sha in sorted(files)]
            await transport.aclose()
            return listing, got, commits, forge.stats

    listing, got, commits, stats = asyncio.run(go())
    assert {r.name: (r.object, r.commit) for r in listing.refs} == expected
    assert got == files
    assert [c.sha for c in commits] == sorted(files)

    def faults() -> int:
        return sum(emu.stats()["faults"].values())

    eventually(lambda: faults() == stats.retries)
    assert faults() > 0 and stats.retries == faults()


def test_download_from_the_emulator_never_sends_the_token(emulator, forge_dir):
    downloads = forge_dir / "_downloads"
    files = sorted(p for p in downloads.rglob("*") if p.is_file())
    if not files:
        pytest.skip("no fixture downloads")
    target = files[0]
    emu = emulator(forge_dir)
    settings = settings_for(emu.url)
    url = f"{emu.url}/dl/{target.relative_to(downloads).as_posix()}"

    async def go():
        async with Transport(settings) as transport:
            return await fetch_hashed(url, max_bytes=50 << 20, timeout=30, transport=transport)

    result = asyncio.run(go())
    body = target.read_bytes()
    assert result.sha256 == hashlib.sha256(body).hexdigest() and result.size == len(body)

    def downloads() -> list[dict]:
        return [r for r in emu.requests if r.get("kind") == "download"]

    assert eventually(lambda: bool(downloads()))
    assert not any(r.get("auth") for r in downloads())


def test_compare_ref_batches_concurrent_comparisons_into_one_graphql_query(emulator, forge_dir):
    """Every ``compare_ref`` asked at once travels in one ``Compare`` query and answers what REST
    ``compare`` answers; a ref that moved since it was listed, and any comparison without a
    token, are left to REST (NotBatched); the REST quota the answers report is remembered."""
    emu = emulator(forge_dir)
    snap = emu.data.repo(REPO)
    snap.refs()  # loads the repository
    fork = next(r.sha for r in snap.commits.values() if r.origin == "network")
    heads = [snap.snapshot_commit, fork]

    async def go(settings: Settings):
        async with GitHubForge(settings) as forge:
            listing = await forge.list_refs(REPO)
            refs = [r for r in listing.refs if r.is_branch or r.is_tag][:6]
            batched = await asyncio.gather(
                *(forge.compare_ref(REPO, ref, head) for ref in refs for head in heads)
            )
            rest = [await forge.compare(REPO, ref.commit, head) for ref in refs for head in heads]
            moved = GitRef(refs[0].name, "0" * 40, "0" * 40)
            with pytest.raises(NotBatched):
                await forge.compare_ref(REPO, moved, heads[0])
            return batched, rest, forge.compares_per_request, forge.compare_quota()

    batched, rest, per_request, quota = asyncio.run(go(settings_for(emu.url)))
    assert [(c.status, c.ahead_by, c.behind_by) if c else None for c in batched] == [
        (c.status, c.ahead_by, c.behind_by) if c else None for c in rest
    ]
    assert any(c is not None and c.head_in_base for c in batched)
    assert per_request == 50
    operations = [r.get("operation") for r in emu.requests if r["kind"] == "graphql"]
    assert operations.count("Compare") == 2  # the 12 at once, then the moved ref alone
    assert quota is not None and 0 < quota < 5000

    emu.reset()

    async def anonymous():
        async with GitHubForge(settings_for(emu.url, token=None)) as forge:
            listing = await forge.list_refs(REPO)
            assert forge.compares_per_request == 1 and forge.compare_quota() is None
            with pytest.raises(NotBatched):
                await forge.compare_ref(REPO, listing.refs[0], heads[0])
            await forge.compare(REPO, listing.refs[0].commit, heads[0])
            return forge.compare_quota()

    # the anonymous quota (60) the answer reported, less the reserve for the rest of the run
    assert asyncio.run(anonymous()) == 59 - 10
