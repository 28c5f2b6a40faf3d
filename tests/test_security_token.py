"""The token, end to end: where it goes, and everywhere it must never show up.

Every command runs against the emulator with a sentinel token and the emulator's request log
on. The log records, per request, whether an ``Authorization`` header came with it; a second
server on another port plays "another host". Proven here, through the real CLI:

* the token is sent to the configured forge (API, git and raw) and to nothing else: never to a
  download, never across a redirect to another host (a redirector in front of the emulator
  sends every request on to a second host: that host must never see it);
* it never appears in stdout or stderr of any command, in any format, on success or on any
  error path (rate limit, server errors, bad refs, unreachable host), nor in files pinner
  writes (rewritten workflows, PR texts, manifests, the cache), nor in any log record.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinner.cli import app
from pinner.commands import common
from pinner.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
CONSUMERS = ROOT / "fixtures" / "consumers"
TOKEN = "ghp_SENTINELsecurityTOKEN0123456789abcdef"
# what the token looks like on the wire for git (Basic x-access-token:TOKEN)
TOKEN_FORMS = (TOKEN, base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode())
NOW = ("--now", "2026-01-01T00:00:00Z")


def leaks(text: str | bytes) -> list[str]:
    """The forms of the token found in ``text`` (none, one hopes)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [form for form in TOKEN_FORMS if form in text] + (
        ["SENTINEL"] if "SENTINELsecurity" in text else []
    )


def invoke(*args: str, token_in_env: bool = True):
    env = {"PINNER_NO_GH": "1", "GH_TOKEN": "", "NO_COLOR": "1"}
    env["GITHUB_TOKEN"] = TOKEN if token_in_env else ""
    return CliRunner().invoke(app, list(args), env=env)


def copy_consumer(name: str, dst: Path) -> Path:
    target = dst / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(CONSUMERS / name, target, ignore=shutil.ignore_patterns("expected.json"))
    return target


