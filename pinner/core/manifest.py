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
from collections.abc import Iterable, Mapping
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


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest; anything malformed is an :class:`InputError` (exit 2)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read manifest: {exc.strerror}", path=str(path)) from None
    if len(raw) > 64 * 1024 * 1024:
        raise InputError("manifest is larger than 64 MiB", path=str(path))
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(
            f"not valid JSON ({exc.__class__.__name__})", path=str(path), line=line
        ) from None
    except RecursionError:  # json recurses per nesting level: "[[[[..." of 100k
        raise InputError("not valid JSON (nested too deeply)", path=str(path)) from None
    return parse_manifest(data, source=str(path))


def parse_manifest(data: object, *, source: str) -> Manifest:
    def bad(why: str) -> InputError:
        return InputError(f"not a pinner checksums manifest: {why}", path=source)

    if not isinstance(data, dict):
        raise bad("top level is not an object")
    if data.get("schema") != SCHEMA:
        raise bad(f"schema is {data.get('schema')!r}, expected {SCHEMA!r}")
    downloads = data.get("downloads")
    if not isinstance(downloads, dict):
        raise bad("'downloads' is not an object")
    entries = []
    for url, item in downloads.items():
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise bad(f"key {url!r} is not an http(s) URL")
        if not isinstance(item, dict):
            raise bad(f"entry for {url} is not an object")
        sha = item.get("sha256")
        size = item.get("size")
        if not isinstance(sha, str) or not _SHA256.match(sha):
            raise bad(f"entry for {url} has no valid sha256")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise bad(f"entry for {url} has no valid size")
        found = []
        for f in item.get("found_in") or []:
            if not isinstance(f, dict):
                raise bad(f"found_in of {url} is not a list of objects")
            found.append(
                FoundIn(str(f.get("origin", "")), str(f.get("file", "")), int(f.get("line") or 0))
            )
        reasons = item.get("mutable_reasons") or []
        entries.append(
            ManifestEntry(
                url=url,
                sha256=sha,
                size=size,
                mutable=bool(item.get("mutable", False)),
                mutable_reasons=tuple(str(r) for r in reasons),
                release_digest=item.get("release_digest") or None,
                found_in=tuple(found),
            )
        )
    return Manifest(tuple(entries))


def merge_found_in(places: Iterable[FoundIn]) -> tuple[FoundIn, ...]:
    return tuple(sorted(set(places)))


def group_by_url(sites: Iterable[tuple[str, FoundIn]]) -> Mapping[str, tuple[FoundIn, ...]]:
    grouped: dict[str, set[FoundIn]] = {}
    for url, place in sites:
        grouped.setdefault(url, set()).add(place)
    return {url: merge_found_in(places) for url, places in sorted(grouped.items())}
