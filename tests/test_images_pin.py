"""``pinner pin`` for container images, end to end against a real OCI registry.

The registry is the CNCF Distribution registry (Debian's ``docker-registry``), once open and
once behind token authentication issued by a token service of the tests, configured the way
Docker Hub and ghcr.io work (:mod:`tests.registry`). Images are built by the tests, so every
digest is known: each assertion compares with what was pushed, and with what ``skopeo`` (a
real client) says.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest

from pinner.formats.schemas import PIN, load_schema
from tests.registry.fixtures import (
    GITHUB_TOKEN,
    Registries,
    clean_env,
    docker_config,
    pinner_command,
    start_registries,
)
from tests.registry.harness import SKOPEO_BINARY, require_tools
from tests.registry.images import build_image, digest_of, write_oci_layout

FORGE = Path(__file__).resolve().parents[1] / "fixtures" / "forge"


@pytest.fixture(scope="module")
def regs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registries]:
    registries = start_registries(tmp_path_factory.mktemp("registries"))
    yield registries
    registries.stop()


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        pinner_command(*args),
        capture_output=True,
        text=True,
        env=env or clean_env(),
        timeout=120,
    )


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
    return root


def every_form(host: str) -> dict[str, str | bytes]:
    """A repository with every place an image can be written, in several YAML styles."""
    return {
        ".github/workflows/ci.yml": (
            "on: push\n"
            "jobs:\n"
            "  build:\n"
            "    runs-on: ubuntu-latest\n"
            f"    container: {host}/o/tool:v1\n"
            "    services:\n"
            "      db:\n"
            f'        image: "{host}/o/multi:v2"   # the database\n'
            "      cache:\n"
            f"        image: '{host}/o/docker:v3'\n"
            "    steps:\n"
            f"      - uses: docker://{host}/o/tool:v1\n"
            f"      - {{uses: 'docker://{host}/o/multi:v2', with: {{args: x}}}}\n"
            "  boxed:\n"
            "    runs-on: ubuntu-latest\n"
            "    container:\n"
            f"      image: {host}/o/multi:v2 # keep this note\n"
            "      options: --cpus 1\n"
            "  matrix:\n"
            "    runs-on: ubuntu-latest\n"
            "    strategy:\n"
            "      matrix:\n"
            f'        image: ["{host}/o/tool:v1", "{host}/o/docker:v3"]\n'
            "        include:\n"
            f"          - image: {host}/o/multi:v2\n"
            "    container: ${{ matrix.image }}\n"
        ),
        # CRLF line endings and a BOM are kept
        ".github/workflows/crlf.yml": (
            "\ufeffon: push\r\njobs:\r\n  a:\r\n    runs-on: ubuntu-latest\r\n"
            f"    container:\r\n      image: {host}/o/tool:v1\r\n    steps:\r\n"
            "      - run: echo hi\r\n"
        ).encode(),
        ".github/actions/image/action.yml": (
            f"name: image\nruns:\n  using: docker\n  image: docker://{host}/o/tool:v1\n"
        ),
        ".github/actions/build/action.yml": (
            "name: build\nruns:\n  using: docker\n  image: docker/Dockerfile\n"
        ),
        ".github/actions/build/docker/Dockerfile": (
            "# syntax=docker/dockerfile:1\n"
            f"FROM --platform=$BUILDPLATFORM {host}/o/multi:v2 AS builder\n"
            "RUN make \\\n  all\n"
            "FROM builder AS test\n"
            "FROM scratch\n"
            f"from {host}/o/tool:v1\n"
            "COPY --from=builder /out /out\n"
        ),
    }


def pinned(regs: Registries, host: str, name: str) -> str:
    return f"{host}/{name}@{regs.digest(name)}"


def test_pin_rewrites_every_image_form_byte_exact_and_again_nothing(
    regs: Registries, tmp_path: Path
) -> None:
    host = regs.anonymous.host
    files = every_form(host)
    root = write(tmp_path / "repo", files)
    result = run("pin", "--no-cache", str(root))
    assert result.returncode == 0, result.stderr
    tool, multi, docker = (
        pinned(regs, host, n) for n in ("o/tool:v1", "o/multi:v2", "o/docker:v3")
    )
    expected = {
        rel: (content.decode("utf-8") if isinstance(content, bytes) else content)
        for rel, content in files.items()
    }
    for rel, text in expected.items():
        for name, new in (("o/tool:v1", tool), ("o/multi:v2", multi), ("o/docker:v3", docker)):
            text = text.replace(f"{host}/{name}", new)
        expected[rel] = text
    for rel, text in expected.items():
        data = (root / rel).read_bytes()
        assert data == text.encode("utf-8"), rel
    # the index digest, never a platform's manifest
    assert regs.digest("o/multi:v2") not in {i.digest for i in regs.images["o/multi:v2"].images}
    assert "13 image(s) in 4 file(s) changed" in result.stderr.splitlines()[-1], result.stderr
    assert "multi-platform index pinned" in result.stdout
    again = run("pin", "--no-cache", "--check", str(root))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing would change" in again.stderr
    assert {rel: (root / rel).read_bytes() for rel in files} == {
        rel: text.encode("utf-8") for rel, text in expected.items()
    }


def test_check_counts_unpinned_images_and_no_images_leaves_them(
    regs: Registries, tmp_path: Path
) -> None:
    root = write(tmp_path / "repo", every_form(regs.anonymous.host))
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    check = run("pin", "--no-cache", "--check", str(root))
    assert check.returncode == 1
    assert "13 image(s) in 4 file(s) would change" in check.stderr
    skipped = run("pin", "--no-cache", "--no-images", "--check", str(root))
    assert skipped.returncode == 0, skipped.stderr
    assert "nothing would change" in skipped.stderr
    diff = run("pin", "--no-cache", "--diff", str(root))
    assert diff.returncode == 0
    assert "+FROM --platform=$BUILDPLATFORM" in diff.stdout
    assert "a/.github/actions/build/docker/Dockerfile" in diff.stdout
    assert before == {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_json_records_each_image_change(regs: Registries, tmp_path: Path) -> None:
    host = regs.anonymous.host
    root = write(
        tmp_path / "repo",
        {".github/workflows/ci.yml": f"jobs:\n  a:\n    container: {host}/o/multi:v2\n"},
    )
    result = run("pin", "--no-cache", "--check", "--format", "json", str(root))
    assert result.returncode == 1
    document = json.loads(result.stdout)
    jsonschema.validate(document, load_schema(PIN))
    (record,) = document["records"]
    assert record["kind"] == "image" and record["index"] is True
    assert record["new"] == pinned(regs, host, "o/multi:v2")
    assert record["digest"] == regs.digest("o/multi:v2") and record["tag"] == "v2"
    assert document["summary"]["images"] == 1 and document["summary"]["changes"] == 0


def test_pinned_digests_are_what_skopeo_resolves(regs: Registries, tmp_path: Path) -> None:
    """skopeo (a real client) agrees on every digest, for an image it pushed itself from an
    OCI layout written by the tests too."""
    skopeo = require_tools(SKOPEO_BINARY)[SKOPEO_BINARY]
    host = regs.anonymous.host
    image = build_image("pushed by skopeo", created="2026-04-01T00:00:00Z")
    layout = write_oci_layout(tmp_path / "layout", image, "v9")
    subprocess.run(
        [skopeo, "copy", "--preserve-digests", "--dest-tls-verify=false",
         f"oci:{layout}:v9", f"docker://{regs.anonymous.direct}/s/copied:v9"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    root = write(
        tmp_path / "repo",
        {
            ".github/workflows/ci.yml": (
                f"jobs:\n  a:\n    container: {host}/s/copied:v9\n"
                f"    steps:\n      - uses: docker://{host}/o/multi:v2\n"
                f"      - uses: docker://{host}/o/docker:v3\n"
            )
        },
    )
    assert run("pin", "--no-cache", str(root)).returncode == 0
    text = (root / ".github/workflows/ci.yml").read_text()
    for name in ("s/copied:v9", "o/multi:v2", "o/docker:v3"):
        raw = subprocess.run(
            [skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{host}/{name}"],
            check=True, capture_output=True, timeout=60,
        ).stdout  # fmt: skip
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        assert f"{host}/{name}@{digest}" in text, name
    assert image.digest in text


def test_an_impostor_digest_is_a_problem_and_never_rewritten(
    regs: Registries, tmp_path: Path
) -> None:
    host = regs.anonymous.host
    elsewhere = regs.digest("x/elsewhere:v1")
    workflow = (
        "jobs:\n  a:\n"
        f"    container: {host}/o/tool@{elsewhere}\n"
        f"    steps:\n      - uses: docker://{host}/o/tool:v1@{elsewhere}\n"
        f"      - uses: docker://{host}/o/tool:v1\n"
    )
    root = write(tmp_path / "repo", {".github/workflows/ci.yml": workflow})
    result = run("pin", "--no-cache", str(root))
    assert result.returncode == 1
    problems = [line for line in result.stderr.splitlines() if ": problem: " in line]
    assert len(problems) == 2 and all(f"{elsewhere} is not an image of" in p for p in problems)
    assert problems[0].startswith(".github/workflows/ci.yml:3:")
    # the impostors stay exactly as written; the unpinned image is still pinned
    assert (root / ".github/workflows/ci.yml").read_text() == workflow.replace(
        f"docker://{host}/o/tool:v1\n", f"docker://{pinned(regs, host, 'o/tool:v1')}\n"
    )


def test_a_moved_tag_next_to_its_digest_is_a_warning_not_an_edit(
    regs: Registries, tmp_path: Path
) -> None:
    host = regs.anonymous.host
    workflow = f"jobs:\n  a:\n    container: {host}/o/moving:1.0@{regs.moved_from}\n"
    root = write(tmp_path / "repo", {".github/workflows/ci.yml": workflow})
    result = run("pin", "--no-cache", str(root))
    assert result.returncode == 0, result.stderr
    assert f"warning: tag 1.0 of {host}/o/moving now names {regs.digest('o/moving:1.0')}" in (
        result.stderr
    )
    assert (root / ".github/workflows/ci.yml").read_text() == workflow


def test_expressions_are_expanded_or_reported(regs: Registries, tmp_path: Path) -> None:
    host = regs.anonymous.host
    workflow = (
        "jobs:\n"
        "  partial:\n"
        "    strategy:\n      matrix:\n        tag: [v1]\n"
        f"    container: {host}/o/tool:${{{{ matrix.tag }}}}\n"
        "  dynamic:\n"
        "    strategy:\n      matrix: ${{ fromJSON(needs.x.outputs.m) }}\n"
        "    container: ${{ matrix.image }}\n"
        "  env:\n"
        "    services:\n      db:\n        image: ${{ env.DB_IMAGE }}\n"
    )
    root = write(tmp_path / "repo", {".github/workflows/ci.yml": workflow})
    result = run("pin", "--no-cache", str(root))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if ": warning: " in line]
    assert len(warnings) == 3, result.stderr
    assert f"image {host}/o/tool:v1 built from" in warnings[0]
    assert f"it is {regs.digest('o/tool:v1')} today" in warnings[0]
    assert "strategy.matrix is not literal" in warnings[1]
    assert "env.DB_IMAGE }} is not a matrix value" in warnings[2]
    assert (root / ".github/workflows/ci.yml").read_text() == workflow


def test_problems_are_reported_on_their_line(regs: Registries, tmp_path: Path) -> None:
    host = regs.anonymous.host
    root = write(
        tmp_path / "repo",
        {
            ".github/workflows/ci.yml": (
                f"jobs:\n  a:\n    container: {host}/o/tool:nope\n"
                f"    services:\n      x:\n        image: {host}/o/Upper:v1\n"
                f"      y:\n        image: {host}/o/absent:v1\n"
                f"      z:\n        image: {host}/o/tool:v1 # pinner: ignore[unpinned-image]\n"
            ),
            ".github/actions/gone/action.yml": "runs:\n  using: docker\n  image: Dockerfile\n",
        },
    )
    result = run("pin", "--no-cache", str(root))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert any(
        line.startswith(".github/actions/gone/action.yml:3: problem: runs.image names "
                        ".github/actions/gone/Dockerfile, which does not exist")
        for line in lines
    ), result.stderr  # fmt: skip
    assert any(
        ".github/workflows/ci.yml:3: problem:" in x and "tag 'nope' not found" in x for x in lines
    )
    assert any(
        ".github/workflows/ci.yml:6: problem: invalid image" in x and "lowercase" in x
        for x in lines
    )
    assert any(".github/workflows/ci.yml:8: problem:" in x and "not found" in x for x in lines)
    assert not any(":10:" in x for x in lines)  # silenced inline
    assert "nothing to change" in lines[-1]


# ----------------------------------------------------------------------------- authentication


def test_token_registry_rejects_unauthenticated_pulls(regs: Registries) -> None:
    base = regs.token.direct_base
    answer = httpx.head(f"{base}/v2/public/app/manifests/v1")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer realm=")
    anonymous = regs.token_server.bearer_for(None, "private/app", "pull")  # type: ignore[arg-type]
    denied = httpx.head(f"{base}/v2/private/app/manifests/v1", headers={"Authorization": anonymous})
    assert denied.status_code == 401


def test_anonymous_token_flow_pins_public_images_and_private_ones_are_denied(
    regs: Registries, tmp_path: Path
) -> None:
    host = regs.token.host
    workflow = (
        f"jobs:\n  a:\n    container: {host}/public/app:v1\n"
        f"    services:\n      p:\n        image: {host}/private/app:v1\n"
    )
    root = write(tmp_path / "repo", {".github/workflows/ci.yml": workflow})
    seen = len(regs.token_server.log)
    result = run("pin", "--no-cache", str(root))
    assert result.returncode == 1
    assert f"pull access to {host}/private/app denied" in result.stderr
    assert "--registry-auth" in result.stderr
    text = (root / ".github/workflows/ci.yml").read_text()
    assert f"{host}/public/app:v1@{regs.digest('public/app:v1')}" in text
    assert f"{host}/private/app:v1\n" in text
    asked = regs.token_server.log[seen:]
    assert asked and all("authorization" not in r["headers"] for r in asked)  # anonymous


def test_credentials_from_registry_auth_and_docker_config(regs: Registries, tmp_path: Path) -> None:
    host = regs.token.host
    workflow = f"jobs:\n  a:\n    container: {host}/private/app:v1\n"
    config = docker_config(
        tmp_path / "auth" / "config.json", {host: ("reader", "reader-secret-pw")}
    )
    for how, args, env in (
        ("--registry-auth", ["--registry-auth", str(config)], clean_env()),
        ("DOCKER_CONFIG", [], clean_env(DOCKER_CONFIG=str(config.parent))),
    ):
        root = write(tmp_path / how, {".github/workflows/ci.yml": workflow})
        seen = len(regs.token_server.log)
        result = run("pin", "--no-cache", *args, str(root), env=env)
        assert result.returncode == 0, (how, result.stderr)
        assert (
            f"private/app:v1@{regs.digest('private/app:v1')}"
            in (root / ".github/workflows/ci.yml").read_text()
        )
        basic = regs.token_server.basic("reader")
        assert any(r["headers"].get("authorization") == basic for r in regs.token_server.log[seen:])
    wrong = docker_config(tmp_path / "wrong" / "config.json", {host: ("reader", "not-it")})
    root = write(tmp_path / "wrong-run", {".github/workflows/ci.yml": workflow})
    result = run("pin", "--no-cache", "--registry-auth", str(wrong), str(root))
    assert result.returncode == 1
    assert "rejected the credentials" in result.stderr and "not-it" not in result.stderr


def test_bad_registry_auth_files_are_usage_errors(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo", {".github/workflows/ci.yml": "jobs:\n  a:\n    container: alpine\n"}
    )
    (tmp_path / "bad.json").write_text("{not json")
    for path, message in (
        (tmp_path / "missing.json", "cannot read"),
        (tmp_path / "bad.json", "not JSON"),
    ):
        result = run("pin", "--registry-auth", str(path), str(root))
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
    both = run("pin", "--no-images", "--registry-auth", str(tmp_path / "bad.json"), str(root))
    assert both.returncode == 2 and "--no-images" in both.stderr


def test_each_credential_goes_only_to_its_registry_and_the_github_token_to_none(
    regs: Registries, tmp_path: Path, emulator
) -> None:
    """A run with a GitHub token, actions resolved at the GitHub emulator, images from both
    registries and credentials for both: the logs of the registries (every request header,
    recorded by the proxy in front of each) and of the token service show which secret went
    where."""
    emu = emulator(FORGE)
    anon, token = regs.anonymous.host, regs.token.host
    decoy = ("decoy-user", "decoy-password-for-the-open-registry")
    config = docker_config(
        tmp_path / "auth" / "config.json",
        {token: ("reader", "reader-secret-pw"), anon: decoy},
    )
    root = write(
        tmp_path / "repo",
        {
            ".github/workflows/ci.yml": (
                "jobs:\n  a:\n"
                f"    container: {token}/private/app:v1\n"
                f"    services:\n      db:\n        image: {anon}/o/tool:v1\n"
                "    steps:\n      - uses: pinner-fixtures/checkout-lite@v1\n"
            )
        },
    )
    for proxy in (regs.anonymous.proxy, regs.token.proxy):
        proxy.requests.clear()
    regs.token_server.log.clear()
    result = run(
        "pin", "--no-cache", "--server-url", emu.url, "--registry-auth", str(config), str(root)
    )
    assert result.returncode == 0, result.stderr
    assert "checkout-lite@" in (root / ".github/workflows/ci.yml").read_text()
    assert any(r.get("auth") for r in emu.requests), "the GitHub token went to GitHub"
    secrets = [GITHUB_TOKEN, "reader-secret-pw", decoy[1], "IMAGESsentinel"]
    import base64

    secrets += [base64.b64encode(f"x-access-token:{GITHUB_TOKEN}".encode()).decode()]
    # the open registry: asked, and never given any credential (not even its own decoy,
    # because it never asked for one)
    assert regs.anonymous.proxy.requests
    assert regs.anonymous.proxy.authorizations() == []
    # the token registry: only bearer tokens of its own token service
    auths = regs.token.proxy.authorizations()
    assert auths and all(a.startswith("Bearer ") for a in auths)
    # the token service: the reader's password, nothing else
    basic = regs.token_server.basic("reader")
    assert {r["headers"].get("authorization") for r in regs.token_server.log} == {basic}
    everything = json.dumps(
        [regs.anonymous.proxy.requests, regs.token.proxy.requests, regs.token_server.log]
    )
    everything += regs.anonymous.log_text() + regs.token.log_text()
    for secret in (
        GITHUB_TOKEN,
        base64.b64encode(f"x-access-token:{GITHUB_TOKEN}".encode()).decode(),
    ):
        assert secret not in everything
    assert decoy[1] not in everything
    assert "reader-secret-pw" not in json.dumps([regs.token.proxy.requests])
    for output in (result.stdout, result.stderr):
        assert not any(s in output for s in secrets)


# ----------------------------------------------------------------------------- cache


def test_digests_are_cached_for_ever_tags_briefly_and_offline_works(
    regs: Registries, tmp_path: Path
) -> None:
    host = regs.anonymous.host
    workflow = (
        f"jobs:\n  a:\n    container: {host}/o/tool:v1\n"
        f"    services:\n      s:\n        image: {host}/o/multi:v2@{regs.digest('o/multi:v2')}\n"
    )
    cache = tmp_path / "cache"
    root = write(tmp_path / "repo", {".github/workflows/ci.yml": workflow})
    regs.anonymous.proxy.requests.clear()
    first = run("pin", "--cache-dir", str(cache), "--check", str(root))
    assert first.returncode == 1, first.stderr
    asked = len(regs.anonymous.proxy.requests)
    assert asked == 2  # o/tool:v1 and o/multi:v2 (which names the digest written next to it)
    warm = run("pin", "--cache-dir", str(cache), "--check", str(root))
    assert warm.returncode == 1 and warm.stdout == first.stdout
    assert len(regs.anonymous.proxy.requests) == asked, "a warm run asked the registry again"
    offline = run("pin", "--cache-dir", str(cache), "--offline", "--check", str(root))
    assert offline.returncode == 1 and offline.stdout == first.stdout
    assert len(regs.anonymous.proxy.requests) == asked
    fresh = tmp_path / "empty-cache"
    missing = run("pin", "--cache-dir", str(fresh), "--offline", "--check", str(root))
    assert missing.returncode == 3 and "--offline" in missing.stderr


def test_digest_content_is_verified(regs: Registries) -> None:
    """What the registry serves for a digest hashes to that digest (the client checks it)."""
    body = httpx.get(
        f"{regs.anonymous.direct_base}/v2/o/multi/manifests/v2",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
    ).content
    assert digest_of(body) == regs.digest("o/multi:v2")


def test_several_repositories_with_their_dockerfiles(regs: Registries, tmp_path: Path) -> None:
    """Two repositories in one run: each Dockerfile is found in its own repository and every
    path printed says which repository it is in (pin and update alike)."""
    host = regs.anonymous.host
    files = {
        ".github/actions/b/action.yml": "runs:\n  using: docker\n  image: Dockerfile\n",
        ".github/actions/b/Dockerfile": f"FROM {host}/o/tool:v1\n",
        ".github/workflows/ci.yml": "jobs:\n  a:\n    steps:\n      - uses: ./.github/actions/b\n",
    }
    for name in ("one", "two"):
        write(tmp_path / name, files)
        (tmp_path / name / ".git").mkdir()
    done = subprocess.run(
        pinner_command("pin", "--no-cache", "one", "two"),
        capture_output=True, text=True, env=clean_env(), timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {line.split(":")[0] for line in done.stdout.splitlines()} == {
        "one/.github/actions/b/Dockerfile",
        "two/.github/actions/b/Dockerfile",
    }
    for name in ("one", "two"):
        assert (tmp_path / name / ".github/actions/b/Dockerfile").read_text() == (
            f"FROM {pinned(regs, host, 'o/tool:v1')}\n"
        )
    write(tmp_path / "two", files)  # unpinned again: update pins it, in its own repository
    updated = subprocess.run(
        pinner_command("update", "--no-cache", "--cooldown", "0", "--format", "json", "one", "two"),
        capture_output=True, text=True, env=clean_env(), timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    (change,) = json.loads(updated.stdout)["changes"]
    assert change["files"] == [{"file": "two/.github/actions/b/Dockerfile", "line": 1}]
    assert (tmp_path / "two" / ".github/actions/b/Dockerfile").read_text() == (
        f"FROM {pinned(regs, host, 'o/tool:v1')}\n"
    )
