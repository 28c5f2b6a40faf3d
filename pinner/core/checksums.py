"""``pinner checksums``: find every binary the action graph downloads and pin it by sha256.

Discovery rides on the audit's walk (:mod:`pinner.core.walk`): every node of the graph is a
file we already fetched at an immutable commit. For each one we look where actions keep their
downloads:

- ``run:`` scripts of composite actions, reusable workflows and the user's own workflows;
- scripts shipped in the action's directory that a ``run:`` invokes
  (``${{ github.action_path }}/install.sh``, ``$GITHUB_ACTION_PATH/x.ps1``);
- the Dockerfile of a docker action (``ADD https://...``, ``RUN curl ...``);
- the main script of a JavaScript action (a bounded literal scan: best effort, and said so).

``${{ inputs.x }}`` is substituted per caller: the ``with:`` of the step that uses the action,
else the input's default, so two callers passing different versions give two concrete URLs.
"""

from __future__ import annotations

import asyncio
import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pinner.core.downloads import DownloadSite, ScriptText, classify, scan_script, substitute
from pinner.core.manifest import FoundIn, Manifest, ManifestEntry
from pinner.errors import FatalRemoteError, InputError, NotFoundError, RemoteError
from pinner.sources.yamlsafe import MappingNode, Node, ScalarNode, SequenceNode, compose

if TYPE_CHECKING:
    from pinner.core.walk import Edge, Graph
    from pinner.core.walk import Node as GraphNode
    from pinner.forge.base import Forge

MAX_METADATA_BYTES = 2 * 1024 * 1024
MAX_SCRIPT_BYTES = 2 * 1024 * 1024
SCRIPT_EXTENSIONS = {".sh": "sh", ".bash": "sh", ".ps1": "ps1", ".py": "py"}

# A script in the action's own directory, invoked from a run: block.
_ACTION_PATH_SCRIPT = re.compile(
    r"""(?:\$\{\{\s*github\.action_path\s*\}\}|\$\{?GITHUB_ACTION_PATH\}?|\$env:GITHUB_ACTION_PATH)"""
    r"""[/\\](?P<path>[\w./\\-]+\.(?:sh|bash|ps1|py))"""
)


@dataclass(frozen=True, slots=True)
class RunBlock:
    """One ``run:`` script with what its step knows: shell, env, and where it starts."""

    text: str
    first_line: int
    shell: str | None
    env: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Unwalked:
    """A reference the walk did not follow: nothing behind it was searched for downloads.

    In the user's files (``origin`` ``"."``) a value outside the grammar, a repository or ref
    that does not exist, a local action that cannot be read is a ``problem`` on its line, as
    ``pin`` and ``audit`` report it (the runner refuses it too, so nothing it would run is
    missing from the manifest); an expression is a warning (what it names is only known at run
    time). In a remote file it is a warning: the action is broken or opaque for every caller.
    """

    origin: str  # "." for the user's files, else the node id of the file holding it
    file: str
    line: int | None
    reason: str
    problem: bool


@dataclass(frozen=True, slots=True)
class Cut:
    """A remote file a :class:`~pinner.core.graph_limits.GraphLimits` bound cut: part of what
    it references was not read, so the manifest lacks whatever that part downloads."""

    node: str  # owner/repo[/path]@commit
    reason: str  # what was left out, and the flag that raises the limit


@dataclass(frozen=True, slots=True)
class Discovery:
    """What discovery found, and what it could not look into (said in the output)."""

    sites: tuple[DownloadSite, ...]
    notes: tuple[str, ...]
    unwalked: tuple[Unwalked, ...] = ()
    cut: tuple[Cut, ...] = ()

    @property
    def problems(self) -> tuple[Unwalked, ...]:
        return tuple(u for u in self.unwalked if u.problem)


