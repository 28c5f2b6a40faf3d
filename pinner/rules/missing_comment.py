"""missing-comment: a SHA pin in the user's files without a version comment.

A bare SHA is immutable but unreadable: reviewers cannot tell v1 from v4, update bots
(Dependabot, Renovate, ``pinner update``) cannot tell which release line to follow, and a stale or
even impostor commit hides in plain sight. Only the user's own files are checked: nested actions'
comments are their maintainers' business (their SHAs are still verified by the other rules).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.core.claims import comment_claim
from pinner.models import UsesKind
from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class MissingComment(Rule):
    id = "missing-comment"
    description = "A SHA pin has no comment saying which version it is"
    severity = Severity.LOW
    help = (
        "Add the version the SHA corresponds to as a trailing comment: "
        "`uses: actions/checkout@<sha> # v4.2.2`. `pinner pin` writes the most specific version "
        "tag pointing at that commit."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        value = edge.value
        if not edge.local or value is None or value.kind is not UsesKind.REMOTE:
            return
        if value.action is None or not value.action.is_sha:
            return
        res = edge.resolution
        if res is None:
            if edge.version_comment:
                return
        elif comment_claim(edge.comment, res.listing) is not None:
            return  # a note or another tool's directive is no version comment
        suggestion = ""
        if res is not None and res.version is not None:
            suggestion = f" (it is {res.version.short})"
        yield self.hit(f"{edge.uses} has no version comment{suggestion}")
