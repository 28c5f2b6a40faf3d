"""The documented scheduled bot workflow for ``pinner update`` must itself be what pinner preaches.

Checks every ```yaml block of README.md and docs/*.md that runs ``pinner update``: actions
pinned to full SHAs with version comments, ``permissions: {}`` at the top and explicit per job, only
``schedule``/``workflow_dispatch`` triggers (no ``pull_request_target``), no ``${{ }}``
expansion inside ``run:`` scripts (template injection), credentials not persisted by checkout,
and the pinner invocation a bot needs. Fails when no page carries the example (docs/update.md does).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from pinner.models import SHA_RE
from pinner.sources import parse_uses, scan

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK_RE = re.compile(r"```ya?ml\n(.*?)```", re.DOTALL)


def bot_workflows() -> list[str]:
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        blocks += [b for b in _BLOCK_RE.findall(text) if "pinner update" in b and "jobs:" in b]
    return blocks


def check_bot_workflow(text: str) -> None:
    """Raise AssertionError with the first rule the workflow breaks."""
    data = YAML(typ="safe").load(text)
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as True
    names = set(triggers) if isinstance(triggers, dict) else {triggers}
    assert names <= {"schedule", "workflow_dispatch"}, f"triggers {names}"
    assert data.get("permissions") == {}, "top-level permissions must be {}"
    for job_id, job in data["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"job {job_id}: explicit permissions"
        assert job["permissions"].get("contents") in (None, "read", "write")
        for step in job.get("steps", []):
            if "run" in step:
                assert "${{" not in step["run"], f"job {job_id}: expression inside run:"
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                persist = step.get("with", {}).get("persist-credentials")
                assert persist is False, f"job {job_id}: checkout must not persist credentials"
    source = scan(text, ".github/workflows/pinner-update.yml", "workflow")
    assert source.uses, "the workflow uses no action?"
    for site in source.uses:
        value = parse_uses(site.value.raw)
        assert value.action is not None and SHA_RE.match(value.action.ref), site.value.raw
        assert site.comment and re.match(r"^v\d+\.\d+\.\d+", site.comment), site.value.raw
    runs = "\n".join(
        step.get("run", "") for job in data["jobs"].values() for step in job.get("steps", [])
    )
    for needed in ("pinner update", "--format json", "--pr-title", "--pr-body", "--commit-message"):
        assert needed in runs, f"missing {needed!r}"
    assert "gh pr create" in runs


GOOD = """\
name: pinner update
on:
  schedule:
    - cron: "17 6 * * 1"
  workflow_dispatch:
permissions: {}
jobs:
  update:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      pull-requests: write
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          persist-credentials: false
      - run: pinner update --format json --pr-title t --pr-body b --commit-message m
      - run: gh pr create --title "$(cat t)" --body-file b
"""


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (GOOD.replace("  workflow_dispatch:", "  pull_request_target:"), "triggers"),
        (GOOD.replace("permissions: {}\n", ""), "top-level"),
        (GOOD.replace("@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1", "@v7"), "@v7"),
        (GOOD.replace("persist-credentials: false", "persist-credentials: true"), "persist"),
        (GOOD.replace("--pr-body b ", "--pr-body ${{ github.ref }} "), "expression"),
        (GOOD.replace(" --commit-message m", ""), "--commit-message"),
    ],
)
def test_the_checker_catches_each_mistake(broken: str, message: str) -> None:
    check_bot_workflow(GOOD)
    with pytest.raises(AssertionError, match=re.escape(message)):
        check_bot_workflow(broken)


def test_readme_bot_workflow_is_pinned_and_least_privilege() -> None:
    blocks = bot_workflows()
    assert blocks, "no page documents the `pinner update` bot workflow"
    for block in blocks:
        check_bot_workflow(block)
