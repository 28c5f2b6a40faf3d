"""Errors a user can cause or meet, each mapped to one stable exit code.

The CLI catches :class:`PinnerError` and prints ``str(error)`` as one line on stderr, then
exits with ``error.exit_code``. Anything else escaping is a bug in pinner.

Exit codes (documented in README):
  0  clean / done
  1  findings, problems or changes needed (``--check``, ``audit``)
  2  usage or input error (bad flag, malformed YAML, bad config, hostile input)
  3  remote failure (network, rate limit, server error) after retries
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_REMOTE = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


class PinnerError(Exception):
    """Base of every error pinner reports to the user without a traceback."""

    exit_code = EXIT_USAGE


class UsageError(PinnerError):
    """A bad flag, option value or combination of options."""

    exit_code = EXIT_USAGE


class InputError(PinnerError):
    """A local input pinner refuses to read: malformed YAML, alias bomb, binary file, ..."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.reason = message  # without the location: ``InputError(e.reason, ...)`` rebuilds e
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")


class ConfigError(PinnerError):
    """``[tool.pinner]`` or ``.github/pinner.toml`` is invalid."""

    exit_code = EXIT_USAGE


class RemoteError(PinnerError):
    """The forge could not answer (network fault, 5xx after retries, garbage response)."""

    exit_code = EXIT_REMOTE


class FatalRemoteError(RemoteError):
    """A remote failure that ends the whole run at once, wherever it is met.

    Most remote failures concern one question (one repository, one file) and a command may
    report them beside everything else it found. These do not: every other request of the run
    would meet them too, so reporting them once per ``uses:`` line would only repeat them.
    """


class ForgeUnreachable(FatalRemoteError):
    """The forge's host cannot be reached at all: DNS knows no such name, the connection is
    refused, or TLS fails for good (an untrusted certificate, the wrong host name)."""


class TokenRejected(FatalRemoteError):
    """The forge answered 401 to a request that carried the token: it is revoked, expired or
    mistyped. Every other request carries the same token, so the run stops here, in one line,
    rather than reporting each repository of the graph as missing."""

    def __init__(self, url: str):
        super().__init__(
            f"the forge rejected the token (HTTP 401 from {url}): it is expired, revoked or "
            "mistyped; check GITHUB_TOKEN / GH_TOKEN / --token"
        )


class DeadlineExceeded(FatalRemoteError):
    """The run used up its time (``--deadline``) while it still had to ask the forge."""


class RateLimitError(RemoteError):
    """The API rate limit is exhausted and its reset is too far away to wait for."""

    def __init__(self, message: str, *, reset_at: float | None = None):
        self.reset_at = reset_at
        super().__init__(message)


class TooLargeError(RemoteError):
    """A response body exceeded the caller's size cap; never retried.

    Raised by :mod:`pinner.forge.http` (which re-exports it), defined here so that code which
    only catches it, like the audit's graph walk, does not import the HTTP stack for one class.
    """


class NotFoundError(PinnerError):
    """A repository, ref or file that definitively does not exist.

    This is a problem in the user's file, not a failure of the run: callers turn it into a
    reported problem/finding and carry on with everything else.
    """

    exit_code = EXIT_FINDINGS


class OfflineMiss(RemoteError):
    """``--offline`` was given and the cache cannot answer."""
