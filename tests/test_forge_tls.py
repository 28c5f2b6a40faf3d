"""TLS in the transport: the verifying context is built only for https, and https always uses it.

Building the verifying context loads the CA bundle (about 0.05 s of CPU), so the transport
builds its HTTP clients on first use, one per scheme. These tests pin down both halves of that
bargain: runs that never speak https never load a CA bundle, and every https request still goes
through the one verifying context (``SSL_CERT_FILE`` honoured), so nothing got weaker.
"""

from __future__ import annotations

import asyncio
import http.server
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner

from pinner.cli import app
from pinner.errors import RemoteError
from pinner.forge import http as forge_http
from pinner.forge.http import RequestKind, Transport
from pinner.settings import ForgeUrls, Secret, Settings
from tests.test_pin_cli import clean_env, copy_consumer
from tests.tls_material import FOR_ANOTHER_NAME, FOR_LOOPBACK, Certificate

TOKEN = "ghp_SENTINELtoken0123456789abcdef"


class FakeTime:
    """Backoff sleeps take no real time; the clock only moves when the transport sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    async def sleep(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> float:
        return self.now


def make_transport(
    server: str = "https://github.com", *, max_retry_time: float = 1.0, **kw: Any
) -> Transport:
    fake = FakeTime()
    settings = Settings(
        urls=ForgeUrls.derive(server), token=Secret(TOKEN), max_retry_time=max_retry_time
    )
    return Transport(settings, sleep=fake.sleep, clock=fake.clock, jitter=lambda: 1.0, **kw)


def get(transport: Transport, *urls: str) -> list[int]:
    """GET each URL in turn, then close the transport; the statuses."""

    async def go() -> list[int]:
        async with transport:
            responses = [await transport.request("GET", u, kind=RequestKind.REST) for u in urls]
        return [r.status for r in responses]

    return asyncio.run(go())


@pytest.fixture
def tls_spy(monkeypatch: pytest.MonkeyPatch) -> list[ssl.SSLContext]:
    """Every verifying context the transport asks for (the real one, recorded)."""
    built: list[ssl.SSLContext] = []
    real = forge_http._tls_context

    def spy() -> ssl.SSLContext:
        context = real()
        built.append(context)
        return context

    monkeypatch.setattr(forge_http, "_tls_context", spy)
    return built


@pytest.fixture
def ca_loads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every CA bundle any SSL context in the process loads (the expensive part)."""
    loads: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def spy(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args or kwargs)
        real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", spy)
    return loads


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments of every ``httpx.AsyncClient`` the transport builds."""
    built: list[dict[str, Any]] = []
    real = httpx.AsyncClient

    def recording(**kwargs: Any) -> httpx.AsyncClient:
        built.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(forge_http.httpx, "AsyncClient", recording)
    return built


# ----------------------------------------------------------------------------- no https, no TLS


def test_a_transport_that_sends_nothing_builds_no_client(tls_spy, ca_loads, clients) -> None:
    transport = make_transport()
    asyncio.run(transport.aclose())
    assert clients == [] and tls_spy == [] and ca_loads == []


@respx.mock
def test_plain_http_builds_no_tls_context(tls_spy, ca_loads, clients) -> None:
    respx.get("http://127.0.0.1:8080/api/v3/a").mock(return_value=httpx.Response(200))
    respx.get("http://127.0.0.1:8080/api/v3/b").mock(return_value=httpx.Response(200))
    api = "http://127.0.0.1:8080/api/v3"
    assert get(make_transport("http://127.0.0.1:8080"), f"{api}/a", f"{api}/b") == [200, 200]
    assert tls_spy == [] and ca_loads == []
    assert len(clients) == 1  # one client, reused
    # the plain-http client's context trusts nothing: TLS through it could only fail
    context = clients[0]["verify"]
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0


def test_pin_against_the_http_emulator_builds_no_tls_context(
    emulator, fixtures_dir: Path, tmp_path: Path, tls_spy, ca_loads
) -> None:
    emu = emulator(fixtures_dir / "forge")
    root = copy_consumer(fixtures_dir / "consumers" / "demo", tmp_path / "demo")
    result = CliRunner().invoke(
        app,
        ["pin", "--server-url", emu.url, "--no-cache", "--check", str(root)],
        env=clean_env(),
        catch_exceptions=False,
    )
    assert result.exit_code == 1, result.output  # --check: the demo needs pinning
    assert emu.stats()["total"] > 0  # it did talk to the forge
    assert tls_spy == [] and ca_loads == []


# ----------------------------------------------------------------------------- https verifies


@respx.mock
def test_https_requests_all_use_the_one_verifying_context(tls_spy, clients) -> None:
    respx.get("https://api.github.com/a").mock(return_value=httpx.Response(200))
    respx.get("https://api.github.com/b").mock(return_value=httpx.Response(200))
    api = "https://api.github.com"
    assert get(make_transport(), f"{api}/a", f"{api}/b") == [200, 200]
    assert len(clients) == 1 and len(tls_spy) == 1
    context = clients[0]["verify"]
    assert context is tls_spy[0]
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0
    assert clients[0]["trust_env"] is True  # proxies from the environment, as before


@respx.mock
def test_a_redirect_from_http_to_https_gets_the_verifying_context(tls_spy, clients) -> None:
    respx.get("http://127.0.0.1:8080/dl/tool").mock(
        return_value=httpx.Response(302, headers={"location": "https://example.com/tool"})
    )
    respx.get("https://example.com/tool").mock(return_value=httpx.Response(200))
    assert get(make_transport("http://127.0.0.1:8080"), "http://127.0.0.1:8080/dl/tool") == [200]
    assert [c["verify"] for c in clients][1:] == tls_spy  # the https hop: the verifying one
    assert len(tls_spy) == 1


# ----------------------------------------------------------------------------- a real handshake


@dataclass
class HttpsServer:
    url: str
    connections: list[str]  # one entry per TLS handshake attempted (accepted TCP connection)


def start_https_server(certificate: Certificate, where: Path) -> tuple[HttpsServer, Any]:
    """An https server on 127.0.0.1 answering every GET with 200 ``ok``, counting handshakes."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    connections: list[str] = []

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):  # type: ignore[no-untyped-def]
            sock, address = self.socket.accept()  # the plain TCP connection
            connections.append(address[0])
            return context.wrap_socket(sock, server_side=True), address

        def handle_error(self, request: object, client_address: object) -> None:
            """A client refusing our certificate is what these tests are about."""

    cert, key = certificate.write(where)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return HttpsServer(f"https://127.0.0.1:{server.server_address[1]}", connections), server


