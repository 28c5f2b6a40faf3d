"""Which security advisories affect a resolved action, and which release fixes it.

GitHub's advisory database names an action as a package of the ``actions`` ecosystem
(``tj-actions/changed-files``) with a range of vulnerable versions in its own syntax:
constraints separated by commas, every one of which must hold (``< 46.0.1``,
``>= 1.0.0, <= 1.2.0``, ``= 1``), with the operators ``=``, ``<``, ``<=``, ``>`` and ``>=``.
A version operand is compared with :mod:`packaging`'s rules, a leading ``v`` ignored on both
sides (tags are ``v46.0.1``, advisories write ``46.0.1``); an operand that is no version names
a tag exactly, or a commit (40 hex digits, or an abbreviation of at least 7 with a letter in
it, as advisories write ``0e58ed8``), and takes only ``=``.

What version a resolved action *is* comes from the refs, never from a comment: the version
tag at its commit that ``pinner pin`` writes as the ``# vX.Y.Z`` comment
(:attr:`pinner.core.resolve.Resolution.version`). A commit no version tag points at has no
version: an advisory naming that commit still matches it, but a version range cannot say
yes or no, and that is reported as unknown rather than taken as clean (an attacker's commit
is exactly such a commit).

The facts (advisories per package, archived flags per repository) are fetched once per run
after the walk (:func:`gather_facts`), so the rules stay pure.
"""

from __future__ import annotations

import asyncio
import operator
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from pinner.core.versions import parse_version, version_tags
from pinner.errors import NotFoundError
from pinner.forge.base import Forge
from pinner.models import ActionRef, Advisory, AffectedPackage, GitRef, RefListing, UsesKind

if TYPE_CHECKING:
    from pinner.core.walk import Edge

OPERATORS = ("<=", ">=", "<", ">", "=")
"""Longest first, so ``<=`` is not read as ``<`` followed by ``=1``."""
_COMPARE = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_COMMIT_RE = re.compile(r"^[0-9a-f]{7,40}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/+-]*$")
"""A tag name an operand may be (what git allows, and nothing that reads as an operator)."""


# ----------------------------------------------------------------------------- ranges


@dataclass(frozen=True, slots=True)
class Subject:
    """What is known about a resolved action: its commit, its version, the names it goes by.

    ``version`` is None when no version tag points at the commit; ``names`` are the ref the
    user wrote and every tag at the commit (exact-name operands match them).
    """

    commit: str
    version: Version | None = None
    names: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Constraint:
    """One ``OP OPERAND`` of a range; exactly one of version, commit and name is the operand."""

    op: str
    operand: str
    version: Version | None = None
    commit: str | None = None

    def holds(self, subject: Subject) -> bool | None:
        """True or False, or None when the subject's version is unknown and that matters."""
        if self.commit is not None:  # only "=" (checked when parsed)
            return subject.commit.lower().startswith(self.commit)
        if self.version is None:  # a name: only "=" too
            return self.operand in subject.names
        if subject.version is None:
            return None
        return _COMPARE[self.op](subject.version, self.version)


def version_of(text: str) -> Version | None:
    """``46.0.1``, ``v46.0.1`` or ``V1`` as a version; None when it is none."""
    body = text.strip()
    if body[:1] in ("v", "V"):
        body = body[1:]
    if not body[:1].isdigit():
        return None
    try:
        return Version(body)
    except InvalidVersion:
        return None


def _constraint(part: str, text: str) -> Constraint:
    op = next((o for o in OPERATORS if part.startswith(o)), None)
    if op is None:
        op, operand = "=", part  # a bare version or tag means exactly that one
    else:
        operand = part[len(op) :].strip()
    if not operand or any(c.isspace() for c in operand):
        raise ValueError(f"unreadable version range {text!r}")
    lowered = operand.lower()
    # a commit first: ``1234a56`` would also parse as a version (1234 alpha 56)
    is_commit = _COMMIT_RE.match(lowered) and (len(lowered) == 40 or not lowered.isdigit())
    version = None if is_commit else version_of(operand)
    if version is not None:
        return Constraint(op, operand, version=version)
    if op != "=":
        raise ValueError(f"version range {text!r}: {op} needs a version, not {operand!r}")
    if is_commit:
        return Constraint(op, operand, commit=lowered)
    if not _NAME_RE.match(operand):
        raise ValueError(f"unreadable version range {text!r}")
    return Constraint(op, operand)


