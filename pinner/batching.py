"""Many concurrent questions, one request: the batching half of "ask each question once".

:class:`~pinner.singleflight.SingleFlight` makes sure a question is asked once per run;
:class:`Batcher` makes sure questions asked *at the same time* travel together. Callers ask
for one key each, as if alone; the batcher waits until the event loop has settled (every
task that was about to ask has asked), then hands all pending keys, in chunks of at most
``max_size``, to one ``fetch_many`` call each. A run that resolves 120 repositories
concurrently thus sends six GraphQL queries instead of 120 requests, and no caller needs to
know which others exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

FetchMany = Callable[[Sequence[K]], Awaitable[Mapping[K, "V | BaseException"]]]

_QUIET_TICKS = 2
"""Loop iterations without a new key before a partial batch leaves: callers reach the
batcher through a few layers of tasks (memo, cache), each costing an iteration."""
_MAX_TICKS = 64
"""Upper bound on the wait for a partial batch, however steadily keys keep trickling in."""


class Batcher(Generic[K, V]):
    """Collects keys asked concurrently and fetches them ``max_size`` at a time.

    ``fetch_many(keys)`` returns, for every key, its value or the exception that key's caller
    should get; a key it leaves out, or an exception it raises itself, fails every key of that
    chunk. The same key asked twice while pending shares one answer.
    """

    def __init__(self, fetch_many: FetchMany[K, V], *, max_size: int) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self._fetch_many = fetch_many
        self._max_size = max_size
        self._pending: dict[K, asyncio.Future[V]] = {}
        self._timer: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()  # strong refs until each chunk settles

    async def get(self, key: K) -> V:
        future = self._pending.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            future.add_done_callback(_mark_retrieved)
            self._pending[key] = future
            if len(self._pending) >= self._max_size:
                self._dispatch()
            elif self._timer is None:
                self._timer = asyncio.ensure_future(self._dispatch_when_settled())
        # shield: one caller being cancelled must not cancel the answer others await
        return await asyncio.shield(future)

    async def _dispatch_when_settled(self) -> None:
        try:
            quiet, seen = 0, len(self._pending)
            for _ in range(_MAX_TICKS):
                await asyncio.sleep(0)
                if not self._pending:
                    return  # a full chunk left meanwhile and nothing new arrived
                quiet = quiet + 1 if len(self._pending) == seen else 0
                seen = len(self._pending)
                if quiet >= _QUIET_TICKS:
                    break
        finally:
            self._timer = None
        self._dispatch()

    def _dispatch(self) -> None:
        """Send everything pending, in chunks of at most ``max_size`` keys."""
        pending, self._pending = self._pending, {}
        keys = list(pending)
        for start in range(0, len(keys), self._max_size):
            chunk = {k: pending[k] for k in keys[start : start + self._max_size]}
            task = asyncio.ensure_future(self._settle(chunk))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _settle(self, chunk: dict[K, asyncio.Future[V]]) -> None:
        try:
            answers = await self._fetch_many(list(chunk))
        except asyncio.CancelledError:
            for future in chunk.values():
                future.cancel()
            raise
        except Exception as exc:  # handed to every waiter of the chunk
            for future in chunk.values():
                if not future.done():
                    future.set_exception(exc)
            return
        for key, future in chunk.items():
            if future.done():
                continue
            if key not in answers:
                future.set_exception(RuntimeError(f"batch answered no result for {key!r}"))
                continue
            answer = answers[key]
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)


def _mark_retrieved(future: asyncio.Future[object]) -> None:
    """Consume a failure nobody awaited any more (every caller cancelled, e.g. Ctrl-C)."""
    if not future.cancelled():
        future.exception()
