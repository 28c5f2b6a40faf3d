"""``pinner update`` prefers the fix: moving out of a known vulnerability does not wait.

At :data:`NOW` (2025-03-20) the releases of tj-actions/changed-files that fix
GHSA-mrrh-fwg8-r2c3 (v46.0.1, 4 days old; v46.0.2, 1 day old) are both inside the default 7-day
cooldown, and v46.0.0 is itself covered (``< 46.0.1``). A pin at v45.0.7 moves to v46.0.1 anyway,
the lowest patched release, and everything the bot writes says why; an action without an
advisory keeps waiting for its cooldown.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from pinner.cli import app
from pinner.formats import schemas
from tests.test_advisory_fixtures import CONSUMER, FORGE, NOW, TJ, TJ_SUMMARY, build_repos

REPOS = build_repos()
TJ_REPO, LINT, RANGES = REPOS["changed-files"], REPOS["changed-lint"], REPOS["ranges"]
V45, V46_0_1, V46_0_2 = (TJ_REPO.tag(v) for v in ("v45.0.7", "v46.0.1", "v46.0.2"))
WORKFLOW = ".github/workflows/update.yml"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(CONSUMER / WORKFLOW, root / WORKFLOW)
    monkeypatch.chdir(root)
    monkeypatch.setenv("PINNER_NO_GH", "1")
    for var in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_SERVER_URL", "GITHUB_API_URL", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return root


def update(*args: str, source: str = "--snapshot", where: str = str(FORGE)) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["update", "--now", NOW, source, where, *args], catch_exceptions=False
    )
    return result.exit_code, result.stdout


def plan(*args: str) -> dict[str, Any]:
    code, out = update("--format", "json", *args)
    assert code == 0, out
    doc = json.loads(out)
    schema = schemas.load_schema(doc["schema"])
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(doc))
    assert not errors, [e.message for e in errors[:3]]
    return doc


def test_the_vulnerable_pin_moves_inside_the_cooldown_and_the_file_says_so(repo: Path) -> None:
    code, out = update()
    assert code == 0, out
    text = (repo / WORKFLOW).read_text()
    assert f"tj-actions/changed-files@{V46_0_1} # v46.0.1" in text
    assert f"adv-org/changed-lint@{LINT.tag('v1.0.0')} # v1.0.0" in text  # waits: no advisory
    assert "v45.0.7 -> v46.0.1" in out and "security" in out
    assert (
        f"note: security update: v45.0.7 is affected by {TJ} / CVE-2025-30066; v46.0.1 is the "
        "lowest patched release and moves in despite the 7d cooldown (released 2025-03-16)"
    ) in out


def test_the_json_plan_says_which_advisory_and_that_the_cooldown_was_skipped(repo: Path) -> None:
    doc = plan("--dry-run")
    [change] = doc["changes"]
    assert change["action"] == "tj-actions/changed-files"
    assert change["to"] == {"ref": V46_0_1, "version": "v46.0.1", "sha": V46_0_1}
    assert change["value"] == f"tj-actions/changed-files@{V46_0_1}"
    security = change["security"]
    assert security["cooldown_ignored"] is True
    assert security["advisories"] == [
        {
            "ghsa_id": TJ,
            "cve_id": "CVE-2025-30066",
            "severity": "high",
            "summary": TJ_SUMMARY,
            "url": f"https://github.com/advisories/{TJ}",
            "vulnerable_version_range": "< 46.0.1",
            "first_patched_version": "46.0.1",
        }
    ]
    assert "despite the 7d cooldown" in security["note"]
    held = {(h["action"], h["reason"]): h for h in doc["held_back"]}
    # the newest fix still waits for the cooldown; v46.0.0 lies below the target: not listed
    assert held[("tj-actions/changed-files", "cooldown")]["candidate"]["version"] == "v46.0.2"
    assert held[("adv-org/changed-lint", "cooldown")]["candidate"]["version"] == "v2.0.0"
    assert ("tj-actions/changed-files", "vulnerable") not in held
    [group] = doc["groups"]
    assert (
        group["title"]
        == "security: ci(deps): bump tj-actions/changed-files from v45.0.7 to v46.0.1"
    )
    assert group["commit_message"].splitlines()[2] == (
        f"- bump tj-actions/changed-files from v45.0.7 to v46.0.1 (fixes {TJ})"
    )
    body = group["pr_body"]
    assert "### Security" in body
    assert f"[{TJ}](https://github.com/advisories/{TJ}) (CVE-2025-30066), high" in body
    assert "**without waiting for the cooldown** (released 2025-03-16)" in body
    assert "major · 🔒 security" in body


def test_outside_the_cooldown_the_newest_fix_is_taken(repo: Path) -> None:
    doc = plan("--dry-run", "--cooldown", "0d")
    tj = next(c for c in doc["changes"] if c["action"] == "tj-actions/changed-files")
    assert tj["to"]["version"] == "v46.0.2"
    assert tj["security"]["cooldown_ignored"] is False
    assert "despite" not in tj["security"]["note"]
    lint = next(c for c in doc["changes"] if c["action"] == "adv-org/changed-lint")
    assert lint["security"] is None
    assert doc["groups"][0]["title"] == "security: ci(deps): update 2 GitHub Actions"


def test_the_fix_must_be_allowed_by_bump(repo: Path) -> None:
    doc = plan("--dry-run", "--bump", "minor")
    assert doc["changes"] == []  # 45 -> 46 is a major move
    held = {(h["action"], h["reason"]) for h in doc["held_back"]}
    assert ("tj-actions/changed-files", "bump") in held


def test_never_into_a_covered_release(repo: Path) -> None:
    (repo / WORKFLOW).write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: adv-org/ranges@{RANGES.tag('v4.0.0')} # v4.0.0\n"
        f"      - uses: adv-org/ranges@{RANGES.tag('v1.0.0')} # v1.0.0\n"
    )
    doc = plan("--dry-run", "--bump", "minor")
    [change] = doc["changes"]  # v1.0.0 -> v1.3.0 (not the covered v1.1.0, v1.2.0)
    assert change["from"]["version"] == "v1.0.0" and change["to"]["version"] == "v1.3.0"
    assert change["security"] is None
    # v4.1.0 is covered by ">= 4.1.0": v4.0.0 stays (and is, for v1.0.0, beyond --bump)
    [held] = [h for h in doc["held_back"] if h["from"]["version"] == "v4.0.0"]
    assert held["reason"] == "vulnerable" and held["candidate"]["version"] == "v4.1.0"
    assert held["advisories"] == ["GHSA-r006-open-ended"]
    assert {h["reason"] for h in doc["held_back"]} == {"vulnerable", "bump"}
    _, out = update("--dry-run", "--bump", "minor")
    assert "v4.1.0: affected by GHSA-r006-open-ended" in out
    _, body = update("--dry-run", "--bump", "minor", "--format", "markdown")
    assert "affected by GHSA-r006-open-ended" in body


def test_over_the_emulator_one_advisory_request(repo: Path, emulator) -> None:
    emu = emulator(FORGE)
    code, out = update("--dry-run", "--no-cache", source="--server-url", where=emu.url)
    assert code == 0, out
    assert "v45.0.7 -> v46.0.1" in out
    assert emu.stats()["endpoints"]["GET /advisories"] == 1


def test_without_an_advisory_database_the_cooldown_holds_and_stderr_says_why(capsys) -> None:
    import asyncio
    from datetime import datetime

    from pinner.core.update import UpdatePolicy, Updater
    from pinner.errors import NotFoundError
    from pinner.forge.snapshot import SnapshotForge
    from pinner.sources import discover, read_source

    class OldEnterpriseServer(SnapshotForge):
        async def list_advisories(self, package: str) -> tuple:
            raise NotFoundError("security advisories: the forge has no /advisories endpoint")

    sources = [read_source(f) for f in discover([CONSUMER / WORKFLOW])]
    policy = UpdatePolicy(now=datetime.fromisoformat(NOW.replace("Z", "+00:00")))
    updater = Updater(OldEnterpriseServer(FORGE), policy, server_url="https://github.com")
    result = asyncio.run(updater.plan(sources, render=False))
    assert result.changes == ()  # v46.0.x are inside the cooldown, and nothing says why not
    assert {h.candidate.version for h in result.held_back} == {"v46.0.2", "v2.0.0"}
    [line] = capsys.readouterr().err.splitlines()  # once, for both actions
    assert line == (
        "pinner: warning: the forge has no security advisory database (GET /advisories); "
        "no update is known to be a security fix"
    )
