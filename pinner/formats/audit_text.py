"""``pinner audit --format text``: the graph as an indented tree, then findings and a summary.

The tree answers "what runs when my workflow runs, and what of it is mutable": each user file,
each reference in it, and below each remote action what *it* references, every edge marked
``pinned``, ``unpinned`` or with the rule ids that fired. A node reached again is printed once and
referred to afterwards, so shared actions (``actions/checkout`` in every workflow) do not repeat
their subtree. Every string that came from a repository passes through
:func:`pinner.sanitize.for_terminal`: action metadata is attacker-controlled text.
"""

from __future__ import annotations

from collections import defaultdict

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


def _edge_label(edge: Edge, rules: dict[str, Severity], paint: _Painter) -> str:
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


def render_tree(graph: Graph, findings: tuple[Finding, ...], *, color: bool = False) -> list[str]:
    """The indented tree, one line per edge, user files as the top level."""
    paint = _Painter(color)
    rules = _edge_rules(findings)
    lines: list[str] = []
    printed: set[str] = set()

    def visit(node_id: str, prefix: str, on_path: frozenset[str]) -> None:
        edges = graph.children(node_id)
        for i, edge in enumerate(edges):
            last = i == len(edges) - 1
            branch = "└── " if last else "├── "
            lines.append(prefix + branch + _edge_label(edge, rules.get(edge.index, {}), paint))
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


def render_findings(findings: tuple[Finding, ...], *, color: bool = False) -> list[str]:
    paint = _Painter(color)
    lines: list[str] = []
    for f in findings:
        head = paint(f"{f.severity.label} {f.rule}", f.severity)
        lines.append(f"{_safe(f.file)}:{f.line}:{f.column}: {head}: {_safe(f.message)}")
        if len(f.chain) > 1:
            lines.append("    via " + " -> ".join(_safe(u) for u in f.chain))
        if f.remote:
            lines.append("    at " + _safe(f.remote))
    return lines


def summary_line(result: AuditResult) -> str:
    edges = result.graph.edges
    nested = sum(1 for e in edges if not e.local)
    counts = result.counts()
    parts = ", ".join(f"{n} {s.label}" for s, n in counts.items())
    total = len(result.findings)
    failing = len(result.failing)
    text = (
        f"{len(edges)} references ({nested} nested) in {len(result.graph.roots)} files; "
        f"{total} finding{'s' if total != 1 else ''} ({parts})"
    )
    if result.ignored:
        text += f"; {len(result.ignored)} ignored"
    text += f"; {failing} at or above {result.min_severity.label}"
    return text


def render(result: AuditResult, *, color: bool = False) -> str:
    """The whole text report: tree, findings, summary."""
    lines = render_tree(result.graph, result.findings, color=color)
    if result.findings:
        lines.append("")
        lines.extend(render_findings(result.findings, color=color))
    lines.append("")
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"
