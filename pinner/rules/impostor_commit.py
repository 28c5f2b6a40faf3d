"""impostor-commit: a SHA pin that belongs to no branch or tag of the named repository.

GitHub stores a repository and all its forks in one object network, and serves any commit of that
network under any member's name: ``actions/checkout@<sha>`` runs a commit that exists only in
someone's fork, or in a pull request that was never merged, as long as the SHA is right. A
reviewer sees a trusted owner and an immutable-looking pin; the code is the attacker's. The check
(design.md section 3): a SHA equal to a tag's peeled commit or a branch tip is fine; otherwise ask
``compare`` whether the default branch, then release branches and tags, contain it, within a
request budget. Out of budget, the verdict is "unknown" and said so, at low severity: never a
silent pass. Fetching the commit by SHA succeeding is never taken as proof.
"""

from __future__ import annotations

from collections.abc import Iterator

from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register


@register
class ImpostorCommit(Rule):
    id = "impostor-commit"
    description = "A pinned commit is not in any branch or tag of the repository it claims"
    severity = Severity.HIGH
    help = (
        "The commit exists in the repository's fork network (a fork or an unmerged pull "
        "request) but in none of its branches or tags, so it is not the maintainers' code. "
        "Re-pin to the commit of a real release (`pinner pin` after setting the ref to the "
        "release tag). An `unknown` verdict means the request budget ran out before containment "
        "could be proven: check by hand or raise `--budget`."
    )

    def check(self, edge, context: RuleContext) -> Iterator[RuleHit]:
        reach = edge.reachability
        verdict = getattr(reach, "verdict", None)
        if verdict == "impostor":
            yield self.hit(f"{edge.uses}: {reach.detail}")
        elif verdict == "unknown":
            yield self.hit(f"{edge.uses}: unknown: {reach.detail}", severity=Severity.LOW)
