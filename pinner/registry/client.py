"""An OCI distribution (v2) client: tags to digests, digests verified, image dates, tag lists.

What ``docker pull IMAGE:TAG`` resolves is what is pinned: ``HEAD /v2/<name>/manifests/<tag>``
with every manifest type a client accepts (OCI index, OCI manifest, Docker manifest list,
Docker v2 manifest), so a multi-arch tag answers with its *index* digest and no platform is
ever chosen for the machine pinner happens to run on. ``HEAD`` costs no Docker Hub pull quota;
a body is fetched only when a registry leaves ``Docker-Content-Digest`` out, or when the image's
creation date is needed (``update``'s cooldown), and every body fetched is hashed and checked
against the digest it was asked for and the one the registry claims.

Authentication follows the registry's challenge: ``401`` with ``WWW-Authenticate: Bearer
realm=...,service=...,scope=...`` -> a token from the realm (anonymous, or with the user's
credential for that registry: :mod:`pinner.registry.auth`) -> the request again with it.
Tokens live in memory for the run, bound to their registry host; a realm learnt once serves the
other repositories of that registry without another challenge. ``Basic`` challenges get the
user's password when there is one. The GitHub token is never sent (the transport's
``REGISTRY`` channel carries none).

Caching (the same rules as for commits): what a digest names never changes, so "digest D is a
manifest of repository R" and an image's creation date are kept for ever; what a tag names
moves, so it is kept for a short TTL; a tag list too. An answer that came from another host
(after a redirect) is used for the run and never kept, as on the forge's channels; a creation
date is, as it is read from bodies hashed to their digests. The first time pinner saw a digest is
recorded for ever: ``update`` waits its cooldown from then when an image says nothing about
when it was built.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from pinner.errors import NotFoundError, OfflineMiss, RemoteError
from pinner.forge.base import CacheStore
from pinner.forge.http import (
    HostCredential,
    RequestKind,
    Response,
    Transport,
    host_key,
    is_loopback_host,
    next_link,
    safe_url,
)
from pinner.registry.auth import (
    Challenge,
    DockerConfig,
    RegistryCredential,
    json_document,
    parse_challenge,
)
from pinner.registry.names import DIGEST_RE, ImageRef
from pinner.sanitize import for_terminal
from pinner.singleflight import SingleFlight

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/vnd.docker.distribution.manifest.v1+json",
)
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
"""What ``docker pull`` accepts: the registry then serves the index of a multi-arch tag."""

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""The distribution project's own limit on a manifest's size."""

MAX_CONFIG_BYTES = 8 * 1024 * 1024
"""An image config is a few KiB (its history grows it); more is not a config."""

MAX_TAG_PAGES = 50
"""Pages of ``tags/list`` read at most (1,000 tags a page): bounded whatever the registry says."""

MAX_TAG_LIST_BYTES = 16 * 1024 * 1024
"""The bytes of all pages of one tag list together: 50 pages of 1,000 tags are about 2 MiB,
where 50 pages of :data:`MAX_MANIFEST_BYTES` would be 200 MiB (gigabytes once parsed)."""

DEFAULT_TAG_TTL = 600.0
"""Ten minutes, like ref listings: what a tag names changes, but not from one command to the
next one run a minute later."""

NOT_FOUND_TTL = 600.0
"""A digest or tag that is not there is asked again after this long (it may be pushed)."""

_EARLIEST_REAL_DATE = datetime(1990, 1, 1, tzinfo=UTC)
"""Reproducible builds stamp images with the epoch (1970): that is no build date."""


class RegistryDenied(NotFoundError):
    """The registry refuses access (private, or no such repository): a problem in the user's
    file or credentials, reported on its line, not a failure of the run."""


@dataclass(frozen=True, slots=True)
class ManifestInfo:
    """What a tag or digest names in a repository."""

    digest: str
    media_type: str

    @property
    def is_index(self) -> bool:
        """A multi-platform image (OCI index or Docker manifest list)."""
        return self.media_type in INDEX_TYPES


@dataclass(frozen=True, slots=True)
class ImageDate:
    """When an image was built (its own word), or first seen by pinner; ``source`` says which."""

    at: datetime | None
    source: str  # "created" (annotation or config) | "first-seen" | "unknown"


