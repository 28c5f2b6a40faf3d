"""``pinner pin --diff``: a unified diff of what would be written, ``git apply``-able.

Lines are diffed as they are in the file (CRLF kept), so the patch applies to the bytes on disk.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def unified_diff(relpath: str, old: str, new: str) -> str:
    """The diff of one file; empty when nothing changes."""
    if old == new:
        return ""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{relpath}",
        tofile=f"b/{relpath}",
    )
    out = []
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):  # last line without a newline, as diff(1) says it
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def render(files: Iterable[tuple[str, str, str]]) -> str:
    """Diffs of ``(relpath, old text, new text)`` in order, concatenated."""
    return "".join(unified_diff(relpath, old, new) for relpath, old, new in files)
