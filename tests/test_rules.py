"""Each rule on hand-built edges: the facts that make it fire, and the near misses that must not."""

from __future__ import annotations

import importlib
from dataclasses import replace

import pytest

from pinner.core.resolve import Resolution
from pinner.core.verify import Reachability
from pinner.core.walk import Edge, Graph, Node
from pinner.models import ActionRef, GitRef, RefListing, UsesKind, UsesValue
from pinner.rules.base import RULE_ORDER, RuleContext, Severity, all_rules
from pinner.rules.unpinned_image import image_problem

A = "a" * 40
B = "b" * 40
TAGOBJ = "c" * 40

LISTING = RefListing(
    "o/r",
    (
        GitRef("refs/heads/main", B, B),
        GitRef("refs/heads/v2", B, B),
        GitRef("refs/tags/v1.0.0", TAGOBJ, A),
        GitRef("refs/tags/v2", A, A),
    ),
    default_branch="main",
)
CONTEXT = RuleContext(Graph(nodes={}, edges=()))


def edge(
    raw: str,
    *,
    kind: str = "tag",
    commit: str = A,
    comment: str | None = None,
    depth: int = 0,
    verdict: str | None = None,
    ambiguous: bool = False,
    resolved: bool = True,
) -> Edge:
    ref = raw.rsplit("@", 1)[1]
    action = ActionRef("o", "r", None, ref)
    value = UsesValue(raw, UsesKind.REMOTE, action=action)
    named = LISTING.tag(ref) or LISTING.branch(ref)
    res = (
        Resolution(
            action,
            commit,
            kind,
            named,
            LISTING.tag("v1.0.0") if commit == A else None,
            ambiguous,
            LISTING,
        )
        if resolved
        else None
    )
    reach = Reachability(verdict, None, 3, "detail") if verdict else None
    return Edge(
        0,
        "w.yml",
        None,
        raw,
        "action",
        "w.yml",
        1,
        depth=depth,
        value=value,
        comment=comment,
        version_comment=comment,
        resolution=res,
        reachability=reach,
    )


def fired(rule_id: str, e: Edge) -> list[str]:
    rule = all_rules()[rule_id]()
    return [h.message for h in rule.check(e, CONTEXT)]


def test_registry_is_complete_and_documented() -> None:
    rules = all_rules()
    assert tuple(rules) == RULE_ORDER
    for rule_id, cls in rules.items():
        module = importlib.import_module(cls.__module__)
        assert module.__doc__ and module.__doc__.startswith(f"{rule_id}: "), rule_id
        assert cls.id == rule_id and cls.description and cls.help
        assert isinstance(cls.severity, Severity)
        assert len(cls.description) < 100


def test_unpinned_and_branch_refs() -> None:
    assert fired("unpinned-ref", edge("o/r@v2"))
    assert fired("unpinned-ref", edge("o/r@main", kind="branch", commit=B))
    assert fired("branch-ref", edge("o/r@main", kind="branch", commit=B))
    assert not fired("branch-ref", edge("o/r@v2"))
    assert not fired("unpinned-ref", edge(f"o/r@{A}", kind="sha"))
    # a SHA pin with "# main" is pinned: not a branch ref
    assert not fired("branch-ref", edge(f"o/r@{B}", kind="sha", commit=B, comment="main"))
    # unresolvable tag refs are still mutable refs
    assert fired("unpinned-ref", edge("o/r@v9", resolved=False))


def test_impostor_verdicts() -> None:
    assert fired("impostor-commit", edge(f"o/r@{A}", kind="sha", verdict="impostor"))
    rule = all_rules()["impostor-commit"]()
    [unknown] = rule.check(edge(f"o/r@{A}", kind="sha", verdict="unknown"), CONTEXT)
    assert unknown.severity is Severity.MEDIUM and "unknown" in unknown.message
    assert not fired("impostor-commit", edge(f"o/r@{A}", kind="sha", verdict="reachable"))
    assert not fired("impostor-commit", edge(f"o/r@{A}", kind="sha"))


def test_ref_confusion() -> None:
    [msg] = fired("ref-confusion", edge("o/r@v2", ambiguous=True))
    assert "both a tag and a branch" in msg and B[:12] in msg
    assert not fired("ref-confusion", edge("o/r@v2"))


def test_comment_mismatch() -> None:
    assert not fired("comment-mismatch", edge(f"o/r@{A}", kind="sha", comment="v1.0.0"))
    [msg] = fired("comment-mismatch", edge(f"o/r@{B}", kind="sha", commit=B, comment="v1.0.0"))
    assert "v1.0.0" in msg and B[:12] in msg
    assert fired("comment-mismatch", edge(f"o/r@{A}", kind="sha", comment="v7.7.7"))
    assert not fired("comment-mismatch", edge(f"o/r@{A}", kind="sha", comment="main"))
    assert not fired("comment-mismatch", edge(f"o/r@{A}", kind="sha"))


