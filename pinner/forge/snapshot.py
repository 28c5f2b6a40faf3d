"""Offline forge over snapshot directories (the format of ``../shared/corpus/forge/``).

This module is the single reader of the snapshot format. pinner's ``--snapshot`` mode uses
:class:`SnapshotForge`; the test emulator (``tests/forge``) serves :class:`SnapshotData` over
HTTP. Keeping one reader means the emulator and the offline mode can never disagree about what
the data says.

Layout of one snapshot directory ``DIR``::

    DIR/OWNER/REPO/refs.json              branches and tags (peeled), default branch
    DIR/OWNER/REPO/tags.jsonl             annotated tag objects
    DIR/OWNER/REPO/commits.jsonl          commits reachable from refs: sha, parents, date
    DIR/OWNER/REPO/pull_only_commits.jsonl  optional: commits only in refs/pull/*/head
    DIR/OWNER/REPO/network.json           optional: {"commits": [...]} fork-network commits
    DIR/OWNER/REPO/releases.json          optional: list of GitHub release objects
    DIR/OWNER/REPO/meta.json              optional: ids, ``archived``, a renamed ``full_name``
    DIR/OWNER/REPO/files/COMMIT/PATH      file contents at a commit
    DIR/_downloads/PATH                   download payloads (served by the emulator at /dl/PATH)
    DIR/advisories.json                   optional: global security advisories (a JSON list)

Several directories merge: repositories are taken from all of them and a later directory
overlays an earlier one (same repository, same download path or same advisory id: the later
one wins).

``advisories.json`` holds objects in the shape of GitHub's ``GET /advisories`` answer
(``global-advisory``), of which only ``ghsa_id``, ``summary``, ``severity`` and
``vulnerabilities`` (``package``, ``vulnerable_version_range``, ``first_patched_version``)
are needed; every other field has a default (:data:`ADVISORY_DEFAULTS`), so a hand-written
snapshot stays short and the emulator still answers complete objects.

Fork-network semantics. GitHub serves any commit of the fork network under the parent's name.
``network.json`` commits (with parents) and ``pull_only_commits.jsonl`` commits (without) are
therefore found by SHA (commit lookup, files, compare) but appear in no ref listing. A pull-only
commit has no recorded history, so the graph treats it as branching off the repository's root
commit (the oldest parentless commit): compared with anything on a branch it is ``diverged``,
one commit ahead, with that root as merge base, which is what GitHub answers for a fork commit
whose history is unknown to us in the cheapest consistent way. Its reported ``parents`` stay
empty: the virtual edge is only used for graph questions.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pinner.errors import InputError, NotFoundError
from pinner.models import (
    SHA_RE,
    Advisory,
    AffectedPackage,
    Commit,
    Comparison,
    GitRef,
    RefListing,
    Release,
    ReleaseAsset,
    RepoInfo,
    TagObject,
    cvss_base_score,
)

FORGE_URL_PLACEHOLDER = "__FORGE_URL__"
"""Literal replaced by the serving forge's base URL in file bodies and releases.json."""

_SHORT_SHA_RE = re.compile(r"^[0-9a-f]{4,39}$")
# A version tag a release is synthesised for: optional monorepo path prefix, optional "v",
# MAJOR.MINOR[.PATCH], then an optional pre-release (semver "-rc.1" or PEP 440 "rc1") and
# build metadata. Floating majors ("v4") are not releases on GitHub either.
_RELEASE_TAG_RE = re.compile(
    r"^(?:(?P<prefix>.+)/)?v?\d+\.\d+(?:\.\d+)?"
    r"(?P<pre>-[0-9A-Za-z.-]+|(?:a|b|rc|alpha|beta|pre|preview|dev)\.?\d*)?"
    r"(?:\+[0-9A-Za-z.-]+)?$"
)


def stable_id(*parts: str) -> int:
    """A positive 31-bit number derived from ``parts``: the id a snapshot without ``meta.json``
    gives a repository, owner, release or asset (the same on every run and in every reader)."""
    import hashlib

    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


