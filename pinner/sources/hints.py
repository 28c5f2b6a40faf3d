"""A quick look at the raw text of the user's files: which repositories will the run need?

Why: a cold run waits for one ref listing per repository, a round trip or more each, and
parsing a large repository's workflows takes a good part of a second. Listings asked for only
as each file is parsed leave the last files' repositories for the end of the parse; a line
regex over the raw text finds almost every repository in a few milliseconds, before anything
is parsed, so all listings can be on the way at once.

This is only a hint, never a finding: what it returns is asked for early, nothing more.

* A value it finds is still classified by the runner's grammar (:func:`parse_uses`): an invalid
  value, an expression, a local path or a docker image is never asked for.
* A line that silences pinner (``# pinner: ignore``) is left out; so is anything the caller's
  ``wants`` refuses (``--include``/``--exclude``, config ignore entries).
* What it misses (flow mappings, multi-line values) the parse finds as usual; what it finds
  wrongly (a ``uses:`` line inside a block scalar, in a file that then fails to parse) costs a
  place in a batched listing query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from pinner.errors import InputError
from pinner.models import ActionRef, UsesKind
from pinner.sources.discovery import DiscoveredFile
from pinner.sources.grammar import parse_uses
from pinner.sources.yamlsafe import read_bytes_capped

# ``uses: owner/repo...@ref`` as a block mapping entry, a sequence item or both (``- uses:``),
# the value plain or quoted
_USES_LINE_RE = re.compile(
    r"""^[ \t]*(?:-[ \t]+)*uses[ \t]*:[ \t]+(["']?)([^\s"'#]+)\1[ \t]*(?:#(.*))?\r?$""",
    re.MULTILINE,
)
_SILENCED_RE = re.compile(r"\bpinner\s*:\s*ignore\b(?!\s*\[)", re.IGNORECASE)

Wants = Callable[[ActionRef, str], bool]  # (action, relpath) -> whether pin resolves it


def hinted_actions(text: str) -> Iterable[ActionRef]:
    """Remote actions named on ``uses:`` lines of ``text`` that do not silence pinner."""
    for match in _USES_LINE_RE.finditer(text):
        comment = match.group(3)
        if comment is not None and _SILENCED_RE.search(comment):
            continue
        value = parse_uses(match.group(2))
        if value.kind is UsesKind.REMOTE and value.action is not None:
            yield value.action


def hinted_repositories(files: Iterable[DiscoveredFile], wants: Wants) -> list[str]:
    """``owner/repo`` of every remote action the files seem to use, first spelling, in file
    order. Files that cannot be read or decoded are passed over (the reader reports them)."""
    seen: set[str] = set()
    repos: list[str] = []
    for found in files:
        try:  # the reader's own guards: size cap, regular files only (never a FIFO)
            text = read_bytes_capped(found.path, source=found.relpath).decode("utf-8")
        except (InputError, UnicodeDecodeError):
            continue
        if "uses" not in text:
            continue
        for action in hinted_actions(text):
            key = action.repo_key
            if key not in seen and wants(action, found.relpath):
                seen.add(key)
                repos.append(action.slug)
    return repos
