"""Markdown pull-request body for ``pinner update --pr-body FILE`` and ``--format markdown``.

A reviewer of a bot PR needs, per action: where it moves from and to, how old the release is
(the cooldown's evidence), and one click to the release notes and to the exact diff between the
two commits. Held-back updates are listed too, so "why not the newest?" is answered in the PR,
and so are the lines of its actions the update could not rewrite (fix them by hand, or they stay
behind while the PR says the action moved).
A security update (the version it leaves is covered by an advisory) comes first, in a section
of its own naming the advisory and saying when the move did not wait for the cooldown.

Tag names, URLs and action names come from the network or the user's files: everything is
escaped for GitHub-flavoured markdown tables, and only ``http(s)`` URLs become links.
"""

from __future__ import annotations

import re
from datetime import datetime

from pinner.core.cooldown import format_duration
from pinner.core.update import (
    Change,
    Group,
    HeldBack,
    HeldSummary,
    Skipped,
    UpdatePlan,
    VersionPoint,
    summarize_held,
)
from pinner.formats.style import count
from pinner.sanitize import markdown_text

_text = markdown_text
"""Plain text in a table cell (see :func:`pinner.sanitize.markdown_text`)."""


def _code(value: str) -> str:
    """An inline code span that no backtick or pipe in ``value`` can break out of."""
    flat = "".join(ch if ch.isprintable() else " " for ch in value).replace("`", "'")
    return "`" + flat.replace("|", "\\|") + "`"


def _link(label: str, url: str | None) -> str:
    if url and re.match(r"^https?://[^\s()<>]+$", url):
        return f"[{label}]({url})"
    return label


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else "unknown"


def _point(point: VersionPoint) -> str:
    if point.digest is not None or (point.sha is None and "@sha" in point.ref):
        digest = f" ({_code(point.digest[:19])})" if point.digest else ""
        return f"{_code(point.version or point.ref)}{digest}"  # an image: its tag and digest
    sha = f" ({_code(point.sha[:7])})" if point.sha else ""
    if point.version and point.ref not in (point.version, point.sha):
        return f"{_code(point.ref)} → {_code(point.version)}{sha}"
    return f"{_code(point.version or point.ref)}{sha}"


def _where(change: Change | HeldBack | Skipped) -> str:
    return "<br>".join(_code(f"{loc.file}:{loc.line}") for loc in change.locations)


def _branch_point(branch: str, point: VersionPoint) -> str:
    return f"{_code(branch)} ({_code((point.sha or point.ref)[:7])})"


def _change_row(change: Change) -> str:
    if change.branch is not None:
        return _branch_row(change)
    links = [
        _link("release notes", change.release_url) if change.release_url else None,
        _link("compare", change.compare_url) if change.compare_url else None,
    ]
    released = _date(change.released_at)
    if change.age_days is not None:
        released += f" ({change.age_days} days ago)"
    kind = change.level or change.kind
    if change.security:
        kind += " · 🔒 security"
    if change.mutable:
        kind += " ⚠️ mutable tag"
    if change.immutable_release:
        kind += " · immutable release"  # GitHub guarantees its tag and assets cannot change
    return (
        f"| {_code(change.action)} | {_point(change.old)} | {_point(change.new)} | {kind} "
        f"| {released} | {' · '.join(x for x in links if x)} | {_where(change)} |"
    )


def _branch_row(change: Change) -> str:
    """A SHA pin following a branch, moved to its new tip: "branch stable moved"."""
    branch = change.branch or ""
    committed = _date(change.released_at)
    if change.age_days is not None:
        committed += f" ({change.age_days} days ago)"
    compare = _link("compare", change.compare_url) if change.compare_url else ""
    return (
        f"| {_code(change.action)} | {_branch_point(branch, change.old)} "
        f"| {_branch_point(branch, change.new)} | branch {_code(branch)} moved "
        f"| {committed} | {compare} | {_where(change)} |"
    )


