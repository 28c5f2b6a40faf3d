"""Third security pass: what a hostile forge's answers must not achieve.

Tried as an attacker with a forge on 127.0.0.1 (the emulator, fed hostile facts) and respx:

* A forge URL (``--server-url``, ``--api-url``, ``GITHUB_SERVER_URL``) carrying
  ``user:password@`` is refused in one line that does not repeat it: every link pinner prints
  starts with the server URL.
* A registry's deeply nested JSON (an error body, a tag list) is a remote error, not a
  traceback.
* A ``Link`` that loops, or pages that add up to too much, end a listing at once.
* Remote text in pull-request bodies cannot mention people or reference other issues.
* Repository ids (``owner_id``, ``repo_id``) that no GitHub repository can have (zero,
  negative, past a signed 64-bit integer, a string) are never written into ``actions.lock``,
  whichever channel brought them (REST, GraphQL, the cache): GitHub's runner, and pinner's own
  next run, would refuse the lockfile.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import respx

from pinner.errors import RemoteError
from pinner.forge.cache import FileCacheStore
from pinner.forge.cached import CachedForge
from pinner.forge.graphql import parse_repo_node
from pinner.forge.rest import parse_repo
from pinner.models import RepoInfo
from tests.test_lock_cli import LOCK, clean_env, files_of, make, run_lock, workflow, world

# ----------------------------------------------------------------------------- repository ids


@pytest.mark.parametrize("token", [True, False], ids=["graphql", "rest"])
def test_lock_never_writes_an_id_github_would_refuse(emulator, tmp_path: Path, token: bool) -> None:
    files = {".github/workflows/ci.yml": workflow("acme/tool@v1.2.0")}
    forge, repo = make(tmp_path, world(acme__tool={"repo_id": -5}), files)
    result = run_lock(emulator(forge), cwd=repo, token=token)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "acme/tool" in lines[0] and "no valid" in lines[0], lines
    assert "Traceback" not in result.stderr
    assert not (repo / LOCK).exists()


@pytest.mark.parametrize("bad", [0, -5, 1 << 63])
def test_an_impossible_id_from_rest_is_no_id(bad: int) -> None:
    answer = {
        "id": bad,
        "full_name": "o/r",
        "default_branch": "main",
        "html_url": "https://github.com/o/r",
        "owner": {"id": bad, "login": "o"},
    }
    info = parse_repo(answer)
    assert info.repo_id is None and info.owner_id is None


@pytest.mark.parametrize("bad", [0, -5, 1 << 63, "20", True, 2.0])
def test_an_impossible_id_from_graphql_leaves_the_answer_to_rest(bad: object) -> None:
    node = {
        "databaseId": bad,
        "nameWithOwner": "o/r",
        "isArchived": False,
        "url": "https://github.com/o/r",
        "defaultBranchRef": {"name": "main"},
        "owner": {"login": "o", "databaseId": 7},
    }
    assert parse_repo_node("o/r", node) is None


class _Forge:
    """An inner forge that answers get_repo with good ids and counts the questions."""

    remote = True

    def __init__(self) -> None:
        self.asked = 0

    async def get_repo(self, repo: str) -> RepoInfo:
        self.asked += 1
        return RepoInfo(repo, "main", f"https://github.com/{repo}", repo_id=20, owner_id=10)


@pytest.mark.parametrize("bad", [0, -5, 1 << 63, "20"])
def test_a_stored_repository_with_an_impossible_id_is_asked_again(
    tmp_path: Path, bad: object
) -> None:
    store = FileCacheStore(tmp_path / "cache")
    inner = _Forge()
    cached = CachedForge(inner, store, scope="github.com")  # type: ignore[arg-type]
    key = "repo/github.com/o/r"
    entry = {
        "full_name": "o/r",
        "default_branch": "main",
        "html_url": "https://github.com/o/r",
        "archived": False,
        "repo_id": bad,
        "owner_id": 10,
        "extra": {},
    }
    store.put(key, b"=" + json.dumps(entry).encode(), ttl=600)
    info = asyncio.run(cached.get_repo("o/r"))
    assert inner.asked == 1 and info.repo_id == 20
    assert b'"repo_id":20' in store.get(key).value  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- credentials in URLs

UPDATE_DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "consumers" / "upd-demo"
FIXTURE_FORGE = Path(__file__).resolve().parents[1] / "fixtures" / "forge"


def run_pinner(*args: str, cwd: Path, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "pinner", *args],
        capture_output=True,
        text=True,
        env={**clean_env(), **(env or {})},
        cwd=cwd,
        timeout=180,
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--server-url", "http://deploy:s3cret-pass@{host}"),
        ("--api-url", "http://s3cret-pass@{host}/api/v3"),
        ("GITHUB_SERVER_URL", "http://deploy:s3cret-pass@{host}"),
    ],
)
def test_a_forge_url_with_a_credential_is_refused_without_repeating_it(
    emulator, tmp_path: Path, option: str, value: str
) -> None:
    """Every link pinner prints (compare and release URLs in JSON, SARIF, PR texts) starts
    with the server URL: a ``user:password@`` in it used to be published in all of them."""
    emu = emulator(FIXTURE_FORGE)
    url = value.format(host=emu.url.removeprefix("http://"))
    work = tmp_path / "work"
    shutil.copytree(UPDATE_DEMO, work)
    before = files_of(work)
    forge = ["--server-url", emu.url, option, url] if option == "--api-url" else []
    if option == "--server-url":
        forge = [option, url]
    env = {"GITHUB_SERVER_URL": url} if option == "GITHUB_SERVER_URL" else {}
    pr_body = tmp_path / "pr.md"
    result = run_pinner(
        "update", *forge, "--no-cache", "--no-images", "--format", "json",
        "--pr-body", str(pr_body), "--now", "2026-01-01T00:00:00Z", "--cooldown", "0",
        cwd=work, env=env,
    )  # fmt: skip
    assert "s3cret-pass" not in result.stdout + result.stderr
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "must not carry a user name or password" in line and "--token" in line
    assert files_of(work) == before and not pr_body.exists()


# ----------------------------------------------------------------------------- pull-request texts

HOSTILE_SUMMARY = (
    "Found by @octocat, ping @github/security-team &#64;hubot, see #12 and acme/infra#3 "
    "[x](javascript:alert(1)) <img src=x onerror=alert(1)> <!-- the rest is hidden"
)


def hostile_advisory(tmp_path: Path, **fields: str) -> Path:
    """A snapshot overlay whose advisory database holds tj-actions/changed-files' advisory
    with :data:`HOSTILE_SUMMARY` (and ``fields``)."""
    from tests.test_advisory_fixtures import TJ

    advisory = {
        "ghsa_id": TJ,
        "summary": HOSTILE_SUMMARY,
        "severity": "high",
        "vulnerabilities": [
            {
                "package": {"ecosystem": "actions", "name": "tj-actions/changed-files"},
                "vulnerable_version_range": "< 46.0.1",
                "first_patched_version": "46.0.1",
            }
        ],
        **fields,
    }
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "advisories.json").write_text(json.dumps([advisory]))
    return overlay


def test_an_advisory_summary_cannot_ping_link_or_hide_anything_in_the_pr_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pull-request text is posted to GitHub: remote text in it must not notify anyone,
    reference other repositories' issues, become a link or HTML, or comment out the rest."""
    from typer.testing import CliRunner

    from pinner.cli import app
    from tests.test_advisory_fixtures import CONSUMER, FORGE, NOW

    overlay = hostile_advisory(tmp_path)
    repo = tmp_path / "repo"
    workflow_path = ".github/workflows/update.yml"
    (repo / ".github/workflows").mkdir(parents=True)
    shutil.copy(CONSUMER / workflow_path, repo / workflow_path)
    monkeypatch.chdir(repo)
    for var in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_SERVER_URL", "GITHUB_API_URL"):
        monkeypatch.delenv(var, raising=False)
    args = ["update", "--now", NOW, "--snapshot", str(FORGE), "--snapshot", str(overlay)]
    result = CliRunner().invoke(app, [*args, "--pr-body", "pr.md"], env={"PINNER_NO_GH": "1"})
    assert result.exit_code == 0, result.output
    body = (repo / "pr.md").read_text()
    [line] = [ln for ln in body.splitlines() if "Found by" in ln]
    for live in ("@octocat", "@github/", "#12", "#3"):
        assert live not in line, (live, line)
    # HTML, a comment, an entity and a link are shown as text: each of their characters escaped
    assert not re.search(r"(?<!\\)[<>\[\]&](?!#8203;)", line.split(", high: ")[1]), line
    assert "octocat" in line and "hubot" in line  # the words stay readable
    assert body.rstrip().endswith("Generated by `pinner update`.")