@dataclass(frozen=True, slots=True)
class VersionRange:
    """A parsed ``vulnerable_version_range``; no constraint at all means every version."""

    text: str
    constraints: tuple[Constraint, ...]

    @classmethod
    def parse(cls, text: str | None) -> VersionRange:
        """Parse GitHub's range text; ValueError for text that is no range."""
        if text is None or not text.strip():
            return cls(text or "", ())
        parts = [p.strip() for p in text.split(",")]
        if any(not p for p in parts):
            raise ValueError(f"unreadable version range {text!r}")
        return cls(text, tuple(_constraint(p, text) for p in parts))

    def contains(self, subject: Subject) -> bool | None:
        """True when every constraint holds; False when one does not; None when unknown."""
        unknown = False
        for constraint in self.constraints:
            holds = constraint.holds(subject)
            if holds is False:
                return False
            unknown = unknown or holds is None
        return None if unknown else True

    @property
    def names_commit(self) -> bool:
        return any(c.commit is not None and c.op == "=" for c in self.constraints)


# ----------------------------------------------------------------------------- matching


def packages_of(action: ActionRef) -> tuple[str, ...]:
    """The package names an advisory may use for ``action``, lower case: ``owner/repo`` (what
    Dependabot and the advisory database use for every action of a repository) and, for an
    action in a subdirectory, ``owner/repo/path`` too."""
    base = action.repo_key
    return (base, f"{base}/{action.path.lower()}") if action.path else (base,)


