"""Which tags are versions, and which version tag best names a commit.

The comment pinner writes next to a SHA (``@<sha> # v4.2.2``) must be truthful and as specific as
possible: the most specific version tag that points at that very commit, preferring the family the
user wrote (``@v4`` -> ``# v4.2.2``). Choosing "the longest tag string" is wrong (zizmor then writes
``# v1.0.0-light``); so only tags that parse as versions compete, and they are ranked by meaning.

Monorepos tag their actions ``path/v1.2.3`` (``grafana/shared-workflows`` tags
``argo-lint/v1.1.0`` for the action at ``actions/argo-lint``); such a tag counts only for the action
whose path it names, either the whole path or its last segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from pinner.models import GitRef, RefListing

# A version-looking tag body: optional "v", dotted numbers, optional pre-release suffix.
# The suffix is checked by packaging afterwards (``-light`` or ``-node16`` do not parse).
# ASCII only and anchored with \Z: ``$`` would also match before a final newline, and packaging
# strips surrounding whitespace, so a server's tag ``v1.2.3\n`` would pass as 1.2.3 and its
# newline reach the comment pinner writes.
_VERSION_BODY_RE = re.compile(r"[vV]?[0-9]+(?:\.[0-9]+)*(?:[-.]?[A-Za-z]+[-.]?[0-9]*)?\Z", re.ASCII)


def parse_version(tag: str, *, path: str | None = None) -> Version | None:
    """The version a tag name denotes, or None when it is not a version tag.

    Accepted: ``v1``, ``v1.2``, ``v1.2.3``, ``1.2.3``, pre-releases (``v2.0.0-rc.1``,
    ``1.0.0b2``), and ``PREFIX/v1.2.3`` when ``path`` is given and PREFIX is that path or its
    last segment. Refused: post/dev/local versions and epochs (not how actions tag releases),
    free-form suffixes (``v1.0.0-light``), and prefixed tags of another path.
    """
    if not tag.isprintable() or not tag.isascii():
        return None  # control characters, newlines: no version, whatever follows them
    body = _strip_path_prefix(tag, path)
    if body is None or not _VERSION_BODY_RE.match(body):
        return None
    try:
        version = Version(body)
    except InvalidVersion:
        return None
    if version.epoch or version.local or version.is_postrelease or version.is_devrelease:
        return None
    return version


def _strip_path_prefix(tag: str, path: str | None) -> str | None:
    """The tag without its monorepo prefix; None when the prefix is not this action's."""
    if "/" not in tag:
        return tag
    prefix, _, body = tag.rpartition("/")
    if not path:
        return None
    path = path.strip("/")
    if prefix in (path, path.rsplit("/", 1)[-1]):
        return body
    return None


def tag_prefix(tag: str) -> str:
    """The monorepo prefix of a tag (``argo-lint/`` of ``argo-lint/v1.2``), or ``""``."""
    return tag.rpartition("/")[0] + "/" if "/" in tag else ""


@dataclass(frozen=True, slots=True)
class _Candidate:
    ref: GitRef
    version: Version
    prefix: str
    v_style: bool  # written with a leading "v"


def _candidate(ref: GitRef, path: str | None) -> _Candidate | None:
    short = ref.short
    version = parse_version(short, path=path)
    if version is None:
        return None
    body = short.rpartition("/")[2]
    return _Candidate(ref, version, tag_prefix(short), body[:1] in ("v", "V"))


def version_tags(listing: RefListing, *, path: str | None = None) -> list[tuple[GitRef, Version]]:
    """Every version tag of the listing (for ``path``), newest version first."""
    found = [(c.ref, c.version) for r in listing.tags if (c := _candidate(r, path)) is not None]
    found.sort(key=lambda rv: (rv[1], rv[0].name), reverse=True)
    return found


def best_version_tag(
    listing: RefListing, commit: str, *, prefer: str | None = None, path: str | None = None
) -> GitRef | None:
    """The most specific version tag whose peeled commit is ``commit``, or None.

    Ranking, first difference wins:
    1. the family of ``prefer`` (the ref the user wrote): same monorepo prefix, and a release
       that extends the preferred one (``v4`` -> ``v4.2.2``, never ``v5.0.0`` at the same commit);
    2. without a preference, for a subpath action, the tags that name that path;
    3. a final release over a pre-release;
    4. more release components (``v4.2.2`` over ``v4.2`` over ``v4``);
    5. the preferred spelling (``v`` or not), then the higher version, then the name.
    """
    commit = commit.lower()
    candidates = [
        c for r in listing.at_commit(commit) if r.is_tag and (c := _candidate(r, path)) is not None
    ]
    if not candidates:
        return None
    pref = _candidate(GitRef("refs/tags/" + prefer, "", ""), path) if prefer else None

    def rank(c: _Candidate) -> tuple:
        if pref is not None:
            family = (
                c.prefix == pref.prefix,
                c.version.release[: len(pref.version.release)] == pref.version.release,
            )
            spelling = c.v_style == pref.v_style
        else:
            family = (bool(c.prefix) if path else True, True)
            spelling = c.v_style
        return (
            family,
            not c.version.is_prerelease,
            len(c.version.release),
            spelling,
            c.version,
            c.ref.name,
        )

    return max(candidates, key=rank).ref
