"""The shared transport: retries, rate limits, redirects, token scoping, single-flight, bounds."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import httpx
import pytest
import respx

from pinner.errors import OfflineMiss, RateLimitError, RemoteError
from pinner.forge.http import RequestKind, Transport, host_key, redact, safe_url
from pinner.settings import ForgeUrls, Secret, Settings

TOKEN = "ghp_SENTINELtoken0123456789abcdef"
API = "https://api.github.com"
WALL0 = 1_800_000_000.0


class FakeTime:
    """Injected clock and sleep: backoff and rate-limit waits take no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL0 + self.now


def make_settings(token: str | None = TOKEN, **kw) -> Settings:
    return Settings(urls=ForgeUrls.derive(), token=Secret(token) if token else None, **kw)


def make_transport(settings: Settings | None = None, **kw) -> tuple[Transport, FakeTime]:
    fake = FakeTime()
    kw.setdefault("jitter", lambda: 1.0)
    transport = Transport(
        settings or make_settings(), sleep=fake.sleep, clock=fake.clock, wall=fake.wall, **kw
    )
    return transport, fake


def get(transport: Transport, url: str, kind: RequestKind = RequestKind.REST, **kw):
    async def go():
        async with transport:
            return await transport.request("GET", url, kind=kind, **kw)

    return asyncio.run(go())


def assert_no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert redact(text, TOKEN) == text  # nor its Basic-auth encoding


# ----------------------------------------------------------------------------- helpers


def test_host_key_normalises_default_ports_and_case():
    assert host_key("https://GitHub.com:443/x") == "github.com"
    assert host_key("http://127.0.0.1:8080/x") == "127.0.0.1:8080"
    assert safe_url("https://user:pw@api.github.com/a/b?access_token=s#f") == (
        "https://api.github.com/a/b"
    )


def test_settings_repr_never_shows_the_token():
    settings = make_settings()
    assert_no_token(repr(settings), str(settings), repr(settings.token))
    transport, _ = make_transport(settings)
    assert_no_token(repr(transport), str(transport))


# ----------------------------------------------------------------------------- retries


@respx.mock
def test_5xx_then_success_is_retried_with_exponential_backoff():
    route = respx.get(f"{API}/x").mock(
        side_effect=[httpx.Response(500), httpx.Response(502), httpx.Response(200, json={})]
    )
    transport, fake = make_transport()
    response = get(transport, f"{API}/x")
    assert response.status == 200
    assert route.call_count == 3
    assert fake.sleeps == [0.5, 1.0]  # jitter pinned to its maximum
    assert transport.stats.retries == 2 and transport.stats.sent["rest"] == 3


@respx.mock
def test_full_jitter_scales_the_delay():
    respx.get(f"{API}/x").mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    transport, fake = make_transport(jitter=lambda: 0.25, backoff_base=2.0)
    get(transport, f"{API}/x")
    assert fake.sleeps == [0.5]


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection reset by peer"),
        httpx.ReadError("connection reset"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message"),
        httpx.Response(200, headers={"content-length": "100"}, content=b"short"),
        httpx.Response(429),
    ],
    ids=["connect-reset", "read-error", "timeout", "protocol", "truncated", "429"],
)
def test_transient_failures_are_retried(failure):
    with respx.mock:
        route = respx.get(f"{API}/x").mock(side_effect=[failure, httpx.Response(200, text="ok")])
        transport, fake = make_transport()
        response = get(transport, f"{API}/x")
    assert response.body == b"ok"
    assert route.call_count == 2 and len(fake.sleeps) == 1


@pytest.mark.parametrize("status", [400, 403, 404, 422, 501])
def test_final_statuses_are_not_retried(status):
    with respx.mock:
        route = respx.get(f"{API}/x").mock(return_value=httpx.Response(status))
        transport, fake = make_transport()
        assert get(transport, f"{API}/x").status == status
    assert route.call_count == 1 and fake.sleeps == []


@respx.mock
def test_retry_budget_exhausted_is_one_line_remote_error_without_query():
    route = respx.get(f"{API}/x").mock(return_value=httpx.Response(503))
    transport, fake = make_transport(make_settings(max_retry_time=10.0))
    with pytest.raises(RemoteError) as info:
        get(transport, f"{API}/x?access_token=querysecret")
    message = str(info.value)
    assert "\n" not in message
    assert "HTTP 503" in message and "https://api.github.com/x" in message
    assert f"after {route.call_count} tries" in message
    assert "querysecret" not in message
    assert sum(fake.sleeps) <= 10.0
    # slept 0.5 + 1 + 2 + 4 = 7.5 s; the next 8 s would pass the 10 s budget
    assert route.call_count == 5 and fake.sleeps == [0.5, 1.0, 2.0, 4.0]


