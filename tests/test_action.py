"""The GitHub Action (``action.yml``): its steps run as a runner runs them, for each command.

The install step runs for real once (a fresh virtual environment, the hash-locked dependencies
from PyPI, pinner from this checkout): it must give exactly this version of pinner. Then each
command runs the remaining steps against the emulator with the variables a runner sets
(``GITHUB_SERVER_URL``, ``GITHUB_API_URL``, ``RUNNER_TEMP``, ``GITHUB_OUTPUT``...), the token
coming in as an input. The action itself must also be what pinner preaches: it validates against
SchemaStore's action schema, zizmor finds nothing, and pinner's own audit is clean.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pinner
from tests.actions_runner import ActionRun, run_action, runner_environment

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
BIN = Path(sys.executable).parent
TOKEN = "ghp_actiontestsentinel0123456789abcdefABCD"
UPLOAD_SARIF = "github/codeql-action/upload-sarif@"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """The install step, run once: outputs of step ``install`` (``bin``: the venv's scripts)."""
    temp = tmp_path_factory.mktemp("runner-temp")
    workspace = tmp_path_factory.mktemp("workspace")
    run = run_action(
        ROOT,
        inputs={},
        workspace=workspace,
        runner_temp=temp,
        env={**runner_environment(), "PINNER_NO_GH": "1", "GITHUB_TOKEN_FOR_TEST": TOKEN},
        stop_after="install",
    )
    assert run.failed is None, run.stdout + run.stderr
    assert [s.name for s in run.steps] == ["Install pinner"]
    bin_dir = Path(run.outputs["install"]["bin"])
    assert bin_dir.is_dir()
    assert f"pinner {pinner.__version__}\n" in run.stdout
    return {"install": run.outputs["install"]}


def workspace_of(tmp_path: Path, consumer: str) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(
        FIXTURES / "consumers" / consumer,
        root,
        ignore=shutil.ignore_patterns("expected.json", "README.md"),
    )
    return root


def act(
    installed: dict[str, dict[str, str]],
    workspace: Path,
    tmp_path: Path,
    emu_url: str,
    **inputs: str,
) -> ActionRun:
    temp = tmp_path / "runner-temp"
    temp.mkdir(exist_ok=True)
    env = {
        **runner_environment(),
        "GITHUB_SERVER_URL": emu_url,
        "GITHUB_API_URL": f"{emu_url}/api/v3",
        "GITHUB_REPOSITORY": "pinner-fixtures/consumer",
        "GITHUB_EVENT_NAME": "pull_request",
        "PINNER_CACHE_DIR": str(tmp_path / "cache"),
        "PINNER_NO_GH": "1",
        "GITHUB_TOKEN_FOR_TEST": TOKEN,  # what `github.token` evaluates to
    }
    run = run_action(
        ROOT,
        inputs=inputs,
        workspace=workspace,
        runner_temp=temp,
        env=env,
        done={"install": installed["install"]},
    )
    everything = run.stdout + run.stderr + json.dumps(run.outputs) + json.dumps(run.uses)
    assert TOKEN not in everything, "the token leaked into output"
    assert "Traceback" not in everything
    return run


def fix(workspace: Path, command: str, emu_url: str) -> None:
    """What the developer does after a failed check: run ``pinner pin`` or ``pinner lock``."""
    proc = subprocess.run(
        [str(BIN / "pinner"), command, "--server-url", emu_url, "--no-cache", str(workspace)],
        capture_output=True,
        text=True,
        env={**runner_environment(), "PINNER_NO_GH": "1"},
    )
    assert proc.returncode == 0, proc.stderr


def exit_code(run: ActionRun) -> int:
    return int(run.outputs["run"]["exit-code"])


def test_install_gives_exactly_this_version(installed: dict[str, dict[str, str]]) -> None:
    bin_dir = Path(installed["install"]["bin"])
    proc = subprocess.run(
        [str(bin_dir / "python"), "-c", "import pinner; print(pinner.__file__)"],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).is_relative_to(bin_dir.parent), "not installed in the venv"
    proc = subprocess.run([str(bin_dir / "pinner"), "--version"], capture_output=True, text=True)
    assert proc.stdout == f"pinner {pinner.__version__}\n"


def test_audit_is_the_default_and_fails_on_findings(
    installed: dict[str, dict[str, str]], tmp_path: Path, emulator
) -> None:
    emu = emulator(FIXTURES / "forge")
    # the demo's nested actions name public images; the emulator is no registry
    run = act(installed, workspace_of(tmp_path, "demo"), tmp_path, emu.url, args="--no-images")
    assert exit_code(run) == 1, run.stdout + run.stderr
    assert run.failed == "Fail on pinner's exit code"
    assert "high unpinned-ref" in run.stdout
    assert not run.uses, "no SARIF upload unless asked"
    requests = emu.requests
    assert requests, "pinner did not talk to GITHUB_SERVER_URL"
    assert all(r["auth"] for r in requests if r["kind"] in ("rest", "graphql")), "token not used"


def test_audit_uploads_sarif_and_prints_annotations(
    installed: dict[str, dict[str, str]], tmp_path: Path, emulator
) -> None:
    emu = emulator(FIXTURES / "forge")
    run = act(
        installed,
        workspace_of(tmp_path, "demo"),
        tmp_path,
        emu.url,
        **{
            "upload-sarif": "true",
            "format": "github",
            "min-severity": "high",
            "args": "--no-images",
        },
    )
    assert exit_code(run) == 1, run.stdout + run.stderr
    sarif_file = Path(run.outputs["run"]["sarif-file"])
    document = json.loads(sarif_file.read_text(encoding="utf-8"))
    assert document["version"] == "2.1.0"
    assert document["runs"][0]["results"], "the SARIF has the findings"
    ((uses, with_),) = run.uses
    assert uses.startswith(UPLOAD_SARIF)
    assert with_ == {"sarif_file": str(sarif_file), "category": "pinner"}
    assert re.search(r"^::error file=\.github/workflows/", run.stdout, re.MULTILINE)
    assert run.failed == "Fail on pinner's exit code"


def test_pin_check_fails_unpinned_and_passes_pinned(
    installed: dict[str, dict[str, str]], tmp_path: Path, emulator
) -> None:
    emu = emulator(FIXTURES / "forge")
    workspace = workspace_of(tmp_path, "demo")
    before = {p: p.read_bytes() for p in workspace.rglob("*.yml")}
    run = act(installed, workspace, tmp_path, emu.url, command="pin-check")
    assert exit_code(run) == 1
    assert run.failed == "Fail on pinner's exit code"
    assert {p: p.read_bytes() for p in workspace.rglob("*.yml")} == before, "--check wrote"
    fix(workspace, "pin", emu.url)
    run = act(installed, workspace, tmp_path, emu.url, command="pin-check", format="json")
    assert exit_code(run) == 0, run.stdout + run.stderr
    assert run.failed is None
    assert json.loads(run.steps[-2].stdout)["schema"].startswith("pinner")


def test_update_rewrites_the_workspace_and_writes_pr_texts(
    installed: dict[str, dict[str, str]], tmp_path: Path, emulator
) -> None:
    emu = emulator(FIXTURES / "forge")
    workspace = workspace_of(tmp_path, "upd-demo")
    workflow = workspace / ".github" / "workflows" / "ci.yml"
    before = workflow.read_bytes()
    run = act(
        installed,
        workspace,
        tmp_path,
        emu.url,
        command="update",
        args="--now 2026-06-01T00:00:00Z --pr-title 'pr title.txt' --pr-body pr-body.md",
    )
    assert exit_code(run) == 0, run.stdout + run.stderr
    assert run.failed is None
    assert workflow.read_bytes() != before
    assert (workspace / "pr title.txt").read_text(encoding="utf-8").strip()
    assert "upd-fixtures/setup-tool" in (workspace / "pr-body.md").read_text(encoding="utf-8")


def test_lock_check_fails_without_a_current_lockfile_and_passes_with_one(
    installed: dict[str, dict[str, str]], tmp_path: Path, emulator
) -> None:
    emu = emulator(FIXTURES / "forge")
    workspace = workspace_of(tmp_path, "demo")
    lockfile = workspace / ".github" / "workflows" / "actions.lock"
    run = act(installed, workspace, tmp_path, emu.url, command="lock-check")
    assert exit_code(run) == 1, run.stdout + run.stderr
    assert run.failed == "Fail on pinner's exit code"
    assert not lockfile.exists(), "--check wrote"
    fix(workspace, "lock", emu.url)
    assert lockfile.is_file()
    run = act(installed, workspace, tmp_path, emu.url, command="lock-check", format="json")
    assert exit_code(run) == 0, run.stdout + run.stderr
    assert run.failed is None
    assert json.loads(run.steps[-2].stdout)["schema"].startswith("pinner.lock")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"command": "pin"}, "command must be audit, pin-check, lock-check or update, not 'pin'"),
        ({"command": "pin-check", "upload-sarif": "true"}, "upload-sarif applies to the audit"),
        ({"command": "update", "min-severity": "high"}, "min-severity applies to the audit"),
        ({"upload-sarif": "yes"}, "upload-sarif must be true or false, not 'yes'"),
        ({"args": "--include 'unbalanced"}, "args: cannot split them like a shell"),
        ({"command": "bad\n::warning::injected"}, "not 'bad%0A::warning::injected'"),
    ],
)
def test_bad_inputs_are_one_clear_error(
    installed: dict[str, dict[str, str]],
    tmp_path: Path,
    emulator,
    inputs: dict[str, str],
    message: str,
) -> None:
    emu = emulator(FIXTURES / "forge")
    run = act(installed, workspace_of(tmp_path, "demo"), tmp_path, emu.url, **inputs)
    assert exit_code(run) == 2
    errors = [line for line in run.stdout.splitlines() if line.startswith("::")]
    assert len(errors) == 1 and errors[0].startswith("::error title=pinner::"), run.stdout
    assert message in errors[0]
    assert run.failed == "Fail on pinner's exit code"
    assert not emu.requests, "nothing runs after a bad input"


def test_action_validates_against_schemastore() -> None:
    proc = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-actions", "action.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_finds_nothing_in_the_action() -> None:
    proc = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--persona", "auditor", "--no-progress", "action.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout


@pytest.mark.corpus
def test_pinner_audits_the_action_clean(corpus_forge_dir: Path) -> None:
    """The action's own ``uses:`` (upload-sarif) pinned, resolvable and clean at every level."""
    proc = subprocess.run(
        [
            str(BIN / "pinner"),
            "audit",
            "--snapshot",
            str(corpus_forge_dir),
            "--min-severity",
            "informational",
            "action.yml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 findings" in proc.stdout
    assert UPLOAD_SARIF in proc.stdout
