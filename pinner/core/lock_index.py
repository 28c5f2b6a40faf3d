"""What the repositories' ``actions.lock`` files say about the edges ``pinner audit`` walked.

With GitHub's lockfile, a workflow may keep readable tags: the runner runs each onboarded
workflow's dependencies at the commits the lockfile records, and refuses one it does not record.
So for ``audit``, a tag or branch reference is *locked* (not "unpinned") when the lockfile of the
repository it is in covers it, and a reference an onboarded workflow needs but the lockfile lacks
is a finding of its own:

* in a workflow: the workflow is onboarded (a key of ``workflows:``) and lists the reference's
  key (``owner/repo@ref``), which has an entry;
* in one of the repository's own actions (reached with ``$/`` or ``./``): its key has an entry;
* inside a remote action: the action that uses it is itself locked by that repository's
  lockfile, and its key has an entry there.

An audit may cover several repositories (each with its label, the prefix of its files in the
merged graph, ``""`` for a single one); each has its own lockfile, or none. Whether the locked
commits are still right is ``pinner lock --check``'s question; ``audit`` only needs to know what
the lockfiles cover.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    """The lockfiles' view of one audited graph (see the module docstring)."""

    lockfiles: Mapping[str, Lockfile]  # label -> lockfile, for the repositories that have one
    labels: tuple[str, ...]  # every repository's label, longest first
    locked_nodes: Mapping[str, frozenset[str]]  # label -> nodes reached through covered edges
    first_unlocked: frozenset[int]  # per workflow not onboarded: its first action edge

    @classmethod
    def build(cls, lockfiles: Mapping[str, Lockfile | None], graph: Graph) -> LockIndex:
        present = {label: lf for label, lf in lockfiles.items() if lf is not None}
        labels = tuple(sorted(lockfiles, key=len, reverse=True))
        index = cls(present, labels, {}, frozenset())
        locked: dict[str, set[str]] = {label: set() for label in present}
        for edge in sorted(graph.edges, key=lambda e: (e.depth, e.index)):
            for label in index._labels_covering(edge, locked):
                if edge.child is not None:
                    locked[label].add(edge.child)
        firsts: dict[str, int] = {}
        for edge in graph.edges:
            found = index._local(edge)
            if found is None or edge_key(edge) is None:
                continue
            label, relpath, lockfile = found
            if is_workflow_file(relpath) and relpath not in lockfile.workflows:
                firsts.setdefault(edge.file, edge.index)
        frozen = {label: frozenset(nodes) for label, nodes in locked.items()}
        return cls(present, labels, frozen, frozenset(firsts.values()))

    def _local(self, edge: Edge) -> tuple[str, str, Lockfile] | None:
        """For a reference in a repository's own files: its label, its path in that repository
        and that repository's lockfile (None when it has none, or the edge is nested)."""
        if edge.depth > 0:
            return None
        label = next((lb for lb in self.labels if edge.file.startswith(lb)), None)
        if label is None or label not in self.lockfiles:
            return None
        return label, edge.file[len(label) :], self.lockfiles[label]

    def _labels_covering(
        self, edge: Edge, locked: Mapping[str, set[str]] | Mapping[str, frozenset[str]]
    ) -> list[str]:
        """The labels whose lockfile pins what ``edge`` names for the runner."""
        key = edge_key(edge)
        if key is None:
            return []
        if edge.depth > 0:
            return [
                label
                for label, lockfile in self.lockfiles.items()
                if edge.parent in locked.get(label, ())
                and lockfile.dependencies.get(key) is not None
            ]
        found = self._local(edge)
        if found is None:
            return []
        label, relpath, lockfile = found
        if lockfile.dependencies.get(key) is None:
            return []
        if is_workflow_file(relpath) and key not in lockfile.workflows.get(relpath, ()):
            return []
        return [label]

    def covers(self, edge: Edge) -> bool:
        """Whether a lockfile pins what ``edge`` names for the runner."""
        return bool(self._labels_covering(edge, self.locked_nodes))

    def missing(self, edge: Edge) -> str | None:
        """Why ``edge`` should have a lockfile entry and has none (None when it is not so)."""
        key = edge_key(edge)
        if key is None or self.covers(edge):
            return None
        if edge.depth > 0:
            if not any(edge.parent in nodes for nodes in self.locked_nodes.values()):
                return None  # the action using it is not locked either: reported there
            return f"{edge.uses}: the locked action {edge.parent} uses it, but {key} has no entry"
        found = self._local(edge)
        if found is None:
            return None
        _, relpath, lockfile = found
        if is_workflow_file(relpath):
            if relpath not in lockfile.workflows:
                return None  # the whole workflow is not onboarded: workflow-not-in-lockfile
            return f"{edge.uses}: {relpath} is in actions.lock but {key} is not in its list"
        if lockfile.dependencies.get(key) is None:
            return f"{edge.uses}: {key} has no entry in actions.lock"
        return None

    def unlocked_workflow(self, edge: Edge) -> bool:
        """``edge`` is the first action reference of a workflow its lockfile does not list."""
        return edge.index in self.first_unlocked
