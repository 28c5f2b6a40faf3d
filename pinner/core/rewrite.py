"""Byte-exact rewriting of ``uses:`` values and their comments, and atomic multi-file writes.

A rewrite is a text splice: only the characters of a ``uses:`` value and of its trailing
comment change; indentation, key order, quoting, blank lines, other comments, CRLF line
endings and the BOM stay exactly as they were (ratchet's re-serialising is its most reported
complaint). After splicing, the result is parsed again and must have the same structure as
before with only the edited values changed; otherwise nothing is returned for that file.

Comment policy (``Edit.comment`` set; the comment is other people's text, see
:func:`pinner.sources.comments.render_comment`):

* an existing claim, in any dialect, is replaced in place and spelled in that dialect
  (``# tag=v4`` -> ``# tag=v4.2.2``, ``# version: 4`` -> ``# version: 4.2.2``); a tracked
  ref that still includes the new version (``# ratchet:o/r@v4``) is kept; every other byte of
  the comment (spacing after the ``#``, notes, other tools' directives) stays;
* a comment without a claim (a note, ``# zizmor: ignore[x]``, a lone word that is no ref)
  is kept verbatim as its own segment after the new version: ``# v4.2.2 # zizmor: ignore[x]``;
* no comment: `` # <comment>`` is appended at the end of the value's line: after the value in
  block style, after the rest of the line in flow style (``- {uses: o/r@sha, with: {a: 1}} #
  v1.2.3``), never in the middle of a line;
* when two ``uses:`` share one line (``steps: [{uses: a@v1}, {uses: b@v2}]``), one comment
  cannot describe both: the comment is left untouched for those sites;
* when appending the comment would change what the file means (the line ends inside a
  multi-line flow scalar), the value is still rewritten but the comment is not added.

``comment=None`` leaves the comment exactly as it is.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ruamel.yaml import events as ev
from ruamel.yaml.error import YAMLError

from pinner.errors import InputError
from pinner.models import ImageSite, SourceFile, Span, UsesSite
from pinner.sources.comments import render_comment
from pinner.sources.yamlsafe import iter_events, scalar_start

# A value we can write without quotes in block *and* flow context: no indicator characters,
# no ": " / " #", no flow punctuation. Anything else is written quoted.
_PLAIN_SAFE_RE = re.compile(r"^[A-Za-z0-9_.~$/][A-Za-z0-9_.~$/@:+=-]*$")
_UNWRITABLE_RE = re.compile("[\x00-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace one site's value with ``value``; make its comment claim ``comment`` (a version
    or branch, without ``#``), or leave the comment alone when ``comment`` is ``None``.

    ``word_is_ref``: the comment's lone word (``# main``) names a branch or tag of the action's
    repository, so it is the claim to replace; otherwise it is a note to keep (``# TODO``).
    ``floating``: the repository's floating tags of the claimed release (``v2`` for
    ``v2.1.0``), which a tracked comment (``# ratchet:o/a@v1``) moves to at its own precision.

    The site is a ``uses:`` or an image value (:class:`ImageSite` with its span: a container
    image, or the matrix scalar an image expression takes it from).
    """

    site: UsesSite | ImageSite
    value: str
    comment: str | None = None
    word_is_ref: bool = False
    floating: frozenset[str] = frozenset()


def _raw(site: UsesSite | ImageSite) -> str:
    """The site's value as parsed (what the written text must read back as)."""
    return site.value.raw if isinstance(site, UsesSite) else site.raw


def _span(site: UsesSite | ImageSite) -> Span:
    span = site.value_span
    if span is None:
        raise ValueError(f"{site.relpath}:{site.line}: the value has no span to rewrite")
    return span