@respx.mock
def test_retry_after_on_503_is_honoured():
    respx.get(f"{API}/x").mock(
        side_effect=[httpx.Response(503, headers={"retry-after": "7"}), httpx.Response(200)]
    )
    transport, fake = make_transport()
    get(transport, f"{API}/x")
    assert fake.sleeps == [7.0]


# ----------------------------------------------------------------------------- rate limits


def limited(reset_in: float, status: int = 403) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(WALL0 + reset_in))},
        json={"message": "API rate limit exceeded"},
    )


@respx.mock
def test_rate_limit_with_near_reset_waits_then_succeeds():
    route = respx.get(f"{API}/x").mock(side_effect=[limited(30), httpx.Response(200)])
    transport, fake = make_transport()
    assert get(transport, f"{API}/x").status == 200
    assert route.call_count == 2
    assert fake.sleeps == [31.0]
    assert transport.stats.rate_limit_waits == 1


@pytest.mark.parametrize("status", [403, 429])
def test_rate_limit_with_far_reset_stops_with_reset_time_and_token_hint(status):
    with respx.mock:
        respx.get(f"{API}/x").mock(return_value=limited(3600, status))
        transport, fake = make_transport(make_settings(token=None))
        with pytest.raises(RateLimitError) as info:
            get(transport, f"{API}/x")
    message = str(info.value)
    assert "rate limit exceeded" in message
    assert "resets at" in message and "in 60 minutes" in message
    assert "GITHUB_TOKEN" in message and "--token" in message
    assert info.value.reset_at == pytest.approx(WALL0 + 3601)
    assert info.value.exit_code == 3
    assert fake.sleeps == []


@respx.mock
def test_rate_limit_message_has_no_token_hint_when_authenticated():
    respx.get(f"{API}/x").mock(return_value=limited(3600))
    transport, _ = make_transport()
    with pytest.raises(RateLimitError) as info:
        get(transport, f"{API}/x")
    assert "GITHUB_TOKEN" not in str(info.value)
    assert_no_token(str(info.value))


@respx.mock
def test_rate_limit_wait_threshold_is_configurable():
    respx.get(f"{API}/x").mock(side_effect=[limited(100), httpx.Response(200)])
    transport, fake = make_transport(make_settings(rate_limit_max_wait=300))
    assert get(transport, f"{API}/x").status == 200
    assert fake.sleeps == [101.0]


@respx.mock
def test_secondary_rate_limit_with_retry_after():
    body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    respx.get(f"{API}/x").mock(
        side_effect=[
            httpx.Response(403, headers={"retry-after": "20"}, json=body),
            httpx.Response(403, headers={"retry-after": "900"}, json=body),
        ]
    )
    transport, fake = make_transport()
    with pytest.raises(RateLimitError, match=r"secondary rate limit.*in 15 minutes"):
        get(transport, f"{API}/x")
    assert fake.sleeps == [20.0]


@respx.mock
def test_repeated_rate_limits_do_not_loop_forever():
    route = respx.get(f"{API}/x").mock(return_value=limited(5))
    transport, fake = make_transport()
    with pytest.raises(RateLimitError):
        get(transport, f"{API}/x")
    assert route.call_count == 4 and len(fake.sleeps) == 3


@respx.mock
def test_plain_403_is_returned_not_waited():
    respx.get(f"{API}/x").mock(return_value=httpx.Response(403, json={"message": "Forbidden"}))
    transport, fake = make_transport()
    assert get(transport, f"{API}/x").status == 403
    assert fake.sleeps == []


# ----------------------------------------------------------------------------- token scoping


@respx.mock
def test_token_sent_as_bearer_to_api_and_basic_to_git_only():
    api = respx.get(f"{API}/x").mock(return_value=httpx.Response(200))
    git = respx.get("https://github.com/o/r.git/info/refs").mock(return_value=httpx.Response(200))
    other = respx.get("https://example.com/x").mock(return_value=httpx.Response(200))
    transport, _ = make_transport()

    async def go():
        async with transport:
            await transport.request("GET", f"{API}/x", kind=RequestKind.REST)
            await transport.request(
                "GET", "https://github.com/o/r.git/info/refs", kind=RequestKind.GIT
            )
            await transport.request("GET", "https://example.com/x", kind=RequestKind.REST)

    asyncio.run(go())
    assert api.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    auth = git.calls.last.request.headers["authorization"]
    assert auth.startswith("Basic ") and redact(auth, TOKEN) == "Basic ***"
    assert "authorization" not in other.calls.last.request.headers


