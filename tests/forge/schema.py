"""Validate emulator JSON bodies against GitHub's official OpenAPI response schemas.

``../shared/github-api/endpoints.json`` holds OpenAPI 3.0 schemas. OpenAPI 3.0 spells "may be
null" as ``nullable: true``, which plain JSON Schema does not know, so each schema is rewritten
once (``nullable`` -> ``anyOf: [{type: null}, ...]``) and validated with a Draft 7 validator
whose ``#/components/schemas/...`` references resolve against the converted components.
"""

from __future__ import annotations

import hashlib
import json
import re
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


_LOCAL_URL = re.compile(r"http://127\.0\.0\.1:\d+")


def _fingerprint(node: Any) -> str:
    """A hash of a JSON value with the emulator's address removed (it varies per port)."""
    text = json.dumps(node, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(_LOCAL_URL.sub("", text).encode()).hexdigest()


class SchemaValidator:
    """Schema checks for the endpoints described in endpoints.json (thread-safe, cached).

    jsonschema costs ~3 ms per release object, and end-to-end tests serve the same objects
    again and again (every page, ``releases/latest``, ``releases/tags/T``, every run). Values
    that already passed are remembered by fingerprint, and arrays are checked item by item, so
    each distinct object is validated once per session.
    """

    def __init__(self, endpoints_json: Path):
        raw = json.loads(endpoints_json.read_text(encoding="utf-8"))
        self._endpoints: dict[str, Any] = raw["endpoints"]
        self._components = {"schemas": _convert(raw["components"]["schemas"])}
        self._validators: dict[tuple[str, str, str], jsonschema.Draft7Validator | None] = {}
        self._item_validators: dict[tuple[str, str], jsonschema.Draft7Validator | None] = {}
        self._passed: set[tuple[str, int, str]] = set()
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

    def _item_validator(self, endpoint: str, status: int) -> jsonschema.Draft7Validator | None:
        """For array responses (``{type: array, items: X}``), a validator of one item."""
        key = (endpoint, str(status))
        with self._lock:
            if key in self._item_validators:
                return self._item_validators[key]
        op = self._endpoints.get(endpoint, {})
        response = op.get("responses", {}).get(str(status), {})
        schema = response.get("content", {}).get("application/json", {}).get("schema") or {}
        validator = None
        if schema.get("type") == "array" and "items" in schema:
            document = {"allOf": [_convert(schema["items"])], "components": self._components}
            validator = jsonschema.Draft7Validator(document)
        with self._lock:
            self._item_validators[key] = validator
        return validator

    def validate(self, endpoint: str, status: int, body: Any) -> list[str]:
        """Violations of ``body`` against the schema of ``endpoint``/``status`` (may be empty).

        Endpoints or statuses the spec does not describe are not checked (no schema, no claim).
        """
        validator = self._validator(endpoint, status, "application/json")
        if validator is None:
            return []
        item_validator = self._item_validator(endpoint, status)
        if item_validator is not None and isinstance(body, list):
            problems: list[str] = []
            for index, item in enumerate(body):
                problems += self._check(item_validator, endpoint, status, item, f"{index}/")
            return problems
        return self._check(validator, endpoint, status, body, "")

    def _check(
        self,
        validator: jsonschema.Draft7Validator,
        endpoint: str,
        status: int,
        value: Any,
        where: str,
    ) -> list[str]:
        key = (endpoint, status, _fingerprint(value))
        with self._lock:
            if key in self._passed:
                return []
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if not errors:
            with self._lock:
                self._passed.add(key)
            return []
        return [
            f"{endpoint} {status}: at /{where}{'/'.join(map(str, e.absolute_path))}: "
            f"{e.message[:300]}"
            for e in errors[:5]
        ]
