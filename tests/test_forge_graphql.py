"""GitHubForge's GraphQL channel over respx: batching, parsing, and every way back to git/REST.

A small fake GraphQL server answers from a dict of repositories, by alias and variables, the way
GitHub does (aliases ``rN`` with ``$oN``/``$nN``, ``xJ: object(oid: $sN_J)``). The emulator
end-to-end tests check the same client against a real GraphQL executor.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from pinner.errors import NotFoundError, RateLimitError, RemoteError
from pinner.forge.github import GitHubForge
from pinner.forge.gitproto import FLUSH, pkt_line
from pinner.forge.graphql import _PEEL_DEPTH, REFS_FRAGMENTS, graphql_url, parse_listing
from pinner.forge.http import Transport
from pinner.models import Commit, GitRef, RefListing, TagObject
from pinner.settings import ForgeUrls, Secret, Settings

SERVER = "https://ghe.example.com"
GRAPHQL = f"{SERVER}/api/graphql"
TOKEN = "ghp_SENTINELgraphqlTOKEN"


def sha(n: int) -> str:
    return f"{n:040x}"


# A repository: heads and tags as (name, object, peeled-or-None), plus commits/tag objects.
REPOS: dict[str, dict[str, Any]] = {
    "o/alpha": {
        "default": "main",
        "heads": [("main", sha(1), None), ("dev", sha(2), None)],
        "tags": [("v1.0.0", sha(11), sha(1)), ("v1", sha(1), None)],
    },
    "o/beta": {"default": "trunk", "heads": [("trunk", sha(3), None)], "tags": []},
    "o/gamma": {"default": None, "heads": [], "tags": []},
}
OBJECTS: dict[str, dict[str, Any]] = {
    sha(1): {
        "__typename": "Commit",
        "oid": sha(1),
        "committedDate": "2024-05-06T07:08:09Z",
        "parents": {"totalCount": 2, "nodes": [{"oid": sha(90)}, {"oid": sha(91)}]},
    },
    sha(11): {
        "__typename": "Tag",
        "oid": sha(11),
        "name": "v1.0.0",
        "tagger": {"date": "2024-05-07T00:00:00+02:00"},
        "target": {"__typename": "Commit", "oid": sha(1)},
    },
}


def _target(obj: str, peeled: str | None) -> dict[str, Any]:
    """A ref's ``target`` as the listing query asks for it: only a Tag has a nested target."""
    if peeled is None:
        return {"oid": obj}
    return {"oid": obj, "target": {"oid": peeled}}


def _page(refs: list[tuple[str, str, str | None]], total: int | None = None) -> dict[str, Any]:
    return {
        "totalCount": len(refs) if total is None else total,
        "nodes": [{"name": n, "target": _target(o, p)} for n, o, p in refs],
    }


class FakeGraphQL:
    """Answers Refs and Objects queries from REPOS/OBJECTS; records every query it gets."""

    def __init__(self, repos: dict[str, dict[str, Any]] | None = None) -> None:
        self.repos = REPOS if repos is None else repos
        self.queries: list[dict[str, Any]] = []
        self.hook: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["content-type"] == "application/json"
        payload = json.loads(request.content)
        self.queries.append(payload)
        variables = payload["variables"]
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for alias, owner_var, name_var, body in re.findall(
            r"(r\d+): repository\(owner: \$(o\d+), name: \$(n\d+)\) \{(.*?)\}\s*$",
            payload["query"],
            re.M,
        ):
            repo = f"{variables[owner_var]}/{variables[name_var]}"
            snap = self.repos.get(repo)
            if snap is None:
                data[alias] = None
                errors.append(
                    {
                        "type": "NOT_FOUND",
                        "path": [alias],
                        "message": f"Could not resolve to a Repository with the name '{repo}'.",
                    }
                )
                continue
            if "...Listing" in body:
                default = snap["default"]
                data[alias] = {
                    "defaultBranchRef": {"name": default} if default else None,
                    "heads": _page(snap["heads"], snap.get("heads_total")),
                    "tags": _page(snap["tags"], snap.get("tags_total")),
                }
            else:
                data[alias] = {
                    x: OBJECTS.get(variables[var])
                    for x, var in re.findall(r"(x\d+): object\(oid: \$(s\d+_\d+)\)", body)
                }
        answer: dict[str, Any] = {"data": data}
        if errors:
            answer["errors"] = errors
        if self.hook is not None:
            answer = self.hook(answer)
        return httpx.Response(200, json=answer)


