"""``pinner audit``: walk the whole action graph and report everything mutable in it.

Reads the repository (workflows and in-repo actions), walks every remote action and reusable
workflow they reach at the resolved commits (:mod:`pinner.core.walk`), runs the rules
(:mod:`pinner.rules`) and prints the result as a tree, JSON, SARIF or GitHub annotations.

Exit codes: 0 no finding at or above ``--min-severity``; 1 there is one; 2 usage, input or
config error; 3 remote failure (the graph is incomplete, so nothing is reported as clean).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pinner.commands import common
from pinner.commands.params import FastCommand
from pinner.core.graph_limits import GraphLimits
from pinner.errors import EXIT_FINDINGS, EXIT_OK, UsageError

if TYPE_CHECKING:  # the audit core is imported when the command runs
    from pinner.core.audit import AuditResult

FORMATS = ("text", "json", "sarif", "github")
LIMITS = common.LIMITS


def register(app: typer.Typer) -> None:
    app.command(
        "audit",
        cls=FastCommand,
        help=(
            "Audit the transitive action graph: every uses: in your workflows and, recursively, "
            "in the composite actions, reusable workflows and docker actions they run. Exit 1 "
            "when a finding at or above --min-severity exists."
        ),
    )(audit)


def list_rules() -> str:
    from pinner.rules.base import all_rules

    rules = all_rules()
    width = max(len(r) for r in rules)
    return "".join(
        f"{rule_id:<{width}}  {cls.severity.label:<13}  {cls.description}\n"
        for rule_id, cls in rules.items()
    )


Include = common.include_option("follow")
Output = common.output_option("the report")
Exclude = common.exclude_option("follow")
SkipUnreadable = common.skip_unreadable_option("audited")


@common.with_forge_options(jobs=16)
def audit(
    paths: common.Paths = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="text, json, sarif or github.")
    ] = "text",
    min_severity: Annotated[
        str | None,
        typer.Option(
            "--min-severity",
            metavar="LEVEL",
            help="Exit 1 for findings at or above: informational, low, medium (default), high.",
            show_default=False,
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            metavar="RULE",
            help="Ignore a rule everywhere (repeatable).",
            show_default=False,
        ),
    ] = None,
    include: Include = None,
    exclude: Exclude = None,
    budget: Annotated[
        int | None,
        typer.Option(
            "--verify-budget",
            "--budget",  # the name it had first; pin and lock say --verify-budget
            metavar="N",
            min=0,
            max=1000,
            help="Requests spent at most proving that a SHA pin no branch or tag points at is "
            "in the repository (default: no fixed cap; with a token every ref is compared, 50 "
            "to a GraphQL query; without one, until the anonymous API quota runs low).",
            show_default=False,
        ),
    ] = None,
    max_file_edges: common.MaxFileEdges = LIMITS.file_edges,
    max_file_nodes: common.MaxFileNodes = LIMITS.file_nodes,
    max_edges: common.MaxEdges = LIMITS.edges,
    max_nodes: common.MaxNodes = LIMITS.nodes,
    output: Output = None,
    config_file: common.ConfigFile = None,
    rules_only: Annotated[
        bool, typer.Option("--list-rules", help="List the rules and exit.")
    ] = False,
    tree: Annotated[
        bool | None,
        typer.Option(
            "--tree/--no-tree",
            help="Text output: print the graph of every reference as a tree (default: only "
            "when there are at most 5 causes of findings and the tree fits in 50 lines).",
            show_default=False,
        ),
    ] = None,
    skip_unreadable: SkipUnreadable = False,
    no_images: common.NoImages = False,
    registry_auth: common.RegistryAuth = None,
    *,
    forge_options: common.ForgeOptions,
) -> None:
    if rules_only:
        typer.echo(list_rules(), nl=False)
        raise typer.Exit(EXIT_OK)

    async def body() -> int:
        from contextlib import nullcontext

        from pinner.config import load_config
        from pinner.core.audit import AuditTarget, SkippedFile, audit_repositories
        from pinner.forge.factory import open_forge
        from pinner.registry import open_registry
        from pinner.rules.base import Severity, all_rules

        if output_format not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {output_format!r}")
        threshold = None
        if min_severity is not None:
            try:
                threshold = Severity.parse(min_severity)
            except ValueError as exc:
                raise UsageError(f"--min-severity: {exc}") from None
        known = all_rules()
        for rule in ignore or ():
            if rule not in known:
                raise UsageError(f"--ignore {rule!r}: unknown rule (see --list-rules)")
        common.check_output_files({"--output": output})  # before the walk, not after it
        paint = forge_options.paints_report(output)
        settings = forge_options.settings()
        credentials = common.registry_credentials(registry_auth, no_images=no_images)
        # several repositories may be audited together; each path must hold files to read
        found = common.discover_files(paths or [Path(".")])
        roots = common.repository_labels(found)
        # one configuration for the run: the first repository's (as pin and update do)
        config = load_config(found[0].root, explicit=config_file).merged(
            min_severity=threshold,
            include=common.compile_patterns(include, "--include"),
            exclude=common.compile_patterns(exclude, "--exclude"),
            ignore_rules=tuple(ignore or ()),
        )
        sources, unreadable = common.read_user_files(
            found, paths or [], verb="audits", skip_unreadable=skip_unreadable
        )
        by_path = {s.path: s for s in sources}
        repositories = [
            AuditTarget(
                tuple(by_path[f.path] for f in found if f.root == root and f.path in by_path),
                root,
                label,
            )
            for root, label in roots.items()
        ]
        label_of = {f.path: roots[f.root] for f in found}
        skipped = tuple(
            SkippedFile(f"{label_of.get(u.path, '')}{u.relpath}", u.line, u.reason)
            for u in unreadable
        )
        limits = GraphLimits(
            file_edges=max_file_edges, file_nodes=max_file_nodes, nodes=max_nodes, edges=max_edges
        )
        async with open_forge(settings) as forge:
            # --no-images: no registry at all (the audit then leaves images alone)
            registry = (
                nullcontext(None)
                if no_images
                else open_registry(settings, forge, config=credentials)
            )
            async with registry as images:
                result = await audit_repositories(
                    repositories,
                    forge,
                    config=config,
                    budget=budget,
                    limits=limits,
                    registry=images,
                    skipped=skipped,
                )
                images_seen = sum(1 for edge in result.graph.edges if edge.image)
                if images is None and not no_images and images_seen:
                    # --snapshot serves no registry: pin and update say so too
                    typer.echo(
                        f"pinner: note: {images_seen} image reference(s) not checked at a "
                        "registry: --snapshot serves none (unpinned-image is still reported; "
                        "--no-images leaves images out)",
                        err=True,
                    )
        for item in result.skipped:  # in every format: a file left out is never silent
            typer.echo(
                f"pinner: skipped {item.file}:{item.line}: not audited: {item.reason}", err=True
            )
        text = render(
            result, output_format, color=paint, tree=tree, server_url=settings.urls.server
        )
        if output is not None:
            from pinner.core.rewrite import write_all

            write_all({output: text.encode("utf-8")})  # whole or not at all, even on Ctrl-C
        else:
            typer.echo(text, nl=False, color=paint)  # click strips ANSI off-tty unless told
        return EXIT_FINDINGS if result.failing else EXIT_OK

    code = common.run(body)
    if code:
        raise typer.Exit(code)


def render(
    result: AuditResult,
    output_format: str,
    *,
    color: bool = False,
    tree: bool | None = None,
    server_url: str = "https://github.com",
) -> str:
    """The report in ``output_format`` (one of :data:`FORMATS`)."""
    if output_format == "json":
        from pinner.formats import audit_json

        return audit_json.render(result)
    if output_format == "sarif":
        from pinner.formats import sarif

        return sarif.render(result, server_url=server_url)
    if output_format == "github":
        from pinner.formats import audit_text, github

        return github.render(result.findings) + audit_text.summary_line(result) + "\n"
    from pinner.formats import audit_text

    return audit_text.render(result, color=color, tree=tree)
