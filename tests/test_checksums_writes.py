"""``pinner checksums``: the bytes it hashes, its timeout, and what ``--write`` may replace.

Through the real CLI against a small download server on 127.0.0.1 written for these tests,
which does what the emulator will not: compress every answer whatever the client asks
(issue 14, item 7), or answer each request slowly (item 11). And, against the emulator:
a manifest that cannot be read is one line and exit 2 (item 13), and ``--write`` never
replaces a good manifest with a partial one (issue 13, item 11) nor runs the downloads when
it could not write the result.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.test_checksums_e2e import run

PAYLOAD = b"#!/bin/sh\necho 'a tool, compressible' \n" * 200
GZIPPED = gzip.compress(PAYLOAD, mtime=0)


class DownloadServer:
    """``/gz/NAME``: PAYLOAD gzip-encoded whatever Accept-Encoding says; ``/slow/NAME``: PAYLOAD
    after ``delay`` seconds; ``/fail/NAME``: 404. ``.requests`` holds (path, headers)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                if self.path.startswith("/gz/"):
                    self.answer(GZIPPED, {"Content-Encoding": "gzip"})
                elif self.path.startswith("/slow/"):
                    time.sleep(server.delay)
                    self.answer(PAYLOAD, {})
                else:
                    self.send_error(404)

            def answer(self, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[DownloadServer]:
    handle = DownloadServer(delay=0.3)
    yield handle
    handle.close()


def checksums(*args: str, cwd: Path, forge_url: str | None = None):
    forge = ["--server-url", forge_url] if forge_url else []
    return run(["checksums", "--no-cache", *forge, *args], cwd)


# ----------------------------------------------------------------------------- 14.7


def test_the_hash_is_of_the_bytes_served_even_when_the_server_compresses_regardless(
    server: DownloadServer, tmp_path: Path
) -> None:
    url = f"{server.url}/gz/tool.sh"
    manifest = tmp_path / "checksums.json"
    result = checksums("--url", url, "--write", str(manifest), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    entry = json.loads(manifest.read_text())["downloads"][url]
    assert entry["sha256"] == hashlib.sha256(GZIPPED).hexdigest()
    assert entry["size"] == len(GZIPPED)
    assert server.requests[0][1]["accept-encoding"] == "identity"  # as curl and wget ask
    curl = shutil.which("curl")
    if curl is not None:  # and it is what `curl -o` saves (when curl is here to ask)
        saved = tmp_path / "saved"
        subprocess.run([curl, "-s", "-o", str(saved), url], check=True, timeout=60)
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == entry["sha256"]
    again = checksums("--verify", str(manifest), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "verify OK: 1 checked" in again.stderr


def test_verify_catches_a_manifest_holding_the_decoded_bytes(
    server: DownloadServer, tmp_path: Path
) -> None:
    """What earlier versions recorded (the hash of httpx's decoded body) is not what is
    served: --verify says so."""
    url = f"{server.url}/gz/tool.sh"
    manifest = tmp_path / "decoded.json"
    entry = {"sha256": hashlib.sha256(PAYLOAD).hexdigest(), "size": len(PAYLOAD)}
    manifest.write_text(json.dumps({"schema": "pinner.checksums/1", "downloads": {url: entry}}))
    result = checksums("--verify", str(manifest), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert f"MISMATCH: {url}: expected sha256 {entry['sha256']}" in result.stderr
    assert f"size {len(PAYLOAD)} -> {len(GZIPPED)}" in result.stderr


# ----------------------------------------------------------------------------- 14.11


def test_the_timeout_counts_the_download_not_the_wait_for_a_free_connection(
    server: DownloadServer, tmp_path: Path
) -> None:
    """Eight downloads of 0.3 s each through one connection: the last starts after 2.1 s of
    waiting, yet none takes a second."""
    urls = [f"{server.url}/slow/tool-{n}.sh" for n in range(8)]
    args = [a for u in urls for a in ("--url", u)]
    result = checksums("--jobs", "1", "--timeout", "1", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(result.stdout)["downloads"]) == sorted(urls)
    assert "did not finish" not in result.stderr


# ----------------------------------------------------------------------------- 14.13 / 13.11

ENTRY = {"sha256": "a" * 64, "size": 3}


def manifest_with(**fields: object) -> str:
    return json.dumps(
        {"schema": "pinner.checksums/1", "downloads": {"https://x.example/t": {**ENTRY, **fields}}}
    )


@pytest.mark.parametrize(
    "content",
    [
        manifest_with(found_in=7),
        manifest_with(found_in=[{"origin": ".", "file": "ci.yml", "line": "twelve"}]),
        manifest_with(found_in=[{"origin": ".", "file": "ci.yml", "line": 1e400}]),
        manifest_with(found_in=["ci.yml"]),
        manifest_with(mutable_reasons=5),
        manifest_with(mutable="yes"),
        manifest_with(release_digest=12),
        manifest_with(size=True),
        manifest_with(size=1.5),
        '{"schema": "pinner.checksums/1", "downloads": {"https://x.example/t": '
        '{"sha256": "' + "a" * 64 + '", "size": ' + "9" * 5000 + "}}}",
        "[" * 100_000,
        "",
        json.dumps({"schema": "pinner.checksums/1", "downloads": []}),
    ],
)
def test_a_malformed_manifest_is_one_line_and_exit_2(tmp_path: Path, content: str) -> None:
    manifest = tmp_path / "checksums.json"
    manifest.write_text(content, encoding="utf-8")
    result = checksums("--verify", str(manifest), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"pinner: error: {manifest}:")
    assert "Traceback" not in result.stderr


def test_a_failed_download_never_replaces_a_good_manifest(
    server: DownloadServer, tmp_path: Path
) -> None:
    manifest = tmp_path / "checksums.json"
    good = checksums("--url", f"{server.url}/slow/a.sh", "--write", str(manifest), cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    before = manifest.read_bytes()
    result = checksums(
        "--url",
        f"{server.url}/slow/a.sh",
        "--url",
        f"{server.url}/fail/b.sh",
        "--write",
        str(manifest),
        cwd=tmp_path,
    )
    assert result.returncode == 3, result.stderr
    assert manifest.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checksums.json"]
    assert result.stderr.splitlines()[-1] == (
        f"pinner: 1 download(s) failed: {manifest} was not written "
        "(a manifest already there is unchanged)"
    )


def test_write_into_a_missing_directory_stops_before_any_download(
    server: DownloadServer, tmp_path: Path
) -> None:
    target = tmp_path / "no-such-dir" / "checksums.json"
    result = checksums("--url", f"{server.url}/slow/a.sh", "--write", str(target), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"pinner: error: --write {target}: no such directory: {target.parent}\n"
    )
    assert server.requests == []
