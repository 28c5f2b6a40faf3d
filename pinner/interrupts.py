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
  outside the event loop :class:`Stopped` (a :class:`KeyboardInterrupt`) is raised;
* a second signal while the event loop unwinds stops it at once: from one of the loop's own
  callbacks, so that it leaves the loop between two steps, never from the middle of one (a
  finalizer or a callback of the garbage collector would print the exception and drop it);
  outside the loop, where nothing waits for long, it is only recorded;
* while a write phase :func:`holds <held>` signals, it only records them; the writer checks
  :func:`stop_if_pending` between files it has not yet put in place, and after the last rename it
  reports the interruption itself (:func:`rewrite.write_all <pinner.core.rewrite.write_all>`);
* :func:`tell` then says which it was, once: nothing written, or every file already written
  (:func:`note_written` is called once a write phase has replaced its files).

Python runs a signal handler only at a function call or a loop's jump, never between the plain
assignments this module makes to switch the handler's behaviour, which is what lets those
switches sit at the start of ``finally`` blocks without a signal slipping in before them. A
:class:`Stopped` that lands in a finalizer anyway (Python reports such exceptions as "ignored"
and carries on) is raised again as soon as that finalizer returns.

A run is the whole process, not only a command's body: :func:`take_over` installs the handler
before pinner imports its command line, and it stays until the process ends. Once the command's
outcome is decided (:func:`exit_status`, which includes writing out its output) a signal is
only recorded: the process is ending with its own line and status anyway. Then :func:`leave`
ends the process: a signal while the interpreter waits for threads or runs its exit callbacks
ends it at once with the decided status, and the rest of the shutdown ignores these signals
(Python puts the default dispositions back while it shuts down, so a SIGTERM landing there
would otherwise kill a process that had already written every file and said so, with status
-15 and no line).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

from pinner.errors import EXIT_INTERRUPTED

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
        self.stopping = False  # the run has been told to stop (raised, or task cancelled)
        self.loop: asyncio.AbstractEventLoop | None = None  # run()'s loop, while it runs
        self.told = False  # the one line about the interruption has been printed
        self.ending = False  # the outcome is decided: a signal is only recorded
        self.status: int | None = None  # the exit status, once leave() ends the process
        self.to_close: list[list[Closeable]] = []  # per handled() block, innermost last


_state = _State()


def _on_signal(signum: int, frame: object) -> None:
    if _state.signum is None:
        _state.signum = signum
    if _state.holding or _state.ending:
        return  # recorded: the writer stops where stopping leaves no mess; or it is over
    if _state.loop is not None:
        _stop_loop(_state.loop)
    elif not _state.stopping:
        _state.stopping = True
        raise Stopped
    # else: already stopping, outside the loop; raising again would only land somewhere odd


def _stop_loop(loop: asyncio.AbstractEventLoop) -> None:
    """The handler's part inside :func:`run`: cancel the main task, as ``asyncio.run`` does for
    Ctrl-C, so that its ``finally`` blocks run in order; once the task is done (the loop is
    being closed) leave it to :func:`run`; on a second signal, leave the loop at once."""
    task, first = _state.task, not _state.stopping
    _state.stopping = True
    if first and task is None:
        return  # the loop is being closed: run() stops the run once it is
    if first and task is not None:
        task.cancel()
        callback = _nothing  # wakes the loop if it sleeps in select()
    else:
        callback = _raise_stopped
    with contextlib.suppress(RuntimeError):  # closed already: run() stops the run next
        loop.call_soon_threadsafe(callback)


def _nothing() -> None:
    return None


def _raise_stopped() -> None:
    raise Stopped


def _on_unraisable(unraisable: Any) -> None:
    """``sys.unraisablehook`` during a run: a :class:`Stopped` that landed in a finalizer or a
    collector's callback, where Python prints it and carries on, is raised again, by the same
    signal, once that callback has returned; anything else is reported as Python would."""
    if isinstance(unraisable.exc_value, Stopped) and _state.signum is not None:
        _state.stopping = False
        signal.raise_signal(_state.signum)
        return
    sys.__unraisablehook__(unraisable)


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
    previous_hook = sys.unraisablehook
    _install()
    _state.depth += 1
    _state.to_close.append([])
    try:
        yield
    finally:
        _state.depth -= 1  # plain assignments first: no signal lands before the second
        _state.holding += 1  # closing what the run opened is not to be cut short by a signal
        try:
            _close(_state.to_close.pop())
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            sys.unraisablehook = previous_hook
        finally:
            _state.holding -= 1


def _install() -> None:
    for sig in HANDLED:
        signal.signal(sig, _on_signal)
    sys.unraisablehook = _on_unraisable


def _close(resources: Iterable[Closeable]) -> None:
    for resource in reversed(list(resources)):
        with contextlib.suppress(Exception):
            resource.close()


