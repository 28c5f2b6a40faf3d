"""The GitHub emulator: REST API, git smart HTTP, raw content and downloads over snapshots.

One :class:`Emulator` serves one merged :class:`~pinner.forge.snapshot.SnapshotData` on
``127.0.0.1``. Everything GitHub-specific that pinner (and pinact) depend on is reproduced where
it changes a client's behaviour: JSON shapes (REST API version 2022-11-28), the ``/api/v3``
prefix of GHES, ``Link`` pagination, rate-limit headers and 403s, ETags and 304s, 422 for an
unknown commit ref, fork-network commits served by SHA, and the exact git smart-HTTP bytes.

Knobs (all optional) make it hostile on purpose: latency per response, a small rate limit,
seeded faults (502, 503 + Retry-After, connection reset, truncated body, slow response) and a
JSON-lines request log. ``/_stats`` counts requests by kind, ``/_reset`` zeroes the counters.

GraphQL (``POST /graphql``, GHES ``POST /api/graphql``) answers from the same snapshot model
(:mod:`tests.forge.graphql`) under the same knobs, with its own rate-limit bucket in points.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from json.encoder import encode_basestring_ascii as _json_str
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from pinner.forge.snapshot import (
    FORGE_URL_PLACEHOLDER,
    CommitRecord,
    RepoSnapshot,
    SnapshotData,
    format_date,
    stable_id,
)
from pinner.models import SHA_RE
from tests.forge import gitproto

FAULT_KINDS = ("502", "503", "reset", "truncate", "slow")
KINDS = ("rest", "graphql", "git", "raw", "download", "other")
GRAPHQL_PATHS = ("/graphql", "/api/graphql")  # github.com (API at the root), GHES
API_VERSION = "2022-11-28"
DOCS = "https://docs.github.com/rest"
GRAPHQL_DOCS = "https://docs.github.com/graphql"
EPOCH = "1970-01-01T00:00:00Z"
GIT_NO_CACHE = (
    ("Expires", "Fri, 01 Jan 1980 00:00:00 GMT"),
    ("Pragma", "no-cache"),
    ("Cache-Control", "no-cache, max-age=0, must-revalidate"),
)
RAW_MEDIA_TYPES = (
    "application/vnd.github.raw",
    "application/vnd.github.v3.raw",
    "application/vnd.github.raw+json",
)

JsonHook = Callable[[str, int, Any], None]
"""Called as ``hook(endpoint, status, body)`` for every JSON body the REST API serves."""


@dataclass(frozen=True, slots=True)
class Knobs:
    """How hostile the emulator is. Defaults behave like a healthy GitHub."""

    latency_ms: float = 0.0
    rate_limit: int = 5000  # authenticated requests per hour
    graphql_rate_limit: int = 5000  # GraphQL points per hour (GitHub's separate bucket)
    anon_rate_limit: int | None = None  # unauthenticated; default min(60, rate_limit)
    fail_rate: float = 0.0
    seed: int = 0
    faults: tuple[str, ...] = FAULT_KINDS
    slow_ms: float = 1500.0
    retry_after: int = 1
    log: Path | None = None

    def __post_init__(self) -> None:
        unknown = set(self.faults) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; choose from {FAULT_KINDS}")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError("fail_rate must be within [0, 1]")

    @property
    def anon_limit(self) -> int:
        return (
            self.anon_rate_limit if self.anon_rate_limit is not None else min(60, self.rate_limit)
        )


@dataclass
class Response:
    """What a route produced, before rate limiting, faults and latency are applied."""

    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    endpoint: str | None = None  # OpenAPI "GET /repos/{owner}/{repo}/..." for REST
    json_body: Any = None
    etag: bool = False  # send an ETag and honour If-None-Match
    etag_value: str | None = None  # a fixed ETag (raw content: the blob SHA); default W/sha256
    rate_limited: bool = False  # refused for the rate limit (counted in /_stats)
    operation: str | None = None  # GraphQL: the name of the operation that ran (for the log)


class _Bucket:
    """One rate-limit identity's window (GitHub: fixed one-hour windows)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self.reset = int(time.time()) + 3600

    def roll(self) -> None:
        now = int(time.time())
        if now >= self.reset:
            self.used = 0
            self.reset = now + 3600

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class _NotFound(Exception):
    """A route's 404 (or other error) short-cut."""

    def __init__(self, response: Response):
        self.response = response


def node_id(prefix: str, *parts: str) -> str:
    """A stable GraphQL node ID; REST's ``node_id`` and GraphQL's ``id`` are the same value."""
    raw = hashlib.sha1("\0".join(parts).encode()).hexdigest()[:20]
    return base64.b64encode(f"{prefix}:{raw}".encode()).decode().rstrip("=")


