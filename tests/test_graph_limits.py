"""The audit graph has bounds (issue 14, item 10), through the real CLI against the emulator.

A hostile ``action.yml`` with 3,000 ``uses:`` of 3,000 repositories cost 3,151 requests of the
user's quota. The walk now follows at most so many references and distinct actions per remote
file and per run (:class:`pinner.core.graph_limits.GraphLimits`); what it leaves out is a
``graph-limit`` finding on the user's line, and each limit has a flag to raise it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinner.cli import app
from pinner.core.graph_limits import GraphLimits
from tests.forge.builder import RepoBuilder

TOKEN = "graph-limit-test-token"
LEAF = "name: leaf\nruns:\n  using: composite\n  steps: []\n"


def composite(uses: list[str]) -> str:
    steps = "".join(f"    - uses: {u}\n" for u in uses)
    return f"name: hostile\nruns:\n  using: composite\n  steps:\n{steps}"


class HostileForge:
    """``hostile-graph/many``: 3,000 ``uses:`` of 3,000 repositories that do not exist;
    ``hostile-graph/wide``: 120 ``uses:`` of 120 actions of ``hostile-graph/tree``."""

    WIDE = 120

    def __init__(self, base: Path) -> None:
        self.dir = base / "forge"
        many = RepoBuilder("hostile-graph/many")
        self.many = many.commit("c1")
        many.branch("main", self.many)
        many.light_tag("v1.0.0", self.many)
        many.file(self.many, "action.yml", composite([f"nobody-{i}/r{i}@v1" for i in range(3000)]))
        many.write(self.dir)
        tree = RepoBuilder("hostile-graph/tree")
        t1 = tree.commit("t1")
        tree.branch("main", t1)
        tree.light_tag("v1", t1)
        for i in range(self.WIDE):
            tree.file(t1, f"p{i}/action.yml", LEAF)
        tree.write(self.dir)
        wide = RepoBuilder("hostile-graph/wide")
        self.wide = wide.commit("w1")
        wide.branch("main", self.wide)
        wide.light_tag("v1.0.0", self.wide)
        uses = [f"hostile-graph/tree/p{i}@v1" for i in range(self.WIDE)]
        wide.file(self.wide, "action.yml", composite(uses))
        wide.write(self.dir)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileForge:
    return HostileForge(tmp_path_factory.mktemp("hostile-graph"))


def consumer(root: Path, uses: str) -> Path:
    path = root / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: {uses}\n"
    )
    return root


def audit(emu, root: Path, *args: str, token: str = "") -> tuple[int, dict]:
    env = {"PINNER_NO_GH": "1", "GITHUB_TOKEN": token, "GH_TOKEN": "", "NO_COLOR": "1"}
    argv = ["audit", str(root), "--server-url", emu.url, "--no-cache", "--format", "json", *args]
    result = CliRunner().invoke(app, argv, env=env)
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def rule(document: dict, rule_id: str) -> list[dict]:
    return [f for f in document["findings"] if f["rule"] == rule_id]


@pytest.mark.parametrize("token", ["", TOKEN], ids=["anonymous", "token"])
def test_an_action_with_3000_uses_costs_a_bounded_number_of_requests(
    emulator, hostile: HostileForge, tmp_path: Path, token: str
) -> None:
    emu = emulator(hostile.dir)
    root = consumer(tmp_path / "repo", f"hostile-graph/many@{hostile.many} # v1.0.0")
    code, document = audit(emu, root, token=token)
    assert code == 1
    [limit] = rule(document, "graph-limit")
    assert limit["severity"] == "medium" and limit["line"] == 6
    assert "50 of its 3000 references followed, the rest not audited" in limit["message"]
    assert "more than 50 distinct actions from one file (--max-file-nodes)" in limit["message"]
    assert len(rule(document, "unresolvable")) == 50  # the ones followed: missing repositories
    requests = emu.stats()["total"]
    # 3,151 before: now one metadata file, and for 50 repositories a listing each (GraphQL
    # batches 20 and leaves the missing ones to git, which says they are missing)
    assert requests <= 60 + (3 if token else 0), emu.stats()


def test_the_limits_are_flags_and_a_raised_limit_reads_everything(
    emulator, hostile: HostileForge, tmp_path: Path
) -> None:
    emu = emulator(hostile.dir)
    root = consumer(tmp_path / "repo", f"hostile-graph/wide@{hostile.wide} # v1.0.0")
    _, document = audit(emu, root, token=TOKEN)
    [limit] = rule(document, "graph-limit")
    assert "50 of its 120 references followed" in limit["message"]
    read = [n for n in document["nodes"] if n["id"].startswith("hostile-graph/tree/")]
    assert len(read) == 50
    _, raised = audit(emu, root, "--max-file-nodes", "200", token=TOKEN)
    assert rule(raised, "graph-limit") == []
    assert len([n for n in raised["nodes"] if n["id"].startswith("hostile-graph/tree/")]) == 120


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            ("--max-nodes", "10"),
            "not read: the run's 10 remote actions and workflows were read (--max-nodes)",
        ),
        (
            ("--max-edges", "30"),
            "30 of its 120 references followed, the rest not audited: the run's 30 nested "
            "references were reached (--max-edges)",
        ),
        (
            ("--max-file-edges", "7"),
            "7 of its 120 references followed, the rest not audited: more than 7 references "
            "in one file (--max-file-edges)",
        ),
    ],
    ids=["nodes", "edges", "file-edges"],
)
def test_run_and_file_limits_are_findings_and_deterministic(
    emulator, hostile: HostileForge, tmp_path: Path, flags: tuple[str, ...], expected: str
) -> None:
    emu = emulator(hostile.dir)
    root = consumer(tmp_path / "repo", f"hostile-graph/wide@{hostile.wide} # v1.0.0")
    args = ("--max-file-nodes", "200", *flags)
    code, first = audit(emu, root, *args, token=TOKEN)
    assert code == 1
    limits = rule(first, "graph-limit")
    assert limits and all(f["message"].endswith(expected) for f in limits)
    if flags[0] == "--max-nodes":  # the wide action and 9 of its actions were read
        assert len(limits) == HostileForge.WIDE - 9
        read = [n for n in first["nodes"] if n["kind"] == "action" and not n["local"]]
        assert len(read) == HostileForge.WIDE + 1  # every node is listed, read or not
    _, again = audit(emu, root, *args, token=TOKEN)
    assert again == first  # which references a limit leaves out does not depend on timing


def test_defaults_are_far_above_real_graphs_and_documented() -> None:
    limits = GraphLimits()
    # the corpus peaks at 381 references and 5 actions in one file, 25 actions and 382
    # nested references in one run (pinner/core/graph_limits.py says so)
    assert limits.file_edges >= 2 * 381 and limits.file_nodes >= 5 * 5
    assert limits.nodes >= 20 * 25 and limits.edges >= 20 * 382
    root = Path(__file__).resolve().parents[1]
    docs = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    text = "".join(path.read_text(encoding="utf-8") for path in docs)
    for option in GraphLimits.OPTIONS.values():
        assert option in text
