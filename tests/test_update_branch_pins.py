"""Branch pins keep moving on purpose: ``@<sha> # stable`` follows branch ``stable``.

``pinner pin`` turns ``dtolnay/rust-toolchain@stable`` into ``@<sha> # stable``. ``update`` then
follows the branch the comment names, as Renovate does for branch digests: the pin moves to the
branch's new tip once that commit is older than the cooldown (a tip younger than that is held
back, with the date it becomes eligible), and every output says "branch stable moved". A lone
word is a branch only when the repository has that branch (``# TODO`` is a note).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinner.cli import app
from pinner.core.update import followed_branch
from pinner.models import GitRef, RefListing
from pinner.sources import read_source
from tests.forge.builder import RepoBuilder
from tests.test_output_schemas import validate

REPO = "rt-org/rust-toolchain"
NOW = "2026-06-01T00:00:00Z"


def forge_at(root: Path, *, moved: bool) -> tuple[Path, dict[str, str]]:
    """The repository before (every branch at c1) or after its branches moved."""
    b = RepoBuilder(REPO, default_branch="master")
    c0 = b.commit("c0", date="2025-12-01T00:00:00Z")  # in history, no ref points at it
    c1 = b.commit("c1", c0, date="2026-01-10T00:00:00Z")
    shas = {"c0": c0, "c1": c1}
    if moved:
        shas["c2"] = b.commit("c2", c1, date="2026-04-01T12:00:00Z")  # old enough
        shas["c3"] = b.commit("c3", shas["c2"], date="2026-05-30T08:00:00Z")  # 2 days old
    b.branch("master", shas.get("c3", c1))
    b.branch("stable", shas.get("c2", c1))
    b.branch("nightly", shas.get("c3", c1))
    b.branch("beta", c1)  # never moves
    b.light_tag("v0.1.0", c1)  # a version at the pinned commit: the branch claim still wins
    b.file(c1, "action.yml", "name: toolchain\nruns:\n  using: composite\n  steps: []\n")
    b.write(root)
    return root, shas


WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: rt-org/rust-toolchain@stable
      - uses: rt-org/rust-toolchain@nightly
      - uses: rt-org/rust-toolchain@beta # keep in step with ci.yml
      - uses: rt-org/rust-toolchain@{c0} # TODO
"""


def invoke(*args: str):
    env = {"PINNER_NO_GH": "1", "GITHUB_TOKEN": "", "GH_TOKEN": "", "NO_COLOR": "1"}
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture
def consumer(tmp_path: Path) -> Path:
    root = tmp_path / "consumer"
    (root / ".github" / "workflows").mkdir(parents=True)
    _, shas = forge_at(tmp_path / "before", moved=False)
    (root / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW.format(**shas))
    return root


def uses_lines(root: Path) -> list[str]:
    text = (root / ".github" / "workflows" / "ci.yml").read_text()
    return [ln.strip() for ln in text.splitlines() if "uses:" in ln]


