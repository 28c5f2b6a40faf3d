"""Hostile forges: what a repository or a server sends must never crash pinner or drive the
user's terminal.

* Action metadata that is huge or an alias bomb is a finding on that node (``unresolvable``),
  never a crash or a hang; cycles between actions and chains deeper than the runner's 9 levels
  end quickly with ``depth-exceeded``, each action fetched once.
* Terminal escape sequences (``ESC [``, ``ESC ]``, BEL, C1 controls, bidi overrides) in tag and
  branch names, action names and descriptions, release notes, download URLs and server error
  messages are never printed raw, in any text output of any command.
* A server that answers garbage, truncates, streams without end or sends hostile error bodies
  fails the run with one ``remote error`` line and exit 3 (no traceback) and changes no file.

The hostile repositories are generated into a temporary snapshot with the shared builder
(:mod:`tests.forge.builder`) and served by the emulator; the garbage servers are tiny handlers.
"""

from __future__ import annotations

import functools
import json
import random
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from pinner.cli import app
from pinner.commands import common
from pinner.sanitize import for_terminal
from pinner.settings import Settings
from tests.forge.builder import RepoBuilder

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
CONSUMERS = ROOT / "fixtures" / "consumers"
OWNER = "hostile-remote"

# What an attacker would put in a name: set the window title, clear the screen, colour, the
# 8-bit CSI, a right-to-left override and a zero-width space.
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[31m\x9b1m\u202e\u200b"
RAW_CONTROL = ("\x1b", "\x07", "\x9b", "\u202e", "\u200b")
NOW = ("--now", "2026-01-01T00:00:00Z", "--cooldown", "0")


def assert_terminal_safe(text: str) -> None:
    found = [repr(c) for c in RAW_CONTROL if c in text]
    assert not found, f"raw {found} in output:\n{text[:2000]}"


def invoke(*args: str):
    env = {"PINNER_NO_GH": "1", "GITHUB_TOKEN": "", "GH_TOKEN": "", "NO_COLOR": "1"}
    return CliRunner().invoke(app, list(args), env=env)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# ----------------------------------------------------------------------------- sanitiser


@given(st.text())
def test_for_terminal_never_lets_a_control_or_invisible_character_through(text: str) -> None:
    shown = for_terminal(text, single_line=True)
    for char in shown:
        code = ord(char)
        assert code >= 0x20 and not 0x7F <= code <= 0x9F, repr(char)
        assert char not in "\u061c\u200b\u200c\u200d\u200e\u200f\u2028\u2029\ufeff"
        assert not 0x202A <= code <= 0x202E and not 0x2060 <= code <= 0x2069


@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_for_terminal_keeps_printable_text(text: str) -> None:
    assert for_terminal(text) == text


def test_for_terminal_shows_what_it_replaced() -> None:
    assert for_terminal("a\x1b[2Jb\u202ec\n", single_line=True) == "a\\x1b[2Jb\\u202ec\\n"


# ----------------------------------------------------------------------------- hostile forge


def node_action(name: str, description: str) -> str:
    return (
        f"name: {json.dumps(name)}\ndescription: {json.dumps(description)}\n"
        "runs:\n  using: node20\n  main: index.js\n"
    )


def alias_bomb() -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\nruns:\n  using: composite\n  steps: []\n"


def hostile_repos() -> list[RepoBuilder]:
    """``escapes`` (names, tags, branch, release, download URL), ``huge``, ``bomb``."""
    esc = RepoBuilder(f"{OWNER}/escapes")
    c1 = esc.commit("c1", date="2025-01-01T00:00:00Z")
    c2 = esc.commit("c2", c1, date="2025-02-01T00:00:00Z")
    esc.branch("main", c2)
    esc.branch("evil" + ESCAPES, c2)
    esc.annotated_tag("v1.0.0", c1, "2025-01-01T00:00:00Z")
    esc.annotated_tag("v1.1.0", c2, "2025-02-01T00:00:00Z")
    esc.light_tag("v1", c2)
    esc.light_tag("v1.1.0" + ESCAPES, c2)
    esc.light_tag("v9.9.9-" + ESCAPES, c2)
    esc.file(c1, "action.yml", node_action("Evil " + ESCAPES, "desc " + ESCAPES))
    # written with YAML escapes (raw control characters would make the file unreadable)
    url = "__FORGE_URL__/dl/tool-" + json.dumps(ESCAPES)[1:-1]
    esc.file(
        c2,
        "action.yml",
        f"name: {json.dumps('Evil ' + ESCAPES)}\nruns:\n  using: composite\n  steps:\n"
        f'    - run: "curl -fsSL {url} | sh"\n      shell: bash\n',
    )
    esc.releases = [
        {
            "tag_name": "v1.1.0",
            "name": "Release " + ESCAPES,
            "body": "notes " + ESCAPES,
            "draft": False,
            "prerelease": False,
            "created_at": "2025-02-01T00:00:00Z",
            "published_at": "2025-02-01T00:00:00Z",
            "assets": [],
        }
    ]
    huge = RepoBuilder(f"{OWNER}/huge")
    commit = huge.commit("c1")
    huge.branch("main", commit)
    huge.light_tag("v1", commit)
    huge.file(commit, "action.yml", node_action("huge", "x" * (3 * 1024 * 1024)))
    bomb = RepoBuilder(f"{OWNER}/bomb")
    commit = bomb.commit("c1")
    bomb.branch("main", commit)
    bomb.light_tag("v1", commit)
    bomb.file(commit, "action.yml", alias_bomb())
    return [esc, huge, bomb]


CONSUMER_WORKFLOW = f"""on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: {OWNER}/escapes@v1
      - uses: {OWNER}/escapes@v1.0.0
      - uses: {OWNER}/escapes@main
      - uses: {OWNER}/huge@v1
      - uses: {OWNER}/bomb@v1
"""


@pytest.fixture(scope="module")
def hostile_forge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-forge")
    for repo in hostile_repos():
        repo.write(root)
    return root


@pytest.fixture
def consumer(tmp_path: Path) -> Path:
    root = tmp_path / "consumer"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text(CONSUMER_WORKFLOW)
    return root


def test_terminal_escapes_from_the_forge_are_never_printed_raw(
    emulator, hostile_forge: Path, consumer: Path
) -> None:
    emu = emulator(hostile_forge)
    forge = ("--server-url", emu.url, "--no-cache")
    target = str(consumer)
    runs = {
        "audit": invoke("audit", target, *forge),
        "audit github": invoke("audit", target, "--format", "github", *forge),
        "update": invoke("update", target, *NOW, "--dry-run", *forge),
        "checksums": invoke("checksums", target, *forge),
        "pin diff": invoke("pin", target, "--diff", *forge),
        "pin": invoke("pin", target, *forge),
    }
    for name, result in runs.items():
        assert "Traceback" not in result.output, (name, result.output)
        assert_terminal_safe(result.output)
    # the hostile text did reach the printed output, escaped: the URL with ESC and BEL in it
    assert "tool-\\x1b]0" in runs["checksums"].output
    assert runs["audit"].exit_code == 1 and "mutable-download" in runs["audit"].output
    assert runs["pin"].exit_code == 0, runs["pin"].output
    # no tag with an escape in it was chosen as a version comment
    text = (consumer / ".github" / "workflows" / "ci.yml").read_text()
    assert "# v1.1.0\n" in text and "# v1.0.0\n" in text and "# main\n" in text


def test_huge_and_alias_bomb_metadata_are_findings_on_their_node(
    emulator, hostile_forge: Path, consumer: Path
) -> None:
    emu = emulator(hostile_forge)
    result = invoke("audit", str(consumer), "--server-url", emu.url, "--no-cache", "--format",
                    "json")  # fmt: skip
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    errors = {n["repo"]: n["error"] for n in document["nodes"] if n["error"]}
    assert "too large" in errors[f"{OWNER}/huge"]
    assert "alias" in errors[f"{OWNER}/bomb"]
    unresolvable = [f for f in document["findings"] if f["rule"] == "unresolvable"]
    assert len(unresolvable) == 2
    # the 3 MB file was not fetched through every channel and retried: once, then refused
    raw = [r for r in emu.requests if "huge" in r["path"] and r["kind"] == "raw"]
    assert len(raw) == 1


def test_cycles_and_depth_past_nine_end_quickly_with_findings(emulator, tmp_path: Path) -> None:
    """audit-org/cycle (a -> b -> a) and audit-org/deep (l1 .. l10) over HTTP."""
    emu = emulator(FORGE)
    root = tmp_path / "nested"
    (root / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(
        CONSUMERS / "audit-scenarios" / ".github" / "workflows" / "nested.yml",
        root / ".github" / "workflows" / "nested.yml",
    )
    forge = ("--server-url", emu.url, "--no-cache", "--no-images")
    result = invoke("audit", str(root), *forge, "--format", "json")
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    depth = [f for f in findings if f["rule"] == "depth-exceeded"]
    messages = " ".join(f["message"] for f in depth)
    assert "cycle" in messages and len(depth) >= 2, depth
    fetched = [r["path"] for r in emu.requests if r["kind"] == "raw"]
    assert len(fetched) == len(set(fetched)), "an action was fetched twice"


# ----------------------------------------------------------------------------- garbage servers


class _Garbage(BaseHTTPRequestHandler):
    """Answers every request according to ``server.mode``; never anything a forge would send."""

    protocol_version = "HTTP/1.1"
    server: _GarbageServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        mode = self.server.mode
        if mode == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"[" * 65536
            try:
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                self.close_connection = True
                return
        if mode == "random":
            status, body = 200, self.server.rng.randbytes(2048)
            content_type = "application/json"
        elif mode == "wrong-json":
            status, content_type = 200, "application/json"
            body = json.dumps({"sha": 5, "object": None, "tag_name": [], "commit": "x"}).encode()
        elif mode == "deep-json":  # Python's json recurses once per level
            status, content_type = 200, "application/json"
            body = b"[" * 100_000 + b"]" * 100_000
        elif mode == "escape-errors":
            status, content_type = self.server.rng.choice([400, 404, 410, 422, 451]), "text/plain"
            # a newline then a workflow command: in CI, stdout/stderr lines starting with "::"
            # are commands to the runner (annotations, masks, outputs)
            body = json.dumps({"message": f"Not Found {ESCAPES}\n::error::injected"}).encode()
        else:
            raise AssertionError(mode)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _GarbageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: str):
        super().__init__(("127.0.0.1", 0), _Garbage)
        self.mode = mode
        self.rng = random.Random(8)

    def handle_error(self, request: object, client_address: object) -> None:
        """The client hanging up on an endless body is expected."""


@pytest.fixture
def garbage(request: pytest.FixtureRequest) -> Iterator[str]:
    server = _GarbageServer(request.param)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def quick_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        common, "Settings", functools.partial(Settings, max_retry_time=0.3, retry_backoff=0.01)
    )


