"""graph-limit: part of a remote action's graph was not read, because a limit was reached.

An action is code its author controls, and so is its ``action.yml``: a hostile (or just absurd)
composite action or reusable workflow can list thousands of ``uses:`` of thousands of
repositories, each of which can do the same one level down. Every one of them costs the user
requests from their API quota and time in CI, to audit references nobody will ever run (one
such file cost 3,151 requests before pinner bounded the walk). So the walk reads at most so
many references and actions per remote file and per run (:class:`pinner.core.walk.GraphLimits`,
set with ``--max-file-edges``, ``--max-file-nodes``, ``--max-edges``, ``--max-nodes``), and
this rule reports where it stopped: what lies beyond was not audited, which a clean report must
never hide.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class GraphLimit(Rule):
    id = "graph-limit"
    description = "A remote action or workflow has more references than the audit follows"
    severity = Severity.MEDIUM
    help = (
        "The action (or something it uses) references more actions than the audit's limits "
        "allow, so part of what it runs was not audited. An action with thousands of `uses:` is "
        "suspicious in itself: prefer another. If the graph is legitimate, raise the limit the "
        "message names (`--max-file-edges`, `--max-file-nodes`, `--max-edges` or `--max-nodes`)."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        if edge.child is None or edge.depth_exceeded or edge.cycle:
            return
        node = context.graph.nodes.get(edge.child)
        if node is not None and node.limit is not None:
            yield self.hit(f"{edge.uses}: {node.limit}")
