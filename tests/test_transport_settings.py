"""What a mistaken setting or a hostile name must not achieve (issue 13 item 13; issue 14
items 4, 9 and 12).

* A token shorter than 8 characters, or with a line break, non-ASCII, spaces or control
  characters, is refused with one line naming where it came from (exit 2), never printed;
  redaction replaces only the token as a whole, so a short token cannot garble messages.
* ``GITHUB_API_URL`` from the environment pairs only with a server URL from the environment
  (or one it belongs to): ``--server-url https://ghes.example`` on a GitHub-hosted runner no
  longer sends the GHES token to api.github.com.
* Plain http goes only to literal loopback addresses and ``localhost``, decided by parsing the
  host (``http://127.attacker.example`` is refused), for the forge and for downloads alike,
  and never through an ``HTTP_PROXY`` from the environment (it would carry the token in clear).
* A tag name with a newline or control characters is not a version, and never crashes ``pin``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from pinner.cli import app
from pinner.core.versions import parse_version
from pinner.errors import RemoteError
from pinner.forge.http import Redactor, RequestKind, redact
from pinner.settings import is_loopback_host, paired_api_url
from tests.forge.builder import RepoBuilder
from tests.hostile_servers import RecordingServer
from tests.test_forge_http import API, get, make_transport

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
CONSUMERS = ROOT / "fixtures" / "consumers"
TOKEN = "ghp_SENTINELsettingsTOKEN0123456789"


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_SERVER_URL", "GITHUB_API_URL")
        and not k.lower().endswith("_proxy")
    }
    return {**env, "PINNER_NO_GH": "1", "NO_COLOR": "1", **extra}


def invoke(*args: str, **env: str):
    return CliRunner().invoke(app, list(args), env=_env(**env))


def demo(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    shutil.copytree(CONSUMERS / "demo", root, ignore=shutil.ignore_patterns("expected.json"))
    return root


# ----------------------------------------------------------------------------- tokens


def test_redaction_replaces_the_token_as_a_whole_and_nothing_else():
    assert redact(f"x{TOKEN}y and Bearer {TOKEN}", TOKEN) == "x***y and Bearer ***"
    assert redact("ghp_SENTINEL is only a part of it", TOKEN) == "ghp_SENTINEL is only a part of it"
    # a one-letter token (the command line refuses it; Settings built by hand may hold one)
    # is replaced where it stands alone, never inside words
    assert redact("retrying: the request timed out", "t") == "retrying: the request timed out"
    assert redact("token t was refused", "t") == "token *** was refused"
    assert Redactor(TOKEN).data(b'{"auth": "Bearer ' + TOKEN.encode() + b'"}') == (
        b'{"auth": "Bearer ***"}'
    )


BAD_TOKENS = {
    "short": ("ghp_a1b", "is shorter than 8 characters"),
    "newline": ("ghp_first1\nsecond22", "contains a line break"),
    "carriage return": ("ghp_first1\rsecond22", "contains a line break"),
    "non-ascii": ("ghp_ünïcödé_tökén", "contains non-ASCII characters"),
    "space": ("ghp_first1 second22", "contains spaces or control characters"),
    "escape": ("ghp_first1\x1b[2Jsecond22", "contains spaces or control characters"),
}


@pytest.mark.parametrize("source", ["--token", "GITHUB_TOKEN", "GH_TOKEN"])
@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_a_bad_token_is_refused_in_one_line_without_showing_it(
    tmp_path: Path, source: str, case: str
) -> None:
    token, problem = BAD_TOKENS[case]
    root = demo(tmp_path)
    args = ["pin", str(root), "--server-url", "http://127.0.0.1:9", "--no-cache"]
    if source == "--token":
        result = invoke(*args, "--token", token)
    else:
        result = invoke(*args, **{source: token})
    assert result.exit_code == 2, result.output
    assert (
        result.stderr == f"pinner: error: the token from {source} {problem}: not a GitHub token\n"
    )
    for part in token.split():
        assert part[-6:] not in result.output  # nor any recognisable piece of it
    assert "Traceback" not in result.output


def test_a_bad_token_from_gh_is_named_as_such(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text("#!/bin/sh\nprintf 'gho_1\\n'\n")
    gh.chmod(0o755)
    env = _env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    del env["PINNER_NO_GH"]
    root = demo(tmp_path)
    result = CliRunner().invoke(
        app, ["pin", str(root), "--server-url", "http://127.0.0.1:9", "--no-cache"], env=env
    )
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "pinner: error: the token from `gh auth token` is shorter than 8 characters: "
        "not a GitHub token\n"
    )


def test_surrounding_whitespace_is_not_part_of_the_token(emulator, tmp_path: Path) -> None:
    """A token read from a file ends with a newline: that one is dropped, not refused."""
    emu = emulator(FORGE)
    result = invoke("pin", str(demo(tmp_path)), "--check", "--server-url", emu.url, "--no-cache",
                    GITHUB_TOKEN=f"  {TOKEN}\n")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert any(r["auth"] for r in emu.requests)


# ----------------------------------------------------------------------------- API URL pairing


@pytest.mark.parametrize(
    ("server", "server_env", "api", "api_env", "expected"),
    [
        (None, False, None, False, None),
        ("https://ghes.example", False, "https://api.github.com", True, None),  # the bug
        ("https://ghes.example", True, "https://api.github.com", True, "https://api.github.com"),
        ("https://ghes.example", False, "https://api.github.com", False, "https://api.github.com"),
        ("https://ghes.example", False, "https://ghes.example/api/v3", True,
         "https://ghes.example/api/v3"),
        ("https://x.ghe.com", False, "https://api.x.ghe.com", True, "https://api.x.ghe.com"),
        (None, False, "https://api.github.com", True, "https://api.github.com"),
        (None, False, "https://evil.example", True, None),
        ("http://127.0.0.1:8080", False, "http://127.0.0.1:9090", True, None),
    ],
)  # fmt: skip
def test_an_api_url_from_the_environment_pairs_only_with_its_server(
    server: str | None, server_env: bool, api: str | None, api_env: bool, expected: str | None
) -> None:
    chosen = paired_api_url(
        server_url=server, server_url_from_env=server_env, api_url=api, api_url_from_env=api_env
    )
    assert chosen == expected


def test_the_runners_api_url_does_not_get_the_token_of_another_server(
    emulator, tmp_path: Path
) -> None:
    """On a GitHub-hosted runner GITHUB_API_URL is api.github.com; with --server-url pointing
    elsewhere, the API is that server's, and the runner's API host hears nothing."""
    emu = emulator(FORGE)
    with RecordingServer(status=404) as runners_api:
        args = ["pin", str(demo(tmp_path)), "--check", "--server-url", emu.url, "--no-cache"]
        result = invoke(*args, GITHUB_API_URL=runners_api.url, GITHUB_TOKEN=TOKEN)
    assert result.exit_code == 1, result.output
    assert runners_api.seen == []
    assert any(r["kind"] == "graphql" and r["auth"] for r in emu.requests)


def test_an_api_url_that_came_with_its_server_from_the_environment_is_used(
    emulator, tmp_path: Path
) -> None:
    emu = emulator(FORGE)
    with RecordingServer(status=404) as api:
        invoke("pin", str(demo(tmp_path)), "--check", "--no-cache",
               GITHUB_SERVER_URL=emu.url, GITHUB_API_URL=api.url, GITHUB_TOKEN=TOKEN)  # fmt: skip
        from_env = list(api.seen)
        invoke("pin", str(demo(tmp_path / "2")), "--check", "--no-cache", "--server-url", emu.url,
               "--api-url", api.url, GITHUB_TOKEN=TOKEN)  # fmt: skip
        from_flag = api.seen[len(from_env) :]
    assert from_env and from_flag  # both pairs were honoured: the API host was asked


# ----------------------------------------------------------------------------- loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("::1", True),
        ("[::1]", True),
        ("127.attacker.example", False),
        ("127.0.0.1.nip.io", False),
        ("localhost.attacker.example", False),
        ("128.0.0.1", False),
        ("::2", False),
        ("::ffff:8.8.8.8", False),
        ("2130706433", False),  # 127.0.0.1 to some resolvers; not an IP literal here
        ("", False),
    ],
)
def test_loopback_is_parsed_not_matched_by_prefix(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize("flag", ["--server-url", "--api-url"], ids=["server-url", "api-url"])
def test_plain_http_to_a_name_that_looks_like_loopback_is_refused(flag: str) -> None:
    result = invoke("pin", ".", flag, "http://127.attacker.example:8080", "--no-cache")
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"pinner: error: {flag} must use https (plain http only for loopback): "
        "http://127.attacker.example:8080\n"
    )


@respx.mock
def test_the_transport_refuses_plain_http_to_such_a_host():
    route = respx.get(url__startswith="http://127.attacker.example").mock(
        return_value=httpx.Response(200)
    )
    respx.get(f"{API}/r").mock(
        return_value=httpx.Response(302, headers={"location": "http://127.attacker.example/x"})
    )
    for url in ("http://127.attacker.example/x", f"{API}/r"):
        transport, _ = make_transport()
        with pytest.raises(RemoteError, match="plain http"):
            get(transport, url)
    assert not route.called


def test_a_download_from_such_a_host_is_never_attempted() -> None:
    with RecordingServer(status=200) as proxy:  # would see the attempt, were it made by proxy
        result = invoke("checksums", "--url", "http://127.attacker.example/tool.tgz",
                        HTTP_PROXY=proxy.url, http_proxy=proxy.url)  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "refusing to download http://127.attacker.example/tool.tgz: https is required" in (
        result.output
    )
    assert proxy.seen == []


def test_an_http_proxy_never_sees_loopback_requests_or_the_token(emulator, tmp_path: Path):
    """httpx would send plain-http requests to HTTP_PROXY, Authorization header and all;
    loopback needs no proxy, and pinner's plain-http client ignores proxies altogether."""
    emu = emulator(FORGE)
    with RecordingServer(status=404) as proxy:
        proxies = {
            name: proxy.url for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
        }
        result = invoke("pin", str(demo(tmp_path)), "--check", "--server-url", emu.url,
                        "--no-cache", GITHUB_TOKEN=TOKEN, **proxies)  # fmt: skip
    assert result.exit_code == 1, result.output
    assert proxy.seen == []
    assert any(r["auth"] for r in emu.requests)


