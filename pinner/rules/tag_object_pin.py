"""tag-object-pin: a SHA pin that is the SHA of an annotated tag object, not of a commit.

GitHub peels an annotated tag object to its commit and runs it, so the pin works, but every other
tool sees a SHA that is no commit: impostor checks, comment verification and update bots then
report nonsense or give up, and the real commit is hidden behind an indirection. Tools that resolve
tags without peeling (``refs/tags/v1`` -> object) write such pins by mistake.

The indirection is also a way to hide an impostor: a tag object from a fork peels to a fork's
commit. So the commit is named as the one to use only once it is verified to be in a branch or
tag of the repository (a listed tag, or the containment check); otherwise ``impostor-commit``
says what is wrong with it and this rule names no commit at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.core.verify import REACHABLE
from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class TagObjectPin(Rule):
    id = "tag-object-pin"
    description = "A pin names an annotated tag object instead of the commit it points at"
    severity = Severity.MEDIUM
    help = (
        "Replace the tag-object SHA with the commit it peels to (`pinner pin` does this): "
        "`git rev-parse TAG^{commit}` gives the commit."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        res = edge.resolution
        if res is None or res.kind != "tag-object":
            return
        if edge.reachability is None or edge.reachability.verdict == REACHABLE:
            yield self.hit(f"{edge.uses} is a tag object; the commit it points at is {res.commit}")
        else:
            yield self.hit(
                f"{edge.uses} is a tag object whose commit is not verified to be in "
                f"{res.action.slug} (see impostor-commit): no commit to use instead"
            )
