"""``pinner checksums`` end to end: the real CLI against the emulator.

The forge data is generated per test run with the fixture builder of ``fixtures/build_fixtures.py``
(owner ``dl-fixtures``), so a test can change a served file without touching the repository:

- ``dl-fixtures/setup-frob``: a composite action that downloads a versioned binary whose version
  comes from ``inputs.version`` (default 1.0.0; the consumer passes 2.0.0), a ``latest`` binary,
  a script piped to ``sh``, a URL templated on ``runner.os`` (stays a template), and runs
  ``get.sh`` from its directory, which downloads a plugin by a script variable;
- ``dl-fixtures/docker-frob``: a docker action whose Dockerfile ``ADD``s a versioned binary and
  ``RUN curl``s a script from a branch path.
The install-tool repository of ``fixtures/forge`` (pinner-fixtures) carries a release asset whose
recorded digest disagrees with its bytes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile_servers import RecordingServer

ROOT = Path(__file__).resolve().parents[1]
OWNER = "dl-fixtures"
FORGE_URL = "__FORGE_URL__"


def _builder():
    name = "_pinner_build_fixtures"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "fixtures" / "build_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _repo(name: str):
    base = _builder().Repo

    class DlRepo(base):  # same snapshot format, our own owner
        @property
        def slug(self) -> str:
            return f"{OWNER}/{self.name}"

    return DlRepo(name, "main", "checksums fixture")


SETUP_FROB = f"""\
name: Setup frob
description: downloads frob and friends
inputs:
  version:
    description: frob version
    default: "1.0.0"
runs:
  using: composite
  steps:
    - shell: bash
      env:
        BASE: {FORGE_URL}/dl/frob
      run: |
        curl -fsSL -o frob "$BASE/${{{{ inputs.version }}}}/frob-linux.bin"
        curl -fsSL -o frob-nightly {FORGE_URL}/dl/frob/latest/frob-linux.bin
        curl -fsSL {FORGE_URL}/dl/install-extras.sh | sh
        curl -fsSL -o os.bin "{FORGE_URL}/dl/frob/1.0.0/frob-${{{{ runner.os }}}}.bin"
    - shell: bash
      run: bash "${{{{ github.action_path }}}}/get.sh" "0.1.0"
"""
GET_SH = f"""\
#!/usr/bin/env bash
set -eu
PLUGIN_VERSION="${{1:-0.0.1}}"
wget -q -O plugin.bin "{FORGE_URL}/dl/frob-plugins/$PLUGIN_VERSION/plugin.bin"
"""
DOCKER_ACTION = "name: Docker frob\nruns:\n  using: docker\n  image: Dockerfile\n"
DOCKERFILE = f"""\
FROM alpine:3.19
ADD {FORGE_URL}/dl/frob/1.0.0/frob-linux.bin /usr/bin/frob
RUN apk add --no-cache curl && \\
    curl -fsSL {FORGE_URL}/dl/main/helper.sh -o /usr/bin/helper
"""
WRAPPER = """\
name: Wrapper
runs:
  using: composite
  steps:
    - uses: dl-fixtures/setup-frob@v1
    - uses: dl-fixtures/docker-frob@v1
"""
PAYLOADS = {
    "frob/1.0.0/frob-linux.bin": b"frob 1.0.0\n" * 100,
    "frob/2.0.0/frob-linux.bin": b"frob 2.0.0\n" * 100,
    "frob/latest/frob-linux.bin": b"frob nightly\n" * 50,
    "install-extras.sh": b"#!/bin/sh\necho extras\n",
    "frob-plugins/0.1.0/plugin.bin": b"plugin 0.1.0\n" * 10,
    "main/helper.sh": b"#!/bin/sh\necho helper\n",
    "big/huge.bin": b"\0" * (2 * 1024 * 1024 + 1),
}
STEPS = """\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
"""
WORKFLOW = (
    STEPS
    + """\
      - uses: dl-fixtures/setup-frob@v1
        with:
          version: 2.0.0
      - uses: dl-fixtures/docker-frob@v1
