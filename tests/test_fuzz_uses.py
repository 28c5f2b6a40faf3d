"""Property-based tests of the ``uses:`` parser (:func:`pinner.sources.parse_uses`).

Two directions:

* **Anything goes in**: arbitrary text (any Unicode, control characters, ``@``, ``/``, ``..``)
  never raises, and whatever is classified REMOTE is safe to turn into a URL: ASCII owner and
  repository, no empty, ``.`` or ``..`` segment, no backslash, no control, whitespace or
  invisible character anywhere. Its canonical spelling (``str(action)``) reads back to itself,
  and equals the raw value whenever the raw value has no form the runner normalises.
* **Valid values round-trip**: generated ``owner/repo[/path]@ref`` values parse to exactly the
  parts they were built from; a ``.`` or ``..`` segment inserted into the path is resolved as
  the runner resolves it, and one that climbs above the repository, or an invisible character
  anywhere, makes the value INVALID with a reason, never something resolvable.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pinner.models import ActionRef, UsesKind
from pinner.sources import parse_uses

OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
UNSAFE_RE = re.compile(
    "[\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff\\\\]"
)
NORMALISED_RE = re.compile(r"//|\\|(?:^|/)\.\.?(?:/|$)|^/|/$")
"""What the runner normalises before the ``@``: empty segments, backslashes, ``.`` and ``..``."""
INVISIBLE = st.sampled_from(
    ["\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\x00", "\x1b", "\t", " ", "\u00a0", "\x9b"]
)

alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
owners = st.text(alnum + "-", min_size=1, max_size=20).filter(
    lambda s: s[0] != "-" and s[-1] != "-"
)
repos = st.text(alnum + "-_.", min_size=1, max_size=30).filter(lambda s: s not in (".", ".."))
segments = st.text(alnum + "-_.", min_size=1, max_size=12).filter(lambda s: s not in (".", ".."))
ref_parts = st.text(alnum + "-_", min_size=1, max_size=12)
refs = st.one_of(
    st.lists(ref_parts, min_size=1, max_size=3).map("/".join),
    st.text("0123456789abcdef", min_size=40, max_size=40),
    st.builds(lambda a, b, c: f"v{a}.{b}.{c}", *(st.integers(0, 99),) * 3),
)
paths = st.lists(segments, max_size=3).map(lambda p: "/".join(p) or None)

# text that looks like uses values often: built from their alphabet, plus anything at all
uses_alphabet = st.sampled_from([*(alnum + "/@.-_\\$ {}~^:?*["), "..", "${{", "docker://"])
uses_like = st.one_of(
    st.text(),
    st.lists(uses_alphabet, max_size=25).map("".join),
    st.lists(st.one_of(uses_alphabet, INVISIBLE), max_size=25).map("".join),
)


@settings(max_examples=500)
@given(uses_like)
def test_any_text_is_classified_and_remote_means_safe(raw: str) -> None:
    value = parse_uses(raw)  # never raises
    assert value.raw == raw
    if value.kind is UsesKind.INVALID:
        assert value.error and "\n" not in value.error
        return
    if value.kind is not UsesKind.REMOTE:
        return
    action = value.action
    assert action is not None
    assert OWNER_RE.match(action.owner) and REPO_RE.match(action.repo)
    parts = [action.owner, action.repo, *(action.path.split("/") if action.path else [])]
    assert all(p not in ("", ".", "..") for p in parts), parts
    assert not any(UNSAFE_RE.search(p) for p in [*parts, action.ref])
    assert ".." not in action.ref and "@" not in action.ref
    spelled = "/".join(parts) + "@" + action.ref
    assert str(action) == spelled and parse_uses(spelled).action == action
    written = raw.rstrip("\r\n")
    if not NORMALISED_RE.search(written.split("@")[0]):
        assert spelled == written


@given(owners, repos, paths, refs)
def test_valid_remote_values_round_trip(owner: str, repo: str, path: str | None, ref: str) -> None:
    raw = "/".join(p for p in (owner, repo, path) if p) + "@" + ref
    value = parse_uses(raw)
    if path and path.startswith(".github/workflows/") and ref.startswith("refs/"):
        return  # reusable workflows refuse refs/heads/... (tested in test_sources_grammar)
    assert value.kind is UsesKind.REMOTE, (raw, value.error)
    assert value.action is not None
    assert (value.action.owner, value.action.repo, value.action.path, value.action.ref) == (
        owner,
        repo,
        path,
        ref,
    )


@given(owners, repos, paths, refs, st.sampled_from(["..", "."]), st.data())
def test_a_dot_segment_in_the_path_is_resolved_as_the_runner_does(
    owner: str, repo: str, path: str | None, ref: str, bad: str, data: st.DataObject
) -> None:
    segs = [owner, repo, *(path.split("/") if path else [])]
    at = data.draw(st.integers(2, len(segs)))
    value = parse_uses("/".join([*segs[:at], bad, *segs[at:]]) + "@" + ref)
    if path and path.startswith(".github/workflows/") and ref.startswith("refs/"):
        return  # reusable workflows refuse refs/heads/... (tested in test_sources_grammar)
    if bad == "..":
        if at == 2:  # above the repository: refused
            assert value.kind is UsesKind.INVALID and "traversal" in (value.error or "")
            return
        del segs[at - 1]  # ".." cancels the segment before it
    kept = segs[2:]
    assert value.kind is UsesKind.REMOTE, value.error
    assert value.action == ActionRef(owner, repo, "/".join(kept) or None, ref)


@given(owners, repos, paths, refs, INVISIBLE, st.data())
def test_an_invisible_or_control_character_anywhere_makes_the_value_invalid(
    owner: str, repo: str, path: str | None, ref: str, char: str, data: st.DataObject
) -> None:
    raw = "/".join(p for p in (owner, repo, path) if p) + "@" + ref
    at = data.draw(st.integers(0, len(raw)))
    spoofed = raw[:at] + char + raw[at:]
    value = parse_uses(spoofed)
    assert value.kind is UsesKind.INVALID, (spoofed, value.kind)
    assert value.error


@given(st.text(), st.text())
def test_expressions_are_never_resolved(before: str, after: str) -> None:
    value = parse_uses(f"{before}${{{{ {after}")
    assert value.kind is UsesKind.EXPRESSION and value.action is None
