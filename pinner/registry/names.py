"""Container image references, parsed and normalised the way Docker does.

``alpine`` is ``docker.io/library/alpine:latest`` to Docker, served by ``registry-1.docker.io``;
``ghcr.io/o/tool:v1`` is ``ghcr.io`` as written; ``localhost:5000/x`` and ``127.0.0.1:5000/x`` are
private registries with a port. Getting this exactly right matters twice: the registry and
repository asked must be the ones ``docker pull`` asks (else the digest pinned is someone
else's image), and the text written back must be the user's own spelling with only the tag and
digest added (``alpine:3.19`` becomes ``alpine:3.19@sha256:...``, never
``docker.io/library/alpine:3.19@sha256:...``).

The grammar is the one of the distribution project's ``reference`` package: a name of
lowercase path components, optionally behind a domain (a first component with a ``.`` or a
``:``, or ``localhost``), a tag of at most 128 word characters, dots and dashes, and a digest
``algorithm:hex``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
"""The domain Docker assumes when a name has none."""

DOCKER_HUB_API = "registry-1.docker.io"
"""The host that serves Docker Hub's registry API (``docker.io`` itself only redirects)."""

_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io"})

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*\Z")
_DOMAIN_RE = re.compile(
    r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::[0-9]{1,5})?\Z"
)
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}\Z", re.ASCII)
TAG_RE = _TAG_RE
"""A tag as the distribution grammar allows it (ASCII word characters, dots, dashes)."""
_DIGEST_RE = re.compile(r"^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})\Z")
DIGEST_RE = _DIGEST_RE
"""A digest pinner accepts: ``sha256:`` and 64 lowercase hex (or ``sha512:`` and 128)."""

MAX_NAME = 255
"""Longest repository name (domain included) the distribution spec allows."""


class ImageNameError(ValueError):
    """The text is not an image reference ``docker pull`` would accept; the message says why."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One image reference: where ``docker pull`` goes and what it asks for.

    ``name`` is the name exactly as written (``alpine``, ``ghcr.io/o/tool``): what is written
    back. ``domain`` and ``path`` are Docker's normalised form (``docker.io`` and
    ``library/alpine``), what is asked for and what caches and messages use.
    """

    written: str  # the whole reference as written (without ``docker://``)
    name: str
    domain: str
    path: str
    tag: str | None
    digest: str | None

    @property
    def repository(self) -> str:
        """``docker.io/library/alpine``: the repository's full, normalised name."""
        return f"{self.domain}/{self.path}"

    @property
    def api_host(self) -> str:
        """``host[:port]`` serving the registry API (``registry-1.docker.io`` for Docker Hub)."""
        return DOCKER_HUB_API if self.domain == DOCKER_HUB else self.domain

    @property
    def effective_tag(self) -> str:
        """The tag ``docker pull`` uses: the one written, else ``latest``."""
        return self.tag or "latest"

    @property
    def familiar(self) -> str:
        """The short name Docker prints (``alpine``, ``ghcr.io/o/tool``), without tag or digest."""
        if self.domain == DOCKER_HUB:
            return self.path.removeprefix("library/")
        return self.repository

    def pinned(self, digest: str, tag: str | None = None) -> str:
        """The reference to write: the user's name, the tag (``latest`` made explicit when none
        was written, so people still read what was resolved) and the digest."""
        return f"{self.name}:{tag or self.effective_tag}@{digest}"

    def with_tag(self, tag: str | None) -> ImageRef:
        return ImageRef(self.written, self.name, self.domain, self.path, tag, self.digest)

    def __str__(self) -> str:
        return self.written


def parse_image(text: str) -> ImageRef:
    """Parse ``[domain/]path[:tag][@digest]`` as Docker does; ImageNameError when invalid.

    A ``docker://`` prefix is not accepted here: callers strip it (it belongs to ``uses:``).
    """
    written = text
    if not text or text != text.strip():
        raise ImageNameError("an image reference cannot be empty or carry spaces")
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in text):
        raise ImageNameError("an image reference is printable ASCII without spaces")
    digest: str | None = None
    if "@" in text:
        text, _, digest = text.partition("@")
        if not _DIGEST_RE.match(digest):
            raise ImageNameError(
                f"invalid digest {digest!r} (expected sha256: and 64 lowercase hex digits)"
            )
    tag: str | None = None
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        text, tag = text[:colon], text[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise ImageNameError(f"invalid tag {tag!r}")
    name = text
    if not name:
        raise ImageNameError("missing image name")
    if len(name) > MAX_NAME:
        raise ImageNameError(f"image name longer than {MAX_NAME} characters")
    domain, path = _split_domain(name)
    if not _PATH_RE.match(path):
        if path.lower() != path and _PATH_RE.match(path.lower()):
            raise ImageNameError(f"repository name must be lowercase: {path!r}")
        raise ImageNameError(f"invalid repository name {path!r}")
    return ImageRef(written, name, domain, path, tag, digest)


def _split_domain(name: str) -> tuple[str, str]:
    """(domain, path) the way Docker's ``splitDockerDomain`` does it."""
    first, sep, rest = name.partition("/")
    if not sep or (
        "." not in first and ":" not in first and first != "localhost" and first.lower() == first
    ):
        domain, path = DOCKER_HUB, name
    else:
        if not _DOMAIN_RE.match(first):
            raise ImageNameError(f"invalid registry host {first!r}")
        domain, path = first.lower(), rest
        if domain in _DOCKER_HUB_ALIASES:
            domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in path:
        path = "library/" + path
    return domain, path
