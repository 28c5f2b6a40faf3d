"""Every command's JSON output names its schema alike and validates against the shipped schema.

The documents are real outputs of the CLI against the emulator (pin, audit, update, checksums,
cache info), in the cases that fill their optional parts: changes, problems, remote failures,
findings, ignored findings, held-back releases, manifests with release digests. The schemas
are read the way a consumer would, from the installed package (``importlib.resources``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from pinner.cli import app
from pinner.formats import schemas

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
CONSUMERS = ROOT / "fixtures" / "consumers"
ID_PATTERN = r"^pinner\.[a-z][a-z-]*/[1-9][0-9]*$"


def invoke(*args: str) -> Any:
    env = {"PINNER_NO_GH": "1", "GITHUB_TOKEN": "", "GH_TOKEN": "", "NO_COLOR": "1"}
    return CliRunner().invoke(app, list(args), env=env)


def copy(name: str, dst: Path) -> Path:
    shutil.copytree(CONSUMERS / name, dst, ignore=shutil.ignore_patterns("expected.json"))
    return dst


def validate(document: dict[str, Any]) -> None:
    """Validate ``document`` against the schema its own ``schema`` field names."""
    schema = schemas.load_schema(document["schema"])
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    errors = sorted(cls(schema).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_schema_ids_are_spelt_alike_and_every_schema_file_is_registered() -> None:
    import re

    formats_dir = ROOT / "pinner" / "formats"
    shipped = {p.name for p in formats_dir.glob("*_schema.json")}
    assert shipped == set(schemas.SCHEMA_FILES.values())
    for schema_id in schemas.SCHEMA_FILES:
        assert re.match(ID_PATTERN, schema_id), schema_id
        schema = schemas.load_schema(schema_id)
        jsonschema.validators.validator_for(schema).check_schema(schema)
        assert schema["properties"]["schema"] == {"const": schema_id}
        assert schema_id in schema["title"]
        assert schema["$id"].endswith("/" + schemas.SCHEMA_FILES[schema_id])
    with pytest.raises(KeyError, match="no JSON schema ships"):
        schemas.load_schema("pinner-pin/1")


@pytest.fixture
def emu_url(emulator) -> str:
    return emulator(FORGE).url


def test_pin_documents_validate(emu_url: str, tmp_path: Path) -> None:
    # changes (write mode), problems and warnings (findings consumer), check mode
    demo = copy("demo", tmp_path / "demo")
    findings = copy("findings", tmp_path / "findings")
    write = invoke("pin", str(demo), "--server-url", emu_url, "--no-cache", "--format", "json")
    check = invoke(
        "pin", str(findings), "--check", "--server-url", emu_url, "--no-cache", "--format", "json"
    )
    docs = [json.loads(write.stdout), json.loads(check.stdout)]
    for doc in docs:
        assert doc["schema"] == "pinner.pin/1"
        validate(doc)
    types = {r["type"] for d in docs for r in d["records"]}
    assert {"change", "problem"} <= types, types
    assert docs[0]["written"] is True and docs[1]["mode"] == "check"

    # remote failures: --offline with an empty cache
    offline = invoke(
        "pin",
        str(copy("demo", tmp_path / "again")),
        "--offline",
        "--cache-dir",
        str(tmp_path / "empty-cache"),
        "--format",
        "json",
    )
    assert offline.exit_code == 3
    doc = json.loads(offline.stdout)
    assert {r["type"] for r in doc["records"]} == {"remote-failure"}
    validate(doc)

    broken = json.loads(json.dumps(docs[0]))
    broken["records"][0]["sha"] = "v1"
    with pytest.raises(AssertionError):
        validate(broken)


def test_audit_documents_validate(emu_url: str, tmp_path: Path) -> None:
    scenarios = copy("audit-scenarios", tmp_path / "scenarios")
    # the scenarios name public images (docker.io): no registry here
    forge = ("--server-url", emu_url, "--no-cache", "--no-images")
    result = invoke("audit", str(scenarios), *forge, "--format", "json")
    assert result.exit_code == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "pinner.audit/1"
    validate(doc)
    assert doc["findings"] and doc["ignored"]


def test_update_documents_validate(emu_url: str, tmp_path: Path) -> None:
    repo = copy("upd-demo", tmp_path / "upd")
    result = invoke(
        "update",
        str(repo),
        "--server-url",
        emu_url,
        "--no-cache",
        "--now",
        "2026-06-01T00:00:00Z",
        "--format",
        "json",
        "--pr-body",
        str(tmp_path / "body.md"),
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "pinner.update/1"
    validate(doc)
    assert doc["changes"] and doc["held_back"] and doc["skipped"]


def test_checksums_manifest_validates(emu_url: str, tmp_path: Path) -> None:
    repo = copy("demo", tmp_path / "demo")
    manifest = tmp_path / "checksums.json"
    result = invoke(
        "checksums", str(repo), "--server-url", emu_url, "--no-cache", "--write", str(manifest)
    )
    assert result.exit_code in (0, 3), result.stderr
    doc = json.loads(manifest.read_text())
    assert doc["schema"] == "pinner.checksums/1"
    validate(doc)
    entries = doc["downloads"].values()
    assert entries and any("release_digest" in e for e in entries)


def test_cache_info_document_validates(emu_url: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    invoke(
        "pin",
        str(copy("demo", tmp_path / "demo")),
        "--server-url",
        emu_url,
        "--cache-dir",
        str(cache),
    )
    result = invoke("cache", "info", "--cache-dir", str(cache), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == schemas.CACHE_INFO
    validate(doc)
    assert doc["entries"] > 0 and doc["namespaces"]


def test_schemas_are_package_data_not_repository_files(tmp_path: Path) -> None:
    """Read through importlib.resources from a copy of the package alone: what a wheel holds."""
    import subprocess
    import sys

    shutil.copytree(ROOT / "pinner", tmp_path / "pinner", ignore=shutil.ignore_patterns("*.pyc"))
    code = (
        "from pinner.formats import schemas\n"
        "for name in schemas.SCHEMA_FILES: assert schemas.load_schema(name)['$id']\n"
        "print(len(schemas.SCHEMA_FILES))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(schemas.SCHEMA_FILES)
