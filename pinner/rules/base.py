"""The shared rule interface: what a finding is, how severe, and how rules are registered.

Every audit rule is a small class in its own module of :mod:`pinner.rules`. It declares its id,
one-line description, default severity and help text once, as class attributes, and implements
:meth:`Rule.check` over one edge of the transitive graph (:mod:`pinner.core.walk`). Rules are pure:
the walk already resolved refs, fetched files and asked the forge about reachability, so a rule
only reads facts and never performs I/O. That keeps each rule testable on a hand-built edge and
lets the audit run them all in one pass without any ordering between rules.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from pinner.models import UsesKind

if TYPE_CHECKING:
    from pinner.core.advisories import RepositoryFacts
    from pinner.core.downloads import DownloadSite
    from pinner.core.images import ImageFacts
    from pinner.core.lock_index import LockIndex
    from pinner.core.resolve import Resolution
    from pinner.core.walk import Edge, Graph
    from pinner.models import Advisory


class Severity(enum.IntEnum):
    """How bad a finding is; ordered so ``--min-severity`` is a plain comparison."""

    INFORMATIONAL = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``"medium"`` -> MEDIUM; ``ValueError`` naming the accepted values otherwise."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, rooted where the user can act on it.

    ``file``/``line`` are in the user's repository: the ``uses:`` (or image) line a chain of
    references starts from. ``chain`` lists the ``uses`` values from that line down to the
    offending reference (one element when the problem is on the user's own line).
    ``remote`` says where the offending reference itself sits when it is nested in a remote
    action or workflow: ``owner/repo@commit:path:line``.

    ``advisory`` is the security advisory a ``known-vulnerable-action`` finding reports (its
    link is the SARIF ``helpUri``), ``fix`` the line that fixes the finding when there is one
    (``owner/repo@<sha> # v46.0.1``).

    ``group`` and ``fingerprint`` are given by the audit once the whole run is known
    (:func:`pinner.core.audit.identify`): findings with the same cause (rule, message, and the
    offending reference) share a group, however many of the user's lines reach it; the
    fingerprint is unique within the run and stable across runs (SARIF
    ``partialFingerprints``).
    """

    rule: str
    severity: Severity
    message: str
    file: str
    line: int
    chain: tuple[str, ...]
    column: int = 1
    remote: str | None = None
    edge: int | None = field(default=None, compare=False)  # index into Graph.edges
    route: tuple[int, ...] = field(default=(), compare=False)  # the chain's edge indices
    advisory: Advisory | None = field(default=None, compare=False)
    fix: str | None = field(default=None, compare=False)
    group: str = field(default="", compare=False)
    fingerprint: str = field(default="", compare=False)

    @property
    def nested(self) -> bool:
        return self.remote is not None


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What a rule may consult besides the edge: the whole graph (e.g. the parent node), the
    downloads found in each node (node id -> :class:`pinner.core.downloads.DownloadSite`),
    what the container registries said about each image (the image as written ->
    :class:`pinner.core.images.ImageFacts`; empty when no registry was asked), what the
    repository's ``actions.lock`` covers, when it has one
    (:class:`pinner.core.lock_index.LockIndex`), and the forge's short-lived facts about the
    graph's repositories (advisories, archived flags; None when they were not gathered)."""

    graph: Graph
    downloads: Mapping[str, tuple[DownloadSite, ...]] = field(default_factory=dict)
    images: Mapping[str, ImageFacts] = field(default_factory=dict)
    lock: LockIndex | None = None
    facts: RepositoryFacts | None = None


def image_facts(edge: Edge, context: RuleContext) -> ImageFacts | None:
    """What the registry said about a docker edge's image (None: not an image, or not asked)."""
    if edge.kind != "docker" or edge.image is None:
        return None
    return context.images.get(edge.image)


class Rule:
    """Base of every audit rule. Subclasses set the class attributes and implement check."""

    id: ClassVar[str]
    description: ClassVar[str]  # one line, used as the SARIF shortDescription
    severity: ClassVar[Severity]
    help: ClassVar[str]  # a paragraph: why it matters and how to fix it (markdown allowed)

    def check(self, edge: Edge, context: RuleContext) -> Iterable[RuleHit]:
        """Yield a hit for each problem this rule sees on ``edge``."""
        raise NotImplementedError

    @classmethod
    def hit(
        cls,
        message: str,
        *,
        severity: Severity | None = None,
        advisory: Advisory | None = None,
        fix: str | None = None,
    ) -> RuleHit:
        """A hit at the rule's default severity unless the case warrants another one."""
        chosen = cls.severity if severity is None else severity
        return RuleHit(cls.id, chosen, message, advisory, fix)


def remote_resolution(edge: Edge) -> Resolution | None:
    """What an ``owner/repo[/path]@ref`` edge resolved to; None for any other edge, and for a
    ``$/path`` one (it runs the parent's commit, judged on the parent's own edge)."""
    if edge.resolution is None or edge.value is None:
        return None
    return edge.resolution if edge.value.kind is UsesKind.REMOTE else None


@dataclass(frozen=True, slots=True)
class RuleHit:
    """What a rule reports about an edge; the audit turns it into a rooted :class:`Finding`."""

    rule: str
    severity: Severity
    message: str
    advisory: Advisory | None = None
    fix: str | None = None


_REGISTRY: dict[str, type[Rule]] = {}

RULE_ORDER = (
    "unpinned-ref",
    "branch-ref",
    "impostor-commit",
    "ref-confusion",
    "comment-mismatch",
    "missing-comment",
    "tag-object-pin",
    "stale-pin",
    "unpinned-image",
    "impostor-image",
    "stale-image-tag",
    "expression-ref",
    "unresolvable",
    "depth-exceeded",
    "graph-limit",
    "mutable-download",
    "known-vulnerable-action",
    "archived-action",
    "not-in-lockfile",
    "workflow-not-in-lockfile",
)
"""The documented order of the rules (docs/rules.md, SARIF ``rules``, ``--list-rules``)."""


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator: add a rule to the registry (ids are unique and stable)."""
    if cls.id in _REGISTRY and _REGISTRY[cls.id] is not cls:
        raise RuntimeError(f"duplicate rule id {cls.id}")
    _REGISTRY[cls.id] = cls
    return cls


def all_rules() -> dict[str, type[Rule]]:
    """Every registered rule by id, in a stable (documentation) order."""
    import pinner.rules  # noqa: F401  (importing the package registers every rule module)

    rank = {rule_id: i for i, rule_id in enumerate(RULE_ORDER)}
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def iter_rules() -> Iterator[Rule]:
    for cls in all_rules().values():
        yield cls()
