"""impostor-commit: a SHA pin that belongs to no branch or tag of the named repository.

GitHub stores a repository and all its forks in one object network, and serves any commit of that
network under any member's name: ``actions/checkout@<sha>`` runs a commit that exists only in
someone's fork, or in a pull request that was never merged, as long as the SHA is right. A
reviewer sees a trusted owner and an immutable-looking pin; the code is the attacker's. A pin to
an annotated tag *object* is the same attack one step removed (a fork's tag object peels to a
fork's commit), so the commit a tag object peels to is checked like any SHA pin.

The check (:mod:`pinner.core.verify`): a commit that a tag or branch points at is fine; otherwise
``compare`` asks whether the default branch, release branches, the tags around the claimed
version, then every other ref contain it (with a token 50 refs to a GraphQL query; without one
as far as the anonymous API quota goes). A verdict that cannot be reached is "unknown", reported
at medium severity so that it fails the default gate, with what it would take to decide: an
impostor must never pass CI because proving it was expensive. Fetching the commit by SHA
succeeding is never taken as proof.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.core.verify import IMPOSTOR, UNKNOWN
from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class ImpostorCommit(Rule):
    id = "impostor-commit"
    description = "A pinned commit is not in any branch or tag of the repository it claims"
    severity = Severity.HIGH
    help = (
        "The commit exists in the repository's fork network (a fork or an unmerged pull "
        "request) but in none of its branches or tags, so it is not the maintainers' code. "
        "Re-pin to the commit of a real release (`pinner pin` after setting the ref to the "
        "release tag). An `unknown` verdict means containment could not be proven within the "
        "request budget or the API quota: the message says what would decide it (a token, "
        "which checks 50 refs per request, or a larger `--budget`)."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        reach = edge.reachability
        if reach is None:
            return
        if reach.verdict == IMPOSTOR:
            yield self.hit(f"{edge.uses}: {reach.detail}")
        elif reach.verdict == UNKNOWN:
            yield self.hit(f"{edge.uses}: unknown: {reach.detail}", severity=Severity.MEDIUM)
