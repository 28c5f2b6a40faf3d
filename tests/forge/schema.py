"""Validate emulator JSON bodies against GitHub's official OpenAPI response schemas.

``../shared/github-api/endpoints.json`` holds OpenAPI 3.0 schemas. OpenAPI 3.0 spells "may be
null" as ``nullable: true``, which plain JSON Schema does not know, so each schema is rewritten
once (``nullable`` -> ``anyOf: [{type: null}, ...]``) and validated with a Draft 7 validator
whose ``#/components/schemas/...`` references resolve against the converted components.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import jsonschema


def _convert(node: Any) -> Any:
    """Rewrite OpenAPI 3.0 constructs into plain JSON Schema, recursively."""
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: _convert(value)
        for key, value in node.items()
        if key
        not in ("nullable", "example", "examples", "discriminator", "x-github-breaking-changes")
    }
    if node.get("nullable") is True:
        return {"anyOf": [{"type": "null"}, out]}
    return out


class SchemaValidator:
    """Schema checks for the endpoints described in endpoints.json (thread-safe, cached)."""

    def __init__(self, endpoints_json: Path):
        raw = json.loads(endpoints_json.read_text(encoding="utf-8"))
        self._endpoints: dict[str, Any] = raw["endpoints"]
        self._components = {"schemas": _convert(raw["components"]["schemas"])}
        self._validators: dict[tuple[str, str, str], jsonschema.Draft7Validator | None] = {}
        self._lock = threading.Lock()

    def endpoints(self) -> list[str]:
        return sorted(self._endpoints)

    def _validator(
        self, endpoint: str, status: int, media_type: str
    ) -> jsonschema.Draft7Validator | None:
        key = (endpoint, str(status), media_type)
        with self._lock:
            if key in self._validators:
                return self._validators[key]
        op = self._endpoints.get(endpoint)
        schema = None
        if op is not None:
            response = op.get("responses", {}).get(str(status))
            if response is not None:
                content = response.get("content", {}).get(media_type)
                if content is not None:
                    schema = content.get("schema")
        validator = None
        if schema is not None:
            document = {"allOf": [_convert(schema)], "components": self._components}
            validator = jsonschema.Draft7Validator(document)
        with self._lock:
            self._validators[key] = validator
        return validator

    def describes(self, endpoint: str, status: int) -> bool:
        """True when the spec has a JSON schema for this endpoint and status."""
        return self._validator(endpoint, status, "application/json") is not None

    def validate(self, endpoint: str, status: int, body: Any) -> list[str]:
        """Violations of ``body`` against the schema of ``endpoint``/``status`` (may be empty).

        Endpoints or statuses the spec does not describe are not checked (no schema, no claim).
        """
        validator = self._validator(endpoint, status, "application/json")
        if validator is None:
            return []
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        return [
            f"{endpoint} {status}: at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in errors[:5]
        ]
