"""Audit findings grouped by cause, the summary first, the tree on demand, several repositories.

The same finding reached through many ``uses:`` lines (a mutable download inside one action
used from 88 lines) prints once in text, with the list of lines; JSON keeps one record per
occurrence with a shared group id. The tree prints with ``--tree``, or by itself when the
findings are few and the tree is short. With several repositories on the command line every
path says which repository it belongs to.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinner.cli import app
from pinner.commands.common import repository_labels
from pinner.core.audit import AuditResult, evaluate
from pinner.core.walk import Edge, Graph, Node, merge_graphs
from pinner.formats import audit_text
from pinner.rules.base import Finding, Severity
from pinner.sources.discovery import discover

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
SCENARIOS = ROOT / "fixtures" / "consumers" / "audit-scenarios"
DOWNLOADER = "audit-org/downloader@41d0485928c248198ea0ef6540e79e28cd2dcb57 # v1.0.0"
COMPOSITE = "audit-org/composite@1b070fc946745c52f1ee928caddb0ec033e24710 # v1.0.0"


def workflow(*uses: str) -> str:
    steps = "".join(f"      - uses: {u}\n      - run: make\n" for u in uses)
    return f"on: push\njobs:\n  one:\n    runs-on: ubuntu-latest\n    steps:\n{steps}"


def repo(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / ".github" / "workflows" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / ".git").mkdir(exist_ok=True)
    return root


def run(*args: str, cwd: Path | None = None):
    env = {"PINNER_NO_GH": "1", "GITHUB_TOKEN": "", "GH_TOKEN": "", "NO_COLOR": "1"}
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(app, ["audit", "--snapshot", str(FORGE), *args], env=env)
    finally:
        os.chdir(old)


@pytest.fixture
def busy(tmp_path: Path) -> Path:
    """Two workflows using one downloading action on 5 lines, and a composite on 2."""
    return repo(
        tmp_path / "busy",
        {
            "a.yml": workflow(DOWNLOADER, DOWNLOADER, COMPOSITE),
            "b.yml": workflow(DOWNLOADER, COMPOSITE, DOWNLOADER, DOWNLOADER),
        },
    )


def test_a_cause_reached_from_many_lines_prints_once_with_its_lines(busy: Path) -> None:
    result = run(str(busy))
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    # the summary comes first
    assert re.match(r"\d+ references \(\d+ nested\) in 2 files; \d+ findings \(", lines[0])
    assert " from " in lines[0] and " causes;" in lines[0]
    latest = [ln for ln in lines if "tool/latest/tool-linux.tgz" in ln]
    assert len(latest) == 1, latest  # 5 occurrences, printed once
    head = lines.index(latest[0])
    assert latest[0].startswith("medium mutable-download: https://example.com/tool/latest/")
    # the message names the action the download is in, so no 'via' line repeats it
    assert latest[0].endswith(
        f"downloaded at {DOWNLOADER.split(' ')[0]}:action.yml:8  (5 uses: lines)"
    )
    block = lines[head + 1 : head + 3]
    assert block == [
        "    .github/workflows/a.yml:6, 8",
        "    .github/workflows/b.yml:6, 10, 12",
    ]
    # a nested cause reached from 2 lines: its place upstream, the chain, the lines
    leaf = [ln for ln in lines if ln.startswith("high unpinned-ref: audit-org/leaf@v1 ")]
    assert len(leaf) == 1 and leaf[0].endswith("(2 uses: lines)")
    after = lines[lines.index(leaf[0]) + 1 :]
    assert after[0].startswith("    at audit-org/composite@1b070fc94674")
    assert after[1].startswith("    via audit-org/composite@")
    assert after[2:4] == ["    .github/workflows/a.yml:10", "    .github/workflows/b.yml:8"]


def test_json_keeps_every_occurrence_with_its_group(busy: Path) -> None:
    doc = json.loads(run(str(busy), "--format", "json").stdout)
    latest = [f for f in doc["findings"] if "tool/latest/tool-linux.tgz" in f["message"]]
    assert len(latest) == 5
    assert len({f["group"] for f in latest}) == 1
    assert len({f["fingerprint"] for f in latest}) == 5
    assert sorted((f["file"], f["line"]) for f in latest) == [
        (".github/workflows/a.yml", 6),
        (".github/workflows/a.yml", 8),
        (".github/workflows/b.yml", 6),
        (".github/workflows/b.yml", 10),
        (".github/workflows/b.yml", 12),
    ]
    groups = Counter(f["group"] for f in doc["findings"])
    assert doc["summary"]["groups"] == len(groups) < len(doc["findings"])
    for finding in doc["findings"]:  # the route is the chain's edges
        assert [doc["edges"][i]["uses"] for i in finding["route"]] == finding["chain"]


def test_the_tree_prints_on_demand_or_when_findings_are_few(busy: Path, tmp_path: Path) -> None:
    tree_line = re.compile(r"^[├└]── ")
    many = run(str(SCENARIOS))  # 30-odd causes: no tree unless asked
    assert not any(tree_line.match(ln) for ln in many.stdout.splitlines())
    assert many.stdout.splitlines()[-1].startswith("(--tree prints the graph: ")
    asked = run(str(SCENARIOS), "--tree")
    assert any(tree_line.match(ln) for ln in asked.stdout.splitlines())
    assert asked.stdout.splitlines()[0] == many.stdout.splitlines()[0]

    assert not any(tree_line.match(ln) for ln in run(str(busy)).stdout.splitlines())  # 7 causes
    downloads = repo(tmp_path / "downloads", {"ci.yml": workflow(DOWNLOADER, DOWNLOADER)})
    few = run(str(downloads))  # 2 causes and a 3-line tree: shown
    assert any(tree_line.match(ln) for ln in few.stdout.splitlines())
    refused = run(str(downloads), "--no-tree")
    assert not any(tree_line.match(ln) for ln in refused.stdout.splitlines())
    assert "--tree prints" not in refused.stdout

    clean = repo(tmp_path / "clean", {"ci.yml": workflow()})
    assert run(str(clean)).stdout.splitlines()[0].startswith("0 references")


def test_several_repositories_say_which_each_path_belongs_to(tmp_path: Path) -> None:
    shutil.copytree(SCENARIOS, tmp_path / "alpha")
    shutil.copytree(SCENARIOS, tmp_path / "beta")
    text = run("alpha", "beta", "--tree", cwd=tmp_path)
    assert text.exit_code == 1, text.output
    paths = re.findall(r"(?m)^(?:    )?(\S*\.github/\S*?\.ya?ml)[:\s]", text.stdout)
    paths += re.findall(r"(?m)^(\S+\.ya?ml)$", text.stdout)  # tree roots
    assert paths and all(p.startswith(("alpha/", "beta/")) for p in paths), paths[:5]
    assert {p.split("/")[0] for p in paths} == {"alpha", "beta"}

    single = run("alpha", cwd=tmp_path)
    doc_one = json.loads(run("alpha", "--format", "json", cwd=tmp_path).stdout)
    doc = json.loads(run("alpha", "beta", "--format", "json", cwd=tmp_path).stdout)
    assert len(doc["findings"]) == 2 * len(doc_one["findings"])
    assert {f["file"].split("/")[0] for f in doc["findings"]} == {"alpha", "beta"}
    assert sorted(
        f["file"].removeprefix("beta/") for f in doc["findings"] if f["file"].startswith("beta/")
    ) == sorted(f["file"] for f in doc_one["findings"])
    assert len({f["fingerprint"] for f in doc["findings"]}) == len(doc["findings"])
    roots = [n["id"] for n in doc["nodes"] if n["local"] and n["depth"] == 0]
    assert "alpha/.github/workflows/direct.yml" in roots
    assert "beta/.github/workflows/direct.yml" in roots
    # one repository: paths stay relative to it, as always
    assert "alpha/" not in single.stdout and ".github/workflows/direct.yml" in single.stdout

    absolute = run(str(tmp_path / "alpha"), str(tmp_path / "beta"), cwd=ROOT)
    assert absolute.exit_code == 1
    assert "alpha/.github/workflows/direct.yml" in absolute.stdout


def test_several_repositories_resolve_local_actions_each_in_its_own(tmp_path: Path) -> None:
    """``./.github/actions/setup`` means each repository's own action: one is clean, one not."""
    action = "runs:\n  using: composite\n  steps:\n    - uses: {}\n"
    for name, inner in (
        ("good", "audit-org/leaf@" + "d1f167a32cf739c02b6bb385c6dae42384ca67c6"),
        ("bad", "audit-org/leaf@v1"),
    ):
        root = repo(tmp_path / name, {"ci.yml": workflow("./.github/actions/setup")})
        (root / ".github" / "actions" / "setup").mkdir(parents=True)
        (root / ".github" / "actions" / "setup" / "action.yml").write_text(action.format(inner))
    doc = json.loads(run("good", "bad", "--format", "json", cwd=tmp_path).stdout)
    unpinned = [f for f in doc["findings"] if f["rule"] == "unpinned-ref"]
    assert [f["file"] for f in unpinned] == ["bad/.github/actions/setup/action.yml"]


