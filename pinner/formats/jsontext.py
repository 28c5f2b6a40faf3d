"""JSON documents that are fast to write and pleasant to read: one record per line.

``json.dumps(indent=...)`` falls back to the pure-Python encoder, which took most of the time of
a ``--format json`` report over thousands of records. Here each top-level key gets its own line
and each element of a top-level list its own line, each encoded by the C encoder, so reports
stay readable and diff-friendly (one record, one line) at the C encoder's speed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def dumps_document(document: Mapping[str, Any]) -> str:
    """``document`` as JSON text, newline-terminated; parses back to exactly ``document``."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    lines: list[str] = []
    items = list(document.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if isinstance(value, list) and value:
            lines.append(f"  {encode(key)}: [")
            lines.extend(
                f"    {encode(item)}{',' if j < len(value) - 1 else ''}"
                for j, item in enumerate(value)
            )
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {encode(key)}: {encode(value)}{comma}")
    return "{\n" + "\n".join(lines) + "\n}\n"
