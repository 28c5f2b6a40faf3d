"""depth-exceeded: a chain of nested actions deeper than the runner allows, or a cycle.

The runner refuses composite actions nested more than 9 levels deep, so such a chain fails the
job. A cycle (A uses B uses A, possible with mutable refs) recurses until that limit. Either way the
walk stops following the chain, so what lies below is not audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class DepthExceeded(Rule):
    id = "depth-exceeded"
    description = "Nested actions go deeper than the runner's limit of 9, or form a cycle"
    severity = Severity.MEDIUM
    help = (
        "The runner fails jobs whose composite actions nest more than 9 levels. Use a version "
        "of the outer action with a shallower chain, or report the cycle to its maintainers."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        if edge.cycle:
            yield self.hit(f"{edge.uses} closes a cycle of nested actions")
        elif edge.depth_exceeded:
            yield self.hit(
                f"{edge.uses} would be nested {edge.depth + 1} levels deep (the runner allows 9)"
            )
