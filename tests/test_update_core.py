"""Which release each use moves to, and why not a newer one: ``pinner.core.update``.

The forge is :class:`SnapshotForge` over the hand-made ``fixtures/forge/upd-fixtures`` repos
(see tests/test_update_fixtures.py for their story and dates); the clock is fixed at NOW.
Sites are built directly, so these tests pin down decisions, not YAML layouts.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from packaging.version import Version

from pinner.core.cooldown import Cooldown
from pinner.core.update import (
    Change,
    UpdatePlan,
    UpdatePolicy,
    Updater,
    bump_level,
    candidates_from,
    keep_style_ref,
    make_groups,
    parse_now,
    within_bump,
)
from pinner.errors import UsageError
from pinner.forge.snapshot import SnapshotForge
from pinner.models import (
    ActionRef,
    GitRef,
    RefListing,
    Release,
    SiteContext,
    SourceFile,
    Span,
    UsesKind,
    UsesSite,
    UsesValue,
)
from tests.test_update_fixtures import FIXTURES, NOW, OWNER, sha

SERVER = "https://forge.test"
NOW_DT = parse_now(NOW)


class CountingForge(SnapshotForge):
    """A snapshot forge that counts calls: dates must be fetched lazily."""

    def __init__(self, *dirs: Path) -> None:
        super().__init__(*dirs, forge_url=SERVER)
        self.calls: Counter[str] = Counter()

    async def list_refs(self, repo: str):  # type: ignore[override]
        self.calls["list_refs"] += 1
        return await super().list_refs(repo)

    async def get_commit(self, repo: str, ref: str):  # type: ignore[override]
        self.calls["get_commit"] += 1
        return await super().get_commit(repo, ref)

    async def get_tag_object(self, repo: str, sha: str):  # type: ignore[override]
        self.calls["get_tag_object"] += 1
        return await super().get_tag_object(repo, sha)

    async def list_releases(self, repo: str):  # type: ignore[override]
        self.calls["list_releases"] += 1
        return await super().list_releases(repo)


def uses_site(raw: str, comment: str | None = None, line: int = 10) -> UsesSite:
    left, ref = raw.split("@", 1)
    owner, repo, *path = left.split("/")
    action = ActionRef(owner, repo, "/".join(path) or None, ref)
    relpath = ".github/workflows/ci.yml"
    return UsesSite(
        path=Path("/repo") / relpath,
        relpath=relpath,
        line=line,
        column=15,
        context=SiteContext.WORKFLOW_STEP,
        value=UsesValue(raw, UsesKind.REMOTE, action=action),
        value_span=Span(0, len(raw)),
        quote="",
        comment=comment,
    )


def source(*sites: UsesSite) -> SourceFile:
    return SourceFile(
        path=Path("/repo/.github/workflows/ci.yml"),
        relpath=".github/workflows/ci.yml",
        kind="workflow",
        text="",
        bom=False,
        newline="\n",
        uses=sites,
    )


def plan(*sites: UsesSite, forge: SnapshotForge | None = None, **policy) -> UpdatePlan:
    forge = forge or SnapshotForge(FIXTURES / "forge", forge_url=SERVER)
    pol = UpdatePolicy(now=NOW_DT, **policy)
    return asyncio.run(Updater(forge, pol, server_url=SERVER).plan([source(*sites)], render=False))


def only_change(result: UpdatePlan) -> Change:
    assert len(result.changes) == 1, result.changes
    return result.changes[0]


ST = f"{OWNER}/setup-tool"


# ----------------------------------------------------------------------------- cooldown


def test_cooldown_holds_back_the_fresh_release_and_takes_the_older_eligible_one() -> None:
    result = plan(uses_site(f"{ST}@{sha('setup-tool', 'v1.1.0')}", "v1.1.0"))
    change = only_change(result)
    assert (change.old.version, change.new.version) == ("v1.1.0", "v2.1.0")
    assert change.new.sha == sha("setup-tool", "v2.1.0")
    assert change.value == f"{ST}@{sha('setup-tool', 'v2.1.0')}"
    assert change.comment == "v2.1.0"
    assert (change.kind, change.level) == ("update", "major")
    assert change.released_at == datetime(2026, 4, 1, 14, tzinfo=UTC)
    assert change.date_source == "release"
    assert change.age_days == 60
    assert change.release_url == f"{SERVER}/{ST}/releases/tag/v2.1.0"
    assert change.compare_url == (
        f"{SERVER}/{ST}/compare/{sha('setup-tool', 'v1.1.0')}...{sha('setup-tool', 'v2.1.0')}"
    )
    assert change.immutable_release is True
    [held] = result.held_back
    assert (held.reason, held.candidate.version) == ("cooldown", "v2.2.0")
    assert held.released_at == datetime(2026, 5, 28, 14, tzinfo=UTC)
    assert held.eligible_at == datetime(2026, 6, 4, 14, tzinfo=UTC)
    assert held.cooldown == timedelta(days=7)


def test_without_cooldown_the_newest_published_release_wins_but_never_a_draft() -> None:
    change = only_change(
        plan(
            uses_site(f"{ST}@{sha('setup-tool', 'v1.1.0')}", "v1.1.0"),
            cooldown=Cooldown(default=timedelta(0), source="--cooldown"),
        )
    )
    # v2.3.0 has a tag but only a draft release: not a release; v3.0.0-rc.* are prereleases
    assert change.new.version == "v2.2.0"


def test_per_level_cooldown_from_dependabot_style_settings() -> None:
    cooldown = Cooldown(default=timedelta(0), major=timedelta(days=365), source="x")
    result = plan(uses_site(f"{ST}@{sha('setup-tool', 'v1.1.0')}", "v1.1.0"), cooldown=cooldown)
    change = only_change(result)
    assert (change.new.version, change.level) == ("v1.2.0", "minor")  # majors wait a year
    [held] = result.held_back
    assert (held.reason, held.candidate.version, held.level) == ("cooldown", "v2.2.0", "major")


# ----------------------------------------------------------------------------- bump


def test_bump_minor_never_crosses_a_major() -> None:
    result = plan(uses_site(f"{ST}@{sha('setup-tool', 'v1.1.0')}", "v1.1.0"), bump="minor")
    change = only_change(result)
    assert (change.new.version, change.level) == ("v1.2.0", "minor")
    [held] = result.held_back
    assert (held.reason, held.candidate.version, held.level) == ("bump", "v2.2.0", "major")
    assert held.eligible_at is None


def test_bump_patch_keeps_the_pin_when_no_patch_exists() -> None:
    result = plan(uses_site(f"{ST}@{sha('setup-tool', 'v1.1.0')}", "v1.1.0"), bump="patch")
    assert result.changes == ()
    assert [h.reason for h in result.held_back] == ["bump"]


# ----------------------------------------------------------------------------- prereleases


def test_prereleases_only_with_pre() -> None:
    pinned = uses_site(f"{ST}@{sha('setup-tool', 'v1.1.0')}", "v1.1.0")
    assert only_change(plan(pinned)).new.version == "v2.1.0"
    assert only_change(plan(pinned, pre=True)).new.version == "v3.0.0-rc.2"


def test_a_prerelease_pin_moves_to_the_next_prerelease() -> None:
    rc1 = uses_site(f"{ST}@{sha('setup-tool', 'v3.0.0-rc.1')}", "v3.0.0-rc.1")
    change = only_change(plan(rc1))
    assert (change.old.version, change.new.version) == ("v3.0.0-rc.1", "v3.0.0-rc.2")


# ----------------------------------------------------------------------------- moved tags


def test_unpinned_moved_major_is_pinned_to_the_newest_eligible_release() -> None:
    change = only_change(plan(uses_site(f"{ST}@v2")))
    # v2 moved to v2.2.0 three days ago: pin the release that is old enough instead
    assert change.old == change.old.__class__("v2", "v2.2.0", sha("setup-tool", "v2.2.0"))
    assert change.new.version == "v2.1.0"
    assert change.kind == "pin"
    assert change.note and "not eligible yet" in change.note


def test_stale_comment_of_a_moved_tag_does_not_fool_the_current_version() -> None:
    # pinned to the old v2 commit (v2.0.0) with comment "v2": v2 now points elsewhere
    change = only_change(plan(uses_site(f"{ST}@{sha('setup-tool', 'v2.0.0')}", "v2")))
    assert (change.old.version, change.new.version, change.level) == ("v2.0.0", "v2.1.0", "minor")


def test_a_sha_pin_never_moves_backwards_but_its_comment_is_corrected() -> None:
    fresh = sha("setup-tool", "v2.2.0")
    assert plan(uses_site(f"{ST}@{fresh}", "v2.2.0")).changes == ()
    change = only_change(plan(uses_site(f"{ST}@{fresh}", "v2")))
    assert (change.kind, change.comment, change.value) == ("comment", "v2.2.0", f"{ST}@{fresh}")


def test_keep_style_moves_the_tag_and_says_it_is_mutable() -> None:
    change = only_change(plan(uses_site(f"{ST}@v1"), keep_style=True))
    assert change.value == f"{ST}@v2"
    assert change.comment is None
    assert change.mutable is True
    assert change.new.version == "v2.1.0"
    assert change.note and "v2.2.0" not in change.note and "mutable" in change.note


def test_keep_style_keeps_sha_pins_pinned() -> None:
    change = only_change(
        plan(uses_site(f"{ST}@{sha('setup-tool', 'v1.1.0')}", "v1.1.0"), keep_style=True)
    )
    assert change.value.endswith(sha("setup-tool", "v2.1.0")) and not change.mutable


# ----------------------------------------------------------------------------- monorepo, odd names


def test_monorepo_path_tags_stay_in_their_family() -> None:
    result = plan(
        uses_site(f"{OWNER}/monorepo/setup@{sha('monorepo', 'setup/v1.0.0')}", "setup/v1.0.0"),
        uses_site(f"{OWNER}/monorepo/cache@cache/v3.0.0", line=11),
    )
    cache, setup = result.changes  # sorted by action
    assert (setup.new.version, setup.comment) == ("setup/v1.1.0", "setup/v1.1.0")
    assert setup.new.sha == sha("monorepo", "setup/v1.1.0")
    assert cache.new.version == "cache/v3.1.0" and cache.kind == "update"
    assert [h.candidate.version for h in result.held_back] == ["setup/v2.0.0"]  # too fresh
    # v9.0.0 (a root tag) belongs to neither action
    assert all("v9" not in (c.new.version or "") for c in result.changes)


def test_irregular_release_names_do_not_break_it_and_dates_fall_back() -> None:
    forge = CountingForge(FIXTURES / "forge")
    result = plan(
        uses_site(f"{OWNER}/codeql-like@{sha('codeql-like', 'v3.28.0')}", "tag=v3.28.0"),
        uses_site(f"{OWNER}/codeql-like@v3", line=11),
        forge=forge,
    )
    pinned, floating = result.changes
    for change in (pinned, floating):
        assert change.new.version == "v3.29.0"  # not codeql-bundle-v2.25.6, not fresh v3.29.1
        assert change.date_source == "commit"  # lightweight tag, no release: commit date
        assert change.released_at == datetime(2026, 5, 1, 8, tzinfo=UTC)
    assert floating.kind == "pin"
    [held] = result.held_back[:1]
    assert (held.candidate.version, held.date_source) == ("v3.29.1", "tagger")
    # one listing and one release list for the repository, each date fetched once
    assert forge.calls == Counter(list_refs=1, list_releases=1, get_tag_object=1, get_commit=1)


def test_many_releases_without_floating_tags() -> None:
    forge = CountingForge(FIXTURES / "forge")
    result = plan(uses_site(f"{OWNER}/many-releases@{sha('many-releases', 'v1.0.0')}"), forge=forge)
    change = only_change(result)
    assert change.new.version == "v1.112.0"  # published 2026-05-24T12:00Z
    [held] = result.held_back  # the newest release waiting, not every one of them
    assert (held.candidate.version, held.eligible_at) == (
        "v1.119.0",
        datetime(2026, 6, 7, 12, tzinfo=UTC),
    )
    assert forge.calls["get_commit"] == forge.calls["get_tag_object"] == 0  # releases have dates


# ----------------------------------------------------------------------------- skipped


def test_branch_refs_and_missing_repositories_are_skipped_with_reasons() -> None:
    result = plan(uses_site(f"{ST}@main"), uses_site(f"{OWNER}/missing-repo@v1", line=12))
    assert result.changes == ()
    by_uses = {s.uses: s for s in result.skipped}
    assert not by_uses[f"{ST}@main"].problem
    assert "branch" in by_uses[f"{ST}@main"].reason
    assert by_uses[f"{OWNER}/missing-repo@v1"].problem
    assert result.problems == (by_uses[f"{OWNER}/missing-repo@v1"],)


def test_ignore_comment_holds_a_use() -> None:
    site = uses_site(f"{ST}@{sha('setup-tool', 'v1.1.0')}", "v1.1.0 # pinner: ignore[update]")
    assert plan(site).changes == ()


def test_a_sha_in_upper_case_is_a_pin_that_never_moves_backwards() -> None:
    # v2.2.0 is too fresh for the cooldown: a mutable ref would be pinned to v2.1.0, but this
    # is a pin (in upper case): it stays where it is, written in lower case
    fresh = sha("setup-tool", "v2.2.0")
    change = only_change(plan(uses_site(f"{ST}@{fresh.upper()}", "v2.2.0")))
    assert (change.kind, change.value, change.comment) == ("comment", f"{ST}@{fresh}", "v2.2.0")
    assert change.note == "SHA written in lower case; the pin itself does not move"


def test_ratchet_exclude_holds_a_use() -> None:
    assert plan(uses_site(f"{ST}@v1", "ratchet:exclude")).changes == ()
    assert plan(uses_site(f"{ST}@v1", "v1 # ratchet:exclude # a note")).changes == ()


def test_a_tracked_comment_that_still_holds_is_no_change() -> None:
    # pinned at v2.2.0 (nothing newer is eligible), ratchet tracking v2: nothing to correct,
    # where a plain "# v2" is corrected to the release
    fresh = sha("setup-tool", "v2.2.0")
    assert plan(uses_site(f"{ST}@{fresh}", f"ratchet:{ST}@v2")).changes == ()
    assert plan(uses_site(f"{ST}@{fresh}", "pin@v2")).changes == ()
    assert only_change(plan(uses_site(f"{ST}@{fresh}", "v2"))).comment == "v2.2.0"


def test_sites_sharing_a_use_are_one_change_with_every_location() -> None:
    pinned = f"{ST}@{sha('setup-tool', 'v1.1.0')}"
    change = only_change(plan(uses_site(pinned, "v1.1.0", 30), uses_site(pinned, "v1.1.0", 8)))
    assert [loc.line for loc in change.locations] == [8, 30]


# ----------------------------------------------------------------------------- pure helpers


def test_bump_helpers() -> None:
    v = Version
    assert bump_level(v("1.1.0"), v("2.0.0")) == "major"
    assert bump_level(v("1.1.0"), v("1.2.0")) == "minor"
    assert bump_level(v("1.1.0"), v("1.1.1")) == "patch"
    assert bump_level(v("1.1.0"), v("1.1.0")) is None
    assert bump_level(None, v("1.0.0")) is None
    assert within_bump(v("1.1.0"), v("1.9.0"), "minor")
    assert not within_bump(v("1.1.0"), v("2.0.0"), "minor")
    assert within_bump(v("1.1.0"), v("1.1.5"), "patch")
    assert not within_bump(v("1.1.0"), v("1.2.0"), "patch")
    assert within_bump(None, v("1.2.0"), "major") and not within_bump(None, v("1.2.0"), "minor")


def _listing(*names: str) -> RefListing:
    refs = tuple(GitRef(f"refs/tags/{n}", f"{i:040x}", f"{i:040x}") for i, n in enumerate(names))
    return RefListing("o/r", refs)


def test_candidates_prefer_full_versions_and_drop_drafts() -> None:
    listing = _listing("v1", "v1.2", "v1.2.0", "1.3.0", "v1.3.0", "v2.0.0", "junk", "x/v9.0.0")
    draft = Release("v2.0.0", None, None, True, False, "u")
    found = candidates_from(listing, [draft], path=None, family="")
    assert [c.name for c in found] == ["v1.3.0", "v1.2.0"]  # v-spelling wins a tie
    only_floating = _listing("v1", "v2", "v2.1")
    assert [c.name for c in candidates_from(only_floating, [], path=None, family="")] == [
        "v2.1",
        "v2",
        "v1",
    ]


def test_keep_style_ref_matches_what_was_written() -> None:
    listing = _listing("v4", "v4.2", "v4.2.2", "v5.0.1", "v5")
    [v502, *_] = candidates_from(listing, [], path=None, family="")
    assert keep_style_ref("v4", v502, listing) == "v5"
    assert keep_style_ref("v4.2", v502, listing) == "v5.0.1"  # no v5.0 tag: the full one
    assert keep_style_ref("v4.2.2", v502, listing) == "v5.0.1"


def test_groups_by_action_and_per_change() -> None:
    pinned = uses_site(f"{ST}@{sha('setup-tool', 'v1.1.0')}", "v1.1.0")
    result = plan(
        pinned,
        uses_site(f"{ST}@v2", line=11),
        uses_site(f"{OWNER}/monorepo/cache@cache/v3.0.0", line=12),
        group="action",
    )
    assert [g.id for g in result.groups] == [
        "upd-fixtures-monorepo-cache",
        "upd-fixtures-setup-tool",
    ]
    assert [len(g.changes) for g in result.groups] == [1, 2]
    assert [len(g.held_back) for g in result.groups] == [0, 2]
    per_change = make_groups(result.changes, result.held_back, "none")
    assert len(per_change) == 3 and len({g.id for g in per_change}) == 3
    assert make_groups(result.changes, result.held_back, "all")[0].id == "all"
    assert result.only_group("upd-fixtures-monorepo-cache").changes == result.groups[0].changes
    with pytest.raises(UsageError, match="no such group"):
        result.only_group("nope")
    nothing = replace(result, changes=(), held_back=(), groups=())
    with pytest.raises(UsageError, match=r"no such group \(nothing to update\)$"):
        nothing.only_group("upd-fixtures-setup-tool")


def test_policy_and_clock_validation() -> None:
    assert parse_now("2026-06-01") == datetime(2026, 6, 1, tzinfo=UTC)
    assert parse_now("2026-06-01T02:00:00+02:00") == datetime(2026, 6, 1, tzinfo=UTC)
    with pytest.raises(UsageError, match="--now"):
        parse_now("yesterday")
    with pytest.raises(UsageError, match="--bump"):
        UpdatePolicy(now=NOW_DT, bump="huge")
    with pytest.raises(UsageError, match="--group"):
        UpdatePolicy(now=NOW_DT, group="some")


def test_untagged_commits_and_non_version_tags_are_left_alone() -> None:
    from tests.test_update_fixtures import REPOS

    main = REPOS["setup-tool"].refs["refs/heads/main"]["peeled"]
    result = plan(
        uses_site(f"{ST}@{main}", "built from main"),
        uses_site(f"{OWNER}/codeql-like@codeql-bundle-v2.25.6", line=11),
    )
    assert result.changes == ()
    reasons = sorted(s.reason for s in result.skipped)
    assert "no version tag points at" in reasons[0]
    assert "is not a version" in reasons[1]
    assert not any(s.problem for s in result.skipped)
    # "# main" names a branch of the repository: the pin follows it, and is at its tip
    following = plan(uses_site(f"{ST}@{main}", "main"))
    assert following.changes == () and following.skipped == () and following.held_back == ()


def test_a_version_comment_on_an_untagged_commit_is_no_evidence() -> None:
    from tests.test_update_fixtures import REPOS

    main = REPOS["setup-tool"].refs["refs/heads/main"]["peeled"]
    result = plan(uses_site(f"{ST}@{main}", "v1.2.0"))
    assert result.changes == ()
    [skipped] = result.skipped
    v120 = sha("setup-tool", "v1.2.0")
    assert f"the comment says v1.2.0, which is commit {v120[:12]}" in skipped.reason


def test_bump_patch_on_a_moved_tag_reports_no_older_release_as_held_back() -> None:
    result = plan(uses_site(f"{ST}@v2"), bump="patch")
    # v2 is v2.2.0 (too fresh) and no other v2.2.x exists: nothing to pin to yet
    assert result.changes == ()
    assert [(h.reason, h.candidate.version) for h in result.held_back] == [("cooldown", "v2.2.0")]
    [skipped] = result.skipped
    assert "no eligible release" in skipped.reason and not skipped.problem