def _quoted(value: str, quote: str) -> str:
    if quote == "'":
        return "'" + value.replace("'", "''") + "'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _render_value(value: str, quote: str) -> str:
    """The new scalar as written: same quote style as before; plain only when that is safe."""
    if quote:
        return _quoted(value, quote)
    if _PLAIN_SAFE_RE.match(value) and not value.endswith(":"):
        return value
    return _quoted(value, '"')


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    """``[start, content_end)`` of the line holding ``pos``; content ends before trailing
    spaces, tabs and the line break (``\\r\\n`` or ``\\n``)."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    if end == -1:
        end = len(text)
    while end > pos and text[end - 1] in " \t\r":
        end -= 1
    return start, end


def _block_content(text: str, span: Span) -> tuple[int, int] | None:
    """``[start, end)`` of the one content line of a block scalar (``uses: >-`` then the value
    on the next line), without its indentation; None when the block holds more than one
    non-blank line (no valid ``uses:`` value does)."""
    header_end = text.find("\n", span.start, span.end)
    if header_end == -1:
        return None
    found: tuple[int, int] | None = None
    pos = header_end + 1
    while pos < span.end:
        line_end = text.find("\n", pos, span.end)
        line_end = span.end if line_end == -1 else line_end
        line = text[pos:line_end]
        if line.strip():
            if found is not None:
                return None
            start = pos + len(line) - len(line.lstrip())
            found = (start, pos + len(line.rstrip()))
        pos = line_end + 1
    return found


def _is_block(text: str, site: UsesSite | ImageSite) -> bool:
    start = _span(site).start
    return not site.quote and text[start : start + 1] in "|>"


def _check_site(source: SourceFile, site: UsesSite | ImageSite) -> str | None:
    """Cheap checks before splicing: why the site cannot be rewritten byte for byte, or None.

    That the site is really a scalar of this text is checked against the event stream in
    :func:`_compare`; a site that visibly is not raises ``ValueError`` (a stale SourceFile).
    """
    if site.relpath != source.relpath:
        raise ValueError(f"edit for {site.relpath} applied to {source.relpath}")
    text = source.text
    span = _span(site)
    start, end = span.start, span.end
    written = text[start:end]
    multi_line = "cannot rewrite a value spread over several lines; put it on one line"
    if _is_block(text, site):
        content = _block_content(text, span)
        if content is None:
            return multi_line
        stale = text[content[0] : content[1]] != _raw(site).strip()
    elif site.quote:
        stale = len(written) < 2 or not (written[0] == written[-1] == site.quote)
    else:  # a plain scalar folded over lines reads back with single spaces
        stale = written.split() != _raw(site).split() or not written
    if stale:
        raise ValueError(
            f"{source.relpath}:{site.line}: site does not match the text (stale SourceFile?)"
        )
    if not _is_block(text, site) and ("\n" in written or "\r" in written):
        return multi_line
    return None


def _splices(
    source: SourceFile, edits: list[Edit], with_comments: set[int]
) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for every change, comments only for sites in
    ``with_comments`` (by value start)."""
    text = source.text
    lines_with_sites: dict[int, int] = {}
    for s in source.uses:
        lines_with_sites[s.line] = lines_with_sites.get(s.line, 0) + 1
    splices: list[tuple[int, int, str]] = []
    for edit in edits:
        site = edit.site
        span = _span(site)
        block = _block_content(text, span) if _is_block(text, site) else None
        if block is not None:  # the value's line inside the block: no quoting there
            splices.append((block[0], block[1], edit.value))
        else:
            splices.append((span.start, span.end, _render_value(edit.value, site.quote)))
        if edit.comment is None or span.start not in with_comments:
            continue
        if lines_with_sites.get(site.line, 0) > 1:
            continue  # one comment cannot describe two pins on one line
        if site.comment_span is not None:
            cs = site.comment_span
            old = text[cs.start : cs.end]
            new = render_comment(
                old, edit.comment, word_is_ref=edit.word_is_ref, floating=edit.floating
            )
            if new != old:
                splices.append((cs.start, cs.end, new))
        elif block is not None:  # after the block's header: "uses: >- # v1.2.3"
            _, header_end = _line_bounds(text, span.start)
            splices.append((header_end, header_end, " # " + edit.comment))
        else:
            _, content_end = _line_bounds(text, span.end)
            if content_end == span.end:
                splices.append((span.end, span.end, " # " + edit.comment))
            else:
                splices.append((content_end, content_end, " # " + edit.comment))
    splices.sort()
    for (_, end_a, _), (start_b, _, _) in itertools.pairwise(splices):
        if start_b < end_a:
            raise ValueError(f"{source.relpath}: overlapping edits")
    return splices


