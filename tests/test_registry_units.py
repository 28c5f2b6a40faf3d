"""Units of the image support: names, credentials, challenges, the client's token scoping,
matrix expansion, Dockerfile ``FROM`` lines and image tag versions."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import httpx
import pytest
import respx

from pinner.core.image_update import parse_tag, tag_level, within
from pinner.errors import UsageError
from pinner.forge.http import Transport
from pinner.registry.auth import (
    load_docker_config,
    parse_challenge,
    parse_docker_config,
    registry_key,
)
from pinner.registry.client import RegistryClient, RegistryDenied
from pinner.registry.names import ImageNameError, parse_image
from pinner.settings import Settings
from pinner.sources.dockerfile import parse_froms
from pinner.sources.matrix import expand
from pinner.sources.scan import scan
from pinner.sources.yamlsafe import compose

# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "text",
    [
        "Alpine",  # Docker: an upper-case first component is a (bad) path, not a host
        "o/Upper:v1",
        "alpine:",
        "alpine:-x",
        "alpine@sha256:abc",
        "alpine@sha256:" + "A" * 64,
        "alpine:3 .19",
        "a//b",
        "",
        "x" * 256,
        "bad_host_/x",
    ],
)
def test_invalid_image_references_are_refused(text: str) -> None:
    with pytest.raises(ImageNameError):
        parse_image(text)


def test_image_references_keep_the_users_spelling_when_pinned() -> None:
    digest = "sha256:" + "a" * 64
    assert parse_image("alpine").pinned(digest) == f"alpine:latest@{digest}"
    assert parse_image("Ghcr.IO/o/t:v1").pinned(digest) == f"Ghcr.IO/o/t:v1@{digest}"
    ref = parse_image(f"127.0.0.1:5000/a/b/c:1.2-alpine@{digest}")
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (
        "127.0.0.1:5000",
        "a/b/c",
        "1.2-alpine",
        digest,
    )
    assert parse_image("[::1]:5000/x").domain == "[::1]:5000"
    assert parse_image("localhost/x").domain == "localhost"


# ----------------------------------------------------------------------------- credentials


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_docker_config_credentials_by_registry() -> None:
    config = parse_docker_config(
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": _auth("hub", "hub-pw")},
                "ghcr.io": {"username": "me", "password": "ghcr-pw"},
                "http://127.0.0.1:5000": {"identitytoken": "refresh-me"},
                "quay.io": {"registrytoken": "bearer-me"},
                "empty.example": {},
            }
        },
        source="test",
    )
    hub = config.credential_for("registry-1.docker.io")
    assert hub is not None and (hub.username, hub.password) == ("hub", "hub-pw")
    assert hub.basic() == "Basic " + _auth("hub", "hub-pw")
    assert config.credential_for("ghcr.io").password == "ghcr-pw"  # type: ignore[union-attr]
    assert config.credential_for("127.0.0.1:5000").identity_token == "refresh-me"  # type: ignore[union-attr]
    assert config.credential_for("quay.io").registry_token == "bearer-me"  # type: ignore[union-attr]
    assert config.credential_for("empty.example") is None
    assert config.credential_for("gcr.io") is None
    assert "hub-pw" not in repr(config) and "hub-pw" not in repr(hub)
    assert registry_key("https://index.docker.io/v1/") == "registry-1.docker.io"


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"auths": []},
        {"auths": {"x": {"auth": "not base64!"}}},
        {"auths": {"x": {"auth": base64.b64encode(b"no colon").decode()}}},
        {"auths": {"x": {"username": 3}}},
        {"credHelpers": {"x": "../../bin/sh"}},
        {"credsStore": 1},
    ],
)
def test_a_bad_docker_config_is_a_usage_error(document: object) -> None:
    with pytest.raises(UsageError):
        parse_docker_config(document, source="--registry-auth x")


def test_docker_config_comes_only_from_the_flag_or_docker_config(tmp_path: Path) -> None:
    assert load_docker_config(None, environ={"HOME": str(tmp_path)}) is None
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {"ghcr.io": {"auth": _auth("a", "b")}}})
    )
    found = load_docker_config(None, environ={"DOCKER_CONFIG": str(tmp_path)})
    assert found is not None and found.credential_for("ghcr.io") is not None
    with pytest.raises(UsageError, match="cannot read"):
        load_docker_config(tmp_path / "missing.json", environ={})


def test_a_docker_config_without_config_json_says_what_to_do(tmp_path: Path) -> None:
    """DOCKER_CONFIG is often set for other tools; the error names the way out."""
    with pytest.raises(UsageError) as info:
        load_docker_config(None, environ={"DOCKER_CONFIG": str(tmp_path / "empty")})
    message = str(info.value)
    assert message.startswith(f"DOCKER_CONFIG {tmp_path / 'empty' / 'config.json'}: cannot read")
    assert message.endswith("; unset DOCKER_CONFIG to pull anonymously, or pass --no-images")
    with pytest.raises(UsageError) as explicit:
        load_docker_config(tmp_path / "missing.json", environ={})
    assert "unset DOCKER_CONFIG" not in str(explicit.value)


def _helper(directory: Path, name: str, script: str) -> None:
    path = directory / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_credential_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _helper(
        tmp_path, "fake", 'read s; echo "{\\"Username\\": \\"u-$s\\", \\"Secret\\": \\"pw\\"}"\n'
    )
    _helper(tmp_path, "tokens", 'read s; echo \'{"Username": "<token>", "Secret": "idt"}\'\n')
    _helper(tmp_path, "none", "echo 'credentials not found in native keychain'; exit 1\n")
    _helper(tmp_path, "broken", "exit 3\n")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    config = parse_docker_config(
        {
            "credsStore": "fake",
            "credHelpers": {"gcr.io": "tokens", "quay.io": "none", "x.io": "broken"},
        },
        source="test",
    )
    hub = config.credential_for("registry-1.docker.io")
    assert hub is not None and hub.username == "u-https://index.docker.io/v1/"
    assert config.credential_for("ghcr.io").username == "u-ghcr.io"  # type: ignore[union-attr]
    assert config.credential_for("gcr.io").identity_token == "idt"  # type: ignore[union-attr]
    assert config.credential_for("quay.io") is None
    with pytest.raises(UsageError, match="exit 3"):
        config.credential_for("x.io")
    with pytest.raises(UsageError, match="not found on PATH"):
        parse_docker_config({"credsStore": "absent"}, source="t").credential_for("y.io")


def test_challenges_are_parsed_with_quotes_and_commas() -> None:
    parsed = parse_challenge(
        'Bearer realm="https://auth.example/token",service="reg, one",'
        'scope="repository:a/b:pull,push",error="insufficient_scope"'
    )
    assert parsed is not None and parsed.scheme == "bearer"
    assert parsed.realm == "https://auth.example/token"
    assert parsed.params["service"] == "reg, one"
    assert parsed.params["scope"] == "repository:a/b:pull,push"
    assert parse_challenge('Basic realm="x"').scheme == "basic"  # type: ignore[union-attr]
    assert parse_challenge(None) is None and parse_challenge("") is None


# ----------------------------------------------------------------------------- the client

DIGEST = "sha256:" + hashlib.sha256(b"manifest").hexdigest()


def _client(**kwargs: object) -> tuple[RegistryClient, Transport]:
    settings = Settings(token=None, max_retry_time=0.5, retry_backoff=0.01)  # type: ignore[arg-type]
    transport = Transport(settings)
    return RegistryClient(transport, **kwargs), transport  # type: ignore[arg-type]


def test_identity_tokens_are_exchanged_and_bearers_stay_on_their_host() -> None:
    config = parse_docker_config(
        {"auths": {"reg.example": {"identitytoken": "refresh-secret"}}}, source="t"
    )
    blob = b'{"created": "2026-02-03T04:05:06.123456789Z"}'
    child = json.dumps({"config": {"digest": "sha256:" + hashlib.sha256(blob).hexdigest()}})
    child_bytes = child.encode()
    index = json.dumps(
        {
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"digest": "sha256:" + hashlib.sha256(b"attestation").hexdigest(),
                 "platform": {"os": "unknown", "architecture": "unknown"}},
                {"digest": "sha256:" + hashlib.sha256(child_bytes).hexdigest(),
                 "platform": {"os": "linux", "architecture": "amd64"}},
            ],
        }
    ).encode()  # fmt: skip
    child = child_bytes  # type: ignore[assignment]
    index_digest = "sha256:" + hashlib.sha256(index).hexdigest()
    child_digest = "sha256:" + hashlib.sha256(child).hexdigest()
    with respx.mock(assert_all_mocked=True) as mock:

        def registry(request: httpx.Request) -> httpx.Response:
            if request.headers.get("authorization") != "Bearer access-1":
                return httpx.Response(
                    401,
                    headers={
                        "www-authenticate": 'Bearer realm="https://auth.example/t",service="reg"'
                    },
                )
            path = request.url.path
            if path.endswith(f"/manifests/{index_digest}"):
                return httpx.Response(
                    200, content=index, headers={"docker-content-digest": index_digest}
                )
            if path.endswith(f"/manifests/{child_digest}"):
                return httpx.Response(200, content=child)
            assert "/blobs/" in path
            return httpx.Response(307, headers={"location": "https://cdn.example/blob?sig=1"})

        mock.route(host="reg.example").mock(side_effect=registry)
        realm = mock.post("https://auth.example/t").mock(
            return_value=httpx.Response(200, json={"access_token": "access-1"})
        )
        cdn = mock.get("https://cdn.example/blob").mock(
            return_value=httpx.Response(200, content=blob)
        )

        async def go() -> object:
            client, transport = _client(config=config)
            async with transport:
                return await client.image_date(parse_image("reg.example/a/b:v1"), index_digest)

        date = asyncio.run(go())
    assert date.source == "created" and date.at.isoformat() == "2026-02-03T04:05:06.123456+00:00"  # type: ignore[attr-defined]
    form = dict(x.split("=", 1) for x in realm.calls[0].request.content.decode().split("&"))
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == "refresh-secret"
    assert form["scope"] == "repository%3Aa%2Fb%3Apull" and form["service"] == "reg"
    assert "authorization" not in cdn.calls[0].request.headers  # the bearer stays on reg.example


def test_a_manifest_that_does_not_hash_to_its_digest_is_refused() -> None:
    from pinner.errors import RemoteError

    with respx.mock(assert_all_mocked=True) as mock:
        mock.get(f"https://reg.example/v2/a/manifests/{DIGEST}").mock(
            return_value=httpx.Response(200, content=b"something else")
        )

        async def go() -> None:
            client, transport = _client()
            async with transport:
                await client.image_date(parse_image("reg.example/a:v1"), DIGEST)

        with pytest.raises(RemoteError, match="refusing it"):
            asyncio.run(go())


def test_realms_over_plain_http_to_another_host_are_refused_and_denials_are_problems() -> None:
    from pinner.errors import RemoteError

    async def resolve(image: str) -> object:
        client, transport = _client()
        async with transport:
            return await client.resolve(parse_image(image))

    with respx.mock(assert_all_mocked=True) as mock:
        mock.head("https://reg.example/v2/a/manifests/v1").mock(
            return_value=httpx.Response(
                401, headers={"www-authenticate": 'Bearer realm="http://evil.example/t"'}
            )
        )
        with pytest.raises(RemoteError, match="plain http"):
            asyncio.run(resolve("reg.example/a:v1"))
    with respx.mock(assert_all_mocked=True) as mock:
        mock.head("https://reg.example/v2/a/manifests/v1").mock(
            return_value=httpx.Response(401, headers={"www-authenticate": 'Basic realm="r"'})
        )
        with pytest.raises(RegistryDenied, match="--registry-auth"):
            asyncio.run(resolve("reg.example/a:v1"))


def test_tag_lists_follow_next_links_on_their_registry_only() -> None:
    """``tags/list`` pages as the distribution spec links them (a path on the registry, or a
    URL), several link values in one header; a next page on another host is not followed."""

    def page(request: httpx.Request) -> httpx.Response:
        last = request.url.params.get("last")
        if last is None:
            link = '</v2/a/tags/list?n=1000&last=v1>; rel="next"'
            return httpx.Response(200, json={"tags": ["v1"]}, headers={"link": link})
        if last == "v1":  # two link values, the next one second, as an absolute URL
            link = (
                '<https://reg.example/v2/a/tags/list?n=1000>; rel="first", '
                '<https://reg.example/v2/a/tags/list?n=1000&last=v2>; rel="next"'
            )
            return httpx.Response(200, json={"tags": ["v2", "v1"]}, headers={"link": link})
        link = '<https://elsewhere.example/v2/a/tags/list?last=v3>; rel="next"'
        return httpx.Response(200, json={"tags": ["v3"]}, headers={"link": link})

    with respx.mock(assert_all_mocked=True) as mock:
        route = mock.get(url__startswith="https://reg.example/v2/a/tags/list").mock(
            side_effect=page
        )

        async def go() -> tuple[str, ...]:
            client, transport = _client()
            async with transport:
                return await client.list_tags(parse_image("reg.example/a:v1"))

        assert asyncio.run(go()) == ("v1", "v2", "v3")
    assert route.call_count == 3


# ----------------------------------------------------------------------------- matrix


def _job(text: str):
    return compose(text, source="t").get("j")  # type: ignore[union-attr]


def test_matrix_combinations_follow_the_runner() -> None:
    job = _job(
        "j:\n  strategy:\n    matrix:\n"
        "      os: [a, b]\n      img: [x, y]\n"
        "      exclude:\n        - {os: b, img: y}\n"
        "      include:\n        - {os: a, extra: e1}\n"
        "        - {img: z}\n        - {os: c, img: w}\n"
    )
    values = [e.value for e in expand("${{ matrix.img }}", job).values]
    # {img: z} would change every combination's original img: it is a combination of its own
    assert values == ["x", "y", "z", "w"]
    assert expand("p/${{ matrix.os }}", job).reason == (
        "matrix.os is not set in every matrix combination"
    )
    two = _job(
        "j:\n  strategy:\n    matrix:\n      os: [a, b]\n      img: [x, y]\n"
        "      exclude:\n        - {os: b, img: y}\n"
        "      include:\n        - {os: a, extra: e1}\n        - {os: c, img: w}\n"
    )
    both = [e.value for e in expand("p/${{ matrix.os }}:${{matrix.img}}", two).values]
    assert both == ["p/a:x", "p/a:y", "p/b:x", "p/c:w"]
    assert expand("${{ matrix.extra }}", two).reason == (
        "matrix.extra is not set in every matrix combination"
    )
    whole = expand("${{ matrix.img }}", job).values[0]
    assert whole.node is not None and whole.node.value == "x"
    assert expand("x:${{ matrix.img }}", job).values[0].node is None


def test_matrix_values_that_are_not_literal_are_reported() -> None:
    assert "not literal" in (
        expand("${{ matrix.i }}", _job("j:\n  strategy:\n    matrix: ${{ x }}\n")).reason or ""
    )
    assert "not a literal list" in (
        expand("${{ matrix.i }}", _job("j:\n  strategy:\n    matrix:\n      i: ${{ x }}\n")).reason
        or ""
    )
    assert "not a matrix value" in (expand("${{ inputs.i }}", _job("j: {}\n")).reason or "")
    nested = _job("j:\n  strategy:\n    matrix:\n      c: [{image: q}, {image: r}]\n")
    assert [e.value for e in expand("${{ matrix.c.image }}", nested).values] == ["q", "r"]


def test_scanned_image_sites_carry_spans_and_variants() -> None:
    text = (
        "jobs:\n  j:\n    strategy:\n      matrix:\n        img: ['a:1', b]\n"
        "    container: ${{ matrix.img }}\n"
        '    services:\n      s:\n        image: "c:2"  # note\n'
    )
    source = scan(text, "ci.yml", "workflow")
    matrix, service = source.images
    assert [v.image for v in matrix.variants] == ["a:1", "b"]
    first = matrix.variants[0]
    assert (
        first.value_span is not None
        and text[first.value_span.start : first.value_span.end] == "'a:1'"
    )
    assert first.quote == "'" and first.raw == "a:1"
    assert (
        service.value_span is not None
        and text[service.value_span.start : service.value_span.end] == '"c:2"'
    )
    assert service.comment == "note" and service.quote == '"'


# ----------------------------------------------------------------------------- Dockerfiles


def test_dockerfile_from_lines() -> None:
    text = (
        "# escape=`\n"
        "ARG BASE=alpine\n"
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\n"
        "from build AS again\n"
        "FROM scratch\n"
        "FROM `\n"
        "   python:3.12 AS final\n"
        "  FROM $BASE\n"
        "RUN echo FROM nothing\n"
        "RUN <<EOT bash\n"
        "FROM inside:heredoc\n"
        "EOT\n"
        "COPY <<-'X' /a\n"
        "\tFROM also:data\n"
        "\tX\n"
        "FROM last:1\n"
    )
    froms = parse_froms(text)
    assert [(f.line, f.image, f.stage) for f in froms] == [
        (3, "golang:1.22", "Build"),
        (7, "python:3.12", "final"),
        (8, "$BASE", None),
        (16, "last:1", None),
    ]
    for entry in froms:
        assert text[entry.span.start : entry.span.end] == entry.image
    assert froms[2].variable and not froms[0].variable


# ----------------------------------------------------------------------------- tag versions


def test_image_tag_versions_and_families() -> None:
    a, b = parse_tag("3.12-alpine"), parse_tag("3.13-alpine")
    assert a is not None and b is not None and a.family == b.family
    assert parse_tag("3.12.1-alpine").family != a.family  # type: ignore[union-attr]
    assert parse_tag("3.13").family != a.family  # type: ignore[union-attr]
    assert parse_tag("latest") is None and parse_tag("main") is None
    assert tag_level(a, b) == "minor"
    assert tag_level(parse_tag("v1.2.3"), parse_tag("v2.0.0")) == "major"  # type: ignore[arg-type]
    assert within(a, b, "minor") and not within(a, b, "patch")
    assert not within(parse_tag("1"), parse_tag("2"), "minor")  # type: ignore[arg-type]


def test_hostile_tag_names_from_a_registry_are_never_candidates() -> None:
    from datetime import UTC, datetime

    from pinner.core.image_update import ImageUpdater
    from pinner.core.update import UpdatePolicy, VersionPoint

    class Listing:
        async def list_tags(self, ref: object) -> tuple[str, ...]:
            return ("1.3\n", "\uff11.4", "1.5\x1b[2J", "1.6 ", "9" * 200, "1.3", "1.2")

    updater = ImageUpdater(Listing(), UpdatePolicy(now=datetime(2026, 1, 1, tzinfo=UTC)))  # type: ignore[arg-type]
    old = VersionPoint(ref="1.2", version="1.2", sha=None)
    found = asyncio.run(updater._newer_tags(parse_image("a/b:1.2"), "1.2", {}, old, ()))
    assert found == [("1.3", "minor")]