def commands(work: Path) -> dict[str, tuple[Path, list[str]]]:
    """Every command over a one-action repository (a garbage server fails them all anyway; one
    action keeps the endless-body case to one capped read per command)."""
    root = work / "tiny"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: pinner-fixtures/checkout-lite@v1.0.0\n"
    )
    return {
        "pin": (root, ["pin", str(root)]),
        "pin json": (root, ["pin", str(root), "--format", "json"]),
        "audit": (root, ["audit", str(root)]),
        "update": (root, ["update", str(root), *NOW]),
        "checksums": (root, ["checksums", str(root)]),
    }


@pytest.mark.parametrize(
    "garbage", ["random", "wrong-json", "deep-json", "escape-errors", "endless"], indirect=True
)
def test_garbage_servers_fail_with_one_line_and_change_nothing(
    garbage: str, tmp_path: Path, quick_failures: None, request: pytest.FixtureRequest
) -> None:
    garbage_mode = request.node.callspec.params["garbage"]
    for name, (root, args) in commands(tmp_path).items():
        before = tree(root)
        result = invoke(*args, "--server-url", garbage, "--no-cache")
        # 404s and 422s are definitive answers: reported as problems (update exits 0 on those)
        assert result.exit_code in (0, 1, 3), (name, result.exit_code, result.output[:2000])
        if garbage_mode != "escape-errors":
            assert result.exit_code == 3, (name, result.output[:2000])
        if garbage_mode == "endless":
            assert "too large" in result.output, (name, result.output[:2000])  # capped
        assert "Traceback" not in result.output, (name, result.output)
        assert_terminal_safe(result.output)
        assert not any(ln.startswith("::") for ln in result.output.splitlines()), result.output
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("pinner: ")]
        assert len(errors) <= 2, (name, errors)  # the error, and pin's "nothing written"
        assert tree(root) == before, name


