"""``pinner update --format json``: the machine-readable plan a bot turns into pull requests.

Schema ``pinner.update/1`` (JSON Schema in ``update_schema.json`` next to this module; any
incompatible change bumps the number). Top level:

- ``schema``, ``now`` (the clock used), ``policy`` (bump, pre, keep_style, group, cooldown with
  its ``source``: ``--cooldown``, ``.github/dependabot.yml``, ``pyproject.toml`` or ``default``),
- ``changes``: one record per change: ``id``, ``group``, ``action``, ``repo``, ``kind``
  (``update`` | ``pin`` | ``comment`` | ``branch``), ``level`` (semver level crossed), ``files``
  (``[{file, line}]``), ``from``/``to`` (``{ref, version, sha}``), ``value`` (the new ``uses:``),
  ``released_at``, ``date_source`` (``release`` | ``tagger`` | ``commit`` | ``unknown``),
  ``age_days``, ``release_url``, ``compare_url``, ``mutable``, ``immutable_release``, ``note``,
  ``branch`` (kind ``branch``: the branch a SHA pin follows moved; ``note`` says "branch X
  moved"), ``security`` (null, or for a move out of a known vulnerability: ``advisories``
  with ``ghsa_id``, ``cve_id``, ``severity``, ``summary``, ``url``, ``vulnerable_version_range``
  and ``first_patched_version``; ``cooldown_ignored``; ``note``),
- ``held_back``: newer releases not taken: ``reason`` (``cooldown`` | ``bump`` |
  ``vulnerable``, with the covering ``advisories``), ``candidate``, ``eligible_at``
  (cooldown), ``cooldown``, ``released_at``, ``release_url``, ``files``,
- ``skipped``: uses left alone (branch refs, missing repositories, no version known),
- ``groups``: ``{id, title, commit_message, pr_body, changes: [change ids], actions, outputs}``:
  a bot opens one pull request per group (``--only-group ID`` applies just that one),
- ``written`` (files changed on disk in this run) and ``check`` (``--check`` was given).

Keys are sorted and lists are in a deterministic order, so two runs on the same input are
byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pinner.core.cooldown import format_duration
from pinner.core.update import Change, Group, HeldBack, Location, Skipped, UpdatePlan, VersionPoint
from pinner.formats import schemas
from pinner.formats.markdown import pr_body
from pinner.formats.update_messages import commit_message, pr_title

SCHEMA = schemas.UPDATE


def _date(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _point(point: VersionPoint) -> dict[str, Any]:
    record = {"ref": point.ref, "version": point.version, "sha": point.sha}
    if point.digest is not None:  # a container image: a digest instead of a commit
        record["digest"] = point.digest
    return record


def _files(locations: Sequence[Location]) -> list[dict[str, Any]]:
    return [{"file": loc.file, "line": loc.line} for loc in locations]


def security_record(change: Change) -> dict[str, Any] | None:
    if not change.security:
        return None
    advisories = []
    for advisory in change.security:
        entry = advisory.packages[0] if len(advisory.packages) == 1 else None
        advisories.append(
            {
                "ghsa_id": advisory.ghsa_id,
                "cve_id": advisory.cve_id,
                "severity": advisory.severity,
                "summary": advisory.summary,
                "url": advisory.html_url,
                "vulnerable_version_range": entry.vulnerable_range if entry else None,
                "first_patched_version": entry.first_patched if entry else None,
            }
        )
    return {
        "advisories": advisories,
        "cooldown_ignored": change.cooldown_ignored,
        "note": change.security_note,
    }


def change_record(change: Change, group: str | None) -> dict[str, Any]:
    return {
        "id": change.id,
        "group": group,
        "action": change.action,
        "repo": change.repo,
        "kind": change.kind,
        "level": change.level,
        "files": _files(change.locations),
        "from": _point(change.old),
        "to": _point(change.new),
        "value": change.value,
        "comment": change.comment,
        "released_at": _date(change.released_at),
        "date_source": change.date_source,
        "age_days": change.age_days,
        "release_url": change.release_url,
        "compare_url": change.compare_url,
        "mutable": change.mutable,
        "immutable_release": change.immutable_release,
        "note": change.note,
        "branch": change.branch,
        "security": security_record(change),
    }


def held_record(held: HeldBack) -> dict[str, Any]:
    return {
        "action": held.action,
        "repo": held.repo,
        "reason": held.reason,
        "level": held.level,
        "from": _point(held.old),
        "candidate": _point(held.candidate),
        "released_at": _date(held.released_at),
        "date_source": held.date_source,
        "eligible_at": _date(held.eligible_at),
        "cooldown": format_duration(held.cooldown) if held.cooldown is not None else None,
        "release_url": held.release_url,
        "files": _files(held.locations),
        "branch": held.branch,
        "advisories": list(held.advisories),
    }


def skipped_record(skipped: Skipped) -> dict[str, Any]:
    return {
        "uses": skipped.uses,
        "reason": skipped.reason,
        "problem": skipped.problem,
        "files": _files(skipped.locations),
    }


def group_record(
    group: Group, plan: UpdatePlan, outputs: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {
        "id": group.id,
        "title": pr_title(group),
        "commit_message": commit_message(group),
        "pr_body": pr_body(group, plan),
        "actions": list(group.actions),
        "changes": [c.id for c in group.changes],
        "held_back": len(group.held_back),
        "outputs": dict(sorted((outputs or {}).items())),
    }


def render(
    plan: UpdatePlan,
    *,
    written: Sequence[str] = (),
    check: bool = False,
    outputs: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The whole JSON document (with a trailing newline)."""
    group_of = {c.id: g.id for g in plan.groups for c in g.changes}
    policy = plan.policy
    doc = {
        "schema": SCHEMA,
        "now": _date(policy.now),
        "policy": {
            "bump": policy.bump,
            "pre": policy.pre,
            "keep_style": policy.keep_style,
            "group": policy.group,
            "cooldown": policy.cooldown.to_json(),
        },
        "summary": {
            "changes": len(plan.changes),
            "actions": len({c.action.lower() for c in plan.changes}),
            "held_back": len(plan.held_back),
            "skipped": len(plan.skipped),
            "problems": len(plan.problems),
            "files": len(plan.writes),
        },
        "changes": [change_record(c, group_of.get(c.id)) for c in plan.changes],
        "held_back": [held_record(h) for h in plan.held_back],
        "skipped": [skipped_record(s) for s in plan.skipped],
        "groups": [group_record(g, plan, (outputs or {}).get(g.id)) for g in plan.groups],
        "written": sorted(written),
        "check": check,
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``pinner.update/1`` (shipped as ``update_schema.json``)."""
    return schemas.load_schema(SCHEMA)
