"""Fidelity of the emulator, proven with independent clients over all the data it serves.

- the real ``git ls-remote`` (protocol v0 and v2) lists exactly what each refs.json says, for
  every repository of ``../shared/corpus/forge`` and ``fixtures/forge``;
- a REST sweep over every fixture repository (and a few corpus ones) returns what the data
  says, and every JSON body is validated against GitHub's schemas by the ``emulator`` fixture;
- pinact, pointed at the emulator as a GHES, pins a workflow to the SHAs the data says.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from pinner.forge.snapshot import SnapshotData

AUTH = {"Authorization": "token not-a-secret"}  # 5000 requests per hour, not 60
GIT_ENV = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}


@pytest.fixture(scope="module")
def fixture_forge_dir() -> Path:
    path = Path(__file__).resolve().parents[1] / "fixtures" / "forge"
    if not path.is_dir():
        pytest.skip(f"{path} is absent: hand-made fixture snapshots not written yet")
    return path


def expected_ls_remote(refs_json: Path) -> list[tuple[str, str]]:
    """What ``git ls-remote URL`` must print for this refs.json, as (name, oid) pairs."""
    meta = json.loads(refs_json.read_text(encoding="utf-8"))
    out = []
    head = next(
        (r for r in meta["refs"] if r["ref"] == f"refs/heads/{meta['default_branch']}"), None
    )
    if head is not None:
        out.append(("HEAD", head["object"]))
    for r in sorted(meta["refs"], key=lambda r: r["ref"]):
        out.append((r["ref"], r["object"]))
        if r.get("type") == "tag":
            out.append((r["ref"] + "^{}", r["peeled"]))
    return out


def ls_remote(url: str, version: str) -> list[tuple[str, str]]:
    proc = subprocess.run(
        ["git", "-c", f"protocol.version={version}", "ls-remote", url],
        capture_output=True,
        text=True,
        env=GIT_ENV,
        timeout=60,
    )
    assert proc.returncode == 0, f"git ls-remote {url} (v{version}) failed: {proc.stderr}"
    pairs = []
    for line in proc.stdout.splitlines():
        oid, name = line.split("\t")
        pairs.append((name, oid))
    return pairs


def check_all_repos(emu, data: SnapshotData) -> list[str]:
    """ls-remote v0 and v2 for every repository, 4 at a time; returns the mismatches."""

    def one(name: str) -> list[str]:
        refs_json = data.repo(name).dirs[-1] / "refs.json"
        expected = expected_ls_remote(refs_json)
        problems = []
        for version in ("0", "2"):
            got = ls_remote(f"{emu.url}/{name}.git", version)
            if got != expected:
                missing = sorted(set(expected) - set(got))[:3]
                extra = sorted(set(got) - set(expected))[:3]
                problems.append(f"{name} v{version}: missing {missing}, unexpected {extra}")
        return problems

    with ThreadPoolExecutor(max_workers=4) as pool:
        return [p for problems in pool.map(one, data.repo_names()) for p in problems]


@pytest.mark.corpus
def test_ls_remote_matches_refs_json_for_every_corpus_repo(emulator, corpus_forge_dir):
    emu = emulator(corpus_forge_dir)
    assert len(emu.data.repo_names()) >= 100
    assert check_all_repos(emu, emu.data) == []
    assert emu.stats()["git"] >= 2 * len(emu.data.repo_names())


def test_ls_remote_matches_refs_json_for_every_fixture_repo(emulator, fixture_forge_dir):
    emu = emulator(fixture_forge_dir)
    assert emu.data.repo_names()
    assert check_all_repos(emu, emu.data) == []


def test_ls_remote_v2_symref_of_head(emulator, fixture_forge_dir):
    emu = emulator(fixture_forge_dir)
    name = emu.data.repo_names()[0]
    snap = emu.data.repo(name)
    proc = subprocess.run(
        ["git", "-c", "protocol.version=2", "ls-remote", "--symref", f"{emu.url}/{name}", "HEAD"],
        capture_output=True,
        text=True,
        env=GIT_ENV,
        timeout=60,
        check=True,
    )
    assert proc.stdout.splitlines()[0] == f"ref: refs/heads/{snap.default_branch}\tHEAD"


# ---------------------------------------------------------------------------- REST sweep


def all_pages(client: httpx.Client, url: str) -> list:
    items: list = []
    while url:
        r = client.get(url)
        assert r.status_code == 200, f"{url}: {r.status_code} {r.text[:200]}"
        items += r.json()
        url = r.links.get("next", {}).get("url")
    return items


def sweep_repo(client: httpx.Client, data: SnapshotData, name: str, api: str) -> None:
    """Every REST view of one repository agrees with the snapshot (schemas checked by hook)."""
    snap = data.repo(name)
    base = f"{api}/repos/{name}"
    assert client.get(base).json()["default_branch"] == snap.default_branch
    refs = snap.refs()
    tags = {t["name"]: t["commit"]["sha"] for t in all_pages(client, f"{base}/tags?per_page=100")}
    assert tags == {r.short: r.commit for r in refs if r.is_tag}
    branches = all_pages(client, f"{base}/branches?per_page=100")
    assert {b["name"]: b["commit"]["sha"] for b in branches} == {
        r.short: r.commit for r in refs if r.is_branch
    }
    matching = client.get(f"{base}/git/matching-refs/").json()
    assert {m["ref"]: m["object"]["sha"] for m in matching} == {r.name: r.object for r in refs}
    for tag_sha in list(snap.tag_objects)[:25]:
        body = client.get(f"{base}/git/tags/{tag_sha}").json()
        assert body["sha"] == tag_sha
    for ref in refs[:25]:
        got = client.get(f"{base}/git/ref/{ref.name.removeprefix('refs/')}").json()
        assert got["object"]["sha"] == ref.object
        commit = client.get(f"{base}/commits/{ref.commit}").json()
        assert commit["sha"] == ref.commit
    for ref in [r for r in refs if r.is_tag][:25]:
        expected = snap.resolve(ref.short)  # a same-named tag wins over a branch
        assert client.get(f"{base}/commits/{ref.short}").json()["sha"] == expected
    default = f"refs/heads/{snap.default_branch}"
    for ref in [r for r in refs if r.is_tag][:10]:
        r = client.get(f"{base}/compare/{snap.default_branch}...{ref.commit}?per_page=5")
        assert r.status_code in (200, 404)
        if r.status_code == 200 and snap.ref(default):
            in_default = snap.is_ancestor(ref.commit, snap.ref(default).ref.commit)
            assert (r.json()["status"] in ("behind", "identical")) == in_default
    releases = all_pages(client, f"{base}/releases?per_page=100")
    latest = client.get(f"{base}/releases/latest")
    published = [r for r in releases if not r["draft"]]
    assert latest.status_code == (200 if any(not r["prerelease"] for r in published) else 404)
    for rel in releases[:5]:
        by_tag = client.get(f"{base}/releases/tags/{rel['tag_name']}")
        assert by_tag.status_code == (404 if rel["draft"] else 200)  # drafts have no tag yet
    files_root = snap.dirs[-1] / "files"
    if files_root.is_dir():
        for commit_dir in sorted(files_root.iterdir())[:15]:
            for path in sorted(p for p in commit_dir.rglob("*") if p.is_file())[:5]:
                rel_path = path.relative_to(commit_dir).as_posix()
                r = client.get(f"{base}/contents/{rel_path}", params={"ref": commit_dir.name})
                assert r.status_code == 200, f"{name}@{commit_dir.name}:{rel_path}"
                raw = client.get(f"/raw/{name}/{commit_dir.name}/{rel_path}")
                body = path.read_bytes().replace(b"__FORGE_URL__", str(client.base_url).encode())
                assert raw.content == body


def test_rest_sweep_over_fixture_repos(emulator, fixture_forge_dir):
    emu = emulator(fixture_forge_dir)
    with httpx.Client(base_url=emu.url, timeout=30, headers=AUTH) as client:
        for i, name in enumerate(emu.data.repo_names()):
            # GHES form for all, github.com form for every third (same code path after the prefix)
            sweep_repo(client, emu.data, name, "" if i % 3 == 0 else "/api/v3")
    assert emu.stats()["rest"] > 50


@pytest.mark.corpus
def test_rest_sweep_over_corpus_sample(emulator, corpus_forge_dir):
    emu = emulator(corpus_forge_dir)
    with httpx.Client(base_url=emu.url, timeout=30, headers=AUTH) as client:
        for name in ("actions/checkout", "Azure/login", "pypa/gh-action-pypi-publish"):
            sweep_repo(client, emu.data, name, "/api/v3")
        # case-insensitive lookup answers in the directory's spelling
        assert client.get("/repos/azure/LOGIN").json()["full_name"] == "Azure/login"


@pytest.mark.corpus
def test_every_corpus_repo_is_served_over_rest_and_raw(emulator, corpus_forge_dir):
    """Each corpus repository: metadata, its default branch tip and one file at one commit."""
    emu = emulator(corpus_forge_dir)
    problems = []
    with httpx.Client(base_url=emu.url, timeout=30, headers=AUTH) as client:
        for name in emu.data.repo_names():
            snap = emu.data.repo(name)
            meta = json.loads((snap.dirs[-1] / "refs.json").read_text())
            repo = client.get(f"/api/v3/repos/{name.lower()}").json()
            if (repo["full_name"], repo["default_branch"]) != (name, meta["default_branch"]):
                problems.append(f"{name}: metadata {repo['full_name']} {repo['default_branch']}")
            tip = next(
                (
                    r["peeled"]
                    for r in meta["refs"]
                    if r["ref"] == f"refs/heads/{meta['default_branch']}"
                ),
                None,
            )
            if tip is not None:
                got = client.get(f"/api/v3/repos/{name}/commits/{meta['default_branch']}")
                if got.json().get("sha") != tip:
                    problems.append(f"{name}: default branch tip {got.text[:80]}")
            files = snap.dirs[-1] / "files"
            first = next((p for p in sorted(files.rglob("*")) if p.is_file()), None)
            if first is not None:
                commit, rel = first.relative_to(files).parts[0], first.relative_to(files).parts[1:]
                raw = client.get(f"/raw/{name}/{commit}/{'/'.join(rel)}")
                if raw.content != first.read_bytes():
                    problems.append(f"{name}: raw {commit}/{'/'.join(rel)} -> {raw.status_code}")
    assert problems == []


# ---------------------------------------------------------------------------- pinact


def find_pinact() -> str | None:
    beside = Path(sys.executable).parent / "pinact"
    if beside.is_file():
        return str(beside)
    return shutil.which("pinact")


def test_pinact_pins_to_the_shas_the_data_says(emulator, fixture_forge_dir, tmp_path):
    pinact = find_pinact()
    if pinact is None:
        pytest.skip("pinact is not installed (PyPI package astral-dev-toolchain-pinact)")
    emu = emulator(fixture_forge_dir)
    data = emu.data
    wanted = [
        ("pinner-fixtures/checkout-lite", "v1"),  # a moved major tag
        ("pinner-fixtures/setup-widget", "v4"),  # 250 tags: pinact pages through /tags
        ("pinner-fixtures/lint-action", "v2"),  # tag v2 and branch v2 differ: the tag wins
        ("pinner-fixtures/lint-action", "v2.0.0"),
        ("pinner-fixtures/node-leaf", "v1"),
    ]
    uses = [(repo, ref) for repo, ref in wanted if data.find(repo) and data.find(repo).resolve(ref)]
    if len(uses) < 3:
        pytest.skip("fixtures/forge lacks the repositories this test pins")
    workflow = tmp_path / ".github" / "workflows" / "ci.yml"
    workflow.parent.mkdir(parents=True)
    steps = "".join(f"      - uses: {repo}@{ref}\n" for repo, ref in uses)
    workflow.write_text(
        "name: CI\non: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n" + steps
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "GHES_API_URL": emu.url,
        "GHES_TOKEN": "x",
    }
    proc = subprocess.run(
        [pinact, "run", str(workflow)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [ln.strip() for ln in workflow.read_text().splitlines() if "uses:" in ln]
    assert len(lines) == len(uses)
    for (repo, ref), line in zip(uses, lines, strict=True):
        snap = data.repo(repo)
        expected = snap.resolve(ref)
        value, _, comment = line.removeprefix("- uses: ").partition(" # ")
        assert value == f"{repo}@{expected}", f"pinact pinned {repo}@{ref} to {value}"
        # the version comment pinact chose names a tag at that same commit
        assert snap.resolve(comment.strip()) == expected, line
    rest = [r for r in emu.requests if r["kind"] == "rest"]
    assert rest and all(r["path"].startswith("/api/v3/") for r in rest)
    assert all(r["auth"] for r in rest)
