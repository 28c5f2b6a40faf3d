"""Machine output of ``pinner lock --format json``: schema ``pinner.lock/1``.

One document on stdout (the JSON Schema ships as ``pinner/formats/lock_schema.json``)::

    {"schema": "pinner.lock/1", "tool": {...}, "mode": "write" | "check" | "diff",
     "written": bool,
     "lockfile": {"path", "existed", "version_before", "changed", "removed"},
     "workflows": [{"path", "onboarded", "dependencies": [key...]}],
     "dependencies": [{"key", "repo", "ref", "commit", "sha", "hash_algo", "owner_id",
                       "repo_id", "direct", "required_by", "uses", "status"}],
     "findings": [{"category", "severity", "blocking", "fixed", "workflow", "dependency",
                   "required_by", "file", "line", "detail", "remediation"}],
     "change": {"edits": [{"file", "line", "old", "new", "reason"}], "removed": [key...],
                "patch": "unified diff of the lockfile and the workflows"},
     "summary": {"entries", "workflows", "added", "relocked", "updated", "removed", "edits",
                 "findings", "blocking"}}

Fields are only added within a major schema version. ``dependencies`` describe the lockfile
the run produces (written, or that a write would give for ``--check``/``--diff``); ``findings``
describe the lockfile on disk and its entries as verified now (``fixed`` marks what the write
repaired).
"""

from __future__ import annotations

from typing import Any

from pinner import __version__
from pinner.core.lock import LockFinding, LockPlan
from pinner.core.lockfile import key_repo
from pinner.formats import schemas
from pinner.formats.jsontext import dumps_document
from pinner.formats.lock_text import render_diff
from pinner.formats.lockfile import LOCKFILE_PATH

SCHEMA = schemas.LOCK


def finding_record(finding: LockFinding) -> dict[str, Any]:
    return {
        "category": finding.category,
        "severity": finding.severity,
        "blocking": finding.blocking,
        "fixed": finding.fixed,
        "workflow": finding.workflow,
        "dependency": finding.dependency,
        "required_by": finding.required_by,
        "file": finding.file,
        "line": finding.line,
        "detail": finding.detail,
        "remediation": finding.remediation,
    }


def render(plan: LockPlan, *, mode: str, written: bool) -> str:
    """The whole JSON document, newline-terminated."""
    statuses = [d.status for d in plan.dependencies]
    dependencies = [
        {
            "key": dep.key,
            "repo": key_repo(dep.key),
            "ref": dep.entry.ref,
            "commit": dep.entry.commit,
            "sha": dep.entry.sha,
            "hash_algo": dep.entry.commit.partition("-")[0].lower(),
            "owner_id": dep.entry.owner_id,
            "repo_id": dep.entry.repo_id,
            "direct": dep.direct,
            "required_by": list(dep.required_by),
            "uses": list(dep.entry.uses),
            "status": dep.status,
        }
        for dep in plan.dependencies
    ]
    before = plan.before
    document = {
        "schema": SCHEMA,
        "tool": {"name": "pinner", "version": __version__},
        "mode": mode,
        "written": written,
        "lockfile": {
            "path": LOCKFILE_PATH,
            "existed": plan.before_bytes is not None,
            "version_before": before.version if before is not None else None,
            "changed": plan.lockfile_changed,
            "removed": plan.before_bytes is not None and plan.after_bytes is None,
        },
        "workflows": [
            {
                "path": path,
                "onboarded": path in plan.after.workflows,
                "dependencies": list(plan.after.workflows.get(path, ())),
            }
            for path in sorted(set(plan.workflows) | set(plan.after.workflows))
        ],
        "dependencies": dependencies,
        "findings": [finding_record(f) for f in plan.findings],
        "change": {
            "edits": [
                {"file": e.relpath, "line": e.line, "old": e.old, "new": e.new, "reason": e.reason}
                for e in plan.edits
            ],
            "removed": list(plan.removed),
            "patch": render_diff(plan),
        },
        "summary": {
            "entries": len(plan.after.dependencies),
            "workflows": len(plan.after.workflows),
            "added": statuses.count("added"),
            "relocked": statuses.count("relocked"),
            "updated": statuses.count("updated"),
            "removed": len(plan.removed),
            "edits": len(plan.edits),
            "findings": len(plan.findings),
            "blocking": len(plan.blocking),
        },
    }
    return dumps_document(document)