# ----------------------------------------------------------------------------- pagination


def test_a_pagination_loop_ends_the_run_in_one_line_at_once(emulator, tmp_path: Path) -> None:
    """A forge whose release list says its next page is itself used to be asked 30 times and
    its releases taken 30 times over; the loop is now a remote error at the second sight."""
    from tests.hostile_servers import FrontServer

    emu = emulator(FIXTURE_FORGE)
    work = tmp_path / "work"
    shutil.copytree(UPDATE_DEMO, work)
    before = files_of(work)
    with FrontServer(emu.url, mode="link-loop") as front:
        result = run_pinner(
            "update", "--server-url", front.url, "--no-cache", "--no-images",
            "--now", "2026-01-01T00:00:00Z", "--cooldown", "0", cwd=work,
        )  # fmt: skip
        looped = front.looped
    assert result.returncode == 3, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "pagination loops back to" in line, line
    assert looped <= 8  # each list asked once (a few lists in flight at the same time)
    assert files_of(work) == before


def _list_tags_of(pages: Callable[[httpx.Request], httpx.Response]) -> tuple[str, int]:
    """Ask for the tags of ``reg.example/a`` from a registry answering ``pages``: the remote
    error it ends with, and the number of pages asked for."""
    from pinner.registry.names import parse_image
    from tests.test_registry_units import _client

    async def go() -> tuple[str, ...]:
        client, transport = _client()
        async with transport:
            return await client.list_tags(parse_image("reg.example/a:v1"))

    with respx.mock(assert_all_mocked=True) as mock:
        route = mock.get(url__startswith="https://reg.example/v2/a/tags/list").mock(
            side_effect=pages
        )
        with pytest.raises(RemoteError) as failure:
            asyncio.run(go())
    return str(failure.value), route.call_count