def splice(text: str, splices: list[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, replacement)`` made, in order (they do not overlap)."""
    parts: list[str] = []
    last = 0
    for start, end, new in splices:
        parts.append(text[last:start])
        parts.append(new)
        last = end
    parts.append(text[last:])
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Declined:
    """An edit the rewrite cannot make byte for byte, and why: reported on its line, while
    every other edit is still made."""

    edit: Edit
    reason: str


def _dedupe(source: SourceFile, edits: Iterable[Edit]) -> tuple[list[Edit], list[Declined]]:
    by_start: dict[int, Edit] = {}
    declined: dict[int, Declined] = {}
    for edit in edits:
        reason = _check_site(source, edit.site)
        if _UNWRITABLE_RE.search(edit.value) or (
            edit.comment is not None and _UNWRITABLE_RE.search(edit.comment)
        ):
            raise ValueError(f"{source.relpath}:{edit.site.line}: control character in edit")
        key = _span(edit.site).start
        previous = by_start.get(key) or (declined[key].edit if key in declined else None)
        if previous is not None and (
            previous.value,
            previous.comment,
            previous.word_is_ref,
            previous.floating,
        ) != (edit.value, edit.comment, edit.word_is_ref, edit.floating):
            raise ValueError(f"{source.relpath}:{edit.site.line}: conflicting edits")
        if reason is not None:
            declined[key] = Declined(edit, reason)
        else:
            by_start[key] = edit
    return [by_start[k] for k in sorted(by_start)], [declined[k] for k in sorted(declined)]


def encoded(read: ReadText, text: str) -> bytes:
    """The bytes of ``text`` as a new version of the file ``read`` came from: its BOM kept."""
    data = text.encode("utf-8")
    return b"\xef\xbb\xbf" + data if read.bom else data


def apply_edits(source: SourceFile, edits: Iterable[Edit]) -> bytes:
    """:func:`apply_possible_edits`, for callers that cannot report an edit on its line: the
    first declined edit raises :class:`InputError` naming its line (exit 2), and nothing should
    be written."""
    data, declined = apply_possible_edits(source, edits)
    if declined:
        first = declined[0]
        raise InputError(first.reason, path=source.relpath, line=first.edit.site.line)
    return data


def apply_possible_edits(
    source: SourceFile, edits: Iterable[Edit]
) -> tuple[bytes, tuple[Declined, ...]]:
    """The file's new bytes with ``edits`` applied (BOM re-added, line endings untouched), and
    the edits that could not be made byte for byte (left as they were, with the reason).

    The result is parsed again and its event stream compared with the original's: same
    structure, anchors, tags and scalars, except the edited values. If a comment insertion
    breaks that (it landed inside a multi-line flow scalar), that comment is dropped and the
    check repeated; a value edit that breaks it on its own is declined, and the others are
    still made. A site that is not a scalar of this text raises ``ValueError`` (a stale or
    foreign :class:`SourceFile`: a bug in the caller, not a user error).
    """
    todo, declined = _dedupe(source, edits)
    if not todo:
        return encoded(source, source.text), tuple(declined)
    by_start = {_span(e.site).start: e for e in todo}
    commented = {start for start, e in by_start.items() if e.comment is not None}
    with_comments = set(commented)
    if all(_safe_by_construction(source, e) for e in todo):
        # The usual case (a plain or quoted value swapped for another that cannot be read any
        # other way, and a comment that replaces a comment or ends the line) cannot change
        # the document's structure: skip re-parsing both texts, the bulk of a large rewrite.
        text = splice(source.text, _splices(source, todo, with_comments))
        return encoded(source, text), tuple(declined)
    text = source.text
    while True:
        new_text = splice(text, _splices(source, todo, with_comments))
        problem = _compare(source, new_text, by_start)
        if problem is None:
            return encoded(source, new_text), tuple(declined)
        if with_comments:
            # find the comment insertions that change the meaning, and drop just those
            keep = {
                start
                for start in with_comments
                if _compare(source, splice(text, _splices(source, todo, {start})), by_start) is None
            }
            if keep != with_comments:
                with_comments = keep
                continue
        # the values themselves: decline each one that breaks the file on its own
        bad = [
            e
            for e in todo
            if _compare(
                source,
                splice(text, _splices(source, [e], set())),
                {_span(e.site).start: e},
            )
            is not None
        ]
        if not bad and with_comments:
            with_comments = set()  # comments that only break it together: none is added
            continue
        for edit in bad or todo:
            declined.append(Declined(edit, f"cannot rewrite this value byte for byte ({problem})"))
        todo = [e for e in todo if e not in bad] if bad else []
        if not todo:
            return encoded(source, source.text), tuple(declined)
        by_start = {_span(e.site).start: e for e in todo}
        with_comments = {start for start in commented if start in by_start}


_SAFE_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*@[A-Za-z0-9_./-]+\Z")
"""A ``uses:`` value that reads back as the same string in plain, single or double quotes."""
_PLAIN_SCALAR_TAIL = re.compile(r"(?:[ \t]+#.*|[ \t]*[,}\]].*|[ \t]*)\Z", re.DOTALL)


def _safe_by_construction(source: SourceFile, edit: Edit) -> bool:
    """True when splicing ``edit`` provably leaves every other value and the structure alone.

    The value: only characters that need no quoting or escaping in any of the three styles, so
    it reads back exactly. The comment: it replaces an existing comment, or is appended after a
    value that already ends its line (so it cannot land inside another scalar or a flow
    collection's content). Anything else goes through the full event-stream comparison.
    """
    site = edit.site
    span = _span(site)
    if not _SAFE_PLAIN_VALUE.match(edit.value) or _is_block(source.text, site):
        return False
    text = source.text
    _, content_end = _line_bounds(text, span.end)
    if not site.quote:
        # The span must be the whole plain scalar: a separator before it, and after it only
        # the end of the line, a comment or a flow indicator (else let the full check decide).
        if span.start == 0 or text[span.start - 1] not in " \t{[,":
            return False
        if not _PLAIN_SCALAR_TAIL.match(text, span.end, content_end):
            return False
    if edit.comment is None or site.comment_span is not None:
        return True
    return content_end == span.end


_COLLECTION_STARTS = (ev.MappingStartEvent, ev.SequenceStartEvent)


def _compare(source: SourceFile, new_text: str, by_start: Mapping[int, Edit]) -> str | None:
    """Why ``new_text`` is not ``source.text`` with just the edited values replaced, or None.

    Walks both event streams in step (no nodes built: this runs for every rewritten file).
    """
    old_text = source.text
    matched = 0
    try:
        for old, new in itertools.zip_longest(iter_events(old_text), iter_events(new_text)):
            kind = type(old)
            if kind is not type(new):
                return "structure differs"
            if old.anchor != new.anchor if hasattr(old, "anchor") else False:
                return "anchor differs"
            if kind is ev.ScalarEvent:
                edit = by_start.get(scalar_start(old_text, old))
                if edit is None:
                    if (new.value, new.style or "", new.tag) != (
                        old.value,
                        old.style or "",
                        old.tag,
                    ):
                        return "a value that was not edited changed"
                    continue
                if old.end_mark.index != _span(edit.site).end:
                    raise ValueError(
                        f"{source.relpath}:{edit.site.line}: site does not "
                        "match the text (stale SourceFile?)"
                    )
                matched += 1
                expected = edit.value
                if old.style in ("|", ">"):  # the block keeps its final line breaks
                    expected += old.value[len(old.value.rstrip("\r\n")) :]
                if new.value != expected or new.tag != old.tag:
                    return "edited value does not read back"
            elif kind in _COLLECTION_STARTS and (
                new.tag != old.tag or bool(new.flow_style) != bool(old.flow_style)
            ):
                return "collection changed"
    except YAMLError as exc:
        return f"result does not parse: {' '.join(str(exc).split())[:200]}"
    if matched != len(by_start):
        raise ValueError(f"{source.relpath}: site does not match the text (stale SourceFile?)")
    return None


# ----------------------------------------------------------------------------- writing


class ReadText(Protocol):
    """A file pinner read and may rewrite: a workflow or action (:class:`SourceFile`), or a
    Dockerfile."""

    @property
    def text(self) -> str: ...

    @property
    def bom(self) -> bool: ...


def original_bytes(read: ReadText) -> bytes:
    """The bytes ``read`` was read from (BOM included): what :func:`write_all` expects to find
    in the file before it replaces it."""
    return encoded(read, read.text)


class FileChangedError(InputError):
    """A file pinner read was changed on disk before pinner could replace it.

    Replacing it would throw away whatever was done to it meanwhile (an editor's save, a
    ``git checkout``), and a file swapped for a symlink would be written through to wherever
    the link points. So nothing is written at all, and the user runs pinner again.
    """


@dataclass(slots=True)
class _Target:
    """One file of a write phase, and what the phase has done for it so far."""

    shown: str  # the path in messages
    directory: int  # descriptor of the directory it lives in (every call is relative to it)
    name: str
    data: bytes
    expected: bytes | None  # what it must still hold; None for an output file
    mode: int | None = None  # permission bits of the file replaced; None: a new file
    identity: tuple[int, int, int, int] | None = None  # dev, inode, size, mtime of that file
    temp: str | None = None
    backup: str | None = None
    remove: bool = False  # deleted instead of replaced (its backup brings it back)


def write_all(
    changes: Mapping[Path, bytes],
    *,
    expected: Mapping[Path, bytes] | None = None,
    remove: Mapping[Path, bytes] | None = None,
) -> None:
    """Write every file, atomically and all-or-nothing, even when a signal arrives.

    ``expected`` maps files pinner read (their real paths, as discovery gives them) to the
    bytes they held then. Such a file must still be a regular file with exactly those bytes
    when it is replaced, and nothing about it (inode, size, mtime) may change between that
    check and its rename; a symlink in its place is never written through. Otherwise nothing
    is written and :class:`FileChangedError` (exit 2) names the file. Any other path is an
    output (a manifest, a pull-request text): a symlink there is written through, as the
    shell's ``>`` would, and an existing file is simply replaced.

    ``remove`` maps files to delete (an emptied lockfile) to the bytes they must still hold:
    checked like ``expected`` files, backed up like them, and deleted after the renames, in the
    same phase, so a deletion is undone with the writes when anything fails, held back with
    them by a signal, and never throws away an edit made while pinner ran.

    1. Each new content goes to a temp file in the same directory (same filesystem, so the
       rename is atomic), fsynced, with the original's permission bits (from
       :data:`BULK_WRITE` files on, all of them are flushed at once: one ``syncfs`` per
       filesystem, still before any rename). Each original is kept as a backup (a hard link,
       or a copy where links are unsupported).
    2. The renames, each right after checking that its file is still the one verified, then
       the deletions, checked the same way. If one fails, the files already replaced or
       deleted are restored from their backups.

    Every step works relative to a descriptor of the file's directory, opened and checked
    once, so a directory swapped for a symlink midway cannot redirect a write either.

    An output that is a device or a pipe (``/dev/stdout``) is written into, last.

    Ctrl-C, SIGTERM and SIGHUP (:mod:`pinner.interrupts`): before the renames begin, the
    phase stops at the next file, removes what it made and raises :class:`KeyboardInterrupt`
    with no file changed; once they have begun, the signal waits until every file is in place,
    and then :class:`KeyboardInterrupt` is raised with every file written. On any failure every
    temp file and backup is removed, every file is as it was, and :class:`InputError` names
    the file that could not be written.
    """
    from pinner import interrupts

    expected = expected or {}
    remove = remove or {}
    both = set(changes) & set(remove)
    if both:
        raise ValueError(f"written and removed in one phase: {sorted(map(str, both))[0]}")
    streams = {p: d for p, d in changes.items() if p not in expected and _is_stream(p)}
    with interrupts.handled(), interrupts.held():
        interrupts.stop_if_pending()  # a signal before the phase began: touch nothing
        directories: dict[Path, int] = {}
        targets: list[_Target] = []
        try:
            files = {p: d for p, d in changes.items() if p not in streams}
            targets = _targets(files, expected, directories, remove)
            _prepare_all(targets, interrupts.stop_if_pending)
            interrupts.stop_if_pending()  # the last moment at which stopping changes nothing
        except BaseException as exc:
            _remove_made(targets)
            _close(directories)
            if isinstance(exc, OSError):  # flushing the filesystems failed
                raise _cannot_write(exc, None) from None
            raise
        try:
            _replace_all(targets)
            interrupts.note_written()
            _cleanup(targets, "backup")
            for fd in directories.values():
                _fsync_dir(fd)
        finally:
            _close(directories)
        for path, data in streams.items():
            _write_stream(path, data)


def _is_stream(path: Path) -> bool:
    """An output that is a device or a pipe (``--output /dev/stdout``): written into, as the
    shell's ``>`` would, after every file is in place; it cannot be replaced by a rename."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _write_stream(path: Path, data: bytes) -> None:
    try:
        with open(path, "wb") as out:
            out.write(data)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=str(path)) from None


