"""``pinner update`` in a repository with GitHub's lockfile: the lockfile moves with the pins.

As Dependabot and Renovate do by running ``gh actions-lock`` after a bump: the workflow keeps
readable tags (update moves ``@v1.1.0`` to ``@v1.2.0``, not to a SHA), the new ref is locked at
the commit update chose, the old entry goes, and the cooldown (``.github/dependabot.yml``'s, as
the extension reads it too) holds back a release that is too fresh.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.lockvectors import lockcheck
from tests.test_lock_cli import (
    C1,
    C2,
    C3,
    LOCK,
    NODE,
    TOKEN,
    clean_env,
    lockfile_of,
    make,
    run_lock,
    workflow,
)

NOW = "2026-07-01T00:00:00Z"


def released() -> dict:
    return {
        "acme/tool": {
            "owner_id": 10,
            "repo_id": 20,
            "resolve": {"v1.1.0": C1, "v1.2.0": C2, "v1.3.0": C3},
            "parents": {C2: [C1], C3: [C2]},
            "tags": [
                {"name": "v1.1.0", "sha": C1},
                {"name": "v1.2.0", "sha": C2},
                {"name": "v1.3.0", "sha": C3},
            ],
            "branches": [{"name": "main", "sha": C3}],
            "releases": [
                {"tag_name": "v1.3.0", "published_at": "2026-06-29T00:00:00Z"},
                {"tag_name": "v1.2.0", "published_at": "2026-01-01T00:00:00Z"},
                {"tag_name": "v1.1.0", "published_at": "2025-01-01T00:00:00Z"},
            ],
            "action_yml": NODE,
        }
    }


def update(emu, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    forge = ("--server-url", emu.url, "--token", TOKEN, "--no-cache", "--now", NOW)
    return subprocess.run(
        [sys.executable, "-m", "pinner", "update", *forge, *args, str(repo)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=180,
    )


def test_update_moves_tags_and_the_lockfile_with_them(emulator, tmp_path: Path) -> None:
    dependabot = (
        "version: 2\nupdates:\n  - package-ecosystem: github-actions\n    directory: /\n"
        "    schedule:\n      interval: weekly\n    cooldown:\n      default-days: 7\n"
    )
    files = {
        ".github/workflows/ci.yml": workflow("acme/tool@v1.1.0 # our pin"),
        ".github/dependabot.yml": dependabot,
    }
    forge, repo = make(tmp_path, released(), files)
    emu = emulator(forge)
    assert run_lock(emu, cwd=repo).returncode == 0
    assert list(lockfile_of(repo).dependencies) == ["acme/tool@v1.1.0"]

    check = update(emu, repo, "--check", "--format", "json")
    assert check.returncode == 1
    diff = update(emu, repo, "--diff")
    assert "+        - 'acme/tool@v1.2.0'" in diff.stdout  # the lockfile is in the patch
    result = update(emu, repo, "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["policy"]["keep_style"] is True  # the lockfile pins: tags stay tags
    assert document["policy"]["cooldown"]["source"] == ".github/dependabot.yml"
    assert [h["candidate"]["version"] for h in document["held_back"]] == ["v1.3.0"]
    assert LOCK in document["written"]
    text = (repo / ".github/workflows/ci.yml").read_text()
    assert "acme/tool@v1.2.0 # our pin" in text  # v1.3.0 is two days old: held back
    lockfile = lockfile_of(repo)
    assert list(lockfile.dependencies) == ["acme/tool@v1.2.0"]
    assert lockfile.dependencies["acme/tool@v1.2.0"].sha == C2  # type: ignore[union-attr]
    assert lockfile.workflows == {".github/workflows/ci.yml": ("acme/tool@v1.2.0",)}
    lockcheck(repo / LOCK)
    assert run_lock(emu, "--check", cwd=repo).returncode == 0  # in step: nothing to do
    assert update(emu, repo).returncode == 0
    assert lockfile_of(repo) == lockfile  # a second update changes nothing


def test_update_without_a_lockfile_still_pins_to_shas(emulator, tmp_path: Path) -> None:
    forge, repo = make(
        tmp_path, released(), {".github/workflows/ci.yml": workflow("acme/tool@v1.1.0")}
    )
    result = update(emulator(forge), repo, "--cooldown", "0")
    assert result.returncode == 0, result.stderr
    assert f"acme/tool@{C3} # v1.3.0" in (repo / ".github/workflows/ci.yml").read_text()
    assert not (repo / LOCK).exists()


def test_the_extensions_cooldown_is_a_floor_in_a_locked_repository(
    emulator, tmp_path: Path
) -> None:
    """Dependabot's ``semver-minor-days: 0`` would let pinner take a two-day-old minor release;
    ``gh actions-lock`` reads only ``default-days`` (7), and a repository keeping
    ``actions.lock`` is maintained through it: update never waits less than that there."""
    dependabot = (
        "version: 2\nupdates:\n  - package-ecosystem: github-actions\n    directory: /\n"
        "    schedule:\n      interval: weekly\n    cooldown:\n      default-days: 7\n"
        "      semver-minor-days: 0\n"
    )
    files = {
        ".github/workflows/ci.yml": workflow("acme/tool@v1.2.0"),
        ".github/dependabot.yml": dependabot,
    }
    forge, repo = make(tmp_path, released(), files)
    emu = emulator(forge)
    unlocked = update(emu, repo, "--dry-run", "--format", "json")
    assert [c["to"]["version"] for c in json.loads(unlocked.stdout)["changes"]] == ["v1.3.0"]
    assert run_lock(emu, cwd=repo).returncode == 0
    locked = json.loads(update(emu, repo, "--dry-run", "--format", "json").stdout)
    assert locked["changes"] == []
    assert locked["policy"]["cooldown"]["floor"] == "7d"
    assert [h["candidate"]["version"] for h in locked["held_back"]] == ["v1.3.0"]


def test_extension_cooldown_reading(tmp_path: Path) -> None:
    from pinner.core.cooldown import extension_cooldown_days

    def days(text: str) -> int | None:
        (tmp_path / ".github").mkdir(exist_ok=True)
        (tmp_path / ".github/dependabot.yml").write_text(text)
        return extension_cooldown_days(tmp_path)

    entry = "  - package-ecosystem: {eco}\n    directory: {d}\n"
    both = (
        "version: 2\nupdates:\n"
        + entry.format(eco="npm", d="/")
        + "    cooldown:\n      default-days: 30\n"
        + entry.format(eco="github-actions", d="/a")
        + entry.format(eco="github-actions", d="/b")
        + "    cooldown:\n      default-days: 3\n      semver-major-days: 40\n"
        + entry.format(eco="github-actions", d="/c")
        + "    cooldown:\n      default-days: 9\n"
    )
    assert days(both) == 3  # the first github-actions entry with a cooldown; default-days only
    assert days(both.replace("default-days: 3", "default-days: 0")) is None  # 0 is "not set"
    assert days("version: 2\nupdates: []\n") is None
    (tmp_path / ".github/dependabot.yml").unlink()
    assert extension_cooldown_days(tmp_path) is None


def test_a_directory_in_the_lockfiles_place_stops_update_before_any_request(
    emulator, tmp_path: Path
) -> None:
    """As for ``pinner lock`` and ``audit``: update never takes a broken ``actions.lock`` for
    "no lockfile" and rewrites the workflows in the other style."""
    forge, repo = make(tmp_path, released(), {".github/workflows/ci.yml": workflow("acme/tool@v1")})
    (repo / LOCK).mkdir()
    before = (repo / ".github/workflows/ci.yml").read_bytes()
    emu = emulator(forge)
    result = update(emu, repo)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"pinner: error: {LOCK}: is a directory, not a lockfile\n"
    assert emu.requests == []
    assert (repo / ".github/workflows/ci.yml").read_bytes() == before