ADVISORY_DEFAULTS: dict[str, Any] = {
    "cve_id": None,
    "description": None,
    "type": "reviewed",
    "severity": "unknown",
    "source_code_location": None,
    "references": [],
    "published_at": "2025-01-01T00:00:00Z",
    "github_reviewed_at": None,
    "nvd_published_at": None,
    "withdrawn_at": None,
    "vulnerabilities": [],
    "cvss": None,
    "cwes": [],
    "credits": [],
}
"""What an ``advisories.json`` entry that leaves a field out means."""


def parse_date(value: str | None) -> datetime | None:
    """ISO-8601 (``...Z`` or with offset) to an aware UTC datetime; None stays None."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_date(value: datetime | None) -> str | None:
    """The ``YYYY-MM-DDTHH:MM:SSZ`` form GitHub uses in JSON."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class RefEntry:
    """One line of refs.json: the ref plus the type of the object it points at."""

    ref: GitRef
    object_type: str  # "commit" or "tag"


@dataclass(frozen=True, slots=True)
class CommitRecord:
    """A commit the snapshot knows, and where it comes from."""

    sha: str
    parents: tuple[str, ...]
    date: datetime | None
    origin: str  # "refs" (reachable from a branch/tag), "network", "pull"

    def to_commit(self) -> Commit:
        return Commit(sha=self.sha, date=self.date, parents=self.parents)

    @property
    def reachable(self) -> bool:
        """True when some branch or tag of the repository contains the commit."""
        return self.origin == "refs"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


class _Graph:
    """The commit graph of one repository, as integer indices for fast traversal.

    ``codeql-action`` has 11k commits; one full ancestor walk is a few milliseconds. Generation
    numbers (longest path from a root) pick the best merge base among common ancestors and
    prune ancestry checks. A small LRU keeps the ancestor sets of recent query commits, since
    impostor checks compare many SHAs against the same few refs.
    """

    def __init__(self, records: Iterable[CommitRecord], virtual_parents: dict[str, str]):
        self.index: dict[str, int] = {}
        self.shas: list[str] = []
        recs = list(records)
        for rec in recs:
            if rec.sha not in self.index:
                self.index[rec.sha] = len(self.shas)
                self.shas.append(rec.sha)
        self.parents: list[tuple[int, ...]] = [()] * len(self.shas)
        for rec in recs:
            parents = rec.parents or (
                (virtual_parents[rec.sha],) if rec.sha in virtual_parents else ()
            )
            self.parents[self.index[rec.sha]] = tuple(
                self.index[p] for p in parents if p in self.index
            )
        self.generation = self._generations()
        self._cache: OrderedDict[int, frozenset[int]] = OrderedDict()
        self._lock = threading.Lock()

    def _generations(self) -> list[int]:
        gen = [0] * len(self.shas)
        done = [False] * len(self.shas)
        for start in range(len(self.shas)):
            if done[start]:
                continue
            stack = [(start, False)]
            while stack:
                node, expanded = stack.pop()
                if done[node]:
                    continue
                if expanded:
                    gen[node] = 1 + max((gen[p] for p in self.parents[node]), default=0)
                    done[node] = True
                    continue
                stack.append((node, True))
                stack.extend((p, False) for p in self.parents[node] if not done[p])
        return gen

    def ancestors(self, node: int) -> frozenset[int]:
        """``node`` and everything reachable through parents."""
        with self._lock:
            cached = self._cache.get(node)
            if cached is not None:
                self._cache.move_to_end(node)
                return cached
        seen = {node}
        stack = [node]
        while stack:
            for parent in self.parents[stack.pop()]:
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        result = frozenset(seen)
        with self._lock:
            self._cache[node] = result
            while len(self._cache) > 64:
                self._cache.popitem(last=False)
        return result

    def compare(self, base: int, head: int) -> tuple[str, int, int, int] | None:
        """(status, ahead_by, behind_by, merge_base) or None without common history."""
        if base == head:
            return "identical", 0, 0, base
        anc_base = self.ancestors(base)
        anc_head = self.ancestors(head)
        common = anc_base & anc_head
        if not common:
            return None
        ahead = len(anc_head - anc_base)
        behind = len(anc_base - anc_head)
        if base in anc_head:
            return "ahead", ahead, 0, base
        if head in anc_base:
            return "behind", 0, behind, head
        merge_base = max(common, key=lambda n: (self.generation[n], -n))
        return "diverged", ahead, behind, merge_base


