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

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pinner.commands import common
from pinner.commands.params import FastCommand
from pinner.errors import EXIT_FINDINGS, EXIT_OK, UsageError

if TYPE_CHECKING:  # imported where used: `pinner pin` and `--help` need none of update's core
    from pinner.config import Config
    from pinner.core.image_update import ImageUpdates
    from pinner.core.images import ImageTarget
    from pinner.core.lock import LockPlan
    from pinner.core.pin import TargetFilter
    from pinner.core.update import Skipped, UpdatePlan, UpdatePolicy
    from pinner.forge.cached import CachedForge
    from pinner.models import SourceFile
    from pinner.registry.auth import DockerConfig
    from pinner.settings import Settings
    from pinner.sources.dockerfile import Dockerfile


def register(app: typer.Typer) -> None:
    app.command(
        "update",
        cls=FastCommand,
        help=(
            "Move every action to its newest eligible release (cooldown, --bump policy), pinned "
            "to a commit SHA with a version comment, and container images to the digest their tag "
            "(or a newer tag) names, and write the PR title/body/commit message a bot needs. "
            "--check: exit 1 when updates are available, write nothing."
        ),
    )(update)


def _file_option(flag: str, help_text: str) -> typer.models.OptionInfo:
    return typer.Option(flag, metavar="FILE", help=help_text, show_default=False, dir_okay=False)


Include = common.include_option("update")
Exclude = common.exclude_option("update")
SkipUnreadable = common.skip_unreadable_option("updated")
Output = common.output_option("the report (or the --diff patch)")


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
    diff: common.Diff = False,
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
    output: Output = None,
    config_file: common.ConfigFile = None,
    no_images: common.NoImages = False,
    registry_auth: common.RegistryAuth = None,
    *,
    forge_options: common.ForgeOptions,
) -> None:
    async def body() -> int:
        from pinner.core.cooldown import resolve_cooldown
        from pinner.core.lockfile import read_lockfile
        from pinner.core.pin import TargetFilter
        from pinner.core.rewrite import original_bytes
        from pinner.core.update import UpdatePolicy, Updater, parse_now
        from pinner.forge.factory import open_forge

        if output_format not in ("text", "json", "markdown"):
            raise UsageError(f"--format must be text, json or markdown, not {output_format!r}")
        # every place a file will be written is checked before anything is read or changed
        common.check_output_files(
            {
                "--pr-title": pr_title_file,
                "--pr-body": pr_body_file,
                "--commit-message": commit_message_file,
                "--output": output,
            }
        )
        settings = forge_options.settings()
        # symlinks are left for discovery to judge (it refuses loops and links leaving the
        # repository, in a file's own name or in a directory on its way); resolving them here
        # would read and write wherever they point
        roots = [Path(os.path.abspath(p)) for p in (paths or [Path(".")])]
        for root in roots:
            if not root.exists() and not root.is_symlink():
                raise UsageError(f"{root}: no such file or directory")
        repo_root = repository_root(roots[0])
        config = _load_config(repo_root, config_file)
        # a repository that locks its actions in actions.lock keeps readable tags: the
        # lockfile pins them (pinner lock), so update moves tags to tags and relocks
        # (read now: one GitHub's parser refuses, or a directory in its place, is exit 2 before
        # any request, as for pinner lock and audit)
        locked = read_lockfile(repo_root) is not None
        policy = UpdatePolicy(
            now=parse_now(now),
            cooldown=resolve_cooldown(
                cli=cooldown,
                root=repo_root,
                config=config.cooldown,
                config_source=_config_source(config, repo_root),
                lockfile=locked,
            ),
            bump=bump,
            pre=pre,
            keep_style=keep_style or locked,
            group=group,
        )
        if diff and output_format != "text":
            raise UsageError("--diff prints a patch; use it without --format")
        targets = TargetFilter(
            include=common.compile_patterns(include, "--include") or config.include,
            exclude=common.compile_patterns(exclude, "--exclude") or config.exclude,
        )
        credentials = common.registry_credentials(registry_auth, no_images=no_images)
        sources, unreadable, repository_roots = load_sources(
            roots, skip=skip_unreadable, as_given=paths or [Path(".")]
        )
        dockerfiles: list[Dockerfile] = []
        async with open_forge(settings) as forge:
            images = None
            if not no_images:
                images, dockerfiles, notes = await plan_images(
                    sources,
                    policy,
                    settings,
                    forge,
                    credentials,
                    skip_unreadable,
                    config,
                    repository_roots,
                )
                unreadable = [*unreadable, *notes]
            plan = await Updater(forge, policy, server_url=settings.urls.server).plan(
                select_uses(sources, targets),
                unreadable=unreadable,
                images=images,
                dockerfiles=dockerfiles,
            )
            if only_group is not None:
                plan = plan.only_group(only_group)
                plan = _restrict_writes(plan, sources, dockerfiles)
            lock = await _lockfile_in_step(forge, repo_root, sources, plan) if locked else None
        if diff:
            from pinner.formats.style import diff as paint_diff

            paint = forge_options.paints_report(output)
            patch = render_diff(plan, sources) + _lock_diff(lock)
            _deliver(paint_diff(patch, paint), output, {}, color=paint)
            return EXIT_FINDINGS if check and plan.has_updates else EXIT_OK  # as pin --check --diff
        outputs = group_outputs(plan, pr_title_file, pr_body_file, commit_message_file)
        files: dict[Path, bytes] = {}
        expected: dict[Path, bytes] = {}
        written: list[str] = []
        if not check and not dry_run:
            files.update(plan.writes)
            read = {**{s.path: s for s in sources}, **{d.path: d for d in dockerfiles}}
            expected = {p: original_bytes(read[p]) for p in plan.writes}
            written = [plan.relpaths[p] for p in plan.writes]
            if lock is not None and lock.after_bytes is not None and lock.lockfile_changed:
                lockfile = repo_root / ".github/workflows/actions.lock"
                files[lockfile] = lock.after_bytes
                if lock.before_bytes is not None:
                    expected[lockfile] = lock.before_bytes
                written.append(".github/workflows/actions.lock")
            written.sort()
        if not check:
            files.update(output_texts(plan, outputs))
        paint = forge_options.paints_report(output)
        report = render_report(
            plan,
            output_format,
            written=written,
            check=check,
            outputs=outputs,
            color=paint,
        )
        # the workflows, the lockfile, the pull-request texts and the report: all written, or none
        _deliver(report, output, files, expected=expected, color=paint)
        _report_lock(lock)
        return EXIT_FINDINGS if check and plan.has_updates else EXIT_OK

    code = common.run(body)
    if code:
        raise typer.Exit(code)


