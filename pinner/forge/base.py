"""The forge interface every source of refs and files implements.

Everything is async: one run shares one event loop, one HTTP connection pool and one
concurrency bound. Methods raise :class:`pinner.errors.NotFoundError` when the thing
definitively does not exist (a finding about the user's file) and
:class:`pinner.errors.RemoteError` when the forge could not answer (a failure of the run).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Protocol, TypeVar, runtime_checkable

from pinner.models import (
    Advisory,
    Commit,
    Comparison,
    GitRef,
    RefListing,
    Release,
    RepoInfo,
    TagObject,
)

T = TypeVar("T")


_FROM_THE_FORGE: ContextVar[bool] = ContextVar("pinner_answer_from_the_forge", default=True)


def answered_elsewhere() -> None:
    """Say that the answer being produced came from another host than the forge's own.

    After a redirect away (a captive portal, GHES serving raw files from another host name)
    an answer may be right for this run, but the forge did not vouch for it: a cache must
    keep it for the run only, never for ever under a commit. The forge calls this while it
    answers; :func:`provenance` tells the caller.
    """
    _FROM_THE_FORGE.set(False)


@contextlib.contextmanager
def provenance() -> Iterator[Callable[[], bool]]:
    """For the ``with`` block: a function telling whether what the forge answered so far, a
    value or a "does not exist", came from its own hosts throughout (see
    :func:`answered_elsewhere`)."""
    token = _FROM_THE_FORGE.set(True)
    try:
        yield _FROM_THE_FORGE.get
    finally:
        _FROM_THE_FORGE.reset(token)


@runtime_checkable
class Forge(Protocol):
    """Read-only view of a GitHub-like forge."""

    async def list_refs(self, repo: str) -> RefListing:
        """Every ``refs/heads/*`` and ``refs/tags/*`` of ``owner/repo``, tags peeled.

        One request per repository (git ``ls-refs``); raises NotFoundError if the repo is missing.
        """
        ...

    async def get_file(self, repo: str, commit: str, path: str) -> bytes | None:
        """The bytes of ``path`` at ``commit`` (a full SHA), or None if it does not exist there.

        Content addressed by a commit SHA is immutable: implementations may cache it forever
        (unless the answer came from elsewhere: :func:`answered_elsewhere`).
        """
        ...

    async def get_commit(self, repo: str, ref: str) -> Commit:
        """The commit ``ref`` (branch, tag or SHA) names; NotFoundError if none.

        Warning: GitHub serves fork-network commits here too. Existence is not reachability.
        """
        ...

    async def compare(self, repo: str, base: str, head: str) -> Comparison | None:
        """How ``head`` relates to ``base``; None when GitHub answers 404 (no common history)."""
        ...

    async def get_tag_object(self, repo: str, sha: str) -> TagObject:
        """The annotated tag object ``sha``; NotFoundError if it is not one."""
        ...

    async def list_releases(self, repo: str) -> tuple[Release, ...]:
        """Every release (all pages), newest first as GitHub orders them; drafts included."""
        ...

    async def get_repo(self, repo: str) -> RepoInfo:
        """Repository metadata (canonical name, default branch, archived); NotFoundError if
        missing."""
        ...

    async def list_advisories(self, package: str) -> tuple[Advisory, ...]:
        """The reviewed global security advisories naming ``package`` (``owner/repo`` or
        ``owner/repo/path``) in the ``actions`` ecosystem, withdrawn ones included (their
        ``withdrawn_at`` says so); ``()`` when there are none. NotFoundError when the forge
        has no advisory database at all.

        Advisories change (new ones, corrected ranges), so answers are kept briefly; the
        GitHub forge batches concurrent questions into one request (``affects`` takes many
        packages).
        """
        ...


class NotBatched(Exception):
    """A batched comparison (:meth:`BatchedCompare.compare_ref`) the batch could not answer.

    Not a failure: the caller asks :meth:`Forge.compare` itself, one request per ref, where it
    can count each request against its budget and the API quota.
    """


@runtime_checkable
class BatchedCompare(Protocol):
    """What a forge may add to :class:`Forge` so that containment checks cost few requests.

    Optional (duck-typed, like ``prefetch_lookups``): the containment check
    (:func:`pinner.core.verify.check_reachability`) uses what a forge has and falls back to
    :meth:`Forge.compare`, one ref at a time, otherwise.
    """

    @property
    def compares_per_request(self) -> int:
        """How many :meth:`compare_ref` answers one request carries now (1: no batching)."""
        ...

    @property
    def authenticated(self) -> bool:
        """Whether requests carry a token (a token is what unlocks batching on GitHub)."""
        ...

    async def compare_ref(self, repo: str, ref: GitRef, head: str) -> Comparison | None:
        """``compare(repo, ref.commit, head)``, asked together with every other comparison
        asked at the same moment; :class:`NotBatched` when the batch cannot answer it."""
        ...

    def compare_quota(self) -> int | None:
        """Single comparisons (REST) that may still be spent before the API quota runs low;
        None when no limit is known."""
        ...


class CacheStore(Protocol):
    """A persistent key-value store shared by concurrent pinner processes.

    Keys are strings (namespaced, e.g. ``file/owner/repo/<sha>/action.yml``); values bytes.
    ``ttl`` None means immutable (kept forever). ``get`` returns the value and, for entries
    with a TTL, whether it is still fresh; callers revalidate stale entries (ETags).
    """

    def get(self, key: str) -> CacheEntry | None: ...

    def put(
        self, key: str, value: bytes, *, ttl: float | None = None, etag: str | None = None
    ) -> None: ...


class CacheEntry(Protocol):
    value: bytes
    etag: str | None
    fresh: bool  # False once a TTL entry has expired (still usable for revalidation/offline)
