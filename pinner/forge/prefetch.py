"""Start ref listings while the user's files are still being read.

Reading and parsing a large repository's workflows takes a good part of a second; a cold run
then waits several round trips for ref listings. Neither needs to wait for the other: as each
file is read, the repositories it uses are handed here, and their listings are asked for at
once, in chunks the size of one GraphQL batch (so the batches that leave early are full ones,
not a trickle of small requests). The answers, failures included, land in the forge's
per-run memo, where the planner finds them; nothing here reports anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence

from pinner.forge.batch_sizes import REPOS_PER_QUERY


class ListingPrefetch:
    """Asks ``list_refs`` for the listings of repositories as they are found, ``chunk`` at a
    time.

    ``list_refs`` must memoise per run (the resolver's single-flight listing does, and so does
    :class:`~pinner.forge.cached.CachedForge`), or the prefetched answers would be asked for
    again. ``on_sent`` hears each group of repositories the moment their listings are asked
    for (the planner starts their references then). :meth:`cancel` stops what is still in
    flight (a run that ends early must not leave requests behind).
    """

    def __init__(
        self,
        list_refs: Callable[[str], Awaitable[object]],
        *,
        chunk: int = REPOS_PER_QUERY,
        on_sent: Callable[[Sequence[str]], None] | None = None,
    ) -> None:
        self._list_refs = list_refs
        self._chunk = chunk
        self._on_sent = on_sent
        self._seen: set[str] = set()
        self._pending: list[str] = []
        self._pending_keys: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def want(self, repos: Iterable[str]) -> None:
        """Note repositories; a full chunk of new ones is asked for right away."""
        for repo in repos:
            key = repo.lower()
            if key not in self._seen:
                self._seen.add(key)
                self._pending.append(repo)
                self._pending_keys.add(key)
        while len(self._pending) >= self._chunk:
            chunk, self._pending = self._pending[: self._chunk], self._pending[self._chunk :]
            self._start(chunk)

    def sent(self, repo: str) -> bool:
        """Whether ``repo``'s listing has been asked for (not just noted)."""
        key = repo.lower()
        return key in self._seen and key not in self._pending_keys

    def flush(self) -> None:
        """Ask for whatever is noted and not asked for yet."""
        chunk, self._pending = self._pending, []
        self._start(chunk)

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()

    def _start(self, repos: list[str]) -> None:
        for repo in repos:
            self._pending_keys.discard(repo.lower())
            task = asyncio.ensure_future(self._warm(repo))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if repos and self._on_sent is not None:
            self._on_sent(repos)

    async def _warm(self, repo: str) -> None:
        # the outcome, a failure included, is the memo's: the planner meets it there
        with contextlib.suppress(Exception):
            await self._list_refs(repo)
