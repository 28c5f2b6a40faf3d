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
  exponential backoff and full jitter, within ``Settings.max_retry_time`` in total; each wait
  is announced (one stderr line) with ``Settings.announce_retries``;
* a host that cannot be reached at all fails fast instead: a refused connection is tried
  :data:`CONNECT_ATTEMPTS` times, a few seconds in all; a name DNS does not know and a TLS
  certificate that is not accepted are not retried. The host is then remembered as down for
  the run (every later request to it fails at once), and for the forge's own hosts the error
  is :class:`~pinner.errors.ForgeUnreachable`, which ends the run with one line;
* every attempt has a total deadline (``Settings.timeout``, from connecting to the last byte),
  so a server that trickles one byte a second cannot hold a request; and the run as a whole
  has one (``Settings.deadline``): past it, every request fails with
  :class:`~pinner.errors.DeadlineExceeded`;
* rate limits (403/429 with ``x-ratelimit-remaining: 0``, ``retry-after``, or GitHub's
  "secondary rate limit" message) are waited out when the reset is near, else reported as
  :class:`~pinner.errors.RateLimitError` with the reset time;
* the token goes only to ``Settings.urls.token_hosts``, never across a redirect to another
  host, never to downloads, and never into an error message (errors carry URLs without their
  query strings, and any foreign text is scrubbed of the token before it is quoted); a
  response that echoes it (body or headers) has it replaced by ``***`` before anyone, the
  cache included, sees the response;
* redirects are followed by hand (at most 5) so the rules above hold on every hop; an
  https -> http downgrade is refused unless the target is loopback; plain http goes only to
  literal loopback addresses, and never through a proxy from the environment (a proxy would
  see the token in clear text).
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import enum
import errno
import functools
import json
import logging
import random
import re
import socket
import ssl
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

from pinner import PROJECT_URL, __version__
from pinner.errors import (
    DeadlineExceeded,
    ForgeUnreachable,
    OfflineMiss,
    RateLimitError,
    RemoteError,
    TokenRejected,
    TooLargeError,
)
from pinner.sanitize import for_terminal
from pinner.settings import MIN_TOKEN_LENGTH, Settings, is_loopback_host

log = logging.getLogger("pinner.forge")

MAX_REDIRECTS = 5
"""Redirect hops followed per request; more is a loop or an attack."""

ERROR_BODY_LIMIT = 256 * 1024
"""How much of a non-2xx body is kept (enough for GitHub's JSON error messages)."""

DEFAULT_MAX_BODY = 64 * 1024 * 1024
"""Default cap for a 2xx body read into memory; callers pass tighter caps where they know better."""

CONNECT_ATTEMPTS = 4
"""Tries to open a connection before its host counts as down. A refused connection means no
server listens: the waits between tries (0.5, 1 and 2 s, with jitter halving them at most) ride
out a server restarting, and a dead server is reported within seconds, not after a minute."""

CONNECT_TIMEOUT = 10.0
"""Seconds to open a connection (TCP and TLS): a healthy host needs well under one."""

HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
"""What a captive portal or a login page answers with: never a file, nor an API's answer."""

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_USER_AGENT = f"pinner/{__version__} (+{PROJECT_URL})"

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
    """One attempt failed in a way worth retrying; ``reason`` and ``event`` are safe to show.

    ``reason`` goes into the final error (``HTTP 502``), ``event`` into the line announcing a
    wait (``GitHub answered 502``). ``connect``: no connection could be opened at all, so the
    host may be down (see :data:`CONNECT_ATTEMPTS`).
    """

    def __init__(
        self,
        reason: str,
        event: str,
        *,
        host: str = "",
        connect: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(reason)
        self.reason = reason
        self.event = event
        self.host = host
        self.connect = connect
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class _Down:
    """Why a host cannot be reached in this run, and what a user of the forge should check."""

    host: str
    why: str  # "cannot connect to 127.0.0.1:1 (connection refused, 4 tries)"
    hint: str = ""  # for the forge's own hosts: "is the server down, or --server-url wrong?"


class _Unreachable(Exception):
    """A host cannot be reached and retrying will not change that (DNS, TLS, refused)."""

    def __init__(self, down: _Down):
        super().__init__(down.why)
        self.down = down


# ----------------------------------------------------------------------------- small helpers


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


class Redactor:
    """Replaces the token, and its Basic-auth encoding, by ``***`` in text and in bytes.

    Only the token as a whole is replaced, never a part of it. A token shorter than
    :data:`~pinner.settings.MIN_TOKEN_LENGTH` (the command line refuses those; a caller building
    Settings by hand may not) is replaced only where it stands alone, not inside a longer word:
    otherwise a one-letter token would turn every message into asterisks.
    """

    def __init__(self, token: str | None):
        self._forms: list[str] = []
        self._alone: list[re.Pattern[str]] = []  # short forms: replaced only standing alone
        if not token:
            return
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        for form in (token, basic):
            if len(form) >= MIN_TOKEN_LENGTH:
                self._forms.append(form)
            else:
                self._alone.append(
                    re.compile(rf"(?<![A-Za-z0-9_]){re.escape(form)}(?![A-Za-z0-9_])")
                )
        self._form_bytes = [f.encode() for f in self._forms]
        self._alone_bytes = [re.compile(p.pattern.encode()) for p in self._alone]

    def text(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, "***")
        for pattern in self._alone:
            text = pattern.sub("***", text)
        return text

    def data(self, data: bytes) -> bytes:
        for form in self._form_bytes:
            data = data.replace(form, b"***")
        for pattern in self._alone_bytes:
            data = pattern.sub(b"***", data)
        return data

    def headers(self, headers: httpx.Headers) -> httpx.Headers:
        """``headers`` with the token replaced in every value (the same object when absent)."""
        items = headers.raw
        if all(self.data(value) == value for _, value in items):
            return headers
        return httpx.Headers([(name, self.data(value)) for name, value in items])


_LINK_RE = re.compile(r'<([^>]*)>\s*((?:;\s*[a-zA-Z]+\s*=\s*"?[^",;]*"?\s*)*)')


def next_link(link_header: str | None) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header (RFC 8288) as written, if any: GitHub
    gives absolute URLs, registries paths on their own host."""
    if not link_header:
        return None
    for match in _LINK_RE.finditer(link_header):
        url, params = match.group(1), match.group(2)
        rels = re.findall(r'rel\s*=\s*"?([^",;]*)"?', params)
        if any("next" in rel.split() for rel in rels):
            return url
    return None


def redact(text: str, token: str | None) -> str:
    """``text`` with the token (and its Basic-auth encoding) replaced by ``***``."""
    return Redactor(token).text(text)


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

    @property
    def from_another_host(self) -> bool:
        """Whether a redirect took the request to another host than the one asked: its
        answer is not the forge's word (see :func:`pinner.forge.base.answered_elsewhere`)."""
        return host_key(self.url) != host_key(self.request_url)

    @property
    def media_type(self) -> str:
        """``Content-Type`` without its parameters, in lower case (``text/plain``)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

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
    ``notify`` receives each line announcing a retry or a wait (given, it is always called;
    by default the lines go to stderr when ``Settings.announce_retries`` says so).
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
        notify: Callable[[str], None] | None = None,
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
        self._redactor = Redactor(self._token)
        # answers are scrubbed of a token of a real token's length only: a shorter one (the
        # command line refuses those) could stand alone in an answer by chance, a ref name say
        self._scrub_answers = self._token is not None and len(self._token) >= MIN_TOKEN_LENGTH
        self._token_hosts = self._normalise_token_hosts(settings)
        self._forge_hosts = self._token_hosts  # the forge's own hosts, token or not
        self._notify = notify if notify is not None else _stderr_notice
        self._announce_retries = settings.announce_retries or notify is not None
        # hosts found down in this run (host_key -> why): later requests fail at once
        self._down: dict[str, _Down] = {}
        self._announced_connects: set[tuple[str, int]] = set()
        self._deadline_at = clock() + settings.deadline if settings.deadline else None

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
            https = url.scheme == "https"
            timeout = self.settings.timeout
            client = self._clients[url.scheme] = httpx.AsyncClient(
                http1=True,
                follow_redirects=False,
                timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
                limits=httpx.Limits(
                    max_connections=self.settings.jobs,
                    max_keepalive_connections=self.settings.jobs,
                ),
                headers={"User-Agent": _USER_AGENT},
                verify=_tls_context() if https else _trust_nothing_context(),
                # https: honour HTTPS_PROXY/NO_PROXY (corporate networks; SSL_CERT_FILE is
                # honoured by _tls_context): through a proxy, TLS still runs end to end. Plain
                # http goes to loopback only and never through a proxy: httpx would hand an
                # HTTP_PROXY the whole request, the token in clear text included. httpx no
                # longer reads .netrc, so no credentials come from the environment.
                trust_env=https,
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

    def _token_rejected(self, spec: RequestSpec, response: Response) -> bool:
        """A 401 to a REST or git request that carried the token: GitHub's "Bad credentials".

        Without a token, git's 401 means "no such repository" and is its caller's to read;
        GraphQL's 401 only switches GraphQL off (git and REST then meet the token again)."""
        return (
            response.status == 401
            and spec.send_token
            and spec.kind is not RequestKind.GRAPHQL
            and self.may_send_token(response.url)
        )

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
        return self._redactor.text(text)

    def _who(self, url: str | httpx.URL) -> str:
        """How an announcement names a host: "GitHub" for the forge's own, else the host."""
        host = host_key(url)
        return "GitHub" if host in self._forge_hosts else host

    def _announce(self, line: str) -> None:
        """One line about a retry or a wait: in the log always, on stderr when wanted."""
        log.info("%s", line)
        if self._announce_retries:
            self._notify(for_terminal(self.scrub(line), single_line=True))

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
        connect_failures = 0
        rate_waits = 0
        while True:
            attempt += 1
            self._check_deadline(spec)
            sink = sink_factory()
            try:
                async with self._semaphore:
                    response = await self._attempt(spec, sink)
            except _Retryable as exc:
                failure = exc
            except _Unreachable as exc:
                raise self._unreachable_error(spec, exc.down) from None
            else:
                limited = self._rate_limit_wait(response, spec.kind)
                if limited is not None:
                    wait, message = limited
                    left = self._run_time_left()
                    if (
                        wait <= self.rate_limit_max_wait
                        and rate_waits < self.max_rate_limit_waits
                        and (left is None or wait < left)
                    ):
                        rate_waits += 1
                        self.stats.rate_limit_waits += 1
                        self._announce(f"{message}; waiting {_seconds(wait)}")
                        await self._sleep(wait)
                        continue
                    raise RateLimitError(message, reset_at=self._wall() + wait)
                if self._token_rejected(spec, response):
                    raise TokenRejected(safe_url(response.url))  # every request would meet it
                if not _retryable_status(response.status):
                    return response, sink
                failure = _Retryable(
                    f"HTTP {response.status}",
                    f"{self._who(response.url)} answered {response.status}",
                    retry_after=_parse_retry_after(
                        response.headers.get("retry-after"), self._wall()
                    ),
                )
            if failure.connect:
                connect_failures += 1
                delay = self._connect_backoff(connect_failures)
            else:
                connect_failures = 0
                delay = self._backoff(attempt)
            if failure.retry_after is not None:
                delay = max(delay, failure.retry_after)
            tries = f"{attempt} tr{'y' if attempt == 1 else 'ies'}"
            if failure.connect and (
                connect_failures >= CONNECT_ATTEMPTS
                or self._clock() - start + delay > self.settings.max_retry_time
            ):
                down = self._down[failure.host] = _Down(
                    failure.host,
                    f"cannot connect to {failure.host} ({failure.reason}, {tries})",
                    "is the server down, or --server-url wrong?",
                )
                raise self._unreachable_error(spec, down)
            if self._clock() - start + delay > self.settings.max_retry_time:
                where = safe_url(spec.url)
                where = "" if where in spec.what else f" on {where}"
                raise RemoteError(f"{spec.what} failed: {failure.reason}{where} after {tries}")
            left = self._run_time_left()
            if left is not None and delay >= left:
                raise self._deadline_error(spec, failure.reason)
            self.stats.retries += 1
            log.debug("%s: %s; retry %d in %.2f s", spec.what, failure.reason, attempt, delay)
            self._announce_retry(failure, attempt, delay, spec)
            await self._sleep(delay)

    def _announce_retry(
        self, failure: _Retryable, attempt: int, delay: float, spec: RequestSpec
    ) -> None:
        """``GitHub answered 502, retrying in 2 s (list refs of o/r)``.

        A host that refuses connections refuses every request alike: its waits are said once
        per host and try, not once per request in flight.
        """
        if failure.connect:
            key = (failure.host, attempt)
            if key in self._announced_connects:
                return
            self._announced_connects.add(key)
            self._announce(f"{failure.event}, retrying in {_seconds(delay)}")
            return
        self._announce(f"{failure.event}, retrying in {_seconds(delay)} ({spec.what})")

    def _connect_backoff(self, failures: int) -> float:
        """Equal jitter: half of 0.5, 1, 2 s fixed, half random. Full jitter could make every
        wait near zero, and a server that is restarting needs a moment to listen again."""
        ceiling = min(self.backoff_max, 0.5 * 2 ** (failures - 1))
        return ceiling / 2 + self._jitter() * ceiling / 2

    def _run_time_left(self) -> float | None:
        return None if self._deadline_at is None else self._deadline_at - self._clock()

    def _check_deadline(self, spec: RequestSpec) -> None:
        left = self._run_time_left()
        if left is not None and left <= 0:
            raise self._deadline_error(spec, None)

    def _deadline_error(self, spec: RequestSpec, last: str | None) -> DeadlineExceeded:
        why = f" (last answer: {last})" if last else ""
        return DeadlineExceeded(
            f"the run reached its deadline of {self.settings.deadline:g} s while waiting for "
            f"{spec.what}{why}; allow more with --deadline SECONDS or PINNER_DEADLINE"
        )

    def _unreachable_error(self, spec: RequestSpec, down: _Down) -> RemoteError:
        """For the forge's own hosts, an error that ends the run; for a download or a registry,
        one failure among the run's answers."""
        said = f"{down.why}: {down.hint}" if down.hint else down.why
        if spec.kind in _NO_TOKEN_KINDS or down.host not in self._forge_hosts:
            return RemoteError(f"{spec.what}: {said}")
        return ForgeUnreachable(said)

    async def _attempt(self, spec: RequestSpec, sink: BodySink) -> Response:
        """One try, redirects included, within its deadline.

        Forge requests get ``Settings.timeout`` from connecting to the last byte (httpx's own
        timeouts are per read: a server sending a byte a second never trips them). Downloads
        are bounded by their caller (``checksums --timeout``). Either way no attempt outlives
        the run's deadline.
        """
        limit = None if spec.kind is RequestKind.DOWNLOAD else self.settings.timeout
        left = self._run_time_left()
        by_run = left is not None and (limit is None or left < limit)
        if by_run:
            limit = left
        if limit is None:
            return await self._send_following_redirects(spec, sink)
        try:
            async with asyncio.timeout(limit):
                return await self._send_following_redirects(spec, sink)
        except TimeoutError:
            if by_run:
                raise self._deadline_error(spec, None) from None
            who = self._who(spec.url)
            raise _Retryable(
                f"no complete answer within {limit:g} s",
                f"{who} did not answer completely within {limit:g} s",
            ) from None

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
            host = host_key(url)
            down = self._down.get(host)
            if down is not None:
                raise _Unreachable(down)
            # credentials only ever come from _auth_header, never from a caller's headers
            headers = {k: v for k, v in spec.headers if k not in ("authorization", "cookie")}
            if spec.credential is not None:
                if host_key(url) == spec.credential.host:
                    headers["authorization"] = spec.credential.header
            elif (
                spec.send_token
                and spec.kind not in _NO_TOKEN_KINDS
                and host == origin
                and self.may_send_token(url)
            ):
                headers.update(self._auth_header(spec.kind))
            client = self._client_for(url)
            self.stats.sent[spec.kind.value] += 1
            request = client.build_request(method, url, headers=headers, content=content)
            try:
                raw = await client.send(request, stream=True)
            except httpx.ConnectTimeout:
                why = f"no connection within {min(self.settings.timeout, CONNECT_TIMEOUT):g} s"
                raise _Retryable(
                    why, f"cannot connect to {host} ({why})", host=host, connect=True
                ) from None
            except httpx.TimeoutException:
                raise _Retryable(
                    "timed out", f"{self._who(url)} did not answer in time", host=host
                ) from None
            except httpx.ConnectError as exc:
                raise self._connect_failure(exc, url, spec.kind) from None
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                raise _Retryable(
                    self._describe(exc), f"{self._who(url)} closed the connection", host=host
                ) from None
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
                body = await self._read_body(raw, body_sink, spec, url, ok=ok)
                headers_in = raw.headers
                if self._scrub_answers and spec.kind not in _NO_TOKEN_KINDS:
                    # an answer echoing the token (a debugging proxy, a hostile server) must
                    # not carry it into the cache, a parser's error message or the output
                    body = self._redactor.data(body)
                    headers_in = self._redactor.headers(headers_in)
                return Response(
                    status=raw.status_code,
                    headers=headers_in,
                    body=body,
                    url=str(url),
                    request_url=spec.url,
                )
            finally:
                await raw.aclose()
        raise RemoteError(
            f"{spec.what}: more than {MAX_REDIRECTS} redirects from {safe_url(spec.url)}"
        )

    def _connect_failure(
        self, exc: httpx.ConnectError, url: httpx.URL, kind: RequestKind
    ) -> Exception:
        """What a failed connection means: a permanent :class:`_Unreachable` (DNS does not know
        the name, TLS refuses the certificate or the handshake), else a retryable failure."""
        host = host_key(url)
        if _unknown_host(exc):
            # DNS says the name does not exist: retrying for a minute will not change that (no
            # network, or a typo in --server-url or an image name), so say it at once.
            wrong = _WRONG_NAME.get(kind, "--server-url/--api-url")
            down = _Down(
                host, f"cannot resolve host {url.host}", f"no network, or a wrong {wrong}?"
            )
            self._down[host] = down
            return _Unreachable(down)
        tls = _permanent_tls_failure(exc)
        if tls is not None:
            down = self._down[host] = _Down(host, f"TLS with {host} failed: {self.scrub(tls)}")
            return _Unreachable(down)
        why = _connect_errno_text(exc) or self._describe(exc)
        return _Retryable(why, f"cannot connect to {host} ({why})", host=host, connect=True)

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
        self, raw: httpx.Response, sink: BodySink, spec: RequestSpec, url: httpx.URL, *, ok: bool
    ) -> bytes:
        """Stream the body into ``sink``; detect truncation against Content-Length.

        A download's body is taken as served, never decoded: its hash must be that of the
        bytes ``curl -o`` saves, even from a server that compresses whatever it is asked.
        """
        kept = 0
        who = self._who(url)
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
            raise _Retryable("timed out reading the body", f"{who} stopped sending") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Retryable(self._describe(exc), f"{who} closed the connection") from None
        except httpx.DecodingError:
            raise _Retryable("undecodable (corrupt) body", f"{who} sent a corrupt body") from None
        declared = raw.headers.get("content-length")
        if (
            ok
            and spec.method != "HEAD"  # a HEAD's Content-Length is the GET's; no body follows
            and declared is not None
            and declared.isdigit()
            and raw.num_bytes_downloaded < int(declared)
        ):
            raise _Retryable(
                f"truncated body ({raw.num_bytes_downloaded} of {declared} bytes)",
                f"{who} sent a truncated answer",
            )
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


