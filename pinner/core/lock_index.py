"""What a repository's ``actions.lock`` says about the edges ``pinner audit`` walked.

With GitHub's lockfile, a workflow may keep readable tags: the runner runs each onboarded
workflow's dependencies at the commits the lockfile records, and refuses one it does not record.
So for ``audit``, a tag or branch reference is *locked* (not "unpinned") when the lockfile covers
it, and a reference an onboarded workflow needs but the lockfile lacks is a finding of its own:

* in a workflow: the workflow is onboarded (a key of ``workflows:``) and lists the reference's
  key (``owner/repo@ref``), which has an entry;
* in one of the repository's own actions (reached with ``$/`` or ``./``): its key has an entry;
* inside a remote action: the action that uses it is itself locked, and its key has an entry.

Whether the locked commits are still right is ``pinner lock --check``'s question; ``audit``
only needs to know what the lockfile covers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pinner.core.lockfile import is_workflow_file, key_of
from pinner.core.walk import Edge, Graph
from pinner.formats.lockfile import Lockfile
from pinner.models import UsesKind


def edge_key(edge: Edge) -> str | None:
    """The lockfile key of a remote action reference (None for anything the lockfile does
    not record: local and ``$/`` paths, images, remote reusable workflows, expressions)."""
    value = edge.value
    if value is None or value.kind is not UsesKind.REMOTE or value.action is None:
        return None
    if edge.kind != "action" or value.action.is_reusable_workflow:
        return None
    return key_of(value.action)


@dataclass(frozen=True, slots=True)
class LockIndex:
    """The lockfile's view of one audited graph (see the module docstring)."""

    lockfile: Lockfile
    locked_nodes: frozenset[str]  # nodes reached through a covered edge
    first_unlocked: frozenset[int]  # per workflow not onboarded: its first action edge

    @classmethod
    def build(cls, lockfile: Lockfile, graph: Graph) -> LockIndex:
        index = cls(lockfile, frozenset(), frozenset())
        locked: set[str] = set()
        for edge in sorted(graph.edges, key=lambda e: (e.depth, e.index)):
            covered = index._covers(edge, locked)
            if covered and edge.child is not None:
                locked.add(edge.child)
        firsts: dict[str, int] = {}
        for edge in graph.edges:
            if (
                edge.depth == 0
                and is_workflow_file(edge.file)
                and edge.file not in lockfile.workflows
                and edge_key(edge) is not None
            ):
                firsts.setdefault(edge.file, edge.index)
        return cls(lockfile, frozenset(locked), frozenset(firsts.values()))

    def covers(self, edge: Edge) -> bool:
        """Whether the lockfile pins what ``edge`` names for the runner."""
        return self._covers(edge, self.locked_nodes)

    def _covers(self, edge: Edge, locked: Iterable[str]) -> bool:
        key = edge_key(edge)
        if key is None or self.lockfile.dependencies.get(key) is None:
            return False
        if edge.depth > 0:
            return edge.parent in locked
        if is_workflow_file(edge.file):
            return key in self.lockfile.workflows.get(edge.file, ())
        return True  # in one of the repository's own actions

    def missing(self, edge: Edge) -> str | None:
        """Why ``edge`` should have a lockfile entry and has none (None when it is not so)."""
        key = edge_key(edge)
        if key is None or self.covers(edge):
            return None
        if edge.depth > 0:
            if edge.parent not in self.locked_nodes:
                return None  # the action using it is not locked either: reported there
            return f"{edge.uses}: the locked action {edge.parent} uses it, but {key} has no entry"
        if is_workflow_file(edge.file):
            if edge.file not in self.lockfile.workflows:
                return None  # the whole workflow is not onboarded: workflow-not-in-lockfile
            return f"{edge.uses}: {edge.file} is in actions.lock but {key} is not in its list"
        if self.lockfile.dependencies.get(key) is None:
            return f"{edge.uses}: {key} has no entry in actions.lock"
        return None

    def unlocked_workflow(self, edge: Edge) -> bool:
        """``edge`` is the first action reference of a workflow the lockfile does not list."""
        return edge.index in self.first_unlocked
