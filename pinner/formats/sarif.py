"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning (``github/codeql-action/upload-sarif``).

What code scanning needs beyond the schema: ``tool.driver.rules`` with ``id``,
``shortDescription``, ``fullDescription``, ``help`` (text and markdown), ``helpUri`` (the rule's
section of the rules reference) and ``properties.security-severity`` (a number as a string) so
alerts get a severity; results with ``ruleId``, ``message.text`` and one physical location whose
``artifactLocation.uri`` is relative to the repository root (``uriBaseId: %SRCROOT%``) with
``region.startLine``.

A ``known-vulnerable-action`` finding gets a rule of its own per advisory
(``known-vulnerable-action/GHSA-...``) whose ``helpUri`` is the advisory's page and whose
``security-severity`` is the advisory's CVSS score: the link and severity a reviewer needs.

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
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pinner import PROJECT_URL, __version__
from pinner.rules.base import Finding, Rule, Severity, all_rules
from pinner.sanitize import markdown_text

if TYPE_CHECKING:
    from pinner.core.audit import AuditResult
    from pinner.core.walk import Graph

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
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


ADVISORY_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
"""An advisory's own severity as code scanning's number, when it has no CVSS score."""


def advisory_rule_id(finding: Finding) -> str:
    """``known-vulnerable-action/GHSA-...`` for a finding about an advisory, else the rule id.

    Why a rule per advisory: ``helpUri`` (the link code scanning shows as the rule's help) is
    a property of a rule, not of a result, and for a vulnerable action the help a reviewer
    needs is the advisory itself. The hierarchical id keeps the rule it belongs to in front.
    """
    if finding.advisory is None:
        return finding.rule
    return f"{finding.rule}/{finding.advisory.ghsa_id}"


def _web_url(url: str) -> bool:
    """An http(s) URL that cannot end the markdown link it is put in (no space, parenthesis,
    bracket or angle bracket): an advisory's ``html_url`` is remote text."""
    return bool(re.match(r"^https?://[^\s()<>\[\]]+$", url))


def advisory_descriptor(finding: Finding, rule: type[Rule]) -> dict[str, Any]:
    """The rule of one advisory's findings: its summary, severity and link (``helpUri``)."""
    advisory = finding.advisory
    assert advisory is not None
    descriptor = rule_descriptor(rule)
    url = advisory.html_url if _web_url(advisory.html_url) else help_uri(rule.id)
    entry = advisory.packages[0] if len(advisory.packages) == 1 else None
    text = f"{advisory.ids} ({advisory.severity}): {advisory.summary}"
    if entry is not None:
        text += f" Affected: {entry.name} {entry.vulnerable_range or 'all versions'}"
        text += f"; first patched: {entry.first_patched or 'none'}."
    markdown = (
        f"**{markdown_text(advisory.ids)}** ({advisory.severity}): "
        f"{markdown_text(advisory.summary)}"
        f"\n\n[The advisory]({url})\n\n{rule.help}"
        f"\n\n[About {rule.id}]({help_uri(rule.id)})"
    )
    if advisory.cvss_score is not None:
        security = f"{advisory.cvss_score:.1f}"
    else:
        security = ADVISORY_SECURITY_SEVERITY.get(
            advisory.severity, SECURITY_SEVERITY[rule.severity]
        )
    severity = finding.severity
    descriptor.update(
        id=advisory_rule_id(finding),
        shortDescription={"text": f"{advisory.ids}: {advisory.summary}"[:1000]},
        fullDescription={"text": text},
        help={"text": f"{text} {rule.help}", "markdown": markdown},
        helpUri=url,
        defaultConfiguration={"level": LEVELS[severity]},
    )
    descriptor["properties"] = {
        **descriptor["properties"],
        "security-severity": security,
        "problem.severity": "error" if severity >= Severity.HIGH else "warning",
    }
    return descriptor


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
    rule_id = advisory_rule_id(finding)
    result: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": rule_index[rule_id],
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
            **({"advisory": finding.advisory.ghsa_id} if finding.advisory else {}),
            **({"fix": finding.fix} if finding.fix else {}),
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
    descriptors = [rule_descriptor(r) for r in rule_list]
    by_id = {r.id: r for r in rule_list}
    seen = set(by_id)
    for finding in sorted(result.findings, key=advisory_rule_id):  # one rule per advisory
        rule_id = advisory_rule_id(finding)
        if finding.advisory is not None and rule_id not in seen:
            seen.add(rule_id)
            descriptors.append(advisory_descriptor(finding, by_id[finding.rule]))
    index = {d["id"]: i for i, d in enumerate(descriptors)}
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
                        "rules": descriptors,
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
