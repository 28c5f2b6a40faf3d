"""ref-confusion: the ref a ``uses:`` names is both a tag and a branch.

Git resolves such a name to the tag, and so does GitHub for reusable workflows, but tools and
humans disagree (zizmor once resolved branch-first). Whoever can push a branch named like a release
tag can make reviewers, bots and tools look at different code than the runner executes. pinner
resolves tag first, as GitHub does, and reports the ambiguity.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class RefConfusion(Rule):
    id = "ref-confusion"
    description = "A ref name is both a tag and a branch, so what runs is ambiguous"
    severity = Severity.MEDIUM
    help = (
        "The name exists as a tag and as a branch. The runner takes the tag; a reviewer may read "
        "the branch. Pin to the commit SHA (`pinner pin`), which removes the ambiguity, and ask "
        "the maintainers to delete the branch."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        res = edge.resolution
        if res is None or not res.ambiguous:
            return
        name = res.ref.short if res.ref is not None else res.action.ref
        branch = res.listing.branch(name)
        other = f" (branch at {branch.commit[:12]})" if branch is not None else ""
        yield self.hit(
            f"{edge.uses}: {name!r} is both a tag and a branch; the runner uses the tag at "
            f"{res.commit[:12]}{other}"
        )
