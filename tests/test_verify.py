"""Impostor commits: fast path, compare order, budget, verdicts (design.md section 3)."""

from __future__ import annotations

import asyncio

from test_pin_fakes import FakeForge, FakeRepo, sha_of

from pinner.batching import Batcher
from pinner.core.verify import candidate_refs, check_reachability
from pinner.forge.base import NotBatched
from pinner.models import Comparison, GitRef, RefListing


def listing_of(repo: FakeRepo) -> RefListing:
    return asyncio.run(FakeForge(repo).list_refs(repo.name))


def check(forge: FakeForge, repo: FakeRepo, sha: str, budget: int | None = 10):
    async def go():
        listing = await forge.list_refs(repo.name)
        forge.calls.clear()
        return await check_reachability(forge, repo.name, sha, listing, budget=budget)

    return asyncio.run(go())


def test_tip_is_reachable_without_requests() -> None:
    repo = FakeRepo("o/r")
    main = repo.chain("m", 3)
    repo.branch("main", main[2])
    repo.tag("v1.0.0", main[1], annotated=True)
    forge = FakeForge(repo)
    v = check(forge, repo, main[1])
    assert (v.verdict, v.via, v.requests) == ("reachable", "refs/tags/v1.0.0", 0)
    assert forge.calls["compare"] == 0


def test_history_commit_found_on_default_branch_first() -> None:
    repo = FakeRepo("o/r", default_branch="develop")
    main = repo.chain("m", 4)
    repo.branch("develop", main[3])
    repo.branch("aaa", main[3])
    for i in range(5):
        repo.tag(f"v1.{i}.0", repo.commit(f"t{i}", main[3]))
    forge = FakeForge(repo)
    v = check(forge, repo, main[0])
    assert (v.verdict, v.via, v.requests) == ("reachable", "refs/heads/develop", 1)
    assert forge.log[-1] == ("compare", "o/r")


def test_commit_only_on_a_release_branch() -> None:
    repo = FakeRepo("o/r")
    main = repo.chain("m", 3)
    rel = repo.chain("r", 2, start=main[0])
    repo.branch("main", main[2])
    repo.branch("zzz-feature", main[1])
    repo.branch("releases/v1", rel[1])
    v = check(FakeForge(repo), repo, rel[0])
    assert (v.verdict, v.via, v.requests) == ("reachable", "refs/heads/releases/v1", 2)


def test_fork_commit_is_an_impostor_when_every_ref_was_checked() -> None:
    repo = FakeRepo("o/r")
    main = repo.chain("m", 3)
    repo.branch("main", main[2])
    repo.tag("v1", main[1])
    repo.tag("v1.0.0", main[1])  # same commit as v1: compared once
    evil = repo.commit("evil", main[2], fork=True)
    v = check(FakeForge(repo), repo, evil)
    assert v.verdict == "impostor" and v.via is None and v.requests == 2
    assert "fork" in v.detail


def test_out_of_budget_is_unknown_not_impostor() -> None:
    repo = FakeRepo("o/r")
    main = repo.chain("m", 2)
    repo.branch("main", main[1])
    for i in range(20):
        repo.tag(f"v1.{i}", repo.commit(f"t{i}", main[1]))
    evil = repo.commit("evil", main[1], fork=True)
    forge = FakeForge(repo)
    v = check(forge, repo, evil, budget=5)
    assert (v.verdict, v.requests) == ("unknown", 5)
    assert forge.calls["compare"] == 5
    assert "budget" in v.detail


def test_missing_commit_compare_404_is_not_containment() -> None:
    repo = FakeRepo("o/r")
    main = repo.chain("m", 2)
    repo.branch("main", main[1])
    v = check(FakeForge(repo), repo, sha_of("absent"))
    assert v.verdict == "impostor"


def test_candidate_order_default_release_tags_newest_then_rest() -> None:
    repo = FakeRepo("o/r")
    c = {name: repo.commit(name) for name in "abcdefgh"}
    repo.branch("main", c["a"])
    repo.branch("feature-x", c["b"])
    repo.branch("releases/v1", c["c"])
    repo.branch("releases/v2", c["d"])
    repo.tag("v1.9.0", c["e"])
    repo.tag("v1.10.0", c["f"])
    repo.tag("nightly", c["g"])
    repo.tag("v1.10", c["f"])  # duplicate commit: dropped

    names = [r.short for r in candidate_refs(listing_of(repo))]
    assert names == [
        "main",
        "releases/v2",
        "releases/v1",
        "v1.10.0",
        "v1.9.0",
        "nightly",
        "feature-x",
    ]


# ----------------------------------------------------------------------------- batches, quota