def take_over() -> None:
    """Route the stopping signals to pinner's handler from now to the end of the process, as
    one run (:func:`handled` blocks inside it do not start another); see :func:`exit_status`
    and :func:`leave` for its end. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return
    _state.reset()
    _state.depth = 1
    _state.to_close.append([])
    _install()
    atexit.unregister(_ignore_from_here)  # once, however often a test calls the entry point
    atexit.register(_ignore_from_here)  # registered before any other, it runs after them all


def exit_status(body: Callable[[], object]) -> int:
    """Run ``body`` (the command line, its output written out) and give its exit status: what
    its ``SystemExit`` says, 0 if it returns, 130 if a signal stopped it.

    However it ends, from then on a signal is only recorded (:func:`tell` still tells about
    the one that stopped it): the outcome is decided, and the caller prints the line that goes
    with it and leaves (:func:`leave`) without a signal cutting that short or turning it into a
    traceback.
    """
    try:
        try:
            body()
        except SystemExit as exc:
            code = exc.code
            return code if isinstance(code, int) else int(code is not None)
        finally:
            _state.ending = True  # a plain assignment: no signal lands before it
        return 0
    except KeyboardInterrupt:  # a signal while body ran, or while its status was taken
        return EXIT_INTERRUPTED


def leave(status: int) -> NoReturn:
    """End the process with ``status``: the output and the last line are out, so a signal
    from here on has nothing left to stop.

    While the interpreter waits for threads (a cache write, a DNS lookup of an abandoned
    connection) and runs exit callbacks, a signal ends the process at once with ``status``;
    a Ctrl-C still works if one of them hangs. After the last exit callback the signals are
    ignored: ignoring is the one disposition the interpreter keeps while it shuts down (it
    puts the defaults back before its last collection and its modules' teardown), so a late
    SIGTERM cannot end the process as killed instead of with ``status``.
    """
    _state.holding += 1
    try:
        if _state.to_close:
            _close(_state.to_close.pop(0))
        _state.status = status
        if threading.current_thread() is threading.main_thread():
            for sig in HANDLED:
                signal.signal(sig, _exit_now)
    finally:
        _state.holding -= 1
    _state.depth = 0  # a later run (in tests) starts afresh
    raise SystemExit(status)


def _exit_now(signum: int, frame: object) -> None:
    os._exit(_state.status if _state.status is not None else EXIT_INTERRUPTED)


def _ignore_from_here() -> None:
    """The last exit callback: once :func:`leave` has run, signals are ignored to the end."""
    if _state.status is not None and threading.current_thread() is threading.main_thread():
        for sig in HANDLED:
            signal.signal(sig, signal.SIG_IGN)


def close_at_end(resource: Closeable) -> None:
    """Close ``resource`` when the run ends, however it ends (idempotent ``close`` expected).

    For what must not outlive the process even when a signal lands before the code that owns
    it got to its ``finally``: the reading worker, forked before the event loop starts.
    """
    if _state.to_close:
        _state.to_close[-1].append(resource)


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, with the loop and the main task known to the handler.

    A run stopped by a signal ends in :class:`KeyboardInterrupt`, whether the signal came as a
    cancellation or not. Once the main task is done, ``asyncio.run`` still cancels what is
    left and stops the loop's threads; a first signal then lets it finish (cut short, it would
    leave a task pending, which asyncio reports at exit, after pinner's last line) and stops
    the run as soon as it has.
    """
    import asyncio

    async def as_main_task() -> T:
        _state.task = asyncio.current_task()
        _state.loop = asyncio.get_running_loop()
        try:
            return await main
        finally:
            _state.task = None

    try:
        result = asyncio.run(as_main_task())
    except asyncio.CancelledError:
        if _state.signum is None:
            raise
        raise Stopped from None
    except (KeyboardInterrupt, RuntimeError) as exc:
        # A second signal left the loop from one of its callbacks: the tasks it leaves pending
        # are left on purpose, and asyncio's report of each at exit would come after pinner's
        # last line. If that callback ran in the step where a task asyncio.run waits for had
        # just finished, asyncio's own "done, stop the loop" callback stays queued and stops the
        # loop under the next thing the teardown waits for ("Event loop stopped before Future
        # completed"): the same stop, cut short one step later.
        if isinstance(exc, RuntimeError) and _state.signum is None:
            raise
        import logging

        logging.getLogger("asyncio").disabled = True
        if isinstance(exc, RuntimeError):
            raise Stopped from None
        raise
    finally:
        _state.loop = None
        main.close()  # a no-op when it ran; otherwise no "never awaited" warning at exit
    stop_if_pending()  # a signal while the loop was being closed
    return result


def stop_if_pending() -> None:
    """Raise :class:`KeyboardInterrupt` when a signal has been received (a writer's check
    between files, while nothing is in place yet)."""
    if _state.signum is not None:
        _state.stopping = True
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
    """The one line for a run stopped by a signal: which signal, and what was written."""
    what = "terminated (SIGTERM)" if _state.signum == getattr(signal, "SIGTERM", None) else None
    if what is None and _state.signum == getattr(signal, "SIGHUP", None):
        what = "hung up (SIGHUP)"
    what = what or "interrupted"
    if _state.written:
        return f"{what}; every file was already written"
    return f"{what}; no file was changed"


def tell(say: Callable[[str], None]) -> None:
    """Have ``say`` print :func:`message`, unless this run's line has been printed already.

    Whoever learns first that the run was stopped calls this: the command's wrapper
    (:func:`pinner.commands.common.run`), or, for a run stopped where no command could say
    it (importing, parsing the options, just after the command), the entry point once the
    status is decided. Signals are only recorded while the line is printed, and it counts as
    told once printed (a stderr that cannot take it gets no second try): so one line, whatever
    lands when.
    """
    _state.holding += 1
    try:
        if not _state.told:
            with contextlib.suppress(OSError, ValueError):
                say(message())
            _state.told = True
    finally:
        _state.holding -= 1


def reset_in_child() -> None:
    """In a forked helper process: back to the default dispositions (a SIGTERM or SIGHUP kills
    it: the main process's handler is not its to run), and Ctrl-C ignored (it reaches the whole
    process group; the main process reports it, and stops the helper). No wakeup descriptor
    either: it would be the main process's event loop's."""
    for sig in HANDLED:
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)


__all__ = [
    "HANDLED",
    "Stopped",
    "close_at_end",
    "exit_status",
    "handled",
    "held",
    "leave",
    "message",
    "note_written",
    "reset_in_child",
    "run",
    "stop_if_pending",
    "take_over",
    "tell",
]