def _targets(
    changes: Mapping[Path, bytes],
    expected: Mapping[Path, bytes],
    directories: dict[Path, int],
    remove: Mapping[Path, bytes],
) -> list[_Target]:
    """A :class:`_Target` per file to write, then per file to ``remove`` (with the bytes it
    must hold), its directory opened (and checked, for files read)."""
    targets: list[_Target] = []
    changed: list[tuple[str, str]] = []
    real: dict[Path, bool] = {}  # directory -> still the real directory at that path
    every = [(Path(p), data, expected.get(Path(p)), False) for p, data in changes.items()]
    every += [(Path(p), b"", held, True) for p, held in remove.items()]
    for path, data, original, removal in every:
        if original is None:  # an output: follow a symlink the user named
            path = Path(os.path.realpath(path))
        directory = path.parent
        fd = directories.get(directory)
        if fd is None:
            try:
                fd = directories[directory] = _open_directory(directory)
            except OSError as exc:
                raise _cannot_write(exc, _shown(path)) from None
            real[directory] = _is_real_directory(directory, fd)
        if original is not None and not real[directory]:
            changed.append((_shown(path), "its directory was moved or replaced by a symlink"))
        targets.append(_Target(_shown(path), fd, path.name, data, original, remove=removal))
    if changed:
        raise _changed_error(changed)
    return targets


