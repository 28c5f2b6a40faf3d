"""A token the forge rejects (expired, revoked, mistyped) ends the run in one line.

GitHub answers ``401 Bad credentials`` to every request that carries a bad token, on the REST
API, GraphQL and git alike; without a token the same requests would have worked. Before, the
first 401 switched GraphQL off and every git listing's 401 read as "repository not found", so
``pinner pin`` reported each action of the repository as missing, one problem per line, and
exited 1 as if the workflows were wrong. The token is the one thing wrong: one line, exit 3,
nothing written, for every command.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from pinner.cli import app
from pinner.errors import TokenRejected
from pinner.forge.http import RequestKind
from tests.hostile_servers import RecordingServer
from tests.test_forge_http import API, TOKEN, get, make_settings, make_transport

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "consumers" / "demo"
BAD_TOKEN = "ghp_REVOKEDrevokedREVOKED0123456789"


@respx.mock
def test_a_401_to_a_request_with_the_token_is_a_rejected_token() -> None:
    respx.get(f"{API}/repos/o/r").mock(
        return_value=httpx.Response(401, json={"message": "Bad credentials"})
    )
    transport, _ = make_transport()
    with pytest.raises(TokenRejected) as info:
        get(transport, f"{API}/repos/o/r", kind=RequestKind.REST)
    message = str(info.value)
    assert "rejected the token" in message and "GITHUB_TOKEN" in message
    assert TOKEN not in message and "\n" not in message


@respx.mock
def test_a_401_without_a_token_is_the_callers_to_read() -> None:
    # GitHub's git answers 401 to anonymous clients for a repository that does not exist
    respx.get(f"{API}/x").mock(return_value=httpx.Response(401))
    transport, _ = make_transport(make_settings(token=None))
    assert get(transport, f"{API}/x").status == 401


@pytest.mark.parametrize("command", ["pin", "audit", "update", "lock", "checksums"])
def test_every_command_says_the_token_was_rejected_in_one_line(
    tmp_path: Path, command: str
) -> None:
    repo = tmp_path / "demo"
    shutil.copytree(DEMO, repo)
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    argv = [command, str(repo), "--token", BAD_TOKEN, "--no-cache"]
    if command in ("pin", "audit", "update"):
        argv.append("--no-images")
    with RecordingServer(status=401) as forge:
        result = CliRunner().invoke(app, [*argv, "--server-url", forge.url])
    assert result.exit_code == 3, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pinner: remote error: the forge rejected the token (HTTP 401")
    assert BAD_TOKEN not in result.output
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before
