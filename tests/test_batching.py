"""Batcher: questions asked together travel together, in chunks, each caller gets its answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from pinner.batching import Batcher
from pinner.singleflight import SingleFlight


class Recorder:
    """A fetch_many that records its calls and answers ``key * 10`` (or raises for ``bad``)."""

    def __init__(self, *, bad: frozenset[int] = frozenset(), delay: float = 0.0) -> None:
        self.calls: list[list[int]] = []
        self.bad = bad
        self.delay = delay

    async def __call__(self, keys: Sequence[int]) -> dict[int, int | BaseException]:
        self.calls.append(list(keys))
        if self.delay:
            await asyncio.sleep(self.delay)
        return {k: (ValueError(f"bad {k}") if k in self.bad else k * 10) for k in keys}


def test_concurrent_questions_share_one_fetch_and_each_gets_its_answer():
    fetch = Recorder()

    async def go() -> list[int]:
        batcher: Batcher[int, int] = Batcher(fetch, max_size=50)
        return await asyncio.gather(*(batcher.get(k) for k in range(7)))

    assert asyncio.run(go()) == [0, 10, 20, 30, 40, 50, 60]
    assert fetch.calls == [[0, 1, 2, 3, 4, 5, 6]]


def test_full_chunks_leave_at_once_and_the_rest_follows():
    fetch = Recorder()

    async def go() -> list[int]:
        batcher: Batcher[int, int] = Batcher(fetch, max_size=20)
        return await asyncio.gather(*(batcher.get(k) for k in range(45)))

    assert asyncio.run(go()) == [k * 10 for k in range(45)]
    assert [len(c) for c in fetch.calls] == [20, 20, 5]
    assert sorted(k for c in fetch.calls for k in c) == list(range(45))


def test_callers_behind_layers_of_tasks_still_share_a_batch():
    """The forge is reached through memo and cache tasks: each layer costs a loop iteration."""
    fetch = Recorder()

    async def go() -> list[int]:
        batcher: Batcher[int, int] = Batcher(fetch, max_size=100)
        memo: SingleFlight[int, int] = SingleFlight()

        async def layered(k: int) -> int:
            for _ in range(k % 3):  # 0, 1 or 2 extra iterations before asking
                await asyncio.sleep(0)
            return await memo.get(k, lambda: batcher.get(k))

        return await asyncio.gather(*(layered(k) for k in range(30)))

    assert asyncio.run(go()) == [k * 10 for k in range(30)]
    assert len(fetch.calls) == 1


def test_the_same_key_asked_twice_is_fetched_once():
    fetch = Recorder()

    async def go() -> list[int]:
        batcher: Batcher[int, int] = Batcher(fetch, max_size=10)
        return await asyncio.gather(batcher.get(3), batcher.get(3), batcher.get(4))

    assert asyncio.run(go()) == [30, 30, 40]
    assert fetch.calls == [[3, 4]]


def test_questions_asked_one_after_another_are_separate_batches():
    fetch = Recorder()

    async def go() -> list[int]:
        batcher: Batcher[int, int] = Batcher(fetch, max_size=10)
        return [await batcher.get(1), await batcher.get(2)]

    assert asyncio.run(go()) == [10, 20]
    assert fetch.calls == [[1], [2]]


def test_a_per_key_failure_reaches_only_that_caller():
    fetch = Recorder(bad=frozenset({2}))

    async def go() -> list[object]:
        batcher: Batcher[int, int] = Batcher(fetch, max_size=10)
        return await asyncio.gather(*(batcher.get(k) for k in range(4)), return_exceptions=True)

    results = asyncio.run(go())
    assert results[0] == 0 and results[1] == 10 and results[3] == 30
    assert isinstance(results[2], ValueError) and str(results[2]) == "bad 2"


def test_a_failing_fetch_fails_every_key_of_its_chunk():
    async def broken(keys: Sequence[int]) -> dict[int, int]:
        raise RuntimeError("server exploded")

    async def go() -> list[object]:
        batcher: Batcher[int, int] = Batcher(broken, max_size=10)
        return await asyncio.gather(*(batcher.get(k) for k in range(3)), return_exceptions=True)

    results = asyncio.run(go())
    assert all(isinstance(r, RuntimeError) and "exploded" in str(r) for r in results)


def test_a_key_left_unanswered_is_an_error_not_a_hang():
    async def forgetful(keys: Sequence[int]) -> dict[int, int]:
        return {k: k for k in keys if k != 1}

    async def go() -> list[object]:
        batcher: Batcher[int, int] = Batcher(forgetful, max_size=10)
        return await asyncio.gather(*(batcher.get(k) for k in range(3)), return_exceptions=True)

    results = asyncio.run(asyncio.wait_for(go(), 5))
    assert results[0] == 0 and results[2] == 2
    assert isinstance(results[1], RuntimeError) and "no result for 1" in str(results[1])


def test_one_cancelled_caller_does_not_cancel_the_others():
    fetch = Recorder(delay=0.05)

    async def go() -> int:
        batcher: Batcher[int, int] = Batcher(fetch, max_size=10)
        doomed = asyncio.ensure_future(batcher.get(5))
        survivor = asyncio.ensure_future(batcher.get(5))
        await asyncio.sleep(0.01)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
        return await survivor

    assert asyncio.run(go()) == 50


def test_max_size_must_be_positive():
    with pytest.raises(ValueError):
        Batcher(Recorder(), max_size=0)
