"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning (``github/codeql-action/upload-sarif``).

What code scanning needs beyond the schema: ``tool.driver.rules`` with ``id``,
``shortDescription``, ``fullDescription`` and ``help`` (text and markdown), and
``properties.security-severity`` (a number as a string) so alerts get a severity; results with
``ruleId``, ``message.text`` and a physical location whose ``artifactLocation.uri`` is relative to
the repository root (``uriBaseId: %SRCROOT%``) with ``region.startLine``. ``partialFingerprints``
keep alerts stable across runs even when lines move. Validated against the official schema in the
tests (``../shared/sarif/sarif-schema-2.1.0.json``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pinner import __version__
from pinner.rules.base import Finding, Rule, Severity, all_rules

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

LEVELS = {
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFORMATIONAL: "note",
}
SECURITY_SEVERITY = {
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFORMATIONAL: "0.1",
}


def rule_descriptor(rule: type[Rule]) -> dict[str, Any]:
    doc = (rule.__doc__ or "").strip()
    markdown = f"**{rule.id}**: {rule.description}\n\n{rule.help}"
    if doc:
        markdown += "\n\n" + doc
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.description},
        "fullDescription": {"text": rule.help},
        "help": {"text": rule.help, "markdown": markdown},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "tags": ["security", "supply-chain", "github-actions"],
            "precision": "high",
            "problem.severity": "error" if rule.severity >= Severity.HIGH else "warning",
        },
    }


def result_json(finding: Finding, rule_index: Mapping[str, int]) -> dict[str, Any]:
    text = finding.message
    if len(finding.chain) > 1:
        text += " (via " + " -> ".join(finding.chain) + ")"
    if finding.remote:
        text += f" at {finding.remote}"
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index[finding.rule],
        "level": LEVELS[finding.severity],
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding.file, "uriBaseId": "%SRCROOT%"},
                    "region": {
                        "startLine": max(1, finding.line),
                        "startColumn": max(1, finding.column),
                    },
                }
            }
        ],
        "partialFingerprints": {"pinnerFinding/v1": finding.fingerprint()},
        "properties": {
            "severity": finding.severity.label,
            "chain": list(finding.chain),
            **({"remote": finding.remote} if finding.remote else {}),
        },
    }


def to_document(
    findings: Iterable[Finding], *, rules: Sequence[type[Rule]] | None = None
) -> dict[str, Any]:
    rule_list = list(rules) if rules is not None else list(all_rules().values())
    index = {r.id: i for i, r in enumerate(rule_list)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "pinner",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [rule_descriptor(r) for r in rule_list],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "repository root"}}},
                "results": [result_json(f, index) for f in findings],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def render(findings: Iterable[Finding]) -> str:
    return json.dumps(to_document(findings), indent=2) + "\n"