def test_a_configured_path_ignore_still_applies_with_several_repositories(tmp_path: Path) -> None:
    shutil.copytree(SCENARIOS, tmp_path / "alpha")
    shutil.copytree(SCENARIOS, tmp_path / "beta")
    (tmp_path / "alpha" / ".github" / "pinner.toml").write_text(
        'ignore = [{ path = ".github/workflows/direct.yml" }]\n'
    )
    doc = json.loads(run("alpha", "beta", "--format", "json", cwd=tmp_path).stdout)
    files = {f["file"] for f in doc["findings"]}
    assert not any(f.endswith("/.github/workflows/direct.yml") for f in files), files
    assert {f["file"] for f in doc["ignored"]} >= {
        "alpha/.github/workflows/direct.yml",
        "beta/.github/workflows/direct.yml",
    }


# ----------------------------------------------------------------------------- units


def test_repository_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("one", "two"):
        repo(tmp_path / name, {"ci.yml": workflow()})
    monkeypatch.chdir(tmp_path)
    both = discover([Path("one"), Path("two")])
    assert list(repository_labels(both).values()) == ["one/", "two/"]
    assert list(repository_labels(discover([Path("one")])).values()) == [""]
    monkeypatch.chdir(tmp_path / "one")
    here = discover([Path("."), Path("../two")])
    assert list(repository_labels(here).values()) == ["", "../two/"]


