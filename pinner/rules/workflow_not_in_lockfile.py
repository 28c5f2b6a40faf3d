"""workflow-not-in-lockfile: the repository has an ``actions.lock``, but not for this workflow.

A repository that adopts GitHub's lockfile locks its workflows one by one: a workflow is onboarded
when ``actions.lock`` lists it. One that is not runs its actions at whatever their tags point to
today, however complete the lockfile is for the others: usually a workflow added after the last
``pinner lock``. Reported once per workflow, on its first action reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class WorkflowNotInLockfile(Rule):
    id = "workflow-not-in-lockfile"
    description = "A workflow with remote actions is not onboarded to the repository's actions.lock"
    severity = Severity.MEDIUM
    help = (
        "`.github/workflows/actions.lock` exists but does not list this workflow, so none of its "
        "actions is locked. Run `pinner lock` to onboard it (or `pinner pin` to pin it inline)."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        lock = context.lock
        if lock is not None and lock.unlocked_workflow(edge):
            yield self.hit(f"{edge.file} is not in actions.lock: its actions run unlocked")
