"""Container images in the user's files, pinned to the digest ``docker pull`` resolves.

Where images are (:func:`image_targets`): ``uses: docker://IMAGE`` steps, ``jobs.<id>.container``
(a string or its ``image``), ``jobs.<id>.services.<name>.image``, a docker action's
``runs.image: docker://IMAGE``, the ``FROM`` lines of the Dockerfile an in-repo docker action
builds (:func:`collect_dockerfiles`), and the matrix values a ``${{ matrix.x }}`` image takes.

What each becomes (:func:`plan_images`):

* ``IMAGE[:TAG]`` -> ``IMAGE:TAG@sha256:<digest>``: the tag stays for people (``latest`` made
  explicit when none was written), the digest is what Docker and the runner pull. The digest
  is the one the tag names (an index for a multi-arch image, never one platform's manifest);
* ``IMAGE[:TAG]@DIGEST`` is verified, not rewritten: the digest must be a manifest of *that*
  repository (a digest that exists only in another repository is an impostor, as a fork's
  commit is for actions), and a tag next to it is compared with what the tag names now (a
  tag that moved is a warning: ``pinner update`` moves the digest);
* an expression that cannot be expanded, or a build argument, is reported, never guessed.

Registry lookups are concurrent and each (repository, tag) or (repository, digest) is asked
once; a registry that cannot answer (network, rate limit) is a remote failure, so the run
writes nothing.
"""

from __future__ import annotations

import asyncio
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pinner.core.pin import PROBLEM, REMOTE, WARNING
from pinner.errors import FatalRemoteError, NotFoundError, RemoteError
from pinner.models import ImageSite, SourceFile
from pinner.registry.names import ImageNameError, ImageRef, parse_image
from pinner.sources.comments import silences
from pinner.sources.discovery import resolves_inside
from pinner.sources.dockerfile import Dockerfile, FromLine, read_dockerfile

if TYPE_CHECKING:  # the HTTP stack loads when a registry is really asked (not for --snapshot)
    from pinner.registry.client import ManifestInfo, RegistryClient

RULE = "unpinned-image"


@dataclass(frozen=True, slots=True)
class ImageTarget:
    """One image reference written in the user's files.

    ``site`` is what a rewrite splices into: an :class:`ImageSite` (a YAML scalar: the value
    itself, or the matrix scalar a ``${{ matrix.x }}`` takes it from) or a Dockerfile's
    :class:`FromLine`; None when the image is not written in one piece anywhere (an
    interpolated expression), so it can be checked but not pinned in place.
    """

    path: Path
    relpath: str
    line: int
    column: int
    context: str  # step, container, service, runs.image, dockerfile, matrix
    image: str  # the reference, without docker://
    prefix: str = ""  # "docker://" where the value is written with it
    site: ImageSite | FromLine | None = None
    comment: str | None = None  # the trailing comment of the line (YAML), for ignores
    expression: str | None = None  # the ``${{ }}`` value this image was expanded from
    unpinnable: str | None = None  # why it cannot be pinned statically (expressions, ARGs)

    @property
    def written(self) -> str:
        return self.prefix + self.image

    @property
    def dockerfile(self) -> bool:
        return isinstance(self.site, FromLine)


@dataclass(frozen=True, slots=True)
class ImageChange:
    """One image reference pinner rewrites."""

    target: ImageTarget
    old: str  # as written (``docker://`` included)
    new: str
    digest: str
    tag: str
    index: bool  # the digest is a multi-platform index

    @property
    def relpath(self) -> str:
        return self.target.relpath

    @property
    def line(self) -> int:
        return self.target.line


@dataclass(frozen=True, slots=True)
class ImageIssue:
    """A problem, warning or remote failure about one image reference."""

    severity: str  # problem | warning | remote
    code: str  # impostor-image, stale-image-tag, unresolvable-image, invalid-image, ...
    target: ImageTarget
    message: str


@dataclass(frozen=True, slots=True)
class ImagePlan:
    changes: tuple[ImageChange, ...] = ()
    issues: tuple[ImageIssue, ...] = ()
    checked: int = 0  # distinct image references looked up
    skipped: int = 0  # silenced by an ignore


# ----------------------------------------------------------------------------- where images are


