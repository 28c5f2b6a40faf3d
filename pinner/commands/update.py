"""``pinner update``: move pins to newer releases after a cooldown, and describe it for a PR.

The command reads the repository, plans every update (:mod:`pinner.core.update`), then either
writes all edits atomically (all files or none) or, with ``--check``/``--dry-run``, writes
nothing. It always prints the plan (``--format``) and can write the pull-request title, body and
commit message a bot needs to open the PR (``--pr-title``, ``--pr-body``, ``--commit-message``).
With several groups (``--group action|none``) each group's texts go to ``NAME.GROUP.EXT`` next
to the file named, and the JSON lists those paths per group.

Exit codes: 0 done (or nothing to do), 1 ``--check`` found updates, 2 usage/input/config error,
3 remote failure (nothing written).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pinner.commands import common
from pinner.commands.params import FastCommand
from pinner.errors import EXIT_FINDINGS, EXIT_OK, UsageError

if TYPE_CHECKING:  # imported where used: `pinner pin` and `--help` need none of update's core
    from pinner.config import Config
    from pinner.core.pin import TargetFilter
    from pinner.core.update import Skipped, UpdatePlan
    from pinner.models import SourceFile


def register(app: typer.Typer) -> None:
    app.command(
        "update",
        cls=FastCommand,
        help=(
            "Move every action to its newest eligible release (cooldown, --bump policy), pinned "
            "to a commit SHA with a version comment, and write the PR title/body/commit message "
            "a bot needs. --check: exit 1 when updates are available, write nothing."
        ),
    )(update)


def _file_option(flag: str, help_text: str) -> typer.models.OptionInfo:
    return typer.Option(flag, metavar="FILE", help=help_text, show_default=False, dir_okay=False)


Include = common.include_option("update")
Exclude = common.exclude_option("update")
SkipUnreadable = common.skip_unreadable_option("updated")


@common.with_forge_options(jobs=16)
def update(
    paths: common.Paths = None,
    bump: Annotated[
        str,
        typer.Option(
            "--bump",
            metavar="major|minor|patch",
            help="How far a pin may move: major, minor or patch.",
        ),
    ] = "major",
    pre: Annotated[
        bool, typer.Option("--pre", help="Allow prereleases (always allowed from a prerelease).")
    ] = False,
    cooldown: Annotated[
        str | None,
        typer.Option(
            "--cooldown",
            metavar="DURATION",
            help="Minimum release age, e.g. 7d, 36h, 0 (default: the pinner config cooldown, else "
            ".github/dependabot.yml github-actions cooldown, else 7d).",
            show_default=False,
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            metavar="TIMESTAMP",
            help="Evaluate the cooldown at this ISO 8601 time (reproducible runs, tests).",
            show_default=False,
        ),
    ] = None,
    keep_style: Annotated[
        bool,
        typer.Option(
            "--keep-style",
            help="Keep tag refs as tags (@v4 -> @v5) instead of pinning them; tags are mutable.",
        ),
    ] = False,
    group: Annotated[
        str,
        typer.Option(
            "--group",
            metavar="all|action|none",
            help="Change sets: all (one), action (one per action), none (one per change).",
        ),
    ] = "all",
    only_group: Annotated[
        str | None,
        typer.Option(
            "--only-group",
            metavar="ID",
            help="Apply and describe only this group (one PR per group).",
            show_default=False,
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when updates are available; write nothing.")
    ] = False,
    skip_unreadable: SkipUnreadable = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report and write PR texts; change no workflow file.")
    ] = False,
    diff: Annotated[
        bool,
        typer.Option("--diff", help="Print a unified diff of the changes and write nothing."),
    ] = False,
    include: Include = None,
    exclude: Exclude = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="text|json|markdown",
            help="Output on stdout: text, json or markdown.",
        ),
    ] = "text",
    pr_title_file: Annotated[
        Path | None, _file_option("--pr-title", "Write the pull-request title to FILE.")
    ] = None,
    pr_body_file: Annotated[
        Path | None, _file_option("--pr-body", "Write the pull-request body (markdown) to FILE.")
    ] = None,
    commit_message_file: Annotated[
        Path | None,
        _file_option("--commit-message", "Write the commit message (conventional) to FILE."),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="Read settings from FILE instead of [tool.pinner].",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    *,
    forge_options: common.ForgeOptions,
) -> None:
    async def body() -> int:
        from pinner.core.cooldown import resolve_cooldown
        from pinner.core.pin import TargetFilter
        from pinner.core.rewrite import write_all
        from pinner.core.update import UpdatePolicy, Updater, parse_now
        from pinner.forge.factory import open_forge

        if output_format not in ("text", "json", "markdown"):
            raise UsageError(f"--format must be text, json or markdown, not {output_format!r}")
        settings = forge_options.settings()
        # a file's own symlink is left for discovery to judge (it refuses loops and links
        # leaving the repository); resolving it here would read and write its target
        roots = [
            p.resolve() if p.is_dir() else p.parent.resolve() / p.name
            for p in (paths or [Path(".")])
        ]
        for root in roots:
            if not root.exists() and not root.is_symlink():
                raise UsageError(f"{root}: no such file or directory")
        repo_root = repository_root(roots[0])
        config = _load_config(repo_root, config_file)
        policy = UpdatePolicy(
            now=parse_now(now),
            cooldown=resolve_cooldown(
                cli=cooldown,
                root=repo_root,
                config=config.cooldown,
                config_source=_config_source(config, repo_root),
            ),
            bump=bump,
            pre=pre,
            keep_style=keep_style,
            group=group,
        )
        if diff and output_format != "text":
            raise UsageError("--diff prints a patch; use it without --format")
        targets = TargetFilter(
            include=common.compile_patterns(include, "--include") or config.include,
            exclude=common.compile_patterns(exclude, "--exclude") or config.exclude,
        )
        sources, unreadable = load_sources(
            roots, skip=skip_unreadable, as_given=paths or [Path(".")]
        )
        async with open_forge(settings) as forge:
            plan = await Updater(forge, policy, server_url=settings.urls.server).plan(
                select_uses(sources, targets), unreadable=unreadable
            )
        if only_group is not None:
            plan = plan.only_group(only_group)
            plan = _restrict_writes(plan, sources)
        if diff:
            typer.echo(render_diff(plan, sources), nl=False)
            return EXIT_OK
        outputs = group_outputs(plan, pr_title_file, pr_body_file, commit_message_file)
        written: list[str] = []
        if not check and not dry_run and plan.writes:
            write_all(dict(plan.writes))
            written = sorted(plan.relpaths[p] for p in plan.writes)
        if not check:
            write_outputs(plan, outputs)
        emit(
            plan,
            output_format,
            written=written,
            check=check,
            outputs=outputs,
            color=forge_options.color,
        )
        return EXIT_FINDINGS if check and plan.has_updates else EXIT_OK

    code = common.run(body)
    if code:
        raise typer.Exit(code)


# ----------------------------------------------------------------------------- helpers


def repository_root(path: Path) -> Path:
    """The directory holding ``.github`` for ``path``: itself when a directory, else upwards."""
    start = path if path.is_dir() else path.parent
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists() or (candidate / ".github").is_dir():
            return candidate
    return start


def load_sources(
    roots: Sequence[Path], *, skip: bool = False, as_given: Sequence[Path] | None = None
) -> tuple[list[SourceFile], list[Skipped]]:
    """Discover and read every workflow and action file under ``roots`` (as ``pin`` does: see
    :func:`pinner.commands.common.read_user_files`); unreadable files skipped with ``skip``
    become problem records of the plan. ``as_given``: ``roots`` as the user typed them."""
    from pinner.core.update import Location, Skipped

    files = common.discover_files(roots, as_given=as_given)
    sources, skipped = common.read_user_files(files, roots, verb="updates", skip_unreadable=skip)
    labels = common.file_labels(files)  # several repositories: every path says which
    unreadable = []
    for u in skipped:
        name = labels.get(u.path, "") + u.relpath
        reason = f"not read: {u.reason}"
        unreadable.append(Skipped(name, reason, (Location(name, u.line),), problem=True))
    return common.label_sources(sources, files), unreadable


def select_uses(sources: list[SourceFile], targets: TargetFilter) -> list[SourceFile]:
    """Only the remote uses ``--include``/``--exclude`` (or the config) select."""
    from dataclasses import replace

    out = []
    for source in sources:
        kept = tuple(
            s for s in source.uses if s.value.action is None or targets.wants(s.value.action)
        )
        out.append(source if len(kept) == len(source.uses) else replace(source, uses=kept))
    return out


def render_diff(plan: UpdatePlan, sources: Sequence[SourceFile]) -> str:
    """``--diff``: a ``git apply``-able patch of every file the plan would write."""
    from pinner.formats.pin_diff import unified_diff

    by_path = {s.path: s for s in sources}
    parts = []
    for path in sorted(plan.writes, key=lambda p: plan.relpaths[p]):
        new = plan.writes[path].decode("utf-8").removeprefix("\ufeff")
        parts.append(unified_diff(plan.relpaths[path], by_path[path].text, new))
    return "".join(parts)


def _load_config(root: Path, explicit: Path | None) -> Config:
    from pinner.config import load_config

    return load_config(root, explicit=explicit)


def _config_source(config: Config, root: Path) -> str:
    source = config.source
    if source is None:
        return "[tool.pinner]"
    try:
        return Path(source).resolve().relative_to(root).as_posix()
    except ValueError:
        return str(source)


def _restrict_writes(plan: UpdatePlan, sources: list[SourceFile]) -> UpdatePlan:
    """Recompute the file contents for a plan narrowed to one group."""
    from dataclasses import replace

    from pinner.core.update import render_writes

    writes, relpaths = render_writes(sources, plan.changes)
    return replace(plan, writes=writes, relpaths=relpaths)


def _group_path(path: Path, group_id: str, several: bool) -> Path:
    if not several:
        return path
    return path.with_name(f"{path.stem}.{group_id}{path.suffix}")


def group_outputs(
    plan: UpdatePlan,
    title: Path | None,
    body: Path | None,
    message: Path | None,
) -> dict[str, dict[str, str]]:
    """``{group id: {"pr_title": path, ...}}``: where each group's texts are written."""
    several = len(plan.groups) > 1
    out: dict[str, dict[str, str]] = {}
    for group in plan.groups:
        entry = {}
        for key, path in (("pr_title", title), ("pr_body", body), ("commit_message", message)):
            if path is not None:
                entry[key] = str(_group_path(path, group.id, several))
        out[group.id] = entry
    return out


