"""``pinner audit --format text``: the summary, the findings grouped by cause, then the tree.

The summary comes first: it is what a person reads before deciding to read on. Findings follow,
**grouped by cause**: one mutable download in an action used from 88 of your lines is one entry
listing those 88 lines (file by file), not 88 entries (each is still one record in JSON). A
cause reached from one line only prints as ``file:line:column: severity rule: message``, which
editors and terminals jump to.

The tree answers "what runs when my workflow runs, and what of it is mutable": each user file,
each reference in it, and below each remote action what *it* references, every edge marked
``pinned``, ``unpinned`` or with the rule ids that fired. A node reached again is printed once and
referred to afterwards, so shared actions (``actions/checkout`` in every workflow) do not repeat
their subtree. It prints with ``--tree``, or by itself when the findings are few and the tree is
short (:func:`tree_wanted`); a repository's whole graph would otherwise bury them. Every string
that came from a repository passes through :func:`pinner.sanitize.for_terminal`: action
metadata is attacker-controlled text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from pinner.core.audit import AuditResult
from pinner.core.walk import Edge, Graph
from pinner.formats.style import paint
from pinner.models import SHA_RE, UsesKind
from pinner.rules.base import Finding, Severity
from pinner.sanitize import for_terminal

_STYLES: dict[object, str] = {
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "info",
    Severity.INFORMATIONAL: "dim",
    "ok": "ok",
    "dim": "dim",
    "bold": "bold",
}


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: object) -> str:
        return paint(text, _STYLES[style], self.color)


def _safe(text: str) -> str:
    return for_terminal(text, single_line=True)


def _pinned(edge: Edge) -> bool:
    if edge.kind == "docker":
        return edge.image is not None and "@sha256:" in edge.image
    if edge.value is not None and edge.value.kind is UsesKind.SAME_REPO:
        return True  # $/path: the caller's own commit
    action = edge.action
    if action is None:
        return edge.child is not None  # local reference in the user's repository
    return bool(SHA_RE.match(action.ref))


def _edge_label(
    edge: Edge, rules: dict[str, Severity], paint: _Painter, locked: bool = False
) -> str:
    text = _safe(edge.uses)
    if edge.comment:
        text += paint(f"  # {_safe(edge.comment)}", "dim")
    if edge.commit and not (edge.action and edge.action.ref == edge.commit):
        text += paint(f"  -> {edge.commit[:12]}", "dim")
    if rules:
        worst = max(rules.values())
        mark = paint("x " + ", ".join(sorted(rules, key=lambda r: (-rules[r], r))), worst)
    elif _pinned(edge):
        mark = paint("pinned", "ok")
    elif locked:
        mark = paint("locked", "ok")  # actions.lock pins it
    else:
        mark = paint("unpinned", Severity.MEDIUM)
    return f"{text}  [{mark}]"


def _edge_rules(findings: tuple[Finding, ...]) -> dict[int, dict[str, Severity]]:
    out: dict[int, dict[str, Severity]] = defaultdict(dict)
    for f in findings:
        if f.edge is None:
            continue
        current = out[f.edge].get(f.rule)
        if current is None or f.severity > current:
            out[f.edge][f.rule] = f.severity
    return out


def render_tree(
    graph: Graph,
    findings: tuple[Finding, ...],
    *,
    color: bool = False,
    locked: Callable[[Edge], bool] = lambda edge: False,
) -> list[str]:
    """The indented tree, one line per edge, user files as the top level; ``locked`` says which
    edges the repository's ``actions.lock`` covers."""
    paint = _Painter(color)
    rules = _edge_rules(findings)
    lines: list[str] = []
    printed: set[str] = set()

    def visit(node_id: str, prefix: str, on_path: frozenset[str]) -> None:
        edges = graph.children(node_id)
        for i, edge in enumerate(edges):
            last = i == len(edges) - 1
            branch = "└── " if last else "├── "
            label = _edge_label(edge, rules.get(edge.index, {}), paint, locked(edge))
            lines.append(prefix + branch + label)
            child = edge.child
            if child is None or edge.depth_exceeded or edge.cycle:
                continue
            node = graph.nodes.get(child)
            if node is None or node.local or node.kind == "image":
                continue
            deeper = prefix + ("    " if last else "│   ")
            if node.error:
                lines.append(deeper + paint(f"(! {_safe(node.error)})", Severity.MEDIUM))
                continue
            if child in on_path:
                continue
            if child in printed and graph.children(child):
                lines.append(deeper + paint(f"(see {_safe(child)} above)", "dim"))
                continue
            printed.add(child)
            visit(child, deeper, on_path | {child})

    for root in graph.roots:
        if not graph.children(root):
            continue
        lines.append(paint(_safe(root), "bold"))
        visit(root, "", frozenset({root}))
    return lines


FEW_GROUPS = 5
"""At most this many causes, and ..."""
SHORT_TREE = 50
"""... a tree of at most this many lines (about a screen): then the tree prints by default."""
CHAINS_SHOWN = 3
"""Distinct chains printed for one cause reached through several; the rest are counted."""
UPSTREAM_LINES_SHOWN = 10
"""Line numbers printed for one reference written on many lines of one upstream file."""


def finding_groups(findings: Sequence[Finding]) -> list[list[Finding]]:
    """Findings grouped by cause (their ``group``), worst first, then by first occurrence.

    Findings without a group (built by hand) are a group of their own each.
    """
    groups: dict[str, list[Finding]] = {}
    for n, f in enumerate(findings):
        groups.setdefault(f.group or f"#{n}", []).append(f)
    ordered = [sorted(g, key=lambda f: (f.file, f.line, f.column)) for g in groups.values()]
    return sorted(
        ordered, key=lambda g: (-g[0].severity, g[0].file, g[0].line, g[0].column, g[0].rule)
    )


