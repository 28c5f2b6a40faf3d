"""stale-pin: a SHA pin that no tag points at.

A SHA between releases is an unreleased snapshot: nobody published it as a version, it is not
what the comment of a release would say, and update bots cannot place it. It is also what an
attacker's "fix" commit looks like before anyone notices. (A SHA in no branch or tag at all is an
``impostor-commit`` instead, and is not reported here.)
"""

from __future__ import annotations

from collections.abc import Iterator

from pinner.models import UsesKind
from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register


@register
class StalePin(Rule):
    id = "stale-pin"
    description = "A pinned commit is not the commit of any tag (no release points at it)"
    severity = Severity.LOW
    help = (
        "Pin to the commit of a released version instead (`pinner update` moves pins to the "
        "newest release; `pinner pin` after setting the ref to a tag pins that tag)."
    )

    def check(self, edge, context: RuleContext) -> Iterator[RuleHit]:
        res = edge.resolution
        if res is None or res.kind != "sha":
            return
        if edge.value is None or edge.value.kind is not UsesKind.REMOTE:
            return  # $/path: the parent's commit, judged on the parent's own edge
        if getattr(edge.reachability, "verdict", "reachable") != "reachable":
            return  # impostor or unknown: impostor-commit reports it
        if any(r.is_tag for r in res.listing.at_commit(res.commit)):
            return
        branches = [r.short for r in res.listing.at_commit(res.commit) if r.is_branch]
        where = f" (tip of branch {branches[0]})" if branches else ""
        yield self.hit(f"{edge.uses}: no tag points at {res.commit[:12]}{where}")
