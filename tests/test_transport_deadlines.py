"""Every request has a deadline, and so does the run (issue 14, item 5).

httpx's timeouts are per read: a server that sends one byte every fraction of a second never
trips them, and held a run for minutes. Now each attempt at a request has a total deadline
(``--request-timeout``, ``PINNER_REQUEST_TIMEOUT``, 30 s by default), from connecting to the
last byte, after which it is abandoned and retried; and the run's time on the network is
bounded (``--deadline``, ``PINNER_DEADLINE``, 900 s by default): past it every request fails
with one line and exit 3. Rate-limit waits and backoff sleeps count against it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import respx

from pinner.errors import DeadlineExceeded, RateLimitError, RemoteError
from pinner.forge.http import RequestKind, Transport
from pinner.settings import DEFAULT_DEADLINE, DEFAULT_REQUEST_TIMEOUT, ForgeUrls, Settings
from tests.hostile_servers import TrickleServer
from tests.test_forge_http import API, get, limited, make_settings, make_transport

ROOT = Path(__file__).resolve().parents[1]
CONSUMERS = ROOT / "fixtures" / "consumers"


def test_the_defaults_are_the_documented_ones() -> None:
    settings = Settings()
    assert settings.timeout == DEFAULT_REQUEST_TIMEOUT == 30.0
    assert settings.deadline == DEFAULT_DEADLINE == 900.0
    docs = "".join(p.read_text() for p in [ROOT / "README.md", *ROOT.glob("docs/**/*.md")])
    assert "`--request-timeout SECONDS`" in docs and "(default 30)" in docs
    assert "`--deadline SECONDS`" in docs and "(default 900" in docs


# ----------------------------------------------------------------------------- one request


def test_a_trickling_answer_is_cut_at_the_request_deadline_and_retried() -> None:
    with TrickleServer(interval=0.05) as server:
        settings = Settings(
            urls=ForgeUrls.derive(server.url), timeout=0.5, max_retry_time=1.0, retry_backoff=0.01
        )
        started = time.monotonic()

        async def go() -> None:
            async with Transport(settings) as transport:
                await transport.request("GET", f"{server.url}/slow", kind=RequestKind.REST)

        with pytest.raises(RemoteError) as info:
            asyncio.run(go())
        elapsed = time.monotonic() - started
    message = str(info.value)
    assert "no complete answer within 0.5 s" in message, message
    assert server.connections["/slow"] >= 2  # abandoned, then tried again
    assert elapsed < 30  # seconds of trickle, not the minutes 100,000 bytes would take


def test_downloads_are_not_cut_by_the_request_deadline():
    """A 500 MiB download takes longer than a metadata answer: ``checksums --timeout`` bounds
    it (and the run's deadline), not the per-request deadline."""

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.2)
        return httpx.Response(200, content=b"x")

    with respx.mock:
        respx.get(url__startswith="https://downloads.example/").mock(side_effect=slow)
        settings = make_settings(timeout=0.05, max_retry_time=0.0)
        transport, _ = make_transport(settings)
        assert (
            get(transport, "https://downloads.example/t", kind=RequestKind.DOWNLOAD).status == 200
        )
        transport, _ = make_transport(settings)
        with pytest.raises(RemoteError, match=r"no complete answer within 0\.05 s"):
            get(transport, "https://downloads.example/t", kind=RequestKind.REST)


# ----------------------------------------------------------------------------- the run


@respx.mock
def test_retries_stop_at_the_run_deadline_with_one_line():
    route = respx.get(f"{API}/x").mock(return_value=httpx.Response(503))
    transport, fake = make_transport(make_settings(deadline=5.0, max_retry_time=600.0))
    with pytest.raises(DeadlineExceeded) as info:
        get(transport, f"{API}/x", what="list refs of o/r")
    message = str(info.value)
    assert message == (
        "the run reached its deadline of 5 s while waiting for list refs of o/r "
        "(last answer: HTTP 503); allow more with --deadline SECONDS or PINNER_DEADLINE"
    )
    assert sum(fake.sleeps) < 5.0 and route.call_count == len(fake.sleeps) + 1


@respx.mock
def test_a_rate_limit_resetting_after_the_deadline_is_not_waited_for():
    respx.get(f"{API}/x").mock(return_value=limited(30))
    transport, fake = make_transport(make_settings(deadline=10.0))
    with pytest.raises(RateLimitError, match="resets at"):
        get(transport, f"{API}/x")
    assert fake.sleeps == []  # 31 s would pass the deadline: said at once, with the reset time


@respx.mock
def test_no_request_starts_after_the_deadline():
    route = respx.get(f"{API}/x").mock(return_value=httpx.Response(200))
    clock = [0.0]
    transport = Transport(make_settings(deadline=1.0), clock=lambda: clock[0])
    clock[0] = 2.0
    with pytest.raises(DeadlineExceeded, match="deadline of 1 s"):
        get(transport, f"{API}/x")
    assert not route.called


@respx.mock
def test_deadline_zero_means_no_deadline():
    respx.get(f"{API}/x").mock(return_value=httpx.Response(200))
    clock = [0.0]
    transport = Transport(make_settings(deadline=None), clock=lambda: clock[0])
    clock[0] = 10**9
    assert get(transport, f"{API}/x").status == 200


# ----------------------------------------------------------------------------- the CLI


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_SERVER_URL", "GITHUB_API_URL")
    }
    return {**env, "PINNER_NO_GH": "1", "NO_COLOR": "1", **extra}


def _run(argv: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pinner", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # before the deadlines, this run never ended: the test fails here
    )
    return result, time.monotonic() - started


@pytest.mark.parametrize("given_as", ["flags", "environment"])
def test_a_trickling_forge_cannot_hold_a_run(tmp_path: Path, given_as: str) -> None:
    """Each request is cut after 1 s and tried again, and the run stops at its 5 s deadline:
    exit 3, one line, nothing written."""
    import shutil

    root = tmp_path / "demo"
    shutil.copytree(CONSUMERS / "demo", root, ignore=shutil.ignore_patterns("expected.json"))
    before = {p: p.read_bytes() for p in root.rglob("*.yml")}
    with TrickleServer(interval=0.1) as server:
        argv = ["pin", str(root), "--server-url", server.url, "--no-cache"]
        if given_as == "flags":
            result, elapsed = _run([*argv, "--request-timeout", "1", "--deadline", "5"], _env())
        else:
            env = _env(PINNER_REQUEST_TIMEOUT="1", PINNER_DEADLINE="5")
            result, elapsed = _run(argv, env)
        connections = dict(server.connections)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("pinner: remote error: the run reached its deadline of 5 s "), lines
    assert "Traceback" not in result.stdout + result.stderr
    assert max(connections.values()) >= 2, connections  # requests were cut at 1 s and retried
    assert elapsed < 60
    assert {p: p.read_bytes() for p in root.rglob("*.yml")} == before


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--request-timeout", "0"), ("--request-timeout", "soon"), ("--deadline", "-1")],
)
def test_bad_limits_are_usage_errors(flag: str, value: str) -> None:
    result, _ = _run(["audit", ".", flag, value, "--snapshot", str(ROOT / "fixtures" / "forge")],
                     _env())  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"Invalid value for '{flag}'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
