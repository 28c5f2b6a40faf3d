"""Human-readable ``pinner update`` report (the default ``--format text``).

One line per change, held-back release and skipped use, then a summary that says where the
cooldown came from. Remote text (tag names, messages) goes through
:func:`pinner.sanitize.for_terminal`, so a hostile tag name cannot drive the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pinner.core.update import (
    Change,
    HeldBack,
    Location,
    Skipped,
    UpdatePlan,
    VersionPoint,
    summarize_held,
)
from pinner.formats.style import paint
from pinner.sanitize import for_terminal

_STYLE = {
    "update": "ok",
    "branch": "ok",
    "pin": "info",
    "comment": "info",
    "held": "warning",
    "skip": "dim",
    "problem": "error",
}


def _paint(text: str, kind: str, color: bool) -> str:
    return paint(text, _STYLE[kind], color)


def _safe(text: str) -> str:
    return for_terminal(text, single_line=True)


def _point(point: VersionPoint) -> str:
    if point.version and point.ref not in (point.version, point.sha):
        return _safe(f"{point.ref} ({point.version})")
    if point.version:
        return _safe(point.version)
    return _safe(point.ref[:12] if point.sha == point.ref else point.ref)


def _where(locations: Sequence[Location]) -> str:
    shown = ", ".join(f"{loc.file}:{loc.line}" for loc in locations[:3])
    more = len(locations) - 3
    return _safe(shown + (f" (+{more} more)" if more > 0 else ""))


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else "unknown date"


_DATED = {"created": "built", "first-seen": "first seen"}
"""How an image's date is described (a release's is "released")."""


def _image_point(point: VersionPoint) -> str:
    """``3.12@sha256:2b1d98206fd1``: an image's tag and the start of its digest."""
    digest = f"@{point.digest[:19]}" if point.digest else ""
    return _safe(f"{point.version or point.ref}{digest}")


def _branch_line(change: Change, color: bool) -> str:
    """``branch  o/a  stable 29eef336d9b2 -> fa04a1451ff1  (committed ..., 31d ago)  where``."""
    detail = ""
    if change.released_at is not None:
        detail = f"  (committed {_date(change.released_at)}, {change.age_days}d ago)"
    head = _paint(f"{change.kind:<7}", change.kind, color)
    return (
        f"{head} {_safe(change.action)}  {_safe(change.branch or '')} "
        f"{_safe(change.old.ref[:12])} -> {_safe(change.new.ref[:12])}{detail}  "
        f"{_where(change.locations)}\n        note: {_safe(change.note or '')}"
    )


def _change_line(change: Change, color: bool) -> str:
    if change.branch is not None:
        return _branch_line(change, color)
    detail = [change.level] if change.level else []
    if change.security:
        detail.append("security")
    if change.released_at is not None:
        word = _DATED.get(change.date_source, "released")
        detail.append(f"{word} {_date(change.released_at)}, {change.age_days}d ago")
    if change.mutable:
        detail.append("mutable tag")
    sha = f" {change.new.sha[:12]}" if change.new.sha and not change.mutable else ""
    paren = f"  ({', '.join(detail)})" if detail else ""
    head = _paint(f"{change.kind:<7}", "update" if change.kind == "image" else change.kind, color)
    if change.kind == "image":
        old, new = _image_point(change.old), _image_point(change.new)
    else:
        old, new = _point(change.old), _safe(change.new.version or change.new.ref) + sha
    line = f"{head} {_safe(change.action)}  {old} -> {new}{paren}  {_where(change.locations)}"
    for note in (change.security_note, change.note):
        if note:
            line += f"\n        note: {_safe(note)}"
    return line


def _held_line(held: HeldBack, color: bool) -> str:
    version = _safe(held.candidate.version or held.candidate.ref)
    released = _DATED.get(held.date_source, "released")
    if held.branch is not None:  # a branch's new tip: "stable fa04a1451ff1", a commit's date
        version = _safe(f"{held.branch} {held.candidate.ref[:12]}")
        released = "committed"
    if held.reason == "cooldown":
        why = f"cooldown: {released} {_date(held.released_at)}, eligible " + (
            _date(held.eligible_at) if held.eligible_at else "once its release date is known"
        )
    elif held.reason == "vulnerable":
        why = "affected by " + ", ".join(held.advisories)
    else:
        why = f"{held.level or 'newer'} update beyond --bump"
    return f"{_paint('held   ', 'held', color)} {_safe(held.action)}  {version}: {why}"


def _skip_line(skipped: Skipped, color: bool) -> str:
    kind = "problem" if skipped.problem else "skip"
    return (
        f"{_paint(f'{kind:<7}', kind, color)} {_safe(skipped.uses)}: {_safe(skipped.reason)}  "
        f"{_where(skipped.locations)}"
    )


def render(
    plan: UpdatePlan, *, written: Sequence[str] = (), check: bool = False, color: bool = False
) -> str:
    lines = [_change_line(c, color) for c in plan.changes]
    lines += [_held_line(h.held, color) for h in summarize_held(plan.held_back)]
    lines += [_skip_line(s, color) for s in plan.skipped]
    n = len(plan.changes)
    actions = len({c.action.lower() for c in plan.changes if c.kind != "image"})
    images = len({c.action.lower() for c in plan.changes if c.kind == "image"})
    what = " and ".join(
        [f"{actions} action(s)"] * bool(actions or not images)
        + [f"{images} image(s)"] * bool(images)
    )
    if n == 0:
        summary = "nothing to update"
    elif check:
        summary = f"{n} update(s) available for {what} (--check: nothing written)"
    elif written:
        summary = f"{n} change(s) for {what} written to {len(written)} file(s)"
    else:
        summary = f"{n} change(s) for {what} planned (nothing written)"
    lines.append(f"{summary}; cooldown {_safe(plan.policy.cooldown.describe())}")
    return "\n".join(lines) + "\n"
