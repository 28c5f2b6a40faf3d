"""The GitHub REST endpoints pinner needs, with ETag revalidation and strict response shapes.

Why ETags here: the persistent cache in front of the forge (:mod:`pinner.forge.cached`) keeps
answers about mutable things (releases, repository metadata, comparisons against a branch) for a
short TTL only. When that expires, asking again with ``If-None-Match`` usually gets a 304, which
GitHub does not count against the rate limit. So this layer keeps the raw REST bodies with their
ETags (namespace ``http/`` in the :class:`~pinner.forge.base.CacheStore`) and revalidates them.

Every response is checked for the shape pinner relies on; a wrong shape or undecodable JSON is
the forge's fault and becomes :class:`~pinner.errors.RemoteError`, never a KeyError.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from pinner.errors import NotFoundError, OfflineMiss, RemoteError, TooLargeError
from pinner.forge.base import CacheStore, answered_elsewhere
from pinner.forge.http import (
    HTML_MEDIA_TYPES,
    RequestKind,
    Transport,
    host_key,
    next_link,
    safe_url,
)
from pinner.models import (
    SHA_RE,
    Advisory,
    AffectedPackage,
    Commit,
    Comparison,
    Release,
    ReleaseAsset,
    RepoInfo,
    TagObject,
    cvss_base_score,
    is_database_id,
)

log = logging.getLogger("pinner.forge")

API_VERSION = "2022-11-28"
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
RAW_MEDIA_TYPE = "application/vnd.github.raw"
PER_PAGE = 100
MAX_PAGES = 30
"""Hard cap on pages followed for one listing (3,000 releases): a loop or a hostile server
cannot keep pinner paging forever."""

DEFAULT_REST_TTL = 60.0
"""How long a mutable REST body is used without asking; after that it is revalidated by ETag."""

MAX_JSON_BYTES = 32 * 1024 * 1024
MAX_LIST_BYTES = 64 * 1024 * 1024
"""Cap on the bytes of all pages of one listing together: :data:`MAX_PAGES` pages of
:data:`MAX_JSON_BYTES` each would be a gigabyte of JSON, several in memory once parsed. A real
listing of 3,000 releases with their notes is a few megabytes."""

_REPO_PART = re.compile(r"^[A-Za-z0-9_.-]+$")


def split_repo(repo: str) -> tuple[str, str]:
    """``owner/repo`` -> (owner, repo), refusing anything that could escape the URL path.

    A name GitHub cannot have definitively names no repository: NotFoundError, a finding.
    """
    owner, slash, name = repo.partition("/")
    if (
        not slash
        or not _REPO_PART.match(owner)
        or not _REPO_PART.match(name)
        or owner in (".", "..")
        or name in (".", "..")
    ):
        raise NotFoundError(f"{repo!r} is not a valid owner/repository name")
    return owner, name


def quote_ref(ref: str) -> str:
    """A ref for a URL path: slashes kept (``release/v1``), everything else escaped."""
    if not ref or any(part in ("", ".", "..") for part in ref.split("/")):
        raise NotFoundError(f"{ref!r} is not a valid git ref")
    return quote(ref, safe="/")


def quote_path(path: str) -> str:
    """A file path inside a repository for a URL: each segment escaped, no ``..``."""
    parts = path.split("/")
    if not path or any(part in ("", ".", "..") for part in parts):
        raise NotFoundError(f"{path!r} is not a valid file path in a repository")
    return "/".join(quote(part, safe="") for part in parts)


# ----------------------------------------------------------------------------- shape checks


class JsonShape:
    """Typed access to a decoded JSON object; a missing or mistyped field is a RemoteError."""

    def __init__(self, obj: Any, what: str):
        if not isinstance(obj, dict):
            raise RemoteError(f"{what}: expected a JSON object, got {type(obj).__name__}")
        self.obj: dict[str, Any] = obj
        self.what = what

    def _bad(self, key: str, expected: str) -> RemoteError:
        return RemoteError(f"{self.what}: field {key!r} missing or not {expected}")

    def str(self, key: str) -> str:
        value = self.obj.get(key)
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def opt_str(self, key: str) -> str | None:
        value = self.obj.get(key)
        if value is not None and not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def int(self, key: str) -> int:
        value = self.obj.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._bad(key, "an integer")
        return value

    def opt_int(self, key: str) -> int | None:
        value = self.obj.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise self._bad(key, "an integer")
        return value

    def bool(self, key: str, default: bool | None = None) -> bool:
        value = self.obj.get(key, default)
        if not isinstance(value, bool):
            raise self._bad(key, "a boolean")
        return value

    def sub(self, key: str) -> JsonShape:
        return JsonShape(self.obj.get(key), f"{self.what}.{key}")

    def opt_sub(self, key: str) -> JsonShape | None:
        value = self.obj.get(key)
        return None if value is None else JsonShape(value, f"{self.what}.{key}")

    def list(self, key: str) -> list[Any]:
        value = self.obj.get(key, [])
        if not isinstance(value, list):
            raise self._bad(key, "a list")
        return value

    def sha(self, key: str) -> str:
        value = self.str(key).lower()
        if not SHA_RE.match(value):
            raise self._bad(key, "a 40-hex SHA")
        return value

    def date(self, key: str) -> datetime | None:
        value = self.opt_str(key)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self._bad(key, "an ISO 8601 date") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_commit(obj: Any) -> Commit:
    shape = JsonShape(obj, "commit")
    inner = shape.sub("commit")
    committer = inner.opt_sub("committer")
    parents = tuple(JsonShape(p, "commit.parents[]").sha("sha") for p in shape.list("parents"))
    return Commit(
        sha=shape.sha("sha"),
        date=committer.date("date") if committer is not None else None,
        parents=parents,
    )


def parse_comparison(obj: Any) -> Comparison:
    shape = JsonShape(obj, "comparison")
    status = shape.str("status")
    if status not in ("identical", "ahead", "behind", "diverged"):
        raise RemoteError(f"comparison: unknown status {status[:40]!r}")
    base = shape.opt_sub("merge_base_commit")
    return Comparison(
        status=status,
        ahead_by=shape.int("ahead_by"),
        behind_by=shape.int("behind_by"),
        merge_base=base.sha("sha") if base is not None else None,
    )


def parse_tag_object(obj: Any) -> TagObject:
    shape = JsonShape(obj, "tag object")
    target = shape.sub("object")
    tagger = shape.opt_sub("tagger")
    return TagObject(
        sha=shape.sha("sha"),
        tag=shape.str("tag"),
        object_sha=target.sha("sha"),
        object_type=target.str("type"),
        tagger_date=tagger.date("date") if tagger is not None else None,
    )


def parse_release(obj: Any) -> Release:
    shape = JsonShape(obj, "release")
    assets = []
    for raw_asset in shape.list("assets"):
        asset = JsonShape(raw_asset, "release.assets[]")
        assets.append(
            ReleaseAsset(
                name=asset.str("name"),
                url=asset.str("url"),
                browser_download_url=asset.str("browser_download_url"),
                size=asset.int("size"),
                digest=asset.opt_str("digest"),
            )
        )
    return Release(
        tag_name=shape.str("tag_name"),
        name=shape.opt_str("name"),
        published_at=shape.date("published_at"),
        draft=shape.bool("draft", False),
        prerelease=shape.bool("prerelease", False),
        html_url=shape.str("html_url"),
        immutable=shape.bool("immutable", False),
        assets=tuple(assets),
    )


def parse_repo(obj: Any) -> RepoInfo:
    shape = JsonShape(obj, "repository")
    extra = {k: shape.obj[k] for k in ("id", "fork", "private", "visibility") if k in shape.obj}
    return RepoInfo(
        full_name=shape.str("full_name"),
        default_branch=shape.str("default_branch"),
        html_url=shape.str("html_url"),
        archived=shape.bool("archived", False),
        repo_id=_database_id(shape.opt_int("id")),
        owner_id=_database_id(owner.opt_int("id")) if (owner := shape.opt_sub("owner")) else None,
        extra=extra,
    )


def _database_id(value: int | None) -> int | None:
    """An id as :class:`RepoInfo` keeps it: None unless it can be a database id (0, negative
    or oversized ids would be written into ``actions.lock``, which GitHub then refuses)."""
    return value if is_database_id(value) else None


ADVISORY_SEVERITIES = ("critical", "high", "medium", "low", "unknown")
ADVISORY_ECOSYSTEM = "actions"
ADVISORY_TYPE = "reviewed"
"""GitHub-reviewed advisories: the ones with version ranges (``unreviewed`` ones name no
ecosystem package, and ``malware`` advisories exist for npm only)."""


def parse_advisory(obj: Any) -> Advisory:
    """A ``global-advisory`` object; only the fields pinner acts on are required to be sound."""
    shape = JsonShape(obj, "advisory")
    ghsa = shape.str("ghsa_id")
    severity = shape.str("severity")
    if severity not in ADVISORY_SEVERITIES:
        severity = "unknown"
    packages = []
    for raw in shape.list("vulnerabilities") if shape.obj.get("vulnerabilities") else ():
        entry = JsonShape(raw, f"advisory {ghsa}.vulnerabilities[]")
        package = entry.opt_sub("package")
        name = package.opt_str("name") if package is not None else None
        if package is None or not name:
            continue  # a vulnerability naming no package names nothing pinner runs
        packages.append(
            AffectedPackage(
                ecosystem=package.str("ecosystem"),
                name=name,
                vulnerable_range=entry.opt_str("vulnerable_version_range"),
                first_patched=entry.opt_str("first_patched_version"),
            )
        )
    return Advisory(
        ghsa_id=ghsa,
        cve_id=shape.opt_str("cve_id"),
        summary=shape.str("summary"),
        severity=severity,
        html_url=shape.str("html_url"),
        published_at=shape.date("published_at"),
        withdrawn_at=shape.date("withdrawn_at"),
        packages=tuple(packages),
        cvss_score=cvss_base_score(shape.obj),
    )


# ----------------------------------------------------------------------------- client


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """A REST answer: status, decoded JSON (None unless 2xx), and the next page's URL."""

    status: int
    data: Any
    next_url: str | None
    url: str
    from_cache: bool = False
    size: int = 0  # bytes of the JSON body (what a listing's pages count against their cap)


