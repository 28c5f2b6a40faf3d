"""``python -m pinner`` and the ``pinner`` console script."""

import sys

from pinner.errors import EXIT_INTERRUPTED, INTERRUPTED


def main() -> None:
    """Run the command line.

    Importing it and parsing the options take a few tenths of a second, before a command's own
    handler (:func:`pinner.commands.common.run`) is in place; a Ctrl-C in that window gets the
    same one line and exit code, not a traceback from the import machinery or the parser.
    """
    try:
        from pinner.cli import main as run

        run()
    except KeyboardInterrupt:
        sys.stderr.write(f"pinner: error: {INTERRUPTED}\n")
        raise SystemExit(EXIT_INTERRUPTED) from None


if __name__ == "__main__":
    main()
