"""Nothing wrong is cached for ever, and no answer carries the token into the cache (issue 14,
items 8 and 14).

* A raw-content answer is taken for the file (and cached under its commit, for ever) only
  when it is a 200 or 404 served by the raw host itself: not after a redirect to another host,
  not an HTML page (a captive portal, a login page). Otherwise the contents API answers, with
  the same checks. A REST answer addressed by SHA is stored only once parsed and found to be
  the object asked for; a stored one that fails those checks is asked for again and replaced.
* A cache entry that is unreadable, of the wrong type (directory, FIFO, symlink) or a file
  where a directory belongs is a miss and is replaced; it never turns the cache off.
* An answer echoing the request's headers has the token replaced before anything (the cache
  included) sees it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from pinner.cli import app
from pinner.errors import RemoteError
from pinner.forge.cache import FileCacheStore
from pinner.forge.cached import CachedForge
from pinner.forge.github import GitHubForge
from pinner.forge.http import Transport
from tests.hostile_servers import PORTAL_PAGE, FrontServer
from tests.test_forge_github import API, RAW, MemoryCache, forge_call, make_settings, spec_example

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
CONSUMERS = ROOT / "fixtures" / "consumers"
TOKEN = "ghp_SENTINELcacheTrustTOKEN0123456789"
SHA = "a" * 40
CONTENTS = f"{API}/repos/o/r/contents/action.yml?ref={SHA}"


def through_the_cache(cache: MemoryCache, method: str, *args: str, mock_routes):  # type: ignore[no-untyped-def]
    """``method(*args)`` of a CachedForge over a GitHubForge, both storing in ``cache``."""

    async def go():  # type: ignore[no-untyped-def]
        settings = make_settings()
        transport = Transport(settings)
        async with GitHubForge(settings, cache, transport=transport, graphql=False) as forge:
            cached = CachedForge(forge, cache, scope="github.com")
            try:
                return await getattr(cached, method)(*args)
            finally:
                await transport.aclose()

    with respx.mock:
        mock_routes()
        return asyncio.run(go())


def cached_file(cache: MemoryCache, *, mock_routes) -> bytes | None:  # type: ignore[no-untyped-def]
    """``get_file`` of o/r action.yml at SHA through the cache."""
    return through_the_cache(cache, "get_file", "o/r", SHA, "action.yml", mock_routes=mock_routes)


def stored_values(cache: MemoryCache) -> list[bytes]:
    return [entry.value for entry in cache.data.values()]


# ----------------------------------------------------------------------------- raw answers


API_FILE = httpx.Response(
    200, headers={"content-type": "application/vnd.github.raw"}, content=b"name: real\n"
)


def file_entries(cache: MemoryCache) -> list[bytes]:
    return [entry.value for key, entry in cache.data.items() if key.startswith("file/")]


@pytest.mark.parametrize(
    "bad_raw",
    [
        httpx.Response(
            200, headers={"content-type": "text/html; charset=utf-8"}, content=PORTAL_PAGE
        ),
        httpx.Response(302, headers={"location": "https://portal.example/login"}),
    ],
    ids=["html-page", "redirect-to-a-login-page"],
)
def test_a_raw_answer_that_is_not_the_file_is_never_cached(bad_raw: httpx.Response) -> None:
    """The contents API answers instead, and only its answer is kept under the commit."""
    cache = MemoryCache()

    def routes() -> None:
        respx.get(f"{RAW}/o/r/{SHA}/action.yml").mock(return_value=bad_raw)
        respx.get("https://portal.example/login").mock(
            return_value=httpx.Response(
                200, headers={"content-type": "text/html"}, content=PORTAL_PAGE
            )
        )
        respx.get(CONTENTS).mock(return_value=API_FILE)

    assert cached_file(cache, mock_routes=routes) == b"name: real\n"  # the API's answer
    assert all(PORTAL_PAGE not in v for v in stored_values(cache))
    assert file_entries(cache) == [b"=\x01name: real\n"]


@pytest.mark.parametrize("found", [True, False], ids=["file", "no-file"])
@pytest.mark.parametrize("channel", ["raw", "contents"])
def test_a_file_served_by_another_host_is_used_but_never_cached(channel: str, found: bool) -> None:
    """After a redirect away (GHES with subdomain isolation serves raw files from another host),
    the answer, a file or "no such file", is right for this run, but the forge did not vouch
    for it: it is never kept under the commit."""
    cache = MemoryCache()

    def routes() -> None:
        away = httpx.Response(302, headers={"location": "https://files.example/f"})
        if channel == "raw":
            respx.get(f"{RAW}/o/r/{SHA}/action.yml").mock(return_value=away)
        else:
            respx.get(f"{RAW}/o/r/{SHA}/action.yml").mock(return_value=httpx.Response(503))
            respx.get(CONTENTS).mock(return_value=away)
        there = httpx.Response(200, headers={"content-type": "text/plain"}, content=b"x: 1\n")
        respx.get("https://files.example/f").mock(
            return_value=there if found else httpx.Response(404)
        )

    assert cached_file(cache, mock_routes=routes) == (b"x: 1\n" if found else None)
    assert file_entries(cache) == []


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (httpx.Response(200, headers={"content-type": "text/html"}, content=PORTAL_PAGE), "HTML"),
        (httpx.Response(200, json={"type": "file", "content": "bmFtZTogeA=="}), "metadata"),
    ],
    ids=["html-page", "json-metadata"],
)
def test_a_contents_api_answer_that_is_not_the_file_is_an_error_and_never_cached(
    answer: httpx.Response, match: str
) -> None:
    cache = MemoryCache()

    def routes() -> None:
        respx.get(f"{RAW}/o/r/{SHA}/action.yml").mock(return_value=httpx.Response(503))
        respx.get(CONTENTS).mock(return_value=answer)

    with pytest.raises(RemoteError, match=match):
        cached_file(cache, mock_routes=routes)
    assert file_entries(cache) == []


def test_a_commit_answer_for_another_commit_is_refused_and_never_cached() -> None:
    body = spec_example("GET /repos/{owner}/{repo}/commits/{ref}")  # its sha is not SHA
    cache = MemoryCache()
    with respx.mock:
        respx.get(f"{API}/repos/o/r/commits/{SHA}").mock(
            return_value=httpx.Response(200, json=body)
        )
        with pytest.raises(RemoteError, match="sent object"):
            forge_call("get_commit", "o/r", SHA, cache=cache)
    assert cache.data == {}


def test_a_commit_served_by_another_host_is_used_but_never_cached() -> None:
    body = spec_example("GET /repos/{owner}/{repo}/commits/{ref}")
    sha = body["sha"]
    cache = MemoryCache()

    def routes() -> None:
        respx.get(f"{API}/repos/o/r/commits/{sha}").mock(
            return_value=httpx.Response(302, headers={"location": "https://mirror.example/c"})
        )
        respx.get("https://mirror.example/c").mock(return_value=httpx.Response(200, json=body))

    assert through_the_cache(cache, "get_commit", "o/r", sha, mock_routes=routes).sha == sha
    assert cache.data == {}  # neither the REST body nor the commit


def _through_graphql(cache: MemoryCache, method: str, *args: str, mock_routes):  # type: ignore[no-untyped-def]
    """``method(*args)`` of a CachedForge over a GitHubForge that asks GraphQL first."""

    async def go():  # type: ignore[no-untyped-def]
        settings = make_settings()
        transport = Transport(settings)
        async with GitHubForge(settings, cache, transport=transport) as forge:
            cached = CachedForge(forge, cache, scope="github.com")
            try:
                return await getattr(cached, method)(*args), forge.graphql.unavailable
            finally:
                await transport.aclose()

    with respx.mock:
        mock_routes()
        return asyncio.run(go())


def test_a_graphql_answer_from_another_host_is_never_taken() -> None:
    """GraphQL answers a commit lookup for many callers at once and the commit is then kept
    for ever: one that came after a redirect away has no caller to be "this run's only" for.
    It is not taken: GraphQL is off for the run, and REST (on the API host) answers."""
    body = spec_example("GET /repos/{owner}/{repo}/commits/{ref}")
    sha = body["sha"]
    cache = MemoryCache()
    elsewhere = {
        "__typename": "Commit",
        "oid": sha,
        "committedDate": "2001-02-03T04:05:06Z",
        "parents": {"totalCount": 0, "nodes": []},
    }
    rest: list[respx.Route] = []

    def routes() -> None:
        respx.post(f"{API}/graphql").mock(
            return_value=httpx.Response(307, headers={"location": "https://mirror.example/gql"})
        )
        respx.post("https://mirror.example/gql").mock(
            return_value=httpx.Response(200, json={"data": {"r0": {"x0": elsewhere}}})
        )
        route = respx.get(f"{API}/repos/o/r/commits/{sha}")
        rest.append(route.mock(return_value=httpx.Response(200, json=body)))

    commit, why = _through_graphql(cache, "get_commit", "o/r", sha, mock_routes=routes)
    assert commit.sha == sha and commit.date is not None and commit.date.year != 2001
    assert rest[0].call_count == 1 and why is not None and "another host" in why
    assert not any(b"2001-02-03" in value for value in stored_values(cache))


def test_a_ref_listing_from_another_host_is_used_but_never_cached() -> None:
    """git ``ls-refs`` redirected away: the listing serves this run, and is not kept."""
    from pinner.forge.gitproto import FLUSH, pkt_line

    cache = MemoryCache()
    listing = pkt_line(f"{SHA} refs/heads/main\n") + FLUSH

    def routes() -> None:
        away = "https://mirror.example/o/r.git/git-upload-pack"
        respx.post("https://github.com/o/r.git/git-upload-pack").mock(
            return_value=httpx.Response(307, headers={"location": away})
        )
        respx.post(away).mock(return_value=httpx.Response(200, content=listing))

    refs = through_the_cache(cache, "list_refs", "o/r", mock_routes=routes)
    assert refs.branch("main").commit == SHA  # type: ignore[attr-defined]
    assert not any(key.startswith("refs/") for key in cache.data), list(cache.data)


def test_a_bad_answer_stored_by_an_older_pinner_is_asked_again_and_replaced() -> None:
    body = spec_example("GET /repos/{owner}/{repo}/commits/{ref}")
    sha = body["sha"]
    url = f"{API}/repos/o/r/commits/{sha}"
    cache = MemoryCache()
    cache.put(f"http/json/{url}", b'{"next": null}\n{"sha": 5}', ttl=None)  # kept "for ever"
    with respx.mock:
        route = respx.get(url).mock(return_value=httpx.Response(200, json=body))
        assert forge_call("get_commit", "o/r", sha, cache=cache).sha == sha
    assert route.call_count == 1
    assert json.loads(cache.data[f"http/json/{url}"].value.partition(b"\n")[2])["sha"] == sha


# ----------------------------------------------------------------------------- the store itself


@pytest.mark.parametrize("intruder", ["directory", "fifo", "symlink", "unreadable", "garbage"])
def test_an_entry_of_the_wrong_kind_is_a_miss_and_is_replaced(tmp_path: Path, intruder: str):
    store = FileCacheStore(tmp_path / "cache")
    store.put("file/x", b"first")
    path = store._path("file/x")
    outside = tmp_path / "outside"
    outside.write_bytes(b"not pinner's")
    path.unlink()
    if intruder == "directory":
        (path / "inner").mkdir(parents=True)
        (path / "inner" / "f").write_text("x")
    elif intruder == "fifo":
        os.mkfifo(path)  # reading it would block for ever
    elif intruder == "symlink":
        path.symlink_to(outside)
    elif intruder == "unreadable":
        path.write_bytes(b"PINNERC1garbage")
        path.chmod(0)
    else:
        path.write_bytes(os.urandom(64))
    assert store.get("file/x") is None
    store.put("file/x", b"second")
    assert store.writable, "one odd entry turned the whole cache off"
    assert store.get("file/x").value == b"second"  # type: ignore[union-attr]
    assert outside.read_bytes() == b"not pinner's"  # a symlink is replaced, never written through
    store.put("file/y", b"other")
    assert store.get("file/y").value == b"other"  # type: ignore[union-attr]


def test_a_file_where_a_cache_directory_belongs_is_replaced(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path / "cache")
    store.put("file/x", b"first")
    shard = store._path("file/x").parent
    shutil.rmtree(shard)
    shard.write_bytes(b"a file where the shard directory goes")
    store.put("file/x", b"second")
    assert store.writable and store.get("file/x").value == b"second"  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- through the CLI


def _invoke(*args: str):
    env = {"PINNER_NO_GH": "1", "GITHUB_TOKEN": TOKEN, "GH_TOKEN": "", "NO_COLOR": "1"}
    return CliRunner().invoke(app, list(args), env=env)


def _audit(front: FrontServer, root: Path, cache: Path, *extra: str):
    # --no-images: the consumer names public images, and the emulator is no registry
    return _invoke("audit", str(root), "--server-url", front.url, "--cache-dir", str(cache),
                   "--format", "json", "--no-images", *extra)  # fmt: skip


def test_a_captive_portal_never_poisons_the_cache(emulator, tmp_path: Path) -> None:
    """Run 1 meets a portal answering every raw-content request with a login page; run 2,
    offline from that cache, must give what a healthy forge gives (it gave unresolvable
    actions for ever, before: the page was cached under each commit)."""
    emu = emulator(FORGE)
    root = CONSUMERS / "audit-scenarios"
    with FrontServer(emu.url, mode="pass") as front:
        healthy = _audit(front, root, tmp_path / "healthy-cache")
        front.mode = "portal"
        portal = _audit(front, root, tmp_path / "cache")
        assert front.served_portal >= 1  # the portal did answer (once: then raw was left alone)
        front.mode = "pass"
        offline = _audit(front, root, tmp_path / "cache", "--offline")
    assert healthy.exit_code == 1, healthy.output
    assert json.loads(portal.stdout)["findings"] == json.loads(healthy.stdout)["findings"]
    assert offline.exit_code == healthy.exit_code, offline.output
    assert json.loads(offline.stdout)["findings"] == json.loads(healthy.stdout)["findings"]
    cached = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert PORTAL_PAGE not in cached


def test_answers_echoing_the_token_never_bring_it_into_the_cache_or_the_output(
    emulator, tmp_path: Path
) -> None:
    """A front that copies the request headers (``Authorization: Bearer TOKEN`` among them)
    into every JSON answer and every raw file: the token is replaced before anything sees it."""
    emu = emulator(FORGE)
    cache = tmp_path / "cache"
    with FrontServer(emu.url, mode="echo") as front:
        args = ("--server-url", front.url, "--cache-dir", str(cache))
        audit = _invoke("audit", str(CONSUMERS / "audit-scenarios"), "--format", "json",
                        "--no-images", *args)  # fmt: skip
        update = _invoke("update", str(CONSUMERS / "upd-demo"), "--dry-run", "--format", "json",
                         "--now", "2026-01-01T00:00:00Z", *args)  # fmt: skip
    assert audit.exit_code == 1, audit.output
    assert update.exit_code in (0, 1), update.output
    cached = b"".join(p.read_bytes() for p in cache.rglob("*") if p.is_file())
    assert b'"echo"' in cached or b"# echo:" in cached  # the echoes did reach the cache...
    assert TOKEN.encode() not in cached  # ...without the token
    assert b"***" in cached
    assert TOKEN not in audit.output + update.output


def test_a_not_found_from_another_host_is_never_cached() -> None:
    """git ``ls-refs`` redirected away to a host that says 404: "does not exist" is this run's
    answer (a missing repository), and the next run asks the forge again: a host the forge
    redirected to must not make a repository vanish from the cache for minutes."""
    from pinner.errors import NotFoundError

    cache = MemoryCache()

    def routes() -> None:
        away = "https://mirror.example/o/r.git/git-upload-pack"
        respx.post("https://github.com/o/r.git/git-upload-pack").mock(
            return_value=httpx.Response(307, headers={"location": away})
        )
        respx.post(away).mock(return_value=httpx.Response(404))
        respx.get("https://mirror.example/o/r.git/info/refs").mock(return_value=httpx.Response(404))

    with pytest.raises(NotFoundError):
        through_the_cache(cache, "list_refs", "o/r", mock_routes=routes)
    assert not any(key.startswith("refs/") for key in cache.data), list(cache.data)


def test_a_not_found_from_the_forge_itself_is_cached_for_a_while() -> None:
    """The counterpart: the forge's own 404 is an answer kept for the listing TTL."""
    from pinner.errors import NotFoundError

    cache = MemoryCache()

    def routes() -> None:
        respx.post("https://github.com/o/r.git/git-upload-pack").mock(
            return_value=httpx.Response(404)
        )
        respx.get("https://github.com/o/r.git/info/refs").mock(return_value=httpx.Response(404))

    with pytest.raises(NotFoundError):
        through_the_cache(cache, "list_refs", "o/r", mock_routes=routes)
    assert any(key.startswith("refs/") for key in cache.data), list(cache.data)
