"""Known-vulnerable and archived actions anywhere in the graph, end to end through the CLI.

The consumer ``fixtures/consumers/adv-scenarios`` (``tests/test_advisory_fixtures.py``) reaches
``tj-actions/changed-files`` and ``reviewdog/action-setup`` only through other actions, with the
real advisories (GHSA-mrrh-fwg8-r2c3, GHSA-qmg3-hpqr-gqvc) served by the emulator from
``fixtures/forge/advisories.json``. Each test runs the real CLI, against the emulator (with and
without a token: REST, and GraphQL whose listings carry the archived flag) or the snapshot.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from pinner.cli import app
from pinner.formats import schemas
from tests.test_advisory_fixtures import (
    CONSUMER,
    FORGE,
    REVIEWDOG,
    TJ,
    TJ_SUMMARY,
    build_repos,
    range_lines,
)

REPOS = build_repos()
TJ_REPO, LINT, BUNDLE = REPOS["changed-files"], REPOS["changed-lint"], REPOS["ci-bundle"]
V45 = TJ_REPO.tag("v45.0.7")
V46_0_1 = TJ_REPO.tag("v46.0.1")
C1, C2, B1 = LINT.tag("v1.0.0"), LINT.tag("v2.0.0"), BUNDLE.tag("v1.0.0")
R1 = REPOS["review-lint"].tag("v1.0.0")
T1 = REPOS["retired"].tag("v1.0.0")
WORKFLOWS = CONSUMER / ".github" / "workflows"
FIX = f"tj-actions/changed-files@{V46_0_1} # v46.0.1"


def audit(*args: str, token: str | None = None) -> tuple[int, str, str]:
    env = {"PINNER_NO_GH": "1", "GITHUB_TOKEN": token or "", "GH_TOKEN": "", "NO_COLOR": "1"}
    result = CliRunner().invoke(app, ["audit", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def audit_json(*args: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    code, out, err = audit(*args, "--format", "json", token=token)
    assert code in (0, 1), err or out
    doc = json.loads(out)
    schema = schemas.load_schema(doc["schema"])
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(doc))
    assert not errors, [e.message for e in errors[:3]]
    return code, doc


def rule(doc: dict[str, Any], rule_id: str) -> list[dict[str, Any]]:
    return [f for f in doc["findings"] if f["rule"] == rule_id]


@pytest.mark.parametrize("token", [None, "emulator-token"], ids=["anonymous", "token"])
def test_a_vulnerable_action_two_levels_down_is_one_finding_with_chain_and_fix(
    emulator, token: str | None
) -> None:
    emu = emulator(FORGE)
    code, doc = audit_json(
        str(WORKFLOWS / "changed.yml"), "--server-url", emu.url, "--no-cache", token=token
    )
    assert code == 1
    [finding] = rule(doc, "known-vulnerable-action")
    assert doc["findings"] == [finding]  # nothing else is wrong with this workflow
    assert finding["severity"] == "high"
    assert finding["line"] == 6
    assert finding["chain"] == [
        f"adv-org/changed-lint@{C1}",
        f"tj-actions/changed-files@{V45}",
    ]
    assert finding["remote"] == f"adv-org/changed-lint@{C1}:action.yml:5"
    assert finding["advisory"] == {
        "ghsa_id": TJ,
        "cve_id": "CVE-2025-30066",
        "severity": "high",
        "summary": TJ_SUMMARY,
        "url": f"https://github.com/advisories/{TJ}",
        "package": "tj-actions/changed-files",
        "vulnerable_version_range": "< 46.0.1",
        "first_patched_version": "46.0.1",
    }
    assert finding["fix"] == FIX
    for text in ("v45.0.7", TJ, "CVE-2025-30066", "first patched version 46.0.1", FIX):
        assert text in finding["message"]
    endpoints = emu.stats()["endpoints"]
    assert endpoints["GET /advisories"] == 1  # both packages of the graph in one request
    # the archived flag: from the GraphQL listing with a token, one lookup per repo without
    assert endpoints.get("GET /repos/{owner}/{repo}", 0) == (0 if token else 2)


def test_the_text_report_shows_the_chain_and_the_fix() -> None:
    code, out, _ = audit(str(WORKFLOWS / "changed.yml"), "--snapshot", str(FORGE), "--no-tree")
    assert code == 1
    lines = out.splitlines()
    [head] = [ln for ln in lines if "known-vulnerable-action" in ln]
    assert re.search(r"changed\.yml:6:15: high known-vulnerable-action: ", head)
    assert f"fix: {FIX}" in head
    via = lines[lines.index(head) + 1]
    assert via == f"    via adv-org/changed-lint@{C1} -> tj-actions/changed-files@{V45}"


def test_the_same_action_at_the_patched_release_is_clean(emulator) -> None:
    emu = emulator(FORGE)
    code, doc = audit_json(str(WORKFLOWS / "patched.yml"), "--server-url", emu.url, "--no-cache")
    assert code == 0
    assert doc["findings"] == []
    assert [e["commit"] for e in doc["edges"]] == [C2, V46_0_1]


def test_three_levels_down_both_compromises_and_an_archived_repository(emulator) -> None:
    emu = emulator(FORGE)
    code, doc = audit_json(str(WORKFLOWS / "bundle.yml"), "--server-url", emu.url, "--no-cache")
    assert code == 1
    vulnerable = {f["advisory"]["ghsa_id"]: f for f in rule(doc, "known-vulnerable-action")}
    assert set(vulnerable) == {TJ, REVIEWDOG}
    assert vulnerable[TJ]["chain"] == [
        f"adv-org/ci-bundle@{B1}",
        f"adv-org/changed-lint@{C1}",
        f"tj-actions/changed-files@{V45}",
    ]
    dog = vulnerable[REVIEWDOG]
    assert dog["chain"] == [
        f"adv-org/ci-bundle@{B1}",
        f"adv-org/review-lint@{R1}",
        "reviewdog/action-setup@v1",
    ]
    assert dog["severity"] == "high" and dog["advisory"]["vulnerable_version_range"] == "= 1"
    assert dog["advisory"]["first_patched_version"] is None
    setup = REPOS["action-setup"]
    assert dog["fix"] == f"reviewdog/action-setup@{setup.tag('v1.3.2')} # v1.3.2"
    [archived] = rule(doc, "archived-action")
    assert archived["severity"] == "medium"
    assert archived["chain"] == [f"adv-org/ci-bundle@{B1}", f"adv-org/retired@{T1}"]
    assert archived["remote"] == f"adv-org/ci-bundle@{B1}:action.yml:7"
    assert "adv-org/retired is archived" in archived["message"]


def test_a_commit_without_a_version_tag_is_unknown_never_clean() -> None:
    args = (str(WORKFLOWS / "unknown.yml"), "--snapshot", str(FORGE))
    code, doc = audit_json(*args)
    [unknown] = rule(doc, "known-vulnerable-action")
    assert unknown["severity"] == "informational"
    assert "version unknown" in unknown["message"] and TJ in unknown["message"]
    assert unknown["advisory"] is None and unknown["fix"] is None
    # the comment claims v45.0.7: not believed (comment-mismatch says so), not matched either
    assert {f["rule"] for f in doc["findings"]} == {
        "known-vulnerable-action",
        "comment-mismatch",
        "stale-pin",
    }
    quiet = ("--ignore", "comment-mismatch", "--ignore", "stale-pin")
    code, doc = audit_json(*args, *quiet)
    assert code == 0 and len(doc["findings"]) == 1  # reported, below --min-severity
    code, _ = audit_json(*args, *quiet, "--min-severity", "informational")
    assert code == 1


def test_every_range_operator_end_to_end() -> None:
    code, doc = audit_json(str(WORKFLOWS / "ranges.yml"), "--snapshot", str(FORGE))
    assert code == 1
    text = (WORKFLOWS / "ranges.yml").read_text().splitlines()
    expected = range_lines(REPOS)
    found: dict[str, set[str]] = {uses: set() for uses in expected}
    for f in rule(doc, "known-vulnerable-action"):
        if f["advisory"] is not None:
            found[text[f["line"] - 1].split("uses: ", 1)[1]].add(f["advisory"]["ghsa_id"])
    assert found == expected
    severities = {
        f["advisory"]["ghsa_id"]: f["severity"]
        for f in rule(doc, "known-vulnerable-action")
        if f["advisory"]
    }
    assert severities["GHSA-r001-less-than0"] == "low"
    assert severities["GHSA-r002-gt-and-lte"] == "medium"
    assert severities["GHSA-r003-equal-noop"] == "high"  # critical
    assert severities["GHSA-r005-v-prefixed"] == "high"  # unknown: the rule's own
    # withdrawn, unreviewed and other-ecosystem advisories match nothing
    assert not {"GHSA-r009-withdrawnxx", "GHSA-r010-unreviewed", "GHSA-r011-other-ecosy"} & {
        i for ids in found.values() for i in ids
    }
    fixes = {
        f["advisory"]["ghsa_id"]: f["fix"]
        for f in rule(doc, "known-vulnerable-action")
        if f["advisory"]
    }
    ranges = REPOS["ranges"]
    assert fixes["GHSA-r002-gt-and-lte"] == f"adv-org/ranges@{ranges.tag('v1.3.0')} # v1.3.0"
    assert fixes["GHSA-r006-open-ended"] is None  # nothing newer escapes >= 4.1.0


@pytest.mark.parametrize("token", [None, "emulator-token"], ids=["anonymous", "token"])
def test_offline_after_a_warm_run_gives_the_same_findings_with_no_request(
    emulator, tmp_path: Path, token: str | None
) -> None:
    emu = emulator(FORGE)
    cache = str(tmp_path / "cache")
    common = (str(CONSUMER), "--server-url", emu.url, "--cache-dir", cache)
    _, warm = audit_json(*common, token=token)
    assert rule(warm, "known-vulnerable-action") and rule(warm, "archived-action")
    emu.reset()
    code, offline = audit_json(*common, "--offline", token=token)
    assert code == 1
    assert offline["findings"] == warm["findings"]
    assert emu.stats()["total"] == 0


def test_sarif_links_the_advisory_and_lists_the_chain(shared_dir: Path) -> None:
    code, out, _ = audit(str(WORKFLOWS / "bundle.yml"), "--snapshot", str(FORGE), "-f", "sarif")
    assert code == 1
    log = json.loads(out)
    schema = json.loads((shared_dir / "sarif" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = [r for r in run["results"] if r["ruleId"].startswith("known-vulnerable-action/")]
    assert {r["ruleId"] for r in results} == {
        f"known-vulnerable-action/{TJ}",
        f"known-vulnerable-action/{REVIEWDOG}",
    }
    for result in results:
        descriptor = rules[result["ruleIndex"]]
        assert descriptor["id"] == result["ruleId"]
        ghsa = result["ruleId"].split("/", 1)[1]
        assert descriptor["helpUri"] == f"https://github.com/advisories/{ghsa}"
        assert descriptor["properties"]["security-severity"] == "8.6"  # the CVSS score
        assert result["level"] == "error"
        assert len(result["relatedLocations"]) == len(result["properties"]["chain"]) - 1 == 2
        assert result["properties"]["advisory"] == ghsa
    tj = next(r for r in results if TJ in r["ruleId"])
    assert tj["properties"]["fix"] == FIX
    locations = [r["physicalLocation"]["artifactLocation"]["uri"] for r in tj["relatedLocations"]]
    assert locations == [
        f"https://github.com/adv-org/ci-bundle/blob/{B1}/action.yml",
        f"https://github.com/adv-org/changed-lint/blob/{C1}/action.yml",
    ]
    archived = next(r for r in run["results"] if r["ruleId"] == "archived-action")
    assert rules[archived["ruleIndex"]]["helpUri"].endswith("docs/rules.md#archived-action")


def test_github_annotations() -> None:
    code, out, _ = audit(str(WORKFLOWS / "changed.yml"), "--snapshot", str(FORGE), "-f", "github")
    assert code == 1
    [line] = [ln for ln in out.splitlines() if ln.startswith("::")]
    assert line.startswith("::error file=")
    assert "title=pinner known-vulnerable-action (high)" in line
    assert TJ in line and FIX in line and f"(via adv-org/changed-lint@{C1} -> " in line


def copy_consumer(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(CONSUMER, root)
    return root


def test_ignored_inline_by_config_and_on_the_command_line(tmp_path: Path) -> None:
    root = copy_consumer(tmp_path)
    bundle = root / ".github" / "workflows" / "bundle.yml"
    bundle.write_text(
        bundle.read_text().replace(" # v1.0.0", " # v1.0.0 pinner: ignore[known-vulnerable-action]")
    )
    (root / "pyproject.toml").write_text(
        '[tool.pinner]\nignore = [{ rule = "archived-action", action = "adv-org/retired" }]\n'
    )
    code, doc = audit_json(str(root), "--snapshot", str(FORGE), "--ignore", "stale-pin")
    assert code == 1  # the other workflows still have findings
    bundled = [f for f in doc["findings"] if f["file"].endswith("bundle.yml")]
    assert {f["rule"] for f in bundled} == {"unpinned-ref"}  # reviewdog@v1, nested
    ignored = {(i["rule"], i["ignored_by"].split(":")[0]) for i in doc["ignored"]}
    assert ("known-vulnerable-action", "inline") in ignored
    assert any(r == "archived-action" and "pyproject.toml" in by for r, by in ignored)
    code, doc = audit_json(
        str(root / ".github" / "workflows" / "changed.yml"),
        "--snapshot",
        str(FORGE),
        "--ignore",
        "known-vulnerable-action",
    )
    assert code == 0 and doc["findings"] == []


def test_min_severity_decides_the_exit_code_for_an_archived_action(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: adv-org/retired@{T1} # v1.0.0\n"
    )
    code, doc = audit_json(str(root), "--snapshot", str(FORGE))
    assert code == 1 and [f["rule"] for f in doc["findings"]] == ["archived-action"]
    assert doc["findings"][0]["chain"] == [f"adv-org/retired@{T1}"]  # on the user's own line
    code, _ = audit_json(str(root), "--snapshot", str(FORGE), "--min-severity", "high")
    assert code == 0


def test_list_rules_names_both_rules() -> None:
    code, out, _ = audit("--list-rules")
    assert code == 0
    assert re.search(r"^known-vulnerable-action +high ", out, re.MULTILINE)
    assert re.search(r"^archived-action +medium ", out, re.MULTILINE)


def test_hostile_advisory_text_is_printed_escaped(tmp_path: Path) -> None:
    """An advisory's summary is remote text: it cannot drive the terminal or end an annotation."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    hostile = {
        "ghsa_id": TJ,
        "summary": "evil\x1b]0;pwned\x07\n::error::injected\u202e",
        "severity": "high",
        "vulnerabilities": [
            {
                "package": {"ecosystem": "actions", "name": "tj-actions/changed-files"},
                "vulnerable_version_range": "< 46.0.1",
                "first_patched_version": "46.0.1",
            }
        ],
    }
    (overlay / "advisories.json").write_text(json.dumps([hostile]))
    args = (str(WORKFLOWS / "changed.yml"), "--snapshot", str(FORGE), "--snapshot", str(overlay))
    code, text, _ = audit(*args, "--no-tree")
    assert code == 1 and "evil" in text
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    code, annotations, _ = audit(*args, "-f", "github")
    lines = [ln for ln in annotations.splitlines() if ln.startswith("::")]
    assert len(lines) == 1  # the injected command stays inside the one annotation's message
    assert "\x1b" not in annotations and "\\x1b" in annotations


