"""``pinner lock``: write and verify GitHub's ``.github/workflows/actions.lock``.

The command is glue: find the repository's workflows and read them (:mod:`pinner.sources`),
read the lockfile on disk (:mod:`pinner.core.lockfile`), plan the new one and verify every entry
(:mod:`pinner.core.lock`), then write the lockfile and any narrowed or migrated ``uses:`` lines
together, all files or none (:func:`pinner.core.rewrite.write_all`), or with ``--check`` /
``--diff`` write nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pinner.commands import common
from pinner.commands.params import FastCommand
from pinner.errors import EXIT_FINDINGS, EXIT_OK, UsageError

if TYPE_CHECKING:  # the core is imported when the command runs
    from pinner.core.lock import LockPlan
    from pinner.settings import Settings

HELP = """Write GitHub's actions lockfile (.github/workflows/actions.lock) and verify it.

Workflows keep readable tags; the lockfile records, for every action in the graph (composite
actions followed at their commits), the commit and the repository's owner and repo ids, byte for
byte as GitHub's `gh actions-lock` writes them. On first lock a direct @v4 or bare SHA is narrowed
to the full version tag on the same commit (@v4.2.2) in the workflow and the key; recorded entries
stay as they are. Every run verifies every entry: commit in a branch or tag of its repository,
ref not moved elsewhere, repository ids unchanged, composite steps all locked.

