"""The shared forge options: declared once in :mod:`pinner.commands.common`, offered by every
command that talks to the forge, with the per-command differences (``--jobs`` default) kept;
checksums takes ``--offline`` like the others (issue 13, item 12)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pinner.cli import app
from pinner.commands import common
from pinner.errors import UsageError

SHARED = {
    "server_url": ["--server-url"],
    "api_url": ["--api-url"],
    "token": ["--token"],
    "cache_dir": ["--cache-dir"],
    "no_cache": ["--no-cache"],
    "offline": ["--offline"],
    "jobs": ["--jobs", "-j"],
    "snapshot": ["--snapshot"],
    "color": ["--color"],
    "verbose": ["--verbose"],
    "request_timeout": ["--request-timeout"],
    "deadline": ["--deadline"],
}


def _params(command: str) -> dict[str, object]:
    return {p.name: p for p in typer.main.get_command(app).commands[command].params}


@pytest.mark.parametrize(
    ("command", "jobs", "offline"),
    [("pin", 16, True), ("audit", 16, True), ("update", 16, True), ("checksums", 8, True)],
)
def test_every_forge_command_offers_the_shared_options_after_its_own(
    command: str, jobs: int, offline: bool
) -> None:
    params = _params(command)
    expected = {k: v for k, v in SHARED.items() if offline or k != "offline"}
    for name, opts in expected.items():
        assert params[name].opts == opts, name
    assert ("offline" in params) is offline
    assert params["jobs"].default == jobs
    assert params["server_url"].envvar == "GITHUB_SERVER_URL"
    assert params["api_url"].envvar == "GITHUB_API_URL"
    assert params["request_timeout"].envvar == "PINNER_REQUEST_TIMEOUT"
    assert params["deadline"].envvar == "PINNER_DEADLINE"
    names = list(params)
    assert names[-len(expected) :] == list(expected)  # own options first, as before

    help_text = CliRunner().invoke(app, [command, "--help"], terminal_width=120).output
    for opts in expected.values():
        assert opts[0] in help_text
    assert f"[default: {jobs}; 1<=x<=256]" in help_text


def _capture(**kwargs: object) -> common.ForgeOptions:
    seen: list[common.ForgeOptions] = []

    @common.with_forge_options(**kwargs)  # type: ignore[arg-type]
    def command(name: str = "x", *, forge_options: common.ForgeOptions) -> None:
        seen.append(forge_options)

    test_app = typer.Typer()
    test_app.command()(command)
    result = CliRunner().invoke(
        test_app, ["--token", "ghp_secret_value", "--snapshot", ".", "-j", "3"], env={}
    )
    assert result.exit_code == 0, result.output
    return seen[0]


def test_the_command_receives_one_frozen_value_without_the_token_in_its_repr() -> None:
    options = _capture(jobs=16)
    assert options.token == "ghp_secret_value"
    assert "ghp_secret_value" not in repr(options)
    assert options.snapshot == (Path("."),) and options.jobs == 3
    with pytest.raises(AttributeError):
        options.jobs = 4  # type: ignore[misc]


def test_without_the_offline_flag_the_value_is_never_offline() -> None:
    assert _capture(jobs=8, offline=False).offline is False


def test_settings_validates_like_build_settings(tmp_path: Path) -> None:
    options = common.ForgeOptions(
        server_url=None,
        api_url=None,
        token=None,
        cache_dir=tmp_path,
        no_cache=True,
        offline=True,
        jobs=16,
        snapshot=(),
        color="auto",
    )
    with pytest.raises(UsageError, match="--offline needs the cache"):
        options.settings()


def test_a_command_without_the_parameter_is_refused_at_import_time() -> None:
    with pytest.raises(TypeError, match="forge_options"):

        @common.with_forge_options(jobs=1)
        def command(name: str = "x") -> None:
            """Forgot the forge_options parameter."""
