"""branch-ref: a ``uses:`` that resolves to a branch.

A branch is mutable by design: every push changes what runs. A tag at least signals a release;
a branch means "whatever the maintainers last merged", including unreviewed or compromised
commits. This rule fires in addition to ``unpinned-ref`` because a branch ref has no release to pin
to and deserves its own attention (and its own ignore). A SHA pin whose comment names a branch is
not reported here: that pin is immutable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class BranchRef(Rule):
    id = "branch-ref"
    description = "A reference resolves to a branch, which changes with every push"
    severity = Severity.HIGH
    help = (
        "`@main` runs whatever was last pushed to that branch. Pin to the commit SHA of a "
        "release (`pinner pin` writes `@<sha> # main` for a branch, but prefer a tagged release "
        "of the action)."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        res = edge.resolution
        if res is None or res.kind != "branch":
            return
        if context.lock is not None and context.lock.covers(edge):
            return  # actions.lock pins it to a commit: the branch moving changes nothing
        name = res.ref.short if res.ref is not None else res.action.ref
        yield self.hit(f"{edge.uses} follows branch {name!r} (now at {res.commit[:12]})")
