"""The fast option coercion (pinner.commands.params) agrees with typer's own, value for value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from pinner.cli import app
from pinner.commands.params import _FastRuntimeParam

# typer releases that coerce through click types (no pydantic) leave the parameters alone
build_runtime_param = pytest.importorskip("typer._coercion").build_runtime_param

ROOT = Path(__file__).resolve().parents[1]

SAMPLES: tuple[Any, ...] = (
    None,
    "",
    "text",
    " 16 ",
    "0",
    "1",
    "16",
    "016",
    "1_6",
    "+5",
    "-1",
    "256",
    "257",
    "1000",
    "1001",
    "99999999999",
    "١٦",
    "16.0",
    0,
    16,
    300,
    True,
    False,
    "a//b/",
    "dir/file.yml",
    "/nonexistent/x",
    Path("x"),
    ["a", "b"],
    ("a",),
    ("16", "x"),
    (),
)


def _all_params() -> list[tuple[str, Any]]:
    root = typer.main.get_command(app)
    found = [("pinner", p) for p in root.params]
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        found += [(name, p) for p in command.params]
        for sub, subcommand in getattr(command, "commands", {}).items():
            found += [(f"{name} {sub}", p) for p in subcommand.params]
    return [(c, p) for c, p in found if isinstance(p._runtime_param, _FastRuntimeParam)]


def _outcome(func: Any) -> tuple[str, Any]:
    try:
        return "ok", func()
    except Exception as exc:  # compare the error typer would print
        return type(exc).__name__, exc.format_message() if hasattr(exc, "format_message") else ""


@pytest.mark.parametrize(("command", "param"), _all_params(), ids=lambda v: getattr(v, "name", v))
def test_fast_coercion_matches_typer(command: str, param: Any) -> None:
    ctx = typer.main.get_command(app).make_context("pinner", ["--help"], resilient_parsing=True)
    slow = build_runtime_param(param.type_descriptor)
    fast = param._runtime_param
    for value in SAMPLES:
        expected = _outcome(lambda v=value: slow.coerce(v, param=param, ctx=ctx))
        got = _outcome(lambda v=value: fast.coerce(v, param=param, ctx=ctx))
        assert got == expected, (command, param.name, value)
        assert type(got[1]) is type(expected[1]), (command, param.name, value)


def test_every_option_of_pin_is_coerced_without_pydantic(tmp_path: Path) -> None:
    """Building pydantic adapters costs more CPU than the rest of pinner's start-up."""
    (tmp_path / "snapshot").mkdir()
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text("on: push\njobs:\n  j:\n    steps:\n      - run: true\n")
    code = (
        "import sys\n"
        "from pinner.cli import main\n"
        f"sys.argv = ['pinner', 'pin', {str(tmp_path)!r}, '--snapshot', "
        f"{str(tmp_path / 'snapshot')!r}, '--no-cache', '--jobs', '4', '--format', 'json', "
        "'--include', 'x', '--verify-budget', '3']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
        "assert 'pydantic' not in sys.modules, 'pydantic imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