# ----------------------------------------------------------------------------- tag names


@pytest.mark.parametrize(
    "tag",
    ["v1.2.3\n", "v1.2.3\r", "v1.2.3\x00", "v1.2.3\t", "v1.2.3 ", " v1.2.3", "v1.2.3\u2028",
     "v1.2.3\x1b[0m", "v١.٢.٣", "\nv1.2.3"],
)  # fmt: skip
def test_a_tag_name_with_control_characters_is_not_a_version(tag: str) -> None:
    assert parse_version(tag) is None
    assert parse_version("v1.2.3") is not None


@pytest.fixture
def newline_tags(tmp_path: Path) -> Path:
    """``evil/tags``: v1 and v1.2.2 at one commit, plus newer-looking tags with a newline, a
    carriage return, a NUL and a tab in their names at that very commit."""
    repo = RepoBuilder("evil/tags")
    commit = repo.commit("c1", date="2025-01-01T00:00:00Z")
    repo.branch("main", commit)
    for name in ("v1", "v1.2.2", "v1.2.3\n", "v1.2.4\r", "v1.2.5\x00", "v1.2.6\t", "v1.9.9\n\n"):
        repo.light_tag(name, commit)
    repo.file(commit, "action.yml", "name: x\nruns:\n  using: node20\n  main: index.js\n")
    forge = tmp_path / "forge"
    repo.write(forge)
    return forge