class RestClient:
    """GitHub REST over the shared :class:`Transport`, with optional ETag revalidation."""

    def __init__(
        self,
        transport: Transport,
        api_base: str,
        cache: CacheStore | None = None,
        *,
        ttl: float = DEFAULT_REST_TTL,
        max_pages: int = MAX_PAGES,
        max_list_bytes: int = MAX_LIST_BYTES,
    ):
        self.transport = transport
        self.api_base = api_base.rstrip("/")
        self.cache = cache
        self.ttl = ttl
        self.max_pages = max_pages
        self.max_list_bytes = max_list_bytes
        self.rate_remaining: int | None = None  # the core API quota the last answer reported

    def url(self, path: str) -> str:
        return f"{self.api_base}/{path.lstrip('/')}"

    async def get(
        self,
        url: str,
        *,
        what: str,
        immutable: bool = False,
        cacheable: bool = True,
        check: Callable[[Any], object] | None = None,
        max_bytes: int = MAX_JSON_BYTES,
    ) -> ApiResponse:
        """GET a JSON resource; fresh cache entry -> no request, stale -> ``If-None-Match``.

        Only 200 answers from the API host itself are cached (one that came after a redirect
        to another host is used, not kept), and only once ``check`` (the endpoint's parser,
        which raises RemoteError on a wrong shape or a wrong object) accepted the data: an
        answer kept for ever (``immutable``, addressed by SHA) must never be a bad one. Non-2xx
        statuses are returned for the caller to interpret.
        """
        key = f"http/json/{url}"
        entry = self.cache.get(key) if (self.cache is not None and cacheable) else None
        cached = self._from_cache(entry.value, url, check) if entry is not None else None
        if cached is None:
            entry = None  # absent, or unreadable or failing the check: asked again, replaced
        stats = self.transport.stats
        if (
            entry is not None
            and cached is not None
            and (entry.fresh or self.transport.settings.offline)
        ):
            stats.cache_hits += 1
            return cached
        if self.transport.settings.offline:
            raise OfflineMiss(f"--offline: {what} is not in the cache ({safe_url(url)})")
        headers = dict(API_HEADERS)
        if entry is not None and entry.etag:
            headers["If-None-Match"] = entry.etag
        response = await self.transport.request(
            "GET", url, kind=RequestKind.REST, headers=headers, max_bytes=max_bytes, what=what
        )
        self._note_quota(response.headers)
        if response.status == 304 and entry is not None and cached is not None:
            stats.revalidated += 1
            assert self.cache is not None
            self.cache.put(key, entry.value, ttl=None if immutable else self.ttl, etag=entry.etag)
            return cached
        from_api = not response.from_another_host
        if not from_api:
            answered_elsewhere()  # used for this run (a 404 too), kept by no cache
        if not 200 <= response.status < 300:
            return ApiResponse(response.status, None, None, response.url)
        data = response.json(what)
        if check is not None:
            check(data)
        link = next_link(response.headers.get("link"))
        if self.cache is not None and cacheable and from_api and response.status == 200:
            envelope = json.dumps({"next": link}).encode() + b"\n" + response.body
            self.cache.put(
                key,
                envelope,
                ttl=None if immutable else self.ttl,
                etag=response.headers.get("etag"),
            )
        return ApiResponse(response.status, data, link, response.url, size=len(response.body))

    def _note_quota(self, headers: Mapping[str, str]) -> None:
        """Remember the core REST quota left (``x-ratelimit-remaining``): what the
        containment check may still spend without a token (see ``compare_quota``)."""
        resource = headers.get("x-ratelimit-resource", "core")
        remaining = headers.get("x-ratelimit-remaining", "").strip()
        if resource == "core" and remaining.isdigit():
            self.rate_remaining = int(remaining)

    @staticmethod
    def _from_cache(
        value: bytes, url: str, check: Callable[[Any], object] | None
    ) -> ApiResponse | None:
        """A stored answer, or None when it is unreadable or fails ``check`` (written by an
        older pinner, say): then it is asked for again and replaced, never served."""
        head, _, body = value.partition(b"\n")
        try:
            link = json.loads(head).get("next")
            data = json.loads(body)
            if check is not None:
                check(data)
        except (ValueError, AttributeError, RecursionError, RemoteError):
            return None
        if link is not None and not isinstance(link, str):
            return None
        return ApiResponse(200, data, link, url, from_cache=True, size=len(body))

    async def get_pages(
        self, path: str, *, what: str, params: Mapping[str, str] | None = None
    ) -> list[Any]:
        """Every item of a paginated list, following ``Link: rel="next"`` (never built URLs);
        ``params`` go into the first page's query (``/`` and ``,`` left as they are)."""
        query = urlencode({**(params or {}), "per_page": str(PER_PAGE)}, safe="/,")
        url: str | None = self.url(f"{path}?{query}")
        api_host = host_key(self.api_base)
        items: list[Any] = []
        pages = 0
        seen: set[str] = set()
        budget = self.max_list_bytes
        while url is not None:
            if host_key(url) != api_host:
                raise RemoteError(f"{what}: pagination left the API host ({safe_url(url)})")
            if url in seen:  # page 2 -> page 1 -> page 2...: the same items again and again
                raise RemoteError(f"{what}: pagination loops back to {safe_url(url)}")
            seen.add(url)
            if pages >= self.max_pages:
                log.warning("%s: stopped after %d pages (hard cap)", what, self.max_pages)
                break
            over = f"{what}: its pages add up to more than {self.max_list_bytes} bytes"
            if budget <= 0:
                raise TooLargeError(over)
            try:
                response = await self.get(url, what=what, max_bytes=min(MAX_JSON_BYTES, budget))
            except TooLargeError:
                if budget < MAX_JSON_BYTES:
                    raise TooLargeError(over) from None
                raise
            budget -= response.size
            pages += 1
            if response.status == 404:
                raise NotFoundError(f"{what}: repository not found")
            _expect_ok(response, what)
            if not isinstance(response.data, list):
                raise RemoteError(f"{what}: expected a JSON list from {safe_url(url)}")
            items.extend(response.data)
            url = response.next_url
        return items

    async def _get_by_ref(
        self, url: str, what: str, ref: str, parse: Callable[[Any], Any]
    ) -> ApiResponse:
        """GET an object named by ``ref``: asked by SHA, the answer is kept for ever, so it is
        stored only once ``parse`` accepted it and it is that very object."""
        by_sha = bool(SHA_RE.match(ref))
        check = _parser_for(parse, ref if by_sha else None)
        return await self.get(url, what=what, immutable=by_sha, check=check)

    # -- endpoints

    async def get_commit(self, repo: str, ref: str) -> Commit:
        owner, name = split_repo(repo)
        what = f"commit {ref} of {repo}"
        url = self.url(f"repos/{owner}/{name}/commits/{quote_ref(ref)}")
        response = await self._get_by_ref(url, what, ref, parse_commit)
        if response.status in (404, 409, 422):
            raise NotFoundError(f"{repo}: no commit {ref!r} (HTTP {response.status})")
        _expect_ok(response, what)
        return parse_commit(response.data)

    async def compare(self, repo: str, base: str, head: str) -> Comparison | None:
        owner, name = split_repo(repo)
        what = f"compare {base}...{head} in {repo}"
        basehead = f"{quote_ref(base)}...{quote_ref(head)}"
        url = self.url(f"repos/{owner}/{name}/compare/{basehead}?per_page=1")
        immutable = bool(SHA_RE.match(base) and SHA_RE.match(head))
        response = await self.get(url, what=what, immutable=immutable, check=parse_comparison)
        if response.status == 404:
            return None
        _expect_ok(response, what)
        return parse_comparison(response.data)

    async def get_tag_object(self, repo: str, sha: str) -> TagObject:
        owner, name = split_repo(repo)
        what = f"tag object {sha} of {repo}"
        url = self.url(f"repos/{owner}/{name}/git/tags/{quote_ref(sha)}")
        response = await self._get_by_ref(url, what, sha, parse_tag_object)
        if response.status in (404, 422):
            raise NotFoundError(f"{repo}: {sha} is not an annotated tag object")
        _expect_ok(response, what)
        return parse_tag_object(response.data)

    async def list_releases(self, repo: str) -> tuple[Release, ...]:
        owner, name = split_repo(repo)
        items = await self.get_pages(f"repos/{owner}/{name}/releases", what=f"releases of {repo}")
        return tuple(parse_release(item) for item in items)

    async def get_repo(self, repo: str) -> RepoInfo:
        owner, name = split_repo(repo)
        what = f"repository {repo}"
        response = await self.get(self.url(f"repos/{owner}/{name}"), what=what, check=parse_repo)
        if response.status == 404:
            raise NotFoundError(f"repository {repo} not found")
        _expect_ok(response, what)
        return parse_repo(response.data)

    async def list_advisories(self, packages: Sequence[str]) -> dict[str, tuple[Advisory, ...]]:
        """The reviewed advisories naming each of ``packages`` in the actions ecosystem: one
        paginated ``GET /advisories?affects=P1,P2,...`` for all of them.

        An advisory is filed under every requested package one of its vulnerabilities names
        (case-insensitively, as GitHub compares package names). A 404 means the forge has no
        advisory database (an old GitHub Enterprise Server): NotFoundError.
        """
        wanted = {p.lower(): p for p in packages}
        what = f"security advisories of {len(wanted)} packages"
        params = {
            "ecosystem": ADVISORY_ECOSYSTEM,
            "type": ADVISORY_TYPE,
            "affects": ",".join(wanted.values()),
        }
        try:
            items = await self.get_pages("advisories", what=what, params=params)
        except NotFoundError:
            raise NotFoundError(f"{what}: the forge has no /advisories endpoint") from None
        found: dict[str, dict[str, Advisory]] = {p: {} for p in wanted}
        for item in items:
            advisory = parse_advisory(item)
            for package in advisory.packages:
                by_id = found.get(package.name.lower())
                if by_id is not None and package.ecosystem == ADVISORY_ECOSYSTEM:
                    by_id.setdefault(advisory.ghsa_id, advisory)
        return {p: tuple(found[p.lower()][k] for k in sorted(found[p.lower()])) for p in packages}

    async def get_contents_raw(
        self, repo: str, ref: str, path: str, *, max_bytes: int
    ) -> bytes | None:
        """``contents/PATH?ref=REF`` as raw bytes (the fallback when the raw host fails)."""
        owner, name = split_repo(repo)
        what = f"file {path} of {repo}@{ref[:12]}"
        url = self.url(
            f"repos/{owner}/{name}/contents/{quote_path(path)}?ref={quote(ref, safe='')}"
        )
        headers: Mapping[str, str] = {**API_HEADERS, "Accept": RAW_MEDIA_TYPE}
        response = await self.transport.request(
            "GET", url, kind=RequestKind.REST, headers=headers, max_bytes=max_bytes, what=what
        )
        if response.from_another_host:
            answered_elsewhere()  # right for this run, never cached for ever
        if response.status == 404:
            return None
        if response.status != 200:
            raise RemoteError(f"{what}: unexpected HTTP {response.status} from {safe_url(url)}")
        if response.media_type == "application/json":
            if response.body.lstrip()[:1] == b"[":
                return None  # a directory listing: no file by that name
            # the raw media type was ignored: that is the file's metadata, not the file
            raise RemoteError(f"{what}: the API answered JSON metadata instead of the file")
        if response.media_type in HTML_MEDIA_TYPES:
            raise RemoteError(f"{what}: the API answered an HTML page, not the file")
        return response.body


def _parser_for(parse: Callable[[Any], Any], sha: str | None) -> Callable[[Any], object]:
    """``parse``, also requiring the object to be the one asked for when asked by SHA (a
    server answering for another object must not have that answer kept for ever)."""
    if sha is None:
        return parse

    def check(data: Any) -> object:
        parsed = parse(data)
        if parsed.sha != sha.lower():
            raise RemoteError(f"answer for {sha}: the server sent object {parsed.sha} instead")
        return parsed

    return check


def _expect_ok(response: ApiResponse, what: str) -> None:
    if response.status == 401:  # with a token, the transport has said TokenRejected already
        raise RemoteError(
            f"{what}: the forge requires a token (HTTP 401 from {safe_url(response.url)}); "
            "set GITHUB_TOKEN, GH_TOKEN or --token"
        )
    if not 200 <= response.status < 300:
        raise RemoteError(
            f"{what}: unexpected HTTP {response.status} from {safe_url(response.url)}"
        )
