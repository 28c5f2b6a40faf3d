"""``pinner completion SHELL``: the printed script completes subcommands and options for real.

The bash script is sourced into a real bash, which is handed a partial command line the way
readline does (``COMP_WORDS``/``COMP_CWORD``) and asked for its candidates: that runs the installed
``pinner`` through typer's completion and the custom command classes (FastGroup, FastCommand).
zsh and fish are not on every machine; their scripts are checked for what they register, and the
call-back each script makes is made with the same environment the script would set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def pinner(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "pinner"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def bash_complete(line: str) -> list[str]:
    """What bash offers for ``line`` (completing its last word) with pinner's script sourced."""
    bash = shutil.which("bash")
    assert bash, "bash is needed for the completion test"
    words = line.split(" ")
    program = f"""
set -e
source <(pinner completion bash)
COMP_WORDS=({" ".join(f"'{w}'" for w in words)})
COMP_CWORD={len(words) - 1}
_pinner_completion pinner
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", program],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


def test_bash_completes_a_subcommand() -> None:
    assert bash_complete("pinner au") == ["audit"]
    assert set(bash_complete("pinner c")) == {"cache", "checksums", "completion"}


def test_bash_completes_a_flag() -> None:
    assert bash_complete("pinner pin --ch") == ["--check"]
    assert "--min-severity" in bash_complete("pinner audit --min")
    assert "--dry-run" in bash_complete("pinner update --dr")


def test_bash_completes_a_nested_group() -> None:
    assert set(bash_complete("pinner cache ")) >= {"info", "clear"}


def test_zsh_script_and_its_callback() -> None:
    proc = pinner("completion", "zsh")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("#compdef pinner\n")
    assert "compdef _pinner_completion pinner" in proc.stdout
    answer = pinner(
        env={"_PINNER_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "pinner pin --ch"}
    )
    assert answer.returncode == 0, answer.stderr
    assert '"--check"' in answer.stdout


def test_fish_script_and_its_callback() -> None:
    proc = pinner("completion", "fish")
    assert proc.returncode == 0, proc.stderr
    assert "complete --command pinner" in proc.stdout
    answer = pinner(
        env={
            "_PINNER_COMPLETE": "complete_fish",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
            "_TYPER_COMPLETE_ARGS": "pinner au",
        }
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith("audit\t")


@pytest.mark.parametrize("command", ["pin", "lock", "audit", "update", "checksums"])
def test_zsh_and_fish_list_every_option_with_its_help_on_one_line(command: str) -> None:
    """Help texts are plain text: ``[/path]`` or ``[tool.pinner]`` (in --include's help) were
    read as rich markup (a MarkupError traceback on TAB), and help wrapped at 80 columns gave
    fish a bogus candidate per extra line."""
    line = f"pinner {command} --"
    zsh = pinner(env={"_PINNER_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line})
    fish = pinner(
        env={
            "_PINNER_COMPLETE": "complete_fish",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
            "_TYPER_COMPLETE_ARGS": line,
        }
    )
    for answer in (zsh, fish):
        assert answer.returncode == 0, answer.stderr
        assert answer.stderr == ""
    candidates = fish.stdout.splitlines()
    assert all(c.startswith("--") and "\t" in c for c in candidates), candidates
    help_of = dict(c.split("\t", 1) for c in candidates)
    assert "--server-url" in help_of and "--deadline" in help_of
    if command != "lock" and command != "checksums":
        assert "owner/repo[/path]" in help_of["--include"]
        assert '"--include":"Only' in zsh.stdout and "[/path]" in zsh.stdout


@pytest.mark.parametrize("shell", ["tcsh", "", "BASH"])
def test_unknown_shell_is_a_usage_error(shell: str) -> None:
    proc = pinner("completion", shell)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("pinner: error: completion: SHELL must be one of bash, zsh, fish")
    assert proc.stderr.count("\n") == 1


def test_missing_shell_is_a_usage_error() -> None:
    proc = pinner("completion")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
