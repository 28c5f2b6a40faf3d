"""git smart HTTP ref advertisement, byte-compatible with ``git http-backend`` 2.39.

Only ref listing is emulated (``info/refs`` for protocol v0 and v2, and the v2 ``ls-refs``
command); pinner and pinact never fetch packs. The exact bytes are checked against real
captures in ``../shared/git-protocol/`` by the tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pinner.forge.snapshot import RepoSnapshot

AGENT = "git/2.39.5"  # the reference captures come from this git version's http-backend
ZERO_SHA = "0" * 40
V0_CAPABILITIES = (
    "multi_ack thin-pack side-band side-band-64k ofs-delta shallow deepen-since deepen-not "
    "deepen-relative no-progress include-tag multi_ack_detailed no-done"
)
V2_CAPABILITIES = (
    "version 2",
    f"agent={AGENT}",
    "ls-refs=unborn",
    "fetch=shallow wait-for-done",
    "server-option",
    "object-format=sha1",
    "object-info",
)
FLUSH = b"0000"
DELIM = b"0001"


class ProtocolError(ValueError):
    """A malformed pkt-line request."""


def pkt(line: str | bytes) -> bytes:
    """One pkt-line: 4 hex digits of length (including themselves), then the payload."""
    data = line.encode() if isinstance(line, str) else line
    return f"{len(data) + 4:04x}".encode() + data


def parse_pkt_lines(body: bytes) -> list[bytes | None]:
    """Split a pkt-line stream; flush is ``None``, delim is ``b""`` (a marker), else payload."""
    out: list[bytes | None] = []
    pos = 0
    while pos < len(body):
        head = body[pos : pos + 4]
        if len(head) < 4:
            raise ProtocolError("truncated pkt-line length")
        try:
            length = int(head, 16)
        except ValueError as exc:
            raise ProtocolError(f"bad pkt-line length {head!r}") from exc
        if length == 0:
            out.append(None)
            pos += 4
        elif length == 1:
            out.append(b"")
            pos += 4
        elif length < 4:
            raise ProtocolError(f"reserved pkt-line length {length}")
        else:
            if pos + length > len(body):
                raise ProtocolError("truncated pkt-line payload")
            out.append(body[pos + 4 : pos + length])
            pos += length
    return out


def _head(repo: RepoSnapshot) -> str | None:
    entry = repo.ref(f"refs/heads/{repo.default_branch}")
    return entry.ref.commit if entry else None


def v0_advertisement(repo: RepoSnapshot) -> bytes:
    """``GET info/refs?service=git-upload-pack`` without protocol v2: refs and ``^{}`` lines."""
    lines: list[tuple[str, str]] = []
    head = _head(repo)
    if head is not None:
        lines.append((head, "HEAD"))
    for ref in repo.refs():
        lines.append((ref.object, ref.name))
        if ref.object != ref.commit:
            lines.append((ref.commit, ref.name + "^{}"))
    caps = V0_CAPABILITIES
    if head is not None:
        caps += f" symref=HEAD:refs/heads/{repo.default_branch}"
    caps += f" object-format=sha1 agent={AGENT}"
    out = [pkt("# service=git-upload-pack\n"), FLUSH]
    if not lines:
        out.append(pkt(f"{ZERO_SHA} capabilities^{{}}\0{caps}\n"))
    for i, (sha, name) in enumerate(lines):
        out.append(pkt(f"{sha} {name}\0{caps}\n" if i == 0 else f"{sha} {name}\n"))
    out.append(FLUSH)
    return b"".join(out)


def v2_capabilities() -> bytes:
    """``GET info/refs`` with ``Git-Protocol: version=2``: the capability advertisement."""
    return b"".join(pkt(line + "\n") for line in V2_CAPABILITIES) + FLUSH


@dataclass(frozen=True, slots=True)
class V2Request:
    command: str
    capabilities: tuple[str, ...]
    arguments: tuple[str, ...]


def parse_v2_request(body: bytes) -> V2Request:
    """``command=X``, capability lines, delim, argument lines, flush."""
    lines = parse_pkt_lines(body)
    if not lines or not lines[0] or not lines[0].startswith(b"command="):
        raise ProtocolError("expected command=")
    command = lines[0].decode().rstrip("\n").split("=", 1)[1]
    caps: list[str] = []
    args: list[str] = []
    target = caps
    for line in lines[1:]:
        if line is None:
            break
        if line == b"":
            target = args
            continue
        target.append(line.decode().rstrip("\n"))
    return V2Request(command, tuple(caps), tuple(args))


def ls_refs(repo: RepoSnapshot, arguments: Iterable[str]) -> bytes:
    """The v2 ``ls-refs`` answer honouring ``peel``, ``symrefs`` and ``ref-prefix``."""
    args = list(arguments)
    peel = "peel" in args
    symrefs = "symrefs" in args
    prefixes = [a.split(" ", 1)[1] for a in args if a.startswith("ref-prefix ")]

    def wanted(name: str) -> bool:
        return not prefixes or any(name.startswith(p) for p in prefixes)

    out = []
    head = _head(repo)
    if head is not None and wanted("HEAD"):
        line = f"{head} HEAD"
        if symrefs:
            line += f" symref-target:refs/heads/{repo.default_branch}"
        out.append(pkt(line + "\n"))
    for ref in repo.refs():
        if not wanted(ref.name):
            continue
        line = f"{ref.object} {ref.name}"
        if peel and ref.object != ref.commit:
            line += f" peeled:{ref.commit}"
        out.append(pkt(line + "\n"))
    out.append(FLUSH)
    return b"".join(out)