class RegistryClient:
    """Ask registries about images over the shared transport, with the cache in front."""

    def __init__(
        self,
        transport: Transport,
        *,
        config: DockerConfig | None = None,
        store: CacheStore | None = None,
        offline: bool = False,
        tag_ttl: float = DEFAULT_TAG_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.transport = transport
        self.config = config
        self.store = store
        self.offline = offline
        self.tag_ttl = tag_ttl
        self._clock = clock
        self._memo: SingleFlight[tuple[str, ...], object] = SingleFlight()
        self._tokens: dict[tuple[str, str], HostCredential] = {}
        self._token_flight: SingleFlight[tuple[str, str], HostCredential | None] = SingleFlight()
        self._realms: dict[str, Challenge] = {}  # registry host -> its Bearer challenge
        self._credentials: dict[str, RegistryCredential | None] = {}
        self._secrets: set[str] = set()

    # ------------------------------------------------------------------ public

    async def resolve(self, ref: ImageRef) -> ManifestInfo:
        """What ``ref``'s tag (``latest`` when none) names now; NotFoundError when nothing."""
        tag = ref.effective_tag
        key = ("tag", ref.api_host, ref.path, tag)
        return await self._memo.get(key, lambda: self._resolve(ref, tag))  # type: ignore[return-value]

    async def has_manifest(self, ref: ImageRef, digest: str) -> ManifestInfo | None:
        """The manifest ``digest`` in ``ref``'s repository, or None when that repository has no
        such manifest (a digest of another repository: an impostor). RegistryDenied when the
        repository cannot be read at all."""
        key = ("digest", ref.api_host, ref.path, digest)
        return await self._memo.get(key, lambda: self._has_manifest(ref, digest))  # type: ignore[return-value]

    async def image_date(self, ref: ImageRef, digest: str) -> ImageDate:
        """When the image ``digest`` was built, from its OCI ``created`` annotation or its
        config's ``created``; else when pinner first saw it (recorded now if never)."""
        key = ("date", ref.api_host, ref.path, digest)
        return await self._memo.get(key, lambda: self._image_date(ref, digest))  # type: ignore[return-value]

    async def list_tags(self, ref: ImageRef) -> tuple[str, ...]:
        """Every tag of ``ref``'s repository (all pages of ``tags/list``)."""
        key = ("tags", ref.api_host, ref.path)
        return await self._memo.get(key, lambda: self._list_tags(ref))  # type: ignore[return-value]

    def note_seen(self, ref: ImageRef, digest: str) -> datetime | None:
        """Record (once, for ever) that pinner saw ``digest`` in ``ref``'s repository now;
        returns when it was first seen (None without a cache)."""
        if self.store is None:
            return None
        key = f"image/{ref.api_host}/{ref.path}/seen/{digest}"
        entry = self.store.get(key)
        if entry is not None:
            try:
                return datetime.fromtimestamp(float(entry.value.decode()), UTC)
            except (ValueError, UnicodeDecodeError):
                pass
        now = self._clock()
        if not self.offline:
            self.store.put(key, repr(now).encode(), ttl=None)
        return datetime.fromtimestamp(now, UTC)

    def scrub(self, text: str) -> str:
        """``text`` without any registry secret (passwords, identity and bearer tokens)."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    # ------------------------------------------------------------------ tag, digest

    async def _resolve(self, ref: ImageRef, tag: str) -> ManifestInfo:
        cache_key = f"image/{ref.api_host}/{ref.path}/tag/{tag}"
        cached = self._cached(cache_key)
        if cached is not None:
            return _info_from_json(cached, cache_key)
        response = await self._send("HEAD", ref, f"manifests/{tag}", what=f"resolve {ref}")
        info = self._manifest_answer(response, ref, None, what=f"{ref.familiar}:{tag}")
        if info is None:
            raise NotFoundError(f"tag {tag!r} not found in {ref.repository}")
        if not response.from_another_host:
            self._put(cache_key, _info_json(info), ttl=self.tag_ttl)
        return info

    async def _has_manifest(self, ref: ImageRef, digest: str) -> ManifestInfo | None:
        cache_key = f"image/{ref.api_host}/{ref.path}/manifest/{digest}"
        cached = self._cached(cache_key)
        if cached is not None:
            document = json_document(cached)
            return _info_from_json(cached, cache_key) if document.get("digest") else None
        response = await self._send("HEAD", ref, f"manifests/{digest}", what=f"verify {ref}")
        info = self._manifest_answer(response, ref, digest, what=f"{ref.familiar}@{digest}")
        if response.from_another_host:
            return info  # that host's word, not the registry's: for this run only
        if info is None:
            self._put(cache_key, b"{}", ttl=NOT_FOUND_TTL)
            return None
        self._put(cache_key, _info_json(info), ttl=None)
        return info

    def _manifest_answer(
        self, response: Response, ref: ImageRef, digest: str | None, *, what: str
    ) -> ManifestInfo | None:
        """Interpret a manifest HEAD/GET: the info, None for 404, errors otherwise."""
        if response.status == 404:
            return None
        self._raise_for_status(response, ref)
        media_type = response.media_type
        if media_type in SCHEMA1:
            raise NotFoundError(
                f"{what}: a schema 1 manifest (deprecated, signed per pull); it has no stable "
                "digest to pin"
            )
        claimed = response.headers.get("docker-content-digest", "").strip()
        if claimed and not DIGEST_RE.match(claimed):
            raise RemoteError(f"{what}: the registry sent an invalid digest {claimed[:80]!r}")
        if digest is not None and claimed and claimed != digest:
            raise RemoteError(
                f"{what}: the registry answered for {claimed} instead (asked for {digest})"
            )
        found = claimed or digest
        if found is None:
            return None  # a HEAD without the digest header: the caller fetches the body
        return ManifestInfo(found, media_type or DOCKER_MANIFEST)

    async def _send(self, method: str, ref: ImageRef, suffix: str, *, what: str) -> Response:
        """A manifest request; a HEAD the registry answers without a digest becomes a GET."""
        url = f"{_base(ref.api_host)}/v2/{ref.path}/{suffix}"
        response = await self._authorised(
            method, url, ref, headers={"Accept": ACCEPT}, what=what, max_bytes=MAX_MANIFEST_BYTES
        )
        if method == "HEAD" and (
            response.status in (400, 405, 501)
            or (response.status == 200 and "docker-content-digest" not in response.headers)
        ):
            body = await self._get_verified(ref, suffix.removeprefix("manifests/"), what=what)
            return body[0]
        return response

    async def _get_verified(
        self, ref: ImageRef, reference: str, *, what: str
    ) -> tuple[Response, bytes]:
        """GET a manifest by tag or digest; its body's sha256 must be the digest asked for and
        the one the registry claims. The response then carries that digest."""
        url = f"{_base(ref.api_host)}/v2/{ref.path}/manifests/{reference}"
        response = await self._authorised(
            "GET", url, ref, headers={"Accept": ACCEPT}, what=what, max_bytes=MAX_MANIFEST_BYTES
        )
        if response.status != 200:
            return response, b""
        actual = "sha256:" + hashlib.sha256(response.body).hexdigest()
        claimed = response.headers.get("docker-content-digest", "").strip()
        expected = reference if DIGEST_RE.match(reference) else claimed
        if expected.startswith("sha512:"):
            actual = "sha512:" + hashlib.sha512(response.body).hexdigest()
        if (expected and actual != expected) or (claimed and claimed != actual):
            raise RemoteError(
                f"{what}: the manifest served hashes to {actual}, not {expected or claimed} "
                f"({safe_url(url)}): refusing it"
            )
        headers = response.headers.copy()
        headers["docker-content-digest"] = actual
        return Response(200, headers, response.body, response.url, response.request_url), (
            response.body
        )

    # ------------------------------------------------------------------ dates

    async def _image_date(self, ref: ImageRef, digest: str) -> ImageDate:
        cache_key = f"image/{ref.api_host}/{ref.path}/created/{digest}"
        cached = self._cached(cache_key)
        created: datetime | None
        if cached is not None:
            value = json_document(cached).get("created")
            created = _parse_date(value) if isinstance(value, str) else None
        else:
            created = await self._created(ref, digest)
            stamp = created.isoformat() if created is not None else None
            self._put(cache_key, json.dumps({"created": stamp}).encode(), ttl=None)
        if created is not None:
            return ImageDate(created, "created")
        seen = self.note_seen(ref, digest)
        return ImageDate(seen, "first-seen") if seen is not None else ImageDate(None, "unknown")

    async def _created(self, ref: ImageRef, digest: str) -> datetime | None:
        """The OCI ``org.opencontainers.image.created`` annotation, else the config's
        ``created`` (of the linux/amd64 image of an index, else its first image)."""
        document = await self._manifest_json(ref, digest)
        created = _annotation_date(document)
        if created is not None:
            return created
        if document.get("mediaType") in INDEX_TYPES or "manifests" in document:
            child = _platform_child(document)
            if child is None:
                return None
            document = await self._manifest_json(ref, child)
            created = _annotation_date(document)
            if created is not None:
                return created
        config = document.get("config")
        if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
            return None
        config_digest = config["digest"]
        if not DIGEST_RE.match(config_digest):
            return None
        blob = await self._blob(ref, config_digest)
        try:
            value = json_document(blob).get("created")
        except (ValueError, AttributeError, UnicodeDecodeError):
            return None
        return _parse_date(value) if isinstance(value, str) else None

    async def _manifest_json(self, ref: ImageRef, digest: str) -> dict[str, object]:
        what = f"{ref.familiar}@{digest}"
        response, body = await self._get_verified(ref, digest, what=what)
        if response.status == 404:
            raise NotFoundError(f"{what}: manifest not found in {ref.repository}")
        self._raise_for_status(response, ref)
        try:
            document = json_document(body)
        except (ValueError, UnicodeDecodeError):
            raise RemoteError(f"{what}: the manifest is not JSON") from None
        if not isinstance(document, dict):
            raise RemoteError(f"{what}: the manifest is not a JSON object")
        return document

    async def _blob(self, ref: ImageRef, digest: str) -> bytes:
        url = f"{_base(ref.api_host)}/v2/{ref.path}/blobs/{digest}"
        what = f"{ref.familiar} config {digest[:19]}"
        response = await self._authorised("GET", url, ref, what=what, max_bytes=MAX_CONFIG_BYTES)
        if response.status == 404:
            raise NotFoundError(f"{what}: blob not found in {ref.repository}")
        self._raise_for_status(response, ref)
        algorithm = digest.split(":", 1)[0]
        actual = f"{algorithm}:" + hashlib.new(algorithm, response.body).hexdigest()
        if actual != digest:
            raise RemoteError(f"{what}: the blob served hashes to {actual}: refusing it")
        return response.body

    # ------------------------------------------------------------------ tags

    async def _list_tags(self, ref: ImageRef) -> tuple[str, ...]:
        cache_key = f"image/{ref.api_host}/{ref.path}/tags"
        cached = self._cached(cache_key)
        if cached is not None:
            return tuple(json_document(cached))
        base = _base(ref.api_host)
        url: str | None = f"{base}/v2/{ref.path}/tags/list?n=1000"
        tags: list[str] = []
        pages = 0
        seen: set[str] = set()
        budget = MAX_TAG_LIST_BYTES
        elsewhere = False  # a page came from another host (a redirect): not the registry's word
        what = f"list tags of {ref.familiar}"
        while url is not None and pages < MAX_TAG_PAGES:
            pages += 1
            if url in seen or budget <= 0:  # a page linking back, or pages without end
                why = "its pages loop" if url in seen else "its pages are too large together"
                raise RemoteError(f"{what}: {why}")
            seen.add(url)
            response = await self._authorised(
                "GET", url, ref, what=what, max_bytes=min(MAX_MANIFEST_BYTES, budget)
            )
            budget -= len(response.body)
            elsewhere = elsewhere or response.from_another_host
            if response.status == 404:
                raise NotFoundError(f"repository {ref.repository} not found")
            self._raise_for_status(response, ref)
            try:
                document = json_document(response.body)
                page = document.get("tags") or []
            except (ValueError, AttributeError, UnicodeDecodeError):
                raise RemoteError(f"{what}: not a tag list") from None
            tags.extend(t for t in page if isinstance(t, str))
            url = _next_page(response, base)
        result = tuple(dict.fromkeys(tags))
        if not elsewhere:
            self._put(cache_key, json.dumps(list(result)).encode(), ttl=self.tag_ttl)
        return result

    # ------------------------------------------------------------------ authentication

    async def _authorised(
        self,
        method: str,
        url: str,
        ref: ImageRef,
        *,
        what: str,
        headers: dict[str, str] | None = None,
        max_bytes: int,
    ) -> Response:
        """Send with the token this repository needs, getting one when challenged."""
        host = host_key(url)
        scope = f"repository:{ref.path}:pull"
        credential = await self._credential_for(host, scope)
        response = await self._request(
            method, url, headers=headers, credential=credential, what=what, max_bytes=max_bytes
        )
        if response.status != 401:
            return response
        challenge = parse_challenge(response.headers.get("www-authenticate"))
        credential = await self._answer(host, challenge, scope, ref)
        if credential is None:
            raise RegistryDenied(_denied(ref, self._user_credential(ref.api_host) is not None))
        response = await self._request(
            method, url, headers=headers, credential=credential, what=what, max_bytes=max_bytes
        )
        if response.status == 401:
            raise RegistryDenied(_denied(ref, self._user_credential(ref.api_host) is not None))
        return response

    async def _credential_for(self, host: str, scope: str) -> HostCredential | None:
        """What to send before any challenge: a token already held for this scope, a token
        fetched from the realm this registry named before, or a static registry token."""
        held = self._tokens.get((host, scope))
        if held is not None:
            return held
        challenge = self._realms.get(host)
        if challenge is not None:
            return await self._token(host, challenge, scope)
        user = self._user_credential(host)
        if user is not None and user.registry_token:
            return HostCredential(host, f"Bearer {user.registry_token}")
        return None

    async def _answer(
        self, host: str, challenge: Challenge | None, scope: str, ref: ImageRef
    ) -> HostCredential | None:
        if challenge is None:
            return None
        if challenge.scheme == "bearer" and challenge.realm:
            self._realms[host] = challenge
            wanted = challenge.params.get("scope") or scope
            return await self._token(host, challenge, wanted, key_scope=scope)
        if challenge.scheme == "basic":
            user = self._user_credential(host)
            basic = user.basic() if user is not None else None
            return HostCredential(host, basic) if basic else None
        return None

    async def _token(
        self, host: str, challenge: Challenge, scope: str, *, key_scope: str | None = None
    ) -> HostCredential | None:
        """One token per (registry, scope) and run, however many requests need it."""
        credential = await self._token_flight.get(
            (host, scope), lambda: self._fetch_token(host, challenge, scope)
        )
        if credential is not None:
            self._tokens[(host, key_scope or scope)] = credential
        return credential

    async def _fetch_token(
        self, host: str, challenge: Challenge, scope: str
    ) -> HostCredential | None:
        """A bearer token from the challenge's realm (the distribution token protocol)."""
        realm = challenge.realm or ""
        parts = urlsplit(realm)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise RemoteError(f"registry {host}: invalid token realm {realm[:100]!r}")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise RemoteError(
                f"registry {host}: refusing a token realm over plain http ({safe_url(realm)})"
            )
        realm_host = host_key(realm)
        user = self._user_credential(host)
        service = challenge.params.get("service")
        params = {"service": service} if service else {}
        what = f"token for {scope} from {realm_host}"
        if user is not None and user.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": user.identity_token,
                "client_id": "pinner",
                "scope": scope,
                **params,
            }
            response = await self._request(
                "POST",
                realm,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                content=urlencode(form).encode(),
                credential=None,
                what=what,
                max_bytes=1024 * 1024,
            )
        else:
            basic = user.basic() if user is not None else None
            query = urlencode({**params, "scope": scope})
            url = f"{realm}{'&' if '?' in realm else '?'}{query}"
            response = await self._request(
                "GET",
                url,
                credential=HostCredential(realm_host, basic) if basic else None,
                what=what,
                max_bytes=1024 * 1024,
            )
        if response.status in (401, 403):
            if user is not None:
                raise RegistryDenied(
                    f"registry {host}: the token service {realm_host} rejected the credentials "
                    f"from {self.config.source if self.config else 'the configuration'}"
                )
            return None
        if response.status != 200:
            raise RemoteError(f"{what}: HTTP {response.status}")
        try:
            document = json_document(response.body)
            token = document.get("token") or document.get("access_token")
        except (ValueError, AttributeError, UnicodeDecodeError):
            raise RemoteError(f"{what}: not a token response") from None
        if not isinstance(token, str) or not token or any(c in token for c in "\r\n "):
            raise RemoteError(f"{what}: not a token response")
        self._secrets.add(token)
        return HostCredential(host, f"Bearer {token}")

    def _user_credential(self, host: str) -> RegistryCredential | None:
        if self.config is None:
            return None
        if host not in self._credentials:
            credential = self.config.credential_for(host)
            self._credentials[host] = credential
            if credential is not None:
                self._secrets.update(credential.secrets())
        return self._credentials[host]

    async def _request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        credential: HostCredential | None,
        what: str,
        max_bytes: int,
    ) -> Response:
        try:
            return await self.transport.request(
                method,
                url,
                kind=RequestKind.REGISTRY,
                headers=headers,
                content=content,
                credential=credential,
                send_token=False,
                max_bytes=max_bytes,
                what=what,
            )
        except RemoteError as exc:
            scrubbed = self.scrub(str(exc))
            if scrubbed == str(exc):
                raise
            raise type(exc)(scrubbed) from None

    # ------------------------------------------------------------------ errors, cache

    def _raise_for_status(self, response: Response, ref: ImageRef) -> None:
        if 200 <= response.status < 300:
            return
        if response.status in (401, 403):
            raise RegistryDenied(_denied(ref, self._user_credential(ref.api_host) is not None))
        code = _error_code(response.body)
        if response.status == 404 or code in ("NAME_UNKNOWN", "MANIFEST_UNKNOWN"):
            raise NotFoundError(f"repository {ref.repository} not found ({code or 'HTTP 404'})")
        detail = f" {for_terminal(self.scrub(code), single_line=True)}" if code else ""
        raise RemoteError(
            f"registry {ref.api_host} answered HTTP {response.status}{detail} for {ref.familiar}"
        )

    def _cached(self, key: str) -> bytes | None:
        if self.store is None:
            return None
        entry = self.store.get(key)
        if entry is None:
            if self.offline:
                raise OfflineMiss(f"--offline: {key.split('/', 1)[1]} is not in the cache")
            return None
        if entry.fresh or self.offline:
            return entry.value
        return None

    def _put(self, key: str, value: bytes, *, ttl: float | None) -> None:
        if self.store is not None and not self.offline:
            self.store.put(key, value, ttl=ttl)


