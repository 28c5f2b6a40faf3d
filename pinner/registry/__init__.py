"""Container registries: the second kind of forge, where image tags and digests come from.

* :mod:`pinner.registry.names`: image references parsed and normalised as Docker does;
* :mod:`pinner.registry.auth`: credentials (Docker's ``config.json``, credential helpers) and
  ``WWW-Authenticate`` challenges;
* :mod:`pinner.registry.client`: the OCI distribution v2 client (bearer-token flow, digests
  verified, cache).

Registries share the forge's HTTP transport (one pool, one concurrency bound, the same
retries and rate-limit handling) and its cache, and follow the same token-scoping rules: a
registry credential goes only to its own registry (and the token realm that registry names),
and the GitHub token never goes to any registry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pinner.forge.cached import CachedForge
    from pinner.registry.auth import DockerConfig
    from pinner.registry.client import RegistryClient
    from pinner.settings import Settings


@asynccontextmanager
async def open_registry(
    settings: Settings, forge: CachedForge | None = None, *, config: DockerConfig | None = None
) -> AsyncIterator[RegistryClient | None]:
    """The registry client a run uses, or None with ``--snapshot`` (no network at all).

    With ``forge`` (what :func:`pinner.forge.factory.open_forge` gave), its transport and its
    persistent cache are shared; otherwise a transport of its own is opened and closed here.
    """
    if settings.snapshot_dirs:
        yield None
        return
    from pinner.forge.http import Transport
    from pinner.registry.client import RegistryClient

    store = getattr(forge, "store", None)
    transport = getattr(getattr(forge, "inner", None), "transport", None)
    own = None
    if not isinstance(transport, Transport):
        own = transport = Transport(settings)
    try:
        yield RegistryClient(transport, config=config, store=store, offline=settings.offline)
    finally:
        if own is not None:
            await own.aclose()


def load_credentials(explicit: Path | None) -> DockerConfig | None:
    """``--registry-auth FILE``, else ``$DOCKER_CONFIG/config.json``, else None (anonymous)."""
    from pinner.registry.auth import load_docker_config

    return load_docker_config(explicit)
