"""Plan a ``pinner pin`` run: every remote ``uses:`` to a commit SHA with a truthful comment.

The plan is computed before anything is written, so the command can decide as a whole: write
all of it, nothing (a remote failure without ``--partial``; ``--check``; ``--diff``), or print it.

Network shape (design.md section 6): one ref listing per distinct repository, asked for in batches
(before the files are parsed when the caller has hints, :meth:`PinPlanner.expect`); every distinct
``(repo, path, ref)`` is resolved against its listing as soon as both its file and its listing are
in; the few SHA pins that are no branch or tag tip then get a reachability check. Never a request
per use when one per repository suffices.

What is a *problem* (exit 1, everything else still pinned): a repository, ref or commit that
definitively does not exist, an impostor or unverifiable SHA, a comment that lies and cannot be
corrected, an invalid ``uses:``. What is a *warning*: branch pins (branches move), ref confusion,
expressions (cannot be pinned statically). What is a *remote failure*: the forge could not answer
(network, rate limit, server error); the command writes nothing unless asked for partial results.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinner.core.claims import claim_holds, comment_claim, floating_tags, word_is_ref
from pinner.core.resolve import Resolution, Resolver
from pinner.core.verify import IMPOSTOR, REACHABLE, Reachability, check_reachability
from pinner.errors import FatalRemoteError, NotFoundError, RemoteError
from pinner.forge.base import Forge
from pinner.models import ActionRef, SourceFile, UsesKind, UsesSite
from pinner.singleflight import SingleFlight
from pinner.sources.comments import (
    parse_comment,
    parse_version_comment,
    render_comment,
    silences,
)
from pinner.sources.grammar import describe_invalid, is_canonical

if TYPE_CHECKING:
    from pinner.core.images import ImageChange, ImagePlan

_REASON_RULES = {
    "pinned-tag": "unpinned-ref",
    "pinned-branch": "unpinned-ref",
    "tag-object": "tag-object-pin",
    "comment-added": "missing-comment",
    "comment-fixed": "comment-mismatch",
    "sha-normalized": "unpinned-ref",
    "uses-normalized": "unpinned-ref",
}

PROBLEM = "problem"
WARNING = "warning"
REMOTE = "remote"
"""A :class:`PinIssue`'s severities (image issues use the same: they join the pin plan)."""


@dataclass(frozen=True, slots=True)
class PinChange:
    """One ``uses:`` line pinner would rewrite."""

    site: UsesSite
    old_value: str  # the value as written, without quotes
    new_value: str  # owner/repo[/path]@<40-hex>
    old_comment: str | None
    claim: str | None  # what the comment must state (a version, a branch); None: leave it
    sha: str
    version: str | None  # the version tag (or branch) the comment names
    reason: str  # "pinned-tag" | "pinned-branch" | "tag-object" | "comment-added" | ...
    word_is_ref: bool = False  # the old comment's lone word names a ref: a claim to replace
    floating: frozenset[str] = frozenset()  # the claim's floating tags (a tracked ref's move)

    @property
    def new_comment(self) -> str | None:
        """The whole comment after the change (without ``#``): the claim in the old comment's
        dialect, everything else in it kept (see :func:`render_comment`)."""
        if self.claim is None:
            return self.old_comment
        return render_comment(
            self.old_comment, self.claim, word_is_ref=self.word_is_ref, floating=self.floating
        )

    @property
    def rule(self) -> str:
        """The audit rule whose finding this change fixes (what an ignore entry names)."""
        return _REASON_RULES.get(self.reason, "unpinned-ref")

    @property
    def relpath(self) -> str:
        return self.site.relpath

    @property
    def line(self) -> int:
        return self.site.line


@dataclass(frozen=True, slots=True)
class PinIssue:
    """A problem, warning or remote failure about one ``uses:`` (file and line)."""

    severity: str  # "problem" | "warning" | "remote"
    code: str  # not-found, impostor, unverified, comment-mismatch, expression, invalid, ...
    relpath: str
    line: int
    value: str
    message: str
    path: Path | None = None  # the file on disk (absolute), when there is one


