"""Run every rule over the walked graph, root each hit in the user's files, apply ignores.

A rule sees one edge; the user needs to know which of *their* lines brings that edge into a job.
So each hit on a nested edge becomes one :class:`Finding` per reference in the user's files that
reaches it (with the chain of ``uses`` values in between), and ignores are decided on that rooted
finding: inline ``# pinner: ignore[rule]`` on the user's line, or ``[tool.pinner]`` entries by rule,
action pattern and file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pinner.config import Config, IgnoreEntry
from pinner.core.checksums import discover as discover_downloads
from pinner.core.downloads import DownloadSite
from pinner.core.walk import Graph, walk
from pinner.forge.base import Forge
from pinner.models import SourceFile
from pinner.rules.base import Finding, Rule, RuleContext, Severity, iter_rules

ALL_RULES_MARKERS = frozenset({"*", "all"})
"""Inline ``# pinner: ignore[*]`` / ``ignore[all]`` silences every rule on that line."""


@dataclass(frozen=True, slots=True)
class Ignored:
    """A finding that was silenced, and by what (for ``--show-ignored`` and JSON output)."""

    finding: Finding
    by: str  # "inline" or the config file's entry, as text


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file of the user's repository left out of the audit (``--skip-unreadable``)."""

    file: str  # repository-relative path
    line: int
    reason: str  # why it could not be read (malformed YAML, duplicate key, ...)


@dataclass(frozen=True, slots=True)
class AuditResult:
    """Everything an output format needs."""

    graph: Graph
    findings: tuple[Finding, ...]  # after ignores, sorted by file, line, rule
    ignored: tuple[Ignored, ...]
    min_severity: Severity
    skipped: tuple[SkippedFile, ...] = ()  # not audited: the report says so, in every format

    @property
    def failing(self) -> tuple[Finding, ...]:
        """Findings at or above ``min_severity``: any of them means exit 1."""
        return tuple(f for f in self.findings if f.severity >= self.min_severity)

    def counts(self) -> dict[Severity, int]:
        c = Counter(f.severity for f in self.findings)
        return {s: c.get(s, 0) for s in sorted(Severity, reverse=True)}


def _remote_location(graph: Graph, edge_parent: str, file: str, line: int | None) -> str | None:
    node = graph.nodes.get(edge_parent)
    if node is None or node.local or node.repo is None:
        return None
    where = f"{node.repo}@{node.commit}:{file}"
    return f"{where}:{line}" if line else where


def _describe(entry: IgnoreEntry, config: Config) -> str:
    parts = [f"rule={entry.rule}" if entry.rule else "rule=*"]
    if entry.action:
        parts.append(f"action={entry.action}")
    if entry.path:
        parts.append(f"path={entry.path}")
    src = str(config.source) if config.source else "command line"
    return f"{src}: ignore {' '.join(parts)}"


def evaluate(
    graph: Graph,
    *,
    config: Config | None = None,
    min_severity: Severity = Severity.MEDIUM,
    rules: Sequence[Rule] | None = None,
    downloads: Mapping[str, tuple[DownloadSite, ...]] | None = None,
) -> AuditResult:
    """Apply ``rules`` (default: all registered) to every edge of ``graph``.

    ``downloads`` maps node ids to the downloads found in them (``mutable-download``).
    """
    config = config or Config()
    rules = list(rules) if rules is not None else list(iter_rules())
    context = RuleContext(graph, downloads or {})
    chains = graph.chains()
    findings: dict[tuple[str, str, int, tuple[str, ...], str | None], Finding] = {}
    ignored: list[Ignored] = []
    for edge in graph.edges:
        hits = [hit for rule in rules for hit in rule.check(edge, context)]
        if not hits:
            continue
        remote = None if edge.local else _remote_location(graph, edge.parent, edge.file, edge.line)
        for chain in chains.get(edge.index, ()):
            root = graph.edges[chain.root]
            for hit in hits:
                finding = Finding(
                    rule=hit.rule,
                    severity=hit.severity,
                    message=hit.message,
                    file=root.file,
                    line=root.line or 1,
                    column=root.column,
                    chain=chain.uses,
                    remote=remote,
                    edge=edge.index,
                )
                key = (
                    finding.rule,
                    finding.file,
                    finding.line,
                    finding.chain,
                    finding.remote,
                    finding.message,
                )
                if key in findings:
                    continue
                inline = root.ignore
                if hit.rule in inline or inline & ALL_RULES_MARKERS:
                    ignored.append(Ignored(finding, "inline"))
                    findings[key] = finding  # remember so duplicates are not re-evaluated
                    continue
                entry = config.ignored_by(hit.rule, edge.target, root.file)
                if entry is not None:
                    ignored.append(Ignored(finding, _describe(entry, config)))
                    findings[key] = finding
                    continue
                findings[key] = finding
    silenced = {id(i.finding) for i in ignored}
    kept = sorted(
        (f for f in findings.values() if id(f) not in silenced),
        key=lambda f: (f.file, f.line, f.column, len(f.chain), f.chain, f.rule),
    )
    return AuditResult(graph, tuple(kept), tuple(ignored), min_severity)


async def run_audit(
    sources: Sequence[SourceFile],
    forge: Forge,
    *,
    root: Path | None = None,
    config: Config | None = None,
    min_severity: Severity | None = None,
    budget: int = 10,
    skipped: Sequence[SkippedFile] = (),
) -> AuditResult:
    """Walk the graph from ``sources`` and evaluate it; remote failures propagate (exit 3).

    ``skipped`` are the user's files that could not be read and were left out on request
    (``--skip-unreadable``): they are carried into the result so every format reports them.
    """
    config = config or Config()
    graph = await walk(sources, forge, root=root, budget=budget, select=config.selects)
    threshold = min_severity or config.min_severity or Severity.MEDIUM
    downloads = await downloads_by_node(graph, forge)
    result = evaluate(graph, config=config, min_severity=threshold, downloads=downloads)
    return replace(result, skipped=tuple(skipped))


async def downloads_by_node(graph: Graph, forge: Forge) -> dict[str, tuple[DownloadSite, ...]]:
    """Downloads inside the remote actions the walk reached, by node id.

    Scripts are fetched at the same immutable commits the walk read. Bundled JavaScript is left
    to ``pinner checksums``, which says plainly that scanning it is best effort.
    """
    found = await discover_downloads(graph, forge, {}, scan_javascript=False)
    downloads: dict[str, list[DownloadSite]] = {}
    for site in found.sites:
        downloads.setdefault(site.origin, []).append(site)
    return {k: tuple(v) for k, v in downloads.items()}
