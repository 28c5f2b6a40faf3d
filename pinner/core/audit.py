"""Run every rule over the walked graph, root each hit in the user's files, apply ignores.

A rule sees one edge; the user needs to know which of *their* lines brings that edge into a job.
So each hit on a nested edge becomes one :class:`Finding` per reference in the user's files that
reaches it (with the chain of ``uses`` values in between), and ignores are decided on that rooted
finding: inline ``# pinner: ignore[rule]`` on the user's line, or ``[tool.pinner]`` entries by rule,
action pattern and file.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pinner.config import Config, IgnoreEntry
from pinner.core.advisories import RepositoryFacts, gather_facts, remote_actions
from pinner.core.checksums import discover as discover_downloads
from pinner.core.downloads import DownloadSite
from pinner.core.graph_limits import GraphLimits
from pinner.core.lock_index import LockIndex
from pinner.core.lockfile import read_lockfile
from pinner.core.walk import Edge, Graph, merge_graphs, walk
from pinner.forge.base import Forge
from pinner.formats.lockfile import Lockfile
from pinner.models import SourceFile
from pinner.rules.base import Finding, Rule, RuleContext, Severity, iter_rules

Downloads = dict[str, tuple[DownloadSite, ...]]
"""Node id -> the downloads found in that node."""
if TYPE_CHECKING:
    from pinner.core.images import ImageFacts
    from pinner.registry.client import RegistryClient


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
    lock: LockIndex | None = None  # what the repositories' actions.lock cover, when they have one
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
    facts: RepositoryFacts | None = None,
    images: Mapping[str, ImageFacts] | None = None,
    lockfiles: Mapping[str, Lockfile | None] | None = None,
) -> AuditResult:
    """Apply ``rules`` (default: all registered) to every edge of ``graph``.

    ``downloads`` maps node ids to the downloads found in them (``mutable-download``);
    ``facts`` the advisories and archived flags of the graph's repositories; ``images`` what
    registries said about each image (``unpinned-image``'s fix, ``impostor-image``,
    ``stale-image-tag``); ``lockfiles`` maps each repository's label to its ``actions.lock``
    (None: it has none): what a lockfile covers is not "unpinned".
    """
    config = config or Config()
    lock = LockIndex.build(lockfiles, graph) if lockfiles and any(lockfiles.values()) else None
    rules = list(rules) if rules is not None else list(iter_rules())
    context = RuleContext(graph, downloads or {}, images=images or {}, lock=lock, facts=facts)
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
                    route=chain.edges,
                    advisory=hit.advisory,
                    fix=hit.fix,
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
                inline = root.ignore  # "*": every rule (pinner.sources.comments.IGNORE_ALL)
                if hit.rule in inline or "*" in inline:
                    ignored.append(Ignored(finding, "inline"))
                    findings[key] = finding  # remember so duplicates are not re-evaluated
                    continue
                # configured paths are relative to the repository, not to a run's label
                in_repo = root.file.removeprefix(graph.labels.get(root.parent, ""))
                entry = config.ignored_by(hit.rule, edge.target, in_repo)
                if entry is not None:
                    ignored.append(Ignored(finding, _describe(entry, config)))
                    findings[key] = finding
                    continue
                findings[key] = finding
    identities = identify(list(findings.values()), graph)
    silenced = {id(i.finding) for i in ignored}
    ignored = [replace(i, finding=identities[id(i.finding)]) for i in ignored]
    kept = sorted(
        (identities[id(f)] for f in findings.values() if id(f) not in silenced),
        key=lambda f: (f.file, f.line, f.column, len(f.chain), f.chain, f.rule),
    )
    return AuditResult(graph, tuple(kept), tuple(ignored), min_severity, lock)


def _digest(*parts: str, size: int) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:size]


def normalised_uses(edge: Edge) -> str:
    """The reference an edge names, spelt one way: ``owner/repo`` folded to lower case (GitHub
    compares them so), path and ref as written, quotes and spaces gone; images as written."""
    action = edge.value.action if edge.value is not None else None
    if action is None:
        return edge.uses.strip()
    path = f"/{action.path}" if action.path else ""
    return f"{action.repo_key}{path}@{action.ref}"


def occurrences(graph: Graph) -> dict[int, int]:
    """For every edge, how many edges before it in the same file name the same reference.

    ``uses: actions/checkout@v4`` twice in one workflow is 0 and 1: two places to fix, kept
    apart, and each keeps its number when unrelated lines move.
    """
    seen: Counter[tuple[str, str, str]] = Counter()
    out: dict[int, int] = {}
    in_file_order = sorted(graph.edges, key=lambda e: (e.line or 0, e.column, e.index))
    for edge in in_file_order:
        key = (edge.parent, edge.file, normalised_uses(edge))
        out[edge.index] = seen[key]
        seen[key] += 1
    return out


def _cause(finding: Finding, graph: Graph) -> str:
    """Where the offending reference is: the upstream file it is written in (the same
    reference on 250 lines of one reusable workflow is one thing the user can act on, not
    250), else the reference itself."""
    if finding.remote:
        return upstream_file(finding.remote)
    if finding.edge is not None and finding.edge < len(graph.edges):
        return normalised_uses(graph.edges[finding.edge])
    return finding.chain[-1]


def upstream_file(remote: str) -> str:
    """``owner/repo@commit:path`` of a finding's ``remote`` place (``...:path:LINE``)."""
    place, _, line = remote.rpartition(":")
    return place if place and line.isdigit() else remote


