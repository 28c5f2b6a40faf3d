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
    from pinner.core.images import ImagePlan
    from pinner.core.pin import PinPlan
    from pinner.core.rewrite import Declined
    from pinner.forge.cached import CachedForge
    from pinner.models import SourceFile
    from pinner.registry.auth import DockerConfig
    from pinner.settings import Settings
    from pinner.sources import DiscoveredFile
    from pinner.sources.dockerfile import Dockerfile
    from pinner.sources.parallel import FileReader

HELP = """Pin every action to a full commit SHA with a truthful version comment, and every
container image to its digest.

Finds .github/workflows/*.y{a,}ml and every action.y{a,}ml under PATH (default: .), resolves each
owner/repo[/path]@ref (tag before branch, annotated tags peeled) and rewrites it to
owner/repo[/path]@<40-hex commit> # <most specific version tag at that commit>. Container images
(docker:// steps, container, services, docker actions and their Dockerfile FROM lines) become
IMAGE:TAG@sha256:<digest>. Nothing else in the files changes. Already pinned SHAs and digests
are verified (impostor commits and digests are reported, never blessed).

Exit codes: 0 done/clean; 1 problems found, or changes needed with --check; 2 usage or input
error; 3 remote failure (nothing is written unless --partial).
"""

Check = Annotated[
    bool,
    typer.Option("--check", help="Write nothing; exit 1 if any file would change."),
]
Diff = common.Diff
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
NoImages = common.NoImages
RegistryAuth = common.RegistryAuth
VerifyBudget = common.VerifyBudget


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
    no_images: NoImages = False,
    registry_auth: RegistryAuth = None,
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
            images=not no_images,
            registry_auth=registry_auth,
        )
        painted = Painted(forge_options.use_color(sys.stdout), forge_options.use_color(sys.stderr))
        return start_pin(replace(options, painted=painted), forge_options.settings())

    code = common.run(body)
    raise typer.Exit(code)


@dataclass(frozen=True, slots=True)
class Painted:
    """Whether each standard stream is painted (one policy: :mod:`pinner.formats.style`)."""

    stdout: bool = False
    stderr: bool = False


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
    images: bool = True
    registry_auth: Path | None = None
    registry_config: DockerConfig | None = None  # read from registry_auth / DOCKER_CONFIG
    painted: Painted = Painted()

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
        images: bool = True,
        registry_auth: Path | None = None,
    ) -> PinOptions:
        """Validate raw option values; UsageError (exit 2) names the flag at fault."""
        if output_format not in ("text", "json"):
            raise UsageError(f"--format must be text or json, not {output_format!r}")
        if diff and output_format == "json":
            raise UsageError("--diff prints a patch; use it without --format json")
        registry_config = common.registry_credentials(registry_auth, no_images=not images)
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
            images=images,
            registry_auth=registry_auth,
            registry_config=registry_config,
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
    from pinner.config import load_config
    from pinner.core.pin import (
        PROBLEM,
        IgnorePolicy,
        PinIssue,
        PinPlanner,
        TargetFilter,
        changed_paths,
        may_pin,
    )
    from pinner.core.rewrite import Edit, apply_possible_edits, original_bytes, write_all
    from pinner.forge.factory import open_forge
    from pinner.sources.hints import hints_for

    # [tool.pinner] of the repository being pinned (the first one found: discovery found some)
    config = load_config(files[0].root)
    targets = TargetFilter(
        include=options.include or config.include, exclude=options.exclude or config.exclude
    )
    ignores = IgnorePolicy(config)
    async with open_forge(settings) as forge:
        planner = PinPlanner(forge, targets=targets, ignores=ignores, budget=options.verify_budget)
        try:
            # every listing (and commit lookup) the files seem to need leaves now; each file's
            # references start as soon as it is read: the network works while the rest is parsed
            # (a forge without a network, --snapshot or --offline, has nothing to wait for)
            if forge.remote:
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
            dockerfiles: list[Dockerfile] = []
            if not options.images:
                plan = await planner.finish(sources, unreadable=unreadable)
            else:
                # registries and the forge are asked side by side: neither waits for the other
                import asyncio

                roots = {f.path: f.root for f in files}
                images = asyncio.ensure_future(
                    _plan_images(sources, roots, options, settings, forge, config)
                )
                try:
                    plan = await planner.finish(sources, unreadable=unreadable)
                    image_plan, notes, dockerfiles = await images
                finally:
                    images.cancel()
                plan = plan.with_images(image_plan, notes)
        finally:
            planner.cancel()

    from pinner.core.images import dockerfile_bytes, edits_by_file

    image_edits, dockerfile_edits = edits_by_file(plan.image_changes)
    new_bytes: dict[Path, bytes] = {}
    by_path = {s.path: s for s in sources}
    no_ops: set[Path] = set()
    declined: list[Declined] = []
    for path in changed_paths(plan):
        source = by_path[path]
        edits = [
            Edit(c.site, c.new_value, c.claim, c.word_is_ref, c.floating)
            for c in plan.changes_for(source)
        ]
        edits += [Edit(site, value) for site, value in image_edits.get(path, ())]
        data, refused = apply_possible_edits(source, edits)
        declined.extend(refused)
        if data == original_bytes(source):
            no_ops.add(path)  # every change was one the rewrite declined (see core.rewrite)
        else:
            new_bytes[path] = data
    for dockerfile in dockerfiles:
        if dockerfile.path in dockerfile_edits:
            new_bytes[dockerfile.path] = dockerfile_bytes(
                dockerfile, dockerfile_edits[dockerfile.path]
            )
    if no_ops or declined:
        plan = _without_declined(plan, no_ops, declined)

    remote_failed = bool(plan.remote_failures)
    written = False
    if options.mode == "write" and new_bytes and (not remote_failed or options.partial):
        # every file must still hold what was read: an edit made meanwhile is never lost
        read = {**by_path, **{d.path: d for d in dockerfiles}}
        write_all(new_bytes, expected={p: original_bytes(read[p]) for p in new_bytes})
        written = True

    originals = [(s.path, s.relpath, s.text) for s in sources]
    originals += [(d.path, d.relpath, d.text) for d in dockerfiles]
    labels = common.file_labels(files)
    labels.update(_dockerfile_labels(files, labels, dockerfiles))
    _report(options, plan, originals, new_bytes, written, labels)

    if remote_failed:
        return EXIT_REMOTE
    if plan.problems:
        return EXIT_FINDINGS
    if options.check and (plan.changes or plan.image_changes):
        return EXIT_FINDINGS
    return EXIT_OK


