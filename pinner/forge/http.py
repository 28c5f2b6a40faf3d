"""The one HTTP transport every forge channel and download goes through.

Why one transport: a run talks to the API, the git endpoint, the raw-content host and
arbitrary download hosts concurrently. Sharing one connection pool, one concurrency bound,
one retry policy and one place that decides *where the token may go* keeps those rules in a
single auditable spot instead of spread over every caller.

Guarantees:

* at most ``Settings.jobs`` requests on the wire at once (a semaphore; backoff sleeps do not
  hold a slot);
* the same request in flight twice is sent once (single-flight by method, URL, body, headers);
* 5xx, 429, connection resets, read errors, timeouts and truncated bodies are retried with
  exponential backoff and full jitter, within ``Settings.max_retry_time`` in total;
* rate limits (403/429 with ``x-ratelimit-remaining: 0``, ``retry-after``, or GitHub's
  "secondary rate limit" message) are waited out when the reset is near, else reported as
  :class:`~pinner.errors.RateLimitError` with the reset time;
* the token goes only to ``Settings.urls.token_hosts``, never across a redirect to another
  host, never to downloads, and never into an error message (errors carry URLs without their
  query strings, and any foreign text is scrubbed of the token before it is quoted);
* redirects are followed by hand (at most 5) so the rules above hold on every hop; an
  https -> http downgrade is refused unless the target is loopback.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import enum
import functools
import json
import logging
import random
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

from pinner import __version__
from pinner.errors import OfflineMiss, RateLimitError, RemoteError, TooLargeError
from pinner.settings import Settings

log = logging.getLogger("pinner.forge")

MAX_REDIRECTS = 5
"""Redirect hops followed per request; more is a loop or an attack."""

ERROR_BODY_LIMIT = 256 * 1024
"""How much of a non-2xx body is kept (enough for GitHub's JSON error messages)."""

DEFAULT_MAX_BODY = 64 * 1024 * 1024
"""Default cap for a 2xx body read into memory; callers pass tighter caps where they know better."""

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_USER_AGENT = f"pinner/{__version__} (+https://github.com/pinner)"

Sleep = Callable[[float], Awaitable[None]]


class RequestKind(enum.Enum):
    """Which channel a request belongs to: counted separately for stats and benchmarks."""

    REST = "rest"
    GRAPHQL = "graphql"
    GIT = "git"
    RAW = "raw"
    DOWNLOAD = "download"
    REGISTRY = "registry"  # container registries (pinner.registry): never the GitHub token


class _Retryable(Exception):
    """One attempt failed in a way worth retrying; ``reason`` is safe to show."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


# ----------------------------------------------------------------------------- small helpers


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the only hosts plain http is allowed to."""
    host = host.lower().strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def host_key(url: str | httpx.URL) -> str:
    """``host[:port]`` of ``url``, lowercase, the port only when not the scheme's default.

    The token decision compares these, so ``https://GitHub.com:443/x`` and
    ``https://github.com/y`` are the same host and ``http://127.0.0.1:8080`` differs from
    ``http://127.0.0.1:9090``.
    """
    u = url if isinstance(url, httpx.URL) else httpx.URL(url)
    host = u.host.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{u.port}" if u.port is not None else host


def safe_url(url: str | httpx.URL) -> str:
    """``url`` without userinfo, query or fragment: what error messages may show."""
    u = url if isinstance(url, httpx.URL) else httpx.URL(url)
    return f"{u.scheme}://{host_key(u)}{u.path}"


def _secret_forms(token: str | None) -> tuple[str, ...]:
    if not token:
        return ()
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return (token, basic)


def redact(text: str, token: str | None) -> str:
    """``text`` with the token (and its Basic-auth encoding) replaced by ``***``."""
    for form in _secret_forms(token):
        text = text.replace(form, "***")
    return text


def _format_wait(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"in {minutes} minute{'s' if minutes != 1 else ''}"


def _local_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).astimezone().strftime("%H:%M %Z").strip()


def _parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Response:
    """A fully read response: the transport never hands out a half-read stream."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str  # final URL after redirects
    request_url: str  # the URL asked for

    def json(self, what: str) -> Any:
        """Decode the body as JSON; garbage is the forge's fault, so a RemoteError."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[..."
            raise RemoteError(
                f"{what}: invalid JSON from {safe_url(self.url)} (HTTP {self.status})"
            ) from None


@dataclass(slots=True)
class RequestStats:
    """What the transport did during a run: for ``--verbose`` and the benchmark.

    ``sent`` counts HTTP requests that went on the wire (every retry and redirect hop
    included), by :class:`RequestKind` value.
    """

    sent: dict[str, int] = field(default_factory=lambda: {k.value: 0 for k in RequestKind})
    retries: int = 0
    redirects: int = 0
    deduplicated: int = 0  # requests answered by an identical one already in flight
    rate_limit_waits: int = 0
    cache_hits: int = 0  # fresh cache entries used with no request
    revalidated: int = 0  # 304 Not Modified answers (no API quota spent)
    bytes_received: int = 0

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def summary(self) -> str:
        """One line for ``--verbose``: ``12 requests (rest 3, git 5, raw 4); retries 2``."""
        by_kind = ", ".join(f"{kind} {n}" for kind, n in self.sent.items() if n)
        parts = [f"{self.total} request{'s' if self.total != 1 else ''}"]
        if by_kind:
            parts[0] += f" ({by_kind})"
        extras = {
            "retries": self.retries,
            "redirects": self.redirects,
            "deduplicated": self.deduplicated,
            "rate-limit waits": self.rate_limit_waits,
            "cache hits": self.cache_hits,
            "revalidated (304)": self.revalidated,
        }
        parts += [f"{label} {n}" for label, n in extras.items() if n]
        return "; ".join(parts)

    def as_dict(self) -> dict[str, int]:
        """Flat mapping, e.g. for JSON output: ``rest``, ``git``, ... plus the other counters."""
        return {
            **self.sent,
            "total": self.total,
            "retries": self.retries,
            "redirects": self.redirects,
            "deduplicated": self.deduplicated,
            "rate_limit_waits": self.rate_limit_waits,
            "cache_hits": self.cache_hits,
            "revalidated": self.revalidated,
            "bytes_received": self.bytes_received,
        }


class BodySink(Protocol):
    """Where a 2xx body goes while it streams in (memory buffer, or a hasher for downloads)."""

    def write(self, chunk: bytes) -> None: ...


class BufferSink:
    """Collects the body in memory, refusing more than ``max_bytes``."""

    def __init__(self, max_bytes: int, what: str):
        self.max_bytes = max_bytes
        self.what = what
        self.size = 0
        self._parts: list[bytes] = []

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise TooLargeError(f"{self.what} is too large (more than {self.max_bytes} bytes)")
        self._parts.append(chunk)

    def value(self) -> bytes:
        return b"".join(self._parts)


@dataclass(frozen=True, slots=True)
class HostCredential:
    """An ``Authorization`` header value bound to the one ``host[:port]`` it belongs to.

    Why bound: a registry's bearer token or a user's registry password must reach that
    registry (or the token realm it names) and nothing else, not even across a redirect to a
    CDN. The transport attaches it only when the request's host is ``host``
    (:func:`host_key` form), on every hop.
    """

    host: str
    header: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """Everything that defines one logical request (and its single-flight identity)."""

    method: str
    url: str
    kind: RequestKind
    headers: tuple[tuple[str, str], ...] = ()
    content: bytes | None = None
    send_token: bool = True  # False: never authenticate, whatever the host
    max_bytes: int = DEFAULT_MAX_BODY
    credential: HostCredential | None = None  # instead of the token: only to its own host
    # human description for error messages, e.g. "list refs of o/r"; not part of the identity
    what: str = field(default="", compare=False)


# ----------------------------------------------------------------------------- the transport


class Transport:
    """Shared async HTTP client with retries, rate-limit handling and token scoping.

    Use as ``async with Transport(settings) as t`` or call :meth:`aclose`. ``sleep``,
    ``clock`` (monotonic), ``wall`` (epoch) and ``jitter`` (0..1) are injectable so tests run
    instantly and deterministically; ``client`` lets tests pass a mocked ``httpx.AsyncClient``.
    Without one, the HTTP clients (and the TLS context) are built by the first request that
    needs them, so a run that asks nothing, or only plain http, never pays for TLS.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        backoff_base: float | None = None,  # default: Settings.retry_backoff
        backoff_max: float = 16.0,
        rate_limit_max_wait: float | None = None,
        max_rate_limit_waits: int = 3,
    ):
        self.settings = settings
        # An injected client (tests: a mocked one) serves every request. Otherwise the clients
        # are built on first use, one per scheme (see _client_for).
        self._injected_client = client
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._closed = False
        self._sleep = sleep
        self._clock = clock
        self._wall = wall
        self._jitter = jitter
        self.backoff_base = backoff_base if backoff_base is not None else settings.retry_backoff
        self.backoff_max = backoff_max
        self.rate_limit_max_wait = (
            rate_limit_max_wait if rate_limit_max_wait is not None else settings.rate_limit_max_wait
        )
        self.max_rate_limit_waits = max_rate_limit_waits
        self._semaphore = asyncio.Semaphore(max(1, settings.jobs))
        self._inflight: dict[RequestSpec, asyncio.Future[Response]] = {}
        self.stats = RequestStats()
        self._token: str | None = str(settings.token) if settings.token else None
        self._token_hosts = self._normalise_token_hosts(settings)

    # -- lifecycle

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the clients this transport built (an injected one belongs to its owner)."""
        self._closed = True
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def __repr__(self) -> str:  # never show the settings (token) or headers
        return f"<Transport jobs={self.settings.jobs} sent={self.stats.total}>"

    def _client_for(self, url: httpx.URL) -> httpx.AsyncClient:
        """The client for ``url``'s scheme, built on the first request that needs it.

        Why lazily and per scheme: the verifying TLS context loads the CA bundle, about 0.05 s
        of CPU, and many runs never make an https request (a warm cache answers everything;
        the test emulator is plain http on loopback). https requests get :func:`_tls_context`,
        the same verifying context for every one of them. Plain http (loopback only, checked
        before we get here) gets a client whose context trusts no certificate at all: if an
        https URL ever reached it, the handshake would fail, never go unverified.
        """
        if self._injected_client is not None:
            return self._injected_client
        if self._closed:
            raise RuntimeError("the transport is closed")
        client = self._clients.get(url.scheme)
        if client is None:
            verify = _tls_context() if url.scheme == "https" else _trust_nothing_context()
            client = self._clients[url.scheme] = httpx.AsyncClient(
                http1=True,
                follow_redirects=False,
                timeout=httpx.Timeout(self.settings.timeout),
                limits=httpx.Limits(
                    max_connections=self.settings.jobs,
                    max_keepalive_connections=self.settings.jobs,
                ),
                headers={"User-Agent": _USER_AGENT},
                verify=verify,
                # trust_env: honour HTTPS_PROXY/NO_PROXY (corporate networks; SSL_CERT_FILE is
                # honoured by _tls_context); httpx no longer reads .netrc, so no credentials
                # come from the environment
                trust_env=True,
            )
        return client

    # -- token scoping

    @staticmethod
    def _normalise_token_hosts(settings: Settings) -> frozenset[str]:
        hosts: set[str] = set()
        urls = settings.urls
        for base in (urls.server, urls.api, urls.raw):
            hosts.add(host_key(base))
        for entry in urls.token_hosts:
            # token_hosts are raw netlocs; an explicit default port must still match
            for scheme in ("https", "http"):
                try:
                    hosts.add(host_key(f"{scheme}://{entry}/"))
                except (httpx.InvalidURL, ValueError):
                    continue
        return frozenset(hosts)

    @property
    def authenticated(self) -> bool:
        return self._token is not None

    def may_send_token(self, url: str | httpx.URL) -> bool:
        """True when ``url``'s host is one the token is configured for."""
        return self._token is not None and host_key(url) in self._token_hosts

    def _auth_header(self, kind: RequestKind) -> dict[str, str]:
        assert self._token is not None
        if kind is RequestKind.GIT:
            # git smart HTTP: send Basic preemptively; GitHub throttles anonymous git
            basic = base64.b64encode(f"x-access-token:{self._token}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        return {"Authorization": f"Bearer {self._token}"}

    def scrub(self, text: str) -> str:
        """Remove the token from foreign text before it goes into a message."""
        return redact(text, self._token)

    # -- public API

    async def request(
        self,
        method: str,
        url: str,
        *,
        kind: RequestKind,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        send_token: bool = True,
        max_bytes: int = DEFAULT_MAX_BODY,
        what: str = "",
        credential: HostCredential | None = None,
    ) -> Response:
        """Send one logical request (retries, redirects, rate limits handled) and read it.

        Returns any final status (2xx, 304, 4xx): interpreting it is the caller's business.
        Raises RemoteError (incl. RateLimitError, TooLargeError), OfflineMiss in offline mode.
        ``credential`` authenticates instead of the token, only to its own host; registry
        requests never carry the GitHub token.
        """
        spec = RequestSpec(
            method=method.upper(),
            url=url,
            kind=kind,
            headers=tuple(sorted((k.lower(), v) for k, v in (headers or {}).items())),
            content=content,
            send_token=send_token and kind not in _NO_TOKEN_KINDS and credential is None,
            max_bytes=max_bytes,
            what=what or f"{method.upper()} {safe_url(url)}",
            credential=credential,
        )
        existing = self._inflight.get(spec)
        if existing is not None:
            self.stats.deduplicated += 1
            return await asyncio.shield(existing)
        task = asyncio.ensure_future(self._request_with_retries(spec))
        self._inflight[spec] = task
        task.add_done_callback(lambda t: self._settled(spec, t))
        return await asyncio.shield(task)

    def _settled(self, spec: RequestSpec, task: asyncio.Future[Response]) -> None:
        self._inflight.pop(spec, None)
        if not task.cancelled():
            task.exception()  # mark retrieved: every waiter may have been cancelled meanwhile

    async def stream(
        self, spec: RequestSpec, sink_factory: Callable[[], BodySink]
    ) -> tuple[Response, BodySink]:
        """Like :meth:`request` but a 2xx body goes into a fresh sink per attempt (downloads).

        Not single-flighted: each caller gets its own sink.
        """
        return await self._with_retries(spec, sink_factory)

    # -- machinery

    async def _request_with_retries(self, spec: RequestSpec) -> Response:
        response, _sink = await self._with_retries(
            spec, lambda: BufferSink(spec.max_bytes, spec.what)
        )
        return response

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
        return self._jitter() * min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))

    async def _with_retries(
        self, spec: RequestSpec, sink_factory: Callable[[], BodySink]
    ) -> tuple[Response, BodySink]:
        if self.settings.offline:
            raise OfflineMiss(f"--offline: {spec.what} is not in the cache ({safe_url(spec.url)})")
        start = self._clock()
        attempt = 0
        rate_waits = 0
        while True:
            attempt += 1
            sink = sink_factory()
            try:
                async with self._semaphore:
                    response = await self._send_following_redirects(spec, sink)
            except _Retryable as exc:
                reason, retry_after = exc.reason, exc.retry_after
            else:
                limited = self._rate_limit_wait(response, spec.kind)
                if limited is not None:
                    wait, message = limited
                    if wait <= self.rate_limit_max_wait and rate_waits < self.max_rate_limit_waits:
                        rate_waits += 1
                        self.stats.rate_limit_waits += 1
                        log.info("%s; waiting %.0f s", message, wait)
                        await self._sleep(wait)
                        continue
                    raise RateLimitError(message, reset_at=self._wall() + wait)
                if not _retryable_status(response.status):
                    return response, sink
                reason = f"HTTP {response.status}"
                retry_after = _parse_retry_after(response.headers.get("retry-after"), self._wall())
            delay = self._backoff(attempt)
            if retry_after is not None:
                delay = max(delay, retry_after)
            if self._clock() - start + delay > self.settings.max_retry_time:
                tries = f"{attempt} tr{'y' if attempt == 1 else 'ies'}"
                where = safe_url(spec.url)
                where = "" if where in spec.what else f" on {where}"
                raise RemoteError(f"{spec.what} failed: {reason}{where} after {tries}")
            self.stats.retries += 1
            log.debug("%s: %s; retry %d in %.2f s", spec.what, reason, attempt, delay)
            await self._sleep(delay)

    async def _send_following_redirects(self, spec: RequestSpec, sink: BodySink) -> Response:
        method, url, content = spec.method, httpx.URL(spec.url), spec.content
        origin = host_key(url)
        for hop in range(MAX_REDIRECTS + 1):
            if url.scheme not in ("https", "http"):
                raise RemoteError(f"{spec.what}: unsupported URL scheme {url.scheme!r}")
            if url.scheme == "http" and not is_loopback_host(url.host):
                raise RemoteError(
                    f"{spec.what}: refusing plain http to {safe_url(url)} (https required)"
                )
            # credentials only ever come from _auth_header, never from a caller's headers
            headers = {k: v for k, v in spec.headers if k not in ("authorization", "cookie")}
            if spec.credential is not None:
                if host_key(url) == spec.credential.host:
                    headers["authorization"] = spec.credential.header
            elif (
                spec.send_token
                and spec.kind not in _NO_TOKEN_KINDS
                and host_key(url) == origin
                and self.may_send_token(url)
            ):
                headers.update(self._auth_header(spec.kind))
            client = self._client_for(url)
            self.stats.sent[spec.kind.value] += 1
            request = client.build_request(method, url, headers=headers, content=content)
            try:
                raw = await client.send(request, stream=True)
            except httpx.TimeoutException:
                raise _Retryable("timed out") from None
            except httpx.ConnectError as exc:
                if _unknown_host(exc):
                    # DNS says the name does not exist: retrying for a minute will not change
                    # that (no network, or a typo in --server-url), so say it at once.
                    wrong = (
                        "image name"
                        if spec.kind is RequestKind.REGISTRY
                        else "--server-url/--api-url"
                    )
                    raise RemoteError(
                        f"cannot resolve host {httpx.URL(url).host}: no network, or a wrong "
                        f"{wrong}?"
                    ) from None
                raise _Retryable(self._describe(exc)) from None
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                raise _Retryable(self._describe(exc)) from None
            except httpx.HTTPError as exc:
                raise RemoteError(
                    f"{spec.what}: {self._describe(exc)} on {safe_url(url)}"
                ) from None
            try:
                if raw.status_code in _REDIRECT_STATUSES and "location" in raw.headers:
                    target = self._redirect_target(spec, url, raw.headers["location"])
                    self.stats.redirects += 1
                    # Only 303 turns a POST into a GET: git's ls-refs POST must survive a
                    # 301/302 (renamed repository) with its body, as git's own client does.
                    if raw.status_code == 303:
                        method, content = "GET", None
                    log.debug(
                        "%s: HTTP %d redirect to %s", spec.what, raw.status_code, safe_url(target)
                    )
                    url = target
                    if hop == MAX_REDIRECTS:
                        break
                    continue
                ok = 200 <= raw.status_code < 300
                body_sink: BodySink = sink if ok else BufferSink(ERROR_BODY_LIMIT, spec.what)
                body = await self._read_body(raw, body_sink, spec, ok=ok)
                return Response(
                    status=raw.status_code,
                    headers=raw.headers,
                    body=body,
                    url=str(url),
                    request_url=spec.url,
                )
            finally:
                await raw.aclose()
        raise RemoteError(
            f"{spec.what}: more than {MAX_REDIRECTS} redirects from {safe_url(spec.url)}"
        )

    def _redirect_target(self, spec: RequestSpec, current: httpx.URL, location: str) -> httpx.URL:
        try:
            target = current.join(location)
        except (httpx.InvalidURL, ValueError):
            raise RemoteError(f"{spec.what}: invalid redirect from {safe_url(current)}") from None
        if target.scheme not in ("https", "http"):
            raise RemoteError(f"{spec.what}: redirect to unsupported scheme {target.scheme!r}")
        if (
            current.scheme == "https"
            and target.scheme == "http"
            and not is_loopback_host(target.host)
        ):
            raise RemoteError(
                f"{spec.what}: refusing redirect from https to plain http ({safe_url(target)})"
            )
        return target

    async def _read_body(
        self, raw: httpx.Response, sink: BodySink, spec: RequestSpec, *, ok: bool
    ) -> bytes:
        """Stream the body into ``sink``; detect truncation against Content-Length.

        A download's body is taken as served, never decoded: its hash must be that of the
        bytes ``curl -o`` saves, even from a server that compresses whatever it is asked.
        """
        kept = 0
        chunks = raw.aiter_raw() if spec.kind is RequestKind.DOWNLOAD else raw.aiter_bytes()
        try:
            async for chunk in chunks:
                self.stats.bytes_received += len(chunk)
                if ok:
                    sink.write(chunk)
                elif kept < ERROR_BODY_LIMIT:  # error bodies: keep the start, drop the rest
                    sink.write(chunk[: ERROR_BODY_LIMIT - kept])
                    kept += len(chunk)
        except httpx.TimeoutException:
            raise _Retryable("timed out reading the body") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Retryable(self._describe(exc)) from None
        except httpx.DecodingError:
            raise _Retryable("undecodable (corrupt) body") from None
        declared = raw.headers.get("content-length")
        if (
            ok
            and spec.method != "HEAD"  # a HEAD's Content-Length is the GET's; no body follows
            and declared is not None
            and declared.isdigit()
            and raw.num_bytes_downloaded < int(declared)
        ):
            raise _Retryable(f"truncated body ({raw.num_bytes_downloaded} of {declared} bytes)")
        return sink.value() if isinstance(sink, BufferSink) else b""

    def _describe(self, exc: BaseException) -> str:
        """A one-line, token-free description of an httpx exception."""
        detail = self.scrub(str(exc)).splitlines()[0] if str(exc) else ""
        name = type(exc).__name__
        return f"{name}: {detail}" if detail else name

    def _rate_limit_wait(
        self, response: Response, kind: RequestKind = RequestKind.REST
    ) -> tuple[float, str] | None:
        """(seconds to wait, message if we won't) when ``response`` is a rate-limit answer.

        GitHub says it with ``x-ratelimit-*`` (reset as an epoch); registries with the IETF
        ``RateLimit-*`` fields (Docker Hub: ``ratelimit-remaining: 0;w=21600``, a reset in
        seconds when given, else at most the window ``w``).
        """
        if response.status not in (403, 429) and not _graphql_rate_limited(response):
            return None
        headers = response.headers
        now = self._wall()
        registry = kind is RequestKind.REGISTRY
        remaining = headers.get("x-ratelimit-remaining")
        if remaining is None and registry:
            remaining = headers.get("ratelimit-remaining")
        retry_after = _parse_retry_after(headers.get("retry-after"), now)
        secondary = not registry and b"secondary rate limit" in response.body.lower()
        primary = remaining is not None and remaining.split(";")[0].strip() == "0"
        if registry and response.status == 429:
            primary = True  # a registry's 429 is its rate limit, with or without headers
        if not (primary or secondary or retry_after is not None):
            return None
        by = ""
        if retry_after is not None:
            wait = retry_after
        elif primary and (reset := headers.get("x-ratelimit-reset", "").strip()).isdigit():
            wait = max(0.0, int(reset) - now) + 1.0  # reset is whole seconds; round up
        elif registry and (reset := _ietf_seconds(headers.get("ratelimit-reset"))) is not None:
            wait = reset + 1.0
        elif registry and (window := _ietf_window(headers)) is not None:
            wait, by = window, "by "  # the window's length bounds when the oldest pull ages out
        else:
            wait = 60.0  # GitHub: "wait at least one minute" for secondary limits
        what = "secondary rate limit" if secondary else "rate limit"
        host = host_key(response.request_url)
        message = (
            f"{'registry' if registry else 'GitHub'} {what} exceeded on {host}: resets "
            f"{by or 'at '}{_local_time(now + wait)} ({_format_wait(wait)})"
        )
        if registry:
            message += "; registry credentials (--registry-auth) usually raise the limit"
        elif not self.authenticated:
            message += "; set a token (GITHUB_TOKEN, GH_TOKEN or --token) to raise the limit"
        return wait, message


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process (building one loads the CA bundle: ~0.1 s).

    Same trust as httpx's default: certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set.
    """
    return httpx.create_ssl_context(trust_env=True)


@functools.cache
def _trust_nothing_context() -> ssl.SSLContext:
    """A TLS context that verifies and trusts no CA: for the plain-http client, which must
    never speak TLS, so that it fails closed if it ever did. Cheap: no CA bundle is loaded."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.verify_mode = ssl.CERT_REQUIRED  # the defaults of PROTOCOL_TLS_CLIENT, said out loud
    context.check_hostname = True
    return context


