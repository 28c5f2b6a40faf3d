"""archived-action: an action in the graph lives in an archived repository.

An archived repository is read-only: its owner has stopped maintaining it, so a vulnerability
found tomorrow will never be fixed there, and no advisory may ever be filed for it either. The
action still runs today, at any depth of the graph, with the job's token and secrets; the time
to replace it is before the vulnerability, not after. (Archiving does not move tags, so this is
not about mutability: a SHA pin into an archived repository is reported too.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register, remote_resolution

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class ArchivedAction(Rule):
    id = "archived-action"
    description = "An action in the graph comes from an archived repository (no fixes will come)"
    severity = Severity.MEDIUM
    help = (
        "Replace the action with a maintained one (often a fork the community moved to, or "
        "the maintainers' successor named in the repository's README), or vendor it into your "
        "own repository where you can fix it. For an archived action nested in another one, "
        "ask the outer action's maintainers to replace it."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        res = remote_resolution(edge)
        facts = context.facts
        if res is None or facts is None:
            return
        if facts.archived.get(res.action.repo_key):
            repo = res.listing.repo or res.action.slug
            yield self.hit(
                f"{edge.uses}: repository {repo} is archived: it is read-only and gets no "
                "fixes, security fixes included"
            )