def test_a_registry_tag_list_that_loops_is_a_remote_error_at_once() -> None:
    def page(request: httpx.Request) -> httpx.Response:
        last = request.url.params.get("last")
        target = "/v2/a/tags/list?n=1000" + ("" if last else "&last=v1")  # 1 -> 2 -> 1 -> 2...
        tags = ["v2"] if last else ["v1"]
        return httpx.Response(200, json={"tags": tags}, headers={"link": f'<{target}>; rel="next"'})

    error, asked = _list_tags_of(page)
    assert error == "list tags of reg.example/a: its pages loop" and asked == 2


def test_a_registry_tag_list_is_capped_in_bytes_over_all_its_pages() -> None:
    filler = [f"t{i:07d}-" + "x" * 40 for i in range(70_000)]  # about 3.5 MiB a page

    def page(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("last", "0"))
        link = f'</v2/a/tags/list?n=1000&last={n + 1}>; rel="next"'
        return httpx.Response(200, json={"tags": filler}, headers={"link": link})

    error, asked = _list_tags_of(page)
    assert error.startswith("list tags of reg.example/a") and asked <= 5  # not 50 pages of 4 MiB


@respx.mock
def test_a_rest_listing_is_capped_in_bytes_over_all_its_pages() -> None:
    """30 pages of 32 MiB each would be a gigabyte of JSON; the pages of one listing share
    one cap (64 MiB; 1 MiB here)."""
    from tests.test_forge_github import API, forge_call, release_page

    big = release_page(*(f"v{i}" for i in range(100)))
    for release in big:
        release["body"] = "x" * 4000  # about half a MiB a page

    def endless(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        link = f'<{API}/repos/o/r/releases?page={page + 1}>; rel="next"'
        return httpx.Response(200, json=big, headers={"link": link})

    route = respx.get(url__startswith=f"{API}/repos/o/r/releases").mock(side_effect=endless)

    def cap(forge) -> None:  # type: ignore[no-untyped-def]
        forge.rest.max_list_bytes = 1024 * 1024

    with pytest.raises(RemoteError, match="its pages add up to more than 1048576 bytes"):
        forge_call("list_releases", "o/r", setup=cap)
    assert route.call_count <= 3


# ----------------------------------------------------------------------------- deep JSON

DEEP = b"[" * 200_000  # Python's parser recurses once a level: RecursionError, not ValueError


class _DeepRegistry(BaseHTTPRequestHandler):
    """A registry whose error bodies (``mode`` "error") or tag lists ("tags") nest 200,000 deep."""

    protocol_version = "HTTP/1.1"
    mode = "error"

    def _answer(self) -> None:
        if self.mode == "error":
            status, body = 400, b'{"errors": ' + DEEP
        elif "/tags/list" in self.path:
            status, body = 200, b'{"tags": ' + DEEP
        else:
            status, body = 200, b"{}"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Docker-Content-Digest", "sha256:" + "a" * 64)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.mark.parametrize(
    ("mode", "command", "said"),
    [
        ("error", "pin", "answered HTTP 400"),
        ("tags", "update", "not a tag list"),
    ],
)
def test_deeply_nested_json_from_a_registry_is_one_line_not_a_traceback(
    tmp_path: Path, mode: str, command: str, said: str
) -> None:
    handler = type("Handler", (_DeepRegistry,), {"mode": mode})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        image = f"127.0.0.1:{server.server_address[1]}/a/b:v1.0.0"
        work = tmp_path / "work"
        (work / ".github/workflows").mkdir(parents=True)
        (work / ".github/workflows/ci.yml").write_text(
            "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n"
            f"    container: {image}\n    steps:\n      - run: echo\n"
        )
        before = files_of(work)
        # the forge is never needed: only the image is asked about
        result = run_pinner(command, "--server-url", "http://127.0.0.1:1", "--no-cache", cwd=work)
    finally:
        server.shutdown()
        server.server_close()
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert result.returncode == 3, result.stderr
    assert said in result.stdout + result.stderr
    assert files_of(work) == before


