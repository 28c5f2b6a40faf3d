"""``pinner checksums``: a URL-to-sha256 manifest for the binaries actions download.

Flow: discover the user's files (:mod:`pinner.sources`), walk the action graph the audit walks
(:func:`pinner.core.walk.walk`), find downloads in it (:func:`pinner.core.checksums.discover`),
hash them as they stream (:class:`pinner.forge.download.Downloader`), and write the manifest
(:mod:`pinner.core.manifest`), only when it is complete. ``--verify`` re-downloads a
manifest's entries instead, and with PATHs checks that it covers every download found there.
Where the walk stopped short (a reference it cannot follow, a ``--max-*`` bound that cut the
graph) is said on its line: a manifest is only as complete as the walk it comes from.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pinner.commands import common
from pinner.commands.params import FastCommand
from pinner.core.graph_limits import GraphLimits
from pinner.errors import EXIT_FINDINGS, EXIT_OK, EXIT_REMOTE, RemoteError, UsageError
from pinner.settings import Settings

if TYPE_CHECKING:  # the download stack is imported when the command runs
    from pinner.core.checksums import Discovery
    from pinner.forge.base import Forge
    from pinner.forge.download import Download

Fetch = Callable[[str], Awaitable["Download"]]


def register(app: typer.Typer) -> None:
    app.command(
        "checksums",
        cls=FastCommand,
        help=(
            "Find the URLs actions download tools from (across the whole action graph), hash "
            "them as they stream, and write a URL-to-sha256 manifest (--write FILE: only a "
            "complete one). --verify FILE re-downloads every entry and exits 1 on any mismatch; "
            "with PATHs also on a download found there that FILE lacks. Mutable URLs (latest, "
            "branches, curl | sh) are flagged; release assets are cross-checked against "
            "GitHub's recorded digest. Exit codes: 0 done; 1 verify mismatch, missing entry, "
            "digest alarm, a uses: of yours the walk cannot follow, or a walk cut by a --max-* "
            "limit (then nothing is written); 2 usage or input error; 3 a download or the forge "
            "failed."
        ),
    )(checksums)


@dataclass(frozen=True, slots=True)
class ChecksumsRequest:
    paths: tuple[Path, ...]
    urls: tuple[str, ...]
    releases: tuple[str, ...]
    write: Path | None
    verify: Path | None
    max_bytes: int
    timeout: float
    color: bool
    limits: GraphLimits = field(default_factory=GraphLimits)


@common.with_forge_options(jobs=8)
def checksums(
    paths: common.Paths = None,
    write: Annotated[
        Path | None,
        typer.Option(
            "--write",
            "-w",
            metavar="FILE",
            dir_okay=False,
            help="Write the manifest to FILE (default: print it on stdout).",
            show_default=False,
        ),
    ] = None,
    verify: Annotated[
        Path | None,
        typer.Option(
            "--verify",
            metavar="FILE",
            dir_okay=False,
            help="Re-download every entry of the manifest FILE; exit 1 on any mismatch. With "
            "PATHs, also exit 1 when a download found there is missing from FILE.",
            show_default=False,
        ),
    ] = None,
    url: Annotated[
        list[str] | None,
        typer.Option(
            "--url",
            metavar="URL",
            help="Hash this URL too (repeatable). Without PATHs, only the listed URLs and "
            "releases are hashed: the maintainer workflow.",
            show_default=False,
        ),
    ] = None,
    release: Annotated[
        list[str] | None,
        typer.Option(
            "--release",
            metavar="OWNER/REPO@TAG",
            help="Hash every asset of this release (repeatable).",
            show_default=False,
        ),
    ] = None,
    max_size: Annotated[
        int, typer.Option("--max-size", min=1, metavar="MIB", help="Largest download, in MiB.")
    ] = 512,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=1.0,
            metavar="SECONDS",
            help="Time allowed per download (from its start: waiting for a free connection "
            "does not count).",
        ),
    ] = 300.0,
    max_file_edges: common.MaxFileEdges = common.LIMITS.file_edges,
    max_file_nodes: common.MaxFileNodes = common.LIMITS.file_nodes,
    max_edges: common.MaxEdges = common.LIMITS.edges,
    max_nodes: common.MaxNodes = common.LIMITS.nodes,
    *,
    forge_options: common.ForgeOptions,
) -> None:
    def body() -> Coroutine[Any, Any, int]:
        settings = forge_options.settings()
        if verify is not None and (url or release or write):
            raise UsageError(
                "--verify FILE re-checks a manifest; it takes no --url, --release or --write"
            )
        common.check_output_files({"--write": write})  # before the downloads, not after
        request = ChecksumsRequest(
            paths=tuple(paths or ()),
            urls=tuple(url or ()),
            releases=tuple(release or ()),
            write=write,
            verify=verify,
            max_bytes=max_size * 1024 * 1024,
            timeout=timeout,
            color=forge_options.use_color(sys.stderr),
            limits=GraphLimits(
                file_edges=max_file_edges,
                file_nodes=max_file_nodes,
                nodes=max_nodes,
                edges=max_edges,
            ),
        )
        return run_checksums(settings, request)

    code = common.run(body)
    if code:
        raise typer.Exit(code)


async def run_checksums(settings: Settings, request: ChecksumsRequest) -> int:
    from pinner.forge.download import Downloader
    from pinner.forge.http import Transport

    for u in request.urls:
        if not u.startswith(("https://", "http://")):
            raise UsageError(f"--url {u!r}: not an http(s) URL")

    async with Transport(settings) as transport:
        downloader = Downloader(transport, max_bytes=request.max_bytes, timeout=request.timeout)
        fetch: Fetch = downloader.fetch
        if settings.offline:
            fetch = _offline_download
        elif settings.snapshot_dirs:
            fetch = _snapshot_download
        if request.verify is not None:
            return await _verify(settings, request, request.verify, fetch)
        return await _hash(settings, request, fetch)


async def _offline_download(url: str) -> Download:
    """``--offline``: the forge answers from the cache, but downloads are never cached."""
    raise RemoteError("not downloaded: --offline (downloads are never cached)")


async def _snapshot_download(url: str) -> Download:
    """``--snapshot``: the walk reads the snapshot, and the run makes no request at all (an
    air-gapped machine must not find itself reaching for the internet)."""
    raise RemoteError("not downloaded: --snapshot makes no request (hash it with --server-url)")


async def _verify(settings: Settings, request: ChecksumsRequest, path: Path, fetch: Fetch) -> int:
    """``--verify FILE``: every entry downloaded again; with PATHs, every download found there
    must be in the manifest too."""
    from pinner.core import checksums as core
    from pinner.core.manifest import load_manifest
    from pinner.forge.factory import open_forge
    from pinner.formats import checksums_text

    manifest = load_manifest(path)
    coverage = None
    discovery = core.Discovery((), ())
    if request.paths:
        async with open_forge(settings) as forge:
            discovery = await _discover(list(request.paths), forge, request.limits)
        coverage = core.coverage(manifest, discovery.sites)
    outcome = await core.verify_entries(manifest.entries, fetch=fetch)
    sys.stderr.write(
        checksums_text.verify_report(
            outcome,
            coverage,
            color=request.color,
            unwalked=discovery.unwalked,
            cut=discovery.cut,
        )
    )
    if outcome.mismatches or (coverage is not None and coverage.missing):
        return EXIT_FINDINGS
    if outcome.failures:
        return EXIT_REMOTE
    return _walk_verdict(discovery)


def _walk_verdict(discovery: Discovery) -> int:
    """Exit 1 when the walk stopped short in a way the user must act on: a problem on one of
    their lines, or a limit that cut the graph (what lies beyond was never looked at, so no
    manifest built or checked from it is the whole truth)."""
    return EXIT_FINDINGS if discovery.problems or discovery.cut else EXIT_OK


async def _hash(settings: Settings, request: ChecksumsRequest, fetch: Fetch) -> int:
    """Discover (or take the listed URLs and releases), hash, and write the manifest."""
    from pinner.core import checksums as core
    from pinner.core.manifest import FoundIn, Manifest, group_by_url
    from pinner.core.rewrite import write_all
    from pinner.forge.factory import open_forge
    from pinner.formats import checksums_text

    sites: list[core.DownloadSite] = []
    discovery = core.Discovery((), ())
    extra: list[tuple[str, FoundIn]] = []
    digests: dict[str, str | None] = {}
    async with open_forge(settings) as forge:
        if request.paths or not (request.urls or request.releases):
            discovery = await _discover(list(request.paths) or [Path(".")], forge, request.limits)
            sites.extend(discovery.sites)
        for spec in request.releases:
            for asset_url, digest in await core.release_assets(forge, spec):
                extra.append((asset_url, FoundIn(f"release {spec}", "", 0)))
                digests[asset_url] = digest
        extra.extend((u, FoundIn("--url", "", 0)) for u in request.urls)

        concrete = [s for s in sites if s.url is not None]
        templates = sorted(
            (s for s in sites if s.url is None),
            key=lambda s: (s.origin, s.file, s.line, s.template),
        )
        places = group_by_url(
            [(s.url, FoundIn(s.origin, s.file, s.line)) for s in concrete if s.url] + extra
        )
        by_url: dict[str, list[core.DownloadSite]] = {}
        for s in concrete:
            by_url.setdefault(s.url or "", []).append(s)
        # Concrete URLs pinner may not fetch (http to a public host, odd schemes) are
        # reported with the failures instead of silently dropped.
        outcome = await core.hash_urls(
            places,
            by_url,
            fetch=fetch,
            forge=forge,
            server_hosts=_server_hosts(settings),
            known_digests=digests,
        )

    text = Manifest(outcome.entries).to_text()
    # A manifest missing an entry (a failed download, or a walk a limit cut short), or
    # recording bytes GitHub's digest disagrees with, must never replace one that was good:
    # --write writes only a complete, unalarming manifest.
    incomplete = bool(outcome.failures or outcome.alarms or discovery.cut)
    withheld = incomplete and request.write is not None
    if request.write is None:
        sys.stdout.write(text)
    elif not withheld:
        write_all({request.write: text.encode("utf-8")})
    sys.stderr.write(
        checksums_text.report(
            entries=outcome.entries,
            templates=templates,
            failures=outcome.failures,
            alarms=outcome.alarms,
            notes=discovery.notes,
            color=request.color,
            unwalked=discovery.unwalked,
            cut=discovery.cut,
        )
    )
    if withheld:
        sys.stderr.write(checksums_text.withheld(request.write, outcome, discovery.cut))
    if outcome.alarms:
        return EXIT_FINDINGS
    return EXIT_REMOTE if outcome.failures else _walk_verdict(discovery)


async def _discover(targets: list[Path], forge: Forge, limits: GraphLimits) -> Discovery:
    from pinner.core.checksums import discover as discover_downloads
    from pinner.core.walk import walk

    found, root = common.discover_one_repository(targets, command="checksums")
    sources, _ = common.read_user_files(found, targets)
    graph = await walk(sources, forge, root=root, verify=False, limits=limits)
    return await discover_downloads(graph, forge, {s.relpath: s.text for s in sources})


def _server_hosts(settings: Settings) -> set[str]:
    from urllib.parse import urlsplit

    return {urlsplit(settings.urls.server).netloc.lower()}
