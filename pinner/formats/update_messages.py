"""Pull-request title and commit message for an update change set.

Conventional Commits (``ci(deps): ...``), the style Dependabot and Renovate use for workflow
updates, so changelog tooling and branch protections that expect it keep working. The body has
exactly one line per action: reviewers scan it, and ``git log --grep`` finds an action's moves.
Everything here is deterministic: the same plan gives the same bytes (golden-file tested).
"""

from __future__ import annotations

from collections.abc import Sequence

from pinner.core.update import Change, Group

SUBJECT_PREFIX = "ci(deps)"
SECURITY_PREFIX = "security"
"""Put in front of the subject when any change of the set moves out of a known vulnerability,
so the pull request stands out (and branch rules or bots can match it)."""


def _one_line(text: str) -> str:
    """Remote text (tag names) in a one-line context: no newlines, no control characters."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _label(point_version: str | None, ref: str) -> str:
    if point_version:
        return _one_line(point_version)
    return _one_line(ref[:12] if len(ref) == 40 else ref)


def _per_action(changes: Sequence[Change]) -> list[tuple[str, list[Change]]]:
    by_action: dict[str, list[Change]] = {}
    for change in changes:
        by_action.setdefault(change.action, []).append(change)
    return sorted(by_action.items(), key=lambda kv: kv[0].lower())


def _unique(items: list[str]) -> list[str]:
    """Distinct labels, oldest version first (names that are no version sort after, by name)."""
    from packaging.version import InvalidVersion, Version

    def key(label: str) -> tuple[int, Version | None, str]:
        try:
            return (0, Version(label.rpartition("/")[2]), label)
        except InvalidVersion:
            return (1, None, label)

    distinct = list(dict.fromkeys(items))
    versions = sorted((x for x in distinct if key(x)[0] == 0), key=lambda x: (key(x)[1], x))
    return versions + sorted(x for x in distinct if key(x)[0] == 1)


def _old_label(change: Change) -> str:
    """Where a change starts: the ref as written for a mutable ref (``v2``), else its version."""
    if change.kind == "pin" or change.mutable:
        return _one_line(change.old.ref)
    return _label(change.old.version, change.old.ref)


def action_line(action: str, changes: Sequence[Change]) -> str:
    """``bump actions/checkout from v4.1.0 to v4.2.2``: what one action does in this change set."""
    name = _one_line(action)
    olds = _unique([_old_label(c) for c in changes])
    news = _unique([_label(c.new.version, c.new.ref) for c in changes])
    kinds = {c.kind for c in changes}
    if kinds == {"image"}:
        return image_line(name, changes)
    if kinds == {"branch"}:  # follow actions-rs/toolchain branch stable to fa04a14
        branches = _unique([_one_line(c.branch or "") for c in changes])
        tips = _unique([_one_line(c.new.ref[:7]) for c in changes])
        return f"follow {name} branch {', '.join(branches)} to {', '.join(tips)}"
    if kinds == {"comment"}:
        return f"fix version comment of {name} to {', '.join(news)}"
    if "update" in kinds:
        return f"bump {name} from {', '.join(olds)} to {', '.join(news)}"
    refs = _unique([_one_line(c.old.ref) for c in changes])
    if any(c.mutable for c in changes):
        return f"move {name} from {', '.join(refs)} to {', '.join(news)}"
    if refs == news:  # a tag pinned to its own commit: the commit is the news, not the tag
        news = _unique([_one_line((c.new.sha or c.new.ref)[:7]) for c in changes])
    return f"pin {name} {', '.join(refs)} to {', '.join(news)}"


def image_line(name: str, changes: Sequence[Change]) -> str:
    """``bump python from 3.12 to 3.13``, or for a rebuilt tag ``update python 3.12 to
    sha256:1a2b3c4d5e6f``, or ``pin python 3.12 to sha256:...``."""
    olds = _unique([_one_line(c.old.version or c.old.ref) for c in changes])
    news = _unique([_one_line(c.new.version or c.new.ref) for c in changes])
    if olds != news:
        return f"bump {name} from {', '.join(olds)} to {', '.join(news)}"
    digests = ", ".join(dict.fromkeys(_one_line((c.new.digest or "")[:19]) for c in changes))
    verb = "pin" if all(c.old.digest is None for c in changes) else "update"
    return f"{verb} {name} {', '.join(news)} to {digests}"


def pr_title(group: Group) -> str:
    """One line: the single action's move, or a count; ``security: `` in front when a change
    fixes a known vulnerability."""
    actions = _per_action(group.changes)
    security = f"{SECURITY_PREFIX}: " if any(c.security for c in group.changes) else ""
    if len(actions) == 1:
        action, changes = actions[0]
        return f"{security}{SUBJECT_PREFIX}: {action_line(action, changes)}"
    verbs = {c.kind for c in group.changes}
    if verbs == {"image"}:
        return f"{SUBJECT_PREFIX}: update {len(actions)} container images"
    verb = (
        "update"
        if verbs & {"update", "branch", "image"}
        else ("pin" if "pin" in verbs else "fix comments of")
    )
    what = "GitHub Actions and container images" if "image" in verbs else "GitHub Actions"
    return f"{security}{SUBJECT_PREFIX}: {verb} {len(actions)} {what}"


def _fixes(changes: Sequence[Change]) -> str:
    """`` (fixes GHSA-..., GHSA-...)`` for the advisories the changes move out of."""
    ids = sorted({a.ghsa_id for c in changes for a in c.security})
    return f" (fixes {', '.join(_one_line(i) for i in ids)})" if ids else ""


def commit_message(group: Group) -> str:
    """Subject (the PR title), a blank line, one ``- ...`` line per action; ends with a newline."""
    lines = [pr_title(group), ""]
    lines += [f"- {action_line(a, cs)}{_fixes(cs)}" for a, cs in _per_action(group.changes)]
    return "\n".join(lines) + "\n"