@respx.mock
def test_token_hosts_respect_ports():
    settings = Settings(
        urls=ForgeUrls.derive("http://127.0.0.1:8080"), token=Secret(TOKEN), max_retry_time=0
    )
    same = respx.get("http://127.0.0.1:8080/api/v3/x").mock(return_value=httpx.Response(200))
    other_port = respx.get("http://127.0.0.1:9090/x").mock(return_value=httpx.Response(200))
    transport, _ = make_transport(settings)

    async def go():
        async with transport:
            await transport.request("GET", "http://127.0.0.1:8080/api/v3/x", kind=RequestKind.REST)
            await transport.request("GET", "http://127.0.0.1:9090/x", kind=RequestKind.REST)

    asyncio.run(go())
    assert "authorization" in same.calls.last.request.headers
    assert "authorization" not in other_port.calls.last.request.headers


@respx.mock
def test_redirect_to_another_host_drops_the_token():
    respx.get(f"{API}/x").mock(
        return_value=httpx.Response(302, headers={"location": "https://objects.example.com/b"})
    )
    target = respx.get("https://objects.example.com/b").mock(return_value=httpx.Response(200))
    transport, _ = make_transport()
    response = get(transport, f"{API}/x")
    assert response.url == "https://objects.example.com/b"
    assert "authorization" not in target.calls.last.request.headers
    assert transport.stats.redirects == 1


@respx.mock
def test_redirect_to_another_token_host_still_drops_the_token():
    """Leaving the original host drops the token, even for another configured host."""
    respx.get(f"{API}/x").mock(
        return_value=httpx.Response(301, headers={"location": "https://github.com/y"})
    )
    target = respx.get("https://github.com/y").mock(return_value=httpx.Response(200))
    transport, _ = make_transport()
    get(transport, f"{API}/x")
    assert "authorization" not in target.calls.last.request.headers


@respx.mock
def test_same_host_redirect_keeps_the_token():
    respx.get(f"{API}/repos/old/name").mock(
        return_value=httpx.Response(301, headers={"location": "/repositories/42"})
    )
    target = respx.get(f"{API}/repositories/42").mock(return_value=httpx.Response(200))
    transport, _ = make_transport()
    get(transport, f"{API}/repos/old/name")
    assert target.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


@respx.mock
def test_https_to_http_downgrade_is_refused():
    respx.get(f"{API}/x").mock(
        return_value=httpx.Response(302, headers={"location": "http://evil.example.com/x"})
    )
    evil = respx.get("http://evil.example.com/x").mock(return_value=httpx.Response(200))
    transport, _ = make_transport()
    with pytest.raises(RemoteError, match="https to plain http"):
        get(transport, f"{API}/x")
    assert not evil.called


@respx.mock
def test_downgrade_to_loopback_is_allowed():
    respx.get(f"{API}/x").mock(
        return_value=httpx.Response(302, headers={"location": "http://127.0.0.1:9/x"})
    )
    local = respx.get("http://127.0.0.1:9/x").mock(return_value=httpx.Response(200))
    transport, _ = make_transport()
    assert get(transport, f"{API}/x").status == 200
    assert "authorization" not in local.calls.last.request.headers


@respx.mock
def test_redirect_loop_stops_after_five_hops():
    route = respx.get(f"{API}/loop").mock(
        return_value=httpx.Response(302, headers={"location": f"{API}/loop"})
    )
    transport, _ = make_transport()
    with pytest.raises(RemoteError, match="more than 5 redirects"):
        get(transport, f"{API}/loop")
    assert route.call_count == 6


@respx.mock
def test_303_turns_post_into_get_without_body():
    respx.post(f"{API}/p").mock(return_value=httpx.Response(303, headers={"location": f"{API}/g"}))
    target = respx.get(f"{API}/g").mock(return_value=httpx.Response(200))
    transport, _ = make_transport()

    async def go():
        async with transport:
            return await transport.request(
                "POST", f"{API}/p", kind=RequestKind.REST, content=b"body"
            )

    asyncio.run(go())
    assert target.calls.last.request.content == b""


