"""A dead server fails fast and says so (issue 13, item 9).

* A refused connection is tried :data:`~pinner.forge.http.CONNECT_ATTEMPTS` times within a few
  seconds; the host is then down for the rest of the run (no request tries it again), and for
  the forge that ends the run: one line, exit 3, within 10 seconds, for every command.
* DNS failures and untrusted certificates are not retried at all (``test_forge_dns.py``,
  ``test_forge_tls.py``).
* Waiting on a slow or flaky answer prints one line per wait on stderr ("GitHub answered 502,
  retrying in 2 s") with ``--verbose`` or when stderr is a terminal, and nothing otherwise.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from pinner.cli import app
from pinner.commands import common
from pinner.errors import ForgeUnreachable, RemoteError
from pinner.forge.http import CONNECT_ATTEMPTS, RequestKind
from pinner.settings import Settings
from tests.hostile_servers import closed_port
from tests.test_forge_http import API, get, make_settings, make_transport

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
CONSUMERS = ROOT / "fixtures" / "consumers"
TOKEN = "ghp_SENTINELfailfastTOKEN0123456789"


def refused() -> httpx.ConnectError:
    """A refused connection as a mock can raise it (respx replaces the cause, where httpx
    keeps the OS error, so the error number is in the text here)."""
    return httpx.ConnectError(f"[Errno {errno.ECONNREFUSED}] Connect call failed")


# ----------------------------------------------------------------------------- the transport


@respx.mock
def test_a_refused_connection_is_tried_a_few_times_quickly_then_ends_the_run():
    route = respx.get(f"{API}/x").mock(side_effect=refused())
    transport, fake = make_transport(make_settings(max_retry_time=60.0))
    with pytest.raises(ForgeUnreachable) as info:
        get(transport, f"{API}/x")
    message = str(info.value)
    assert route.call_count == CONNECT_ATTEMPTS == 4
    assert message.startswith("cannot connect to api.github.com (connection refused, 4 tries)")
    assert "--server-url" in message and "\n" not in message
    # 0.5 + 1 + 2 s at most (jitter pinned to its maximum here): seconds, not a minute
    assert fake.sleeps == [0.5, 1.0, 2.0]


def test_a_host_found_down_is_not_asked_again_in_the_run():
    with respx.mock:
        route = respx.get(url__startswith=API).mock(side_effect=refused())
        transport, fake = make_transport()

        async def go() -> list[BaseException]:
            async with transport:
                first = await asyncio.gather(
                    transport.request("GET", f"{API}/a", kind=RequestKind.REST),
                    return_exceptions=True,
                )
                later = await asyncio.gather(
                    *(transport.request("GET", f"{API}/{n}", kind=RequestKind.REST) for n in "bcd"),
                    return_exceptions=True,
                )
            return [*first, *later]

        errors = asyncio.run(go())
    assert all(isinstance(e, ForgeUnreachable) for e in errors), errors
    assert len({str(e) for e in errors}) == 1  # the same one line for all of them
    assert route.call_count == CONNECT_ATTEMPTS  # only the first request knocked
    assert len(fake.sleeps) == CONNECT_ATTEMPTS - 1


@respx.mock
def test_a_download_host_refusing_is_one_failure_not_the_end_of_the_run():
    respx.get("https://downloads.example/tool").mock(side_effect=refused())
    transport, _ = make_transport()
    with pytest.raises(RemoteError) as info:
        get(transport, "https://downloads.example/tool", kind=RequestKind.DOWNLOAD)
    assert not isinstance(info.value, ForgeUnreachable)
    assert "cannot connect to downloads.example (connection refused" in str(info.value)


@respx.mock
def test_a_server_coming_back_within_the_quick_retries_is_used():
    route = respx.get(f"{API}/x").mock(
        side_effect=[refused(), refused(), httpx.Response(200, text="back")]
    )
    transport, _ = make_transport()
    assert get(transport, f"{API}/x").body == b"back"
    assert route.call_count == 3


@respx.mock
def test_each_wait_is_announced_in_one_line():
    respx.get(f"{API}/x").mock(
        side_effect=[
            httpx.Response(502),
            httpx.Response(503, headers={"retry-after": "2"}),
            httpx.ReadError("connection reset by peer"),
            httpx.Response(200),
        ]
    )
    lines: list[str] = []
    transport, _ = make_transport(notify=lines.append)
    get(transport, f"{API}/x", what="list refs of o/r")
    assert lines == [
        "GitHub answered 502, retrying in 0.5 s (list refs of o/r)",
        "GitHub answered 503, retrying in 2 s (list refs of o/r)",
        "GitHub closed the connection, retrying in 2 s (list refs of o/r)",
    ]


def test_a_refusing_host_is_announced_once_per_try_not_once_per_request():
    lines: list[str] = []
    with respx.mock:
        respx.get(url__startswith=API).mock(side_effect=refused())
        transport, _ = make_transport(notify=lines.append)

        async def go() -> None:
            async with transport:
                await asyncio.gather(
                    *(transport.request("GET", f"{API}/{n}", kind=RequestKind.REST) for n in "abc"),
                    return_exceptions=True,
                )

        asyncio.run(go())
    assert lines == [
        "cannot connect to api.github.com (connection refused), retrying in 0.5 s",
        "cannot connect to api.github.com (connection refused), retrying in 1 s",
        "cannot connect to api.github.com (connection refused), retrying in 2 s",
    ]


@respx.mock
def test_waits_are_silent_unless_asked_for(capsys: pytest.CaptureFixture[str]):
    respx.get(f"{API}/x").mock(side_effect=[httpx.Response(502), httpx.Response(200)])
    transport, _ = make_transport()  # Settings.announce_retries is False
    assert get(transport, f"{API}/x").status == 200
    assert capsys.readouterr().err == ""
    respx.get(f"{API}/y").mock(side_effect=[httpx.Response(502), httpx.Response(200)])
    transport, _ = make_transport(make_settings(announce_retries=True))
    assert get(transport, f"{API}/y").status == 200
    assert (
        capsys.readouterr().err
        == "pinner: GitHub answered 502, retrying in 0.5 s (GET https://api.github.com/y)\n"
    )


# ----------------------------------------------------------------------------- the CLI


def _consumer(tmp_path: Path, name: str) -> Path:
    import shutil

    target = tmp_path / name
    shutil.copytree(CONSUMERS / name, target, ignore=shutil.ignore_patterns("expected.json"))
    return target


def _env(token: str | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_SERVER_URL", "GITHUB_API_URL")
    }
    env.update(PINNER_NO_GH="1", NO_COLOR="1")
    if token:
        env["GITHUB_TOKEN"] = token
    return env


@pytest.mark.parametrize("token", [None, TOKEN], ids=["anonymous", "token"])
def test_every_command_against_a_dead_forge_ends_in_one_line_within_seconds(
    tmp_path: Path, token: str | None
) -> None:
    """Real processes: 47-60 s of silence became a few seconds and one line.

    The four commands run at once (each mostly waits). The waits themselves are measured by
    the next test; the wall-clock bound here is loose on purpose (a busy CI machine spends
    seconds starting Python), yet far below the minute each command took before."""
    url = f"http://127.0.0.1:{closed_port()}"
    demo, audit, upd = (_consumer(tmp_path, n) for n in ("demo", "audit-scenarios", "upd-demo"))
    before = {p: p.read_bytes() for root in (demo, upd) for p in root.rglob("*.yml")}
    commands = {
        "pin": ["pin", str(demo)],
        "audit": ["audit", str(audit), "--no-images"],  # public images; no registry here
        "update": ["update", str(upd), "--now", "2026-01-01T00:00:00Z"],
        "checksums": ["checksums", str(audit)],
    }
    started = time.monotonic()
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "pinner", *argv, "--server-url", url, "--no-cache"],
            env=_env(token),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, argv in commands.items()
    }
    for name, process in processes.items():
        out, err = process.communicate(timeout=120)
        elapsed = time.monotonic() - started
        assert process.returncode == 3, (name, out, err)
        assert elapsed < 30, (name, elapsed)
        assert err.splitlines() == [
            f"pinner: remote error: cannot connect to {url[7:]} (connection refused, 4 tries): "
            "is the server down, or --server-url wrong?"
        ], (name, err)
        assert "Traceback" not in out + err
    assert {p: p.read_bytes() for root in (demo, upd) for p in root.rglob("*.yml")} == before


def test_a_dead_forge_costs_three_short_waits(tmp_path: Path) -> None:
    """What the run spends waiting on a dead server, as ``--verbose`` says it: three waits
    of 0.25-0.5, 0.5-1 and 1-2 s (the 10 s the issue allows is start-up to spare)."""
    url = f"http://127.0.0.1:{closed_port()}"
    result = subprocess.run(
        [sys.executable, "-m", "pinner", "pin", str(_consumer(tmp_path, "demo")),
         "--server-url", url, "--no-cache", "--verbose"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    waits = [
        float(line.rsplit("retrying in ", 1)[1].removesuffix(" s"))
        for line in result.stderr.splitlines()
        if "retrying in" in line
    ]
    assert len(waits) == CONNECT_ATTEMPTS - 1 and sum(waits) <= 3.5, result.stderr
    assert result.stderr.splitlines()[-1].startswith("pinner: remote error: cannot connect to ")


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries of the flaky emulator below wait milliseconds, not seconds."""
    monkeypatch.setattr(common, "Settings", functools.partial(Settings, retry_backoff=0.01))


