"""The comment after a ``uses:`` value: which version it claims, and what else it holds.

The comment is other people's text. Every pinning tool wrote its own dialect, other tools keep
their directives there, and people write notes; pinner reads its claim from it and, when it
must correct or add one, changes only that claim and keeps every other byte.

=================================  ====================  =========================
comment as written                 claim                 written by
=================================  ====================  =========================
``# v1.2.3``                       ``v1.2.3``            pinact, Dependabot, pinner
``# v1.2.3 needed for node 20``    ``v1.2.3`` (+ note)   humans
``# tag=v1.2.3``                   ``v1.2.3``            Renovate (old)
``# version: 1.2.3``               ``1.2.3``             various
``# pin@v1``                       ``v1`` (tracked)      pin-github-action
``# ratchet:actions/checkout@v4``  ``v4`` (tracked)      ratchet
``# main``                         ``main`` if a ref     pinner, for branch pins
=================================  ====================  =========================

A comment is a row of segments, each starting with a ``#`` (``# v1.2.3 # zizmor:
ignore[x]`` has two). The claim is read from the first segment that is not another tool's
directive (``# zizmor: ignore[rule]``, ``# renovate: ...``, ``# ratchet:exclude``, ``#
noqa``, ``# nosemgrep``, any ``tool: ...`` / ``tool:...``), and only when no plain note comes
before it. Within that segment:

* a dialect above (``tag=``, ``version:``, ``pin@``, ``ratchet:owner/repo@``, ``@``);
* else a first word that looks like a version (``v4``, ``4.2.1``, ``v1.0.0-rc.1``,
  ``tools/v1.2.3``), whatever follows it;
* else a *lone* word that could be a ref name (``main``, ``TODO``): dialect ``"word"``. Only
  the caller knows the repository's refs, so it decides: a claim when the word is a branch or
  tag of that repository (``# main``), a note otherwise (``# TODO``, ``# keep``).

``pin@`` and ``ratchet:`` record the ref their tool *tracks* (its update re-resolves it):
``# ratchet:o/a@v4`` stays true for any ``v4.x.y`` commit, and rendering keeps it as long as the
new claim is in that family, so the tool keeps tracking what the user chose.

The inline suppression ``pinner: ignore[rule-a,rule-b]`` may stand anywhere (``# v1.2.3 #
pinner: ignore[rule-a]``); ``pinner: ignore`` without a list silences every rule and is
reported as :data:`IGNORE_ALL`. ``ratchet:exclude`` anywhere (ratchet looks for it the same
way) means "no tool pins this line": :attr:`ParsedComment.excluded`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

IGNORE_ALL = frozenset({"*"})
"""What :func:`parse_ignore` returns for a bare ``pinner: ignore`` (and for ``ignore[*]`` or
``ignore[all]``, which say the same)."""

_ALL_RULES = frozenset({"*", "all"})

RATCHET_EXCLUDE = "ratchet:exclude"
"""ratchet's "leave this line alone" marker (matched as ratchet does: anywhere, case kept)."""

TRACKING_DIALECTS = frozenset({"ratchet", "pin"})
"""Dialects whose ref is the one their tool keeps following, not a statement about the commit."""