@pytest.fixture
def self_signed(tmp_path: Path) -> Path:
    """The certificate the default ``https_server`` presents (trusted by nobody unless told)."""
    return FOR_LOOPBACK.write(tmp_path)[0]


def _serve(certificate: Certificate, where: Path) -> Iterator[HttpsServer]:
    where.mkdir(exist_ok=True)
    handle, server = start_https_server(certificate, where)
    try:
        yield handle
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[HttpsServer]:
    """An https server whose certificate names 127.0.0.1."""
    yield from _serve(FOR_LOOPBACK, tmp_path / "loopback")


@pytest.fixture
def misnamed_https_server(tmp_path: Path) -> Iterator[HttpsServer]:
    """An https server on 127.0.0.1 whose certificate names another host."""
    yield from _serve(FOR_ANOTHER_NAME, tmp_path / "misnamed")


@pytest.fixture
def fresh_tls_context() -> Iterator[None]:
    """The verifying context is built once per process; rebuild it around a changed env."""
    forge_http._tls_context.cache_clear()
    yield
    forge_http._tls_context.cache_clear()


def test_an_untrusted_certificate_is_refused_at_once(
    https_server: HttpsServer, fresh_tls_context
) -> None:
    """An unknown CA will not be known a second later: one handshake, no retry, one line."""
    transport = make_transport(max_retry_time=60.0)
    with pytest.raises(RemoteError) as info:
        get(transport, f"{https_server.url}/x")
    message = str(info.value)
    assert "certificate not accepted (self-signed certificate)" in message, message
    assert "SSL_CERT_FILE" in message and "\n" not in message
    assert len(https_server.connections) == 1 and transport.stats.retries == 0


def test_a_certificate_for_another_host_is_refused_at_once(
    misnamed_https_server: HttpsServer, fresh_tls_context, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    # trusted, but issued to pinner-test.invalid: the host-name check fails, for good
    monkeypatch.setenv("SSL_CERT_FILE", str(FOR_ANOTHER_NAME.write(tmp_path)[0]))
    transport = make_transport(max_retry_time=60.0)
    with pytest.raises(RemoteError, match=r"certificate not accepted \(IP address mismatch"):
        get(transport, f"{misnamed_https_server.url}/x")
    assert len(misnamed_https_server.connections) == 1 and transport.stats.retries == 0


def test_the_forge_behind_an_untrusted_certificate_ends_the_run_in_one_line(
    https_server: HttpsServer, fresh_tls_context, fixtures_dir: Path, tmp_path: Path
) -> None:
    """Through the CLI: exit 3, one line naming the problem and the fix, one handshake (the
    host is then known down: no other request tries again), nothing written."""
    root = copy_consumer(fixtures_dir / "consumers" / "demo", tmp_path / "demo")
    before = {p: p.read_bytes() for p in root.rglob("*.yml")}
    result = CliRunner().invoke(
        app,
        ["pin", "--server-url", https_server.url, "--no-cache", "--jobs", "1", str(root)],
        env={**clean_env(), "GITHUB_TOKEN": TOKEN},
        catch_exceptions=False,
    )
    assert result.exit_code == 3, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pinner: remote error: TLS with 127.0.0.1:")
    assert "certificate not accepted" in lines[0] and TOKEN not in result.output
    assert len(https_server.connections) == 1
    assert {p: p.read_bytes() for p in root.rglob("*.yml")} == before


def test_ssl_cert_file_is_honoured(
    https_server: HttpsServer, self_signed: Path, fresh_tls_context, monkeypatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed))
    assert get(make_transport(), f"{https_server.url}/x") == [200]


def test_the_plain_http_context_cannot_complete_a_handshake(
    https_server: HttpsServer, self_signed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # even told to trust the server's certificate, the plain-http client's context refuses it
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed))

    async def go() -> None:
        async with httpx.AsyncClient(verify=forge_http._trust_nothing_context()) as client:
            await client.get(f"{https_server.url}/x")

    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(go())
