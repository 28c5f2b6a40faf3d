"""pinner's command line: a thin layer over :mod:`pinner.core`.

Follow a command's name to its module in :mod:`pinner.commands`; each one parses its options,
builds :class:`pinner.settings.Settings`, opens a forge (:func:`pinner.forge.factory.open_forge`),
calls the core and hands the result to a writer in :mod:`pinner.formats`.
"""

from __future__ import annotations

import typer

from pinner import __version__
from pinner.commands.params import FastGroup

app = typer.Typer(
    name="pinner",
    cls=FastGroup,
    help="Make GitHub Actions supply chains immutable: pin, lock, audit, update, checksum.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pinner {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """pinner: pin every action to a commit, audit the whole graph, update with a cooldown."""


def _register() -> None:
    """Each command lives in its own module of :mod:`pinner.commands`; this file is the index."""
    from pinner.commands import audit, cache, checksums, lock, pin, update

    for command in (pin, lock, audit, update, checksums, cache):
        command.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    app(prog_name="pinner")
