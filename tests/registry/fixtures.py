"""Registries with known images for the end-to-end tests (started once per test module).

:func:`start_registries` pushes, to an anonymous registry and to a token-authenticated one:

* ``o/tool:v1``: a single-platform image (OCI media types);
* ``o/multi:v2``: a multi-platform index (linux/amd64 and linux/arm64);
* ``o/docker:v3``: a Docker v2 manifest list (Docker media types);
* ``o/moving:1.0``: a tag moved to a new digest (``moved_from`` is the old one);
* ``x/elsewhere:v1``: an image whose digest exists only in that repository;
* ``public/app:v1`` and ``private/app:v1`` on the token registry: anonymous clients may pull
  the first only (as on Docker Hub and ghcr.io), ``reader`` both.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.registry.harness import (
    REGISTRY_BINARY,
    Registry,
    TokenKeys,
    TokenServer,
    require_tools,
)
from tests.registry.images import Image, Index, Pusher, build_image, build_index

GITHUB_TOKEN = "ghp_IMAGESsentinelTOKEN0123456789abcdefXYZ"
"""A GitHub token set in every run: it must never reach a registry or a token service."""


@dataclass
class Registries:
    anonymous: Registry
    token: Registry
    token_server: TokenServer
    images: dict[str, Image | Index] = field(default_factory=dict)
    moved_from: str = ""

    def stop(self) -> None:
        self.anonymous.stop()
        self.token.stop()
        self.token_server.stop()

    def digest(self, name: str) -> str:
        return self.images[name].digest


def start_registries(directory: Path) -> Registries:
    binary = require_tools(REGISTRY_BINARY, "openssl")[REGISTRY_BINARY]
    token_server = TokenServer(TokenKeys(directory / "keys")).start()
    anonymous = Registry(binary, directory / "anonymous")
    token = Registry(binary, directory / "token", token=token_server)
    registries = Registries(anonymous, token, token_server)
    images: dict[str, Image | Index] = {
        "o/tool:v1": build_image("tool v1", created="2026-01-10T00:00:00Z"),
        "o/multi:v2": build_index(
            [
                build_image("multi amd64", arch="amd64", created="2026-02-01T00:00:00Z"),
                build_image("multi arm64", arch="arm64", created="2026-02-01T00:00:00Z"),
            ]
        ),
        "o/docker:v3": build_index(
            [build_image("docker amd64", docker=True), build_image("docker arm", arch="arm64")],
            docker=True,
        ),
        "x/elsewhere:v1": build_image("only in x/elsewhere"),
        "public/app:v1": build_image("public app"),
        "private/app:v1": build_image("private app"),
    }
    old = build_image("moving, before", created="2026-01-01T00:00:00Z")
    new = build_image("moving, after", created="2026-03-01T00:00:00Z")
    anonymous_pusher = Pusher(anonymous.direct_base)
    token_pusher = Pusher(
        token.direct_base, auth=lambda repo: token_server.bearer_for("pusher", repo)
    )
    try:
        for pusher in (anonymous_pusher, token_pusher):
            for name, image in images.items():
                repo, tag = name.split(":")
                pusher.push(repo, tag, image)
            pusher.push("o/moving", "1.0", old)
            pusher.push("o/moving", "1.0", new)
    finally:
        anonymous_pusher.close()
        token_pusher.close()
    images["o/moving:1.0"] = new
    registries.images = images
    registries.moved_from = old.digest
    return registries


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI run: no developer credentials, the sentinel GitHub token."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GITHUB_TOKEN", "GH_TOKEN", "DOCKER_CONFIG", "GITHUB_SERVER_URL")
    }
    env.pop("GITHUB_API_URL", None)
    env.update({"PINNER_NO_GH": "1", "GITHUB_TOKEN": GITHUB_TOKEN, "NO_COLOR": "1"})
    env.update(extra)
    return env


def pinner_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pinner", *args]


def docker_config(path: Path, auths: dict[str, tuple[str, str]]) -> Path:
    """A Docker ``config.json`` with ``auths`` (registry -> (user, password))."""
    import base64

    document = {
        "auths": {
            host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
            for host, (user, password) in auths.items()
        }
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path
