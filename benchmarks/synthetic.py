"""A synthetic repository of many workflow files and a small forge snapshot that resolves them.

Used by ``benchmarks/run.py`` to measure pinner's *local* work (discovery, YAML parsing,
verification bookkeeping, the text splice that rewrites files) with the network taken out:
``pinner pin --snapshot`` answers every forge question from local files, so what is left is
CPU spent on the user's files.

The workflows are deliberately varied (tags, branches, subpath actions, reusable workflows,
already-pinned SHAs with and without comments, quoted values, local and docker steps, CRLF files)
so the parser and rewriter see what real repositories contain, not one line repeated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from tests.forge.builder import RepoBuilder

ACTION_YML = """name: {name}
description: synthetic action {name}
inputs:
  token:
    description: a token
    default: ${{{{ github.token }}}}
runs:
  using: node20
  main: dist/index.js
"""


@dataclass(frozen=True, slots=True)
class SyntheticAction:
    """One action repository in the synthetic forge: its tags and the commit each names."""

    repo: str
    tags: tuple[str, ...]  # newest last
    commits: tuple[str, ...]  # commit of each tag, same order
    main: str  # tip of the default branch


def build_forge(root: Path, *, repos: int = 25, versions: int = 12) -> list[SyntheticAction]:
    """Write ``repos`` action repositories with ``versions`` releases each under ``root``."""
    actions: list[SyntheticAction] = []
    for r in range(repos):
        name = f"synth-org-{r % 5}/action-{r}"
        b = RepoBuilder(name)
        parent: list[str] = []
        tags: list[str] = []
        commits: list[str] = []
        for v in range(versions):
            major, minor = 1 + v // 4, v % 4
            sha = b.commit(f"c{v}", *parent, date=f"2024-{1 + v % 12:02d}-01T00:00:00Z")
            parent = [sha]
            tag = f"v{major}.{minor}.0"
            if v % 2:
                b.annotated_tag(tag, sha, f"2024-{1 + v % 12:02d}-02T00:00:00Z")
            else:
                b.light_tag(tag, sha)
            b.file(sha, "action.yml", ACTION_YML.format(name=name))
            b.file(sha, "sub/action.yml", ACTION_YML.format(name=name + "/sub"))
            b.file(sha, ".github/workflows/reusable.yml", _reusable(name))
            tags.append(tag)
            commits.append(sha)
        # floating major tags point at the newest release of each major
        for major in sorted({t.split(".")[0] for t in tags}):
            newest = max(i for i, t in enumerate(tags) if t.startswith(major + "."))
            b.light_tag(major, commits[newest])
        b.branch("main", commits[-1])
        b.write(root)
        actions.append(SyntheticAction(name, tuple(tags), tuple(commits), commits[-1]))
    return actions


def _reusable(name: str) -> str:
    return (
        "on:\n  workflow_call:\n    inputs:\n      x:\n        type: string\n"
        "jobs:\n  run:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo " + name + "\n"
    )


def build_repo(
    root: Path, actions: list[SyntheticAction], *, files: int = 1000, seed: int = 7
) -> int:
    """Write ``files`` workflow files under ``root/.github/workflows``; return the uses count."""
    rng = random.Random(seed)
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(files):
        text, uses = _workflow(rng, actions, i)
        newline = "\r\n" if i % 10 == 9 else "\n"
        (workflows / f"wf-{i:04d}.yml").write_bytes(text.replace("\n", newline).encode())
        total += uses
    return total


def _uses_value(rng: random.Random, actions: list[SyntheticAction]) -> tuple[str, str]:
    """A random remote ``uses`` value and an optional trailing comment."""
    a = rng.choice(actions)
    pick = rng.random()
    i = rng.randrange(len(a.tags))
    if pick < 0.35:
        return f"{a.repo}@{a.tags[i]}", ""
    if pick < 0.55:
        return f"{a.repo}@{a.tags[i].split('.')[0]}", ""
    if pick < 0.65:
        return f"{a.repo}/sub@{a.tags[i]}", ""
    if pick < 0.85:
        return f"{a.repo}@{a.commits[i]}", f"  # {a.tags[i]}"
    if pick < 0.92:
        return f"{a.repo}@{a.commits[i]}", ""
    return f"{a.repo}@main", ""


def _workflow(rng: random.Random, actions: list[SyntheticAction], index: int) -> tuple[str, int]:
    lines = [
        f"name: synthetic {index}",
        "on:",
        "  push:",
        "    branches: [main]",
        "  pull_request:",
        "permissions:",
        "  contents: read",
        "env:",
        "  FOO: bar  # a comment",
        "jobs:",
    ]
    uses = 0
    for job in range(rng.randint(1, 3)):
        lines += [
            f"  job-{job}:",
            "    runs-on: ${{ matrix.os }}",
            "    strategy:",
            "      matrix:",
            "        os: [ubuntu-latest, windows-latest]",
            '        python: ["3.11", "3.12"]',
            "    steps:",
        ]
        for _ in range(rng.randint(3, 8)):
            roll = rng.random()
            if roll < 0.08:
                lines += [
                    "      - name: build",
                    "        run: |",
                    "          make -j4",
                    "          make test",
                ]
                continue
            if roll < 0.11:
                lines.append("      - uses: ./.github/actions/local")
                continue
            if roll < 0.13:
                lines.append("      - uses: docker://alpine:3.20")
                continue
            value, comment = _uses_value(rng, actions)
            quote = rng.choice(["", "", "", "'", '"'])
            lines += [
                f"      - name: step {uses}",
                f"        uses: {quote}{value}{quote}{comment}",
                "        with:",
                "          token: ${{ secrets.GITHUB_TOKEN }}",
            ]
            uses += 1
    if rng.random() < 0.1:
        a = rng.choice(actions)
        lines += [
            "  call:",
            f"    uses: {a.repo}/.github/workflows/reusable.yml@{a.tags[-1]}",
            "    with:",
            "      x: y",
        ]
        uses += 1
    return "\n".join(lines) + "\n", uses
