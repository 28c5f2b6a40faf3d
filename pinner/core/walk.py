"""The transitive graph walk behind ``pinner audit``.

A SHA pin at the top level is not enough: GitHub's "require SHA pinning" policy fails a job when
any action inside a third-party composite action or called reusable workflow is unpinned. So the
walk starts from every ``uses:`` and image in the user's files and follows, at the resolved commit:

- composite actions: ``runs.steps[].uses``;
- reusable workflows: ``jobs.*.steps[].uses`` and ``jobs.*.uses`` (and job containers/services);
- docker actions: ``runs.image`` (a ``docker://`` image, or a Dockerfile whose ``FROM`` lines name
  images).

Metadata is looked up at the commit as the runner does: ``action.yml``, else ``action.yaml``, else
``Dockerfile``. ``$/path`` resolves against the parent's repository *and commit*; ``./path``
inside a remote action is relative to the workspace the job checked out, so it cannot be resolved
statically and is recorded as such. In-repo (local) actions and workflows are read from disk.

The walk is breadth-first in layers: every node of one depth is expanded concurrently (the forge
bounds real concurrency and deduplicates requests), each ``(repository, commit, path)`` is
fetched and parsed once however many parents reach it, and a node already seen is only linked to,
never expanded again, so cycles terminate. The runner refuses to nest deeper than 9 levels; an
edge that would go deeper (or closes a cycle, which at run time recurses until that limit) is
recorded as ``depth_exceeded`` and not followed.

Remote files are code their authors control, so the walk has bounds
(:class:`~pinner.core.graph_limits.GraphLimits`): references and distinct actions per remote file,
remote files and nested references per run. Each layer is fetched first, then its files are
bounded one after the other in layer order, then their references are resolved: a bound falls
where the graph puts it, whatever the network timing. What a bound leaves out is recorded on the
node (``Node.limit``) for the ``graph-limit`` rule.

The result is a :class:`Graph` of facts (resolutions, reachability verdicts, fetch errors). The
rules in :mod:`pinner.rules` read those facts; the walk itself judges nothing. A remote failure
(network, rate limit, 5xx) propagates: a partial graph must never be reported as a clean one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pinner.core.graph_limits import GraphLimits
from pinner.core.resolve import Resolution, Resolver
from pinner.errors import InputError, NotFoundError, TooLargeError
from pinner.forge.base import Forge
from pinner.models import (
    REUSABLE_WORKFLOW_RE,
    ActionRef,
    ImageSite,
    RefListing,
    SourceFile,
    UsesKind,
    UsesSite,
    UsesValue,
)
from pinner.singleflight import SingleFlight
from pinner.sources.comments import parse_comment
from pinner.sources.discovery import resolves_inside
from pinner.sources.dockerfile import dockerfile_images
from pinner.sources.grammar import MAX_NESTING, describe_invalid, repo_relative, shown
from pinner.sources.reading import load_yaml, read_source

if TYPE_CHECKING:
    from pinner.core.verify import Reachability

MAX_DEPTH = MAX_NESTING
"""The runner's limit on nested composite actions; deeper is a finding."""

METADATA_FILES = ("action.yml", "action.yaml", "Dockerfile")
"""What the runner looks for in an action's directory, in this order."""


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Node:
    """A file the walk read: a user's workflow/action, a remote action/workflow, or an image.

    ``id`` is ``owner/repo[/path]@commit`` for remote nodes (the spelling of the corpus graph),
    the repository-relative path for the user's files, and ``docker://IMAGE`` for images.
    """

    id: str
    kind: str  # "workflow" | "action" | "reusable-workflow" | "image"
    local: bool  # in the user's repository (read from disk)
    depth: int  # 0 for the user's files; 1 for what they reference directly, ...
    repo: str | None = None  # owner/repo as the forge spells it (remote nodes)
    commit: str | None = None
    path: str | None = None  # action directory ("" for the root) or workflow path
    file: str | None = None  # the metadata file actually read (repo-relative)
    using: str | None = None  # runs.using of an action
    error: str | None = None  # why the node could not be read (no metadata file, bad YAML)
    limit: str | None = None  # what a GraphLimits bound left out of it (graph-limit)


