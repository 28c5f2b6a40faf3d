"""A quick look at the raw text of the user's files: which repositories will the run need?

Why: a cold run waits for one ref listing per repository, a round trip or more each, then for
a lookup of each pinned commit that no ref points at, and parsing a large repository's
workflows takes a good part of a second. Asked for only as each file is parsed, the last files'
repositories wait for the end of the parse; a line regex over the raw text finds almost every
repository and pinned SHA in a few milliseconds, before anything is parsed, so the listings
and the lookups can be on the way at once.

This is only a hint, never a finding: what it returns is asked for early, nothing more.

* A value it finds is still classified by the runner's grammar (:func:`parse_uses`): an invalid
  value, an expression, a local path or a docker image is never asked for.
* A line that silences pinner (``# pinner: ignore``) or keeps pinning tools off
  (``# ratchet:exclude``) is left out; so is anything the caller's ``wants`` refuses
  (``--include``/``--exclude``, config ignore entries).
* What it misses (flow mappings, multi-line values) the parse finds as usual; what it finds
  wrongly (a ``uses:`` line inside a block scalar, in a file that then fails to parse) costs a
  place in a batched listing query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from pinner.errors import InputError
from pinner.models import ANY_CASE_SHA_RE, ActionRef, UsesKind, UsesValue
from pinner.sources.comments import parse_comment, silences
from pinner.sources.discovery import DiscoveredFile
from pinner.sources.grammar import parse_uses
from pinner.sources.yamlsafe import read_bytes_capped

# ``uses: VALUE`` up to the end of the line, the value plain or quoted; found from the literal
# ``uses`` (the regex engine skips to it fast; a leading \b would make it try every position),
# the start of its line checked apart
_USES_RE = re.compile(r"""uses[ \t]*:[ \t]+(["']?)([^\s"'#]+)\1[ \t]*(?:#([^\r\n]*))?\r?$""", re.M)
# what may stand before ``uses:`` on its line: indentation and sequence dashes (``- uses:``)
_LINE_START_RE = re.compile(r"[ \t]*(?:-[ \t]+)*")
# a cheap first look; what it finds is read as pin reads it (pinner: ignore[x] silences one rule)
_SILENCED_RE = re.compile(r"\bpinner\s*:\s*ignore\b|ratchet:exclude", re.IGNORECASE)

Wants = Callable[[ActionRef, str], bool]  # (action, relpath) -> whether pin resolves it


def hinted_actions(text: str, parsed: dict[str, UsesValue] | None = None) -> Iterator[ActionRef]:
    """Remote actions named on block ``uses:`` lines of ``text`` that do not silence pinner.

    ``parsed`` memoises the grammar across calls (a value recurs on many lines and files).
    """
    parsed = {} if parsed is None else parsed
    for match in _USES_RE.finditer(text):
        start = match.start()
        line_start = text.rfind("\n", 0, start) + 1
        if _LINE_START_RE.fullmatch(text, line_start, start) is None:
            continue
        comment = match.group(3)
        if comment is not None and _SILENCED_RE.search(comment) and _whole_line(comment):
            continue
        raw = match.group(2)
        value = parsed.get(raw)
        if value is None:
            value = parsed[raw] = parse_uses(raw)
        if value.kind is UsesKind.REMOTE and value.action is not None:
            yield value.action


def _whole_line(comment: str) -> bool:
    """The comment keeps pin off its line: a ``pinner: ignore`` of every rule, or
    ``ratchet:exclude``."""
    return silences(comment, "*") or parse_comment(comment).excluded


@dataclass(frozen=True, slots=True)
class Hints:
    """What the files seem to need, first spelling, in file order, each once."""

    repositories: tuple[str, ...]  # owner/repo
    commits: tuple[tuple[str, str], ...]  # (owner/repo, lower-case 40-hex SHA) of SHA pins


def hints_for(files: Iterable[DiscoveredFile], wants: Wants) -> Hints:
    """The repositories and pinned commits the files seem to use. Files that cannot be read
    or decoded are passed over (the reader reports them)."""
    seen: set[str] = set()
    repos: list[str] = []
    pinned: dict[tuple[str, str], tuple[str, str]] = {}
    parsed: dict[str, UsesValue] = {}
    for found in files:
        try:  # the reader's own guards: size cap, regular files only (never a FIFO)
            text = read_bytes_capped(found.path, source=found.relpath).decode("utf-8")
        except (InputError, UnicodeDecodeError):
            continue
        if "uses" not in text:
            continue
        for action in hinted_actions(text, parsed):
            key = action.repo_key
            sha = action.ref.lower() if ANY_CASE_SHA_RE.match(action.ref) else None
            if key in seen and (sha is None or (key, sha) in pinned):
                continue
            if not wants(action, found.relpath):
                continue
            if key not in seen:
                seen.add(key)
                repos.append(action.slug)
            if sha is not None:
                pinned.setdefault((key, sha), (action.slug, sha))
    return Hints(tuple(repos), tuple(pinned.values()))
