"""Impostor commits: fast path, compare order, budget, verdicts (design.md section 3)."""

from __future__ import annotations

import asyncio

from test_pin_fakes import FakeForge, FakeRepo, sha_of

from pinner.core.verify import candidate_refs, check_reachability


def check(forge: FakeForge, repo: FakeRepo, sha: str, budget: int = 10):
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

    async def go():
        return await FakeForge(repo).list_refs("o/r")

    names = [r.short for r in candidate_refs(asyncio.run(go()))]
    assert names == [
        "main",
        "releases/v2",
        "releases/v1",
        "v1.10.0",
        "v1.9.0",
        "nightly",
        "feature-x",
    ]
