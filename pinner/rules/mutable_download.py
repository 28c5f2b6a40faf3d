"""mutable-download: a pinned action downloads something that can change under the pin.

A SHA pin freezes the action's code, not what that code fetches. An action at a fixed commit
that runs ``curl -L https://example.com/tool/latest/tool.tgz | tar xz`` executes whatever that
URL serves today: a compromised release host, a re-pointed ``latest`` link or a force-pushed
branch changes the binary your job runs without any change to your workflow (the pattern behind
the Codecov bash uploader compromise). Versioned URLs can still be swapped, which is what
``pinner checksums`` pins by sha256; mutable ones are a moving target by design.

The facts come from download discovery (:mod:`pinner.core.downloads`) run over every action the
walk reached: ``run:`` scripts, scripts shipped beside ``action.yml`` and Dockerfiles.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pinner.rules.base import Rule, RuleContext, RuleHit, Severity, register

if TYPE_CHECKING:
    from pinner.core.walk import Edge


@register
class MutableDownload(Rule):
    id = "mutable-download"
    description = "An action downloads from a URL whose content can change (latest, branch, | sh)"
    severity = Severity.MEDIUM
    help = (
        "Ask the action's maintainers to download a versioned URL and verify its sha256 (a "
        "URL-to-hash map like Astral's, which `pinner checksums --url` builds), or pin an "
        "action version that does. Until then, record what it downloads today with "
        "`pinner checksums --write checksums.json` and check it in CI with `--verify`."
    )

    def check(self, edge: Edge, context: RuleContext) -> Iterator[RuleHit]:
        if edge.child is None:
            return
        node = context.graph.nodes.get(edge.child)
        # the action's own repository and commit, as every other upstream place is written:
        # "downloaded at action.yml:78" alone does not say which of the graph's actions it is
        origin = f"{node.repo}@{node.commit}:" if node and node.repo and node.commit else ""
        for site in context.downloads.get(edge.child, ()):
            if not site.mutability.mutable:
                continue
            url = site.url or site.template
            reasons = ", ".join(site.mutability.reasons)
            yield self.hit(f"{url} ({reasons}) downloaded at {origin}{site.file}:{site.line}")
