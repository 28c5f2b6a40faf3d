"""SARIF output validates against the official 2.1.0 schema and carries what code scanning needs.

Code scanning matches alerts across runs by ``partialFingerprints``: two results of one run with
the same rule and fingerprint are merged into one alert, and a fingerprint that changes when a
line moves closes the alert and opens another. So every fingerprint must be unique within a run
and survive unrelated edits. Rules link their section of the rules reference (``helpUri``) and
carry ``help.markdown``; a finding nested in a remote action lists each reference of its chain
as a ``relatedLocations`` entry that its message links to.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pinner.core.audit import AuditResult, run_audit
from pinner.errors import InputError
from pinner.forge.snapshot import SnapshotForge
from pinner.formats import github, sarif
from pinner.rules.base import Finding, Severity, all_rules
from pinner.sources import discover, read_source

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
SCENARIOS = ROOT / "fixtures" / "consumers" / "audit-scenarios"
DOCS_RULES = ROOT / "docs" / "rules.md"
LINK_RE = re.compile(r"(?<!\\)\[(?P<text>(?:[^\]\\]|\\.)*)\]\((?P<id>\d+)\)")


@pytest.fixture(scope="module")
def validator(shared_dir: Path) -> jsonschema.Draft4Validator:
    path = shared_dir / "sarif" / "sarif-schema-2.1.0.json"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    schema = json.loads(path.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def audit(consumer: Path, forge_dir: Path = FORGE) -> AuditResult:
    sources = []
    for found in discover([consumer]):
        try:
            sources.append(read_source(found))
        except InputError:  # zizmor ships deliberately broken fixtures: left out, as with
            continue  # --skip-unreadable

    async def go() -> AuditResult:
        return await run_audit(sources, SnapshotForge(forge_dir), root=consumer)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def scenarios() -> AuditResult:
    return audit(SCENARIOS)


def assert_code_scanning_fields(doc: dict[str, Any]) -> None:
    """The fields and limits GitHub's "SARIF support for code scanning" documents."""
    assert doc["version"] == "2.1.0"
    assert len(doc["runs"]) <= 20
    for run in doc["runs"]:
        rules = run["tool"]["driver"]["rules"]
        assert run["tool"]["driver"]["name"] and len(rules) <= 25_000
        for rule in rules:
            assert rule["id"] and rule["name"]
            assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
            assert rule["help"]["text"] and rule["help"]["markdown"]
            assert rule["helpUri"].startswith("https://")
            assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
            assert 0.0 < float(rule["properties"]["security-severity"]) <= 10.0
            assert rule["properties"]["precision"] in ("very-high", "high", "medium", "low")
            assert len(rule["properties"]["tags"]) <= 20
        results = run["results"]
        assert len(results) <= 25_000
        seen: Counter[tuple[str, str]] = Counter()
        for result in results:
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
            assert result["message"]["text"]
            (location,) = result["locations"]
            physical = location["physicalLocation"]
            uri = physical["artifactLocation"]["uri"]
            assert not uri.startswith("/") and "://" not in uri
            assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
            assert physical["region"]["startLine"] >= 1
            related = result.get("relatedLocations", [])
            assert len(related) <= 1_000
            ids = [r["id"] for r in related]
            assert len(ids) == len(set(ids))
            linked = {int(m["id"]) for m in LINK_RE.finditer(result["message"]["text"])}
            assert linked == set(ids), (linked, ids)  # every related location is linked, once
            for entry in related:
                assert entry["message"]["text"]
                assert entry["physicalLocation"]["artifactLocation"]["uri"]
            for key, value in result["partialFingerprints"].items():
                seen[(result["ruleId"], f"{key}={value}")] += 1
        duplicates = {k: n for k, n in seen.items() if n > 1}
        assert duplicates == {}, list(duplicates)[:5]


