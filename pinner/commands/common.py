"""Options every command shares, and the one place errors become exit codes.

Each option has the environment variable GitHub Actions itself uses, so pinner works inside a
workflow without flags. A command that talks to the forge declares only its own options and is
decorated with :func:`with_forge_options`, which adds the shared ones to its ``--help`` and hands
them to it as one :class:`ForgeOptions` value.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from pinner.core.graph_limits import GraphLimits
from pinner.errors import (
    EXIT_INTERRUPTED,
    EXIT_REMOTE,
    EXIT_USAGE,
    InputError,
    PinnerError,
    UsageError,
)
from pinner.settings import (
    DEFAULT_DEADLINE,
    DEFAULT_REQUEST_TIMEOUT,
    ForgeUrls,
    Settings,
    default_cache_dir,
    find_token,
    paired_api_url,
)

if TYPE_CHECKING:  # the YAML reader (ruamel) loads when a command reads files, not before
    from pinner.models import SourceFile
    from pinner.registry.auth import DockerConfig
    from pinner.sources.discovery import DiscoveredFile
    from pinner.sources.parallel import FileReader

T = TypeVar("T")

FORGE_PANEL = "Talking to GitHub"
"""``--help`` section of the options every forge command shares (see FastCommand)."""
IMAGES_PANEL = "Container images"
GRAPH_PANEL = "Graph bounds"

ServerUrl = Annotated[
    str | None,
    typer.Option(
        "--server-url",
        metavar="URL",
        envvar="GITHUB_SERVER_URL",
        help="Web root of the forge (https://github.com, a GHES host, or the test emulator).",
        show_default=False,
        rich_help_panel=FORGE_PANEL,
    ),
]
ApiUrl = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        metavar="URL",
        envvar="GITHUB_API_URL",
        help="REST API base; default derived from --server-url. GITHUB_API_URL is used only "
        "with a server URL from the environment too, or one it belongs to.",
        show_default=False,
        rich_help_panel=FORGE_PANEL,
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        metavar="TOKEN",
        help="GitHub token (else GITHUB_TOKEN, GH_TOKEN, `gh auth token`). Sent only to the forge.",
        show_default=False,
        rich_help_panel=FORGE_PANEL,
    ),
]
CacheDir = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        metavar="DIR",
        help="Persistent cache directory (default: user cache dir).",
        show_default=False,
        rich_help_panel=FORGE_PANEL,
    ),
]
NoCache = Annotated[
    bool,
    typer.Option("--no-cache", help="Do not read or write the cache.", rich_help_panel=FORGE_PANEL),
]
Offline = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Make no network request; answer from the cache only.",
        rich_help_panel=FORGE_PANEL,
    ),
]
Jobs = Annotated[
    int,
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        max=256,
        metavar="N",
        help="Concurrent requests at most.",
        rich_help_panel=FORGE_PANEL,
    ),
]
Snapshot = Annotated[
    list[Path] | None,
    typer.Option(
        "--snapshot",
        metavar="DIR",
        help="Resolve from a forge snapshot directory (corpus format) with no network. Repeatable.",
        show_default=False,
        rich_help_panel=FORGE_PANEL,
    ),
]
Color = Annotated[
    str,
    typer.Option(
        "--color",
        metavar="WHEN",
        help="auto, always or never (NO_COLOR and FORCE_COLOR are honoured).",
        rich_help_panel=FORGE_PANEL,
    ),
]
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        help="Say every retry and wait on stderr (said anyway when stderr is a terminal), and "
        "how many requests the run made.",
        rich_help_panel=FORGE_PANEL,
    ),
]
RequestTimeout = Annotated[
    float | None,
    typer.Option(
        "--request-timeout",
        metavar="SECONDS",
        envvar="PINNER_REQUEST_TIMEOUT",
        min=0.1,
        help="Longest one request to the forge may take, from connecting to the last byte of "
        f"the answer; a slower one is given up and retried. [default: {DEFAULT_REQUEST_TIMEOUT:g}]",
        show_default=False,
        rich_help_panel=FORGE_PANEL,
    ),
]
Deadline = Annotated[
    float | None,
    typer.Option(
        "--deadline",
        metavar="SECONDS",
        envvar="PINNER_DEADLINE",
        min=0,
        help="Longest the whole run may spend waiting on the network; past it the run stops "
        f"(exit 3). 0: no limit. [default: {DEFAULT_DEADLINE:g}]",
        show_default=False,
        rich_help_panel=FORGE_PANEL,
    ),
]
NoImages = Annotated[
    bool,
    typer.Option(
        "--no-images",
        help="Leave container images alone (docker:// steps, container, services, Dockerfile "
        "FROM lines): no registry is asked.",
        rich_help_panel=IMAGES_PANEL,
    ),
]
RegistryAuth = Annotated[
    Path | None,
    typer.Option(
        "--registry-auth",
        metavar="FILE",
        help="Container registry credentials in Docker's config.json format (default: "
        "$DOCKER_CONFIG/config.json when DOCKER_CONFIG is set, else anonymous). Each goes only "
        "to its own registry; the GitHub token never goes to a registry.",
        dir_okay=False,
        show_default=False,
        rich_help_panel=IMAGES_PANEL,
    ),
]
VerifyBudget = Annotated[
    int | None,
    typer.Option(
        "--verify-budget",
        metavar="N",
        min=0,
        max=1000,
        help="Requests spent at most proving that a commit no branch or tag points at is in "
        "its repository (default: no fixed cap; with a token every ref is compared, 50 to a "
        "GraphQL query; without one, until the anonymous API quota runs low). Unproven, the "
        "commit is reported as unverified.",
        show_default=False,
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="Read settings from FILE instead of [tool.pinner] / .github/pinner.toml.",
        show_default=False,
        dir_okay=False,
    ),
]
Diff = Annotated[
    bool,
    typer.Option("--diff", help="Print a unified diff of the changes and write nothing."),
]
LIMITS = GraphLimits()  # the documented defaults, shown by --help


def _limit_option(flag: str, help_text: str) -> Any:
    """An option raising one of the graph's :class:`GraphLimits` (a positive count).

    ``audit`` and ``checksums`` walk the same graph, so they take the same flags."""
    return Annotated[
        int,
        typer.Option(flag, metavar="N", min=1, help=help_text, rich_help_panel=GRAPH_PANEL),
    ]


MaxFileEdges = _limit_option(
    "--max-file-edges", "References (uses:, images) followed in one remote action or workflow."
)
MaxFileNodes = _limit_option(
    "--max-file-nodes", "Distinct actions and workflows one remote file may bring into the graph."
)
MaxEdges = _limit_option("--max-edges", "uses: references in remote files resolved in one run.")
MaxNodes = _limit_option(
    "--max-nodes", "Remote actions and workflows read in one run (beyond: not followed, said so)."
)
Paths = Annotated[
    list[Path] | None,
    typer.Argument(
        metavar="PATH",
        help="Repository roots, directories or files (default: .).",
        show_default=False,
    ),
]


@dataclass(frozen=True, slots=True)
class ForgeOptions:
    """The shared forge options of one command line, as given (validated by :meth:`settings`).

    The token stays out of the repr so that no debug print or traceback can show it.
    """

    server_url: str | None
    api_url: str | None
    token: str | None = field(repr=False)
    cache_dir: Path | None
    no_cache: bool
    offline: bool
    jobs: int
    snapshot: tuple[Path, ...]
    color: str
    verbose: bool = False
    request_timeout: float | None = None
    deadline: float | None = None
    # where the URLs came from: an API URL from the environment pairs only with a server URL
    # from the environment too (see pinner.settings.paired_api_url)
    server_url_from_env: bool = False
    api_url_from_env: bool = False

    def settings(self) -> Settings:
        """The :class:`Settings` these options describe; UsageError (exit 2) on a bad mix."""
        return build_settings(
            server_url=self.server_url,
            api_url=paired_api_url(
                server_url=self.server_url,
                server_url_from_env=self.server_url_from_env,
                api_url=self.api_url,
                api_url_from_env=self.api_url_from_env,
            ),
            token=self.token,
            cache_dir=self.cache_dir,
            no_cache=self.no_cache,
            offline=self.offline,
            jobs=self.jobs,
            snapshot=self.snapshot,
            verbose=self.verbose,
            request_timeout=self.request_timeout,
            deadline=self.deadline,
        )

    def use_color(self, stream: Any = sys.stdout) -> bool:
        """Whether to paint output written to ``stream``: ``--color`` validated, then the one
        policy of :mod:`pinner.formats.style`."""
        from pinner.formats.style import color_enabled

        if self.color not in ("auto", "always", "never"):
            raise UsageError(f"--color must be auto, always or never, not {self.color!r}")
        return color_enabled(self.color, stream)

    def paints_report(self, output: Path | None) -> bool:
        """Whether to paint a report printed on stdout, or written to ``output`` (``--output
        FILE``). A file is no terminal, so only ``--color always`` paints it: ``FORCE_COLOR``
        asks for colour in a CI log, not in the files a run leaves behind."""
        on_stdout = self.use_color(sys.stdout)  # validates --color either way
        return on_stdout if output is None else self.color == "always"


# (parameter name, typer type, default): the order is the order ``--help`` lists them in.
_FORGE_PARAMETERS: tuple[tuple[str, Any, object], ...] = (
    ("server_url", ServerUrl, None),
    ("api_url", ApiUrl, None),
    ("token", Token, None),
    ("cache_dir", CacheDir, None),
    ("no_cache", NoCache, False),
    ("offline", Offline, False),
    ("jobs", Jobs, None),  # no shared default: each command states its own
    ("snapshot", Snapshot, None),
    ("color", Color, "auto"),
    ("verbose", Verbose, False),
    ("request_timeout", RequestTimeout, None),
    ("deadline", Deadline, None),
)
FORGE_OPTIONS_PARAMETER = "forge_options"

Command = TypeVar("Command", bound=Callable[..., Any])


def with_forge_options(*, jobs: int, offline: bool = True) -> Callable[[Command], Command]:
    """Give a command the shared forge options as one keyword-only ``forge_options`` argument.

    typer reads a command's options from its signature, so the decorated function's signature
    is the command's own parameters (minus ``forge_options``) followed by the shared ones: every
    command's ``--help`` lists them all, with one definition of each flag here. ``jobs`` is the
    command's default for ``--jobs``; ``offline=False`` leaves ``--offline`` out (a command that
    must download fresh bytes) and the value is then always False.
    """
    shared = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=annotation,
            default=jobs if name == "jobs" else default,
        )
        for name, annotation, default in _FORGE_PARAMETERS
        if offline or name != "offline"
    ]

    def decorate(command: Command) -> Command:
        own = inspect.signature(command, eval_str=True)
        if FORGE_OPTIONS_PARAMETER not in own.parameters:
            raise TypeError(f"{command.__name__} takes no {FORGE_OPTIONS_PARAMETER} argument")
        parameters = [p for p in own.parameters.values() if p.name != FORGE_OPTIONS_PARAMETER]
        signature = own.replace(parameters=[*parameters, *shared])

        @functools.wraps(command)
        def command_with_forge_options(*args: Any, **kwargs: Any) -> Any:
            values = {p.name: kwargs.pop(p.name, p.default) for p in shared}
            values.setdefault("offline", False)  # a command without --offline always fetches
            values["snapshot"] = tuple(values["snapshot"] or ())
            options = ForgeOptions(
                **values,
                server_url_from_env=_from_environment(values["server_url"], "GITHUB_SERVER_URL"),
                api_url_from_env=_from_environment(values["api_url"], "GITHUB_API_URL"),
            )
            return command(*args, **kwargs, **{FORGE_OPTIONS_PARAMETER: options})

        command_with_forge_options.__signature__ = signature  # type: ignore[attr-defined]
        command_with_forge_options.__annotations__ = {
            **{p.name: p.annotation for p in signature.parameters.values()},
            "return": signature.return_annotation,
        }
        return command_with_forge_options  # type: ignore[return-value]

    return decorate


def _from_environment(value: str | None, variable: str) -> bool:
    """True when ``value`` is what the environment variable ``variable`` holds.

    A flag given with the very value of the variable counts as coming from the environment:
    for the server URL that changes nothing (the same server), and for the API URL it errs on
    the safe side (the pairing rule then applies to it).
    """
    import os

    return value is not None and os.environ.get(variable) == value


def include_option(verb: str) -> Any:
    """``--include REGEX`` for a command that will ``verb`` the selected actions."""
    return Annotated[
        list[str] | None,
        typer.Option(
            "--include",
            metavar="REGEX",
            help=f"Only {verb} actions whose owner/repo[/path] matches (re.search). Repeatable. "
            "Default from [tool.pinner] include.",
            show_default=False,
        ),
    ]


def exclude_option(verb: str) -> Any:
    """``--exclude REGEX`` for a command that would otherwise ``verb`` the matching actions."""
    return Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="REGEX",
            help=f"Do not {verb} actions whose owner/repo[/path] matches (re.search). "
            "Repeatable. Default from [tool.pinner] exclude.",
            show_default=False,
        ),
    ]


def output_option(what: str) -> Any:
    """``--output FILE`` / ``-o FILE``: ``what`` goes to FILE instead of stdout."""
    return Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help=f"Write {what} to FILE instead of stdout.",
            dir_okay=False,
            show_default=False,
        ),
    ]


def skip_unreadable_option(verb: str) -> Any:
    """``--skip-unreadable`` for a command that reads the user's files (see
    :func:`read_user_files`)."""
    return Annotated[
        bool,
        typer.Option(
            "--skip-unreadable",
            help="A file found while walking a directory that cannot be read (malformed YAML, "
            f"a key given twice, binary, too large) is reported and left out, and the rest is "
            f"still {verb}. Without it, such a file stops the run (exit 2) before anything "
            "else is done.",
        ),
    ]


def registry_credentials(registry_auth: Path | None, *, no_images: bool) -> DockerConfig | None:
    """The container registry credentials of a command that resolves images
    (:func:`pinner.registry.load_credentials`); None with ``--no-images``, which no
    ``--registry-auth`` may go with (exit 2: credentials for nothing hide a mistake)."""
    if no_images:
        if registry_auth is not None:
            raise UsageError("--registry-auth is for images; it cannot go with --no-images")
        return None
    from pinner.registry import load_credentials

    return load_credentials(registry_auth)


def build_settings(
    *,
    server_url: str | None,
    api_url: str | None,
    token: str | None,
    cache_dir: Path | None,
    no_cache: bool,
    offline: bool,
    jobs: int,
    snapshot: Sequence[Path] | None,
    verbose: bool = False,
    request_timeout: float | None = None,
    deadline: float | None = None,
) -> Settings:
    """Turn the shared options into :class:`Settings`, validating as we go.

    Retries and waits are announced on stderr with ``--verbose``, and whenever stderr is a
    terminal: a person watching should never sit through a silent minute.
    """
    if no_cache and offline:
        raise UsageError("--offline needs the cache; it cannot be combined with --no-cache")
    snapshot_dirs = tuple(snapshot or ())
    for d in snapshot_dirs:
        if not d.is_dir():
            raise UsageError(f"--snapshot {d}: not a directory")
    urls = ForgeUrls.derive(server_url, api_url)
    limits: dict[str, float | None] = {}  # only what was given: the rest keeps its default
    if request_timeout is not None:
        limits["timeout"] = request_timeout
    if deadline is not None:
        limits["deadline"] = deadline or None  # 0: no limit
    return Settings(
        urls=urls,
        token=None if snapshot_dirs else find_token(token),
        cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
        offline=offline,
        jobs=jobs,
        snapshot_dirs=snapshot_dirs,
        verbose=verbose,
        announce_retries=verbose or _is_terminal(sys.stderr),
        **limits,  # type: ignore[arg-type]
    )


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def compile_patterns(values: Iterable[str] | None, flag: str) -> tuple[re.Pattern[str], ...]:
    """Compile ``--include``/``--exclude`` style regexes; UsageError (exit 2) names the flag."""
    out = []
    for value in values or ():
        try:
            out.append(re.compile(value))
        except re.error as exc:
            raise UsageError(f"{flag} {value!r}: invalid regular expression: {exc}") from None
    return tuple(out)


def check_output_files(files: Mapping[str, Path | None]) -> None:
    """Refuse, before any work is done, an output file that could not be written.

    ``files`` maps each flag to the path it names (None: not given). A missing or unwritable
    directory, a path that is a directory, or two flags naming one file is a usage error
    (exit 2) naming the flag: found at the end of a run, it would come after the workflows
    were already rewritten, or after every download was made for nothing.
    """
    import os
    import stat

    seen: dict[Path, str] = {}
    for flag, path in files.items():
        if path is None:
            continue
        try:
            mode: int | None = os.stat(path).st_mode
        except OSError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            continue  # a device or a pipe (/dev/stdout): written into, as is
        real = Path(os.path.realpath(path))  # a symlink is written through, like the shell's >
        if real.is_dir():
            raise UsageError(f"{flag} {path}: is a directory, not a file")
        if not real.parent.is_dir():
            raise UsageError(f"{flag} {path}: no such directory: {real.parent}")
        if not os.access(real.parent, os.W_OK | os.X_OK):
            raise UsageError(f"{flag} {path}: directory {real.parent} is not writable")
        if real in seen:
            raise UsageError(f"{flag} and {seen[real]} name the same file: {path}")
        seen[real] = flag


def run(func: Callable[[], Awaitable[T] | T]) -> T:
    """Run a command body; turn every error a user can cause into one line and an exit code.

    Ctrl-C, SIGTERM and SIGHUP stop the body the same way (:mod:`pinner.interrupts`): exit
    130 with one line that says whether files were written.
    """
    from pinner import interrupts

    try:
        with interrupts.handled():
            result = func()
            if inspect.iscoroutine(result):
                result = interrupts.run(result)
            return result  # type: ignore[return-value]
    except PinnerError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        # A connection being opened at the moment of Ctrl-C leaves a coroutine of the HTTP
        # stack's never started; Python would report it at exit, after our one line.
        warnings.filterwarnings("ignore", r"coroutine .* was never awaited", RuntimeWarning)
        # one truthful line: what the run wrote, wherever the signal stopped it
        interrupts.tell(lambda line: typer.echo(f"pinner: error: {line}", err=True))
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except typer.Exit:
        raise
    except OSError as exc:
        # Local filesystem trouble (permissions, disk full): an input problem, not a crash.
        _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), EXIT_USAGE)
    raise AssertionError("unreachable")


def _fail(message: str, code: int) -> None:
    from pinner.sanitize import for_terminal

    prefix = "error" if code != EXIT_REMOTE else "remote error"
    # one line, always: a newline from foreign text could start a fake line, or in CI a
    # workflow command ("::add-mask::", "::error::")
    typer.echo(f"pinner: {prefix}: {for_terminal(message, single_line=True)}", err=True)
    raise typer.Exit(code)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A file found while walking that could not be read, left out by ``--skip-unreadable``."""

    relpath: str
    path: Path
    line: int
    reason: str  # the refusal without its ``path:line:`` prefix


