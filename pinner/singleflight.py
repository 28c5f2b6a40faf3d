"""A per-run single-flight memo: each question is asked once, however many callers ask it.

The resolver, the graph walk and the cached forge all promise "no request twice in a run" while
many coroutines ask the same thing at once; this is the one implementation of that promise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """Each key's coroutine runs once; concurrent and later callers await that one task.

    Its settled result is the answer for the rest of the run, failures included (a repository
    that does not exist does not start existing half-way through a run). A memo's tasks belong
    to the event loop that started them: use one memo per run.
    """

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: dict[K, asyncio.Future[V]] = {}

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` was asked already (its answer may still be on its way)."""
        return key in self._tasks

    async def get(self, key: K, start: Callable[[], Awaitable[V]]) -> V:
        """The answer for ``key``, calling ``start()`` only if nobody asked before."""
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(start())
            task.add_done_callback(_mark_retrieved)
            self._tasks[key] = task
        # shield: one caller being cancelled must not cancel the answer the others await
        return await asyncio.shield(task)

    def cancel(self) -> None:
        """Stop every question still in flight (a run that fails early leaves nothing
        running against a client about to be closed)."""
        for task in self._tasks.values():
            task.cancel()


def _mark_retrieved(task: asyncio.Future[Any]) -> None:
    """Consume a shared task's failure: when every caller was cancelled (Ctrl-C), asyncio would
    otherwise print "Task exception was never retrieved" with a traceback at exit."""
    if not task.cancelled():
        task.exception()
