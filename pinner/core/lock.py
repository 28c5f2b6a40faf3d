"""Plan a ``pinner lock`` run: GitHub's ``actions.lock`` for the repository, verified.

The lockfile records, for every action in the graph (what ``audit`` walks: composite actions
followed at their commits), the commit it was resolved to and its repository's ids; each
workflow lists its direct pins (:mod:`pinner.core.lock_scan`). The plan computes the lockfile a
write would produce, byte for byte what GitHub's ``gh actions-lock`` writes for the same facts
(``../shared/actions-lockfile/NOTES.md``), and everything wrong with the one on disk:

* **an existing lockfile is an input**: a recorded entry stays as it is (its ref is not
  re-resolved: a lockfile that followed every tag move would lock nothing) until ``--relock``
  (re-lock refs that moved forward) or ``--accept-moved`` (any that moved); a new reference is
  resolved tag first, annotated tags peeled, as ``pin`` does; on first lock a direct partial
  version (``@v4``) or bare SHA is *narrowed* to the most precise full version tag on the same
  commit (``@v4.2.2``), in the workflow and the key, unless ``--no-narrow``;
* **verified harder than the extension**, on every run and for every entry, direct or not:
  its commit must be in a branch or tag of its repository (the impostor check ``pin`` runs),
  what its ref names now must be that commit or a descendant of it (``ref-moved``) and not
  something else (``unreachable-pin``), the repository's ids must still be the recorded ones
  (``repo-identity-changed``: deleted and re-created, or a name re-registered; a rename is
  reported too), and each composite's steps at the locked commit must all be locked;
* **consistency**: every workflow's list matches its ``uses:`` (``not-pinned``,
  ``ref-changed``, ``stale``), every entry is reachable (unreachable ones are dropped, as the
  extension's garbage collection does), and the result is a file GitHub's parser accepts.

Findings carry the extension's category names where it has one, so a team can switch tools
without relearning them. A finding is *blocking* when the lockfile is wrong or unsafe (exit 1);
in a write run, findings the write repairs are marked ``fixed``.

Network shape: one ref listing per repository (GraphQL, batched), one metadata file per
distinct composite (repository, commit, path), repository ids batched (GraphQL), and compare
requests only for refs that moved or commits no branch or tag tip vouches for. A remote failure
propagates: the command writes nothing (exit 3).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pinner.core.lock_scan import ReadAction, RootUse, WorkflowScan, scan_workflow
from pinner.core.lockfile import (
    is_full_sha,
    is_workflow_file,
    key_of,
    key_ref,
    key_repo,
    uses_cycle,
)
from pinner.core.resolve import Resolver
from pinner.core.rewrite import Edit, apply_edits
from pinner.core.verify import IMPOSTOR, REACHABLE, Reachability, check_reachability
from pinner.errors import InputError, NotFoundError
from pinner.forge.base import Forge
from pinner.formats.lockfile import LockEntry, Lockfile, commit_digest, render
from pinner.models import ActionRef, RefListing, RepoInfo, SourceFile, UsesKind
from pinner.singleflight import SingleFlight
from pinner.sources.grammar import MAX_NESTING, is_ref_name, repo_relative

ERROR = "error"
WARNING = "warning"
INFO = "info"

FINDINGS: dict[str, tuple[str, bool, str]] = {
    # category: (severity, blocking, one line for --help and the docs)
    "not-pinned": (ERROR, True, "an action the workflow uses has no lockfile entry"),
    "ref-changed": (ERROR, True, "the workflow uses another ref than the lockfile pins"),
    "stale": (WARNING, True, "a workflow's list pins an action it no longer uses"),
    "unreachable-entry": (WARNING, True, "an entry no workflow reaches (dropped on write)"),
    "sha-as-ref": (WARNING, False, "a workflow uses a bare SHA without a symbolic ref"),
    "ref-moved": (WARNING, False, "the ref moved forward since it was locked"),
    "unreachable-pin": (ERROR, True, "the locked commit is not in the history of its ref"),
    "reachability-unknown": (WARNING, False, "a locked ref could not be resolved now"),
    "impostor-commit": (ERROR, True, "the locked commit is in no branch or tag of its repo"),
    "unverified-commit": (ERROR, True, "the locked commit could not be proven to be the repo's"),
    "repo-identity-changed": (ERROR, True, "the repository's ids differ from the recorded ones"),
    "repo-renamed": (ERROR, True, "the repository answers under another name (redirect)"),
    "local-action": (WARNING, False, "a ./ action keeps the workflow out of the lockfile"),
    "invalid-self-repository-ref": (ERROR, True, "a $/ reference is malformed or missing"),
    "uses-cycle": (ERROR, True, "composite actions use each other in a cycle"),
    "depth-exceeded": (ERROR, True, "composite actions nest deeper than the runner allows"),
    "reusable-workflow-not-locked": (WARNING, False, "a remote reusable workflow stays mutable"),
    "expression-ref": (WARNING, False, "a uses: expression cannot be locked"),
    "invalid-uses": (ERROR, True, "a uses: value the runner cannot run"),
    "stale-workflow": (INFO, False, "the lockfile lists a workflow file that is gone"),
}
"""Every finding ``pinner lock`` reports: severity, whether it blocks, what it means."""

RUN_LOCK = "run `pinner lock`"
"""The remedy of a use the lockfile does not pin yet: the one finding a workflow new to the
lockfile has on every line (the text output says it once per workflow)."""

SEMVER_RE = re.compile(r"^(v?)(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?$")


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class LockOptions:
    """What a run may do (see the command's ``--help``)."""

    narrow: bool = True  # --no-narrow turns it off
    relock: bool = False  # re-lock entries whose ref moved forward
    accept_moved: bool = False  # re-lock entries whose ref moved anywhere
    migrate_local: bool = True  # ./path -> $/path
    budget: int | None = None  # compare requests per commit no tip vouches for (None: no cap)
    repair: bool = True  # False for --check: findings describe the lockfile as it is


@dataclass(frozen=True, slots=True)
class LockFinding:
    """One thing wrong (or worth knowing), in the extension's vocabulary where it has one."""

    category: str
    detail: str
    workflow: str = ""  # "" for findings about the lockfile as a whole
    dependency: str | None = None  # the pin key, or the uses: value
    required_by: str | None = None  # the composite that brings a transitive dependency in
    file: str | None = None  # where the user can act: file and line
    line: int | None = None
    remediation: str | None = None
    fixed: bool = False  # a write run repaired it
    severity: str = ""
    blocking: bool = False

    def __post_init__(self) -> None:
        severity, blocking, _ = FINDINGS[self.category]
        if not self.severity:
            object.__setattr__(self, "severity", severity)
            object.__setattr__(self, "blocking", blocking)


@dataclass(frozen=True, slots=True)
class UsesEdit:
    """One ``uses:`` value the run rewrites in the user's files."""

    relpath: str
    line: int
    old: str
    new: str
    reason: str  # "narrowed" | "migrated"


@dataclass(frozen=True, slots=True)
class LockedDependency:
    """An entry of the resulting lockfile, with how the run reached it."""

    key: str
    entry: LockEntry
    direct: bool  # some workflow lists it
    required_by: tuple[str, ...]  # workflows listing it, and composites using it
    status: str  # "unchanged" | "added" | "relocked" | "updated"


@dataclass(frozen=True, slots=True)
class LockPlan:
    """Everything a run found and would write, before anything is written."""

    before: Lockfile | None
    after: Lockfile
    before_bytes: bytes | None
    after_bytes: bytes | None  # None: the lockfile is (to be) deleted, or stays absent
    findings: tuple[LockFinding, ...]
    edits: tuple[UsesEdit, ...]
    files: dict[Path, bytes]  # rewritten workflow and action files
    originals: dict[Path, SourceFile]
    dependencies: tuple[LockedDependency, ...]
    removed: tuple[str, ...]  # keys of the old file that are gone
    workflows: tuple[str, ...]  # workflow files scanned

    @property
    def lockfile_changed(self) -> bool:
        return self.before_bytes != self.after_bytes

    @property
    def changed(self) -> bool:
        return self.lockfile_changed or bool(self.files)

    @property
    def blocking(self) -> tuple[LockFinding, ...]:
        """Findings that make the run fail (exit 1): not repaired, and blocking."""
        return tuple(f for f in self.findings if f.blocking and not f.fixed)


# ----------------------------------------------------------------------------- versions


def _semver(ref: str) -> tuple[str, int, int | None, int | None, str | None] | None:
    """The extension's reading of a version ref: (v, major, minor, patch, prerelease)."""
    m = SEMVER_RE.match(ref)
    if m is None:
        return None
    v, major, minor, patch, pre = m.groups()
    return v, int(major), _int(minor), _int(patch), pre


def _int(text: str | None) -> int | None:
    return int(text) if text is not None else None


def is_full_version(ref: str) -> bool:
    """``vX.Y.Z`` or ``X.Y.Z`` with no suffix: a tag that names one release."""
    sem = _semver(ref)
    return sem is not None and sem[3] is not None and sem[4] is None


def is_partial_version(ref: str) -> bool:
    """A version ref that is not a full one (``v4``, ``v4.2``, ``v4-beta``): narrowed."""
    return _semver(ref) is not None and not is_full_version(ref)


def _version_order(name: str) -> tuple[int, int, int, int, int, str]:
    sem = _semver(name)
    assert sem is not None
    v, major, minor, patch, pre = sem
    return (major, minor or 0, patch or 0, pre is None, v == "v", name)


def best_full_tag(listing: RefListing, commit: str) -> str | None:
    """The highest full version tag on ``commit`` (what ``@v4`` is narrowed to)."""
    names = [r.short for r in listing.at_commit(commit) if r.is_tag and is_full_version(r.short)]
    return max(names, key=_version_order) if names else None


def preferred_tag(listing: RefListing, commit: str) -> str | None:
    """The tag the extension records as ``ref:`` of a SHA key: highest full version, else
    highest version of any shape, else the smallest name; never a name no real tag can have
    (a hostile forge's control characters would be written into ``actions.lock``)."""
    names = [r.short for r in listing.at_commit(commit) if r.is_tag and is_ref_name(r.short)]
    full = [n for n in names if is_full_version(n)]
    if full:
        return max(full, key=_version_order)
    versions = [n for n in names if _semver(n) is not None]
    if versions:
        return max(versions, key=_version_order)
    return min(names, key=lambda n: n.encode()) if names else None


# ----------------------------------------------------------------------------- the planner


@dataclass
class _Node:
    """One key of the graph being built."""

    key: str
    entry: LockEntry | None = None
    parents: set[str] = field(default_factory=set)  # composite keys using it
    status: str = "unchanged"
    listing: RefListing | None = None
    children: set[str] = field(default_factory=set)  # found at the locked commit


class LockPlanner:
    """Computes a :class:`LockPlan` for one repository against one forge."""

    def __init__(
        self,
        forge: Forge,
        root: Path,
        before: Lockfile | None,
        *,
        options: LockOptions | None = None,
        before_bytes: bytes | None = None,
        read_action: ReadAction | None = None,
    ) -> None:
        self.forge = forge
        self.read_action = read_action or _read_action
        self.root = root
        self.before = before
        self.before_bytes = before_bytes
        self.options = options or LockOptions()
        self.resolver = Resolver(forge)
        self.findings: list[LockFinding] = []
        self.nodes: dict[str, _Node] = {}
        self.root_paths: dict[str, set[str]] = {}  # key -> action paths the workflows use
        self._repos: dict[str, RepoInfo | BaseException] = {}
        self._seen: set[tuple[str, str | None]] = set()  # (key, path) expanded
        self._verified: set[str] = set()
        self._resolving: SingleFlight[str, None] = SingleFlight()

    # -- entry points

    async def plan(self, workflows: Sequence[SourceFile], *, full_scan: bool) -> LockPlan:
        """The plan for ``workflows`` (files under ``.github/workflows``). ``full_scan``: the
        run covers every workflow, so lockfile entries of deleted files are pruned."""
        before = self.before or Lockfile()
        scans = [
            scan_workflow(
                w, self.root, migrate=self.options.migrate_local, read_action=self.read_action
            )
            for w in workflows
        ]
        self.local_findings(scans)
        roots = await self.decide_roots(scans)
        lists = self.workflow_lists(scans, roots, before, full_scan)
        pairs: set[tuple[str, str | None]] = set()
        for items in lists.values():
            for key in items:
                for path in self.root_paths.get(key) or {None}:
                    pairs.add((key, path))
        while pairs:  # a relocked composite may bring dependencies of its new commit
            await self.build_graph(pairs)
            pairs = await self.verify()
        after = self.assemble(lists)
        self.diagnose(scans, roots, before, after)
        files, originals, edits = self.rewrite(scans, roots)
        after_bytes = None if after.empty else render(after)
        return LockPlan(
            before=self.before,
            after=after,
            before_bytes=self.before_bytes,
            after_bytes=after_bytes,
            findings=tuple(self.sorted_findings()),
            edits=tuple(edits),
            files=files,
            originals=originals,
            dependencies=self.dependencies(after),
            removed=tuple(sorted(set(before.dependencies) - set(after.dependencies))),
            workflows=tuple(w.relpath for w in workflows),
        )

    def add(self, category: str, detail: str, **kwargs: object) -> None:
        self.findings.append(LockFinding(category, detail, **kwargs))  # type: ignore[arg-type]

    # -- 1. what the workflows say

    def local_findings(self, scans: Sequence[WorkflowScan]) -> None:
        onboarded = set((self.before or Lockfile()).workflows)
        for scan in scans:
            for note in scan.notes:
                severity = {}
                if note.category == "local-action" and scan.path in onboarded:
                    # an onboarded workflow that cannot be locked any more: an error
                    severity = {"severity": ERROR, "blocking": True}
                self.add(
                    note.category,
                    note.detail,
                    workflow=scan.path,
                    dependency=note.site.value.raw,
                    file=note.source.relpath,
                    line=note.site.line,
                    **severity,
                )

    async def decide_roots(self, scans: Sequence[WorkflowScan]) -> dict[tuple[str, int], str]:
        """The key each root use is locked under (by file and value offset), resolving and
        narrowing the references the lockfile does not record yet."""
        before = self.before or Lockfile()
        sticky = {
            key_repo(k)
            for items in before.workflows.values()
            for k in items
            if is_partial_version(key_ref(k))
        }
        todo: dict[str, RootUse] = {}
        for scan in scans:
            if not scan.lockable:
                continue
            for use in scan.roots:
                key = key_of(use.action)
                recorded = before.dependencies.get(key) is not None
                if not recorded:
                    todo.setdefault(key, use)
        narrowed: dict[str, str | None] = {}

        async def one(key: str, use: RootUse) -> None:
            try:
                res = await self.resolver.resolve(use.action.with_ref(key_ref(key)))
            except NotFoundError as exc:
                narrowed[key] = None
                self.add(
                    "not-pinned",
                    f"{use.action}: cannot be locked: {_reason(exc, str(use.action))}",
                    dependency=use.site.value.raw,
                    file=use.source.relpath,
                    line=use.site.line,
                )
                return
            target = key
            ref = key_ref(key)
            can_narrow = self.options.narrow and key_repo(key) not in sticky
            if can_narrow and (is_partial_version(ref) or is_full_sha(ref)):
                tag = best_full_tag(res.listing, res.commit)
                if tag is not None:
                    target = key_of(use.action, tag)
            if res.kind == "tag-object" and target == key:
                narrowed[key] = None  # a tag object's SHA cannot key its own commit
                self.add(
                    "not-pinned",
                    f"{use.action}: {ref} is an annotated tag object, not a commit; use a tag "
                    f"name or the commit it tags ({res.commit})",
                    dependency=use.site.value.raw,
                    file=use.source.relpath,
                    line=use.site.line,
                )
                return
            narrowed[key] = target
            node = self.node(target)
            if node.entry is None and target not in before.dependencies:
                node.status = "added"
                node.listing = res.listing
                node.entry = LockEntry(
                    ref=key_ref(target), commit=commit_digest(res.commit), owner_id=0, repo_id=0
                )

        await self.list_first(u.action.slug for u in todo.values())
        await asyncio.gather(*(one(k, u) for k, u in todo.items()))
        decided: dict[tuple[str, int], str] = {}
        for scan in scans:
            if not scan.lockable:
                continue
            for use in scan.roots:
                key = key_of(use.action)
                target = narrowed.get(key, key)
                if target is not None:
                    decided[_site_key(use)] = target
                    self.root_paths.setdefault(target, set()).add(use.action.path or "")
        return decided

    def workflow_lists(
        self,
        scans: Sequence[WorkflowScan],
        roots: dict[tuple[str, int], str],
        before: Lockfile,
        full_scan: bool,
    ) -> dict[str, tuple[str, ...]]:
        lists = dict(before.workflows)
        scanned = {s.path for s in scans}
        if full_scan:
            for path in sorted(set(lists) - scanned):
                del lists[path]
                self.add(
                    "stale-workflow",
                    f"the lockfile lists {path}, which is gone: pruned",
                    workflow=path,
                    fixed=self.options.repair,
                )
        for scan in scans:
            if not scan.lockable:
                continue  # left as it is: the workflow cannot be (re)locked now
            keys = sorted({roots[_site_key(u)] for u in scan.roots if _site_key(u) in roots})
            if keys or scan.path in lists:
                lists[scan.path] = tuple(keys)
        return lists

    async def list_first(self, repos: Iterable[str]) -> None:
        """Have the ref listings of ``repos`` before resolving anything in them.

        Why: a SHA that no branch or tag points at needs a commit lookup once its listing is
        in, and lookups asked at one moment share a request. Resolved as each listing
        arrives, the lookups leave twice (those of repositories the cache lists at once, then
        the rest a round trip later); listed first, once, with no round trip added. Failures
        are the resolver's, met again (shared) when the resolution asks.
        """
        await asyncio.gather(*map(self.resolver.listing, set(repos)), return_exceptions=True)

    # -- 2. the graph at the locked commits

    def node(self, key: str) -> _Node:
        node = self.nodes.get(key)
        if node is None:
            node = self.nodes[key] = _Node(key)
            recorded = (self.before or Lockfile()).dependencies.get(key)
            if recorded is not None:
                node.entry = recorded
        return node

    async def build_graph(self, pairs: set[tuple[str, str | None]]) -> None:
        """Breadth-first from ``(key, action path)`` pairs through each composite's steps at
        the locked commit, and through the ``uses`` the lockfile records (a path of None:
        the action's directory is not known, its recorded ``uses`` are all there is)."""
        depth = 0
        frontier = pairs
        while frontier:
            layer = sorted(frontier - self._seen, key=_pair_order)
            self._seen.update(layer)
            await self.list_first(key_repo(k) for k, _ in layer if self.node(k).entry is None)
            found = await asyncio.gather(*(self.expand(key, path) for key, path in layer))
            nxt: set[tuple[str, str | None]] = set()
            for (key, _), children in zip(layer, found, strict=True):
                entry = self.nodes[key].entry
                recorded = {(c, None) for c in (entry.uses if entry is not None else ())}
                for child, path in sorted(children | recorded, key=_pair_order):
                    if depth + 1 > MAX_NESTING:
                        self.add(
                            "depth-exceeded",
                            f"{key} -> {child}: composite actions nest deeper than the runner's "
                            f"limit of {MAX_NESTING}",
                            dependency=child,
                            required_by=key,
                        )
                        continue
                    self.node(child).parents.add(key)
                    nxt.add((child, path))
            frontier = nxt
            depth += 1

    async def expand(self, key: str, path: str | None) -> set[tuple[str, str | None]]:
        """Lock ``key`` if it is not yet (once per run), then read the composite at ``path``
        at its commit: the ``(key, path)`` of each remote action its steps use."""
        node = self.node(key)
        await self._resolving.get(key, lambda: self.resolve_new(node))
        if node.entry is None or path is None:
            return set()
        return await self.children_at(node, key_repo(key), node.entry.sha, path, set())

    async def resolve_new(self, node: _Node) -> None:
        """Resolve a key the lockfile does not record (tag first, peeled, as ``pin`` does)."""
        if node.entry is not None:
            return
        owner, name = key_repo(node.key).split("/")
        ref = key_ref(node.key)
        action = ActionRef(owner, name, None, ref)
        parent = sorted(node.parents)[0] if node.parents else None
        try:
            res = await self.resolver.resolve(action)
        except NotFoundError as exc:
            self.add(
                "not-pinned",
                f"{node.key}: cannot be locked: {_reason(exc, node.key)}",
                dependency=node.key,
                required_by=parent,
            )
            return
        if res.kind == "tag-object":
            self.add(
                "not-pinned",
                f"{node.key}: {ref} is an annotated tag object, not a commit",
                dependency=node.key,
                required_by=parent,
            )
            return
        node.listing = res.listing
        node.status = "added"
        node.entry = LockEntry(
            ref=ref, commit=commit_digest(res.commit), owner_id=0, repo_id=0, uses=()
        )

    async def children_at(
        self, node: _Node, repo: str, sha: str, path: str, visiting: set[str]
    ) -> set[tuple[str, str | None]]:
        """The remote actions a composite's steps use, as ``(key, path)``; ``$/sub`` steps
        are followed into the same repository and commit (their children are the
        composite's, as the runner runs them). Adds them to ``node.children``."""
        from pinner.sources import load_yaml

        found: set[tuple[str, str | None]] = set()
        data = None
        name = ""
        for candidate in ("action.yml", "action.yaml"):
            name = f"{path}/{candidate}" if path else candidate
            try:
                data = await self.forge.get_file(repo, sha, name)
            except NotFoundError:
                return found  # the repository is gone: verify() reports it
            if data is not None:
                break
        if data is None:
            return found  # a Dockerfile action, or nothing there: no steps
        try:
            loaded = load_yaml(data, source=f"{repo}@{sha}:{name}", kind="action")
        except InputError:
            return found  # the runner cannot read it either; `pinner audit` reports it
        runs = loaded.data.get("runs") if isinstance(loaded.data, dict) else None
        using = runs.get("using") if isinstance(runs, dict) else None
        if not isinstance(using, str) or using.lower() != "composite":
            return found
        for site in loaded.uses:
            value = site.value
            if value.kind is UsesKind.REMOTE and value.action is not None:
                if value.action.is_reusable_workflow:
                    continue
                child = key_of(value.action)
                if child != node.key:  # another sub-action of this repository and ref: no edge
                    node.children.add(child)
                    found.add((child, value.action.path or ""))
            elif value.kind is UsesKind.SAME_REPO:
                sub = repo_relative(value.raw)
                if "@" not in sub and sub not in visiting:
                    found |= await self.children_at(node, repo, sha, sub, visiting | {sub})
            elif value.kind is UsesKind.LOCAL:
                self.add(
                    "local-action",
                    f"{node.key} runs {value.raw}, a path in the calling workflow's checkout: "
                    "it cannot be locked",
                    dependency=node.key,
                    severity=ERROR,
                    blocking=True,
                )
        return found

    # -- 3. verification of every entry

    async def verify(self) -> set[tuple[str, str | None]]:
        """Verify every entry not verified yet; returns the ``(key, path)`` pairs to walk
        again (composites relocked to a new commit)."""
        nodes = [
            n for n in self.nodes.values() if n.entry is not None and n.key not in self._verified
        ]
        self._verified.update(n.key for n in nodes)
        repos = sorted({key_repo(n.key) for n in nodes} - set(self._repos))
        # listings before ids: a GraphQL listing brings its repository's ids along
        await self.list_first(key_repo(n.key) for n in nodes if n.listing is None)
        infos = await asyncio.gather(
            *(self.forge.get_repo(r) for r in repos), return_exceptions=True
        )
        for info in infos:
            if isinstance(info, BaseException) and not isinstance(info, NotFoundError):
                raise info
        self._repos.update(zip(repos, infos, strict=True))
        await asyncio.gather(*(self.verify_node(n) for n in nodes))
        again: set[tuple[str, str | None]] = set()
        for node in nodes:
            if node.status == "relocked":
                for path in {p for k, p in self._seen if k == node.key} or {None}:
                    self._seen.discard((node.key, path))
                    again.add((node.key, path))
        return again

    async def verify_node(self, node: _Node) -> None:
        assert node.entry is not None
        key, entry = node.key, node.entry
        repo = key_repo(key)
        info = self._repos.get(repo)
        if isinstance(info, NotFoundError) or info is None:
            self.add(
                "reachability-unknown",
                f"{key}: {info or 'repository not found'}",
                dependency=key,
            )
            return
        assert isinstance(info, RepoInfo)
        entry = self.identity(node, info)
        if entry is None:
            return
        try:
            listing = node.listing or await self.resolver.listing(repo)
        except NotFoundError as exc:
            self.add("reachability-unknown", f"{key}: {exc}", dependency=key)
            return
        node.listing = listing
        if node.status == "unchanged" and not is_full_sha(key_ref(key)):
            await self.check_ref(node, listing)
            if node.entry is None:
                return
        entry = node.entry
        verdict = await check_reachability(
            self.forge, repo, entry.sha, listing, budget=self.options.budget
        )
        self.containment(node, verdict)
        if node.entry is not None and is_full_sha(key_ref(key)) and node.status == "added":
            await self.sha_key_ref(node, listing)

    def identity(self, node: _Node, info: RepoInfo) -> LockEntry | None:
        """Compare (or, for a new entry, take) the repository's ids."""
        assert node.entry is not None
        key, entry = node.key, node.entry
        repo = key_repo(key)
        if info.repo_id is None or info.owner_id is None:
            from pinner.errors import RemoteError

            raise RemoteError(
                f"repository {repo}: the forge gave no valid owner and repository ids"
            )
        if info.full_name.lower() != repo:
            self.add(
                "repo-renamed",
                f"{key}: {repo} now answers as {info.full_name} (renamed or transferred); the "
                "runner refuses redirects: use the new name in your workflows",
                dependency=key,
            )
        recorded = self._recorded_ids(repo)
        live = (info.owner_id, info.repo_id)
        if node.status == "added":
            if recorded is not None and recorded != live:
                self.identity_changed(key, recorded, live)
                node.entry = None  # never lock a new ref of a repository that changed hands
                return None
            node.entry = replace(entry, owner_id=info.owner_id, repo_id=info.repo_id)
            return node.entry
        if (entry.owner_id, entry.repo_id) != live:
            self.identity_changed(key, (entry.owner_id, entry.repo_id), live)
        return entry

    def identity_changed(self, key: str, recorded: tuple[int, int], live: tuple[int, int]) -> None:
        parts = []
        if recorded[0] != live[0]:
            parts.append(f"owner_id {recorded[0]} -> {live[0]}")
        if recorded[1] != live[1]:
            parts.append(f"repo_id {recorded[1]} -> {live[1]}")
        self.add(
            "repo-identity-changed",
            f"{key}: {', '.join(parts)}: the repository was deleted and re-created, its name "
            "re-registered or transferred; this is not the code that was locked",
            dependency=key,
            remediation="find out who owns the repository now before trusting it again",
        )

    def _recorded_ids(self, repo: str) -> tuple[int, int] | None:
        for key, entry in (self.before or Lockfile()).dependencies.items():
            if entry is not None and key_repo(key) == repo:
                return entry.owner_id, entry.repo_id
        return None

    async def check_ref(self, node: _Node, listing: RefListing) -> None:
        """A recorded symbolic ref: what it names now against what was locked."""
        assert node.entry is not None
        key, entry = node.key, node.entry
        owner, name = key_repo(key).split("/")
        try:
            res = await self.resolver.resolve(ActionRef(owner, name, None, key_ref(key)))
        except NotFoundError as exc:
            self.add("reachability-unknown", f"{key}: {exc}", dependency=key)
            return
        if res.commit == entry.sha:
            return
        comparison = await self.forge.compare(key_repo(key), res.commit, entry.sha)
        forward = comparison is not None and comparison.head_in_base
        relock = self.options.accept_moved or (forward and self.options.relock)
        fixed = relock and self.options.repair
        locked, live = entry.sha[:12], res.commit[:12]
        if forward:
            self.add(
                "ref-moved",
                f"{key}: {key_ref(key)} now resolves to {live}, the lockfile pins {locked} "
                "(an ancestor)",
                dependency=key,
                remediation="run `pinner lock --relock` to lock the new commit",
                fixed=fixed,
            )
        else:
            self.add(
                "unreachable-pin",
                f"{key}: pinned {locked} is not an ancestor of {live}, what "
                f"{key_ref(key)} names now: the lockfile may have been tampered with, or the "
                "ref was force-moved",
                dependency=key,
                remediation="investigate; `pinner lock --accept-moved` locks the new commit",
                fixed=fixed,
            )
        if relock:  # the caller walks the composite again at its new commit
            node.entry = replace(entry, commit=commit_digest(res.commit))
            node.status = "relocked"
            node.children.clear()

    def containment(self, node: _Node, verdict: Reachability) -> None:
        if verdict.verdict == REACHABLE:
            return
        assert node.entry is not None
        category = "impostor-commit" if verdict.verdict == IMPOSTOR else "unverified-commit"
        self.add(
            category,
            f"{node.key}: {verdict.detail}",
            dependency=node.key,
            remediation="never run this commit: find out where the lockfile's commit came from",
        )
        if node.status == "added":
            node.entry = None  # a commit nobody published is never written into the lockfile

    async def sha_key_ref(self, node: _Node, listing: RefListing) -> None:
        """``ref:`` of a SHA key: the tag on the commit, else a branch containing it."""
        assert node.entry is not None
        sha = node.entry.sha
        tag = preferred_tag(listing, sha)
        if tag is not None:
            node.entry = replace(node.entry, ref=tag)
            return
        branch = await self.branch_containing(key_repo(node.key), sha, listing)
        if branch is None:
            self.add(
                "not-pinned",
                f"{node.key}: no tag or branch contains {sha[:12]}; a symbolic ref is required "
                "for the lockfile",
                dependency=node.key,
            )
            node.entry = None
            return
        node.entry = replace(node.entry, ref=branch)

    async def branch_containing(self, repo: str, sha: str, listing: RefListing) -> str | None:
        tips = sorted(
            (r.short for r in listing.at_commit(sha) if r.is_branch and is_ref_name(r.short)),
            key=lambda n: n.encode(),
        )
        if listing.default_branch in tips:
            return listing.default_branch
        if tips:
            return tips[0]
        default = listing.default_branch
        branches = sorted(
            (r for r in listing.branches if is_ref_name(r.short)),
            key=lambda r: (r.short != default, r.short.encode()),
        )
        for spent, branch in enumerate(branches):
            if self.options.budget is not None and spent >= self.options.budget:
                return None
            comparison = await self.forge.compare(repo, branch.commit, sha)
            if comparison is not None and comparison.head_in_base:
                return branch.short
        return None

    # -- 4. the resulting lockfile

    def assemble(self, lists: dict[str, tuple[str, ...]]) -> Lockfile:
        """Entries reachable from the workflow lists through ``uses`` (the extension's
        garbage collection), each ``uses`` the union of what was recorded and what the
        composite's steps use now (edges to entries that could not be locked left out)."""
        locked = {k: n.entry for k, n in self.nodes.items() if n.entry is not None}
        deps: dict[str, LockEntry] = {}
        for key, entry in locked.items():
            found = self.nodes[key].children | set(entry.uses)
            uses = tuple(sorted(k for k in found if k in locked and k != key))
            if key_ref(key) != entry.ref and not is_full_sha(key_ref(key)):
                entry = replace(entry, ref=key_ref(key))
            deps[key] = replace(entry, uses=uses)
        self.break_cycles(deps)
        workflows = {p: tuple(k for k in items if k in deps) for p, items in lists.items()}
        reachable: set[str] = set()
        stack = [k for items in workflows.values() for k in items]
        while stack:
            key = stack.pop()
            if key in reachable:
                continue
            reachable.add(key)
            stack.extend(deps[key].uses)
        return Lockfile(
            workflows=workflows, dependencies={k: v for k, v in deps.items() if k in reachable}
        )

    def break_cycles(self, deps: dict[str, LockEntry]) -> None:
        """GitHub's parser refuses a ``uses`` cycle: drop the edge that closes one."""
        while (key := uses_cycle(Lockfile(dependencies=deps))) is not None:
            for parent, entry in sorted(deps.items()):
                if key in entry.uses and key in _reachable_from(deps, parent, key):
                    deps[parent] = replace(entry, uses=tuple(u for u in entry.uses if u != key))
                    self.add(
                        "uses-cycle",
                        f"{parent} -> {key}: composite actions use each other in a cycle; the "
                        "runner can never run it (edge left out of the lockfile)",
                        dependency=key,
                        required_by=parent,
                    )
                    break
            else:  # pragma: no cover - uses_cycle found a cycle, so some edge closes it
                break

    def dependencies(self, after: Lockfile) -> tuple[LockedDependency, ...]:
        listed: dict[str, list[str]] = {}
        for path, items in after.workflows.items():
            for key in items:
                listed.setdefault(key, []).append(path)
        users: dict[str, list[str]] = {}
        for key, entry in after.dependencies.items():
            assert entry is not None
            for child in entry.uses:
                users.setdefault(child, []).append(key)
        before = (self.before or Lockfile()).dependencies
        out = []
        for key in sorted(after.dependencies, key=str.encode):
            entry = after.dependencies[key]
            assert entry is not None
            node = self.nodes.get(key)
            status = node.status if node is not None else "unchanged"
            if status == "unchanged" and before.get(key) != entry:
                status = "updated"
            out.append(
                LockedDependency(
                    key=key,
                    entry=entry,
                    direct=key in listed,
                    required_by=tuple(sorted(listed.get(key, []) + users.get(key, []))),
                    status=status,
                )
            )
        return tuple(out)

    # -- 5. what was wrong with the lockfile on disk

    def diagnose(
        self,
        scans: Sequence[WorkflowScan],
        roots: dict[tuple[str, int], str],
        before: Lockfile,
        after: Lockfile,
    ) -> None:
        """The extension's structural checks of the lockfile on disk against the workflows
        as they are (``not-pinned``, ``ref-changed``, ``stale``, ``sha-as-ref``), and pinner's
        own on its graph (a composite's step not locked, an entry nothing reaches)."""
        write = self.options.repair
        for scan in scans:
            if not scan.lockable:
                continue  # its local-action or $/ finding says why
            items = before.workflows.get(scan.path, ())
            now = after.workflows.get(scan.path, ())
            used: set[str] = set()
            for use in scan.roots:
                key = key_of(use.action)
                target = roots.get(_site_key(use))
                used.update((key, target) if target else (key,))
                if target is None:
                    continue  # could not be resolved: reported when it was tried
                raw = use.site.value.raw
                where = {"workflow": scan.path, "dependency": raw}
                where |= {"file": use.source.relpath, "line": use.site.line}
                fixed = write and target in now
                if use.action.is_sha and target == key:
                    self.add(
                        "sha-as-ref", f"{raw}: pinned to a bare SHA without a symbolic ref", **where
                    )
                if key in items and before.dependencies.get(key) is not None:
                    continue
                if key in items:
                    detail = f"{raw}: listed for {scan.path} but has no lockfile entry"
                    self.add("not-pinned", detail, fixed=fixed, **where)
                elif any(_same_repo(k, key) for k in items) and not use.action.is_sha:
                    pinned = ", ".join(repr(key_ref(k)) for k in items if _same_repo(k, key))
                    detail = f"workflow uses ref {use.action.ref!r} but lockfile pins {pinned}"
                    self.add("ref-changed", detail, fixed=fixed, **where)
                elif not self._sha_listed(key, items, before):
                    detail = f"{raw}: used in {scan.path} but not pinned in the lockfile"
                    self.add("not-pinned", detail, fixed=fixed, remediation=RUN_LOCK, **where)
            shas = {key_ref(k).lower() for k in used if is_full_sha(key_ref(k))}
            transitive = {c for e in before.dependencies.values() if e for c in e.uses}
            for key in items:
                entry = before.dependencies.get(key)
                if key in used or key in transitive or (entry is not None and entry.sha in shas):
                    continue  # used; or a transitive pin of an old flat list (pruned on write)
                self.add(
                    "stale",
                    f"lockfile pins {key} but no uses: in this workflow references it",
                    workflow=scan.path,
                    dependency=key,
                    fixed=write and key not in now,
                )
        self.diagnose_graph(before, after)

    @staticmethod
    def _sha_listed(key: str, items: Iterable[str], before: Lockfile) -> bool:
        """A bare-SHA use whose commit the workflow's list locks under a tag: pinned."""
        sha = key_ref(key).lower()
        if not is_full_sha(sha):
            return False
        return any(
            _same_repo(k, key) and (e := before.dependencies.get(k)) is not None and e.sha == sha
            for k in items
        )

    def diagnose_graph(self, before: Lockfile, after: Lockfile) -> None:
        write = self.options.repair
        for key, node in self.nodes.items():
            old = before.dependencies.get(key)
            if old is None or node.entry is None:
                continue
            for child in sorted(node.children | set(old.uses)):
                if child in old.uses and before.dependencies.get(child) is not None:
                    continue
                if child not in self.nodes or self.nodes[child].entry is None:
                    continue  # could not be locked (or not reached): reported where it was
                self.add(
                    "not-pinned",
                    f"{key} uses {child}, which the lockfile does not lock",
                    dependency=child,
                    required_by=key,
                    fixed=write and child in after.dependencies,
                )
        reachable: set[str] = set()
        stack = [k for items in before.workflows.values() for k in items]
        while stack:
            key = stack.pop()
            if key in reachable:
                continue
            reachable.add(key)
            entry = before.dependencies.get(key)
            stack.extend(entry.uses if entry else ())
        for key in sorted(set(before.dependencies) - reachable):
            self.add(
                "unreachable-entry",
                f"{key}: no workflow reaches this entry",
                dependency=key,
                fixed=write,
            )
        for key, entry in before.dependencies.items():
            if entry is None and key in reachable:
                self.add(
                    "not-pinned",
                    f"{key}: the lockfile names it without an entry body",
                    dependency=key,
                    fixed=write and key in after.dependencies,
                )

    # -- 6. the user's files

    def rewrite(
        self, scans: Sequence[WorkflowScan], roots: dict[tuple[str, int], str]
    ) -> tuple[dict[Path, bytes], dict[Path, SourceFile], list[UsesEdit]]:
        """Narrowed refs and migrated ``./`` actions, spliced byte for byte (only the value
        of each ``uses:`` changes: comments and everything else stay)."""
        per_file: dict[Path, tuple[SourceFile, dict[int, Edit]]] = {}
        edits: list[UsesEdit] = []

        def add(source: SourceFile, edit: Edit, reason: str) -> None:
            _, by_start = per_file.setdefault(source.path, (source, {}))
            start = edit.site.value_span.start
            if start in by_start:
                return
            by_start[start] = edit
            edits.append(
                UsesEdit(source.relpath, edit.site.line, edit.site.value.raw, edit.value, reason)
            )

        for scan in scans:
            if scan.invalid_self_ref:
                continue
            for migration in scan.migrations:
                add(migration.source, Edit(migration.site, migration.new_value), "migrated")
            if scan.unmigrated_local:
                continue
            for use in scan.roots:
                key = roots.get((use.source.relpath, use.site.value_span.start))
                if key is None or key_ref(key) == use.action.ref:
                    continue
                entry = self.nodes.get(key)
                if entry is None or entry.entry is None:
                    continue  # not locked after all (impostor, identity): leave the file
                add(use.source, Edit(use.site, str(use.action.with_ref(key_ref(key)))), "narrowed")
        files: dict[Path, bytes] = {}
        originals: dict[Path, SourceFile] = {}
        for path, (source, by_start) in per_file.items():
            files[path] = apply_edits(source, by_start.values())
            originals[path] = source
        edits.sort(key=lambda e: (e.relpath, e.line))
        return files, originals, edits

    def sorted_findings(self) -> list[LockFinding]:
        unique = list(dict.fromkeys(self.findings))
        return sorted(unique, key=lambda f: (f.workflow, f.file or "", f.line or 0, f.category))


def _reason(exc: Exception, subject: str) -> str:
    """Why ``subject`` could not be resolved, without the ``subject: `` the error opens with
    (``o/a@x: cannot be locked: commit ... does not exist``, not the reference twice)."""
    return str(exc).removeprefix(f"{subject}: ")


def _site_key(use: RootUse) -> tuple[str, int]:
    """Identifies one ``uses:`` site across the run: its file and value offset."""
    return use.source.relpath, use.site.value_span.start


def _pair_order(pair: tuple[str, str | None]) -> tuple[str, str]:
    return pair[0], pair[1] or ""


def _same_repo(a: str, b: str) -> bool:
    return key_repo(a) == key_repo(b)


def _reachable_from(deps: dict[str, LockEntry], start: str, target: str) -> set[str]:
    """Keys reachable from ``target`` (to see whether ``start -> target`` closes a cycle)."""
    seen: set[str] = set()
    stack = [target]
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        entry = deps.get(key)
        stack.extend(entry.uses if entry else ())
    return seen if start in seen else set()


def _read_action(root: Path, relpath: str) -> SourceFile:
    from pinner import sources

    return sources.read_source(root / relpath, root=root)


async def lockfile_in_step(
    forge: Forge, root: Path, sources: Sequence[SourceFile], writes: Mapping[Path, bytes]
) -> LockPlan | None:
    """The repository's lockfile brought in step with files ``pinner update`` is about to
    write (None when the repository has no lockfile).

    What Dependabot and Renovate do by running ``gh actions-lock`` after a bump: the
    references update wrote are locked (at the commits update chose: a full version tag names
    one), the ones no workflow uses any more are dropped, every other entry stays as it is.
    Nothing is narrowed or migrated: update decided what the files say.
    """
    from pinner.core.lockfile import parse_lockfile, read_lockfile_bytes
    from pinner.sources import scan

    before_bytes = read_lockfile_bytes(root)
    if before_bytes is None:
        return None
    updated: dict[str, SourceFile] = {}
    for source in sources:
        data = writes.get(source.path)
        if data is not None:
            text = data.decode("utf-8").removeprefix("\ufeff")
            source = scan(text, source.relpath, source.kind, path=source.path, bom=source.bom)
        updated[source.relpath] = source

    def read_action(base: Path, relpath: str) -> SourceFile:
        return updated.get(relpath) or _read_action(base, relpath)

    workflows = [s for s in updated.values() if is_workflow_file(s.relpath)]
    options = LockOptions(narrow=False, migrate_local=False)
    planner = LockPlanner(
        forge,
        root,
        parse_lockfile(before_bytes),
        options=options,
        before_bytes=before_bytes,
        read_action=read_action,
    )
    return await planner.plan(workflows, full_scan=False)