def read_user_files(
    files: Sequence[DiscoveredFile],
    given: Sequence[Path],
    *,
    verb: str | None = None,
    skip_unreadable: bool = False,
) -> tuple[list[SourceFile], list[Unreadable]]:
    """Read every discovered file before anything is resolved, fetched or written.

    The one place the commands read the user's files, so every command treats bad input alike:

    * a file that cannot be read (malformed YAML, a key given twice, alias bomb, binary, too
      large) is hostile or broken input and stops the run with exit 2; commands that offer
      ``--skip-unreadable`` pass ``verb`` (what they do to the rest: ``"pins"``,
      ``"updates"``, ``"audits"``) and the message names the flag;
    * with ``skip_unreadable``, one found while walking a directory (a deliberately broken test
      fixture, say) is returned as :class:`Unreadable` instead; a file named on the command
      line is always an error;
    * a ``uses:`` value the runner itself would refuse is no reason to stop: each command
      reports it on its line (``file:line: problem: invalid uses value ...``) and does the rest.
    """
    user = _UserFiles(given, verb, skip_unreadable)
    with open_reader(files) as reader:
        for found, outcome in reader:
            user.accept(found, outcome)
    return user.sources, user.unreadable


def open_reader(files: Sequence[DiscoveredFile]) -> FileReader:
    """Start reading ``files`` (on two cores when worthwhile, see :mod:`pinner.sources.parallel`).

    A command may call this early, right after discovery, and hand the reader to
    :func:`read_user_files_streaming` later: the worker reads while the command imports the
    rest of its core and opens the forge. Its worker is stopped when the run ends, however it
    ends, even before the command got to close the reader (:meth:`FileReader._fork`).
    """
    from pinner.sources import read_source
    from pinner.sources.parallel import FileReader

    return FileReader(files, read_source)


