"""One colour policy and one palette for every command's human output.

When to paint (:func:`color_enabled`): ``--color always`` paints, wherever the output goes (a
pipe into ``less -R``, a CI log that renders ANSI); ``--color never`` never does; ``auto`` paints
a terminal only, and not when ``NO_COLOR`` is set (https://no-color.org) or ``TERM`` is
``dumb``; ``FORCE_COLOR`` set in the environment makes ``auto`` paint off a terminal too (CI
systems that render colour set it). The choice is made per stream: ``pin`` writes changes to
stdout and problems to stderr, and either may be a pipe.

What colour means (:data:`STYLES`): the same word looks the same in every command. Red for what
fails the run (a problem, a high finding, a checksum mismatch), yellow for what deserves a look
(medium, held back, mutable), green for what was done or is fine, cyan for information, dim for
what was skipped. Machine formats (JSON, SARIF, annotations, the manifest) are never painted.

Writing (:func:`emit`): click's ``echo`` strips ANSI codes whenever the stream is not a
terminal, which silently undid ``--color always`` in a pipe; :func:`emit` tells it not to.
"""

from __future__ import annotations

import os
from typing import Any

_RESET = "\x1b[0m"

STYLES: dict[str, str] = {
    "error": "\x1b[1;31m",  # a problem, high severity, ALARM, MISMATCH
    "failure": "\x1b[31m",  # an error line, a removed diff line
    "warning": "\x1b[33m",  # medium severity, held back, mutable
    "info": "\x1b[36m",  # low severity, pinned (a change of form), a diff hunk
    "ok": "\x1b[32m",  # updated, pinned and verified, an added diff line
    "dim": "\x1b[2m",  # informational, skipped, context
    "bold": "\x1b[1m",  # headings, file names
}
"""Semantic style -> SGR sequence; formats name the meaning, never the colour."""


def color_enabled(choice: str, stream: Any) -> bool:
    """Whether to paint what is written to ``stream`` under ``--color choice``.

    ``choice`` is validated by the caller (the CLI says which values it takes).
    """
    if choice == "always":
        return True
    if choice == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, style: str, enabled: bool) -> str:
    """``text`` in ``style`` when ``enabled``, else as it is."""
    return f"{STYLES[style]}{text}{_RESET}" if enabled and text else text


def emit(text: str, *, err: bool = False, nl: bool = True, color: bool = False) -> None:
    """Write like ``typer.echo``, keeping the ANSI codes when the output was painted."""
    import typer

    typer.echo(text, err=err, nl=nl, color=color or None)


def diff(text: str, enabled: bool) -> str:
    """A unified diff painted like ``git diff``: headers bold, hunks cyan, -/+ red/green."""
    if not enabled:
        return text
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        end = line[len(body) :]
        if body.startswith(("--- ", "+++ ")):
            style: str | None = "bold"
        elif body.startswith("@@"):
            style = "info"
        elif body.startswith("-"):
            style = "failure"
        elif body.startswith("+"):
            style = "ok"
        else:
            style = None
        out.append((paint(body, style, True) if style else body) + end)
    return "".join(out)


def count(n: int, one: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``: a number and its noun, singular or plural (``many`` when the
    plural is not ``one`` plus ``s``)."""
    return f"{n} {one if n == 1 else (many or one + 's')}"
