"""CachedForge over the real GitHubForge and the emulator: cold fills, warm asks nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pinner.errors import OfflineMiss
from pinner.forge.factory import open_forge
from pinner.settings import ForgeUrls, Secret, Settings
from tests.forge.builder import example_repo

REPO = "Octo-Org/Hello-Action"


@pytest.fixture
def served(tmp_path: Path, emulator):
    snap = tmp_path / "snap"
    example_repo().write(snap)
    return emulator(snap)


def settings_for(url: str, cache: Path | None, *, offline: bool = False) -> Settings:
    return Settings(urls=ForgeUrls.derive(url), token=Secret("x"), cache_dir=cache, offline=offline)


async def ask_everything(settings: Settings, *, refs_ttl: float = 600) -> tuple:
    async with open_forge(settings, refs_ttl=refs_ttl) as forge:
        listing = await forge.list_refs(REPO)
        v110 = listing.tag("v1.1.0")
        main = listing.branch("main")
        assert v110 is not None and v110.annotated and main is not None
        return (
            listing,
            await forge.get_file(REPO, v110.commit, "action.yml"),
            await forge.get_file(REPO, v110.commit, "no/such/action.yml"),
            await forge.get_commit(REPO, v110.commit),
            await forge.get_tag_object(REPO, v110.object),
            await forge.compare(REPO, main.commit, v110.commit),
            await forge.get_repo(REPO),
        )


def test_warm_run_makes_no_request(served, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = asyncio.run(ask_everything(settings_for(served.url, cache)))
    assert served.stats()["total"] >= 6
    assert cold[1] is not None and b"hello" in cold[1]
    assert cold[2] is None
    served.reset()
    warm = asyncio.run(ask_everything(settings_for(served.url, cache)))
    assert warm == cold
    assert served.stats()["total"] == 0


def test_after_the_ttl_only_listings_are_asked_again(served, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    asyncio.run(ask_everything(settings_for(served.url, cache)))
    served.reset()
    asyncio.run(ask_everything(settings_for(served.url, cache), refs_ttl=0))
    stats = served.stats()
    # one listing, which brings the repository's metadata along (GraphQL, with a token: many
    # repositories per query, which beats a revalidation per repository)
    assert stats["graphql"] == 1 and stats["git"] == 0
    immutable = [e for e in stats["endpoints"] if "/git/tags/" in e or "/commits/" in e]
    assert immutable == [], stats["endpoints"]
    assert stats["total"] == 1


def test_offline_answers_from_the_cache_and_misses_clearly(served, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = asyncio.run(ask_everything(settings_for(served.url, cache)))
    served.reset()
    offline = settings_for(served.url, cache, offline=True)
    assert asyncio.run(ask_everything(offline, refs_ttl=0)) == cold  # stale entries allowed
    assert served.stats()["total"] == 0

    async def unknown() -> None:
        async with open_forge(offline) as forge:
            await forge.list_refs("someone/else")

    with pytest.raises(OfflineMiss, match="--offline"):
        asyncio.run(unknown())
    assert served.stats()["total"] == 0


def test_no_cache_still_never_asks_twice_in_a_run(served) -> None:
    async def twice() -> None:
        async with open_forge(settings_for(served.url, None)) as forge:
            for _ in range(2):
                await asyncio.gather(*(forge.list_refs(REPO) for _ in range(10)))

    asyncio.run(twice())
    assert served.stats()["graphql"] == 1 and served.stats()["git"] == 0
