"""Registry credentials: Docker's ``config.json``, credential helpers, and auth challenges.

Credentials are used only when the user gives them: ``--registry-auth FILE`` (Docker's
``config.json`` format) or ``$DOCKER_CONFIG/config.json``. pinner never reads
``~/.docker/config.json`` on its own, and never sends the GitHub token to a registry.

Each credential belongs to one registry host and goes to that host or to the token realm
that host's own challenge names (Docker Hub's registry ``registry-1.docker.io`` sends clients
to ``auth.docker.io`` for tokens, as every token-authenticated registry does), never anywhere
else and never over plain http except to a loopback address.

What ``config.json`` may hold, per registry key (``ghcr.io``, ``https://index.docker.io/v1/``,
``http://127.0.0.1:5000``):

* ``auth``: base64 of ``user:password``, or ``username`` and ``password``;
* ``identitytoken``: an OAuth2 refresh token, exchanged at the realm for an access token;
* ``registrytoken``: a bearer token sent to the registry as is;
* ``credHelpers`` (per registry) and ``credsStore`` (the default): a
  ``docker-credential-NAME`` program on ``PATH``, asked ``get`` with the registry on stdin.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pinner.errors import UsageError
from pinner.registry.names import DOCKER_HUB, DOCKER_HUB_API

MAX_CONFIG_BYTES = 1024 * 1024
"""A Docker config is a few KiB; anything larger is not one."""

HELPER_TIMEOUT = 20.0
"""Seconds a credential helper may take (some ask a keychain; a hung one must not hang pinner)."""

_HELPER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def json_document(data: bytes | str) -> Any:
    """``json.loads`` for what a registry (or a Docker config, or a credential helper) gives.

    Why: Python's parser recurses once per nesting level, so ``[[[[...`` a few hundred KiB deep
    raises RecursionError, which no ``except ValueError`` catches: a hostile registry's error
    body or tag list used to end the run in a traceback. Too deep is malformed JSON like any
    other here: a ValueError.
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