def settings(token: str | None = TOKEN) -> Settings:
    return Settings(
        urls=ForgeUrls.derive(SERVER),
        token=Secret(token) if token else None,
        max_retry_time=0.0,
    )


async def _no_sleep(_seconds: float) -> None:
    return None


def run(work: Callable[[GitHubForge], Any], *, token: str | None = TOKEN) -> Any:
    async def go() -> Any:
        s = settings(token)
        transport = Transport(s, sleep=_no_sleep)
        async with GitHubForge(s, transport=transport) as forge:
            try:
                return await work(forge)
            finally:
                await transport.aclose()

    return asyncio.run(go())


def git_v2(*lines: str) -> bytes:
    return b"".join(pkt_line(line + "\n") for line in lines) + FLUSH


def mock_git(repo: str, body: bytes | None = None, status: int = 200) -> respx.Route:
    return respx.post(f"{SERVER}/{repo}.git/git-upload-pack").mock(
        return_value=httpx.Response(status, content=body or b"")
    )


def list_many(*repos: str) -> Callable[[GitHubForge], Any]:
    async def work(forge: GitHubForge) -> list[Any]:
        return await asyncio.gather(*(forge.list_refs(r) for r in repos), return_exceptions=True)

    return work


# ----------------------------------------------------------------------------- ref listings


@pytest.mark.parametrize(
    ("api", "expected"),
    [
        ("https://api.github.com", "https://api.github.com/graphql"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"),
        ("https://api.acme.ghe.com/", "https://api.acme.ghe.com/graphql"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/graphql"),
    ],
)
def test_graphql_endpoint_follows_the_api_base(api, expected):
    assert graphql_url(api) == expected


@respx.mock
def test_concurrent_listings_travel_in_one_query_and_parse_like_git():
    fake = FakeGraphQL()
    route = respx.post(GRAPHQL).mock(side_effect=fake)
    alpha, beta, gamma = run(list_many("o/alpha", "o/beta", "o/gamma"))
    assert route.call_count == 1
    assert sorted(fake.queries[0]["variables"].values()) == sorted(
        ["o", "alpha", "o", "beta", "o", "gamma"]
    )
    # git's order (by full ref name), annotated tags peeled, the object kept
    assert alpha.refs == (
        GitRef("refs/heads/dev", sha(2), sha(2)),
        GitRef("refs/heads/main", sha(1), sha(1)),
        GitRef("refs/tags/v1", sha(1), sha(1)),
        GitRef("refs/tags/v1.0.0", sha(11), sha(1)),
    )
    assert alpha.repo == "o/alpha" and alpha.default_branch == "main"
    assert alpha.tag("v1.0.0").annotated and not alpha.tag("v1").annotated
    assert beta.default_branch == "trunk" and [r.name for r in beta.refs] == ["refs/heads/trunk"]
    assert gamma.refs == () and gamma.default_branch is None


@respx.mock
def test_more_repositories_than_one_query_holds_are_split():
    repos = {f"o/r{i}": {"default": "main", "heads": [("main", sha(i), None)], "tags": []}
             for i in range(45)}  # fmt: skip
    fake = FakeGraphQL(repos)
    route = respx.post(GRAPHQL).mock(side_effect=fake)
    listings = run(list_many(*repos))
    assert route.call_count == 3  # 20 + 20 + 5
    assert [lst.branch("main").commit for lst in listings] == [sha(i) for i in range(45)]


@respx.mock
def test_a_repository_with_more_than_a_page_of_refs_is_listed_over_git():
    repos = dict(REPOS)
    repos["o/big"] = {"default": "main", "heads": [("main", sha(5), None)], "tags": [],
                      "tags_total": 101}  # fmt: skip
    respx.post(GRAPHQL).mock(side_effect=FakeGraphQL(repos))
    git = mock_git("o/big", git_v2(f"{sha(5)} refs/heads/main", f"{sha(6)} refs/tags/v9"))
    alpha, big = run(list_many("o/alpha", "o/big"))
    assert git.call_count == 1
    assert alpha.branch("main") is not None
    assert big.tag("v9").commit == sha(6)


@respx.mock
def test_a_repository_graphql_cannot_find_is_asked_of_git_which_says_it_is_missing():
    respx.post(GRAPHQL).mock(side_effect=FakeGraphQL())
    git = mock_git("o/nope", status=404)
    alpha, missing = run(list_many("o/alpha", "o/nope"))
    assert alpha.branch("main") is not None
    assert isinstance(missing, NotFoundError) and "o/nope not found" in str(missing)
    assert git.call_count == 1


@respx.mock
def test_a_repository_git_finds_though_graphql_did_not_is_listed():
    """GraphQL and git may disagree (a rename, a token scope): git has the last word."""
    respx.post(GRAPHQL).mock(side_effect=FakeGraphQL())
    mock_git("o/renamed", git_v2(f"{sha(7)} refs/heads/main"))
    (listing,) = run(list_many("o/renamed"))
    assert listing.branch("main").commit == sha(7)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405])
