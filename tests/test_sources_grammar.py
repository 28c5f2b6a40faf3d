"""The ``uses:`` grammar: the runner's rules, plus pinner's refusals of spoofing and traversal."""

from __future__ import annotations

import pytest

from pinner.models import ActionRef, UsesKind
from pinner.sources.grammar import describe_invalid, is_canonical, parse_uses

SHA = "b4ffde65f46336ab88eb53be808477a3936bae11"


@pytest.mark.parametrize(
    ("raw", "action"),
    [
        ("actions/checkout@v4", ActionRef("actions", "checkout", None, "v4")),
        (f"actions/checkout@{SHA}", ActionRef("actions", "checkout", None, SHA)),
        ("actions/cache/restore@v4", ActionRef("actions", "cache", "restore", "v4")),
        (
            "github/codeql-action/init/sub@v3.1",
            ActionRef("github", "codeql-action", "init/sub", "v3.1"),
        ),
        ("Owner-1/repo.name_x@release/v2", ActionRef("Owner-1", "repo.name_x", None, "release/v2")),
        (
            "o/r/.github/workflows/ci.yml@main",
            ActionRef("o", "r", ".github/workflows/ci.yml", "main"),
        ),
    ],
)
def test_remote_references(raw: str, action: ActionRef) -> None:
    value = parse_uses(raw)
    assert value.kind is UsesKind.REMOTE, value.error
    assert value.action == action
    assert value.raw == raw


def test_reusable_workflow_flag() -> None:
    value = parse_uses("o/r/.github/workflows/ci.yaml@v1")
    assert value.action is not None and value.action.is_reusable_workflow


@pytest.mark.parametrize(
    ("raw", "kind", "field", "expected"),
    [
        ("./.github/actions/setup", UsesKind.LOCAL, "local_path", "./.github/actions/setup"),
        (".\\actions\\x", UsesKind.LOCAL, "local_path", ".\\actions\\x"),
        ("docker://alpine:3.19", UsesKind.DOCKER, "image", "alpine:3.19"),
        (
            "docker://ghcr.io/o/i@sha256:" + "a" * 64,
            UsesKind.DOCKER,
            "image",
            "ghcr.io/o/i@sha256:" + "a" * 64,
        ),
        ("$/actions/build", UsesKind.SAME_REPO, "local_path", "actions/build"),
        # bare $/: the repository's root action, what `pinner lock` and GitHub's lockfile
        # tool migrate `uses: ./` to (zizmor's self-repository audit suggests it too)
        ("$/", UsesKind.SAME_REPO, "local_path", ""),
        ("${{ matrix.action }}", UsesKind.EXPRESSION, "error", None),
        ("o/r@${{ inputs.ref }}", UsesKind.EXPRESSION, "error", None),
        ("docker://${{ env.IMAGE }}", UsesKind.EXPRESSION, "error", None),
    ],
)
def test_other_kinds(raw: str, kind: UsesKind, field: str, expected: str | None) -> None:
    value = parse_uses(raw)
    assert value.kind is kind
    assert getattr(value, field) == expected
    assert value.action is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("actions/checkout", "no '@ref'"),
        ("actions/checkout@v4@v5", "more than one '@'"),
        ("actions/checkout@", "empty ref"),
        ("checkout@v4", "missing repository"),
        ("Docker://alpine", "no '@ref'"),  # docker:// is case-sensitive in the runner
        ("", "no '@ref'"),
        ("owner/repo/../../x@v1", "path traversal"),
        ("owner/repo/x/../../y@v1", "path traversal"),
        ("owner/../x@v1", "path traversal"),
        ("owner/./repo@v1", "path traversal"),
        ("owner/..@v1", "path traversal"),
        ("owner/repo/x\u200b@v1", "invisible"),
        ("own er/repo@v1", "whitespace"),
        ("owner/rep\u202eo@v1", "invisible"),
        ("ownеr/repo@v1", "not a valid GitHub account"),  # Cyrillic e
        ("owner/rеpo@v1", "not a valid GitHub repository"),
        ("-owner/repo@v1", "not a valid GitHub account"),
        ("owner/repo@v1\x1b[2J", "control"),
        ("owner/repo@v 1", "whitespace"),
        ("owner/repo@../../etc", "not a valid git ref"),
        ("owner/repo@v1..v2", "not a valid git ref"),
        ("owner/repo@/v1", "not a valid git ref"),
        ("owner/repo@v1.lock", "not a valid git ref"),
        ("docker://", "without a valid image"),
        ("$//x", "empty path segment"),
        ("$/x/", "empty path segment"),
        ("$/../x", "path traversal"),
        ("o/r/.github/workflows/x.yml@refs/heads/main", "refs/heads/"),
    ],
)
def test_invalid_with_reason(raw: str, reason: str) -> None:
    value = parse_uses(raw)
    assert value.kind is UsesKind.INVALID
    assert value.error is not None and reason in value.error
    assert value.action is None


@pytest.mark.parametrize(
    ("raw", "action"),
    [
        # the forms of zizmor's obfuscation audit: the runner splits on "/" and "\\", drops
        # empty segments and resolves the directory as a path inside the repository
        ("actions/checkout/@v4", ActionRef("actions", "checkout", None, "v4")),
        ("actions/checkout////@v4", ActionRef("actions", "checkout", None, "v4")),
        ("github/codeql-action/./init@v2", ActionRef("github", "codeql-action", "init", "v2")),
        ("actions/checkout/.@v4", ActionRef("actions", "checkout", None, "v4")),
        ("actions/cache/save/../save@v4", ActionRef("actions", "cache", "save", "v4")),
        ("actions/cache/save/..@v4", ActionRef("actions", "cache", None, "v4")),
        ("/owner/repo@v1", ActionRef("owner", "repo", None, "v1")),
        ("owner//repo@v1", ActionRef("owner", "repo", None, "v1")),
        ("owner\\repo\\sub@v1", ActionRef("owner", "repo", "sub", "v1")),
        # a block scalar (uses: |) ends with a line break that is no part of the value
        ("actions/checkout@v4\n", ActionRef("actions", "checkout", None, "v4")),
        ("actions/checkout@v4\r\n", ActionRef("actions", "checkout", None, "v4")),
    ],
)
def test_forms_the_runner_accepts_are_read_as_it_reads_them(raw: str, action: ActionRef) -> None:
    value = parse_uses(raw)
    assert value.kind is UsesKind.REMOTE, value.error
    assert value.action == action and value.raw == raw
    assert is_canonical(value) is (raw.rstrip("\r\n") == str(action))


def test_an_invalid_value_is_described_in_one_short_line() -> None:
    text = describe_invalid(parse_uses("o/r@v" + "1" * 100_000))
    assert text.startswith("invalid uses value 'o/r@v111") and text.endswith("(git allows 255)")
    assert len(text) < 300


def test_branch_ref_with_prefix_allowed_for_actions() -> None:
    assert parse_uses("o/r@refs/heads/main").kind is UsesKind.REMOTE


def test_expression_wins_over_everything() -> None:
    assert parse_uses("./${{ x }}").kind is UsesKind.EXPRESSION
