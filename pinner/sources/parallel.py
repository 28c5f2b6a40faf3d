"""Read the user's files on two CPU cores: one forked worker process beside the main one.

Why: reading a large repository's workflows is CPU-bound Python (libyaml's event stream through
ruamel.yaml, then our guarded composer and the ``uses:`` scanner), about half a second for a few
hundred files, and in a cold run it is the longest stretch before anything can be written.
Threads would not help (the parse holds the GIL); a second process does. The worker is forked
right after discovery, so it reads while the main process is still importing the rest of pinner
and opening the forge; then both read.

How the work is shared, without locks: the worker reads the file list from the front, in
order, after the first file, which the main process reads itself. From then on, whenever the
next file in order has no outcome yet (the worker has not sent it, or the main process had
other work: imports, the forge, the network), the main process takes a file from the very end
of the list, backwards. The two meet somewhere in the middle, wherever their speeds put the
meeting point, and neither ever waits for the other. Every file gets an outcome exactly once
(a file both happened to read keeps the first), and the worker is stopped as soon as every
file has one. Whatever happens to the worker (it crashes, is killed, sends something
unreadable), the main process reads what is missing itself, so the result never depends on
the worker.

What the caller sees does not change: outcomes come in file order, each a
:class:`~pinner.models.SourceFile` or the :class:`~pinner.errors.InputError` reading that file
raised. Only the guarded reader's refusals travel between the processes; any other exception
in the worker (a bug) makes the main process read that file again, where the same exception
surfaces with its real traceback.

When: on Linux (``fork`` is cheap there, and the worker is forked before the run starts any
thread or connection), with more than one CPU available to the process, and enough bytes to
read that a fork and the pickling of results pay off. Anywhere else the same iterator reads
every file in this process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import Callable, Iterator, Sequence

from pinner import interrupts
from pinner.errors import InputError
from pinner.models import SourceFile
from pinner.sources.discovery import DiscoveredFile

Outcome = SourceFile | InputError
Read = Callable[[DiscoveredFile], SourceFile]

PARALLEL_MIN_BYTES = 128 * 1024
"""Below this many bytes in all, the files are read in this process: parsing 128 KiB takes
about 60 ms, forking and handing results back a few."""

WORKER_SHARE = 1.0
"""Part of the bytes the worker starts with (the tail of the list): the main process also
imports the rest of pinner and opens the forge while the worker reads. The split only decides
where each starts; the main process takes over the worker's last files if it finishes first."""

_PIPE_BYTES = 1 << 20  # ask Linux for a 1 MiB pipe: the worker rarely waits for a reader
_HEADER = struct.Struct("!I")


def parallel_possible() -> bool:
    """Whether this platform and process may fork a reading worker: Linux, more than one CPU
    for this process, and no other thread running (a thread holding a lock at the moment of
    the fork would leave it locked forever in the worker)."""
    if sys.platform != "linux" or not hasattr(os, "fork"):
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return cpus > 1 and threading.active_count() == 1


