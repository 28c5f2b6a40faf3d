"""An in-memory Forge with a real commit graph, for unit tests of resolve/verify/pin.

It answers like GitHub does where it matters here: ``get_commit`` serves fork-network commits
(existence is not reachability), ``compare`` computes containment on the graph, annotated tags
are tag objects with their own SHAs. The few tests at the bottom pin the fake's own behaviour so
the tests built on it cannot pass by accident.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from dataclasses import dataclass, field

import pytest

from pinner.errors import NotFoundError, RemoteError
from pinner.models import Commit, Comparison, GitRef, RefListing, Release, RepoInfo, TagObject


def sha_of(label: str) -> str:
    """A deterministic 40-hex id for a readable label."""
    return hashlib.sha1(label.encode()).hexdigest()


@dataclass
class FakeRepo:
    name: str
    default_branch: str = "main"
    parents: dict[str, tuple[str, ...]] = field(default_factory=dict)  # own history
    network: dict[str, tuple[str, ...]] = field(default_factory=dict)  # fork-only commits
    refs: list[GitRef] = field(default_factory=list)
    tag_objects: dict[str, TagObject] = field(default_factory=dict)
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def commit(self, label: str, *parents: str, fork: bool = False) -> str:
        sha = sha_of(f"{self.name}:{label}")
        (self.network if fork else self.parents)[sha] = tuple(parents)
        return sha

    def chain(self, prefix: str, n: int, start: str | None = None) -> list[str]:
        out: list[str] = []
        parent = start
        for i in range(n):
            parent = self.commit(f"{prefix}{i}", *([parent] if parent else []))
            out.append(parent)
        return out

    def branch(self, name: str, commit: str) -> None:
        self.refs.append(GitRef(f"refs/heads/{name}", commit, commit))

    def tag(self, name: str, commit: str, *, annotated: bool = False) -> GitRef:
        obj = commit
        if annotated:
            obj = sha_of(f"{self.name}:tagobj:{name}")
            self.tag_objects[obj] = TagObject(obj, name, commit, "commit", None)
        ref = GitRef(f"refs/tags/{name}", obj, commit)
        self.refs.append(ref)
        return ref

    def nested_tag_object(self, name: str, inner: str) -> str:
        obj = sha_of(f"{self.name}:tagobj2:{name}")
        self.tag_objects[obj] = TagObject(obj, name, inner, "tag", None)
        return obj

    def ancestors(self, sha: str) -> set[str]:
        graph = {**self.network, **self.parents}
        seen: set[str] = set()
        stack = [sha]
        while stack:
            cur = stack.pop()
            if cur in seen or cur not in graph:
                continue
            seen.add(cur)
            stack.extend(graph[cur])
        return seen


class FakeForge:
    """A Forge over FakeRepos, counting every call by method name."""

    def __init__(self, *repos: FakeRepo, delay: float = 0.0) -> None:
        self.repos = {r.name.lower(): r for r in repos}
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, str]] = []
        self.delay = delay
        self.fail_repos: set[str] = set()  # list_refs raises RemoteError for these

    def _repo(self, repo: str) -> FakeRepo:
        found = self.repos.get(repo.lower())
        if found is None:
            raise NotFoundError(f"repository {repo} not found")
        return found

    async def _enter(self, method: str, repo: str) -> None:
        self.calls[method] += 1
        self.log.append((method, repo))
        if self.delay:
            await asyncio.sleep(self.delay)

    async def list_refs(self, repo: str) -> RefListing:
        await self._enter("list_refs", repo)
        if repo.lower() in self.fail_repos:
            raise RemoteError(f"{repo}: connection reset")
        r = self._repo(repo)
        return RefListing(r.name, tuple(sorted(r.refs, key=lambda g: g.name)), r.default_branch)

    async def get_file(self, repo: str, commit: str, path: str) -> bytes | None:
        await self._enter("get_file", repo)
        return self._repo(repo).files.get((commit, path))

    async def get_commit(self, repo: str, ref: str) -> Commit:
        await self._enter("get_commit", repo)
        r = self._repo(repo)
        graph = {**r.network, **r.parents}
        if ref in graph:
            return Commit(ref, None, graph[ref])
        for g in r.refs:
            if g.short == ref:
                return Commit(g.commit, None, graph.get(g.commit, ()))
        raise NotFoundError(f"no commit {ref} in {repo}")

    async def compare(self, repo: str, base: str, head: str) -> Comparison | None:
        await self._enter("compare", repo)
        r = self._repo(repo)
        graph = {**r.network, **r.parents}
        if base not in graph or head not in graph:
            return None
        if base == head:
            return Comparison("identical", 0, 0, base)
        base_anc, head_anc = r.ancestors(base), r.ancestors(head)
        common = base_anc & head_anc
        if not common:
            return None
        if head in base_anc:
            return Comparison("behind", 0, len(base_anc - head_anc), head)
        if base in head_anc:
            return Comparison("ahead", len(head_anc - base_anc), 0, base)
        return Comparison("diverged", len(head_anc - base_anc), len(base_anc - head_anc), None)

    async def get_tag_object(self, repo: str, sha: str) -> TagObject:
        await self._enter("get_tag_object", repo)
        obj = self._repo(repo).tag_objects.get(sha)
        if obj is None:
            raise NotFoundError(f"no tag object {sha}")
        return obj

    async def list_releases(self, repo: str) -> tuple[Release, ...]:
        await self._enter("list_releases", repo)
        return ()

    async def get_repo(self, repo: str) -> RepoInfo:
        await self._enter("get_repo", repo)
        r = self._repo(repo)
        return RepoInfo(r.name, r.default_branch, f"https://example.invalid/{r.name}")


# ----------------------------------------------------------------------------- self-tests


def test_fake_compare_follows_the_graph() -> None:
    repo = FakeRepo("o/r")
    main = repo.chain("m", 3)
    side = repo.commit("side", main[0], fork=True)
    forge = FakeForge(repo)

    async def go() -> None:
        assert (await forge.compare("o/r", main[2], main[0])).status == "behind"
        assert (await forge.compare("o/r", main[0], main[2])).status == "ahead"
        assert (await forge.compare("o/r", main[2], side)).status == "diverged"
        assert (await forge.compare("o/r", main[1], main[1])).status == "identical"
        assert await forge.compare("o/r", main[1], sha_of("nowhere")) is None
        assert (await forge.get_commit("o/r", side)).sha == side  # fork commits are served
        with pytest.raises(NotFoundError):
            await forge.list_refs("o/missing")

    asyncio.run(go())
    assert forge.calls["compare"] == 5
