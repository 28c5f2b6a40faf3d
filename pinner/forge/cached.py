"""One cache in front of any forge: per-run single-flight memo plus the persistent store.

Two layers, for two different promises:

* **In the run**: no request is ever made twice. Each distinct call (method + arguments, the
  repository case-folded as GitHub compares it) becomes one task; concurrent callers of the same
  key await that one task, later callers get its settled result, errors included (a repository
  that does not exist does not start existing half-way through a run).
* **Across runs** (``store`` given): answers addressed by a full SHA are immutable, so they are
  kept forever: a file at a commit (also "no such file there": the commit's tree can never gain
  it), an annotated tag object, a commit by SHA, the comparison of two SHAs. An answer that came
  from another host than the forge's (:func:`~pinner.forge.base.answered_elsewhere`) is kept
  for the run only. Ref listings,
  release lists and repository metadata change, so they are kept ``refs_ttl`` seconds; after
  that they are fetched again (the inner forge revalidates REST GETs with ETags on its own;
  ``git ls-refs`` has no ETag, which the per-run memo bounds to one listing per repository).
  "Does not exist" answers (:class:`NotFoundError`: a missing repository, an unknown commit,
  a SHA that is no tag object) are kept for the TTL too: a warm run must not ask again about
  the pins it already knows are broken, but a later push can make them exist. Security
  advisories are kept per package for the same TTL: new ones are published, ranges corrected.

``offline=True`` answers from the store only, expired entries included (an old answer beats no
answer when the user asked for no network), and raises :class:`OfflineMiss` otherwise.

The persistent values are JSON renderings of the :mod:`pinner.models` dataclasses; the codec is
below. Every key carries a ``scope`` (the forge's host) so github.com, a GHES host and a local
emulator never share entries.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pinner.errors import NotFoundError, OfflineMiss
from pinner.forge.base import CacheEntry, CacheStore, Forge, NotBatched, provenance
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
    is_database_id,
)
from pinner.singleflight import SingleFlight

T = TypeVar("T")

DEFAULT_REFS_TTL = 600.0
"""Ten minutes: long enough that a burst of runs (pin, then audit, then CI) shares one listing,
short enough that a tag pushed a moment ago shows up in the next working session."""


class _Keep(enum.Enum):
    MEMO_ONLY = "memo-only"  # keep in this run's memo, never in the store


_FOREVER = None
_MEMO_ONLY = _Keep.MEMO_ONLY
Lifetime = float | _Keep | None
"""How long the store keeps an answer: seconds, None for ever, or MEMO_ONLY for not at all."""


class CachedForge:
    """A :class:`pinner.forge.base.Forge` that asks ``inner`` at most once per question.

    ``stats`` counts, per method, how each call was answered: ``fetch`` (the inner forge was
    asked), ``store`` (from disk) and ``memo`` (from this run). The benchmark and the tests read
    it; nothing else depends on it.
    """

    def __init__(
        self,
        inner: Forge,
        store: CacheStore | None,
        *,
        offline: bool = False,
        refs_ttl: float = DEFAULT_REFS_TTL,
        scope: str = "",
    ) -> None:
        if offline and store is None:
            raise ValueError("offline mode needs a cache store")
        self.inner = inner
        self.store = store
        self.offline = offline
        self.refs_ttl = refs_ttl
        self.scope = scope.lower()
        self.stats: Counter[str] = Counter()
        self._memo: SingleFlight[str, Any] = SingleFlight()
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"CachedForge({self.inner!r}, store={self.store!r}, offline={self.offline})"

    @property
    def remote(self) -> bool:
        """Whether a question may travel to the inner forge's network (never offline)."""
        return not self.offline and bool(getattr(self.inner, "remote", True))

    def prefetch_lookups(self, keys: Iterable[tuple[str, str]]) -> None:
        """Hand the inner forge the commit lookups it can start early (see
        :meth:`pinner.forge.github.GitHubForge.prefetch_lookups`), leaving out what the store
        answers anyway: a commit it holds, and every commit of a repository whose ref listing
        it holds fresh (whether a pin is a tip is then known at once, and a commit that is not
        one was stored when it was first looked up). A warm run thus asks nothing; offline,
        nothing is asked at all (and the inner forge is not even looked at: see
        :class:`pinner.forge.factory.GitHubOnFirstUse`)."""
        if self.offline:
            return
        store = self.store
        if store is None:
            self._prefetch(list(keys))
            return
        listed: dict[str, bool] = {}
        wanted = []
        for repo, sha in keys:
            fresh = listed.get(repo.lower())
            if fresh is None:
                entry = store.get(self._key(_REFS, repo, ()))
                fresh = listed[repo.lower()] = (
                    entry is not None and entry.fresh and not _too_old(entry, self.refs_ttl)
                )
            if not fresh and store.get(self._key(_COMMIT, repo, (sha,))) is None:
                wanted.append((repo, sha))
        if wanted:
            self._prefetch(wanted)

    def _prefetch(self, keys: list[tuple[str, str]]) -> None:
        start = getattr(self.inner, "prefetch_lookups", None)
        if start is not None:
            start(keys)

    # ------------------------------------------------------------------ Forge protocol

    async def list_refs(self, repo: str) -> RefListing:
        return await self._call(
            _REFS, repo, (), lambda: self._fetch_listing(repo), f"ref listing of {repo}"
        )

    async def _fetch_listing(self, repo: str) -> RefListing:
        """The inner forge's listing; the repository's metadata, when the listing brought it
        (GraphQL), kept as :meth:`get_repo`'s answer at once. Why: the store keeps the listing
        for the TTL, and a later run (``pin`` then ``lock``, or ``lock`` in the next repository)
        that takes the listing from there would otherwise send a query for the ids alone."""
        listing = await self.inner.list_refs(repo)
        listed = getattr(self.inner, "listed_repo", None)
        if callable(listed) and listed(repo) is not None:
            await self.get_repo(repo)  # answered from what the listing said: no request
        return listing

    async def get_file(self, repo: str, commit: str, path: str) -> bytes | None:
        return await self._call(
            _FILE,
            repo,
            (commit, path),
            lambda: self.inner.get_file(repo, commit, path),
            f"{repo}/{path} at {commit}",
        )

    async def get_commit(self, repo: str, ref: str) -> Commit:
        return await self._call(
            _COMMIT, repo, (ref,), lambda: self.inner.get_commit(repo, ref), f"commit {repo}@{ref}"
        )

    async def compare(self, repo: str, base: str, head: str) -> Comparison | None:
        # Two SHAs: their relation is a fact of the commit graph, immutable. A 404 (None) is
        # kept only with the TTL: it can also mean the commit has not reached this network yet.
        both_shas = _is_sha(base) and _is_sha(head)

        def ttl_for(result: Comparison | None) -> Lifetime:
            if not both_shas:
                return _MEMO_ONLY
            return _FOREVER if result is not None else self.refs_ttl

        return await self._call(
            _COMPARISON,
            repo,
            (f"{base}...{head}",),
            lambda: self.inner.compare(repo, base, head),
            f"comparison {repo} {base}...{head}",
            lifetime_of=ttl_for,
        )

    # -- batched comparisons (pinner.forge.base.BatchedCompare), when the inner forge has them

    @property
    def authenticated(self) -> bool:
        return bool(getattr(self.inner, "authenticated", False))

    @property
    def compares_per_request(self) -> int:
        size = getattr(self.inner, "compares_per_request", 1)
        return size if isinstance(size, int) and self.remote else 1

    def compare_quota(self) -> int | None:
        quota = getattr(self.inner, "compare_quota", None)
        return quota() if callable(quota) and self.remote else None

    async def compare_ref(self, repo: str, ref: GitRef, head: str) -> Comparison | None:
        """:meth:`compare` of ``ref.commit`` and ``head``, asked in the inner forge's batch.

        An answer this run or the store already has comes from there (no request); a new one
        is stored as :meth:`compare` stores it, so either way of asking finds it later.
        :class:`NotBatched` when the inner forge cannot batch it: the caller then asks
        :meth:`compare`, one request it can count.
        """
        inner = getattr(self.inner, "compare_ref", None)
        basehead = f"{ref.commit}...{head}"
        key = self._key(_COMPARISON, repo, (basehead,))
        if inner is None or not self.remote:
            raise NotBatched(f"{repo}: compare {basehead}")
        self._ensure_loop()
        if key in self._memo or self._stored_comparison(key):
            return await self.compare(repo, ref.commit, head)
        # a memo key of its own: a NotBatched failure must not become compare()'s answer
        return await self._memo.get(
            key + "#batched", lambda: self._batched_compare(inner, key, repo, ref, head)
        )

    async def _batched_compare(
        self, inner: Any, key: str, repo: str, ref: GitRef, head: str
    ) -> Comparison | None:
        self.stats[f"{_COMPARISON.name}.fetch"] += 1
        value: Comparison | None = await inner(repo, ref, head)
        if self.store is not None and _is_sha(ref.commit) and _is_sha(head):
            # compare()'s lifetimes: a relation of two commits is for ever, "none" for the TTL
            ttl = _FOREVER if value is not None else self.refs_ttl
            self.store.put(key, _PRESENT + _COMPARISON.encode(value), ttl=ttl)
        return value

    def _stored_comparison(self, key: str) -> bool:
        """Whether the store holds a comparison (kept for ever: :meth:`compare` uses it as it
        is); a stored "no common history" is asked again in the batch, which costs nothing."""
        entry = self.store.get(key) if self.store is not None else None
        return entry is not None and entry.value[:1] == _PRESENT and entry.value[1:] != b"null"

    async def get_tag_object(self, repo: str, sha: str) -> TagObject:
        return await self._call(
            _TAG,
            repo,
            (sha,),
            lambda: self.inner.get_tag_object(repo, sha),
            f"tag object {repo}@{sha}",
        )

    async def list_releases(self, repo: str) -> tuple[Release, ...]:
        return await self._call(
            _RELEASES, repo, (), lambda: self.inner.list_releases(repo), f"release list of {repo}"
        )

    async def get_repo(self, repo: str) -> RepoInfo:
        return await self._call(
            _REPO, repo, (), lambda: self.inner.get_repo(repo), f"repository {repo}"
        )

    async def list_advisories(self, package: str) -> tuple[Advisory, ...]:
        return await self._call(
            _ADVISORIES,
            package,
            (),
            lambda: self.inner.list_advisories(package),
            f"security advisories of {package}",
        )

    # ------------------------------------------------------------------ machinery

    async def _call(
        self,
        kind: _Kind[T],
        repo: str,
        args: tuple[str, ...],
        fetch: Callable[[], Awaitable[T]],
        what: str,
        *,
        lifetime_of: Callable[[Any], Lifetime] | None = None,
    ) -> T:
        """Answer one question once per run; ``what`` names it in an ``--offline`` miss.

        How long the store keeps the answer follows the kind (:attr:`_Kind.addressed_by_sha`)
        unless ``lifetime_of`` decides it from the answer itself.
        """
        ttl = lifetime_of if lifetime_of is not None else self._lifetime_of_kind(kind, args)
        key = self._key(kind, repo, args)
        self._ensure_loop()
        if key in self._memo:
            self.stats[f"{kind.name}.memo"] += 1
        return await self._memo.get(key, lambda: self._resolve(kind, key, ttl, fetch, what))

    def _ensure_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a memo's tasks belong to one event loop (one run)
            self._loop, self._memo = loop, SingleFlight()

    def _key(self, kind: _Kind[Any], repo: str, args: tuple[str, ...]) -> str:
        return "/".join((kind.name, self.scope, repo.lower(), *args))

    def _lifetime_of_kind(self, kind: _Kind[Any], args: tuple[str, ...]) -> Lifetime:
        if not kind.addressed_by_sha:
            return self.refs_ttl
        return _FOREVER if _is_sha(args[0]) else _MEMO_ONLY

    async def _resolve(
        self,
        kind: _Kind[T],
        key: str,
        ttl: Lifetime | Callable[[Any], Lifetime],
        fetch: Callable[[], Awaitable[T]],
        what: str,
    ) -> T:
        persist = self.store is not None and ttl is not _MEMO_ONLY
        stale: _Answer[T] | None = None
        if persist and self.store is not None:
            entry = self.store.get(key)
            answer = _read_answer(entry.value, kind.decode) if entry is not None else None
            if entry is not None and answer is not None:
                lifetime = self.refs_ttl if answer.missing is not None else _lifetime(ttl, answer)
                if entry.fresh and not _too_old(entry, lifetime):
                    self.stats[f"{kind.name}.store"] += 1
                    return answer.get()
                stale = answer
        if self.offline:
            if stale is not None:
                self.stats[f"{kind.name}.store"] += 1
                return stale.get()
            raise OfflineMiss(
                f"--offline: the cache has no {what}; run once without --offline to fill it"
            )
        self.stats[f"{kind.name}.fetch"] += 1
        with provenance() as from_the_forge:
            try:
                value = await fetch()
            except NotFoundError as exc:
                # "does not exist" is an answer too; kept for the TTL only, since a repository,
                # a commit or a tag can be pushed later under the very name that was missing;
                # and only when the forge said it (not a host a redirect led to)
                if persist and self.store is not None and from_the_forge():
                    self.store.put(key, _MISSING + str(exc).encode(), ttl=self.refs_ttl)
                raise
            vouched = from_the_forge()
        # an answer another host gave (a redirect away) is this run's, never the store's
        if persist and self.store is not None and vouched:
            lifetime = ttl(value) if callable(ttl) else ttl
            if not isinstance(lifetime, _Keep):
                self.store.put(key, _PRESENT + kind.encode(value), ttl=lifetime)
        return value


