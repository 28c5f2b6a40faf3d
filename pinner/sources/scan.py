"""Find every ``uses:`` and container image in one workflow or action file, with exact spans.

The file is parsed once (:func:`pinner.sources.yamlsafe.compose`); the node tree gives the
character offsets of each value, quotes included, and a small lexer reads the rest of that
line to find the trailing comment. Knowing the exact span is what lets the rewrite splice a
new value in without touching a single other byte (ratchet re-serialises YAML and loses
formatting; pinact rewrites lines with a regex and misses flow style).

Where ``uses:`` can appear (anything else is not a ``uses:`` the runner reads):

* ``jobs.<id>.steps[].uses``   -> :attr:`SiteContext.WORKFLOW_STEP`
* ``jobs.<id>.uses``           -> :attr:`SiteContext.REUSABLE_JOB`
* ``runs.steps[].uses``        -> :attr:`SiteContext.COMPOSITE_STEP`

Images: ``docker://`` uses (context ``"step"``), ``jobs.<id>.container`` as a string or its
``image`` (``"container"``), ``jobs.<id>.services.<name>.image`` (``"service"``) and a docker
action's ``runs.image: docker://...`` (``"runs.image"``). ``runs.image: Dockerfile`` builds
locally and is not an image reference.

Both ``jobs`` and ``runs`` are looked for whatever the file's kind, so a file passed
explicitly under the wrong name is still scanned completely. A value reached twice through a
YAML alias is reported once, at the place it is written.
"""

from __future__ import annotations

import functools
from pathlib import Path

from pinner.models import (
    ImageSite,
    ImageVariant,
    SiteContext,
    SourceFile,
    Span,
    UsesKind,
    UsesSite,
    UsesValue,
)
from pinner.sources.grammar import parse_uses
from pinner.sources.matrix import Expanded, expand, has_expression
from pinner.sources.yamlsafe import (
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    compose,
    dominant_newline,
)

_QUOTE_OPENERS = " \t[{,:"

_parse_uses = functools.lru_cache(maxsize=4096)(parse_uses)
""":func:`parse_uses` once per distinct value: a repository repeats the same few hundred ``uses:``
values across thousands of steps, and the result (a frozen :class:`UsesValue`) can be shared."""


def trailing_comment(text: str, pos: int) -> tuple[str, Span] | None:
    """The comment that ends the line containing ``pos``, if any: (text, span of ``#...``).

    Scans from ``pos`` (the end of a value) to the end of its line, skipping quoted scalars of
    a flow collection (``{with: {x: "a # b"}}``), so a ``#`` inside quotes is not taken for a
    comment. A ``#`` starts a comment only after whitespace, as in YAML. A quoted scalar that
    runs onto the next line means the rest of this line is string content: no comment.
    """
    n = len(text)
    i = pos
    while i < n:
        c = text[i]
        if c == "\n" or c == "\r":
            return None
        if c == "#" and i > 0 and text[i - 1] in " \t":
            end = text.find("\n", i)
            if end == -1:
                end = n
            while end > i and text[end - 1] in " \t\r":
                end -= 1
            return text[i + 1 : end].strip(), Span(i, end)
        if (c == '"' or c == "'") and i > pos and text[i - 1] in _QUOTE_OPENERS:
            i = _skip_quoted(text, i)
            if i < 0:
                return None
            continue
        i += 1
    return None


def _skip_quoted(text: str, i: int) -> int:
    """Index just past the quoted scalar starting at ``i``; -1 when it continues past the line."""
    quote = text[i]
    n = len(text)
    i += 1
    while i < n:
        c = text[i]
        if c == "\n" or c == "\r":
            return -1
        if quote == '"' and c == "\\":
            i += 2
            continue
        if c == quote:
            if quote == "'" and i + 1 < n and text[i + 1] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    return -1


