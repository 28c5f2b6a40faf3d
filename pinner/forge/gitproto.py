"""git smart HTTP ref listing, without a git binary (design.md section 4).

Why git and not REST: one ``ls-refs`` request lists every branch and tag of a repository with
annotated tags already peeled, costs no REST API quota, and works unauthenticated. REST needs
one request per 100 tags plus one per annotated tag to peel it.

Protocol v2 is tried first (``POST .../git-upload-pack`` with ``Git-Protocol: version=2``).
A server that ignores v2 answers that POST with 200 and an empty body (see
``../shared/git-protocol/v2-ls-refs-no-header.*``): then the v0 advertisement
(``GET .../info/refs?service=git-upload-pack``) is parsed instead. Both paths are tested
against real ``git http-backend`` bytes.

Every malformed input (bad length, non-hex, truncated packet, unexpected text) raises
:class:`~pinner.errors.RemoteError`; parsing never leaks IndexError or ValueError.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pinner.errors import NotFoundError, RemoteError
from pinner.forge.base import answered_elsewhere
from pinner.forge.http import RequestKind, Transport, safe_url
from pinner.models import GitRef, RefListing

FLUSH = b"0000"
DELIM = b"0001"
RESPONSE_END = b"0002"
MAX_PKT_LEN = 65520  # LARGE_PACKET_MAX in git
MAX_LISTING_BYTES = 16 * 1024 * 1024
"""Largest ref advertisement read: the biggest listings in the corpus are ~230 KB, so this is
~70x headroom, while a hostile server streaming without end costs at most this per repository
(the transport's 64 MiB default, times ``--jobs`` concurrent listings, would be 1 GiB)."""

_PKT_LEN_RE = re.compile(rb"[0-9a-fA-F]{4}")
_OID_RE = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")  # sha1 or sha256 object ids
_ZERO_OID = "0" * 40

V2_HEADERS = {
    "Git-Protocol": "version=2",
    "Content-Type": "application/x-git-upload-pack-request",
    "Accept": "application/x-git-upload-pack-result",
}
V0_HEADERS = {"Accept": "application/x-git-upload-pack-advertisement"}


class Special:
    """A control packet: flush (0000), delimiter (0001) or response-end (0002)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<pkt {self.name}>"


FLUSH_PKT = Special("flush")
DELIM_PKT = Special("delim")
RESPONSE_END_PKT = Special("response-end")
_SPECIALS = {FLUSH: FLUSH_PKT, DELIM: DELIM_PKT, RESPONSE_END: RESPONSE_END_PKT}


# ----------------------------------------------------------------------------- pkt-line codec


def pkt_line(data: bytes | str) -> bytes:
    """Encode one data packet: 4 hex digits of total length (including themselves), then data."""
    if isinstance(data, str):
        data = data.encode()
    length = len(data) + 4
    if length > MAX_PKT_LEN:
        raise ValueError(f"pkt-line too long ({length} bytes)")
    return f"{length:04x}".encode() + data


def iter_pkt_lines(body: bytes) -> Iterator[bytes | Special]:
    """Decode ``body`` into data packets (bytes) and control packets (:class:`Special`)."""
    pos, end = 0, len(body)
    while pos < end:
        header = body[pos : pos + 4]
        if len(header) < 4:
            raise RemoteError(f"git: truncated pkt-line header at byte {pos}")
        if header in _SPECIALS:
            yield _SPECIALS[header]
            pos += 4
            continue
        # a regex, not int() alone: int() would also take " 0x1", "+0ff" or "0_ff"
        length = int(header, 16) if _PKT_LEN_RE.fullmatch(header) else -1
        if length < 4:
            raise RemoteError(f"git: invalid pkt-line length {header!r} at byte {pos}")
        if pos + length > end:
            raise RemoteError(
                f"git: truncated pkt-line at byte {pos} (needs {length}, {end - pos} left)"
            )
        yield body[pos + 4 : pos + length]
        pos += length


def _text(pkt: bytes) -> str:
    """A data packet as text, one trailing LF stripped; refuses undecodable bytes."""
    try:
        line = pkt.decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteError("git: ref advertisement is not valid UTF-8") from None
    return line[:-1] if line.endswith("\n") else line


def _check_err(line: str) -> None:
    if line.startswith("ERR "):
        message = line[4:].strip().splitlines()[0] if line[4:].strip() else "unknown error"
        raise RemoteError(f"git server error: {message[:200]}")


def _lines_to_flush(packets: Iterable[bytes | Special], what: str) -> Iterator[str]:
    """The text lines of a ref listing (``what``, for messages) up to its flush packet.

    RemoteError on an ``ERR`` line, any other control packet, or a body cut off before the
    flush: a truncated listing must never pass for a repository with fewer refs.
    """
    for pkt in packets:
        if isinstance(pkt, Special):
            if pkt is FLUSH_PKT:
                return
            raise RemoteError(f"git: unexpected {pkt.name} packet in {what}")
        line = _text(pkt)
        _check_err(line)
        yield line
    raise RemoteError(f"git: {what} ended without a flush packet (truncated)")


def _oid(value: str, line: str) -> str:
    if not _OID_RE.match(value):
        raise RemoteError(f"git: invalid object id in ref line {line[:120]!r}")
    return value


# ----------------------------------------------------------------------------- requests


def ls_refs_request(prefixes: tuple[str, ...] = ("refs/heads/", "refs/tags/", "HEAD")) -> bytes:
    """The v2 ``ls-refs`` request body pinner sends (design.md section 4).

    ``peel`` makes the server report the commit under every annotated tag (tag of a tag too);
    ``symrefs`` plus ``ref-prefix HEAD`` reveal the default branch (``symref-target:``).
    """
    parts = [pkt_line("command=ls-refs\n"), DELIM, pkt_line("peel\n"), pkt_line("symrefs\n")]
    parts += [pkt_line(f"ref-prefix {p}\n") for p in prefixes]
    parts.append(FLUSH)
    return b"".join(parts)


LS_REFS_REQUEST = ls_refs_request()


# ----------------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class AdvertisedRef:
    """One ref line as the server sent it, before filtering to branches and tags."""

    name: str
    oid: str
    peeled: str | None = None
    symref_target: str | None = None


@dataclass(frozen=True, slots=True)
class V0Advertisement:
    """Parsed ``info/refs?service=git-upload-pack`` (protocol v0)."""

    capabilities: tuple[str, ...]
    refs: tuple[AdvertisedRef, ...]

    @property
    def head_symref(self) -> str | None:
        """Target of HEAD from the ``symref=HEAD:refs/heads/X`` capability."""
        for cap in self.capabilities:
            if cap.startswith("symref=HEAD:"):
                return cap.removeprefix("symref=HEAD:")
        return None


def parse_ls_refs_v2(body: bytes) -> tuple[AdvertisedRef, ...]:
    """Parse a v2 ``ls-refs`` response: ``<oid> <ref>[ symref-target:X][ peeled:<oid>]``."""
    refs: list[AdvertisedRef] = []
    for line in _lines_to_flush(iter_pkt_lines(body), "ls-refs response"):
        fields = line.split(" ")
        if len(fields) < 2 or not fields[1]:
            raise RemoteError(f"git: malformed ls-refs line {line[:120]!r}")
        oid_field, name = fields[0], fields[1]
        if oid_field == "unborn":  # HEAD of an empty repository; nothing to list
            continue
        oid = _oid(oid_field, line)
        peeled = symref = None
        for attr in fields[2:]:
            if attr.startswith("peeled:"):
                peeled = _oid(attr.removeprefix("peeled:"), line)
            elif attr.startswith("symref-target:"):
                symref = attr.removeprefix("symref-target:")
            # unknown attributes are future extensions: ignore them
        refs.append(AdvertisedRef(name=name, oid=oid, peeled=peeled, symref_target=symref))
    return tuple(refs)


def parse_info_refs_v0(body: bytes) -> V0Advertisement:
    """Parse a v0 ``info/refs`` advertisement: service header, flush, refs, ``^{}`` peels."""
    packets = iter_pkt_lines(body)
    try:
        first = next(packets)
    except StopIteration:
        raise RemoteError("git: empty ref advertisement") from None
    if isinstance(first, bytes) and _text(first).startswith("# service="):
        # smart HTTP preamble: "# service=git-upload-pack", then a flush
        if next(packets, None) is not FLUSH_PKT:
            raise RemoteError("git: missing flush after the service announcement")
        first = next(packets, FLUSH_PKT)
    capabilities: tuple[str, ...] = ()
    refs: dict[str, AdvertisedRef] = {}
    order: list[str] = []
    is_first = True
    for line in _lines_to_flush(itertools.chain((first,), packets), "ref advertisement"):
        if is_first:
            line, nul, caps = line.partition("\0")
            if nul:
                capabilities = tuple(caps.split())
            is_first = False
        oid_field, space, name = line.partition(" ")
        if not space or not name:
            raise RemoteError(f"git: malformed ref line {line[:120]!r}")
        oid = _oid(oid_field, line)
        if name == "capabilities^{}" and oid == _ZERO_OID:
            pass  # an empty repository's placeholder line: no refs
        elif name.endswith("^{}"):
            base = name[:-3]
            if base not in refs:
                raise RemoteError(f"git: peeled line for unknown ref {base[:120]!r}")
            prev = refs[base]
            refs[base] = AdvertisedRef(base, prev.oid, oid, prev.symref_target)
        else:
            if name not in refs:
                order.append(name)
            refs[name] = AdvertisedRef(name=name, oid=oid)
    return V0Advertisement(capabilities=capabilities, refs=tuple(refs[n] for n in order))


def to_listing(
    repo: str, refs: tuple[AdvertisedRef, ...], head_target: str | None = None
) -> RefListing:
    """Keep branches and tags (ref-prefix is a plain string prefix: filter names exactly).

    The default branch comes from HEAD's symref target (v2 attribute or v0 capability).
    """
    kept: list[GitRef] = []
    for ref in refs:
        if ref.name == "HEAD" and ref.symref_target and head_target is None:
            head_target = ref.symref_target
        if ref.name.startswith(("refs/heads/", "refs/tags/")) and ref.name.split("/", 2)[2]:
            kept.append(GitRef(name=ref.name, object=ref.oid, commit=ref.peeled or ref.oid))
    default = None
    if head_target and head_target.startswith("refs/heads/"):
        default = head_target.removeprefix("refs/heads/") or None
    return RefListing(repo=repo, refs=tuple(kept), default_branch=default)


# ----------------------------------------------------------------------------- fetching


async def fetch_ref_listing(transport: Transport, git_base: str, repo: str) -> RefListing:
    """List ``repo``'s branches and tags over smart HTTP at ``git_base`` (``SERVER/o/r.git``).

    Tries v2 ``ls-refs``; falls back to the v0 advertisement when the server ignores v2.
    Raises NotFoundError when the repository does not exist (GitHub answers 401 for unknown
    repositories to anonymous clients), RemoteError when the server misbehaves.
    """
    what = f"list refs of {repo}"
    response = await transport.request(
        "POST",
        f"{git_base}/git-upload-pack",
        kind=RequestKind.GIT,
        headers=V2_HEADERS,
        content=LS_REFS_REQUEST,
        max_bytes=MAX_LISTING_BYTES,
        what=what,
    )
    if response.from_another_host:
        answered_elsewhere()  # a listing (or a "not found") for this run, kept by no cache
    _check_git_status(
        response.status, repo, response.url, what, authenticated=transport.authenticated
    )
    if response.body:
        with _context(what, response.url):
            return to_listing(repo, parse_ls_refs_v2(response.body))
    response = await transport.request(
        "GET",
        f"{git_base}/info/refs?service=git-upload-pack",
        kind=RequestKind.GIT,
        headers=V0_HEADERS,
        max_bytes=MAX_LISTING_BYTES,
        what=what,
    )
    if response.from_another_host:
        answered_elsewhere()
    _check_git_status(
        response.status, repo, response.url, what, authenticated=transport.authenticated
    )
    with _context(what, response.url):
        advertisement = parse_info_refs_v0(response.body)
    return to_listing(repo, advertisement.refs, advertisement.head_symref)


@contextlib.contextmanager
def _context(what: str, url: str) -> Iterator[None]:
    """Say which request a protocol error came from (the parser only knows bytes)."""
    try:
        yield
    except RemoteError as exc:
        raise RemoteError(f"{what}: {exc} (from {safe_url(url)})") from None


def _check_git_status(
    status: int, repo: str, url: str, what: str, *, authenticated: bool = False
) -> None:
    if status in (401, 403, 404):
        hint = "; if it is private, check that the token can read it" if authenticated else ""
        raise NotFoundError(f"repository {repo} not found (git answered HTTP {status}{hint})")
    if status != 200:
        raise RemoteError(f"{what}: unexpected HTTP {status} from {safe_url(url)}")