def image_targets(
    sources: Sequence[SourceFile], dockerfiles: Sequence[Dockerfile] = ()
) -> list[ImageTarget]:
    """Every image reference in ``sources`` (and the in-repo ``dockerfiles``), in file order;
    an expression expanded over its matrix gives one target per image it takes."""
    out: list[ImageTarget] = []
    for source in sources:
        for site in source.images:
            out.extend(_site_targets(site))
    for dockerfile in dockerfiles:
        for entry in dockerfile.froms:
            unpinnable = "named by a build argument" if entry.variable else None
            out.append(
                ImageTarget(
                    dockerfile.path,
                    dockerfile.relpath,
                    entry.line,
                    entry.column,
                    "dockerfile",
                    entry.image,
                    site=entry,
                    unpinnable=unpinnable,
                )
            )
    return out


def _site_targets(site: ImageSite) -> list[ImageTarget]:
    common = dict(path=site.path, relpath=site.relpath, comment=site.comment)
    if "${{" not in site.image or not site.variants:
        expression = site.image if "${{" in site.image else None
        why = f"uses an expression ({site.unexpanded or 'not a literal matrix'})"
        return [
            ImageTarget(
                line=site.line,
                column=site.column,
                context=site.context,
                image=site.image,
                prefix=site.prefix,
                site=None if expression else site,
                expression=expression,
                unpinnable=why if expression else None,
                **common,  # type: ignore[arg-type]
            )
        ]
    targets = []
    for variant in site.variants:
        matrix_site = None
        if variant.value_span is not None:
            matrix_site = ImageSite(
                site.path,
                site.relpath,
                variant.line,
                variant.column,
                variant.image,
                "matrix",
                value_span=variant.value_span,
                quote=variant.quote,
                raw=variant.raw,
            )
        targets.append(
            ImageTarget(
                line=variant.line,
                column=variant.column,
                context="matrix",
                image=variant.image,
                site=matrix_site,
                expression=site.image,
                unpinnable=None
                if matrix_site is not None
                else f"built from {site.image} (pin whole images in the matrix to pin it)",
                **common,  # type: ignore[arg-type]
            )
        )
    return targets


def collect_dockerfiles(
    sources: Sequence[SourceFile],
    *,
    roots: Mapping[Path, Path] | None = None,
    on_error: str = "raise",
) -> tuple[list[Dockerfile], list[ImageIssue]]:
    """The Dockerfiles that in-repo docker actions (``runs.image: Dockerfile``) build.

    A Dockerfile path is relative to its action's directory and must stay inside the
    repository (``roots``: each source's repository root by its path; by default what its
    ``relpath`` implies); one that does not exist is a problem on the action's
    ``runs.image`` line. Its ``relpath`` continues the action's (a repository label of a
    multi-repository run included). A Dockerfile that cannot be read (binary, too large)
    raises InputError (exit 2) unless ``on_error="report"``, which makes it a problem instead.
    """
    from pinner.errors import InputError
    from pinner.sources.yamlsafe import MappingNode, ScalarNode, compose

    found: dict[Path, Dockerfile] = {}
    issues: list[ImageIssue] = []
    for source in sources:
        if source.kind != "action":
            continue
        root = compose(source.text, source=source.relpath)
        runs = root.get("runs") if isinstance(root, MappingNode) else None
        image = runs.get("image") if isinstance(runs, MappingNode) else None
        if not isinstance(image, ScalarNode) or not image.value.strip():
            continue
        using = runs.get("using") if isinstance(runs, MappingNode) else None
        if isinstance(using, ScalarNode) and using.value.strip().lower() != "docker":
            continue  # runs.image means nothing to the runner outside a docker action
        value = image.value.strip()
        if value.startswith("docker://"):
            continue
        relpath = posixpath.normpath(f"{PurePosixPath(source.relpath).parent}/{value}")
        repo_root = roots.get(source.path) if roots is not None else _root_of(source)
        target = ImageTarget(
            source.path, source.relpath, image.line, image.column, "runs.image", value
        )
        path = source.path.parent / value
        if repo_root is None or not resolves_inside(path, repo_root):
            message = f"runs.image {value} is outside the repository; not read"
            issues.append(ImageIssue(PROBLEM, "unresolvable-image", target, message))
            continue
        if not path.is_file():
            message = f"runs.image names {relpath}, which does not exist"
            issues.append(ImageIssue(PROBLEM, "unresolvable-image", target, message))
            continue
        resolved = path.resolve()
        if resolved in found:
            continue
        try:
            # read (and later written) at its real path, as discovery gives workflow files:
            # the write phase checks that nothing on the way became a symlink meanwhile
            found[resolved] = read_dockerfile(resolved, relpath=relpath)
        except InputError as exc:
            if on_error == "raise":
                raise
            issues.append(ImageIssue(PROBLEM, "unreadable", target, f"not pinned: {exc}"))
    return list(found.values()), issues


