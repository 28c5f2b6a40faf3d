"""GitHub's advisory range syntax, which versions it covers, and which release fixes it.

Every operator (``=``, ``<``, ``<=``, ``>``, ``>=``, and ``,`` for "and"), the ``v`` prefix on
either side, a commit or a tag named exactly, and the third answer "unknown" when a commit has
no version tag: a version range cannot clear a commit nobody released.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from packaging.version import Version

from pinner.core.advisories import (
    Subject,
    VersionRange,
    affected_by,
    fixing_release,
    judge,
    packages_of,
    pin_text,
    subject_of,
    verdicts,
    version_of,
)
from pinner.models import ActionRef, Advisory, AffectedPackage, GitRef, RefListing

SHA_A = "a" * 40
SHA_B = "0e58ed867288e6711d10da9293b8db84f3f3ed85"


def at(version: str | None, *names: str, commit: str = SHA_A) -> Subject:
    return Subject(commit, version_of(version) if version else None, frozenset(names))


@pytest.mark.parametrize(
    ("text", "version", "expected"),
    [
        ("= 1.2.0", "1.2.0", True),
        ("= 1.2.0", "1.2.1", False),
        ("=1.2.0", "1.2.0", True),  # no space after the operator
        ("1.2.0", "1.2.0", True),  # a bare version means exactly it
        ("= 1", "1", True),  # floating major tag v1
        ("= 1", "1.0.0", True),  # packaging: 1 == 1.0.0
        ("= 1", "1.3.2", False),
        ("< 46.0.1", "45.0.7", True),
        ("< 46.0.1", "46.0.1", False),
        ("< 46.0.1", "46.0.0", True),
        ("< 46.0.1", "46.0.1rc1", True),  # a prerelease sorts before its release
        ("<= 45.0.7", "45.0.7", True),
        ("<= 45.0.7", "45.0.8", False),
        ("> 1.0.0", "1.0.1", True),
        ("> 1.0.0", "1.0.0", False),
        (">= 4.1.0", "4.1.0", True),
        (">= 4.1.0", "4.0.9", False),
        (">= 1.0.0, <= 1.2.0", "1.1.0", True),
        (">= 1.0.0, <= 1.2.0", "1.2.0", True),
        (">= 1.0.0, <= 1.2.0", "0.9.0", False),
        (">= 1.0.0, <= 1.2.0", "1.2.1", False),
        ("> 1.0.0, < 2", "1.99.0", True),
        ("> 1.0.0, < 2", "2.0.0", False),
    ],
)
def test_every_operator(text: str, version: str, expected: bool) -> None:
    assert VersionRange.parse(text).contains(at(version)) is expected


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("= v2.2.0", "2.2.0"),  # the v prefix in the range
        ("= 2.2.0", "v2.2.0"),  # ... and on the tag
        ("= V2.2.0", "v2.2.0"),
        ("< v3", "v2.9.9"),
        (">= v1.0.0, < v2.0.0", "1.5.0"),
    ],
)
def test_the_v_prefix_is_ignored_on_either_side(text: str, version: str) -> None:
    assert VersionRange.parse(text).contains(at(version)) is True


def test_a_version_range_cannot_decide_a_commit_without_a_version() -> None:
    unknown = at(None)
    for text in ("< 46.0.1", "= 1", ">= 1.0.0, <= 1.2.0"):
        assert VersionRange.parse(text).contains(unknown) is None
    # one constraint that fails decides it, unknown or not
    assert VersionRange.parse("= nightly, < 2").contains(at(None, "main")) is False


def test_a_commit_named_exactly_full_or_abbreviated() -> None:
    full = VersionRange.parse(f"= {SHA_B}")
    assert full.contains(at(None, commit=SHA_B)) is True
    assert full.contains(at("1.0.0", commit=SHA_A)) is False  # another commit, versioned or not
    assert full.names_commit
    short = VersionRange.parse("= 0e58ed8")  # as advisories write it
    assert short.contains(at(None, commit=SHA_B)) is True
    assert short.contains(at(None, commit=SHA_A)) is False
    upper = VersionRange.parse(f"= {SHA_B.upper()}")
    assert upper.contains(at(None, commit=SHA_B)) is True
    # hex that also reads as a version (1234 alpha 56) is a commit; all digits is a version
    assert VersionRange.parse("= 1234a56").constraints[0].commit == "1234a56"
    assert VersionRange.parse("= 1234567").constraints[0].version == Version("1234567")


def test_a_tag_named_exactly() -> None:
    nightly = VersionRange.parse("= nightly")
    assert nightly.contains(at(None, "nightly")) is True
    assert nightly.contains(at("1.0.0", "v1.0.0")) is False
    assert not nightly.names_commit


def test_no_range_covers_every_version() -> None:
    for text in (None, "", "  "):
        parsed = VersionRange.parse(text)
        assert parsed.constraints == ()
        assert parsed.contains(at("1.0.0")) is True
        assert parsed.contains(at(None)) is True


@pytest.mark.parametrize(
    "text",
    ["< ", ",", "1.0.0,", "< nightly", ">= 0e58ed8", "!= 1.0.0", "!=1.0.0", "= 1 .0", "~> 1.0"],
)
def test_text_that_is_no_range_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        VersionRange.parse(text)


# ----------------------------------------------------------------------------- advisories


def advisory(
    ghsa: str,
    *entries: tuple[str, str | None, str | None],
    withdrawn: bool = False,
    ecosystem: str = "actions",
) -> Advisory:
    return Advisory(
        ghsa_id=ghsa,
        cve_id=None,
        summary=f"summary of {ghsa}",
        severity="high",
        html_url=f"https://github.com/advisories/{ghsa}",
        published_at=datetime(2025, 1, 1, tzinfo=UTC),
        withdrawn_at=datetime(2025, 2, 1, tzinfo=UTC) if withdrawn else None,
        packages=tuple(AffectedPackage(ecosystem, name, rng, fix) for name, rng, fix in entries),
    )


def test_packages_of_an_action_and_of_an_action_in_a_subdirectory() -> None:
    assert packages_of(ActionRef("Tj-Actions", "Changed-Files", None, "v1")) == (
        "tj-actions/changed-files",
    )
    assert packages_of(ActionRef("github", "codeql-action", "Init", "v3")) == (
        "github/codeql-action",
        "github/codeql-action/init",
    )


def test_judge_matches_the_package_in_any_case_and_in_its_ecosystem_only() -> None:
    packages = ("o/r",)
    assert judge(advisory("G1", ("O/R", "< 2", "2")), packages, at("1.0")).affected is True
    npm = advisory("G2", ("o/r", "< 2", "2"), ecosystem="npm")
    assert judge(npm, packages, at("1.0")).affected is False
    other = advisory("G3", ("o/r/sub", "< 2", "2"))
    assert judge(other, packages, at("1.0")).affected is False
    assert judge(other, ("o/r", "o/r/sub"), at("1.0")).affected is True


def test_any_entry_of_an_advisory_can_match_and_an_unreadable_one_is_unknown() -> None:
    two = advisory("G1", ("o/r", "< 1.0.0", "1.0.0"), ("o/r", ">= 2.0.0, < 2.0.3", "2.0.3"))
    verdict = judge(two, ("o/r",), at("2.0.1"))
    assert verdict.affected is True
    assert verdict.package is not None and verdict.package.first_patched == "2.0.3"
    assert judge(two, ("o/r",), at("1.5.0")).affected is False
    broken = advisory("G2", ("o/r", "~> 1.0", None))
    unknown = judge(broken, ("o/r",), at("1.0.0"))
    assert unknown.affected is None and "unreadable" in unknown.reason


def test_withdrawn_advisories_are_left_out() -> None:
    live = advisory("G1", ("o/r", "< 2", "2"))
    gone = advisory("G0", ("o/r", "< 9", None), withdrawn=True)
    assert [v.advisory.ghsa_id for v in verdicts([gone, live], ("o/r",), at("1.0.0"))] == ["G1"]
    assert [v.advisory.ghsa_id for v in affected_by([gone, live], ("o/r",), at("5.0.0"))] == []


# ----------------------------------------------------------------------------- fixes


def listing(*tags: tuple[str, str]) -> RefListing:
    refs = tuple(GitRef(f"refs/tags/{name}", sha, sha) for name, sha in tags)
    return RefListing("tj-actions/changed-files", refs, "main")


def sha(label: str) -> str:
    return (label.encode().hex() * 40)[:40]


TJ_TAGS = listing(
    ("v45.0.7", sha("4507")),
    ("v45", sha("4507")),
    ("v46.0.0", sha("4600")),
    ("v46.0.1", sha("4601")),
    ("v46.0.2", sha("4602")),
    ("v46", sha("4602")),
    ("v47.0.0-rc.1", sha("47rc")),
)
TJ = advisory("GHSA-mrrh-fwg8-r2c3", ("tj-actions/changed-files", "< 46.0.1", "46.0.1"))


def test_the_fix_is_the_lowest_release_at_or_above_the_first_patched_version() -> None:
    fix = fixing_release(
        TJ_TAGS,
        path=None,
        packages=("tj-actions/changed-files",),
        advisories=[TJ],
        current=Version("45.0.7"),
        first_patched="46.0.1",
    )
    assert fix is not None and fix.short == "v46.0.1"  # not the floating v46, not v46.0.2
    action = ActionRef("tj-actions", "changed-files", None, sha("4507"))
    assert pin_text(action, fix) == f"tj-actions/changed-files@{sha('4601')} # v46.0.1"


def test_the_fix_skips_releases_another_advisory_covers() -> None:
    also = advisory("GHSA-later", ("tj-actions/changed-files", "= 46.0.1", "46.0.2"))
    fix = fixing_release(
        TJ_TAGS,
        path=None,
        packages=("tj-actions/changed-files",),
        advisories=[TJ, also],
        current=Version("45.0.7"),
        first_patched="46.0.1",
    )
    assert fix is not None and fix.short == "v46.0.2"


def test_without_a_patched_version_the_fix_is_the_newest_unaffected_release() -> None:
    setup = listing(("v1.3.0", sha("130")), ("v1", sha("1")), ("v1.3.2", sha("132")))
    dog = advisory("GHSA-qmg3-hpqr-gqvc", ("reviewdog/action-setup", "= 1", None))
    fix = fixing_release(
        setup,
        path=None,
        packages=("reviewdog/action-setup",),
        advisories=[dog],
        current=Version("1"),
        first_patched=None,
    )
    assert fix is not None and fix.short == "v1.3.2"


def test_no_fix_when_every_later_release_is_covered() -> None:
    open_ended = advisory("G", ("tj-actions/changed-files", ">= 45.0.0", None))
    fix = fixing_release(
        TJ_TAGS,
        path=None,
        packages=("tj-actions/changed-files",),
        advisories=[open_ended],
        current=Version("45.0.7"),
        first_patched=None,
    )
    assert fix is None


def test_a_prerelease_fixes_only_when_the_patched_version_is_one() -> None:
    rc = listing(("v1.0.0", sha("100")), ("v2.0.0-rc.1", sha("2rc")), ("v2.0.0", sha("200")))
    covered = advisory("G", ("o/r", "< 2.0.0rc1", "2.0.0-rc.1"))
    kw = dict(path=None, packages=("o/r",), advisories=[covered], current=Version("1.0.0"))
    fix = fixing_release(rc, first_patched="2.0.0-rc.1", **kw)  # type: ignore[arg-type]
    assert fix is not None and fix.short == "v2.0.0-rc.1"
    final = advisory("G", ("o/r", "< 2.0.0", "2.0.0"))
    kw["advisories"] = [final]
    fix = fixing_release(rc, first_patched="2.0.0", **kw)  # type: ignore[arg-type]
    assert fix is not None and fix.short == "v2.0.0"


def test_the_version_of_a_commit_is_its_version_tag_never_a_written_name() -> None:
    tags = listing(("v45.0.7", sha("4507")), ("v45", sha("4507")), ("latest", sha("4507")))
    version_tag = tags.tag("v45.0.7")
    subject = subject_of(sha("4507"), version_tag, tags, path=None, written="v45")
    assert subject.version == Version("45.0.7")
    assert subject.names == {"v45.0.7", "v45", "latest"}
    bare = subject_of(sha("dead"), None, tags, path=None)
    assert bare.version is None and bare.names == frozenset()


def test_a_monorepo_tag_is_the_version_of_its_own_action() -> None:
    kit = RefListing(
        "adv-org/kit",
        (GitRef("refs/tags/setup/v1.0.0", sha("s1"), sha("s1")),),
        "main",
    )
    subject = subject_of(sha("s1"), kit.tag("setup/v1.0.0"), kit, path="setup")
    assert subject.version == Version("1.0.0")
    covered = advisory("G", ("adv-org/kit/setup", "< 1.1.0", "1.1.0"))
    packages = packages_of(ActionRef("adv-org", "kit", "setup", sha("s1")))
    assert judge(covered, packages, subject).affected is True
    other = packages_of(ActionRef("adv-org", "kit", "cache", sha("s1")))
    assert judge(covered, other, subject).affected is False
