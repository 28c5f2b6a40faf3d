"""Audit rules: one module per rule, each registered in :mod:`pinner.rules.base`.

Importing this package registers every rule (listed here alphabetically); the order of the
documentation, of SARIF ``rules`` and of ``--list-rules`` is :data:`pinner.rules.base.RULE_ORDER`.
"""

from pinner.rules import (  # noqa: F401
    archived_action,
    branch_ref,
    comment_mismatch,
    depth_exceeded,
    expression_ref,
    graph_limit,
    impostor_commit,
    impostor_image,
    known_vulnerable_action,
    missing_comment,
    mutable_download,
    not_in_lockfile,
    ref_confusion,
    stale_image_tag,
    stale_pin,
    tag_object_pin,
    unpinned_image,
    unpinned_ref,
    unresolvable,
    workflow_not_in_lockfile,
)
from pinner.rules.base import Finding, Rule, Severity, all_rules

__all__ = ["Finding", "Rule", "Severity", "all_rules"]
