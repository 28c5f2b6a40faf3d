"""Values shared across pinner: what a ``uses:`` says, where it is, and what the forge knows.

Every value is a frozen dataclass so it can be cached, hashed, deduplicated and passed between
concurrent tasks without anyone mutating it under someone else's feet.
"""

from __future__ import annotations

import enum
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
"""A full, lowercase commit SHA: the only ref form pinner treats as pinned."""

ANY_CASE_SHA_RE = re.compile(r"^[0-9a-fA-F]{40}$")
"""A full commit SHA as a user may write it: the resolver reads it as that (lower-case) SHA."""

REUSABLE_WORKFLOW_RE = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$")


_T = TypeVar("_T")


def _pickled_by_constructor(cls: type[_T]) -> type[_T]:
    """Pickle instances as ``cls(*fields)``.

    Why: what is read from the user's files crosses a process boundary by the thousand
    (:mod:`pinner.sources.parallel`), and a frozen slotted dataclass's own pickling looks up
    its fields on every object it rebuilds: this halves the cost of both directions. Only for
    classes whose every field is an ``__init__`` argument.
    """
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    assert all(f.init for f in fields(cls)), cls  # type: ignore[arg-type]
    values = operator.attrgetter(*names)

    def __reduce__(self: Any) -> tuple[type[_T], tuple[Any, ...]]:
        got = values(self)
        return cls, got if len(names) > 1 else (got,)

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls


class UsesKind(enum.Enum):
    """What the runner would do with a ``uses:`` value (design.md section 3)."""

    REMOTE = "remote"  # owner/repo[/path]@ref
    LOCAL = "local"  # ./path or .\path
    DOCKER = "docker"  # docker://image
    SAME_REPO = "same-repo"  # $/path: caller's repository and ref
    EXPRESSION = "expression"  # contains ${{ }}: cannot be pinned statically
    INVALID = "invalid"  # does not parse as any of the above


class SiteContext(enum.Enum):
    """Where in a file a ``uses:`` sits; decides what the runner accepts there."""

    WORKFLOW_STEP = "workflow-step"  # jobs.<id>.steps[].uses
    REUSABLE_JOB = "reusable-job"  # jobs.<id>.uses
    COMPOSITE_STEP = "composite-step"  # runs.steps[].uses of an action.yml


@_pickled_by_constructor
@dataclass(frozen=True, slots=True)
class ActionRef:
    """A remote ``owner/repo[/path]@ref`` reference, parsed.

    ``owner`` and ``repo`` keep the user's spelling (GitHub compares them case-insensitively;
    use :attr:`repo_key` for lookups).
    """

    owner: str
    repo: str
    path: str | None
    ref: str

    @property
    def slug(self) -> str:
        """``owner/repo`` as written."""
        return f"{self.owner}/{self.repo}"

    @property
    def repo_key(self) -> str:
        """Case-folded ``owner/repo``: the identity GitHub uses."""
        return self.slug.lower()

    @property
    def target(self) -> str:
        """``owner/repo[/path]``: what ``--include``/``--exclude`` patterns match against."""
        return f"{self.slug}/{self.path}" if self.path else self.slug

    @property
    def is_sha(self) -> bool:
        """The ref is a full commit SHA, in any case (``ABC...`` names the same commit as
        ``abc...``: it is pinned, only not in the form tools compare; see :attr:`is_upper_sha`)."""
        return bool(ANY_CASE_SHA_RE.match(self.ref))

    @property
    def is_upper_sha(self) -> bool:
        """A full commit SHA with upper-case letters: pinned, but described as what it is."""
        return self.is_sha and not SHA_RE.match(self.ref)

    @property
    def is_reusable_workflow(self) -> bool:
        return bool(self.path and REUSABLE_WORKFLOW_RE.match(self.path))

    def with_ref(self, ref: str) -> ActionRef:
        return ActionRef(self.owner, self.repo, self.path, ref)

    def __str__(self) -> str:
        return f"{self.target}@{self.ref}"


