"""The command line as a user meets it: its errors and its ``--help``.

A mistyped command line is one line on stderr, like every other error pinner reports.

click prints a usage error on four lines (usage, hint, a blank line, the error); a CI log or a
pre-commit hook often shows only the first or the last. pinner says the error and where to
look in one line, ``pinner: error: ...; see 'pinner pin --help'``, exit 2, for every command,
while a bare ``pinner`` or ``pinner cache`` still prints its help.

``--help`` lists a command's own options first, then the options it shares with the other
commands in sections of their own, and names arguments as the usage line does.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pinner.cli import app

COMMANDS = ["pin", "lock", "audit", "update", "checksums", "cache info", "cache clear"]


def invoke(*argv: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(argv), prog_name="pinner")


def one_line(result, command: str) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pinner: error: "), lines
    assert lines[0].endswith(f"; see '{command} --help'"), lines
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_option_is_one_line_naming_the_commands_help(command: str) -> None:
    line = one_line(invoke(*command.split(), "--no-such-flag"), f"pinner {command}")
    assert "No such option: --no-such-flag" in line


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["pin", "--jobs", "0"], "Invalid value for '--jobs'"),
        (["audit", "--max-nodes", "many"], "Invalid value for '--max-nodes'"),
        (["update", "--deadline", "-1"], "Invalid value for '--deadline'"),
        (["lock", "--format"], "Option '--format' requires an argument"),
        (["checksums", "--max-size", "0"], "Invalid value for '--max-size'"),
        (["audit", "--output", "."], "is a directory"),
    ],
)
def test_a_bad_option_value_is_one_line(argv: list[str], says: str) -> None:
    assert says in one_line(invoke(*argv), f"pinner {argv[0]}")


def test_a_missing_argument_and_an_unknown_command_are_one_line() -> None:
    assert "Missing argument 'SHELL'" in one_line(invoke("completion"), "pinner completion")
    assert "No such command 'bogus'" in one_line(invoke("bogus"), "pinner")
    assert "No such command 'bogus'" in one_line(invoke("cache", "bogus"), "pinner cache")
    assert "No such option: --bogus" in one_line(invoke("--bogus"), "pinner")


@pytest.mark.parametrize("argv", [[], ["cache"]])
def test_a_bare_group_still_prints_its_help(argv: list[str]) -> None:
    result = invoke(*argv)
    assert result.exit_code == 2
    assert result.output.startswith("Usage: pinner") and "Commands:" in result.output


@pytest.mark.parametrize("command", ["pin", "lock", "audit", "update", "checksums"])
def test_help_lists_the_commands_own_options_first_and_the_shared_ones_in_sections(
    command: str,
) -> None:
    result = CliRunner().invoke(
        app, [command, "--help"], prog_name="pinner", env={"COLUMNS": "100"}
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    headings = [line for line in text.splitlines() if line and not line.startswith(" ")]
    sections = [h for h in headings if h.endswith(":") and not h.startswith("Usage:")]
    assert sections[:2] == ["Arguments:", "Options:"] and sections[-1] == "Talking to GitHub:"
    assert "  PATH...  Repository roots" in text and "list[Path]" not in text
    own, shared = text.split("\nTalking to GitHub:\n")
    assert "--server-url URL" in shared and "--server-url" not in own
    assert "--deadline SECONDS" in shared and "--check" not in shared
    if command in ("pin", "audit", "update"):
        assert "\nContainer images:\n" in own
    if command in ("audit", "checksums"):
        assert "\nGraph bounds:\n  --max-file-edges N" in own


def test_completion_help_names_its_argument_plainly() -> None:
    text = CliRunner().invoke(app, ["completion", "--help"], prog_name="pinner").stdout
    assert "  SHELL  bash | zsh | fish  [required]" in text


def test_every_command_that_proves_commits_takes_verify_budget() -> None:
    for command in ("pin", "lock", "audit"):
        text = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}).stdout
        assert "--verify-budget" in text, command
