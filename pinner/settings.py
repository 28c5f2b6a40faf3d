"""Global settings: which forge to talk to, with which token, how hard.

URL derivation follows the conventions GitHub Actions itself uses (design.md section 1):
``GITHUB_SERVER_URL`` names the web host; the API, git and raw-content bases derive from it
unless ``GITHUB_API_URL`` overrides the API base.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pinner.errors import UsageError

DEFAULT_SERVER_URL = "https://github.com"


class Secret(str):
    """A string that never shows itself in ``repr`` (tokens end up in tracebacks and logs)."""

    def __repr__(self) -> str:
        return "Secret('***')"


@dataclass(frozen=True, slots=True)
class ForgeUrls:
    """Every base URL pinner talks to, derived from the server URL."""

    server: str  # https://github.com, or a GHES / emulator root
    api: str  # https://api.github.com, or SERVER/api/v3
    raw: str  # https://raw.githubusercontent.com, or SERVER/raw

    def git(self, repo: str) -> str:
        """Smart-HTTP base of ``owner/repo``: ``SERVER/owner/repo.git``."""
        return f"{self.server}/{repo}.git"

    @property
    def token_hosts(self) -> frozenset[str]:
        """The only ``host[:port]`` values the token may ever be sent to."""
        return frozenset(urlsplit(u).netloc.lower() for u in (self.server, self.api, self.raw))

    @classmethod
    def derive(cls, server_url: str | None = None, api_url: str | None = None) -> ForgeUrls:
        server = (server_url or DEFAULT_SERVER_URL).rstrip("/")
        parts = urlsplit(server)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise UsageError(f"--server-url must be an http(s) URL, got {server_url!r}")
        host = parts.hostname or ""
        if parts.scheme == "http" and not _is_loopback(host):
            raise UsageError(
                f"--server-url must use https (plain http only for loopback): {server}"
            )
        if host == "github.com":
            api, raw = "https://api.github.com", "https://raw.githubusercontent.com"
        elif host.endswith(".ghe.com"):
            api, raw = f"{parts.scheme}://api.{host}", f"{server}/raw"
        else:  # GHES and the emulator
            api, raw = f"{server}/api/v3", f"{server}/raw"
        if api_url:
            api = api_url.rstrip("/")
            ap = urlsplit(api)
            if ap.scheme not in ("https", "http") or not ap.netloc:
                raise UsageError(f"--api-url must be an http(s) URL, got {api_url!r}")
            if ap.scheme == "http" and not _is_loopback(ap.hostname or ""):
                raise UsageError(f"--api-url must use https (plain http only for loopback): {api}")
        return cls(server=server, api=api, raw=raw)


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def find_token(explicit: str | None = None) -> Secret | None:
    """``--token``, else ``GITHUB_TOKEN``, else ``GH_TOKEN``, else ``gh auth token``."""
    for candidate in (explicit, os.environ.get("GITHUB_TOKEN"), os.environ.get("GH_TOKEN")):
        if candidate and candidate.strip():
            return Secret(candidate.strip())
    gh = shutil.which("gh")
    if gh and not os.environ.get("PINNER_NO_GH"):
        try:
            out = subprocess.run(
                [gh, "auth", "token"], capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if out.returncode == 0 and out.stdout.strip():
            return Secret(out.stdout.strip())
    return None


def default_cache_dir() -> Path:
    """The platform's user cache dir (XDG on Linux), ``pinner`` below it."""
    if env := os.environ.get("PINNER_CACHE_DIR"):
        return Path(env)
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "pinner"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run needs to reach the forge. Built once by the CLI."""

    urls: ForgeUrls = field(default_factory=ForgeUrls.derive)
    token: Secret | None = None
    cache_dir: Path | None = None  # None: no persistent cache (--no-cache)
    offline: bool = False  # answer from cache only
    jobs: int = 16  # concurrent requests at most
    timeout: float = 30.0  # per request, seconds
    max_retry_time: float = 60.0  # total time spent retrying one request
    snapshot_dirs: tuple[Path, ...] = ()  # --snapshot: serve from these dirs, no network
    # a rate limit resetting within this many seconds is waited out; a later one is an error
    rate_limit_max_wait: float = 60.0
    # first retry backoff in seconds (doubling per attempt, full jitter); tests shorten it so
    # end-to-end runs against a faulty emulator stay fast
    retry_backoff: float = 0.5
