"""Write snapshot directories (the format of ``../shared/corpus/forge``), for fixtures and tests.

One place owns the snapshot format pinner's tests are written against: ``refs.json``,
``tags.jsonl``, ``commits.jsonl``, ``files/COMMIT/PATH`` and pinner's extensions
``network.json``, ``releases.json`` and ``pull_only_commits.jsonl`` (see ``fixtures/README.md``).
The committed fixture generators (``fixtures/build_fixtures.py``, ``tests/test_audit_fixtures.py``,
``tests/test_update_fixtures.py``) and the small per-test snapshots all go through
:func:`snapshot_files`, so a change of format is made once and the readers under test
(:mod:`pinner.forge.snapshot`) always parse real files, not objects handed to them.

Two ways to describe a repository:

- :class:`SnapshotRepo`: commits named by *label*, refs pointing at labels, annotated tags and
  tags of tags; a subclass supplies its SHA seeds (:meth:`SnapshotRepo.new_commit_sha`,
  :meth:`SnapshotRepo.new_tag_sha`) so each generator keeps the SHAs its expectations name.
- :class:`RepoBuilder`: SHA-level rows for tests that need to write what no consistent
  repository has (refs at unknown objects, hand-set commit rows, pull-request-only commits).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

# ------------------------------------------------------------------------------------ rendering


def jsonl(rows: Iterable[Mapping[str, object]]) -> bytes:
    """One JSON object per line, each line ending in a newline (``tags.jsonl``, ...)."""
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def snapshot_files(
    *,
    slug: str,
    default_branch: str,
    snapshot_commit: str | None,
    refs: Iterable[Mapping[str, str]],
    tags: Iterable[Mapping[str, object]],
    commits: Sequence[Mapping[str, object]],
    network: Sequence[Mapping[str, object]] = (),
    pull_only: Sequence[Mapping[str, object]] = (),
    releases: list[dict] | None = None,
    files: Iterable[tuple[str, str, bytes]] = (),
) -> dict[str, bytes]:
    """Every file of one repository's snapshot directory, by path relative to it.

    ``refs`` rows are ``{"ref", "object", "type", "peeled"}`` (written sorted by name);
    ``tags``, ``commits`` (newest first), ``network`` and ``pull_only`` rows are written in the
    order given; ``files`` are ``(commit, path, bytes)``.  ``refs.json`` has one ref per line so
    a fixture diff shows which ref changed.
    """
    ref_rows = sorted(refs, key=lambda r: r["ref"])
    names = [r["ref"] for r in ref_rows]
    heads = {n.removeprefix("refs/heads/") for n in names if n.startswith("refs/heads/")}
    tag_names = {n.removeprefix("refs/tags/") for n in names if n.startswith("refs/tags/")}
    meta: dict[str, object] = {
        "repo": slug,
        "default_branch": default_branch,
        "snapshot_commit": snapshot_commit,
    }
    if heads & tag_names:
        meta["ambiguous_branch_and_tag"] = sorted(heads & tag_names)
    meta |= {"truncated": False, "n_commits": len(commits), "n_commits_all_refs": len(commits)}
    lines = ["{", *(f" {json.dumps(k)}: {json.dumps(v)}," for k, v in meta.items())]
    lines.append(' "refs": [')
    for i, row in enumerate(ref_rows):
        item = {k: row[k] for k in ("ref", "object", "type", "peeled")}
        lines.append(f"  {json.dumps(item)}{',' if i < len(ref_rows) - 1 else ''}")
    lines += [" ]", "}", ""]
    out = {
        "refs.json": "\n".join(lines).encode(),
        "tags.jsonl": jsonl(tags),
        "commits.jsonl": jsonl(commits),
    }
    if network:
        rows = ",\n ".join(json.dumps(c) for c in network)
        out["network.json"] = ('{"commits": [\n ' + rows + "\n]}\n").encode()
    if pull_only:
        out["pull_only_commits.jsonl"] = jsonl(pull_only)
    if releases is not None:
        out["releases.json"] = (json.dumps(releases, indent=1) + "\n").encode()
    for commit, path, data in files:
        out[f"files/{commit}/{path}"] = data
    return out


def write_files(base: Path, files: Mapping[str, bytes]) -> Path:
    """Write ``files`` (relative path -> bytes) below ``base``; returns ``base``."""
    for rel, data in files.items():
        target = base / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return base


# ------------------------------------------------------------------------- label-based model


@dataclass
class Commit:
    """A commit as the snapshot format records it, plus the files stored at it."""

    label: str  # the describing script's name for it, e.g. "v1.2.3-release"
    sha: str
    parents: tuple[str, ...]
    date: str  # committer date, ISO-8601 UTC
    files: dict[str, bytes] = field(default_factory=dict)

    def row(self) -> dict[str, object]:
        return {"sha": self.sha, "parents": list(self.parents), "date": self.date}


@dataclass
class TagObject:
    """An annotated tag object; ``object`` may be another tag object (a tag of a tag)."""

    sha: str
    tag: str
    object: str
    tagger_date: str

    def row(self) -> dict[str, str]:
        return {
            "sha": self.sha,
            "tag": self.tag,
            "object": self.object,
            "tagger_date": self.tagger_date,
        }

    def __getitem__(self, key: str) -> str:
        """Reads like its ``tags.jsonl`` row (``tag["sha"]``)."""
        return self.row()[key]


@dataclass
class Ref:
    """A ``refs.json`` entry; ``ref["peeled"]`` reads it like the JSON row."""

    name: str  # refs/heads/X or refs/tags/X
    object: str
    type: str  # "commit" or "tag"
    peeled: str

    def row(self) -> dict[str, str]:
        return {"ref": self.name, "object": self.object, "type": self.type, "peeled": self.peeled}

    def __getitem__(self, key: str) -> str:
        return self.row()[key]


@dataclass
class SnapshotRepo:
    """One repository described by commit labels; :meth:`render` turns it into snapshot files.

    Subclasses name their ``owner`` (the slug is ``OWNER/NAME``) and their ``seed``: object ids
    are sha1 of the seed, the slug and what the object is, so the SHAs a generator's documents
    name never change. Building and rendering are shared.
    """

    owner: ClassVar[str] = ""
    seed: ClassVar[str] = ""

    name: str
    default_branch: str = "main"
    commits: dict[str, Commit] = field(default_factory=dict, init=False)  # by label
    network: dict[str, Commit] = field(default_factory=dict, init=False)  # fork-only, by label
    tag_objects: dict[str, TagObject] = field(default_factory=dict, init=False)  # by sha
    refs: dict[str, Ref] = field(default_factory=dict, init=False)  # by full ref name
    releases: list[dict] | None = field(default=None, init=False)

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}" if self.owner else self.name

    # -- SHA seeds

    def seeded_sha(self, *parts: str) -> str:
        if not self.seed:
            raise NotImplementedError(f"{type(self).__name__} sets no SHA seed")
        return hashlib.sha1("\0".join((self.seed, *parts)).encode()).hexdigest()

    def new_commit_sha(self, label: str) -> str:
        return self.seeded_sha(self.slug, "commit", label)

    def new_tag_sha(self, name: str, target: str) -> str:
        return self.seeded_sha(self.slug, "tag", name, target)

    # -- building

    def commit(
        self,
        label: str,
        date: str,
        parents: Iterable[str] = (),
        files: Mapping[str, str | bytes] | None = None,
        *,
        network: bool = False,
    ) -> str:
        """Add a commit whose parents are given by label; ``network``: fork-network only."""
        if label in self.commits or label in self.network:
            raise ValueError(f"{self.slug}: duplicate commit label {label}")
        sha = self.new_commit_sha(label)
        pool = self.network if network else self.commits
        pool[label] = Commit(label, sha, tuple(self.commit_sha(p) for p in parents), date)
        for path, data in (files or {}).items():
            self.file(label, path, data)
        return sha

    def file(self, label: str, path: str, data: str | bytes) -> None:
        """Store a file at the commit with this label."""
        commit = self.commits.get(label) or self.network[label]
        commit.files[path] = data.encode() if isinstance(data, str) else data

    def commit_sha(self, label: str) -> str:
        """The SHA of the commit with this label (reachable or fork-network)."""
        if label in self.commits:
            return self.commits[label].sha
        return self.network[label].sha

    @property
    def labels(self) -> dict[str, str]:
        """Every commit label (fork-network ones included) -> its SHA."""
        return {c.label: c.sha for c in [*self.commits.values(), *self.network.values()]}

    def branch(self, name: str, label: str) -> None:
        sha = self.commit_sha(label)
        self.add_ref(Ref(f"refs/heads/{name}", sha, "commit", sha))

    def lightweight_tag(self, name: str, label: str) -> None:
        sha = self.commit_sha(label)
        self.add_ref(Ref(f"refs/tags/{name}", sha, "commit", sha))

    def annotated_tag(self, name: str, label: str, date: str) -> str:
        """An annotated tag object pointing at a commit, and ``refs/tags/NAME`` pointing at it."""
        target = self.commit_sha(label)
        tag_sha = self.tag_object(name, target, date)
        self.add_ref(Ref(f"refs/tags/{name}", tag_sha, "tag", target))
        return tag_sha

    def tag_of_tag(self, name: str, inner_tag: str, date: str) -> str:
        """``git tag -a NAME INNER``: a tag object whose target is INNER's tag object."""
        inner = self.refs[f"refs/tags/{inner_tag}"]
        if inner.type != "tag":
            raise ValueError(f"{inner_tag} is not an annotated tag")
        tag_sha = self.tag_object(name, inner.object, date)
        self.add_ref(Ref(f"refs/tags/{name}", tag_sha, "tag", inner.peeled))
        return tag_sha

    def tag_object(self, name: str, target: str, date: str) -> str:
        """A tag object (no ref) whose target is the object ``target``; returns its SHA."""
        sha = self.new_tag_sha(name, target)
        self.tag_objects[sha] = TagObject(sha, name, target, date)
        return sha

    def add_ref(self, ref: Ref) -> None:
        if ref.name in self.refs:
            raise ValueError(f"{self.slug}: duplicate ref {ref.name}")
        self.refs[ref.name] = ref

    # -- rendering

    @property
    def tags(self) -> list[TagObject]:
        """Tag objects in ``tags.jsonl`` order (by name, then SHA)."""
        return sorted(self.tag_objects.values(), key=lambda t: (t.tag, t.sha))

    def ordered_commits(self) -> list[Commit]:
        """Newest first like ``git rev-list --all`` with date order (ties broken by SHA)."""
        return sorted(self.commits.values(), key=lambda c: (c.date, c.sha), reverse=True)

    def render(self) -> dict[str, bytes]:
        """Every file of this repository's snapshot directory, by path relative to it."""
        net = sorted(self.network.values(), key=lambda c: (c.date, c.sha), reverse=True)
        every = [*self.commits.values(), *self.network.values()]
        return snapshot_files(
            slug=self.slug,
            default_branch=self.default_branch,
            snapshot_commit=self.refs[f"refs/heads/{self.default_branch}"].peeled,
            refs=(r.row() for r in self.refs.values()),
            tags=(t.row() for t in self.tags),
            commits=[c.row() for c in self.ordered_commits()],
            network=[c.row() for c in net],
            releases=self.releases,
            files=((c.sha, path, data) for c in every for path, data in c.files.items()),
        )

    def write(self, root: Path) -> Path:
        """Write the snapshot under ``root/OWNER/REPO``; returns that directory."""
        return write_files(root / self.slug, self.render())