async def read_user_files_streaming(
    files: Sequence[DiscoveredFile],
    given: Sequence[Path],
    on_source: Callable[[SourceFile], None],
    *,
    verb: str | None = None,
    skip_unreadable: bool = False,
    reader: FileReader | None = None,
) -> tuple[list[SourceFile], list[Unreadable]]:
    """:func:`read_user_files`, handing each file to ``on_source`` as soon as it is read.

    The event loop runs between files, so requests ``on_source`` starts (ref listings and
    lookups for the file's actions) travel while the rest is parsed. Files are handed over
    in file order and every check applies file by file, so the same first error stops the
    run and no file after it is handed over; requests the caller already started (for
    earlier, valid files, or on hints from the raw text) are the only difference, and nothing
    is ever written before the end. ``reader`` is one :func:`open_reader` started earlier for
    the same ``files`` (it is closed here).
    """
    import asyncio

    user = _UserFiles(given, verb, skip_unreadable)
    with reader or open_reader(files) as outcomes:
        for found, outcome in outcomes:
            source = user.accept(found, outcome)
            if source is not None:
                on_source(source)
            await asyncio.sleep(0)
    return user.sources, user.unreadable


class _UserFiles:
    """The per-file policy of :func:`read_user_files` (shared by its streaming variant)."""

    def __init__(self, given: Sequence[Path], verb: str | None, skip_unreadable: bool) -> None:
        explicit = {p.absolute() for p in given if not p.is_dir()}
        self.explicit = explicit | {p.resolve() for p in explicit}
        self.verb = verb
        self.skip_unreadable = skip_unreadable
        self.sources: list[SourceFile] = []
        self.unreadable: list[Unreadable] = []

    def accept(self, found: DiscoveredFile, outcome: SourceFile | InputError) -> SourceFile | None:
        """Keep a file that was read; raise or note (``--skip-unreadable``) one that was not."""
        if isinstance(outcome, InputError):
            named = found.path in self.explicit or found.path.absolute() in self.explicit
            if self.verb is None or named:
                raise outcome
            reason = outcome.reason
            if not self.skip_unreadable:
                written = "" if self.verb == "audits" else "; nothing was written"
                raise InputError(
                    f"{reason}{written} (--skip-unreadable leaves this file out and "
                    f"{self.verb} the rest)",
                    path=found.relpath,
                    line=outcome.line,
                ) from None
            self.unreadable.append(Unreadable(found.relpath, found.path, outcome.line or 1, reason))
            return None
        self.sources.append(outcome)
        return outcome


