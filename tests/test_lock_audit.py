"""``pinner audit`` with GitHub's lockfile: what ``actions.lock`` covers is locked, not "unpinned";
a workflow it does not list, or a dependency it lacks, is a finding."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pinner.formats.lockfile import Lockfile, render
from tests.test_lock_cli import (
    LOCK,
    TOKEN,
    clean_env,
    lockfile_of,
    make,
    run_lock,
    workflow,
    world,
)


def audit(emu, repo: Path) -> tuple[int, list[dict]]:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pinner",
            "audit",
            "--server-url",
            emu.url,
            "--token",
            TOKEN,
            "--no-cache",
            "--format",
            "json",
            str(repo),
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=180,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)["findings"]


def rules(findings: list[dict]) -> list[tuple[str, str]]:
    return sorted((f["rule"], f["chain"][-1]) for f in findings)


def test_locked_tags_are_not_unpinned(emulator, tmp_path: Path) -> None:
    files = {".github/workflows/ci.yml": workflow("acme/wrap@v2.0.0", "acme/tool@main")}
    forge, repo = make(tmp_path, world(), files)
    emu = emulator(forge)
    before, found = audit(emu, repo)
    assert before == 1  # no lockfile: every tag and branch ref is unpinned, nested ones too
    assert ("unpinned-ref", "acme/tool@v1.2.0") in rules(found)
    assert ("branch-ref", "acme/tool@main") in rules(found)
    assert run_lock(emu, cwd=repo).returncode == 0
    code, found = audit(emu, repo)
    assert code == 0, found
    assert not [f for f in found if f["rule"] in ("unpinned-ref", "branch-ref")]
    tree = subprocess.run(
        [sys.executable, "-m", "pinner", "audit", "--server-url", emu.url, "--token", TOKEN,
         "--no-cache", "--color", "never", "--tree", str(repo)],
        capture_output=True, text=True, env=clean_env(), timeout=180,
    ).stdout  # fmt: skip
    assert "acme/tool@main  -> 333333333333  [locked]" in tree
    assert "acme/tool@v1.2.0  -> 222222222222  [locked]" in tree  # nested in the composite


def test_a_dependency_missing_from_the_lockfile(emulator, tmp_path: Path) -> None:
    files = {".github/workflows/ci.yml": workflow("acme/wrap@v2.0.0")}
    forge, repo = make(tmp_path, world(), files)
    emu = emulator(forge)
    assert run_lock(emu, cwd=repo).returncode == 0
    lockfile = lockfile_of(repo)
    # the composite's dependency is gone from the lockfile (a bad merge, a hand edit)
    deps = {k: v for k, v in lockfile.dependencies.items() if k != "acme/tool@v1.2.0"}
    (repo / LOCK).write_bytes(render(Lockfile(lockfile.workflows, deps)))
    # and a step was added to the onboarded workflow without locking it
    (repo / ".github/workflows/ci.yml").write_text(workflow("acme/wrap@v2.0.0", "acme/tool@v1"))
    code, found = audit(emu, repo)
    assert code == 1
    missing = [(f["severity"], f["chain"][-1]) for f in found if f["rule"] == "not-in-lockfile"]
    assert sorted(missing) == [("high", "acme/tool@v1"), ("high", "acme/tool@v1.2.0")]
    nested = next(f for f in found if f["rule"] == "not-in-lockfile" and len(f["chain"]) == 2)
    assert nested["chain"] == ["acme/wrap@v2.0.0", "acme/tool@v1.2.0"]
    # both unlocked references are unpinned too; the locked composite is not
    assert ("unpinned-ref", "acme/wrap@v2.0.0") not in rules(found)


def test_a_workflow_the_lockfile_does_not_list(emulator, tmp_path: Path) -> None:
    files = {".github/workflows/ci.yml": workflow("acme/tool@v1.2.0")}
    forge, repo = make(tmp_path, world(), files)
    emu = emulator(forge)
    assert run_lock(emu, cwd=repo).returncode == 0
    (repo / ".github/workflows/new.yml").write_text(
        workflow("acme/tool@v1.2.0", "acme/wrap@v2.0.0")
    )
    code, found = audit(emu, repo)
    assert code == 1
    unlisted = [f for f in found if f["rule"] == "workflow-not-in-lockfile"]
    assert len(unlisted) == 1 and unlisted[0]["file"] == ".github/workflows/new.yml"
    assert unlisted[0]["severity"] == "medium"
    assert {f["file"] for f in found if f["rule"] == "unpinned-ref"} == {
        ".github/workflows/new.yml"
    }


def test_each_repository_has_its_own_lockfile(emulator, tmp_path: Path) -> None:
    """One audit of two repositories: the one with a lockfile is locked, the other is not (and
    is not told to onboard a lockfile it does not have)."""
    files = {".github/workflows/ci.yml": workflow("acme/tool@v1.2.0")}
    forge, locked = make(tmp_path, world(), files)
    emu = emulator(forge)
    assert run_lock(emu, cwd=locked).returncode == 0
    plain = tmp_path / "plain"
    (plain / ".github/workflows").mkdir(parents=True)
    (plain / ".github/workflows/ci.yml").write_text(workflow("acme/tool@v1.2.0"))
    done = subprocess.run(
        [sys.executable, "-m", "pinner", "audit", "--server-url", emu.url, "--token", TOKEN,
         "--no-cache", "--format", "json", str(locked), str(plain)],
        capture_output=True, text=True, env=clean_env(), timeout=180,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    found = json.loads(done.stdout)["findings"]
    (only,) = found
    assert only["rule"] == "unpinned-ref"
    assert only["file"].endswith("plain/.github/workflows/ci.yml")