def identify(findings: Sequence[Finding], graph: Graph) -> dict[int, Finding]:
    """Each finding with its ``group`` and ``fingerprint`` set (keyed by ``id`` of the input).

    ``group``: a hash of the cause (rule, message, and where the offending reference is: the
    upstream file it is written in, or the reference itself on the user's lines): the 88
    findings a mutable download in one action yields through 88 ``uses:`` lines are one group,
    printed once, and so are the 250 lines of one reusable workflow naming the same tag.

    ``fingerprint``: a hash of the rule (and the advisory's id for a finding about one), the
    user's file, and for each reference from the
    user's line down to the offending one its normalised value and occurrence index in its
    file. It stays the same when lines move because of unrelated edits, and tells apart two
    identical lines of one file (code scanning would otherwise merge their alerts). Several
    hits of one rule on one reference (two mutable URLs in one action) are told apart by their
    messages, in sorted order, so every fingerprint is unique within the run.
    """
    counted = occurrences(graph)
    by_key: dict[str, list[Finding]] = {}
    for finding in findings:
        hops = [f"{normalised_uses(graph.edges[i])}\x1e{counted[i]}" for i in finding.route]
        if not hops:  # a finding without a route (built by hand): its chain is what we have
            hops = list(finding.chain)
        rule = finding.rule  # one alert per advisory, however many advisories come and go
        if finding.advisory is not None:
            rule += f"/{finding.advisory.ghsa_id}"
        key = _digest(rule, finding.file, *hops, size=64)
        by_key.setdefault(key, []).append(finding)
    out: dict[int, Finding] = {}
    for key, same in by_key.items():
        ordered = sorted(same, key=lambda f: (f.message, f.line, f.column))
        for n, finding in enumerate(ordered):
            fingerprint = _digest(key, str(n), size=32) if n else key[:32]
            group = _digest(finding.rule, finding.message, _cause(finding, graph), size=16)
            out[id(finding)] = replace(finding, group=group, fingerprint=fingerprint)
    return out


@dataclass(frozen=True, slots=True)
class AuditTarget:
    """One repository of an audit run: its files, its root (``./`` references resolve there)
    and the label its paths start with in the report (``""`` when it is the only one)."""

    sources: tuple[SourceFile, ...]
    root: Path | None = None
    label: str = ""


async def run_audit(
    sources: Sequence[SourceFile],
    forge: Forge,
    *,
    root: Path | None = None,
    config: Config | None = None,
    min_severity: Severity | None = None,
    budget: int | None = None,
    limits: GraphLimits | None = None,
    skipped: Sequence[SkippedFile] = (),
    registry: RegistryClient | None = None,
) -> AuditResult:
    """Walk the graph from ``sources`` and evaluate it; remote failures propagate (exit 3).

    ``budget`` caps the requests of each impostor check; ``limits`` what remote files may add
    to the graph (what lies beyond is a ``graph-limit`` finding). ``skipped`` are the user's
    files that could not be read and were left out on request (``--skip-unreadable``): they
    are carried into the result so every format reports them.
    """
    target = AuditTarget(tuple(sources), root)
    return await audit_repositories(
        [target],
        forge,
        config=config,
        min_severity=min_severity,
        budget=budget,
        limits=limits,
        skipped=skipped,
        registry=registry,
    )


async def audit_repositories(
    targets: Sequence[AuditTarget],
    forge: Forge,
    *,
    config: Config | None = None,
    min_severity: Severity | None = None,
    budget: int | None = None,
    limits: GraphLimits | None = None,
    skipped: Sequence[SkippedFile] = (),
    registry: RegistryClient | None = None,
) -> AuditResult:
    """Walk each repository from its own root, concurrently, and evaluate them as one graph.

    Each walk resolves ``./`` references against its own repository; remote actions the
    repositories share are fetched once (the forge asks each question once per run). The
    run-wide ``limits`` apply to each repository's walk: walks that share counters while they
    run side by side would cut wherever the network timing put them. With ``registry``, every
    image the graph reaches (in your files and inside remote docker actions at their pinned
    commits) is resolved and its digest verified. ``skipped``: as for :func:`run_audit` (paths
    as the report names them).
    """
    config = config or Config()
    # each repository's own lockfile, read first: one GitHub's parser refuses is exit 2
    lockfiles = {t.label: read_lockfile(t.root) if t.root is not None else None for t in targets}

    async def one(target: AuditTarget) -> tuple[Graph, Downloads, RepositoryFacts]:
        graph = await walk(
            target.sources,
            forge,
            root=target.root,
            budget=budget,
            select=config.selects,
            limits=limits,
        )
        # both after the walk, at once: the downloads in the actions it reached, and what
        # the forge says about their repositories (advisories, archived)
        downloads, facts = await asyncio.gather(
            downloads_by_node(graph, forge), gather_facts(remote_actions(graph.edges), forge)
        )
        return graph, downloads, facts

    walked = await asyncio.gather(*(one(t) for t in targets))
    graph = merge_graphs([(t.label, g) for t, (g, _, _) in zip(targets, walked, strict=True)])
    downloads = {node: sites for _, found, _ in walked for node, sites in found.items()}
    facts = RepositoryFacts(
        advisories={k: v for _, _, f in walked for k, v in f.advisories.items()},
        archived={k: v for _, _, f in walked for k, v in f.archived.items()},
    )
    # "is None", not "or": informational is Severity 0, which is false
    threshold = next(
        (s for s in (min_severity, config.min_severity) if s is not None), Severity.MEDIUM
    )
    images = None
    if registry is not None:
        from pinner.core.images import facts_for

        images = await facts_for((e.image for e in graph.edges if e.image), registry)
    result = evaluate(
        graph,
        config=config,
        min_severity=threshold,
        downloads=downloads,
        facts=facts,
        images=images,
        lockfiles=lockfiles,
    )
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
