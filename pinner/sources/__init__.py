"""What pinner reads in the user's repository: files, ``uses:`` sites, images, comments.

Public API (stable; other packages import from here or from the submodules):

* :func:`discover` -> ``list[DiscoveredFile]``: workflow and action files under paths.
* :func:`read_source` -> ``SourceFile``: read, guard and scan one local file.
* :func:`load_yaml` -> ``LoadedYaml``: the same for fetched text (plain data + sites).
* :func:`scan` -> ``SourceFile``: scan already decoded text.
* :func:`parse_uses` -> ``UsesValue``: the runner's ``uses:`` grammar.
* :func:`parse_version_comment`, :func:`parse_ignore`, :func:`parse_comment`,
  :func:`render_comment`: comments.

Rewriting lives in :mod:`pinner.core.rewrite` (``Edit``, ``apply_edits``, ``write_all``).
"""

from pinner.sources.comments import (
    IGNORE_ALL,
    ParsedComment,
    parse_comment,
    parse_ignore,
    parse_version_comment,
    render_comment,
)
from pinner.sources.discovery import DiscoveredFile, SkippedPath, discover
from pinner.sources.grammar import parse_uses
from pinner.sources.reading import LoadedYaml, load_yaml, read_source, read_sources
from pinner.sources.scan import scan

__all__ = [
    "IGNORE_ALL",
    "DiscoveredFile",
    "LoadedYaml",
    "ParsedComment",
    "SkippedPath",
    "discover",
    "load_yaml",
    "parse_comment",
    "parse_ignore",
    "parse_uses",
    "parse_version_comment",
    "read_source",
    "read_sources",
    "render_comment",
    "scan",
]
