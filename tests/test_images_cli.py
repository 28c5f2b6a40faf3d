"""End to end: images and SHAs described as what they are (issue 13, item 16).

``pinner audit`` against the emulator on a workflow whose job images come from a literal
matrix (the runner runs one job per combination, so each image is judged on its own: a matrix
of digest-pinned images is no finding, one tag among them is), and a SHA pin written in upper
case (a pin, said to be one in the wrong case, and written in lower case by ``pinner pin``).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_odd_values_cli import HEAD, LITE, V123, cli, read, repository

DIGEST = "@sha256:" + "0123456789abcdef" * 4

MATRIX = (
    "on: push\njobs:\n"
    "  pinned:\n"
    "    strategy:\n"
    "      matrix:\n"
    f"        image: ['python:3.12{DIGEST}', 'python:3.13{DIGEST}']\n"
    "        os: [a, b]\n"
    "    runs-on: ubuntu-latest\n"
    "    container: ${{ matrix.image }}\n"
    "    steps: [{run: 'true'}]\n"
    "  one-tag:\n"
    "    strategy:\n"
    "      matrix:\n"
    "        include:\n"
    f"          - {{image: 'postgres:16{DIGEST}'}}\n"
    "          - {image: 'postgres:17'}\n"
    "    runs-on: ubuntu-latest\n"
    "    services:\n"
    "      db:\n"
    "        image: ${{ matrix.image }}\n"
    "    steps: [{run: 'true'}]\n"
    "  unknown:\n"
    "    strategy: {matrix: '${{ fromJSON(vars.IMAGES) }}'}\n"
    "    runs-on: ubuntu-latest\n"
    "    container: ${{ matrix.image }}\n"
    "    steps: [{run: 'true'}]\n"
)


def test_matrix_images_are_judged_one_by_one(emulator, fixtures_dir, tmp_path: Path) -> None:
    root = repository(tmp_path, matrix=MATRIX)
    emu = emulator(fixtures_dir / "forge")
    # --no-images: judged as written, no registry asked (tests never touch the internet)
    forge = ("--server-url", emu.url, "--no-cache", "--no-images")
    audit = cli("audit", *forge, "--format", "json", str(root))
    assert audit.exit_code == 1, audit.output
    images = [f for f in json.loads(audit.stdout)["findings"] if f["rule"] == "unpinned-image"]
    assert [(f["line"], f["message"]) for f in images] == [
        (16, "image postgres:17 uses tag :17 without a digest"),  # where it is written
        (25, "image ${{ matrix.image }} named by an expression or build argument"),
    ]
    text = cli("audit", *forge, "--tree", str(root)).stdout
    assert f"python:3.13{DIGEST}  [pinned]" in text and "postgres:17  [x unpinned-image]" in text


def test_a_sha_in_upper_case_is_described_as_one(emulator, fixtures_dir, tmp_path) -> None:
    root = repository(tmp_path, upper=HEAD + f"      - uses: {LITE}@{V123.upper()}\n")
    emu = emulator(fixtures_dir / "forge")
    audit = cli("audit", "--server-url", emu.url, "--no-cache", "--format", "json", str(root))
    findings = {f["rule"]: f for f in json.loads(audit.stdout)["findings"]}
    assert set(findings) == {"unpinned-ref", "missing-comment"}, findings
    assert findings["unpinned-ref"]["severity"] == "low"
    assert "is pinned to a SHA in upper case" in findings["unpinned-ref"]["message"]
    assert "(it is v1.2.3)" in findings["missing-comment"]["message"]

    pin = cli("pin", "--server-url", emu.url, "--no-cache", str(root))
    assert pin.exit_code == 0, pin.output
    assert f"-> {LITE}@{V123} # v1.2.3 (comment added)" in pin.stdout
    assert read(root, "upper") == HEAD + f"      - uses: {LITE}@{V123} # v1.2.3\n"
