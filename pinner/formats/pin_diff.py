"""``--diff`` (pin, update, lock): a unified diff of what would be written, ``git apply``-able.

Lines are diffed as they are in the file (CRLF kept), so the patch applies to the bytes on disk.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence

CONTEXT = 3
"""Unchanged lines shown around each change, as ``diff -u`` and :mod:`difflib` show them."""


def unified_diff(relpath: str, old: str, new: str) -> str:
    """The diff of one file; empty when nothing changes."""
    if old == new:
        return ""
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    if len(a) == len(b):
        lines: Iterable[str] = _line_for_line(a, b, f"a/{relpath}", f"b/{relpath}")
    else:
        lines = difflib.unified_diff(a, b, fromfile=f"a/{relpath}", tofile=f"b/{relpath}")
    out = []
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):  # last line without a newline, as diff(1) says it
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def _line_for_line(a: Sequence[str], b: Sequence[str], old: str, new: str) -> Iterator[str]:
    """The unified diff of two texts of as many lines, line ``i`` against line ``i``.

    Why not :mod:`difflib`: pinner's rewrites change values inside lines and never add or
    remove one, so this alignment is the edit itself, found in one pass. ``SequenceMatcher``
    searches for it, and in a workflow of many near-identical lines it searches long and can
    miss: on opentelemetry-python's 8,000-line ``test.yml`` (a few hundred ``uses:`` narrowed
    by ``pinner lock``) it took a third of a second, and where lines like ``with:`` repeat
    more than its junk heuristic allows it shows two changed ``uses:`` lines as a block of
    removed lines and the same block re-added. The format is difflib's: the same headers,
    hunks of :data:`CONTEXT` lines merged when at most twice that apart, and each run of
    changed lines as its old lines then its new ones.
    """
    changed = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    hunks: list[tuple[int, int]] = []  # first and last changed line of each hunk
    for i in changed:
        if hunks and i - hunks[-1][1] - 1 <= 2 * CONTEXT:
            hunks[-1] = (hunks[-1][0], i)
        else:
            hunks.append((i, i))
    yield f"--- {old}\n"
    yield f"+++ {new}\n"
    for first, last in hunks:
        start, stop = max(0, first - CONTEXT), min(len(a), last + 1 + CONTEXT)
        span = _range(start, stop)
        yield f"@@ -{span} +{span} @@\n"
        i = start
        while i < stop:
            if a[i] == b[i]:
                yield " " + a[i]
                i += 1
                continue
            end = i
            while end < stop and a[end] != b[end]:
                end += 1
            yield from ("-" + line for line in a[i:end])
            yield from ("+" + line for line in b[i:end])
            i = end


def _range(start: int, stop: int) -> str:
    """A hunk's line range as unified diffs write it (difflib's ``_format_range_unified``)."""
    length = stop - start
    return f"{start + 1}" if length == 1 else f"{start + 1},{length}"


def rewrite_diff(relpath: str, old_text: str, new_bytes: bytes) -> str:
    """The diff of one file pinner rewrites: its text as read (which has no byte-order mark)
    against the bytes it would write (which keep the file's mark, if it has one)."""
    return unified_diff(relpath, old_text, new_bytes.decode("utf-8").removeprefix("\ufeff"))