def write_outputs(plan: UpdatePlan, outputs: dict[str, dict[str, str]]) -> None:
    """Write each group's PR title, body and commit message where :func:`group_outputs` said."""
    from pinner.formats.markdown import pr_body
    from pinner.formats.update_messages import commit_message, pr_title

    for group in plan.groups:
        files = outputs.get(group.id, {})
        texts = {
            "pr_title": pr_title(group) + "\n",
            "pr_body": pr_body(group, plan),
            "commit_message": commit_message(group),
        }
        for key, path in sorted(files.items()):
            Path(path).write_text(texts[key], encoding="utf-8")


def emit(
    plan: UpdatePlan,
    output_format: str,
    *,
    written: Sequence[str],
    check: bool,
    outputs: dict[str, dict[str, str]],
    color: str,
) -> None:
    if output_format == "json":
        from pinner.formats import update_json

        typer.echo(
            update_json.render(plan, written=written, check=check, outputs=outputs), nl=False
        )
    elif output_format == "markdown":
        from pinner.formats.markdown import pr_body

        if not plan.groups:
            typer.echo("No updates.")
        for group in plan.groups:
            typer.echo(pr_body(group, plan), nl=False)
    else:
        from pinner.formats import update_text

        typer.echo(
            update_text.render(plan, written=written, check=check, color=common.use_color(color)),
            nl=False,
        )