def discover_files(
    paths: Sequence[Path], *, as_given: Sequence[Path] | None = None
) -> list[DiscoveredFile]:
    """The workflow and action files every command reads, found under ``paths`` (default ``.``).

    The one place commands discover the user's files, so each of them refuses alike (exit 2,
    ``no workflow or action files under PATH``) to run where nothing is found: a wrong
    directory or a typo must never pass for a clean repository. ``as_given`` are the paths as
    the user typed them, when ``paths`` were resolved first: the message names what was typed.
    """
    from pinner.sources.discovery import NoFilesFound, discover

    wanted = list(paths) or [Path(".")]
    try:
        return discover(wanted, require=True)
    except NoFilesFound as exc:
        if as_given is None or len(as_given) != len(wanted):
            raise
        raise NoFilesFound(as_given[wanted.index(exc.given)]) from None


def repository_labels(files: Sequence[DiscoveredFile]) -> dict[Path, str]:
    """Each repository root of ``files`` (in order) and the label its paths get in output.

    With one repository the label is ``""``: paths are relative to its root, as always. With
    several, every path must say which repository it belongs to, so each root is labelled by
    its path relative to the current directory (``tokio/``, ``../uv/``; an absolute path
    where none is shorter): a label and a path together are then a path a terminal or an
    editor can open from where pinner ran.
    """
    import os

    roots = list(dict.fromkeys(f.root for f in files))
    if len(roots) < 2:
        return {root: "" for root in roots}
    labels = {}
    for root in roots:
        try:
            relative = os.path.relpath(root)
        except ValueError:  # another drive (Windows)
            relative = str(root)
        label = relative if len(relative) <= len(str(root)) else str(root)
        labels[root] = "" if label == "." else label.replace(os.sep, "/") + "/"
    return labels


