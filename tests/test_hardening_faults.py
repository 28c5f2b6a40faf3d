"""Faults, rate limits and interruptions, end to end through the real CLI and the emulator.

The issue's contract: a run against a forge that fails 20% of the time (every fault kind) gives
the same results as a clean run; a rate limit resetting soon is waited out, one resetting later
stops the run with exit 3, the reset time and the token hint; and a run that fails midway or is
interrupted (SIGINT) leaves every file exactly as it was, with no temporary file behind.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinner import interrupts
from pinner.cli import app
from pinner.commands import common
from pinner.settings import Settings
from tests.forge.server import FAULT_KINDS

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
CONSUMERS = ROOT / "fixtures" / "consumers"
PIN_CONSUMERS = ("demo", "findings")
AUDIT_CONSUMER = CONSUMERS / "audit-scenarios"
UPDATE_CONSUMER = CONSUMERS / "upd-demo"
TOKEN = "ghp_SENTINELhardeningTOKEN0123456789"

# The emulator draws faults from a seeded generator, one draw per request in arrival order, so
# which *kinds* occur among the first N draws does not depend on timing. With this seed all five
# kinds occur within the first 14 draws; a pin plus an audit make far more requests than that.
ALL_KINDS_SEED = 162
FAULT_RATE = 0.2
CLIENT_TIMEOUT = 0.3  # seconds per request: the "slow" fault (0.6 s) becomes a client timeout
SLOW_FAULT_MS = 600.0
RETRY_BACKOFF = 0.02  # first retry delay; doubles per attempt, full jitter


def hermetic_env(token: str | None = TOKEN) -> dict[str, str]:
    """No token or forge URL from the developer's environment, no ``gh``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_SERVER_URL", "GITHUB_API_URL")
    }
    env["PINNER_NO_GH"] = "1"
    env["NO_COLOR"] = "1"
    if token:
        env["GITHUB_TOKEN"] = token
    return env


def invoke(*args: str, token: str | None = TOKEN):
    """In-process run of the real CLI (stdout and stderr kept apart)."""
    env = {"PINNER_NO_GH": "1", "GITHUB_TOKEN": token or "", "GH_TOKEN": "", "NO_COLOR": "1"}
    return CliRunner().invoke(app, list(args), env=env)


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (any name: temporary files left behind would show up)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def fresh_copy(src: Path, dst: Path) -> Path:
    """``src`` copied to ``dst`` (replacing it), without the fixture's expectations."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("expected.json", "README.md"))
    return dst


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command's Settings get a short per-request timeout and first backoff.

    Neither has a CLI flag (users want the defaults); ``Settings.retry_backoff`` exists so tests
    can keep a run with dozens of retries within seconds.
    """
    monkeypatch.setattr(
        common,
        "Settings",
        functools.partial(Settings, timeout=CLIENT_TIMEOUT, retry_backoff=RETRY_BACKOFF),
    )