@pytest.mark.parametrize("token", [None, TOKEN], ids=["git", "graphql"])
def test_pin_never_writes_a_tag_name_with_a_newline(
    emulator, newline_tags: Path, tmp_path: Path, token: str | None
) -> None:
    emu = emulator(newline_tags)
    root = tmp_path / "consumer"
    (root / ".github" / "workflows").mkdir(parents=True)
    workflow = root / ".github" / "workflows" / "ci.yml"
    workflow.write_text(
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: evil/tags@v1\n"
    )
    result = invoke("pin", str(root), "--server-url", emu.url, "--no-cache",
                    GITHUB_TOKEN=token or "")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert workflow.read_text().endswith(" # v1.2.2\n"), workflow.read_text()
    audit = invoke("audit", str(root), "--server-url", emu.url, "--no-cache",
                   GITHUB_TOKEN=token or "")  # fmt: skip
    assert audit.exit_code in (0, 1) and "Traceback" not in audit.output, audit.output


def test_a_transport_request_to_loopback_names_works():
    """The other side of the rule: literal loopback and localhost stay allowed."""
    with respx.mock:
        for url in ("http://127.0.0.1:8080/x", "http://localhost:8080/x", "http://[::1]:8080/x"):
            respx.get(url).mock(return_value=httpx.Response(200))
            transport, _ = make_transport()
            assert get(transport, url, kind=RequestKind.DOWNLOAD).status == 200
