"""Property test: the chosen release is exactly the newest eligible one, for any release history.

An independent oracle (a few lines of plain Python over the generated history) states the rule
from the issue; hypothesis generates release histories (versions, prereleases, drafts, ages),
a current pin and a policy, and the planner must agree with the oracle every time.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from pinner.core.cooldown import Cooldown
from pinner.core.update import UpdatePolicy, Updater
from pinner.errors import NotFoundError
from pinner.models import (
    ActionRef,
    Commit,
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

NOW = datetime(2026, 6, 1, tzinfo=UTC)
REPO = "o/r"


def commit_of(tag: str) -> str:
    return hashlib.sha1(tag.encode()).hexdigest()


class HistoryForge:
    """An in-memory forge: one repository whose tags each have one release (or a draft)."""

    def __init__(self, history: dict[str, tuple[int, bool, bool]]) -> None:
        self.history = history  # tag -> (age in days, draft, prerelease flag)

    async def list_refs(self, repo: str) -> RefListing:
        refs = tuple(
            GitRef(f"refs/tags/{tag}", commit_of(tag), commit_of(tag)) for tag in self.history
        )
        return RefListing(REPO, (*refs, GitRef("refs/heads/main", "f" * 40, "f" * 40)))

    async def list_releases(self, repo: str) -> tuple[Release, ...]:
        return tuple(
            Release(
                tag_name=tag,
                name=tag,
                published_at=None if draft else NOW - timedelta(days=age),
                draft=draft,
                prerelease=pre,
                html_url=f"https://github.com/{REPO}/releases/tag/{tag}",
            )
            for tag, (age, draft, pre) in self.history.items()
        )

    async def get_commit(self, repo: str, ref: str) -> Commit:
        raise NotFoundError("no commit dates in this forge: releases carry them")

    async def get_tag_object(self, repo: str, sha: str):
        raise NotFoundError("lightweight tags only")

    async def list_advisories(self, package: str) -> tuple:
        return ()  # no advisory: the cooldown and --bump alone decide


versions = st.tuples(
    st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.sampled_from(["", "-rc.1"])
).map(lambda t: f"v{t[0]}.{t[1]}.{t[2]}{t[3]}")
histories = st.dictionaries(
    versions,
    st.tuples(st.integers(0, 40), st.booleans(), st.booleans()).map(
        lambda t: (t[0], t[1] and t[0] % 5 == 0, t[2] and t[0] % 3 == 0)  # drafts, pre flags rare
    ),
    min_size=1,
    max_size=12,
)


def oracle(
    history: dict[str, tuple[int, bool, bool]], current: str, bump: str, days: int, pre: bool
) -> str | None:
    """The issue's rule, restated independently of the implementation."""
    cur = Version(current)
    allow_pre = pre or cur.is_prerelease or history[current][2]
    best: tuple[Version, str] | None = None
    for tag, (age, draft, pre_flag) in history.items():
        v = Version(tag)
        if draft or v <= cur:
            continue
        if (v.is_prerelease or pre_flag) and not allow_pre:
            continue
        if bump == "minor" and v.major != cur.major:
            continue
        if bump == "patch" and (v.major, v.minor) != (cur.major, cur.minor):
            continue
        if age < days:
            continue
        if best is None or v > best[0]:
            best = (v, tag)
    return best[1] if best else None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=histories,
    data=st.data(),
    bump=st.sampled_from(["major", "minor", "patch"]),
    days=st.integers(0, 30),
    pre=st.booleans(),
)
def test_the_target_is_the_newest_eligible_release(
    history: dict[str, tuple[int, bool, bool]], data, bump: str, days: int, pre: bool
) -> None:
    published = [t for t, (_, draft, _) in history.items() if not draft]
    if not published:
        return
    current = data.draw(st.sampled_from(sorted(published)))
    raw = f"{REPO}@{commit_of(current)}"
    site = UsesSite(
        path=Path("/r/.github/workflows/ci.yml"),
        relpath=".github/workflows/ci.yml",
        line=1,
        column=1,
        context=SiteContext.WORKFLOW_STEP,
        value=UsesValue(raw, UsesKind.REMOTE, action=ActionRef("o", "r", None, commit_of(current))),
        value_span=Span(0, len(raw)),
        quote="",
        comment=current,
    )
    source = SourceFile(site.path, site.relpath, "workflow", "", False, "\n", (site,))
    policy = UpdatePolicy(
        now=NOW, cooldown=Cooldown(default=timedelta(days=days)), bump=bump, pre=pre
    )
    plan = asyncio.run(
        Updater(HistoryForge(history), policy, server_url="https://github.com").plan(
            [source], render=False
        )
    )
    expected = oracle(history, current, bump, days, pre)
    if expected is None:
        assert plan.changes == ()
    else:
        [change] = plan.changes
        assert change.new.version == expected
        assert change.new.sha == commit_of(expected)
        assert Version(expected) > Version(current)  # a pin never moves backwards
    for held in plan.held_back:  # everything held back is newer than what was taken
        assert Version(held.candidate.version or "0") > Version(expected or current)
        if held.reason == "cooldown":
            assert held.eligible_at is not None and held.eligible_at > NOW


tag_names = st.one_of(
    st.text(min_size=1, max_size=20),
    st.from_regex(r"\A(?:[a-z]+/)?v?\d{1,3}(?:\.\d{1,3}){0,3}(?:-?[a-z]{1,5}\.?\d?)?\Z"),
)


@settings(max_examples=100, deadline=None)
@given(names=st.lists(tag_names, max_size=30), path=st.sampled_from([None, "setup", "a/b"]))
def test_any_tag_names_rank_without_error(names: list[str], path: str | None) -> None:
    from pinner.core.update import candidates_from

    refs = tuple(GitRef(f"refs/tags/{n}", commit_of(n), commit_of(n)) for n in names)
    for family in {"", "setup/", *(n[: n.rfind("/") + 1] for n in names)}:
        found = candidates_from(RefListing(REPO, refs), (), path=path, family=family)
        versions = [c.version for c in found]
        assert versions == sorted(versions, reverse=True)
        assert len(set(versions)) == len(versions)  # one candidate per version
