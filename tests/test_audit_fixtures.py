"""The audit's fixture data: one small repository per scenario, and a consumer using them all.

Run ``python tests/test_audit_fixtures.py`` to (re)write ``fixtures/forge/audit-org/`` and
``fixtures/consumers/audit-scenarios/``; the test below checks the committed files are exactly what
this generator writes, so the data and the expectations in ``tests/test_audit_scenarios.py`` never
drift apart. Every SHA is derived from a readable label (sha1 of a seed), so the expectations can
name commits by label.

Scenarios (owner ``audit-org``):

- ``leaf``: a node action. L1 tagged ``v1.0.0`` (annotated), L2 untagged (stale), L3 tagged
  ``v1.1.0`` and ``v1``, L4 the tip of ``main`` (untagged), and N1, a fork-network-only commit
  (impostor) whose parent is L4.
- ``confused``: ``v2`` is both a tag (C1) and a branch (C2): ref confusion.
- ``composite``: a composite action nesting a tag ref, a SHA pin, a ``docker://`` image, a
  workspace-relative ``./helper`` and ``$/sub`` (same repository and commit) whose own step uses a
  branch.
- ``reusable``: a reusable workflow with a job container, a digest-pinned service, a tag ref in a
  step, and a nested reusable workflow call.
- ``docker-action``: a docker action built from a Dockerfile (multi-stage ``FROM``), a docker
  action using a ``docker://`` image (``remote-image/``) and a directory with only a Dockerfile
  (``dockerfile-only/``).
- ``deep``: ``l1`` .. ``l10``, each composite calling the next: the edge into ``l10`` is 10 deep.
- ``cycle``: ``a`` calls ``cycle/b@main``, which calls ``cycle/a@main``: at the same commit.
- ``no-metadata``: a tagged commit with no action.yml, action.yaml or Dockerfile.
- ``downloader``: a composite action downloading a versioned URL (fine), a ``latest`` URL and,
  from its ``get.sh``, a branch URL piped to ``sh`` (mutable-download).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make ``tests`` importable
    sys.path.insert(0, str(ROOT))

from tests.forge.builder import SnapshotRepo  # noqa: E402

FORGE = ROOT / "fixtures" / "forge" / "audit-org"
CONSUMER = ROOT / "fixtures" / "consumers" / "audit-scenarios"
OWNER = "audit-org"


def sha(*parts: str) -> str:
    return hashlib.sha1("\0".join(("pinner-audit", *parts)).encode()).hexdigest()


def digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(("pinner-audit", *parts)).encode()).hexdigest()


class Repo(SnapshotRepo):
    """An ``audit-org`` repository; rendering and building are :class:`SnapshotRepo`'s."""

    owner = OWNER
    seed = "pinner-audit"  # as sha()

    def new_tag_sha(self, name: str, target: str) -> str:
        return self.seeded_sha(self.slug, "tag", name)  # audit tags are seeded by name only


NODE_ACTION = "name: {name}\ndescription: {description}\nruns:\n  using: node20\n  main: index.js\n"


def composite(name: str, *uses: str) -> str:
    steps = "".join(f"    - uses: {u}\n" for u in uses)
    return f"name: {name}\nruns:\n  using: composite\n  steps:\n{steps}"