def _open_directory(directory: Path) -> int:
    return os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


def _is_real_directory(directory: Path, fd: int) -> bool:
    """Whether ``fd`` is the directory at ``directory`` and no part of that path is a symlink
    (discovery gives real paths; one that no longer resolves to itself was tampered with)."""
    try:
        here, opened = os.stat(directory), os.fstat(fd)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (opened.st_dev, opened.st_ino) and os.path.realpath(
        directory
    ) == str(directory)


def _prepare_all(targets: list[_Target], stop_if_pending: Callable[[], None]) -> None:
    """Step 1 for every target: check the file, keep a backup, write and flush its temp file.

    Every file is checked before the run is refused, so the error can say how many changed.
    """
    syncfs = _syncfs() if len(targets) >= BULK_WRITE else None
    changed: list[tuple[str, str]] = []
    for target in targets:
        stop_if_pending()
        try:
            problem = _prepare(target, fsync=syncfs is None)
        except OSError as exc:
            raise _cannot_write(exc, target.shown) from None
        if problem is not None:
            changed.append((target.shown, problem))
    if changed:
        raise _changed_error(changed)
    if syncfs is not None:
        _flush_filesystems(syncfs, {t.directory for t in targets})


# O_NOFOLLOW: a symlink in the file's place fails the open instead of being followed;
# O_NONBLOCK: a FIFO there must not hang the run (no effect on a regular file). Python makes
# every descriptor non-inheritable already.
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_OPEN_EXISTING = os.O_RDONLY | _NO_FOLLOW | getattr(os, "O_NONBLOCK", 0)