def walk_gaps(graph: Graph) -> tuple[tuple[Unwalked, ...], tuple[Cut, ...]]:
    """Where the walk of ``graph`` stopped short: every reference it could not follow, and every
    file a limit cut. Nothing is silent: a manifest is only as complete as the walk it was
    built from."""
    from pinner.models import UsesKind

    unwalked: set[Unwalked] = set()
    for edge in graph.edges:
        if edge.depth_exceeded or edge.cycle:
            continue  # the runner stops there too: nothing below it runs
        origin = "." if edge.local else edge.parent
        if edge.value is not None and edge.value.kind is UsesKind.EXPRESSION:
            reason = f"{edge.uses}: an expression (${{{{ }}}}) names what runs only at run time"
            unwalked.add(Unwalked(origin, edge.file, edge.line, reason, problem=False))
            continue
        reason = edge.error
        if reason is None and edge.child is not None:
            node = graph.nodes.get(edge.child)
            if node is not None and node.error is not None:
                reason = f"{edge.uses}: {node.error}"
        if reason is not None:
            unwalked.add(Unwalked(origin, edge.file, edge.line, reason, problem=edge.local))
    cut = tuple(
        Cut(node.id, node.limit)
        for node in sorted(graph.nodes.values(), key=lambda n: n.id)
        if node.limit is not None
    )
    ordered = sorted(unwalked, key=lambda u: (u.origin != ".", u.origin, u.file, u.line or 0))
    return tuple(ordered), cut


def load_positions(text: str) -> Node | None:
    """Parse YAML with pinner's guards, keeping positions; None for anything unusable.

    Discovery reads third-party files: a file we cannot parse is noted and skipped, never fatal.
    """
    if len(text) > MAX_METADATA_BYTES:
        return None
    try:
        return compose(text, source="<download discovery>")
    except InputError:
        return None


def _key(node: Node | None, key: str) -> Node | None:
    return node.get(key) if isinstance(node, MappingNode) else None


