"""impostor-image: an image pinned to a digest that is not an image of the repository it names.

A digest is a content address, and registries serve a manifest only from the repository it was
pushed to; but a reviewer sees a trusted name and a 64-hex digest and stops there.
``ghcr.io/trusted/tool@sha256:<digest of attacker/tool>`` looks pinned and fails at pull time
today, and the day the digest is pushed under the trusted name (or a mirror serves it
by digest alone) it runs code nobody reviewed. The check asks the registry for the manifest
by digest in *that* repository (``HEAD /v2/<name>/manifests/<digest>``); a 404 is this finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, image_facts, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class ImpostorImage(Rule):
    id = "impostor-image"
    description = "A pinned image digest is not a manifest of the repository it names"
    severity = Severity.HIGH
    help = (
        "The digest exists in no manifest of the image's repository: it was copied from another "
        "repository (an impostor), or deleted. Re-pin to the digest the repository's tag names "
        "(`pinner pin` after removing the digest, or `docker buildx imagetools inspect "
        "IMAGE:TAG`)."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        facts = image_facts(edge, context)
        if facts is not None and facts.digest_found is False:
            ref = facts.ref
            yield self.hit(
                f"image {edge.image}: {ref.digest} is not a manifest of {ref.repository}"
            )
