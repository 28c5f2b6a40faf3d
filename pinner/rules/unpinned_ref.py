"""unpinned-ref: a ``uses:`` that names a tag or branch instead of a commit, at any depth.

A tag or branch is a pointer its owner (or anyone who compromises the owner) can move: the
tj-actions/changed-files compromise (March 2025) retargeted every version tag to a malicious
commit, and every workflow using ``@v35`` ran it on the next trigger. Only a full commit SHA is
immutable. GitHub's "require SHA pinning" policy fails a job when any action in the graph, however
deeply nested in someone else's composite action or reusable workflow, is not SHA-pinned; this rule
reports each such edge with the chain that brings it into the user's workflow. A full SHA
written in upper case is a pin, and is described as one (low severity: only its spelling is off).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.models import SHA_RE, UsesKind
from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class UnpinnedRef(Rule):
    id = "unpinned-ref"
    description = "An action or reusable workflow is referenced by tag or branch, not commit SHA"
    severity = Severity.HIGH
    help = (
        "Tags and branches can be moved to other commits at any time, so the code that runs can "
        "change without any change to your repository. Pin every `uses:` to a full 40-hex commit "
        "SHA and keep the version in a comment: `uses: actions/checkout@<sha> # v4.2.2` "
        "(`pinner pin` does this). For a nested reference, ask the action's maintainers to pin, "
        "or pin a version of the action that does."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        value = edge.value
        if value is None or value.kind not in (UsesKind.REMOTE, UsesKind.SAME_REPO):
            return
        action = value.action
        if value.kind is UsesKind.SAME_REPO or action is None:
            return  # $/path: the caller's own commit, as immutable as the caller's pin
        if SHA_RE.match(action.ref):
            return
        if context.lock is not None and context.lock.covers(edge):
            return  # actions.lock pins it: the runner runs the locked commit
        if action.is_upper_sha:
            # a full commit SHA in upper case: immutable, but not the form GitHub's SHA-pinning
            # policy, review tools and update bots compare against
            yield self.hit(
                f"{value.raw} is pinned to a SHA in upper case ({action.ref.lower()} in the form "
                "tools compare); `pinner pin` writes it in lower case",
                severity=Severity.LOW,
            )
            return
        res = edge.resolution
        what = res.kind if res is not None and res.kind in ("tag", "branch") else "ref"
        yield self.hit(f"{value.raw} is pinned to {what} {action.ref!r}, not to a commit SHA")
