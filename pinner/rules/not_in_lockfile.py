"""not-in-lockfile: an action an onboarded workflow runs has no entry in ``actions.lock``.

GitHub's lockfile (``.github/workflows/actions.lock``) lets workflows keep readable tags: the runner
runs each dependency of an onboarded workflow at the commit the lockfile records, and, per GitHub,
refuses one the lockfile does not record. A reference added to an onboarded workflow without
re-locking, or a composite action whose new step is not locked, therefore either breaks the job or
runs at whatever its tag points to today. This rule reports each such reference; ``pinner lock``
adds the entries (and ``pinner lock --check`` fails until it has).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class NotInLockfile(Rule):
    id = "not-in-lockfile"
    description = "An action an onboarded workflow runs has no entry in actions.lock"
    severity = Severity.HIGH
    help = (
        "The repository's `.github/workflows/actions.lock` onboards this workflow, but this "
        "reference (or the composite step it brings in) has no entry: the runner refuses it, or "
        "it runs unlocked. Run `pinner lock` to add the entry; `pinner lock --check` in CI keeps "
        "the lockfile complete."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        lock = context.lock
        if lock is None:
            return
        why = lock.missing(edge)
        if why is not None:
            yield self.hit(why)