def _stderr_notice(line: str) -> None:
    """Where announced retries and waits go by default (looked up per call: tests swap it)."""
    sys.stderr.write(f"pinner: {line}\n")
    sys.stderr.flush()


def _seconds(value: float) -> str:
    """``0.4 s``, ``2 s``, ``42 s``: as precise as a person reading along needs."""
    if value < 9.95:
        text = f"{value:.1f}".rstrip("0").rstrip(".")
        return f"{text or '0'} s"
    return f"{value:.0f} s"


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it, outermost first (each exception once)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


_CONNECT_ERRNOS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.ECONNABORTED: "connection aborted",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "connection timed out",
}


def _connect_errno_text(exc: BaseException) -> str | None:
    """``connection refused`` and the like, from the OS error under an httpx ConnectError
    (or, where the cause is not chained, from an ``[Errno N]`` in the message)."""
    for cause in _chain(exc):
        code = getattr(cause, "errno", None)
        if isinstance(code, int) and code in _CONNECT_ERRNOS:
            return _CONNECT_ERRNOS[code]
        quoted = re.match(r"\[Errno (\d+)\]", str(cause))
        if quoted and int(quoted.group(1)) in _CONNECT_ERRNOS:
            return _CONNECT_ERRNOS[int(quoted.group(1))]
    return None


