"""Docker Hub specifics a local registry cannot show, with respx standing in for it.

* names: ``alpine``, ``docker.io/alpine``, ``index.docker.io/library/alpine`` all mean
  ``library/alpine`` at ``registry-1.docker.io`` (and ``someuser/tool`` gets no ``library/``);
  the text written back keeps the user's spelling;
* the token service is another host (``auth.docker.io``), named by the registry's challenge;
* a pull rate limit answers 429 with ``RateLimit-*`` headers: exit 3, the reset time said,
  nothing written, and the GitHub token never sent anywhere near Docker Hub.

The CLI runs in process (CliRunner), so respx intercepts every request it makes; any request
not mocked here fails the test.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from pinner.cli import app
from pinner.registry.names import parse_image

HUB = "https://registry-1.docker.io"
AUTH = "https://auth.docker.io/token"
GITHUB_TOKEN = "ghp_DOCKERHUBsentinelTOKEN0123456789abcdef"
ALPINE = "sha256:" + hashlib.sha256(b"alpine index").hexdigest()
TOOL = "sha256:" + hashlib.sha256(b"someuser tool").hexdigest()
HUB_TOKEN = "dockerhub-pull-token-abcdefghijklmnop"


def invoke(*args: str):
    env = {"PINNER_NO_GH": "1", "GITHUB_TOKEN": GITHUB_TOKEN, "GH_TOKEN": "", "NO_COLOR": "1"}
    env["DOCKER_CONFIG"] = ""
    return CliRunner().invoke(app, list(args), env=env)


def challenge(repo: str) -> httpx.Response:
    return httpx.Response(
        401,
        headers={
            "www-authenticate": (
                f'Bearer realm="{AUTH}",service="registry.docker.io",scope="repository:{repo}:pull"'
            )
        },
        json={"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
    )


def manifest_route(mock: respx.MockRouter, repo: str, tag: str, digest: str) -> respx.Route:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {HUB_TOKEN}":
            return challenge(repo)
        assert "application/vnd.oci.image.index.v1+json" in request.headers["accept"]
        return httpx.Response(
            200,
            headers={
                "docker-content-digest": digest,
                "content-type": "application/vnd.oci.image.index.v1+json",
                "content-length": "1234",
            },
        )

    return mock.head(f"{HUB}/v2/{repo}/manifests/{tag}").mock(side_effect=answer)


def token_route(mock: respx.MockRouter) -> respx.Route:
    return mock.get(AUTH).mock(
        return_value=httpx.Response(200, json={"token": HUB_TOKEN, "expires_in": 300})
    )


def repo(tmp_path: Path, workflow: str) -> Path:
    path = tmp_path / "repo" / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True)
    path.write_text(workflow)
    return tmp_path / "repo"


@pytest.mark.parametrize(
    ("written", "repository", "path"),
    [
        ("alpine", "docker.io/library/alpine", "library/alpine"),
        ("alpine:3.19", "docker.io/library/alpine", "library/alpine"),
        ("docker.io/alpine:3.19", "docker.io/library/alpine", "library/alpine"),
        ("index.docker.io/library/alpine:3.19", "docker.io/library/alpine", "library/alpine"),
        ("someuser/tool:v1", "docker.io/someuser/tool", "someuser/tool"),
        ("ghcr.io/o/tool:v1", "ghcr.io/o/tool", "o/tool"),
        ("localhost:5000/tool", "localhost:5000/tool", "tool"),
    ],
)
def test_docker_hub_names_are_normalised_as_docker_does(
    written: str, repository: str, path: str
) -> None:
    ref = parse_image(written)
    assert ref.repository == repository and ref.path == path
    assert ref.api_host == (
        "registry-1.docker.io" if repository.startswith("docker.io/") else ref.domain
    )
    assert ref.pinned("sha256:" + "0" * 64).startswith(written.split(":3.19")[0].split(":v1")[0])


def test_library_images_resolve_at_registry_1_with_a_token_from_auth_docker_io(
    tmp_path: Path,
) -> None:
    root = repo(
        tmp_path,
        "jobs:\n  a:\n"
        "    container: alpine:3.19\n"
        "    services:\n      b:\n        image: docker.io/alpine\n"
        "    steps:\n      - uses: docker://someuser/tool:v1\n",
    )
    with respx.mock(assert_all_mocked=True) as mock:
        manifest_route(mock, "library/alpine", "3.19", ALPINE)
        manifest_route(mock, "library/alpine", "latest", ALPINE)
        manifest_route(mock, "someuser/tool", "v1", TOOL)
        tokens = token_route(mock)
        result = invoke("pin", "--no-cache", str(root))
    assert result.exit_code == 0, result.output
    assert (root / ".github/workflows/ci.yml").read_text() == (
        "jobs:\n  a:\n"
        f"    container: alpine:3.19@{ALPINE}\n"
        f"    services:\n      b:\n        image: docker.io/alpine:latest@{ALPINE}\n"
        f"    steps:\n      - uses: docker://someuser/tool:v1@{TOOL}\n"
    )
    scopes = {call.request.url.params["scope"] for call in tokens.calls}
    assert scopes == {"repository:library/alpine:pull", "repository:someuser/tool:pull"}
    for call in mock.calls:
        assert GITHUB_TOKEN not in str(call.request.headers)
        assert call.request.url.host in ("registry-1.docker.io", "auth.docker.io")
        if call.request.url.host == "auth.docker.io":
            assert "authorization" not in call.request.headers  # anonymous pull tokens


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        (
            {"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "0;w=21600"},
            "resets by ",
        ),
        ({"ratelimit-remaining": "0", "ratelimit-reset": "3600"}, "resets at "),
        ({"retry-after": "7200"}, "resets at "),
    ],
)
def test_a_docker_hub_rate_limit_is_exit_3_with_the_reset_time_and_writes_nothing(
    tmp_path: Path, headers: dict[str, str], says: str
) -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        token_route(mock)
        manifest_route(mock, "library/alpine", "3.19", ALPINE)
        limited = mock.head(f"{HUB}/v2/library/python/manifests/3.12").mock(
            return_value=httpx.Response(
                429,
                headers={**headers, "docker-ratelimit-source": "203.0.113.7"},
                json={"errors": [{"code": "TOOMANYREQUESTS", "message": "pull rate limit"}]},
            )
        )
        workflow = "jobs:\n  a:\n    container: alpine:3.19\n  b:\n    container: python:3.12\n"
        root = repo(tmp_path, workflow)
        result = invoke("pin", "--no-cache", str(root))
    assert result.exit_code == 3, result.output
    assert limited.call_count == 1  # not hammered with retries
    assert f"registry rate limit exceeded on registry-1.docker.io: {says}" in result.output
    assert "--registry-auth" in result.output and "Traceback" not in result.output
    assert "no file was written" in result.output
    assert (root / ".github/workflows/ci.yml").read_text() == workflow


def test_snapshot_runs_ask_no_registry_and_say_so(tmp_path: Path) -> None:
    import json

    import jsonschema

    from pinner.formats.schemas import PIN, load_schema

    forge = Path(__file__).resolve().parents[1] / "fixtures" / "forge"
    workflow = "jobs:\n  a:\n    container: alpine:3.19\n    steps:\n      - uses: docker://x/y:1\n"
    root = repo(tmp_path, workflow)
    with respx.mock(assert_all_mocked=True) as mock:
        text = invoke("pin", "--snapshot", str(forge), str(root))
        document = invoke("pin", "--snapshot", str(forge), "--format", "json", str(root))
    assert not mock.calls
    assert text.exit_code == 0, text.output
    assert (
        "2 image reference(s) not checked: --snapshot serves no container registry" in text.output
    )
    data = json.loads(document.stdout)
    jsonschema.validate(data, load_schema(PIN))
    assert data["notes"] and data["records"] == []
    assert (root / ".github/workflows/ci.yml").read_text() == workflow
