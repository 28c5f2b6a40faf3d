"""Human output of ``pinner pin``: one line per change on stdout, issues on stderr.

Every line is ``file:line: ...`` so editors and terminals can jump to it. Remote text (tag and
branch names, error messages quoting the forge) passes through :func:`for_terminal`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from pinner.core.images import ImageChange
from pinner.core.pin import PinChange, PinIssue, PinPlan
from pinner.formats.style import paint
from pinner.sanitize import for_terminal

_NO_LABELS: Mapping[Path, str] = MappingProxyType({})

_REASONS = {
    "pinned-tag": "pinned",
    "pinned-branch": "pinned branch",
    "tag-object": "tag object replaced by its commit",
    "comment-added": "comment added",
    "comment-fixed": "comment corrected",
    "sha-normalized": "SHA lower-cased",
    "uses-normalized": "written as the runner reads it",
}


_ISSUE_STYLES = {"problem": "error", "warning": "warning", "remote": "failure"}


def change_line(
    change: PinChange, labels: Mapping[Path, str] = _NO_LABELS, *, color: bool = False
) -> str:
    """``file:line: old -> new  # comment (reason)``.

    ``labels``: the repository label of each file, when a run spans several repositories
    (:func:`pinner.commands.common.repository_labels`), so every path says which it is in.
    """
    new = change.new_value
    if change.new_comment is not None:
        new = f"{new} # {change.new_comment}"
    reason = _REASONS.get(change.reason, change.reason)
    where = f"{labels.get(change.site.path, '')}{change.relpath}:{change.line}:"
    return _change(where, f"{change.old_value} -> {new}", f"({reason})", color)


def _change(where: str, what: str, why: str, color: bool) -> str:
    """``where what (why)``, the text sanitised and the reason painted as done."""
    text = for_terminal(f"{where} {what}", single_line=True)
    return f"{text} {paint(for_terminal(why, single_line=True), 'ok', color)}"


def image_line(
    change: ImageChange, labels: Mapping[Path, str] = _NO_LABELS, *, color: bool = False
) -> str:
    """``file:line: docker://alpine:3.19 -> docker://alpine:3.19@sha256:... (image pinned)``."""
    what = "multi-platform index" if change.index else "image"
    in_matrix = " in the matrix" if change.target.context == "matrix" else ""
    where = f"{labels.get(change.target.path, '')}{change.relpath}:{change.line}:"
    return _change(where, f"{change.old} -> {change.new}", f"({what} pinned{in_matrix})", color)


def issue_line(
    issue: PinIssue, labels: Mapping[Path, str] = _NO_LABELS, *, color: bool = False
) -> str:
    """``file:line: problem|warning|remote error: message``."""
    label = "remote error" if issue.severity == "remote" else issue.severity
    repo = labels.get(issue.path, "") if issue.path is not None else ""
    where = for_terminal(f"{repo}{issue.relpath}:{issue.line}:", single_line=True)
    message = for_terminal(issue.message, single_line=True)
    style = _ISSUE_STYLES.get(issue.severity, "error")
    return f"{where} {paint(label + ':', style, color)} {message}"


def summary_line(plan: PinPlan, *, mode: str, written: bool) -> str:
    """One closing line: what happened, in numbers."""
    files = plan.changed_files
    n = len(plan.changes)
    what = f"{n} use(s)"
    if plan.image_changes:
        images = f"{len(plan.image_changes)} image(s)"
        what = f"{what} and {images}" if n else images
    n += len(plan.image_changes)
    if mode == "write":
        verb = "changed" if written else "not written"
        head = f"{what} in {files} file(s) {verb}" if n else "nothing to change"
    else:
        head = f"{what} in {files} file(s) would change" if n else "nothing would change"
    tail = [
        f"{len(plan.problems)} problem(s)",
        f"{len(plan.warnings)} warning(s)",
    ]
    if plan.remote_failures:
        tail.append(f"{len(plan.remote_failures)} remote failure(s)")
    return f"pinner: {head}; " + ", ".join(tail)


def render(
    plan: PinPlan,
    labels: Mapping[Path, str] = _NO_LABELS,
    *,
    out_color: bool = False,
    err_color: bool = False,
) -> tuple[list[str], list[str]]:
    """(stdout lines, stderr lines) for ``--format text``, each painted as its stream allows.

    A remote failure repeated on many uses (the forge is unreachable, one repository fails)
    is printed once, at its first use, with the number of other uses it affects.
    """
    errors: list[str] = []
    repeats: dict[str, int] = {}
    first: dict[str, int] = {}
    for issue in plan.issues:
        if issue.severity == "remote":
            if issue.message in first:
                repeats[issue.message] = repeats.get(issue.message, 0) + 1
                continue
            first[issue.message] = len(errors)
        errors.append(issue_line(issue, labels, color=err_color))
    for message, count in repeats.items():
        errors[first[message]] += f" (and {count} more use{'s' if count > 1 else ''})"
    errors += [for_terminal(f"pinner: note: {note}", single_line=True) for note in plan.notes]
    changes = [(c.site.path, c.line, change_line(c, labels, color=out_color)) for c in plan.changes]
    changes += [
        (c.target.path, c.line, image_line(c, labels, color=out_color)) for c in plan.image_changes
    ]
    if plan.image_changes:  # in file order, uses and images together
        changes.sort(key=lambda c: (labels.get(c[0], ""), str(c[0]), c[1]))
    return [line for _, _, line in changes], errors