def _graph(label: str) -> Graph:
    nodes = {
        "w.yml": Node("w.yml", "workflow", True, 0, path="w.yml", file="w.yml"),
        "o/a@" + "1" * 40: Node("o/a@" + "1" * 40, "action", False, 1, repo="o/a", commit="1" * 40),
    }
    edges = (
        Edge(0, "w.yml", "o/a@" + "1" * 40, "o/a@v1", "action", "w.yml", 3),
        Edge(1, "o/a@" + "1" * 40, None, "o/b@v2", "action", "action.yml", 5, depth=1),
    )
    return Graph(nodes=nodes, edges=edges, roots=("w.yml",))


def test_merge_graphs_labels_local_files_and_shares_remote_nodes() -> None:
    merged = merge_graphs([("x/", _graph("x")), ("y/", _graph("y"))])
    assert merged.roots == ("x/w.yml", "y/w.yml")
    assert [(e.index, e.parent, e.file) for e in merged.edges] == [
        (0, "x/w.yml", "x/w.yml"),
        (1, "o/a@" + "1" * 40, "action.yml"),
        (2, "y/w.yml", "y/w.yml"),  # the shared remote node's edge is kept once
    ]
    assert merged.labels == {"x/w.yml": "x/", "y/w.yml": "y/"}
    assert merged.nodes["y/w.yml"].file == "y/w.yml"
    chains = merged.chains()
    assert [c.edges for c in chains[1]] == [(0, 1), (2, 1)]  # both roots reach the nested edge
    alone = _graph("x")
    assert merge_graphs([("", alone)]) is alone


def test_groups_order_worst_first_and_one_line_groups_keep_the_editor_format() -> None:
    graph = _graph("x")
    findings = [
        Finding("missing-comment", Severity.LOW, "m1", "w.yml", 3, ("o/a@v1",), group="a"),
        Finding("unpinned-ref", Severity.HIGH, "m2", "w.yml", 9, ("o/a@v1",), group="b"),
        Finding("unpinned-ref", Severity.HIGH, "m2", "v.yml", 4, ("o/a@v1",), group="b"),
    ]
    result = AuditResult(graph, tuple(findings), (), Severity.MEDIUM)
    lines = audit_text.render(result, tree=False).splitlines()
    assert lines[2:] == [
        "high unpinned-ref: m2  (2 uses: lines)",
        "    via o/a@v1",
        "    v.yml:4",
        "    w.yml:9",
        "w.yml:3:1: low missing-comment: m1",
    ]


def test_tree_wanted_is_few_causes_and_a_short_tree() -> None:
    graph = _graph("x")
    result = evaluate(graph)
    assert audit_text.tree_wanted(result, audit_text.SHORT_TREE)
    assert not audit_text.tree_wanted(result, audit_text.SHORT_TREE + 1)
    many = tuple(
        Finding("unpinned-ref", Severity.HIGH, f"m{n}", "w.yml", n, ("o/a@v1",), group=str(n))
        for n in range(audit_text.FEW_GROUPS + 1)
    )
    assert not audit_text.tree_wanted(AuditResult(graph, many, (), Severity.MEDIUM), 3)
    assert audit_text.tree_wanted(AuditResult(graph, many[:-1], (), Severity.MEDIUM), 3)


