"""``pinner audit`` and container images, end to end: the user's images and those inside remote
docker actions (``runs.image`` and Dockerfile ``FROM`` lines at the pinned commit), resolved at a
real registry and verified. The actions come from the GitHub emulator, serving a snapshot built
here (its files name the test registry's address, which is only known once it runs).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from tests.forge.builder import SnapshotRepo
from tests.registry.fixtures import Registries, clean_env, pinner_command, start_registries


class ImageRepo(SnapshotRepo):
    owner: ClassVar[str] = "img-fixtures"
    seed: ClassVar[str] = "pinner images audit"


@pytest.fixture(scope="module")
def regs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registries]:
    registries = start_registries(tmp_path_factory.mktemp("audit-registries"))
    yield registries
    registries.stop()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        pinner_command("audit", *args), capture_output=True, text=True, env=clean_env(), timeout=120
    )


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def findings(result: subprocess.CompletedProcess[str]) -> list[dict]:
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)["findings"]


def test_local_images_get_the_exact_fix_and_digests_are_verified(
    regs: Registries, tmp_path: Path
) -> None:
    host = regs.anonymous.host
    elsewhere = regs.digest("x/elsewhere:v1")
    root = write(
        tmp_path / "repo",
        {
            ".github/workflows/ci.yml": (
                "jobs:\n  a:\n    runs-on: ubuntu-latest\n"
                f"    container: {host}/o/multi:v2\n"
                "    services:\n"
                f"      impostor:\n        image: {host}/o/tool:v1@{elsewhere}\n"
                f"      moved:\n        image: {host}/o/moving:1.0@{regs.moved_from}\n"
                f"      gone:\n        image: {host}/o/tool:nope\n"
                f"      fine:\n        image: {host}/o/tool:v1@{regs.digest('o/tool:v1')}\n"
                "  m:\n    strategy:\n      matrix:\n"
                f"        img: ['{host}/o/docker:v3', '{host}/o/tool:v1']\n"
                "    container: ${{ matrix.img }}\n"
            )
        },
    )
    result = run("--no-cache", "--format", "json", "--min-severity", "low", str(root))
    assert result.returncode == 1, result.stderr
    found = {(f["rule"], f["line"]): f for f in findings(result)}
    fix = found[("unpinned-image", 4)]["message"]
    assert fix.endswith(f"pin it as {host}/o/multi:v2@{regs.digest('o/multi:v2')}")
    impostor = found[("impostor-image", 7)]
    assert impostor["severity"] == "high"
    assert (
        f"{regs.digest('x/elsewhere:v1')} is not a manifest of {host}/o/tool" in impostor["message"]
    )
    stale = found[("stale-image-tag", 9)]
    assert stale["severity"] == "low" and regs.digest("o/moving:1.0") in stale["message"]
    assert "tag 'nope' not found" in found[("unresolvable", 11)]["message"]
    assert not [f for f in found.values() if f["line"] == 13]  # pinned and verified
    # the matrix: one finding per image it takes, on the line the image is written
    matrix = [f for f in findings(result) if f["line"] == 17]
    assert {f["rule"] for f in matrix} == {"unpinned-image"} and len(matrix) == 2
    assert any(regs.digest("o/docker:v3") in f["message"] for f in matrix)


def test_images_inside_remote_docker_actions_are_resolved_and_verified(
    regs: Registries, tmp_path: Path, emulator
) -> None:
    host = regs.anonymous.host
    image_action = ImageRepo("docker-image")
    image_action.commit(
        "v1",
        "2026-01-01T00:00:00Z",
        files={
            "action.yml": (
                f"name: image\nruns:\n  using: docker\n  image: docker://{host}/o/tool:v1\n"
            )
        },
    )
    image_action.branch("main", "v1")
    image_action.lightweight_tag("v1.0.0", "v1")
    build_action = ImageRepo("docker-build")
    build_action.commit(
        "v1",
        "2026-01-01T00:00:00Z",
        files={
            "action.yml": "name: build\nruns:\n  using: docker\n  image: Dockerfile\n",
            "Dockerfile": (
                f"FROM {host}/o/multi:v2@{regs.digest('x/elsewhere:v1')} AS base\n"
                f"FROM --platform=linux/amd64 {host}/o/docker:v3\n"
                "FROM base\n"
            ),
        },
    )
    build_action.branch("main", "v1")
    build_action.lightweight_tag("v2.0.0", "v1")
    snapshot = tmp_path / "forge"
    image_action.write(snapshot)
    build_action.write(snapshot)
    emu = emulator(snapshot)
    image_sha, build_sha = image_action.commit_sha("v1"), build_action.commit_sha("v1")
    root = write(
        tmp_path / "repo",
        {
            ".github/workflows/ci.yml": (
                "jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                f"      - uses: img-fixtures/docker-image@{image_sha} # v1.0.0\n"
                f"      - uses: img-fixtures/docker-build@{build_sha} # v2.0.0\n"
            )
        },
    )
    regs.anonymous.proxy.requests.clear()
    result = run("--no-cache", "--server-url", emu.url, "--format", "json", str(root))
    assert result.returncode == 1, result.stderr
    found = findings(result)
    by_rule = {}
    for f in found:
        by_rule.setdefault(f["rule"], []).append(f)
    assert set(by_rule) == {"unpinned-image", "impostor-image"}, found
    nested_fix = [f for f in by_rule["unpinned-image"] if f["line"] == 5]
    assert nested_fix[0]["message"].endswith(
        f"pin it as {host}/o/tool:v1@{regs.digest('o/tool:v1')}"
    )
    assert nested_fix[0]["remote"].endswith(":action.yml:4")
    from_line = [f for f in by_rule["unpinned-image"] if f["line"] == 6]
    assert from_line[0]["remote"].endswith(":Dockerfile:2")
    assert from_line[0]["message"].endswith(f"{host}/o/docker:v3@{regs.digest('o/docker:v3')}")
    (impostor,) = by_rule["impostor-image"]
    assert impostor["line"] == 6 and impostor["remote"].endswith(":Dockerfile:1")
    assert {r["path"] for r in regs.anonymous.proxy.requests} >= {
        "/v2/o/tool/manifests/v1",
        "/v2/o/docker/manifests/v3",
        f"/v2/o/multi/manifests/{regs.digest('x/elsewhere:v1')}",
    }

    regs.anonymous.proxy.requests.clear()
    quiet = run("--no-cache", "--no-images", "--server-url", emu.url, "--format", "json", str(root))
    assert quiet.returncode == 1
    assert {f["rule"] for f in findings(quiet)} == {"unpinned-image"}
    assert "pin it as" not in quiet.stdout
    assert regs.anonymous.proxy.requests == []
