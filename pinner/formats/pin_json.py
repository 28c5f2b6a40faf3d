"""Machine output of ``pinner pin --format json``: one record per change and per issue.

One JSON document on stdout::

    {"schema": "pinner.pin/1", "mode": "write" | "check" | "diff", "written": bool,
     "records": [
       {"type": "change", "kind": "action", "file", "path", "line", "column", "old", "new",
        "sha", "version", "old_comment", "new_comment", "reason"},
       {"type": "change", "kind": "image", "file", "path", "line", "column", "old", "new",
        "digest", "tag", "index", "context", "reason": "pinned-image"},
       {"type": "problem" | "warning" | "remote-failure", "file", "path", "line", "value", "code",
        "message"}],
     "summary": {"changes", "images", "files", "problems", "warnings", "remote_failures",
                 "repositories", "resolutions", "images_checked", "skipped"},
     "notes": [...]}

``file`` is relative to the repository root it was found under, ``path`` the file on disk.
Records are sorted by path and line, changes before issues on the same line. The JSON Schema
ships as ``pin_schema.json`` (:mod:`pinner.formats.schemas`).
"""

from __future__ import annotations

from typing import Any

from pinner.core.images import ImageChange
from pinner.core.pin import PinChange, PinIssue, PinPlan
from pinner.formats import schemas
from pinner.formats.jsontext import dumps_document

SCHEMA = schemas.PIN


def change_record(change: PinChange) -> dict[str, Any]:
    return {
        "type": "change",
        "kind": "action",
        "file": change.relpath,
        "path": str(change.site.path),
        "line": change.line,
        "column": change.site.column,
        "old": change.old_value,
        "new": change.new_value,
        "sha": change.sha,
        "version": change.version,
        "old_comment": change.old_comment,
        "new_comment": change.new_comment,
        "reason": change.reason,
    }


def image_record(change: ImageChange) -> dict[str, Any]:
    return {
        "type": "change",
        "kind": "image",
        "file": change.relpath,
        "path": str(change.target.path),
        "line": change.line,
        "column": change.target.column,
        "old": change.old,
        "new": change.new,
        "digest": change.digest,
        "tag": change.tag,
        "index": change.index,
        "context": change.target.context,
        "reason": "pinned-image",
    }


def issue_record(issue: PinIssue) -> dict[str, Any]:
    return {
        "type": "remote-failure" if issue.severity == "remote" else issue.severity,
        "file": issue.relpath,
        "path": str(issue.path) if issue.path is not None else None,
        "line": issue.line,
        "value": issue.value,
        "code": issue.code,
        "message": issue.message,
    }


def render(plan: PinPlan, *, mode: str, written: bool) -> str:
    """The whole JSON document, newline-terminated."""
    records = [change_record(c) for c in plan.changes]
    records += [image_record(c) for c in plan.image_changes]
    records += [issue_record(i) for i in plan.issues]
    records.sort(key=lambda r: (r["path"] or r["file"], r["line"], r["type"] != "change"))
    document = {
        "schema": SCHEMA,
        "mode": mode,
        "written": written,
        "records": records,
        "summary": {
            "changes": len(plan.changes),
            "images": len(plan.image_changes),
            "files": plan.changed_files,
            "problems": len(plan.problems),
            "warnings": len(plan.warnings),
            "remote_failures": len(plan.remote_failures),
            "repositories": plan.repositories,
            "resolutions": plan.resolutions,
            "images_checked": plan.images_checked,
            "skipped": plan.skipped,
        },
        "notes": list(plan.notes),
    }
    return dumps_document(document)
