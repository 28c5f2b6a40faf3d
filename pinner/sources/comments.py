"""The comment after a ``uses:`` value: which version it claims, and which rules it silences.

Every pinning tool wrote its own dialect, and repositories mix them, so pinner reads them all:

=================================  ====================  =========================
comment as written                 version               written by
=================================  ====================  =========================
``# v1.2.3``                       ``v1.2.3``            pinact, Dependabot, pinner
``# v1.2.3 needed for node 20``    ``v1.2.3`` (+ note)   humans
``# tag=v1.2.3``                   ``v1.2.3``            Renovate (old)
``# version: 1.2.3``               ``1.2.3``             various
``# pin@v1``                       ``v1``                pin-github-action
``# ratchet:actions/checkout@v4``  ``v4``                ratchet
``# main``                         ``main``              pinner, for branch pins
=================================  ====================  =========================

A first word that looks like a version (``v4``, ``4.2.1``, ``v1.0.0-rc.1``, ``tools/v1.2.3``)
is a version whatever follows it. A *lone* word that is a valid ref name (``main``,
``release/v2``), or one followed by another ``#``, is taken as a ref too, because that is how
branch pins are annotated (``# main`` or ``# main # needed for x``). Anything else
(``# needed for x``) is a plain note.

The inline suppression ``pinner: ignore[rule-a,rule-b]`` may stand alone or follow a version
comment (``# v1.2.3 # pinner: ignore[rule-a]``); ``pinner: ignore`` without a list silences
every rule and is reported as :data:`IGNORE_ALL`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

IGNORE_ALL = frozenset({"*"})
"""What :func:`parse_ignore` returns for a bare ``pinner: ignore``."""

_IGNORE_RE = re.compile(
    r"(?:#\s*)?\bpinner\s*:\s*ignore\b(?:\s*\[(?P<rules>[^\]]*)\])?", re.IGNORECASE
)
_VERSION_RE = re.compile(
    r"^(?:[A-Za-z0-9_.-]+/)*v?\d+(?:\.\d+)*(?:[-+][0-9A-Za-z][0-9A-Za-z.+-]*)?$"
)
_REF_WORD_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./+-]*$")
_DIALECTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ratchet", re.compile(r"^ratchet\s*:\s*[^@\s]+@(?P<v>\S+)", re.IGNORECASE)),
    ("tag", re.compile(r"^tag\s*=\s*(?P<v>\S+)", re.IGNORECASE)),
    ("version", re.compile(r"^version\s*[:=]\s*(?P<v>\S+)", re.IGNORECASE)),
    ("pin", re.compile(r"^pin\s*@\s*(?P<v>\S+)", re.IGNORECASE)),
    ("at", re.compile(r"^@(?P<v>\S+)")),
)


@dataclass(frozen=True, slots=True)
class ParsedComment:
    """A trailing comment split into what pinner reads and what it must keep.

    ``version_text`` is the exact slice that states the version (``tag=v1.2.3``), so a rewrite
    can replace just that; ``note`` is the human text after it; ``directive`` is the
    ``pinner: ignore[...]`` part verbatim (with its own ``#`` when it had one).
    """

    text: str  # the comment without its leading "#" and surrounding whitespace
    version: str | None
    dialect: str | None  # "plain", "tag", "version", "pin", "ratchet", "at"; None: no version
    version_text: str | None
    note: str
    directive: str | None
    ignore: frozenset[str] | None


def _strip_hash(comment: str) -> str:
    text = comment.strip()
    if text.startswith("#"):
        text = text[1:].strip()
    return text


@functools.lru_cache(maxsize=4096)
def parse_comment(comment: str) -> ParsedComment:
    """Split a trailing comment (with or without its ``#``) into version, note and directive.

    Memoized: planning asks about the same few comments (``# v4.2.2``) for every site and
    every rule; the result is frozen, so sharing it is safe.
    """
    text = _strip_hash(comment)
    directive: str | None = None
    ignore: frozenset[str] | None = None
    body = text
    match = _IGNORE_RE.search(text)
    if match:
        directive = text[match.start() :].strip()
        ignore = _rules(match.group("rules"))
        body = text[: match.start()].rstrip()
    version, dialect, version_text, note = _version(body)
    return ParsedComment(text, version, dialect, version_text, note, directive, ignore)


def _version(body: str) -> tuple[str | None, str | None, str | None, str]:
    if not body:
        return None, None, None, ""
    for name, pattern in _DIALECTS:
        m = pattern.match(body)
        if m:
            value = m.group("v").rstrip(",;")
            return value, name, body[: m.end()], body[m.end() :].strip()
    first, _, rest = body.partition(" ")
    word = first.rstrip(",;")
    if _VERSION_RE.match(word):
        return word, "plain", first, rest.strip()
    rest = rest.strip()
    if (not rest or rest.startswith("#")) and _REF_WORD_RE.match(word) and ".." not in word:
        return word, "plain", first, rest
    return None, None, None, body


def _rules(raw: str | None) -> frozenset[str]:
    if raw is None:
        return IGNORE_ALL
    rules = frozenset(r.strip().lower() for r in raw.split(",") if r.strip())
    return rules or IGNORE_ALL


def parse_version_comment(comment: str) -> str | None:
    """The version or ref a comment claims (``# tag=v1.2.3`` -> ``v1.2.3``), else ``None``."""
    return parse_comment(comment).version


def parse_ignore(comment: str) -> frozenset[str] | None:
    """Rule ids silenced by ``pinner: ignore[...]`` in the comment; ``None`` when absent."""
    return parse_comment(comment).ignore


def render_comment(old: str | None, version: str) -> str:
    """The comment text (without ``#``) to write after a new pin claiming ``version``.

    The version part is replaced whatever its dialect; a human note and a ``pinner: ignore``
    directive are kept, the directive always after its own ``#`` (``# v4.2.2 # pinner:
    ignore[x]``) so no tool mistakes it for a note. ``# needed for x`` becomes ``# v4.2.2
    needed for x``: the note still reads naturally, and the version is first so every tool
    finds it.

    Idempotent: when ``version`` already carries a note or directive (a caller rendered it
    with this function), it is taken as the complete comment, so
    ``render_comment(old, render_comment(old, v)) == render_comment(old, v)``.
    """
    if old is None:
        return version
    wanted = parse_comment(version)
    if wanted.note or wanted.directive:
        return wanted.text
    parsed = parse_comment(old)
    parts = [version]
    if parsed.note:
        note = parsed.note
        if parse_comment(f"{version} {note}").version != version and not note.startswith("#"):
            note = "# " + note  # "main needed for x" would not read back as a ref
        parts.append(note)
    if parsed.directive:
        directive = parsed.directive
        parts.append(directive if directive.startswith("#") else "# " + directive)
    return " ".join(parts)