def file_labels(files: Sequence[DiscoveredFile]) -> dict[Path, str]:
    """Each file's repository label (:func:`repository_labels`), by the file's path on disk."""
    labels = repository_labels(files)
    return {f.path: labels[f.root] for f in files}


def label_sources(
    sources: Sequence[SourceFile], files: Sequence[DiscoveredFile]
) -> list[SourceFile]:
    """``sources`` with every ``relpath`` prefixed by its repository's label.

    For commands whose output names files only by ``relpath`` (``update``): with several
    repositories, two ``.github/workflows/ci.yml`` stay two files in every format. With one
    repository, the sources are returned as they are.
    """
    from dataclasses import replace

    labels = file_labels(files)
    if not any(labels.values()):
        return list(sources)
    out = []
    for source in sources:
        label = labels.get(source.path, "")
        out.append(
            replace(
                source,
                relpath=label + source.relpath,
                uses=tuple(replace(s, relpath=label + s.relpath) for s in source.uses),
                images=tuple(replace(i, relpath=label + i.relpath) for i in source.images),
            )
        )
    return out


def discover_one_repository(
    targets: Sequence[Path], *, command: str
) -> tuple[list[DiscoveredFile], Path]:
    """Discover the files under ``targets``, which must all lie in one repository.

    ``checksums`` walks one repository's graph per run: local ``./`` references resolve
    against its root. Returns the files (at least one: see :func:`discover_files`) and that
    root.
    """
    for target in targets:
        if not target.exists():
            raise UsageError(f"{target}: no such file or directory")
    found = discover_files(targets)
    roots = {f.root for f in found}
    if len(roots) > 1:
        listed = ", ".join(sorted(str(r) for r in roots))
        raise UsageError(f"{command} works on one repository at a time (paths span {listed})")
    return found, found[0].root
