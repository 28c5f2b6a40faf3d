"""Global settings: which forge to talk to, with which token, how hard.

URL derivation follows the conventions GitHub Actions itself uses (design.md section 1):
``GITHUB_SERVER_URL`` names the web host; the API, git and raw-content bases derive from it
unless ``GITHUB_API_URL`` overrides the API base (see :func:`paired_api_url` for when an API
URL from the environment may do so).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from pinner.errors import UsageError

DEFAULT_SERVER_URL = "https://github.com"
DEFAULT_REQUEST_TIMEOUT = 30.0
"""Seconds one request may take, connect to last byte: metadata answers take well under one."""
DEFAULT_DEADLINE = 900.0
"""Seconds a whole run may spend on the network: a cold audit of a large organisation's
repository takes a minute; a run still waiting after fifteen is stuck, and CI should hear so."""


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
        _refuse_credentials("--server-url", parts)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise UsageError(f"--server-url must be an http(s) URL, got {server_url!r}")
        host = parts.hostname or ""
        if parts.scheme == "http" and not is_loopback_host(host):
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
            _refuse_credentials("--api-url", ap)
            if ap.scheme not in ("https", "http") or not ap.netloc:
                raise UsageError(f"--api-url must be an http(s) URL, got {api_url!r}")
            if ap.scheme == "http" and not is_loopback_host(ap.hostname or ""):
                raise UsageError(f"--api-url must use https (plain http only for loopback): {api}")
        return cls(server=server, api=api, raw=raw)


def _refuse_credentials(option: str, parts: SplitResult) -> None:
    """Refuse a forge URL that carries ``user:password@``, without repeating it.

    Why: every link pinner builds (compare and release URLs in JSON, SARIF, pull-request texts)
    starts with the server URL, so a credential in it would be published in every output; and
    the token has its own way in (``--token``, ``GITHUB_TOKEN``), scoped to the forge's hosts.
    """
    if "@" in parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        raise UsageError(
            f"{option} must not carry a user name or password ({parts.scheme}://***@{host}): "
            "give the token with --token or GITHUB_TOKEN"
        )


def is_loopback_host(host: str) -> bool:
    """True only for a literal loopback address (127.0.0.0/8, ``::1``) or ``localhost``.

    The host is parsed, never matched by prefix: ``127.attacker.example`` is a DNS name that
    resolves wherever its owner likes, and plain http to it would carry the token in clear
    text. Anything that is not an IP literal (``127.1``, ``2130706433``) is not loopback here,
    even where a resolver would make it so: refusing is the safe side.
    """
    import ipaddress  # only when a URL is checked: start-up stays lean

    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in ipaddress.IPv4Network("127.0.0.0/8")
    return address == ipaddress.IPv6Address("::1")


def paired_api_url(
    *,
    server_url: str | None,
    server_url_from_env: bool,
    api_url: str | None,
    api_url_from_env: bool,
) -> str | None:
    """The API URL to use with ``server_url``, or None to derive it from the server URL.

    Why: on a GitHub-hosted runner ``GITHUB_SERVER_URL`` and ``GITHUB_API_URL`` are always set,
    for github.com. A user who points pinner at another forge with ``--server-url`` (and that
    forge's token) must not have the runner's ``GITHUB_API_URL`` send the token to
    api.github.com. So an API URL from the environment is used only with a server URL that
    also came from the environment, or that it belongs to (the same host, or the API host
    derived from it); ``--api-url`` given on the command line always wins.
    """
    if api_url is None or not api_url_from_env:
        return api_url
    if server_url is not None and server_url_from_env:
        return api_url
    return api_url if _belongs_to(api_url, server_url) else None


def _belongs_to(api_url: str, server_url: str | None) -> bool:
    """True when ``api_url`` is on the server's own host or on the API host derived from it."""
    try:
        derived = ForgeUrls.derive(server_url)
    except UsageError:
        return False  # the server URL itself is refused later, with its own message
    return _netloc(api_url) in {_netloc(derived.server), _netloc(derived.api)}


def _netloc(url: str) -> str:
    parts = urlsplit(url.strip())
    default = {"https": 443, "http": 80}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return parts.netloc.lower()
    host = (parts.hostname or "").lower()
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


MIN_TOKEN_LENGTH = 8
"""Shorter is no GitHub token (theirs have 40 characters or more), and redacting a token that
short from messages would hide ordinary words."""


def checked_token(token: str, source: str) -> Secret:
    """``token`` as a :class:`Secret` once it is plausible; UsageError (exit 2) otherwise.

    A token goes into an HTTP header: a line break there could end the header and start
    another (or make httpx raise deep in a request), and non-ASCII cannot be sent at all.
    The message names where the token came from, never the token.
    """
    problem = None
    if any(c in token for c in "\r\n"):
        problem = "contains a line break"
    elif not token.isascii():
        problem = "contains non-ASCII characters"
    elif any(not 0x21 <= ord(c) <= 0x7E for c in token):
        problem = "contains spaces or control characters"
    elif len(token) < MIN_TOKEN_LENGTH:
        problem = f"is shorter than {MIN_TOKEN_LENGTH} characters"
    if problem is not None:
        raise UsageError(f"the token from {source} {problem}: not a GitHub token")
    return Secret(token)


def find_token(explicit: str | None = None) -> Secret | None:
    """``--token``, else ``GITHUB_TOKEN``, else ``GH_TOKEN``, else ``gh auth token``.

    Leading and trailing whitespace is dropped (a token read from a file ends in a newline);
    what remains must pass :func:`checked_token`.
    """
    candidates = (
        ("--token", explicit),
        ("GITHUB_TOKEN", os.environ.get("GITHUB_TOKEN")),
        ("GH_TOKEN", os.environ.get("GH_TOKEN")),
    )
    for source, candidate in candidates:
        if candidate and candidate.strip():
            return checked_token(candidate.strip(), source)
    gh = shutil.which("gh")
    if gh and not os.environ.get("PINNER_NO_GH"):
        try:
            out = subprocess.run(
                [gh, "auth", "token"], capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
            return None
        if out.returncode == 0 and out.stdout.strip():
            return checked_token(out.stdout.strip(), "`gh auth token`")
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
    # seconds one request to the forge may take on the wire, from connecting to the last byte of
    # the answer (--request-timeout); a slower answer is abandoned and retried. Downloads are
    # bounded by their own timeout instead (checksums --timeout).
    timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_retry_time: float = 60.0  # total time spent retrying one request
    # seconds the whole run may spend on the network (--deadline); None: no bound
    deadline: float | None = DEFAULT_DEADLINE
    verbose: bool = False  # --verbose: say every retry and wait, and the request count at the end
    announce_retries: bool = False  # say every retry and wait on stderr (--verbose, or a terminal)
    snapshot_dirs: tuple[Path, ...] = ()  # --snapshot: serve from these dirs, no network
    # a rate limit resetting within this many seconds is waited out; a later one is an error
    rate_limit_max_wait: float = 60.0
    # first retry backoff in seconds (doubling per attempt, full jitter); tests shorten it so
    # end-to-end runs against a faulty emulator stay fast
    retry_backoff: float = 0.5