class _Scanner:
    __slots__ = ("images", "path", "relpath", "seen", "text", "uses")

    def __init__(self, text: str, path: Path, relpath: str) -> None:
        self.text = text
        self.path = path
        self.relpath = relpath
        self.uses: list[UsesSite] = []
        self.images: list[ImageSite] = []
        self.seen: set[int] = set()

    def add_uses(self, node: Node, context: SiteContext, job: str | None, step: int | None) -> None:
        if node.start in self.seen:
            return
        self.seen.add(node.start)
        if isinstance(node, ScalarNode):
            value = _parse_uses(node.value)
            quote = node.style if node.style in ("'", '"') else ""
        else:
            value = UsesValue(
                self.text[node.start : node.end],
                UsesKind.INVALID,
                error="uses: must be a string, not a list or mapping",
            )
            quote = ""
        # a block scalar's comment can only stand on its header line ("uses: >- # v1.2.3");
        # its end is on a later line, whose comment belongs to whatever follows
        block = isinstance(node, ScalarNode) and node.style in ("|", ">")
        found = trailing_comment(self.text, node.start if block else node.end)
        comment, comment_span = found if found else (None, None)
        self.uses.append(
            UsesSite(
                path=self.path,
                relpath=self.relpath,
                line=node.line,
                column=node.column,
                context=context,
                value=value,
                value_span=Span(node.start, node.end),
                quote=quote,
                comment=comment,
                comment_span=comment_span,
                job=job,
                step=step,
            )
        )
        if value.kind is UsesKind.DOCKER and value.image:
            self.add_image(node, value.image, "step")

    def add_image(self, node: Node, image: str, context: str, job: Node | None = None) -> None:
        variants: tuple[ImageVariant, ...] = ()
        unexpanded = None
        if has_expression(image):
            expansion = expand(image, job)
            unexpanded = expansion.reason
            variants = tuple(_variant(e, node) for e in expansion.values)
        scalar = isinstance(node, ScalarNode)
        found = trailing_comment(self.text, node.end) if scalar else None
        self.images.append(
            ImageSite(
                self.path,
                self.relpath,
                node.line,
                node.column,
                image,
                context,
                value_span=Span(node.start, node.end) if scalar else None,
                quote=node.style if scalar and node.style in ("'", '"') else "",  # type: ignore[attr-defined]
                raw=node.value if scalar else "",  # type: ignore[attr-defined]
                comment=found[0] if found else None,
                comment_span=found[1] if found else None,
                variants=variants,
                unexpanded=unexpanded,
            )
        )

    def steps(self, node: Node | None, context: SiteContext, job: str | None) -> None:
        if not isinstance(node, SequenceNode):
            return
        for index, step in enumerate(node.items):
            if isinstance(step, MappingNode):
                uses = step.get("uses")
                if uses is not None:
                    self.add_uses(uses, context, job, index)

    def image_value(self, node: Node | None, context: str, job: Node | None) -> None:
        if isinstance(node, ScalarNode) and node.value.strip():
            self.add_image(node, node.value.strip(), context, job)

    def workflow(self, root: MappingNode) -> None:
        jobs = root.get("jobs")
        if not isinstance(jobs, MappingNode):
            return
        for key, job in jobs.pairs:
            if not isinstance(job, MappingNode):
                continue
            job_id = key.value if isinstance(key, ScalarNode) else None
            uses = job.get("uses")
            if uses is not None:
                self.add_uses(uses, SiteContext.REUSABLE_JOB, job_id, None)
            self.steps(job.get("steps"), SiteContext.WORKFLOW_STEP, job_id)
            container = job.get("container")
            if isinstance(container, MappingNode):
                self.image_value(container.get("image"), "container", job)
            else:
                self.image_value(container, "container", job)
            services = job.get("services")
            if isinstance(services, MappingNode):
                for _, service in services.pairs:
                    if isinstance(service, MappingNode):
                        self.image_value(service.get("image"), "service", job)

    def action(self, root: MappingNode) -> None:
        runs = root.get("runs")
        if not isinstance(runs, MappingNode):
            return
        self.steps(runs.get("steps"), SiteContext.COMPOSITE_STEP, None)
        image = runs.get("image")
        if isinstance(image, ScalarNode) and image.value.startswith("docker://"):
            self.add_image(image, image.value[len("docker://") :], "runs.image")


def _variant(expanded: Expanded, site: Node) -> ImageVariant:
    """One image an expression takes: pinnable where one matrix scalar holds all of it."""
    node = expanded.node
    if node is None:
        return ImageVariant(expanded.value, site.line, site.column)
    quote = node.style if node.style in ("'", '"') else ""
    return ImageVariant(
        expanded.value, node.line, node.column, Span(node.start, node.end), quote, node.value
    )


def scan_nodes(
    root: Node | None, text: str, *, path: Path, relpath: str
) -> tuple[tuple[UsesSite, ...], tuple[ImageSite, ...]]:
    """Sites and images found in an already composed document (see :func:`scan`)."""
    scanner = _Scanner(text, path, relpath)
    if isinstance(root, MappingNode):
        scanner.workflow(root)
        scanner.action(root)
    uses = tuple(sorted(scanner.uses, key=lambda s: s.value_span.start))
    images = tuple(sorted(scanner.images, key=lambda i: (i.line, i.column)))
    return uses, images


def scan(
    text: str, relpath: str, kind: str, *, path: Path | None = None, bom: bool = False
) -> SourceFile:
    """Parse ``text`` once and return it with every ``uses:`` site and image found.

    ``text`` is the decoded file without BOM (see :func:`pinner.sources.reading.read_source`,
    which also applies the byte-level guards). ``kind`` is ``"workflow"`` or ``"action"``.
    Raises :class:`~pinner.errors.InputError` for malformed or hostile YAML.
    """
    root = compose(text, source=relpath)
    file_path = path if path is not None else Path(relpath)
    uses, images = scan_nodes(root, text, path=file_path, relpath=relpath)
    return SourceFile(
        path=file_path,
        relpath=relpath,
        kind=kind,
        text=text,
        bom=bom,
        newline=dominant_newline(text),
        uses=uses,
        images=images,
    )