# ----------------------------------------------------------------------------- helpers


async def _lockfile_in_step(
    forge: CachedForge, root: Path, sources: list[SourceFile], plan: UpdatePlan
) -> LockPlan | None:
    """``actions.lock`` as it must be once the plan's files are written (see
    :func:`pinner.core.lock.lockfile_in_step`)."""
    from pinner.core.lock import lockfile_in_step

    return await lockfile_in_step(forge, root, sources, plan.writes)


def _lock_diff(lock: LockPlan | None) -> str:
    if lock is None or not lock.lockfile_changed or lock.after_bytes is None:
        return ""
    from pinner.formats.lock_text import render_diff

    return render_diff(lock)


def _report_lock(lock: LockPlan | None) -> None:
    """What keeping the lockfile in step found (a ref update wrote that cannot be locked)."""
    if lock is None:
        return
    from pinner.formats.lock_text import finding_line

    for finding in lock.blocking:
        typer.echo(f"lockfile: {finding_line(finding)}", err=True)


def repository_root(path: Path) -> Path:
    """The directory holding ``.github`` for ``path``: itself when a directory, else upwards."""
    start = path if path.is_dir() else path.parent
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists() or (candidate / ".github").is_dir():
            return candidate
    return start


def load_sources(
    roots: Sequence[Path], *, skip: bool = False, as_given: Sequence[Path] | None = None
) -> tuple[list[SourceFile], list[Skipped], dict[Path, Path]]:
    """Discover and read every workflow and action file under ``roots`` (as ``pin`` does: see
    :func:`pinner.commands.common.read_user_files`); unreadable files skipped with ``skip``
    become problem records of the plan. ``as_given``: ``roots`` as the user typed them.
    Also returns each file's repository root, by its path (in-repo Dockerfiles are found
    relative to it)."""
    from pinner.core.update import Location, Skipped

    files = common.discover_files(roots, as_given=as_given)
    sources, skipped = common.read_user_files(files, roots, verb="updates", skip_unreadable=skip)
    labels = common.file_labels(files)  # several repositories: every path says which
    unreadable = []
    for u in skipped:
        name = labels.get(u.path, "") + u.relpath
        reason = f"not read: {u.reason}"
        unreadable.append(Skipped(name, reason, (Location(name, u.line),), problem=True))
    return common.label_sources(sources, files), unreadable, {f.path: f.root for f in files}


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
    from pinner.formats.pin_diff import rewrite_diff

    by_path = {s.path: s for s in sources}
    return "".join(
        rewrite_diff(plan.relpaths[path], by_path[path].text, plan.writes[path])
        for path in sorted(plan.writes, key=lambda p: plan.relpaths[p])
    )


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


