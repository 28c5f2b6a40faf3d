"""The URL-to-sha256 manifest: what each download served when we looked, and where it is used.

The manifest is the artefact users commit and CI verifies, so it is deterministic (sorted,
no timestamps, stable indentation) and diff-friendly (one URL per object, found-in places
sorted). Its schema is versioned so future pinners can read old manifests.

```json
{
  "schema": "pinner.checksums/1",
  "downloads": {
    "https://example.com/tool/v1.2.3/tool.tar.gz": {
      "sha256": "<64 hex>",
      "size": 123456,
      "mutable": false,
      "mutable_reasons": [],
      "release_digest": "sha256:<64 hex>",
      "found_in": [
        {"origin": "owner/action@<sha>", "file": "action.yml", "line": 42}
      ]
    }
  }
}
```
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pinner.errors import InputError

SCHEMA = "pinner.checksums/1"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True, order=True)
class FoundIn:
    """One place a URL is downloaded from: the action (``owner/repo[/path]@sha`` or ``.``),
    the file inside it and the line."""

    origin: str
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    url: str
    sha256: str
    size: int
    mutable: bool = False
    mutable_reasons: tuple[str, ...] = ()
    release_digest: str | None = None  # GitHub's "sha256:..." for release assets, when known
    found_in: tuple[FoundIn, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "sha256": self.sha256,
            "size": self.size,
            "mutable": self.mutable,
            "mutable_reasons": list(self.mutable_reasons),
        }
        if self.release_digest:
            data["release_digest"] = self.release_digest
        data["found_in"] = [
            {"origin": f.origin, "file": f.file, "line": f.line} for f in sorted(self.found_in)
        ]
        return data


@dataclass(frozen=True, slots=True)
class Manifest:
    entries: tuple[ManifestEntry, ...]

    def to_text(self) -> str:
        """The manifest as JSON text: sorted by URL, two-space indent, trailing newline."""
        body = {
            "schema": SCHEMA,
            "downloads": {e.url: e.to_json() for e in sorted(self.entries, key=lambda e: e.url)},
        }
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"

    def by_url(self) -> dict[str, ManifestEntry]:
        return {e.url: e for e in self.entries}


MAX_MANIFEST_BYTES = 64 * 1024 * 1024


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest; anything malformed is an :class:`InputError` (exit 2).

    Never a traceback and never exit 1 (which means "mismatch"): a manifest that cannot be
    read says nothing about the downloads.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read manifest: {exc.strerror or exc}", path=str(path)) from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise InputError("manifest is larger than 64 MiB", path=str(path))
    try:
        data = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of 5,000 digits
        line = getattr(exc, "lineno", None)
        raise InputError(
            f"not valid JSON ({exc.__class__.__name__})", path=str(path), line=line
        ) from None
    except RecursionError:  # json recurses per nesting level: "[[[[..." of 100k
        raise InputError("not valid JSON (nested too deeply)", path=str(path)) from None
    return parse_manifest(data, source=str(path))


_DIGEST = re.compile(r"^[a-z0-9]+:[0-9a-fA-F]+$")  # GitHub's "sha256:<hex>", as it was recorded


def parse_manifest(data: object, *, source: str) -> Manifest:
    """A :class:`Manifest` from parsed JSON; every field is checked for its type and form, so
    a hand-edited or hostile file is one clear :class:`InputError`. Unknown keys are ignored
    (a later ``pinner.checksums/1`` may add fields)."""

    def bad(why: str) -> InputError:
        return InputError(f"not a pinner checksums manifest: {why}", path=source)

    if not isinstance(data, dict):
        raise bad("top level is not an object")
    if "schema" not in data:  # some other JSON file: say what is missing, not "None"
        raise bad(f"it has no 'schema' key (expected {SCHEMA!r})")
    if data.get("schema") != SCHEMA:
        raise bad(f"schema is {_short(data.get('schema'))}, expected {SCHEMA!r}")
    downloads = data.get("downloads")
    if not isinstance(downloads, dict):
        raise bad("'downloads' is not an object")
    entries = []
    for url, item in downloads.items():
        if not re.match(r"^https?://", url):
            raise bad(f"key {_short(url)} is not an http(s) URL")
        where = f"entry for {_short(url)}"
        if not isinstance(item, dict):
            raise bad(f"{where} is not an object")
        sha = item.get("sha256")
        if not isinstance(sha, str) or not _SHA256.match(sha):
            raise bad(f"{where} has no valid sha256")
        size = item.get("size")
        if not _count(size):
            raise bad(f"{where} has no valid size")
        mutable = item.get("mutable", False)
        if not isinstance(mutable, bool):
            raise bad(f"{where}: 'mutable' is not true or false")
        reasons = item.get("mutable_reasons", [])
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise bad(f"{where}: 'mutable_reasons' is not a list of strings")
        digest = item.get("release_digest")
        if digest is not None and not (isinstance(digest, str) and _DIGEST.match(digest)):
            raise bad(f"{where}: 'release_digest' is not ALGORITHM:HEX")
        entries.append(
            ManifestEntry(
                url=url,
                sha256=sha,
                size=size,
                mutable=mutable,
                mutable_reasons=tuple(reasons),
                release_digest=digest,
                found_in=_found_in(item.get("found_in", []), bad, where),
            )
        )
    return Manifest(tuple(entries))


def _found_in(places: object, bad: Callable[[str], InputError], where: str) -> tuple[FoundIn, ...]:
    if not isinstance(places, list):
        raise bad(f"{where}: 'found_in' is not a list")
    found = []
    for place in places:
        if not isinstance(place, dict):
            raise bad(f"{where}: 'found_in' is not a list of objects")
        origin, file, line = place.get("origin", ""), place.get("file", ""), place.get("line", 0)
        if not (isinstance(origin, str) and isinstance(file, str) and _count(line)):
            raise bad(f"{where}: a 'found_in' place needs text origin and file and a line number")
        found.append(FoundIn(origin, file, line))
    return tuple(found)


def _count(value: object) -> bool:
    """A non-negative JSON integer (``true`` is not one, whatever Python says)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _short(value: object) -> str:
    """A value from the file, quoted and cut short for a one-line message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def merge_found_in(places: Iterable[FoundIn]) -> tuple[FoundIn, ...]:
    return tuple(sorted(set(places)))


def group_by_url(sites: Iterable[tuple[str, FoundIn]]) -> Mapping[str, tuple[FoundIn, ...]]:
    grouped: dict[str, set[FoundIn]] = {}
    for url, place in sites:
        grouped.setdefault(url, set()).add(place)
    return {url: merge_found_in(places) for url, places in sorted(grouped.items())}
