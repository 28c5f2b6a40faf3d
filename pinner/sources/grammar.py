"""The ``uses:`` grammar, as the Actions runner parses it (design.md section 3).

Order matters and mirrors the runner: expressions first (they are evaluated before anything
else, and cannot be pinned statically), then ``docker://`` (case-sensitive), then ``./`` and
``.\\`` (local), then ``$/`` (same repository), and only then ``owner/repo[/path]@ref``.

Forms the runner accepts are read the way it reads them, so pinner pins what actually runs:
it splits the part before ``@`` on ``/`` *and* ``\\`` and drops empty segments
(``actions/checkout/@v4``, ``actions/checkout////@v4`` and ``actions\\checkout@v4`` are
``actions/checkout@v4``), and the action's directory is a file system path inside the
downloaded repository (``github/codeql-action/./init@v3`` is ``.../init``, ``actions/cache/
save/../save@v4`` is ``.../save``). A block scalar's final line break (``uses: |``) is no part
of the value. :attr:`ActionRef` holds that canonical form; the raw text stays in
:attr:`UsesValue.raw`.

pinner turns remote references into API paths, git URLs and raw file URLs, so anything that
could walk out of the intended repository (a ``..`` above the action's repository, ``.`` or
``..`` as owner or repository) or hide in a terminal (control characters, bidi overrides,
look-alike Unicode in owner/repo) is classified INVALID with a reason instead of being resolved.
An INVALID value is a problem on its own line: never requested, never rewritten, and the rest of
the run goes on (it touches nothing else in the file).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from pinner.models import ActionRef, UsesKind, UsesValue

MAX_NESTING = 9
"""The runner's limit on nested composite actions; deeper is a finding (``audit``, ``lock``)."""

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


def is_ref_name(name: str) -> bool:
    """Whether ``name`` can be a real branch or tag (``git check-ref-format``, no control or
    invisible characters): what a forge lists otherwise is no ref pinner names or records."""
    return not (
        len(name) > MAX_REF_LENGTH or _BAD_CHARS_RE.search(name) or _BAD_REF_RE.search(name)
    )


def parse_uses(raw: str) -> UsesValue:
    """Classify one ``uses:`` value exactly as the runner would, with a reason when INVALID."""
    if "${{" in raw:
        return UsesValue(raw, UsesKind.EXPRESSION)
    value = raw.rstrip("\r\n")  # the line break a block scalar (uses: |) ends with
    if value.startswith("docker://"):
        image = value[len("docker://") :]
        if not image or _BAD_CHARS_RE.search(image):
            return _invalid(raw, "docker:// reference without a valid image name")
        return UsesValue(raw, UsesKind.DOCKER, image=image)
    if value.startswith(("./", ".\\")):
        return UsesValue(raw, UsesKind.LOCAL, local_path=value)
    if value.startswith("$/"):
        path = value[2:]
        problem = _path_problem(path.split("/")) if path else None  # bare $/: the root action
        if problem:
            return _invalid(raw, problem)
        return UsesValue(raw, UsesKind.SAME_REPO, local_path=path)
    return _parse_remote(raw, value)


MAX_REF_LENGTH = 255
"""Longest ref name accepted: git stores a ref as a file name, 255 bytes on common filesystems."""


def _parse_remote(raw: str, value: str) -> UsesValue:
    expected = "expected owner/repo[/path]@ref"
    parts = value.split("@")
    if len(parts) != 2:
        what = "no '@ref'" if len(parts) == 1 else "more than one '@'"
        return _invalid(raw, f"{what}: {expected}")
    target, ref = parts
    if not ref:
        return _invalid(raw, f"empty ref after '@': {expected}")
    segments = [s for s in re.split(r"[/\\]", target) if s]  # as the runner splits it
    if len(segments) < 2:
        return _invalid(raw, f"missing repository name: {expected}")
    owner, repo, *path = segments
    problem = _path_problem(segments, strict=False)
    if problem:
        return _invalid(raw, problem)
    if owner in (".", "..") or repo in (".", ".."):
        return _invalid(raw, f"'{owner if owner in ('.', '..') else repo}' as owner or "
                        "repository (path traversal)")  # fmt: skip
    directory = _directory(path)
    if directory is None:
        return _invalid(raw, "'..' above the action's repository (path traversal)")
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
    action = ActionRef(owner, repo, directory or None, ref)
    if action.is_reusable_workflow and ref.startswith(("refs/heads/", "refs/tags/")):
        return _invalid(raw, "reusable workflows do not accept refs/heads/ or refs/tags/ refs")
    return UsesValue(raw, UsesKind.REMOTE, action=action)


def _directory(path: list[str]) -> str | None:
    """The action's directory in its repository, ``.`` and ``..`` resolved as a file system
    does; None when a ``..`` climbs above the repository."""
    kept: list[str] = []
    for segment in path:
        if segment == "..":
            if not kept:
                return None
            kept.pop()
        elif segment != ".":
            kept.append(segment)
    return "/".join(kept)


def is_canonical(value: UsesValue) -> bool:
    """Whether a remote value is written as the runner reads it (no empty, ``.`` or ``..``
    segment, no backslash): the form pinner writes when it pins."""
    action = value.action
    return action is None or str(action) == value.written


def shown(raw: str, limit: int = 200) -> str:
    """A value as messages show it: a hostile one may be 100,000 characters long, so it is cut."""
    return raw if len(raw) <= limit else raw[:limit] + "..."


def describe_invalid(value: UsesValue) -> str:
    """``invalid uses value 'X': why``, in one short line."""
    return f"invalid uses value {shown(value.raw)!r}: {value.error or 'not a valid uses value'}"


def _path_problem(segments: list[str], *, strict: bool = True) -> str | None:
    """Why path segments could escape or spoof the repository, else ``None``.

    ``strict`` for ``$/path``, which is taken as written: no empty, ``.`` or ``..`` segment and
    no backslash. A remote value's segments were split and resolved as the runner does (see
    :func:`_directory`); only what could hide in a terminal is left to refuse.
    """
    for segment in segments:
        if strict and segment == "":
            return "empty path segment ('//', leading or trailing '/')"
        if strict and segment in (".", ".."):
            return f"'{segment}' path segment (path traversal)"
        if strict and "\\" in segment:
            return "backslash in the action path: use '/'"
        if _BAD_CHARS_RE.search(segment):
            return "path contains whitespace, control or invisible characters"
    return None


def _invalid(raw: str, reason: str) -> UsesValue:
    return UsesValue(raw, UsesKind.INVALID, error=reason)


def repo_relative(local_path: str) -> str:
    """``./a/b/`` or ``.\\a\\b`` or ``$/a/b`` -> ``a/b``: a local or same-repository path as a
    repository-relative posix path (``""`` for the root)."""
    p = local_path.replace("\\", "/")
    for prefix in ("$/", "./"):
        if p.startswith(prefix):
            p = p[len(prefix) :]
    return str(PurePosixPath(p)).strip("/") if p.strip("/") else ""
