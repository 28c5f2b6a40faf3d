"""stale-image-tag: the tag written next to an image digest now names another image.

``python:3.12@sha256:<digest>`` pulls the digest; the tag is there for people, who read it as
"this is Python 3.12 as published". Image tags move all the time (every rebuild of a base image
moves ``3.12``), so after a while the tag describes an image that is no longer the one pinned:
the pin is stale, security fixes of the rebuilds are missing, and the tag misleads a reviewer.
A tag that no longer exists at all is the same. Not an error (the pin still pulls exactly what
it pulled before): a reminder to move the pin, which ``pinner update`` does with a cooldown.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, image_facts, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class StaleImageTag(Rule):
    id = "stale-image-tag"
    description = "The tag next to a pinned image digest now names a different image"
    severity = Severity.LOW
    help = (
        "The image is pinned by digest, but its tag has moved on (a rebuild, a security fix). "
        "`pinner update` moves the digest to what the tag names now, after the cooldown; or "
        "edit the tag to say what the digest really is."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        facts = image_facts(edge, context)
        if facts is None or facts.ref.digest is None or facts.ref.tag is None:
            return
        if facts.digest_found is False:
            return  # impostor-image says more
        if facts.tag_error is not None:
            yield self.hit(f"image {edge.image}: tag {facts.ref.tag} no longer exists")
        elif facts.current is not None and facts.current.digest != facts.ref.digest:
            yield self.hit(
                f"image {edge.image}: tag {facts.ref.tag} now names {facts.current.digest}"
            )
