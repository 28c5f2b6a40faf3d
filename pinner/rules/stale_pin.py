"""stale-pin: a SHA pin that no tag points at.

A SHA between releases is an unreleased snapshot: nobody published it as a version, it is not
what the comment of a release would say, and update bots cannot place it. It is also what an
attacker's "fix" commit looks like before anyone notices. (A SHA in no branch or tag at all is an
``impostor-commit`` instead, and is not reported here.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.core.verify import REACHABLE
from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register, remote_resolution

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class StalePin(Rule):
    id = "stale-pin"
    description = "A pinned commit is not the commit of any tag (no release points at it)"
    severity = Severity.LOW
    help = (
        "Pin to the commit of a released version instead (`pinner update` moves pins to the "
        "newest release; `pinner pin` after setting the ref to a tag pins that tag)."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        res = remote_resolution(edge)  # ($/path: the parent's commit, judged on its own edge)
        if res is None or res.kind != "sha":
            return
        if edge.reachability is not None and edge.reachability.verdict != REACHABLE:
            return  # impostor or unknown: impostor-commit reports it
        if any(r.is_tag for r in res.listing.at_commit(res.commit)):
            return
        branches = [r.short for r in res.listing.at_commit(res.commit) if r.is_branch]
        where = f" (tip of branch {branches[0]})" if branches else ""
        yield self.hit(f"{edge.uses}: no tag points at {res.commit[:12]}{where}")
