"""``pinner update`` end to end: files rewritten byte for byte, PR texts, JSON, exit codes.

Most tests run the command on a copy of ``fixtures/consumers/upd-demo`` against the snapshot
forge (``--snapshot``, no HTTP); the emulator tests run the same command over HTTP, so release
pagination (120 releases) and the git/REST clients are exercised too. The clock is fixed with
``--now``. Golden files live in ``tests/golden/update/``; regenerate them after an intended
change with ``PINNER_UPDATE_GOLDEN=1 pytest tests/test_update_cli.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from pinner.cli import app
from pinner.formats.update_json import json_schema
from tests.test_update_fixtures import FIXTURES, NOW, OWNER, sha

GOLDEN = Path(__file__).resolve().parent / "golden" / "update"
FORGE = FIXTURES / "forge"
REGENERATE = bool(os.environ.get("PINNER_UPDATE_GOLDEN"))


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
    assert path.is_file(), f"missing golden file {path}: run with PINNER_UPDATE_GOLDEN=1"
    assert actual == path.read_bytes().decode("utf-8"), f"{name} differs from golden"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo consumer as the working directory."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "consumers" / "upd-demo", root)
    monkeypatch.chdir(root)
    monkeypatch.setenv("PINNER_NO_GH", "1")
    for var in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_SERVER_URL", "GITHUB_API_URL", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return root


def run(*args: str, snapshot: bool = True) -> tuple[int, str, str]:
    base = ["update", "--now", NOW]
    if snapshot:
        base += ["--snapshot", str(FORGE)]
    result = CliRunner().invoke(app, [*base, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


WORKFLOW = ".github/workflows/ci.yml"
LOCAL_ACTION = "local-action/action.yml"


# ----------------------------------------------------------------------------- the main run


def test_update_rewrites_files_writes_pr_texts_and_is_idempotent(repo: Path) -> None:
    code, out, err = run(
        "--pr-title", "title.txt", "--pr-body", "body.md", "--commit-message", "msg.txt"
    )
    assert code == 0, err
    golden("ci.yml", (repo / WORKFLOW).read_bytes().decode("utf-8"))
    golden("local-action.yml", (repo / LOCAL_ACTION).read_bytes().decode("utf-8"))
    golden("pr-title.txt", (repo / "title.txt").read_text(encoding="utf-8"))
    golden("pr-body.md", (repo / "body.md").read_text(encoding="utf-8"))
    golden("commit-message.txt", (repo / "msg.txt").read_text(encoding="utf-8"))
    golden("report.txt", out)
    # the cooldown held v2.2.0 back; the older eligible v2.1.0 was taken
    text = (repo / WORKFLOW).read_text(encoding="utf-8")
    assert f"{OWNER}/setup-tool@{sha('setup-tool', 'v2.1.0')} # v2.1.0" in text
    assert sha("setup-tool", "v2.2.0") not in text
    # only the uses values and comments changed: every other line is byte-identical
    before = (FIXTURES / "consumers" / "upd-demo" / WORKFLOW).read_bytes().splitlines()
    after = (repo / WORKFLOW).read_bytes().splitlines()
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        if old != new:
            assert b"uses:" in old and old.split(b"uses:")[0] == new.split(b"uses:")[0]

    snapshot = tree(repo)
    code, out, err = run("--pr-body", "body2.md")
    assert code == 0, err
    assert out.splitlines()[-1].startswith("nothing to update")
    assert not (repo / "body2.md").exists()  # no change set, no PR body
    assert tree(repo) == snapshot
    code, _, _ = run("--check")
    assert code == 0


def test_check_exits_1_and_writes_nothing(repo: Path) -> None:
    before = tree(repo)
    code, out, _ = run("--check", "--pr-body", "body.md")
    assert code == 1
    assert "--check: nothing written" in out
    assert tree(repo) == before


def test_dry_run_writes_no_workflow_file(repo: Path) -> None:
    before = tree(repo)
    code, out, _ = run("--dry-run")
    assert code == 0 and "planned (nothing written)" in out
    assert tree(repo) == before


# ----------------------------------------------------------------------------- JSON


def test_json_is_schema_valid_deterministic_and_complete(repo: Path) -> None:
    code, first, _ = run("--dry-run", "--format", "json", "--bump", "minor")
    assert code == 0
    _, second, _ = run("--dry-run", "--format", "json", "--bump", "minor")
    assert first == second
    doc = json.loads(first)
    jsonschema.validate(doc, json_schema())
    assert doc["schema"] == "pinner.update/1"
    assert doc["policy"]["cooldown"]["source"] == "default"
    changes = {(c["action"], c["from"]["ref"]): c for c in doc["changes"]}
    pinned = changes[(f"{OWNER}/setup-tool", sha("setup-tool", "v1.1.0"))]
    assert pinned["to"] == {
        "ref": sha("setup-tool", "v1.2.0"),
        "version": "v1.2.0",
        "sha": sha("setup-tool", "v1.2.0"),
    }
    assert pinned["files"] == [{"file": WORKFLOW, "line": 8}, {"file": WORKFLOW, "line": 22}]
    assert pinned["compare_url"].endswith(
        f"/compare/{sha('setup-tool', 'v1.1.0')}...{sha('setup-tool', 'v1.2.0')}"
    )
    reasons = {(h["action"], h["reason"], h["candidate"]["version"]) for h in doc["held_back"]}
    assert (f"{OWNER}/setup-tool", "bump", "v2.2.0") in reasons  # --bump minor: no v2
    assert (f"{OWNER}/codeql-like", "cooldown", "v3.29.1") in reasons
    cooldown_held = next(h for h in doc["held_back"] if h["reason"] == "cooldown")
    assert cooldown_held["eligible_at"] and cooldown_held["cooldown"] == "7d"
    [group] = doc["groups"]
    assert group["id"] == "all" and sorted(group["changes"]) == sorted(changes_ids(doc))
    assert group["commit_message"].startswith("ci(deps): update ")
    skipped = {s["uses"]: s for s in doc["skipped"]}
    assert skipped[f"{OWNER}/missing-repo@v1"]["problem"] is True


def changes_ids(doc: dict) -> list[str]:
    return [c["id"] for c in doc["changes"]]


def test_groups_per_action_write_one_set_of_texts_each(repo: Path) -> None:
    code, out, _ = run("--group", "action", "--format", "json", "--pr-body", "body.md", "--dry-run")
    assert code == 0
    doc = json.loads(out)
    ids = [g["id"] for g in doc["groups"]]
    assert ids == sorted(ids) and len(ids) == 5
    for group in doc["groups"]:
        path = Path(group["outputs"]["pr_body"])
        assert path.name == f"body.{group['id']}.md"
        assert path.read_text(encoding="utf-8") == group["pr_body"]
        assert all(c["group"] == group["id"] for c in doc["changes"] if c["id"] in group["changes"])
    assert not (repo / "body.md").exists()
    # the bot's loop: apply one group at a time
    code, out, _ = run("--group", "action", "--only-group", "upd-fixtures-monorepo-cache")
    assert code == 0
    text = (repo / WORKFLOW).read_text(encoding="utf-8")
    assert f"monorepo/cache@{sha('monorepo', 'cache/v3.1.0')} # cache/v3.1.0" in text
    assert f"setup-tool@{sha('setup-tool', 'v1.1.0')} # v1.1.0" in text  # other groups untouched


# ----------------------------------------------------------------------------- policies


def test_dependabot_cooldown_is_the_default_and_the_flag_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "bot"
    shutil.copytree(FIXTURES / "consumers" / "upd-dependabot", root)
    monkeypatch.chdir(root)
    code, out, _ = run("--format", "json", "--dry-run")
    assert code == 0
    doc = json.loads(out)
    cooldown = doc["policy"]["cooldown"]
    assert (cooldown["source"], cooldown["default"], cooldown["semver_major"]) == (
        ".github/dependabot.yml",
        "60d",
        "90d",
    )
    # v2.1.0 is 61 days old but a major update waits 90 days: v2.0.0 (137 days) is taken
    [change] = doc["changes"]
    assert (change["to"]["version"], change["level"]) == ("v2.0.0", "major")
    held = {h["candidate"]["version"]: h for h in doc["held_back"]}
    assert held["v2.2.0"]["cooldown"] == "90d"
    code, out, _ = run("--format", "json", "--dry-run", "--cooldown", "0")
    doc = json.loads(out)
    assert doc["policy"]["cooldown"]["source"] == "--cooldown"
    assert doc["changes"][0]["to"]["version"] == "v2.2.0"
    code, out, _ = run("--dry-run")
    assert "cooldown 60d (from .github/dependabot.yml; major 90d)" in out


def test_pre_and_keep_style_flags(repo: Path) -> None:
    code, out, _ = run("--format", "json", "--dry-run", "--pre", "--keep-style")
    assert code == 0
    doc = json.loads(out)
    by_from = {c["from"]["ref"]: c for c in doc["changes"] if c["action"].endswith("setup-tool")}
    assert by_from[sha("setup-tool", "v1.1.0")]["to"]["version"] == "v3.0.0-rc.2"
    kept = by_from["v1.0.0"]  # local-action's @v1.0.0, written in full: moves to the full tag
    assert (kept["value"], kept["mutable"]) == (f"{OWNER}/setup-tool@v3.0.0-rc.2", True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--bump", "huge"), "--bump"),
        (("--group", "some"), "--group"),
        (("--format", "xml"), "--format"),
        (("--cooldown", "soon"), "--cooldown"),
        (("--only-group", "nope"), "no such group"),
    ],
)
def test_usage_errors_are_one_line_exit_2(repo: Path, args: tuple[str, ...], message: str) -> None:
    before = tree(repo)
    code, _, err = run(*args)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert tree(repo) == before


def test_bad_now_is_a_usage_error(repo: Path) -> None:
    result = CliRunner().invoke(app, ["update", "--now", "tomorrow", "--snapshot", str(FORGE)])
    assert result.exit_code == 2 and "--now" in result.stderr


# ----------------------------------------------------------------------------- over HTTP


def test_over_the_emulator_with_pagination(
    repo: Path, emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = emulator(FORGE)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test_token_never_printed")
    code, out, err = run(
        "--server-url",
        emu.url,
        "--cache-dir",
        str(tmp_path / "cache"),
        "--format",
        "json",
        "--dry-run",
        snapshot=False,
    )
    assert code == 0, err
    doc = json.loads(out)
    jsonschema.validate(doc, json_schema())
    many = next(c for c in doc["changes"] if c["action"].endswith("many-releases"))
    assert many["to"]["version"] == "v1.112.0"  # found on the second page of releases
    assert many["release_url"] == f"{emu.url}/{OWNER}/many-releases/releases/tag/v1.112.0"
    assert many["compare_url"].startswith(f"{emu.url}/{OWNER}/many-releases/compare/")
    release_pages = [r for r in emu.requests if "/many-releases/releases" in r.get("path", "")]
    assert len(release_pages) >= 2, release_pages
    # every request made once (GraphQL posts share a path, not a query): one ref listing per
    # repository, one release list (all pages) per repository, and a date only for the two
    # candidates without a release
    paths = [(r.get("method"), r.get("path")) for r in emu.requests if r["kind"] != "graphql"]
    assert len(paths) == len(set(paths)), paths
    stats = emu.stats()
    # with a token, listings and the two dates come over batched GraphQL: one listing query,
    # then the commit/tag lookups; git lists only what one GraphQL page cannot answer
    assert stats["git"] == 2  # many-releases (over 100 tags), missing-repo (GraphQL: not found)
    assert 2 <= stats["graphql"] <= 3
    assert stats["endpoints"].get("GET /repos/{owner}/{repo}/git/tags/{tag_sha}") is None
    assert stats["endpoints"].get("GET /repos/{owner}/{repo}/commits/{ref}") is None
    assert stats["endpoints"]["GET /repos/{owner}/{repo}/releases"] == 6
    assert stats["endpoints"]["GET /advisories"] == 1  # every use's advisories in one request
    assert stats["rest"] == 6 + 1
    assert "ghp_test_token_never_printed" not in out + err
    # the same answer as the snapshot forge gives without HTTP
    _, offline_out, _ = run("--format", "json", "--dry-run")
    strip = lambda d: [(c["action"], c["from"]["ref"], c["to"]) for c in d["changes"]]  # noqa: E731
    assert strip(doc) == strip(json.loads(offline_out))


def test_remote_failure_writes_nothing_and_exits_3(
    repo: Path, emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = emulator(FORGE, rate_limit=1)  # the second REST request is refused for an hour
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test_token_never_printed")
    before = tree(repo)
    code, _, err = run(
        "--server-url", emu.url, "--no-cache", "--pr-body", "body.md", snapshot=False
    )
    assert code == 3, err
    # (the emulator's server thread may log dropped connections to the same stderr)
    assert err.splitlines()[-1].startswith("pinner: remote error: GitHub rate limit exceeded")
    assert "Traceback" not in err.split("pinner: remote error")[-1]
    assert "ghp_test_token_never_printed" not in err
    assert tree(repo) == before


# ----------------------------------------------------------------------------- selection, diff


def test_diff_prints_a_patch_and_writes_nothing(repo: Path) -> None:
    before = tree(repo)
    code, out, _ = run("--diff", "--include", "monorepo/cache")
    assert code == 0
    assert tree(repo) == before
    assert out.startswith(f"--- a/{WORKFLOW}\n+++ b/{WORKFLOW}\n")
    removed = [line for line in out.splitlines() if line.startswith("-") and "uses" in line]
    added = [line for line in out.splitlines() if line.startswith("+") and "uses" in line]
    assert removed == [f"-      - uses: {OWNER}/monorepo/cache@cache/v3.0.0"]
    assert added == [
        f"+      - uses: {OWNER}/monorepo/cache@{sha('monorepo', 'cache/v3.1.0')} # cache/v3.1.0"
    ]


def test_check_with_diff_prints_the_patch_and_still_gates(repo: Path) -> None:
    """``--check --diff`` is the CI gate that also shows the fix, as for ``pinner pin``: the
    patch, nothing written, and exit 1 while updates are available (it exited 0)."""
    before = tree(repo)
    code, out, _ = run("--check", "--diff", "--include", "monorepo/cache")
    assert code == 1
    assert out.startswith(f"--- a/{WORKFLOW}\n+++ b/{WORKFLOW}\n")
    assert tree(repo) == before
    code, out, _ = run("--check", "--diff", "--include", "no-such-action")
    assert (code, out) == (0, "")


def test_include_and_exclude_select_actions(repo: Path) -> None:
    code, out, _ = run(
        "--format", "json", "--dry-run", "--exclude", "setup-tool$", "--exclude", "^upd-fixtures/m"
    )
    assert code == 0
    doc = json.loads(out)
    assert {c["action"] for c in doc["changes"]} == {f"{OWNER}/codeql-like"}
    code, _, err = run("--include", "(")
    assert code == 2 and "--include '('" in err


def test_config_include_is_the_default(repo: Path) -> None:
    (repo / ".github" / "pinner.toml").write_text('include = ["codeql"]\ncooldown = "1d"\n')
    code, out, _ = run("--format", "json", "--dry-run")
    assert code == 0
    doc = json.loads(out)
    assert {c["action"] for c in doc["changes"]} == {f"{OWNER}/codeql-like"}
    assert doc["policy"]["cooldown"]["source"] == ".github/pinner.toml"
    assert doc["policy"]["cooldown"]["default"] == "1d"
    # one day of cooldown: v3.29.1 (released 2026-05-29) is eligible now
    assert {c["to"]["version"] for c in doc["changes"]} == {"v3.29.1"}


def test_an_unreadable_file_found_in_a_walk_is_refused_unless_skipped(repo: Path) -> None:
    broken = repo / "broken" / "action.yml"
    broken.parent.mkdir()
    broken.write_text("runs: [\n", encoding="utf-8")
    code, _, err = run("--format", "json", "--dry-run")
    assert code == 2 and "--skip-unreadable" in err  # by default: refused, nothing written
    code, out, _ = run("--format", "json", "--dry-run", "--skip-unreadable")
    assert code == 0
    doc = json.loads(out)
    problem = next(s for s in doc["skipped"] if s["uses"] == "broken/action.yml")
    assert problem["problem"] and problem["reason"].startswith("not read: ")
    assert doc["summary"]["changes"] == 10
    code, _, err = run(str(broken))  # named explicitly: an input error
    assert code == 2 and "action.yml:2: malformed YAML" in err


def test_markdown_format_prints_the_pr_body(repo: Path) -> None:
    code, out, _ = run("--format", "markdown", "--dry-run")
    assert code == 0
    assert out == (GOLDEN / "pr-body.md").read_bytes().decode("utf-8")


def test_crlf_and_bom_survive_and_the_second_run_is_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "crlf"
    (root / ".github" / "workflows").mkdir(parents=True)
    old = sha("setup-tool", "v1.1.0")
    text = (
        "on: push\r\njobs:\r\n  a:\r\n    runs-on: x\r\n    steps:\r\n"
        f"      - uses: {OWNER}/setup-tool@{old}   # tag=v1.1.0 keep this note\r\n"
        f"      - uses: '{OWNER}/monorepo/cache@cache/v3.0.0'\r\n"
    )
    path = root / ".github" / "workflows" / "w.yml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    monkeypatch.chdir(root)
    code, _, err = run()
    assert code == 0, err
    new = sha("setup-tool", "v2.1.0")
    cache = sha("monorepo", "cache/v3.1.0")
    assert (
        path.read_bytes()
        == b"\xef\xbb\xbf"
        + (
            "on: push\r\njobs:\r\n  a:\r\n    runs-on: x\r\n    steps:\r\n"
            f"      - uses: {OWNER}/setup-tool@{new}   # tag=v2.1.0 keep this note\r\n"
            f"      - uses: '{OWNER}/monorepo/cache@{cache}' # cache/v3.1.0\r\n"
        ).encode()
    )
    code, out, _ = run("--check")
    assert code == 0 and out.splitlines()[-1].startswith("nothing to update")
