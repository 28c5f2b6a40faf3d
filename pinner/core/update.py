"""``pinner update``: move every use forward to the newest *eligible* release, pinned.

Pins must move or they rot, but a fresh release is exactly when a compromised one does its
harm (tj-actions/changed-files, Trivy). So an update only moves to a release that:

* is a version tag of the same family as the current one (same monorepo ``path/`` prefix;
  floating ``v4``/``v4.2`` tags only where a repository has nothing more specific),
* is not a draft, and is not a prerelease unless ``--pre`` or the current version is one,
* stays within ``--bump`` (major: anything newer; minor: same major; patch: same minor),
* has been public for the cooldown (release ``published_at``, else the annotated tag's
  tagger date, else the commit date).

Candidates come from the ref listing (one git request per repository) and are enriched by the
release list; a release whose name is not a version (``codeql-bundle-v2.25.6``) simply does not
take part. Dates are fetched lazily, newest candidate first, stopping at the first eligible one:
most actions cost one listing, one release list and one or two dates.

The newest candidates that were *not* taken are reported as :class:`HeldBack` (with the date
they become eligible, for the cooldown), so a bot can say what it is waiting for.

Security advisories change two things (:mod:`pinner.core.advisories`). A release an advisory
covers is never a target. And a use whose current version an advisory covers gets a
**security update**: moving out of a known vulnerability is what the cooldown must not delay,
so when every patched release within ``--bump`` is still inside the cooldown, the lowest of
them is taken anyway (the change says so, with the advisory).

A SHA pin never moves backwards. A mutable ref (``@v4``) is pinned to the newest eligible
release, which can be older than what the tag points at today: a tag that moved yesterday is
precisely the case the cooldown exists for.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from packaging.version import Version

from pinner.core.advisories import (
    affected_by,
    packages_of,
    subject_of,
    warn_no_advisory_database,
)
from pinner.core.claims import floating_tags, word_is_ref
from pinner.core.cooldown import Cooldown, format_duration
from pinner.core.resolve import Resolution, Resolver
from pinner.core.versions import best_version_tag, parse_version, tag_prefix
from pinner.errors import NotFoundError, UsageError
from pinner.forge.base import Forge
from pinner.models import (
    SHA_RE,
    ActionRef,
    Advisory,
    GitRef,
    ImageSite,
    RefListing,
    Release,
    SourceFile,
    UsesKind,
    UsesSite,
)
from pinner.singleflight import SingleFlight
from pinner.sources.comments import parse_comment, parse_version_comment, render_comment
from pinner.sources.grammar import shown

if TYPE_CHECKING:
    from pinner.core.image_update import ImageUpdates
    from pinner.core.images import ImageTarget
    from pinner.core.rewrite import Declined
    from pinner.sources.dockerfile import Dockerfile

BUMPS = ("major", "minor", "patch")
GROUPINGS = ("all", "action", "none")

# ----------------------------------------------------------------------------- policy


@dataclass(frozen=True, slots=True)
class UpdatePolicy:
    """What a run may do. ``now`` is explicit so runs are reproducible (``--now``)."""

    now: datetime
    cooldown: Cooldown = field(default_factory=Cooldown)
    bump: str = "major"
    pre: bool = False
    keep_style: bool = False
    group: str = "all"

    def __post_init__(self) -> None:
        if self.bump not in BUMPS:
            raise UsageError(f"--bump must be one of {', '.join(BUMPS)}, not {self.bump!r}")
        if self.group not in GROUPINGS:
            raise UsageError(f"--group must be one of {', '.join(GROUPINGS)}, not {self.group!r}")
        if self.now.tzinfo is None:
            raise UsageError("--now needs a timezone (e.g. 2026-01-31T12:00:00Z)")


def parse_now(text: str | None) -> datetime:
    """``--now``: an ISO 8601 timestamp or date (UTC when no zone); None means the real clock."""
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise UsageError(
            f"--now {text!r}: expected an ISO 8601 timestamp like 2026-01-31T12:00:00Z"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Location:
    """One site of a change: file (relative, forward slashes) and 1-based line."""

    file: str
    line: int


@dataclass(frozen=True, slots=True)
class VersionPoint:
    """One end of a change: the ref as written or written now, its version tag, its commit."""

    ref: str
    version: str | None  # the version tag name (``v4.2.2``, ``setup/v1.3.0``), when known
    sha: str | None
    digest: str | None = None  # a container image's digest (images have no commit SHA)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A version tag that a use could move to."""

    tag: GitRef
    version: Version
    specificity: int  # release components written: v4 -> 1, v4.2 -> 2, v4.2.2 -> 3
    release: Release | None  # the published (non-draft) release of this tag, if any
    prerelease: bool

    @property
    def name(self) -> str:
        return self.tag.short


@dataclass(frozen=True, slots=True)
class ReleaseDate:
    """When a candidate became public, and which evidence says so."""

    at: datetime | None
    source: str  # "release" (published_at), "tagger" (annotated tag), "commit", "unknown"