def test_sarif_of_a_real_audit_validates(validator, scenarios: AuditResult) -> None:
    doc = json.loads(sarif.render(scenarios))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert_code_scanning_fields(doc)
    run = doc["runs"][0]
    assert len(run["results"]) == len(scenarios.findings)
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(all_rules())
    for result in run["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert (SCENARIOS / uri).is_file()


def test_every_rule_links_its_section_of_the_rules_reference() -> None:
    anchors = set(re.findall(r"^## ([a-z-]+)$", DOCS_RULES.read_text(), re.MULTILINE))
    for rule in sarif.to_document(_empty())["runs"][0]["tool"]["driver"]["rules"]:
        assert rule["helpUri"] == (
            f"https://github.com/pinner-dev/pinner/blob/main/docs/rules.md#{rule['id']}"
        )
        assert rule["id"] in anchors  # the anchor exists
        assert rule["helpUri"] in rule["help"]["markdown"]
        assert rule["help"]["markdown"].startswith(f"**{rule['id']}**")


def _empty() -> AuditResult:
    from pinner.core.walk import Graph

    return AuditResult(Graph(nodes={}, edges=()), (), (), Severity.MEDIUM)


def test_empty_sarif_validates(validator) -> None:
    doc = sarif.to_document(_empty())
    assert not list(validator.iter_errors(doc))
    assert doc["runs"][0]["results"] == []


def test_nested_findings_carry_their_chain_as_related_locations(scenarios: AuditResult) -> None:
    doc = sarif.to_document(scenarios, server_url="https://ghe.example.com/")
    results = doc["runs"][0]["results"]
    deep = next(r for r in results if r["ruleId"] == "depth-exceeded" and "10 levels" in str(r))
    related = deep["relatedLocations"]
    assert [r["id"] for r in related] == list(range(1, len(related) + 1))
    assert len(related) == len(deep["properties"]["chain"]) - 1  # every hop below your line
    last = related[-1]["physicalLocation"]
    commit = "fab0a86aae725f24318384617a793a19b46f6cc3"
    assert last["artifactLocation"]["uri"] == (
        f"https://ghe.example.com/audit-org/deep/blob/{commit}/l9/action.yml"
    )
    assert last["region"]["startLine"] == 5
    assert "step 9 of the chain: audit-org/deep/l10@" in related[-1]["message"]["text"]
    # the message links each hop: [value](id)
    assert f"[audit-org/deep/l2@{commit}](1)" in deep["message"]["text"]
    # a finding on your own line has no related location
    direct = next(r for r in results if r["ruleId"] == "expression-ref")
    assert "relatedLocations" not in direct
    assert "[" not in direct["message"]["text"] or "\\[" in direct["message"]["text"]


def test_brackets_in_linked_messages_are_escaped(scenarios: AuditResult) -> None:
    from dataclasses import replace

    nested = next(f for f in scenarios.findings if len(f.route) > 1)
    odd = replace(nested, message="a [bracketed] note")
    result = sarif.result_json(odd, {odd.rule: 0}, graph=scenarios.graph)
    assert "a \\[bracketed\\] note" in result["message"]["text"]
    links = {int(m["id"]) for m in LINK_RE.finditer(result["message"]["text"])}
    assert links == {r["id"] for r in result["relatedLocations"]}


# ----------------------------------------------------------------------------- fingerprints

TWIN = """\
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: audit-org/leaf@v1
      - run: echo one
      - uses: audit-org/leaf@v1
  b:
    runs-on: ubuntu-latest
    steps:
      - uses: audit-org/composite@v1
      - uses: audit-org/composite@v1
"""


def _fingerprints(result: AuditResult) -> dict[tuple[str, str, int], str]:
    return {(f.rule, f.file, f.line): f.fingerprint for f in result.findings}


def test_identical_lines_get_distinct_fingerprints_that_survive_moving(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    workflow = repo / ".github" / "workflows" / "ci.yml"
    workflow.write_text(TWIN)
    before = audit(repo)
    fingerprints = [f.fingerprint for f in before.findings]
    assert len(fingerprints) == len(set(fingerprints))
    # the two `audit-org/leaf@v1` lines: same rule, file and value, two alerts
    twins = [
        f for f in before.findings if f.rule == "unpinned-ref" and f.chain == ("audit-org/leaf@v1",)
    ]
    assert len(twins) == 2 and twins[0].fingerprint != twins[1].fingerprint
    assert twins[0].group == twins[1].group  # one cause, printed once

    # unrelated edits move every line: the fingerprints stay
    moved_text = TWIN.replace("on: push\n", "# a comment\non:\n  push:\n    branches: [main]\n")
    moved_text = moved_text.replace(
        "      - run: echo one\n", "      - run: echo one\n      - run: echo two\n"
    )
    workflow.write_text(moved_text)
    after = audit(repo)
    assert sorted(f.fingerprint for f in after.findings) == sorted(fingerprints)
    assert {f.line for f in after.findings} != {f.line for f in before.findings}

    # removing the first twin leaves the second as the first occurrence: it takes its identity
    workflow.write_text(
        TWIN.replace("      - uses: audit-org/leaf@v1\n      - run", "      - run", 1)
    )
    fewer = audit(repo)
    left = [
        f for f in fewer.findings if f.rule == "unpinned-ref" and f.chain == ("audit-org/leaf@v1",)
    ]
    assert [f.fingerprint for f in left] == [twins[0].fingerprint]


def test_several_hits_of_one_rule_on_one_reference_are_told_apart() -> None:
    from pinner.core.audit import identify
    from pinner.core.walk import Edge, Graph, Node

    graph = Graph(
        nodes={"w.yml": Node("w.yml", "workflow", True, 0)},
        edges=(Edge(0, "w.yml", None, "o/a@v1", "action", "w.yml", 3),),
        roots=("w.yml",),
    )
    hits = [
        Finding(
            "mutable-download",
            Severity.MEDIUM,
            f"https://x/{n}",
            "w.yml",
            3,
            ("o/a@v1",),
            route=(0,),
        )
        for n in ("b", "a")
    ]
    out = identify(hits, graph)
    prints = [out[id(f)].fingerprint for f in hits]
    assert len(set(prints)) == 2
    assert len({out[id(f)].group for f in hits}) == 2  # two URLs: two causes
    again = identify(list(reversed(hits)), graph)  # order of discovery does not matter
    assert [again[id(f)].fingerprint for f in hits] == prints


@pytest.mark.corpus
def test_fingerprints_are_unique_per_run_on_the_corpus(
    corpus_forge_dir: Path, shared_dir: Path, validator
) -> None:
    """Every consumer of the shared corpus: no two results of a run share rule and fingerprint
    (v1 fingerprints collided for more than half of the results on real repositories)."""
    consumers = sorted((shared_dir / "corpus" / "consumers").iterdir())
    assert len(consumers) >= 20
    results = 0
    for consumer in consumers:
        doc = sarif.to_document(audit(consumer, corpus_forge_dir))
        assert_code_scanning_fields(doc)
        results += len(doc["runs"][0]["results"])
    assert results > 1000
    # and one document validates against the schema (all have the same shape)
    errors = list(validator.iter_errors(doc))
    assert not errors, [e.message for e in errors[:3]]


def test_fingerprints_are_stable_for_a_copy_elsewhere(tmp_path: Path) -> None:
    """Paths are repository-relative: the same repository checked out elsewhere, same alerts."""
    one = audit(SCENARIOS)
    copy = shutil.copytree(SCENARIOS, tmp_path / "elsewhere")
    assert [f.fingerprint for f in audit(copy).findings] == [f.fingerprint for f in one.findings]


def test_github_annotations_cannot_be_injected() -> None:
    hostile = Finding(
        "unpinned-ref",
        Severity.HIGH,
        "evil\n::add-mask::x 100%",
        "dir,with:odd.yml",
        4,
        ("o/r@v1",),
        column=7,
    )
    line = github.annotation(hostile)
    assert "\n" not in line
    assert line == (
        "::error file=dir%2Cwith%3Aodd.yml,line=4,col=7,title=pinner unpinned-ref (high)"
        "::evil%0A::add-mask::x 100%25"
    )
    low = Finding("stale-pin", Severity.LOW, "m", "a.yml", 1, ("o/r@x",))
    assert github.annotation(low).startswith("::warning ")
