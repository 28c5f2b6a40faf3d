"""``python -m pinner`` and the ``pinner`` console script."""

import gc
import sys

from pinner import interrupts
from pinner.errors import EXIT_INTERRUPTED


def main() -> None:
    """Run the command line.

    Importing it and parsing the options take a few tenths of a second, before a command's own
    handler (:func:`pinner.commands.common.run`) is in place; a Ctrl-C in that window gets the
    same one line and exit code, not a traceback from the import machinery or the parser; so
    does a SIGTERM or SIGHUP (see :mod:`pinner.interrupts`).

    The cyclic garbage collector is told to leave alone what exists once pinner is imported
    (modules, classes, functions: nothing of it is garbage), so its collections during the run
    only look at what the run made; and, once the command is done, everything: the interpreter's
    last collection at exit would otherwise walk every object of a large run (about 0.1 s for
    the corpus's 2,600 uses), only for the process to end. Files, the cache and the standard
    streams are closed or flushed explicitly, never by that collection.
    """
    try:
        with interrupts.handled():  # a SIGTERM while importing stops as cleanly as a Ctrl-C
            from pinner.cli import main as run

            gc.freeze()
            run()
    except KeyboardInterrupt:
        sys.stderr.write(f"pinner: error: {interrupts.message()}\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED and interrupts.untold():
            sys.stderr.write(f"pinner: error: {interrupts.message()}\n")
        raise
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
