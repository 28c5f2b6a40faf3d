"""``pinner update`` for container images, end to end against a real OCI registry.

A tag moved to a new digest moves the pin after the cooldown (counted from the image's own
created date, or from when pinner first saw it); a newer tag of the same shape is taken under
``--bump``; both show in the report, the JSON (validated against the shipped schema) and the
pull-request texts.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from pinner.formats.schemas import UPDATE, load_schema
from tests.registry.fixtures import clean_env, pinner_command
from tests.registry.harness import REGISTRY_BINARY, Registry, require_tools
from tests.registry.images import Pusher, build_image


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    binary = require_tools(REGISTRY_BINARY)[REGISTRY_BINARY]
    started = Registry(binary, tmp_path_factory.mktemp("update-registry"))
    yield started
    started.stop()


@pytest.fixture
def pusher(registry: Registry) -> Iterator[Pusher]:
    client = Pusher(registry.direct_base)
    yield client
    client.close()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        pinner_command("update", *args),
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
    )


def repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_a_moved_tag_moves_the_digest_after_the_cooldown(
    registry: Registry, pusher: Pusher, tmp_path: Path
) -> None:
    host = registry.host
    old = build_image("moved: old", created="2026-01-01T00:00:00Z")
    new = build_image("moved: new", created="2026-05-28T12:00:00Z")
    pusher.push("u/moved", "1.0", old)
    workflow = f"jobs:\n  a:\n    container: {host}/u/moved:1.0@{old.digest} # db\n"
    dockerfile = f"FROM {host}/u/moved:1.0@{old.digest} AS base\nRUN true\n"
    root = repo(
        tmp_path / "repo",
        {
            ".github/workflows/ci.yml": workflow,
            ".github/actions/b/action.yml": "runs:\n  using: docker\n  image: Dockerfile\n",
            ".github/actions/b/Dockerfile": dockerfile,
        },
    )
    pusher.push("u/moved", "1.0", new)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    held = run(*cache, "--now", "2026-06-01T00:00:00Z", "--format", "json", str(root))
    assert held.returncode == 0, held.stderr
    document = json.loads(held.stdout)
    jsonschema.validate(document, load_schema(UPDATE))
    assert document["changes"] == []
    (record,) = document["held_back"]
    assert record["reason"] == "cooldown" and record["date_source"] == "created"
    assert record["candidate"]["digest"] == new.digest
    assert record["eligible_at"] == "2026-06-04T12:00:00Z"
    assert (root / ".github/workflows/ci.yml").read_text() == workflow

    check = run(*cache, "--now", "2026-06-10T00:00:00Z", "--check", str(root))
    assert check.returncode == 1 and "image " in check.stdout

    out = tmp_path / "out"
    out.mkdir()
    moved = run(
        *cache, "--now", "2026-06-10T00:00:00Z", "--format", "json",
        "--pr-body", str(out / "body.md"), "--commit-message", str(out / "commit.txt"),
        str(root),
    )  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    document = json.loads(moved.stdout)
    jsonschema.validate(document, load_schema(UPDATE))
    (change,) = document["changes"]
    assert change["kind"] == "image" and change["level"] is None
    assert change["from"] == {"ref": f"1.0@{old.digest}", "version": "1.0", "sha": None,
                              "digest": old.digest}  # fmt: skip
    assert change["to"]["digest"] == new.digest and change["date_source"] == "created"
    assert change["released_at"] == "2026-05-28T12:00:00Z" and change["age_days"] == 12
    assert {(f["file"], f["line"]) for f in change["files"]} == {
        (".github/workflows/ci.yml", 3),
        (".github/actions/b/Dockerfile", 1),
    }
    assert (root / ".github/workflows/ci.yml").read_text() == workflow.replace(
        old.digest, new.digest
    )
    assert (root / ".github/actions/b/Dockerfile").read_text() == dockerfile.replace(
        old.digest, new.digest
    )
    body = (out / "body.md").read_text()
    assert f"`{host}/u/moved`" in body and new.digest[:19] in body
    assert "container image" in body
    assert f"update {host}/u/moved 1.0 to {new.digest[:19]}" in (out / "commit.txt").read_text()
    again = run(*cache, "--now", "2026-06-10T00:00:00Z", str(root))
    assert again.returncode == 0 and "nothing to update" in again.stdout


def test_an_image_without_a_date_waits_from_when_pinner_first_saw_it(
    registry: Registry, pusher: Pusher, tmp_path: Path
) -> None:
    host = registry.host
    image = build_image("no created date", created=None)
    pusher.push("u/nodate", "2", image)
    workflow = f"jobs:\n  a:\n    container: {host}/u/nodate:2\n"
    root = repo(tmp_path / "repo", {".github/workflows/ci.yml": workflow})
    cache = ["--cache-dir", str(tmp_path / "cache")]
    today = datetime.now(UTC)
    soon = (today + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = (today + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    first = run(*cache, "--now", soon, "--format", "json", str(root))
    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)
    (held,) = document["held_back"]
    assert held["date_source"] == "first-seen"
    assert (root / ".github/workflows/ci.yml").read_text() == workflow
    second = run(*cache, "--now", later, "--format", "json", str(root))
    (change,) = json.loads(second.stdout)["changes"]
    assert change["date_source"] == "first-seen" and change["to"]["digest"] == image.digest
    assert "first saw it" in change["note"]
    assert f"{host}/u/nodate:2@{image.digest}" in (root / ".github/workflows/ci.yml").read_text()


def test_a_newer_tag_of_the_same_shape_within_bump(
    registry: Registry, pusher: Pusher, tmp_path: Path
) -> None:
    host = registry.host
    images = {}
    for tag in ("1.2-alpine", "1.3-alpine", "2.0-alpine", "1.4", "1.3.1-alpine", "1.5-slim"):
        images[tag] = build_image(f"bump {tag}", created="2026-01-01T00:00:00Z")
        pusher.push("u/bump", tag, images[tag])
    workflow = (
        f"jobs:\n  a:\n    container: {host}/u/bump:1.2-alpine@{images['1.2-alpine'].digest}\n"
    )
    root = repo(tmp_path / "repo", {".github/workflows/ci.yml": workflow})
    minor = run("--no-cache", "--now", "2026-06-01T00:00:00Z", "--bump", "minor", str(root))
    assert minor.returncode == 0, minor.stderr
    assert "1.2-alpine@sha256:" in minor.stdout and "-> 1.3-alpine@sha256:" in minor.stdout
    assert "held    " in minor.stdout and "2.0-alpine: major update beyond --bump" in minor.stdout
    text = (root / ".github/workflows/ci.yml").read_text()
    assert text == workflow.replace(
        f"1.2-alpine@{images['1.2-alpine'].digest}", f"1.3-alpine@{images['1.3-alpine'].digest}"
    )
    major = run("--no-cache", "--now", "2026-06-01T00:00:00Z", "--format", "json", str(root))
    (change,) = json.loads(major.stdout)["changes"]
    assert change["level"] == "major" and change["to"]["version"] == "2.0-alpine"


def test_no_images_leaves_images_alone(registry: Registry, pusher: Pusher, tmp_path: Path) -> None:
    pusher.push("u/untouched", "1", build_image("untouched"))
    workflow = f"jobs:\n  a:\n    container: {registry.host}/u/untouched:1\n"
    root = repo(tmp_path / "repo", {".github/workflows/ci.yml": workflow})
    result = run("--no-cache", "--no-images", "--cooldown", "0", str(root))
    assert result.returncode == 0 and "nothing to update" in result.stdout
    pinned = run("--no-cache", "--cooldown", "0", str(root))
    assert pinned.returncode == 0, pinned.stderr
    assert "@sha256:" in (root / ".github/workflows/ci.yml").read_text()
