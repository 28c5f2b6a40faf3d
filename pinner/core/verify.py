"""Is a pinned commit really part of the repository it is pinned through? (impostor commits)

GitHub stores a repository and its forks in one object network and serves any commit of that
network under any member's name: ``owner/repo@<sha>`` runs a commit that only ever existed in a
fork (or in a pull request) as if ``owner`` had published it. Fetching the commit by SHA
succeeds for such impostors, so it is never taken as proof (design.md section 3). The same goes
for an annotated tag object: a fork's tag object peels to a fork's commit, so every SHA a user
wrote is checked by the commit it peels to.

The check, cheapest first:

1. the commit is a branch tip or a tag's peeled commit: contained, no request (almost every
   real pin ends here);
2. otherwise ``compare(ref, sha)`` against the repository's refs, where ``behind`` or
   ``identical`` means the commit is in that ref's history, most likely refs first: the default
   branch, release branches, the tags around the version the pin's comment claims, then every
   other tag and branch, one ref per distinct commit. Only when every ref was compared is the
   verdict "impostor".

What bounds the requests is not a fixed number per commit (an impostor in a repository with 111
refs would then always end as "unknown", which CI lets through):

* with a token, comparisons travel in batches (GitHub GraphQL, :data:`COMPARES_PER_QUERY` refs
  to a query through aliases), so a 111-ref repository costs three queries at worst;
* without one, REST compares one ref at a time, in order of likelihood, for as long as the
  remaining anonymous API quota allows (the forge's ``compare_quota``);
* ``budget``, when given, caps the requests spent on one commit.

A verdict that still cannot be reached is "unknown", which the ``impostor-commit`` rule reports
at medium severity (it fails the default gate) with one line saying what it would take.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.version import Version

from pinner.core.versions import parse_version, tag_prefix
from pinner.forge.base import Forge, NotBatched
from pinner.forge.batch_sizes import COMPARES_PER_QUERY
from pinner.models import Comparison, GitRef, RefListing

REACHABLE = "reachable"
IMPOSTOR = "impostor"
UNKNOWN = "unknown"

_FALLBACK_DEFAULTS = ("main", "master", "trunk", "develop")
_RELEASE_BRANCH_RE = re.compile(
    r"^(?:(?:releases?|stable|maint|maintenance|support|hotfix)(?:[/_-].*)?"
    r"|v?\d+(?:\.(?:\d+|x))*(?:[-_.]?(?:x|branch|stable))?)$",
    re.IGNORECASE,
)
_NUMBERS_RE = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Reachability:
    """The verdict on one pinned commit, and what it cost to reach it."""

    verdict: str  # "reachable" | "impostor" | "unknown"
    via: str | None  # the ref that contains it ("refs/heads/main", ...)
    requests: int  # requests spent comparing (a batched query counts once)
    detail: str  # one line for humans; for "unknown", what it would take to decide


_ASK_ALONE = object()
"""A batched answer that was not given: the ref is compared on its own."""


async def check_reachability(
    forge: Forge,
    repo: str,
    sha: str,
    listing: RefListing,
    *,
    budget: int | None = None,
    claim: str | None = None,
    budget_option: str = "--budget",
) -> Reachability:
    """Decide whether commit ``sha`` is in the history of some branch or tag of ``repo``.

    ``claim`` is the version the pin's comment names (it only decides which tags are tried
    first); ``budget`` caps the requests spent on this commit (None: no cap but the API
    quota); ``budget_option`` is the flag that raises it, named in an "unknown" verdict.
    ``compare`` answering None (GitHub's 404: no common history) means "not in that ref".
    Remote failures propagate: an unanswered question is not a verdict.
    """
    sha = sha.lower()
    tip = _best_tip(listing, sha)
    if tip is not None:
        return Reachability(REACHABLE, tip.name, 0, f"{tip.short} points at {sha[:12]}")
    candidates = candidate_refs(listing, claim=claim)
    search = _Search(forge, repo, sha, candidates)
    while search.left:
        if budget is not None and search.requests >= budget:
            return search.unknown(
                f"the request budget ({budget_option} {budget}) is spent",
                f"{budget_option} {search.requests + search.requests_to_finish()} checks them all",
            )
        if search.batched():
            found = await search.compare_batch()
        else:
            quota = _call(forge, "compare_quota")
            if quota is not None and quota <= 0:
                return search.unknown(*_quota_advice(forge, search))
            found = await search.compare_one()
        if found is not None:
            return Reachability(
                REACHABLE,
                found.name,
                search.requests,
                f"{sha[:12]} is in the history of {found.short}",
            )
    return Reachability(
        IMPOSTOR,
        None,
        search.requests,
        f"{sha[:12]} is in no branch or tag of {repo} "
        f"(checked all {len(candidates)}): a commit from a fork or pull request, not {repo}'s",
    )


class _Search:
    """The refs still to compare with one commit, and what comparing them cost so far."""

    def __init__(self, forge: Forge, repo: str, sha: str, candidates: Sequence[GitRef]) -> None:
        self.forge, self.repo, self.sha = forge, repo, sha
        self.total = len(candidates)
        self.pending: deque[GitRef] = deque(candidates)  # may go in a batch
        self.alone: deque[GitRef] = deque()  # a batch could not answer them: one request each
        self.requests = 0
        self.checked = 0

    @property
    def left(self) -> int:
        return len(self.pending) + len(self.alone)

    def per_request(self) -> int:
        size = getattr(self.forge, "compares_per_request", 1)
        return size if isinstance(size, int) and size > 1 else 1

    def batched(self) -> bool:
        return bool(self.pending) and self.per_request() > 1

    def requests_to_finish(self) -> int:
        return math.ceil(len(self.pending) / self.per_request()) + len(self.alone)

    async def compare_batch(self) -> GitRef | None:
        """One batched request: the next refs in order, as many as one request carries."""
        size = self.per_request()
        chunk = [self.pending.popleft() for _ in range(min(size, len(self.pending)))]
        compare_ref = self.forge.compare_ref  # type: ignore[attr-defined]
        answers = await asyncio.gather(
            *(_batched(compare_ref, self.repo, ref, self.sha) for ref in chunk)
        )
        if any(a is not _ASK_ALONE for a in answers):
            self.requests += 1
        found = None
        for ref, answer in zip(chunk, answers, strict=True):
            if answer is _ASK_ALONE:
                self.alone.append(ref)
                continue
            self.checked += 1
            if found is None and _contains(answer):  # type: ignore[arg-type]
                found = ref
        return found

    async def compare_one(self) -> GitRef | None:
        ref = (self.alone or self.pending).popleft()
        self.requests += 1
        comparison = await self.forge.compare(self.repo, ref.commit, self.sha)
        self.checked += 1
        return ref if _contains(comparison) else None

    def unknown(self, why: str, advice: str) -> Reachability:
        return Reachability(
            UNKNOWN,
            None,
            self.requests,
            f"{self.sha[:12]} is in none of the {self.checked} refs checked of {self.total}, "
            f"and {why}: cannot prove it belongs to {self.repo}; {advice}",
        )


async def _batched(compare_ref: object, repo: str, ref: GitRef, sha: str) -> object:
    try:
        return await compare_ref(repo, ref, sha)  # type: ignore[operator]
    except NotBatched:
        return _ASK_ALONE


def _contains(comparison: Comparison | None) -> bool:
    return comparison is not None and comparison.head_in_base


def _call(forge: Forge, name: str) -> int | None:
    method = getattr(forge, name, None)
    value = method() if callable(method) else None
    return value if isinstance(value, int) else None


def _quota_advice(forge: Forge, search: _Search) -> tuple[str, str]:
    """Why the REST way stopped, and the one thing that would let it finish."""
    left = search.left
    if not getattr(forge, "authenticated", True):
        queries = math.ceil(left / COMPARES_PER_QUERY)
        return (
            "the anonymous API quota is nearly spent",
            f"with a token (GITHUB_TOKEN) the other {left} take {queries} GraphQL "
            f"quer{'y' if queries == 1 else 'ies'}",
        )
    return (
        "the API quota is nearly spent",
        f"run again once the rate limit resets ({left} refs left to compare)",
    )


def _best_tip(listing: RefListing, sha: str) -> GitRef | None:
    at = listing.at_commit(sha)
    default = f"refs/heads/{listing.default_branch}" if listing.default_branch else None
    for r in at:
        if r.name == default:
            return r
    return next((r for r in at if r.is_tag), at[0] if at else None)


def candidate_refs(listing: RefListing, *, claim: str | None = None) -> list[GitRef]:
    """Refs to compare against, most likely to contain a legitimate pin first.

    The default branch, then release branches (newest numbers first), then tags: when the
    pin's comment claims a version, that version's tag and the newer ones of its family
    nearest first (a commit released as ``v4.2.2`` is in ``v4.2.2`` and everything tagged
    after it on that line), then the older ones nearest first, then every other tag newest
    first; the remaining branches come last. One ref per distinct commit: two refs at the
    same commit would answer the same question.
    """
    branches = listing.branches
    default = _default_branch(listing)
    release = sorted(
        (b for b in branches if b is not default and _RELEASE_BRANCH_RE.match(b.short)),
        key=lambda b: (_numbers(b.short), b.short),
        reverse=True,
    )
    tags = _tags_around(listing.tags, claim)
    rest = sorted(
        (b for b in branches if b is not default and not _RELEASE_BRANCH_RE.match(b.short)),
        key=lambda b: b.short,
    )
    ordered = ([default] if default is not None else []) + release + tags + rest
    seen: set[str] = set()
    unique: list[GitRef] = []
    for ref in ordered:
        if ref.commit not in seen:
            seen.add(ref.commit)
            unique.append(ref)
    return unique


def _tags_around(tags: Sequence[GitRef], claim: str | None) -> list[GitRef]:
    newest_first = sorted(tags, key=_tag_order, reverse=True)
    claimed = parse_version(claim.rpartition("/")[2]) if claim else None
    if claimed is None or claim is None:
        return newest_first
    family = tag_prefix(claim)
    newer: list[tuple[Version, GitRef]] = []
    older: list[tuple[Version, GitRef]] = []
    for ref in tags:
        version = parse_version(ref.short.rpartition("/")[2])
        if version is None or tag_prefix(ref.short) != family:
            continue
        (newer if version >= claimed else older).append((version, ref))
    newer.sort(key=lambda vr: (vr[0], vr[1].short))
    older.sort(key=lambda vr: (vr[0], vr[1].short), reverse=True)
    first = [ref for _, ref in newer + older]
    taken = {ref.name for ref in first}
    return first + [ref for ref in newest_first if ref.name not in taken]


def _default_branch(listing: RefListing) -> GitRef | None:
    names = (listing.default_branch,) if listing.default_branch else _FALLBACK_DEFAULTS
    for name in names:
        if name and (ref := listing.branch(name)) is not None:
            return ref
    return None


def _numbers(name: str) -> tuple[int, ...]:
    return tuple(int(n) for n in _NUMBERS_RE.findall(name))


def _tag_order(ref: GitRef) -> tuple[int, Version, str]:
    """Version tags (any monorepo prefix) newest first, then other tags by name."""
    body = ref.short.rpartition("/")[2]
    version = parse_version(body)
    if version is None:
        return (0, Version("0"), ref.short)
    return (1, version, ref.short)