def _text(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def _items(node: Node | None) -> list[Node]:
    return node.items if isinstance(node, SequenceNode) else []


def _values(node: Node | None) -> list[Node]:
    return [v for _, v in node.pairs] if isinstance(node, MappingNode) else []


def _str_map(node: Node | None) -> dict[str, str]:
    if not isinstance(node, MappingNode):
        return {}
    found: dict[str, str] = {}
    for k, v in node.pairs:
        key, value = _text(k), _text(v)
        if key is not None and value is not None:
            found[key] = value
    return found


def _steps_of(doc: Node | None) -> Iterable[tuple[MappingNode, Mapping[str, str], str | None]]:
    """Every step of an action (runs.steps) or workflow (jobs.*.steps), with the env and
    default shell it inherits."""
    top_env = _str_map(_key(doc, "env"))
    for step in _items(_key(_key(doc, "runs"), "steps")):
        if isinstance(step, MappingNode):
            yield step, top_env, None
    default_shell = _text(_key(_key(_key(doc, "defaults"), "run"), "shell"))
    for job in _values(_key(doc, "jobs")):
        env = {**top_env, **_str_map(_key(job, "env"))}
        shell = _text(_key(_key(_key(job, "defaults"), "run"), "shell")) or default_shell
        for step in _items(_key(job, "steps")):
            if isinstance(step, MappingNode):
                yield step, env, shell


def run_blocks(doc: Node | None) -> list[RunBlock]:
    """Every ``run:`` script in a parsed action or workflow, with its first line (1-based)."""
    blocks: list[RunBlock] = []
    for step, env, default_shell in _steps_of(doc):
        run = _key(step, "run")
        if not isinstance(run, ScalarNode):
            continue
        # Block scalars (| and >) start on the line after the indicator.
        first = run.line + 1 if run.style in ("|", ">") else run.line
        blocks.append(
            RunBlock(
                text=run.value,
                first_line=first,
                shell=_text(_key(step, "shell")) or default_shell,
                env={**env, **_str_map(_key(step, "env"))},
            )
        )
    return blocks


def input_defaults(doc: Node | None) -> dict[str, str]:
    """``inputs.<name>.default`` of an action (or ``on.workflow_call.inputs`` of a workflow)."""
    inputs = _key(doc, "inputs") or _key(_key(_key(doc, "on"), "workflow_call"), "inputs")
    found: dict[str, str] = {}
    if isinstance(inputs, MappingNode):
        for k, spec in inputs.pairs:
            name, default = _text(k), _text(_key(spec, "default"))
            if name is not None and default is not None and "${{" not in default:
                found[name] = default
    return found


def caller_with(doc: Node | None, line: int | None) -> dict[str, str]:
    """The literal ``with:`` values of the step or job whose ``uses:`` sits on ``line``."""
    if line is None:
        return {}
    candidates: list[Node] = [step for step, _, _ in _steps_of(doc)]
    candidates.extend(_values(_key(doc, "jobs")))
    for node in candidates:
        uses = _key(node, "uses")
        if uses is not None and uses.line == line:
            return {k: v for k, v in _str_map(_key(node, "with")).items() if "${{" not in v}
    return {}


@dataclass(frozen=True, slots=True)
class ScriptCall:
    """A script in the action's directory that a run block executes, with its arguments."""

    path: str  # repository path of the script
    args: tuple[str, ...]  # words after the script on that line, quotes removed
    env: Mapping[str, str]  # the step's env: the script inherits it


def scripts_invoked(blocks: Sequence[RunBlock], action_dir: str) -> list[ScriptCall]:
    """Scripts in the action's directory that its run blocks execute, in order, once each
    (the first call's arguments win: they feed ``$1``... substitution)."""
    calls: dict[str, ScriptCall] = {}
    for block in blocks:
        for line in block.text.splitlines():
            for m in _ACTION_PATH_SCRIPT.finditer(line):
                rel = m.group("path").replace("\\", "/")
                full = posixpath.normpath(posixpath.join(action_dir or ".", rel))
                if full.startswith("../") or full == ".." or full in calls:
                    continue
                rest = line[m.end() :].lstrip("\"'")
                calls[full] = ScriptCall(full, _shell_words(rest), block.env)
    return list(calls.values())


def _shell_words(text: str) -> tuple[str, ...]:
    """Arguments up to the end of the simple command (``;``, ``&&``, ``|``, a comment)."""
    text = re.split(r"\s(?:;|&&|\|\||\||#)\s?", " " + text, maxsplit=1)[0]
    try:
        words = shlex.split(text, comments=False, posix=True)
    except ValueError:
        return ()
    return tuple(w for w in words if not w.startswith((">", "<", "2>")))


def scan_blocks(
    blocks: Sequence[RunBlock], *, origin: str, file: str, inputs: Mapping[str, str]
) -> list[DownloadSite]:
    sites: list[DownloadSite] = []
    for block in blocks:
        sites.extend(
            scan_script(
                ScriptText(block.text, "run", file, first_line=block.first_line, shell=block.shell),
                origin=origin,
                inputs=inputs,
                env=block.env,
            )
        )
    return sites


async def discover(
    graph: Graph, forge: Forge, local_texts: Mapping[str, str], *, scan_javascript: bool = True
) -> Discovery:
    """Every download in the graph of an audit walk.

    ``graph`` is a :class:`pinner.core.walk.Graph`; ``local_texts`` maps the user's files
    (repository-relative paths) to their text. Remote files come from ``forge`` at the node's
    commit, so they are the cached bytes the walk already fetched.
    """
    sites: list[DownloadSite] = []
    notes: list[str] = []

    # The user's own workflows and actions: their run: blocks, with their own input defaults.
    for relpath, text in sorted(local_texts.items()):
        doc = load_positions(text)
        if doc is None:
            continue
        sites.extend(
            scan_blocks(run_blocks(doc), origin=".", file=relpath, inputs=input_defaults(doc))
        )

    # Remote nodes, each expanded once per distinct set of caller inputs.
    parents_docs: dict[str, Any] = {}
    callers_of: dict[str, list[Edge]] = {}  # node id -> the edges that reach it
    for edge in graph.edges:
        if edge.child is not None:
            callers_of.setdefault(edge.child, []).append(edge)

    async def parent_doc(edge: Edge) -> Any:
        node = graph.nodes.get(edge.parent)
        if node is None:
            return None
        if edge.parent in parents_docs:
            return parents_docs[edge.parent]
        text: str | None
        if node.local:
            text = local_texts.get(edge.file)
        else:
            raw = await _fetch(forge, node.repo, node.commit, edge.file)
            text = raw.decode("utf-8", "replace") if raw is not None else None
        doc = load_positions(text) if text is not None else None
        parents_docs[edge.parent] = doc
        return doc

    async def expand(node: GraphNode) -> None:
        if node.local or node.kind not in ("action", "reusable-workflow") or node.commit is None:
            return
        if node.error or not node.file:
            return
        origin = node.id
        raw = await _fetch(forge, node.repo, node.commit, node.file)
        if raw is None:
            return
        text = raw.decode("utf-8", "replace")
        if posixpath.basename(node.file) == "Dockerfile":  # a docker action without action.yml
            sites.extend(scan_script(ScriptText(text, "dockerfile", node.file), origin=origin))
            return
        doc = load_positions(text)
        if doc is None:
            notes.append(f"{origin}: {node.file} is not valid YAML; not scanned")
            return
        defaults = input_defaults(doc)
        input_sets: list[dict[str, str]] = []
        for edge in callers_of.get(node.id, ()):
            values = {**defaults, **caller_with(await parent_doc(edge), edge.line)}
            if values not in input_sets:
                input_sets.append(values)
        if not input_sets:
            input_sets.append(defaults)
        blocks = run_blocks(doc)
        action_dir = posixpath.dirname(node.file)
        for inputs in input_sets:
            sites.extend(scan_blocks(blocks, origin=origin, file=node.file, inputs=inputs))
        for call in scripts_invoked(blocks, action_dir):
            ext = posixpath.splitext(call.path)[1].lower()
            script = await _fetch(forge, node.repo, node.commit, call.path)
            if script is None:
                notes.append(f"{origin}: script {call.path} not found at that commit")
                continue
            for inputs in input_sets:
                # $1, $2... are the words after the script on the run line, inputs substituted.
                positional = {
                    str(i): value
                    for i, arg in enumerate(call.args, start=1)
                    if (value := substitute(arg, inputs=inputs, variables=call.env)[0])
                }
                sites.extend(
                    scan_script(
                        ScriptText(
                            script.decode("utf-8", "replace"),
                            SCRIPT_EXTENSIONS.get(ext, "sh"),
                            call.path,
                        ),
                        origin=origin,
                        inputs=inputs,
                        env={**call.env, **positional},
                    )
                )
        runs = _key(doc, "runs")
        using = _text(_key(runs, "using")) or ""
        image = _text(_key(runs, "image"))
        main_script = _text(_key(runs, "main"))
        if runs is not None:
            if using == "docker" and image is not None:
                if not image.startswith("docker://"):
                    path = posixpath.normpath(posixpath.join(action_dir or ".", image))
                    dockerfile = await _fetch(forge, node.repo, node.commit, path)
                    if dockerfile is not None:
                        sites.extend(
                            scan_script(
                                ScriptText(
                                    dockerfile.decode("utf-8", "replace"), "dockerfile", path
                                ),
                                origin=origin,
                            )
                        )
            elif scan_javascript and using.startswith("node") and main_script is not None:
                path = posixpath.normpath(posixpath.join(action_dir or ".", main_script))
                try:
                    main = await _fetch(forge, node.repo, node.commit, path)
                except FatalRemoteError:
                    raise  # the forge is down or the run out of time: ends the run
                except RemoteError:
                    main = None
                    notes.append(f"{origin}: {path} could not be fetched; JavaScript not scanned")
                if main is not None:
                    found = scan_script(
                        ScriptText(main.decode("utf-8", "replace"), "js", path), origin=origin
                    )
                    sites.extend(found)
                    notes.append(
                        f"{origin}: {path} scanned for literal download URLs (best effort: "
                        "JavaScript builds URLs at run time)"
                    )

    await asyncio.gather(*(expand(n) for n in graph.nodes.values()))
    unique = sorted(set(sites), key=lambda s: (s.origin, s.file, s.line, s.template, s.url or ""))
    unwalked, cut = walk_gaps(graph)
    return Discovery(
        sites=tuple(unique), notes=tuple(sorted(set(notes))), unwalked=unwalked, cut=cut
    )


async def _fetch(forge: Any, repo: str | None, commit: str | None, path: str) -> bytes | None:
    if repo is None or commit is None:
        return None
    try:
        return await forge.get_file(repo, commit, path)
    except NotFoundError:
        return None


# ----------------------------------------------------------------------------- hashing


@dataclass(frozen=True, slots=True)
class HashFailure:
    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class DigestAlarm:
    """GitHub's recorded digest of a release asset disagrees with the bytes served."""

    url: str
    expected: str  # "sha256:..." from the release API
    actual: str


_RELEASE_ASSET = re.compile(
    r"^https?://[^/]+/(?P<owner>[^/]+)/(?P<repo>[^/]+)/releases/download/(?P<tag>[^/]+)/(?P<name>[^/?#]+)$"
)


def release_asset_of(url: str, server_hosts: Iterable[str]) -> tuple[str, str, str] | None:
    """``(owner/repo, tag, asset name)`` when ``url`` is a release download on our forge."""
    m = _RELEASE_ASSET.match(url)
    if not m:
        return None
    host = re.match(r"^https?://([^/]+)/", url)
    if not host or host.group(1).lower() not in {h.lower() for h in server_hosts}:
        return None
    return f"{m.group('owner')}/{m.group('repo')}", m.group("tag"), m.group("name")


async def release_digest(forge: Any, repo: str, tag: str, name: str) -> str | None:
    """GitHub's ``digest`` of a release asset, or None when the release or asset has none."""
    try:
        releases = await forge.list_releases(repo)
    except NotFoundError:
        return None
    for release in releases:
        if release.tag_name == tag:
            for asset in release.assets:
                if asset.name == name:
                    return asset.digest
    return None


def entry_for(
    url: str,
    *,
    sha256: str,
    size: int,
    places: Sequence[FoundIn],
    sites: Sequence[DownloadSite],
    digest: str | None,
) -> ManifestEntry:
    reasons: list[str] = []
    for s in sites:
        for r in s.mutability.reasons:
            if r not in reasons:
                reasons.append(r)
    if not sites:
        reasons = list(classify(url).reasons)
    return ManifestEntry(
        url=url,
        sha256=sha256,
        size=size,
        mutable=bool(reasons),
        mutable_reasons=tuple(reasons),
        release_digest=digest,
        found_in=tuple(sorted(set(places))),
    )


@dataclass(frozen=True, slots=True)
class HashOutcome:
    """Everything hashing learnt: manifest entries, and what went wrong where."""

    entries: tuple[ManifestEntry, ...]
    failures: tuple[HashFailure, ...]
    alarms: tuple[DigestAlarm, ...]


async def hash_urls(
    places: Mapping[str, Sequence[FoundIn]],
    sites: Mapping[str, Sequence[DownloadSite]],
    *,
    fetch: Any,
    forge: Any,
    server_hosts: Iterable[str],
    known_digests: Mapping[str, str | None] | None = None,
) -> HashOutcome:
    """Download and hash every URL concurrently (the transport bounds real concurrency).

    ``fetch(url)`` returns a :class:`pinner.forge.download.Download`. For release assets on our
    forge, GitHub's recorded ``digest`` is read and compared with the bytes: a disagreement is
    an alarm (the asset was swapped after GitHub hashed it, or the download was tampered with).
    """
    hosts = tuple(server_hosts)
    digests = dict(known_digests or {})

    async def one(url: str) -> ManifestEntry | HashFailure | tuple[ManifestEntry, DigestAlarm]:
        try:
            download = await fetch(url)
        except FatalRemoteError:
            raise  # the forge is down or the run out of time: ends the run
        except RemoteError as exc:
            return HashFailure(url, str(exc))
        digest = digests.get(url)
        if url not in digests:
            asset = release_asset_of(url, hosts)
            if asset is not None:
                try:
                    digest = await release_digest(forge, *asset)
                except FatalRemoteError:
                    raise  # the forge is down or the run out of time: ends the run
                except RemoteError:
                    digest = None
        entry = entry_for(
            url,
            sha256=download.sha256,
            size=download.size,
            places=places.get(url, ()),
            sites=sites.get(url, ()),
            digest=digest,
        )
        if digest and digest.lower() != f"sha256:{download.sha256}":
            return entry, DigestAlarm(url, digest, f"sha256:{download.sha256}")
        return entry

    results = await asyncio.gather(*(one(u) for u in sorted(places)))
    entries: list[ManifestEntry] = []
    failures: list[HashFailure] = []
    alarms: list[DigestAlarm] = []
    for r in results:
        if isinstance(r, HashFailure):
            failures.append(r)
        elif isinstance(r, tuple):
            entries.append(r[0])
            alarms.append(r[1])
        else:
            entries.append(r)
    return HashOutcome(tuple(entries), tuple(failures), tuple(alarms))


@dataclass(frozen=True, slots=True)
class Mismatch:
    url: str
    expected_sha256: str
    actual_sha256: str
    expected_size: int
    actual_size: int


@dataclass(frozen=True, slots=True)
class VerifyOutcome:
    checked: int
    mismatches: tuple[Mismatch, ...]
    failures: tuple[HashFailure, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.failures


async def verify_entries(entries: Sequence[ManifestEntry], *, fetch: Any) -> VerifyOutcome:
    """Re-download every manifest entry and compare hash and size."""

    async def one(entry: ManifestEntry) -> Mismatch | HashFailure | None:
        try:
            download = await fetch(entry.url)
        except FatalRemoteError:
            raise  # the forge is down or the run out of time: ends the run
        except RemoteError as exc:
            return HashFailure(entry.url, str(exc))
        if download.sha256 != entry.sha256 or download.size != entry.size:
            return Mismatch(entry.url, entry.sha256, download.sha256, entry.size, download.size)
        return None

    results = await asyncio.gather(*(one(e) for e in sorted(entries, key=lambda e: e.url)))
    return VerifyOutcome(
        checked=len(entries),
        mismatches=tuple(r for r in results if isinstance(r, Mismatch)),
        failures=tuple(r for r in results if isinstance(r, HashFailure)),
    )


@dataclass(frozen=True, slots=True)
class Uncovered:
    """A download found in the repository that the manifest has no entry for."""

    url: str
    found_in: tuple[FoundIn, ...]


@dataclass(frozen=True, slots=True)
class Coverage:
    """How a manifest compares with the downloads found where it is verified.

    ``missing``: concrete URLs found that the manifest lacks (nothing vouches for their bytes:
    ``--verify`` fails). ``stale``: URLs the manifest found in actions earlier that nothing
    downloads any more (harmless; said so the manifest can be written again). Entries added
    by ``--url`` or ``--release`` are the maintainer's own list and never stale.
    """

    missing: tuple[Uncovered, ...]
    stale: tuple[str, ...]


def coverage(manifest: Manifest, sites: Iterable[DownloadSite]) -> Coverage:
    """Compare ``manifest`` with the download ``sites`` discovery found."""
    found: dict[str, set[FoundIn]] = {}
    for site in sites:
        if site.url is not None:
            found.setdefault(site.url, set()).add(FoundIn(site.origin, site.file, site.line))
    listed = manifest.by_url()
    missing = tuple(
        Uncovered(url, tuple(sorted(places)))
        for url, places in sorted(found.items())
        if url not in listed
    )
    stale = tuple(
        url
        for url, entry in sorted(listed.items())
        if url not in found and any(_discovered(place) for place in entry.found_in)
    )
    return Coverage(missing, stale)


def _discovered(place: FoundIn) -> bool:
    return place.origin != "--url" and not place.origin.startswith("release ")


async def release_assets(forge: Any, spec: str) -> list[tuple[str, str | None]]:
    """``(browser_download_url, digest)`` of every asset of ``OWNER/REPO@TAG``."""
    from pinner.errors import UsageError

    repo, sep, tag = spec.partition("@")
    if not sep or repo.count("/") != 1 or not tag or not all(repo.split("/")):
        raise UsageError(f"--release takes OWNER/REPO@TAG, not {spec!r}")
    try:
        releases = await forge.list_releases(repo)
    except NotFoundError:
        raise UsageError(f"--release {spec}: repository {repo} not found") from None
    for release in releases:
        if release.tag_name == tag:
            if not release.assets:
                raise UsageError(f"--release {spec}: the release has no assets")
            return sorted((a.browser_download_url, a.digest) for a in release.assets)
    raise UsageError(f"--release {spec}: no release with tag {tag} in {repo}")
