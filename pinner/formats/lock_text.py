"""Human output of ``pinner lock``: what changed (stdout), findings and a summary (stderr).

Changes, one per line::

    narrow  .github/workflows/ci.yml:7  actions/checkout@v4 -> actions/checkout@v4.2.2
    migrate .github/workflows/ci.yml:9  ./my-action -> $/my-action
    add     actions/checkout@v4.2.2  de0fac2e4500
    relock  actions/setup-go@v5  0a1b2c3d4e5f -> 9f8e7d6c5b4a
    remove  actions/cache@v3

Findings, one per line, blocking ones first in their group::

    .github/workflows/ci.yml:7: error not-pinned: actions/checkout@v4: used in ... (fixed)

Everything that comes from the forge (refs, names) is sanitised before it is printed.
"""

from __future__ import annotations

from pinner.core.lock import RUN_LOCK, LockFinding, LockPlan
from pinner.formats.lockfile import LOCKFILE_PATH
from pinner.formats.pin_diff import rewrite_diff, unified_diff
from pinner.formats.style import count, paint
from pinner.sanitize import for_terminal

_VERB_STYLES = {"remove": "warning", "narrow": "info", "migrate": "info"}
_SEVERITY_STYLES = {"error": "error", "warning": "warning"}


def render_changes(plan: LockPlan, *, color: bool = False) -> list[str]:
    """One line per edit of a user's file and per entry added, relocked or removed."""
    lines: list[tuple[str, str]] = []  # (verb, the rest)
    for edit in plan.edits:
        verb = "narrow" if edit.reason == "narrowed" else "migrate"
        lines.append((verb, f"{edit.relpath}:{edit.line}  {edit.old} -> {edit.new}"))
    before = plan.before.dependencies if plan.before is not None else {}
    for dep in plan.dependencies:
        if dep.status == "added":
            lines.append(("add", f"{dep.key}  {dep.entry.sha[:12]}"))
        elif dep.status in ("relocked", "updated"):
            old = before.get(dep.key)
            was = f"{old.sha[:12]} -> " if old is not None and old.sha != dep.entry.sha else ""
            verb = "relock" if dep.status == "relocked" else "update"
            lines.append((verb, f"{dep.key}  {was}{dep.entry.sha[:12]}"))
    lines.extend(("remove", key) for key in plan.removed)
    return [
        f"{paint(f'{verb:<7}', _VERB_STYLES.get(verb, 'ok'), color)} "
        + for_terminal(rest, single_line=True)
        for verb, rest in lines
    ]


def finding_line(finding: LockFinding, *, color: bool = False) -> str:
    where = f"{finding.file}:{finding.line}: " if finding.file and finding.line else ""
    if not where and finding.workflow:
        where = f"{finding.workflow}: "
    if not where:
        where = f"{LOCKFILE_PATH}: "
    note = " (fixed)" if finding.fixed else ""
    text = f"{finding.category}: {finding.detail}{note}"
    if finding.remediation and not finding.fixed:
        text += f"; {finding.remediation}"
    severity = for_terminal(finding.severity, single_line=True)
    style = _SEVERITY_STYLES.get(finding.severity, "info")
    return (
        for_terminal(where, single_line=True)
        + paint(severity, style, color)
        + " "
        + for_terminal(text, single_line=True)
    )


def render_findings(plan: LockPlan, *, color: bool = False) -> list[str]:
    """Findings still standing (what a write repaired shows as a change above, and in the
    JSON with ``fixed``).

    A finding that every ``uses:`` line of a workflow has for one reason is said once for the
    workflow, with its lines: a workflow the lockfile does not list yet (``not-pinned``, on a
    first ``lock --check`` thousands of lines saying "run pinner lock"), and bare SHAs kept
    with ``--no-narrow`` (``sha-as-ref``, the style the user chose, on every run). The JSON
    keeps one finding per line.
    """
    listed = set(plan.before.workflows) if plan.before is not None else set()
    standing = [f for f in plan.findings if not f.fixed]
    groups: dict[tuple[str, str], list[LockFinding]] = {}
    for finding in standing:
        if _said_per_workflow(finding, listed):
            groups.setdefault((finding.workflow, finding.category), []).append(finding)
    lines: list[str] = []
    for finding in standing:
        group = groups.get((finding.workflow, finding.category))
        if group is None or len(group) == 1:
            lines.append(finding_line(finding, color=color))
        elif finding is group[0]:
            lines.append(_group_line(group, listed=bool(plan.before_bytes), color=color))
    return lines