def test_truncating_server_fails_with_one_line_and_changes_nothing(
    emulator, tmp_path: Path, quick_failures: None
) -> None:
    emu = emulator(FORGE, fail_rate=1.0, faults=("truncate",))
    for name, (root, args) in commands(tmp_path).items():
        before = tree(root)
        result = invoke(*args, "--server-url", emu.url, "--no-cache")
        assert result.exit_code == 3, (name, result.output)
        assert "Traceback" not in result.output
        assert "remote" in result.output, (name, result.output)  # json: in the document
        assert tree(root) == before, name


def test_error_messages_are_one_line_whatever_they_quote(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A newline in quoted foreign text could fake a line or, in CI, a workflow command."""
    import typer

    from pinner.errors import RemoteError

    def fail() -> None:
        raise RemoteError(f"server said: Not Found\n::error::injected{ESCAPES}\r\nmore")

    with pytest.raises(typer.Exit) as info:
        common.run(fail)
    assert info.value.exit_code == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pinner: remote error: server said")
    assert_terminal_safe(err)


def test_deeply_nested_json_from_the_forge_is_a_remote_error() -> None:
    """Python's json module recurses once per nesting level: 100k ``[`` from a server must be
    'invalid JSON' (exit 3), not a RecursionError traceback."""
    import httpx

    from pinner.errors import RemoteError
    from pinner.forge.http import Response

    body = b"[" * 100_000 + b"]" * 100_000
    response = Response(
        200, httpx.Headers(), body, "https://api.example/x", "https://api.example/x"
    )
    with pytest.raises(RemoteError, match="invalid JSON"):
        response.json("get x")


def test_deeply_nested_manifest_is_an_input_error(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(b'{"schema": "pinner.checksums/1", "downloads": ' + b"[" * 100_000)
    result = invoke("checksums", "--verify", str(manifest), "--snapshot", str(FORGE))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("pinner: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
