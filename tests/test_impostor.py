"""Impostor commits through the real CLI against the emulator (issue 14, items 1 and 3).

* A pin to an annotated tag *object* that peels to a commit only a fork has is an impostor like
  a SHA pin to that commit: ``audit`` reports ``impostor-commit`` (high), ``tag-object-pin``
  names no commit to use instead, and ``pin`` refuses it as it refuses impostor commits.
* An impostor never passes the default gate: with a token the containment check compares 50
  refs per GraphQL query (every ref of a 111-ref repository in three queries); without one REST
  compares in order of likelihood for as long as the anonymous quota lasts, and a verdict it
  cannot reach is ``unknown`` at medium severity with one line saying what would decide it.

The small repositories are written into a temporary snapshot with the shared builder
(:mod:`tests.forge.builder`); fork-network commits and unlisted tag objects are served by SHA
as GitHub serves them, and appear in no ref listing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinner.cli import app
from tests.forge.builder import RepoBuilder

TOKEN = "impostor-test-token"
ACTION = "name: a\nruns:\n  using: composite\n  steps: []\n"


def invoke(*args: str, token: str = ""):
    env = {"PINNER_NO_GH": "1", "GITHUB_TOKEN": token, "GH_TOKEN": "", "NO_COLOR": "1"}
    return CliRunner().invoke(app, list(args), env=env)


def workflow(root: Path, *uses: str) -> Path:
    """A repository whose one workflow has a step per ``uses`` value (with its comment)."""
    path = root / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    steps = "".join(f"      - uses: {u}\n" for u in uses)
    path.write_text(f"on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n{steps}")
    return path


def findings(output: str) -> list[dict]:
    return json.loads(output)["findings"]


def audit(emu, root: Path, *args: str, token: str = "") -> tuple[int, list[dict]]:
    """``pinner audit --format json`` of ``root`` against ``emu``: exit code, findings."""
    forge = ("--server-url", emu.url, "--no-cache", "--format", "json")
    result = invoke("audit", str(root), *forge, *args, token=token)
    assert "Traceback" not in result.output
    return result.exit_code, findings(result.stdout)


class TagObjectFork:
    """``imp-org/action``: a release tag, a fork commit and tag objects nobody listed."""

    def __init__(self, base: Path) -> None:
        b = RepoBuilder("imp-org/action")
        self.c1 = b.commit("c1", date="2024-01-01T00:00:00Z")
        self.c2 = b.commit("c2", self.c1, date="2024-01-02T00:00:00Z")
        self.c3 = b.commit("c3", self.c2, date="2024-01-03T00:00:00Z")
        b.branch("main", self.c3)
        b.annotated_tag("v1.0.0", self.c1)
        self.fork = b.network_commit("evil", self.c3)  # a fork's commit on top of main
        # tag objects no ref lists: one wraps the fork's commit, one a real commit
        self.evil_tag = b.tag_object("v1.0.1", self.fork)
        self.good_tag = b.tag_object("v1.0.0-rc", self.c2)
        for commit in (self.c1, self.c2, self.c3, self.fork):
            b.file(commit, "action.yml", ACTION)
        self.dir = base / "forge"
        b.write(self.dir)


@pytest.fixture
def fork_repo(tmp_path: Path) -> TagObjectFork:
    return TagObjectFork(tmp_path)


@pytest.mark.parametrize("token", ["", TOKEN], ids=["anonymous", "token"])
def test_audit_reports_an_impostor_behind_a_tag_object(
    emulator, fork_repo: TagObjectFork, tmp_path: Path, token: str
) -> None:
    root = tmp_path / "repo"
    workflow(root, f"imp-org/action@{fork_repo.evil_tag} # v1.0.1")
    code, found = audit(emulator(fork_repo.dir), root, token=token)
    assert code == 1
    by_rule = {f["rule"]: f for f in found}
    impostor = by_rule["impostor-commit"]
    assert impostor["severity"] == "high"
    assert "in no branch or tag of imp-org/action" in impostor["message"]
    # the tag-object finding suggests no commit: the one it peels to is the fork's
    tag = by_rule["tag-object-pin"]
    assert fork_repo.fork not in tag["message"] and fork_repo.fork[:12] not in tag["message"]
    assert "no commit to use instead" in tag["message"]


def test_audit_names_the_commit_of_a_verified_tag_object(
    emulator, fork_repo: TagObjectFork, tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    workflow(root, f"imp-org/action@{fork_repo.good_tag} # v1.0.0-rc")
    code, found = audit(emulator(fork_repo.dir), root)
    assert code == 1
    by_rule = {f["rule"]: f for f in found}
    assert "impostor-commit" not in by_rule  # c2 is in main's history
    assert by_rule["tag-object-pin"]["message"].endswith(
        f"the commit it points at is {fork_repo.c2}"
    )


@pytest.mark.parametrize("token", ["", TOKEN], ids=["anonymous", "token"])
def test_pin_refuses_an_impostor_behind_a_tag_object(
    emulator, fork_repo: TagObjectFork, tmp_path: Path, token: str
) -> None:
    emu = emulator(fork_repo.dir)
    root = tmp_path / "repo"
    path = workflow(
        root,
        f"imp-org/action@{fork_repo.evil_tag} # v1.0.1",
        f"imp-org/action@{fork_repo.good_tag}",
    )
    before = path.read_bytes()
    forge = ("--server-url", emu.url, "--no-cache")
    result = invoke("pin", str(root), *forge, "--format", "json", token=token)
    assert result.exit_code == 1, result.output
    records = json.loads(result.stdout)["records"]
    [problem] = [r for r in records if r["type"] == "problem"]
    assert problem["code"] == "impostor-commit" and problem["line"] == 6
    assert "in no branch or tag of imp-org/action" in problem["message"]
    # the verified tag object is pinned to its commit; the fork's commit is written nowhere
    assert [r["sha"] for r in records if r["type"] == "change"] == [fork_repo.c2]
    after = path.read_text()
    assert fork_repo.fork not in after and f"@{fork_repo.evil_tag} # v1.0.1" in after
    assert after != before.decode()


# ----------------------------------------------------------------------------- the corpus


@pytest.fixture
def checkout_fork(corpus_forge_dir: Path) -> str:
    """A real pull-request commit of actions/checkout: in its fork network, in no branch or tag."""
    rows = (corpus_forge_dir / "actions" / "checkout" / "pull_only_commits.jsonl").read_text()
    return json.loads(rows.splitlines()[0])["sha"]


def compare_requests(emu) -> tuple[int, int]:
    """(GraphQL ``Compare`` queries, REST compares) the emulator served."""
    graphql = sum(1 for r in emu.requests if r.get("operation") == "Compare")
    rest = sum(
        1 for r in emu.requests if r["endpoint"] == "GET /repos/{owner}/{repo}/compare/{basehead}"
    )
    return graphql, rest


@pytest.mark.corpus
def test_corpus_impostor_under_actions_checkout_with_a_token_costs_three_queries(
    emulator, corpus_forge_dir: Path, checkout_fork: str, tmp_path: Path
) -> None:
    """actions/checkout has 127 refs at 111 distinct commits: 50 + 50 + 11 comparisons."""
    emu = emulator(corpus_forge_dir)
    root = tmp_path / "repo"
    workflow(root, f"actions/checkout@{checkout_fork} # v4.2.2")
    code, found = audit(emu, root, token=TOKEN)
    assert code == 1
    [impostor] = [f for f in found if f["rule"] == "impostor-commit"]
    assert impostor["severity"] == "high"
    assert "in no branch or tag of actions/checkout (checked all 111)" in impostor["message"]
    assert compare_requests(emu) == (3, 0)
    # listing, commit lookup, 3 compares, metadata files, the advisories of the graph
    assert emu.stats()["total"] <= 9
    pinned = invoke("pin", str(root), "--server-url", emu.url, "--no-cache", token=TOKEN)
    assert pinned.exit_code == 1 and "in no branch or tag of actions/checkout" in pinned.output
    # a budget, when one is given, caps the queries and the message says what finishes the job
    capped = invoke(
        "pin", str(root), "--server-url", emu.url, "--no-cache", "--verify-budget", "1", token=TOKEN
    )
    assert capped.exit_code == 1
    assert "none of the 50 refs checked of 111" in capped.output
    assert "--verify-budget 3 checks them all" in capped.output


@pytest.mark.corpus
def test_corpus_impostor_without_a_token_fails_the_default_gate(
    emulator, corpus_forge_dir: Path, checkout_fork: str, tmp_path: Path
) -> None:
    """60 anonymous requests an hour cannot compare 111 refs: REST goes as far as the quota
    allows (keeping a reserve, never running into the limit), and the verdict it cannot reach
    is unknown at medium severity, with what it would take to decide."""
    emu = emulator(corpus_forge_dir)
    root = tmp_path / "repo"
    workflow(root, f"actions/checkout@{checkout_fork} # v4.2.2")
    code, found = audit(emu, root)
    assert code == 1  # the default gate (medium) fails
    [unknown] = [f for f in found if f["rule"] == "impostor-commit"]
    assert unknown["severity"] == "medium"
    assert "unknown" in unknown["message"] and "anonymous API quota" in unknown["message"]
    assert "with a token (GITHUB_TOKEN) the other" in unknown["message"]
    graphql, rest = compare_requests(emu)
    assert graphql == 0 and 40 <= rest <= 50
    assert emu.stats()["rate_limited"] == 0
    assert audit(emu, root, "--min-severity", "high")[0] == 0  # only a weaker gate passes it


@pytest.mark.corpus
@pytest.mark.parametrize("token", ["", TOKEN], ids=["anonymous", "token"])
def test_corpus_commit_in_history_is_proven_with_one_request(
    emulator, corpus_forge_dir: Path, tmp_path: Path, token: str
) -> None:
    """A commit of main's history that no ref points at: the default branch is compared first."""
    snap = json.loads((corpus_forge_dir / "actions" / "checkout" / "refs.json").read_text())
    tips = {r["peeled"] for r in snap["refs"]} | {r["object"] for r in snap["refs"]}
    commits = (corpus_forge_dir / "actions" / "checkout" / "commits.jsonl").read_text()
    inside = next(
        row["sha"] for row in map(json.loads, commits.splitlines()) if row["sha"] not in tips
    )
    emu = emulator(corpus_forge_dir)
    root = tmp_path / "repo"
    workflow(root, f"actions/checkout@{inside}")
    _, found = audit(emu, root, token=token)
    assert [f for f in found if f["rule"] == "impostor-commit"] == []
    assert sum(compare_requests(emu)) == 1