def _prepare(target: _Target, *, fsync: bool) -> str | None:
    """Check ``target``'s file, back it up and write its temp file; or say what changed."""
    try:
        fd: int | None = os.open(target.name, _OPEN_EXISTING, dir_fd=target.directory)
    except FileNotFoundError:
        if target.expected is not None:
            return "deleted"
        fd = None  # a new output file
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a symlink (EMLINK: BSD)
            return "replaced by a symlink"
        raise
    if fd is not None:
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return "no longer a regular file"
            if target.expected is not None and (
                st.st_size != len(target.expected) or _read(fd, st.st_size) != target.expected
            ):
                return "edited"
            target.mode = stat.S_IMODE(st.st_mode)
            target.identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            target.backup = _backup_of(target, fd)
        finally:
            os.close(fd)
    if target.remove:
        return None  # nothing to write: the backup is what brings it back
    target.temp, temp_fd = _new_temp(target.directory, target.name, ".pinner-tmp")
    _write_fd(temp_fd, target.data, 0o644 if target.mode is None else target.mode, fsync=fsync)
    return None


def _read(fd: int, size: int) -> bytes:
    """Up to ``size + 1`` bytes from the start of ``fd`` (one more shows the file grew)."""
    chunks = []
    remaining = size + 1
    while remaining > 0:
        chunk = os.pread(fd, remaining, size + 1 - remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _replace_all(targets: list[_Target]) -> None:
    """Step 2: each rename right after checking its file is still the one verified in step 1;
    on any failure the files already replaced get their backups back."""
    done: list[_Target] = []
    try:
        for target in targets:
            problem = _changed_since_prepared(target)
            if problem is not None:
                raise _changed_error([(target.shown, problem)])
            try:
                if target.remove:
                    os.unlink(target.name, dir_fd=target.directory)
                else:
                    assert target.temp is not None
                    os.replace(
                        target.temp,
                        target.name,
                        src_dir_fd=target.directory,
                        dst_dir_fd=target.directory,
                    )
            except OSError as exc:
                verb = "remove" if target.remove else "write"
                raise _cannot_write(exc, target.shown, verb) from None
            done.append(target)
    except BaseException:
        for target in reversed(done):
            with contextlib.suppress(OSError):
                if target.backup is not None:
                    os.replace(
                        target.backup,
                        target.name,
                        src_dir_fd=target.directory,
                        dst_dir_fd=target.directory,
                    )
                    target.backup = None
                else:
                    os.unlink(target.name, dir_fd=target.directory)  # did not exist before
        _remove_made(targets)
        raise


def _changed_since_prepared(target: _Target) -> str | None:
    if target.identity is None:
        return None  # a new output file: nothing to compare
    try:
        st = os.stat(target.name, dir_fd=target.directory, follow_symlinks=False)
    except FileNotFoundError:
        return "deleted"
    if stat.S_ISLNK(st.st_mode):
        return "replaced by a symlink"
    if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) != target.identity:
        return "edited"
    return None