@pytest.mark.corpus
def test_corpus_consumers_print_each_cause_once(corpus_forge_dir: Path, shared_dir: Path) -> None:
    """Real repositories: as many entries as causes, every occurrence's line listed."""
    consumers = shared_dir / "corpus" / "consumers"
    names = ["certbot__certbot", "sphinx-doc__sphinx", "rust-lang__rust-analyzer"]
    entry = re.compile(r"^(?:\S+:\d+:\d+: )?(high|medium|low|informational) [a-z-]+: ")
    for name in names:
        args = ("--snapshot", str(corpus_forge_dir), str(consumers / name))
        env = {"PINNER_NO_GH": "1", "GITHUB_TOKEN": "", "GH_TOKEN": "", "NO_COLOR": "1"}
        text = CliRunner().invoke(app, ["audit", *args], env=env).stdout
        doc = json.loads(CliRunner().invoke(app, ["audit", *args, "-f", "json"], env=env).stdout)
        entries = [ln for ln in text.splitlines() if entry.match(ln)]
        assert len(entries) == doc["summary"]["groups"] < len(doc["findings"]), name
        for finding in doc["findings"]:
            listed = f"{finding['file']}:{finding['line']}"
            assert re.search(rf"{re.escape(finding['file'])}:(\d+, )*{finding['line']}\b", text), (
                listed
            )


def test_one_reference_on_many_upstream_lines_is_one_entry_listing_them() -> None:
    graph = _graph("x")
    remote = "o/shared@" + "c" * 40 + ":.github/workflows/test.yml"
    findings = [
        Finding(
            "unpinned-ref",
            Severity.HIGH,
            "actions/checkout@v4 is pinned to tag 'v4', not to a commit SHA",
            "ci.yml",
            9,
            ("o/shared/.github/workflows/test.yml@main", "actions/checkout@v4"),
            remote=f"{remote}:{line}",
            group="g",
            column=11,
        )
        for line in range(100, 100 + 30 * (audit_text.UPSTREAM_LINES_SHOWN + 3), 30)
    ]
    result = AuditResult(graph, tuple(reversed(findings)), (), Severity.MEDIUM)
    assert audit_text.render(result, tree=False).splitlines()[2:] == [
        "ci.yml:9:11: high unpinned-ref: actions/checkout@v4 is pinned to tag 'v4', not to a "
        "commit SHA",
        "    via o/shared/.github/workflows/test.yml@main -> actions/checkout@v4",
        f"    at {remote}:100, 130, 160, 190, 220, 250, 280, 310, 340, 370 and 3 more",
    ]


@pytest.mark.corpus
def test_a_tag_written_on_hundreds_of_lines_of_a_reusable_workflow_is_one_cause(
    corpus_forge_dir: Path, shared_dir: Path
) -> None:
    """opentelemetry-python calls a reusable workflow that names actions/checkout@v4 on 254
    lines and actions/setup-python@v5 on 127: two causes, two entries (they were 381), while
    JSON and SARIF keep one record, and one fingerprint, per line."""
    consumer = shared_dir / "corpus" / "consumers" / "open-telemetry__opentelemetry-python"
    args = ("--snapshot", str(corpus_forge_dir), "--no-images", str(consumer))
    env = {"PINNER_NO_GH": "1", "GITHUB_TOKEN": "", "GH_TOKEN": "", "NO_COLOR": "1"}
    text = CliRunner().invoke(app, ["audit", *args], env=env).stdout
    doc = json.loads(CliRunner().invoke(app, ["audit", *args, "-f", "json"], env=env).stdout)
    checkout = [f for f in doc["findings"] if f["message"].startswith("actions/checkout@v4 is ")]
    assert len(checkout) > 200
    assert len({f["group"] for f in checkout}) == 1
    assert len({f["fingerprint"] for f in checkout}) == len(checkout)
    entries = [ln for ln in text.splitlines() if "high unpinned-ref: actions/checkout@v4 " in ln]
    assert len(entries) == 1, entries
    at = text.splitlines()[text.splitlines().index(entries[0]) + 2]
    assert at.startswith("    at open-telemetry/opentelemetry-python-contrib@")
    assert at.endswith(f" and {len(checkout) - audit_text.UPSTREAM_LINES_SHOWN} more")
    assert f"from {doc['summary']['groups']} causes;" in text.splitlines()[0]
    assert doc["summary"]["groups"] < 20


def test_the_summary_counts_one_file_and_one_reference_in_the_singular(tmp_path: Path) -> None:
    one = repo(tmp_path / "one", {"ci.yml": workflow("audit-org/leaf@v1")})
    result = run("--no-images", str(one))
    assert result.stdout.startswith("1 reference (0 nested) in 1 file; 1 finding ("), result.stdout
