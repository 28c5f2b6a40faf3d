"""The one way commands obtain a forge: ``async with open_forge(settings) as forge``.

Every command goes through here so every command gets the same stack: the real forge (GitHub
over HTTP, or a snapshot directory with ``--snapshot``), behind one :class:`CachedForge` that
guarantees no request is made twice in a run and, with a cache dir, keeps answers across runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pinner.errors import UsageError
from pinner.forge.base import CacheStore
from pinner.forge.cache import FileCacheStore
from pinner.forge.cached import DEFAULT_REFS_TTL, CachedForge
from pinner.settings import ForgeUrls, Settings

if TYPE_CHECKING:  # the HTTP stack is imported only when a run asks the network something
    from pinner.forge.github import GitHubForge


@asynccontextmanager
async def open_forge(
    settings: Settings, *, refs_ttl: float = DEFAULT_REFS_TTL
) -> AsyncIterator[CachedForge]:
    """Open the forge ``settings`` describe, cached, and close it (its HTTP pool) on exit.

    With ``settings.snapshot_dirs`` the snapshot answers and nothing is stored on disk: a
    snapshot is already local, and its answers must never be mistaken for the real forge's.
    """
    if settings.snapshot_dirs:
        from pinner.forge.snapshot import SnapshotForge

        yield CachedForge(
            SnapshotForge(*settings.snapshot_dirs), None, offline=False, refs_ttl=refs_ttl
        )
        return
    async with AsyncExitStack() as stack:
        if settings.offline and settings.cache_dir is None:
            raise UsageError("--offline needs the cache; it cannot be combined with --no-cache")
        store = open_store(settings.cache_dir)
        if store is not None:
            stack.callback(store.close)  # after the forge closes: flush what it stored
        github = GitHubOnFirstUse(settings, store)
        stack.push_async_callback(github.aclose)
        if settings.verbose:
            stack.callback(_say_requests, github)
        yield CachedForge(
            github,
            store,
            offline=settings.offline,
            refs_ttl=refs_ttl,
            scope=cache_scope(settings.urls),
        )


class GitHubOnFirstUse:
    """The GitHub forge, built when the run first asks it something.

    Why: building it imports the HTTP stack (httpx, TLS, the forge's clients: about 35 ms of
    CPU), and a run the cache answers entirely (a warm ``pinner lock``, which runs once per
    repository) never asks it anything. Every attribute is the built forge's; ``remote`` is
    known without it. The run's ``--deadline`` counts from the first request.
    """

    remote = True

    def __init__(self, settings: Settings, store: CacheStore | None) -> None:
        self._settings = settings
        self._store = store
        self.built: GitHubForge | None = None

    def __getattr__(self, name: str) -> Any:  # only for what this class does not define
        if self.built is None:
            from pinner.forge.github import GitHubForge

            self.built = GitHubForge(self._settings, cache=self._store)
        return getattr(self.built, name)

    async def aclose(self) -> None:
        if self.built is not None:
            await self.built.aclose()


def _say_requests(github: GitHubOnFirstUse) -> None:
    """``--verbose``: what the run cost, as one stderr line (``12 requests (rest 3, git 9)``)."""
    import sys

    summary = github.stats.summary() if github.built is not None else "0 requests"
    sys.stderr.write(f"pinner: {summary}\n")


def open_store(cache_dir: Path | None) -> FileCacheStore | None:
    """The persistent store under ``cache_dir``, or None for ``--no-cache``.

    Writes go through a background thread so a slow disk never stalls the event loop; the
    caller closes the store (flushing them) when the run ends.
    """
    return FileCacheStore(cache_dir, background=True) if cache_dir is not None else None


def cache_scope(urls: ForgeUrls) -> str:
    """The identity of a forge in cache keys: its server, and its API base when overridden.

    Two emulators on different ports, a GHES host and github.com each get their own entries.
    """
    server = _without_scheme(urls.server)
    derived = ForgeUrls.derive(urls.server)
    if urls.api != derived.api:
        return f"{server}+{_without_scheme(urls.api)}"
    return server


def _without_scheme(url: str) -> str:
    parts = urlsplit(url)
    return (parts.netloc + parts.path).rstrip("/").lower()
