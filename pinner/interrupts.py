"""Ctrl-C, SIGTERM and SIGHUP: stop a run cleanly, and say truthfully what was written.

Why pinner handles these itself: a run that rewrites a repository must not stop halfway through
replacing its files, and when it stops, its last line must say whether the files were written.
Python's defaults do neither. SIGTERM (``timeout``, ``docker stop``, a cancelled CI job) and
SIGHUP (a closed terminal) kill the process on the spot, leaving temporary files and a
repository with some files replaced and others not; and ``asyncio.run`` turns the first Ctrl-C
into a cancellation that only lands at the next ``await``, so a Ctrl-C during the synchronous
write phase used to let every file be replaced and then report "no file was changed".

So, for the duration of a command (:func:`handled`), all three signals go to one handler:

* normally it stops the run at once, the way ``asyncio.run`` would for Ctrl-C: the command's
  main task is cancelled (its ``finally`` blocks close connections and the reading worker);
  outside the event loop, or on a second signal, :class:`Stopped` (a
  :class:`KeyboardInterrupt`) is raised;
* while a write phase :func:`holds <held>` signals, it only records them; the writer checks
  :func:`stop_if_pending` between files it has not yet put in place, and after the last rename it
  reports the interruption itself (:func:`rewrite.write_all <pinner.core.rewrite.write_all>`);
* :func:`message` then tells which it was: nothing written, or every file already written
  (:func:`note_written` is called once a write phase has replaced its files).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Coroutine, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # asyncio is imported by the commands that use it, not by every start-up
    import asyncio

T = TypeVar("T")

HANDLED = tuple(
    sig
    for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
    if sig is not None
)
"""The signals that stop a run: Ctrl-C, a polite kill, a closed terminal."""


class Stopped(KeyboardInterrupt):
    """What the handler raises: a :class:`KeyboardInterrupt` (every ``except`` for one catches
    it, asyncio and click included) of pinner's own type.

    Why not ``KeyboardInterrupt`` itself: CPython remembers a plain ``KeyboardInterrupt`` that
    leaves code run by ``exec()`` of a string (dataclasses and namedtuples make their methods
    that way, so any import can be in one), and then ends the process by killing itself with
    SIGINT, after pinner has caught the interruption and printed its line. Python checks the
    exact type, so a subclass leaves the exit status to pinner.
    """


class Closeable(Protocol):
    def close(self) -> None: ...


class _State:
    """What this process's current run has been told and has done (one run at a time)."""

    def __init__(self) -> None:
        self.depth = 0  # nesting of handled(): only the outermost starts a fresh run
        self.reset()

    def reset(self) -> None:
        self.signum: int | None = None  # the first signal received
        self.holding = 0  # nesting of held()
        self.written = False  # a write phase replaced its files
        self.task: asyncio.Task[Any] | None = None  # the command's main task, while it runs
        self.told = False  # the one line about the interruption has been printed
        self.to_close: list[list[Closeable]] = []  # per handled() block, innermost last


_state = _State()


def _on_signal(signum: int, frame: object) -> None:
    first = _state.signum is None
    if first:
        _state.signum = signum
    if _state.holding:
        return  # recorded: the writer stops at a point where stopping leaves no mess
    task = _state.task
    if first and task is not None and not task.done():
        # As asyncio.run does for Ctrl-C: cancel the main task so that its finally blocks run
        # in order, and wake the loop in case it sleeps in select().
        task.cancel()
        task.get_loop().call_soon_threadsafe(_nothing)
        return
    raise Stopped


def _nothing() -> None:
    return None


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Route the stopping signals to pinner's handler for the ``with`` block (main thread only;
    elsewhere Python's defaults stay). Re-entrant: the outermost block starts a fresh run; on
    the way out of each, what :func:`close_at_end` was given inside it is closed and the
    handlers that were there before are back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outermost = _state.depth == 0
    if outermost:
        _state.reset()
    previous = {sig: signal.getsignal(sig) for sig in HANDLED}
    for sig in HANDLED:
        signal.signal(sig, _on_signal)
    _state.depth += 1
    _state.to_close.append([])
    try:
        yield
    finally:
        _state.depth -= 1
        for resource in reversed(_state.to_close.pop()):
            with contextlib.suppress(Exception):
                resource.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def close_at_end(resource: Closeable) -> None:
    """Close ``resource`` when the run ends, however it ends (idempotent ``close`` expected).

    For what must not outlive the process even when a signal lands before the code that owns
    it got to its ``finally``: the reading worker, forked before the event loop starts.
    """
    if _state.to_close:
        _state.to_close[-1].append(resource)


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, with the main task known to the handler.

    A run stopped by a signal ends in :class:`KeyboardInterrupt`, whether the signal came as a
    cancellation or not.
    """
    import asyncio

    async def as_main_task() -> T:
        _state.task = asyncio.current_task()
        try:
            return await main
        finally:
            _state.task = None

    try:
        return asyncio.run(as_main_task())
    except asyncio.CancelledError:
        if _state.signum is None:
            raise
        raise Stopped from None
    finally:
        main.close()  # a no-op when it ran; otherwise no "never awaited" warning at exit


def stop_if_pending() -> None:
    """Raise :class:`KeyboardInterrupt` when a signal has been received (a writer's check
    between files, while nothing is in place yet)."""
    if _state.signum is not None:
        raise Stopped


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Record stopping signals instead of acting on them for the ``with`` block.

    The block decides where to stop (:func:`stop_if_pending`); if it completes while a signal
    is pending, :class:`KeyboardInterrupt` is raised on the way out.
    """
    _state.holding += 1
    try:
        yield
    finally:
        _state.holding -= 1
    stop_if_pending()


def note_written() -> None:
    """A write phase has put every one of its files in place."""
    _state.written = True


def message() -> str:
    """The one line for a run stopped by a signal (which signal, and what was written), for
    the caller to print (see :func:`untold`)."""
    _state.told = True
    what = "terminated (SIGTERM)" if _state.signum == getattr(signal, "SIGTERM", None) else None
    if what is None and _state.signum == getattr(signal, "SIGHUP", None):
        what = "hung up (SIGHUP)"
    what = what or "interrupted"
    if _state.written:
        return f"{what}; every file was already written"
    return f"{what}; no file was changed"


def untold() -> bool:
    """Whether a signal stopped the run without its line being printed: one that landed while
    the command line was still being parsed, where click turns it into a silent exit 130."""
    return _state.signum is not None and not _state.told


def reset_in_child() -> None:
    """In a forked helper process: back to the default dispositions (a SIGTERM kills it), and
    Ctrl-C ignored (it reaches the whole process group; the main process reports it)."""
    for sig in HANDLED:
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


__all__ = [
    "HANDLED",
    "Stopped",
    "close_at_end",
    "handled",
    "held",
    "message",
    "note_written",
    "reset_in_child",
    "run",
    "stop_if_pending",
    "untold",
]