class RepoSnapshot:
    """Everything the snapshot knows about one repository, loaded on first use."""

    def __init__(self, name: str, dirs: tuple[Path, ...]):
        self.name = name  # directory spelling: "Azure/login"
        self.dirs = dirs  # earlier first; later dirs overlay earlier ones
        self._lock = threading.RLock()
        self._loaded = False
        self._graph: _Graph | None = None
        self._meta: dict[str, Any] | None = None

    # ------------------------------------------------------------------ loading

    def _top(self, filename: str) -> Path | None:
        for d in reversed(self.dirs):
            candidate = d / filename
            if candidate.exists():
                return candidate
        return None

    def _load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            refs_path = self._top("refs.json")
            if refs_path is None:
                raise NotFoundError(f"snapshot of {self.name} has no refs.json")
            try:
                meta = json.loads(refs_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"unreadable snapshot file: {exc}", path=str(refs_path)) from exc
            self._default_branch: str = meta.get("default_branch") or "main"
            self._snapshot_commit: str | None = meta.get("snapshot_commit")
            entries = []
            for r in meta.get("refs", []):
                peeled = r.get("peeled") or r["object"]
                entries.append(
                    RefEntry(GitRef(r["ref"], r["object"], peeled), r.get("type", "commit"))
                )
            entries.sort(key=lambda e: e.ref.name)
            self.ref_entries: tuple[RefEntry, ...] = tuple(entries)
            self._ref_index = {e.ref.name: e for e in entries}

            self._tag_objects: dict[str, TagObject] = {}
            raw_tags = []
            for d in self.dirs:
                raw_tags.extend(_read_jsonl(d / "tags.jsonl"))
            tag_shas = {t["sha"] for t in raw_tags}
            for t in raw_tags:
                self._tag_objects[t["sha"]] = TagObject(
                    sha=t["sha"],
                    tag=t["tag"],
                    object_sha=t["object"],
                    object_type="tag" if t["object"] in tag_shas else "commit",
                    tagger_date=parse_date(t.get("tagger_date")),
                )

            records: dict[str, CommitRecord] = {}
            for d in self.dirs:
                for c in _read_jsonl(d / "commits.jsonl"):
                    records[c["sha"]] = CommitRecord(
                        c["sha"], tuple(c.get("parents", ())), parse_date(c.get("date")), "refs"
                    )
            self._order = list(records)  # newest first (rev-list order) for the graph root
            virtual: dict[str, str] = {}
            root = self._root_commit(records)
            for d in self.dirs:
                network = d / "network.json"
                if network.is_file():
                    data = json.loads(network.read_text(encoding="utf-8"))
                    for c in data.get("commits", []):
                        records.setdefault(
                            c["sha"],
                            CommitRecord(
                                c["sha"],
                                tuple(c.get("parents", ())),
                                parse_date(c.get("date")),
                                "network",
                            ),
                        )
                for c in _read_jsonl(d / "pull_only_commits.jsonl"):
                    if c["sha"] not in records:
                        records[c["sha"]] = CommitRecord(
                            c["sha"], (), parse_date(c.get("date")), "pull"
                        )
                        if root is not None:
                            virtual[c["sha"]] = root
            self.commits: dict[str, CommitRecord] = records
            self._virtual_parents = virtual
            self._loaded = True

    @property
    def tag_objects(self) -> dict[str, TagObject]:
        """Every annotated tag object (nested ones included), by SHA."""
        self._load()
        return self._tag_objects

    @property
    def default_branch(self) -> str:
        """Short name of the default branch (refs.json ``default_branch``)."""
        self._load()
        return self._default_branch

    @property
    def snapshot_commit(self) -> str | None:
        self._load()
        return self._snapshot_commit

    @property
    def meta(self) -> dict[str, Any]:
        """The repository's own facts from an optional ``meta.json`` beside ``refs.json``.

        Keys a snapshot may give: ``repo_id`` and ``owner_id`` (the numbers GitHub's
        ``GET /repos/{o}/{r}`` answers as ``id`` and ``owner.id``; a repository deleted and
        re-created under the same name has a new ``repo_id``), ``archived`` (bool) and
        ``full_name`` (the current spelling, when the repository was renamed). Absent keys
        mean "derive it": the emulator then answers stable numbers from the name. Read once,
        like the rest of the snapshot: every listing and repository answer consults it.
        """
        if self._meta is None:
            with self._lock:
                if self._meta is None:
                    self._meta = self._read_meta()
        return self._meta

    def _read_meta(self) -> dict[str, Any]:
        path = self._top("meta.json")
        if path is None:
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"unreadable snapshot file: {exc}", path=str(path)) from exc
        return data if isinstance(data, dict) else {}

    @property
    def archived(self) -> bool:
        """Whether the repository is archived (``meta.json`` ``archived``; else it is not)."""
        return bool(self.meta.get("archived", False))

    @property
    def full_name(self) -> str:
        """The repository's current ``owner/name``: ``meta.json`` ``full_name`` after a rename
        (the snapshot directory keeps the old one, which still answers), else the directory's."""
        name = self.meta.get("full_name")
        return name if isinstance(name, str) and name.count("/") == 1 else self.name

    @property
    def repo_id(self) -> int:
        """GitHub's ``id`` of the repository: ``meta.json`` ``repo_id``, else derived from the
        current name (stable across runs; a test re-creates a repository by giving a new one)."""
        given = self.meta.get("repo_id")
        return int(given) if given else stable_id("repo", self.full_name.lower())

    @property
    def owner_id(self) -> int:
        """GitHub's ``owner.id``: ``meta.json`` ``owner_id``, else derived from the owner's
        login (the same number for every repository of one owner, as on GitHub)."""
        given = self.meta.get("owner_id")
        owner = self.full_name.split("/", 1)[0]
        return int(given) if given else stable_id("user", owner.lower())

    @staticmethod
    def _root_commit(records: dict[str, CommitRecord]) -> str | None:
        roots = [r for r in records.values() if not r.parents]
        if not roots:
            return None
        far_past = datetime.min.replace(tzinfo=UTC)
        return min(roots, key=lambda r: (r.date or far_past, r.sha)).sha

    @property
    def graph(self) -> _Graph:
        self._load()
        if self._graph is None:
            with self._lock:
                if self._graph is None:
                    self._graph = _Graph(self.commits.values(), self._virtual_parents)
        return self._graph

    # ------------------------------------------------------------------ refs

    def refs(self) -> tuple[GitRef, ...]:
        """Every ref of refs.json, sorted by name (what ``git ls-remote`` lists)."""
        self._load()
        return tuple(e.ref for e in self.ref_entries)

    def ref(self, name: str) -> RefEntry | None:
        """The ref with this full name (``refs/heads/main``), or None."""
        self._load()
        return self._ref_index.get(name)

    def ref_listing(self) -> RefListing:
        """Branches and tags only, as the Forge protocol promises."""
        heads_and_tags = tuple(
            r for r in self.refs() if r.name.startswith(("refs/heads/", "refs/tags/"))
        )
        return RefListing(self.name, heads_and_tags, self.default_branch, archived=self.archived)

    def tags(self) -> list[GitRef]:
        return [r for r in self.refs() if r.is_tag]

    def branches(self) -> list[GitRef]:
        return [r for r in self.refs() if r.is_branch]

    # ------------------------------------------------------------------ commits

    def commit(self, sha: str) -> CommitRecord | None:
        """The commit with this full SHA, or None (tag objects are not commits)."""
        self._load()
        rec = self.commits.get(sha)
        if rec is not None:
            return rec
        # A ref may point at a commit the hand-made data forgot to list: still a commit.
        for entry in self.ref_entries:
            if entry.ref.commit == sha:
                return CommitRecord(sha, (), None, "refs")
        return None

    def resolve(self, ref: str) -> str | None:
        """The commit SHA ``ref`` names, the way GitHub's ``commits/{ref}`` resolves it.

        Full commit SHA, then tag (peeled; tags win over same-named branches), then branch,
        then a qualified ``refs/...``/``heads/...``/``tags/...`` name, then a unique short SHA.
        The SHA of an annotated tag object is not a commit: GitHub answers 422 "No commit
        found for SHA" for it, so it resolves to None here (see :meth:`peel`).
        """
        self._load()
        if SHA_RE.match(ref):
            return ref if self.commit(ref) is not None else None
        for full in (f"refs/tags/{ref}", f"refs/heads/{ref}", ref, f"refs/{ref}"):
            entry = self._ref_index.get(full)
            if entry is not None:
                return entry.ref.commit
        if _SHORT_SHA_RE.match(ref):
            matches = [sha for sha in self.commits if sha.startswith(ref)]
            if len(matches) == 1:
                return matches[0]
        return None

    def peel(self, sha: str) -> str | None:
        """The commit an annotated tag object (possibly a tag of a tag) points at, or None."""
        self._load()
        seen: set[str] = set()
        while sha in self.tag_objects and sha not in seen:
            seen.add(sha)
            sha = self.tag_objects[sha].object_sha
        return sha if seen and self.commit(sha) is not None else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when ``ancestor`` is in the history of ``descendant`` (inclusive)."""
        graph = self.graph
        a, d = graph.index.get(ancestor), graph.index.get(descendant)
        if a is None or d is None:
            return False
        if graph.generation[a] > graph.generation[d]:
            return False
        return a in graph.ancestors(d)

    def compare(self, base: str, head: str) -> tuple[Comparison, list[str]] | None:
        """Compare two commit SHAs; None without common history.

        Returns the comparison and the SHAs of the commits in head but not in base, oldest
        first (what GitHub lists under ``commits``).
        """
        graph = self.graph
        b, h = graph.index.get(base), graph.index.get(head)
        if b is None or h is None:
            return None
        result = graph.compare(b, h)
        if result is None:
            return None
        status, ahead, behind, merge_base = result
        ahead_nodes = sorted(
            graph.ancestors(h) - graph.ancestors(b), key=lambda n: (graph.generation[n], -n)
        )
        comparison = Comparison(status, ahead, behind, graph.shas[merge_base])
        return comparison, [graph.shas[n] for n in ahead_nodes]

    # ------------------------------------------------------------------ files

    def file(self, commit: str, path: str) -> bytes | None:
        """The bytes of ``path`` at ``commit``, or None when the snapshot does not have it."""
        rel = _safe_relpath(path)
        if rel is None or not SHA_RE.match(commit):
            return None
        for d in reversed(self.dirs):
            candidate = d / "files" / commit / rel
            if candidate.is_file():
                return candidate.read_bytes()
        return None

    def listdir(self, commit: str, path: str) -> list[tuple[str, str]] | None:
        """Entries ``(name, "file"|"dir")`` of a directory at ``commit``, or None."""
        rel = _safe_relpath(path) if path.strip("/") else ""
        if rel is None or not SHA_RE.match(commit):
            return None
        found: dict[str, str] = {}
        exists = False
        for d in self.dirs:
            base = d / "files" / commit / rel if rel else d / "files" / commit
            if base.is_dir():
                exists = True
                for child in base.iterdir():
                    found[child.name] = "dir" if child.is_dir() else "file"
        return sorted(found.items()) if exists else None

    # ------------------------------------------------------------------ releases

    def releases(self) -> list[dict[str, Any]]:
        """Release objects, newest first: releases.json as is, else synthesised from tags.

        Synthesised releases exist for version tags (``v1.2.3``, ``1.2``, ``path/v1.2.3``,
        pre-releases): name = tag, published_at = tagger date, else the commit's date,
        prerelease when the version has a pre-release part. Placeholders like
        ``__FORGE_URL__`` are left for the caller to substitute.
        """
        path = self._top("releases.json")
        if path is not None:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, list):
                raise InputError("releases.json must be a JSON list", path=str(path))
            return data
        self._load()
        out = []
        for ref in self.tags():
            tag = ref.short
            m = _RELEASE_TAG_RE.match(tag)
            if not m:
                continue
            date: datetime | None = None
            if ref.annotated and ref.object in self.tag_objects:
                date = self.tag_objects[ref.object].tagger_date
            if date is None:
                rec = self.commit(ref.commit)
                date = rec.date if rec else None
            out.append(
                {
                    "tag_name": tag,
                    "name": tag,
                    "target_commitish": self.default_branch,
                    "draft": False,
                    "prerelease": bool(m.group("pre")),
                    "created_at": format_date(date),
                    "published_at": format_date(date),
                    "body": None,
                    "assets": [],
                }
            )
        far_past = "0000"
        out.sort(key=lambda r: (r["published_at"] or far_past, r["tag_name"]), reverse=True)
        return out


def _safe_relpath(path: str) -> str | None:
    """``path`` as a relative path inside a tree, or None when it tries to escape."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


