"""With several repositories on the command line, every path in the output says which it is in.

Two checkouts of one project both have ``.github/workflows/ci.yml``: ``pin`` and ``update``
used to print both as ``.github/workflows/ci.yml:18``. Paths are now relative to the directory
pinner runs in (``a/.github/workflows/ci.yml:18``), which a terminal or editor can open, and a
``--diff`` over both applies with ``git apply`` from there. One repository: unchanged.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_pin_cli import clean_env

ROOT = Path(__file__).resolve().parents[1]
FORGE = str(ROOT / "fixtures" / "forge")
DEMO = ROOT / "fixtures" / "consumers" / "demo"
PATH_RE = re.compile(r"(?:^|  |, )([^\s,]*\.github/workflows/[^\s:@]+\.ya?ml):\d+", re.MULTILINE)


@pytest.fixture
def two(tmp_path: Path) -> Path:
    for name in ("a", "b"):
        shutil.copytree(DEMO, tmp_path / name, ignore=shutil.ignore_patterns("expected.json"))
    return tmp_path


def pinner(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pinner", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def paths_in(text: str) -> list[str]:
    return PATH_RE.findall(text)


def test_pin_names_each_repository(two: Path) -> None:
    proc = pinner("pin", "--check", "--snapshot", FORGE, "a", "b", cwd=two)
    assert proc.returncode == 1, proc.stderr
    paths = paths_in(proc.stdout)
    assert paths and all(p.startswith(("a/", "b/")) for p in paths), paths
    assert {p[:2] for p in paths} == {"a/", "b/"}

    alone = pinner("pin", "--check", "--snapshot", FORGE, "a", cwd=two)
    assert all(p.startswith(".github/") for p in paths_in(alone.stdout))


def test_pin_diff_over_several_repositories_applies_from_where_it_ran(two: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=two, check=True)
    patch = pinner("pin", "--diff", "--snapshot", FORGE, "a", "b", cwd=two)
    assert patch.returncode == 0, patch.stderr
    assert "+++ b/a/.github/workflows/ci.yml" in patch.stdout
    assert "+++ b/b/.github/workflows/ci.yml" in patch.stdout
    applied = subprocess.run(
        ["git", "apply", "-"], cwd=two, input=patch.stdout, text=True, capture_output=True
    )
    assert applied.returncode == 0, applied.stderr
    again = pinner("pin", "--check", "--snapshot", FORGE, "a", "b", cwd=two)
    assert again.returncode == 0, again.stdout  # both repositories were pinned by the patch


def test_pin_problems_name_each_repository(two: Path) -> None:
    for name in ("a", "b"):
        (two / name / ".github" / "workflows" / "broken.yml").write_text(
            "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n"
            "      - uses: pinner-fixtures/no-such-repo@v1\n"
        )
    proc = pinner("pin", "--check", "--snapshot", FORGE, "a", "b", cwd=two)
    problems = [ln for ln in proc.stderr.splitlines() if ": problem: " in ln]
    assert sorted(ln.split(":")[0] for ln in problems) == [
        "a/.github/workflows/broken.yml",
        "b/.github/workflows/broken.yml",
    ]


def test_update_names_each_repository_in_text_and_json(two: Path) -> None:
    args = ["update", "--check", "--snapshot", FORGE, "--now", "2026-06-01T00:00:00Z"]
    text = pinner(*args, "a", "b", cwd=two)
    assert text.returncode == 1, text.stderr
    paths = paths_in(text.stdout)
    assert paths and all(p.startswith(("a/", "b/")) for p in paths), paths
    doc = json.loads(pinner(*args, "--format", "json", "a", "b", cwd=two).stdout)
    files = {loc["file"] for change in doc["changes"] for loc in change["files"]}
    assert files and all(f.startswith(("a/", "b/")) for f in files)
    assert {f[:2] for f in files} == {"a/", "b/"}
    # writing both: each repository's files change, as in two separate runs
    write = pinner(*args[:1], *args[2:], "--cooldown", "0", "a", "b", cwd=two)
    assert write.returncode == 0, write.stderr
    for name in ("a", "b"):
        assert (two / name / ".github/workflows/ci.yml").read_text() != (
            DEMO / ".github/workflows/ci.yml"
        ).read_text()
    assert (two / "a/.github/workflows/ci.yml").read_text() == (
        two / "b/.github/workflows/ci.yml"
    ).read_text()
