"""``pinner cache info`` / ``pinner cache clear`` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinner.cli import app
from pinner.commands.cache import human_bytes
from pinner.forge.cache import FileCacheStore

runner = CliRunner()


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    store = FileCacheStore(tmp_path)
    for i in range(3):
        store.put(f"file/github.com/o/r/{i}", b"x" * 2000)
    store.put("refs/github.com/o/r", b"listing", ttl=600)
    return tmp_path


def test_info_text(filled: Path) -> None:
    result = runner.invoke(app, ["cache", "info", "--cache-dir", str(filled)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"cache: {filled} (format v1)"
    assert lines[1].startswith("entries: 4, ")
    assert lines[2].split()[:2] == ["file", "3"]
    assert lines[3].split()[:2] == ["refs", "1"]


def test_info_json(filled: Path) -> None:
    result = runner.invoke(app, ["cache", "info", "--cache-dir", str(filled), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["entries"] == 4
    assert data["namespaces"]["file"]["entries"] == 3
    assert data["bytes"] == FileCacheStore(filled).info().bytes


def test_info_honours_pinner_cache_dir(filled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINNER_CACHE_DIR", str(filled))
    result = runner.invoke(app, ["cache", "info", "--format", "json"])
    assert json.loads(result.output)["path"] == str(filled)


def test_info_bad_format_is_a_usage_error(filled: Path) -> None:
    result = runner.invoke(app, ["cache", "info", "--cache-dir", str(filled), "--format", "xml"])
    assert result.exit_code == 2
    assert "--format must be text or json" in result.output


def test_clear(filled: Path) -> None:
    result = runner.invoke(app, ["cache", "clear", "--cache-dir", str(filled)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"removed 4 entries from {filled}"
    assert FileCacheStore(filled).info().entries == 0
    again = runner.invoke(app, ["cache", "clear", "--cache-dir", str(filled)])
    assert again.output.strip() == f"removed 0 entries from {filled}"


def test_info_on_missing_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["cache", "info", "--cache-dir", str(tmp_path / "none")])
    assert result.exit_code == 0
    assert "entries: 0, 0 B" in result.output


@pytest.mark.parametrize("subcommand", ["info", "clear"])
def test_a_file_where_the_cache_should_be_is_a_usage_error(
    tmp_path: Path, subcommand: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not "0 entries" (info) or "removed 0 entries" (clear): the user is looking at the
    wrong place, and is told so."""
    file = tmp_path / "cache"
    file.write_text("not a cache")
    flag = runner.invoke(app, ["cache", subcommand, "--cache-dir", str(file)])
    monkeypatch.setenv("PINNER_CACHE_DIR", str(file))
    env = runner.invoke(app, ["cache", subcommand])
    for result in (flag, env):
        assert result.exit_code == 2, result.output
        assert result.stderr == f"pinner: error: cache directory {file}: not a directory\n"
    assert file.read_text() == "not a cache"


@pytest.mark.parametrize(
    "size, text", [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 * 1024**3, "5.0 GiB")]
)
def test_human_bytes(size: int, text: str) -> None:
    assert human_bytes(size) == text
