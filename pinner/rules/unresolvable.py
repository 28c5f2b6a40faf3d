"""unresolvable: a reference whose repository, ref, commit or file does not exist.

A reference that does not resolve fails the job at run time, and worse, it is a name someone else
can claim: a deleted or renamed repository (``repojacking``), a ref that may be created later by
whoever controls the repository, a ``./path`` inside a remote action that the workspace of each
caller decides. A value outside the runner's grammar (``invalid uses value ...``: a ``..`` above
the repository, invisible characters) is never followed either, and neither is a local action
that cannot be read. The walk stops there, so everything below is unaudited; this rule says so.
An image whose repository or tag the registry does not have (or refuses to show) is the same
kind of hole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.models import UsesKind
from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, image_facts, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class Unresolvable(Rule):
    id = "unresolvable"
    description = "A reference's repository, ref, commit or metadata file cannot be found"
    severity = Severity.MEDIUM
    help = (
        "Check the spelling, whether the repository was renamed or deleted, and whether the "
        "ref or commit exists; write an invalid value as `owner/repo[/path]@ref`. A `./path` "
        "inside a remote action is relative to the caller's workspace and cannot be audited "
        "statically: prefer actions that use `$/path` or a pinned `owner/repo/path@<sha>`."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        if edge.value is not None and edge.value.kind is UsesKind.EXPRESSION:
            return  # expression-ref says it
        if edge.error is not None:
            yield self.hit(edge.error)
            return
        facts = image_facts(edge, context)
        if facts is not None and facts.error is not None:
            yield self.hit(f"image {edge.image}: {facts.error}")
            return
        if edge.child is not None and not edge.depth_exceeded:
            node = context.graph.nodes.get(edge.child)
            if node is not None and node.error is not None:
                yield self.hit(f"{edge.uses}: {node.error}")
