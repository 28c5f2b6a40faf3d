"""What a pin's comment claims, judged against the repository it names.

``pin`` (which corrects comments) and ``audit`` (which reports them) must agree on when a
comment lies, so the judgement lives here, once. The comment was parsed syntactically
(:mod:`pinner.sources.comments`); only the repository's refs can settle the rest:

* a lone word (``# main``, ``# TODO``) is a claim only when it is a branch or tag of that
  repository; otherwise it is a note, and a SHA pin carrying only a note has no version comment;
* a version or tag claim is true when that tag points at the pinned commit, or names the same
  version spelled otherwise (``# version: 1.0.0`` for tag ``v1.0.0``);
* a branch claim is true for any commit (branches move; the pin itself is verified elsewhere);
* a tracked ref (``# ratchet:o/a@v4``, ``# pin@v4``) is true while it exists and a version
  tag at the pinned commit is in its family (``v4.2.2``): its tool will move the pin along that
  ref, which is what the user chose; moved to another family, it keeps the precision the user
  wrote where the repository has a tag of that precision (:func:`floating_tags`).
"""

from __future__ import annotations

from pinner.core.resolve import Resolution
from pinner.core.versions import parse_version, tag_prefix
from pinner.models import RefListing
from pinner.sources.comments import (
    ParsedComment,
    claims_word,
    covers,
    floating_names,
    parse_comment,
)


def word_is_ref(parsed: ParsedComment, listing: RefListing) -> bool:
    """Whether the comment's lone word names a branch or tag of the repository."""
    word = parsed.version
    if parsed.dialect != "word" or word is None:
        return False
    return listing.tag(word) is not None or listing.branch(word) is not None


def comment_claim(comment: str | None, listing: RefListing) -> ParsedComment | None:
    """The parsed comment when it claims a version or ref; None for no comment, a note, a
    directive, or a lone word that is no branch or tag of the repository."""
    if not comment:
        return None
    parsed = parse_comment(comment)
    return parsed if claims_word(parsed, word_is_ref(parsed, listing)) else None


def claim_holds(parsed: ParsedComment, res: Resolution) -> bool | None:
    """Whether the claim of ``parsed`` is true of the pinned commit ``res.commit``.

    None when the claim names nothing that can be judged (no ref of that name, and not a
    version either): not pinner's to rewrite, and no finding.
    """
    named = parsed.version
    if named is None:
        return None
    listing = res.listing
    tag = listing.tag(named)
    branch = listing.branch(named)
    if parsed.tracks and branch is not None:
        return True  # a tracked branch: its tool moves the pin along it
    if parsed.tracks and tag is not None:
        return tag.commit == res.commit or _in_family(named, res)
    if tag is not None:
        return tag.commit == res.commit
    if branch is not None:
        return True
    path = res.action.path
    claimed = parse_version(named, path=path)
    if claimed is None:
        return None
    # "# version: 1.0.0" for tag v1.0.0: the same version, spelled without the "v"
    prefix = tag_prefix(named)
    return any(
        tag_prefix(t.short) == prefix and parse_version(t.short, path=path) == claimed
        for t in listing.at_commit(res.commit)
        if t.is_tag
    )


def _in_family(tracked: str, res: Resolution) -> bool:
    """A version tag at the pinned commit extends the tracked ref (``v4`` -> ``v4.2.2``)."""
    return any(covers(tracked, t.short) for t in res.listing.at_commit(res.commit) if t.is_tag)


def floating_tags(claim: str | None, listing: RefListing) -> frozenset[str]:
    """The floating tags of the release ``claim`` names that the repository has (``v2`` and
    ``v2.1`` for ``v2.1.0``, where those tags exist).

    A tracked comment (``# ratchet:o/a@v1``) moved to another major follows the new release at
    the precision its user chose (``@v2``): ratchet re-resolves that ref, so it must exist; a
    precision the repository does not publish is written as the release itself.
    """
    if claim is None:
        return frozenset()
    return frozenset(name for name in floating_names(claim) if listing.tag(name) is not None)
