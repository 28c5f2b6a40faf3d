"""End to end: the real ``pinner lock`` against the emulator, on hand-written repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TOKEN = "pinner-test-token"


def clean_env() -> dict[str, str]:
    """No token or forge from the developer's environment, no ``gh``: runs are hermetic."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_SERVER_URL", "GITHUB_API_URL")
    }
    env["PINNER_NO_GH"] = "1"
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def run_lock(emu, *args: str, cwd: Path, token: bool = True) -> subprocess.CompletedProcess[str]:
    """``pinner lock ARGS`` in ``cwd`` against the emulator ``emu`` (no cache)."""
    forge = ["--server-url", emu.url, "--no-cache", *(["--token", TOKEN] if token else [])]
    return subprocess.run(
        [sys.executable, "-m", "pinner", "lock", *forge, *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=cwd,
        timeout=180,
    )


def files_of(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