@pytest.mark.corpus
def test_the_real_changed_files_repository(corpus_forge_dir: Path, tmp_path: Path) -> None:
    """The corpus's real tj-actions/changed-files (395 refs) with the real advisory: its real
    v45.0.7 is affected and fixed by its real v46.0.1; the corpus consumers' pins (v47.0.6 by
    SHA, @v46 = v46.0.5) are clean."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    shutil.copy(FORGE / "advisories.json", overlay / "advisories.json")
    refs = json.loads((corpus_forge_dir / "tj-actions" / "changed-files" / "refs.json").read_text())
    peeled = {r["ref"].removeprefix("refs/tags/"): r["peeled"] for r in refs["refs"]}
    root = tmp_path / "repo"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: tj-actions/changed-files@{peeled['v45.0.7']} # v45.0.7\n"
        f"      - uses: tj-actions/changed-files@{peeled['v47.0.6']} # v47.0.6\n"
        "      - uses: tj-actions/changed-files@v46\n"
    )
    snapshots = ("--snapshot", str(corpus_forge_dir), "--snapshot", str(overlay))
    _, doc = audit_json(str(root), *snapshots, "--ignore", "unpinned-ref")
    [finding] = rule(doc, "known-vulnerable-action")
    assert finding["line"] == 6 and finding["advisory"]["ghsa_id"] == TJ
    assert finding["fix"] == f"tj-actions/changed-files@{peeled['v46.0.1']} # v46.0.1"
    consumers = corpus_forge_dir.parent / "consumers"
    names = ("open-telemetry__opentelemetry-python", "pypa__setuptools")
    if not all((consumers / name).is_dir() for name in names):
        pytest.skip("the corpus consumers using tj-actions/changed-files are absent")
    _, doc = audit_json(*(str(consumers / n) for n in names), *snapshots)  # one run, both
    uses = [e for e in doc["edges"] if e["uses"].startswith("tj-actions/changed-files@")]
    assert len(uses) == 3 and {e["commit"] for e in uses} == {peeled["v47.0.6"], peeled["v46"]}
    assert not rule(doc, "known-vulnerable-action")