@pytest.fixture
def short_retry_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries give up after one second: failure tests need the exit code, not the patience."""
    monkeypatch.setattr(common, "Settings", functools.partial(Settings, max_retry_time=1.0))


# ----------------------------------------------------------------------------- 20% faults


def pin_and_audit(url: str, workdir: Path) -> dict[str, object]:
    """One ``pin`` (JSON, writing) over the pin consumers and one ``audit`` (JSON and SARIF).

    Consumers are copied to the same paths for every call, so outputs compare byte for byte.
    """
    roots = [fresh_copy(CONSUMERS / name, workdir / name) for name in PIN_CONSUMERS]
    forge = ("--server-url", url, "--no-cache", "--no-images")  # public images: no registry
    pin = invoke("pin", *map(str, roots), *forge, "--format", "json")
    audit = invoke("audit", str(AUDIT_CONSUMER), *forge, "--format", "json")
    sarif = invoke("audit", str(AUDIT_CONSUMER), *forge, "--format", "sarif")
    return {
        "pin": (pin.exit_code, pin.stdout),
        "pin_summary": pin.stderr.splitlines()[-1:],
        "files": {r.name: tree_bytes(r) for r in roots},
        "audit": (audit.exit_code, audit.stdout),
        # SARIF links related locations on the forge: the two emulators' ports differ
        "sarif": (sarif.exit_code, sarif.stdout.replace(url, "SERVER")),
    }


def test_twenty_percent_faults_give_the_results_of_a_clean_run(
    emulator, tmp_path: Path, short_timeouts: None
) -> None:
    clean_emu = emulator(FORGE)
    clean = pin_and_audit(clean_emu.url, tmp_path / "work")
    assert sum(clean_emu.stats()["faults"].values()) == 0

    faulty_emu = emulator(
        FORGE, fail_rate=FAULT_RATE, seed=ALL_KINDS_SEED, slow_ms=SLOW_FAULT_MS, retry_after=0
    )
    faulty = pin_and_audit(faulty_emu.url, tmp_path / "work")

    faults = faulty_emu.stats()["faults"]
    assert set(faults) == set(FAULT_KINDS), faults  # 502, 503, reset, truncate, slow (timeout)
    assert faulty == clean
    # and the clean run did real work: files were rewritten, findings were found
    pin_code, pin_doc = clean["pin"]
    assert pin_code == 1 and json.loads(pin_doc)["records"]  # type: ignore[arg-type]
    assert clean["files"] != {
        name: tree_bytes(fresh_copy(CONSUMERS / name, tmp_path / "orig" / name))
        for name in PIN_CONSUMERS
    }
    assert clean["audit"][0] == 1 and json.loads(clean["audit"][1])["findings"]  # type: ignore[index]


# ----------------------------------------------------------------------------- rate limits


def test_rate_limit_resetting_later_stops_with_exit_3_reset_time_and_token_hint(
    emulator, tmp_path: Path
) -> None:
    emu = emulator(FORGE, anon_rate_limit=2)
    root = fresh_copy(CONSUMERS / "findings", tmp_path / "findings")
    before = tree_bytes(root)
    result = invoke("pin", str(root), "--server-url", emu.url, "--no-cache", token=None)
    assert result.exit_code == 3, result.output
    assert emu.stats()["rate_limited"] > 0
    limit_lines = [ln for ln in result.stderr.splitlines() if "rate limit" in ln]
    assert limit_lines, result.stderr
    assert "resets at" in limit_lines[0] and "GITHUB_TOKEN" in limit_lines[0]
    assert "Traceback" not in result.output
    assert tree_bytes(root) == before


def test_rate_limit_resetting_soon_is_waited_out(emulator, tmp_path: Path) -> None:
    """The anonymous window is exhausted and resets in 2 s: the run waits, then succeeds."""
    clean_emu = emulator(FORGE)
    root = fresh_copy(CONSUMERS / "findings", tmp_path / "findings")
    clean = invoke(
        "pin",
        str(root),
        "--server-url",
        clean_emu.url,
        "--no-cache",
        "--format",
        "json",
        token=None,
    )

    emu = emulator(FORGE, anon_rate_limit=1000)
    bucket = emu.emulator.bucket("anon:127.0.0.1", False)
    bucket.used, bucket.reset = bucket.limit, int(time.time()) + 2
    root = fresh_copy(CONSUMERS / "findings", tmp_path / "findings")
    started = time.monotonic()
    waited = invoke(
        "pin", str(root), "--server-url", emu.url, "--no-cache", "--format", "json", token=None
    )
    assert emu.stats()["rate_limited"] > 0  # the limit was really hit ...
    assert time.monotonic() - started >= 1.0  # ... and waited out, not retried in a hot loop
    assert (waited.exit_code, waited.stdout) == (clean.exit_code, clean.stdout)


# ----------------------------------------------------------------------------- failing midway


def die_after(handle, requests: int) -> None:
    """The server "dies" after answering ``requests`` requests: every later one is reset.

    Decided inside the server by request count (not by a watcher thread racing the client), so
    the failure always lands midway, whatever the machine's load.
    """
    served = itertools.count()
    handle.emulator.draw_fault = lambda: "reset" if next(served) >= requests else None


@pytest.mark.parametrize(
    ("command", "consumer", "extra", "alive"),
    [
        # batched GraphQL: `pin` of the demo needs two requests in all
        ("pin", CONSUMERS / "demo", (), 1),
        ("update", UPDATE_CONSUMER, ("--now", "2026-01-01T00:00:00Z", "--cooldown", "0"), 3),
    ],
)
def test_server_dying_midway_changes_no_file(
    emulator,
    tmp_path: Path,
    short_retry_budget: None,
    command: str,
    consumer: Path,
    extra: tuple[str, ...],
    alive: int,
) -> None:
    emu = emulator(FORGE)
    root = fresh_copy(consumer, tmp_path / consumer.name)
    before = tree_bytes(root)
    die_after(emu, alive)
    result = invoke(command, str(root), *extra, "--server-url", emu.url, "--no-cache")
    assert any(r["status"] == 200 for r in emu.requests)  # it did die midway, not at once
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    assert any(ln.startswith("pinner: remote error") for ln in result.stderr.splitlines()) or (
        "remote failure" in result.stderr
    ), result.stderr
    assert tree_bytes(root) == before


def test_every_request_failing_changes_no_file_and_says_so(
    emulator, tmp_path: Path, short_retry_budget: None
) -> None:
    emu = emulator(FORGE, fail_rate=1.0, faults=("502", "reset", "truncate"))
    root = fresh_copy(CONSUMERS / "demo", tmp_path / "demo")
    before = tree_bytes(root)
    started = time.monotonic()
    result = invoke("pin", str(root), "--server-url", emu.url, "--no-cache")
    # retrying is bounded: each request gives up after max_retry_time (1 s here), concurrently
    assert time.monotonic() - started < 10
    assert result.exit_code == 3, result.output
    assert "after" in result.stderr and "tries" in result.stderr  # it did retry, then gave up
    assert "no file was written" in result.stderr
    assert "Traceback" not in result.output
    assert tree_bytes(root) == before


# ----------------------------------------------------------------------------- SIGINT


def start_cli(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pinner", *args],
        cwd=cwd,
        env={**hermetic_env(), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


@pytest.fixture
def slow_forge(emulator) -> Iterator[object]:
    """An emulator answering every request after 1 s, with ``.arrived`` set as soon as the
    first request comes in (before its answer): the run is then surely still going."""
    handle = emulator(FORGE, latency_ms=1000)
    arrived = threading.Event()
    draw_fault = handle.emulator.draw_fault  # called on arrival, before the latency

    def on_arrival() -> str | None:
        arrived.set()
        return draw_fault()

    handle.emulator.draw_fault = on_arrival
    handle.arrived = arrived
    yield handle


@pytest.mark.parametrize(
    ("command", "consumer", "extra"),
    [
        ("pin", CONSUMERS / "demo", ()),
        ("update", UPDATE_CONSUMER, ("--now", "2026-01-01T00:00:00Z", "--cooldown", "0")),
        ("audit", AUDIT_CONSUMER, ()),
    ],
)
def test_sigint_mid_run_exits_130_with_one_line_and_changes_nothing(
    slow_forge, tmp_path: Path, command: str, consumer: Path, extra
) -> None:
    root = fresh_copy(consumer, tmp_path / consumer.name)
    before = tree_bytes(root)
    process = start_cli(
        [command, str(root), *extra, "--server-url", slow_forge.url, "--no-cache"], tmp_path
    )
    try:
        wait_for(lambda: slow_forge.arrived.is_set() or process.poll() is not None)
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, (stdout, stderr)
    assert stderr == "pinner: error: interrupted; no file was changed\n", stderr
    assert tree_bytes(root) == before  # no file changed, no temporary file left behind


@pytest.mark.parametrize(
    ("signum", "said"),
    [
        (signal.SIGINT, "interrupted"),
        (signal.SIGTERM, "terminated (SIGTERM)"),
        (signal.SIGHUP, "hung up (SIGHUP)"),
    ],
)
def test_sigint_during_the_rename_phase_is_honest_and_leaves_no_backup(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    signum: int,
    said: str,
) -> None:
    """Ctrl-C (or SIGTERM, SIGHUP) between two renames is held until every rename is done: the
    run then stops with 130, says the files were written (they were), and leaves no backup
    file behind; the process's own handlers are back afterwards."""
    import typer

    from pinner.core import rewrite

    files = [tmp_path / f"{name}.yml" for name in "abc"]
    for f in files:
        f.write_bytes(b"old\n")
    real_replace = os.replace

    def interrupted_replace(src, dst, **dir_fds) -> None:
        real_replace(src, dst, **dir_fds)
        if str(dst).endswith("a.yml"):
            os.kill(os.getpid(), signum)

    handler = signal.getsignal(signum)
    monkeypatch.setattr(rewrite.os, "replace", interrupted_replace)
    with pytest.raises(typer.Exit) as exit_info:
        common.run(lambda: rewrite.write_all({f: b"new\n" for f in files}))
    assert exit_info.value.exit_code == 130
    assert capsys.readouterr().err == f"pinner: error: {said}; every file was already written\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yml", "b.yml", "c.yml"]
    assert all(f.read_bytes() == b"new\n" for f in files)
    assert signal.getsignal(signum) is handler


def test_ctrl_c_while_python_is_still_importing_pinner_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first tenths of a second are imports: a Ctrl-C there is no traceback either."""
    import pinner.__main__ as entry

    class Interrupting:
        def find_spec(self, name: str, path: object, target: object = None) -> None:
            if name == "pinner.cli":
                raise KeyboardInterrupt
            return None

    monkeypatch.delitem(sys.modules, "pinner.cli")
    monkeypatch.setattr(sys, "meta_path", [Interrupting(), *sys.meta_path])
    handlers = {sig: signal.getsignal(sig) for sig in interrupts.HANDLED}
    try:
        with pytest.raises(SystemExit) as exit_info:
            entry.main()
    finally:  # the entry point owns the process's signals to its very end
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert exit_info.value.code == 130
    assert capsys.readouterr().err == "pinner: error: interrupted; no file was changed\n"