@dataclass(frozen=True, slots=True)
class Edge:
    """One reference from a node to what it names, with everything learnt about it."""

    index: int
    parent: str  # Node.id
    child: str | None  # Node.id; None when the target could not be determined
    uses: str  # the value as written (``docker://...`` or the image for Dockerfile FROM lines)
    kind: str  # "action" | "reusable-workflow" | "docker"
    file: str  # file holding the reference: relpath in the user's repo or path in the parent repo
    line: int | None
    column: int = 1
    depth: int = 0  # depth of the parent node (0: the reference is in the user's files)
    value: UsesValue | None = None  # None for images named by container/services/FROM
    context: str | None = None  # SiteContext value, or the ImageSite context
    comment: str | None = None  # trailing comment text on the reference's line
    version_comment: str | None = None  # the version the comment claims, any dialect
    ignore: frozenset[str] = frozenset()  # rule ids of an inline ``# pinner: ignore[...]``
    resolution: Resolution | None = None
    reachability: Reachability | None = None  # the containment verdict on a SHA pin
    image: str | None = None  # for docker edges: the image without ``docker://``
    error: str | None = None  # why the reference could not be followed (unresolvable)
    depth_exceeded: bool = False
    cycle: bool = False

    @property
    def local(self) -> bool:
        """The reference sits in the user's repository (the user can edit it)."""
        return self.depth == 0

    @property
    def commit(self) -> str | None:
        return self.resolution.commit if self.resolution is not None else None

    @property
    def action(self) -> ActionRef | None:
        if self.resolution is not None:
            return self.resolution.action
        return self.value.action if self.value is not None else None

    @property
    def target(self) -> str:
        """What include/exclude/ignore patterns match: ``owner/repo[/path]``, an image, a path."""
        if self.action is not None:
            return self.action.target
        if self.image is not None:
            return self.image
        return self.uses


@dataclass(frozen=True, slots=True)
class Chain:
    """How a nested edge is reached from a reference in the user's files."""

    root: int  # index of the root edge (in the user's files)
    uses: tuple[str, ...]  # uses values from the root edge down to the edge itself
    edges: tuple[int, ...] = ()  # indices of those edges, root first (same length as uses)


