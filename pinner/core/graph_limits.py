"""How much of a remote action graph one audit reads (:class:`GraphLimits`).

A module of its own, importing nothing heavy, so that the command line can show the defaults in
``--help`` without importing the walk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class GraphLimits:
    """How much of the remote graph one walk reads: what a hostile ``action.yml`` can cost.

    Why: one remote file with 3,000 ``uses:`` of 3,000 repositories cost 3,151 requests, paid
    from the user's API quota, and each of those can do the same one level down. The defaults
    are far above real graphs (the corpus of 24 projects peaks at 25 remote actions and 382
    nested references in one run, 381 references and 5 distinct actions in one file); what
    lies beyond a limit is not followed and the ``graph-limit`` rule says so.
    """

    file_edges: int = 1000
    """References (``uses:``, images, ``FROM`` lines) followed in one remote file."""
    file_nodes: int = 50
    """Distinct actions and reusable workflows one remote file may bring into the graph."""
    nodes: int = 1000
    """Remote actions and reusable workflows read in one run."""
    edges: int = 10_000
    """``uses:`` references in remote files resolved in one run."""

    OPTIONS: ClassVar[dict[str, str]] = {
        "file_edges": "--max-file-edges",
        "file_nodes": "--max-file-nodes",
        "nodes": "--max-nodes",
        "edges": "--max-edges",
    }
    """The ``pinner audit`` flag that raises each limit (named in ``graph-limit`` findings)."""
