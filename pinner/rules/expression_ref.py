"""expression-ref: a ``uses:`` built from an expression (``${{ ... }}``).

The runner rejects expressions in ``uses:`` for steps, and where something templated reaches a
reference anyway (generated workflows, reusable-workflow inputs copied into a value) nothing static
can say what will run: it cannot be pinned, verified or audited. Report it rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.models import UsesKind
from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class ExpressionRef(Rule):
    id = "expression-ref"
    description = "A uses value contains an expression, so what runs cannot be known or pinned"
    severity = Severity.MEDIUM
    help = (
        "Write the reference literally (`owner/repo@<sha> # vX.Y.Z`); select between a few fixed "
        "alternatives with `if:` on separate steps instead of templating `uses:`."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        if edge.value is not None and edge.value.kind is UsesKind.EXPRESSION:
            yield self.hit(f"{edge.uses} is an expression; it cannot be pinned or audited")