class SnapshotData:
    """One or more snapshot directories merged, with case-insensitive repository lookup.

    Only directory names are read up front; each repository loads on first use, so opening the
    whole corpus (180 repositories) costs a directory scan.
    """

    def __init__(self, *dirs: Path | str):
        if not dirs:
            raise InputError("no snapshot directory given")
        self.dirs = tuple(Path(d) for d in dirs)
        grouped: dict[str, tuple[str, list[Path]]] = {}
        for d in self.dirs:
            if not d.is_dir():
                raise InputError("snapshot directory not found", path=str(d))
            for owner in sorted(d.iterdir()):
                if not owner.is_dir() or owner.name.startswith(("_", ".")):
                    continue
                for repo in sorted(owner.iterdir()):
                    if not (repo / "refs.json").is_file():
                        continue
                    name = f"{owner.name}/{repo.name}"
                    key = name.lower()
                    if key in grouped:
                        grouped[key][1].append(repo)
                        grouped[key] = (name, grouped[key][1])  # later spelling wins
                    else:
                        grouped[key] = (name, [repo])
        self._repos = {k: RepoSnapshot(name, tuple(paths)) for k, (name, paths) in grouped.items()}
        self._renamed: dict[str, RepoSnapshot] | None = None  # current name -> old directory
        self._advisories: list[dict[str, Any]] | None = None

    def repo_names(self) -> list[str]:
        """Every repository, in its directory spelling, sorted case-insensitively."""
        return sorted((r.name for r in self._repos.values()), key=str.lower)

    def find(self, repo: str) -> RepoSnapshot | None:
        """The repository ``owner/name`` (any letter case), or None.

        A repository renamed since (``meta.json`` ``full_name``) answers to both names, as on
        GitHub: its directory keeps the old one, and the new one is looked up on a miss.
        """
        key = repo.strip("/").lower()
        found = self._repos.get(key)
        if found is not None:
            return found
        if self._renamed is None:  # built on the first miss only: most runs never miss
            self._renamed = {
                snap.full_name.lower(): snap
                for snap in self._repos.values()
                if snap.full_name.lower() != snap.name.lower()
            }
        return self._renamed.get(key)

    def by_id(self, repo_id: int) -> RepoSnapshot | None:
        """The repository whose ``repo_id`` is this (``GET /repositories/{id}``), or None."""
        return next((s for s in self._repos.values() if s.repo_id == repo_id), None)

    def repo(self, repo: str) -> RepoSnapshot:
        """Like :meth:`find` but raises NotFoundError."""
        found = self.find(repo)
        if found is None:
            raise NotFoundError(f"repository {repo} not found in the snapshot")
        return found

    def download(self, path: str) -> bytes | None:
        """The bytes of ``_downloads/PATH`` (later directories win), or None."""
        rel = _safe_relpath(path)
        if rel is None:
            return None
        for d in reversed(self.dirs):
            candidate = d / "_downloads" / rel
            if candidate.is_file():
                return candidate.read_bytes()
        return None

    def advisories(self) -> list[dict[str, Any]]:
        """Every advisory of every ``advisories.json`` (a later directory's entry replaces an
        earlier one with the same ``ghsa_id``), with defaults filled in, newest published
        first (GitHub's default order), then by id. Read once."""
        if self._advisories is None:
            self._advisories = self._read_advisories()
        return self._advisories

    def _read_advisories(self) -> list[dict[str, Any]]:
        merged: dict[str, dict[str, Any]] = {}
        for d in self.dirs:
            path = d / "advisories.json"
            if not path.is_file():
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"unreadable snapshot file: {exc}", path=str(path)) from exc
            if not isinstance(data, list) or not all(
                isinstance(a, dict) and isinstance(a.get("ghsa_id"), str) for a in data
            ):
                raise InputError(
                    "advisories.json must be a JSON list of objects with a ghsa_id", path=str(path)
                )
            for raw in data:
                entry = {**ADVISORY_DEFAULTS, **raw}
                entry.setdefault("summary", entry["ghsa_id"])
                entry.setdefault("updated_at", entry["published_at"])
                merged[raw["ghsa_id"]] = entry
        ordered = sorted(merged.values(), key=lambda a: a["ghsa_id"])
        return sorted(ordered, key=lambda a: a["published_at"] or "", reverse=True)

    def download_names(self, directory: str) -> list[str]:
        """File names directly in ``_downloads/DIRECTORY`` across all directories, sorted."""
        rel = _safe_relpath(directory)
        if rel is None:
            return []
        names: set[str] = set()
        for d in self.dirs:
            candidate = d / "_downloads" / rel
            if candidate.is_dir():
                names.update(c.name for c in candidate.iterdir() if c.is_file())
        return sorted(names)


