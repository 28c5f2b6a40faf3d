"""The JSON Schemas of pinner's machine output, shipped inside the package.

Every JSON document a command prints or writes names its schema in a top-level ``schema``
field, spelt alike across commands (``pinner.<command>/<major>``), and the JSON Schema that
describes it is a file next to this module, so a consumer can validate what it parses with the
schema of the very version that wrote it (``importlib.resources``, no network). Fields are
only ever added within a major version; a removal or a change of meaning bumps the major.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

PIN = "pinner.pin/1"
AUDIT = "pinner.audit/1"
UPDATE = "pinner.update/1"
CHECKSUMS = "pinner.checksums/1"
CACHE_INFO = "pinner.cache-info/1"
LOCK = "pinner.lock/1"

SCHEMA_FILES: dict[str, str] = {
    PIN: "pin_schema.json",
    AUDIT: "audit_schema.json",
    UPDATE: "update_schema.json",
    CHECKSUMS: "checksums_schema.json",
    CACHE_INFO: "cache_info_schema.json",
    LOCK: "lock_schema.json",
}
"""Schema id (the documents' ``schema`` value) -> file name in :mod:`pinner.formats`."""


def load_schema(schema_id: str) -> dict[str, Any]:
    """The JSON Schema of the documents whose ``schema`` field is ``schema_id``."""
    try:
        name = SCHEMA_FILES[schema_id]
    except KeyError:
        raise KeyError(f"no JSON schema ships for {schema_id!r}") from None
    text = files("pinner.formats").joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)