@dataclass(frozen=True, slots=True)
class Change:
    """Sites that move from one pin to another together (same action, same from, same to)."""

    action: str  # owner/repo[/path] as written
    repo: str  # owner/repo as the forge spells it
    # "update" (newer version), "pin" (mutable ref pinned), "comment" (comment fixed),
    # "branch" (a SHA pin following a branch, ``@<sha> # stable``, moved to the branch's new tip)
    kind: str
    level: str | None  # semver level crossed: "major" | "minor" | "patch" | None
    old: VersionPoint
    new: VersionPoint
    value: str  # the new ``uses:`` value
    comment: str | None  # the new version comment (None: leave the comment alone)
    locations: tuple[Location, ...]
    released_at: datetime | None
    date_source: str
    age_days: int | None
    release_url: str | None
    compare_url: str | None
    mutable: bool  # the new value is a tag (--keep-style): it can move under you
    immutable_release: bool  # GitHub marks the release immutable
    note: str | None = None
    id: str = ""  # stable, unique in the plan, safe as a file name or branch component
    branch: str | None = None  # kind "branch": the branch the pin follows (its comment)
    images: tuple[ImageTarget, ...] = field(default=(), compare=False)  # kind "image": where
    # a security update: the advisories covering the version it moves away from (each narrowed
    # to the entry that matched), whether the move skips the cooldown to get out of them, and
    # the sentence that says so
    security: tuple[Advisory, ...] = ()
    cooldown_ignored: bool = False
    security_note: str | None = None
    ref_words: frozenset[str] = frozenset()  # lone comment words that are refs (claims)
    floating: frozenset[str] = frozenset()  # the new release's floating tags (tracked comments)

    def base_id(self) -> str:
        """``actions-checkout-v4.1.0-to-v4.2.2``: the id before de-duplication."""
        if self.branch is not None:  # dtolnay-rust-toolchain-stable-29eef336d9b2-to-fa04a1451ff1
            text = f"{self.action}-{self.branch}-{self.old.ref[:12]}-to-{self.new.ref[:12]}"
            return slug_id(text).replace("..", ".")
        if self.kind == "image":  # python-3.12-to-3.12-<digest>: a rebuild is a move too
            digest = (self.new.digest or "").split(":")[-1][:12]
            return slug_id(f"{self.action}-{self.old.version}-to-{self.new.version}-{digest}")
        old = (
            self.old.ref
            if not SHA_RE.match(self.old.ref)
            else (self.old.version or self.old.ref[:12])
        )
        new = self.new.version or self.new.ref[:12]
        return slug_id(f"{self.action}-{old}-to-{new}").replace("..", ".")


@dataclass(frozen=True, slots=True)
class HeldBack:
    """A newer release an action was not moved to, and why."""

    action: str
    repo: str
    reason: str  # "cooldown" | "bump" | "vulnerable" (an advisory covers the candidate)
    old: VersionPoint
    candidate: VersionPoint
    level: str | None
    released_at: datetime | None
    date_source: str
    eligible_at: datetime | None  # cooldown only: when it becomes eligible
    cooldown: timedelta | None
    release_url: str | None
    locations: tuple[Location, ...]
    branch: str | None = None  # a branch pin's new tip waiting for the cooldown: the branch
    advisories: tuple[str, ...] = ()  # reason "vulnerable": the GHSA ids covering the candidate


@dataclass(frozen=True, slots=True)
class Skipped:
    """A remote use that update leaves alone, with the reason (one line)."""

    uses: str
    reason: str
    locations: tuple[Location, ...]
    problem: bool = False  # True: something is wrong (missing repo/ref); False: by design
    # the action whose move this line was left out of, when the move was planned but the
    # value cannot be rewritten byte for byte (the pull request of that action says so)
    action: str | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """One change set: the unit a bot turns into one pull request."""

    id: str
    changes: tuple[Change, ...]
    held_back: tuple[HeldBack, ...]
    # lines of the group's actions a move was planned for but that could not be rewritten
    not_updated: tuple[Skipped, ...] = ()

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(sorted({c.action for c in self.changes}, key=str.lower))