@dataclass(frozen=True, slots=True)
class RegistryCredential:
    """What the user gave for one registry. Secrets never show in ``repr``."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)  # OAuth2 refresh token
    registry_token: str | None = field(default=None, repr=False)  # bearer, sent as is

    def basic(self) -> str | None:
        """``Basic base64(user:password)``, when a user name and password are known."""
        if self.username is None or self.password is None:
            return None
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def secrets(self) -> tuple[str, ...]:
        """Every secret this credential holds, in the forms a message could show it."""
        out = [s for s in (self.password, self.identity_token, self.registry_token) if s]
        basic = self.basic()
        if basic:
            out.append(basic.removeprefix("Basic "))
        return tuple(out)


def registry_key(text: str) -> str:
    """The ``host[:port]`` a config key or an image's API host names (Docker's normalisation).

    ``https://index.docker.io/v1/``, ``index.docker.io`` and ``docker.io`` all mean Docker Hub
    (whose API host is ``registry-1.docker.io``); a scheme and a path are dropped.
    """
    value = text.strip()
    if "://" in value:
        value = urlsplit(value).netloc or value
    value = value.split("/", 1)[0].lower()
    if value in ("index.docker.io", DOCKER_HUB, DOCKER_HUB_API):
        return DOCKER_HUB_API
    return value


@dataclass(frozen=True, slots=True)
class DockerConfig:
    """Credentials read from one Docker ``config.json``, by registry host."""

    source: str  # where it was read from (for messages)
    auths: Mapping[str, RegistryCredential] = field(default_factory=dict, repr=False)
    helpers: Mapping[str, str] = field(default_factory=dict)  # host -> helper name
    store: str | None = None  # credsStore: the helper for every other host

    def credential_for(self, host: str) -> RegistryCredential | None:
        """The credential for the registry API host ``host`` (``registry-1.docker.io``,
        ``ghcr.io``, ``127.0.0.1:5000``), from ``auths`` or a helper; None when none."""
        key = registry_key(host)
        helper = self.helpers.get(key)
        if helper is not None:
            return run_helper(helper, _helper_server(key))
        found = self.auths.get(key)
        if found is not None:
            return found
        if self.store is not None:
            return run_helper(self.store, _helper_server(key))
        return None


def _helper_server(key: str) -> str:
    """What Docker asks a helper for: Docker Hub by its legacy URL, others by host."""
    return "https://index.docker.io/v1/" if key == DOCKER_HUB_API else key


def load_docker_config(
    explicit: Path | None = None, environ: Mapping[str, str] | None = None
) -> DockerConfig | None:
    """``--registry-auth FILE``, else ``$DOCKER_CONFIG/config.json``, else None (anonymous).

    A file that is missing, unreadable or not Docker's format is a usage error (exit 2): the
    user asked for credentials and pulling anonymously instead would hide the mistake.
    """
    env = os.environ if environ is None else environ
    if explicit is not None:
        path, flag = explicit, "--registry-auth"
    elif env.get("DOCKER_CONFIG"):
        path, flag = Path(env["DOCKER_CONFIG"]) / "config.json", "DOCKER_CONFIG"
    else:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        what_to_do = (
            "; unset DOCKER_CONFIG to pull anonymously, or pass --no-images"
            if flag == "DOCKER_CONFIG"
            else ""
        )
        raise UsageError(f"{flag} {path}: cannot read: {exc.strerror or exc}{what_to_do}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise UsageError(f"{flag} {path}: too large for a Docker config")
    try:
        document = json_document(data)
    except (ValueError, UnicodeDecodeError):
        raise UsageError(f"{flag} {path}: not JSON (expected Docker's config.json)") from None
    return parse_docker_config(document, source=f"{flag} {path}")


def parse_docker_config(document: object, *, source: str) -> DockerConfig:
    """A parsed ``config.json``; UsageError naming ``source`` and the key for bad entries."""
    if not isinstance(document, dict):
        raise UsageError(f"{source}: expected a JSON object")
    auths: dict[str, RegistryCredential] = {}
    raw_auths = document.get("auths", {})
    if not isinstance(raw_auths, dict):
        raise UsageError(f"{source}: 'auths' must be an object")
    for key, entry in raw_auths.items():
        if not isinstance(entry, dict):
            raise UsageError(f"{source}: auths.{key} must be an object")
        credential = _credential(entry, f"{source}: auths.{key}")
        if credential is not None:
            auths[registry_key(key)] = credential
    helpers: dict[str, str] = {}
    raw_helpers = document.get("credHelpers", {})
    if not isinstance(raw_helpers, dict):
        raise UsageError(f"{source}: 'credHelpers' must be an object")
    for key, name in raw_helpers.items():
        helpers[registry_key(key)] = _helper_name(name, f"{source}: credHelpers.{key}")
    store = document.get("credsStore")
    if store is not None:
        store = _helper_name(store, f"{source}: credsStore")
    return DockerConfig(source, auths, helpers, store or None)


def _helper_name(name: object, where: str) -> str:
    if not isinstance(name, str) or not _HELPER_NAME_RE.match(name):
        raise UsageError(f"{where}: invalid credential helper name")
    return name


def _credential(entry: Mapping[str, object], where: str) -> RegistryCredential | None:
    def text(key: str) -> str | None:
        value = entry.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise UsageError(f"{where}.{key} must be a string")
        return value

    username, password = text("username"), text("password")
    encoded = text("auth")
    if encoded is not None:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise UsageError(f"{where}.auth is not base64 of user:password") from None
        user, sep, secret = decoded.partition(":")
        if not sep:
            raise UsageError(f"{where}.auth is not base64 of user:password")
        username, password = user, secret
    identity, registry_token = text("identitytoken"), text("registrytoken")
    if username is None and identity is None and registry_token is None:
        return None  # an empty entry (`docker login` with a credsStore writes these)
    return RegistryCredential(username, password, identity, registry_token)


def run_helper(name: str, server: str) -> RegistryCredential | None:
    """Ask ``docker-credential-NAME get`` for ``server``'s credential (None: it has none).

    A helper that is missing, fails or answers garbage is a usage error: the configuration
    says credentials come from it.
    """
    program = shutil.which(f"docker-credential-{name}")
    if program is None:
        raise UsageError(f"credential helper docker-credential-{name} not found on PATH")
    try:
        done = subprocess.run(
            [program, "get"],
            input=server,
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise UsageError(f"credential helper docker-credential-{name} failed: {exc}") from None
    if done.returncode != 0:
        if "credentials not found" in (done.stdout + done.stderr).lower():
            return None
        raise UsageError(
            f"credential helper docker-credential-{name} failed (exit {done.returncode})"
        )
    try:
        answer = json_document(done.stdout)
        username, secret = answer["Username"], answer["Secret"]
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"credential helper docker-credential-{name}: unreadable answer") from None
    if not isinstance(username, str) or not isinstance(secret, str) or not secret:
        return None
    if username == "<token>":  # Docker's convention: the secret is an identity token
        return RegistryCredential(identity_token=secret)
    return RegistryCredential(username=username, password=secret)


# ----------------------------------------------------------------------------- challenges


@dataclass(frozen=True, slots=True)
class Challenge:
    """A ``WWW-Authenticate`` challenge: ``Bearer realm=...,service=...,scope=...`` or Basic."""

    scheme: str  # "bearer" or "basic" (lower case)
    params: Mapping[str, str]

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")


_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_challenge(header: str | None) -> Challenge | None:
    """The first challenge of a ``WWW-Authenticate`` header, or None when there is none."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _PARAM_RE.match(rest, position)
        if match is None or match.end() == position:
            break
        quoted, plain = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else plain or ""
        params.setdefault(match.group(1).lower(), value)
        position = match.end()
    return Challenge(scheme.lower(), params)