class BatchingForge(FakeForge):
    """A FakeForge that compares in batches like GraphQL: every ``compare_ref`` asked at the
    same moment goes in one "query" of at most ``per_request`` (recorded in ``queries``)."""

    authenticated = True

    def __init__(
        self, *repos: FakeRepo, per_request: int = 50, refuse: frozenset[str] = frozenset()
    ):
        super().__init__(*repos)
        self.compares_per_request = per_request
        self.queries: list[int] = []
        self.refuse = refuse  # ref names the "query" does not answer (NotBatched)
        self._batcher = Batcher(self._many, max_size=per_request)

    async def _many(self, keys):
        self.queries.append(len(keys))
        answers = {}
        for repo, ref, head in keys:
            r = self._repo(repo)
            answers[(repo, ref, head)] = await FakeForge.compare(self, r.name, ref.commit, head)
        self.calls["compare"] -= len(keys)  # one query, not one compare per ref
        return answers

    async def compare_ref(self, repo: str, ref: GitRef, head: str) -> Comparison | None:
        if ref.name in self.refuse:
            raise NotBatched(ref.name)
        return await self._batcher.get((repo, ref, head))


class QuotaForge(FakeForge):
    """A FakeForge without a token whose REST quota allows ``quota`` compares."""

    authenticated = False

    def __init__(self, *repos: FakeRepo, quota: int) -> None:
        super().__init__(*repos)
        self.quota = quota

    def compare_quota(self) -> int:
        return self.quota - self.calls["compare"]


def many_refs(n: int) -> tuple[FakeRepo, str, list[str]]:
    """``o/r`` with ``n`` refs at distinct commits (main, tags v1.0..v1.{n-2}) and a fork
    commit on top of main; returns the repo, the fork commit and main's two commits."""
    repo = FakeRepo("o/r")
    main = repo.chain("m", 2)
    repo.branch("main", main[1])
    for i in range(n - 1):
        repo.tag(f"v1.{i}.0", repo.commit(f"t{i}", main[1]))
    return repo, repo.commit("evil", main[1], fork=True), main


def test_batched_impostor_among_111_refs_costs_three_requests() -> None:
    repo, evil, _ = many_refs(111)
    forge = BatchingForge(repo)
    v = check(forge, repo, evil, budget=None)
    assert (v.verdict, v.requests) == ("impostor", 3)
    assert forge.queries == [50, 50, 11] and forge.calls["compare"] == 0
    assert "checked all 111" in v.detail


def test_batched_commit_found_in_the_first_query() -> None:
    repo, _, _ = many_refs(111)
    inside = repo.commit("inside", repo.commit("base"))
    repo.tag("v9.0.0", repo.commit("top", inside))
    forge = BatchingForge(repo)
    v = check(forge, repo, inside, budget=None)
    assert (v.verdict, v.via, v.requests) == ("reachable", "refs/tags/v9.0.0", 1)
    assert forge.queries == [50]


def test_refs_a_batch_cannot_answer_are_compared_alone() -> None:
    repo, evil, _ = many_refs(5)
    forge = BatchingForge(repo, refuse={"refs/tags/v1.1.0", "refs/tags/v1.3.0"})
    v = check(forge, repo, evil, budget=None)
    assert v.verdict == "impostor" and "checked all 5" in v.detail
    assert forge.queries == [3] and forge.calls["compare"] == 2  # one query, two alone
    assert v.requests == 3


def test_budget_caps_batched_requests_and_says_what_finishes() -> None:
    repo, evil, _ = many_refs(111)
    v = check(BatchingForge(repo), repo, evil, budget=1)
    assert (v.verdict, v.requests) == ("unknown", 1)
    assert "none of the 50 refs checked of 111" in v.detail
    assert "--budget 3 checks them all" in v.detail


def test_anonymous_quota_bounds_the_rest_compares() -> None:
    repo, evil, _ = many_refs(111)
    forge = QuotaForge(repo, quota=20)
    v = check(forge, repo, evil, budget=None)
    assert (v.verdict, v.requests) == ("unknown", 20) and forge.calls["compare"] == 20
    assert "the anonymous API quota is nearly spent" in v.detail
    assert "with a token (GITHUB_TOKEN) the other 91 take 2 GraphQL queries" in v.detail


def test_quota_never_stops_a_check_that_succeeds_first() -> None:
    repo, _, main = many_refs(30)
    v = check(QuotaForge(repo, quota=3), repo, main[0], budget=None)
    assert (v.verdict, v.via, v.requests) == ("reachable", "refs/heads/main", 1)


def test_tags_around_the_claimed_version_come_first() -> None:
    repo = FakeRepo("o/r")
    c = {name: repo.commit(name) for name in "abcdefghij"}
    repo.branch("main", c["a"])
    repo.branch("releases/v1", c["b"])
    repo.branch("feature", c["c"])
    for version, label in (
        ("v1.2.0", "d"),
        ("v1.3.0", "e"),
        ("v1.3.1", "f"),
        ("v1.4.0", "g"),
        ("v2.0.0", "h"),
        ("tool/v1.3.1", "i"),
        ("nightly", "j"),
    ):
        repo.tag(version, c[label])
    listing = listing_of(repo)
    names = [r.short for r in candidate_refs(listing, claim="v1.3.1")]
    assert names == [
        "main",
        "releases/v1",
        "v1.3.1",  # the claimed release, then the newer ones of its family nearest first
        "v1.4.0",
        "v2.0.0",
        "v1.3.0",  # then the older ones, nearest first
        "v1.2.0",
        "tool/v1.3.1",  # every other tag, newest first
        "nightly",
        "feature",
    ]
    assert [r.short for r in candidate_refs(listing, claim="not a version")][2] == "v2.0.0"
