"""TLS in the transport: the verifying context is built only for https, and https always uses it.

Building the verifying context loads the CA bundle (about 0.05 s of CPU), so the transport
builds its HTTP clients on first use, one per scheme. These tests pin down both halves of that
bargain: runs that never speak https never load a CA bundle, and every https request still goes
through the one verifying context (``SSL_CERT_FILE`` honoured), so nothing got weaker.
"""

from __future__ import annotations

import asyncio
import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
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

TOKEN = "ghp_SENTINELtoken0123456789abcdef"


class FakeTime:
    """Backoff sleeps take no real time; the clock only moves when the transport sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    async def sleep(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> float:
        return self.now


def make_transport(server: str = "https://github.com", **kw: Any) -> Transport:
    fake = FakeTime()
    settings = Settings(urls=ForgeUrls.derive(server), token=Secret(TOKEN), max_retry_time=1.0)
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


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1, trusted by nobody unless told to."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a test certificate")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def https_server(self_signed: tuple[Path, Path]) -> Iterator[str]:
    """An https server on 127.0.0.1 answering every GET with 200 ``ok``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    cert, key = self_signed
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fresh_tls_context() -> Iterator[None]:
    """The verifying context is built once per process; rebuild it around a changed env."""
    forge_http._tls_context.cache_clear()
    yield
    forge_http._tls_context.cache_clear()


def test_an_untrusted_certificate_is_refused(https_server: str, fresh_tls_context) -> None:
    with pytest.raises(RemoteError, match="CERTIFICATE_VERIFY_FAILED"):
        get(make_transport(), f"{https_server}/x")


def test_ssl_cert_file_is_honoured(
    https_server: str, self_signed, fresh_tls_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed[0]))
    assert get(make_transport(), f"{https_server}/x") == [200]


def test_the_plain_http_context_cannot_complete_a_handshake(
    https_server: str, self_signed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # even told to trust the server's certificate, the plain-http client's context refuses it
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed[0]))

    async def go() -> None:
        async with httpx.AsyncClient(verify=forge_http._trust_nothing_context()) as client:
            await client.get(f"{https_server}/x")

    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(go())