def _base(host: str) -> str:
    """``https://HOST``, or ``http://HOST`` for a loopback registry (tests, local mirrors)."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return f"{'http' if is_loopback_host(name) else 'https'}://{host}"


def _denied(ref: ImageRef, with_credentials: bool) -> str:
    if with_credentials:
        return (
            f"pull access to {ref.repository} denied with the configured credentials "
            "(no such repository, or no permission)"
        )
    return (
        f"pull access to {ref.repository} denied: no such repository, or it is private "
        "(give credentials with --registry-auth FILE or DOCKER_CONFIG)"
    )


def _info_json(info: ManifestInfo) -> bytes:
    return json.dumps({"digest": info.digest, "media_type": info.media_type}).encode()


def _info_from_json(data: bytes, key: str) -> ManifestInfo:
    try:
        document = json_document(data)
        return ManifestInfo(str(document["digest"]), str(document["media_type"]))
    except (ValueError, KeyError, TypeError):
        raise RemoteError(f"corrupt cache entry {key}") from None


def _error_code(body: bytes) -> str | None:
    """The first ``errors[].code`` of a distribution error body."""
    try:
        errors = json_document(body).get("errors")
        code = errors[0].get("code") if errors else None
    except (ValueError, AttributeError, IndexError, TypeError, UnicodeDecodeError):
        return None
    return code[:64] if isinstance(code, str) else None


def _parse_date(value: str) -> datetime | None:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Go writes nanoseconds; Python takes at most microseconds
    if "." in text:
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment if moment >= _EARLIEST_REAL_DATE else None


def _annotation_date(document: dict[str, object]) -> datetime | None:
    annotations = document.get("annotations")
    if isinstance(annotations, dict):
        value = annotations.get("org.opencontainers.image.created")
        if isinstance(value, str):
            return _parse_date(value)
    return None


def _platform_child(index: dict[str, object]) -> str | None:
    """The image of an index whose date stands for all: linux/amd64, else the first image
    (attestations, ``unknown/unknown``, are not images)."""
    manifests = index.get("manifests")
    if not isinstance(manifests, list):
        return None
    images: list[tuple[str, dict[str, object]]] = []
    for entry in manifests:
        if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
            continue
        if not DIGEST_RE.match(entry["digest"]):
            continue
        platform = entry.get("platform")
        platform = platform if isinstance(platform, dict) else {}
        if platform.get("os") == "unknown":
            continue
        images.append((entry["digest"], platform))
    for digest, platform in images:
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            return digest
    return images[0][0] if images else None


def _next_page(response: Response, base: str) -> str | None:
    """The next page of a tag list (``Link: <...>; rel="next"``, a path as the distribution
    spec writes it, or a URL), only on the same registry."""
    target = next_link(response.headers.get("link"))
    if target is None:
        return None
    if target.startswith("/"):
        return base + target
    return target if host_key(target) == host_key(base) else None
