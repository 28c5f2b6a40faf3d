"""Test images built in Python: layers, configs, manifests, indexes, OCI layouts, pushes.

Nothing here comes from the network: every image the registry tests use is built from a few
bytes, so its digests are known exactly, and pushed over the registry's own API (or with
skopeo from an OCI layout written here, to prove the layout is one a real client accepts).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical(document: object) -> bytes:
    return json.dumps(document, indent=2, sort_keys=False).encode()


def _layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzipped tar of ``files`` (deterministic) and its diff id (sha256 of the tar)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    raw = buffer.getvalue()
    return gzip.compress(raw, mtime=0), digest_of(raw)


@dataclass(frozen=True)
class Image:
    """One single-platform image: its manifest and every blob it needs."""

    manifest: bytes
    media_type: str
    blobs: dict[str, bytes] = field(default_factory=dict)
    platform: dict[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return digest_of(self.manifest)


@dataclass(frozen=True)
class Index:
    """A multi-platform image: an index over single-platform images."""

    manifest: bytes
    media_type: str
    images: tuple[Image, ...]

    @property
    def digest(self) -> str:
        return digest_of(self.manifest)


def build_image(
    content: str,
    *,
    created: str | None = "2026-01-15T10:00:00Z",
    arch: str = "amd64",
    docker: bool = False,
    annotation_created: str | None = None,
) -> Image:
    """An image with one layer holding ``content``; ``created`` goes into its config.

    ``docker=True`` uses Docker's v2 media types instead of OCI's (registries serve both).
    """
    layer, diff_id = _layer({"hello.txt": content.encode()})
    config_document: dict[str, object] = {
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": ["/hello"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    if created is not None:
        config_document["created"] = created
    config = _canonical(config_document)
    manifest_document: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
        "config": {
            "mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
            "digest": digest_of(config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": DOCKER_LAYER if docker else OCI_LAYER,
                "digest": digest_of(layer),
                "size": len(layer),
            }
        ],
    }
    if annotation_created is not None:
        manifest_document["annotations"] = {"org.opencontainers.image.created": annotation_created}
    manifest = _canonical(manifest_document)
    return Image(
        manifest,
        DOCKER_MANIFEST if docker else OCI_MANIFEST,
        {digest_of(config): config, digest_of(layer): layer},
        {"os": "linux", "architecture": arch},
    )


def build_index(images: list[Image], *, docker: bool = False) -> Index:
    """An index (OCI) or manifest list (Docker) over ``images``, by platform."""
    document = {
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST if docker else OCI_INDEX,
        "manifests": [
            {
                "mediaType": image.media_type,
                "digest": image.digest,
                "size": len(image.manifest),
                "platform": image.platform,
            }
            for image in images
        ],
    }
    return Index(_canonical(document), DOCKER_LIST if docker else OCI_INDEX, tuple(images))


# ----------------------------------------------------------------------------- pushing


class Pusher:
    """Pushes images to a registry over its API (``base`` like ``http://127.0.0.1:5000``).

    ``auth`` is a callable returning an ``Authorization`` header for a repository's push
    scope (the token-auth registry), or None for an open registry.
    """

    def __init__(self, base: str, auth=None) -> None:
        self.base = base.rstrip("/")
        self.auth = auth
        self.client = httpx.Client(timeout=30)

    def close(self) -> None:
        self.client.close()

    def _headers(self, repo: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.auth is not None:
            headers["Authorization"] = self.auth(repo)
        return headers

    def blob(self, repo: str, data: bytes) -> str:
        digest = digest_of(data)
        url = f"{self.base}/v2/{repo}/blobs/{digest}"
        if self.client.head(url, headers=self._headers(repo)).status_code == 200:
            return digest
        started = self.client.post(
            f"{self.base}/v2/{repo}/blobs/uploads/", headers=self._headers(repo)
        )
        assert started.status_code == 202, (started.status_code, started.text)
        location = started.headers["location"]
        if location.startswith("/"):
            location = self.base + location
        sep = "&" if "?" in location else "?"
        done = self.client.put(
            f"{location}{sep}digest={digest}",
            content=data,
            headers=self._headers(repo, {"Content-Type": "application/octet-stream"}),
        )
        assert done.status_code == 201, (done.status_code, done.text)
        return digest

    def manifest(self, repo: str, reference: str, data: bytes, media_type: str) -> str:
        response = self.client.put(
            f"{self.base}/v2/{repo}/manifests/{reference}",
            content=data,
            headers=self._headers(repo, {"Content-Type": media_type}),
        )
        assert response.status_code == 201, (response.status_code, response.text)
        digest = response.headers["docker-content-digest"]
        assert digest == digest_of(data)
        return digest

    def push(self, repo: str, tag: str | None, image: Image | Index) -> str:
        """Push ``image`` (and, for an index, every image in it); tag it when ``tag``."""
        images = image.images if isinstance(image, Index) else (image,)
        for single in images:
            for blob in single.blobs.values():
                self.blob(repo, blob)
            if isinstance(image, Index):
                self.manifest(repo, single.digest, single.manifest, single.media_type)
        return self.manifest(repo, tag or image.digest, image.manifest, image.media_type)


def write_oci_layout(directory: Path, image: Image | Index, tag: str) -> Path:
    """An OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/``) holding ``image``
    under ``tag``: what ``skopeo copy oci:DIR:TAG`` reads."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> None:
        (blobs / digest_of(data).split(":", 1)[1]).write_bytes(data)

    images = image.images if isinstance(image, Index) else (image,)
    for single in images:
        for blob in single.blobs.values():
            put(blob)
        put(single.manifest)
    put(image.manifest)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": image.media_type,
                "digest": image.digest,
                "size": len(image.manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (directory / "index.json").write_text(json.dumps(index))
    return directory