_TRANSIENT_TLS = (ssl.SSLEOFError, ssl.SSLSyscallError, ssl.SSLZeroReturnError)
"""TLS failures that are the connection dropping mid-handshake: worth another try."""


def _permanent_tls_failure(exc: BaseException) -> str | None:
    """Why TLS failed, when another try cannot succeed: a certificate not signed by a trusted
    CA, for another host name, expired; a handshake the server refuses. None otherwise."""
    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or cause.reason or "certificate not accepted"
            return (
                f"certificate not accepted ({detail}); behind a TLS-inspecting proxy, point "
                "SSL_CERT_FILE at its CA certificate"
            )
        if isinstance(cause, ssl.SSLError) and not isinstance(cause, _TRANSIENT_TLS):
            return f"handshake refused ({cause.reason or type(cause).__name__})"
    return None


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
    for cause in _chain(exc):
        if isinstance(cause, socket.gaierror):
            return cause.errno in _DEFINITIVE_DNS_ERRORS
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

_WRONG_NAME = {RequestKind.REGISTRY: "image name", RequestKind.DOWNLOAD: "URL"}
"""What a host name DNS does not know was probably mistyped in, by channel (else the forge)."""


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
    "CONNECT_ATTEMPTS",
    "HTML_MEDIA_TYPES",
    "MAX_REDIRECTS",
    "BodySink",
    "BufferSink",
    "HostCredential",
    "Redactor",
    "RequestKind",
    "RequestSpec",
    "RequestStats",
    "Response",
    "TooLargeError",
    "Transport",
    "host_key",
    "is_loopback_host",
    "next_link",
    "redact",
    "safe_url",
]