@_pickled_by_constructor
@dataclass(frozen=True, slots=True)
class UsesValue:
    """A ``uses:`` value classified by the runner's grammar."""

    raw: str
    kind: UsesKind
    action: ActionRef | None = None  # set for REMOTE
    local_path: str | None = None  # set for LOCAL and SAME_REPO
    image: str | None = None  # set for DOCKER (without the docker:// prefix)
    error: str | None = None  # set for INVALID: why

    @property
    def written(self) -> str:
        """The value as its line shows it: ``raw`` without the final line break a block scalar
        (``uses: |``) ends with, which is no part of the value and stays in the file."""
        return self.raw.rstrip("\r\n")


@_pickled_by_constructor
@dataclass(frozen=True, slots=True)
class Span:
    """A half-open ``[start, end)`` range of character offsets into a decoded file text."""

    start: int
    end: int


@_pickled_by_constructor
@dataclass(frozen=True, slots=True)
class UsesSite:
    """One ``uses:`` occurrence with its exact location, so a rewrite can splice just it.

    ``value_span`` covers the scalar as written, quotes included; ``comment_span`` covers the
    trailing comment on the same line from ``#`` to the end of the comment (no newline), when
    there is one.
    """

    path: Path  # absolute path of the file
    relpath: str  # path relative to the scanned root, with forward slashes
    line: int  # 1-based line of the value
    column: int  # 1-based column of the value
    context: SiteContext
    value: UsesValue
    value_span: Span
    quote: str  # "", "'" or '"'
    comment: str | None = None  # comment text without the leading "#" and surrounding spaces
    comment_span: Span | None = None
    job: str | None = None  # jobs.<id>, when in a workflow
    step: int | None = None  # index in steps, when a step


@_pickled_by_constructor
@dataclass(frozen=True, slots=True)
class ImageVariant:
    """One image an expression in an image value takes (``${{ matrix.image }}`` expanded).

    ``value_span`` is set when one matrix scalar holds the whole image: that scalar is where
    the image is pinned. Otherwise (``python:${{ matrix.v }}``) the image can be checked but
    not pinned in place.
    """

    image: str
    line: int  # where the value is written (the matrix scalar, or the expression's line)
    column: int
    value_span: Span | None = None
    quote: str = ""
    raw: str = ""  # the matrix scalar's value as parsed (what the rewrite replaces)


@_pickled_by_constructor
@dataclass(frozen=True, slots=True)
class ImageSite:
    """A container image reference: ``docker://`` uses, ``container``, ``services.*.image``.

    ``image`` is the reference without ``docker://``. ``value_span``/``quote``/``raw`` locate
    the scalar as written (``raw`` is its parsed value, ``docker://`` included where written),
    like :class:`UsesSite`, so the rewrite can splice a digest into it. An image value with
    ``${{ }}`` has ``variants`` when it expands over a literal matrix, else ``unexpanded``
    says why not.
    """

    path: Path
    relpath: str
    line: int
    column: int
    image: str
    context: str  # "step", "container", "service", "runs.image"
    value_span: Span | None = None
    quote: str = ""
    raw: str = ""
    comment: str | None = None
    comment_span: Span | None = None
    variants: tuple[ImageVariant, ...] = ()
    unexpanded: str | None = None

    @property
    def prefix(self) -> str:
        """``docker://`` when the value is written with it (steps and ``runs.image``)."""
        return "docker://" if self.raw.startswith("docker://") else ""


@_pickled_by_constructor
@dataclass(frozen=True, slots=True)
class SourceFile:
    """One workflow or action file, read once: its text and everything found in it."""

    path: Path
    relpath: str
    kind: str  # "workflow" or "action"
    text: str  # decoded text, without BOM, line endings as in the file
    bom: bool
    newline: str  # "\n" or "\r\n": dominant line ending, for any text pinner inserts
    uses: tuple[UsesSite, ...]
    images: tuple[ImageSite, ...] = ()


