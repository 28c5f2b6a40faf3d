"""``python -m pinner`` and the ``pinner`` console script."""

import contextlib
import gc
import os
import sys
from typing import NoReturn, TextIO

from pinner import interrupts
from pinner.errors import EXIT_INTERRUPTED, EXIT_USAGE


def main() -> NoReturn:
    """Run the command line, then end the process.

    Ctrl-C, SIGTERM and SIGHUP are pinner's from the first line to the last (see
    :mod:`pinner.interrupts`): importing pinner and parsing the options take a few tenths of a
    second before a command's own handler (:func:`pinner.commands.common.run`) is in place, and
    a signal there gets the same one line and exit code as one during the command, not a
    traceback from the import machinery or the parser. Once the output is written out and the
    status decided, a signal no longer changes them, up to the interpreter's very last step
    (:func:`pinner.interrupts.leave`): a late SIGTERM cannot turn a run that wrote every file,
    and said so, into a process killed without a word. So this owns the process's signal
    dispositions to its end: a caller in the same process (a test) puts its own back after.

    The cyclic garbage collector is told to leave alone what exists once pinner is imported
    (modules, classes, functions: nothing of it is garbage), so its collections during the run
    only look at what the run made; and, once the command is done, everything: the interpreter's
    last collection at exit would otherwise walk every object of a large run (about 0.1 s for
    the corpus's 2,600 uses), only for the process to end. Files, the cache and the standard
    streams are closed or flushed explicitly, never by that collection.
    """
    interrupts.take_over()
    status = interrupts.exit_status(_command_line)
    if status == EXIT_INTERRUPTED:
        # said already if the command's handler saw it; not if it came while importing, or
        # parsing the options (click turns a KeyboardInterrupt there into a silent exit 130)
        interrupts.tell(_tell)
    _flush(sys.stderr)
    interrupts.leave(status)


def _command_line() -> None:
    """Parse and run the command line, its output written out: what the command printed is
    part of its result, so a signal while it is still being written stops the run too, and a
    standard output that cannot take it (a full disk, a closed pipe) is one line and exit 2."""
    try:
        try:
            from pinner.cli import main as run

            gc.freeze()
            run()
        finally:
            gc.freeze()
            sys.stdout.flush()
    except OSError as exc:
        _flush(sys.stdout)  # what is left in its buffer must not fail again at exit
        from pinner.sanitize import for_terminal

        _tell(for_terminal(str(exc), single_line=True))
        raise SystemExit(EXIT_USAGE) from None


def _tell(line: str) -> None:
    """One line on stderr, if stderr can take it (the exit status says the rest)."""
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"pinner: error: {line}\n")


def _flush(stream: TextIO | None) -> None:
    """Flush ``stream``; if it cannot take its buffer, point it at /dev/null so that the
    interpreter's own flush at exit does not fail on it again (with a message and status 120)."""
    if stream is None:  # started with that descriptor closed
        return
    try:
        stream.flush()
    except (OSError, ValueError):  # ValueError: closed
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass


if __name__ == "__main__":
    main()