"""
)


@pytest.fixture(scope="module")
def dl_data(tmp_path_factory) -> Path:
    """A snapshot directory with the two download actions and their payloads."""
    b = _builder()
    data = tmp_path_factory.mktemp("dl-forge")
    frob = _repo("setup-frob")
    frob.commit("c1", b.day("2025-01-01"), [], {"action.yml": SETUP_FROB, "get.sh": GET_SH})
    frob.annotated_tag("v1.0.0", "c1", b.day("2025-01-01", 13))
    frob.lightweight_tag("v1", "c1")
    frob.branch("main", "c1")
    docker = _repo("docker-frob")
    docker.commit(
        "d1", b.day("2025-01-02"), [], {"action.yml": DOCKER_ACTION, "Dockerfile": DOCKERFILE}
    )
    docker.lightweight_tag("v1", "d1")
    docker.branch("main", "d1")
    wrapper = _repo("wrapper")  # a composite action that runs both: a graph two levels deep
    wrapper.commit("w1", b.day("2025-01-03"), [], {"action.yml": WRAPPER})
    wrapper.lightweight_tag("v1", "w1")
    wrapper.branch("main", "w1")
    for repo in (frob, docker, wrapper):
        for rel, content in repo.render().items():
            path = data / OWNER / repo.name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    for rel, content in PAYLOADS.items():
        path = data / "_downloads" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return data


@pytest.fixture
def consumer(tmp_path) -> Path:
    repo = tmp_path / "consumer"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW)
    return repo


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None):
    full_env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    full_env["PINNER_NO_GH"] = "1"
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pinner", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_discovery_hashes_and_classifies_every_download(emulator, dl_data, consumer, tmp_path):
    emu = emulator(dl_data)
    out = tmp_path / "manifest.json"
    result = run(
        ["checksums", "--server-url", emu.url, "--no-cache", "--write", str(out)], consumer
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    manifest = json.loads(out.read_text())
    assert manifest["schema"] == "pinner.checksums/1"
    downloads = manifest["downloads"]
    dl = f"{emu.url}/dl/"
    expected = {
        # the caller's with: version 2.0.0 wins over the input default
        "frob/2.0.0/frob-linux.bin": (False, []),
        "frob/latest/frob-linux.bin": (True, ["'latest' in path"]),
        "install-extras.sh": (True, ["no version in URL", "piped to a shell"]),
        # get.sh's $1 comes from the run line's argument
        "frob-plugins/0.1.0/plugin.bin": (False, []),
        # Dockerfile ADD (versioned) and RUN curl from a branch path
        "frob/1.0.0/frob-linux.bin": (False, []),
        "main/helper.sh": (True, ["branch 'main' in path"]),
    }
    assert sorted(downloads) == sorted(dl + k for k in expected)
    for rel, (mutable, reasons) in expected.items():
        entry = downloads[dl + rel]
        assert entry["mutable"] is mutable, rel
        assert entry["mutable_reasons"] == reasons, rel
        assert entry["sha256"] == hashlib.sha256(PAYLOADS[rel]).hexdigest(), rel
        assert entry["size"] == len(PAYLOADS[rel])
    places = {
        (p["origin"].split("@")[0], p["file"]) for e in downloads.values() for p in e["found_in"]
    }
    assert places == {
        ("dl-fixtures/setup-frob", "action.yml"),
        ("dl-fixtures/setup-frob", "get.sh"),
        ("dl-fixtures/docker-frob", "Dockerfile"),
    }
    # The runner.os URL cannot be resolved statically: reported as a template, with its place.
    assert "template: __FORGE_URL__/dl/frob/1.0.0/frob-${{ runner.os }}.bin" not in result.stderr
    assert "frob-${{ runner.os }}.bin (dl-fixtures/setup-frob@" in result.stderr
    assert "unresolved ${{ runner.os }}" in result.stderr
    assert "6 downloads hashed, 3 mutable, 1 templates left, 0 failed" in result.stderr


def test_stdout_manifest_is_deterministic(emulator, dl_data, consumer):
    emu = emulator(dl_data)
    first = run(["checksums", "--server-url", emu.url, "--no-cache"], consumer)
    second = run(["checksums", "--server-url", emu.url, "--no-cache"], consumer)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert json.loads(first.stdout)["downloads"]


def test_verify_passes_then_fails_when_a_served_file_changes(emulator, dl_data, consumer, tmp_path):
    emu = emulator(dl_data)
    out = tmp_path / "manifest.json"
    assert (
        run(
            ["checksums", "--server-url", emu.url, "--no-cache", "-w", str(out)], consumer
        ).returncode
        == 0
    )
    ok = run(["checksums", "--verify", str(out)], consumer)
    assert ok.returncode == 0, ok.stderr
    assert "verify OK: 6 checked" in ok.stderr
    served = dl_data / "_downloads" / "frob" / "latest" / "frob-linux.bin"
    original = served.read_bytes()
    try:
        served.write_bytes(b"a new nightly nobody reviewed\n")
        bad = run(["checksums", "--verify", str(out)], consumer)
    finally:
        served.write_bytes(original)
    assert bad.returncode == 1
    assert f"MISMATCH: {emu.url}/dl/frob/latest/frob-linux.bin" in bad.stderr
    assert "verify FAILED: 6 checked, 1 mismatched" in bad.stderr


def test_release_asset_digest_disagreement_is_an_alarm(emulator, fixtures_dir, tmp_path):
    emu = emulator(fixtures_dir / "forge")
    good = run(
        [
            "checksums",
            "--server-url",
            emu.url,
            "--no-cache",
            "--release",
            "pinner-fixtures/install-tool@v1.4.0",
        ],
        tmp_path,
    )
    assert good.returncode == 0, good.stderr
    entries = json.loads(good.stdout)["downloads"]
    assert len(entries) == 3
    assert all(e["release_digest"] == "sha256:" + e["sha256"] for e in entries.values())
    bad = run(
        [
            "checksums",
            "--server-url",
            emu.url,
            "--no-cache",
            "--release",
            "pinner-fixtures/install-tool@v1.3.0",
        ],
        tmp_path,
    )
    assert bad.returncode == 1
    assert "ALARM:" in bad.stderr
    assert "tool-1.3.0-linux-amd64: GitHub records sha256:" in bad.stderr


def test_downloads_never_carry_the_token_even_across_a_redirect(
    emulator, dl_data, fixtures_dir, tmp_path
):
    forge = emulator(fixtures_dir / "forge")
    other = emulator(dl_data)  # a second host (another port)
    target = f"{other.url}/dl/frob/1.0.0/frob-linux.bin"
    token = "ghp_SENTINEL0123456789abcdefSENTINEL"
    result = run(
        [
            "checksums",
            "--server-url",
            forge.url,
            "--no-cache",
            "--url",
            f"{forge.url}/_redirect?to={target}",
            "--release",
            "pinner-fixtures/install-tool@v1.4.0",
        ],
        tmp_path,
        env={"GITHUB_TOKEN": token},
    )
    assert result.returncode == 0, result.stderr
    assert token not in result.stdout + result.stderr
    assert (
        json.loads(result.stdout)["downloads"][f"{forge.url}/_redirect?to={target}"]["sha256"]
        == hashlib.sha256(PAYLOADS["frob/1.0.0/frob-linux.bin"]).hexdigest()
    )
    downloads = [r for r in forge.requests if r["kind"] == "download" or "_redirect" in r["path"]]
    assert downloads, "the forge saw the downloads"
    assert not any(r["auth"] for r in downloads)
    assert other.requests and not any(r["auth"] for r in other.requests)
    # The token did go where it belongs: the forge's API (the release listing).
    assert any(r["auth"] for r in forge.requests if r["kind"] == "rest")


def test_oversized_download_is_cut_off_with_a_clear_error(emulator, dl_data, tmp_path):
    emu = emulator(dl_data)
    result = run(
        [
            "checksums",
            "--server-url",
            emu.url,
            "--no-cache",
            "--max-size",
            "1",
            "--url",
            f"{emu.url}/dl/big/huge.bin",
        ],
        tmp_path,
    )
    assert result.returncode == 3
    assert "too large: more than 1048576 bytes" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["downloads"] == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "ftp://example.com/x"], "not an http(s) URL"),
        (["--release", "nonsense"], "--release takes OWNER/REPO@TAG"),
        (["--release", "pinner-fixtures/install-tool@v9.9.9"], "no release with tag v9.9.9"),
        (["--verify", "missing.json"], "cannot read manifest"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(emulator, fixtures_dir, tmp_path, args, message):
    emu = emulator(fixtures_dir / "forge")
    result = run(["checksums", "--server-url", emu.url, "--no-cache", *args], tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_verify_with_a_path_also_checks_that_the_manifest_covers_every_download(
    emulator, dl_data, consumer, tmp_path
):
    """`checksums . --verify FILE`: PATH is where the manifest's downloads come from. Every
    entry is downloaded again, and every download found under PATH must have an entry; one
    that no longer comes from anywhere is only a note."""
    emu = emulator(dl_data)
    out = tmp_path / "manifest.json"
    forge = ["--server-url", emu.url, "--no-cache"]
    assert run(["checksums", *forge, "-w", str(out)], consumer).returncode == 0
    ok = run(["checksums", ".", *forge, "--verify", str(out)], consumer)
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr.endswith(
        "verify OK: 6 checked, 0 mismatched, 0 could not be downloaded, "
        "0 missing from the manifest\n"
    )
    data = json.loads(out.read_text())
    plugin = f"{emu.url}/dl/frob-plugins/0.1.0/plugin.bin"
    del data["downloads"][plugin]
    gone = f"{emu.url}/dl/frob/1.0.0/frob-linux.bin"
    data["downloads"][gone]["found_in"] = [
        {"origin": "dl-fixtures/retired@" + "0" * 40, "file": "action.yml", "line": 3}
    ]
    stale = f"{emu.url}/dl/big/huge.bin"  # served, and no action downloads it
    data["downloads"][stale] = {
        "sha256": hashlib.sha256(PAYLOADS["big/huge.bin"]).hexdigest(),
        "size": len(PAYLOADS["big/huge.bin"]),
        "found_in": [{"origin": "dl-fixtures/retired@" + "0" * 40, "file": "get.sh", "line": 9}],
    }
    out.write_text(json.dumps(data))
    bad = run(["checksums", ".", *forge, "--verify", str(out)], consumer)
    assert bad.returncode == 1, bad.stderr
    assert f"MISSING: {plugin} (dl-fixtures/setup-frob@" in bad.stderr
    assert "get.sh:4): downloaded but not in the manifest" in bad.stderr
    assert f"note: {stale}: in the manifest, but nothing found downloads it any more" in bad.stderr
    assert f"note: {gone}" not in bad.stderr  # still downloaded, whatever found_in says
    assert bad.stderr.endswith(
        "verify FAILED: 6 checked, 0 mismatched, 0 could not be downloaded, "
        "1 missing from the manifest\n"
    )


def test_offline_answers_discovery_from_the_cache_and_says_downloads_need_the_network(
    emulator, dl_data, consumer, tmp_path
):
    emu = emulator(dl_data)
    cache = ["--server-url", emu.url, "--cache-dir", str(tmp_path / "cache")]
    warm = run(["checksums", *cache], consumer)
    assert warm.returncode == 0, warm.stderr
    asked = len(emu.requests)
    out = tmp_path / "manifest.json"
    offline = run(["checksums", *cache, "--offline", "--write", str(out)], consumer)
    assert offline.returncode == 3, offline.stderr
    assert len(emu.requests) == asked  # not one request: the walk came from the cache
    assert f"{emu.url}/dl/frob/2.0.0/frob-linux.bin: not downloaded: --offline" in offline.stderr
    assert "0 downloads hashed, 0 mutable, 1 templates left, 6 failed" in offline.stderr
    assert not out.exists()
    assert "Traceback" not in offline.stderr


def test_snapshot_makes_no_request_for_downloads_either(dl_data, consumer, tmp_path):
    """``--snapshot`` promises no network at all: a URL to hash is reported as not downloaded
    (exit 3, nothing written), as with ``--offline``, instead of being fetched."""
    out = tmp_path / "manifest.json"
    with RecordingServer(status=200) as server:
        url = f"{server.url}/tool-1.2.3.tgz"
        result = run(
            ["checksums", "--snapshot", str(dl_data), "--url", url, "--write", str(out)], consumer
        )
    assert result.returncode == 3, result.stderr
    assert server.seen == []
    assert f"{url}: not downloaded: --snapshot makes no request" in result.stderr
    assert not out.exists()
    assert "Traceback" not in result.stderr


PIP_WORKFLOW = (
    STEPS
    + """\
      - run: |
          pip install git+https://github.com/o/tool@v1.2.3
          pip install -i FORGE/simple --extra-index-url=FORGE/extra tool==1.0
          PIP_FIND_LINKS=FORGE/wheels python -m pip install other
          pip install FORGE/dl/frob/1.0.0/frob-linux.bin
