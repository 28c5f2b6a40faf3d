"""Version comments in every dialect, notes, and the inline ``pinner: ignore[...]``."""

from __future__ import annotations

import pytest

from pinner.sources.comments import (
    IGNORE_ALL,
    covers,
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
        ("# pinner: ignore[all]", IGNORE_ALL),
        ("# pinner: ignore[*]", IGNORE_ALL),
        ("# pinner: ignore[unpinned-ref, ALL]", IGNORE_ALL),
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
        ("# v4", "# v4.2.2"),
        # the dialect and spacing stay; only the claim changes (issue 13, item 1)
        ("tag=v4", "tag=v4.2.2"),
        ("#tag=v4.0.0", "#tag=v4.2.2"),
        ("#  v3", "#  v4.2.2"),
        ("pin@v4.0.1", "pin@v4.2.2"),
        ("ratchet:actions/checkout@v4.0.1", "ratchet:actions/checkout@v4.2.2"),
        ("version: 4.0.1", "version: 4.2.2"),  # a version number: no "v" added
        ("version=v4.0.1", "version=v4.2.2"),
        ("# v4 needed for x", "# v4.2.2 needed for x"),
        # a tracked ref that includes the new version keeps being tracked
        ("ratchet:actions/checkout@v4", "ratchet:actions/checkout@v4"),
        ("# pin@v4.2", "# pin@v4.2"),
        ("# ratchet:actions/checkout@v3", "# ratchet:actions/checkout@v4.2.2"),
        # no claim: the whole comment kept verbatim as its own segment (items 2 and 3)
        ("needed for x", "v4.2.2 # needed for x"),
        ("# TODO", "# v4.2.2 # TODO"),
        ("#note", "# v4.2.2 #note"),
        ("# zizmor: ignore[archived-uses]", "# v4.2.2 # zizmor: ignore[archived-uses]"),
        ("#  zizmor: ignore[x]", "# v4.2.2 #  zizmor: ignore[x]"),
        ("# ratchet:exclude", "# v4.2.2 # ratchet:exclude"),
        ("# renovate: datasource=github-tags", "# v4.2.2 # renovate: datasource=github-tags"),
        ("# nosemgrep", "# v4.2.2 # nosemgrep"),
        ("# noqa", "# v4.2.2 # noqa"),
        ("# pinact:ignore", "# v4.2.2 # pinact:ignore"),
        ("pinner: ignore[a]", "v4.2.2 # pinner: ignore[a]"),
        ("#", "# v4.2.2"),
        # directives before the claim stay before it
        ("# zizmor: ignore[x] # v4", "# zizmor: ignore[x] # v4.2.2"),
        ("v4 # pinner: ignore[a]", "v4.2.2 # pinner: ignore[a]"),
        ("v4 note pinner: ignore[a]", "v4.2.2 note pinner: ignore[a]"),
        ("# v4 # zizmor: ignore[x] # noqa", "# v4.2.2 # zizmor: ignore[x] # noqa"),
    ],
)
def test_render_comment(old: str | None, new: str) -> None:
    assert render_comment(old, "v4.2.2") == new
    # a second run changes nothing
    assert render_comment(new, "v4.2.2") == new


@pytest.mark.parametrize(
    ("old", "claim", "new"),
    [
        # a tracked ref moved past: the same precision, where the repository has that ref
        ("# ratchet:o/a@v3", "v4.2.2", "# ratchet:o/a@v4"),
        ("ratchet:o/a@v3.1", "v4.2.2", "ratchet:o/a@v4.2"),
        ("# ratchet:o/a@v3.1.0", "v4.2.2", "# ratchet:o/a@v4.2.2"),
        ("# pin@v3", "v4.2.2", "# pin@v4"),
        ("# ratchet:o/a/setup@setup/v1", "setup/v2.0.1", "# ratchet:o/a/setup@setup/v2"),
        # no such ref, a prerelease, or not a tracking dialect: the release itself
        ("# ratchet:o/a@v3", "v5.0.0", "# ratchet:o/a@v5.0.0"),
        ("# ratchet:o/a@v3", "v4.0.0-rc.1", "# ratchet:o/a@v4.0.0-rc.1"),
        ("# v3", "v4.2.2", "# v4.2.2"),
        ("# tag=v3", "v4.2.2", "# tag=v4.2.2"),
    ],
)
def test_a_tracked_ref_keeps_its_precision(old: str, claim: str, new: str) -> None:
    floating = frozenset({"v4", "v4.2", "setup/v2", "v4.0.0-rc"})
    assert render_comment(old, claim, floating=floating) == new
    assert render_comment(new, claim, floating=floating) == new  # and stays


def test_floating_names_of_a_release() -> None:
    from pinner.sources.comments import floating_names

    assert floating_names("v4.2.2") == ("v4", "v4.2")
    assert floating_names("setup/v1.0.3") == ("setup/v1", "setup/v1.0")
    assert floating_names("2.0") == ("2",)
    assert floating_names("v4") == ()
    assert floating_names("v4.0.0-rc.1") == () and floating_names("main") == ()


def test_a_lone_word_is_replaced_only_when_the_caller_knows_it_is_a_ref() -> None:
    assert render_comment("# main", "main", word_is_ref=True) == "# main"
    assert render_comment("# stable", "v1.2.3", word_is_ref=True) == "# v1.2.3"
    assert render_comment("# stable", "v1.2.3") == "# v1.2.3 # stable"


def test_a_branch_claim_replacing_a_version_keeps_the_note_apart() -> None:
    # "# main needed for x" would read as a note: the note gets its own "#"
    new = render_comment("# v2 needed for x", "main")
    assert new == "# main # needed for x"
    assert parse_comment(new).version == "main"


@pytest.mark.parametrize(
    ("comment", "dialect", "version"),
    [
        ("# TODO", "word", "TODO"),
        ("# keep", "word", "keep"),
        ("#note", "word", "note"),
        ("# main", "word", "main"),
        ("# nosemgrep", None, None),
        ("# noqa", None, None),
        ("# zizmor: ignore[archived-uses]", None, None),
        ("# renovate: datasource=github-tags depName=x", None, None),
        ("# ratchet:exclude", None, None),
        ("# pinact:ignore", None, None),
        ("# noqa # v1.2.3", "plain", "v1.2.3"),
        ("# zizmor: ignore[x] # tag=v1.2.3", "tag", "v1.2.3"),
        ("# needed for x # v1.2.3", None, None),  # a note first: what follows is its business
    ],
)
def test_words_directives_and_segments(comment: str, dialect: str | None, version: str | None):
    parsed = parse_comment(comment)
    assert (parsed.dialect, parsed.version) == (dialect, version)
    if version is not None:
        assert comment[parsed.value_start : parsed.value_end] == version


def test_ratchet_exclude_is_found_anywhere_as_ratchet_finds_it() -> None:
    assert parse_comment("# ratchet:exclude").excluded
    assert parse_comment("# v1.2.3 # ratchet:exclude").excluded
    assert not parse_comment("# ratchet:actions/checkout@v4").excluded


def test_tracking_dialects() -> None:
    assert parse_comment("# ratchet:o/a@v4").tracks
    assert parse_comment("# pin@v4").tracks
    assert not parse_comment("# tag=v4").tracks
    assert covers("v4", "v4.2.2") and covers("v4.2", "v4.2.2") and covers("v4.2.2", "v4.2.2")
    assert not covers("v4.2.1", "v4.2.2") and not covers("v4", "v40.0.0")
    assert not covers("main", "main2") and covers("main", "main")
