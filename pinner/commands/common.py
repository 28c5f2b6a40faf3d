"""Options every command shares, and the one place errors become exit codes.

Each option has the environment variable GitHub Actions itself uses, so pinner works inside a
workflow without flags.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from pinner.errors import EXIT_REMOTE, EXIT_USAGE, PinnerError
from pinner.settings import ForgeUrls, Settings, default_cache_dir, find_token

T = TypeVar("T")

ServerUrl = Annotated[
    str | None,
    typer.Option(
        "--server-url",
        metavar="URL",
        envvar="GITHUB_SERVER_URL",
        help="Web root of the forge (https://github.com, a GHES host, or the test emulator).",
        show_default=False,
    ),
]
ApiUrl = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        metavar="URL",
        envvar="GITHUB_API_URL",
        help="REST API base; default derived from --server-url.",
        show_default=False,
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        metavar="TOKEN",
        help="GitHub token (else GITHUB_TOKEN, GH_TOKEN, `gh auth token`). Sent only to the forge.",
        show_default=False,
    ),
]
CacheDir = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        metavar="DIR",
        help="Persistent cache directory (default: user cache dir).",
        show_default=False,
    ),
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the cache.")]
Offline = Annotated[
    bool, typer.Option("--offline", help="Make no network request; answer from the cache only.")
]
Jobs = Annotated[
    int,
    typer.Option("--jobs", "-j", min=1, max=256, metavar="N", help="Concurrent requests at most."),
]
Snapshot = Annotated[
    list[Path] | None,
    typer.Option(
        "--snapshot",
        metavar="DIR",
        help="Resolve from a forge snapshot directory (corpus format) with no network. Repeatable.",
        show_default=False,
    ),
]
Color = Annotated[
    str,
    typer.Option("--color", metavar="WHEN", help="auto, always or never (NO_COLOR is honoured)."),
]
Paths = Annotated[
    list[Path] | None,
    typer.Argument(
        metavar="PATH",
        help="Repository roots, directories or files (default: .).",
        show_default=False,
    ),
]


def build_settings(
    *,
    server_url: str | None,
    api_url: str | None,
    token: str | None,
    cache_dir: Path | None,
    no_cache: bool,
    offline: bool,
    jobs: int,
    snapshot: list[Path] | None,
) -> Settings:
    """Turn the shared options into :class:`Settings`, validating as we go."""
    if no_cache and offline:
        raise_usage("--offline needs the cache; it cannot be combined with --no-cache")
    snapshot_dirs = tuple(snapshot or ())
    for d in snapshot_dirs:
        if not d.is_dir():
            raise_usage(f"--snapshot {d}: not a directory")
    urls = ForgeUrls.derive(server_url, api_url)
    return Settings(
        urls=urls,
        token=None if snapshot_dirs else find_token(token),
        cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
        offline=offline,
        jobs=jobs,
        snapshot_dirs=snapshot_dirs,
    )


def use_color(choice: str, stream=sys.stdout) -> bool:
    import os

    if choice not in ("auto", "always", "never"):
        raise_usage(f"--color must be auto, always or never, not {choice!r}")
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def raise_usage(message: str) -> None:
    from pinner.errors import UsageError

    raise UsageError(message)


def run(func: Callable[[], Awaitable[T] | T]) -> T:
    """Run a command body; turn every error a user can cause into one line and an exit code."""
    try:
        result = func()
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return result  # type: ignore[return-value]
    except PinnerError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted; no file was changed", 130)
    except typer.Exit:
        raise
    except OSError as exc:
        # Local filesystem trouble (permissions, disk full): an input problem, not a crash.
        _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), EXIT_USAGE)
    raise AssertionError("unreachable")


def _fail(message: str, code: int) -> None:
    from pinner.sanitize import for_terminal

    prefix = "error" if code != EXIT_REMOTE else "remote error"
    typer.echo(f"pinner: {prefix}: {for_terminal(message)}", err=True)
    raise typer.Exit(code)