_IGNORE_RE = re.compile(
    r"(?:#\s*)?\bpinner\s*:\s*ignore\b(?:\s*\[(?P<rules>[^\]]*)\])?", re.IGNORECASE
)
_VERSION_RE = re.compile(
    r"^(?:[A-Za-z0-9_.-]+/)*v?\d+(?:\.\d+)*(?:[-+][0-9A-Za-z][0-9A-Za-z.+-]*)?$"
)
_REF_WORD_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./+-]*$")
_DIALECTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ratchet", re.compile(r"ratchet\s*:\s*[^@\s]+@(?P<v>\S+)", re.IGNORECASE)),
    ("tag", re.compile(r"tag\s*=\s*(?P<v>\S+)", re.IGNORECASE)),
    ("version", re.compile(r"version\s*[:=]\s*(?P<v>\S+)", re.IGNORECASE)),
    ("pin", re.compile(r"pin\s*@\s*(?P<v>\S+)", re.IGNORECASE)),
    ("at", re.compile(r"@(?P<v>\S+)")),
)
# Another tool's directive: "tool: ..." or "tool:..." (zizmor, renovate, ratchet:exclude,
# pinact:ignore, checkov:skip=..., TODO: ...; not a URL), or a well-known bare word.
_TOOL_DIRECTIVE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*\s*:(?!//)")
_DIRECTIVE_WORD_RE = re.compile(
    r"(?:noqa|nosemgrep|nosec|nosonar|nolint|noinspection|lgtm|prettier-ignore|yamllint"
    r"|shellcheck|kics-scan|eslint-disable(?:-next-line|-line)?|cspell|spellchecker)"
    r"(?=$|[\s:\[=(])",
    re.IGNORECASE,
)
_SEGMENT_RE = re.compile(r"(?:(?<=\s)|^)#")
_WORD_RE = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class ParsedComment:
    """A trailing comment split into what pinner reads and what it must keep.

    ``value_start``/``value_end`` locate the claimed version or ref in the string that was
    parsed (``tag=v1.2.3`` -> just ``v1.2.3``), so :func:`render_comment` can replace exactly
    that; ``version_text`` is the whole slice stating it (``tag=v1.2.3``); ``note`` is the human
    text after it in its segment; ``directive`` is the ``pinner: ignore[...]`` part verbatim
    (with its own ``#`` when it had one).
    """

    text: str  # the comment without its leading "#" and surrounding whitespace
    version: str | None
    dialect: str | None  # plain, tag, version, pin, ratchet, at, word; None: no claim
    version_text: str | None
    note: str
    directive: str | None
    ignore: frozenset[str] | None
    excluded: bool = False  # "ratchet:exclude": no tool pins this line
    value_start: int = -1
    value_end: int = -1

    @property
    def tracks(self) -> bool:
        """The claim is a ref its tool follows (``pin@``, ``ratchet:``), not a version stamp."""
        return self.dialect in TRACKING_DIALECTS


def _segments(comment: str) -> list[tuple[int, int]]:
    """``[start, end)`` of each ``#``-segment's text (after its ``#`` and spaces, stripped)."""
    starts = [m.start() for m in _SEGMENT_RE.finditer(comment)]
    lead = len(comment) - len(comment.lstrip())
    if not starts or comment[lead : lead + 1] != "#":
        starts.insert(0, lead - 1)  # a comment given without its "#"
    out = []
    for i, hash_at in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(comment)
        start = hash_at + 1
        while start < end and comment[start].isspace():
            start += 1
        while end > start and comment[end - 1].isspace():
            end -= 1
        out.append((start, end))
    return out


def _is_directive(segment: str) -> bool:
    return bool(
        _IGNORE_RE.match(segment)
        or _TOOL_DIRECTIVE_RE.match(segment)
        or _DIRECTIVE_WORD_RE.match(segment)
    )


@functools.lru_cache(maxsize=4096)
def parse_comment(comment: str) -> ParsedComment:
    """Split a trailing comment (with or without its ``#``) into claim, note and directive.

    Memoized: planning asks about the same few comments (``# v4.2.2``) for every site and
    every rule; the result is frozen, so sharing it is safe.
    """
    text = comment.strip()
    if text.startswith("#"):
        text = text[1:].strip()
    directive: str | None = None
    ignore: frozenset[str] | None = None
    match = _IGNORE_RE.search(text)
    if match:
        directive = text[match.start() :].strip()
        ignore = _rules(match.group("rules"))
    excluded = RATCHET_EXCLUDE in comment
    for start, end in _segments(comment):
        segment = comment[start:end]
        claim = _claim(comment, start, end)
        if claim is not None:
            dialect, v_start, v_end, text_end = claim
            version = comment[v_start:v_end]
            note = comment[text_end:end].strip()
            if directive is not None:
                at = _IGNORE_RE.search(note)
                note = note[: at.start()].rstrip() if at else note
            return ParsedComment(
                text,
                version,
                dialect,
                comment[start:text_end],
                note,
                directive,
                ignore,
                excluded,
                v_start,
                v_end,
            )
        if not segment or _is_directive(segment):
            continue
        break  # a note: a claim after it is the note's business, not a version stamp
    note = text
    if directive is not None:
        note = text[: text.find(directive)].rstrip() if directive in text else text
    return ParsedComment(text, None, None, None, note, directive, ignore, excluded)


def _claim(comment: str, start: int, end: int) -> tuple[str, int, int, int] | None:
    """(dialect, value start, value end, end of the claim's text) of one segment, or None."""
    segment = comment[start:end]
    for name, pattern in _DIALECTS:
        m = pattern.match(segment)
        if m:
            value = m.group("v")
            v_end = start + m.start("v") + len(value.rstrip(",;"))
            return name, start + m.start("v"), v_end, start + m.end()
    words = _WORD_RE.findall(segment)
    if not words:
        return None
    word = words[0].rstrip(",;:")
    if _VERSION_RE.match(word):
        return "plain", start, start + len(word), start + len(words[0])
    if _is_directive(segment):
        return None
    if len(words) == 1 and _REF_WORD_RE.match(word) and ".." not in word:
        return "word", start, start + len(word), start + len(words[0])
    return None


def _rules(raw: str | None) -> frozenset[str]:
    if raw is None:
        return IGNORE_ALL
    rules = frozenset(r.strip().lower() for r in raw.split(",") if r.strip())
    return IGNORE_ALL if not rules or rules & _ALL_RULES else rules


def parse_version_comment(comment: str | None) -> str | None:
    """The version or ref a comment claims (``# tag=v1.2.3`` -> ``v1.2.3``), else ``None``
    (no comment at all included).

    A lone word (``# main``, ``# TODO``) is returned as written: whether it is a ref is for
    the caller to decide (see :func:`claims_word`).
    """
    return parse_comment(comment).version if comment else None


def parse_ignore(comment: str) -> frozenset[str] | None:
    """Rule ids silenced by ``pinner: ignore[...]`` in the comment; ``None`` when absent."""
    return parse_comment(comment).ignore


def silences(comment: str | None, rule: str) -> bool:
    """Whether the comment's ``pinner: ignore`` silences ``rule`` (``"*"``: the whole line).

    The one reading of an inline ignore that ``pin``, ``update``, ``audit`` and the image
    checks share, so a line one command leaves alone is never touched by another.
    """
    rules = parse_ignore(comment) if comment else None
    return rules is not None and ("*" in rules or rule in rules)


def claims_word(parsed: ParsedComment, is_ref: bool) -> bool:
    """Whether ``parsed`` makes a claim, given whether its lone word (if that is what it has)
    names a branch or tag of the action's repository."""
    return parsed.version is not None and (parsed.dialect != "word" or is_ref)


def covers(tracked: str, claim: str) -> bool:
    """Whether a tracked ref (``v4``, ``v4.2``) includes the version ``claim`` (``v4.2.2``):
    the same ref, or a release that extends it. Spelling and monorepo prefix must match."""
    if tracked == claim:
        return True
    return bool(_VERSION_RE.match(tracked)) and claim.startswith(tracked + ".")


_RELEASE_RE = re.compile(r"^(?P<head>(?:[A-Za-z0-9_.-]+/)*[vV]?)(?P<numbers>\d+(?:\.\d+)*)$")


def floating_names(claim: str) -> tuple[str, ...]:
    """The shorter refs a release could float under, broadest first: ``v2.1.0`` ->
    ``("v2", "v2.1")``, ``setup/v2.1.0`` -> ``("setup/v2", "setup/v2.1")``; none for a
    prerelease or a name that is no plain version (only its own tag names it exactly)."""
    m = _RELEASE_RE.match(claim)
    if m is None:
        return ()
    numbers = m.group("numbers").split(".")
    return tuple(m.group("head") + ".".join(numbers[:n]) for n in range(1, len(numbers)))


def _at_precision(tracked: str, claim: str) -> str | None:
    """``claim`` cut to as many numbers as ``tracked`` has (``v1`` and ``v2.1.0`` -> ``v2``,
    ``v1.2`` -> ``v2.1``); None when ``tracked`` is no version or is as precise as ``claim``."""
    m = _RELEASE_RE.match(tracked.rpartition("/")[2])
    shorter = floating_names(claim)
    if m is None:
        return None
    precision = len(m.group("numbers").split("."))
    return shorter[precision - 1] if precision <= len(shorter) else None


def _respelled(parsed: ParsedComment, claim: str, floating: frozenset[str]) -> str:
    """``claim`` as the old comment's dialect writes it; a tracked ref keeps the precision its
    user chose where the repository has a ref of that precision (``floating``)."""
    old = parsed.version or ""
    if parsed.tracks and covers(old, claim):
        return old  # ratchet / pin-github-action keep following what the user chose
    if parsed.tracks:
        # moved past what it tracks (v1 -> v2.1.0): follow the new release at the same
        # precision (v2), if that ref exists; else only the release itself names it
        moved = _at_precision(old, claim)
        if moved is not None and moved in floating:
            return moved
    if parsed.dialect == "version":
        # a version number, not a tag name: no "v" where the user wrote none
        old_body = old.rpartition("/")[2]
        prefix, _, body = claim.rpartition("/")
        if old_body[:1] not in ("v", "V") and body[:1] in ("v", "V") and body[1:2].isdigit():
            return f"{prefix}/{body[1:]}" if prefix else body[1:]
    return claim


def render_comment(
    old: str | None,
    claim: str,
    *,
    word_is_ref: bool = False,
    floating: frozenset[str] = frozenset(),
) -> str:
    """The comment after a new pin claiming ``claim`` (a version or branch name).

    ``old`` is the comment as written, with or without its ``#`` (the result has the same
    form). Only pinner's part changes:

    * an existing claim, in any dialect, is replaced in place by ``claim`` spelled in that
      dialect (``# tag=v3.8.1`` -> ``# tag=v3.8.2``, ``# version: 3.8.1`` -> ``# version:
      3.8.2``); every other byte of the comment, spacing, notes and directives, stays. A
      tracked ref (``# ratchet:o/a@v4``, ``# pin@v4``) that includes ``claim`` is kept as is;
      one that does not moves at the precision it was written with (``# ratchet:o/a@v1`` ->
      ``# ratchet:o/a@v2`` for ``v2.1.0``, ``@v1.2`` -> ``@v2.1``) when that ref is among
      ``floating`` (the repository's floating tags of ``claim``), else to ``claim`` itself;
    * a comment without a claim (a note, another tool's directive, a lone word that is no ref
      of the repository: ``word_is_ref`` False) is kept verbatim as its own segment after
      pinner's: ``# zizmor: ignore[x]`` -> ``# v1.2.3 # zizmor: ignore[x]``, so every tool
      still recognises its directive.
    """
    if old is None:
        return claim
    parsed = parse_comment(old)
    hashed = old.lstrip().startswith("#")
    if claims_word(parsed, word_is_ref):
        new = _respelled(parsed, claim, floating)
        head, tail = old[: parsed.value_start], old[parsed.value_end :]
        for candidate in (head + new + tail, f"{head}{new} #{tail}"):
            # "# v2 needed for x" claiming branch "main": "# main needed for x" would read
            # as a note, so the note gets a "#" of its own
            if _claims(candidate, new):
                return candidate
    elif not parsed.text:
        return f"# {claim}" if hashed else claim
    kept = old.strip()
    return f"# {claim} {kept}" if hashed else f"{claim} # {kept}"


def _claims(comment: str, value: str) -> bool:
    parsed = parse_comment(comment)
    return parsed.version == value and parsed.dialect is not None
