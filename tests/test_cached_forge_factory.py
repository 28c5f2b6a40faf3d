"""open_forge: the stack every command gets (snapshot or GitHub, behind one CachedForge)."""

from __future__ import annotations

import asyncio
import sys
import types
from pathlib import Path
from typing import ClassVar

import pytest

from pinner.errors import UsageError
from pinner.forge.cache import FileCacheStore
from pinner.forge.cached import CachedForge
from pinner.forge.factory import cache_scope, open_forge, open_store
from pinner.settings import ForgeUrls, Settings
from tests.forge.builder import RepoBuilder


class FakeGitHubForge:
    """Stands in for pinner.forge.github.GitHubForge: records its lifecycle and arguments."""

    instances: ClassVar[list[FakeGitHubForge]] = []

    def __init__(self, settings: Settings, *, cache=None) -> None:
        self.settings = settings
        self.cache = cache
        self.entered = self.exited = False
        FakeGitHubForge.instances.append(self)

    async def __aenter__(self) -> FakeGitHubForge:
        self.entered = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self.exited = True

    async def list_refs(self, repo: str):
        raise AssertionError("not called in these tests")


@pytest.fixture
def fake_github(monkeypatch: pytest.MonkeyPatch) -> type[FakeGitHubForge]:
    module = types.ModuleType("pinner.forge.github")
    module.GitHubForge = FakeGitHubForge  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pinner.forge.github", module)
    FakeGitHubForge.instances = []
    return FakeGitHubForge


def test_github_forge_gets_the_shared_store_and_is_closed(tmp_path: Path, fake_github) -> None:
    settings = Settings(urls=ForgeUrls.derive("http://127.0.0.1:8123"), cache_dir=tmp_path)

    async def main() -> CachedForge:
        async with open_forge(settings) as forge:
            assert fake_github.instances == []  # built when first asked something
            assert forge.inner.settings is settings
            (inner,) = fake_github.instances
            assert not inner.exited
            assert forge.inner.built is inner
            assert isinstance(inner.cache, FileCacheStore) and inner.cache.root == tmp_path
            assert forge.store is inner.cache  # one store: ETags and answers side by side
            return forge

    forge = asyncio.run(main())
    assert fake_github.instances[0].exited
    # the store was closed after the forge: its background writes are flushed
    assert forge.store._writer is None
    forge.store.put("file/x", b"1")  # closed: a synchronous write, immediately on disk
    assert FileCacheStore(tmp_path).get("file/x") is not None
    assert forge.scope == "127.0.0.1:8123"
    assert forge.offline is False


def test_a_github_forge_never_asked_is_never_built(tmp_path: Path, fake_github) -> None:
    """A run the cache answers entirely imports no HTTP stack (see GitHubOnFirstUse)."""

    async def main() -> None:
        async with open_forge(Settings(cache_dir=tmp_path)) as forge:
            assert forge.remote and not forge.offline
            forge.prefetch_lookups([])  # nothing the store lacks: nothing to start

    asyncio.run(main())
    assert fake_github.instances == []


def test_no_cache_means_no_store(fake_github) -> None:
    async def main() -> None:
        async with open_forge(Settings(cache_dir=None)) as forge:
            assert forge.store is None
            assert forge.inner.cache is None
            assert fake_github.instances[0].cache is None

    asyncio.run(main())


def test_offline_is_passed_on(tmp_path: Path, fake_github) -> None:
    async def main() -> None:
        async with open_forge(Settings(cache_dir=tmp_path, offline=True)) as forge:
            assert forge.offline is True

    asyncio.run(main())


def test_offline_without_cache_is_a_usage_error(fake_github) -> None:
    async def main() -> None:
        async with open_forge(Settings(cache_dir=None, offline=True)):
            raise AssertionError("must not open")

    with pytest.raises(UsageError, match="--offline"):
        asyncio.run(main())


def test_inner_forge_closed_on_error(tmp_path: Path, fake_github) -> None:
    async def main() -> None:
        async with open_forge(Settings(cache_dir=tmp_path)) as forge:
            assert forge.inner.cache is not None  # built
            raise RuntimeError("command failed")

    with pytest.raises(RuntimeError):
        asyncio.run(main())
    assert fake_github.instances[0].exited


def test_snapshot_is_served_memoised_and_never_written_to_the_cache(tmp_path: Path) -> None:
    repo = RepoBuilder("acme/tool")
    c1 = repo.commit("one")
    repo.light_tag("v1.0.0", c1)
    repo.branch("main", c1)
    repo.file(c1, "action.yml", "name: tool\nruns: {using: node20, main: x.js}\n")
    snap = tmp_path / "snap"
    repo.write(snap)
    cache = tmp_path / "cache"
    settings = Settings(cache_dir=cache, snapshot_dirs=(snap,))

    async def main() -> None:
        async with open_forge(settings) as forge:
            assert forge.store is None
            listing = await forge.list_refs("acme/tool")
            assert listing.tag("v1.0.0") is not None
            body = await forge.get_file("acme/tool", c1, "action.yml")
            assert body is not None and body.startswith(b"name: tool")
            await forge.list_refs("ACME/tool")
            assert forge.stats["refs.fetch"] == 1 and forge.stats["refs.memo"] == 1

    asyncio.run(main())
    assert not cache.exists()


@pytest.mark.parametrize(
    "server, api, scope",
    [
        ("https://github.com", None, "github.com"),
        ("https://GHE.example.com/", None, "ghe.example.com"),
        ("http://127.0.0.1:8080", None, "127.0.0.1:8080"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:9090/api", "127.0.0.1:8080+127.0.0.1:9090/api"),
    ],
)
def test_cache_scope(server: str, api: str | None, scope: str) -> None:
    assert cache_scope(ForgeUrls.derive(server, api)) == scope


def test_open_store(tmp_path: Path) -> None:
    assert open_store(None) is None
    store = open_store(tmp_path)
    assert isinstance(store, FileCacheStore) and store.root == tmp_path
    store.close()