# ---------------------------------------------------------------------------- SHA-level rows


def fake_sha(label: str) -> str:
    """A stable 40-hex SHA derived from a readable label."""
    return hashlib.sha1(label.encode()).hexdigest()


@dataclass
class RepoBuilder:
    """One repository as raw snapshot rows (SHAs, not labels), written under ``root/OWNER/REPO``.

    Rows are kept as written (``commits`` oldest first, refs in any order), so a test can also
    set them by hand or point a ref at an object that does not exist.
    """

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
        self.ref(f"refs/heads/{name}", commit, commit, "commit")

    def light_tag(self, name: str, commit: str) -> None:
        self.ref(f"refs/tags/{name}", commit, commit, "commit")

    def tag_object(self, name: str, target: str, date: str | None = "2024-02-01T00:00:00Z") -> str:
        """An annotated tag object (not a ref); returns its SHA."""
        sha = fake_sha(f"{self.name}:tagobj:{name}:{target}")
        self.tags.append({"sha": sha, "tag": name, "object": target, "tagger_date": date})
        return sha

    def annotated_tag(
        self, name: str, commit: str, date: str | None = "2024-02-01T00:00:00Z"
    ) -> str:
        obj = self.tag_object(name, commit, date)
        self.ref(f"refs/tags/{name}", obj, commit)
        return obj

    def ref(self, name: str, obj: str, peeled: str, type_: str = "tag") -> None:
        """Any ref row, as given (duplicates and unknown objects included)."""
        self.refs.append(Ref(name, obj, type_, peeled).row())

    def file(self, commit: str, path: str, body: bytes | str) -> None:
        self.files[(commit, path)] = body.encode() if isinstance(body, str) else body

    def write(self, root: Path) -> Path:
        """Write the rows as they are (no consistency checks) under ``root/OWNER/REPO``."""
        files = snapshot_files(
            slug=self.name,
            default_branch=self.default_branch,
            snapshot_commit=self.commits[-1]["sha"] if self.commits else None,
            refs=self.refs,
            tags=self.tags,
            commits=list(reversed(self.commits)),
            network=self.network,
            pull_only=self.pull_only,
            releases=self.releases,
            files=((commit, path, body) for (commit, path), body in self.files.items()),
        )
        return write_files(root / self.name, files)


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