def _said_per_workflow(finding: LockFinding, listed: set[str]) -> bool:
    if finding.category == "sha-as-ref":
        return bool(finding.workflow)
    return (
        finding.category == "not-pinned"
        and finding.remediation == RUN_LOCK
        and bool(finding.workflow)
        and finding.workflow not in listed
    )


def _group_line(group: list[LockFinding], *, listed: bool, color: bool) -> str:
    """``wf.yml: error not-pinned: not in the lockfile: 12 uses: lines (7, 9, ...) ...``."""
    first = group[0]
    places = sorted({(f.file or "", f.line or 0) for f in group})
    files = {file for file, _ in places}
    if files == {first.workflow}:
        where = ", ".join(str(line) for _, line in places)
    else:  # some in the repository's own actions the workflow reaches through $/
        where = ", ".join(f"{file}:{line}" for file, line in places)
    count = f"{len(places)} uses: lines ({where})"
    if first.category == "sha-as-ref":
        detail = f"{count} pin a bare SHA without a symbolic ref"
    else:
        why = "not in the lockfile" if listed else "there is no lockfile"
        detail = f"{why}: {count} are not pinned"
    severity = for_terminal(first.severity, single_line=True)
    style = _SEVERITY_STYLES.get(first.severity, "info")
    text = f"{first.category}: {detail}" + (f"; {first.remediation}" if first.remediation else "")
    return (
        for_terminal(f"{first.workflow}: ", single_line=True)
        + paint(severity, style, color)
        + " "
        + for_terminal(text, single_line=True)
    )


def summary_line(plan: LockPlan, *, mode: str, written: bool) -> str:
    """``pinner: actions.lock: 3 entries for 2 workflows (1 added); written``."""
    after = plan.after
    counts: dict[str, int] = {}
    for dep in plan.dependencies:
        if dep.status != "unchanged":
            counts[dep.status] = counts.get(dep.status, 0) + 1
    if plan.removed:
        counts["removed"] = len(plan.removed)
    changed = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    entries = count(len(after.dependencies), "entry", "entries")
    what = f"{entries} for {count(len(after.workflows), 'workflow')}" + (
        f" ({changed})" if changed else ""
    )
    if plan.files:
        what += f", {len(plan.edits)} uses: rewritten in {count(len(plan.files), 'file')}"
    blocking = len(plan.blocking)
    if plan.after_bytes is None and plan.before_bytes is not None:
        state = "removed (nothing left to lock)" if written else "would be removed"
    elif not plan.changed:
        state = "up to date"
    elif written:
        state = "written"
    else:
        state = "would change" if mode != "write" else "not written"
    problems = f"; {blocking} blocking finding(s)" if blocking else ""
    return f"pinner: {LOCKFILE_PATH}: {what}; {state}{problems}"


def render_diff(plan: LockPlan) -> str:
    """The change to the lockfile and the workflows, as one ``git apply``-able patch."""
    parts = [_file_diff(LOCKFILE_PATH, plan.before_bytes, plan.after_bytes)]
    for path in sorted(plan.files, key=lambda p: plan.originals[p].relpath):
        source = plan.originals[path]
        parts.append(rewrite_diff(source.relpath, source.text, plan.files[path]))
    return "".join(parts)


def _file_diff(relpath: str, old: bytes | None, new: bytes | None) -> str:
    """A diff that may create or delete the file (``/dev/null`` on that side)."""
    if old == new:
        return ""
    diff = unified_diff(relpath, (old or b"").decode("utf-8"), (new or b"").decode("utf-8"))
    if old is None:
        diff = diff.replace(f"--- a/{relpath}\n", "--- /dev/null\n", 1)
    if new is None:
        diff = diff.replace(f"+++ b/{relpath}\n", "+++ /dev/null\n", 1)
    return diff