def test_a_sha_in_upper_case_is_described_as_one() -> None:
    upper = f"o/r@{A.upper()}"
    rule = all_rules()["unpinned-ref"]()
    [hit] = rule.check(edge(upper, kind="sha"), CONTEXT)
    assert hit.severity is Severity.LOW
    assert "a SHA in upper case" in hit.message and "not to a commit SHA" not in hit.message
    assert fired("missing-comment", edge(upper, kind="sha"))  # a pin: its comment matters
    assert not fired("missing-comment", edge(upper, kind="sha", comment="v1.0.0"))


def test_comment_mismatch_judges_comments_as_pin_does() -> None:
    # a lone word that names no ref is a note, not a false claim
    assert not fired("comment-mismatch", edge(f"o/r@{A}", kind="sha", comment="TODO"))
    # the same version spelled without the "v"
    assert not fired("comment-mismatch", edge(f"o/r@{A}", kind="sha", comment="version: 1.0.0"))
    # a tracked ref: true while the pin is one of its releases, or for a tracked branch
    assert not fired("comment-mismatch", edge(f"o/r@{A}", kind="sha", comment="ratchet:o/r@v2"))
    assert not fired("comment-mismatch", edge(f"o/r@{A}", kind="sha", comment="pin@main"))
    bad = edge(f"o/r@{B}", kind="sha", commit=B, comment="pin@v1.0.0")
    [msg] = fired("comment-mismatch", bad)
    assert "tracks v1.0.0" in msg
    # other tools' directives are no claim either
    assert not fired("comment-mismatch", edge(f"o/r@{A}", kind="sha", comment="zizmor: ignore[x]"))


def test_missing_comment_only_in_the_users_files() -> None:
    [msg] = fired("missing-comment", edge(f"o/r@{A}", kind="sha"))
    assert "v1.0.0" in msg  # suggests the version
    assert not fired("missing-comment", edge(f"o/r@{A}", kind="sha", comment="v1.0.0"))
    assert not fired("missing-comment", edge(f"o/r@{A}", kind="sha", depth=1))
    assert not fired("missing-comment", edge("o/r@v2"))
    # a note or another tool's directive is no version comment; a branch name is one
    assert fired("missing-comment", edge(f"o/r@{A}", kind="sha", comment="TODO"))
    assert fired("missing-comment", edge(f"o/r@{A}", kind="sha", comment="nosemgrep"))
    assert not fired("missing-comment", edge(f"o/r@{A}", kind="sha", comment="main"))


def test_tag_object_and_stale_pins() -> None:
    [msg] = fired("tag-object-pin", edge(f"o/r@{TAGOBJ}", kind="tag-object"))
    assert A in msg
    assert not fired("tag-object-pin", edge(f"o/r@{A}", kind="sha"))
    untagged = "d" * 40
    assert fired(
        "stale-pin", edge(f"o/r@{untagged}", kind="sha", commit=untagged, verdict="reachable")
    )
    assert fired("stale-pin", edge(f"o/r@{B}", kind="sha", commit=B))  # branch tip, no tag
    assert not fired("stale-pin", edge(f"o/r@{A}", kind="sha"))  # tagged
    assert not fired(
        "stale-pin", edge(f"o/r@{untagged}", kind="sha", commit=untagged, verdict="impostor")
    )


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("alpine", "no tag"),
        ("alpine:latest", ":latest"),
        ("ghcr.io/o/i:v1", "tag :v1"),
        ("localhost:5000/i", "no tag"),
        ("localhost:5000/i:2", "tag :2"),
        ("${{ matrix.image }}", "expression"),
        # a Dockerfile's FROM python:${PY}: a build argument (as pin says), not a tag to pin
        ("python:${PY}", "build argument"),
        ("ghcr.io/${OWNER}/tool:1", "build argument"),
        ("alpine:3@sha256:" + "0" * 64, None),
        ("ghcr.io/o/i@sha256:" + "1" * 64, None),
    ],
)
def test_image_problems(image: str, problem: str | None) -> None:
    found = image_problem(image)
    assert (found is None) == (problem is None)
    if problem:
        assert problem in found


def test_expression_unresolvable_depth() -> None:
    expr = Edge(
        0,
        "w.yml",
        None,
        "${{ x }}",
        "action",
        "w.yml",
        1,
        value=UsesValue("${{ x }}", UsesKind.EXPRESSION),
    )
    assert fired("expression-ref", expr)
    assert not fired("unresolvable", expr)
    missing = replace(edge("o/r@v9", resolved=False), error="o/r@v9: no tag or branch")
    assert fired("unresolvable", missing)
    node = Node("o/r@" + A, "action", False, 1, "o/r", A, "", error="no action.yml")
    graph_ctx = RuleContext(Graph(nodes={node.id: node}, edges=()))
    rule = all_rules()["unresolvable"]()
    assert list(rule.check(replace(edge(f"o/r@{A}", kind="sha"), child=node.id), graph_ctx))
    deep = replace(edge(f"o/r@{A}", kind="sha"), depth=9, depth_exceeded=True)
    assert "10 levels" in fired("depth-exceeded", deep)[0]
    assert "cycle" in fired("depth-exceeded", replace(deep, depth_exceeded=False, cycle=True))[0]
    assert not fired("depth-exceeded", edge(f"o/r@{A}", kind="sha"))
