"""``pinner completion SHELL``: print the shell's completion script for pinner.

typer's own ``--install-completion`` edits the user's shell start-up files and guesses the shell
from the parent process; a security tool should not write outside what it is asked to, and the
guess is wrong under ``sudo``, in containers and in CI. Printing the script (as zizmor, ruff and
uv do) lets the user put it where their shell looks, or ``eval`` it.

The scripts are typer's: they call ``pinner`` back with ``_PINNER_COMPLETE`` set, and
:func:`pinner.cli.main` hands such a call to typer's completion (which parses the partial command
line through the same command classes, so every subcommand and option completes).
"""

from __future__ import annotations

from typing import Annotated

import typer

from pinner.commands.common import run
from pinner.commands.params import FastCommand
from pinner.errors import UsageError

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_PINNER_COMPLETE"
"""The environment variable the scripts set when they ask pinner for completions."""

HELP = f"""Print the completion script for SHELL ({", ".join(SHELLS)}).

bash: add `eval "$(pinner completion bash)"` to ~/.bashrc. zsh: add
`eval "$(pinner completion zsh)"` to ~/.zshrc (after compinit). fish: `pinner completion fish >
~/.config/fish/completions/pinner.fish`.
"""

Shell = Annotated[str, typer.Argument(metavar="SHELL", help=" | ".join(SHELLS), show_default=False)]


def register(app: typer.Typer) -> None:
    """Add ``completion`` to the CLI."""
    app.command("completion", help=HELP, cls=FastCommand)(completion)


def completion(shell: Shell) -> None:
    def body() -> None:
        if shell not in SHELLS:
            raise UsageError(f"completion: SHELL must be one of {', '.join(SHELLS)}, not {shell!r}")
        typer.echo(script(shell), nl=False)

    run(body)


def script(shell: str) -> str:
    """The completion script for ``shell``, ending with a newline."""
    from typer._completion_shared import get_completion_script

    text = get_completion_script(prog_name="pinner", complete_var=COMPLETE_VAR, shell=shell)
    return text.rstrip("\n") + "\n"


def prepare_completion() -> None:
    """Register typer's completion classes with click: needed only when a script calls back.

    The app is built with ``add_completion=False`` (no ``--install-completion`` options), which
    also leaves click without typer's bash/zsh/fish handlers; without them the call-back from a
    script would answer "Shell bash not supported."
    """
    import typer._completion_classes as classes
    from typer.completion import completion_init

    completion_init()
    # zsh and fish show each option's help beside it. typer renders that help as rich markup
    # whenever rich is importable (it comes with typer), wrapped at 80 columns: "[/path]" in
    # --include's help raised a MarkupError (a traceback under TAB), and a wrapped line became a
    # bogus fish candidate. pinner's help is plain text: one line, whitespace collapsed.
    classes._sanitize_help_text = _plain_help


def _plain_help(text: str) -> str:
    """A help text as one line of plain text (for the zsh and fish completion lists)."""
    return " ".join(text.split())