def test_a_deeply_nested_registry_auth_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / ".github/workflows").mkdir(parents=True)
    (work / ".github/workflows/ci.yml").write_text(workflow("acme/tool@v1"))
    deep = tmp_path / "config.json"
    deep.write_bytes(DEEP)
    result = run_pinner("pin", "--registry-auth", str(deep), "--no-cache", cwd=work)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "--registry-auth" in line and "not JSON" in line


def test_an_advisory_cannot_put_a_link_html_or_a_mention_into_sarif_help(tmp_path: Path) -> None:
    """Code scanning renders a rule's ``help.markdown``: the advisory's summary and URL are
    remote text there too."""
    from typer.testing import CliRunner

    from pinner.cli import app
    from tests.test_advisory_fixtures import CONSUMER, FORGE, TJ

    url = f"https://github.com/advisories/{TJ})[run](javascript:alert(1)"
    overlay = hostile_advisory(tmp_path, html_url=url)
    workflow_file = str(CONSUMER / ".github" / "workflows" / "changed.yml")
    args = ["audit", workflow_file, "--snapshot", str(FORGE), "--snapshot", str(overlay)]
    result = CliRunner().invoke(app, [*args, "-f", "sarif"], env={"PINNER_NO_GH": "1"})
    assert result.exit_code == 1, result.output
    rules = json.loads(result.stdout)["runs"][0]["tool"]["driver"]["rules"]
    [rule] = [r for r in rules if r["id"] == f"known-vulnerable-action/{TJ}"]
    markdown = rule["help"]["markdown"]
    assert "javascript:" not in rule["helpUri"]
    assert not re.search(r"(?<!\\)\]\(javascript:", markdown), markdown  # a link, unescaped
    summary = markdown.split("\n\n")[0]
    assert "@octocat" not in summary and "#12" not in summary, summary
    assert not re.search(r"(?<!\\)[<>\[\]&](?!#8203;)", summary.split("(high): ")[1]), summary


# ----------------------------------------------------------------------------- registry cache


@pytest.mark.parametrize("question", ["resolve", "has_manifest", "list_tags"])
def test_a_registry_answer_from_another_host_is_used_but_never_cached(
    tmp_path: Path, question: str
) -> None:
    """A manifest HEAD or a tag list redirected to another host is that host's word, not the
    registry's: "this digest exists" used to be kept for ever, a tag's digest for the TTL."""
    from pinner.registry.names import parse_image
    from tests.test_registry_units import DIGEST, _client

    store = FileCacheStore(tmp_path / "cache")
    image = parse_image("reg.example/a:v1")
    answer = {"docker-content-digest": DIGEST, "content-type": "application/json"}

    async def ask() -> object:
        client, transport = _client(store=store)
        async with transport:
            if question == "resolve":
                return await client.resolve(image)
            if question == "has_manifest":
                return await client.has_manifest(image, DIGEST)
            return await client.list_tags(image)

    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        for method in ("HEAD", "GET"):
            mock.route(method=method, host="reg.example").mock(
                side_effect=lambda request: httpx.Response(
                    307,
                    headers={
                        "location": f"https://elsewhere.example{request.url.raw_path.decode()}"
                    },
                )
            )
        mock.head(host="elsewhere.example").mock(return_value=httpx.Response(200, headers=answer))
        mock.get(host="elsewhere.example").mock(
            return_value=httpx.Response(200, json={"tags": ["v1"]})
        )
        assert asyncio.run(ask())  # used for this run
    keys = ("tag/v1", f"manifest/{DIGEST}", "tags")
    assert [key for key in keys if store.get(f"image/reg.example/a/{key}") is not None] == []