def subject_of(
    commit: str,
    version_tag: GitRef | None,
    listing: RefListing,
    *,
    path: str | None,
    written: str | None = None,
) -> Subject:
    """The :class:`Subject` of a commit whose version tag is ``version_tag`` (the pin comment's
    answer); ``written`` is the ref the user wrote (``v1``, ``main``), when it is one."""
    names = {r.short for r in listing.at_commit(commit) if r.is_tag}
    if written:
        names.add(written)
    version = parse_version(version_tag.short, path=path) if version_tag is not None else None
    return Subject(commit, version, frozenset(names))


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one advisory relates to one subject: ``affected`` True, False or None (unknown)."""

    advisory: Advisory
    package: AffectedPackage | None
    affected: bool | None
    reason: str = ""  # for None: why it cannot be decided

    @property
    def matched(self) -> Advisory:
        """The advisory narrowed to the entry this verdict is about (what a finding or a
        security update reports: that entry's range and patched version, not every one)."""
        if self.package is None:
            return self.advisory
        return replace(self.advisory, packages=(self.package,))


def judge(advisory: Advisory, packages: Sequence[str], subject: Subject) -> Verdict:
    """Whether ``advisory`` affects ``subject`` (an action known by ``packages``).

    An advisory may list the package several times (separate ranges): any range that holds
    makes it affected; one that cannot be decided, with none holding, makes it unknown.
    """
    entries = [e for name in packages for e in advisory.affecting(name)]
    unknown: Verdict | None = None
    for entry in entries:
        try:
            holds = VersionRange.parse(entry.vulnerable_range).contains(subject)
        except ValueError as exc:
            unknown = unknown or Verdict(advisory, entry, None, str(exc))
            continue
        if holds:
            return Verdict(advisory, entry, True)
        if holds is None:
            why = f"version unknown: no version tag points at {subject.commit[:12]}"
            unknown = unknown or Verdict(advisory, entry, None, why)
    return unknown or Verdict(advisory, entries[0] if entries else None, False)


def verdicts(
    advisories: Iterable[Advisory], packages: Sequence[str], subject: Subject
) -> list[Verdict]:
    """One verdict per advisory (withdrawn ones left out), in a stable order."""
    seen: dict[str, Advisory] = {}
    for advisory in advisories:
        if advisory.withdrawn_at is None:
            seen.setdefault(advisory.ghsa_id, advisory)
    return [judge(seen[k], packages, subject) for k in sorted(seen)]


def affected_by(
    advisories: Iterable[Advisory], packages: Sequence[str], subject: Subject
) -> list[Verdict]:
    """The verdicts that say "affected"."""
    return [v for v in verdicts(advisories, packages, subject) if v.affected]


# ----------------------------------------------------------------------------- fixes


def fixing_release(
    listing: RefListing,
    *,
    path: str | None,
    packages: Sequence[str],
    advisories: Iterable[Advisory],
    current: Version | None,
    first_patched: str | None,
) -> GitRef | None:
    """The release a pin should move to: the lowest one at or above ``first_patched`` (the
    smallest move that fixes it), or, when the advisory names no patched version, the newest;
    either way above ``current`` and affected by no advisory. Full ``X.Y.Z`` tags win over
    floating ones (``v46``) when the repository has them; prereleases only when the patched
    version is one.
    """
    floor = version_of(first_patched) if first_patched else None
    allow_pre = bool(floor and floor.is_prerelease)
    known = list(advisories)
    tags = version_tags(listing, path=path)
    if any(len(v.release) >= 3 for _, v in tags):
        tags = [(r, v) for r, v in tags if len(v.release) >= 3]
    ordered = sorted(tags, key=lambda rv: (rv[1], -len(rv[0].name), rv[0].name))
    for ref, version in ordered if floor is not None else reversed(ordered):
        if version.is_prerelease and not allow_pre:
            continue
        if floor is not None and version < floor:
            continue
        if current is not None and version <= current:
            continue
        subject = subject_of(ref.commit, ref, listing, path=path)
        if any(v.affected is not False for v in verdicts(known, packages, subject)):
            continue
        return ref
    return None


def pin_text(action: ActionRef, ref: GitRef) -> str:
    """``owner/repo[/path]@<sha> # vX.Y.Z``: the line a user pastes."""
    return f"{action.target}@{ref.commit} # {ref.short}"


# ----------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class RepositoryFacts:
    """Forge facts about the repositories of a graph with a short life: advisories per
    package (lower-case ``owner/repo[/path]``) and the archived flag per repository
    (lower-case ``owner/repo``)."""

    advisories: Mapping[str, tuple[Advisory, ...]] = field(default_factory=dict)
    archived: Mapping[str, bool] = field(default_factory=dict)

    def advisories_for(self, packages: Iterable[str]) -> tuple[Advisory, ...]:
        found: dict[str, Advisory] = {}
        for package in packages:
            for advisory in self.advisories.get(package.lower(), ()):
                found.setdefault(advisory.ghsa_id, advisory)
        return tuple(found[k] for k in sorted(found))


def warn_no_advisory_database(consequence: str) -> None:
    """Say on stderr that the forge keeps no advisories (an old GitHub Enterprise Server), and
    what that leaves unchecked: silence would read as "no known vulnerability"."""
    print(
        "pinner: warning: the forge has no security advisory database (GET /advisories); "
        + consequence,
        file=sys.stderr,
    )


@dataclass(frozen=True, slots=True)
class ResolvedAction:
    """A resolved remote reference, as the facts need it: the action, its repository as the
    forge spells it, and the archived flag when the ref listing already said it."""

    action: ActionRef
    repo: str
    archived: bool | None = None


async def gather_facts(actions: Iterable[ResolvedAction], forge: Forge) -> RepositoryFacts:
    """Ask the forge, concurrently, for the advisories of every package and whether every
    repository is archived.

    Both answers are asked per package or repository so the cache keeps each on its own; the
    forge batches the advisory questions into as few requests as it can, and a repository whose
    listing came with its archived flag (GraphQL, a snapshot) costs no question at all. A
    repository that does not exist has no flag (the ``unresolvable`` rule reports it); a forge
    without an advisory database (an old GitHub Enterprise Server) is said once on stderr and
    checked for nothing.
    """
    packages: set[str] = set()
    repos: dict[str, str] = {}
    known: dict[str, bool] = {}
    for resolved in actions:
        action = resolved.action
        packages.update(packages_of(action))
        if resolved.archived is not None:
            known[action.repo_key] = resolved.archived
        repos.setdefault(action.repo_key, resolved.repo)
    asked = {k: r for k, r in repos.items() if k not in known}
    ordered = sorted(packages)

    async def advisories(package: str) -> tuple[Advisory, ...] | None:
        try:
            return await forge.list_advisories(package)
        except NotFoundError:
            return None

    async def archived(repo: str) -> bool | None:
        try:
            return (await forge.get_repo(repo)).archived
        except NotFoundError:
            return None

    found, flags = await asyncio.gather(
        asyncio.gather(*(advisories(p) for p in ordered)),
        asyncio.gather(*(archived(r) for r in asked.values())),
    )
    if ordered and all(a is None for a in found):
        warn_no_advisory_database("known-vulnerable-action was not checked")
    return RepositoryFacts(
        advisories={p: a for p, a in zip(ordered, found, strict=True) if a},
        archived={**known, **{k: f for k, f in zip(asked, flags, strict=True) if f is not None}},
    )


def remote_actions(edges: Iterable[Edge]) -> list[ResolvedAction]:
    """Every resolved remote reference among graph ``edges``."""
    out: list[ResolvedAction] = []
    for edge in edges:
        resolution = edge.resolution
        if resolution is None or edge.value is None or edge.value.kind is not UsesKind.REMOTE:
            continue
        listing = resolution.listing
        repo = listing.repo or resolution.action.slug
        out.append(ResolvedAction(resolution.action, repo, listing.archived))
    return out
