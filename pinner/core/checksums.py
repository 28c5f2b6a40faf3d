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
import hashlib
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from pinner.core.downloads import DownloadSite, ScriptText, classify, scan_script
from pinner.core.manifest import FoundIn, ManifestEntry
from pinner.errors import NotFoundError, RemoteError

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
class Discovery:
    """What discovery found, and what it could not look into (said in the output)."""

    sites: tuple[DownloadSite, ...]
    notes: tuple[str, ...]


def _yaml() -> YAML:
    y = YAML(typ="rt", pure=True)
    y.allow_duplicate_keys = True
    return y


def load_positions(text: str) -> Any:
    """Parse YAML keeping line numbers; None for anything that is not valid YAML."""
    if len(text) > MAX_METADATA_BYTES:
        return None
    try:
        return _yaml().load(text)
    except (YAMLError, ValueError, RecursionError):
        return None


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {
        str(k): str(v)
        for k, v in value.items()
        if isinstance(k, str) and isinstance(v, str | int | float | bool) and v is not None
    }


def _steps_of(doc: Any) -> Iterable[tuple[Any, Mapping[str, str], str | None]]:
    """Every step mapping of an action (runs.steps) or workflow (jobs.*.steps), with the env and
    default shell it inherits."""
    if not isinstance(doc, Mapping):
        return
    top_env = _str_map(doc.get("env"))
    runs = doc.get("runs")
    if isinstance(runs, Mapping) and isinstance(runs.get("steps"), list):
        for step in runs["steps"]:
            if isinstance(step, Mapping):
                yield step, top_env, None
    jobs = doc.get("jobs")
    if isinstance(jobs, Mapping):
        default_shell = _default_shell(doc)
        for job in jobs.values():
            if not isinstance(job, Mapping) or not isinstance(job.get("steps"), list):
                continue
            env = {**top_env, **_str_map(job.get("env"))}
            shell = _default_shell(job) or default_shell
            for step in job["steps"]:
                if isinstance(step, Mapping):
                    yield step, env, shell


def _default_shell(node: Mapping[str, Any]) -> str | None:
    defaults = node.get("defaults")
    if isinstance(defaults, Mapping) and isinstance(defaults.get("run"), Mapping):
        shell = defaults["run"].get("shell")
        return str(shell) if isinstance(shell, str) else None
    return None


def run_blocks(doc: Any) -> list[RunBlock]:
    """Every ``run:`` script in a parsed action or workflow, with its first line (1-based)."""
    blocks: list[RunBlock] = []
    for step, env, default_shell in _steps_of(doc):
        run = step.get("run")
        if not isinstance(run, str):
            continue
        line, _ = step.lc.value("run") if hasattr(step, "lc") else (0, 0)
        style = getattr(run, "style", None) or type(run).__name__
        # Block scalars (| and >) start on the line after the indicator.
        block = type(run).__name__ in ("LiteralScalarString", "FoldedScalarString") or style in (
            "|",
            ">",
        )
        first = line + 2 if block else line + 1
        shell = step.get("shell") if isinstance(step.get("shell"), str) else default_shell
        blocks.append(
            RunBlock(
                text=str(run),
                first_line=first,
                shell=shell,
                env={**env, **_str_map(step.get("env"))},
            )
        )
    return blocks


def input_defaults(doc: Any) -> dict[str, str]:
    """``inputs.<name>.default`` of an action (or ``on.workflow_call.inputs`` of a workflow)."""
    found: dict[str, str] = {}
    if not isinstance(doc, Mapping):
        return found
    inputs = doc.get("inputs")
    on = doc.get("on")
    if inputs is None and isinstance(on, Mapping) and isinstance(on.get("workflow_call"), Mapping):
        inputs = on["workflow_call"].get("inputs")
    if isinstance(inputs, Mapping):
        for name, spec in inputs.items():
            if isinstance(spec, Mapping) and isinstance(spec.get("default"), str | int | float):
                default = spec["default"]
                if isinstance(default, str) and "${{" in default:
                    continue  # an expression: not a value we know
                found[str(name)] = (
                    str(default).lower() if isinstance(default, bool) else str(default)
                )
    return found


