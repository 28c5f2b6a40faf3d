"""End to end on real data: ``../shared/corpus`` consumers, walked through the corpus forge.

The corpus's ``graph.jsonl`` lists the nested edges its extractor found (by plain git, with an
independent parser). Every edge reachable from the consumers must be among the edges pinner's walk
finds: same parent ``OWNER/REPO[/PATH]@COMMIT``, same ``uses`` value, same resolved commit. And
each top-level reference must resolve to the commit ``consumer_uses.jsonl`` records.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from pinner.core.walk import Graph, walk
from pinner.errors import InputError
from pinner.forge.snapshot import SnapshotForge
from pinner.sources import discover, read_source

pytestmark = pytest.mark.corpus


def _action_of(uses: str) -> str:
    return uses.rsplit("@", 1)[0]


def expected_edges(corpus: Path) -> set[tuple[str, str, str | None]]:
    """graph.jsonl edges reachable from the consumers' resolved references."""
    frontier: list[str] = []
    for line in (corpus / "consumer_uses.jsonl").open():
        use = json.loads(line)
        if use["type"] == "remote" and use.get("resolved"):
            frontier.append(f"{_action_of(use['uses'])}@{use['resolved']}".lower())
    by_parent: dict[str, list[dict]] = {}
    for line in (corpus / "graph.jsonl").open():
        edge = json.loads(line)
        by_parent.setdefault(edge["from"].lower(), []).append(edge)
    seen: set[str] = set()
    out: set[tuple[str, str, str | None]] = set()
    while frontier:
        node = frontier.pop()
        if node in seen:
            continue
        seen.add(node)
        for edge in by_parent.get(node, ()):
            out.add((edge["from"].lower(), edge["uses"], edge["resolved"]))
            if edge["resolved"] and edge["kind"] != "docker":
                frontier.append(f"{_action_of(edge['uses'])}@{edge['resolved']}".lower())
    return out


@pytest.fixture(scope="module")
def corpus(shared_dir: Path) -> Path:
    path = shared_dir / "corpus"
    if not (path / "graph.jsonl").is_file() or not (path / "consumers").is_dir():
        pytest.skip(f"{path}: corpus graph or consumers absent")
    return path


@pytest.fixture(scope="module")
def graphs(corpus: Path) -> dict[str, Graph]:
    forge = SnapshotForge(corpus / "forge")
    refused: list[str] = []

    async def go() -> dict[str, Graph]:
        out = {}
        for consumer in sorted((corpus / "consumers").iterdir()):
            if not consumer.is_dir():
                continue
            sources = []
            for found in discover([consumer]):
                try:
                    sources.append(read_source(found))
                except InputError as exc:  # zizmor's deliberately invalid test fixture
                    refused.append(str(exc))
            out[consumer.name] = await walk(sources, forge, root=consumer)
        return out

    result = asyncio.run(go())
    assert len(refused) <= 1, refused
    return result


def test_walk_finds_every_corpus_edge(corpus: Path, graphs: dict[str, Graph]) -> None:
    expected = expected_edges(corpus)
    assert expected, "the corpus graph has edges reachable from the consumers"
    found = {
        (e.parent.lower(), e.uses, e.commit)
        for graph in graphs.values()
        for e in graph.edges
        if not e.local
    }
    missing = sorted(expected - found)
    assert missing == [], f"{len(missing)} corpus edges not found, e.g. {missing[:5]}"


def test_top_level_references_resolve_like_the_corpus(
    corpus: Path, graphs: dict[str, Graph]
) -> None:
    by_site = {}
    for graph_name, graph in graphs.items():
        for e in graph.edges:
            if e.local and e.line is not None:
                by_site[(graph_name, e.file, e.line)] = e
    checked = 0
    for line in (corpus / "consumer_uses.jsonl").open():
        use = json.loads(line)
        if use["type"] != "remote":
            continue
        edge = by_site.get((use["consumer"].replace("/", "__"), use["file"], use["line"]))
        if edge is None:
            continue  # in the refused invalid fixture
        assert edge.uses == use["uses"]
        if use.get("resolved"):
            assert edge.commit == use["resolved"], use
        else:
            assert edge.commit is None and edge.error, use
        checked += 1
    assert checked > 2500


def test_real_cli_on_two_consumers_against_the_emulator(
    corpus: Path, emulator, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from pinner.cli import app

    emu = emulator(corpus / "forge")
    expected = expected_edges(corpus)
    checked = 0
    for name in ("aio-libs__aiohttp", "prometheus__prometheus"):
        consumer = corpus / "consumers" / name
        if not consumer.is_dir():
            pytest.skip(f"{consumer} absent")
        out = tmp_path / f"{name}.json"
        result = CliRunner().invoke(
            app,
            [
                "audit",
                str(consumer),
                "--server-url",
                emu.url,
                "--no-cache",
                "--no-images",  # the corpus names public images: no registry in tests
                "--format",
                "json",
                "-o",
                str(out),
            ],
            env={"GITHUB_TOKEN": "ghp_corpusAuditToken", "PINNER_NO_GH": "1"},
        )
        assert result.exit_code in (0, 1), result.output
        doc = json.loads(out.read_text())
        assert doc["schema"] == "pinner.audit/1"
        edges = {(e["from"].lower(), e["uses"], e["commit"]) for e in doc["edges"]}
        parents = {e[0] for e in edges}
        mine = {e for e in expected if e[0] in parents}
        assert mine <= edges, sorted(mine - edges)[:5]
        checked += len(mine)
    assert checked >= 20  # 8 + 13 nested corpus edges reachable from these two
