"""``pinner audit --format json``: the graph and findings in a versioned schema.

The schema id is ``pinner.audit/1``; fields are only ever added within a major version. Layout
(documented in docs/audit.md)::

    {"schema": "pinner.audit/1",
     "tool": {"name": "pinner", "version": "0.1.0"},
     "min_severity": "medium",
     "nodes": [{"id", "kind", "local", "depth", "repo", "commit", "path", "file", "using",
                "error"}],
     "edges": [{"index", "from", "to", "uses", "commit", "kind", "ref_kind", "file", "line",
                "depth", "verdict", "error", "depth_exceeded", "cycle"}],
     "findings": [{"rule", "severity", "message", "file", "line", "column", "chain", "remote",
                   "edge", "route", "group", "fingerprint", "advisory", "fix"}],
     "ignored": [{... finding ..., "ignored_by"}],
     "skipped": [{"file", "line", "reason"}],
     "summary": {"references", "nested", "files", "findings": {"high": n, ...}, "groups",
                 "failing"}}

A finding is one occurrence: the same cause reached through many of the user's lines is as
many records, which share a ``group`` (the text report prints each group once).
``fingerprint`` is unique within the document and stable across runs; ``route`` lists the
edges of ``chain``. ``advisory`` (``known-vulnerable-action``: ``ghsa_id``, ``cve_id``,
``severity``, ``summary``, ``url``, and the ``package``, ``vulnerable_version_range`` and
``first_patched_version`` of the entry that matched) and ``fix`` (the pin that fixes
the finding, ``owner/repo@<sha> # vX.Y.Z``) are null when they do not apply.

The machine-readable schema is ``audit_schema.json`` next to this module (:data:`SCHEMA_FILE`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pinner import __version__
from pinner.core.audit import AuditResult
from pinner.core.walk import Edge, Node
from pinner.formats import schemas
from pinner.formats.jsontext import dumps_document
from pinner.rules.base import Finding

SCHEMA = schemas.AUDIT
SCHEMA_FILE = Path(__file__).with_name(schemas.SCHEMA_FILES[SCHEMA])
"""The JSON Schema of this document, shipped with the package."""


def node_json(node: Node) -> dict[str, Any]:
    return {
        "id": node.id,
        "kind": node.kind,
        "local": node.local,
        "depth": node.depth,
        "repo": node.repo,
        "commit": node.commit,
        "path": node.path,
        "file": node.file,
        "using": node.using,
        "error": node.error,
    }


def edge_json(edge: Edge) -> dict[str, Any]:
    res = edge.resolution
    return {
        "index": edge.index,
        "from": edge.parent,
        "to": edge.child,
        "uses": edge.uses,
        "commit": edge.commit,
        "kind": edge.kind,
        "ref_kind": res.kind if res is not None else None,
        "file": edge.file,
        "line": edge.line,
        "depth": edge.depth,
        "verdict": getattr(edge.reachability, "verdict", None),
        "error": edge.error,
        "depth_exceeded": edge.depth_exceeded,
        "cycle": edge.cycle,
    }


def advisory_json(finding: Finding) -> dict[str, Any] | None:
    advisory = finding.advisory
    if advisory is None:
        return None
    entry = advisory.packages[0] if len(advisory.packages) == 1 else None  # the one matched
    return {
        "ghsa_id": advisory.ghsa_id,
        "cve_id": advisory.cve_id,
        "severity": advisory.severity,
        "summary": advisory.summary,
        "url": advisory.html_url,
        "package": entry.name if entry is not None else None,
        "vulnerable_version_range": entry.vulnerable_range if entry is not None else None,
        "first_patched_version": entry.first_patched if entry is not None else None,
    }


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity.label,
        "message": finding.message,
        "file": finding.file,
        "line": finding.line,
        "column": finding.column,
        "chain": list(finding.chain),
        "remote": finding.remote,
        "edge": finding.edge,
        "route": list(finding.route),
        "group": finding.group,
        "fingerprint": finding.fingerprint,
        "advisory": advisory_json(finding),
        "fix": finding.fix,
    }


def to_document(result: AuditResult) -> dict[str, Any]:
    graph = result.graph
    return {
        "schema": SCHEMA,
        "tool": {"name": "pinner", "version": __version__},
        "min_severity": result.min_severity.label,
        "nodes": [node_json(n) for n in graph.nodes.values()],
        "edges": [edge_json(e) for e in graph.edges],
        "findings": [finding_json(f) for f in result.findings],
        "ignored": [{**finding_json(i.finding), "ignored_by": i.by} for i in result.ignored],
        "skipped": [{"file": s.file, "line": s.line, "reason": s.reason} for s in result.skipped],
        "summary": {
            "references": len(graph.edges),
            "nested": sum(1 for e in graph.edges if not e.local),
            "files": len(graph.roots),
            "findings": {s.label: n for s, n in result.counts().items()},
            "groups": len({f.group for f in result.findings}),
            "failing": len(result.failing),
        },
    }


def render(result: AuditResult) -> str:
    return dumps_document(to_document(result))
