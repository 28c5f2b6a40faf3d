"""GitHub (github.com, GHES, or the test emulator) as a :class:`~pinner.forge.base.Forge`.

Four channels, each used for what it does cheapest:

* **GraphQL** (with a token) for ref listings, commit/tag lookups and the impostor check's
  comparisons, many per request (:mod:`pinner.forge.graphql`): concurrent questions are batched by a
  :class:`~pinner.batching.Batcher`; whatever GraphQL cannot answer completely goes to
  git or REST below, so answers are the same either way;
* **git smart HTTP** for ref listings: one request per repository, tags peeled, no API quota;
* **raw content** for files at a commit: no API quota either; when the raw host is unavailable
  (network failure, or it refuses us) or answers anything but a plausible file (see
  :func:`raw_answer_problem`) the REST ``contents`` endpoint with the raw media type takes over
  for the rest of the run. A file at a commit is cached for ever, so what reaches the cache
  must be the file, from the forge's own host;
* **REST** for commits, comparisons and tag objects without a token (or what GraphQL could not
  answer), releases, repository metadata and security advisories (many packages per request).

All four share one :class:`~pinner.forge.http.Transport` (pool, concurrency bound, retries,
token scoping). Per-run memoisation and the persistent cache of answers live in
:class:`~pinner.forge.cached.CachedForge`; this class only adds ETag revalidation of REST bodies
when given a store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from pinner.batching import Batcher
from pinner.errors import (
    DeadlineExceeded,
    NotFoundError,
    OfflineMiss,
    RateLimitError,
    RemoteError,
)
from pinner.forge.base import CacheStore, NotBatched, answered_elsewhere
from pinner.forge.gitproto import fetch_ref_listing
from pinner.forge.graphql import (
    COMPARES_PER_QUERY,
    OBJECTS_PER_QUERY,
    REPOS_PER_QUERY,
    UNANSWERED,
    CompareKey,
    GraphQLClient,
    Listed,
    ObjectAnswer,
    compare_many,
    graphql_url,
    list_refs_many,
    lookup_objects_many,
)
from pinner.forge.graphql_repos import get_repos_many
from pinner.forge.http import (
    HTML_MEDIA_TYPES,
    RequestKind,
    RequestStats,
    Response,
    TooLargeError,
    Transport,
)
from pinner.forge.rest import (
    DEFAULT_REST_TTL,
    RestClient,
    quote_path,
    quote_ref,
    split_repo,
)
from pinner.models import (
    SHA_RE,
    Advisory,
    Commit,
    Comparison,
    GitRef,
    RefListing,
    Release,
    RepoInfo,
    TagObject,
)
from pinner.settings import Settings
from pinner.singleflight import SingleFlight

log = logging.getLogger("pinner.forge")

COMPARE_QUOTA_RESERVE = 10
"""REST requests a containment check leaves unspent: without a token the API quota is 60 an
hour, and the run still needs a few (commit and tag lookups) after its comparisons."""

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Action metadata files are a few KiB; 2 MiB is generous and bounds memory per file."""

ADVISORY_PACKAGES_PER_QUERY = 100
"""Packages per ``GET /advisories?affects=...``: GitHub takes up to 1,000, but the URL must stay
well below what proxies accept (100 names of ~30 characters: about 3 KiB)."""


