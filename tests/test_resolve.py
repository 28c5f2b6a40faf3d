"""Resolution: tag before branch, peeled tags, SHAs, tag objects, single-flight listings."""

from __future__ import annotations

import asyncio

import pytest
from test_pin_fakes import FakeForge, FakeRepo, sha_of

from pinner.core.resolve import Resolver
from pinner.errors import NotFoundError
from pinner.models import ActionRef


def make_repo() -> tuple[FakeRepo, dict[str, str]]:
    repo = FakeRepo("Acme/Tool")
    main = repo.chain("m", 5)
    repo.branch("main", main[4])
    repo.tag("v1.0.0", main[1])
    repo.tag("v1", main[1])
    repo.tag("v2.0.0", main[3], annotated=True)
    repo.tag("v2", main[3], annotated=True)
    repo.branch("v2", main[4])  # a branch sharing a tag's name: ref confusion
    repo.branch("feature", main[2])
    fork = repo.commit("evil", main[4], fork=True)
    return repo, {
        "m1": main[1],
        "m2": main[2],
        "m3": main[3],
        "m4": main[4],
        "fork": fork,
        "m0": main[0],
    }


def resolve(forge: FakeForge, value: str, path: str | None = None):
    left, ref = value.split("@")
    owner, repo = left.split("/")
    return asyncio.run(Resolver(forge).resolve(ActionRef(owner, repo, path, ref)))


def test_tag_resolves_with_most_specific_comment() -> None:
    repo, c = make_repo()
    r = resolve(FakeForge(repo), "acme/tool@v1")
    assert (r.kind, r.commit, r.ref.short, r.version.short) == ("tag", c["m1"], "v1", "v1.0.0")
    assert not r.ambiguous and r.comment == "v1.0.0" and r.is_tip


def test_annotated_tag_is_peeled_and_tag_wins_over_branch() -> None:
    repo, c = make_repo()
    r = resolve(FakeForge(repo), "acme/tool@v2")
    assert r.kind == "tag" and r.commit == c["m3"]  # the tag, not the v2 branch tip
    assert r.ref.object != r.commit  # it was annotated; we wrote the commit
    assert r.ambiguous
    assert r.version.short == "v2.0.0"


def test_branch_resolves_to_tip_with_branch_comment() -> None:
    repo, c = make_repo()
    r = resolve(FakeForge(repo), "acme/tool@main")
    assert (r.kind, r.commit, r.version, r.comment) == ("branch", c["m4"], None, "main")
    r = resolve(FakeForge(repo), "acme/tool@feature")
    assert r.kind == "branch" and r.commit == c["m2"]


def test_explicit_ref_prefixes() -> None:
    repo, c = make_repo()
    assert resolve(FakeForge(repo), "acme/tool@refs/heads/v2").commit == c["m4"]
    assert resolve(FakeForge(repo), "acme/tool@refs/tags/v2").commit == c["m3"]
    with pytest.raises(NotFoundError, match="reusable workflows"):
        resolve(FakeForge(repo), "acme/tool@refs/heads/main", path=".github/workflows/x.yml")


def test_sha_at_a_tag_gets_the_tag_version() -> None:
    repo, c = make_repo()
    forge = FakeForge(repo)
    r = resolve(forge, f"acme/tool@{c['m1']}")
    assert (r.kind, r.commit, r.version.short) == ("sha", c["m1"], "v1.0.0")
    assert forge.calls["get_commit"] == 0  # a tip needs no request beyond the listing


def test_uppercase_sha_is_lowered() -> None:
    repo, c = make_repo()
    r = resolve(FakeForge(repo), f"acme/tool@{c['m1'].upper()}")
    assert r.commit == c["m1"]


def test_sha_inside_history_and_fork_commit_both_exist() -> None:
    repo, c = make_repo()
    for key in ("m0", "fork"):  # existence is not reachability: verify decides
        r = resolve(FakeForge(repo), f"acme/tool@{c[key]}")
        assert (r.kind, r.commit, r.version, r.is_tip) == ("sha", c[key], None, False)


def test_missing_sha_repo_and_ref_are_not_found() -> None:
    repo, _ = make_repo()
    with pytest.raises(NotFoundError, match="does not exist"):
        resolve(FakeForge(repo), f"acme/tool@{sha_of('nope')}")
    with pytest.raises(NotFoundError, match="not found"):
        resolve(FakeForge(repo), "acme/missing@v1")
    with pytest.raises(NotFoundError, match="no tag or branch 'v9'"):
        resolve(FakeForge(repo), "acme/tool@v9")
    with pytest.raises(NotFoundError, match="short SHAs"):
        resolve(FakeForge(repo), "acme/tool@abcdef1")


def test_tag_object_sha_is_peeled() -> None:
    repo, c = make_repo()
    tag_ref = next(r for r in repo.refs if r.name == "refs/tags/v2.0.0")
    r = resolve(FakeForge(repo), f"acme/tool@{tag_ref.object}")
    assert (r.kind, r.commit, r.version.short) == ("tag-object", c["m3"], "v2.0.0")
    # a nested tag object no ref lists directly: peeled through the forge
    nested = repo.nested_tag_object("wrapper", tag_ref.object)
    r = resolve(FakeForge(repo), f"acme/tool@{nested}")
    assert (r.kind, r.commit) == ("tag-object", c["m3"])


def test_listing_is_single_flight_per_repo_key() -> None:
    repo, _ = make_repo()
    forge = FakeForge(repo, delay=0.01)
    resolver = Resolver(forge)

    async def go() -> None:
        refs = [
            ActionRef("acme", "tool", None, "v1"),
            ActionRef("ACME", "Tool", "sub", "v2"),
            ActionRef("acme", "tool", None, "main"),
        ]
        results = await asyncio.gather(*(resolver.resolve(a) for a in refs))
        assert [r.kind for r in results] == ["tag", "tag", "branch"]
        with pytest.raises(NotFoundError):
            await resolver.resolve(ActionRef("acme", "gone", None, "v1"))
        with pytest.raises(NotFoundError):
            await resolver.resolve(ActionRef("acme", "gone", None, "v2"))

    asyncio.run(go())
    assert forge.calls["list_refs"] == 2  # acme/tool once, acme/gone once (failure shared)
