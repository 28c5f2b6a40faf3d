"""``pinner cache info`` and ``pinner cache clear``: see and empty the persistent cache.

The cache is only ever an accelerator (see :mod:`pinner.forge.cache`), so clearing it is always
safe; ``info`` exists so a user can see where it is and what it costs before deciding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pinner.commands.common import CacheDir, run
from pinner.commands.params import FastCommand, FastGroup
from pinner.errors import UsageError
from pinner.sanitize import for_terminal
from pinner.settings import default_cache_dir

if TYPE_CHECKING:  # the cache store is imported by the subcommands that open it
    from pinner.forge.cache import CacheInfo

cache_app = typer.Typer(
    name="cache",
    cls=FastGroup,
    help="Inspect or empty pinner's persistent cache.",
    no_args_is_help=True,
)

InfoFormat = Annotated[
    str, typer.Option("--format", metavar="FORMAT", help="text or json.", show_default=True)
]


def register(app: typer.Typer) -> None:
    app.add_typer(cache_app, name="cache")


@cache_app.command("info", cls=FastCommand)
def info(cache_dir: CacheDir = None, output_format: InfoFormat = "text") -> None:
    """Where the cache is, how many entries it holds and how much disk it uses, per kind."""

    def body() -> None:
        if output_format not in ("text", "json"):
            raise UsageError(f"--format must be text or json, not {output_format!r}")
        from pinner.forge.cache import FileCacheStore

        store = FileCacheStore(_cache_root(cache_dir))
        report = store.info()
        if output_format == "json":
            typer.echo(json.dumps(report.to_json(), indent=2))
        else:
            typer.echo(render_info(report))

    run(body)


@cache_app.command("clear", cls=FastCommand)
def clear(cache_dir: CacheDir = None) -> None:
    """Delete every cached entry (safe at any time: the cache only saves requests)."""

    def body() -> None:
        from pinner.forge.cache import FileCacheStore

        root = _cache_root(cache_dir)
        removed = FileCacheStore(root).clear()
        noun = "entry" if removed == 1 else "entries"
        typer.echo(f"removed {removed} {noun} from {for_terminal(str(root))}")

    run(body)


def _cache_root(cache_dir: Path | None) -> Path:
    """``--cache-dir``, else ``PINNER_CACHE_DIR``, else the platform's: a directory, or nothing
    yet. A file there is no cache: saying "0 entries" would send the user looking elsewhere."""
    root = cache_dir or default_cache_dir()
    if root.exists() and not root.is_dir():
        raise UsageError(f"cache directory {for_terminal(str(root))}: not a directory")
    return root


def render_info(report: CacheInfo) -> str:
    """The text form of ``cache info``: one summary line, then one line per namespace."""
    from pinner.forge.cache import FORMAT

    lines = [
        f"cache: {for_terminal(str(report.path))} (format {FORMAT})",
        f"entries: {report.entries}, {human_bytes(report.bytes)}",
    ]
    width = max((len(n) for n in report.namespaces), default=0)
    for name, usage in sorted(report.namespaces.items()):
        lines.append(f"  {name:<{width}}  {usage.entries:>7}  {human_bytes(usage.bytes):>10}")
    if report.other_formats:
        lines.append(
            "other layouts (older or newer pinner; removed by `pinner cache clear`): "
            + ", ".join(report.other_formats)
        )
    return "\n".join(lines)


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