@dataclass(frozen=True, slots=True)
class PinPlan:
    """Everything a run found, before anything is written."""

    sources: tuple[SourceFile, ...]
    changes: tuple[PinChange, ...]
    issues: tuple[PinIssue, ...]
    resolutions: int = 0  # distinct references resolved
    repositories: int = 0  # distinct repositories listed
    skipped: int = 0  # remote uses excluded by --include/--exclude or ignore comments
    image_changes: tuple[ImageChange, ...] = ()  # container images pinned to digests
    images_checked: int = 0  # distinct image references looked up in registries
    notes: tuple[str, ...] = ()  # one-line remarks about the run as a whole
    _changes_by_path: dict[Path, tuple[PinChange, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @property
    def problems(self) -> tuple[PinIssue, ...]:
        return tuple(i for i in self.issues if i.severity == PROBLEM)

    @property
    def warnings(self) -> tuple[PinIssue, ...]:
        return tuple(i for i in self.issues if i.severity == WARNING)

    @property
    def remote_failures(self) -> tuple[PinIssue, ...]:
        return tuple(i for i in self.issues if i.severity == REMOTE)

    @property
    def changed_files(self) -> int:
        """Files the plan rewrites (``uses:`` and images together)."""
        paths = {c.site.path for c in self.changes}
        return len(paths | {c.target.path for c in self.image_changes})

    def with_images(self, images: ImagePlan, notes: Sequence[str] = ()) -> PinPlan:
        """This plan with the image part of the run added (:mod:`pinner.core.images`)."""
        issues = tuple(
            PinIssue(i.severity, i.code, t.relpath, t.line, t.written, i.message, t.path)
            for i in images.issues
            for t in (i.target,)
        )
        return replace(
            self,
            issues=self.issues + issues,
            image_changes=self.image_changes + images.changes,
            images_checked=self.images_checked + images.checked,
            skipped=self.skipped + images.skipped,
            notes=self.notes + tuple(notes),
        )

    def changes_for(self, source: SourceFile) -> tuple[PinChange, ...]:
        """The changes in one file (indexed on first use: a run over 1,000 files asks 1,000
        times, and a scan of every change each time was quadratic)."""
        index = self._changes_by_path
        if not index and self.changes:
            grouped: dict[Path, list[PinChange]] = {}
            for change in self.changes:
                grouped.setdefault(change.site.path, []).append(change)
            index.update((path, tuple(changes)) for path, changes in grouped.items())
        return index.get(source.path, ())


@dataclass(frozen=True, slots=True)
class TargetFilter:
    """``--include``/``--exclude`` regular expressions on ``owner/repo[/path]`` (re.search)."""

    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()

    def wants(self, action: ActionRef) -> bool:
        target = action.target
        if self.include and not any(p.search(target) for p in self.include):
            return False
        return not any(p.search(target) for p in self.exclude)


@dataclass(frozen=True, slots=True)
class IgnorePolicy:
    """What the user silenced: ``# pinner: ignore[rule,...]`` on the line, and config entries.

    ``config`` is a :class:`pinner.config.Config` (anything with ``ignored_by(rule, target,
    file)``); ``"*"`` asks whether the whole line is exempt (a bare ``pinner: ignore``).
    """

    config: Any = None

    def silenced(self, site: UsesSite, rule: str) -> bool:
        if silences(site.comment, rule):
            return True
        action = site.value.action
        target = action.target if action is not None else site.value.raw
        return self.configured(rule, target, site.relpath)

    def configured(self, rule: str, target: str, relpath: str) -> bool:
        """Whether a config ``ignore`` entry silences ``rule`` for ``target`` in ``relpath``."""
        return self.config is not None and self.config.ignored_by(rule, target, relpath) is not None


def is_pinned_here(site: UsesSite, targets: TargetFilter, ignores: IgnorePolicy) -> bool:
    """Whether ``pin`` resolves this remote ``uses:`` (selected, not silenced outright, and not
    excluded from pinning by ``# ratchet:exclude``, which pinner honours as ratchet does)."""
    action = site.value.action
    return (
        action is not None
        and targets.wants(action)
        and not ignores.silenced(site, "*")
        and not excluded_from_pinning(site)
    )


def excluded_from_pinning(site: UsesSite) -> bool:
    """``# ratchet:exclude`` on the line: no tool is to pin or move it."""
    return parse_comment(site.comment).excluded if site.comment else False


def may_pin(action: ActionRef, relpath: str, targets: TargetFilter, ignores: IgnorePolicy) -> bool:
    """:func:`is_pinned_here` for an action seen before its file is parsed (a hint): what the
    selection and the config say; the line's own comment is the hint's to check."""
    return targets.wants(action) and not ignores.configured("*", action.target, relpath)


def _site_issue(
    work: _Work, ignores: IgnorePolicy, severity: str, code: str, site: UsesSite, message: str
) -> None:
    if not ignores.silenced(site, code):
        work.issue(severity, code, site, message)


@dataclass
class _Work:
    """Mutable accumulator of one planning pass (kept private; the plan itself is frozen)."""

    changes: list[PinChange] = field(default_factory=list)
    issues: list[PinIssue] = field(default_factory=list)
    skipped: int = 0

    def issue(self, severity: str, code: str, site: UsesSite, message: str) -> None:
        self.issues.append(
            PinIssue(severity, code, site.relpath, site.line, site.value.raw, message, site.path)
        )


def _ref_key(action: ActionRef) -> tuple[str, str | None, str]:
    return (action.repo_key, action.path, action.ref)


async def plan_pins(
    sources: Sequence[SourceFile],
    forge: Forge,
    *,
    targets: TargetFilter | None = None,
    ignores: IgnorePolicy | None = None,
    budget: int | None = None,
    unreadable: Sequence[PinIssue] = (),
) -> PinPlan:
    """Resolve every remote ``uses:`` of ``sources`` and decide what each line should become.

    ``targets`` selects actions (``--include``/``--exclude``), ``ignores`` drops what the user
    silenced (config ``ignore`` entries; ``# pinner: ignore[...]`` comments are always read);
    ``budget`` caps the requests spent proving one SHA pin is the repository's (None: only
    the API quota does, see :mod:`pinner.core.verify`); ``unreadable`` are the
    files the caller could not read (malformed YAML), reported first.
    """
    planner = PinPlanner(forge, targets=targets, ignores=ignores, budget=budget)
    try:
        return await planner.finish(sources, unreadable=unreadable)
    finally:
        planner.cancel()


class PinPlanner:
    """:func:`plan_pins` for files that arrive one by one: work starts as each file is read.

    Why: a cold run's network work is a chain per reference (ref listing, then perhaps a
    commit lookup, then perhaps a reachability check); started only after the last file is
    parsed, the whole chain follows the parse. Here each reference starts as soon as its file
    is read (:meth:`add`) and its repository's listing has been asked for, so only the
    references of the last files read are left for the end.

    Listings are asked for a batch at a time (:class:`~pinner.forge.prefetch.ListingPrefetch`,
    one GraphQL query's worth of repositories), not as a trickle of small queries: a
    reference whose repository is still waiting for a full batch waits with it.
    :meth:`expect` asks for repositories before their files are read at all (hints from a
    quick look at the text). :meth:`finish` returns exactly the plan :func:`plan_pins` gives
    for the same files, whatever arrived when.
    """

    def __init__(
        self,
        forge: Forge,
        *,
        targets: TargetFilter | None = None,
        ignores: IgnorePolicy | None = None,
        budget: int | None = None,
    ) -> None:
        from pinner.forge.prefetch import ListingPrefetch

        self.targets = targets or TargetFilter()
        self.ignores = ignores or IgnorePolicy()
        self._forge = forge
        self._budget = budget
        self._resolver = Resolver(forge)
        self._prefetch = ListingPrefetch(self._resolver.listing, on_sent=self._listed)
        self._actions: dict[tuple[str, str | None, str], ActionRef] = {}
        # the version the first line with each reference claims: which tags to compare first
        self._claims: dict[tuple[str, str | None, str], str | None] = {}
        self._waiting: dict[str, list[tuple[str, str | None, str]]] = {}  # repo key -> refs
        self._tasks: dict[tuple[str, str | None, str], asyncio.Future[None]] = {}
        self._added: set[Path] = set()
        self._resolved: dict[tuple[str, str | None, str], Resolution | BaseException] = {}
        self._reach: dict[tuple[str, str], Reachability | BaseException] = {}
        self._verifying: SingleFlight[tuple[str, str], Reachability] = SingleFlight()

    def expect(self, repos: Sequence[str], commits: Sequence[tuple[str, str]] = ()) -> None:
        """Ask for these repositories' listings now, and let the forge start looking up these
        ``(repo, sha)`` commits if it can do so cheaply (``prefetch_lookups``: batched over
        GraphQL): a SHA pin no ref points at needs its lookup after the listing, and asked for
        now it is in by then. A hint: a wrong guess costs a place in a batched query."""
        self._prefetch.want(repos)
        self._prefetch.flush()
        prefetch_lookups = getattr(self._forge, "prefetch_lookups", None)
        if commits and prefetch_lookups is not None:
            prefetch_lookups(commits)

    def add(self, source: SourceFile) -> None:
        """Start resolving the references of a file that was just read."""
        if source.path in self._added:
            return
        self._added.add(source.path)
        new: list[tuple[str, str | None, str]] = []
        for site in source.uses:
            action = site.value.action
            if site.value.kind is not UsesKind.REMOTE or action is None:
                continue
            key = _ref_key(action)
            if key not in self._actions and is_pinned_here(site, self.targets, self.ignores):
                self._actions[key] = action
                # a hint of which tags to compare first, never a judgement (see core.claims)
                self._claims[key] = parse_version_comment(site.comment)
                new.append(key)
        if not new:
            return
        self._prefetch.want(self._actions[k].slug for k in new)
        for key in new:
            repo = key[0]
            if self._prefetch.sent(repo):
                self._start(key)
            else:
                self._waiting.setdefault(repo, []).append(key)

    def cancel(self) -> None:
        """Stop whatever is still in flight (a run that ends early leaves nothing behind)."""
        self._prefetch.cancel()
        for task in self._tasks.values():
            task.cancel()

    def _listed(self, repos: Sequence[str]) -> None:
        for repo in repos:
            for key in self._waiting.pop(repo.lower(), ()):
                self._start(key)

    def _start(self, key: tuple[str, str | None, str]) -> None:
        if key not in self._tasks:
            self._tasks[key] = asyncio.ensure_future(self._settle(key))

    async def _settle(self, key: tuple[str, str | None, str]) -> None:
        """Resolve one reference, then verify its commit if no tip vouches for it.

        Each reference goes on as soon as its own listing is in (no barrier between listing,
        resolving and verifying), so lookups for a repository answered by the first batch do
        not wait for the slowest listing. A commit shared by several references is verified
        once (single-flight per repository and commit).
        """
        forge, budget = self._forge, self._budget
        try:
            res = self._resolved[key] = await self._resolver.resolve(self._actions[key])
        except Exception as exc:  # reported per use by finish()
            self._resolved[key] = exc
            return
        if not res.needs_containment:
            return
        where = (res.action.repo_key, res.commit)
        try:
            self._reach[where] = await self._verifying.get(
                where,
                lambda: check_reachability(
                    forge,
                    res.action.slug,
                    res.commit,
                    res.listing,
                    budget=budget,
                    claim=self._claims.get(key),
                    budget_option="--verify-budget",
                ),
            )
        except Exception as exc:
            self._reach[where] = exc

    async def finish(
        self, sources: Sequence[SourceFile], *, unreadable: Sequence[PinIssue] = ()
    ) -> PinPlan:
        """Wait for every reference of ``sources`` (adding any not added yet) and decide."""
        for source in sources:
            self.add(source)
        self._prefetch.flush()  # the last, partial batch: every waiting reference starts
        for key in self._actions:
            self._start(key)
        await asyncio.gather(*self._tasks.values())
        return self._decide_all(sources, unreadable)

    def _decide_all(self, sources: Sequence[SourceFile], unreadable: Sequence[PinIssue]) -> PinPlan:
        targets, ignores = self.targets, self.ignores
        resolved, reach = self._resolved, self._reach
        work = _Work(issues=list(unreadable))
        remote_sites: list[UsesSite] = []
        per_line = Counter((site.path, site.line) for source in sources for site in source.uses)
        shared_lines = {key for key, n in per_line.items() if n > 1}
        for source in sources:
            for site in source.uses:
                kind = site.value.kind
                if kind is UsesKind.EXPRESSION:
                    _site_issue(
                        work,
                        ignores,
                        WARNING,
                        "expression-ref",
                        site,
                        "uses an expression (${{ }}): cannot be pinned statically",
                    )
                elif kind is UsesKind.INVALID:
                    # a problem on its line: never requested, never rewritten, and nothing
                    # else in the file depends on it, so the rest is still pinned
                    _site_issue(
                        work, ignores, PROBLEM, "invalid", site, describe_invalid(site.value)
                    )
                elif kind is UsesKind.REMOTE and site.value.action is not None:
                    if is_pinned_here(site, targets, ignores):
                        remote_sites.append(site)
                    else:
                        work.skipped += 1
                # LOCAL, DOCKER, SAME_REPO: nothing to pin here (images come later)

        for site in remote_sites:
            action = site.value.action
            assert action is not None
            outcome = resolved[_ref_key(action)]
            one = _Work()
            if isinstance(outcome, BaseException):
                _failed(one, site, outcome)
            else:
                verdict = (
                    reach.get((action.repo_key, outcome.commit))
                    if outcome.needs_containment
                    else None
                )
                if isinstance(verdict, BaseException):
                    _failed(one, site, verdict)
                else:
                    _decide(one, site, action, outcome, verdict)
            work.changes.extend(
                c
                for c in one.changes
                if not ignores.silenced(site, c.rule)
                # one comment cannot describe two pins on one line (rewrite leaves it alone),
                # so a comment-only change there would be reported on every run and never
                # happen
                and not (c.new_value == c.old_value and (site.path, site.line) in shared_lines)
            )
            work.issues.extend(
                i for i in one.issues if i.severity == REMOTE or not ignores.silenced(site, i.code)
            )

        actions = {_ref_key(s.value.action) for s in remote_sites}  # type: ignore[arg-type]
        return PinPlan(
            sources=tuple(sources),
            changes=tuple(work.changes),
            issues=tuple(work.issues),
            resolutions=len(actions),
            repositories=len({key[0] for key in actions}),
            skipped=work.skipped,
        )


def _failed(work: _Work, site: UsesSite, error: BaseException) -> None:
    if isinstance(error, FatalRemoteError):
        raise error  # the forge is down or the run out of time: one line, not one per use
    if isinstance(error, NotFoundError):
        work.issue(PROBLEM, "unresolvable", site, str(error))
    elif isinstance(error, RemoteError):
        work.issue(REMOTE, "remote", site, str(error))
    else:  # a bug in pinner or a forge client: do not disguise it as a finding
        raise error


def _decide(
    work: _Work,
    site: UsesSite,
    action: ActionRef,
    res: Resolution,
    verdict: Reachability | None,
) -> None:
    """What one resolved ``uses:`` should become, and what to tell the user about it."""
    if not is_canonical(site.value):
        work.issue(
            WARNING,
            "non-canonical",
            site,
            f"written as {site.value.raw.strip()!r}, which the runner reads as {action}: "
            "written in that form",
        )
    if res.ambiguous:
        work.issue(
            WARNING,
            "ref-confusion",
            site,
            f"{action.slug} has both a tag and a branch named {res.ref.short if res.ref else ''!r};"
            " resolved to the tag, as GitHub does",
        )
    if res.kind in ("tag", "branch"):
        _pin_symbolic(work, site, action, res)
    elif res.kind == "tag-object":
        subject = f"{action.ref} is an annotated tag object, and the commit it points at"
        if _refused_unpublished(work, site, verdict, subject):
            return  # never rewrite to a commit nobody published
        work.changes.append(_commit_pin(site, action, res, res.comment, "tag-object"))
        work.issue(
            WARNING,
            "tag-object-pin",
            site,
            f"{action.ref} is an annotated tag object, not a commit; pinned to the commit it tags "
            f"({res.commit})",
        )
    else:
        _check_sha_pin(work, site, action, res, verdict)


def _pin_symbolic(work: _Work, site: UsesSite, action: ActionRef, res: Resolution) -> None:
    comment = res.comment
    if comment is None and res.ref is not None and safe_comment(res.ref.short):
        comment = res.ref.short  # a tag that is no version: the name the user wrote is truthful
    reason = "pinned-tag" if res.kind == "tag" else "pinned-branch"
    work.changes.append(_commit_pin(site, action, res, comment, reason))
    if res.kind == "branch":
        work.issue(
            WARNING,
            "branch-ref",
            site,
            f"{action.ref} is a branch of {action.slug} and moves; pinned to its current tip "
            f"{res.commit[:12]}",
        )


def _check_sha_pin(
    work: _Work,
    site: UsesSite,
    action: ActionRef,
    res: Resolution,
    verdict: Reachability | None,
) -> None:
    """An already SHA-pinned use: verify it, then add or correct its comment."""
    if _refused_unpublished(work, site, verdict, f"{action.slug}@{res.commit[:12]}"):
        return  # never rewrite an unverified pin to look legitimate
    new_value = f"{action.target}@{res.commit}"
    written = site.value.written
    value_changed = new_value != written  # a SHA in upper case, a path the runner normalises
    normalized = "sha-normalized" if new_value.lower() == written.lower() else "uses-normalized"
    if not any(r.is_tag for r in res.listing.at_commit(res.commit)):
        via = f"in the history of {verdict.via.split('/', 2)[2]}" if verdict and verdict.via else ""
        if not via:
            branch = next((r for r in res.listing.at_commit(res.commit) if r.is_branch), None)
            via = f"the tip of branch {branch.short}" if branch else "in the repository's history"
        work.issue(
            WARNING,
            "stale-pin",
            site,
            f"no tag points at {res.commit[:12]} ({via}): an unreleased commit",
        )
    best = res.version.short if res.version else None
    claim = comment_claim(site.comment, res.listing)
    if best is None and claim is None:
        # a branch tip without a tag: name the branch, as for @branch pins (a note already
        # there stays after it, as its own segment: "# main # TODO")
        tip = next((r for r in res.listing.at_commit(res.commit) if r.is_branch), None)
        best = tip.short if tip is not None and safe_comment(tip.short) else None
    if claim is None:  # no comment, a note or a directive: add a version when we know it
        if best is not None:
            work.changes.append(
                _sha_change(site, new_value, best, res.commit, best, "comment-added", res)
            )
        elif value_changed:
            work.changes.append(
                _sha_change(site, new_value, None, res.commit, None, normalized, res)
            )
        return
    named = claim.version
    assert named is not None
    if claim_holds(claim, res) is not False:
        if value_changed:
            work.changes.append(
                _sha_change(site, new_value, None, res.commit, named, normalized, res)
            )
        return
    # the comment names something that is not this commit
    where = _where(named, claim.tracks, res)
    if res.version is None:
        work.issue(
            PROBLEM,
            "comment-mismatch",
            site,
            f"comment names {named}, {where}; no version tag points at {res.commit[:12]}",
        )
        return
    change = _sha_change(site, new_value, best, res.commit, best, "comment-fixed", res)
    work.changes.append(change)
    work.issue(
        WARNING,
        "comment-mismatch",
        site,
        f"comment named {named}, {where}; corrected to {change.new_comment}",
    )


def _refused_unpublished(
    work: _Work, site: UsesSite, verdict: Reachability | None, subject: str
) -> bool:
    """Report a commit that is not verified reachable (``subject: detail``); True if so.

    Both verdicts forbid pinning it: impostor (no branch or tag of the repository reaches it,
    e.g. a fork's commit served under the parent's name) and unknown (containment could not be
    proven within the request budget or the API quota).
    """
    if verdict is None or verdict.verdict == REACHABLE:
        return False
    code = "impostor-commit" if verdict.verdict == IMPOSTOR else "unverified-commit"
    work.issue(PROBLEM, code, site, f"{subject}: {verdict.detail}")
    return True


def _commit_pin(
    site: UsesSite, action: ActionRef, res: Resolution, comment: str | None, reason: str
) -> PinChange:
    """A tag, branch or tag object pinned to the commit it resolves to; the comment names it."""
    new_value = f"{action.target}@{res.commit}"
    return _sha_change(site, new_value, comment, res.commit, comment, reason, res)


def _sha_change(
    site: UsesSite,
    new_value: str,
    claim: str | None,
    sha: str,
    version: str | None,
    reason: str,
    res: Resolution,
) -> PinChange:
    parsed = parse_comment(site.comment) if site.comment else None
    is_ref = parsed is not None and word_is_ref(parsed, res.listing)
    old_value = site.value.written
    tracks = parsed is not None and parsed.tracks
    floating = floating_tags(claim, res.listing) if tracks else frozenset()
    return PinChange(
        site, old_value, new_value, site.comment, claim, sha, version, reason, is_ref, floating
    )


def _where(named: str, tracked: bool, res: Resolution) -> str:
    tag = res.listing.tag(named)
    if tracked and tag is not None:
        return f"which points at {tag.commit[:12]} and has no release at the pin"
    if tag is not None:
        return f"which is commit {tag.commit[:12]}"
    return f"which is no tag of {res.listing.repo}"


_SAFE_COMMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]*$")


def safe_comment(name: str) -> bool:
    """Whether a ref name may be written into the user's file as a comment.

    Ref names come from the forge; git allows much in them (``#``, unicode, bidi overrides).
    Only plain names are written; anything else is left out rather than sanitised into a lie.
    """
    return bool(_SAFE_COMMENT_RE.match(name)) and len(name) <= 128


def changed_paths(plan: PinPlan) -> tuple[Path, ...]:
    """Workflow and action files the plan would rewrite, in discovery order."""
    paths = {c.site.path for c in plan.changes} | {c.target.path for c in plan.image_changes}
    return tuple(s.path for s in plan.sources if s.path in paths)
