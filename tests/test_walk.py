"""The transitive walk on small snapshots built per test (tests/forge/builder.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pinner.core.audit import evaluate
from pinner.core.walk import Graph, walk
from pinner.errors import RemoteError
from pinner.forge.snapshot import SnapshotForge
from pinner.sources import discover, read_source
from pinner.sources.dockerfile import dockerfile_images
from tests.forge.builder import RepoBuilder


def _repo(tmp_path: Path, workflow: str, extra: dict[str, str] | None = None) -> Path:
    root = tmp_path / "repo"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text(workflow)
    for rel, text in (extra or {}).items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def _walk(root: Path, forge, *, paths: list[Path] | None = None, **kw) -> Graph:
    sources = [read_source(f) for f in discover(paths or [root])]

    async def go() -> Graph:
        return await walk(sources, forge, root=root, **kw)

    return asyncio.run(go())


def _chain_forge(tmp_path: Path, depth: int) -> tuple[Path, str]:
    """o/chain with c1..cN, each composite calling the next at one commit."""
    b = RepoBuilder("o/chain")
    c = b.commit("c")
    b.branch("main", c)
    b.light_tag("v1.0.0", c)
    for n in range(1, depth):
        b.file(
            c,
            f"c{n}/action.yml",
            f"runs:\n  using: composite\n  steps:\n    - uses: o/chain/c{n + 1}@{c}\n",
        )
    b.file(c, f"c{depth}/action.yml", "runs:\n  using: node20\n  main: x.js\n")
    forge_dir = tmp_path / "forge"
    b.write(forge_dir)
    return forge_dir, c


def test_dockerfile_from_lines() -> None:
    text = (
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=debian\n"
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"
        "from build as test\n"
        "FROM scratch\n"
        "  FROM ghcr.io/o/i@sha256:abc\n"
        "COPY --from=build /x /x\n"
    )
    assert dockerfile_images(text) == [(3, "golang:1.22"), (6, "ghcr.io/o/i@sha256:abc")]


def test_depth_limit_is_a_parameter_and_flags_the_edge(tmp_path: Path) -> None:
    forge_dir, c = _chain_forge(tmp_path, 4)
    root = _repo(
        tmp_path,
        f"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
        f"      - uses: o/chain/c1@{c} # v1.0.0\n",
    )
    graph = _walk(root, SnapshotForge(forge_dir), max_depth=2)
    exceeded = [e for e in graph.edges if e.depth_exceeded]
    assert [e.uses for e in exceeded] == [f"o/chain/c3@{c}"]
    assert exceeded[0].depth == 2
    assert f"o/chain/c3@{c}" not in graph.nodes  # not followed
    full = _walk(root, SnapshotForge(forge_dir))
    assert not [e for e in full.edges if e.depth_exceeded]
    assert f"o/chain/c4@{c}" in full.nodes


def test_metadata_lookup_order_and_missing(tmp_path: Path) -> None:
    b = RepoBuilder("o/meta")
    c = b.commit("c")
    b.branch("main", c)
    b.light_tag("v1", c)
    b.file(c, "yaml/action.yaml", "runs:\n  using: node20\n  main: x.js\n")
    b.file(c, "both/action.yml", "runs:\n  using: node20\n  main: x.js\n")
    b.file(c, "both/action.yaml", "runs:\n  using: composite\n  steps:\n    - uses: o/x@v1\n")
    b.file(c, "bad/action.yml", "runs: [unclosed\n")
    b.write(tmp_path / "forge")
    steps = "".join(f"      - uses: o/meta/{p}@{c} # v1\n" for p in ("yaml", "both", "bad", "none"))
    root = _repo(tmp_path, f"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n{steps}")
    graph = _walk(root, SnapshotForge(tmp_path / "forge"))
    assert graph.nodes[f"o/meta/yaml@{c}"].file == "yaml/action.yaml"
    both = graph.nodes[f"o/meta/both@{c}"]
    assert both.file == "both/action.yml" and both.using == "node20"
    assert not graph.children(both.id)  # action.yaml (composite) was never read
    assert "malformed YAML" in (graph.nodes[f"o/meta/bad@{c}"].error or "")
    assert "no none/action.yml" in (graph.nodes[f"o/meta/none@{c}"].error or "")
    rules = {(f.rule, f.chain[-1]) for f in evaluate(graph).findings}
    assert ("unresolvable", f"o/meta/bad@{c}") in rules
    assert ("unresolvable", f"o/meta/none@{c}") in rules


def test_local_reusable_workflow_and_docker_action_read_from_disk(tmp_path: Path) -> None:
    b = RepoBuilder("o/a")
    c = b.commit("c")
    b.branch("main", c)
    b.file(c, "action.yml", "runs:\n  using: node20\n  main: x.js\n")
    b.write(tmp_path / "forge")
    root = _repo(
        tmp_path,
        "on: push\njobs:\n  call:\n    uses: ./.github/workflows/called.yml\n"
        "  d:\n    runs-on: x\n    steps:\n      - uses: ./docker-thing\n",
        {
            ".github/workflows/called.yml": "on: workflow_call\njobs:\n  a:\n    runs-on: x\n"
            "    steps:\n      - uses: o/a@main\n",
            "docker-thing/Dockerfile": "FROM alpine:3\n",
        },
    )
    # only ci.yml is given: called.yml and the Dockerfile are found from the references
    graph = _walk(
        root, SnapshotForge(tmp_path / "forge"), paths=[root / ".github" / "workflows" / "ci.yml"]
    )
    called = graph.nodes[".github/workflows/called.yml"]
    assert called.local
    [branch] = [e for e in graph.edges if e.uses == "o/a@main"]
    assert branch.parent == called.id and branch.local and branch.commit == c
    [image] = [e for e in graph.edges if e.kind == "docker"]
    assert image.image == "alpine:3" and image.file == "docker-thing/Dockerfile"
    rules = {f.rule for f in evaluate(graph).findings}
    assert rules == {"unpinned-ref", "branch-ref", "unpinned-image"}


def test_remote_failure_propagates(tmp_path: Path) -> None:
    forge_dir, c = _chain_forge(tmp_path, 3)
    root = _repo(
        tmp_path,
        f"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: o/chain/c1@{c}\n",
    )

    class Failing:
        def __init__(self) -> None:
            self.inner = SnapshotForge(forge_dir)

        async def get_file(self, repo: str, commit: str, path: str) -> bytes | None:
            if path.startswith("c2/"):
                raise RemoteError("forge unreachable")
            return await self.inner.get_file(repo, commit, path)

        def __getattr__(self, name: str):
            return getattr(self.inner, name)

    with pytest.raises(RemoteError):
        _walk(root, Failing())


def test_one_layer_is_fetched_concurrently(tmp_path: Path) -> None:
    b = RepoBuilder("o/many")
    c = b.commit("c")
    b.branch("main", c)
    for n in range(6):
        b.file(c, f"a{n}/action.yml", "runs:\n  using: node20\n  main: x.js\n")
    b.write(tmp_path / "forge")
    steps = "".join(f"      - uses: o/many/a{n}@{c}\n" for n in range(6))
    root = _repo(tmp_path, f"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n{steps}")

    class Slow:
        def __init__(self) -> None:
            self.inner = SnapshotForge(tmp_path / "forge")
            self.active = 0
            self.peak = 0

        async def get_file(self, repo: str, commit: str, path: str) -> bytes | None:
            self.active += 1
            self.peak = max(self.peak, self.active)
            await asyncio.sleep(0.02)
            self.active -= 1
            return await self.inner.get_file(repo, commit, path)

        def __getattr__(self, name: str):
            return getattr(self.inner, name)

    slow = Slow()
    graph = _walk(root, slow)
    assert len(graph.nodes) == 7
    assert slow.peak == 6


def test_same_repo_reference_uses_the_parents_commit(tmp_path: Path) -> None:
    b = RepoBuilder("o/mono")
    c1 = b.commit("c1")
    c2 = b.commit("c2", c1)
    c3 = b.commit("c3", c2)
    b.branch("main", c3)
    b.light_tag("v1", c1)
    composite = "runs:\n  using: composite\n  steps:\n    - uses: $/inner\n"
    b.file(c1, "action.yml", composite)
    b.file(c1, "inner/action.yml", "runs:\n  using: node20\n  main: x.js\n")
    b.file(c2, "action.yml", composite)
    b.file(c2, "inner/action.yml", "runs:\n  using: node20\n  main: x.js\n")
    b.file(c3, "inner/action.yml", "runs:\n  using: composite\n  steps:\n    - uses: o/x@v1\n")
    b.write(tmp_path / "forge")
    root = _repo(
        tmp_path,
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
        f"      - uses: o/mono@{c1} # v1\n"
        f"      - uses: o/mono@{c2} # main\n",
    )
    graph = _walk(root, SnapshotForge(tmp_path / "forge"))
    inner = {e.commit: e for e in graph.edges if e.uses == "$/inner"}
    assert inner[c1].child == f"o/mono/inner@{c1}"
    assert inner[c2].child == f"o/mono/inner@{c2}"  # the parent's commit, not main's
    assert inner[c2].reachability is None  # no second impostor check for the same commit
    findings = {(f.rule, f.chain) for f in evaluate(graph).findings}
    # the untagged c2 is stale where the user pinned it, not again on its $/ edge
    assert findings == {("stale-pin", (f"o/mono@{c2}",))}