def _root_of(source: SourceFile) -> Path | None:
    """The repository root a source was found under (its path minus its relative path)."""
    path = source.path
    depth = len(PurePosixPath(source.relpath).parts)
    if depth == 0 or len(path.parts) < depth:
        return None
    return path.parents[depth - 1]


# ----------------------------------------------------------------------------- deciding


def silenced(target: ImageTarget, config: object | None) -> bool:
    """``# pinner: ignore[unpinned-image]`` on the line, or a config ``ignore`` entry."""
    if silences(target.comment, RULE):
        return True
    ignored_by = getattr(config, "ignored_by", None)
    return ignored_by is not None and ignored_by(RULE, target.image, target.relpath) is not None


@dataclass
class _Work:
    changes: list[ImageChange] = field(default_factory=list)
    issues: list[ImageIssue] = field(default_factory=list)

    def issue(self, severity: str, code: str, target: ImageTarget, message: str) -> None:
        self.issues.append(ImageIssue(severity, code, target, message))


async def plan_images(
    targets: Sequence[ImageTarget],
    registry: RegistryClient,
    *,
    config: object | None = None,
    extra_issues: Sequence[ImageIssue] = (),
) -> ImagePlan:
    """Resolve and verify every target; decide what each should become (see module doc)."""
    work = _Work(issues=list(extra_issues))
    todo: list[tuple[ImageTarget, ImageRef]] = []
    skipped = 0
    for target in targets:
        if silenced(target, config):
            skipped += 1
            continue
        if "$" in target.image:  # an expression or build argument nothing could expand
            message = f"image {target.image} {target.unpinnable}: cannot be pinned statically"
            work.issue(WARNING, "expression-image", target, message)
            continue
        try:
            ref = parse_image(target.image)
        except ImageNameError as exc:
            work.issue(PROBLEM, "invalid-image", target, f"invalid image {target.image!r}: {exc}")
            continue
        todo.append((target, ref))
    facts = await asyncio.gather(*(inspect(registry, ref) for _, ref in todo))
    for (target, ref), fact in zip(todo, facts, strict=True):
        _decide(work, target, ref, fact)
    checked = len({(ref.api_host, ref.path, ref.tag, ref.digest) for _, ref in todo})
    issues = sorted(work.issues, key=lambda i: (i.target.relpath, i.target.line, i.target.column))
    return ImagePlan(tuple(work.changes), tuple(issues), checked, skipped)


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What the registry says about one reference (see :func:`inspect`)."""

    ref: ImageRef
    current: ManifestInfo | None = None  # what the tag names now (no tag written: latest)
    tag_error: str | None = None  # the tag could not be resolved (not found, denied)
    digest_found: bool | None = None  # the written digest is in the repository (None: none written)
    error: str | None = None  # the repository cannot be read at all
    remote: str | None = None  # the registry could not answer (a failure of the run)


async def inspect(registry: RegistryClient, ref: ImageRef) -> ImageFacts:
    """Resolve ``ref``'s tag and verify its digest, as far as the registry answers."""
    current: ManifestInfo | None = None
    tag_error: str | None = None
    try:
        if ref.digest is None or ref.tag is not None:
            try:
                current = await registry.resolve(ref)
            except NotFoundError as exc:
                if ref.digest is None or _denied(exc):
                    return ImageFacts(ref, error=str(exc))
                tag_error = str(exc)
        found: bool | None = None
        if ref.digest is not None:
            if current is not None and current.digest == ref.digest:
                found = True  # the tag names it: it is in this repository
            else:
                try:
                    found = await registry.has_manifest(ref, ref.digest) is not None
                except NotFoundError as exc:
                    return ImageFacts(ref, error=str(exc))
        return ImageFacts(ref, current, tag_error, found)
    except FatalRemoteError:
        raise  # the run is out of time: one line for the run, not one per image
    except RemoteError as exc:
        return ImageFacts(ref, remote=str(exc))