@dataclass(frozen=True, slots=True)
class Graph:
    """Nodes and edges of one audit run; edges are indexed by position."""

    nodes: dict[str, Node]
    edges: tuple[Edge, ...]
    roots: tuple[str, ...] = ()  # ids of the user's files, in discovery order
    labels: dict[str, str] = field(default_factory=dict, compare=False)
    """Local node id -> the label its repository's paths start with (:func:`merge_graphs`)."""
    _out_index: dict[str, tuple[Edge, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        out: dict[str, list[Edge]] = {}
        for e in self.edges:
            out.setdefault(e.parent, []).append(e)
        # frozen: set the derived index once, so children() is O(1) however often it is asked
        object.__setattr__(self, "_out_index", {k: tuple(v) for k, v in out.items()})

    def children(self, node_id: str) -> tuple[Edge, ...]:
        return self._out_index.get(node_id, ())

    def chains(self) -> dict[int, list[Chain]]:
        """For every edge, the chains by which references in the user's files reach it.

        One chain per (root edge, edge): the shortest, found breadth-first. Root edges have the
        one-element chain of their own value. Local nodes are not entered (their own references
        are roots already, rooted on the line the user can edit).
        """
        out = self._out_index
        result: dict[int, list[Chain]] = {}
        for root in self.edges:
            if not root.local:
                continue
            start = Chain(root.index, (root.uses,), (root.index,))
            result.setdefault(root.index, []).append(start)
            seen_nodes: set[str] = set()
            queue: deque[tuple[str | None, Chain]] = deque()
            queue.append((root.child, start))
            while queue:
                node_id, prefix = queue.popleft()
                if node_id is None or node_id in seen_nodes:
                    continue
                seen_nodes.add(node_id)
                node = self.nodes.get(node_id)
                if node is None or node.local:
                    continue
                for e in out.get(node_id, ()):
                    chain = Chain(root.index, (*prefix.uses, e.uses), (*prefix.edges, e.index))
                    result.setdefault(e.index, []).append(chain)
                    if not e.depth_exceeded and not e.cycle:
                        queue.append((e.child, chain))
        return result


# ----------------------------------------------------------------------------- helpers


def _node_id(repo: str, path: str | None, commit: str) -> str:
    return f"{repo}/{path}@{commit}" if path else f"{repo}@{commit}"


def _edge_kind(value: UsesValue) -> str:
    if value.kind is UsesKind.DOCKER:
        return "docker"
    if value.action is not None and value.action.is_reusable_workflow:
        return "reusable-workflow"
    if value.local_path and REUSABLE_WORKFLOW_RE.match(repo_relative(value.local_path)):
        return "reusable-workflow"
    return "action"


def strip_docker(image: str) -> str:
    return image[len("docker://") :] if image.startswith("docker://") else image


def _comment_facts(comment: str | None) -> tuple[str | None, frozenset[str]]:
    """(claimed version, inline-ignored rule ids) of a trailing comment."""
    if not comment:
        return None, frozenset()
    parsed = parse_comment(comment)
    return parsed.version, frozenset(parsed.ignore or ())


def _runs_image(data: object) -> str | None:
    """``runs.image`` of a docker action's metadata (plain data), when it is a string."""
    if not isinstance(data, dict):
        return None
    runs = data.get("runs")
    if not isinstance(runs, dict):
        return None
    image = runs.get("image")
    return image if isinstance(image, str) and image.strip() else None


def _runs_using(data: object) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("runs"), dict):
        using = data["runs"].get("using")
        return str(using).lower() if using is not None else None
    return None


# ----------------------------------------------------------------------------- the walk


@dataclass
class _Pending:
    """A node to expand: what it is and at what depth (min over the paths reaching it)."""

    id: str
    kind: str
    depth: int
    repo: str = ""
    commit: str = ""
    path: str = ""  # action dir or workflow path


@dataclass
class _Walk:
    forge: Forge
    resolver: Resolver
    reachability: Callable[[str, str, RefListing, str | None], Awaitable[Reachability]] | None
    max_depth: int
    root_dir: Path | None
    local_files: dict[str, SourceFile]
    read_local: Callable[[Path, str], SourceFile] | None
    select: Callable[[str], bool] | None = None
    limits: GraphLimits = field(default_factory=GraphLimits)
    nodes: dict[str, Node] = field(default_factory=dict)
    scheduled: set[str] = field(default_factory=set)
    remote_read: int = 0  # remote actions and workflows read (GraphLimits.nodes)
    remote_edges: int = 0  # uses: references of remote files resolved (GraphLimits.edges)
    _resolutions: SingleFlight[tuple[str, str, str], Resolution] = field(
        default_factory=SingleFlight
    )
    _reach: SingleFlight[tuple[str, str], Reachability] = field(default_factory=SingleFlight)
    _files: SingleFlight[tuple[str, str, str], bytes | None] = field(default_factory=SingleFlight)

    # --- single-flight wrappers: each (repo, commit, path) and each ref asked once per run

    async def resolve(self, action: ActionRef) -> Resolution:
        key = (action.repo_key, action.path or "", action.ref)
        return await self._resolutions.get(key, lambda: self.resolver.resolve(action))

    async def get_file(self, repo: str, commit: str, path: str) -> bytes | None:
        key = (repo.lower(), commit, path)
        return await self._files.get(key, lambda: self.forge.get_file(repo, commit, path))

    async def check(
        self, repo: str, sha: str, listing: RefListing, *, claim: str | None
    ) -> Reachability | None:
        """The containment verdict on ``sha``, asked once per run; ``claim`` (the version its
        comment names) only orders the refs tried first."""
        if self.reachability is None:
            return None
        reachability = self.reachability
        return await self._reach.get(
            (repo.lower(), sha), lambda: reachability(repo, sha, listing, claim)
        )

    # --- edges

    async def _site_edge(
        self,
        parent: _Pending,
        site: UsesSite,
        *,
        parent_commit: str | None,
        parent_repo: str | None,
        file: str,
    ) -> tuple[Edge | None, _Pending | None]:
        """Turn one ``uses:`` into an edge (resolving it) and the node it leads to, if any.

        ``(None, None)`` when include/exclude deselect the reference: it is not followed.
        """
        value = site.value
        if (
            self.select is not None
            and value.action is not None
            and not self.select(value.action.target)
        ):
            return None, None
        version, ignored = _comment_facts(site.comment)
        base = Edge(
            index=-1,
            parent=parent.id,
            child=None,
            uses=value.raw if value.kind is not UsesKind.INVALID else shown(value.raw),
            kind=_edge_kind(value),
            file=file,
            line=site.line,
            column=site.column,
            depth=parent.depth,
            value=value,
            context=site.context.value,
            comment=site.comment,
            version_comment=version,
            ignore=ignored if parent.depth == 0 else frozenset(),
        )
        child_depth = parent.depth + 1
        action = value.action
        if value.kind is UsesKind.SAME_REPO and parent_repo and parent_commit:
            # $/path: the caller's repository at the caller's commit
            owner, repo = parent_repo.split("/", 1)
            action = ActionRef(
                owner, repo, repo_relative(value.local_path or "") or None, parent_commit
            )
        if value.kind is UsesKind.DOCKER:
            image = strip_docker(value.image or value.raw)
            return self._image_edge(base, image, child_depth), None
        if value.kind in (UsesKind.LOCAL, UsesKind.SAME_REPO) and parent.depth == 0:
            return self._local_edge(base, value)
        if value.kind is UsesKind.LOCAL:
            return replace(
                base,
                error=(
                    f"{value.raw}: relative to the workspace the job checked out, not to the "
                    "action; cannot be resolved statically"
                ),
            ), None
        if value.kind is UsesKind.EXPRESSION:
            return base, None  # expression-ref reports it; nothing to follow
        if value.kind is UsesKind.INVALID or action is None:
            return replace(base, error=describe_invalid(value)), None
        try:
            resolution = await self.resolve(action)
        except NotFoundError as exc:
            message = str(exc)
            if not message.startswith(value.raw):
                message = f"{value.raw}: {message}"
            return replace(base, error=message), None
        reach = None
        if resolution.needs_containment and value.kind is UsesKind.REMOTE:
            # ($/path runs the parent's own commit: the parent's pin was already verified)
            reach = await self.check(
                resolution.listing.repo or action.slug,
                resolution.commit,
                resolution.listing,
                claim=version,
            )
        repo = resolution.listing.repo or action.slug
        path = action.path or ""
        kind = "reusable-workflow" if action.is_reusable_workflow else "action"
        child_id = _node_id(repo, path, resolution.commit)
        edge = replace(base, child=child_id, resolution=resolution, reachability=reach, kind=kind)
        if child_depth > self.max_depth:
            return replace(edge, depth_exceeded=True), None
        pending = _Pending(child_id, kind, child_depth, repo, resolution.commit, path)
        return edge, pending

    def _image_edge(self, base: Edge, image: str, child_depth: int) -> Edge:
        node_id = f"docker://{image}"
        if node_id not in self.nodes:
            self.nodes[node_id] = Node(node_id, "image", local=False, depth=child_depth)
        return replace(base, kind="docker", child=node_id, image=image)

    def _local_edge(self, base: Edge, value: UsesValue) -> tuple[Edge, _Pending | None]:
        rel = repo_relative(value.local_path or "")
        if base.kind == "reusable-workflow":
            candidates = [rel]
        else:
            candidates = [f"{rel}/{n}" if rel else n for n in METADATA_FILES]
        for cand in candidates:
            if cand in self.local_files:
                return replace(base, child=cand), None
        if self.root_dir is not None:
            for cand in candidates:
                p = self.root_dir / cand
                if p.is_file():
                    if not resolves_inside(p, self.root_dir):
                        return replace(
                            base,
                            error=f"{value.raw}: {cand} is outside the repository ('..' or a "
                            "symlink leaving it); not read",
                        ), None
                    if cand.endswith("Dockerfile"):
                        return replace(base, child=cand), _Pending(cand, "dockerfile", 0, path=cand)
                    return replace(base, child=cand), _Pending(cand, "local", 0, path=cand)
        return replace(
            base, error=f"{value.raw}: no {' or '.join(candidates)} in the repository"
        ), None

    # --- nodes

    async def expand_sites(
        self,
        node: _Pending,
        uses: Sequence[UsesSite],
        images: Sequence[ImageSite],
        *,
        file: str,
        runs_image: str | None = None,
        repo: str | None = None,
        commit: str | None = None,
    ) -> _Expansion:
        """Edges of one parsed file: its ``uses:`` sites (resolved concurrently) and images."""
        out = _Expansion()
        results = await asyncio.gather(
            *(
                self._site_edge(node, site, parent_commit=commit, parent_repo=repo, file=file)
                for site in uses
            )
        )
        for edge, pending in results:
            if edge is None:
                continue
            out.edges.append(edge)
            if pending is not None:
                out.children.append(pending)
        for image in images:
            if image.context == "step":
                continue  # a docker:// step: already an edge through its uses site
            raw = image.prefix + image.image  # as written (runs.image: docker://...)
            # an expression over a literal matrix: one edge per image it takes, at the place
            # the image is written (see pinner.sources.matrix)
            written = [(v.image, v.line, v.column) for v in image.variants] or [
                (raw, image.line, image.column)
            ]
            for value, line, column in written:
                base = Edge(
                    -1,
                    node.id,
                    None,
                    value,
                    "docker",
                    file,
                    line,
                    column,
                    depth=node.depth,
                    context=image.context,
                )
                out.edges.append(self._image_edge(base, strip_docker(value), node.depth + 1))
        if runs_image is not None and not runs_image.startswith("docker://"):
            # a Dockerfile next to action.yml: its FROM lines name the images that run
            directory = str(PurePosixPath(file).parent)
            path = repo_relative(
                f"{directory}/{runs_image}" if directory not in ("", ".") else runs_image
            )
            base = Edge(
                -1,
                node.id,
                None,
                runs_image,
                "docker",
                file,
                None,
                depth=node.depth,
                context="runs.image",
            )
            out.edges.extend(
                await self._dockerfile(node, path, repo=repo, commit=commit, missing=base)
            )
        return out

    async def _dockerfile(
        self,
        node: _Pending,
        path: str,
        *,
        repo: str | None,
        commit: str | None,
        missing: Edge | None,
    ) -> list[Edge]:
        """One docker edge per ``FROM`` image of the Dockerfile at ``path``."""
        text: str | None = None
        if repo and commit:
            data = await self.get_file(repo, commit, path)
            text = data.decode("utf-8", "replace") if data is not None else None
            where = f"at {commit}"
        elif self.root_dir is not None:
            p = self.root_dir / path
            inside = p.is_file() and resolves_inside(p, self.root_dir)  # runs.image: ../../x
            text = p.read_text("utf-8", "replace") if inside else None
            where = "in the repository"
        else:
            return []
        if text is None:
            return [replace(missing, error=f"{path} does not exist {where}")] if missing else []
        images = dockerfile_images(text)
        if repo and len(images) > self.limits.file_edges:
            self._limit(node.id, len(images), self.limits.file_edges, [self._why("file_edges")])
            images = images[: self.limits.file_edges]
        edges = []
        for line, image in images:
            edge = Edge(
                -1,
                node.id,
                None,
                image,
                "docker",
                path,
                line,
                1,
                depth=node.depth,
                context="dockerfile",
            )
            edges.append(self._image_edge(edge, image, node.depth + 1))
        return edges

    async def load_remote(self, node: _Pending) -> _Loaded:
        """Fetch and parse a remote action or workflow at its commit (its node is recorded);
        its references are resolved later, once :meth:`bound` has decided which to follow."""
        repo, commit, path = node.repo, node.commit, node.path
        if node.kind == "reusable-workflow":
            candidates = [path]
        else:
            candidates = [f"{path}/{n}" if path else n for n in METADATA_FILES]
        found: str | None = None
        data: bytes | None = None
        common = dict(
            kind=node.kind, local=False, depth=node.depth, repo=repo, commit=commit, path=path
        )
        for cand in candidates:  # in order: the runner takes the first that exists
            try:
                data = await self.get_file(repo, commit, cand)
            except TooLargeError as exc:  # hostile metadata: a finding, like an alias bomb
                error = f"{repo}@{commit}: {exc}"
                self.nodes[node.id] = Node(node.id, **common, file=cand, error=error)  # type: ignore[arg-type]
                return _Loaded(node, done=_Expansion())
            if data is not None:
                found = cand
                break
        if found is None or data is None:
            what = " or ".join(candidates)
            error = f"no {what} in {repo} at {commit}"
            self.nodes[node.id] = Node(node.id, **common, error=error)  # type: ignore[arg-type]
            return _Loaded(node, done=_Expansion())
        if found.endswith("Dockerfile"):
            self.nodes[node.id] = Node(node.id, **common, file=found, using="docker")  # type: ignore[arg-type]
            edges = await self._dockerfile(node, found, repo=repo, commit=commit, missing=None)
            return _Loaded(node, done=_Expansion(edges))
        kind = "workflow" if node.kind == "reusable-workflow" else "action"
        try:
            loaded = load_yaml(data, source=found, kind=kind)
        except InputError as exc:
            error = f"{repo}@{commit}: {exc}"
            self.nodes[node.id] = Node(node.id, **common, file=found, error=error)  # type: ignore[arg-type]
            return _Loaded(node, done=_Expansion())
        self.nodes[node.id] = Node(  # type: ignore[arg-type]
            node.id,
            **common,
            file=found,
            using=_runs_using(loaded.data) if kind == "action" else None,
        )
        return _Loaded(
            node,
            uses=loaded.uses,
            images=[i for i in loaded.images if i.context != "step"],  # step: its uses: site
            file=found,
            runs_image=_runs_image(loaded.data) if kind == "action" else None,
        )

    def bound(self, loaded: _Loaded) -> None:
        """Keep the references of one remote file that the limits allow, in file order.

        Called for the files of a layer one after the other, in the layer's order, before any
        of their references is resolved: which references a run-wide limit leaves out then
        depends on the graph alone, never on which answer came back first.
        """
        limits = self.limits
        refs = sorted([*loaded.uses, *loaded.images], key=lambda site: (site.line, site.column))
        uses: list[UsesSite] = []
        images: list[ImageSite] = []
        targets: set[tuple[str, ...]] = set()
        why: list[str] = []
        for site in refs:
            if len(uses) + len(images) >= limits.file_edges:
                why.append(self._why("file_edges"))
                break
            if isinstance(site, ImageSite):
                images.append(site)
                continue
            target = _target(site.value)
            if target is not None and target not in targets:
                if len(targets) >= limits.file_nodes:
                    _once(why, self._why("file_nodes"))
                    continue
                targets.add(target)
            if target is not None:
                if self.remote_edges >= limits.edges:
                    _once(why, self._why("edges"))
                    continue
                self.remote_edges += 1
            uses.append(site)
        if why:
            self._limit(loaded.node.id, len(refs), len(uses) + len(images), why)
        loaded.uses, loaded.images = uses, images

    def _why(self, limit: str) -> str:
        value = getattr(self.limits, limit)
        option = GraphLimits.OPTIONS[limit]
        return {
            "file_edges": f"more than {value} references in one file ({option})",
            "file_nodes": f"more than {value} distinct actions from one file ({option})",
            "edges": f"the run's {value} nested references were reached ({option})",
            "nodes": f"the run's {value} remote actions and workflows were read ({option})",
        }[limit]

    def _limit(self, node_id: str, total: int, kept: int, why: list[str]) -> None:
        """Record on a node what a limit left out of it."""
        message = (
            f"{kept} of its {total} references followed, the rest not audited: {'; '.join(why)}"
        )
        self.nodes[node_id] = replace(self.nodes[node_id], limit=message)

    def admit(self, layer: list[_Pending]) -> list[_Pending]:
        """The nodes of a layer the run may still read; the others are recorded unread."""
        admitted: list[_Pending] = []
        for pending in layer:
            if pending.kind in ("local", "dockerfile"):
                admitted.append(pending)
            elif self.remote_read < self.limits.nodes:
                self.remote_read += 1
                admitted.append(pending)
            else:
                self.nodes[pending.id] = Node(
                    pending.id,
                    pending.kind,
                    local=False,
                    depth=pending.depth,
                    repo=pending.repo,
                    commit=pending.commit,
                    path=pending.path,
                    limit=f"not read: {self._why('nodes')}",
                )
        return admitted

    async def expand_loaded(self, loaded: _Loaded) -> _Expansion:
        """Resolve the references :meth:`bound` kept (a finished node has nothing left)."""
        if loaded.done is not None:
            return loaded.done
        node = loaded.node
        return await self.expand_sites(
            node,
            loaded.uses,
            loaded.images,
            file=loaded.file,
            runs_image=loaded.runs_image,
            repo=node.repo,
            commit=node.commit,
        )

    async def expand_source(self, source: SourceFile, node: _Pending) -> _Expansion:
        """A file of the user's repository, already read and scanned."""
        runs_image = None
        if source.kind == "action":
            try:
                runs_image = _runs_image(load_yaml(source.text, source=source.relpath).data)
            except InputError:
                runs_image = None  # read_source already accepted it; nothing more to learn
        return await self.expand_sites(
            node, source.uses, source.images, file=source.relpath, runs_image=runs_image
        )

    async def expand_local(self, node: _Pending) -> _Expansion:
        """A local file referenced but not among the discovered sources: read it from disk."""
        if node.kind == "dockerfile":
            self.nodes[node.id] = Node(
                node.id, "action", True, 0, path=node.path, file=node.path, using="docker"
            )
            return _Expansion(
                await self._dockerfile(node, node.path, repo=None, commit=None, missing=None)
            )
        assert self.root_dir is not None and self.read_local is not None
        try:
            source = self.read_local(self.root_dir, node.path)
        except InputError as exc:  # (a file --skip-unreadable left out, say): a finding
            kind = "workflow" if node.path.startswith(".github/workflows/") else "action"
            error = f"{node.path} cannot be read: {exc.reason}"
            self.nodes[node.id] = Node(node.id, kind, True, 0, path=node.path, error=error)
            return _Expansion()
        self.local_files[source.relpath] = source
        self.nodes[node.id] = Node(
            node.id, source.kind, True, 0, path=source.relpath, file=source.relpath
        )
        return await self.expand_source(source, _Pending(node.id, source.kind, 0))

    async def load(self, pending: _Pending) -> _Loaded:
        """Phase one of a layer: a remote file fetched and parsed; a local one (the user's,
        never limited) expanded at once."""
        if pending.kind in ("local", "dockerfile"):
            return _Loaded(pending, done=await self.expand_local(pending))
        return await self.load_remote(pending)

    async def run(self, sources: Sequence[SourceFile]) -> Graph:
        for source in sources:
            self.local_files.setdefault(source.relpath, source)
        roots: list[str] = []
        first: list[Awaitable[_Expansion]] = []
        for source in sources:
            if source.relpath in self.nodes:
                continue
            roots.append(source.relpath)
            self.nodes[source.relpath] = Node(
                source.relpath, source.kind, True, 0, path=source.relpath, file=source.relpath
            )
            self.scheduled.add(source.relpath)
            first.append(self.expand_source(source, _Pending(source.relpath, source.kind, 0)))
        edges: list[Edge] = []
        layer_results = await asyncio.gather(*first)
        while layer_results:
            frontier: list[_Pending] = []
            for expansion in layer_results:  # gather keeps order: edge order is deterministic
                edges.extend(expansion.edges)
                frontier.extend(expansion.children)
            layer: list[_Pending] = []
            for pending in frontier:
                if pending.id in self.scheduled:
                    continue
                self.scheduled.add(pending.id)
                layer.append(pending)
            loaded = await asyncio.gather(*(self.load(p) for p in self.admit(layer)))
            for one in loaded:  # in layer order: run-wide limits fall where the graph says
                if one.done is None:
                    self.bound(one)
            layer_results = await asyncio.gather(*(self.expand_loaded(one) for one in loaded))
        indexed = [replace(e, index=i) for i, e in enumerate(edges)]
        nodes = _in_discovery_order(self.nodes, roots, indexed)
        return Graph(nodes=nodes, edges=_mark_cycles(nodes, indexed), roots=tuple(roots))


def _in_discovery_order(
    nodes: dict[str, Node], roots: list[str], edges: list[Edge]
) -> dict[str, Node]:
    """``nodes`` ordered by roots, then first appearance as an edge's child.

    Nodes are recorded when their fetch completes, so insertion order depends on network
    timing (retries, latency); outputs and the DFS that flags cycles must not.
    """
    order = [r for r in roots if r in nodes]
    order += [e.child for e in edges if e.child is not None and e.child in nodes]
    order += sorted(nodes)
    return {node_id: nodes[node_id] for node_id in dict.fromkeys(order)}


@dataclass
class _Expansion:
    """What expanding one node produced: its outgoing edges and the nodes to visit next."""

    edges: list[Edge] = field(default_factory=list)
    children: list[_Pending] = field(default_factory=list)


@dataclass
class _Loaded:
    """A node of the current layer between its fetch and the resolution of its references."""

    node: _Pending
    done: _Expansion | None = None  # finished already (an error, a Dockerfile, a local file)
    uses: Sequence[UsesSite] = ()
    images: Sequence[ImageSite] = ()
    file: str = ""
    runs_image: str | None = None


def _target(value: UsesValue) -> tuple[str, ...] | None:
    """What a reference would add to the graph (a remote action or workflow), or None when
    it adds nothing that costs a request (an image, an expression, an invalid value...)."""
    if value.kind is UsesKind.REMOTE and value.action is not None:
        action = value.action
        return (action.repo_key, action.path or "", action.ref)
    if value.kind is UsesKind.SAME_REPO:
        return ("$", repo_relative(value.local_path or ""))
    return None


def _once(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _mark_cycles(nodes: dict[str, Node], edges: list[Edge]) -> tuple[Edge, ...]:
    """Flag every edge that closes a cycle among remote nodes (a back edge of a DFS).

    At run time such a chain recurses until the runner's depth limit: it can never succeed.
    """
    out: dict[str, list[Edge]] = {}
    for e in edges:
        out.setdefault(e.parent, []).append(e)
    back: set[int] = set()
    state: dict[str, int] = {}  # 1 on stack, 2 done
    for start in nodes:
        if state.get(start):
            continue
        stack: list[tuple[str, Iterable[Edge]]] = [(start, iter(out.get(start, ())))]
        state[start] = 1
        while stack:
            node_id, it = stack[-1]
            advanced = False
            for e in it:
                if e.child is None or e.child not in nodes:
                    continue
                s = state.get(e.child)
                if s == 1:
                    back.add(e.index)
                elif not s:
                    state[e.child] = 1
                    stack.append((e.child, iter(out.get(e.child, ()))))
                    advanced = True
                    break
            if not advanced:
                state[node_id] = 2
                stack.pop()
    return tuple(replace(e, cycle=True) if e.index in back else e for e in edges)


async def walk(
    sources: Sequence[SourceFile],
    forge: Forge,
    *,
    resolver: Resolver | None = None,
    root: Path | None = None,
    max_depth: int = MAX_DEPTH,
    budget: int | None = None,
    verify: bool = True,
    read_local: Callable[[Path, str], SourceFile] | None = None,
    select: Callable[[str], bool] | None = None,
    limits: GraphLimits | None = None,
) -> Graph:
    """Walk the whole graph reachable from ``sources`` (the user's files, already read).

    ``root`` is the repository root for in-repo references that are not among ``sources``;
    ``read_local(root, relpath)`` reads such a file (default: the sources package's reader).
    ``verify`` runs the impostor check for SHA pins (and tag objects) whose commit no branch or
    tag points at; ``budget`` caps its requests per commit (None: only the API quota does, see
    :mod:`pinner.core.verify`). ``select(owner/repo[/path])`` False means the
    reference is skipped entirely (``--exclude`` / config ``exclude``). ``limits`` bound what
    remote files may add to the graph (:class:`GraphLimits`; default: its documented values).
    """
    resolver = resolver or Resolver(forge)
    reach = None
    if verify:
        from pinner.core.verify import check_reachability

        async def reach(
            repo: str, sha: str, listing: RefListing, claim: str | None
        ) -> Reachability:
            return await check_reachability(forge, repo, sha, listing, budget=budget, claim=claim)

    if read_local is None and root is not None:
        read_local = _default_read_local
    state = _Walk(
        forge, resolver, reach, max_depth, root, {}, read_local, select, limits or GraphLimits()
    )
    return await state.run(sources)


def _default_read_local(root: Path, relpath: str) -> SourceFile:
    return read_source(root / relpath, root=root)


def merge_graphs(parts: Sequence[tuple[str, Graph]]) -> Graph:
    """One graph of several repositories' walks, each repository's own files named ``LABEL``-first.

    Why: ``audit`` walks each repository on its own (``./`` references resolve against its
    root, its files are named relative to it), but reports one graph, in which two
    repositories' ``.github/workflows/ci.yml`` must stay two files. Every local node, root and
    the file of every edge in a local node get the part's label prepended (``"tokio/"``); remote
    nodes are shared, and a remote node the walks share keeps the first walk's edges (each walk
    read the same immutable files at the same commit, so they are the same facts). A single
    part with label ``""`` is returned as it was.
    """
    if len(parts) == 1 and not parts[0][0]:
        return parts[0][1]
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    roots: list[str] = []
    labels: dict[str, str] = {}
    for label, graph in parts:

        def rename(node_id: str | None, graph: Graph = graph, label: str = label) -> str | None:
            node = graph.nodes.get(node_id) if node_id is not None else None
            return f"{label}{node_id}" if node is not None and node.local else node_id

        taken = {n for n, node in graph.nodes.items() if not node.local and n in nodes}
        for node_id, node in graph.nodes.items():
            if node.local:
                labels[f"{label}{node_id}"] = label
                nodes[f"{label}{node_id}"] = replace(
                    node,
                    id=f"{label}{node_id}",
                    path=f"{label}{node.path}" if node.path is not None else None,
                    file=f"{label}{node.file}" if node.file is not None else None,
                )
            elif node_id not in nodes:
                nodes[node_id] = node
        roots.extend(f"{label}{r}" for r in graph.roots)
        for edge in graph.edges:
            if edge.parent in taken:
                continue
            local = edge.parent in graph.nodes and graph.nodes[edge.parent].local
            edges.append(
                replace(
                    edge,
                    index=len(edges),
                    parent=rename(edge.parent) or edge.parent,
                    child=rename(edge.child),
                    file=f"{label}{edge.file}" if local else edge.file,
                )
            )
    return Graph(nodes=nodes, edges=tuple(edges), roots=tuple(roots), labels=labels)