Exit codes: 0 done/clean; 1 blocking findings, or changes needed with --check; 2 usage or input
error (a lockfile GitHub's parser refuses); 3 remote failure (nothing is written).
"""

Check = Annotated[
    bool,
    typer.Option(
        "--check", help="Write nothing; exit 1 if the lockfile is missing, stale or wrong."
    ),
]
Diff = Annotated[
    bool,
    typer.Option("--diff", help="Print the change to the lockfile and workflows as a patch."),
]
Relock = Annotated[
    bool,
    typer.Option("--relock", help="Lock the new commit of refs that moved forward (ref-moved)."),
]
AcceptMoved = Annotated[
    bool,
    typer.Option(
        "--accept-moved",
        help="Lock the new commit of refs that moved anywhere, unreachable-pin included.",
    ),
]
NoNarrow = Annotated[
    bool,
    typer.Option(
        "--no-narrow",
        help="Keep @v4 and bare SHAs as written instead of narrowing them to @v4.2.2.",
    ),
]
NoMigrate = Annotated[
    bool,
    typer.Option(
        "--no-migrate-local-actions",
        help="Leave ./path actions alone (such workflows are then not locked) instead of "
        "rewriting them to $/path.",
    ),
]
Format = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="text|json",
        help="Output: text, or json (one pinner.lock/1 document).",
    ),
]
VerifyBudget = common.VerifyBudget


def register(app: typer.Typer) -> None:
    """Add ``lock`` to the CLI."""
    app.command("lock", help=HELP, no_args_is_help=False, cls=FastCommand)(lock)


@common.with_forge_options(jobs=16)
def lock(
    paths: common.Paths = None,
    check: Check = False,
    diff: Diff = False,
    relock: Relock = False,
    accept_moved: AcceptMoved = False,
    no_narrow: NoNarrow = False,
    no_migrate_local_actions: NoMigrate = False,
    output_format: Format = "text",
    verify_budget: VerifyBudget = None,
    *,
    forge_options: common.ForgeOptions,
) -> None:
    def body() -> Coroutine[Any, Any, int]:
        options = LockCommand.parse(
            paths=tuple(paths or [Path(".")]),
            check=check,
            diff=diff,
            relock=relock,
            accept_moved=accept_moved,
            narrow=not no_narrow,
            migrate_local=not no_migrate_local_actions,
            output_format=output_format,
            budget=verify_budget,
        )
        painted = (forge_options.use_color(sys.stdout), forge_options.use_color(sys.stderr))
        return run_lock(replace(options, painted=painted), forge_options.settings())

    raise typer.Exit(common.run(body))


@dataclass(frozen=True, slots=True)
class LockCommand:
    """The command's own options, validated once."""

    paths: tuple[Path, ...]
    check: bool = False
    diff: bool = False
    relock: bool = False
    accept_moved: bool = False
    narrow: bool = True
    migrate_local: bool = True
    output_format: str = "text"
    budget: int | None = None
    painted: tuple[bool, bool] = (False, False)  # stdout, stderr (pinner.formats.style)

    @classmethod
    def parse(cls, **values: Any) -> LockCommand:
        """Validate raw option values; UsageError (exit 2) names the flag at fault."""
        command = cls(**values)
        if command.output_format not in ("text", "json"):
            raise UsageError(f"--format must be text or json, not {command.output_format!r}")
        if command.diff and command.output_format == "json":
            raise UsageError("--diff prints a patch; use it without --format json")
        if command.check and command.diff:
            raise UsageError("--check and --diff: choose one")
        return command

    @property
    def mode(self) -> str:
        return "diff" if self.diff else "check" if self.check else "write"


async def run_lock(command: LockCommand, settings: Settings) -> int:
    """The whole command after option parsing; returns the exit code."""
    from pinner.core.lock import LockOptions, LockPlanner
    from pinner.core.lockfile import parse_lockfile, read_lockfile_bytes
    from pinner.forge.factory import open_forge
    from pinner.formats.lockfile import LOCKFILE_PATH

    root, workflows, full_scan = find_workflows(command.paths)
    before_bytes = read_lockfile_bytes(root)
    before = parse_lockfile(before_bytes) if before_bytes is not None else None
    if not workflows and before is None:
        raise UsageError(f"{root}: no workflow files found in .github/workflows")
    sources, _ = common.read_user_files(workflows, command.paths)
    options = LockOptions(
        narrow=command.narrow,
        relock=command.relock,
        accept_moved=command.accept_moved,
        migrate_local=command.migrate_local,
        budget=command.budget,
        repair=not command.check,
    )
    async with open_forge(settings) as forge:
        planner = LockPlanner(forge, root, before, options=options, before_bytes=before_bytes)
        plan = await planner.plan(sources, full_scan=full_scan)
    written = False
    if command.mode == "write" and plan.changed:
        write_plan(plan, root / LOCKFILE_PATH)
        written = True
    report(command, plan, written)
    if plan.blocking:
        return EXIT_FINDINGS
    if command.check and plan.changed:
        return EXIT_FINDINGS
    return EXIT_OK


def find_workflows(paths: tuple[Path, ...]) -> tuple[Path, list, bool]:
    """The repository root, its workflow files to lock, and whether that is all of them.

    A directory means every ``.github/workflows/*.y{a,}ml`` of its repository (a full scan:
    the lockfile's entries for deleted workflows are pruned); a file must be one of those
    (only it is relocked, the other workflows' entries stay as they are).
    """
    from pinner.core.lockfile import is_workflow_file

    found, root = common.discover_one_repository(paths, command="lock")
    explicit = [p for p in paths if not p.is_dir()]
    workflows = [f for f in found if f.kind == "workflow" and is_workflow_file(f.relpath)]
    for path in explicit:
        named = [f for f in found if f.path == path.resolve() or f.path == path.absolute()]
        if not named or not all(is_workflow_file(f.relpath) for f in named):
            raise UsageError(
                f"{path}: not a workflow of .github/workflows; the lockfile covers those only"
            )
    if not explicit and root.is_dir():
        root = root.resolve()
    return root, workflows, not explicit


def write_plan(plan: LockPlan, lock_path: Path) -> None:
    """The lockfile and the rewritten files, all or nothing; an emptied lockfile is removed
    (as the extension does) in the same write: with the files, or not at all. Every file
    read must still hold what was read, the lockfile too: an edit made meanwhile is never
    overwritten or deleted."""
    from pinner.core.rewrite import original_bytes, write_all

    changes: dict[Path, bytes] = dict(plan.files)
    expected = {path: original_bytes(plan.originals[path]) for path in plan.files}
    remove: dict[Path, bytes] = {}
    if plan.lockfile_changed and plan.before_bytes is not None:
        if plan.after_bytes is None:
            remove[lock_path] = plan.before_bytes
        else:
            expected[lock_path] = plan.before_bytes
    if plan.lockfile_changed and plan.after_bytes is not None:
        changes[lock_path] = plan.after_bytes
    write_all(changes, expected=expected, remove=remove)


def report(command: LockCommand, plan: LockPlan, written: bool) -> None:
    if command.output_format == "json":
        from pinner.formats import lock_json

        sys.stdout.write(lock_json.render(plan, mode=command.mode, written=written))
        sys.stdout.flush()
        return
    from pinner.formats import lock_text, style

    out_color, err_color = command.painted
    if command.diff:
        sys.stdout.write(style.diff(lock_text.render_diff(plan), out_color))
    else:
        for line in lock_text.render_changes(plan, color=out_color):
            style.emit(line, color=out_color)
    for line in lock_text.render_findings(plan, color=err_color):
        style.emit(line, err=True, color=err_color)
    typer.echo(lock_text.summary_line(plan, mode=command.mode, written=written), err=True)