def build_repos() -> dict[str, Repo]:
    repos: dict[str, Repo] = {}

    leaf = repos["leaf"] = Repo("leaf")
    leaf.commit("L1", "2024-01-01T00:00:00Z")
    leaf.commit("L2", "2024-02-01T00:00:00Z", ["L1"])
    leaf.commit("L3", "2024-03-01T00:00:00Z", ["L2"])
    leaf.commit("L4", "2024-04-01T00:00:00Z", ["L3"])
    leaf.commit("N1", "2024-05-01T00:00:00Z", ["L4"], network=True)
    leaf.annotated_tag("v1.0.0", "L1", "2024-01-02T00:00:00Z")
    leaf.lightweight_tag("v1.1.0", "L3")
    leaf.lightweight_tag("v1", "L3")
    leaf.branch("main", "L4")
    for label in ("L1", "L2", "L3", "L4", "N1"):
        leaf.file(label, "action.yml", NODE_ACTION.format(name="leaf", description=label))

    confused = repos["confused"] = Repo("confused")
    confused.commit("C1", "2024-01-01T00:00:00Z")
    confused.commit("C2", "2024-02-01T00:00:00Z", ["C1"])
    confused.lightweight_tag("v2", "C1")
    confused.branch("v2", "C2")
    confused.branch("main", "C2")
    for label in ("C1", "C2"):
        confused.file(label, "action.yml", NODE_ACTION.format(name="confused", description=label))

    comp = repos["composite"] = Repo("composite")
    comp.commit("P1", "2024-06-01T00:00:00Z")
    comp.lightweight_tag("v1.0.0", "P1")
    comp.branch("main", "P1")
    l1 = leaf.labels["L1"]
    comp.file(
        "P1",
        "action.yml",
        composite(
            "composite",
            "audit-org/leaf@v1",
            f"audit-org/leaf@{l1} # v1.0.0",
            "docker://alpine:3.19",
            "./helper",
            "$/sub",
        ),
    )
    comp.file("P1", "sub/action.yml", composite("sub", "audit-org/leaf@main"))

    reusable = repos["reusable"] = Repo("reusable")
    reusable.commit("R1", "2024-06-01T00:00:00Z")
    reusable.lightweight_tag("v1.0.0", "R1")
    reusable.branch("main", "R1")
    r1 = reusable.labels["R1"]
    l3 = leaf.labels["L3"]
    reusable.file(
        "R1",
        ".github/workflows/build.yml",
        "on: workflow_call\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-latest\n"
        "    container: node:20\n"
        "    services:\n"
        "      cache:\n"
        f"        image: redis:7@sha256:{digest('redis')}\n"
        "    steps:\n"
        "      - uses: audit-org/leaf@v1.1.0\n"
        "  call:\n"
        f"    uses: audit-org/reusable/.github/workflows/inner.yml@{r1}\n",
    )
    reusable.file(
        "R1",
        ".github/workflows/inner.yml",
        "on: workflow_call\n"
        "jobs:\n"
        "  inner:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        f"      - uses: audit-org/leaf@{l3} # v1.1.0\n",
    )

    docker = repos["docker-action"] = Repo("docker-action")
    docker.commit("D1", "2024-06-01T00:00:00Z")
    docker.lightweight_tag("v1.0.0", "D1")
    docker.branch("main", "D1")
    docker.file("D1", "action.yml", "name: docker\nruns:\n  using: docker\n  image: Dockerfile\n")
    docker.file(
        "D1",
        "Dockerfile",
        "FROM golang:1.22 AS build\n"
        "RUN go build ./...\n"
        "FROM build AS test\n"
        f"FROM gcr.io/distroless/static@sha256:{digest('distroless')}\n",
    )
    docker.file(
        "D1",
        "remote-image/action.yml",
        "name: remote image\nruns:\n  using: docker\n  image: docker://ghcr.io/audit-org/tool:latest\n",
    )
    docker.file("D1", "dockerfile-only/Dockerfile", "FROM ubuntu\n")

    deep = repos["deep"] = Repo("deep")
    deep.commit("E1", "2024-06-01T00:00:00Z")
    deep.lightweight_tag("v1.0.0", "E1")
    deep.branch("main", "E1")
    e1 = deep.labels["E1"]
    for n in range(1, 10):
        deep.file("E1", f"l{n}/action.yml", composite(f"l{n}", f"audit-org/deep/l{n + 1}@{e1}"))
    deep.file("E1", "l10/action.yml", NODE_ACTION.format(name="l10", description="bottom"))

    cycle = repos["cycle"] = Repo("cycle")
    cycle.commit("Y1", "2024-06-01T00:00:00Z")
    cycle.lightweight_tag("v1.0.0", "Y1")
    cycle.branch("main", "Y1")
    cycle.file("Y1", "a/action.yml", composite("a", "audit-org/cycle/b@main"))
    cycle.file("Y1", "b/action.yml", composite("b", "audit-org/cycle/a@main"))

    downloader = repos["downloader"] = Repo("downloader")
    downloader.commit("W1", "2024-06-01T00:00:00Z")
    downloader.lightweight_tag("v1.0.0", "W1")
    downloader.branch("main", "W1")
    downloader.file(
        "W1",
        "action.yml",
        "name: downloader\n"
        "runs:\n"
        "  using: composite\n"
        "  steps:\n"
        "    - shell: bash\n"
        "      run: |\n"
        "        curl -fsSLO https://example.com/tool/v1.2.3/tool-linux.tgz\n"
        "        curl -fsSL https://example.com/tool/latest/tool-linux.tgz | tar xz\n"
        '    - run: bash "${{ github.action_path }}/get.sh"\n'
        "      shell: bash\n",
    )
    downloader.file(
        "W1",
        "get.sh",
        "#!/bin/sh\ncurl -fsSL https://raw.githubusercontent.com/o/r/main/x.sh | sh\n",
    )

    nometa = repos["no-metadata"] = Repo("no-metadata")
    nometa.commit("M1", "2024-06-01T00:00:00Z")
    nometa.lightweight_tag("v1.0.0", "M1")
    nometa.branch("main", "M1")
    return repos