def release_from_json(data: dict[str, Any], html_base: str, repo: str) -> Release:
    """A :class:`Release` from a GitHub-shaped release object (synthesised or served)."""
    tag = data["tag_name"]
    assets = tuple(
        ReleaseAsset(
            name=a["name"],
            url=a.get("url", ""),
            browser_download_url=a.get("browser_download_url", ""),
            size=int(a.get("size", 0)),
            digest=a.get("digest"),
        )
        for a in data.get("assets", [])
    )
    return Release(
        tag_name=tag,
        name=data.get("name"),
        published_at=parse_date(data.get("published_at")),
        draft=bool(data.get("draft", False)),
        prerelease=bool(data.get("prerelease", False)),
        html_url=data.get("html_url") or f"{html_base}/{repo}/releases/tag/{tag}",
        immutable=bool(data.get("immutable", False)),
        assets=assets,
    )


def advisory_from_json(data: dict[str, Any], html_base: str) -> Advisory:
    """An :class:`Advisory` from a GitHub-shaped advisory object (snapshot or served)."""
    packages = []
    for vulnerability in data.get("vulnerabilities") or ():
        package = vulnerability.get("package") or {}
        if not package.get("name"):
            continue
        packages.append(
            AffectedPackage(
                ecosystem=package.get("ecosystem") or "",
                name=package["name"],
                vulnerable_range=vulnerability.get("vulnerable_version_range"),
                first_patched=vulnerability.get("first_patched_version"),
            )
        )
    ghsa = data["ghsa_id"]
    return Advisory(
        ghsa_id=ghsa,
        cve_id=data.get("cve_id"),
        summary=data.get("summary") or ghsa,
        severity=data.get("severity") or "unknown",
        html_url=data.get("html_url") or f"{html_base}/advisories/{ghsa}",
        published_at=parse_date(data.get("published_at")),
        withdrawn_at=parse_date(data.get("withdrawn_at")),
        packages=tuple(packages),
        cvss_score=cvss_base_score(data),
    )


