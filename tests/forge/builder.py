"""Build small snapshot directories in tests (same format as ``../shared/corpus/forge``).

Tests describe a repository as commits, refs and files; the builder writes refs.json,
tags.jsonl, commits.jsonl, network.json, releases.json and files/ so that the reader under test
(:mod:`pinner.forge.snapshot`) parses real files, not objects handed to it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path


def fake_sha(label: str) -> str:
    """A stable 40-hex SHA derived from a readable label."""
    return hashlib.sha1(label.encode()).hexdigest()


@dataclass
class RepoBuilder:
    """Accumulates one repository's snapshot and writes it under ``root/OWNER/REPO``."""

    name: str
    default_branch: str = "main"
    commits: list[dict] = field(default_factory=list)
    refs: list[dict] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)
    network: list[dict] = field(default_factory=list)
    pull_only: list[dict] = field(default_factory=list)
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)
    releases: list[dict] | None = None

    def commit(self, label: str, *parents: str, date: str = "2024-01-01T00:00:00Z") -> str:
        """Add a commit (newest should be added last; written newest first)."""
        sha = fake_sha(f"{self.name}:{label}")
        self.commits.append({"sha": sha, "parents": list(parents), "date": date})
        return sha

    def network_commit(self, label: str, *parents: str, date: str = "2024-06-01T00:00:00Z") -> str:
        sha = fake_sha(f"{self.name}:net:{label}")
        self.network.append({"sha": sha, "parents": list(parents), "date": date})
        return sha

    def pull_only_commit(self, label: str, date: str = "2024-06-01T00:00:00Z") -> str:
        sha = fake_sha(f"{self.name}:pull:{label}")
        self.pull_only.append({"sha": sha, "date": date, "ref": "refs/pull/1/head"})
        return sha

    def branch(self, name: str, commit: str) -> None:
        self.refs.append(
            {"ref": f"refs/heads/{name}", "object": commit, "type": "commit", "peeled": commit}
        )

    def light_tag(self, name: str, commit: str) -> None:
        self.refs.append(
            {"ref": f"refs/tags/{name}", "object": commit, "type": "commit", "peeled": commit}
        )

    def tag_object(self, name: str, target: str, date: str | None = "2024-02-01T00:00:00Z") -> str:
        """An annotated tag object (not a ref); returns its SHA."""
        sha = fake_sha(f"{self.name}:tagobj:{name}:{target}")
        self.tags.append({"sha": sha, "tag": name, "object": target, "tagger_date": date})
        return sha

    def annotated_tag(
        self, name: str, commit: str, date: str | None = "2024-02-01T00:00:00Z"
    ) -> str:
        obj = self.tag_object(name, commit, date)
        self.refs.append(
            {"ref": f"refs/tags/{name}", "object": obj, "type": "tag", "peeled": commit}
        )
        return obj

    def ref(self, name: str, obj: str, peeled: str, type_: str = "tag") -> None:
        self.refs.append({"ref": name, "object": obj, "type": type_, "peeled": peeled})

    def file(self, commit: str, path: str, body: bytes | str) -> None:
        self.files[(commit, path)] = body.encode() if isinstance(body, str) else body

    def write(self, root: Path) -> Path:
        base = root / self.name
        base.mkdir(parents=True, exist_ok=True)
        meta = {
            "repo": self.name,
            "default_branch": self.default_branch,
            "snapshot_commit": self.commits[-1]["sha"] if self.commits else None,
            "truncated": False,
            "n_commits": len(self.commits),
            "refs": sorted(self.refs, key=lambda r: r["ref"]),
        }
        (base / "refs.json").write_text(json.dumps(meta, indent=1))
        (base / "tags.jsonl").write_text("".join(json.dumps(t) + "\n" for t in self.tags))
        (base / "commits.jsonl").write_text(
            "".join(json.dumps(c) + "\n" for c in reversed(self.commits))
        )
        if self.network:
            (base / "network.json").write_text(json.dumps({"commits": self.network}))
        if self.pull_only:
            (base / "pull_only_commits.jsonl").write_text(
                "".join(json.dumps(c) + "\n" for c in self.pull_only)
            )
        if self.releases is not None:
            (base / "releases.json").write_text(json.dumps(self.releases))
        for (commit, path), body in self.files.items():
            target = base / "files" / commit / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        return base


def example_repo() -> RepoBuilder:
    """A small repository exercising every ref kind the resolver must handle.

    History::

        c1 -- c2 -- c3 -- c5 (main)
                \\
                 c4 (release/v1)
    """
    b = RepoBuilder("Octo-Org/Hello-Action")
    c1 = b.commit("c1", date="2024-01-01T00:00:00Z")
    c2 = b.commit("c2", c1, date="2024-01-02T00:00:00Z")
    c3 = b.commit("c3", c2, date="2024-01-03T00:00:00Z")
    c4 = b.commit("c4", c2, date="2024-01-04T00:00:00Z")
    c5 = b.commit("c5", c3, date="2024-01-05T00:00:00Z")
    b.branch("main", c5)
    b.branch("release/v1", c4)
    b.branch("v1", c4)  # same name as a tag: ref confusion
    b.light_tag("v1.0.0-light", c1)
    b.annotated_tag("v1.0.0", c1, "2024-01-10T00:00:00Z")
    inner = b.annotated_tag("v1.1.0", c3, "2024-01-11T00:00:00Z")
    nested = b.tag_object("v1-nested", inner, "2024-01-12T00:00:00Z")
    b.ref("refs/tags/v1-nested", nested, c3)
    b.annotated_tag("v1", c3, "2024-01-11T00:00:00Z")
    b.light_tag("v2.0.0-rc.1", c5)
    b.light_tag("sub/v1.2.3", c5)
    b.file(c3, "action.yml", "name: hello\nruns:\n  using: node20\n  main: index.js\n")
    b.file(c5, "action.yml", "name: hello\nruns:\n  using: composite\n  steps: []\n")
    b.file(c5, "sub/action.yaml", "name: sub\n# download: __FORGE_URL__/dl/tool.tar.gz\n")
    return b
