"""The GitHub emulator: REST shapes and semantics, git bytes, raw, downloads and knobs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.forge.builder import RepoBuilder, example_repo, fake_sha
from tests.forge.schema import SchemaValidator

REPO = "Octo-Org/Hello-Action"
API_PREFIXES = ("", "/api/v3")


def sha(label: str) -> str:
    return fake_sha(f"{REPO}:{label}")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written once per module: no test writes to it."""
    root = tmp_path_factory.mktemp("emulator") / "forge"
    b = example_repo()
    impostor = b.network_commit("evil", sha("c3"))
    b.file(impostor, "action.yml", "name: evil\n")
    b.write(root)
    many = RepoBuilder("octo-org/many-tags")
    base = many.commit("root")
    many.branch("main", base)
    for i in range(250):
        many.light_tag(f"v1.{i}.0", base)
    many.write(root)
    rel = RepoBuilder("octo-org/releaser")
    c = rel.commit("c1")
    rel.branch("main", c)
    rel.light_tag("v1.0.0", c)
    rel.light_tag("v2.0.0-beta.1", c)
    rel.releases = [
        {
            "tag_name": "v3.0.0",
            "name": "draft",
            "draft": True,
            "prerelease": False,
            "published_at": None,
            "assets": [],
        },
        {
            "tag_name": "v2.0.0-beta.1",
            "name": "beta",
            "prerelease": True,
            "draft": False,
            "published_at": "2024-05-01T00:00:00Z",
            "assets": [],
        },
        {
            "tag_name": "v1.0.0",
            "name": "one",
            "prerelease": False,
            "draft": False,
            "published_at": "2024-04-01T00:00:00Z",
            "assets": [
                {
                    "name": "tool.tar.gz",
                    "browser_download_url": "__FORGE_URL__/octo-org/releaser/releases/download/"
                    "v1.0.0/tool.tar.gz",
                }
            ],
        },
    ]
    meta = {"repo_id": 197814629, "owner_id": 44036562, "archived": True}
    (rel.write(root) / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    asset = root / "_downloads" / "octo-org" / "releaser" / "releases" / "download" / "v1.0.0"
    asset.mkdir(parents=True)
    (asset / "tool.tar.gz").write_bytes(b"TOOL-BYTES")
    (root / "_downloads" / "scripts").mkdir(parents=True)
    (root / "_downloads" / "scripts" / "get.sh").write_bytes(b"curl __FORGE_URL__/dl/x\n")
    return root


@pytest.fixture
def emu(emulator, data_dir: Path):
    return emulator(data_dir)


@pytest.fixture
def client(emu):
    with httpx.Client(base_url=emu.url, timeout=10) as c:
        yield c


# ---------------------------------------------------------------------------- REST


@pytest.mark.parametrize("prefix", API_PREFIXES)
def test_commit_by_tag_branch_and_sha(client: httpx.Client, prefix: str) -> None:
    base = f"{prefix}/repos/octo-org/hello-action/commits"
    assert client.get(f"{base}/v1").json()["sha"] == sha("c3")  # tag beats branch v1
    assert client.get(f"{base}/release/v1").json()["sha"] == sha("c4")
    body = client.get(f"{base}/{sha('c2')}").json()
    assert body["parents"][0]["sha"] == sha("c1")
    assert body["commit"]["committer"]["date"] == "2024-01-02T00:00:00Z"
    assert body["url"].startswith(client.base_url.join(prefix or "/").__str__().rstrip("/"))
    assert client.get(f"{base}/{sha('c2')[:8]}").json()["sha"] == sha("c2")
    missing = client.get(f"{base}/nope")
    assert missing.status_code == 422
    assert missing.json()["message"] == "No commit found for SHA: nope"
    assert client.get(f"{prefix}/repos/octo-org/missing/commits/v1").status_code == 404


def test_commit_sha_media_type(client: httpx.Client) -> None:
    r = client.get(
        "/repos/Octo-Org/Hello-Action/commits/main",
        headers={"Accept": "application/vnd.github.sha"},
    )
    assert r.status_code == 200
    assert r.text == sha("c5")
    assert r.headers["content-type"].startswith("application/vnd.github.sha")


def test_impostor_commit_served_by_sha_but_in_no_listing(client: httpx.Client) -> None:
    impostor = fake_sha(f"{REPO}:net:evil")
    assert client.get(f"/repos/{REPO}/commits/{impostor}").status_code == 200
    refs = client.get(f"/repos/{REPO}/git/matching-refs/").json()
    assert impostor not in {r["object"]["sha"] for r in refs}
    cmp = client.get(f"/repos/{REPO}/compare/main...{impostor}").json()
    assert (cmp["status"], cmp["ahead_by"], cmp["behind_by"]) == ("diverged", 1, 1)
    assert cmp["merge_base_commit"]["sha"] == sha("c3")
    assert [c["sha"] for c in cmp["commits"]] == [impostor]


def test_repository_uses_directory_spelling(client: httpx.Client) -> None:
    body = client.get("/repos/OCTO-ORG/hello-action").json()
    assert body["full_name"] == REPO
    assert body["default_branch"] == "main"


def test_repository_facts_come_from_meta_json_or_the_name(client: httpx.Client) -> None:
    """Ids and ``archived`` come from a snapshot's ``meta.json``; without one they are
    stable numbers derived from the name (the same on every request and every run)."""
    body = client.get("/repos/octo-org/releaser").json()
    assert (body["id"], body["owner"]["id"], body["archived"]) == (197814629, 44036562, True)
    derived = client.get(f"/repos/{REPO}").json()
    again = client.get(f"/repos/{REPO.upper()}").json()
    assert derived["id"] == again["id"] and derived["owner"]["id"] == again["owner"]["id"]
    assert derived["archived"] is False and derived["id"] != body["id"]


def test_git_refs_and_tag_objects(client: httpx.Client) -> None:
    tag = client.get(f"/api/v3/repos/{REPO}/git/ref/tags/v1-nested").json()
    assert tag["ref"] == "refs/tags/v1-nested" and tag["object"]["type"] == "tag"
    outer = client.get(f"/repos/{REPO}/git/tags/{tag['object']['sha']}").json()
    assert outer["object"]["type"] == "tag"
    inner = client.get(f"/repos/{REPO}/git/tags/{outer['object']['sha']}").json()
    assert (inner["tag"], inner["object"]["type"], inner["object"]["sha"]) == (
        "v1.1.0",
        "commit",
        sha("c3"),
    )
    head = client.get(f"/repos/{REPO}/git/ref/heads/v1").json()
    assert head["object"] == {
        "type": "commit",
        "sha": sha("c4"),
        "url": f"{client.base_url}/repos/{REPO}/git/commits/{sha('c4')}",
    }
    assert client.get(f"/repos/{REPO}/git/ref/heads/nope").status_code == 404
    assert client.get(f"/repos/{REPO}/git/tags/{sha('c3')}").status_code == 404
    matching = client.get(f"/repos/{REPO}/git/matching-refs/tags/v1.").json()
    assert [r["ref"] for r in matching] == [
        "refs/tags/v1.0.0",
        "refs/tags/v1.0.0-light",
        "refs/tags/v1.1.0",
    ]
    assert client.get(f"/repos/{REPO}/git/matching-refs/tags/zzz").json() == []


def follow_pages(client: httpx.Client, url: str) -> tuple[list, int]:
    items, pages = [], 0
    while url:
        r = client.get(url)
        assert r.status_code == 200
        items += r.json()
        pages += 1
        links = httpx.Response(200, headers=r.headers).links
        url = links.get("next", {}).get("url")
    return items, pages


@pytest.mark.parametrize("prefix", API_PREFIXES)
def test_tags_pagination_with_link_header(client: httpx.Client, prefix: str) -> None:
    items, pages = follow_pages(client, f"{prefix}/repos/octo-org/many-tags/tags?per_page=100")
    assert pages == 3
    assert len(items) == 250 and len({t["name"] for t in items}) == 250
    assert items[0]["name"] == "v1.249.0"  # newest version first, natural order
    r = client.get(f"{prefix}/repos/octo-org/many-tags/tags?page=2")
    links = httpx.Response(200, headers=r.headers).links
    assert set(links) == {"next", "last", "prev", "first"}
    assert httpx.URL(links["last"]["url"]).params["page"] == "9"
    assert links["next"]["url"].startswith(f"{client.base_url}{prefix}/repos/")
    one_page = client.get(f"/repos/{REPO}/tags")
    assert "link" not in one_page.headers


def test_branches(client: httpx.Client) -> None:
    names = {b["name"]: b["commit"]["sha"] for b in client.get(f"/repos/{REPO}/branches").json()}
    assert names == {"main": sha("c5"), "release/v1": sha("c4"), "v1": sha("c4")}
    one = client.get(f"/api/v3/repos/{REPO}/branches/release/v1").json()
    assert (one["name"], one["commit"]["sha"]) == ("release/v1", sha("c4"))
    missing = client.get(f"/repos/{REPO}/branches/nope")
    assert (missing.status_code, missing.json()["message"]) == (404, "Branch not found")


def test_compare_statuses(client: httpx.Client) -> None:
    def cmp(basehead: str) -> dict:
        r = client.get(f"/repos/{REPO}/compare/{basehead}")
        assert r.status_code == 200, r.text
        return r.json()

    ahead = cmp("v1.0.0...main")
    assert (ahead["status"], ahead["ahead_by"], ahead["behind_by"]) == ("ahead", 3, 0)
    assert [c["sha"] for c in ahead["commits"]] == [sha("c2"), sha("c3"), sha("c5")]
    behind = cmp(f"main...{sha('c2')}")
    assert (behind["status"], behind["behind_by"]) == ("behind", 2)
    div = cmp("main...release/v1")
    assert (div["status"], div["merge_base_commit"]["sha"]) == ("diverged", sha("c2"))
    assert cmp("v1...v1.1.0")["status"] == "identical"
    paged = client.get(f"/repos/{REPO}/compare/v1.0.0...main", params={"per_page": 1})
    assert [c["sha"] for c in paged.json()["commits"]] == [sha("c2")]
    assert paged.json()["ahead_by"] == 3
    assert httpx.URL(paged.links["last"]["url"]).params["page"] == "3"
    assert client.get(f"/repos/{REPO}/compare/main...nope").status_code == 404


def test_contents_json_raw_and_directory(client: httpx.Client) -> None:
    r = client.get(f"/api/v3/repos/{REPO}/contents/action.yml", params={"ref": "v1.1.0"})
    body = r.json()
    data = base64.b64decode(body["content"])
    assert data.startswith(b"name: hello") and body["encoding"] == "base64"
    assert body["sha"] == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    raw = client.get(
        f"/repos/{REPO}/contents/action.yml",
        params={"ref": sha("c3")},
        headers={"Accept": "application/vnd.github.raw"},
    )
    assert raw.content == data
    etag = raw.headers["etag"]
    assert etag == f'"{body["sha"]}"'  # raw content is tagged with its blob SHA
    again = client.get(
        f"/repos/{REPO}/contents/action.yml",
        params={"ref": sha("c3")},
        headers={"Accept": "application/vnd.github.raw", "If-None-Match": etag},
    )
    assert again.status_code == 304
    listing = client.get(f"/repos/{REPO}/contents/", params={"ref": "main"}).json()
    assert {(e["name"], e["type"]) for e in listing} == {("action.yml", "file"), ("sub", "dir")}
    sub = client.get(f"/repos/{REPO}/contents/sub/action.yaml").json()  # default branch
    assert b"http://127.0.0.1:" in base64.b64decode(sub["content"])
    assert client.get(f"/repos/{REPO}/contents/nope.yml").status_code == 404
    assert client.get(f"/repos/{REPO}/contents/action.yml?ref=nope").status_code == 404


def test_raw_content(client: httpx.Client, emu) -> None:
    r = client.get("/raw/octo-org/hello-action/main/sub/action.yaml")
    assert r.status_code == 200
    assert f"{emu.url}/dl/tool.tar.gz".encode() in r.content  # placeholder substituted
    assert client.get(f"/raw/{REPO}/release/v1/action.yml").status_code == 404  # not at c4
    assert client.get(f"/raw/{REPO}/{sha('c3')}/action.yml").status_code == 200
    assert client.get(f"/raw/{REPO}/main/missing.yml").status_code == 404
    etag = r.headers["etag"]
    assert client.get(r.url, headers={"If-None-Match": etag}).status_code == 304


def test_synthesised_releases(client: httpx.Client) -> None:
    releases = client.get(f"/repos/{REPO}/releases").json()
    tags = [r["tag_name"] for r in releases]
    assert "v1" not in tags and "sub/v1.2.3" in tags
    beta = next(r for r in releases if r["tag_name"] == "v2.0.0-rc.1")
    assert beta["prerelease"] is True
    latest = client.get(f"/repos/{REPO}/releases/latest").json()
    assert latest["prerelease"] is False and latest["tag_name"] == "v1.1.0"  # tagger date beats c5
    one = client.get(f"/repos/{REPO}/releases/tags/v1.1.0").json()
    assert one["published_at"] == "2024-01-11T00:00:00Z"  # the tagger date
    assert client.get(f"/repos/{REPO}/releases/tags/v9").status_code == 404


def test_releases_json_assets_and_downloads(client: httpx.Client, emu) -> None:
    releases = client.get("/repos/octo-org/releaser/releases").json()
    assert [r["tag_name"] for r in releases] == ["v3.0.0", "v2.0.0-beta.1", "v1.0.0"]
    assert releases[0]["draft"] is True  # listed (the Forge protocol wants drafts) ...
    assert client.get("/repos/octo-org/releaser/releases/tags/v3.0.0").status_code == 404
    latest = client.get("/repos/octo-org/releaser/releases/latest").json()
    assert latest["tag_name"] == "v1.0.0"
    (asset,) = latest["assets"]
    assert asset["digest"] == "sha256:" + hashlib.sha256(b"TOOL-BYTES").hexdigest()
    assert asset["size"] == len(b"TOOL-BYTES")
    assert asset["browser_download_url"].startswith(emu.url)
    assert client.get(asset["browser_download_url"]).content == b"TOOL-BYTES"
    moved = client.get("/octo-org/releaser/releases/latest/download/tool.tar.gz")
    assert moved.status_code == 302
    assert moved.headers["location"].endswith("/releases/download/v1.0.0/tool.tar.gz")
    by_id = client.get(
        f"/repos/octo-org/releaser/releases/assets/{asset['id']}",
        headers={"Accept": "application/octet-stream"},
    )
    assert by_id.status_code == 302
    assert client.get("/dl/scripts/get.sh").content == f"curl {emu.url}/dl/x\n".encode()
    assert client.get("/dl/nope").status_code == 404
    stats = emu.stats()
    assert stats["download"] >= 3


def test_redirect_helper(client: httpx.Client) -> None:
    r = client.get("/_redirect", params={"to": "http://127.0.0.2:9/x"})
    assert r.status_code == 302 and r.headers["location"] == "http://127.0.0.2:9/x"


# ---------------------------------------------------------------------------- limits, etags


def test_rate_limit_headers_etag_and_304(client: httpx.Client) -> None:
    url = f"/repos/{REPO}/commits/main"
    first = client.get(url)
    assert first.headers["x-ratelimit-resource"] == "core"
    used = int(first.headers["x-ratelimit-used"])
    etag = first.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert int(again.headers["x-ratelimit-used"]) == used  # a 304 is free
    assert again.headers["etag"] == etag
    changed = client.get(url, headers={"If-None-Match": 'W/"other"'})
    assert changed.status_code == 200
    assert int(changed.headers["x-ratelimit-used"]) == used + 1


def test_rate_limit_exhaustion_and_auth_split(emulator, data_dir: Path) -> None:
    emu = emulator(data_dir, rate_limit=5, anon_rate_limit=2)
    with httpx.Client(base_url=emu.url) as c:
        url = f"/repos/{REPO}/commits/main"
        assert [c.get(url).status_code for _ in range(3)] == [200, 200, 403]
        limited = c.get(url)
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert limited.json()["message"].startswith("API rate limit exceeded for 127.0.0.1.")
        auth = {"Authorization": "token not-a-real-secret"}
        codes = [c.get(url, headers=auth).status_code for _ in range(6)]
        assert codes == [200] * 5 + [403]
        last = c.get(url, headers=auth)
        assert last.headers["x-ratelimit-limit"] == "5"
        assert last.json()["message"] == "API rate limit exceeded for user ID 1."
        # git and raw do not count against the REST limit; /rate_limit reports without counting
        assert c.get(f"/raw/{REPO}/main/action.yml").status_code == 200
        status = c.get("/rate_limit").json()
        assert status["resources"]["core"] == status["rate"]
        assert status["rate"]["remaining"] == 0 and status["rate"]["limit"] == 2
    assert emu.stats()["rate_limited"] == 4
    emu.reset()
    with httpx.Client(base_url=emu.url) as c:
        assert c.get(f"/repos/{REPO}/commits/main").status_code == 200


# ---------------------------------------------------------------------------- knobs


def test_latency_knob(emulator, data_dir: Path) -> None:
    emu = emulator(data_dir, latency_ms=150)
    with httpx.Client(base_url=emu.url) as c:
        start = time.perf_counter()
        c.get(f"/repos/{REPO}")
        assert time.perf_counter() - start >= 0.15


def fault_sequence(emulator, data_dir: Path, seed: int) -> list[str | None]:
    emu = emulator(data_dir, fail_rate=0.5, seed=seed, faults=("502", "503"))
    with httpx.Client(base_url=emu.url) as c:
        for _ in range(20):
            c.get(f"/repos/{REPO}")
    return [r["fault"] for r in emu.requests]


def test_faults_are_seeded(emulator, data_dir: Path) -> None:
    first = fault_sequence(emulator, data_dir, seed=7)
    assert first == fault_sequence(emulator, data_dir, seed=7)
    assert first != fault_sequence(emulator, data_dir, seed=8)
    assert {"502", "503", None} == set(first)


def test_each_fault_kind(emulator, data_dir: Path) -> None:
    url = f"/repos/{REPO}/commits/main"
    emu = emulator(data_dir, fail_rate=1.0, faults=("502",))
    assert httpx.get(emu.url + url).status_code == 502
    emu = emulator(data_dir, fail_rate=1.0, faults=("503",), retry_after=3)
    r = httpx.get(emu.url + url)
    assert r.status_code == 503 and r.headers["retry-after"] == "3"
    emu = emulator(data_dir, fail_rate=1.0, faults=("reset",))
    with pytest.raises(httpx.TransportError):
        httpx.get(emu.url + url)
    emu = emulator(data_dir, fail_rate=1.0, faults=("truncate",))
    with pytest.raises(httpx.TransportError):
        httpx.get(emu.url + url)
    emu = emulator(data_dir, fail_rate=1.0, faults=("slow",), slow_ms=200)
    start = time.perf_counter()
    assert httpx.get(emu.url + url).status_code == 200
    assert time.perf_counter() - start >= 0.2
    assert emu.stats()["faults"] == {"slow": 1}


def test_request_log_and_stats(emulator, data_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    emu = emulator(data_dir, log=log)
    secret = "ghp_supersecretvalue"
    with httpx.Client(base_url=emu.url, headers={"Authorization": f"token {secret}"}) as c:
        c.get(f"/repos/{REPO}")
        c.get(f"/raw/{REPO}/main/action.yml")
        c.get("/dl/scripts/get.sh")
        c.get(f"/{REPO}.git/info/refs", params={"service": "git-upload-pack"})
        c.get("/nowhere")
    stats = emu.stats()
    assert {k: stats[k] for k in ("rest", "raw", "download", "git", "other", "total")} == {
        "rest": 1,
        "raw": 1,
        "download": 1,
        "git": 1,
        "other": 1,
        "total": 5,
    }
    with httpx.Client(base_url=emu.url) as c:
        assert c.get("/_stats").json()["total"] == 5  # admin calls are not counted
        c.get("/_reset")
        assert c.get("/_stats").json()["total"] == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [entry["kind"] for entry in lines] == ["rest", "raw", "download", "git", "other"]
    assert all(entry["auth"] is True for entry in lines)
    assert secret not in log.read_text()


# ---------------------------------------------------------------------------- git protocol


def test_git_ls_remote_lists_refs_json(emu) -> None:
    meta = json.loads((emu.data.repo(REPO).dirs[0] / "refs.json").read_text())
    expected = {r["ref"]: r["object"] for r in meta["refs"]}
    for version in ("0", "2"):
        out = subprocess.run(
            ["git", "-c", f"protocol.version={version}", "ls-remote", f"{emu.url}/{REPO}.git"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        ).stdout
        listed = dict(reversed(line.split("\t")) for line in out.splitlines())
        assert listed.pop("HEAD") == sha("c5")
        peeled = {k: v for k, v in listed.items() if k.endswith("^{}")}
        plain = {k: v for k, v in listed.items() if not k.endswith("^{}")}
        assert plain == expected
        want_peeled = {f"{r['ref']}^{{}}": r["peeled"] for r in meta["refs"] if r["type"] == "tag"}
        assert peeled == want_peeled


CAPTURE_C1 = "4fbfc7dd1a7c7a37fc70a08cb41227f128127dd2"
CAPTURE_C2 = "5914dc7a4dbd74e4fa4843394215e44ee78885b2"


@pytest.fixture
def capture_emu(emulator, shared_dir: Path, tmp_path: Path):
    """The repository the captures in ../shared/git-protocol were taken from, as a snapshot."""
    b = RepoBuilder("capture/repo")
    b.commits = [
        {"sha": CAPTURE_C1, "parents": [], "date": "2026-11-22T01:30:00Z"},
        {"sha": CAPTURE_C2, "parents": [CAPTURE_C1], "date": "2026-11-22T01:31:00Z"},
    ]
    for branch in ("main", "release/v1", "v1"):
        b.branch(branch, CAPTURE_C2)
    b.ref("refs/pull/1/head", CAPTURE_C1, CAPTURE_C1, "commit")
    b.light_tag("v1.0.0-light", CAPTURE_C1)
    v1_1 = "b69c76ae824ae14650b7f6989675e38910beafb7"
    b.ref("refs/tags/v1.0.0", "9cb20402c31c0aa820917925cf3007bc1c497d71", CAPTURE_C1)
    b.ref("refs/tags/v1.1.0", v1_1, CAPTURE_C2)
    b.ref("refs/tags/v1", "26efbbf6f9c9ae192e605d2e341bdd4895ba5fd3", CAPTURE_C2)
    b.ref("refs/tags/v1-nested", "2c5d1c5492731f3fabf9d25a2e31034981090343", CAPTURE_C2)
    b.write(tmp_path / "capture")
    return emulator(tmp_path / "capture"), shared_dir / "git-protocol"


def capture_content_type(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.lower().startswith("content-type:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no Content-Type in {path}")


@pytest.mark.parametrize(
    ("name", "method", "v2"),
    [
        ("v0-info-refs", "GET", False),
        ("v2-info-refs", "GET", True),
        ("v2-ls-refs", "POST", True),
        ("v2-ls-refs-prefix-v1", "POST", True),
        ("v2-ls-refs-noargs", "POST", True),
        ("v2-ls-refs-no-header", "POST", False),
    ],
)
def test_git_bytes_match_http_backend_captures(capture_emu, name: str, method: str, v2: bool):
    emu, captures = capture_emu
    headers = {"Git-Protocol": "version=2"} if v2 else {}
    if method == "GET":
        r = httpx.get(
            f"{emu.url}/capture/repo.git/info/refs?service=git-upload-pack", headers=headers
        )
    else:
        request_file = captures / f"{name}.request"
        if not request_file.exists():  # the no-header capture reuses the full ls-refs request
            request_file = captures / "v2-ls-refs.request"
        r = httpx.post(
            f"{emu.url}/capture/repo.git/git-upload-pack",
            content=request_file.read_bytes(),
            headers={**headers, "Content-Type": "application/x-git-upload-pack-request"},
        )
    assert r.status_code == 200
    assert r.content == (captures / f"{name}.body").read_bytes()
    assert r.headers["content-type"] == capture_content_type(captures / f"{name}.headers")
    assert r.headers["cache-control"] == "no-cache, max-age=0, must-revalidate"


def test_git_unknown_repo_and_fetch_command(client: httpx.Client) -> None:
    r = client.get("/nobody/nothing.git/info/refs", params={"service": "git-upload-pack"})
    assert r.status_code == 404
    fetch = client.post(
        f"/{REPO}.git/git-upload-pack",
        content=b"0011command=fetch0000",
        headers={"Git-Protocol": "version=2"},
    )
    assert fetch.status_code == 501


# ---------------------------------------------------------------------------- schema, CLI


def test_schema_validator_rejects_wrong_shapes(shared_dir: Path) -> None:
    validator = SchemaValidator(shared_dir / "github-api" / "endpoints.json")
    ep = "GET /repos/{owner}/{repo}/git/ref/{ref}"
    good = {
        "ref": "refs/heads/main",
        "node_id": "x",
        "url": "http://127.0.0.1/x",
        "object": {"type": "commit", "sha": "a" * 40, "url": "http://127.0.0.1/y"},
    }
    assert validator.validate(ep, 200, good) == []
    bad = {**good, "object": {"type": "commit", "sha": "short", "url": "u"}}
    assert validator.validate(ep, 200, bad)
    assert validator.validate(ep, 200, {"ref": "refs/heads/main"})
    assert validator.validate(ep, 200, good) == []  # remembered as passing: still passes
    # arrays are checked item by item, and a non-array is still rejected
    tags_ep = "GET /repos/{owner}/{repo}/tags"
    item = {
        "name": "v1",
        "node_id": "n",
        "commit": {"sha": "a" * 40, "url": "http://127.0.0.1:1/c"},
        "zipball_url": "http://127.0.0.1:1/z",
        "tarball_url": "http://127.0.0.1:1/t",
    }
    assert validator.validate(tags_ep, 200, [item, item]) == []
    broken = {k: v for k, v in item.items() if k != "node_id"}
    (problem,) = validator.validate(tags_ep, 200, [item, broken])
    assert "at /1" in problem and "node_id" in problem
    assert validator.validate(tags_ep, 200, {"name": "v1"})
    # nullable: a release's name may be null, its tag_name may not
    release = "GET /repos/{owner}/{repo}/releases/latest"
    assert validator.describes(release, 200)
    assert validator.describes("GET /repos/{owner}/{repo}", 200)
    assert not validator.describes("GET /repos/{owner}/{repo}/git/refs", 200)


def test_cli_prints_listening_line_and_serves(data_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "cli.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.forge",
            "--data",
            str(data_dir),
            "--port",
            "0",
            "--log",
            str(log),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:") and line.endswith("\n")
        url = line.split(" ", 2)[2].strip()
        assert httpx.get(f"{url}/repos/{REPO}").json()["full_name"] == REPO
        assert httpx.get(f"{url}/_stats").json()["rest"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert json.loads(log.read_text().splitlines()[0])["endpoint"] == "GET /repos/{owner}/{repo}"


def test_cli_rejects_missing_data_dir(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.forge", "--data", str(tmp_path / "nope")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_fixture_validates_served_bodies(emulator, data_dir: Path, monkeypatch, shared_dir) -> None:
    """A body that breaks GitHub's schema is caught by the fixture (wiring, not just the lib)."""
    from tests.forge import server

    original = server._Context.ref_json

    def broken(self, snap, name):
        body = original(self, snap, name)
        del body["node_id"]
        return body

    monkeypatch.setattr(server._Context, "ref_json", broken)
    emu = emulator(data_dir)
    assert httpx.get(f"{emu.url}/repos/{REPO}/git/ref/heads/main").status_code == 200
    assert any("'node_id' is a required property" in v for v in emu.violations)
    emu.violations.clear()  # the violation was the point: do not fail this test at teardown


def test_git_chunked_gzip_and_malformed_requests(client: httpx.Client) -> None:
    """git may send the POST body chunked or gzip-compressed; garbage gets a 400, not a crash."""
    import gzip

    request = b"0014command=ls-refs\n00010009peel\n001aref-prefix refs/tags/\n0000"
    v2 = {"Git-Protocol": "version=2", "Content-Type": "application/x-git-upload-pack-request"}

    def chunks():
        yield request[:10]
        yield request[10:]

    chunked = client.post(f"/{REPO}.git/git-upload-pack", content=chunks(), headers=v2)
    assert chunked.status_code == 200
    plain = client.post(f"/{REPO}.git/git-upload-pack", content=request, headers=v2)
    assert chunked.content == plain.content
    assert b"refs/heads/" not in plain.content and b" peeled:" in plain.content
    zipped = client.post(
        f"/{REPO}.git/git-upload-pack",
        content=gzip.compress(request),
        headers={**v2, "Content-Encoding": "gzip"},
    )
    assert zipped.content == plain.content
    bad = client.post(f"/{REPO}.git/git-upload-pack", content=b"zzzzgarbage", headers=v2)
    assert bad.status_code == 400
    wrong_service = client.get(f"/{REPO}.git/info/refs", params={"service": "git-receive-pack"})
    assert wrong_service.status_code == 403


def test_unreadable_request_body_is_a_400(client: httpx.Client, emu) -> None:
    r = client.post(
        f"/{REPO}.git/git-upload-pack",
        content=b"not gzip at all",
        headers={"Git-Protocol": "version=2", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 400
    assert emu.emulator.errors == []


def test_many_connections_opened_at_once_are_all_accepted(data_dir: Path):
    """A client opening a pool's worth of connections at once must not find the listen queue
    full: the kernel drops the extra SYNs and TCP retries them only after a second. Nothing
    accepts here (the emulator is not started), so only the queue can hold them."""
    import socket

    from tests.forge.server import Emulator

    emu = Emulator(data_dir)
    sockets = []
    try:
        for _ in range(48):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(0.5)
            sockets.append(s)
            s.connect(("127.0.0.1", emu.port))  # times out once the listen queue is full
    finally:
        for s in sockets:
            s.close()
        emu._server.server_close()  # never served: stop() would wait for serve_forever