class SnapshotForge:
    """The :class:`pinner.forge.base.Forge` protocol answered from snapshot directories.

    ``forge_url`` replaces the ``__FORGE_URL__`` placeholder in files and releases (the
    emulator passes its own address; offline mode leaves the placeholder alone by default) and
    is the base of ``html_url`` values.
    """

    def __init__(self, *dirs: Path | str | SnapshotData, forge_url: str | None = None):
        if len(dirs) == 1 and isinstance(dirs[0], SnapshotData):
            self.data: SnapshotData = dirs[0]
        else:
            self.data = SnapshotData(*(d for d in dirs if not isinstance(d, SnapshotData)))
        self.forge_url = forge_url

    remote = False
    """Answers come from local files: nothing is worth asking for early (see GitHubForge)."""

    def _substitute(self, body: bytes) -> bytes:
        if self.forge_url is None:
            return body
        return body.replace(FORGE_URL_PLACEHOLDER.encode(), self.forge_url.encode())

    async def list_refs(self, repo: str) -> RefListing:
        return self.data.repo(repo).ref_listing()

    async def get_file(self, repo: str, commit: str, path: str) -> bytes | None:
        # an unknown commit is a missing file, as GitHub's raw host answers 404 for both
        body = self.data.repo(repo).file(commit, path)
        return None if body is None else self._substitute(body)

    async def get_commit(self, repo: str, ref: str) -> Commit:
        snap = self.data.repo(repo)
        sha = snap.resolve(ref)
        rec = snap.commit(sha) if sha else None
        if rec is None:
            raise NotFoundError(f"no commit found for {ref!r} in {snap.name}")
        return rec.to_commit()

    async def compare(self, repo: str, base: str, head: str) -> Comparison | None:
        snap = self.data.repo(repo)
        base_sha, head_sha = snap.resolve(base), snap.resolve(head)
        if base_sha is None or head_sha is None:
            return None  # GitHub answers 404 for an unknown side, like for unrelated histories
        result = snap.compare(base_sha, head_sha)
        return None if result is None else result[0]

    async def get_tag_object(self, repo: str, sha: str) -> TagObject:
        snap = self.data.repo(repo)
        tag = snap.tag_objects.get(sha)
        if tag is None:
            raise NotFoundError(f"tag object {sha} not found in {snap.name}")
        return tag

    async def list_releases(self, repo: str) -> tuple[Release, ...]:
        snap = self.data.repo(repo)
        html_base = self.forge_url or "https://github.com"
        out = []
        for rel in snap.releases():
            if self.forge_url is not None:
                rel = json.loads(json.dumps(rel).replace(FORGE_URL_PLACEHOLDER, self.forge_url))
            out.append(release_from_json(rel, html_base, snap.name))
        return tuple(out)

    async def get_repo(self, repo: str) -> RepoInfo:
        snap = self.data.repo(repo)
        html_base = self.forge_url or "https://github.com"
        return RepoInfo(
            full_name=snap.full_name,
            default_branch=snap.default_branch,
            html_url=f"{html_base}/{snap.full_name}",
            archived=snap.archived,
            repo_id=snap.repo_id,
            owner_id=snap.owner_id,
        )

    async def list_advisories(self, package: str) -> tuple[Advisory, ...]:
        """The reviewed advisories of ``advisories.json`` naming ``package`` (as GitHub's
        ``affects`` filter, case-insensitively), in the actions ecosystem."""
        html_base = self.forge_url or "https://github.com"
        found = []
        for raw in self.data.advisories():
            if raw.get("type") != "reviewed":
                continue
            advisory = advisory_from_json(raw, html_base)
            if advisory.affecting(package):
                found.append(advisory)
        return tuple(sorted(found, key=lambda a: a.ghsa_id))