def _without_declined(plan: PinPlan, no_ops: set[Path], declined: list[Declined]) -> PinPlan:
    """The plan without the changes the rewrite could not make; each declined value becomes a
    problem on its line (the other files and lines are still written)."""
    from pinner.core.pin import PROBLEM, PinIssue
    from pinner.models import ImageSite, UsesSite

    refused = {(d.edit.site.path, d.edit.site.value_span) for d in declined}
    changes = tuple(
        c
        for c in plan.changes
        if c.site.path not in no_ops and (c.site.path, c.site.value_span) not in refused
    )
    image_changes = tuple(
        c
        for c in plan.image_changes
        if c.target.path not in no_ops
        and not (
            isinstance(c.target.site, ImageSite)
            and (c.target.site.path, c.target.site.value_span) in refused
        )
    )
    problems = tuple(
        PinIssue(
            PROBLEM,
            "not-rewritten",
            d.edit.site.relpath,
            d.edit.site.line,
            d.edit.site.value.raw if isinstance(d.edit.site, UsesSite) else d.edit.site.raw,
            f"not pinned: {d.reason}",
            d.edit.site.path,
        )
        for d in declined
    )
    return replace(
        plan, changes=changes, image_changes=image_changes, issues=(*plan.issues, *problems)
    )


async def _plan_images(
    sources: list[SourceFile],
    roots: dict[Path, Path],
    options: PinOptions,
    settings: Settings,
    forge: CachedForge,
    config: Config,
) -> tuple[ImagePlan, list[str], list[Dockerfile]]:
    """The image part of the run: in-repo Dockerfiles found, every image resolved/verified.

    Returns the image plan, notes about the run, and the Dockerfiles the plan may rewrite."""
    from pinner.core.images import ImagePlan, collect_dockerfiles, image_targets, plan_images
    from pinner.registry import open_registry

    dockerfiles, found_issues = collect_dockerfiles(
        sources, roots=roots, on_error="report" if options.skip_unreadable else "raise"
    )
    targets = image_targets(sources, dockerfiles)
    if not targets and not found_issues:
        return ImagePlan(), [], dockerfiles
    async with open_registry(settings, forge, config=options.registry_config) as registry:
        if registry is None:
            note = (
                f"{len(targets)} image reference(s) not checked: --snapshot serves no container "
                "registry (--no-images leaves images out)"
            )
            return ImagePlan(issues=tuple(found_issues)), [note], dockerfiles
        image_plan = await plan_images(targets, registry, config=config, extra_issues=found_issues)
    return image_plan, [], dockerfiles


def _dockerfile_labels(
    files: list[DiscoveredFile], labels: dict[Path, str], dockerfiles: list[Dockerfile]
) -> dict[Path, str]:
    """The repository label of each Dockerfile: the one of the repository it lies in."""
    roots = {f.root: labels.get(f.path, "") for f in files}
    out: dict[Path, str] = {}
    for dockerfile in dockerfiles:
        for root, label in roots.items():
            if root in dockerfile.path.parents:
                out[dockerfile.path] = label
                break
    return out


def _report(
    options: PinOptions,
    plan: PinPlan,
    originals: list[tuple[Path, str, str]],
    new_bytes: dict[Path, bytes],
    written: bool,
    labels: dict[Path, str],
) -> None:
    if options.output_format == "json":
        from pinner.formats import pin_json

        sys.stdout.write(pin_json.render(plan, mode=options.mode, written=written))
        sys.stdout.flush()
        return
    from pinner.formats import pin_diff, pin_text, style

    painted = options.painted
    out, err = pin_text.render(plan, labels, out_color=painted.stdout, err_color=painted.stderr)
    if options.diff:
        patch = "".join(
            pin_diff.rewrite_diff(labels.get(path, "") + relpath, text, new_bytes[path])
            for path, relpath, text in originals
            if path in new_bytes
        )
        sys.stdout.write(style.diff(patch, painted.stdout))
    else:
        for line in out:
            style.emit(line, color=painted.stdout)
    for line in err:
        style.emit(line, err=True, color=painted.stderr)
    if plan.remote_failures and not written and options.mode == "write":
        typer.echo(
            "pinner: remote failure: no file was written (use --partial to write the rest)",
            err=True,
        )
    typer.echo(pin_text.summary_line(plan, mode=options.mode, written=written), err=True)