@respx.mock
def test_an_endpoint_that_refuses_switches_graphql_off_for_the_run(status):
    route = respx.post(GRAPHQL).mock(return_value=httpx.Response(status, json={"message": "no"}))
    mock_git("o/alpha", git_v2(f"{sha(1)} refs/heads/main"))
    mock_git("o/beta", git_v2(f"{sha(3)} refs/heads/trunk"))

    async def work(forge: GitHubForge) -> tuple[Any, Any, str | None]:
        first = await forge.list_refs("o/alpha")
        second = await forge.list_refs("o/beta")
        return first, second, forge.graphql.unavailable

    first, second, why = run(work)
    assert route.call_count == 1  # asked once, never again this run
    assert first.branch("main").commit == sha(1) and second.branch("trunk").commit == sha(3)
    assert why is not None and f"HTTP {status}" in why


@respx.mock
def test_a_refused_query_switches_graphql_off_and_git_answers():
    route = respx.post(GRAPHQL).mock(
        return_value=httpx.Response(
            200, json={"errors": [{"message": "Field 'refs' doesn't exist on type 'Repository'"}]}
        )
    )
    mock_git("o/alpha", git_v2(f"{sha(1)} refs/heads/main"))
    (listing,) = run(list_many("o/alpha"))
    assert listing.branch("main").commit == sha(1) and route.call_count == 1


@respx.mock
def test_an_error_that_names_no_repository_is_not_trusted():
    fake = FakeGraphQL()

    def stray(answer: dict[str, Any]) -> dict[str, Any]:
        answer.setdefault("errors", []).append({"message": "something went wrong"})
        return answer

    fake.hook = stray
    respx.post(GRAPHQL).mock(side_effect=fake)
    git = mock_git("o/alpha", git_v2(f"{sha(1)} refs/heads/main"))
    (listing,) = run(list_many("o/alpha"))
    assert listing.branch("main").commit == sha(1) and git.call_count == 1


@respx.mock
def test_without_a_token_graphql_is_never_asked():
    route = respx.post(GRAPHQL).mock(side_effect=FakeGraphQL())
    mock_git("o/alpha", git_v2(f"{sha(1)} refs/heads/main"))
    (listing,) = run(list_many("o/alpha"), token=None)
    assert route.call_count == 0 and listing.branch("main").commit == sha(1)


