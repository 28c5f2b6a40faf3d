"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning (``github/codeql-action/upload-sarif``).

What code scanning needs beyond the schema: ``tool.driver.rules`` with ``id``,
``shortDescription``, ``fullDescription``, ``help`` (text and markdown), ``helpUri`` (the rule's
section of the rules reference) and ``properties.security-severity`` (a number as a string) so
alerts get a severity; results with ``ruleId``, ``message.text`` and one physical location whose
``artifactLocation.uri`` is relative to the repository root (``uriBaseId: %SRCROOT%``) with
``region.startLine``.

``partialFingerprints`` are what code scanning matches alerts by across runs, so each result's
must be unique within the run (else two alerts merge) and stable when lines move because of
unrelated edits (else alerts close and reopen): see :func:`pinner.core.audit.identify`. A
finding nested in a remote action carries every reference of its chain below the user's line as
a ``relatedLocations`` entry (the remote file at its commit, as a link on the forge), and the
message links to them (``[text](id)``), which is how code scanning shows related locations.
Validated against the official schema in the tests (``../shared/sarif/sarif-schema-2.1.0.json``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pinner import __version__
from pinner.rules.base import Finding, Rule, Severity, all_rules

if TYPE_CHECKING:
    from pinner.core.audit import AuditResult
    from pinner.core.walk import Graph

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
PROJECT_URL = "https://github.com/pinner-dev/pinner"
RULES_REFERENCE = f"{PROJECT_URL}/blob/main/docs/rules.md"
"""Where every rule's ``helpUri`` points (one section, anchored by the rule id, per rule)."""
DEFAULT_SERVER = "https://github.com"
FINGERPRINT_KEY = "pinnerFinding/v2"
"""v2: unique within a run (v1 left out the occurrence, and merged identical lines' alerts)."""

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
    url = help_uri(rule.id)
    markdown = f"**{rule.id}**: {rule.description}\n\n{rule.help}"
    if doc:
        markdown += "\n\n" + doc
    markdown += f"\n\n[What it catches, why it matters, how to fix and ignore it]({url})"
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.description},
        "fullDescription": {"text": rule.help},
        "help": {"text": rule.help, "markdown": markdown},
        "helpUri": url,
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "tags": ["security", "supply-chain", "github-actions"],
            "precision": "high",
            "problem.severity": "error" if rule.severity >= Severity.HIGH else "warning",
        },
    }


def help_uri(rule_id: str) -> str:
    """The rule's section of the rules reference (``docs/rules.md#RULE``)."""
    return f"{RULES_REFERENCE}#{rule_id}"


def _escape(text: str) -> str:
    """Literal brackets in a message that links related locations are escaped (SARIF 3.11.6)."""
    return text.replace("[", "\\[").replace("]", "\\]")


def _blob_url(server_url: str, repo: str, commit: str, path: str) -> str:
    return f"{server_url.rstrip('/')}/{repo}/blob/{commit}/{quote(path, safe='/')}"


def related_locations(
    finding: Finding, graph: Graph | None, server_url: str
) -> list[dict[str, Any]]:
    """One entry per reference of the chain below the user's line, where it sits upstream."""
    if graph is None or len(finding.route) < 2:
        return []
    out: list[dict[str, Any]] = []
    for step, index in enumerate(finding.route[1:], start=1):
        edge = graph.edges[index]
        parent = graph.nodes.get(edge.parent)
        if parent is None or parent.local or not parent.repo or not parent.commit:
            continue
        physical: dict[str, Any] = {
            "artifactLocation": {
                "uri": _blob_url(server_url, parent.repo, parent.commit, edge.file)
            }
        }
        if edge.line:
            physical["region"] = {"startLine": edge.line, "startColumn": max(1, edge.column)}
        where = f"{parent.repo}@{parent.commit[:12]}:{edge.file}"
        out.append(
            {
                "id": step,
                "physicalLocation": physical,
                "message": {"text": f"step {step} of the chain: {edge.uses} in {where}"},
            }
        )
    return out


def result_json(
    finding: Finding,
    rule_index: Mapping[str, int],
    *,
    graph: Graph | None = None,
    server_url: str = DEFAULT_SERVER,
) -> dict[str, Any]:
    related = related_locations(finding, graph, server_url)
    linked = {r["id"] for r in related}
    text = _escape(finding.message) if linked else finding.message
    if len(finding.chain) > 1:
        hops = [
            f"[{_escape(uses)}]({step})" if step in linked else (_escape(uses) if linked else uses)
            for step, uses in enumerate(finding.chain)
        ]
        text += " (via " + " -> ".join(hops) + ")"
    if finding.remote:
        text += f" at {_escape(finding.remote) if linked else finding.remote}"
    result: dict[str, Any] = {
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
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {
            "severity": finding.severity.label,
            "chain": list(finding.chain),
            "group": finding.group,
            **({"remote": finding.remote} if finding.remote else {}),
        },
    }
    if related:
        result["relatedLocations"] = related
    return result


def to_document(
    result: AuditResult,
    *,
    rules: Sequence[type[Rule]] | None = None,
    server_url: str = DEFAULT_SERVER,
) -> dict[str, Any]:
    """The SARIF log of an audit: one run, every rule, a result per finding (not ignored).

    ``server_url`` is the forge's web root, for the links of related locations upstream.
    """
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
                        "informationUri": PROJECT_URL,
                        "rules": [rule_descriptor(r) for r in rule_list],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "repository root"}}},
                "results": [
                    result_json(f, index, graph=result.graph, server_url=server_url)
                    for f in result.findings
                ],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def render(result: AuditResult, *, server_url: str = DEFAULT_SERVER) -> str:
    return json.dumps(to_document(result, server_url=server_url), indent=2) + "\n"
