"""``python -m pinner`` and the ``pinner`` console script."""

import gc
import sys

from pinner.errors import EXIT_INTERRUPTED, INTERRUPTED


def main() -> None:
    """Run the command line.

    Importing it and parsing the options take a few tenths of a second, before a command's own
    handler (:func:`pinner.commands.common.run`) is in place; a Ctrl-C in that window gets the
    same one line and exit code, not a traceback from the import machinery or the parser.

    The cyclic garbage collector is told to leave alone what exists once pinner is imported
    (modules, classes, functions: nothing of it is garbage), so its collections during the run
    only look at what the run made; and, once the command is done, everything: the interpreter's
    last collection at exit would otherwise walk every object of a large run (about 0.1 s for
    the corpus's 2,600 uses), only for the process to end. Files, the cache and the standard
    streams are closed or flushed explicitly, never by that collection.
    """
    try:
        from pinner.cli import main as run

        gc.freeze()
        run()
    except KeyboardInterrupt:
        sys.stderr.write(f"pinner: error: {INTERRUPTED}\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
