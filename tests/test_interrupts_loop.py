"""A second signal inside the event loop, in the very step the command's main task ends.

The handler stops the loop from one of its callbacks on a second signal. When that callback
runs in the step where the main task has just finished, asyncio's own "the task is done,
stop" callback is left queued, and it stops the loop under the next thing ``asyncio.run``'s
teardown waits for: ``RuntimeError: Event loop stopped before Future completed``, printed as
a traceback (seen once in the test sending a hundred SIGTERMs at random moments). The run
was stopped by the signal, so it ends as any stopped run does: :class:`KeyboardInterrupt`.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import pytest

from pinner import interrupts


def test_a_second_signal_as_the_main_task_ends_stops_the_run_without_a_traceback() -> None:
    lingering: list[asyncio.Task[None]] = []

    async def main() -> int:
        # the first signal has been taken (the main task was told to stop, and is ending);
        # the second one's callback is queued just before the task's own done callback
        loop = asyncio.get_running_loop()
        lingering.append(loop.create_task(asyncio.sleep(60)))  # a connection's task, say
        interrupts._state.signum = signal.SIGTERM
        interrupts._state.stopping = True
        loop.call_soon(interrupts._raise_stopped)
        return 1

    try:
        with interrupts.handled(), pytest.raises(KeyboardInterrupt):
            interrupts.run(main())
        assert "SIGTERM" in interrupts.message()
    finally:  # this process runs other tests
        interrupts._state.reset()
        logging.getLogger("asyncio").disabled = False