def files_under(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def quick_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give up retrying after 0.2 s: the error paths are what these tests look at."""
    monkeypatch.setattr(
        common, "Settings", functools.partial(Settings, max_retry_time=0.2, retry_backoff=0.01)
    )


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record of every logger, down to DEBUG."""
    caplog.set_level(logging.DEBUG)
    return caplog


# ----------------------------------------------------------------------------- every command


def command_matrix(url: str, work: Path) -> list[tuple[str, list[str]]]:
    """Every command, in every output format, with every file-writing option, against ``url``."""
    demo = copy_consumer("demo", work)
    findings = copy_consumer("findings", work)
    upd = copy_consumer("upd-demo", work)
    audit = copy_consumer("audit-scenarios", work)
    locked = copy_consumer("upd-demo", work / "lock")
    out = work / "out"
    out.mkdir(exist_ok=True)
    cache = work / "cache"
    forge = ["--server-url", url, "--cache-dir", str(cache)]
    # the consumers name public images (docker.io): no registry in tests; registries and the
    # token are tests/test_images_pin.py's (a registry never receives the GitHub token)
    images = ["--no-images"]
    return [
        ("pin check", ["pin", str(findings), "--check", *forge, *images]),
        ("pin diff", ["pin", str(findings), "--diff", *forge, *images]),
        ("pin json", ["pin", str(findings), "--format", "json", *forge, *images]),
        ("pin write", ["pin", str(demo), *forge, *images]),
        ("audit text", ["audit", str(audit), *forge, *images]),
        ("audit json", ["audit", str(audit), "--format", "json", *forge, *images]),
        ("audit sarif", ["audit", str(audit), "--format", "sarif", *forge, *images]),
        ("audit github", ["audit", str(audit), "--format", "github", *forge, *images]),
        ("update text", ["update", str(upd), *NOW, "--dry-run", *forge, *images]),
        (
            "update json",
            ["update", str(upd), *NOW, "--dry-run", "--format", "json", *forge, *images],
        ),
        (
            "update markdown + PR files",
            [
                "update",
                str(upd),
                *NOW,
                "--format",
                "markdown",
                "--pr-title",
                str(out / "title"),
                "--pr-body",
                str(out / "body"),
                "--commit-message",
                str(out / "commit"),
                *forge,
                *images,
            ],
        ),
        ("lock check", ["lock", str(locked), "--check", *forge]),
        ("lock diff", ["lock", str(locked), "--diff", *forge]),
        ("lock write", ["lock", str(locked), *forge]),
        ("lock verify", ["lock", str(locked), "--check", "--format", "json", *forge]),
        ("checksums", ["checksums", str(demo), "--write", str(out / "manifest.json"), *forge]),
        ("checksums verify", ["checksums", "--verify", str(out / "manifest.json"), *forge]),
        ("cache info", ["cache", "info", "--cache-dir", str(cache)]),
    ]


def test_every_command_sends_the_token_only_to_the_forge_and_never_prints_it(
    emulator, tmp_path: Path, all_logs: pytest.LogCaptureFixture
) -> None:
    emu = emulator(FORGE)
    outputs: dict[str, tuple[int, str, str]] = {}
    for name, args in command_matrix(emu.url, tmp_path):
        result = invoke(*args)
        outputs[name] = (result.exit_code, result.stdout, result.stderr)
        assert "Traceback" not in result.output, (name, result.output)
        assert not leaks(result.stdout) and not leaks(result.stderr), name
    # the commands really ran against the forge (not all failing early with a usage error)
    assert all(code != 2 for code, _, _ in outputs.values()), outputs
    assert outputs["pin write"][0] == 0 and outputs["audit json"][0] == 1
    assert outputs["checksums"][0] == 0, outputs["checksums"]

    by_kind: dict[str, list[bool]] = {}
    for request in emu.requests:
        by_kind.setdefault(request["kind"], []).append(request["auth"])
    assert {"rest", "git", "raw", "download"} <= by_kind.keys(), by_kind.keys()
    assert all(by_kind["rest"]) and all(by_kind["git"]) and all(by_kind["raw"])
    assert not any(by_kind["download"]), "a download carried the token"

    for path in files_under(tmp_path):  # workflows, PR texts, manifest, cache entries
        assert not leaks(path.read_bytes()), path
    assert not leaks(all_logs.text)
    assert not any(leaks(repr(r.args)) for r in all_logs.records)


def test_token_given_as_a_flag_is_never_echoed(emulator, tmp_path: Path) -> None:
    emu = emulator(FORGE)
    root = copy_consumer("findings", tmp_path)
    for output_format in ("text", "json"):
        result = invoke(
            "pin",
            str(root),
            "--token",
            TOKEN,
            "--server-url",
            emu.url,
            "--no-cache",
            "--format",
            output_format,
            token_in_env=False,
        )
        assert result.exit_code == 1, result.output  # findings has problems to report
        assert not leaks(result.output)
    assert all(r["auth"] for r in emu.requests if r["kind"] != "download")


# ----------------------------------------------------------------------------- error paths


@pytest.mark.parametrize(
    "knobs",
    [
        # both buckets: with a token, GraphQL answers what once needed REST (compares too)
        pytest.param({"rate_limit": 1, "graphql_rate_limit": 1}, id="rate-limit"),
        pytest.param({"fail_rate": 1.0, "faults": ("502", "503")}, id="server-errors"),
        pytest.param({"fail_rate": 1.0, "faults": ("reset", "truncate")}, id="broken-connections"),
    ],
)
def test_error_paths_never_show_the_token(
    emulator, tmp_path: Path, quick_failures: None, all_logs, knobs: dict
) -> None:
    emu = emulator(FORGE, **knobs)
    remote_failures = []
    for name, args in command_matrix(emu.url, tmp_path):
        if name in ("cache info", "checksums verify"):
            continue
        result = invoke(*args)
        assert "Traceback" not in result.output, (name, result.output)
        assert not leaks(result.stdout) and not leaks(result.stderr), name
        if result.exit_code == 3:
            remote_failures.append(name)
    # the git channel has no API quota: a rate limit fails only the commands that need REST
    assert len(remote_failures) >= 5, remote_failures
    assert not leaks(all_logs.text)


def test_bad_refs_and_missing_repositories_never_show_the_token(emulator, tmp_path: Path) -> None:
    emu = emulator(FORGE)
    root = tmp_path / "bad"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: pinner-fixtures/checkout-lite@no-such-ref\n"
        "      - uses: pinner-fixtures/no-such-repo@v1\n"
        f"      - uses: pinner-fixtures/checkout-lite@{'0' * 40}\n"
    )
    for command in (["pin"], ["pin", "--format", "json"], ["audit", "--format", "sarif"]):
        result = invoke(*command, str(root), "--server-url", emu.url, "--no-cache")
        assert result.exit_code in (1, 3), result.output
        assert "no-such-ref" in result.output  # the problem is reported ...
        assert not leaks(result.output)  # ... and the token is not


