"""Download a URL and hash it while it streams: the basis of ``pinner checksums``.

Why streaming: the binaries actions download can be hundreds of MiB. Hashing chunk by chunk
keeps memory flat, and the size cap aborts the transfer the moment it is exceeded instead of
after the whole file arrived.

Why the bytes as served: the manifest promises the hash of what a user's ``curl -o`` (or
``wget``) saves, and neither decodes a ``Content-Encoding``. pinner asks for the identity
encoding, as they do, and hashes the raw body even from a server that compresses regardless:
hashing httpx's decoded body would record bytes nobody downloads.

Why a slot before the clock starts: ``--timeout`` is the time one download may take. Many
downloads share ``--jobs`` connections; one waiting for a free connection behind large
ones has not started, and must not time out for it (:class:`Downloader`).

Why no token, ever: a download URL comes from an action's script, i.e. from a third party. Even
a URL on the forge's own host may redirect anywhere, and release assets are public. The token
stays out of every download request (the transport enforces it for ``RequestKind.DOWNLOAD``).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

import httpx

from pinner.errors import RemoteError
from pinner.forge.http import (
    RequestKind,
    RequestSpec,
    TooLargeError,
    Transport,
    is_loopback_host,
    safe_url,
)


@dataclass(frozen=True, slots=True)
class Download:
    """What was downloaded: the URL asked for, where it ended up, and its sha256."""

    url: str
    final_url: str  # after redirects
    sha256: str  # lowercase hex
    size: int  # bytes


class DownloadError(RemoteError):
    """The download host answered with a non-2xx status (``status`` says which)."""

    def __init__(self, message: str, *, status: int | None = None):
        self.status = status
        super().__init__(message)


class _HashSink:
    """sha256 + byte count of a body as it streams, refusing more than ``max_bytes``."""

    def __init__(self, max_bytes: int, url: str):
        self.max_bytes = max_bytes
        self.url = url
        self.size = 0
        self.hasher = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise TooLargeError(
                f"download of {safe_url(self.url)} is too large: more than {self.max_bytes} bytes"
            )
        self.hasher.update(chunk)


async def fetch_hashed(
    url: str, *, max_bytes: int, timeout: float, transport: Transport
) -> Download:
    """Download ``url`` (https, or http to loopback only) and return its sha256 and size.

    Redirects are followed (at most 5, never https -> http except to loopback); failures are
    retried like every other request. ``timeout`` bounds the whole download, retries included,
    from this call on (:class:`Downloader` calls it once a connection slot is free).
    Raises DownloadError for a non-2xx answer, TooLargeError past ``max_bytes``, RemoteError
    for everything else that goes wrong.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise RemoteError(f"not a valid download URL: {url[:200]!r}") from None
    if parsed.scheme != "https" and not (parsed.scheme == "http" and is_loopback_host(parsed.host)):
        raise RemoteError(f"refusing to download {safe_url(parsed)}: https is required")
    spec = RequestSpec(
        method="GET",
        url=url,
        kind=RequestKind.DOWNLOAD,
        # as curl and wget ask by default: the bytes as stored, not compressed for the trip
        headers=(("accept-encoding", "identity"),),
        send_token=False,
        max_bytes=max_bytes,
        what=f"download {safe_url(parsed)}",
    )
    try:
        async with asyncio.timeout(timeout):
            response, sink = await transport.stream(spec, lambda: _HashSink(max_bytes, url))
    except TimeoutError:
        raise RemoteError(
            f"download of {safe_url(parsed)} did not finish within {timeout:g} s"
        ) from None
    if not 200 <= response.status < 300:
        raise DownloadError(
            f"download of {safe_url(parsed)} failed: HTTP {response.status}",
            status=response.status,
        )
    assert isinstance(sink, _HashSink)
    return Download(url=url, final_url=response.url, sha256=sink.hasher.hexdigest(), size=sink.size)


class Downloader:
    """Downloads through one transport, at most ``jobs`` at once, each one's ``timeout``
    counted from the moment it has a connection slot (see the module docstring).

    The transport bounds its requests by ``Settings.jobs`` too; with this transport used for
    downloads only and no more than that many let through here, a download never waits there.
    """

    def __init__(self, transport: Transport, *, max_bytes: int, timeout: float) -> None:
        self._transport = transport
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._slots = asyncio.Semaphore(max(1, transport.settings.jobs))

    async def fetch(self, url: str) -> Download:
        """:func:`fetch_hashed` once a slot is free."""
        async with self._slots:
            return await fetch_hashed(
                url, max_bytes=self._max_bytes, timeout=self._timeout, transport=self._transport
            )
