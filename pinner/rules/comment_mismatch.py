"""comment-mismatch: the version comment after a pin names a tag at another commit.

``uses: o/r@<sha> # v4.2.2`` is how humans and update bots read a pin. When the comment and the SHA
disagree (a hand edit, a bot that updated one but not the other, or a deliberate disguise of an
old or malicious commit as a current release), review happens against the wrong version. The
comment is read in every dialect in use (``# v1.2.3``, ``# tag=v1.2.3``, ``# version: 1.2.3``,
``# pin@v1``, ratchet...) and judged as ``pinner pin`` judges it
(:mod:`pinner.core.claims`): a branch name (``# main``, as pinner writes for branch pins) is no
version claim, a lone word that is no ref (``# TODO``) is a note, and a tracked ref
(``# ratchet:o/r@v4``) is true while the pin is a ``v4`` release.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.core.claims import claim_holds, comment_claim
from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class CommentMismatch(Rule):
    id = "comment-mismatch"
    description = "The version comment names a tag that points at another commit"
    severity = Severity.MEDIUM
    help = (
        "The comment after the pin claims a version whose tag points at a different commit (or "
        "no such tag exists). Re-run `pinner pin` to rewrite the comment from the SHA, or re-pin "
        "the SHA to the version the comment names, whichever was intended."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        res = edge.resolution
        if res is None:
            return
        claim = comment_claim(edge.comment, res.listing)
        if claim is None or claim.version is None or claim_holds(claim, res) is not False:
            return
        claimed = claim.version
        at = f", which is {res.version.short}" if res.version is not None else ""
        tag = res.listing.tag(claimed)
        if tag is None:
            yield self.hit(
                f"{edge.uses}: comment says {claimed!r}, which is no tag of "
                f"{res.action.slug}; the pin is {res.commit[:12]}{at}"
            )
        elif claim.tracks:
            yield self.hit(
                f"{edge.uses}: comment tracks {claimed} ({tag.commit[:12]}) but the pin "
                f"{res.commit[:12]} is no {claimed} release{at}"
            )
        else:
            yield self.hit(
                f"{edge.uses}: comment says {claimed} ({tag.commit[:12]}) but the pin is "
                f"{res.commit[:12]}{at}"
            )