def _restrict_writes(
    plan: UpdatePlan, sources: list[SourceFile], dockerfiles: Sequence[Dockerfile]
) -> UpdatePlan:
    """Recompute the file contents for a plan narrowed to one group."""
    from dataclasses import replace

    from pinner.core.update import render_writes

    writes, relpaths = render_writes(sources, plan.changes, dockerfiles)
    return replace(plan, writes=writes, relpaths=relpaths)


async def plan_images(
    sources: list[SourceFile],
    policy: UpdatePolicy,
    settings: Settings,
    forge: CachedForge,
    credentials: DockerConfig | None,
    skip_unreadable: bool,
    config: Config,
    roots: dict[Path, Path],
) -> tuple[ImageUpdates | None, list[Dockerfile], list[Skipped]]:
    """The images' part of an update: in-repo Dockerfiles, each image's move (or none).

    Returns the image updates (None with ``--snapshot``: no registry), the Dockerfiles they
    may rewrite, and problems found on the way (a Dockerfile that is missing or unreadable)."""
    from pinner.core.image_update import ImageUpdater
    from pinner.core.images import collect_dockerfiles, image_targets, silenced
    from pinner.core.update import Location, Skipped
    from pinner.registry import open_registry

    dockerfiles, issues = collect_dockerfiles(
        sources, roots=roots, on_error="report" if skip_unreadable else "raise"
    )
    found = [
        Skipped(i.target.written, i.message, (Location(i.target.relpath, i.target.line),), True)
        for i in issues
    ]
    targets = [t for t in image_targets(sources, dockerfiles) if not silenced(t, config)]
    targets = [t for t in targets if not _held_in_place(t)]
    if not targets:
        return None, dockerfiles, found
    async with open_registry(settings, forge, config=credentials) as registry:
        if registry is None:
            lines = {Location(t.relpath, t.line) for t in targets}
            where = tuple(sorted(lines, key=lambda x: (x.file, x.line)))
            reason = "not updated: --snapshot serves no container registry (--no-images)"
            return None, dockerfiles, [*found, Skipped("container images", reason, where)]
        return await ImageUpdater(registry, policy).plan(targets), dockerfiles, found


def _held_in_place(target: ImageTarget) -> bool:
    """``# pinner: ignore[update]`` on the image's line holds it where it is."""
    from pinner.sources.comments import parse_ignore

    rules = parse_ignore(target.comment) if target.comment else None
    return rules is not None and ("*" in rules or "update" in rules)


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


def output_texts(plan: UpdatePlan, outputs: dict[str, dict[str, str]]) -> dict[Path, bytes]:
    """Each group's PR title, body and commit message, by where :func:`group_outputs` said."""
    from pinner.formats.markdown import pr_body
    from pinner.formats.update_messages import commit_message, pr_title

    files: dict[Path, bytes] = {}
    for group in plan.groups:
        texts = {
            "pr_title": pr_title(group) + "\n",
            "pr_body": pr_body(group, plan),
            "commit_message": commit_message(group),
        }
        for key, path in sorted(outputs.get(group.id, {}).items()):
            files[Path(path)] = texts[key].encode("utf-8")
    return files


def render_report(
    plan: UpdatePlan,
    output_format: str,
    *,
    written: Sequence[str],
    check: bool,
    outputs: dict[str, dict[str, str]],
    color: bool,
) -> str:
    """The report in ``output_format``: what stdout (or ``--output``) gets."""
    if output_format == "json":
        from pinner.formats import update_json

        return update_json.render(plan, written=written, check=check, outputs=outputs)
    if output_format == "markdown":
        from pinner.formats.markdown import pr_body

        texts = [pr_body(group, plan) for group in plan.groups]
        return "".join(texts) if texts else "No updates.\n"
    from pinner.formats import update_text

    return update_text.render(plan, written=written, check=check, color=color)


def _deliver(
    report: str,
    output: Path | None,
    files: dict[Path, bytes],
    *,
    expected: dict[Path, bytes] | None = None,
    color: bool = False,
) -> None:
    """Write ``files`` and the report (to ``output``, in the same all-or-nothing write), or
    print the report once every file is written (``color``: it was painted, keep the codes)."""
    if output is not None:
        files = {**files, output: report.encode("utf-8")}
    if files:
        from pinner.core.rewrite import write_all

        write_all(files, expected=expected or {})
    if output is None:
        from pinner.formats.style import emit

        emit(report, nl=False, color=color)
