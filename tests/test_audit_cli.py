"""``pinner audit`` end to end: the real CLI, against the snapshot and against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinner.cli import app
from pinner.rules import all_rules

ROOT = Path(__file__).resolve().parents[1]
FORGE_DIR = ROOT / "fixtures" / "forge"
CONSUMER = ROOT / "fixtures" / "consumers" / "audit-scenarios"


def _run(*args: str, env: dict[str, str] | None = None):
    runner = CliRunner()
    base_env = {"PINNER_NO_GH": "1", "GITHUB_TOKEN": "", "GH_TOKEN": "", "NO_COLOR": ""}
    return runner.invoke(app, ["audit", *args], env={**base_env, **(env or {})})


def _clean_repo(tmp_path: Path) -> Path:
    """A repository whose only workflow is the clean one (copied: no finding at all)."""
    root = tmp_path / "clean"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "actions" / "setup").mkdir(parents=True)
    for rel in (".github/workflows/clean.yml", ".github/actions/setup/action.yml"):
        (root / rel).write_text((CONSUMER / rel).read_text())
    return root


def test_findings_exit_1_and_text_tree() -> None:
    result = _run(str(CONSUMER), "--snapshot", str(FORGE_DIR), "--tree")
    assert result.exit_code == 1, result.output
    assert "├── audit-org/leaf@v1" in result.output
    assert "\x1b[" not in result.output  # not a terminal: no colour
    assert " at or above medium" in result.stdout.splitlines()[0]  # the summary comes first


def test_snapshot_says_the_images_it_could_not_check() -> None:
    """--snapshot serves no registry: the digests written are not verified and no fix digest
    is known; a report that stays silent about it would read as "images checked"."""
    result = _run(str(CONSUMER), "--snapshot", str(FORGE_DIR))
    notes = [ln for ln in result.stderr.splitlines() if "not checked at a registry" in ln]
    assert len(notes) == 1 and notes[0].startswith("pinner: note: "), result.stderr
    assert "unpinned-image" in result.stdout
    quiet = _run(str(CONSUMER), "--snapshot", str(FORGE_DIR), "--no-images")
    assert "not checked" not in quiet.stderr


def test_clean_repository_exits_0(tmp_path: Path) -> None:
    root = _clean_repo(tmp_path)
    result = _run(str(root), "--snapshot", str(FORGE_DIR))
    assert result.exit_code == 0, result.output
    assert "0 findings" in result.output


def test_min_severity_high_and_ignore_flag(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text(
        (CONSUMER / ".github/workflows/clean.yml")
        .read_text()
        .replace("      - uses: ./.github/actions/setup\n", "      - uses: docker://alpine:3\n")
    )
    medium = _run(str(root), "--snapshot", str(FORGE_DIR))
    assert medium.exit_code == 1 and "unpinned-image" in medium.output
    high = _run(str(root), "--snapshot", str(FORGE_DIR), "--min-severity", "high")
    assert high.exit_code == 0, high.output
    ignored = _run(str(root), "--snapshot", str(FORGE_DIR), "--ignore", "unpinned-image")
    assert ignored.exit_code == 0 and "1 ignored" in ignored.output
    (root / "pyproject.toml").write_text('[tool.pinner]\nmin-severity = "high"\n')
    configured = _run(str(root), "--snapshot", str(FORGE_DIR))
    assert configured.exit_code == 0, configured.output
    flag_wins = _run(str(root), "--snapshot", str(FORGE_DIR), "--min-severity", "low")
    assert flag_wins.exit_code == 1


def test_usage_and_config_errors_exit_2(tmp_path: Path) -> None:
    bad_format = _run(str(CONSUMER), "--snapshot", str(FORGE_DIR), "--format", "xml")
    assert bad_format.exit_code == 2 and "--format" in bad_format.output
    bad_rule = _run(str(CONSUMER), "--snapshot", str(FORGE_DIR), "--ignore", "nope")
    assert bad_rule.exit_code == 2 and "unknown rule" in bad_rule.output
    root = _clean_repo(tmp_path)
    (root / ".github" / "pinner.toml").write_text('ignore = ["no-such-rule"]\n')
    bad_config = _run(str(root), "--snapshot", str(FORGE_DIR))
    assert bad_config.exit_code == 2
    assert "pinner.toml: ignore[0]: unknown rule 'no-such-rule'" in bad_config.output
    assert "Traceback" not in bad_config.output


def test_json_and_github_formats(tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    result = _run(str(CONSUMER), "--snapshot", str(FORGE_DIR), "--format", "json", "-o", str(out))
    assert result.exit_code == 1
    doc = json.loads(out.read_text())
    assert doc["schema"] == "pinner.audit/1" and doc["findings"]
    github = _run(str(CONSUMER), "--snapshot", str(FORGE_DIR), "--format", "github")
    lines = [ln for ln in github.output.splitlines() if ln.startswith("::")]
    assert len(lines) == len(doc["findings"])
    assert lines[0].startswith("::error file=.github/workflows/direct.yml,line=10,col=15,")


def test_color_always_and_never() -> None:
    always = _run(str(CONSUMER), "--snapshot", str(FORGE_DIR), "--color", "always")
    assert "\x1b[1;31m" in always.output
    never = _run(str(CONSUMER), "--snapshot", str(FORGE_DIR), "--color", "never")
    assert "\x1b[" not in never.output


def test_list_rules() -> None:
    result = _run("--list-rules")
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("unpinned-ref")
    assert [line.split()[0] for line in result.output.splitlines()] == list(all_rules())
    assert "graph-limit" in result.output and "impostor-image" in result.output


def test_real_cli_against_the_emulator(emulator, tmp_path: Path) -> None:
    emu = emulator(FORGE_DIR)
    result = _run(
        str(CONSUMER),
        "--server-url",
        emu.url,
        "--no-cache",
        "--no-images",  # its images are public ones: no registry here
        "--format",
        "json",
        env={"GITHUB_TOKEN": "emulator-token"},
    )
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    rules = {f["rule"] for f in doc["findings"]}
    assert "impostor-commit" in rules and "depth-exceeded" in rules
    assert "emulator-token" not in result.output


def test_remote_failure_exits_3(emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    import functools

    from pinner.commands import common
    from pinner.settings import Settings

    # keep the retry phase short: the point is the exit code once retries are exhausted
    monkeypatch.setattr(common, "Settings", functools.partial(Settings, max_retry_time=0.5))
    emu = emulator(FORGE_DIR, fail_rate=1.0, faults=("502",))
    result = _run(
        str(CONSUMER), "--server-url", emu.url, "--no-cache", env={"GITHUB_TOKEN": "emulator-token"}
    )
    assert result.exit_code == 3, result.output
    assert "remote error" in result.output
    assert "references" not in result.output  # no partial report


@pytest.mark.parametrize("flag", ["--include", "--exclude"])
def test_bad_regex_is_a_usage_error(flag: str) -> None:
    result = _run(str(CONSUMER), "--snapshot", str(FORGE_DIR), flag, "(")
    assert result.exit_code == 2 and "invalid regular expression" in result.output