def test_unreachable_forge_error_never_shows_the_token(tmp_path: Path, quick_failures) -> None:
    with socket_on_free_port() as port:  # reserved, never listening: connection refused
        url = f"http://127.0.0.1:{port}"
        root = copy_consumer("demo", tmp_path)
        result = invoke("pin", str(root), "--server-url", url, "--no-cache")
    assert result.exit_code == 3, result.output
    assert not leaks(result.output)


# ----------------------------------------------------------------------------- redirects


class _Redirector(BaseHTTPRequestHandler):
    """The configured forge host: remembers each request's Authorization header, then sends
    the client on to the same path on another host (307/308 keep method and body)."""

    protocol_version = "HTTP/1.1"
    server: _RedirectServer

    def _redirect(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization")))
        self.send_response(307 if self.command == "POST" else 302)
        self.send_header("Location", self.server.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_HEAD = _redirect

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _RedirectServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, target: str):
        super().__init__(("127.0.0.1", 0), _Redirector)
        self.target = target
        self.seen: list[tuple[str, str, str | None]] = []


@pytest.fixture
def redirector(emulator) -> Iterator[tuple[_RedirectServer, object]]:
    """(the forge host the user configures, the other host it redirects everything to)."""
    other = emulator(FORGE)
    server = _RedirectServer(other.url)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield server, other
    server.shutdown()
    server.server_close()


def test_cross_host_redirects_strip_the_token(redirector, tmp_path: Path) -> None:
    front, other = redirector
    url = f"http://127.0.0.1:{front.server_address[1]}"
    pin_root = copy_consumer("findings", tmp_path)
    forge = ("--server-url", url, "--no-cache", "--no-images")  # public images: no registry
    pin = invoke("pin", str(pin_root), *forge, "--format", "json")
    audit = invoke("audit", str(CONSUMERS / "audit-scenarios"), *forge)
    lock_root = copy_consumer("upd-demo", tmp_path / "lock")
    lock = invoke("lock", str(lock_root), *forge[:-1], "--format", "json")  # ids: REST, GraphQL
    # pinner followed every redirect and got real answers from the other host ...
    assert pin.exit_code == 1 and json.loads(pin.stdout)["records"], pin.output
    assert audit.exit_code == 1, audit.output
    assert lock.exit_code == 1 and json.loads(lock.stdout)["dependencies"], lock.output
    kinds = {r["kind"] for r in other.requests}
    assert {"rest", "git", "raw"} <= kinds, kinds
    # ... the configured host got the token (it is the forge) ...
    sent = [auth for _, _, auth in front.seen if auth]
    assert sent and all(leaks(auth.split(" ", 1)[1] if " " in auth else auth) for auth in sent)
    assert any(method == "POST" for method, _, _ in front.seen)  # git protocol v2 too
    # ... and the other host never did
    assert not any(r["auth"] for r in other.requests), [r for r in other.requests if r["auth"]]
    assert not leaks(pin.output) and not leaks(audit.output) and not leaks(lock.output)
    assert not any(leaks(path.read_bytes()) for path in files_under(lock_root))


# ----------------------------------------------------------------------------- helpers


class socket_on_free_port:
    """A bound but not listening TCP socket: its port refuses connections while held."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        return self._sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


def test_a_real_process_never_shows_the_token(emulator, tmp_path: Path) -> None:
    """Out of process, logging's last-resort handler and warnings print to stderr: still clean.

    The forge rate-limits after two requests and fails a third of the rest, so the run goes
    through retries, a rate-limit stop and error reporting.
    """
    import os
    import subprocess
    import sys

    emu = emulator(FORGE, rate_limit=2, fail_rate=0.3, seed=3, faults=("502", "reset"))
    root = copy_consumer("findings", tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_API_URL")}
    env |= {"GITHUB_TOKEN": TOKEN, "PINNER_NO_GH": "1", "GITHUB_SERVER_URL": emu.url}
    for args in (["pin", str(root), "--no-cache"], ["audit", str(root), "--no-cache"]):
        done = subprocess.run(
            [sys.executable, "-m", "pinner", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode in (1, 3), done.stderr
        assert "Traceback" not in done.stderr
        assert not leaks(done.stdout) and not leaks(done.stderr)
    assert any(r["auth"] for r in emu.requests)  # the token was in use
