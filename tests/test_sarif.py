"""SARIF output validates against the official 2.1.0 schema and carries what code scanning needs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pinner.formats import github, sarif
from pinner.rules.base import Finding, Severity, all_rules

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def validator(shared_dir: Path) -> jsonschema.Draft4Validator:
    path = shared_dir / "sarif" / "sarif-schema-2.1.0.json"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    schema = json.loads(path.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


@pytest.fixture(scope="module")
def audit_findings() -> tuple[Finding, ...]:
    import asyncio

    from pinner.core.audit import run_audit
    from pinner.forge.snapshot import SnapshotForge
    from pinner.sources import discover, read_source

    consumer = ROOT / "fixtures" / "consumers" / "audit-scenarios"
    sources = [read_source(f) for f in discover([consumer])]

    async def go():
        return await run_audit(sources, SnapshotForge(ROOT / "fixtures" / "forge"), root=consumer)

    return asyncio.run(go()).findings


def test_sarif_of_a_real_audit_validates(validator, audit_findings) -> None:
    doc = json.loads(sarif.render(audit_findings))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    run = doc["runs"][0]
    assert len(run["results"]) == len(audit_findings)
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(all_rules())
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert float(rule["properties"]["security-severity"]) > 0
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        loc = result["locations"][0]["physicalLocation"]
        uri = loc["artifactLocation"]["uri"]
        assert (
            not uri.startswith("/")
            and (ROOT / "fixtures/consumers/audit-scenarios" / uri).is_file()
        )
        assert loc["region"]["startLine"] >= 1
        assert result["partialFingerprints"]["pinnerFinding/v1"]


def test_empty_sarif_validates(validator) -> None:
    doc = sarif.to_document([])
    assert not list(validator.iter_errors(doc))
    assert doc["runs"][0]["results"] == []


def test_fingerprints_are_stable_and_distinct() -> None:
    a = Finding("unpinned-ref", Severity.HIGH, "m", "w.yml", 3, ("o/r@v1",))
    moved = Finding("unpinned-ref", Severity.HIGH, "m2", "w.yml", 9, ("o/r@v1",))
    other = Finding("unpinned-ref", Severity.HIGH, "m", "w.yml", 3, ("o/r@v2",))
    assert a.fingerprint() == moved.fingerprint()  # a moved line is the same alert
    assert a.fingerprint() != other.fingerprint()


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