def test_pin_then_update_follows_the_branch(emulator, consumer: Path, tmp_path: Path) -> None:
    before, shas = forge_at(tmp_path / "before", moved=False)
    c0, c1 = shas["c0"], shas["c1"]
    pinned = invoke("pin", str(consumer), "--server-url", emulator(before).url, "--no-cache")
    assert pinned.exit_code == 0, pinned.output
    assert uses_lines(consumer) == [
        f"- uses: rt-org/rust-toolchain@{c1} # stable",
        f"- uses: rt-org/rust-toolchain@{c1} # nightly",
        f"- uses: rt-org/rust-toolchain@{c1} # beta # keep in step with ci.yml",
        f"- uses: rt-org/rust-toolchain@{c0} # TODO",
    ]

    after, shas = forge_at(tmp_path / "after", moved=True)
    c2, c3 = shas["c2"], shas["c3"]
    url = emulator(after).url
    base = ["update", str(consumer), "--server-url", url, "--no-cache", "--now", NOW]

    doc = json.loads(invoke(*base, "--check", "--format", "json").stdout)
    validate(doc)  # against the shipped pinner.update/1 schema
    (change,) = doc["changes"]
    assert change["id"] == f"rt-org-rust-toolchain-stable-{c1[:12]}-to-{c2[:12]}"
    assert change["kind"] == "branch" and change["branch"] == "stable"
    assert change["from"] == {"ref": c1, "version": None, "sha": c1}
    assert change["to"] == {"ref": c2, "version": None, "sha": c2}
    assert change["value"] == f"{REPO}@{c2}" and change["comment"] is None
    assert change["note"].startswith("branch stable moved")
    assert change["released_at"] == "2026-04-01T12:00:00Z" and change["date_source"] == "commit"
    assert change["age_days"] == 60
    assert change["compare_url"] == f"{url}/{REPO}/compare/{c1}...{c2}"
    assert change["files"] == [{"file": ".github/workflows/ci.yml", "line": 6}]
    (held,) = doc["held_back"]
    assert held["branch"] == "nightly" and held["reason"] == "cooldown"
    assert held["candidate"]["sha"] == c3
    assert held["released_at"] == "2026-05-30T08:00:00Z"
    assert held["eligible_at"] == "2026-06-06T08:00:00Z"
    # "# TODO" names no branch of the repository: a note, not a branch to follow
    todo = [s for s in doc["skipped"] if s["files"][0]["line"] == 9]
    assert todo and "branch" not in todo[0]["reason"]

    text = invoke(*base, "--check")
    assert text.exit_code == 1, text.output
    lines = text.stdout.splitlines()
    assert any(
        re.match(rf"branch +{REPO}  stable {c1[:12]} -> {c2[:12]}  \(committed 2026-04-01", ln)
        for ln in lines
    ), lines
    assert f"        note: branch stable moved: {c1[:12]} -> {c2[:12]}" in lines
    assert any(
        ln.startswith("held") and f"nightly {c3[:12]}: cooldown: committed" in ln for ln in lines
    )

    body = tmp_path / "body.md"
    title = tmp_path / "title.txt"
    written = invoke(*base, "--pr-body", str(body), "--pr-title", str(title))
    assert written.exit_code == 0, written.output
    md = body.read_text()
    assert "branch `stable` moved" in md
    assert "branch stable moved" in md  # the note
    assert "new tip `nightly`" in md  # held back, with the branch named
    assert title.read_text().strip() == f"ci(deps): follow {REPO} branch stable to {c2[:7]}"
    assert uses_lines(consumer) == [
        f"- uses: rt-org/rust-toolchain@{c2} # stable",  # the comment kept, the pin moved
        f"- uses: rt-org/rust-toolchain@{c1} # nightly",  # held back by the cooldown
        f"- uses: rt-org/rust-toolchain@{c1} # beta # keep in step with ci.yml",  # at its tip
        f"- uses: rt-org/rust-toolchain@{c0} # TODO",
    ]

    again = json.loads(invoke(*base, "--check", "--format", "json").stdout)
    assert again["changes"] == []  # a second run: the branch pin is at its tip

    later = json.loads(
        invoke(*base[:-1], "2026-06-07T00:00:00Z", "--check", "--format", "json").stdout
    )
    assert [(c["branch"], c["to"]["sha"]) for c in later["changes"]] == [("nightly", c3)]
    no_wait = json.loads(invoke(*base, "--cooldown", "0", "--check", "--format", "json").stdout)
    assert [c["branch"] for c in no_wait["changes"]] == ["nightly"]


def test_pin_check_accepts_a_branch_pin_that_fell_behind(emulator, consumer, tmp_path) -> None:
    """After the branch moves, the old pin is not a problem for ``pin --check``: following it
    is update's job (with a cooldown), not pin's."""
    before, _ = forge_at(tmp_path / "before", moved=False)
    invoke("pin", str(consumer), "--server-url", emulator(before).url, "--no-cache")
    after, _ = forge_at(tmp_path / "after", moved=True)
    check = invoke(
        "pin", str(consumer), "--check", "--server-url", emulator(after).url, "--no-cache"
    )
    assert check.exit_code == 0, check.output


# ----------------------------------------------------------------------------- unit


def _sites(tmp_path: Path, comments: list[str]) -> list:
    steps = "".join(f"      - uses: o/a@{'1' * 40} # {c}\n" for c in comments)
    path = tmp_path / "w.yml"
    path.write_text(f"on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n{steps}")
    return list(read_source(path, root=tmp_path).uses)


def _listing(*refs: tuple[str, str]) -> RefListing:
    return RefListing("o/a", tuple(GitRef(name, sha, sha) for name, sha in refs), "main")


def test_followed_branch_is_a_branch_of_that_repository_and_no_tag(tmp_path: Path) -> None:
    listing = _listing(
        ("refs/heads/stable", "2" * 40),
        ("refs/heads/v2", "3" * 40),
        ("refs/tags/v2", "4" * 40),
        ("refs/tags/nightly", "5" * 40),
    )
    stable = followed_branch(_sites(tmp_path, ["stable"]), listing)
    assert stable is not None and stable.short == "stable" and stable.commit == "2" * 40
    assert followed_branch(_sites(tmp_path, ["TODO"]), listing) is None  # no such branch
    assert followed_branch(_sites(tmp_path, ["v2"]), listing) is None  # a tag wins
    assert followed_branch(_sites(tmp_path, ["nightly"]), listing) is None  # a tag only
    assert followed_branch(_sites(tmp_path, ["stable", "stable"]), listing) is not None
    assert followed_branch(_sites(tmp_path, ["stable", "v2"]), listing) is None  # disagree
