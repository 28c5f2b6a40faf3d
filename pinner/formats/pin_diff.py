"""``--diff`` (pin, update, lock): a unified diff of what would be written, ``git apply``-able.

Lines are diffed as they are in the file (CRLF kept), so the patch applies to the bytes on disk.
"""

from __future__ import annotations

import difflib


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


def rewrite_diff(relpath: str, old_text: str, new_bytes: bytes) -> str:
    """The diff of one file pinner rewrites: its text as read (which has no byte-order mark)
    against the bytes it would write (which keep the file's mark, if it has one)."""
    return unified_diff(relpath, old_text, new_bytes.decode("utf-8").removeprefix("\ufeff"))