_PRESENT = b"="  # first byte of a stored answer: a value follows
_MISSING = b"!"  # first byte of a stored answer: NotFoundError, its message follows


@dataclass(frozen=True, slots=True)
class _Answer(Generic[T]):
    """A decoded store entry: a value, or the NotFoundError the forge gave."""

    value: T | None
    missing: str | None = None

    def get(self) -> T:
        if self.missing is not None:
            raise NotFoundError(self.missing)
        return self.value  # type: ignore[return-value]


def _read_answer(data: bytes, decode: Callable[[bytes], T]) -> _Answer[T] | None:
    """Decode a stored answer; None when corrupt or written by another codec (a miss)."""
    try:
        if data[:1] == _MISSING:
            return _Answer(None, data[1:].decode("utf-8", "replace"))
        if data[:1] == _PRESENT:
            return _Answer(decode(data[1:]))
    except (ValueError, KeyError, TypeError, IndexError):
        pass
    return None


def _lifetime(ttl: Lifetime | Callable[[Any], Lifetime], answer: _Answer[Any]) -> Lifetime:
    return ttl(answer.value) if callable(ttl) else ttl


def _too_old(entry: CacheEntry, lifetime: Lifetime) -> bool:
    """True when this run wants a younger answer than the one stored.

    The TTL is fixed when an entry is written; a later run with a shorter ``refs_ttl`` (``0``
    means "always ask") must still be able to refuse an entry that is within the old TTL but
    older than it accepts. Stores that do not report an age are taken at their word.
    """
    if not isinstance(lifetime, float | int):
        return False  # immutable
    age = getattr(entry, "age", None)
    return isinstance(age, float | int) and age >= lifetime


