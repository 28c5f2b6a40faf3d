"""fetch_hashed: streaming sha256, size cap, https-only, no token, redirects and retries."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest
import respx

from pinner.errors import RemoteError
from pinner.forge.download import Download, DownloadError, fetch_hashed
from pinner.forge.http import TooLargeError, Transport
from pinner.settings import ForgeUrls, Secret, Settings

TOKEN = "ghp_SENTINELdownloadTOKEN"
PAYLOAD = b"binary\x00payload" * 1000


async def _no_sleep(_seconds: float) -> None:
    return None


def fetch(url: str, *, max_bytes: int = 1 << 20, timeout: float = 30.0, **settings_kw):
    settings_kw.setdefault("token", Secret(TOKEN))
    settings = Settings(urls=ForgeUrls.derive(), **settings_kw)

    async def go():
        async with Transport(settings, sleep=_no_sleep) as transport:
            result = await fetch_hashed(
                url, max_bytes=max_bytes, timeout=timeout, transport=transport
            )
            return result, transport.stats

    return asyncio.run(go())


@respx.mock
def test_hash_and_size_of_a_streamed_body():
    respx.get("https://example.com/tool.tgz").mock(
        return_value=httpx.Response(200, content=PAYLOAD)
    )
    result, stats = fetch("https://example.com/tool.tgz")
    assert result == Download(
        url="https://example.com/tool.tgz",
        final_url="https://example.com/tool.tgz",
        sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        size=len(PAYLOAD),
    )
    assert stats.sent["download"] == 1 and stats.sent["rest"] == 0


@respx.mock
def test_token_is_never_sent_even_to_the_forge_host():
    route = respx.get("https://github.com/o/r/releases/download/v1/tool.tgz").mock(
        return_value=httpx.Response(
            302, headers={"location": "https://objects.githubusercontent.com/x?sig=abc"}
        )
    )
    target = respx.get("https://objects.githubusercontent.com/x").mock(
        return_value=httpx.Response(200, content=PAYLOAD)
    )
    result, stats = fetch("https://github.com/o/r/releases/download/v1/tool.tgz")
    assert "authorization" not in route.calls.last.request.headers
    assert "authorization" not in target.calls.last.request.headers
    assert result.final_url == "https://objects.githubusercontent.com/x?sig=abc"
    assert result.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert stats.redirects == 1


@respx.mock
def test_size_cap_aborts_with_a_clear_error():
    route = respx.get("https://example.com/big").mock(
        return_value=httpx.Response(200, content=PAYLOAD)
    )
    with pytest.raises(TooLargeError, match=r"too large: more than 1000 bytes"):
        fetch("https://example.com/big", max_bytes=1000)
    assert route.call_count == 1  # not retried


@pytest.mark.parametrize(
    "url", ["http://example.com/tool.tgz", "ftp://example.com/x", "file:///etc/passwd"]
)
def test_only_https_unless_loopback(url):
    with respx.mock, pytest.raises(RemoteError, match="https is required"):
        fetch(url)


@respx.mock
def test_http_to_loopback_is_allowed():
    respx.get("http://127.0.0.1:8765/t").mock(return_value=httpx.Response(200, content=b"x"))
    result, _ = fetch("http://127.0.0.1:8765/t")
    assert result.size == 1


@respx.mock
def test_redirect_downgrade_is_refused():
    respx.get("https://example.com/t").mock(
        return_value=httpx.Response(301, headers={"location": "http://mirror.example.com/t"})
    )
    with pytest.raises(RemoteError, match="plain http"):
        fetch("https://example.com/t")


@respx.mock
def test_redirects_are_capped():
    respx.get("https://example.com/loop").mock(
        return_value=httpx.Response(302, headers={"location": "https://example.com/loop"})
    )
    with pytest.raises(RemoteError, match="more than 5 redirects"):
        fetch("https://example.com/loop")


@respx.mock
def test_transient_failures_restart_the_hash():
    respx.get("https://example.com/t").mock(
        side_effect=[
            httpx.Response(200, headers={"content-length": str(len(PAYLOAD))}, content=b"partial"),
            httpx.ReadError("connection reset"),
            httpx.Response(502),
            httpx.Response(200, content=PAYLOAD),
        ]
    )
    result, stats = fetch("https://example.com/t", max_retry_time=60)
    assert result.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert result.size == len(PAYLOAD)
    assert stats.retries == 3


@respx.mock
def test_http_error_status_is_a_download_error_without_query_or_token():
    respx.get("https://example.com/gone").mock(return_value=httpx.Response(404))
    with pytest.raises(DownloadError) as info:
        fetch("https://example.com/gone?X-Amz-Signature=secretsig")
    assert info.value.status == 404
    assert "HTTP 404" in str(info.value)
    assert "secretsig" not in str(info.value) and TOKEN not in str(info.value)


def test_overall_timeout():
    async def hang(request):
        await asyncio.sleep(5)
        return httpx.Response(200)

    with respx.mock:
        respx.get("https://example.com/slow").mock(side_effect=hang)
        with pytest.raises(RemoteError, match=r"did not finish within 0\.05 s"):
            fetch("https://example.com/slow", timeout=0.05)
