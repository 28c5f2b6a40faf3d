"""Version comments in every dialect, notes, and the inline ``pinner: ignore[...]``."""

from __future__ import annotations

import pytest

from pinner.sources.comments import (
    IGNORE_ALL,
    parse_comment,
    parse_ignore,
    parse_version_comment,
    render_comment,
)


@pytest.mark.parametrize(
    ("comment", "version"),
    [
        ("# v1.2.3", "v1.2.3"),
        ("v1.2.3", "v1.2.3"),
        ("#v4", "v4"),
        ("# v1.2.3 some note", "v1.2.3"),
        ("# 1.2.3", "1.2.3"),
        ("# v1.0.0-rc.1", "v1.0.0-rc.1"),
        ("# v1.2.3, needed for node 20", "v1.2.3"),
        ("# tag=v1.2.3", "v1.2.3"),
        ("# version: 1.2.3", "1.2.3"),
        ("# version=1.2.3", "1.2.3"),
        ("# pin@v1", "v1"),
        ("# ratchet:actions/checkout@v4", "v4"),
        ("# ratchet:owner/repo/sub@v1.2", "v1.2"),
        ("# tools/v1.2.3", "tools/v1.2.3"),
        ("# main", "main"),
        ("# release/v2", "release/v2"),
        ("# v1.2.3 # pinner: ignore[ref-confusion]", "v1.2.3"),
        ("# v1.2.3 pinner: ignore[a,b]", "v1.2.3"),
    ],
)
def test_version_in_every_dialect(comment: str, version: str) -> None:
    assert parse_version_comment(comment) == version


@pytest.mark.parametrize(
    "comment",
    [
        "# needed for node 20",
        "",
        "#",
        "# pinner: ignore[x]",
        "# ratchet:exclude",
        "# TODO: remove this",
        "# see https://example.com",
    ],
)
def test_no_version(comment: str) -> None:
    assert parse_version_comment(comment) is None


def test_note_and_dialect_split() -> None:
    parsed = parse_comment("# tag=v1.2.3 keep on 1.x # pinner: ignore[update]")
    assert parsed.version == "v1.2.3"
    assert parsed.dialect == "tag"
    assert parsed.version_text == "tag=v1.2.3"
    assert parsed.note == "keep on 1.x"
    assert parsed.directive == "# pinner: ignore[update]"
    assert parsed.ignore == frozenset({"update"})


@pytest.mark.parametrize(
    ("comment", "rules"),
    [
        ("# pinner: ignore[rule-a,rule-b]", frozenset({"rule-a", "rule-b"})),
        ("# v1.2.3 # pinner: ignore[rule-a, rule-b ]", frozenset({"rule-a", "rule-b"})),
        ("# v1 pinner:ignore[Unpinned-Uses]", frozenset({"unpinned-uses"})),
        ("# pinner: ignore", IGNORE_ALL),
        ("# pinner: ignore[]", IGNORE_ALL),
        ("# v1.2.3", None),
        ("# ignore[x]", None),
    ],
)
def test_ignore_directive(comment: str, rules: frozenset[str] | None) -> None:
    assert parse_ignore(comment) == rules


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (None, "v4.2.2"),
        ("v4", "v4.2.2"),
        ("tag=v4", "v4.2.2"),
        ("ratchet:actions/checkout@v4", "v4.2.2"),
        ("pin@v4", "v4.2.2"),
        ("version: 4", "v4.2.2"),
        ("v4 needed for x", "v4.2.2 needed for x"),
        ("needed for x", "v4.2.2 needed for x"),
        ("pinner: ignore[a]", "v4.2.2 # pinner: ignore[a]"),
        ("v4 # pinner: ignore[a]", "v4.2.2 # pinner: ignore[a]"),
        ("v4 note pinner: ignore[a]", "v4.2.2 note # pinner: ignore[a]"),
    ],
)
def test_render_comment(old: str | None, new: str) -> None:
    assert render_comment(old, "v4.2.2") == new
    # idempotent: rendering an already rendered comment changes nothing
    assert render_comment(old, new) == new