def build_consumer(repos: dict[str, Repo]) -> dict[str, str]:
    leaf = repos["leaf"].labels
    tag_object = next(t["sha"] for t in repos["leaf"].tags if t["tag"] == "v1.0.0")
    missing_sha = sha("audit-org/missing-repo", "commit", "X1")
    p1, d1 = repos["composite"].labels["P1"], repos["docker-action"].labels["D1"]
    e1, y1 = repos["deep"].labels["E1"], repos["cycle"].labels["Y1"]
    m1, r1 = repos["no-metadata"].labels["M1"], repos["reusable"].labels["R1"]
    w1 = repos["downloader"].labels["W1"]
    out: dict[str, str] = {}
    out[".github/workflows/direct.yml"] = (
        "name: direct\n"
        "on: push\n"
        "jobs:\n"
        "  direct:\n"
        "    runs-on: ubuntu-latest\n"
        "    strategy:\n"
        "      matrix:\n"
        "        uses: [audit-org/leaf@v1]\n"
        "    steps:\n"
        "      - uses: audit-org/leaf@v1\n"
        "      - uses: audit-org/leaf@main\n"
        f"      - uses: audit-org/leaf@{leaf['L1']} # v1.1.0\n"
        f"      - uses: audit-org/leaf@{leaf['L3']}\n"
        f"      - uses: audit-org/leaf@{tag_object} # v1.0.0\n"
        f"      - uses: audit-org/leaf@{leaf['L2']} # main\n"
        f"      - uses: audit-org/leaf@{leaf['N1']} # main\n"
        "      - uses: audit-org/confused@v2\n"
        "      - uses: ${{ matrix.uses }}\n"
        f"      - uses: audit-org/missing-repo@{missing_sha} # v1.0.0\n"
        "      - uses: audit-org/leaf@v9\n"
        "      - uses: docker://alpine:latest\n"
        "      - uses: audit-org/leaf@v1 # pinner: ignore[unpinned-ref]\n"
        "      - uses: ./.github/actions/missing\n"
        "      - uses: ./.github/actions/setup\n"
        "  services:\n"
        "    runs-on: ubuntu-latest\n"
        "    container:\n"
        f"      image: python:3.12@sha256:{digest('python')}\n"
        "    services:\n"
        "      db:\n"
        "        image: postgres\n"
        "    steps:\n"
        "      - run: echo hi\n"
    )
    out[".github/workflows/nested.yml"] = (
        "name: nested\n"
        "on: push\n"
        "jobs:\n"
        "  nested:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        f"      - uses: audit-org/composite@{p1} # v1.0.0\n"
        f"      - uses: audit-org/docker-action@{d1} # v1.0.0\n"
        f"      - uses: audit-org/docker-action/remote-image@{d1} # v1.0.0\n"
        f"      - uses: audit-org/docker-action/dockerfile-only@{d1} # v1.0.0\n"
        f"      - uses: audit-org/deep/l1@{e1} # v1.0.0\n"
        f"      - uses: audit-org/cycle/a@{y1} # v1.0.0\n"
        f"      - uses: audit-org/no-metadata@{m1} # v1.0.0\n"
        f"      - uses: audit-org/downloader@{w1} # v1.0.0\n"
        "  call:\n"
        f"    uses: audit-org/reusable/.github/workflows/build.yml@{r1} # v1.0.0\n"
    )
    out[".github/workflows/clean.yml"] = (
        "name: clean\n"
        "on: push\n"
        "jobs:\n"
        "  clean:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        f"      - uses: audit-org/leaf@{leaf['L1']} # v1.0.0\n"
        f"      - uses: audit-org/leaf@{leaf['L3']} # v1.1.0\n"
        "      - uses: ./.github/actions/setup\n"
    )
    out[".github/actions/setup/action.yml"] = composite(
        "setup", f"audit-org/leaf@{leaf['L1']} # v1.0.0"
    )
    return out


def expected_files() -> dict[Path, str]:
    repos = build_repos()
    files: dict[Path, str] = {}
    for repo in repos.values():
        for rel, data in repo.render().items():
            files[FORGE / repo.name / rel] = data.decode()
    for rel, text in build_consumer(repos).items():
        files[CONSUMER / rel] = text
    return files


def write() -> None:
    for path, text in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")


def test_committed_fixtures_match_the_generator() -> None:
    expected = expected_files()
    for path, text in expected.items():
        assert path.is_file(), f"{path} missing: run python tests/test_audit_fixtures.py"
        assert path.read_text(encoding="utf-8") == text, f"{path} differs from the generator"
    on_disk = {p for base in (FORGE, CONSUMER) for p in base.rglob("*") if p.is_file()}
    assert on_disk == set(expected), "stray files under the audit fixtures"


if __name__ == "__main__":
    write()
    sys.exit(0)