@dataclass(frozen=True, slots=True)
class UpdatePlan:
    """Everything an update run found, and the new file contents it would write."""

    policy: UpdatePolicy
    changes: tuple[Change, ...]
    held_back: tuple[HeldBack, ...]
    skipped: tuple[Skipped, ...]
    groups: tuple[Group, ...]
    writes: Mapping[Path, bytes] = field(default_factory=dict, compare=False, hash=False)
    relpaths: Mapping[Path, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def has_updates(self) -> bool:
        return bool(self.changes)

    @property
    def problems(self) -> tuple[Skipped, ...]:
        return tuple(s for s in self.skipped if s.problem)

    def only_group(self, group_id: str) -> UpdatePlan:
        """The plan restricted to one group (``--only-group``): the bot's one-PR-per-group loop."""
        for group in self.groups:
            if group.id == group_id:
                return replace(
                    self,
                    changes=group.changes,
                    held_back=group.held_back,
                    groups=(group,),
                )
        if not self.groups:  # "groups: none" read like the --group mode of that name
            raise UsageError(f"--only-group {group_id!r}: no such group (nothing to update)")
        known = ", ".join(g.id for g in self.groups)
        raise UsageError(f"--only-group {group_id!r}: no such group (groups: {known})")


# ----------------------------------------------------------------------------- version helpers

_FAMILY_STRIP = re.compile(r"^v", re.IGNORECASE)


def slug_id(text: str) -> str:
    """An id safe in file and branch names: ``actions/cache/save`` -> ``actions-cache-save``."""
    return re.sub(r"[^a-z0-9._]+", "-", text.lower()).strip("-") or "action"


def bump_level(old: Version | None, new: Version) -> str | None:
    """Which semver level moves from ``old`` to ``new`` (None when unknown or not newer)."""
    if old is None:
        return None
    if new.major != old.major:
        return "major"
    if new.minor != old.minor:
        return "minor"
    if new != old:
        return "patch"
    return None


def within_bump(old: Version | None, new: Version, bump: str) -> bool:
    """``--bump``: how far a use may move. Unknown current version: only ``major`` allows it."""
    if bump == "major":
        return True
    if old is None:
        return False
    if bump == "minor":
        return new.major == old.major
    return (new.major, new.minor) == (old.major, old.minor)


def candidates_from(
    listing: RefListing, releases: Sequence[Release], *, path: str | None, family: str
) -> list[Candidate]:
    """Every version tag of ``family`` a use could move to, newest (and most specific) first.

    Drafts are not releases: a tag whose only releases are drafts is not a candidate. Floating
    tags (``v4``, ``v4.2``) take part only when the family has no full ``X.Y.Z`` tag, so a
    repository that only ever tags majors still updates, and one that has full versions never
    pins to a tag that moves.
    """
    published: dict[str, Release] = {}
    drafted: set[str] = set()
    for release in releases:
        if release.draft:
            drafted.add(release.tag_name)
        elif release.tag_name not in published:
            published[release.tag_name] = release
    found: list[Candidate] = []
    for ref in listing.tags:
        name = ref.short
        if tag_prefix(name) != family:
            continue
        version = parse_version(name, path=path)
        if version is None:
            continue
        release = published.get(name)
        if release is None and name in drafted:
            continue
        found.append(
            Candidate(
                tag=ref,
                version=version,
                specificity=len(version.release),
                release=release,
                prerelease=version.is_prerelease or bool(release and release.prerelease),
            )
        )
    if any(c.specificity >= 3 for c in found):
        found = [c for c in found if c.specificity >= 3]
    # One candidate per version: the most specific spelling, one with a release, then "v1.2.3"
    # over "1.2.3" (the ecosystem's convention), then the name for determinism.
    best: dict[Version, Candidate] = {}
    for cand in found:
        rank = _spelling_rank(cand)
        if cand.version not in best or rank > _spelling_rank(best[cand.version]):
            best[cand.version] = cand
    return sorted(best.values(), key=lambda c: c.version, reverse=True)


def _spelling_rank(cand: Candidate) -> tuple[int, int, int, str]:
    bare = cand.name[len(tag_prefix(cand.name)) :]
    return (cand.specificity, cand.release is not None, bare[:1] in "vV", cand.name)


def keep_style_ref(written: str, target: Candidate, listing: RefListing) -> str:
    """The tag to write for ``--keep-style``: as specific as what the user wrote.

    ``v4`` -> ``v5`` (the target's major), ``v4.1`` -> ``v4.2``, ``v4.1.0`` -> the target's
    tag. Falls back to the target's own tag when the repository has no such floating tag.
    """
    family = tag_prefix(written)
    bare = written[len(family) :]
    prefix = "v" if bare[:1] in "vV" else ""
    written_parts = _FAMILY_STRIP.sub("", bare).split(".")
    depth = len(written_parts) if all(p.isdigit() for p in written_parts) else 3
    if depth >= 3:
        return target.name
    wanted = family + prefix + ".".join(str(n) for n in target.version.release[:depth])
    return wanted if listing.tag(wanted) is not None else target.name


# ----------------------------------------------------------------------------- planning


@dataclass(slots=True)
class _Use:
    """The sites sharing one action and ref, analysed once."""

    action: ActionRef
    sites: list[UsesSite]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What planning decided for some uses (or images): changes, held-back releases, skips."""

    changes: tuple[Change, ...] = ()
    held_back: tuple[HeldBack, ...] = ()
    skipped: tuple[Skipped, ...] = ()


class Updater:
    """Plans updates for a set of source files against one forge.

    ``server_url`` builds the release and compare links (``SERVER/O/R/compare/OLD...NEW``).
    """

    def __init__(self, forge: Forge, policy: UpdatePolicy, *, server_url: str) -> None:
        self.forge = forge
        self.policy = policy
        self.server_url = server_url.rstrip("/")
        self.resolver = Resolver(forge)
        # releases, advisories and dates: each asked once per run, whoever asks
        self._memo: SingleFlight[tuple[str, ...], Any] = SingleFlight()
        self._said_no_advisories = False
        self._candidates: dict[tuple[str, str | None, str], list[Candidate]] = {}

    # --------------------------------------------------------------------- public

    async def plan(
        self,
        sources: Sequence[SourceFile],
        *,
        render: bool = True,
        unreadable: Sequence[Skipped] = (),
        images: ImageUpdates | None = None,
        dockerfiles: Sequence[Dockerfile] = (),
    ) -> UpdatePlan:
        """Analyse every remote use in ``sources`` and compute the new file contents.

        ``render=False`` skips the splice (``writes`` stays empty): the decisions alone.
        ``unreadable`` (files discovery found but could not read) are reported as skipped.
        ``images`` are the image updates (:mod:`pinner.core.image_update`), planned and
        written with the rest; ``dockerfiles`` the in-repo Dockerfiles they may rewrite.
        """
        uses = _collect(sources)
        # Each use needs its repository's ref listing and, unless it is a branch, its release
        # list: ask for both at once (one round trip instead of two). Uses that cannot be
        # versions (``@main``) do not trigger a release list on their own.
        prefetch = [
            asyncio.ensure_future(self._releases(use.action.slug))
            for use in uses
            if use.action.is_sha or parse_version(use.action.ref, path=use.action.path) is not None
        ]
        # and every use's advisories at once: the forge batches them into one request
        prefetch += [asyncio.ensure_future(self._advisories(use.action)) for use in uses]
        tasks = [asyncio.ensure_future(self._analyse(u)) for u in uses]
        try:
            outcomes = await asyncio.gather(*tasks)
        except BaseException:
            # one remote failure fails the run (nothing is written): stop the rest cleanly
            # instead of leaving requests in flight against a forge about to be closed
            for task in [*tasks, *prefetch]:
                task.cancel()
            self._memo.cancel()
            await asyncio.gather(*tasks, *prefetch, return_exceptions=True)
            raise
        # a release list nobody needed in the end (every use of the repo was skipped): let it
        # finish, and let a failure of it fail the run like any other remote failure
        await asyncio.gather(*prefetch)
        if images is not None:
            outcomes.append(Outcome(images.changes, images.held_back, images.skipped))
        changes = _sorted_changes(c for o in outcomes for c in o.changes)
        held = tuple(
            sorted(
                (h for o in outcomes for h in o.held_back),
                key=lambda h: (h.action.lower(), h.old.ref, h.reason),
            )
        )
        found = [*(s for o in outcomes for s in o.skipped), *unreadable, *_invalid(sources)]
        writes: dict[Path, bytes] = {}
        relpaths: dict[Path, str] = {}
        if render:
            changes, writes, relpaths, not_updated = render_possible(sources, changes, dockerfiles)
            found += not_updated
        skipped = tuple(sorted(found, key=lambda s: (s.uses.lower(), s.locations)))
        groups = make_groups(changes, held, self.policy.group, skipped)
        return UpdatePlan(
            policy=self.policy,
            changes=changes,
            held_back=held,
            skipped=skipped,
            groups=groups,
            writes=writes,
            relpaths=relpaths,
        )

    # --------------------------------------------------------------------- per use

    async def _analyse(self, use: _Use) -> Outcome:
        action = use.action
        locations = locations_of(use.sites)
        try:
            resolution = await self.resolver.resolve(action)
        except NotFoundError as exc:
            reason = str(exc).removeprefix(f"{action}: ")  # the record already names the use
            return Outcome(skipped=(Skipped(str(action), reason, locations, problem=True),))
        if action.is_sha:
            # sites of this pin whose comment names a branch follow it; the rest are versions
            branches, rest = branch_sites(use.sites, resolution.listing)
            outcomes = [
                await self._follow_branch(
                    action, sites, resolution.commit, branch, resolution.listing
                )
                for branch, sites in branches
            ]
            if rest:
                outcomes.append(await self._analyse_resolved(action, rest, resolution))
            return Outcome(
                changes=tuple(c for o in outcomes for c in o.changes),
                held_back=tuple(h for o in outcomes for h in o.held_back),
                skipped=tuple(k for o in outcomes for k in o.skipped),
            )
        return await self._analyse_resolved(action, use.sites, resolution)

    async def _analyse_resolved(
        self, action: ActionRef, sites: Sequence[UsesSite], resolution: Resolution
    ) -> Outcome:
        """What to do with these sites of one use, its reference resolved."""
        use = _Use(action, list(sites))
        locations = locations_of(use.sites)
        if resolution.kind == "branch":
            reason = (
                f"branch ref {action.ref!r} is not moved to a release; "
                "pin it with `pinner pin` or switch to a version tag"
            )
            return Outcome(skipped=(Skipped(str(action), reason, locations),))
        listing = resolution.listing
        pinned = action.is_sha
        comment_version = _comment_version(use.sites)
        if comment_version is not None and parse_version(comment_version, path=action.path) is None:
            comment_version = None  # "# main", a note: not a version to start from
        current_ref = resolution.version
        if pinned and comment_version is not None:
            # the comment says which family the user follows (v4 vs 4.x, path/ tags)
            current_ref = best_version_tag(
                listing, resolution.commit, prefer=comment_version, path=action.path
            )
        if current_ref is None:
            # No version tag points at the commit. A comment's claim is not evidence (it may
            # be stale or a lie: `pinner audit` reports it), and moving an untagged commit to
            # a release could move it backwards: leave it, and say why.
            if resolution.ref is not None and resolution.ref.is_tag:
                reason = (
                    f"tag {action.ref!r} is not a version; cannot tell which releases are newer"
                )
            else:
                reason = (
                    f"no version tag points at {resolution.commit[:12]}; "
                    "cannot tell which releases are newer"
                )
                if comment_version is not None:
                    claimed = listing.tag(comment_version)
                    where = f"commit {claimed.commit[:12]}" if claimed else "no tag of the repo"
                    reason += f" (the comment says {comment_version}, which is {where})"
            return Outcome(skipped=(Skipped(str(action), reason, locations),))
        current_name = current_ref.short
        current_version = parse_version(current_name, path=action.path)
        family = tag_prefix(current_name)
        releases = await self._releases(listing.repo)
        key = (listing.repo.lower(), action.path, family)
        if key not in self._candidates:  # the same family is ranked once per run
            self._candidates[key] = candidates_from(
                listing, releases, path=action.path, family=family
            )
        candidates = self._candidates[key]
        current_release = next(
            (r for r in releases if r.tag_name == current_name and not r.draft), None
        )
        allow_pre = (
            self.policy.pre
            or bool(current_version and current_version.is_prerelease)
            or bool(current_release and current_release.prerelease)
        )
        old = VersionPoint(ref=action.ref, version=current_name, sha=resolution.commit)
        advisories = await self._advisories(action)
        written = None if pinned else action.ref
        current = subject_of(
            resolution.commit, current_ref, listing, path=action.path, written=written
        )
        vulnerable = tuple(v.matched for v in affected_by(advisories, packages_of(action), current))

        held: dict[str, HeldBack] = {}
        target: Candidate | None = None
        target_date = ReleaseDate(None, "unknown")
        fix: tuple[Candidate, ReleaseDate] | None = None  # the lowest patched one, in cooldown
        unsafe: tuple[Candidate, tuple[str, ...], str | None] | None = None  # newest vulnerable
        for cand in candidates:
            if pinned and current_version is not None and cand.version <= current_version:
                break  # a SHA pin never moves backwards
            if cand.prerelease and not allow_pre:
                continue
            level = bump_level(current_version, cand.version)
            newer = current_version is None or cand.version > current_version
            if not within_bump(current_version, cand.version, self.policy.bump):
                if newer:  # an older release outside --bump is no update anyone waits for
                    held.setdefault(
                        "bump",
                        self._held(action, listing, "bump", old, cand, level, None, locations),
                    )
                continue
            covering = self._covering(action, listing, cand, advisories)
            if covering:  # never move into a known vulnerability
                if newer and unsafe is None:
                    unsafe = cand, covering, level
                continue
            date = await self._date(listing.repo, cand)
            wait = self.policy.cooldown.for_update(action.target, level)
            eligible_at = date.at + wait if date.at is not None else None
            if eligible_at is None or eligible_at > self.policy.now:
                if vulnerable and newer:
                    fix = (cand, date)  # newest first: the last one seen is the lowest
                if "cooldown" not in held:
                    held["cooldown"] = replace(
                        self._held(action, listing, "cooldown", old, cand, level, date, locations),
                        eligible_at=eligible_at,
                        cooldown=wait,
                    )
                continue
            target, target_date = cand, date
            break
        cooldown_ignored = False
        if target is None and fix is not None:
            (target, target_date), cooldown_ignored = fix, True
            if held.get("cooldown") is not None and held["cooldown"].candidate.sha == (
                target.tag.commit
            ):
                del held["cooldown"]  # taken after all: nothing newer is waiting
        if unsafe is not None and (target is None or unsafe[0].version > target.version):
            cand, covering, level = unsafe  # a newer release not taken: an advisory covers it
            held["vulnerable"] = replace(
                self._held(action, listing, "vulnerable", old, cand, level, None, locations),
                advisories=covering,
            )
        held_back = tuple(held[k] for k in sorted(held))

        if target is None:
            if pinned and current_ref is not None:
                # Nothing newer is eligible: keep the pin, but make its comment say the truth.
                change = self._comment_fix(action, use.sites, old, current_ref, listing)
                return Outcome(changes=change, held_back=held_back)
            if not pinned:
                reason = "no eligible release to pin to"
                if held_back:
                    reason += " (" + ", ".join(f"held back by {h.reason}" for h in held_back) + ")"
                return Outcome(
                    held_back=held_back, skipped=(Skipped(str(action), reason, locations),)
                )
            return Outcome(held_back=held_back)
        changes = self._changes(
            action, use.sites, old, current_version, target, target_date, listing
        )
        if vulnerable:
            changes = tuple(
                self._security(c, vulnerable, cooldown_ignored, target_date) for c in changes
            )
        return Outcome(changes=changes, held_back=held_back)

    def _covering(
        self,
        action: ActionRef,
        listing: RefListing,
        cand: Candidate,
        advisories: Sequence[Advisory],
    ) -> tuple[str, ...]:
        """The ids of the advisories that cover the release ``cand``."""
        if not advisories:
            return ()
        subject = subject_of(cand.tag.commit, cand.tag, listing, path=action.path)
        return tuple(
            v.advisory.ghsa_id for v in affected_by(advisories, packages_of(action), subject)
        )

    def _security(
        self,
        change: Change,
        vulnerable: tuple[Advisory, ...],
        cooldown_ignored: bool,
        date: ReleaseDate,
    ) -> Change:
        """``change`` as the security update it is: the advisories it leaves, and why it did
        not wait for the cooldown when it did not."""
        ids = ", ".join(a.ids for a in vulnerable)
        why = f"security update: {change.old.version or change.old.ref} is affected by {ids}"
        if cooldown_ignored:
            wait = self.policy.cooldown.for_update(change.action, change.level)
            released = (
                f"released {date.at:%Y-%m-%d}" if date.at is not None else "release date unknown"
            )
            why += (
                f"; {change.new.version} is the lowest patched release and moves in "
                f"despite the {format_duration(wait)} cooldown ({released})"
            )
        return replace(
            change, security=vulnerable, cooldown_ignored=cooldown_ignored, security_note=why
        )

    def _changes(
        self,
        action: ActionRef,
        sites: Sequence[UsesSite],
        old: VersionPoint,
        current_version: Version | None,
        target: Candidate,
        date: ReleaseDate,
        listing: RefListing,
    ) -> tuple[Change, ...]:
        keep_style = self.policy.keep_style and not action.is_sha
        note = None
        if keep_style:
            ref = keep_style_ref(action.ref, target, listing)
            moved = listing.tag(ref)
            value = f"{action.target}@{ref}"
            comment = None
            if moved is not None and moved.commit != target.tag.commit:
                note = (
                    f"tag {ref} points at {moved.commit[:12]}, not at {target.name} "
                    f"({target.tag.commit[:12]}): it is mutable and moves"
                )
            else:
                note = f"tag {ref} is mutable: it can be moved after review"
            new = VersionPoint(ref=ref, version=target.name, sha=target.tag.commit)
        else:
            value = f"{action.target}@{target.tag.commit}"
            comment = target.name
            new = VersionPoint(ref=target.tag.commit, version=target.name, sha=target.tag.commit)
        if (
            not action.is_sha
            and not keep_style
            and current_version is not None
            and target.version < current_version
        ):
            note = (
                f"{action.ref} points at {old.version}, which is not eligible yet; pinned to the "
                f"newest eligible release instead"
            )
        level = bump_level(current_version, target.version)
        if level is not None and current_version is not None and target.version > current_version:
            kind = "update"
        elif not action.is_sha:
            kind = "pin"
        else:
            kind = "comment"
        # Only sites whose text actually changes: a run after a run reports nothing.
        ref_words = _ref_words(sites, listing)
        floating = floating_tags(comment, listing)
        touched = [s for s in sites if _site_changes(s, value, comment, ref_words, floating)]
        if not touched:
            return ()
        age = age_days(self.policy.now, date.at)
        repo = listing.repo
        compare = None
        if old.sha and old.sha != target.tag.commit:
            compare = f"{self.server_url}/{repo}/compare/{old.sha}...{target.tag.commit}"
        return (
            Change(
                action=action.target,
                repo=repo,
                kind=kind,
                level=level if kind == "update" else None,
                old=old,
                new=new,
                value=value,
                comment=comment,
                locations=locations_of(touched),
                released_at=date.at,
                date_source=date.source,
                age_days=age,
                release_url=self._release_url(repo, target),
                compare_url=compare,
                mutable=keep_style,
                immutable_release=bool(target.release and target.release.immutable),
                note=note,
                ref_words=ref_words,
                floating=floating,
            ),
        )

    async def _follow_branch(
        self,
        action: ActionRef,
        sites: Sequence[UsesSite],
        pinned: str,
        branch: GitRef,
        listing: RefListing,
    ) -> Outcome:
        """A SHA pin that follows a branch (``@<sha> # stable``): move it to the branch's tip.

        This is how Renovate updates branch digests: the comment says which branch the pin
        was taken from (``pinner pin`` writes it for ``@stable``), and the pin moves when the
        branch does, subject to the cooldown measured from the tip commit's date (a branch
        has no releases). A tip younger than the cooldown is held back, like a release.
        """
        tip, name, repo = branch.commit, branch.short, listing.repo
        if tip == pinned:
            return Outcome()  # at the tip: nothing to do
        date = await self._commit_date(repo, tip)
        wait = self.policy.cooldown.for_update(action.target, None)
        eligible_at = date.at + wait if date.at is not None else None
        old = VersionPoint(ref=action.ref, version=None, sha=pinned)
        new = VersionPoint(ref=tip, version=None, sha=tip)
        locations = locations_of(sites)
        if eligible_at is None or eligible_at > self.policy.now:
            held = HeldBack(
                action=action.target,
                repo=repo,
                reason="cooldown",
                old=old,
                candidate=new,
                level=None,
                released_at=date.at,
                date_source=date.source,
                eligible_at=eligible_at,
                cooldown=wait,
                release_url=None,
                locations=locations,
                branch=name,
            )
            return Outcome(held_back=(held,))
        value = f"{action.target}@{tip}"
        touched = [s for s in sites if _site_changes(s, value, None)]
        if not touched:
            return Outcome()
        age = age_days(self.policy.now, date.at)
        change = Change(
            action=action.target,
            repo=repo,
            kind="branch",
            level=None,
            old=old,
            new=new,
            value=value,
            comment=None,  # the comment names the branch already, in the user's own dialect
            locations=locations_of(touched),
            released_at=date.at,
            date_source=date.source,
            age_days=age,
            release_url=None,
            compare_url=f"{self.server_url}/{repo}/compare/{pinned}...{tip}",
            mutable=False,
            immutable_release=False,
            note=f"branch {name} moved: {pinned[:12]} -> {tip[:12]}",
            branch=name,
        )
        return Outcome(changes=(change,))

    def _comment_fix(
        self,
        action: ActionRef,
        sites: Sequence[UsesSite],
        old: VersionPoint,
        current: GitRef,
        listing: RefListing,
    ) -> tuple[Change, ...]:
        value = f"{action.target}@{current.commit}"  # a tag-object or upper-case SHA: the commit
        ref_words = _ref_words(sites, listing)
        floating = floating_tags(current.short, listing)
        touched = [s for s in sites if _site_changes(s, value, current.short, ref_words, floating)]
        if not touched:
            return ()
        return (
            Change(
                action=action.target,
                repo=listing.repo,
                kind="comment",
                level=None,
                old=old,
                new=VersionPoint(ref=action.ref, version=current.short, sha=current.commit),
                value=value,
                comment=current.short,
                locations=locations_of(touched),
                released_at=None,
                date_source="unknown",
                age_days=None,
                release_url=None,
                compare_url=None,
                mutable=False,
                immutable_release=False,
                note=(
                    "SHA written in lower case; the pin itself does not move"
                    if action.is_upper_sha
                    else "version comment corrected; the pin itself does not move"
                ),
                ref_words=ref_words,
                floating=floating,
            ),
        )

    def _held(
        self,
        action: ActionRef,
        listing: RefListing,
        reason: str,
        old: VersionPoint,
        cand: Candidate,
        level: str | None,
        date: ReleaseDate | None,
        locations: tuple[Location, ...],
    ) -> HeldBack:
        return HeldBack(
            action=action.target,
            repo=listing.repo,
            reason=reason,
            old=old,
            candidate=VersionPoint(ref=cand.name, version=cand.name, sha=cand.tag.commit),
            level=level,
            released_at=date.at if date else _published(cand),
            date_source=date.source if date else ("release" if _published(cand) else "unknown"),
            eligible_at=None,
            cooldown=None,
            release_url=self._release_url(listing.repo, cand),
            locations=locations,
        )

    def _release_url(self, repo: str, cand: Candidate) -> str:
        """The release's ``html_url`` when it is a web URL, else ``SERVER/O/R/releases/tag/T``."""
        url = cand.release.html_url if cand.release is not None else ""
        if url and re.match(r"^https?://[^\s]+$", url):
            return url
        return f"{self.server_url}/{repo}/releases/tag/{quote(cand.name, safe='/')}"

    # --------------------------------------------------------------------- forge, memoised

    async def _advisories(self, action: ActionRef) -> tuple[Advisory, ...]:
        """The advisories naming ``action``'s packages (none when the forge keeps none)."""

        async def one(package: str) -> tuple[Advisory, ...]:
            async def fetch() -> tuple[Advisory, ...]:
                try:
                    return tuple(await self.forge.list_advisories(package))
                except NotFoundError:  # no advisory database on this forge (old GHES)
                    if not self._said_no_advisories:
                        self._said_no_advisories = True
                        warn_no_advisory_database("no update is known to be a security fix")
                    return ()

            return await self._memo.get(("advisories", package), fetch)

        found = await asyncio.gather(*(one(p) for p in packages_of(action)))
        return tuple({a.ghsa_id: a for many in found for a in many}.values())

    async def _releases(self, repo: str) -> tuple[Release, ...]:
        async def fetch() -> tuple[Release, ...]:
            try:
                return tuple(await self.forge.list_releases(repo))
            except NotFoundError:
                return ()  # a repository without releases: tags alone decide

        return await self._memo.get(("releases", repo.lower()), fetch)

    async def _date(self, repo: str, cand: Candidate) -> ReleaseDate:
        """Release ``published_at``, else the annotated tag's tagger date, else the commit date."""

        async def fetch() -> ReleaseDate:
            if (published := _published(cand)) is not None:
                return ReleaseDate(published, "release")
            if cand.tag.annotated:
                try:
                    tag = await self.forge.get_tag_object(repo, cand.tag.object)
                except NotFoundError:
                    tag = None
                if tag is not None and tag.tagger_date is not None:
                    return ReleaseDate(_utc(tag.tagger_date), "tagger")
            return await self._commit_date(repo, cand.tag.commit)

        return await self._memo.get(("date", repo.lower(), cand.tag.name), fetch)

    async def _commit_date(self, repo: str, sha: str) -> ReleaseDate:
        """When a commit was made (a branch tip's age, for the cooldown; a release's, when
        neither a release nor an annotated tag dates it)."""

        async def fetch() -> ReleaseDate:
            try:
                commit = await self.forge.get_commit(repo, sha)
            except NotFoundError:
                return ReleaseDate(None, "unknown")
            if commit.date is None:
                return ReleaseDate(None, "unknown")
            return ReleaseDate(_utc(commit.date), "commit")

        return await self._memo.get(("commit-date", repo.lower(), sha), fetch)


# ----------------------------------------------------------------------------- helpers


def age_days(now: datetime, at: datetime | None) -> int | None:
    """Whole days from ``at`` to ``now`` (a change's ``age_days``); None when undated."""
    return None if at is None else max(0, (now - at) // timedelta(days=1))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _published(cand: Candidate) -> datetime | None:
    if cand.release is not None and cand.release.published_at is not None:
        return _utc(cand.release.published_at)
    return None


def _collect(sources: Sequence[SourceFile]) -> list[_Use]:
    """Group remote sites by (repository, path, ref): each distinct use is analysed once."""
    by_key: dict[tuple[str, str, str], _Use] = {}
    for source in sources:
        for site in source.uses:
            value = site.value
            if value.kind is not UsesKind.REMOTE or value.action is None:
                continue
            action = value.action
            if _ignored(site):
                continue
            key = (action.repo_key, (action.path or "").lower(), action.ref)
            if key not in by_key:
                by_key[key] = _Use(action=action, sites=[])
            by_key[key].sites.append(site)
    return [by_key[k] for k in sorted(by_key)]


def _invalid(sources: Sequence[SourceFile]) -> list[Skipped]:
    """A value outside the runner's grammar: a problem on its line, the rest still updated."""
    return [
        Skipped(
            shown(site.value.raw),
            f"invalid uses value: {site.value.error}",
            (Location(site.relpath, site.line),),
            problem=True,
        )
        for source in sources
        for site in source.uses
        if site.value.kind is UsesKind.INVALID
    ]


def locations_of(sites: Iterable[UsesSite | ImageTarget]) -> tuple[Location, ...]:
    return tuple(
        sorted({Location(s.relpath, s.line) for s in sites}, key=lambda x: (x.file, x.line))
    )


def _ignored(site: UsesSite) -> bool:
    """``# pinner: ignore[update]`` (or a bare ``# pinner: ignore``) holds this use where it is,
    and so does ``# ratchet:exclude`` (no tool is to move it).

    The same inline policy ``pin`` applies (:class:`pinner.core.pin.IgnorePolicy`).
    """
    if not site.comment:
        return False
    from pinner.core.pin import IgnorePolicy, excluded_from_pinning

    return IgnorePolicy().silenced(site, "update") or excluded_from_pinning(site)


def followed_branch(sites: Sequence[UsesSite], listing: RefListing) -> GitRef | None:
    """The branch a SHA pin follows: its comment names a branch of that very repository.

    ``@<sha> # stable`` is how ``pinner pin`` writes a branch pin. A comment's lone word is a
    branch claim only when the repository has such a branch (``# TODO`` or ``# keep`` are
    notes) and no tag of that name (the runner takes the tag: then it is a tag pin). Every
    site given must name the same branch.
    """
    claim = _comment_version(sites)
    if claim is None or listing.tag(claim) is not None:
        return None
    return listing.branch(claim)


def branch_sites(
    sites: Sequence[UsesSite], listing: RefListing
) -> tuple[list[tuple[GitRef, list[UsesSite]]], list[UsesSite]]:
    """Sites of one SHA pin split by the branch their comment follows, and the others.

    One commit can be pinned on several lines with different comments (``# stable``,
    ``# nightly`` and ``# v1.2.3`` while all three were at the same commit): each line
    follows what its own comment says.
    """
    by_branch: dict[str, tuple[GitRef, list[UsesSite]]] = {}
    rest: list[UsesSite] = []
    for site in sites:
        branch = followed_branch((site,), listing)
        if branch is None:
            rest.append(site)
        else:
            by_branch.setdefault(branch.name, (branch, []))[1].append(site)
    return [by_branch[name] for name in sorted(by_branch)], rest


def _comment_version(sites: Sequence[UsesSite]) -> str | None:
    """The version the sites' comments name, when they agree (a hint, never the truth)."""
    found = {v for v in (parse_version_comment(s.comment) for s in sites) if v}
    return found.pop() if len(found) == 1 else None


def _site_changes(
    site: UsesSite,
    value: str,
    comment: str | None,
    ref_words: frozenset[str] = frozenset(),
    floating: frozenset[str] = frozenset(),
) -> bool:
    """Whether writing ``value`` and a comment claiming ``comment`` changes the site's text
    (a tracked ``# ratchet:o/a@v4`` that includes the new version, say, stays as it is)."""
    if site.value.written != value:
        return True
    if comment is None:
        return False
    if not site.comment:
        return True
    is_ref = parse_comment(site.comment).version in ref_words
    rendered = render_comment(site.comment, comment, word_is_ref=is_ref, floating=floating)
    return rendered != site.comment


def _ref_words(sites: Iterable[UsesSite], listing: RefListing) -> frozenset[str]:
    """The lone comment words of ``sites`` that name a branch or tag (claims, not notes)."""
    words = set()
    for site in sites:
        parsed = parse_comment(site.comment) if site.comment else None
        if parsed is not None and word_is_ref(parsed, listing):
            words.add(parsed.version)
    return frozenset(w for w in words if w)


def _sorted_changes(changes: Iterable[Change]) -> tuple[Change, ...]:
    """Deterministic order (action, first file, line) and unique ids in that order."""
    ordered = sorted(
        changes,
        key=lambda c: (c.action.lower(), c.locations[0].file, c.locations[0].line, c.old.ref),
    )
    seen: dict[str, int] = {}
    out = []
    for change in ordered:
        base = change.base_id()
        seen[base] = seen.get(base, 0) + 1
        out.append(replace(change, id=base if seen[base] == 1 else f"{base}-{seen[base]}"))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class HeldSummary:
    """Held-back records of one action for the same release and reason, merged for display."""

    held: HeldBack  # the first record (reason, candidate, dates, URL are shared)
    olds: tuple[VersionPoint, ...]  # every current version waiting for it
    locations: tuple[Location, ...]


def summarize_held(held_back: Sequence[HeldBack]) -> tuple[HeldSummary, ...]:
    """One entry per (action, reason, candidate): a PR body lists a waiting release once."""
    merged: dict[tuple[str, str, str | None, str | None], list[HeldBack]] = {}
    for held in held_back:
        key = (held.action.lower(), held.reason, held.candidate.version, held.candidate.sha)
        merged.setdefault(key, []).append(held)
    return tuple(
        HeldSummary(
            held=items[0],
            olds=tuple(dict.fromkeys(h.old for h in items)),
            locations=tuple(
                sorted({loc for h in items for loc in h.locations}, key=lambda x: (x.file, x.line))
            ),
        )
        for items in merged.values()
    )


def make_groups(
    changes: Sequence[Change],
    held_back: Sequence[HeldBack],
    grouping: str,
    skipped: Sequence[Skipped] = (),
) -> tuple[Group, ...]:
    """``--group``: ``all`` one change set; ``action`` one per action; ``none`` one per change.

    Held-back records travel with the group of their action (all of them with ``all``), so each
    PR body lists what is still waiting for the actions it touches; so do the lines of those
    actions a move could not be written to (``skipped`` records with an ``action``).
    """
    if not changes:
        return ()
    not_updated = [s for s in skipped if s.action is not None]
    if grouping == "all":
        return (Group("all", tuple(changes), tuple(held_back), tuple(not_updated)),)
    buckets: dict[str, list[Change]] = defaultdict(list)
    for change in changes:
        key = slug_id(change.action) if grouping == "action" else change.id
        buckets[key].append(change)
    groups = []
    for key in sorted(buckets):
        members = tuple(buckets[key])
        actions = {c.action.lower() for c in members}
        held = tuple(h for h in held_back if h.action.lower() in actions)
        left = tuple(s for s in not_updated if (s.action or "").lower() in actions)
        groups.append(Group(key, members, held, left))
    return _unique_ids(groups)


def _unique_ids(groups: list[Group]) -> tuple[Group, ...]:
    seen: dict[str, int] = {}
    out = []
    for group in groups:
        n = seen.get(group.id, 0)
        seen[group.id] = n + 1
        out.append(group if n == 0 else replace(group, id=f"{group.id}-{n + 1}"))
    return tuple(out)


def render_writes(
    sources: Sequence[SourceFile],
    changes: Sequence[Change],
    dockerfiles: Sequence[Dockerfile] = (),
) -> tuple[dict[Path, bytes], dict[Path, str]]:
    """Apply every change as a byte-exact splice; only files whose bytes change are returned.

    Image changes rewrite their image values (YAML) and ``FROM`` lines (``dockerfiles``).
    The changes are expected to be writable (:func:`render_possible` made them so): a value
    that cannot be rewritten byte for byte raises :class:`~pinner.errors.InputError`."""
    writes, relpaths, declined = _render(sources, changes, dockerfiles)
    if declined:
        from pinner.errors import InputError

        first = declined[0]
        raise InputError(first.reason, path=first.edit.site.relpath, line=first.edit.site.line)
    return writes, relpaths


def render_possible(
    sources: Sequence[SourceFile],
    changes: Sequence[Change],
    dockerfiles: Sequence[Dockerfile] = (),
) -> tuple[tuple[Change, ...], dict[Path, bytes], dict[Path, str], list[Skipped]]:
    """The changes that can be written, their files' new bytes, and a problem for every line
    a change was planned for but that cannot be rewritten byte for byte (a quoted value
    continued over two lines, say): one odd value never stops the rest of the update.

    A change keeps the lines that were written; one left with none is dropped. The files are
    rendered again from what remains, so what is reported and what is written always agree.
    """
    changes = tuple(changes)
    not_updated: list[Skipped] = []
    while True:
        writes, relpaths, declined = _render(sources, changes, dockerfiles)
        if not declined:
            return changes, writes, relpaths, not_updated
        changes, problems = _without_declined(changes, declined)
        not_updated += problems


def _without_declined(
    changes: Sequence[Change], declined: Sequence[Declined]
) -> tuple[tuple[Change, ...], list[Skipped]]:
    """``changes`` without the sites the rewrite declined, and one problem per such site."""
    by_site = {(d.edit.site.path, d.edit.site.value_span): d for d in declined}
    problems: list[Skipped] = []
    kept: list[Change] = []
    for change in changes:
        refused: list[tuple[Declined, str]] = []
        if change.kind == "image":
            images = []
            for target in change.images:
                site = target.site
                refusal = None
                if isinstance(site, ImageSite):
                    refusal = by_site.get((site.path, site.value_span))
                if refusal is None:
                    images.append(target)
                else:
                    refused.append((refusal, target.written))
            left = locations_of(images)
            narrowed = replace(change, images=tuple(images), locations=left)
        else:
            for refusal in declined:
                site = refusal.edit.site
                action = site.value.action if isinstance(site, UsesSite) else None
                if (
                    isinstance(site, UsesSite)
                    and action is not None
                    and action.target.lower() == change.action.lower()
                    and action.ref == change.old.ref
                    and Location(site.relpath, site.line) in change.locations
                ):
                    refused.append((refusal, shown(site.value.raw)))
            lines = {Location(d.edit.site.relpath, d.edit.site.line) for d, _ in refused}
            left = tuple(loc for loc in change.locations if loc not in lines)
            narrowed = replace(change, locations=left)
        if not refused:
            kept.append(change)
            continue
        to = change.new.version or change.new.ref
        for refusal, written in refused:
            line = Location(refusal.edit.site.relpath, refusal.edit.site.line)
            reason = f"not updated to {to}: {refusal.reason}"
            problems.append(Skipped(written, reason, (line,), problem=True, action=change.action))
        if left:
            kept.append(narrowed)
    if not problems:  # every declined edit comes from a change: this would loop for ever
        raise ValueError("a declined edit matches no planned change")
    return tuple(kept), problems


def _render(
    sources: Sequence[SourceFile],
    changes: Sequence[Change],
    dockerfiles: Sequence[Dockerfile] = (),
) -> tuple[dict[Path, bytes], dict[Path, str], list[Declined]]:
    """The new bytes of every file ``changes`` touch, and the edits the rewrite declined."""
    from pinner.core.images import ImageChange, dockerfile_bytes, edits_by_file
    from pinner.core.rewrite import Edit, apply_possible_edits, original_bytes

    wanted: dict[tuple[str, int, str], Change] = {}
    image_changes: list[ImageChange] = []
    for change in changes:
        if change.kind == "image":
            version, digest = change.new.version or "", change.new.digest or ""
            image_changes += [
                ImageChange(t, t.written, change.value, digest, version, False)
                for t in change.images
            ]
            continue
        for loc in change.locations:
            wanted[(loc.file, loc.line, change.action.lower())] = change
    image_edits, dockerfile_edits = edits_by_file(image_changes)
    writes: dict[Path, bytes] = {}
    relpaths: dict[Path, str] = {}
    declined: list[Declined] = []
    for dockerfile in dockerfiles:
        if dockerfile.path in dockerfile_edits:
            writes[dockerfile.path] = dockerfile_bytes(
                dockerfile, dockerfile_edits[dockerfile.path]
            )
            relpaths[dockerfile.path] = dockerfile.relpath
    for source in sources:
        edits = [Edit(site, value) for site, value in image_edits.get(source.path, ())]
        for site in source.uses:
            if site.value.action is None:
                continue
            change = wanted.get((site.relpath, site.line, site.value.action.target.lower()))
            if change is None or site.value.action.ref != change.old.ref:
                continue
            if not _site_changes(
                site, change.value, change.comment, change.ref_words, change.floating
            ):
                continue
            is_ref = bool(site.comment) and parse_comment(site.comment).version in change.ref_words  # type: ignore[arg-type]
            edits.append(Edit(site, change.value, change.comment, is_ref, change.floating))
        if edits:
            data, refused = apply_possible_edits(source, edits)
            declined += refused
            if data != original_bytes(source):
                writes[source.path] = data  # (every edit may have been declined: then no write)
                relpaths[source.path] = source.relpath
    return writes, relpaths, declined
