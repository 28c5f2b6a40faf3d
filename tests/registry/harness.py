"""A real OCI registry on 127.0.0.1 for the tests, with or without token authentication.

* :class:`Registry` runs the CNCF Distribution registry (Debian's ``docker-registry``, 2.8)
  with a throwaway config: storage in a temp dir, listening on a free loopback port.
* :class:`TokenServer` is the token service of the ``auth: token:`` configuration, the way
  Docker Hub (``auth.docker.io``) and ghcr.io work: it issues RS256 JWTs signed with a key made
  by ``openssl`` for the test, carrying the certificate in ``x5c``, which the registry checks
  against its ``rootcertbundle``. Anonymous clients get pull tokens for ``public/*``
  repositories only; ``reader`` may pull everything, ``pusher`` may also push.
* :class:`RecordingProxy` sits in front of the registry and logs every request line and
  header verbatim: the registry's own access log leaves headers out, and the tests must show
  which credentials reached it (never the GitHub token).

:func:`require_tools` skips a test when the binaries are missing on a developer machine,
and fails it in CI (``CI`` set, or ``PINNER_REQUIRE_REGISTRY=1`` as ``.ci/run`` sets), where
``.ci/run`` installs them.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import re
import shutil
import socketserver
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

REGISTRY_BINARY = "docker-registry"
SKOPEO_BINARY = "skopeo"


def ci_requires_registry() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("PINNER_REQUIRE_REGISTRY") == "1"


def require_tools(*names: str) -> dict[str, str]:
    """Paths of ``names`` (binaries); skip the test with the reason when one is missing, or
    fail it when the environment says these tests must run (CI)."""
    found = {name: shutil.which(name) for name in names}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        reason = (
            f"{', '.join(missing)} not installed (apt-get install docker-registry skopeo "
            "openssl); the real-registry tests need them"
        )
        if ci_requires_registry():
            pytest.fail(f"{reason}; CI must have them (.ci/run installs them)", pytrace=False)
        pytest.skip(reason)
    return {name: str(path) for name, path in found.items()}


# ----------------------------------------------------------------------------- token service


class TokenKeys:
    """An RSA key and self-signed certificate, made by openssl for one test session."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.key = directory / "token.key"
        self.cert = directory / "token.crt"
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", str(self.key), "-out", str(self.cert), "-days", "2",
                "-subj", "/CN=pinner-test-token-issuer",
            ],
            check=True, capture_output=True,
        )  # fmt: skip
        pem = self.cert.read_text()
        body = "".join(pem.split("-----")[2].split())
        self.cert_der_b64 = body  # standard base64 of the DER certificate, as x5c wants

    def sign(self, data: bytes) -> bytes:
        done = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(self.key)],
            input=data, capture_output=True, check=True,
        )  # fmt: skip
        return done.stdout