"""
)


def test_pip_vcs_requirements_and_index_urls_are_not_downloads_to_hash(emulator, dl_data, tmp_path):
    emu = emulator(dl_data)
    repo = tmp_path / "consumer"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(PIP_WORKFLOW.replace("FORGE", emu.url))
    result = run(["checksums", "--server-url", emu.url, "--no-cache"], repo)
    assert result.returncode == 0, result.stderr
    assert list(json.loads(result.stdout)["downloads"]) == [
        f"{emu.url}/dl/frob/1.0.0/frob-linux.bin"
    ]


def test_values_the_walk_cannot_follow_are_reported_on_their_line(emulator, dl_data, tmp_path):
    """A ``uses:`` outside the runner's grammar (or naming a repository that does not exist)
    is not a download, but nothing behind it was searched: a problem on its line, as ``pin``
    and ``audit`` say it, exit 1. The manifest of everything else is still written: the runner
    refuses those lines too, so nothing it would run is missing from it."""
    emu = emulator(dl_data)
    repo = tmp_path / "consumer"
    (repo / ".github" / "workflows").mkdir(parents=True)
    workflow = WORKFLOW + (
        "      - uses: dl-fixtures/setup-frob/../../x@v1\n"
        "      - uses: dl-fixtures/nowhere@v1\n"
        "      - uses: ${{ matrix.action }}\n"
    )
    (repo / ".github" / "workflows" / "ci.yml").write_text(workflow)
    out = tmp_path / "manifest.json"
    result = run(["checksums", "--server-url", emu.url, "--no-cache", "-w", str(out)], repo)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert (
        ".github/workflows/ci.yml:11: problem: invalid uses value "
        "'dl-fixtures/setup-frob/../../x@v1': "
    ) in "\n".join(lines)
    [invalid] = [line for line in lines if line.startswith(".github/workflows/ci.yml:11: ")]
    assert invalid.endswith(" (not walked for downloads)"), invalid
    [missing] = [line for line in lines if line.startswith(".github/workflows/ci.yml:12: ")]
    assert missing.startswith(".github/workflows/ci.yml:12: problem: dl-fixtures/nowhere@v1: ")
    [expression] = [line for line in lines if line.startswith(".github/workflows/ci.yml:13: ")]
    assert expression == (
        ".github/workflows/ci.yml:13: warning: ${{ matrix.action }}: an expression (${{ }}) "
        "names what runs only at run time (not walked for downloads)"
    )
    assert lines[-1].endswith(", 0 digest alarms, 3 reference(s) not walked")
    assert len(json.loads(out.read_text())["downloads"]) == 6


def test_a_walk_cut_by_a_limit_says_so_and_writes_no_manifest(
    emulator, dl_data, tmp_path, consumer
):
    """The walk's bounds are audit's (``--max-file-nodes``, ``--max-nodes``...), with its
    flags: a cut names the file, what was left out and the flag that raises the limit; the
    manifest would lack what lies beyond, so ``--write`` writes nothing and the run exits 1,
    and ``--verify`` with a PATH cannot say OK. A raised limit reads everything."""
    emu = emulator(dl_data)
    (consumer / ".github" / "workflows" / "ci.yml").write_text(
        STEPS + "      - uses: dl-fixtures/wrapper@v1\n"
    )
    forge = ["--server-url", emu.url, "--no-cache"]
    whole = tmp_path / "whole.json"
    full = run(["checksums", *forge, "-w", str(whole)], consumer)
    assert full.returncode == 0, full.stderr
    # the input default 1.0.0: setup-frob and the Dockerfile download the same binary
    assert len(json.loads(whole.read_text())["downloads"]) == 5

    out = tmp_path / "manifest.json"
    cut = run(["checksums", *forge, "--max-file-nodes", "1", "-w", str(out)], consumer)
    assert cut.returncode == 1, cut.stderr
    [warning] = [line for line in cut.stderr.splitlines() if line.startswith("warning: ")]
    assert warning.startswith("warning: dl-fixtures/wrapper@")
    assert warning.endswith(
        ": 1 of its 2 references followed, the rest not audited: more than 1 distinct actions "
        "from one file (--max-file-nodes); what lies beyond is not in the manifest"
    )
    assert "the walk cut at 1 file(s) by a limit (incomplete)" in cut.stderr
    assert cut.stderr.splitlines()[-1].startswith(
        "pinner: the walk was cut by a limit at 1 file(s): "
    )
    assert not out.exists()

    unread = run(["checksums", *forge, "--max-nodes", "2"], consumer)
    assert unread.returncode == 1, unread.stderr
    assert "(--max-nodes); what lies beyond is not in the manifest" in unread.stderr
    assert json.loads(unread.stdout)["downloads"]  # stdout still shows what was found

    verify = run(
        ["checksums", ".", *forge, "--max-file-nodes", "1", "--verify", str(whole)], consumer
    )
    assert verify.returncode == 1, verify.stderr
    assert "verify INCOMPLETE: 5 checked, 0 mismatched" in verify.stderr
    ok = run(["checksums", ".", *forge, "--verify", str(whole)], consumer)
    assert ok.returncode == 0, ok.stderr
    assert "verify OK: 5 checked" in ok.stderr