def _lines_by_file(group: Sequence[Finding]) -> list[str]:
    """``file:12, 40, 77``: every line of the group, one entry per file."""
    by_file: dict[str, list[int]] = {}
    for f in group:
        lines = by_file.setdefault(f.file, [])
        if f.line not in lines:
            lines.append(f.line)
    return [f"{_safe(file)}:{', '.join(map(str, lines))}" for file, lines in by_file.items()]


def _upstream(group: Sequence[Finding]) -> str:
    """Where the group's offending reference sits upstream: ``o/r@commit:path:12``, or with
    the same reference on many lines of one file, ``o/r@commit:path:12, 40, 77 and 9 more``."""
    remotes = list(dict.fromkeys(f.remote for f in group if f.remote))
    if len(remotes) <= 1:
        return _safe(remotes[0]) if remotes else ""
    split = [remote.rpartition(":") for remote in remotes]
    if len({place for place, _, _ in split}) > 1 or not all(n.isdigit() for _, _, n in split):
        return _safe(remotes[0]) + f" and {len(remotes) - 1} more"  # (built by hand)
    numbers = sorted({int(n) for _, _, n in split})
    shown = ", ".join(map(str, numbers[:UPSTREAM_LINES_SHOWN]))
    more = len(numbers) - UPSTREAM_LINES_SHOWN
    return f"{_safe(split[0][0])}:{shown}" + (f" and {more} more" if more > 0 else "")


def render_group(group: Sequence[Finding], paint: _Painter) -> list[str]:
    """One cause: as a single finding when one line reaches it, else once with its lines."""
    first = group[0]
    head = paint(f"{first.severity.label} {first.rule}", first.severity)
    at = _upstream(group)
    places = len({(f.file, f.line) for f in group})
    if places == 1:  # one line of yours (the reference may be written upstream many times)
        lines = [f"{_safe(first.file)}:{first.line}:{first.column}: {head}: {_safe(first.message)}"]
        chains = list(dict.fromkeys(f.chain for f in group if len(f.chain) > 1))
        lines.extend(_via(chains))
        if at:
            lines.append("    at " + at)
        return lines
    lines = [f"{head}: {_safe(first.message)}  ({places} uses: lines)"]
    if at:
        lines.append("    at " + at)
    # the references the lines name, when the message does not already say which
    chains = list(
        dict.fromkeys(f.chain for f in group if len(f.chain) > 1 or f.chain[0] not in f.message)
    )
    lines.extend(_via(chains))
    lines.extend("    " + entry for entry in _lines_by_file(group))
    return lines


def _via(chains: Sequence[tuple[str, ...]]) -> list[str]:
    lines = ["    via " + " -> ".join(_safe(u) for u in chain) for chain in chains[:CHAINS_SHOWN]]
    if len(chains) > CHAINS_SHOWN:
        lines.append(f"    via {len(chains) - CHAINS_SHOWN} more chains (--format json lists each)")
    return lines


def render_findings(findings: Sequence[Finding], *, color: bool = False) -> list[str]:
    paint = _Painter(color)
    return [line for group in finding_groups(findings) for line in render_group(group, paint)]


def summary_line(result: AuditResult) -> str:
    edges = result.graph.edges
    nested = sum(1 for e in edges if not e.local)
    counts = result.counts()
    parts = ", ".join(f"{n} {s.label}" for s, n in counts.items())
    total = len(result.findings)
    causes = len({f.group or id(f) for f in result.findings})
    failing = len(result.failing)
    files = len(result.graph.roots)
    text = (
        f"{len(edges)} reference{'s' if len(edges) != 1 else ''} ({nested} nested) "
        f"in {files} file{'s' if files != 1 else ''}; "
        f"{total} finding{'s' if total != 1 else ''} ({parts})"
    )
    if total:
        text += f" from {causes} cause{'s' if causes != 1 else ''}"
    if result.ignored:
        text += f"; {len(result.ignored)} ignored"
    text += f"; {failing} at or above {result.min_severity.label}"
    return text


def tree_wanted(result: AuditResult, tree_lines: int) -> bool:
    """Print the tree unasked when it explains little noise: at most :data:`FEW_GROUPS` causes
    and at most :data:`SHORT_TREE` lines of tree."""
    causes = len(finding_groups(result.findings))
    return causes <= FEW_GROUPS and tree_lines <= SHORT_TREE


def render(result: AuditResult, *, color: bool = False, tree: bool | None = None) -> str:
    """The whole text report: summary, findings by cause, then the tree.

    ``tree``: True prints it, False never, None (the default) when :func:`tree_wanted`.
    """
    lines = [summary_line(result)]
    if result.findings:
        lines.append("")
        lines.extend(render_findings(result.findings, color=color))
    lock = result.lock
    locked = lock.covers if lock is not None else (lambda edge: False)
    tree_lines = render_tree(result.graph, result.findings, color=color, locked=locked)
    show = tree if tree is not None else tree_wanted(result, len(tree_lines))
    if show and tree_lines:
        lines.append("")
        lines.extend(tree_lines)
    elif tree_lines and tree is None:
        lines.append("")
        lines.append(f"(--tree prints the graph: {len(tree_lines)} lines)")
    return "\n".join(lines) + "\n"
