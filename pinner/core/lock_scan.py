"""What each workflow asks the lockfile for, read from the repository alone (no network).

A workflow's entry in ``actions.lock`` lists its *roots*: the remote actions it names itself,
plus those named inside the repository's own actions that it reaches through step-level
``$/path`` references (recursively): the runner runs those at the workflow's own commit, so
their remote dependencies are the workflow's direct ones (``NOTES.md`` sections 2.3 and 9).

Not recorded, as in GitHub's extension: ``$/`` and ``./`` references themselves (the repository's
own code), ``docker://`` images and remote reusable workflows (the schema has no place for
them). ``./path`` is not allowed in a workflow onboarded to the lockfile; by default a step's
``./path`` whose directory holds an ``action.yml`` is rewritten to ``$/path`` (the same code,
named the way the lockfile supports), in the workflow and in the in-repo actions it reaches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pinner.models import ActionRef, SiteContext, SourceFile, UsesKind, UsesSite
from pinner.sources.discovery import resolves_inside
from pinner.sources.grammar import describe_invalid, repo_relative

MAX_SELF_DEPTH = 100
"""How deep ``$/`` actions may nest before the scan stops (a guard against loops)."""

_LOCAL_WORKFLOW_RE = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$")


@dataclass(frozen=True, slots=True)
class RootUse:
    """A remote reference a workflow depends on directly, and where it is written."""

    action: ActionRef
    site: UsesSite
    source: SourceFile  # the workflow, or the in-repo action file holding the reference


@dataclass(frozen=True, slots=True)
class LocalNote:
    """A fact about a workflow found while reading it: becomes a finding of the run."""

    category: str  # local-action | invalid-self-repository-ref | expression-ref | ...
    site: UsesSite
    source: SourceFile
    detail: str


@dataclass(frozen=True, slots=True)
class Migration:
    """``./path`` -> ``$/path`` on one site."""

    site: UsesSite
    source: SourceFile
    new_value: str


@dataclass
class WorkflowScan:
    """One workflow, read: its roots, what cannot be locked, and the ``./`` it migrates."""

    source: SourceFile
    roots: list[RootUse] = field(default_factory=list)
    notes: list[LocalNote] = field(default_factory=list)
    migrations: list[Migration] = field(default_factory=list)
    unmigrated_local: bool = False  # a ./ action the lockfile cannot cover
    invalid_self_ref: bool = False  # the workflow is left untouched

    @property
    def path(self) -> str:
        return self.source.relpath

    @property
    def lockable(self) -> bool:
        """Whether the lockfile can cover the workflow now (else its entry stays as it is)."""
        return not (self.invalid_self_ref or self.unmigrated_local)


ReadAction = Callable[[Path, str], SourceFile]


def scan_workflow(
    source: SourceFile, root: Path, *, migrate: bool, read_action: ReadAction
) -> WorkflowScan:
    """Roots and notes of one workflow file (and the in-repo actions it reaches)."""
    scan = WorkflowScan(source)
    _Scanner(scan, root, migrate, read_action).visit(source, 0, set())
    return scan


class _Scanner:
    def __init__(self, scan: WorkflowScan, root: Path, migrate: bool, read: ReadAction) -> None:
        self.scan = scan
        self.root = root
        self.migrate = migrate
        self.read = read
        self.actions: dict[str, SourceFile | None] = {}

    def note(self, category: str, site: UsesSite, source: SourceFile, detail: str) -> None:
        self.scan.notes.append(LocalNote(category, site, source, detail))

    def visit(self, source: SourceFile, depth: int, seen: set[str]) -> None:
        for site in source.uses:
            value = site.value
            kind = value.kind
            if kind is UsesKind.REMOTE and value.action is not None:
                if value.action.is_reusable_workflow:
                    if not value.action.is_sha:
                        self.note(
                            "reusable-workflow-not-locked",
                            site,
                            source,
                            f"{value.raw}: remote reusable workflows have no place in "
                            "actions.lock; the ref stays mutable (pin it to a commit SHA)",
                        )
                    continue
                self.scan.roots.append(RootUse(value.action, site, source))
            elif kind is UsesKind.SAME_REPO:
                self.same_repo(source, site, value.local_path or "", depth, seen)
            elif kind is UsesKind.LOCAL:
                self.local(source, site, depth, seen)
            elif kind is UsesKind.EXPRESSION:
                self.note(
                    "expression-ref",
                    site,
                    source,
                    f"{value.raw}: an expression cannot be resolved or locked statically",
                )
            elif kind is UsesKind.INVALID:
                # the runner refuses the whole workflow: locking the rest would pass a --check
                # on a file that cannot run (pin, audit and update report it too)
                self.note("invalid-uses", site, source, describe_invalid(value))

    def same_repo(
        self, source: SourceFile, site: UsesSite, path: str, depth: int, seen: set[str]
    ) -> None:
        if "@" in path:
            self.scan.invalid_self_ref = True
            self.note(
                "invalid-self-repository-ref",
                site,
                source,
                f"{site.value.raw}: self repository actions must not carry an @ref ($/ always "
                "runs at the workflow's own commit); drop the @ref suffix",
            )
            return
        if site.context is SiteContext.REUSABLE_JOB:
            return  # a reusable workflow of this repository: a workflow file of its own
        self.follow(source, site, path, depth, seen)

    def local(self, source: SourceFile, site: UsesSite, depth: int, seen: set[str]) -> None:
        raw = site.value.raw
        path = repo_relative(raw)
        if _LOCAL_WORKFLOW_RE.match(path):
            return  # ./.github/workflows/x.yml: a local reusable workflow, scanned on its own
        target = self.action_file(path) if site.context is not SiteContext.REUSABLE_JOB else None
        if raw.startswith("./") and self.migrate and target is not None:
            self.scan.migrations.append(Migration(site, source, "$/" + raw[2:]))
            self.follow(source, site, path, depth, seen)
            return
        self.scan.unmigrated_local = True
        why = (
            "run without --no-migrate-local-actions to rewrite it to $/ form"
            if target is not None
            else "it has no action.yml in the repository to name with $/"
        )
        self.note(
            "local-action",
            site,
            source,
            f"{raw}: workflows using ./ actions cannot be locked ({why})",
        )

    def follow(
        self, source: SourceFile, site: UsesSite, path: str, depth: int, seen: set[str]
    ) -> None:
        """Read the in-repo action at ``path`` and take its references as the workflow's."""
        action = self.action_file(path)
        if action is None:
            self.scan.invalid_self_ref = True
            self.note(
                "invalid-self-repository-ref",
                site,
                source,
                f"{site.value.raw}: no action.yml or action.yaml at {path or '.'} in the "
                "repository",
            )
            return
        if action.relpath in seen or depth >= MAX_SELF_DEPTH:
            return
        self.visit(action, depth + 1, seen | {action.relpath})

    def action_file(self, path: str) -> SourceFile | None:
        """The in-repo action at ``path`` (``action.yml``, else ``action.yaml``), read once;
        None when there is none, or it lies outside the repository (a symlink leaving it)."""
        if path in self.actions:
            return self.actions[path]
        found: SourceFile | None = None
        for name in ("action.yml", "action.yaml"):
            relpath = f"{path}/{name}" if path else name
            candidate = self.root / relpath
            if candidate.is_file() and resolves_inside(candidate, self.root):
                found = self.read(self.root, relpath)
                break
        self.actions[path] = found
        return found
