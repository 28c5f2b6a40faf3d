"""What ``pinner lock`` asks the forge: each question once, and questions of one moment together.

A lock run lists the refs of every repository in the graph, looks up the SHA pins no ref points
at, and needs every repository's ids. The ids come with the GraphQL listing (no ``Repos``
query of their own), and the commit lookups of a run's first resolutions leave in one query
whether the listings they wait for came from the cache or from the forge.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.test_lock_cli import LOCK, NODE, TOKEN, clean_env, make, workflow, world

C5 = "5" * 40  # on main between v1.2.0 and main's tip: in the history, no ref points at it
D1, D2 = "d1" * 20, "d2" * 20  # acme/other: D1 is main's parent, main is at D2


def forge_world() -> dict:
    """:func:`tests.test_lock_cli.world` with a commit no ref points at in two repositories."""
    repos = world(
        acme__tool={"parents": {"3" * 40: [C5], C5: ["2" * 40]}},
        acme__wrap={"branches": [{"name": "main", "sha": "a" * 40}]},
    )
    repos["acme/tool"]["resolve"] = {**repos["acme/tool"]["resolve"], C5: C5}
    repos["acme/other"] = {
        "owner_id": 12,
        "repo_id": 40,
        "resolve": {"v1.0.0": D2, D1: D1},
        "parents": {D2: [D1]},
        "tags": [{"name": "v1.0.0", "sha": D2}],
        "branches": [{"name": "main", "sha": D2}],
        "action_yml": NODE,
    }
    return repos


def lock(emu, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pinner lock --format json`` in ``repo`` against ``emu``, with the token; ``args`` name
    the cache (``--cache-dir DIR`` or ``--no-cache``)."""
    command = [sys.executable, "-m", "pinner", "lock", "--server-url", emu.url, "--token", TOKEN]
    return subprocess.run(
        [*command, "--format", "json", *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=repo,
        timeout=180,
    )


def graphql_operations(emu) -> list[str]:
    return [r["operation"] for r in emu.requests if r["kind"] == "graphql"]


def test_repository_ids_come_with_the_listings(emulator, tmp_path: Path) -> None:
    """A composite and the action it uses, locked cold: two listings, no ``Repos`` query, and
    the ids in the lockfile are the forge's."""
    files = {".github/workflows/ci.yml": workflow("acme/wrap@v2.0.0")}
    forge, repo = make(tmp_path, forge_world(), files)
    emu = emulator(forge)
    done = lock(emu, repo, "--no-cache")
    assert done.returncode == 0, done.stderr
    assert "Repos" not in graphql_operations(emu)
    assert graphql_operations(emu).count("Refs") == 2  # the composite, then what it uses
    entries = {d["key"]: d for d in json.loads(done.stdout)["dependencies"]}
    assert (entries["acme/wrap@v2.0.0"]["owner_id"], entries["acme/wrap@v2.0.0"]["repo_id"]) == (
        10,
        30,
    )
    assert (entries["acme/tool@v1.2.0"]["owner_id"], entries["acme/tool@v1.2.0"]["repo_id"]) == (
        10,
        20,
    )


def test_a_locked_repository_verified_again_lists_once(emulator, tmp_path: Path) -> None:
    """Every entry of an existing lockfile is verified against its repository's listing and
    ids: with nothing cached, one ``Refs`` query answers both (and each composite is read at
    its commit again)."""
    files = {".github/workflows/ci.yml": workflow("acme/wrap@v2.0.0", "acme/other@v1.0.0")}
    forge, repo = make(tmp_path, forge_world(), files)
    emu = emulator(forge)
    assert lock(emu, repo, "--no-cache").returncode == 0
    written = (repo / LOCK).read_bytes()
    emu.reset()
    again = lock(emu, repo, "--no-cache")
    assert again.returncode == 0, again.stderr
    assert (repo / LOCK).read_bytes() == written
    assert graphql_operations(emu) == ["Refs"]
    kinds = [r["kind"] for r in emu.requests]
    assert kinds.count("raw") == 3 and len(kinds) == 4, kinds  # + each entry's action.yml


def test_commit_lookups_of_cached_and_fetched_listings_travel_together(
    emulator, tmp_path: Path
) -> None:
    """Two SHA pins no ref points at, one in a repository the cache lists, one in a repository
    it does not: one ``Objects`` query for both, after the one listing asked (then the
    containment check compares them with the refs)."""
    forge, first = make(tmp_path, forge_world(), {".github/workflows/ci.yml": workflow()})
    emu = emulator(forge)
    cache = str(tmp_path / "cache")
    (first / ".github/workflows/ci.yml").write_text(workflow("acme/tool@v1.2.0"))
    assert lock(emu, first, "--cache-dir", cache).returncode == 0  # acme/tool's listing cached
    second = tmp_path / "second"
    (second / ".github/workflows").mkdir(parents=True)
    (second / ".github/workflows/ci.yml").write_text(
        workflow(f"acme/tool@{C5}", f"acme/other@{D1}")
    )
    emu.reset()
    done = lock(emu, second, "--cache-dir", cache, "--no-narrow")
    assert done.returncode == 0, done.stderr
    operations = graphql_operations(emu)
    assert operations.count("Objects") == 1 and operations.count("Refs") == 1, operations
    keys = {d["key"]: d["sha"] for d in json.loads(done.stdout)["dependencies"]}
    assert keys == {f"acme/tool@{C5}": C5, f"acme/other@{D1}": D1}


def test_ids_a_listing_brought_are_cached_with_it(emulator, tmp_path: Path) -> None:
    """A run that lists a repository without locking anything of it (its ref does not exist)
    still keeps the ids the listing brought: the next repository's run takes the listing from
    the cache and needs no ``Repos`` query for the ids either (the corpus had six of these
    among 24 repositories)."""
    forge, first = make(tmp_path, forge_world(), {".github/workflows/ci.yml": workflow()})
    emu = emulator(forge)
    cache = str(tmp_path / "cache")
    (first / ".github/workflows/ci.yml").write_text(workflow("acme/tool@v9.9.9"))
    assert lock(emu, first, "--cache-dir", cache).returncode == 1  # not-pinned: no such ref
    assert graphql_operations(emu) == ["Refs"]
    second = tmp_path / "second"
    (second / ".github/workflows").mkdir(parents=True)
    (second / ".github/workflows/ci.yml").write_text(workflow("acme/tool@v1.2.0"))
    emu.reset()
    done = lock(emu, second, "--cache-dir", cache)
    assert done.returncode == 0, done.stderr
    assert graphql_operations(emu) == []
    entry = json.loads(done.stdout)["dependencies"][0]
    assert (entry["key"], entry["owner_id"], entry["repo_id"]) == ("acme/tool@v1.2.0", 10, 20)