@respx.mock
def test_an_exhausted_graphql_budget_is_a_rate_limit_error_with_its_reset():
    respx.post(GRAPHQL).mock(
        return_value=httpx.Response(
            200,
            headers={
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": "4102444800",  # 2100-01-01: too far to wait
                "x-ratelimit-resource": "graphql",
            },
            json={"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]},
        )
    )
    (error,) = run(list_many("o/alpha"))
    assert isinstance(error, RateLimitError) and "resets at" in str(error)
    assert TOKEN not in str(error)


@pytest.mark.parametrize(
    "answer",
    [
        [1, 2],
        {"data": {"r0": {"defaultBranchRef": None, "heads": "x", "tags": {}}}},
        {"data": {"r0": None}, "errors": "nope"},
    ],
)
@respx.mock
def test_malformed_answers_are_remote_errors(answer):
    respx.post(GRAPHQL).mock(return_value=httpx.Response(200, json=answer))
    (error,) = run(list_many("o/alpha"))
    assert isinstance(error, RemoteError)


# ----------------------------------------------------------------------------- peeling


def test_the_listing_asks_a_target_its_type_only_where_a_tag_would_be_too_deep():
    """The cost of a listing is per field per ref: ``__typename`` once, at the innermost level."""
    assert REFS_FRAGMENTS.count("__typename") == 1
    assert REFS_FRAGMENTS.count("... on Tag") == _PEEL_DEPTH
    assert "target { __typename oid }" in REFS_FRAGMENTS


def chain_target(*oids: str, kind: str = "Commit") -> dict[str, Any]:
    """What the listing query answers for a ref at ``oids[0]``, each a tag of the next, the last
    a ``kind``: ``oid`` at every level, a nested ``target`` on tags only, and ``__typename`` only
    at the innermost level the query reaches (one below ``_PEEL_DEPTH`` tags)."""

    def level(depth: int) -> dict[str, Any]:
        more = depth + 1 < len(oids)
        if depth == _PEEL_DEPTH:
            return {"__typename": "Tag" if more else kind, "oid": oids[depth]}
        return {"oid": oids[depth], "target": level(depth + 1)} if more else {"oid": oids[depth]}

    return level(0)


def one_tag(target: dict[str, Any], name: str = "v1") -> dict[str, Any]:
    """A listing answer holding no branch and one tag with this ``target``."""
    return {
        "defaultBranchRef": None,
        "heads": {"totalCount": 0, "nodes": []},
        "tags": {"totalCount": 1, "nodes": [{"name": name, "target": target}]},
    }


def test_a_lightweight_tag_and_a_branch_are_their_commit():
    node = one_tag({"oid": sha(1)})
    node["defaultBranchRef"] = {"name": "main"}
    node["heads"] = {"totalCount": 1, "nodes": [{"name": "main", "target": {"oid": sha(2)}}]}
    assert parse_listing("o/r", node) == RefListing(
        "o/r",
        (GitRef("refs/heads/main", sha(2), sha(2)), GitRef("refs/tags/v1", sha(1), sha(1))),
        "main",
    )


def test_an_annotated_tag_keeps_its_object_and_peels_to_its_commit():
    node = one_tag({"oid": sha(11), "target": {"oid": sha(1)}})
    (ref,) = parse_listing("o/r", node).refs
    assert ref == GitRef("refs/tags/v1", sha(11), sha(1)) and ref.annotated


def test_a_tag_of_a_tag_peels_through_both():
    node = one_tag({"oid": sha(12), "target": {"oid": sha(11), "target": {"oid": sha(1)}}})
    assert parse_listing("o/r", node).refs == (GitRef("refs/tags/v1", sha(12), sha(1)),)


@pytest.mark.parametrize("depth", range(_PEEL_DEPTH + 1))
def test_tags_nested_as_deep_as_we_peel_are_peeled(depth):
    oids = [sha(20 + i) for i in range(depth)] + [sha(1)]
    assert parse_listing("o/r", one_tag(chain_target(*oids))).refs == (
        GitRef("refs/tags/v1", oids[0], sha(1)),
    )


def test_a_tag_nested_deeper_than_we_peel_is_left_to_git():
    oids = [sha(20 + i) for i in range(_PEEL_DEPTH + 1)] + [sha(1)]
    innermost = chain_target(*oids)
    for _ in range(_PEEL_DEPTH):
        innermost = innermost["target"]
    assert innermost == {"__typename": "Tag", "oid": oids[_PEEL_DEPTH]}  # the query stops here
    assert parse_listing("o/r", one_tag(chain_target(*oids))) is None


@pytest.mark.parametrize("kind", ["Tree", "Blob"])
@pytest.mark.parametrize("depth", [0, 1, _PEEL_DEPTH])
def test_a_ref_at_a_tree_or_blob_is_taken_as_its_own_commit_like_any_non_tag(kind, depth):
    """Whatever is not a Tag ends the peeling, as before: git's peeled value of a tag of a tree
    is that tree too."""
    oids = [sha(20 + i) for i in range(depth)] + [sha(5)]
    (ref,) = parse_listing("o/r", one_tag(chain_target(*oids, kind=kind))).refs
    assert ref == GitRef("refs/tags/v1", oids[0], sha(5))


@pytest.mark.parametrize("total", [2, 101])
def test_a_page_holding_fewer_refs_than_it_counts_is_left_to_git(total):
    node = one_tag({"oid": sha(1)})
    node["tags"]["totalCount"] = total
    assert parse_listing("o/r", node) is None


@pytest.mark.parametrize(
    "page",
    [
        {"nodes": []},  # no count: completeness cannot be told
        {"totalCount": "0", "nodes": []},
        {"totalCount": 0, "nodes": None},
        {"totalCount": 1, "nodes": [None]},
        {"totalCount": 1, "nodes": [{"target": {"oid": sha(1)}}]},
        {"totalCount": 1, "nodes": [{"name": 1, "target": {"oid": sha(1)}}]},
    ],
)
def test_a_malformed_page_is_a_remote_error(page):
    node = one_tag({"oid": sha(1)})
    node["heads"] = page
    with pytest.raises(RemoteError, match="refs of o/r: malformed GraphQL answer"):
        parse_listing("o/r", node)


@pytest.mark.parametrize(
    "target",
    [
        None,
        "x",
        {"target": {"oid": sha(1)}},  # no oid of its own
        {"oid": sha(11), "target": None},  # a tag that points at nothing
        {"oid": sha(11), "target": {}},
        {"oid": sha(11), "target": {"oid": "not-a-sha"}},
        {"oid": sha(21), "target": {"oid": sha(22), "target": {"oid": sha(23), "target": {}}}},
    ],
)
def test_a_malformed_target_is_a_remote_error(target):
    with pytest.raises(RemoteError, match="refs of o/r: malformed GraphQL answer"):
        parse_listing("o/r", one_tag(target))


# ----------------------------------------------------------------------------- objects


@respx.mock
def test_commit_and_tag_lookups_travel_together_and_answer_both_questions():
    fake = FakeGraphQL()
    route = respx.post(GRAPHQL).mock(side_effect=fake)

    async def work(forge: GitHubForge) -> list[Any]:
        first = await asyncio.gather(
            forge.get_commit("o/alpha", sha(1)),
            forge.get_commit("o/beta", sha(11)),
            forge.get_commit("o/alpha", sha(99)),
            return_exceptions=True,
        )
        # the tag object and the missing SHA were learnt by the same query: no new request
        second = await asyncio.gather(
            forge.get_tag_object("o/beta", sha(11)),
            forge.get_tag_object("o/alpha", sha(99)),
            forge.get_tag_object("o/alpha", sha(1)),
            return_exceptions=True,
        )
        return [*first, *second]

    commit, tag_as_commit, missing, tag, missing_tag, commit_as_tag = run(work)
    assert route.call_count == 1
    assert isinstance(commit, Commit) and commit.sha == sha(1)
    assert commit.parents == (sha(90), sha(91)) and commit.date.isoformat().startswith("2024-05-06")
    assert isinstance(tag_as_commit, NotFoundError) and isinstance(missing, NotFoundError)
    assert isinstance(tag, TagObject)
    assert (tag.tag, tag.object_sha, tag.object_type) == ("v1.0.0", sha(1), "commit")
    assert tag.tagger_date is not None and tag.tagger_date.utcoffset().total_seconds() == 0
    assert isinstance(missing_tag, NotFoundError) and isinstance(commit_as_tag, NotFoundError)


@respx.mock
def test_a_lookup_graphql_cannot_answer_goes_to_rest():
    respx.post(GRAPHQL).mock(side_effect=FakeGraphQL())
    rest = respx.get(f"{SERVER}/api/v3/repos/o/nope/commits/{sha(1)}").mock(
        return_value=httpx.Response(404, json={"message": "Not Found"})
    )

    async def work(forge: GitHubForge) -> Any:
        return await asyncio.gather(forge.get_commit("o/nope", sha(1)), return_exceptions=True)

    (error,) = run(work)
    assert isinstance(error, NotFoundError) and rest.call_count == 1


@respx.mock
def test_symbolic_refs_are_not_looked_up_over_graphql():
    route = respx.post(GRAPHQL).mock(side_effect=FakeGraphQL())
    rest = respx.get(f"{SERVER}/api/v3/repos/o/alpha/commits/main").mock(
        return_value=httpx.Response(
            200,
            json={
                "sha": sha(1),
                "commit": {"committer": {"date": "2024-01-01T00:00:00Z"}},
                "parents": [],
            },
        )
    )
    commit = run(lambda forge: forge.get_commit("o/alpha", "main"))
    assert commit.sha == sha(1) and route.call_count == 0 and rest.call_count == 1


@respx.mock
def test_a_listing_graphql_answers_with_a_null_connection_is_asked_of_git():
    fake = FakeGraphQL()

    def null_tags(answer: dict[str, Any]) -> dict[str, Any]:
        answer["data"]["r0"]["tags"] = None
        return answer

    fake.hook = null_tags
    respx.post(GRAPHQL).mock(side_effect=fake)
    git = mock_git("o/alpha", git_v2(f"{sha(1)} refs/heads/main", f"{sha(1)} refs/tags/v1"))
    (listing,) = run(list_many("o/alpha"))
    assert git.call_count == 1 and listing.tag("v1").commit == sha(1)