def blob_sha(body: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()


def snapshot_person(role: str, date: str) -> dict[str, str]:
    """Author, committer or tagger of a snapshot object: the data records dates, not people."""
    return {"name": f"Snapshot {role}", "email": "snapshot@example.invalid", "date": date}


def commit_message(sha: str) -> str:
    """The message of a snapshot commit (REST and GraphQL say the same)."""
    return f"Commit {sha[:7]} (snapshot)"


def tag_message(tag: str) -> str:
    return f"{tag}\n"


class _Unusual(Exception):
    """A value :func:`dumps_indented` leaves to the standard library."""


def dumps_indented(value: Any) -> str:
    """``json.dumps(value, indent=2)``, the same text at about three times the speed.

    Why: with ``indent`` the standard library falls back to its pure-Python encoder, which
    cost ~20 ms for one 350 kB GraphQL answer, a third of the emulator's CPU for it. Only plain
    dicts with str keys, lists, str, int, bool and None are written here (every string still
    goes through the C escaper); anything else (floats, subclasses, tuples, other keys) sends
    the whole value to ``json.dumps``, so the text never differs.
    """
    parts: list[str] = []
    append = parts.append

    def write(o: Any, indent: str) -> None:
        kind = type(o)
        if kind is str:
            append(_json_str(o))
        elif kind is dict:
            if not o:
                append("{}")
                return
            inner = indent + "  "
            opening = "{\n"
            for key, item in o.items():
                if type(key) is not str:
                    raise _Unusual
                append(opening + inner + _json_str(key) + ": ")
                opening = ",\n"
                write(item, inner)
            append("\n" + indent + "}")
        elif kind is list:
            if not o:
                append("[]")
                return
            inner = indent + "  "
            opening = "[\n"
            for item in o:
                append(opening + inner)
                opening = ",\n"
                write(item, inner)
            append("\n" + indent + "]")
        elif o is None:
            append("null")
        elif o is True:
            append("true")
        elif o is False:
            append("false")
        elif kind is int:
            append(int.__repr__(o))
        else:
            raise _Unusual

    try:
        write(value, "")
    except _Unusual:
        return json.dumps(value, indent=2)
    return "".join(parts)


def _version_key(name: str) -> list[tuple[int, int | str]]:
    """Natural sort key: ``v1.10.0`` after ``v1.9.0``."""
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", name) if p]


def _accepts(header: str | None, *media: str) -> bool:
    if not header:
        return False
    offered = [part.split(";")[0].strip().lower() for part in header.split(",")]
    return any(m in offered for m in media)


class Emulator:
    """A running (or ready to run) emulator.

    ``Emulator(*data_dirs, port=0, json_hook=None, **knobs)``; :meth:`start` serves in a daemon
    thread, :meth:`stop` shuts down. :attr:`url` is ``http://127.0.0.1:PORT``.
    """

    def __init__(
        self,
        *data_dirs: Path | str,
        port: int = 0,
        json_hook: JsonHook | None = None,
        **knobs: Any,
    ):
        self.data = SnapshotData(*data_dirs)
        self.knobs = Knobs(**knobs)
        self.json_hook = json_hook
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.emulator = self
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._rng = random.Random(self.knobs.seed)
        self._log_file = self.knobs.log.open("a", encoding="utf-8") if self.knobs.log else None
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []  # internal errors (emulator bugs), never reset
        self._reset_counters()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Emulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"forge-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ counters

    def _reset_counters(self) -> None:
        with self._lock:
            self._counts: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._endpoints: Counter[str] = Counter()
            self._not_modified = 0
            self._rate_limited = 0
            self._buckets: dict[str, _Bucket] = {}
            self.requests.clear()

    def reset(self) -> None:
        """Zero counters, the in-memory log and every rate-limit window."""
        self._reset_counters()

    def stats(self) -> dict[str, Any]:
        """Request counts by kind (rest, git, raw, download, other) and a few extras."""
        with self._lock:
            counts = {k: self._counts.get(k, 0) for k in KINDS}
            return {
                **counts,
                "total": sum(counts.values()),
                "not_modified": self._not_modified,
                "rate_limited": self._rate_limited,
                "faults": dict(self._faults),
                "endpoints": dict(self._endpoints),
            }

    def bucket(self, identity: str, authenticated: bool, resource: str = "core") -> _Bucket:
        """The window of ``identity`` for ``resource`` (``core`` or ``graphql``, as GitHub
        keeps them apart: GraphQL points never use REST requests, nor the reverse)."""
        with self._lock:
            key = identity if resource == "core" else f"{resource}:{identity}"
            bucket = self._buckets.get(key)
            if bucket is None:
                if resource == "graphql":  # anonymous GraphQL is refused: no quota at all
                    limit = self.knobs.graphql_rate_limit if authenticated else 0
                else:
                    limit = self.knobs.rate_limit if authenticated else self.knobs.anon_limit
                bucket = self._buckets[key] = _Bucket(limit)
            bucket.roll()
            return bucket

    def draw_fault(self) -> str | None:
        if self.knobs.fail_rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= self.knobs.fail_rate:
                return None
            return self._rng.choice(self.knobs.faults)

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._counts[entry["kind"]] += 1
            if entry.get("endpoint"):
                self._endpoints[entry["endpoint"]] += 1
            if entry.get("fault"):
                self._faults[entry["fault"]] += 1
            if entry["status"] == 304:
                self._not_modified += 1
            if entry.get("rate_limited"):
                self._rate_limited += 1
            self.requests.append(entry)
            if self._log_file is not None:
                self._log_file.write(json.dumps(entry, sort_keys=True) + "\n")
                self._log_file.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a client opening a dozen connections at once
    # (16 concurrent requests is pinner's default) overflowed it, and the kernel dropped the
    # extra SYNs, which the client's TCP only retried after its one-second initial timeout.
    # GitHub's front ends accept them all; so must the emulator.
    request_queue_size = 128
    emulator: Emulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client dropping its connection is normal (it gave up, or closed its pool): say
        nothing. Anything else is printed as usual (socketserver's traceback on stderr)."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Parses one request, routes it, then applies rate limit, faults and latency."""

    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "GitHub.com"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without NODELAY, Nagle + delayed ACK
        # add ~40 ms to every keep-alive response, which would dominate any benchmark
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr log: the emulator has its own JSON-lines log."""

    # ------------------------------------------------------------------ entry points

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(chunks)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        return body

    def _handle(self, head: bool = False) -> None:
        emu = self.server.emulator
        started = time.perf_counter()
        try:
            body = self._read_body()
        except (ValueError, OSError, EOFError) as exc:  # bad length, chunking or gzip
            self.close_connection = True
            message = f"unreadable request body: {type(exc).__name__}\n".encode()
            self._send(Response(400, message, "text/plain; charset=utf-8"), None, head)
            return
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        auth = bool(self.headers.get("Authorization", "").strip())

        if path in ("/_stats", "/_reset", "/_redirect"):
            self._admin(path, query)
            return

        ctx = _Context(emu, self, path, split.query, query, auth)
        try:
            kind, response = ctx.route(self.command, body)
        except Exception as exc:  # a bug in the emulator: answer 500 and remember it
            kind = ctx.kind_of(path)
            emu.errors.append(f"{self.command} {self.path}: {type(exc).__name__}: {exc}")
            response = ctx.error(500, f"emulator error: {type(exc).__name__}")
        rate_limited = response.rate_limited  # GraphQL charges its points while routing
        if kind == "rest" and response.endpoint != "GET /rate_limit":
            response, rate_limited = ctx.apply_rate_limit(response)
        elif kind == "rest":
            ctx.add_rate_headers(response, count=False)
        elif response.etag:
            ctx.conditional(response)

        fault = emu.draw_fault() if kind != "other" else None
        if emu.knobs.latency_ms > 0:
            time.sleep(emu.knobs.latency_ms / 1000)
        if fault == "slow":
            time.sleep(emu.knobs.slow_ms / 1000)
        elif fault == "502":
            response = ctx.error(502, "Server Error")
        elif fault == "503":
            response = ctx.error(503, "Service Unavailable")
            response.headers.append(("Retry-After", str(emu.knobs.retry_after)))

        if (
            emu.json_hook is not None
            and response.endpoint
            and response.json_body is not None
            and fault not in ("502", "503")
        ):
            emu.json_hook(response.endpoint, response.status, response.json_body)

        if fault == "reset" or head:
            planned = 0
        elif fault == "truncate":
            planned = len(response.body) // 2
        else:
            planned = len(response.body)
        # record before sending: a client that has its answer must already see it in the
        # stats and the log (tests assert on them right after a request returns)
        emu.record(
            {
                "t": round(time.time(), 3),
                "method": self.command,
                "path": self.path,
                "kind": kind,
                "endpoint": response.endpoint,
                "operation": response.operation,
                "status": response.status if fault != "reset" else 0,
                "auth": auth,
                "fault": fault,
                "rate_limited": rate_limited,
                "bytes": planned,
                "ms": round((time.perf_counter() - started) * 1000, 2),
            }
        )
        try:
            self._send(response, fault, head)
        except (BrokenPipeError, ConnectionResetError):
            # the client gave up first (its timeout beat a slow response): still a request
            self.close_connection = True

    def _send(self, response: Response, fault: str | None, head: bool) -> int:
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return 0
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        if fault == "truncate":
            self.send_header("Connection", "close")
        self.end_headers()
        if head:
            return 0
        body = response.body
        if fault == "truncate":
            body = body[: len(body) // 2]
            self.close_connection = True
        self.wfile.write(body)
        if fault == "truncate":
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        return len(body)

    def _admin(self, path: str, query: dict[str, str]) -> None:
        emu = self.server.emulator
        if path == "/_stats":
            response = Response(200, json.dumps(emu.stats(), sort_keys=True).encode())
        elif path == "/_reset":
            emu.reset()
            response = Response(200, b'{"reset": true}')
        else:
            target = query.get("to", "")
            if not target.startswith(("http://", "https://")):
                response = Response(400, b'{"message": "to= must be an absolute http(s) URL"}')
            else:
                response = Response(302, b"", headers=[("Location", target)])
        self._send(response, None, head=False)


class _Context:
    """Routing and GitHub shapes for one request (knows its base URL and API prefix)."""

    def __init__(
        self,
        emu: Emulator,
        handler: _Handler,
        path: str,
        raw_query: str,
        query: dict[str, str],
        auth: bool,
    ):
        self.emu = emu
        self.handler = handler
        self.path = path
        self.raw_query = raw_query
        self.query = query
        self.auth = auth
        self.base = emu.url
        self.api = emu.url
        self.request_headers = handler.headers

    # ------------------------------------------------------------------ helpers

    def substitute(self, body: bytes) -> bytes:
        return body.replace(FORGE_URL_PLACEHOLDER.encode(), self.base.encode())

    def json(self, status: int, body: Any, endpoint: str | None, *, etag: bool = True) -> Response:
        data = dumps_indented(body).encode()
        return Response(status, data, endpoint=endpoint, json_body=body, etag=etag)

    def error(
        self, status: int, message: str, endpoint: str | None = None, doc: str = DOCS
    ) -> Response:
        body = {"message": message, "documentation_url": doc, "status": str(status)}
        return self.json(status, body, endpoint, etag=False)

    def not_found(self, endpoint: str | None = None) -> _NotFound:
        return _NotFound(self.error(404, "Not Found", endpoint))

    def identity(self) -> tuple[str, bool]:
        header = self.request_headers.get("Authorization", "").strip()
        if not header:
            return "anon:127.0.0.1", False
        return "token:" + hashlib.sha256(header.encode()).hexdigest(), True

    @staticmethod
    def rate_headers(bucket: _Bucket, resource: str) -> list[tuple[str, str]]:
        return [
            ("x-ratelimit-limit", str(bucket.limit)),
            ("x-ratelimit-remaining", str(bucket.remaining)),
            ("x-ratelimit-used", str(bucket.used)),
            ("x-ratelimit-reset", str(bucket.reset)),
            ("x-ratelimit-resource", resource),
        ]

    def add_rate_headers(self, response: Response, *, count: bool) -> _Bucket:
        identity, authed = self.identity()
        bucket = self.emu.bucket(identity, authed)
        if count:
            with self.emu._lock:
                bucket.used += 1
        response.headers += [
            *self.rate_headers(bucket, "core"),
            ("x-github-api-version-selected", API_VERSION),
            ("x-github-media-type", "github.v3; format=json"),
        ]
        return bucket

    def conditional(self, response: Response) -> bool:
        """Add an ETag; turn the response into a 304 when If-None-Match matches it."""
        if not response.etag or response.status != 200:
            return False
        tag = response.etag_value or 'W/"' + hashlib.sha256(response.body).hexdigest() + '"'
        response.headers.append(("ETag", tag))
        wanted = self.request_headers.get("If-None-Match")
        if wanted:
            candidates = {c.strip().removeprefix("W/") for c in wanted.split(",")}
            if tag.removeprefix("W/") in candidates or "*" in candidates:
                response.status = 304
                response.body = b""
                response.json_body = None
                return True
        return False

    def apply_rate_limit(self, response: Response) -> tuple[Response, bool]:
        identity, authed = self.identity()
        bucket = self.emu.bucket(identity, authed)
        if self.conditional(response):  # a 304 costs nothing, even with the limit exhausted
            self.add_rate_headers(response, count=False)
            return response, False
        if bucket.remaining <= 0:
            if authed:
                message = "API rate limit exceeded for user ID 1."
            else:
                message = (
                    "API rate limit exceeded for 127.0.0.1. (But here's the good news: "
                    "Authenticated requests get a higher rate limit. Check out the "
                    "documentation for more details.)"
                )
            limited = self.error(
                403,
                message,
                response.endpoint,
                "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
            )
            self.add_rate_headers(limited, count=False)
            return limited, True
        self.add_rate_headers(response, count=True)
        return response, False

    # ------------------------------------------------------------------ routing

    def route(self, method: str, body: bytes) -> tuple[str, Response]:
        path = self.path
        kind = self.kind_of(path)
        parts = path.strip("/").split("/")
        try:
            if kind == "rest":
                if path == "/api/v3" or path.startswith("/api/v3/"):
                    self.api = self.base + "/api/v3"
                    path = path[len("/api/v3") :] or "/"
                return kind, self.rest(method, path)
            if kind == "graphql":
                return kind, self.graphql(method, body)
            if kind == "raw":
                return kind, self.raw(path[len("/raw/") :])
            if kind == "git":
                return kind, self.git(method, parts, body)
            if kind == "download" and path.startswith("/dl/"):
                return kind, self.download(path[len("/dl/") :])
            if kind == "download":
                return kind, self.release_download(parts)
        except _NotFound as nf:
            return kind, nf.response
        return kind, Response(404, b"Not Found", "text/plain; charset=utf-8")

    @staticmethod
    def kind_of(path: str) -> str:
        """Which channel a path belongs to: rest, graphql, git, raw, download or other."""
        if path in GRAPHQL_PATHS:
            return "graphql"
        if path.startswith(("/api/v3", "/repos/", "/repositories/", "/rate_limit")):
            return "rest"
        if path == "/advisories" or path.startswith("/advisories/"):
            return "rest"
        if path.startswith("/raw/"):
            return "raw"
        if path.startswith("/dl/"):
            return "download"
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and (
            parts[1].endswith(".git") or parts[2] in ("info", "git-upload-pack")
        ):
            return "git"
        if len(parts) >= 5 and parts[2] == "releases" and "download" in parts[3:5]:
            return "download"
        return "other"

    def repo(self, owner: str, name: str, endpoint: str | None = None) -> RepoSnapshot:
        snap = self.emu.data.find(f"{owner}/{name}")
        if snap is None:
            raise self.not_found(endpoint)
        return snap

    # ------------------------------------------------------------------ GraphQL

    def graphql(self, method: str, body: bytes) -> Response:
        """``POST /graphql``: GitHub's answers, rate limit in points of its own bucket.

        GitHub answers GraphQL problems with HTTP 200 and an ``errors`` list: an invalid query
        (nothing runs, nothing is charged), an exhausted bucket (``RATE_LIMITED``), and errors
        beside data. Only an anonymous request (401) and a body that is not JSON (400) are
        HTTP errors.
        """
        # imported here: tests.forge.graphql builds on this module's helpers
        from tests.forge import graphql as gql

        endpoint = "POST /graphql"
        if method != "POST":
            return self.error(404, "Not Found")
        if not self.auth:
            return self.error(
                401,
                "This endpoint requires you to be authenticated.",
                endpoint,
                GRAPHQL_DOCS + "/guides/forming-calls-with-graphql#authenticating-with-graphql",
            )
        try:
            plan = gql.plan(body)
        except ValueError:  # includes JSONDecodeError
            return self.error(400, "Problems parsing JSON", endpoint, GRAPHQL_DOCS)
        identity, _ = self.identity()
        bucket = self.emu.bucket(identity, True, "graphql")
        limited = False
        if not isinstance(plan, list):
            with self.emu._lock:  # check and charge at once: concurrent queries share it
                limited = bucket.remaining < plan.cost
                if not limited and not plan.dry_run:
                    bucket.used += plan.cost
        if isinstance(plan, list):
            response = self.json(200, {"errors": plan}, endpoint, etag=False)
        elif limited:
            message = "API rate limit exceeded for user ID 1."
            errors = [{"type": "RATE_LIMITED", "message": message}]
            response = self.json(200, {"errors": errors}, endpoint, etag=False)
        else:
            rate = {
                "cost": plan.cost,
                "limit": bucket.limit,
                "nodeCount": plan.node_count,
                "remaining": bucket.remaining,
                "resetAt": format_date(datetime.fromtimestamp(bucket.reset, UTC)),
                "used": bucket.used,
            }
            answer = gql.answer(plan, self.emu.data, self.base, rate)  # JSON written once
            response = Response(
                200, answer.data, endpoint=endpoint, json_body=answer.body, etag=False
            )
            response.operation = plan.operation
        response.rate_limited = limited
        response.headers += self.rate_headers(bucket, "graphql")
        return response

    # ------------------------------------------------------------------ REST

    def rest(self, method: str, path: str) -> Response:
        if method != "GET":
            return self.error(404, "Not Found")
        if path.rstrip("/") == "/rate_limit":
            return self.rate_limit()
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "repositories" and parts[1].isdigit():
            snap = self.emu.data.by_id(int(parts[1]))
            if snap is None:
                raise self.not_found("GET /repos/{owner}/{repo}")
            return self.repository(snap, snap.full_name)
        if parts[0] == "advisories" and len(parts) <= 2:
            return self.advisories(parts[1] if len(parts) == 2 else None)
        if len(parts) < 3 or parts[0] != "repos":
            raise self.not_found()
        owner, name, rest = parts[1], parts[2], parts[3:]
        if not rest:
            return self.repository(self.repo(owner, name), f"{owner}/{name}")
        head, tail = rest[0], rest[1:]
        joined = "/".join(tail)
        prefix = "GET /repos/{owner}/{repo}"
        if head == "commits" and tail:
            ep = prefix + "/commits/{ref}"
            return self.commit(self.repo(owner, name, ep), joined, ep)
        if head == "git" and tail:
            if tail[0] == "ref" and len(tail) > 1:
                ep = prefix + "/git/ref/{ref}"
                return self.git_ref(self.repo(owner, name, ep), "/".join(tail[1:]), ep)
            if tail[0] == "matching-refs":
                ep = prefix + "/git/matching-refs/{ref}"
                return self.matching_refs(self.repo(owner, name, ep), "/".join(tail[1:]), ep)
            if tail[0] == "tags" and len(tail) == 2:
                ep = prefix + "/git/tags/{tag_sha}"
                return self.git_tag(self.repo(owner, name, ep), tail[1], ep)
        if head == "tags" and not tail:
            ep = prefix + "/tags"
            return self.tags(self.repo(owner, name, ep), ep)
        if head == "branches" and not tail:
            ep = prefix + "/branches"
            return self.branches(self.repo(owner, name, ep), ep)
        if head == "branches":
            ep = prefix + "/branches/{branch}"
            return self.branch(self.repo(owner, name, ep), joined, ep)
        if head == "compare" and tail:
            ep = prefix + "/compare/{basehead}"
            return self.compare(self.repo(owner, name, ep), joined, ep)
        if head == "contents":
            ep = prefix + "/contents/{path}"
            return self.contents(self.repo(owner, name, ep), joined, ep)
        if head == "releases":
            return self.releases(self.repo(owner, name, prefix + "/releases"), tail)
        raise self.not_found()

    def rate_limit(self) -> Response:
        identity, authed = self.identity()
        bucket = self.emu.bucket(identity, authed)
        core = {
            "limit": bucket.limit,
            "remaining": bucket.remaining,
            "reset": bucket.reset,
            "used": bucket.used,
            "resource": "core",
        }
        other = {"limit": 30, "remaining": 30, "reset": bucket.reset, "used": 0}
        points = self.emu.bucket(identity, authed, "graphql")
        graphql = {
            "limit": points.limit,
            "remaining": points.remaining,
            "reset": points.reset,
            "used": points.used,
            "resource": "graphql",
        }
        body = {
            "resources": {
                "core": core,
                "search": {**other, "resource": "search"},
                "graphql": graphql,
            },
            "rate": core,
        }
        return self.json(200, body, "GET /rate_limit", etag=False)

    # ------------------------------------------------------------------ security advisories

    ADVISORY_TYPES = ("reviewed", "malware", "unreviewed")
    ECOSYSTEMS = (
        "rubygems", "npm", "pip", "maven", "nuget", "composer", "go", "rust", "erlang",
        "actions", "pub", "other", "swift",
    )  # fmt: skip
    SEVERITIES = ("unknown", "low", "medium", "high", "critical")

    def advisory_json(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A complete ``global-advisory`` object from a snapshot entry (defaults filled)."""
        ghsa = raw["ghsa_id"]
        identifiers = raw.get("identifiers")
        if identifiers is None:
            identifiers = [{"type": "GHSA", "value": ghsa}]
            if raw.get("cve_id"):
                identifiers.append({"type": "CVE", "value": raw["cve_id"]})
        body = {
            "ghsa_id": ghsa,
            "cve_id": raw.get("cve_id"),
            "url": f"{self.api}/advisories/{ghsa}",
            "html_url": raw.get("html_url") or f"{self.base}/advisories/{ghsa}",
            "repository_advisory_url": raw.get("repository_advisory_url"),
            "summary": raw["summary"],
            "description": raw.get("description"),
            "type": raw["type"],
            "severity": raw["severity"],
            "source_code_location": raw.get("source_code_location"),
            "identifiers": identifiers,
            "references": raw.get("references") or [],
            "published_at": raw["published_at"],
            "updated_at": raw["updated_at"],
            "github_reviewed_at": raw.get("github_reviewed_at")
            or (raw["published_at"] if raw["type"] == "reviewed" else None),
            "nvd_published_at": raw.get("nvd_published_at"),
            "withdrawn_at": raw.get("withdrawn_at"),
            "vulnerabilities": [
                {
                    "package": v.get("package"),
                    "vulnerable_version_range": v.get("vulnerable_version_range"),
                    "first_patched_version": v.get("first_patched_version"),
                    "vulnerable_functions": v.get("vulnerable_functions") or [],
                }
                for v in raw.get("vulnerabilities") or []
            ],
            "cvss": raw.get("cvss"),
            "cwes": raw.get("cwes") or [],
            "credits": raw.get("credits") or [],
        }
        for optional in ("cvss_severities", "epss"):
            if optional in raw:
                body[optional] = raw[optional]
        return body

    def _affects(self, raw: dict[str, Any], wanted: list[tuple[str, str | None]]) -> bool:
        """``affects=PACKAGE`` or ``PACKAGE@VERSION``: a vulnerability names the package (any
        case) and, with a version, its range holds for that version."""
        from pinner.core.advisories import Subject, VersionRange, version_of

        for vulnerability in raw.get("vulnerabilities") or []:
            name = ((vulnerability.get("package") or {}).get("name") or "").lower()
            for package, version in wanted:
                if name != package.lower():
                    continue
                if version is None:
                    return True
                try:
                    found = VersionRange.parse(vulnerability.get("vulnerable_version_range"))
                except ValueError:
                    continue
                subject = Subject("", version_of(version), frozenset({version}))
                if found.contains(subject):
                    return True
        return False

    def advisories(self, ghsa_id: str | None) -> Response:
        """``GET /advisories`` (filters, cursor paging) and ``GET /advisories/{ghsa_id}``."""
        every = self.emu.data.advisories()
        if ghsa_id is not None:
            endpoint = "GET /advisories/{ghsa_id}"
            for raw in every:
                if raw["ghsa_id"].lower() == ghsa_id.lower():
                    return self.json(200, self.advisory_json(raw), endpoint)
            raise self.not_found(endpoint)
        endpoint = "GET /advisories"
        lists = parse_qs(self.raw_query, keep_blank_values=True)

        def many(name: str) -> list[str]:
            values = lists.get(name, []) + lists.get(f"{name}[]", [])
            return [item.strip() for v in values for item in v.split(",") if item.strip()]

        kind = self.query.get("type") or "reviewed"
        ecosystems = many("ecosystem")
        severities = many("severity")
        problems = []
        if kind not in self.ADVISORY_TYPES:
            problems.append(f"type {kind!r} is not one of {', '.join(self.ADVISORY_TYPES)}")
        problems += [
            f"ecosystem {e!r} is not valid" for e in ecosystems if e not in self.ECOSYSTEMS
        ]
        problems += [f"severity {e!r} is not valid" for e in severities if e not in self.SEVERITIES]
        affects = many("affects")
        if len(affects) > 1000:
            problems.append("affects takes at most 1000 packages")
        if problems:
            body = {
                "message": "Validation Failed: " + "; ".join(problems),
                "documentation_url": DOCS,
            }
            return self.json(422, body, endpoint, etag=False)
        wanted = [
            (p.rsplit("@", 1)[0], p.rsplit("@", 1)[1]) if "@" in p else (p, None) for p in affects
        ]
        chosen = []
        for raw in every:
            vulnerabilities = raw.get("vulnerabilities") or []
            if raw["type"] != kind:
                continue
            if ecosystems and not any(
                (v.get("package") or {}).get("ecosystem") in ecosystems for v in vulnerabilities
            ):
                continue
            if severities and raw["severity"] not in severities:
                continue
            if "ghsa_id" in self.query and raw["ghsa_id"] != self.query["ghsa_id"]:
                continue
            if "cve_id" in self.query and raw.get("cve_id") != self.query["cve_id"]:
                continue
            withdrawn = self.query.get("is_withdrawn")
            if withdrawn in ("true", "false") and (raw.get("withdrawn_at") is not None) != (
                withdrawn == "true"
            ):
                continue
            if wanted and not self._affects(raw, wanted):
                continue
            chosen.append(raw)
        sort = self.query.get("sort") or "published"
        key = "updated_at" if sort == "updated" else "published_at"
        chosen.sort(key=lambda a: a["ghsa_id"])
        chosen.sort(key=lambda a: a[key] or "", reverse=self.query.get("direction") != "asc")
        return self.cursor_page(chosen, endpoint)

    @staticmethod
    def _cursor(ghsa_id: str) -> str:
        return base64.urlsafe_b64encode(f"cursor:v2:{ghsa_id}".encode()).decode().rstrip("=")

    def cursor_page(self, items: list[dict[str, Any]], endpoint: str) -> Response:
        """One page of ``items`` after (or before) a cursor, with GitHub's cursor ``Link``s."""
        per_page, _ = self.page_params()
        cursors = [self._cursor(a["ghsa_id"]) for a in items]
        after, before = self.query.get("after"), self.query.get("before")
        if (after and after not in cursors) or (before and before not in cursors):
            body = {"message": "Validation Failed: invalid cursor", "documentation_url": DOCS}
            return self.json(422, body, endpoint, etag=False)
        if before:
            end = cursors.index(before)
            start = max(0, end - per_page)
        else:
            start = cursors.index(after) + 1 if after else 0
            end = start + per_page
        page = items[start:end]
        response = self.json(200, [self.advisory_json(a) for a in page], endpoint)

        def url(**cursor: str) -> str:
            every = parse_qs(self.raw_query, keep_blank_values=True)
            skip = ("after", "before", "page", "per_page")
            params = [(k, v) for k, vs in every.items() if k not in skip for v in vs]
            params += [("per_page", str(per_page)), *cursor.items()]
            prefix = "/api/v3" if self.api.endswith("/api/v3") else ""
            return f"{self.base}{prefix}{quote(self._rest_path())}?{urlencode(params)}"

        links = []
        if page and end < len(items):
            links.append(f'<{url(after=cursors[start + len(page) - 1])}>; rel="next"')
        if page and start > 0:
            links.append(f'<{url(before=cursors[start])}>; rel="prev"')
        if links:
            response.headers.append(("Link", ", ".join(links)))
        return response

    def user(self, login: str) -> dict[str, Any]:
        uid = stable_id("user", login.lower())
        web, api = f"{self.base}/{login}", f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": uid,
            "node_id": node_id("U", login.lower()),
            "avatar_url": f"{self.base}/avatars/{login}",
            "gravatar_id": "",
            "url": api,
            "html_url": web,
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": "Organization",
            "user_view_type": "public",
            "site_admin": False,
        }

    def repository(self, snap: RepoSnapshot, requested: str) -> Response:
        """``GET /repos/{o}/{r}``: the full-repository body GitHub's schema requires.

        Ids, ``archived`` and a renamed ``full_name`` come from the snapshot's ``meta.json``
        when it has one; otherwise ids are stable numbers derived from the name. Asked for by
        a name it no longer has (``requested``: renamed or transferred), GitHub answers
        ``301 Moved Permanently`` to ``/repositories/{id}``, and so does the emulator.
        """
        full_name = snap.full_name
        endpoint = "GET /repos/{owner}/{repo}"
        if requested.lower() != full_name.lower():
            location = f"{self.api}/repositories/{snap.repo_id}"
            moved = {"message": "Moved Permanently", "url": location, "documentation_url": DOCS}
            response = self.json(301, moved, endpoint, etag=False)
            response.headers.append(("Location", location))
            return response
        owner, name = full_name.split("/", 1)
        api = f"{self.api}/repos/{full_name}"
        web = f"{self.base}/{full_name}"
        owner_json = self.user(owner)
        owner_json["id"] = snap.owner_id
        templates = {
            "archive_url": "{archive_format}{/ref}",
            "assignees_url": "assignees{/user}",
            "blobs_url": "git/blobs{/sha}",
            "branches_url": "branches{/branch}",
            "collaborators_url": "collaborators{/collaborator}",
            "comments_url": "comments{/number}",
            "commits_url": "commits{/sha}",
            "compare_url": "compare/{base}...{head}",
            "contents_url": "contents/{+path}",
            "contributors_url": "contributors",
            "deployments_url": "deployments",
            "downloads_url": "downloads",
            "events_url": "events",
            "forks_url": "forks",
            "git_commits_url": "git/commits{/sha}",
            "git_refs_url": "git/refs{/sha}",
            "git_tags_url": "git/tags{/sha}",
            "hooks_url": "hooks",
            "issue_comment_url": "issues/comments{/number}",
            "issue_events_url": "issues/events{/number}",
            "issues_url": "issues{/number}",
            "keys_url": "keys{/key_id}",
            "labels_url": "labels{/name}",
            "languages_url": "languages",
            "merges_url": "merges",
            "milestones_url": "milestones{/number}",
            "notifications_url": "notifications{?since,all,participating}",
            "pulls_url": "pulls{/number}",
            "releases_url": "releases{/id}",
            "stargazers_url": "stargazers",
            "statuses_url": "statuses/{sha}",
            "subscribers_url": "subscribers",
            "subscription_url": "subscription",
            "tags_url": "tags",
            "teams_url": "teams",
            "trees_url": "git/trees{/sha}",
        }
        host = self.base.split("://", 1)[-1]
        body: dict[str, Any] = {
            "id": snap.repo_id,
            "node_id": node_id("R", full_name.lower()),
            "name": name,
            "full_name": full_name,
            "private": False,
            "owner": owner_json,
            "html_url": web,
            "description": None,
            "fork": False,
            "url": api,
            **{key: f"{api}/{tail}" for key, tail in templates.items()},
            "git_url": f"git://{host}/{full_name}.git",
            "ssh_url": f"git@{host}:{full_name}.git",
            "clone_url": f"{web}.git",
            "svn_url": web,
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "license": None,
            "size": 0,
            "forks": 0,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers": 0,
            "watchers_count": 0,
            "open_issues": 0,
            "open_issues_count": 0,
            "network_count": 0,
            "subscribers_count": 0,
            "default_branch": snap.default_branch,
            "has_issues": True,
            "has_projects": False,
            "has_wiki": False,
            "has_pages": False,
            "has_discussions": False,
            "archived": snap.archived,
            "disabled": False,
            "visibility": "public",
            "created_at": EPOCH,
            "updated_at": EPOCH,
            "pushed_at": EPOCH,
        }
        return self.json(200, body, endpoint)

    def commit_url(self, snap: RepoSnapshot, sha: str) -> str:
        return f"{self.api}/repos/{snap.name}/commits/{sha}"

    def commit_json(self, snap: RepoSnapshot, rec: CommitRecord) -> dict[str, Any]:
        sha = rec.sha
        date = format_date(rec.date) or EPOCH
        person = snapshot_person("Author", date)
        tree = hashlib.sha1(f"tree:{sha}".encode()).hexdigest()
        return {
            "sha": sha,
            "node_id": node_id("C", sha),
            "url": self.commit_url(snap, sha),
            "html_url": f"{self.base}/{snap.name}/commit/{sha}",
            "comments_url": f"{self.commit_url(snap, sha)}/comments",
            "commit": {
                "url": f"{self.api}/repos/{snap.name}/git/commits/{sha}",
                "author": person,
                "committer": person,
                "message": commit_message(sha),
                "tree": {"sha": tree, "url": f"{self.api}/repos/{snap.name}/git/trees/{tree}"},
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "author": None,
            "committer": None,
            "parents": [
                {
                    "sha": p,
                    "url": self.commit_url(snap, p),
                    "html_url": f"{self.base}/{snap.name}/commit/{p}",
                }
                for p in rec.parents
            ],
            "stats": {"total": 0, "additions": 0, "deletions": 0},
            "files": [],
        }

    def commit(self, snap: RepoSnapshot, ref: str, endpoint: str) -> Response:
        sha = snap.resolve(ref)
        rec = snap.commit(sha) if sha else None
        if rec is None:
            return self.json(
                422,
                {
                    "message": f"No commit found for SHA: {ref}",
                    "documentation_url": "https://docs.github.com/rest/commits/commits#get-a-commit",
                    "status": "422",
                },
                endpoint,
                etag=False,
            )
        accept = self.request_headers.get("Accept")
        if _accepts(accept, "application/vnd.github.sha", "application/vnd.github.v3.sha"):
            response = Response(
                200,
                rec.sha.encode(),
                "application/vnd.github.sha; charset=utf-8",
                endpoint=endpoint,
                etag=True,
            )
            return response
        return self.json(200, self.commit_json(snap, rec), endpoint)

    def ref_json(self, snap: RepoSnapshot, name: str) -> dict[str, Any]:
        entry = snap.ref(name)
        assert entry is not None
        ref = entry.ref
        api = f"{self.api}/repos/{snap.name}"
        if entry.object_type == "tag":
            obj = {"type": "tag", "sha": ref.object, "url": f"{api}/git/tags/{ref.object}"}
        else:
            obj = {"type": "commit", "sha": ref.object, "url": f"{api}/git/commits/{ref.object}"}
        return {
            "ref": ref.name,
            "node_id": node_id("REF", snap.name.lower(), ref.name),
            "url": f"{api}/git/{ref.name}",
            "object": obj,
        }

    def git_ref(self, snap: RepoSnapshot, ref: str, endpoint: str) -> Response:
        if snap.ref(f"refs/{ref}") is None:
            raise self.not_found(endpoint)
        return self.json(200, self.ref_json(snap, f"refs/{ref}"), endpoint)

    def matching_refs(self, snap: RepoSnapshot, prefix: str, endpoint: str) -> Response:
        wanted = f"refs/{prefix}" if prefix else "refs/"
        body = [self.ref_json(snap, r.name) for r in snap.refs() if r.name.startswith(wanted)]
        return self.json(200, body, endpoint)

    def git_tag(self, snap: RepoSnapshot, sha: str, endpoint: str) -> Response:
        tag = snap.tag_objects.get(sha)
        if tag is None:
            raise self.not_found(endpoint)
        api = f"{self.api}/repos/{snap.name}"
        kind = "tag" if tag.object_type == "tag" else "commit"
        body = {
            "node_id": node_id("TAG", tag.sha),
            "sha": tag.sha,
            "url": f"{api}/git/tags/{tag.sha}",
            "tag": tag.tag,
            "message": tag_message(tag.tag),
            "tagger": snapshot_person("Tagger", format_date(tag.tagger_date) or EPOCH),
            "object": {
                "type": kind,
                "sha": tag.object_sha,
                "url": f"{api}/git/{kind}s/{tag.object_sha}",
            },
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }
        return self.json(200, body, endpoint)

    def page_params(self, default: int = 30) -> tuple[int, int]:
        """``(per_page, page)`` from the query, clamped like GitHub (1..100, >= 1)."""
        try:
            per_page = max(1, min(100, int(self.query.get("per_page") or default)))
            page = max(1, int(self.query.get("page") or 1))
        except ValueError:
            per_page, page = default, 1
        return per_page, page

    def link_header(self, total: int, per_page: int, page: int) -> str | None:
        """GitHub's ``Link`` header (next, last, prev, first) for this request's URL."""
        last = max(1, -(-total // per_page))

        def url(n: int) -> str:
            params = dict(self.query)
            params["per_page"] = str(per_page)
            params["page"] = str(n)
            prefix = "/api/v3" if self.api.endswith("/api/v3") else ""
            return f"{self.base}{prefix}{quote(self._rest_path())}?{urlencode(params)}"

        links = []
        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
        return ", ".join(links) or None

    def paginate(self, items: list[Any], endpoint: str, *, default: int = 30) -> Response:
        """One page of ``items`` plus GitHub's ``Link`` header."""
        per_page, page = self.page_params(default)
        response = self.json(200, items[(page - 1) * per_page : page * per_page], endpoint)
        link = self.link_header(len(items), per_page, page)
        if link:
            response.headers.append(("Link", link))
        return response

    def _rest_path(self) -> str:
        return self.path[len("/api/v3") :] if self.path.startswith("/api/v3") else self.path

    def tags(self, snap: RepoSnapshot, endpoint: str) -> Response:
        refs = sorted(snap.tags(), key=lambda r: _version_key(r.short), reverse=True)
        items = [
            {
                "name": r.short,
                "commit": {"sha": r.commit, "url": self.commit_url(snap, r.commit)},
                "zipball_url": f"{self.api}/repos/{snap.name}/zipball/refs/tags/{r.short}",
                "tarball_url": f"{self.api}/repos/{snap.name}/tarball/refs/tags/{r.short}",
                "node_id": node_id("REF", snap.name.lower(), r.name),
            }
            for r in refs
        ]
        return self.paginate(items, endpoint)

    def branches(self, snap: RepoSnapshot, endpoint: str) -> Response:
        items = [
            {
                "name": r.short,
                "commit": {"sha": r.commit, "url": self.commit_url(snap, r.commit)},
                "protected": False,
            }
            for r in snap.branches()
        ]
        return self.paginate(items, endpoint)

    def branch(self, snap: RepoSnapshot, branch: str, endpoint: str) -> Response:
        entry = snap.ref(f"refs/heads/{branch}")
        rec = snap.commit(entry.ref.commit) if entry else None
        if rec is None:
            raise _NotFound(self.error(404, "Branch not found", endpoint))
        api = f"{self.api}/repos/{snap.name}/branches/{branch}"
        body = {
            "name": branch,
            "commit": self.commit_json(snap, rec),
            "_links": {"self": api, "html": f"{self.base}/{snap.name}/tree/{branch}"},
            "protected": False,
            "protection": {"enabled": False},
            "protection_url": f"{api}/protection",
        }
        return self.json(200, body, endpoint)

    def compare(self, snap: RepoSnapshot, basehead: str, endpoint: str) -> Response:
        if "..." not in basehead:
            raise self.not_found(endpoint)
        base_ref, head_ref = basehead.split("...", 1)
        base, head = snap.resolve(base_ref), snap.resolve(head_ref)
        if base is None or head is None:
            raise self.not_found(endpoint)
        result = snap.compare(base, head)
        if result is None:
            raise _NotFound(
                self.error(404, f"No common ancestor between {base_ref} and {head_ref}.", endpoint)
            )
        comparison, ahead = result
        base_rec, mb_rec = snap.commit(base), snap.commit(comparison.merge_base or base)
        assert base_rec is not None and mb_rec is not None
        # without page/per_page GitHub lists up to 250 commits; with them it paginates
        paged = "page" in self.query or "per_page" in self.query
        per_page, page = self.page_params() if paged else (250, 1)
        commits = []
        for sha in ahead[(page - 1) * per_page : page * per_page]:
            rec = snap.commit(sha)
            if rec is not None:
                commits.append(self.commit_json(snap, rec))
        web = f"{self.base}/{snap.name}/compare/{basehead}"
        body = {
            "url": f"{self.api}/repos/{snap.name}/compare/{basehead}",
            "html_url": web,
            "permalink_url": f"{self.base}/{snap.name}/compare/{base}...{head}",
            "diff_url": web + ".diff",
            "patch_url": web + ".patch",
            "base_commit": self.commit_json(snap, base_rec),
            "merge_base_commit": self.commit_json(snap, mb_rec),
            "status": comparison.status,
            "ahead_by": comparison.ahead_by,
            "behind_by": comparison.behind_by,
            "total_commits": comparison.ahead_by,
            "commits": commits,
            "files": [],
        }
        response = self.json(200, body, endpoint)
        link = self.link_header(len(ahead), per_page, page) if paged else None
        if link:
            response.headers.append(("Link", link))
        return response

    def content_entry(
        self, snap: RepoSnapshot, sha: str, ref: str, path: str, kind: str, body: bytes | None
    ) -> dict[str, Any]:
        api = f"{self.api}/repos/{snap.name}/contents/{path}?ref={quote(ref)}"
        blob = blob_sha(body) if body is not None else hashlib.sha1(path.encode()).hexdigest()
        web_kind = "blob" if kind == "file" else "tree"
        html = f"{self.base}/{snap.name}/{web_kind}/{ref}/{path}"
        git = f"{self.api}/repos/{snap.name}/git/{'blobs' if kind == 'file' else 'trees'}/{blob}"
        return {
            "type": kind,
            "size": len(body) if body is not None else 0,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": blob,
            "url": api,
            "git_url": git,
            "html_url": html,
            "download_url": f"{self.base}/raw/{snap.name}/{sha}/{path}" if kind == "file" else None,
            "_links": {"self": api, "git": git, "html": html},
        }

    def contents(self, snap: RepoSnapshot, path: str, endpoint: str) -> Response:
        ref = self.query.get("ref") or snap.default_branch
        sha = snap.resolve(ref)
        if sha is None:
            raise _NotFound(self.error(404, f"No commit found for the ref {ref}", endpoint))
        path = path.strip("/")
        raw = snap.file(sha, path) if path else None
        if raw is None:
            listing = snap.listdir(sha, path)
            if listing is None:
                raise self.not_found(endpoint)
            items = []
            for child, kind in listing:
                child_path = f"{path}/{child}" if path else child
                body = snap.file(sha, child_path) if kind == "file" else None
                body = self.substitute(body) if body is not None else None
                items.append(self.content_entry(snap, sha, ref, child_path, kind, body))
            return self.json(200, items, endpoint)
        data = self.substitute(raw)
        if _accepts(self.request_headers.get("Accept"), *RAW_MEDIA_TYPES):
            return Response(
                200,
                data,
                "text/plain; charset=utf-8",
                endpoint=endpoint,
                etag=True,
                etag_value=f'"{blob_sha(data)}"',
            )
        entry = self.content_entry(snap, sha, ref, path, "file", data)
        entry["content"] = base64.encodebytes(data).decode()
        entry["encoding"] = "base64"
        return self.json(200, entry, endpoint)

    # ------------------------------------------------------------------ releases

    def asset_bytes(
        self, snap: RepoSnapshot, tag: str, name: str, asset: dict[str, Any] | None
    ) -> bytes | None:
        url = (asset or {}).get("browser_download_url", "")
        url = url.replace(FORGE_URL_PLACEHOLDER, self.base)
        if url.startswith(self.base + "/dl/"):
            found = self.emu.data.download(url[len(self.base + "/dl/") :])
            if found is not None:
                return self.substitute(found)
        found = self.emu.data.download(f"{snap.name}/releases/download/{tag}/{name}")
        return self.substitute(found) if found is not None else None

    def release_list(self, snap: RepoSnapshot) -> list[dict[str, Any]]:
        raw = json.loads(json.dumps(snap.releases()).replace(FORGE_URL_PLACEHOLDER, self.base))
        return [self.release_json(snap, rel) for rel in raw]

    def release_json(self, snap: RepoSnapshot, rel: dict[str, Any]) -> dict[str, Any]:
        tag = rel["tag_name"]
        rid = int(rel.get("id") or stable_id("release", snap.name.lower(), tag))
        api = f"{self.api}/repos/{snap.name}/releases/{rid}"
        owner = snap.name.split("/", 1)[0]
        created = rel.get("created_at") or rel.get("published_at") or EPOCH
        out: dict[str, Any] = {
            "url": api,
            "html_url": f"{self.base}/{snap.name}/releases/tag/{tag}",
            "assets_url": f"{api}/assets",
            "upload_url": f"{self.base}/api/uploads/repos/{snap.name}/releases/{rid}/assets"
            "{?name,label}",
            "tarball_url": f"{self.api}/repos/{snap.name}/tarball/{tag}",
            "zipball_url": f"{self.api}/repos/{snap.name}/zipball/{tag}",
            "id": rid,
            "node_id": node_id("RE", str(rid)),
            "tag_name": tag,
            "target_commitish": snap.default_branch,
            "name": tag,
            "draft": False,
            "prerelease": False,
            "immutable": False,
            "created_at": created,
            "updated_at": created,
            "published_at": created,
            "author": self.user(owner),
            "body": None,
        }
        out.update({k: v for k, v in rel.items() if k != "assets"})
        assets = list(rel.get("assets") or [])
        if not assets:  # files under _downloads/O/R/releases/download/TAG/ become assets
            prefix = f"{snap.name}/releases/download/{tag}"
            assets = [{"name": n} for n in self.emu.data.download_names(prefix)]
        out["assets"] = [self.asset_json(snap, tag, a, created) for a in assets]
        return out

    def asset_json(
        self, snap: RepoSnapshot, tag: str, asset: dict[str, Any], created: str
    ) -> dict[str, Any]:
        name = asset["name"]
        aid = int(asset.get("id") or stable_id("asset", snap.name.lower(), tag, name))
        data = self.asset_bytes(snap, tag, name, asset)
        owner = snap.name.split("/", 1)[0]
        out: dict[str, Any] = {
            "url": f"{self.api}/repos/{snap.name}/releases/assets/{aid}",
            "browser_download_url": f"{self.base}/{snap.name}/releases/download/{tag}/{name}",
            "id": aid,
            "node_id": node_id("RA", str(aid)),
            "name": name,
            "label": None,
            "state": "uploaded",
            "content_type": "application/octet-stream",
            "size": len(data) if data is not None else 0,
            "digest": "sha256:" + hashlib.sha256(data).hexdigest() if data is not None else None,
            "download_count": 0,
            "created_at": created,
            "updated_at": created,
            "uploader": self.user(owner),
        }
        out.update(asset)
        return out

    def releases(self, snap: RepoSnapshot, tail: list[str]) -> Response:
        prefix = "GET /repos/{owner}/{repo}/releases"
        if not tail:
            return self.paginate(self.release_list(snap), prefix)
        if tail == ["latest"]:
            ep = prefix + "/latest"
            for rel in self.release_list(snap):
                if not rel.get("draft") and not rel.get("prerelease"):
                    return self.json(200, rel, ep)
            raise self.not_found(ep)
        if tail[0] == "tags" and len(tail) > 1:
            ep = prefix + "/tags/{tag}"
            wanted = "/".join(tail[1:])
            for rel in self.release_list(snap):
                if rel["tag_name"] == wanted and not rel.get("draft"):  # drafts have no tag
                    return self.json(200, rel, ep)
            raise self.not_found(ep)
        if tail[0] == "assets" and len(tail) == 2:
            ep = prefix + "/assets/{asset_id}"
            for rel in self.release_list(snap):
                for asset in rel["assets"]:
                    if str(asset["id"]) == tail[1]:
                        if _accepts(self.request_headers.get("Accept"), "application/octet-stream"):
                            return Response(
                                302,
                                b"",
                                headers=[("Location", asset["browser_download_url"])],
                                endpoint=ep,
                            )
                        return self.json(200, asset, ep)
            raise self.not_found(ep)
        raise self.not_found()

    def release_download(self, parts: list[str]) -> Response:
        owner, name = parts[0], parts[1]
        snap = self.emu.data.find(f"{owner}/{name}")
        not_found = Response(404, b"Not Found", "text/plain; charset=utf-8")
        if snap is None:
            return not_found
        if parts[3:5] == ["latest", "download"] and len(parts) == 6:
            for rel in self.release_list(snap):
                if not rel.get("draft") and not rel.get("prerelease"):
                    location = (
                        f"{self.base}/{snap.name}/releases/download/{rel['tag_name']}/{parts[5]}"
                    )
                    return Response(302, b"", headers=[("Location", location)])
            return not_found
        if parts[3] != "download" or len(parts) < 6:
            return not_found
        filename = parts[-1]
        tag = "/".join(parts[4:-1])
        for rel in self.release_list(snap):
            if rel["tag_name"] != tag or rel.get("draft"):
                continue
            for asset in rel["assets"]:
                if asset["name"] == filename:
                    data = self.asset_bytes(snap, tag, filename, asset)
                    if data is not None:
                        return Response(200, data, "application/octet-stream", etag=True)
        return not_found

    # ------------------------------------------------------------------ raw, downloads

    def raw(self, rest: str) -> Response:
        not_found = Response(404, b"404: Not Found", "text/plain; charset=utf-8")
        parts = rest.split("/")
        if len(parts) < 4:
            return not_found
        snap = self.emu.data.find(f"{parts[0]}/{parts[1]}")
        if snap is None:
            return not_found
        segments = parts[2:]
        for cut in range(1, len(segments)):  # refs may contain slashes: try shortest first
            ref, path = "/".join(segments[:cut]), "/".join(segments[cut:])
            sha = snap.resolve(ref)
            if sha is None:
                continue
            body = snap.file(sha, path)
            if body is not None:
                data = self.substitute(body)
                response = Response(
                    200,
                    data,
                    "text/plain; charset=utf-8",
                    etag=True,
                    etag_value=f'"{blob_sha(data)}"',
                )
                if SHA_RE.match(ref):
                    response.headers.append(("Cache-Control", "max-age=300"))
                return response
        return not_found

    def download(self, rest: str) -> Response:
        data = self.emu.data.download(rest)
        if data is None:
            return Response(404, b"Not Found", "text/plain; charset=utf-8")
        return Response(200, self.substitute(data), "application/octet-stream", etag=True)

    # ------------------------------------------------------------------ git smart HTTP

    def git(self, method: str, parts: list[str], body: bytes) -> Response:
        owner, name = parts[0], parts[1].removesuffix(".git")
        snap = self.emu.data.find(f"{owner}/{name}")
        if snap is None:
            return Response(404, b"Repository not found.\n", "text/plain; charset=utf-8")
        action = "/".join(parts[2:])
        protocol = self.request_headers.get("Git-Protocol", "")
        v2 = "version=2" in protocol.split(":")
        headers = list(GIT_NO_CACHE)
        if method == "GET" and action == "info/refs":
            if self.query.get("service") != "git-upload-pack":
                return Response(403, b"Unsupported service\n", "text/plain; charset=utf-8")
            payload = gitproto.v2_capabilities() if v2 else gitproto.v0_advertisement(snap)
            return Response(
                200, payload, "application/x-git-upload-pack-advertisement", headers=headers
            )
        if method == "POST" and action == "git-upload-pack":
            result = "application/x-git-upload-pack-result"
            if not v2:  # what git http-backend does with a v2 body but no v2 header
                return Response(200, b"", result, headers=headers)
            try:
                request = gitproto.parse_v2_request(body)
            except gitproto.ProtocolError as exc:
                return Response(400, f"{exc}\n".encode(), "text/plain; charset=utf-8")
            if request.command != "ls-refs":
                message = f"the emulator only implements ls-refs, not {request.command}\n"
                return Response(501, message.encode(), "text/plain; charset=utf-8")
            return Response(200, gitproto.ls_refs(snap, request.arguments), result, headers=headers)
        return Response(404, b"Not Found\n", "text/plain; charset=utf-8")