def test_token_never_appears_in_any_error_message(caplog):
    """Every failure path, with a sentinel token, leaves no trace of it anywhere."""
    caplog.set_level(logging.DEBUG)
    leaky = f"https://x-access-token:{TOKEN}@github.com/o/r.git failed ({TOKEN})"
    cases = [
        httpx.ConnectError(leaky),
        httpx.ReadError(leaky),
        httpx.ReadTimeout(leaky),
        httpx.UnsupportedProtocol(leaky),
        limited(3600),
        httpx.Response(302, headers={"location": "http://evil.example.com/"}),
        httpx.Response(302, headers={"location": f"{API}/e"}),
        httpx.Response(500, text=TOKEN),
    ]
    messages = []
    for case in cases:
        with respx.mock:
            route = respx.get(f"{API}/e")
            if isinstance(case, Exception):
                route.mock(side_effect=case)
            else:
                route.mock(return_value=case)
            transport, _ = make_transport(make_settings(max_retry_time=2))
            with pytest.raises(RemoteError) as info:
                get(transport, f"{API}/e")
        messages += [str(info.value), repr(info.value), repr(info.value.args)]
        assert info.value.__cause__ is None or TOKEN not in str(info.value.__cause__)
    assert_no_token(*messages, caplog.text)


# ----------------------------------------------------------------------------- bounds, dedup


def test_identical_requests_in_flight_are_sent_once():
    async def slow(request):
        await asyncio.sleep(0.01)
        return httpx.Response(200, text="shared")

    with respx.mock:
        route = respx.get(f"{API}/same").mock(side_effect=slow)
        transport, _ = make_transport()

        async def go():
            async with transport:
                return await asyncio.gather(
                    *(
                        transport.request("GET", f"{API}/same", kind=RequestKind.REST)
                        for _ in range(5)
                    )
                )

        responses = asyncio.run(go())
    assert route.call_count == 1
    assert {r.body for r in responses} == {b"shared"}
    assert transport.stats.deduplicated == 4


def test_concurrency_is_bounded_by_jobs():
    active = peak = 0

    async def handler(request):
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.005)
        active -= 1
        return httpx.Response(200)

    with respx.mock:
        respx.get(url__startswith=f"{API}/n/").mock(side_effect=handler)
        transport, _ = make_transport(make_settings(jobs=3))

        async def go():
            async with transport:
                await asyncio.gather(
                    *(
                        transport.request("GET", f"{API}/n/{i}", kind=RequestKind.REST)
                        for i in range(12)
                    )
                )

        asyncio.run(go())
    assert peak == 3


@respx.mock
def test_body_over_the_cap_is_too_large_and_not_retried():
    route = respx.get(f"{API}/big").mock(return_value=httpx.Response(200, content=b"x" * 5000))
    transport, _ = make_transport()
    with pytest.raises(RemoteError, match="too large"):
        get(transport, f"{API}/big", max_bytes=1000, what="fetch big")
    assert route.call_count == 1


@respx.mock
def test_offline_never_touches_the_network():
    route = respx.get(f"{API}/x").mock(return_value=httpx.Response(200))
    transport, _ = make_transport(replace(make_settings(), offline=True))
    with pytest.raises(OfflineMiss, match="offline"):
        get(transport, f"{API}/x")
    assert not route.called


@respx.mock
def test_stats_count_by_kind():
    respx.get(f"{API}/a").mock(return_value=httpx.Response(200))
    respx.get("https://raw.githubusercontent.com/o/r/s/f").mock(return_value=httpx.Response(200))
    transport, _ = make_transport()

    async def go():
        async with transport:
            await transport.request("GET", f"{API}/a", kind=RequestKind.REST)
            await transport.request(
                "GET", "https://raw.githubusercontent.com/o/r/s/f", kind=RequestKind.RAW
            )

    asyncio.run(go())
    stats = transport.stats.as_dict()
    assert (stats["rest"], stats["raw"], stats["git"], stats["total"]) == (1, 1, 0, 2)


@respx.mock
def test_caller_supplied_credentials_are_never_forwarded():
    route = respx.get("https://example.com/x").mock(return_value=httpx.Response(200))
    transport, _ = make_transport()
    get(transport, "https://example.com/x", headers={"Authorization": f"token {TOKEN}"})
    assert "authorization" not in route.calls.last.request.headers


def test_stats_summary_line():
    transport, _ = make_transport()
    assert transport.stats.summary() == "0 requests"
    transport.stats.sent["rest"] = 3
    transport.stats.sent["git"] = 2
    transport.stats.retries = 1
    assert transport.stats.summary() == "5 requests (rest 3, git 2); retries 1"


@respx.mock
def test_every_request_names_pinner_its_version_and_where_it_lives():
    """A server operator who sees pinner's traffic can find who sends it (GitHub asks for a
    User-Agent that names the application)."""
    from pinner import PROJECT_URL, __version__

    route = respx.get(f"{API}/x").mock(return_value=httpx.Response(200, text="ok"))
    transport, _ = make_transport()
    get(transport, f"{API}/x")
    agent = route.calls.last.request.headers["User-Agent"]
    assert agent == f"pinner/{__version__} (+{PROJECT_URL})"
    assert PROJECT_URL == "https://github.com/pinner-dev/pinner"