async def facts_for(images: Iterable[str], registry: RegistryClient) -> dict[str, ImageFacts]:
    """What the registry says about each literal image reference (``audit``): keyed by the
    reference as written. Expressions, build arguments and invalid names are left out (their
    rule says why). A registry that cannot answer raises RemoteError: an audit with a hole
    in it is never reported as clean."""
    refs: dict[str, ImageRef] = {}
    for image in images:
        if "$" in image or image in refs:
            continue
        try:
            refs[image] = parse_image(image)
        except ImageNameError:
            continue
    found = await asyncio.gather(*(inspect(registry, ref) for ref in refs.values()))
    for facts in found:
        if facts.remote is not None:
            raise RemoteError(facts.remote)
    return dict(zip(refs, found, strict=True))


def _denied(exc: NotFoundError) -> bool:
    from pinner.registry.client import RegistryDenied

    return isinstance(exc, RegistryDenied)


def _decide(work: _Work, target: ImageTarget, ref: ImageRef, facts: ImageFacts) -> None:
    if facts.remote is not None:
        work.issue(REMOTE, "remote", target, facts.remote)
        return
    if facts.error is not None:
        work.issue(PROBLEM, "unresolvable-image", target, f"{ref}: {facts.error}")
        return
    if ref.digest is not None:
        if facts.digest_found is False:
            work.issue(
                PROBLEM,
                "impostor-image",
                target,
                f"{ref.digest} is not an image of {ref.repository}: a digest from another "
                "repository (an impostor), or one deleted from it",
            )
            return
        if ref.tag is not None:
            if facts.tag_error is not None:
                message = f"tag {ref.tag} next to the digest no longer exists in {ref.repository}"
                work.issue(WARNING, "stale-image-tag", target, message)
            elif facts.current is not None and facts.current.digest != ref.digest:
                work.issue(
                    WARNING,
                    "stale-image-tag",
                    target,
                    f"tag {ref.tag} of {ref.repository} now names {facts.current.digest}, not the "
                    f"pinned {ref.digest[:19]}...; `pinner update` moves the pin",
                )
        return
    current = facts.current
    assert current is not None
    if target.site is None or target.unpinnable is not None:
        why = target.unpinnable or "cannot be pinned in place"
        message = f"image {target.image} {why}: it is {current.digest} today"
        work.issue(WARNING, "expression-image", target, message)
        return
    new = target.prefix + ref.pinned(current.digest)
    tag, index = ref.effective_tag, current.is_index
    work.changes.append(ImageChange(target, target.written, new, current.digest, tag, index))


def edits_by_file(
    changes: Sequence[ImageChange],
) -> tuple[dict[Path, list[tuple[ImageSite, str]]], dict[Path, list[tuple[FromLine, str]]]]:
    """The changes as splices: YAML sites by file, Dockerfile ``FROM`` tokens by file."""
    yaml: dict[Path, list[tuple[ImageSite, str]]] = {}
    docker: dict[Path, list[tuple[FromLine, str]]] = {}
    for change in changes:
        site = change.target.site
        if isinstance(site, FromLine):
            docker.setdefault(change.target.path, []).append((site, change.new))
        elif isinstance(site, ImageSite):
            new = change.new
            if change.target.context == "matrix":
                new = new.removeprefix("docker://")
            yaml.setdefault(change.target.path, []).append((site, new))
    return yaml, docker


def dockerfile_bytes(dockerfile: Dockerfile, edits: Sequence[tuple[FromLine, str]]) -> bytes:
    """The Dockerfile with each ``FROM`` image token replaced (nothing else changes).

    The result is parsed again: the same ``FROM`` lines must come back with only the edited
    images changed, or ValueError (a bug, never a silently broken file).
    """
    from pinner.core.rewrite import encoded, splice
    from pinner.sources.dockerfile import parse_froms

    ordered = sorted(edits, key=lambda e: e[0].span.start)
    splices: list[tuple[int, int, str]] = []
    last = 0
    for entry, new in ordered:
        if not new or any(c.isspace() for c in new) or entry.span.start < last:
            raise ValueError(f"{dockerfile.relpath}:{entry.line}: unwritable FROM edit {new!r}")
        splices.append((entry.span.start, entry.span.end, new))
        last = entry.span.end
    result = splice(dockerfile.text, splices)

    wanted = {e.span.start: new for e, new in ordered}
    after = parse_froms(result)
    expected = [wanted.get(f.span.start, f.image) for f in dockerfile.froms]
    if [f.image for f in after] != expected:
        raise ValueError(f"{dockerfile.relpath}: rewriting FROM lines changed the Dockerfile")
    return encoded(dockerfile, result)