def _held_row(summary: HeldSummary) -> str:
    held = summary.held
    current = "<br>".join(_point(old) for old in summary.olds)
    version = _link(_code(held.candidate.version or held.candidate.ref), held.release_url)
    released = {"created": "built", "first-seen": "first seen"}.get(held.date_source, "released")
    if held.branch is not None:
        current = "<br>".join(_branch_point(held.branch, old) for old in summary.olds)
        version = f"new tip {_branch_point(held.branch, held.candidate)}"
        released = "committed"
    if held.reason == "cooldown":
        wait = format_duration(held.cooldown) if held.cooldown is not None else "?"
        why = f"cooldown {wait}, {released} {_date(held.released_at)}"
        when = _date(held.eligible_at) if held.eligible_at else "unknown release date"
    elif held.reason == "vulnerable":
        why = "affected by " + ", ".join(_text(a) for a in held.advisories)
        when = "once an advisory no longer covers it"
    else:
        why = f"{held.level or 'newer'} update, beyond `--bump`"
        when = "with a wider `--bump`"
    return f"| {_code(held.action)} | {current} | {version} | {why} | {when} |"


def _security_lines(group: Group) -> list[str]:
    """One bullet per security update: the advisories it leaves, and the cooldown it skipped."""
    lines: list[str] = []
    for change in group.changes:
        if not change.security:
            continue
        advisories = "; ".join(
            f"{_link(_text(a.ghsa_id), a.html_url)}"
            + (f" ({_text(a.cve_id)})" if a.cve_id else "")
            + f", {_text(a.severity)}: {_text(a.summary.rstrip('.'))}"
            for a in change.security
        )
        old = _code(change.old.version or change.old.ref)
        new = _code(change.new.version or change.new.ref)
        line = f"- {_code(change.action)} {old} is affected by {advisories}. Moves to {new}"
        if change.cooldown_ignored:
            released = _date(change.released_at)
            line += (
                f", the lowest patched release, **without waiting for the cooldown** "
                f"(released {released})"
            )
        lines.append(line + ".")
    return lines


def _summary(group: Group) -> str:
    """One sentence saying what the change set does, by kind of change."""
    by_kind: dict[str, set[str]] = {}
    for change in group.changes:
        by_kind.setdefault(change.kind, set()).add(change.action.lower())
    parts = []
    if "update" in by_kind:
        parts.append(
            f"moves {count(len(by_kind['update']), 'action', 'actions')} to newer releases"
        )
    if "pin" in by_kind:
        n = len(by_kind["pin"])
        parts.append(f"pins the mutable refs of {count(n, 'action', 'actions')}")
    if "comment" in by_kind:
        n = len(by_kind["comment"])
        parts.append(f"corrects the version comments of {count(n, 'action', 'actions')}")
    if "branch" in by_kind:
        n = len(by_kind["branch"])
        parts.append(f"moves {count(n, 'branch pin', 'branch pins')} to their branch's new tip")
    if "image" in by_kind:
        n = len(by_kind["image"])
        parts.append(f"moves {count(n, 'container image', 'container images')} to new digests")
    said = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    if any(c.mutable for c in group.changes):
        tail = "; `--keep-style` tags stay mutable."
    elif set(by_kind) == {"image"}:
        tail = "; every image is pinned by digest, its tag kept for people."
    else:
        tail = "; every use is pinned to a full commit SHA with its version in a comment."
    return f"This change set {said}{tail}"


def pr_body(group: Group, plan: UpdatePlan) -> str:
    """The whole PR body for one change set; deterministic, ends with a newline."""
    lines = ["## GitHub Actions updates", "", _summary(group), ""]
    security = _security_lines(group)
    if security:
        lines += ["### Security", "", *security, ""]
    lines += [
        "| Action | From | To | Type | Released | Links | Where |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(_change_row(c) for c in group.changes),
    ]
    notes = [c for c in group.changes if c.note]
    if notes:
        lines += ["", "Notes:", ""]
        lines += [f"- {_code(c.action)}: {_text(c.note or '')}" for c in notes]
    if group.held_back:
        lines += [
            "",
            "### Held back",
            "",
            "| Action | Current | Newer release | Why | Eligible |",
            "| --- | --- | --- | --- | --- |",
            *(_held_row(h) for h in summarize_held(group.held_back)),
        ]
    if group.not_updated:
        lines += ["", "### Not updated", "", "Lines it could not rewrite; change them by hand:", ""]
        lines += [f"- {_where(s)} {_code(s.uses)}: {_text(s.reason)}" for s in group.not_updated]
    policy = plan.policy
    lines += [
        "",
        "---",
        "",
        f"Policy: cooldown {_text(policy.cooldown.describe())}; `--bump {policy.bump}`; "
        f"prereleases {'allowed' if policy.pre else 'only for prerelease pins'}; "
        f"evaluated at {policy.now.strftime('%Y-%m-%dT%H:%M:%SZ')}.",
        "",
        "Generated by `pinner update`.",
    ]
    return "\n".join(lines) + "\n"
