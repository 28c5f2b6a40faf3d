"""unpinned-image: a container image referenced by tag (or nothing) instead of by digest.

Image tags are as mutable as git tags: ``:latest`` by definition, ``:v2`` whenever the publisher
pushes. ``docker://`` steps, job ``container``/``services`` images, docker actions' ``runs.image``
and the ``FROM`` lines of their Dockerfiles all pull code that runs with the job's token. Only
``image@sha256:<digest>`` is immutable.

When a registry was asked (the default), each finding carries the exact fix: the reference with
the digest its tag names today, the one ``docker pull`` resolves (an index for a multi-platform
image). ``pinner pin`` writes it for references in your files.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, image_facts, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


def image_problem(image: str) -> str | None:
    """Why ``image`` is mutable (None when it carries a digest)."""
    if "@sha256:" in image or "@sha512:" in image:
        return None
    if "$" in image:  # ${{ }} or a Dockerfile's $ARG / ${ARG}, anywhere in it (no image has "$")
        return "named by an expression or build argument"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (implies :latest) and no digest"
    tag = last.rsplit(":", 1)[1]
    if tag == "latest":
        return "uses :latest and no digest"
    return f"uses tag :{tag} without a digest"


@register
class UnpinnedImage(Rule):
    id = "unpinned-image"
    description = "A container image is referenced by a mutable tag instead of a sha256 digest"
    severity = Severity.MEDIUM
    help = (
        "Reference images by digest: `docker://ghcr.io/o/i:v1@sha256:<digest>` or "
        "`image: o/i:v1@sha256:<digest>` (`docker buildx imagetools inspect IMAGE` prints it). "
        "For a docker action or Dockerfile you do not control, pin an action version whose "
        "images are digest-pinned."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        if edge.kind != "docker" or edge.image is None:
            return
        problem = image_problem(edge.image)
        if problem is None:
            return
        message = f"image {edge.image} {problem}"
        facts = image_facts(edge, context)
        if facts is not None and facts.current is not None:
            message += f"; pin it as {facts.ref.pinned(facts.current.digest)}"
        yield self.hit(message)
