"""Every ```sh runnable block of README.md and docs/ runs, so documented commands cannot rot.

A block opened with ```sh runnable (or ```sh runnable exit=N when it documents a failing run) is
run by bash with ``-e -o pipefail`` in a scratch copy of the repository's ``fixtures/``, with the
installed ``pinner`` first on PATH and ``GITHUB_SERVER_URL`` pointing at the emulator serving
``fixtures/forge`` (blocks using ``--snapshot`` need no server). It must exit with the documented
code (0 unless said) and never print a traceback. ``mktemp`` lands in the test's own temporary
directory.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.actions_runner import runner_environment

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER_RE = re.compile(r"^```sh runnable(?: exit=(\d+))?\n(.*?)^```[ \t]*$", re.M | re.S)
ANY_MARKED_RE = re.compile(r"^```\S*.*\brunnable\b.*$", re.M)


def runnable_blocks() -> list[tuple[str, int, str]]:
    """(page#n, expected exit code, script) for every runnable block, in page order."""
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for number, (code, script) in enumerate(MARKER_RE.findall(text), 1):
            blocks.append((f"{page.relative_to(ROOT)}#{number}", int(code or 0), script))
    return blocks


BLOCKS = runnable_blocks()


def test_every_marked_block_is_understood() -> None:
    """A typo in the marker (```bash runnable, exit 1) would silently leave a block untested."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        marked = len(ANY_MARKED_RE.findall(text))
        parsed = len(MARKER_RE.findall(text))
        assert marked == parsed, f"{page.name}: {marked} blocks marked runnable, {parsed} parsed"


def test_each_command_page_has_runnable_examples() -> None:
    pages = {block_id.split("#")[0] for block_id, _, _ in BLOCKS}
    for command in ("pin", "audit", "update", "checksums", "cache"):
        assert f"docs/{command}.md" in pages, f"docs/{command}.md has no runnable example"


@pytest.mark.parametrize(
    ("expected", "script"), [b[1:] for b in BLOCKS], ids=[b[0] for b in BLOCKS]
)
def test_runnable_block(expected: int, script: str, tmp_path: Path, emulator) -> None:
    emu = emulator(ROOT / "fixtures" / "forge")
    work = tmp_path / "clone"
    work.mkdir()
    shutil.copytree(ROOT / "fixtures", work / "fixtures")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {
        **runner_environment(),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "TMPDIR": str(scratch),
        "GITHUB_SERVER_URL": emu.url,
        "PINNER_CACHE_DIR": str(tmp_path / "cache"),
        "PINNER_NO_GH": "1",
        "NO_COLOR": "1",
    }
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == expected, f"exit {proc.returncode}, documented {expected}:\n{output}"
    assert "Traceback" not in output