def _cannot_write(exc: OSError, shown: str | None, verb: str = "write") -> InputError:
    return InputError(f"cannot {verb}: {exc.strerror or exc}; no file was changed", path=shown)


def _changed_error(changed: list[tuple[str, str]]) -> FileChangedError:
    shown, why = changed[0]
    others = len(changed) - 1
    more = f" (and {others} other file{'s' if others != 1 else ''})" if others else ""
    return FileChangedError(
        f"changed on disk while pinner ran ({why}){more}; no file was changed: run pinner again",
        path=shown,
    )


def _shown(path: Path) -> str:
    """``path`` as messages show it: relative to the working directory when inside it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def _new_temp(directory: int, name: str, suffix: str) -> tuple[str, int]:
    """A new file beside ``name`` (created, never opened through a symlink), and its descriptor.

    The name is random rather than reserved with mkstemp: one file creation less per file,
    which on a thousand-file rewrite is a measurable share of the run.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NO_FOLLOW
    for _ in range(8):
        temp = f".{name}.{os.urandom(6).hex()}{suffix}"
        try:
            return temp, os.open(temp, flags, 0o600, dir_fd=directory)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {name}")


def _write_fd(fd: int, data: bytes, mode: int, *, fsync: bool) -> None:
    """Write ``data`` to the new file ``fd`` with permission bits ``mode``, then close it.

    Plain ``os`` calls on the descriptor: a buffered file object would add an ``fstat``, an
    ``ioctl`` and an ``lseek`` per file, and ``chmod`` by name another path lookup.
    """
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if fsync:
            os.fsync(fd)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _backup_of(target: _Target, fd: int) -> str:
    """A hard link to the file being replaced under a fresh hidden name, or a copy of what
    ``fd`` (open on it) holds where links are unsupported."""
    for _ in range(8):
        backup = f".{target.name}.{os.urandom(6).hex()}.pinner-bak"
        try:
            os.link(
                target.name,
                backup,
                src_dir_fd=target.directory,
                dst_dir_fd=target.directory,
                follow_symlinks=False,
            )
        except FileExistsError:
            continue
        except OSError:
            break
        return backup
    backup, copy_fd = _new_temp(target.directory, target.name, ".pinner-bak")
    try:
        data = target.expected if target.expected is not None else _read(fd, os.fstat(fd).st_size)
    except BaseException:
        os.close(copy_fd)
        os.unlink(backup, dir_fd=target.directory)
        raise
    target.backup = backup  # removed with the others if writing it fails
    _write_fd(copy_fd, data, target.mode or 0o600, fsync=False)
    return backup