def _unknown_host(exc: BaseException) -> bool:
    """True when a connection failed because DNS says the host name does not exist.

    Temporary resolver failures (``EAI_AGAIN``) are not included: those are worth a retry.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return current.errno in _DEFINITIVE_DNS_ERRORS
        current = current.__cause__ or current.__context__
    text = str(exc)  # the cause is not always chained (anyio, mocks): read the message too
    code = re.match(r"\[Errno (-?\d+)\]", text)
    if code and int(code.group(1)) in _DEFINITIVE_DNS_ERRORS:
        return True
    return "Name or service not known" in text or "nodename nor servname" in text


_DEFINITIVE_DNS_ERRORS = frozenset(
    code
    for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None))
    if code is not None
)


_NO_TOKEN_KINDS = frozenset({RequestKind.DOWNLOAD, RequestKind.REGISTRY})
"""Channels the GitHub token never goes to, whatever the host."""


def _ietf_seconds(value: str | None) -> float | None:
    """Seconds from an IETF ``RateLimit-Reset`` field (``60`` or ``60;...``), else None."""
    if not value:
        return None
    head = value.split(";")[0].split(",")[0].strip()
    return float(head) if head.isdigit() else None


def _ietf_window(headers: httpx.Headers) -> float | None:
    """The window ``w=SECONDS`` of ``RateLimit-Limit``/``-Remaining`` (Docker Hub), else None."""
    for name in ("ratelimit-remaining", "ratelimit-limit"):
        match = re.search(r"\bw=(\d+)", headers.get(name, ""))
        if match:
            return float(match.group(1))
    return None


def _graphql_rate_limited(response: Response) -> bool:
    """GitHub's GraphQL says "primary rate limit exhausted" with HTTP 200: an error of type
    ``RATE_LIMITED`` in the body and ``x-ratelimit-remaining: 0``."""
    return (
        response.status == 200
        and response.headers.get("x-ratelimit-remaining", "").strip() == "0"
        and b'"RATE_LIMITED"' in response.body
    )


def _retryable_status(status: int) -> bool:
    return status == 429 or (status >= 500 and status not in (501, 505))


__all__ = [
    "MAX_REDIRECTS",
    "BodySink",
    "BufferSink",
    "HostCredential",
    "RequestKind",
    "RequestSpec",
    "RequestStats",
    "Response",
    "TooLargeError",
    "Transport",
    "host_key",
    "is_loopback_host",
    "redact",
    "safe_url",
]