class FileReader:
    """Outcomes of reading ``files`` with ``read``, in file order (iterate once).

    ``parallel`` None decides by platform, threads and size (see module docstring); True
    forks whenever the platform has ``fork`` (tests); False never forks. Call :meth:`close`
    (or use ``with``) when done, or on the way out of an error: it stops and reaps the worker.
    Inside a run (:func:`pinner.interrupts.handled`) the run's end closes it too, whatever
    stopped the run.
    """

    def __init__(
        self,
        files: Sequence[DiscoveredFile],
        read: Read,
        *,
        parallel: bool | None = None,
    ) -> None:
        self.files = list(files)
        self._read = read
        self._outcomes: dict[int, Outcome] = {}
        self._done = bytearray(len(self.files))  # 1: this index has an outcome
        self._own_end = len(self.files)  # the main process reads [0, own_end) forwards,
        self._own_next = 0  # this one next,
        self._steal = len(self.files) - 1  # then takes the worker's from the end, backwards
        self._pid: int | None = None
        self._fd: int | None = None
        self._buffer = bytearray()
        if parallel is None and len(self.files) >= 2 and parallel_possible():
            if _total_bytes(self.files) >= PARALLEL_MIN_BYTES:
                self._fork()
        elif parallel and len(self.files) >= 2 and hasattr(os, "fork"):
            self._fork()

    @property
    def forked(self) -> bool:
        """Whether a worker was started (for tests)."""
        return self._own_end < len(self.files)

    def __enter__(self) -> FileReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[tuple[DiscoveredFile, Outcome]]:
        try:
            for index, found in enumerate(self.files):
                while not self._done[index]:
                    self._receive()
                    if not self._done[index]:
                        self._read_next()
                yield found, self._outcomes.pop(index)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the worker (if still running), reap it and close the pipe. Idempotent, and
        complete when called again after a signal cut it short: the worker is forgotten only
        once it is reaped."""
        pid = self._pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            self._pid = None
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    # -- the main process's share

    def _read_next(self) -> None:
        """Read one file that has no outcome yet: the next of our own, else the last of the
        worker's."""
        done = self._done
        while self._own_next < self._own_end and done[self._own_next]:
            self._own_next += 1
        if self._own_next < self._own_end:
            index = self._own_next
        else:
            while done[self._steal]:  # some file has no outcome yet, so this stops
                self._steal -= 1
            index = self._steal
        self._settle(index, self._read_one(self.files[index]))

    def _read_one(self, found: DiscoveredFile) -> Outcome:
        try:
            return self._read(found)
        except InputError as exc:
            return exc

    def _settle(self, index: int, outcome: Outcome) -> None:
        if not self._done[index]:
            self._done[index] = 1
            self._outcomes[index] = outcome

    # -- the worker

    def _fork(self, start: int = 1) -> None:
        """Start the worker on ``files[start:]`` (the main process keeps ``files[:start]``).

        The stopping signals are blocked from just before the fork until each side is ready
        for them (:mod:`pinner.interrupts`): the worker once its own dispositions are set (one
        arriving earlier would otherwise run the main process's handler in the worker), the
        main process once the worker is known and will be stopped at the end of the run
        however it ends (one arriving earlier could stop the run with a worker nobody stops).
        """
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, interrupts.HANDLED)
        try:
            read_fd, write_fd = os.pipe()
            with contextlib.suppress(OSError, ImportError, AttributeError):
                import fcntl

                fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
            try:
                pid = os.fork()
            except OSError:  # no resources for a process: read everything here
                os.close(read_fd)
                os.close(write_fd)
                return
            if pid == 0:  # the worker: never returns into the caller's code
                status = 0
                try:
                    interrupts.reset_in_child()
                    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                    os.close(read_fd)
                    _worker(self.files, start, write_fd, self._read)
                except BaseException:
                    status = 1
                finally:
                    os._exit(status)
            self._pid = pid
            interrupts.close_at_end(self)
            os.close(write_fd)
            os.set_blocking(read_fd, False)
            self._fd, self._own_end = read_fd, start
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def _receive(self) -> None:
        """Take whatever the worker has sent so far, without waiting."""
        fd = self._fd
        if fd is None:
            return
        while True:
            try:
                chunk = os.read(fd, _PIPE_BYTES)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:  # the worker is gone: the rest is read here
                self._fd = None
                os.close(fd)
                self._reap()
                break
            self._buffer += chunk
        buffer = self._buffer
        offset = 0
        while len(buffer) - offset >= _HEADER.size:
            (size,) = _HEADER.unpack_from(buffer, offset)
            end = offset + _HEADER.size + size
            if len(buffer) < end:
                break
            message = bytes(buffer[offset + _HEADER.size : end])
            offset = end
            self._accept(message)
        del buffer[:offset]

    def _accept(self, message: bytes) -> None:
        try:
            index, kind, payload = pickle.loads(message)
        except Exception:  # garbage from the worker: ignore it, that file is read here
            return
        if not (isinstance(index, int) and 0 <= index < len(self.files)):
            return
        if kind == "source" and isinstance(payload, SourceFile):
            self._settle(index, payload)
        elif kind == "refused":
            message_text, path, line = payload
            self._settle(index, InputError(message_text, path=path, line=line))
        # "failed": a bug in the worker's read; this process reads the file and meets it

    def _reap(self) -> None:
        pid, self._pid = self._pid, None
        if pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _worker(files: list[DiscoveredFile], start: int, fd: int, read: Read) -> None:
    """Read ``files[start:]`` in order, sending each outcome as it is known."""
    for index in range(start, len(files)):
        try:
            message: tuple[object, ...] = (index, "source", read(files[index]))
        except InputError as exc:
            message = (index, "refused", (exc.reason, exc.path, exc.line))
        except Exception:
            message = (index, "failed", None)
        blob = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        _write_all(fd, _HEADER.pack(len(blob)) + blob)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)  # BrokenPipeError when the main process is gone
        view = view[written:]


def _total_bytes(files: Sequence[DiscoveredFile]) -> int:
    total = 0
    for found in files:
        with contextlib.suppress(OSError):  # the reader reports it, in order
            total += os.stat(found.path).st_size
    return total
