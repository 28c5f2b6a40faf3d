"""The ``uses:`` grammar, as the Actions runner parses it (design.md section 3).

Order matters and mirrors the runner: expressions first (they are evaluated before anything
else, and cannot be pinned statically), then ``docker://`` (case-sensitive), then ``./`` and
``.\\`` (local), then ``$/`` (same repository), and only then ``owner/repo[/path]@ref``.

The runner itself is lenient where pinner must not be: it splits paths on ``/`` *and* ``\\``
and drops empty segments. pinner turns remote references into API paths, git URLs and raw
file URLs, so anything that could walk out of the intended repository (``..``, empty
segments, backslashes) or hide in a terminal (control characters, bidi overrides, look-alike
Unicode in owner/repo) is classified INVALID with a reason instead of being resolved.
"""

from __future__ import annotations

import re

from pinner.models import ActionRef, UsesKind, UsesValue

# GitHub logins: alphanumerics and single hyphens; repositories: alphanumerics, "-", "_", ".".
# Both ASCII only. We accept "_" and "." in owners too (GHES and old accounts have them).
_OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
# Characters no path segment or ref may contain: C0/C1 controls, DEL, whitespace, bidi
# controls and zero-width characters (Trojan Source style spoofing).
_BAD_CHARS_RE = re.compile(
    "[\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]"
)
# git check-ref-format: what a real branch or tag can never contain.
_BAD_REF_RE = re.compile(r"\.\.|@\{|//|[~^:?*\[\\]|^/|/$|\.$|\.lock$|^@$|(^|/)\.")


def parse_uses(raw: str) -> UsesValue:
    """Classify one ``uses:`` value exactly as the runner would, with a reason when INVALID."""
    if "${{" in raw:
        return UsesValue(raw, UsesKind.EXPRESSION)
    if raw.startswith("docker://"):
        image = raw[len("docker://") :]
        if not image or _BAD_CHARS_RE.search(image):
            return _invalid(raw, "docker:// reference without a valid image name")
        return UsesValue(raw, UsesKind.DOCKER, image=image)
    if raw.startswith(("./", ".\\")):
        return UsesValue(raw, UsesKind.LOCAL, local_path=raw)
    if raw.startswith("$/"):
        path = raw[2:]
        problem = _path_problem(path.split("/")) if path else "empty path after $/"
        if problem:
            return _invalid(raw, problem)
        return UsesValue(raw, UsesKind.SAME_REPO, local_path=path)
    return _parse_remote(raw)


MAX_REF_LENGTH = 255
"""Longest ref name accepted: git stores a ref as a file name, 255 bytes on common filesystems."""


def _parse_remote(raw: str) -> UsesValue:
    expected = "expected owner/repo[/path]@ref"
    parts = raw.split("@")
    if len(parts) != 2:
        what = "no '@ref'" if len(parts) == 1 else "more than one '@'"
        return _invalid(raw, f"{what}: {expected}")
    target, ref = parts
    if not ref:
        return _invalid(raw, f"empty ref after '@': {expected}")
    if "\\" in target:
        return _invalid(raw, "backslash in the action path: use '/'")
    segments = target.split("/")
    if len(segments) < 2:
        return _invalid(raw, f"missing repository name: {expected}")
    owner, repo, *path = segments
    problem = _path_problem(segments)
    if problem:
        return _invalid(raw, problem)
    if not _OWNER_RE.match(owner):
        return _invalid(raw, f"owner {owner!r} is not a valid GitHub account name")
    if not _REPO_RE.match(repo):
        return _invalid(raw, f"repository {repo!r} is not a valid GitHub repository name")
    if _BAD_CHARS_RE.search(ref):
        return _invalid(raw, "ref contains whitespace, control or invisible characters")
    if _BAD_REF_RE.search(ref):
        return _invalid(raw, f"ref {ref!r} is not a valid git ref name")
    if len(ref) > MAX_REF_LENGTH:
        return _invalid(raw, f"ref is {len(ref):,} characters long (git allows {MAX_REF_LENGTH})")
    action = ActionRef(owner, repo, "/".join(path) or None, ref)
    if action.is_reusable_workflow and ref.startswith(("refs/heads/", "refs/tags/")):
        return _invalid(raw, "reusable workflows do not accept refs/heads/ or refs/tags/ refs")
    return UsesValue(raw, UsesKind.REMOTE, action=action)


def _path_problem(segments: list[str]) -> str | None:
    """Why a list of path segments could escape or spoof its repository, else ``None``."""
    for segment in segments:
        if segment == "":
            return "empty path segment ('//', leading or trailing '/')"
        if segment in (".", ".."):
            return f"'{segment}' path segment (path traversal)"
        if "\\" in segment:
            return "backslash in the action path: use '/'"
        if _BAD_CHARS_RE.search(segment):
            return "path contains whitespace, control or invisible characters"
    return None


def _invalid(raw: str, reason: str) -> UsesValue:
    return UsesValue(raw, UsesKind.INVALID, error=reason)