def caller_with(doc: Any, line: int | None) -> dict[str, str]:
    """The literal ``with:`` values of the step or job whose ``uses:`` sits on ``line``."""
    if line is None or not isinstance(doc, Mapping):
        return {}
    candidates: list[Any] = [step for step, _, _ in _steps_of(doc)]
    jobs = doc.get("jobs")
    if isinstance(jobs, Mapping):
        candidates.extend(j for j in jobs.values() if isinstance(j, Mapping))
    for node in candidates:
        if "uses" not in node or not hasattr(node, "lc"):
            continue
        if node.lc.value("uses")[0] + 1 == line:
            return {k: v for k, v in _str_map(node.get("with")).items() if "${{" not in v}
    return {}


def scripts_invoked(blocks: Sequence[RunBlock], action_dir: str) -> list[str]:
    """Repository paths of scripts in the action's directory that its run blocks execute."""
    paths: list[str] = []
    for block in blocks:
        for m in _ACTION_PATH_SCRIPT.finditer(block.text):
            rel = m.group("path").replace("\\", "/")
            full = posixpath.normpath(posixpath.join(action_dir or ".", rel))
            if full.startswith("../") or full == "..":
                continue
            if full not in paths:
                paths.append(full)
    return paths


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


async def discover(graph: Any, forge: Any, local_texts: Mapping[str, str]) -> Discovery:
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

    async def parent_doc(edge: Any) -> Any:
        node = graph.nodes.get(edge.parent)
        if node is None:
            return None
        if edge.parent in parents_docs:
            return parents_docs[edge.parent]
        text: str | None
        if node.local:
            text = local_texts.get(edge.file)
        else:
            raw = await _get(forge, node.repo, node.commit, edge.file)
            text = raw.decode("utf-8", "replace") if raw is not None else None
        doc = load_positions(text) if text is not None else None
        parents_docs[edge.parent] = doc
        return doc

    async def expand(node: Any) -> None:
        if node.local or node.kind not in ("action", "reusable-workflow") or node.commit is None:
            return
        if node.error or not node.file:
            return
        origin = node.id
        raw = await _get(forge, node.repo, node.commit, node.file)
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
        callers = [e for e in graph.edges if e.child == node.id]
        input_sets: list[dict[str, str]] = []
        for edge in callers:
            values = {**defaults, **caller_with(await parent_doc(edge), edge.line)}
            if values not in input_sets:
                input_sets.append(values)
        if not input_sets:
            input_sets.append(defaults)
        blocks = run_blocks(doc)
        action_dir = posixpath.dirname(node.file)
        for inputs in input_sets:
            sites.extend(scan_blocks(blocks, origin=origin, file=node.file, inputs=inputs))
        for script_path in scripts_invoked(blocks, action_dir):
            ext = posixpath.splitext(script_path)[1].lower()
            script = await _get(forge, node.repo, node.commit, script_path)
            if script is None:
                notes.append(f"{origin}: script {script_path} not found at that commit")
                continue
            for inputs in input_sets:
                sites.extend(
                    scan_script(
                        ScriptText(
                            script.decode("utf-8", "replace"),
                            SCRIPT_EXTENSIONS.get(ext, "sh"),
                            script_path,
                        ),
                        origin=origin,
                        inputs=inputs,
                    )
                )
        runs = doc.get("runs") if isinstance(doc, Mapping) else None
        if isinstance(runs, Mapping):
            using = str(runs.get("using", ""))
            if using == "docker" and isinstance(runs.get("image"), str):
                image = runs["image"]
                if not image.startswith("docker://"):
                    path = posixpath.normpath(posixpath.join(action_dir or ".", image))
                    dockerfile = await _get(forge, node.repo, node.commit, path)
                    if dockerfile is not None:
                        sites.extend(
                            scan_script(
                                ScriptText(
                                    dockerfile.decode("utf-8", "replace"), "dockerfile", path
                                ),
                                origin=origin,
                            )
                        )
            elif using.startswith("node") and isinstance(runs.get("main"), str):
                path = posixpath.normpath(posixpath.join(action_dir or ".", runs["main"]))
                try:
                    main = await _get(forge, node.repo, node.commit, path)
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
    return Discovery(sites=tuple(unique), notes=tuple(sorted(set(notes))))


async def _get(forge: Any, repo: str | None, commit: str | None, path: str) -> bytes | None:
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


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
