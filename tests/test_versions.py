"""Version tags and the choice of the comment tag (design.md section 3)."""

from __future__ import annotations

import pytest
from packaging.version import Version

from pinner.core.versions import best_version_tag, parse_version, version_tags
from pinner.models import GitRef, RefListing

C1 = "1" * 40
C2 = "2" * 40


def listing(*tags: tuple[str, str]) -> RefListing:
    return RefListing("o/r", tuple(GitRef("refs/tags/" + n, c, c) for n, c in tags), "main")


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("v1", "1"),
        ("v1.2", "1.2"),
        ("v1.2.3", "1.2.3"),
        ("1.2.3", "1.2.3"),
        ("v2.0.0-rc.1", "2.0.0rc1"),
        ("v1.0.0-beta2", "1.0.0b2"),
    ],
)
def test_parse_version_accepts_release_tags(tag: str, expected: str) -> None:
    assert parse_version(tag) == Version(expected)


@pytest.mark.parametrize(
    "tag",
    [
        "main",
        "v1.0.0-light",
        "v1-node16",
        "latest",
        "1.0.post1",
        "1.0+local",
        "1!2.0",
        "v",
        "release-1.2",
        "v1.2.3.dev0",
        "argo-lint/v1.0.0",
        "",
    ],
)
def test_parse_version_refuses_non_versions(tag: str) -> None:
    assert parse_version(tag) is None


def test_parse_version_monorepo_prefix_only_for_its_path() -> None:
    assert parse_version("argo-lint/v1.1.0", path="actions/argo-lint") == Version("1.1.0")
    assert parse_version("actions/argo-lint/v1.1.0", path="actions/argo-lint") == Version("1.1.0")
    assert parse_version("aws-auth/v1.1.0", path="actions/argo-lint") is None
    assert parse_version("argo-lint/v1.1.0") is None
    assert parse_version("v1.1.0", path="actions/argo-lint") == Version("1.1.0")


def test_best_tag_is_most_specific_in_the_users_family() -> None:
    refs = listing(("v4", C1), ("v4.2", C1), ("v4.2.2", C1), ("v5.0.0", C1), ("v4.2.3", C2))
    assert best_version_tag(refs, C1, prefer="v4").short == "v4.2.2"
    assert best_version_tag(refs, C1, prefer="v5").short == "v5.0.0"
    assert best_version_tag(refs, C2, prefer="v4").short == "v4.2.3"


def test_best_tag_is_not_the_longest_string() -> None:
    refs = listing(("v1.0.0-light", C1), ("v1.0.0", C1), ("v1", C1))
    assert best_version_tag(refs, C1, prefer="v1").short == "v1.0.0"
    assert best_version_tag(refs, C1).short == "v1.0.0"


def test_best_tag_prefers_release_over_prerelease_and_none_when_no_version() -> None:
    refs = listing(("v2.0.0-rc.1", C1), ("v2.0.0", C1), ("nightly", C2))
    assert best_version_tag(refs, C1).short == "v2.0.0"
    assert best_version_tag(refs, C2) is None
    assert best_version_tag(refs, "9" * 40) is None


def test_best_tag_without_preference_picks_specific_then_highest() -> None:
    refs = listing(("v3", C1), ("v3.1.0", C1), ("v3.0.9", C1), ("3.1.0", C1))
    assert best_version_tag(refs, C1).short == "v3.1.0"
    assert best_version_tag(refs, C1, prefer="3.1").short == "3.1.0"


def test_best_tag_monorepo_prefers_path_tags() -> None:
    refs = listing(
        ("argo-lint/v1", C1), ("argo-lint/v1.1.0", C1), ("aws-auth/v9.9.9", C1), ("v0.1.0", C1)
    )
    path = "actions/argo-lint"
    assert best_version_tag(refs, C1, path=path).short == "argo-lint/v1.1.0"
    assert best_version_tag(refs, C1, prefer="argo-lint/v1", path=path).short == (
        "argo-lint/v1.1.0"
    )
    assert best_version_tag(refs, C1, prefer="v0.1", path=path).short == "v0.1.0"
    # the root action never takes another path's tag
    assert best_version_tag(refs, C1).short == "v0.1.0"


def test_unparseable_preference_is_ignored() -> None:
    refs = listing(("v1.2.3", C1), ("v1", C1))
    assert best_version_tag(refs, C1, prefer="main").short == "v1.2.3"


def test_version_tags_newest_first() -> None:
    refs = listing(("v1.0.0", C1), ("v1.10.0", C1), ("v1.9.0", C2), ("junk", C2))
    assert [r.short for r, _ in version_tags(refs)] == ["v1.10.0", "v1.9.0", "v1.0.0"]
