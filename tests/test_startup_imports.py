"""What a command line imports: start-up is a fixed cost on every run, so nothing is imported
that the run cannot use.

Each check runs pinner in a fresh interpreter (imports are per process) and lists which of a
few heavy modules ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_lock_cli import TOKEN, make, workflow, world

ROOT = Path(__file__).resolve().parents[1]

HTTP_STACK = ("httpx", "httpcore", "pinner.forge.http", "pinner.forge.graphql")
CORE = ("asyncio", "ruamel.yaml", "pinner.models", "pinner.core.pin", "tomllib", *HTTP_STACK)


def imported(argv: list[str], watch: tuple[str, ...], *, exit_codes=(0,)) -> list[str]:
    """Run ``pinner *argv`` in a new interpreter; which of ``watch`` it imported.

    The run must end with one of ``exit_codes``: a run that stopped early would prove nothing.
    """
    code = (
        "import json, sys\n"
        "from pinner.cli import main\n"
        f"sys.argv = ['pinner', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        f"print(json.dumps([code, [m for m in {watch!r} if m in sys.modules]]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    exit_code, modules = json.loads(result.stdout.splitlines()[-1])
    assert exit_code in exit_codes, result.stderr
    return modules


@pytest.mark.parametrize("argv", [["--version"], ["pin", "--help"], ["audit", "--help"]])
def test_the_command_line_alone_imports_no_core(argv: list[str]) -> None:
    assert imported(argv, CORE) == []


@pytest.mark.parametrize("command", ["pin", "audit"])
def test_a_snapshot_run_imports_no_http_stack(command: str, fixtures_dir: Path) -> None:
    """``--snapshot`` never makes a request: httpx and the forge clients are ~0.1 s of imports."""
    demo = fixtures_dir / "consumers" / "demo"
    argv = [command, "--snapshot", str(fixtures_dir / "forge"), str(demo)]
    if command == "pin":
        argv.insert(1, "--check")
    # 1: the demo needs pinning and has findings; the run went all the way
    assert imported(argv, (*HTTP_STACK, "pinner.sources"), exit_codes=(1,)) == ["pinner.sources"]


def test_a_repository_without_config_file_imports_no_tomllib(tmp_path: Path) -> None:
    (tmp_path / "snapshot").mkdir()
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text("on: push\njobs:\n  j:\n    steps:\n      - run: true\n")
    argv = ["pin", "--snapshot", str(tmp_path / "snapshot"), "--check", str(tmp_path)]
    assert imported(argv, ("tomllib",)) == []


def test_a_forge_run_imports_httpx_without_its_command_line_client(
    emulator, tmp_path: Path
) -> None:
    """httpx imports its own command-line client (click, rich, pygments: ~45 ms) when those are
    installed, and typer installs them; a run that talks to a forge has httpx, not that."""
    forge, repo = make(tmp_path, world(), {".github/workflows/ci.yml": workflow("acme/tool@v1")})
    emu = emulator(forge)
    argv = ["lock", "--server-url", emu.url, "--token", TOKEN, "--no-cache", str(repo)]
    watch = ("httpx", "rich", "click", "pygments")
    assert imported(argv, watch) == ["httpx"]


def test_a_warm_lock_run_imports_no_http_stack(emulator, tmp_path: Path) -> None:
    """``pinner lock`` runs once per repository; when the cache answers everything, the run
    asks the forge nothing and builds no forge client: httpx, TLS and the forge's clients are
    ~35 ms of CPU a repository. The first run asks, and has them."""
    forge, repo = make(tmp_path, world(), {".github/workflows/ci.yml": workflow("acme/tool@v1")})
    emu = emulator(forge)
    cache = str(tmp_path / "cache")
    argv = ["lock", "--server-url", emu.url, "--token", TOKEN, "--cache-dir", cache, str(repo)]
    assert imported(argv, HTTP_STACK) == list(HTTP_STACK)
    emu.reset()
    assert imported([*argv, "--check"], HTTP_STACK) == []
    assert emu.requests == []


def test_a_lock_run_imports_no_graph_walk(tmp_path: Path) -> None:
    """``pinner lock`` runs once per repository, so its start-up is paid for each: it reads
    composites itself and needs nothing of audit's graph walk (and the rules it brings)."""
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text("on: push\njobs:\n  j:\n    steps:\n      - run: true\n")
    argv = ["lock", "--offline", "--cache-dir", str(tmp_path / "cache"), str(tmp_path)]
    watch = ("pinner.core.lock", "pinner.core.walk")
    assert imported(argv, watch) == ["pinner.core.lock"]
