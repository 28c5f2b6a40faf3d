"""No Python warning and no traceback on stderr, on any path a user can reach.

Each case runs the real CLI in its own interpreter with every warning turned into an error
(``python -W error`` and ``PYTHONWARNINGS=error``, so a warning raised where Python can only
print it, like a coroutine collected without being awaited, shows up as "Exception ignored"),
and checks that stderr holds only pinner's own lines and the exit code is the documented one.

The case that leaked before: a malformed YAML file among files holding SHA pins, with a token
set. The hints send early GraphQL lookups for the pinned commits; the malformed file stops the
run before they start, and asyncio reported "coroutine 'GitHubForge._lookup_object' was never
awaited" (pin). The same error paths for audit, update and checksums are checked alongside.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
CONSUMERS = ROOT / "fixtures" / "consumers"
TOKEN = "ghp_SENTINELwarningsTOKEN0123456789"

FORBIDDEN = ("Traceback", "Warning", "Exception ignored", "never awaited", "DeprecationWarning")

PINNED = (
    "on: push\n"
    "jobs:\n"
    "  t:\n"
    "    runs-on: ubuntu-latest\n"
    "    steps:\n"
    "      - uses: pinner-fixtures/checkout-lite@67225fc235da7df7104e91219c0d4f5a70438459"
    " # v1.2.3\n"
    "      - uses: pinner-fixtures/node-leaf@f2641282044e1252df8dfbfe7b14415f6e9eb491\n"
)
MALFORMED = (
    "on: push\n"
    "jobs:\n"
    "  t:\n"
    "    runs-on: ubuntu-latest\n"
    "    steps:\n"
    "      - uses: pinner-fixtures/lint-action@0dd86a0166f217164d6fda0bbaa72a38af328094 # v2.0.0\n"
    "     - bad: [\n"
)


def env(token: str | None) -> dict[str, str]:
    out = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_SERVER_URL", "GITHUB_API_URL")
    }
    out |= {"PINNER_NO_GH": "1", "NO_COLOR": "1", "PYTHONWARNINGS": "error"}
    if token:
        out["GITHUB_TOKEN"] = token
    return out


def run_strict(
    args: list[str], *, cwd: Path, token: str | None = TOKEN
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "pinner", *args],
        cwd=cwd,
        env=env(token),
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_clean_stderr(proc: subprocess.CompletedProcess[str], code: int) -> None:
    for bad in FORBIDDEN:
        assert bad not in proc.stderr, proc.stderr
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    if code in (2, 3):  # an error: one line of pinner's, last
        assert proc.stderr.splitlines()[-1].startswith("pinner: "), proc.stderr


def workflows(root: Path, files: dict[str, str]) -> Path:
    directory = root / ".github" / "workflows"
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    (root / ".git").mkdir(exist_ok=True)
    return root


@dataclass(frozen=True)
class Case:
    name: str
    args: Callable[[str, Path], list[str]]  # (emulator URL, cache dir) -> argv after "pinner"
    make: Callable[[Path], Path]  # builds the repository, returns the directory to run in
    code: int
    token: bool = True


def _malformed_after_pins(root: Path) -> Path:
    # "0.yml" sorts first: the run stops at once, while the early lookups are still queued
    return workflows(root, {"0.yml": MALFORMED, "a.yml": PINNED, "b.yml": PINNED})


def _malformed_last(root: Path) -> Path:
    return workflows(root, {"a.yml": PINNED, "b.yml": PINNED, "z.yml": MALFORMED})


def _pinned(root: Path) -> Path:
    return workflows(root, {"a.yml": PINNED})


def _empty(root: Path) -> Path:
    root.mkdir(parents=True)
    return root


def _bad_config(root: Path) -> Path:
    workflows(root, {"a.yml": PINNED})
    (root / "pyproject.toml").write_text("[tool.pinner]\nno-such-key = 1\n")
    return root


def _missing_repository(root: Path) -> Path:
    return workflows(
        root,
        {"a.yml": PINNED.replace("pinner-fixtures/node-leaf@", "pinner-fixtures/nowhere@")},
    )


def _binary(root: Path) -> Path:
    workflows(root, {"a.yml": PINNED})
    (root / ".github" / "workflows" / "blob.yml").write_bytes(b"\x00\x01\x02binary\xff")
    return root


def _demo(root: Path) -> Path:
    shutil.copytree(CONSUMERS / "demo", root, ignore=shutil.ignore_patterns("expected.json"))
    return root


def forge(url: str, cache: Path) -> list[str]:
    return ["--server-url", url, "--cache-dir", str(cache)]


CASES = [
    # the leak: a malformed file and SHA pins, with a token (early GraphQL lookups)
    Case("pin-malformed-first", lambda u, c: ["pin", *forge(u, c)], _malformed_after_pins, 2),
    Case("pin-malformed-last", lambda u, c: ["pin", *forge(u, c)], _malformed_last, 2),
    Case("pin-check-malformed", lambda u, c: ["pin", "--check", *forge(u, c)], _malformed_last, 2),
    Case(
        "pin-skip-unreadable",
        lambda u, c: ["pin", "--skip-unreadable", "--check", *forge(u, c)],
        _malformed_after_pins,
        1,
    ),
    Case("audit-malformed-first", lambda u, c: ["audit", *forge(u, c)], _malformed_after_pins, 2),
    Case("audit-malformed-last", lambda u, c: ["audit", *forge(u, c)], _malformed_last, 2),
    Case(
        "update-malformed",
        lambda u, c: ["update", "--check", *forge(u, c)],
        _malformed_after_pins,
        2,
    ),
    Case("checksums-malformed", lambda u, c: ["checksums", *forge(u, c)], _malformed_last, 2),
    # the same without a token (git listings, no GraphQL)
    Case(
        "pin-malformed-anonymous",
        lambda u, c: ["pin", *forge(u, c)],
        _malformed_after_pins,
        2,
        token=False,
    ),
    # nothing found, bad flags, bad configuration, hostile and missing input
    Case("pin-nothing", lambda u, c: ["pin", *forge(u, c)], _empty, 2),
    Case("audit-nothing", lambda u, c: ["audit", *forge(u, c)], _empty, 2),
    Case("pin-bad-format", lambda u, c: ["pin", "--format", "xml", *forge(u, c)], _pinned, 2),
    Case("audit-bad-severity", lambda u, c: ["audit", "--min-severity", "x"], _pinned, 2),
    Case("update-bad-now", lambda u, c: ["update", "--now", "yesterday"], _pinned, 2),
    Case("update-bad-cooldown", lambda u, c: ["update", "--cooldown", "soon"], _pinned, 2),
    Case("audit-bad-config", lambda u, c: ["audit", *forge(u, c)], _bad_config, 2),
    Case("pin-binary-file", lambda u, c: ["pin", *forge(u, c)], _binary, 2),
    Case("pin-missing-repository", lambda u, c: ["pin", *forge(u, c)], _missing_repository, 1),
    Case("audit-missing-repository", lambda u, c: ["audit", *forge(u, c)], _missing_repository, 1),
    # remote failure: offline with an empty cache
    Case("pin-offline-miss", lambda u, c: ["pin", "--offline", *forge(u, c)], _pinned, 3),
    Case("audit-offline-miss", lambda u, c: ["audit", "--offline", *forge(u, c)], _pinned, 3),
    # and a full, successful run of each command
    Case("pin-demo", lambda u, c: ["pin", *forge(u, c)], _demo, 0),
    Case(  # the demo's docker actions name public images: no registry here
        "audit-demo",
        lambda u, c: ["audit", "--format", "sarif", "--no-images", *forge(u, c)],
        _demo,
        1,
    ),
    Case(
        "update-demo",
        lambda u, c: ["update", "--now", "2026-06-01T00:00:00Z", *forge(u, c)],
        _demo,
        0,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_no_warning_or_traceback_on_stderr(emulator, tmp_path: Path, case: Case) -> None:
    emu = emulator(FORGE)
    repo = case.make(tmp_path / "repo")
    proc = run_strict(
        case.args(emu.url, tmp_path / "cache"), cwd=repo, token=TOKEN if case.token else None
    )
    assert_clean_stderr(proc, case.code)
