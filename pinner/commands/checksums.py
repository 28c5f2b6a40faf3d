"""``pinner checksums``: a URL-to-sha256 manifest for the binaries actions download.

Flow: discover the user's files (:mod:`pinner.sources`), walk the action graph the audit walks
(:func:`pinner.core.walk.walk`), find downloads in it (:func:`pinner.core.checksums.discover`),
hash them as they stream (:func:`pinner.forge.download.fetch_hashed`), and write the manifest
(:mod:`pinner.core.manifest`). ``--verify`` re-downloads a manifest's entries instead.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from pinner.commands import common
from pinner.commands.params import FastCommand
from pinner.errors import EXIT_FINDINGS, EXIT_OK, EXIT_REMOTE, UsageError
from pinner.settings import Settings


def register(app: typer.Typer) -> None:
    app.command(
        "checksums",
        cls=FastCommand,
        help=(
            "Find the URLs actions download tools from (across the whole action graph), hash "
            "them as they stream, and write a URL-to-sha256 manifest. --verify FILE re-downloads "
            "every entry and exits 1 on any mismatch. Mutable URLs (latest, branches, curl | sh) "
            "are flagged; release assets are cross-checked against GitHub's recorded digest. "
            "Exit codes: 0 done; 1 verify mismatch or digest alarm; 2 usage or input error; "
            "3 a download or the forge failed."
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


@common.with_forge_options(jobs=8, offline=False)
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
            help="Re-download every entry of the manifest FILE; exit 1 on any mismatch.",
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
        typer.Option("--timeout", min=1.0, metavar="SECONDS", help="Time allowed per download."),
    ] = 300.0,
    *,
    forge_options: common.ForgeOptions,
) -> None:
    def body():  # type: ignore[no-untyped-def]
        settings = forge_options.settings()
        if verify is not None and (paths or url or release or write):
            raise UsageError("--verify FILE re-checks a manifest; give it alone")
        request = ChecksumsRequest(
            paths=tuple(paths or ()),
            urls=tuple(url or ()),
            releases=tuple(release or ()),
            write=write,
            verify=verify,
            max_bytes=max_size * 1024 * 1024,
            timeout=timeout,
            color=forge_options.use_color(sys.stderr),
        )
        return run_checksums(settings, request)

    code = common.run(body)
    if code:
        raise typer.Exit(code)


async def run_checksums(settings: Settings, request: ChecksumsRequest) -> int:
    from pinner.core import checksums as core
    from pinner.core.manifest import FoundIn, Manifest, group_by_url, load_manifest
    from pinner.core.rewrite import write_all
    from pinner.forge.download import fetch_hashed
    from pinner.forge.factory import open_forge
    from pinner.forge.http import Transport
    from pinner.formats import checksums_text

    for u in request.urls:
        if not u.startswith(("https://", "http://")):
            raise UsageError(f"--url {u!r}: not an http(s) URL")

    async with Transport(settings) as transport:

        async def fetch(u: str):  # type: ignore[no-untyped-def]
            return await fetch_hashed(
                u, max_bytes=request.max_bytes, timeout=request.timeout, transport=transport
            )

        if request.verify is not None:
            manifest = load_manifest(request.verify)
            outcome = await core.verify_entries(manifest.entries, fetch=fetch)
            sys.stderr.write(checksums_text.verify_report(outcome, color=request.color))
            if outcome.mismatches:
                return EXIT_FINDINGS
            return EXIT_REMOTE if outcome.failures else EXIT_OK

        sites: list[core.DownloadSite] = []
        notes: tuple[str, ...] = ()
        extra: list[tuple[str, FoundIn]] = []
        digests: dict[str, str | None] = {}
        async with open_forge(settings) as forge:
            if request.paths or not (request.urls or request.releases):
                discovery = await _discover(list(request.paths) or [Path(".")], forge)
                sites.extend(discovery.sites)
                notes = discovery.notes
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

    manifest = Manifest(outcome.entries)
    text = manifest.to_text()
    if request.write is not None:
        write_all({request.write.resolve(): text.encode("utf-8")})
    else:
        sys.stdout.write(text)
    sys.stderr.write(
        checksums_text.report(
            entries=outcome.entries,
            templates=templates,
            failures=outcome.failures,
            alarms=outcome.alarms,
            notes=notes,
            color=request.color,
        )
    )
    if outcome.alarms:
        return EXIT_FINDINGS
    return EXIT_REMOTE if outcome.failures else EXIT_OK


async def _discover(targets: list[Path], forge):  # type: ignore[no-untyped-def]
    from pinner.core.checksums import discover as discover_downloads
    from pinner.core.walk import walk

    found, root = common.discover_one_repository(targets, command="checksums")
    sources, _ = common.read_user_files(found, targets)
    graph = await walk(sources, forge, root=root, verify=False)
    return await discover_downloads(graph, forge, {s.relpath: s.text for s in sources})


def _server_hosts(settings: Settings) -> set[str]:
    from urllib.parse import urlsplit

    return {urlsplit(settings.urls.server).netloc.lower()}
