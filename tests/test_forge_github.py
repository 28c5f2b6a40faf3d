"""GitHubForge over respx: REST shapes and headers, pagination, ETags, raw files, fallbacks.

GraphQL is switched off here: these tests are about the per-question channels that also
answer whatever GraphQL cannot (its batching is tested in test_forge_graphql.py)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from pinner.errors import NotFoundError, OfflineMiss, RemoteError
from pinner.forge.base import Forge
from pinner.forge.github import GitHubForge
from pinner.forge.http import Transport
from pinner.forge.rest import (
    parse_commit,
    parse_comparison,
    parse_release,
    parse_repo,
    parse_tag_object,
)
from pinner.settings import ForgeUrls, Secret, Settings

API = "https://api.github.com"
RAW = "https://raw.githubusercontent.com"
TOKEN = "ghp_SENTINELforgeTOKEN"
SHA = "7638417db6d59f3c431d3e1f261cc637155684cd"
ENDPOINTS = Path(__file__).resolve().parents[1] / ".." / "shared" / "github-api" / "endpoints.json"


# ----------------------------------------------------------------------------- fixtures


@dataclass
class Entry:
    value: bytes
    etag: str | None
    fresh: bool


class MemoryCache:
    """In-memory CacheStore: what the transport stores, and a switch to expire it all."""

    def __init__(self) -> None:
        self.data: dict[str, Entry] = {}
        self.ttls: dict[str, float | None] = {}

    def get(self, key: str) -> Entry | None:
        return self.data.get(key)

    def put(self, key: str, value: bytes, *, ttl: float | None = None, etag: str | None = None):
        self.data[key] = Entry(value, etag, True)
        self.ttls[key] = ttl

    def expire(self) -> None:
        for entry in self.data.values():
            entry.fresh = False


async def _no_sleep(_seconds: float) -> None:
    return None


def make_settings(**kw: Any) -> Settings:
    kw.setdefault("token", Secret(TOKEN))
    kw.setdefault("max_retry_time", 0.0)  # one try: failures are immediate in these tests
    return Settings(urls=ForgeUrls.derive(), **kw)


def forge_call(method: str, *args: Any, settings: Settings | None = None, cache=None, setup=None):
    """Run one forge method in a fresh event loop and forge (with instant sleeps)."""

    async def go():
        s = settings or make_settings()
        transport = Transport(s, sleep=_no_sleep)
        async with GitHubForge(s, cache, transport=transport, graphql=False) as forge:
            if setup:
                setup(forge)
            try:
                return await getattr(forge, method)(*args)
            finally:
                await transport.aclose()

    return asyncio.run(go())


def spec_example(endpoint: str, status: str = "200") -> Any:
    if not ENDPOINTS.is_file():
        pytest.skip(f"{ENDPOINTS} is absent: official GitHub API examples not available")
    data = json.loads(ENDPOINTS.read_text())
    content = data["endpoints"][endpoint]["responses"][status]["content"]["application/json"]
    return copy.deepcopy(next(iter(content["examples"].values()))["value"])


def spec_validator(schema_name: str):
    """jsonschema validator for an OpenAPI 3.0 schema (``nullable`` -> union with null)."""
    jsonschema = pytest.importorskip("jsonschema")
    if not ENDPOINTS.is_file():
        pytest.skip(f"{ENDPOINTS} is absent")
    root = json.loads(ENDPOINTS.read_text())

    def convert(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: convert(v) for k, v in node.items()}
            if node.pop("nullable", False):
                if "type" in node:
                    node["type"] = [node["type"], "null"]
                else:
                    node = {"anyOf": [node, {"type": "null"}]}
            return node
        if isinstance(node, list):
            return [convert(v) for v in node]
        return node

    converted = convert(root)
    schema = {
        **converted["components"]["schemas"][schema_name],
        "components": converted["components"],
    }
    return jsonschema.Draft7Validator(schema)


def assert_api_headers(request: httpx.Request) -> None:
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_github_forge_implements_the_forge_protocol():
    assert isinstance(GitHubForge(make_settings()), Forge)


# ----------------------------------------------------------------------------- REST endpoints


@respx.mock
def test_get_commit_request_shape_and_parse():
    body = spec_example("GET /repos/{owner}/{repo}/commits/{ref}")
    route = respx.get(f"{API}/repos/octocat/Hello-World/commits/release/v1").mock(
        return_value=httpx.Response(200, json=body)
    )
    commit = forge_call("get_commit", "octocat/Hello-World", "release/v1")
    assert_api_headers(route.calls.last.request)
    assert commit.sha == body["sha"]
    assert commit.parents == tuple(p["sha"] for p in body["parents"])
    assert commit.date == datetime.fromisoformat(body["commit"]["committer"]["date"]).astimezone(
        UTC
    )


@pytest.mark.parametrize("status", [404, 422, 409])
def test_unknown_ref_is_not_found(status):
    with respx.mock:
        respx.get(f"{API}/repos/o/r/commits/nope").mock(
            return_value=httpx.Response(status, json={"message": "No commit found for SHA: nope"})
        )
        with pytest.raises(NotFoundError, match="nope"):
            forge_call("get_commit", "o/r", "nope")


@respx.mock
def test_compare_parses_and_404_is_none():
    body = spec_example("GET /repos/{owner}/{repo}/compare/{basehead}")
    route = respx.get(f"{API}/repos/o/r/compare/main...{SHA}").mock(
        return_value=httpx.Response(200, json=body)
    )
    comparison = forge_call("compare", "o/r", "main", SHA)
    assert route.calls.last.request.url.params["per_page"] == "1"
    assert comparison.status == body["status"]
    assert comparison.ahead_by == body["ahead_by"] and comparison.behind_by == body["behind_by"]
    assert comparison.merge_base == body["merge_base_commit"]["sha"]
    respx.get(f"{API}/repos/o/r/compare/v1...{SHA}").mock(return_value=httpx.Response(404))
    assert forge_call("compare", "o/r", "v1", SHA) is None


@respx.mock
def test_tag_object():
    body = spec_example("GET /repos/{owner}/{repo}/git/tags/{tag_sha}")
    respx.get(f"{API}/repos/o/r/git/tags/{body['sha']}").mock(
        return_value=httpx.Response(200, json=body)
    )
    tag = forge_call("get_tag_object", "o/r", body["sha"])
    assert (tag.tag, tag.object_sha, tag.object_type) == (
        body["tag"],
        body["object"]["sha"],
        body["object"]["type"],
    )
    assert tag.tagger_date is not None and tag.tagger_date.tzinfo is not None
    respx.get(f"{API}/repos/o/r/git/tags/{SHA}").mock(return_value=httpx.Response(404))
    with pytest.raises(NotFoundError):
        forge_call("get_tag_object", "o/r", SHA)


def release_page(*tags: str) -> list[dict]:
    template = spec_example("GET /repos/{owner}/{repo}/releases")[0]
    page = []
    for tag in tags:
        release = copy.deepcopy(template)
        release["tag_name"] = tag
        page.append(release)
    return page


@respx.mock
def test_releases_follow_link_next_and_validate_against_the_schema():
    page1, page2 = release_page("v3", "v2"), release_page("v1")
    validator = spec_validator("release")
    for release in page1 + page2:
        validator.validate(release)
    next_url = f"{API}/repositories/1296269/releases?per_page=100&page=2"
    first = respx.get(f"{API}/repos/o/r/releases", params={"per_page": "100"}).mock(
        return_value=httpx.Response(
            200,
            json=page1,
            headers={"link": f'<{next_url}>; rel="next", <{next_url}>; rel="last"'},
        )
    )
    second = respx.get(f"{API}/repositories/1296269/releases").mock(
        return_value=httpx.Response(200, json=page2)
    )
    releases = forge_call("list_releases", "o/r")
    assert [r.tag_name for r in releases] == ["v3", "v2", "v1"]
    assert str(second.calls.last.request.url) == next_url  # followed verbatim, never built
    assert first.call_count == 1 and second.call_count == 1
    asset = releases[0].assets[0]
    assert asset.digest and asset.digest.startswith("sha256:")
    assert releases[0].published_at is not None


@respx.mock
def test_pagination_has_a_hard_page_cap():
    def endless(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        link = f'<{API}/repos/o/r/releases?page={page + 1}>; rel="next"'
        return httpx.Response(200, json=release_page(f"v{page}"), headers={"link": link})

    route = respx.get(url__startswith=f"{API}/repos/o/r/releases").mock(side_effect=endless)

    def cap(forge):
        forge.rest.max_pages = 3

    releases = forge_call("list_releases", "o/r", setup=cap)
    assert route.call_count == 3 and len(releases) == 3


@respx.mock
def test_pagination_refuses_to_leave_the_api_host():
    respx.get(f"{API}/repos/o/r/releases").mock(
        return_value=httpx.Response(
            200, json=[], headers={"link": '<https://evil.example.com/steal>; rel="next"'}
        )
    )
    with pytest.raises(RemoteError, match="left the API host"):
        forge_call("list_releases", "o/r")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"{not json", "invalid JSON"),
        (b'{"sha": "abc", "commit": {}}', "field 'sha'"),
        (b'{"sha": "abc"}', "commit.commit"),
        (b"[]", "expected a JSON object"),
    ],
)
def test_garbage_responses_are_remote_errors(body, match):
    with respx.mock:
        respx.get(f"{API}/repos/o/r/commits/main").mock(
            return_value=httpx.Response(200, content=body)
        )
        with pytest.raises(RemoteError, match=match):
            forge_call("get_commit", "o/r", "main")


@respx.mock
def test_get_repo_and_missing_repo():
    respx.get(f"{API}/repos/o/r").mock(
        return_value=httpx.Response(
            200,
            json={
                "full_name": "O/R",
                "default_branch": "trunk",
                "html_url": "https://github.com/O/R",
            },
        )
    )
    info = forge_call("get_repo", "o/r")
    assert (info.full_name, info.default_branch, info.archived) == ("O/R", "trunk", False)
    respx.get(f"{API}/repos/o/gone").mock(return_value=httpx.Response(404))
    with pytest.raises(NotFoundError, match="o/gone"):
        forge_call("get_repo", "o/gone")


@pytest.mark.parametrize("repo", ["../etc", "o/r/x", "o", "o/..", "o/r?x=1"])
def test_invalid_repository_names_are_not_found_without_a_request(repo):
    with respx.mock, pytest.raises(NotFoundError):  # no route: any request would fail
        forge_call("get_repo", repo)


# ----------------------------------------------------------------------------- ETags, offline


def test_etag_revalidation_fresh_stale_and_304():
    cache = MemoryCache()
    repo_json = {"full_name": "o/r", "default_branch": "main", "html_url": "https://github.com/o/r"}
    with respx.mock:
        route = respx.get(f"{API}/repos/o/r").mock(
            side_effect=[
                httpx.Response(200, json=repo_json, headers={"etag": '"v1"'}),
                httpx.Response(304, headers={"etag": '"v1"'}),
            ]
        )
        first = forge_call("get_repo", "o/r", cache=cache)
        assert route.call_count == 1
        # fresh entry: answered without a request
        assert forge_call("get_repo", "o/r", cache=cache) == first
        assert route.call_count == 1
        # stale entry: revalidated with If-None-Match, 304 reuses the stored body
        cache.expire()
        assert forge_call("get_repo", "o/r", cache=cache) == first
        assert route.call_count == 2
        assert route.calls.last.request.headers["if-none-match"] == '"v1"'
    assert all(entry.fresh for entry in cache.data.values())  # 304 refreshed the TTL


def test_sha_addressed_rest_answers_are_cached_forever():
    cache = MemoryCache()
    body = spec_example("GET /repos/{owner}/{repo}/commits/{ref}")
    sha = body["sha"]  # asked by SHA, the answer must be that very commit
    with respx.mock:
        respx.get(f"{API}/repos/o/r/commits/{sha}").mock(
            return_value=httpx.Response(200, json=body)
        )
        respx.get(f"{API}/repos/o/r/commits/main").mock(return_value=httpx.Response(200, json=body))
        forge_call("get_commit", "o/r", sha, cache=cache)
        forge_call("get_commit", "o/r", "main", cache=cache)
    ttls = {key.rsplit("/", 1)[-1]: ttl for key, ttl in cache.ttls.items()}
    assert ttls[sha] is None and ttls["main"] is not None


def test_offline_uses_stale_entries_and_misses_raise():
    cache = MemoryCache()
    repo_json = {"full_name": "o/r", "default_branch": "main", "html_url": "https://github.com/o/r"}
    with respx.mock:
        respx.get(f"{API}/repos/o/r").mock(return_value=httpx.Response(200, json=repo_json))
        forge_call("get_repo", "o/r", cache=cache)
    cache.expire()
    offline = replace(make_settings(), offline=True)
    with respx.mock:  # no routes: any request would fail loudly
        assert forge_call("get_repo", "o/r", cache=cache, settings=offline).full_name == "o/r"
        with pytest.raises(OfflineMiss):
            forge_call("get_repo", "o/other", cache=cache, settings=offline)
        with pytest.raises(OfflineMiss):
            forge_call("list_refs", "o/r", cache=cache, settings=offline)


# ----------------------------------------------------------------------------- files


@respx.mock
def test_get_file_from_raw_host():
    route = respx.get(f"{RAW}/o/r/{SHA}/dir/my%20action.yml").mock(
        return_value=httpx.Response(200, content=b"name: x\n")
    )
    assert forge_call("get_file", "o/r", SHA, "dir/my action.yml") == b"name: x\n"
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


@respx.mock
def test_missing_file_is_none():
    respx.get(f"{RAW}/o/r/{SHA}/action.yml").mock(return_value=httpx.Response(404))
    assert forge_call("get_file", "o/r", SHA, "action.yml") is None


@respx.mock
def test_raw_file_over_the_cap_is_too_large():
    respx.get(f"{RAW}/o/r/{SHA}/action.yml").mock(
        return_value=httpx.Response(200, content=b"x" * (2 * 1024 * 1024 + 1))
    )
    with pytest.raises(RemoteError, match="too large"):
        forge_call("get_file", "o/r", SHA, "action.yml")


@pytest.mark.parametrize(
    "raw_failure",
    [httpx.ConnectError("raw host unreachable"), httpx.Response(503), httpx.Response(403)],
    ids=["unreachable", "5xx", "forbidden"],
)
def test_raw_unavailable_falls_back_to_contents_api(raw_failure):
    with respx.mock:
        raw = respx.get(url__startswith=f"{RAW}/")
        if isinstance(raw_failure, Exception):
            raw.mock(side_effect=raw_failure)
        else:
            raw.mock(return_value=raw_failure)
        api = respx.get(url__startswith=f"{API}/repos/o/r/contents/").mock(
            side_effect=lambda request: httpx.Response(
                200 if request.url.path.endswith("action.yml") else 404,
                content=b"name: api\n",
                headers={"content-type": "application/vnd.github.raw"},
            )
        )

        async def go():
            s = make_settings()
            async with GitHubForge(
                s, transport=Transport(s, sleep=_no_sleep), graphql=False
            ) as forge:
                first = await forge.get_file("o/r", SHA, "action.yml")
                second = await forge.get_file("o/r", SHA, "action.yaml")
                await forge.transport.aclose()
                return first, second

        first, second = asyncio.run(go())
    assert (first, second) == (b"name: api\n", None)
    assert raw.call_count == 1  # raw is given up after the first failure
    request = api.calls[0].request
    assert request.headers["accept"] == "application/vnd.github.raw"
    assert request.url.params["ref"] == SHA
    assert request.headers["x-github-api-version"] == "2022-11-28"


@pytest.mark.parametrize("path", ["../x", "a//b", "/abs", ""])
def test_hostile_paths_are_refused(path):
    with respx.mock, pytest.raises(NotFoundError):
        forge_call("get_file", "o/r", SHA, path)


# ----------------------------------------------------------------------------- refs, stats


def test_list_refs_over_git_with_basic_auth_and_stats():
    body = b"003d5914dc7a4dbd74e4fa4843394215e44ee78885b2 refs/heads/main\n0000"
    stats = {}

    def keep_stats(forge):
        stats["forge"] = forge

    with respx.mock:
        route = respx.post("https://github.com/o/r.git/git-upload-pack").mock(
            return_value=httpx.Response(200, content=body)
        )
        listing = forge_call("list_refs", "o/r", setup=keep_stats)
    assert listing.branch("main").commit == "5914dc7a4dbd74e4fa4843394215e44ee78885b2"
    assert route.calls.last.request.headers["authorization"].startswith("Basic ")
    assert stats["forge"].stats.as_dict()["git"] == 1
    assert TOKEN not in repr(stats["forge"])


def test_ghes_urls_for_all_three_channels():
    ghes = Settings(urls=ForgeUrls.derive("https://ghe.example.com"), token=Secret(TOKEN))
    repo_json = {"full_name": "o/r", "default_branch": "main", "html_url": "https://x/o/r"}
    with respx.mock:
        rest = respx.get("https://ghe.example.com/api/v3/repos/o/r").mock(
            return_value=httpx.Response(200, json=repo_json)
        )
        raw = respx.get(f"https://ghe.example.com/raw/o/r/{SHA}/action.yml").mock(
            return_value=httpx.Response(200, content=b"name: ghes\n")
        )
        git = respx.post("https://ghe.example.com/o/r.git/git-upload-pack").mock(
            return_value=httpx.Response(200, content=b"0000")
        )
        assert forge_call("get_repo", "o/r", settings=ghes).full_name == "o/r"
        assert forge_call("get_file", "o/r", SHA, "action.yml", settings=ghes) == b"name: ghes\n"
        assert forge_call("list_refs", "o/r", settings=ghes).refs == ()
    for route in (rest, raw, git):
        assert route.calls.last.request.headers["authorization"].split()[0] in ("Bearer", "Basic")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=45),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "sha",
                    "commit",
                    "committer",
                    "date",
                    "parents",
                    "status",
                    "ahead_by",
                    "tag",
                    "object",
                    "type",
                    "tagger",
                    "tag_name",
                    "assets",
                    "name",
                    "html_url",
                    "size",
                    "full_name",
                    "default_branch",
                    "merge_base_commit",
                    "behind_by",
                    "url",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(JSON)
def test_any_json_shape_is_parsed_or_a_remote_error(obj):
    for parse in (parse_commit, parse_comparison, parse_tag_object, parse_release, parse_repo):
        with contextlib.suppress(RemoteError):
            parse(obj)


def test_rejected_token_says_so():
    with respx.mock:
        respx.get(f"{API}/repos/o/r").mock(
            return_value=httpx.Response(401, json={"message": "Bad credentials"})
        )
        with pytest.raises(RemoteError, match="rejected the token") as info:
            forge_call("get_repo", "o/r")
    assert TOKEN not in str(info.value)