def test_verbose_says_every_wait_on_a_flaky_forge(
    emulator, tmp_path: Path, quick_backoff: None
) -> None:
    emu = emulator(FORGE, fail_rate=0.3, faults=("502",), seed=3)
    root = _consumer(tmp_path, "demo")
    args = ["pin", str(root), "--check", "--server-url", emu.url, "--no-cache"]
    quiet = CliRunner().invoke(app, args, env=_env())
    assert quiet.exit_code == 1, quiet.output  # --check: the demo needs pinning; retries won
    assert "retrying" not in quiet.stderr  # not a terminal, not --verbose: nothing said
    assert emu.stats()["faults"].get("502")
    verbose = CliRunner().invoke(app, [*args, "--verbose"], env=_env())
    assert verbose.exit_code == 1, verbose.output
    waits = [ln for ln in verbose.stderr.splitlines() if "retrying in" in ln]
    assert waits and all(
        ln.startswith("pinner: GitHub answered 502, retrying in ") and "(list refs of " in ln
        for ln in waits
    ), waits
    # and the request count comes last but one (before pin's summary line)
    assert verbose.stderr.splitlines()[-2].startswith("pinner: ")
    assert " requests (" in verbose.stderr and "retries " in verbose.stderr


def test_waits_are_said_when_stderr_is_a_terminal(emulator, tmp_path: Path) -> None:
    emu = emulator(FORGE, fail_rate=0.3, faults=("502",), seed=3)
    root = _consumer(tmp_path, "demo")
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "pinner", "pin", str(root), "--check", "--server-url",
             emu.url, "--no-cache"],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=secondary,
        )  # fmt: skip
        os.close(secondary)
        secondary = -1
        said = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the other side closed (Linux: EIO)
                break
            if not chunk:
                break
            said += chunk
        process.communicate(timeout=120)
    finally:
        os.close(primary)
        if secondary != -1:
            os.close(secondary)
    assert process.returncode == 1, said
    assert b"pinner: GitHub answered 502, retrying in " in said, said