def _is_sha(ref: str) -> bool:
    return bool(SHA_RE.match(ref))


# ----------------------------------------------------------------------------- JSON codec
#
# Explicit per type rather than generic reflection: the cache outlives a pinner version, and a
# model change should break a test here, not silently decode old entries into wrong values.


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_dt(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("date must be a string")
    return datetime.fromisoformat(value)


def _enc_file(value: bytes | None) -> bytes:
    # one tag byte: a cached "absent" must be distinguishable from a cached empty file
    return b"\x00" if value is None else b"\x01" + value


def _dec_file(data: bytes) -> bytes | None:
    if data == b"\x00":
        return None
    if data[:1] != b"\x01":
        raise ValueError("bad file entry")
    return data[1:]


def ref_listing_to_json(listing: RefListing) -> dict[str, Any]:
    return {
        "repo": listing.repo,
        "default_branch": listing.default_branch,
        "archived": listing.archived,
        "refs": [[r.name, r.object, r.commit] for r in listing.refs],
    }


def ref_listing_from_json(obj: dict[str, Any]) -> RefListing:
    return RefListing(
        repo=_str(obj["repo"]),
        refs=tuple(GitRef(_str(n), _str(o), _str(c)) for n, o, c in obj["refs"]),
        default_branch=_opt_str(obj.get("default_branch")),
        archived=_opt_bool(obj.get("archived")),  # absent in entries of older versions
    )


def commit_to_json(commit: Commit) -> dict[str, Any]:
    return {"sha": commit.sha, "date": _dt(commit.date), "parents": list(commit.parents)}


def commit_from_json(obj: dict[str, Any]) -> Commit:
    return Commit(
        sha=_str(obj["sha"]),
        date=_parse_dt(obj["date"]),
        parents=tuple(_str(p) for p in obj["parents"]),
    )


def tag_object_to_json(tag: TagObject) -> dict[str, Any]:
    return {
        "sha": tag.sha,
        "tag": tag.tag,
        "object_sha": tag.object_sha,
        "object_type": tag.object_type,
        "tagger_date": _dt(tag.tagger_date),
    }


def tag_object_from_json(obj: dict[str, Any]) -> TagObject:
    return TagObject(
        sha=_str(obj["sha"]),
        tag=_str(obj["tag"]),
        object_sha=_str(obj["object_sha"]),
        object_type=_str(obj["object_type"]),
        tagger_date=_parse_dt(obj["tagger_date"]),
    )


def comparison_to_json(comparison: Comparison | None) -> dict[str, Any] | None:
    if comparison is None:
        return None
    return {
        "status": comparison.status,
        "ahead_by": comparison.ahead_by,
        "behind_by": comparison.behind_by,
        "merge_base": comparison.merge_base,
    }


def comparison_from_json(obj: dict[str, Any] | None) -> Comparison | None:
    if obj is None:
        return None
    return Comparison(
        status=_str(obj["status"]),
        ahead_by=_int(obj["ahead_by"]),
        behind_by=_int(obj["behind_by"]),
        merge_base=_opt_str(obj["merge_base"]),
    )


def release_to_json(release: Release) -> dict[str, Any]:
    return {
        "tag_name": release.tag_name,
        "name": release.name,
        "published_at": _dt(release.published_at),
        "draft": release.draft,
        "prerelease": release.prerelease,
        "html_url": release.html_url,
        "immutable": release.immutable,
        "assets": [
            {
                "name": a.name,
                "url": a.url,
                "browser_download_url": a.browser_download_url,
                "size": a.size,
                "digest": a.digest,
            }
            for a in release.assets
        ],
    }


def release_from_json(obj: dict[str, Any]) -> Release:
    return Release(
        tag_name=_str(obj["tag_name"]),
        name=_opt_str(obj["name"]),
        published_at=_parse_dt(obj["published_at"]),
        draft=_bool(obj["draft"]),
        prerelease=_bool(obj["prerelease"]),
        html_url=_str(obj["html_url"]),
        immutable=_bool(obj["immutable"]),
        assets=tuple(
            ReleaseAsset(
                name=_str(a["name"]),
                url=_str(a["url"]),
                browser_download_url=_str(a["browser_download_url"]),
                size=_int(a["size"]),
                digest=_opt_str(a["digest"]),
            )
            for a in obj["assets"]
        ),
    )


def _releases_to_json(releases: tuple[Release, ...]) -> list[dict[str, Any]]:
    return [release_to_json(r) for r in releases]


def _releases_from_json(items: object) -> tuple[Release, ...]:
    if not isinstance(items, list):
        raise TypeError("release list must be a list")
    return tuple(release_from_json(r) for r in items)


def repo_info_to_json(info: RepoInfo) -> dict[str, Any]:
    return {
        "full_name": info.full_name,
        "default_branch": info.default_branch,
        "html_url": info.html_url,
        "archived": info.archived,
        "repo_id": info.repo_id,
        "owner_id": info.owner_id,
        "extra": info.extra,
    }


def repo_info_from_json(obj: dict[str, Any]) -> RepoInfo:
    extra = obj.get("extra") or {}
    if not isinstance(extra, dict):
        raise TypeError("extra must be an object")
    return RepoInfo(
        full_name=_str(obj["full_name"]),
        default_branch=_str(obj["default_branch"]),
        html_url=_str(obj["html_url"]),
        archived=_bool(obj["archived"]),
        repo_id=_opt_id(obj.get("repo_id")),
        owner_id=_opt_id(obj.get("owner_id")),
        extra=extra,
    )


def advisory_to_json(advisory: Advisory) -> dict[str, Any]:
    return {
        "ghsa_id": advisory.ghsa_id,
        "cve_id": advisory.cve_id,
        "summary": advisory.summary,
        "severity": advisory.severity,
        "html_url": advisory.html_url,
        "published_at": _dt(advisory.published_at),
        "withdrawn_at": _dt(advisory.withdrawn_at),
        "cvss_score": advisory.cvss_score,
        "packages": [
            [p.ecosystem, p.name, p.vulnerable_range, p.first_patched] for p in advisory.packages
        ],
    }


def advisory_from_json(obj: dict[str, Any]) -> Advisory:
    score = obj["cvss_score"]
    if score is not None and (not isinstance(score, int | float) or isinstance(score, bool)):
        raise TypeError("cvss_score must be a number")
    return Advisory(
        ghsa_id=_str(obj["ghsa_id"]),
        cve_id=_opt_str(obj["cve_id"]),
        summary=_str(obj["summary"]),
        severity=_str(obj["severity"]),
        html_url=_str(obj["html_url"]),
        published_at=_parse_dt(obj["published_at"]),
        withdrawn_at=_parse_dt(obj["withdrawn_at"]),
        cvss_score=float(score) if score is not None else None,
        packages=tuple(
            AffectedPackage(_str(e), _str(n), _opt_str(r), _opt_str(f))
            for e, n, r, f in obj["packages"]
        ),
    )


def _advisories_to_json(advisories: tuple[Advisory, ...]) -> list[dict[str, Any]]:
    return [advisory_to_json(a) for a in advisories]


def _advisories_from_json(items: object) -> tuple[Advisory, ...]:
    if not isinstance(items, list):
        raise TypeError("advisory list must be a list")
    return tuple(advisory_from_json(a) for a in items)


@dataclass(frozen=True, slots=True)
class _Kind(Generic[T]):
    """One kind of question: its key prefix and stats name, its store codec, its lifetime rule.

    ``addressed_by_sha``: the first key argument is a ref; an answer for a full SHA is kept for
    ever, one for any other ref only in this run's memo. Otherwise answers change over time
    and are kept ``refs_ttl`` seconds.
    """

    name: str
    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]
    addressed_by_sha: bool = False

    @classmethod
    def json(
        cls,
        name: str,
        to_json: Callable[[T], Any],
        from_json: Callable[[Any], T],
        *,
        addressed_by_sha: bool = False,
    ) -> _Kind[T]:
        """A kind stored as the compact JSON of ``to_json`` and read back by ``from_json``."""
        return cls(
            name,
            lambda value: _dumps(to_json(value)),
            lambda data: from_json(json.loads(data)),
            addressed_by_sha,
        )


_REFS = _Kind.json("refs", ref_listing_to_json, ref_listing_from_json)
_FILE = _Kind("file", _enc_file, _dec_file, addressed_by_sha=True)
_COMMIT = _Kind.json("commit", commit_to_json, commit_from_json, addressed_by_sha=True)
_COMPARISON = _Kind.json("compare", comparison_to_json, comparison_from_json)
_TAG = _Kind.json("tag", tag_object_to_json, tag_object_from_json, addressed_by_sha=True)
_RELEASES = _Kind.json("releases", _releases_to_json, _releases_from_json)
_REPO = _Kind.json("repo", repo_info_to_json, repo_info_from_json)
_ADVISORIES = _Kind.json("advisories", _advisories_to_json, _advisories_from_json)


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _opt_bool(value: object) -> bool | None:
    return None if value is None else _bool(value)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean, got {type(value).__name__}")
    return value


def _opt_id(value: object) -> int | None:
    """A database id, or None (entries stored before ids were kept have none); anything that
    cannot be an id makes the entry unreadable, so it is asked for again and replaced."""
    if value is not None and not is_database_id(value):
        raise TypeError("expected a database id")
    return value