BULK_WRITE = 32
"""From this many files on, the new contents are made durable with one ``syncfs`` per
filesystem instead of one ``fsync`` per file: on a thousand-file rewrite the per-file flushes
cost more CPU than parsing the files, and a second of waiting on the disk."""


def _syncfs() -> Callable[[int], int] | None:
    """libc's ``syncfs(fd)`` (Linux), or None where it does not exist (fsync each file)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


def _flush_filesystems(syncfs: Callable[[int], int], directories: Iterable[int]) -> None:
    """Flush every filesystem holding one of ``directories`` (descriptors; one ``syncfs``
    each); an OSError when the kernel reports a failure, as ``fsync`` would raise."""
    import ctypes

    flushed: set[int] = set()
    for fd in directories:
        device = os.fstat(fd).st_dev
        if device in flushed:
            continue
        if syncfs(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        flushed.add(device)


def _fsync_dir(fd: int) -> None:
    """Make the renames durable (best effort: not every platform can fsync a directory)."""
    with contextlib.suppress(OSError):
        os.fsync(fd)


def _remove_made(targets: Iterable[_Target]) -> None:
    """Remove every temp file and backup a failed or stopped write phase made."""
    _cleanup(targets, "temp")
    _cleanup(targets, "backup")


def _cleanup(targets: Iterable[_Target], kind: str) -> None:
    for target in targets:
        name = getattr(target, kind)
        if name is not None:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=target.directory)
            setattr(target, kind, None)


def _close(directories: Mapping[Path, int]) -> None:
    for fd in directories.values():
        with contextlib.suppress(OSError):
            os.close(fd)
