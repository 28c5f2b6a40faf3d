"""``pinner pin``: rewrite workflows and in-repo actions to full commit SHAs with a version comment.

The command is glue: discover and read files (:mod:`pinner.sources`), plan every change
(:func:`pinner.core.pin.plan_pins`), splice the bytes (:mod:`pinner.core.rewrite`) and decide,
for the run as a whole, what to write and which exit code to give.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pinner.commands import common
from pinner.commands.params import FastCommand
from pinner.errors import EXIT_FINDINGS, EXIT_OK, EXIT_REMOTE, UsageError

if TYPE_CHECKING:  # the core is imported when the command runs, not for every command line
    from pinner.config import Config
    from pinner.core.pin import PinPlan
    from pinner.models import SourceFile
    from pinner.settings import Settings
    from pinner.sources import DiscoveredFile
    from pinner.sources.parallel import FileReader

HELP = """Pin every action to a full commit SHA with a truthful version comment.

Finds .github/workflows/*.y{a,}ml and every action.y{a,}ml under PATH (default: .), resolves each
owner/repo[/path]@ref (tag before branch, annotated tags peeled) and rewrites it to
owner/repo[/path]@<40-hex commit> # <most specific version tag at that commit>. Nothing else in
the files changes. Already pinned SHAs are verified (impostor commits are reported, never
blessed) and get their comment added or corrected.

Exit codes: 0 done/clean; 1 problems found, or changes needed with --check; 2 usage or input
error; 3 remote failure (nothing is written unless --partial).
"""

Check = Annotated[
    bool,
    typer.Option("--check", help="Write nothing; exit 1 if any file would change."),
]
Diff = Annotated[
    bool,
    typer.Option("--diff", help="Print a unified diff of the changes and write nothing."),
]
Format = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="text|json",
        help="Output: text (changes on stdout, problems on stderr) or json (one document with a "
        "record per change and per problem).",
    ),
]
Include = common.include_option("pin")
Exclude = common.exclude_option("pin")
Partial = Annotated[
    bool,
    typer.Option(
        "--partial",
        help="On a remote failure, still write what could be resolved (exit code stays 3).",
    ),
]
SkipUnreadable = common.skip_unreadable_option("pinned")
VerifyBudget = Annotated[
    int | None,
    typer.Option(
        "--verify-budget",
        metavar="N",
        min=0,
        max=1000,
        help="Requests spent at most proving that a SHA pin no branch or tag points at is in "
        "the repository (default: no fixed cap; with a token every ref is compared, 50 to a "
        "GraphQL query; without one, until the anonymous API quota runs low). Unproven, the "
        "commit is reported as unverified.",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    """Add ``pin`` to the CLI."""
    app.command("pin", help=HELP, no_args_is_help=False, cls=FastCommand)(pin)


@common.with_forge_options(jobs=16)
def pin(
    paths: common.Paths = None,
    check: Check = False,
    diff: Diff = False,
    output_format: Format = "text",
    include: Include = None,
    exclude: Exclude = None,
    partial: Partial = False,
    verify_budget: VerifyBudget = None,
    skip_unreadable: SkipUnreadable = False,
    *,
    forge_options: common.ForgeOptions,
) -> None:
    def body() -> Coroutine[Any, Any, int]:
        options = PinOptions.parse(
            paths=tuple(paths or [Path(".")]),
            check=check,
            diff=diff,
            output_format=output_format,
            include=tuple(include or ()),
            exclude=tuple(exclude or ()),
            partial=partial,
            verify_budget=verify_budget,
            skip_unreadable=skip_unreadable,
        )
        forge_options.use_color()  # validates the value; pin's output has no colour yet
        return start_pin(options, forge_options.settings())

    code = common.run(body)
    raise typer.Exit(code)


@dataclass(frozen=True, slots=True)
class PinOptions:
    """The command's own options, validated once (:meth:`parse`)."""

    paths: tuple[Path, ...]
    check: bool = False
    diff: bool = False
    output_format: str = "text"
    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    partial: bool = False
    verify_budget: int | None = None
    skip_unreadable: bool = False

    @classmethod
    def parse(
        cls,
        *,
        paths: tuple[Path, ...],
        check: bool = False,
        diff: bool = False,
        output_format: str = "text",
        include: tuple[str, ...] = (),
        exclude: tuple[str, ...] = (),
        partial: bool = False,
        verify_budget: int | None = None,
        skip_unreadable: bool = False,
    ) -> PinOptions:
        """Validate raw option values; UsageError (exit 2) names the flag at fault."""
        if output_format not in ("text", "json"):
            raise UsageError(f"--format must be text or json, not {output_format!r}")
        if diff and output_format == "json":
            raise UsageError("--diff prints a patch; use it without --format json")
        return cls(
            paths=paths,
            check=check,
            diff=diff,
            output_format=output_format,
            include=common.compile_patterns(include, "--include"),
            exclude=common.compile_patterns(exclude, "--exclude"),
            partial=partial,
            verify_budget=verify_budget,
            skip_unreadable=skip_unreadable,
        )

    @property
    def mode(self) -> str:
        return "diff" if self.diff else "check" if self.check else "write"


def start_pin(options: PinOptions, settings: Settings) -> Coroutine[Any, Any, int]:
    """Find the files and start reading them; the coroutine returned does the rest.

    Reading starts here, before the event loop and the rest of pinner are even imported: on a
    second core when worthwhile (:mod:`pinner.sources.parallel`), so the worker parses while
    this process sets up.
    """
    files = common.discover_files(options.paths)
    reader = common.open_reader(files)
    try:
        return run_pin(options, settings, files, reader)
    except BaseException:
        reader.close()
        raise


async def run_pin(
    options: PinOptions, settings: Settings, files: list[DiscoveredFile], reader: FileReader
) -> int:
    """The whole command after option parsing; returns the exit code. Closes ``reader``."""
    try:
        return await _pin_files(options, settings, files, reader)
    finally:
        reader.close()


async def _pin_files(
    options: PinOptions, settings: Settings, files: list[DiscoveredFile], reader: FileReader
) -> int:
    from pinner.core.pin import (
        PROBLEM,
        IgnorePolicy,
        PinIssue,
        PinPlanner,
        TargetFilter,
        changed_paths,
        may_pin,
    )
    from pinner.core.rewrite import Edit, apply_edits, write_all
    from pinner.forge.factory import open_forge
    from pinner.sources.hints import hints_for

    config = _load_config(files, options.paths)
    targets = TargetFilter(
        include=options.include or tuple(getattr(config, "include", ()) or ()),
        exclude=options.exclude or tuple(getattr(config, "exclude", ()) or ()),
    )
    ignores = IgnorePolicy(config)
    async with open_forge(settings) as forge:
        planner = PinPlanner(forge, targets=targets, ignores=ignores, budget=options.verify_budget)
        try:
            # every listing (and commit lookup) the files seem to need leaves now; each file's
            # references start as soon as it is read: the network works while the rest is parsed
            # (a forge without a network, --snapshot or --offline, has nothing to wait for)
            if getattr(forge, "remote", True):
                hints = hints_for(files, lambda a, rel: may_pin(a, rel, targets, ignores))
                planner.expect(hints.repositories, hints.commits)
            sources, skipped = await common.read_user_files_streaming(
                files,
                options.paths,
                planner.add,
                verb="pins",
                skip_unreadable=options.skip_unreadable,
                reader=reader,
            )
            unreadable = [
                PinIssue(
                    PROBLEM, "unreadable", u.relpath, u.line, "", f"not pinned: {u.reason}", u.path
                )
                for u in skipped
            ]
            plan = await planner.finish(sources, unreadable=unreadable)
        finally:
            planner.cancel()

    new_bytes: dict[Path, bytes] = {}
    by_path = {s.path: s for s in sources}
    no_ops: set[Path] = set()
    for path in changed_paths(plan):
        source = by_path[path]
        edits = [Edit(c.site, c.new_value, c.claim) for c in plan.changes_for(source)]
        data = apply_edits(source, edits)
        if data == _original_bytes(source):
            no_ops.add(path)  # every change was one the rewrite declined (see core.rewrite)
        else:
            new_bytes[path] = data
    if no_ops:
        plan = replace(plan, changes=tuple(c for c in plan.changes if c.site.path not in no_ops))

    remote_failed = bool(plan.remote_failures)
    written = False
    if options.mode == "write" and new_bytes and (not remote_failed or options.partial):
        write_all(new_bytes)
        written = True

    _report(options, plan, sources, new_bytes, written, common.file_labels(files))

    if remote_failed:
        return EXIT_REMOTE
    if plan.problems:
        return EXIT_FINDINGS
    if options.check and plan.changes:
        return EXIT_FINDINGS
    return EXIT_OK


def _load_config(files: list[DiscoveredFile], paths: tuple[Path, ...]) -> Config | None:
    """``[tool.pinner]`` of the repository being pinned (the first root), when configured."""
    try:
        from pinner.config import load_config
    except ImportError:  # the config module is optional for pin
        return None
    roots = [f.root for f in files] or [p if p.is_dir() else p.parent for p in paths]
    return load_config(roots[0]) if roots else None


def _report(
    options: PinOptions,
    plan: PinPlan,
    sources: list[SourceFile],
    new_bytes: dict[Path, bytes],
    written: bool,
    labels: dict[Path, str],
) -> None:
    if options.output_format == "json":
        from pinner.formats import pin_json

        sys.stdout.write(pin_json.render(plan, mode=options.mode, written=written))
        sys.stdout.flush()
        return
    from pinner.formats import pin_diff, pin_text

    out, err = pin_text.render(plan, labels)
    if options.diff:
        diffs = []
        for source in sources:
            if source.path in new_bytes:
                new_text = _decode(new_bytes[source.path])
                name = labels.get(source.path, "") + source.relpath
                diffs.append((name, _original_text(source), new_text))
        sys.stdout.write(pin_diff.render(diffs))
    else:
        for line in out:
            typer.echo(line)
    for line in err:
        typer.echo(line, err=True)
    if plan.remote_failures and not written and options.mode == "write":
        typer.echo(
            "pinner: remote failure: no file was written (use --partial to write the rest)",
            err=True,
        )
    typer.echo(pin_text.summary_line(plan, mode=options.mode, written=written), err=True)


def _original_bytes(source: SourceFile) -> bytes:
    data = source.text.encode("utf-8")
    return b"\xef\xbb\xbf" + data if source.bom else data


def _original_text(source: SourceFile) -> str:
    return source.text


def _decode(data: bytes) -> str:
    text = data.decode("utf-8")
    return text[1:] if text.startswith("\ufeff") else text
