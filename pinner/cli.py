"""pinner's command line: a thin layer over :mod:`pinner.core`.

Follow a command's name to its module in :mod:`pinner.commands`; each one parses its options,
builds :class:`pinner.settings.Settings`, opens a forge (:func:`pinner.forge.factory.open_forge`),
calls the core and hands the result to a writer in :mod:`pinner.formats`.
"""

from __future__ import annotations

import typer

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


DISTRIBUTION = "actions-pinner"
"""pinner's name on PyPI (``pinner`` there is an unrelated project); the package is ``pinner``."""


def installed_version() -> str:
    """The version of the installed distribution, as pip, pipx and uv report it.

    The metadata is what a user's tools see and what a bug report should quote. Run from a source
    tree that was never installed (``python -m pinner`` with the checkout on ``sys.path``), there is
    no metadata: the package's own ``__version__`` (the same source the build reads) is the answer.
    Looked up only when asked: importing :mod:`importlib.metadata` costs start-up time.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        from pinner import __version__

        return __version__


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pinner {installed_version()}")
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
    from pinner.commands import audit, cache, checksums, completion, lock, pin, update

    for command in (pin, lock, audit, update, checksums, cache, completion):
        command.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    import os

    from pinner.commands.completion import COMPLETE_VAR, prepare_completion

    if COMPLETE_VAR in os.environ:  # a completion script asks for candidates
        prepare_completion()
    app(prog_name="pinner")
