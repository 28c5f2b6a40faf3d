"""known-vulnerable-action: an action, at any depth, runs a version a security advisory covers.

In March 2025 ``tj-actions/changed-files`` (GHSA-mrrh-fwg8-r2c3, CVE-2025-30066) and the
``reviewdog/action-setup@v1`` it called (GHSA-qmg3-hpqr-gqvc, CVE-2025-30154) printed the CI
secrets of thousands of repositories into their public logs. Many victims never named either
action: it ran inside another action they used. So this rule looks at every resolved action of
the walked graph, not only the user's lines, and says through which chain of ``uses`` it runs.

The version of an action is the version tag at the commit it resolves to (what ``pinner pin``
writes as the ``# vX.Y.Z`` comment), never what a comment claims. A commit no version tag points
at is matched only by an advisory that names that commit; against a version range its answer is
unknown, which is reported (informational) instead of being taken as clean.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from pinner.core.advisories import (
    Subject,
    Verdict,
    fixing_release,
    packages_of,
    pin_text,
    subject_of,
    verdicts,
)
from pinner.models import Advisory
from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register, remote_resolution

if TYPE_CHECKING:
    from pinner.core.walk import Edge

SEVERITIES = {
    "critical": Severity.HIGH,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
}
"""The advisory's own severity; ``unknown`` (or anything else) stays at the rule's high."""

SUMMARY_CHARS = 160
"""An advisory's summary is quoted up to this long (it is remote text of up to 1,024)."""


def _summary(text: str) -> str:
    flat = " ".join(text.split()).rstrip(".")
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1] + "…"


@register
class KnownVulnerableAction(Rule):
    id = "known-vulnerable-action"
    description = "An action in the graph runs a version that a security advisory covers"
    severity = Severity.HIGH
    help = (
        "Move the reference to the first patched release (the finding gives the pin to paste: "
        "`owner/repo@<sha> # vX.Y.Z`; `pinner update` makes that move without waiting for "
        "the cooldown). For an action nested in another one, update the outer action to a "
        "version that no longer runs the vulnerable one, or ask its maintainers to. Rotate "
        "every secret the vulnerable version could read if the advisory says it leaked them. "
        "A `version unknown` finding means no version tag points at the pinned commit: pin a "
        "released version so it can be checked."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        res = remote_resolution(edge)
        facts = context.facts
        if res is None or facts is None:
            return
        action = res.action
        packages = packages_of(action)
        advisories = facts.advisories_for(packages)
        if not advisories:
            return
        written = res.ref.short if res.ref is not None else None
        subject = subject_of(
            res.commit, res.version, res.listing, path=action.path, written=written
        )
        judged = verdicts(advisories, packages, subject)
        for verdict in judged:
            if verdict.affected:
                yield self._affected(edge, verdict, advisories, subject)
        undecided: dict[str, list[str]] = {}  # why -> advisory ids
        for verdict in judged:
            if verdict.affected is None:
                undecided.setdefault(verdict.reason, []).append(verdict.advisory.ghsa_id)
        for why, ids in undecided.items():
            many = "y" if len(ids) == 1 else "ies"
            yield self.hit(
                f"{edge.uses}: {why}, so pinner cannot tell whether {len(ids)} advisor{many} "
                f"of {action.slug} appl{'ies' if len(ids) == 1 else 'y'}: {', '.join(ids)}",
                severity=Severity.INFORMATIONAL,
            )

    def _affected(
        self, edge: Edge, verdict: Verdict, advisories: Sequence[Advisory], subject: Subject
    ) -> RuleHit:
        res = edge.resolution
        assert res is not None
        action = res.action
        advisory = verdict.advisory
        first_patched = verdict.package.first_patched if verdict.package is not None else None
        if res.version is not None and subject.version is not None:
            label = res.version.short
        elif res.ref is not None:  # a tag or branch that is no version: name it and its commit
            label = f"{res.ref.short} ({res.commit[:12]})"
        else:
            label = f"commit {res.commit[:12]}"
        fix = fixing_release(
            res.listing,
            path=action.path,
            packages=packages_of(action),
            advisories=advisories,
            current=subject.version,
            first_patched=first_patched,
        )
        pin = pin_text(action, fix) if fix is not None else None
        message = (
            f"{edge.uses}: {action.slug} {label} is affected by {advisory.ids} "
            f"({advisory.severity}): {_summary(advisory.summary)}"
        )
        message += f"; first patched version {first_patched}" if first_patched else ""
        message += f"; fix: {pin}" if pin else "; no release without a known advisory exists"
        severity = SEVERITIES.get(advisory.severity, self.severity)
        return self.hit(message, severity=severity, advisory=verdict.matched, fix=pin)
