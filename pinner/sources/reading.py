"""Read workflow and action files safely, local or fetched, into :class:`SourceFile` values.

Local files go through :func:`read_source` (size cap from ``fstat``, binary and encoding
checks, BOM noted, line endings kept), remote text through :func:`load_yaml` (same guards,
plus the plain data ``audit`` walks). Both use the one scanner, so a ``uses:`` is found the
same way wherever the file came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pinner.models import ImageSite, SourceFile, UsesSite
from pinner.sources.discovery import DiscoveredFile, kind_of
from pinner.sources.scan import scan, scan_nodes
from pinner.sources.yamlsafe import (
    MAX_FILE_BYTES,
    MappingNode,
    compose,
    decode,
    read_bytes_capped,
    to_python,
)


def read_source(
    found: DiscoveredFile | Path,
    *,
    root: Path | None = None,
    relpath: str | None = None,
    kind: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> SourceFile:
    """Read and scan one local file. Raises :class:`~pinner.errors.InputError` (exit 2), one
    line naming the file (and line when known), for anything pinner refuses to read.

    For a bare path, ``relpath`` defaults to the path relative to ``root`` when given (else
    the path as given) and ``kind`` to what the file name says (see ``kind_of``).
    """
    if isinstance(found, DiscoveredFile):
        path, relpath, kind = found.path, relpath or found.relpath, kind or found.kind
    else:
        path = found
        if relpath is None and root is not None:
            try:
                relpath = path.absolute().relative_to(root.absolute()).as_posix()
            except ValueError:
                relpath = None
        relpath = relpath or found.as_posix()
        kind = kind or kind_of(found)
    data = read_bytes_capped(path, source=relpath, max_bytes=max_bytes)
    text, bom = decode(data, source=relpath, max_bytes=max_bytes)
    return scan(text, relpath, kind, path=path, bom=bom)


def read_sources(files: list[DiscoveredFile]) -> list[SourceFile]:
    """:func:`read_source` for each file, in order (the first refusal stops the run)."""
    return [read_source(f) for f in files]


@dataclass(frozen=True, slots=True)
class LoadedYaml:
    """A fetched workflow or action file: its plain data and its ``uses:``/image sites.

    Sites carry ``relpath = source`` and ``path = Path(source)``: there is no local file.
    """

    source: str
    kind: str  # "workflow" (has jobs) or "action"
    text: str
    data: object
    uses: tuple[UsesSite, ...]
    images: tuple[ImageSite, ...]


def load_yaml(
    text: str | bytes, *, source: str, kind: str | None = None, max_bytes: int = MAX_FILE_BYTES
) -> LoadedYaml:
    """Parse remote YAML with the same guards as local files.

    ``source`` names the file in messages (e.g. ``actions/checkout@<sha>/action.yml``).
    ``kind`` defaults to ``"workflow"`` when the document has ``jobs``, else ``"action"``.
    Bytes are decoded as UTF-8 (a BOM is dropped); text is checked against the size cap.
    """
    if isinstance(text, bytes):
        text, _ = decode(text, source=source, max_bytes=max_bytes)
    elif len(text) > max_bytes:
        text, _ = decode(text.encode("utf-8", "surrogatepass"), source=source, max_bytes=max_bytes)
    elif "\x00" in text:
        decode(text.encode("utf-8", "surrogatepass"), source=source, max_bytes=max_bytes)
    if text.startswith("\ufeff"):
        text = text[1:]
    root = compose(text, source=source)
    if kind is None:
        has_jobs = isinstance(root, MappingNode) and root.get("jobs") is not None
        kind = "workflow" if has_jobs else "action"
    uses, images = scan_nodes(root, text, path=Path(source), relpath=source)
    return LoadedYaml(source, kind, text, to_python(root), uses, images)