# ----------------------------------------------------------------------------- forge values


@dataclass(frozen=True, slots=True)
class GitRef:
    """A branch or tag, as a ref listing reports it, annotated tags already peeled."""

    name: str  # full name: refs/heads/main, refs/tags/v4.2.2
    object: str  # what the ref points to (a tag object for annotated tags)
    commit: str  # the commit reached by peeling

    @property
    def is_tag(self) -> bool:
        return self.name.startswith("refs/tags/")

    @property
    def is_branch(self) -> bool:
        return self.name.startswith("refs/heads/")

    @property
    def short(self) -> str:
        return self.name.split("/", 2)[2]

    @property
    def annotated(self) -> bool:
        return self.object != self.commit


@dataclass(frozen=True, slots=True)
class RefListing:
    """Every branch and tag of one repository at one moment."""

    repo: str  # owner/repo as the forge spells it
    refs: tuple[GitRef, ...]
    default_branch: str | None = None  # short name, when the forge told us (symref HEAD)
    # whether the repository is archived, when the channel that listed the refs said so
    # (GraphQL does, in the same query; git does not): saves a repository lookup per repository
    archived: bool | None = field(default=None, compare=False)
    # Lookups by name and by commit, built on first use: resolving thousands of uses against
    # a listing of thousands of refs must not rebuild or rescan them for every use.
    _by_name: dict[str, GitRef] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _by_commit: dict[str, tuple[GitRef, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _by_kind: dict[bool, tuple[GitRef, ...]] = field(  # is_tag -> refs, in listing order
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def tag(self, name: str) -> GitRef | None:
        return self._names().get("refs/tags/" + name)

    def branch(self, name: str) -> GitRef | None:
        return self._names().get("refs/heads/" + name)

    @property
    def tags(self) -> tuple[GitRef, ...]:
        return self._kind(True)

    @property
    def branches(self) -> tuple[GitRef, ...]:
        return self._kind(False)

    def _kind(self, tags: bool) -> tuple[GitRef, ...]:
        if not self._by_kind:
            self._by_kind[True] = tuple(r for r in self.refs if r.is_tag)
            self._by_kind[False] = tuple(r for r in self.refs if r.is_branch)
        return self._by_kind[tags]

    def at_commit(self, commit: str) -> tuple[GitRef, ...]:
        """Every ref whose peeled commit is ``commit``, in listing order."""
        if not self._by_commit and self.refs:
            grouped: dict[str, list[GitRef]] = {}
            for ref in self.refs:
                grouped.setdefault(ref.commit, []).append(ref)
            self._by_commit.update((c, tuple(rs)) for c, rs in grouped.items())
        return self._by_commit.get(commit, ())

    def _names(self) -> dict[str, GitRef]:
        if not self._by_name and self.refs:
            self._by_name.update((r.name, r) for r in self.refs)
        return self._by_name


@dataclass(frozen=True, slots=True)
class Commit:
    """A commit as the REST API describes it (enough for cooldowns and existence checks)."""

    sha: str
    date: datetime | None  # committer date, UTC
    parents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TagObject:
    """An annotated tag object (``git/tags/SHA``)."""

    sha: str
    tag: str
    object_sha: str
    object_type: str  # "commit" or "tag"
    tagger_date: datetime | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """``compare/BASE...HEAD``: how HEAD relates to BASE."""

    status: str  # "identical", "ahead", "behind", "diverged"
    ahead_by: int
    behind_by: int
    merge_base: str | None

    @property
    def head_in_base(self) -> bool:
        """True when HEAD is contained in BASE's history."""
        return self.status in ("identical", "behind")


@dataclass(frozen=True, slots=True)
class ReleaseAsset:
    name: str
    url: str  # API url
    browser_download_url: str
    size: int
    digest: str | None  # "sha256:<hex>" when GitHub computed one


@dataclass(frozen=True, slots=True)
class Release:
    tag_name: str
    name: str | None
    published_at: datetime | None
    draft: bool
    prerelease: bool
    html_url: str
    immutable: bool = False
    assets: tuple[ReleaseAsset, ...] = ()


MAX_DATABASE_ID = (1 << 63) - 1
"""The largest id GitHub's actions lockfile accepts (a positive signed 64-bit integer)."""


def is_database_id(value: object) -> bool:
    """Whether ``value`` can be a GitHub database id: an ``int`` (not a bool) in
    ``1..MAX_DATABASE_ID``.

    Why checked wherever an id arrives (REST, GraphQL, the cache): ``pinner lock`` writes the
    ids into ``actions.lock``, and GitHub's runner (and pinner's next run) refuse a lockfile
    with a zero, negative or oversized one; a forge's answer must never make the user's
    lockfile unreadable.
    """
    return type(value) is int and 0 < value <= MAX_DATABASE_ID


@dataclass(frozen=True, slots=True)
class RepoInfo:
    """``GET /repos/{owner}/{repo}``: what a repository is now.

    ``repo_id`` and ``owner_id`` are GitHub's database ids (REST ``id`` and ``owner.id``,
    GraphQL ``databaseId``): unlike names they are never reused, so a repository deleted and
    re-created under the same name, or a name re-registered by someone else, has new ones
    (what GitHub's actions lockfile records to detect it). ``full_name`` is the current
    spelling: after a rename or transfer the old name still answers, with the new one here.
    An id is None when the forge gave none that :func:`is_database_id` accepts.
    """

    full_name: str  # canonical spelling
    default_branch: str
    html_url: str
    archived: bool = False
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)
    repo_id: int | None = None
    owner_id: int | None = None


@dataclass(frozen=True, slots=True)
class AffectedPackage:
    """One entry of an advisory's ``vulnerabilities``: a package and the versions it names.

    ``name`` is the package as the advisory spells it (``owner/repo``, sometimes
    ``owner/repo/path``); ``vulnerable_range`` is GitHub's range text (``< 46.0.1``,
    ``>= 1.0.0, <= 1.2.0``, ``= 1``), None when the advisory gives none.
    """

    ecosystem: str
    name: str
    vulnerable_range: str | None
    first_patched: str | None


@dataclass(frozen=True, slots=True)
class Advisory:
    """A GitHub global security advisory (``GET /advisories``), the parts pinner acts on."""

    ghsa_id: str
    cve_id: str | None
    summary: str
    severity: str  # "critical" | "high" | "medium" | "low" | "unknown"
    html_url: str
    published_at: datetime | None
    withdrawn_at: datetime | None
    packages: tuple[AffectedPackage, ...]
    cvss_score: float | None = None

    @property
    def ids(self) -> str:
        """``GHSA-mrrh-fwg8-r2c3 / CVE-2025-30066`` (or the GHSA id alone)."""
        return f"{self.ghsa_id} / {self.cve_id}" if self.cve_id else self.ghsa_id

    def affecting(self, package: str) -> tuple[AffectedPackage, ...]:
        """The entries naming ``package`` (``owner/repo[/path]``, any case) in the actions
        ecosystem."""
        wanted = package.lower()
        return tuple(
            p for p in self.packages if p.ecosystem == "actions" and p.name.lower() == wanted
        )


def cvss_base_score(advisory: Mapping[str, Any]) -> float | None:
    """An advisory object's CVSS base score: ``cvss.score`` (REST API version 2022-11-28), else
    the newest of ``cvss_severities`` (which replaces it in later API versions); None without."""
    severities = advisory.get("cvss_severities")
    candidates = [advisory.get("cvss")]
    if isinstance(severities, dict):
        candidates += [severities.get("cvss_v4"), severities.get("cvss_v3")]
    for cvss in candidates:
        score = cvss.get("score") if isinstance(cvss, dict) else None
        if isinstance(score, int | float) and not isinstance(score, bool) and 0 <= score <= 10:
            return float(score)
    return None