def _headers(message: http.client.HTTPMessage) -> dict[str, str]:
    """Request headers as logged: names lower-cased, repeated ones joined with ", "."""
    out: dict[str, str] = {}
    for key, value in message.items():
        key = key.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenServer:
    """The registry's token realm (``GET /token?service=&scope=``), with a request log."""

    keys: TokenKeys
    service: str = "pinner-test-registry"
    issuer: str = "pinner-test-issuer"
    users: dict[str, str] = field(
        default_factory=lambda: {"reader": "reader-secret-pw", "pusher": "pusher-secret-pw"}
    )
    log: list[dict[str, object]] = field(default_factory=list)
    url: str = ""
    _server: socketserver.TCPServer | None = None

    def allowed(self, user: str | None, repo: str, wanted: list[str]) -> list[str]:
        if user == "pusher":
            return wanted
        if user == "reader" or repo.startswith("public/"):
            return [a for a in wanted if a == "pull"]
        return []

    def issue(self, user: str | None, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3 or parts[0] != "repository":
                continue
            repo, actions = ":".join(parts[1:-1]), parts[-1].split(",")
            granted = self.allowed(user, repo, actions)
            if granted:
                access.append({"type": "repository", "name": repo, "actions": granted})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.keys.cert_der_b64]}
        claims = {
            "iss": self.issuer,
            "sub": user or "",
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        )
        return signing_input + "." + _b64url(self.keys.sign(signing_input.encode()))

    def start(self) -> TokenServer:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _answer(self, status: int, document: dict[str, object]) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                owner.log.append(
                    {"method": "GET", "path": self.path, "headers": _headers(self.headers)}
                )
                user = None
                auth = self.headers.get("Authorization", "")  # email.message: any case
                if auth:
                    scheme, _, value = auth.partition(" ")
                    try:
                        name, _, password = base64.b64decode(value).decode().partition(":")
                    except Exception:
                        name, password = "", ""
                    if scheme.lower() != "basic" or owner.users.get(name) != password:
                        self._answer(401, {"details": "incorrect username or password"})
                        return
                    user = name
                if parts.path != "/token" or query.get("service", [""])[0] != owner.service:
                    self._answer(400, {"details": "unknown service"})
                    return
                token = owner.issue(user, query.get("scope", []))
                self._answer(200, {"token": token, "access_token": token, "expires_in": 300})

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def basic(self, user: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{self.users[user]}".encode()).decode()

    def bearer_for(self, user: str, repo: str, actions: str = "pull,push") -> str:
        return "Bearer " + self.issue(user, [f"repository:{repo}:{actions}"])


# ----------------------------------------------------------------------------- proxy


class RecordingProxy:
    """Forwards HTTP to ``target`` (``host:port``) and records every request it forwards."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.requests: list[dict[str, object]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                owner.requests.append(
                    {"method": self.command, "path": self.path, "headers": _headers(self.headers)}
                )
                host, port = owner.target.rsplit(":", 1)
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
                connection.putrequest(self.command, self.path, skip_host=True,
                                      skip_accept_encoding=True)  # fmt: skip
                for key, value in self.headers.items():  # repeated headers (Accept) kept
                    if key.lower() not in ("connection", "content-length"):
                        connection.putheader(key, value)
                if body is not None:
                    connection.putheader("Content-Length", str(len(body)))
                connection.endheaders(body)
                answer = connection.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() in ("connection", "transfer-encoding", "content-length"):
                        continue
                    self.send_header(key, value)
                declared = answer.getheader("Content-Length")
                if self.command == "HEAD" and declared is not None:
                    self.send_header("Content-Length", declared)
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                connection.close()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.host = f"127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def authorizations(self) -> list[str]:
        return [
            str(r["headers"]["authorization"])
            for r in self.requests
            if "authorization" in r["headers"]
        ]  # type: ignore[index,operator]


# ----------------------------------------------------------------------------- registry


class Registry:
    """``docker-registry serve`` on 127.0.0.1 with storage in ``directory``.

    ``host`` is the recording proxy's ``127.0.0.1:PORT`` (what pinner is pointed at);
    ``direct`` the registry's own; ``base``/``direct_base`` their ``http://`` URLs.
    """

    def __init__(self, binary: str, directory: Path, token: TokenServer | None = None) -> None:
        self.directory = directory
        self.token = token
        directory.mkdir(parents=True, exist_ok=True)
        lines = [
            "version: 0.1",
            "log:",
            "  level: info",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {directory / 'data'}",
            "  delete:",
            "    enabled: true",
            "http:",
            "  addr: 127.0.0.1:0",
            f"  secret: {uuid.uuid4().hex}",
        ]
        if token is not None:
            lines += [
                "auth:",
                "  token:",
                f"    realm: {token.url}/token",
                f"    service: {token.service}",
                f"    issuer: {token.issuer}",
                f"    rootcertbundle: {token.keys.cert}",
            ]
        config = directory / "config.yml"
        config.write_text("\n".join(lines) + "\n")
        self.log_path = directory / "registry.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [binary, "serve", str(config)], stdout=self._log, stderr=subprocess.STDOUT
        )
        self.direct = self._wait_listening()
        self.proxy = RecordingProxy(self.direct)
        self.host = self.proxy.host
        self.base = f"http://{self.host}"
        self.direct_base = f"http://{self.direct}"

    def _wait_listening(self, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            match = re.search(r"listening on (127\.0\.0\.1:\d+)", text)
            if match:
                return match.group(1)
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited:\n{text}")
            time.sleep(0.05)
        raise RuntimeError("docker-registry did not start listening in time")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.proxy.stop()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