class GitHubForge:
    """The real forge. ``async with GitHubForge(settings) as forge: ...`` owns its HTTP pool."""

    def __init__(
        self,
        settings: Settings,
        cache: CacheStore | None = None,
        *,
        transport: Transport | None = None,
        max_file_bytes: int = MAX_FILE_BYTES,
        rest_ttl: float = DEFAULT_REST_TTL,
        graphql: bool = True,
    ):
        self.settings = settings
        self._own_transport = transport is None
        self.transport = transport or Transport(settings)
        self.rest = RestClient(self.transport, settings.urls.api, cache, ttl=rest_ttl)
        self.max_file_bytes = max_file_bytes
        self._raw_unavailable: str | None = None  # why raw content is not used any more
        self.graphql = GraphQLClient(self.transport, graphql_url(settings.urls.api))
        if not graphql:
            self.graphql.switch_off("not wanted: every question goes to git or REST")
        self._refs_batch: Batcher[str, Listed] = Batcher(
            lambda repos: list_refs_many(self.graphql, repos), max_size=REPOS_PER_QUERY
        )
        # what a GraphQL listing said of its repository (case-folded owner/name): get_repo's
        # answer; None where that answer lacked something, so that REST must answer
        self._listed_repos: dict[str, RepoInfo | None] = {}
        self._objects_batch: Batcher[tuple[str, str], ObjectAnswer | None] = Batcher(
            lambda keys: lookup_objects_many(self.graphql, keys), max_size=OBJECTS_PER_QUERY
        )
        self._repos_batch: Batcher[str, RepoInfo | None] = Batcher(
            lambda repos: get_repos_many(self.graphql, repos), max_size=REPOS_PER_QUERY
        )
        self._compares_batch: Batcher[CompareKey, object] = Batcher(
            lambda keys: compare_many(self.graphql, keys), max_size=COMPARES_PER_QUERY
        )
        self._compares_in_flight = 0  # REST compares sent and not answered yet
        self._advisories_batch: Batcher[str, tuple[Advisory, ...]] = Batcher(
            self.rest.list_advisories, max_size=ADVISORY_PACKAGES_PER_QUERY
        )
        # get_commit and get_tag_object of one SHA share one lookup
        self._objects: SingleFlight[tuple[str, str], ObjectAnswer | None] = SingleFlight()
        self._prefetching: set[asyncio.Future[None]] = set()

    async def __aenter__(self) -> GitHubForge:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for task in list(self._prefetching):
            task.cancel()
        if self._own_transport:
            await self.transport.aclose()

    def __repr__(self) -> str:
        return f"<GitHubForge {self.settings.urls.server} requests={self.stats.total}>"

    remote = True
    """Every question is a round trip: asking early (hints, prefetch) saves waiting later."""

    def prefetch_lookups(self, keys: Iterable[tuple[str, str]]) -> None:
        """Start looking up these ``(owner/repo, 40-hex SHA)`` now, over GraphQL only.

        Why: a SHA pin that no branch or tag points at needs a lookup, and its resolver only
        learns so once the listing is in; asked for beside the listings (50 to a query), the
        answer is there by then. Only where lookups are batched (GraphQL, with a token): with
        one REST request per SHA, asking for the many that turn out to be tips would waste
        requests and quota. Nothing falls back to REST here: what GraphQL cannot answer is
        asked again, the usual way, if it is needed at all. The answers land in this run's
        lookup memo; :meth:`aclose` stops what is still in flight.
        """
        if not self.graphql.usable:
            return
        for repo, sha in keys:
            if SHA_RE.match(sha):
                task = asyncio.ensure_future(self._prefetch_lookup(repo, sha))
                self._prefetching.add(task)
                task.add_done_callback(self._prefetching.discard)

    async def _prefetch_lookup(self, repo: str, sha: str) -> None:
        """One early lookup; its outcome, a failure too, is the memo's.

        The lookup's coroutine is made here, inside the task, not by the caller: a task
        cancelled before it first runs (the run stopped at a malformed file right after the
        hints went out) then leaves no coroutine behind that was never awaited, which Python
        would report on stderr as a RuntimeWarning.
        """
        with contextlib.suppress(Exception):
            await self._lookup_object(repo, sha)

    @property
    def stats(self) -> RequestStats:
        """Requests made so far, by channel (``rest``, ``git``, ``raw``, ``download``)."""
        return self.transport.stats

    # -- Forge protocol

    async def list_refs(self, repo: str) -> RefListing:
        owner, name = split_repo(repo)
        if self.graphql.usable:
            listing, info = await self._refs_batch.get(f"{owner}/{name}")
            if self.graphql.usable:  # the query was answered: what it said of the repository
                self._listed_repos[f"{owner}/{name}".lower()] = info
            if listing is not None:
                return listing
        return await fetch_ref_listing(
            self.transport, self.settings.urls.git(f"{owner}/{name}"), f"{owner}/{name}"
        )

    async def get_file(self, repo: str, commit: str, path: str) -> bytes | None:
        owner, name = split_repo(repo)
        if self._raw_unavailable is None:
            url = f"{self.settings.urls.raw}/{owner}/{name}/{quote_ref(commit)}/{quote_path(path)}"
            what = f"file {path} of {repo}@{commit[:12]}"
            try:
                response = await self.transport.request(
                    "GET", url, kind=RequestKind.RAW, max_bytes=self.max_file_bytes, what=what
                )
            except (TooLargeError, RateLimitError, OfflineMiss, DeadlineExceeded):
                raise
            except RemoteError as exc:
                self._disable_raw(str(exc))
            else:
                problem = raw_answer_problem(response)
                if problem is None:
                    if response.from_another_host:
                        answered_elsewhere()  # right for this run, never cached for ever
                    return response.body if response.status == 200 else None
                # 401/403/5xx-after-retries, a redirect away, a login page: the API knows better
                self._disable_raw(problem)
        return await self.rest.get_contents_raw(
            f"{owner}/{name}", commit, path, max_bytes=self.max_file_bytes
        )

    def _disable_raw(self, reason: str) -> None:
        log.info("raw content unavailable (%s); using the contents API instead", reason)
        self._raw_unavailable = reason

    async def get_commit(self, repo: str, ref: str) -> Commit:
        found = await self._lookup_object(repo, ref)
        if isinstance(found, Commit):
            return found
        if found is not None:  # a tag object, a tree, or nothing at all
            raise NotFoundError(f"{repo}: no commit {ref!r}")
        return await self.rest.get_commit(repo, ref)

    async def compare(self, repo: str, base: str, head: str) -> Comparison | None:
        self._compares_in_flight += 1
        try:
            return await self.rest.compare(repo, base, head)
        finally:
            self._compares_in_flight -= 1

    # -- batched comparisons (pinner.forge.base.BatchedCompare)

    @property
    def authenticated(self) -> bool:
        return self.transport.authenticated

    @property
    def compares_per_request(self) -> int:
        """With a token, GraphQL carries :data:`COMPARES_PER_QUERY` comparisons a query."""
        return COMPARES_PER_QUERY if self.graphql.usable else 1

    async def compare_ref(self, repo: str, ref: GitRef, head: str) -> Comparison | None:
        """``compare(repo, ref.commit, head)`` through a batched GraphQL query (every
        comparison asked at the same moment travels together); :class:`NotBatched` when
        GraphQL is off or could not answer this one."""
        if not (self.graphql.usable and SHA_RE.match(head)):
            raise NotBatched(f"{repo}: compare {ref.short} with {head[:12]}")
        owner, name = split_repo(repo)
        key = (f"{owner}/{name}", ref.name, ref.object, head.lower())
        answer = await self._compares_batch.get(key)
        if answer is UNANSWERED:
            raise NotBatched(f"{repo}: compare {ref.short} with {head[:12]}")
        return answer  # type: ignore[return-value]

    def compare_quota(self) -> int | None:
        """REST compares that may still be sent: the API quota the last answer reported,
        less those in flight and a reserve for the rest of the run's REST questions."""
        remaining = self.rest.rate_remaining
        if remaining is None:
            return None
        return remaining - self._compares_in_flight - COMPARE_QUOTA_RESERVE

    async def get_tag_object(self, repo: str, sha: str) -> TagObject:
        found = await self._lookup_object(repo, sha)
        if isinstance(found, TagObject):
            return found
        if found is not None:
            raise NotFoundError(f"{repo}: {sha} is not an annotated tag object")
        return await self.rest.get_tag_object(repo, sha)

    async def _lookup_object(self, repo: str, ref: str) -> ObjectAnswer | None:
        """What a full SHA names, through batched GraphQL; None when REST must answer."""
        if not (self.graphql.usable and SHA_RE.match(ref)):
            return None
        owner, name = split_repo(repo)
        key = (f"{owner}/{name}".lower(), ref.lower())  # GitHub's names are case-insensitive
        return await self._objects.get(key, lambda: self._objects_batch.get(key))

    async def list_releases(self, repo: str) -> tuple[Release, ...]:
        return await self.rest.list_releases(repo)

    def listed_repo(self, repo: str) -> RepoInfo | None:
        """What this run's GraphQL listing of ``repo`` said of the repository (None: not
        listed over GraphQL, or its answer lacked something): :meth:`get_repo` without a
        request."""
        owner, name = split_repo(repo)
        return self._listed_repos.get(f"{owner}/{name}".lower())

    async def get_repo(self, repo: str) -> RepoInfo:
        """Repository metadata, ids included: what the repository's GraphQL ref listing said
        (:data:`~pinner.forge.graphql.REFS_FRAGMENTS` asks for it), else batched over GraphQL
        (one query for many repositories, what ``pinner lock`` asks for every repository of
        the graph), REST for whatever GraphQL cannot answer."""
        owner, name = split_repo(repo)
        key = f"{owner}/{name}".lower()
        if key in self._listed_repos:  # a Repos query would say what the listing said
            listed = self._listed_repos[key]
            return listed if listed is not None else await self.rest.get_repo(repo)
        if self.graphql.usable:
            info = await self._repos_batch.get(f"{owner}/{name}")
            if info is not None:
                return info
        return await self.rest.get_repo(repo)

    async def list_advisories(self, package: str) -> tuple[Advisory, ...]:
        """One package's advisories; the packages asked at the same time share a request."""
        return await self._advisories_batch.get(package)


def raw_answer_problem(response: Response) -> str | None:
    """What makes a raw-content answer unfit to be taken for the file, or None when it is fit.

    Why so strict: the answer is cached for ever under its commit, so a wrong one would be
    wrong in every later run. Fit is a 200 (the file) or a 404 (no such file at that commit);
    after a redirect to another host it is used for this run only, never cached (see
    :func:`~pinner.forge.base.answered_elsewhere`). An HTML page is never a file: raw content
    is served as ``text/plain``, and what answers with HTML is a captive portal or a login page.
    """
    if response.status not in (200, 404):
        return f"HTTP {response.status} from the raw content host"
    if response.status == 200 and response.media_type in HTML_MEDIA_TYPES:
        return "the raw content host answered an HTML page, not a file"
    return None
