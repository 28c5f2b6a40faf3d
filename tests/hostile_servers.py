"""Small misbehaving servers on 127.0.0.1 for the transport's security and failure tests.

Each plays one thing a real network does to a client, on purpose:

* :func:`closed_port`: a port nothing listens on (every connection is refused);
* :class:`RecordingServer`: answers every request with one fixed status and keeps what it was
  sent (method, target, headers), to play a host the token must never reach: an API URL
  from the wrong environment variable, or an HTTP proxy;
* :class:`TrickleServer`: promises a body and then sends it one byte at a time, slowly;
* :class:`FrontServer`: a reverse proxy in front of the emulator that can turn hostile while
  the tests run (``mode``): answer raw-content requests with a captive portal's HTML page, or
  echo the request's headers (the token among them) into every answer.

They are started as context managers and stopped on exit; each counts what it served.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PORTAL_PAGE = b"<!DOCTYPE html><html><body>Sign in to the guest Wi-Fi</body></html>"


def closed_port() -> int:
    """A loopback port that was free a moment ago and that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Seen:
    """One request a server received."""

    method: str
    target: str  # the request target as sent: a path, or a whole URL when sent to a proxy
    headers: dict[str, str]
    body: bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client hanging up (a timeout, a refused answer) is what these servers provoke."""


class _Base:
    """Start/stop plumbing shared by the servers below."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), self.handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Recording(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        owner: RecordingServer = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        owner.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
        payload = b'{"message": "not here"}'
        self.send_response(owner.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_HEAD = do_CONNECT = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class RecordingServer(_Base):
    """Answers every request with ``status`` and records it in :attr:`seen`."""

    handler = _Recording

    def __init__(self, status: int = 502) -> None:
        self.status = status
        self.seen: list[Seen] = []
        super().__init__()


class _Trickle(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        owner: TrickleServer = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with owner.lock:
            owner.connections[self.path] = owner.connections.get(self.path, 0) + 1
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(owner.promised))
        self.end_headers()
        try:
            for _ in range(owner.promised):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(owner.interval)
        except OSError:
            return

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class TrickleServer(_Base):
    """Promises ``promised`` bytes and sends one every ``interval`` seconds.

    Every single read gets a byte well within any read timeout, so only a deadline on the
    whole answer ends a request. :attr:`connections` counts requests per path.
    """

    handler = _Trickle

    def __init__(self, *, interval: float = 0.2, promised: int = 100_000) -> None:
        self.interval = interval
        self.promised = promised
        self.connections: dict[str, int] = {}
        self.lock = threading.Lock()
        super().__init__()


class _Front(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        owner: FrontServer = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if owner.mode == "portal" and path.startswith("/raw/"):
            owner.served_portal += 1
            self._send(200, [("Content-Type", "text/html; charset=utf-8")], PORTAL_PAGE)
            return
        status, headers, payload = owner.forward(self.command, self.path, self.headers, body)
        if owner.mode == "echo" and 200 <= status < 300:
            payload = owner.echo(payload, headers, dict(self.headers.items()))
        if owner.mode == "link-loop" and status == 200 and payload.startswith(b"["):
            owner.looped += 1  # every list says its next page is the page it is
            headers = [(k, v) for k, v in headers if k.lower() != "link"]
            headers.append(("Link", f'<{owner.url}{self.path}>; rel="next"'))
        self._send(status, headers, payload)

    def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class FrontServer(_Base):
    """A reverse proxy to ``upstream`` (the emulator) whose behaviour ``mode`` switches.

    ``pass``: forward faithfully (the emulator's own URL in answers becomes the front's);
    ``portal``: raw-content requests (``/raw/...``) get a 200 HTML page, the rest is forwarded;
    ``echo``: forward, then copy the request's headers into the answer, as a debugging proxy
    or a hostile server might: into JSON objects as ``"echo"``, as a comment line into YAML;
    ``link-loop``: forward, and give every JSON list a ``Link`` whose next page is itself.
    """

    handler = _Front

    def __init__(self, upstream: str, mode: str = "pass") -> None:
        self.upstream = upstream.rstrip("/")
        self.mode = mode
        self.served_portal = 0
        self.looped = 0
        super().__init__()

    def forward(
        self, method: str, target: str, headers: object, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        parts = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        sent = {
            k: v
            for k, v in headers.items()  # type: ignore[attr-defined]
            if k.lower() not in ("host", "connection", "content-length")
        }
        try:
            connection.request(method, target, body=body or None, headers=sent)
            response = connection.getresponse()
            payload = response.read()
            answer = [(k, v.replace(self.upstream, self.url)) for k, v in response.getheaders()]
            return (
                response.status,
                answer,
                payload.replace(self.upstream.encode(), self.url.encode()),
            )
        finally:
            connection.close()

    @staticmethod
    def echo(payload: bytes, headers: list[tuple[str, str]], request: dict[str, str]) -> bytes:
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if "json" in content_type:
            try:
                data = json.loads(payload)
            except ValueError:
                return payload
            if isinstance(data, dict):
                data["echo"] = request
            elif isinstance(data, list):
                data = [
                    dict(item, echo=request) if isinstance(item, dict) else item for item in data
                ]
            return json.dumps(data).encode()
        if "text/plain" in content_type:  # raw content: a YAML comment keeps the file valid
            return payload + f"\n# echo: {json.dumps(request)}\n".encode()
        return payload
