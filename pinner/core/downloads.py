"""Find the URLs actions download tools from, and say which of them can change under you.

A SHA-pinned action is immutable, but the ``curl`` inside it is not: an action at a fixed
commit that runs ``curl -L https://example.com/tool/latest/tool.tar.gz | tar xz`` executes
whatever that URL serves today. This module finds such downloads in the places actions keep
them (composite ``run:`` scripts, scripts shipped beside ``action.yml``, Dockerfiles of docker
actions, and, best effort, the bundled JavaScript of node actions), substitutes the templates it
can prove (``${{ inputs.x }}`` from the caller's ``with:`` or the input default, ``$VAR`` from
an unambiguous assignment in the same script), and classifies each URL as versioned or mutable.

Everything here is pure text processing: no network, no YAML parsing of the user's files. The
walk hands each action's files in; hashing happens in :mod:`pinner.core.checksums`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Where a download line came from; also decides the comment and variable syntax.
SCRIPT_SOURCES = ("run", "sh", "ps1", "py", "dockerfile", "js")

# A URL literal: stops at whitespace, quotes, and characters that end a shell word. Template
# syntax (${...}, ${{ ... }}, $VAR, $env:VAR, {name} in f-strings) is kept inside the URL.
_URL_RE = re.compile(
    r"""(?P<url>https?://(?:\$\{\{[^}]*\}\}|\$\{[^}]*\}|\$\([^)]*\)|[^\s'"`<>|;()\\])+)"""
)

_DOWNLOADERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("curl", re.compile(r"(?<![\w-])curl(?:\.exe)?(?![\w-])")),
    ("wget", re.compile(r"(?<![\w-])wget(?![\w-])")),
    ("aria2c", re.compile(r"(?<![\w-])aria2c(?![\w-])")),
    ("Invoke-WebRequest", re.compile(r"(?i)(?<![\w-])(?:Invoke-WebRequest[\w-]*|iwr)(?![\w-])")),
    ("Invoke-RestMethod", re.compile(r"(?i)(?<![\w-])(?:Invoke-RestMethod|irm)(?![\w-])")),
    ("WebClient", re.compile(r"(?i)\.Download(?:File|String|Data)(?:Async)?\s*\(")),
    ("pip", re.compile(r"(?<![\w-])(?:pip3?|uv\s+pip|python3?\s+-m\s+pip)\s+install(?![\w-])")),
    (
        "urllib",
        re.compile(r"(?:urllib\.request\.urlopen|urlretrieve|requests\.get|httpx\.get)\s*\("),
    ),
)
_GH_RELEASE_DOWNLOAD = re.compile(r"(?<![\w-])gh\s+release\s+download(?![\w-])(?P<args>.*)")
_PIPE_TO_SHELL = re.compile(
    r"\|\s*(?:sudo\s+(?:-\w+\s+)*)?(?:ba|z|da|k)?sh(?:\s|$)|\|\s*(?:python3?|pwsh|iex|Invoke-Expression)\b",
    re.IGNORECASE,
)
# What pip is given that is no file to hash: a VCS requirement (``git+https://...@v1``: pip
# clones it) and an index or find-links page (``-i``/``--index-url``/``--extra-index-url``/
# ``-f``/``--find-links``, uv's ``--index``/``--default-index``, and their environment
# variables), which only lists where the packages are. Matched on the text before the URL.
_PIP_NOT_A_DOWNLOAD = re.compile(
    r"""(?:(?:git|hg|svn|bzr)\+"""
    r"""|(?<![\w-])(?:-[if]\s*=?|--(?:index-url|extra-index-url|find-links|index|default-index)"""
    r"""(?:\s+|=)|(?:PIP|UV)_(?:INDEX_URL|EXTRA_INDEX_URL|FIND_LINKS|INDEX|DEFAULT_INDEX)=)"""
    r"""['"]?)\Z"""
)
_DOCKER_ADD = re.compile(r"^\s*(?:ADD)\s+(?:--\S+\s+)*(?P<rest>.*)$", re.IGNORECASE)
_DOCKER_RUN = re.compile(r"^\s*RUN\s", re.IGNORECASE)

# Template forms, in the order they are substituted.
_INPUT_EXPR = re.compile(r"\$\{\{\s*inputs\.([A-Za-z_][\w-]*)\s*\}\}")
_ANY_EXPR = re.compile(r"\$\{\{.*?\}\}|\$\([^)]*\)")
_SHELL_VAR = re.compile(r"\$\{([A-Za-z_]\w*)(?::?[-=+?][^}]*)?\}|\$([A-Za-z_]\w*)")
_POSITIONAL = re.compile(r"\$\{([0-9])(?::?[-=+?][^}]*)?\}|\$([0-9])")
_OTHER_PARAM = re.compile(r"\$\{[^}]+\}|\$[0-9@*#?]")  # ${1:-x}, ${#a}, $1: never known
_PS_VAR = re.compile(r"\$env:([A-Za-z_]\w*)|\$\{env:([A-Za-z_]\w*)\}", re.IGNORECASE)
_PY_FIELD = re.compile(r"(?<!\$)\{([A-Za-z_]\w*)\}")

# Assignments a script makes that we may substitute: NAME=value (sh), $NAME = "value" (pwsh),
# ENV/ARG NAME=value (Dockerfile), NAME = "value" (py).
_SH_ASSIGN = re.compile(
    r"(?:^|(?<=[\s;&|(]))(?:export\s+|local\s+|readonly\s+|declare\s+(?:-\w+\s+)*)?"
    r"([A-Za-z_]\w*)=(?P<v>\"[^\"]*\"|'[^']*'|\$\([^)]*\)?|`[^`]*`?|[^\s;&|)]*)"
)
_PS_ASSIGN = re.compile(
    r"\$(?:env:)?([A-Za-z_]\w*)\s*=\s*(?P<v>\"[^\"]*\"|'[^']*'|\S+)", re.IGNORECASE
)
_DOCKER_ASSIGN = re.compile(
    r"^\s*(?:ENV|ARG)\s+([A-Za-z_]\w*)(?:[= ](?P<v>\"[^\"]*\"|\S+))?\s*$", re.IGNORECASE
)
_PY_ASSIGN = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*(?P<v>\"[^\"]*\"|'[^']*'|\S.*)$")
_DYNAMIC = "\0dynamic"  # a value we cannot know statically (command output, build arg, ...)

# Classification hints.
_VERSION_SEGMENT = re.compile(
    r"(?<![A-Za-z])v?\d+\.\d+(?:\.\d+)*(?:[-+._]?[0-9A-Za-z]+)*|(?<![0-9a-f])[0-9a-f]{40}(?![0-9a-f])"
    r"|(?<![\w])v\d+(?![\w])"
)
_BRANCH_NAMES = ("main", "master", "develop", "dev", "trunk", "HEAD", "nightly", "edge", "stable")
_ARCHIVE_EXT = re.compile(
    r"\.(?:tar\.gz|tgz|tar\.xz|tar\.bz2|tar\.zst|zip|gz|xz|bz2|zst|7z|exe|msi|deb|rpm|pkg|dmg|"
    r"appimage|jar|whl|sh|ps1|py|bin|vsix)$",
    re.IGNORECASE,
)
_JS_SCAN_LIMIT = 4 * 1024 * 1024  # bounded literal scan of bundled JavaScript


@dataclass(frozen=True, slots=True)
class Mutability:
    """Whether a URL can serve different bytes tomorrow, and why we think so."""

    mutable: bool
    reasons: tuple[str, ...]  # e.g. "releases/latest", "branch 'main' in path", "no version"


@dataclass(frozen=True, slots=True)
class DownloadSite:
    """One download found in an action or workflow file.

    ``template`` is the URL as written; ``url`` the concrete URL after every substitution we
    could prove, or None while a template remains (``unresolved`` names what is left).
    """

    template: str
    url: str | None
    unresolved: tuple[str, ...]
    downloader: str | None
    pipe_to_shell: bool
    source: str  # one of SCRIPT_SOURCES
    origin: str  # "owner/repo[/path]@commit" for remote actions, "." for the user's repository
    file: str  # path of the file inside origin's repository
    line: int  # 1-based line in that file
    mutability: Mutability

    @property
    def concrete(self) -> bool:
        return self.url is not None


@dataclass(frozen=True, slots=True)
class ScriptText:
    """A script to scan: its text, what kind it is, and where its first line sits in ``file``."""

    text: str
    source: str
    file: str
    first_line: int = 1
    shell: str | None = None  # the step's ``shell:``, for ``run`` sources


def scan_script(
    script: ScriptText,
    *,
    origin: str,
    inputs: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> list[DownloadSite]:
    """Every download in one script, with templates substituted where provable.

    ``inputs`` maps action input names to the value the caller passes (or the default);
    ``env`` carries values the surrounding step/job/action sets, substituted like script
    variables.
    """
    source = script.source
    if source == "run":
        source = _run_dialect(script.shell, script.text)
    if source == "js":
        return _scan_js(script, origin=origin)
    assignments = _assignments(script.text, source)
    variables = _unambiguous({**{k: [v] for k, v in (env or {}).items()}, **assignments})
    sites: list[DownloadSite] = []
    url_variables = {k: v for k, v in variables.items() if re.match(r"^https?://", v)}
    for line_no, logical in _logical_lines(script.text, source):
        if url_variables and "$" in logical:
            logical = _expand_url_variables(logical, url_variables)
        for downloader, template, pipe in _downloads_on_line(logical, source):
            url, unresolved = substitute(template, inputs=inputs or {}, variables=variables)
            sites.append(
                DownloadSite(
                    template=template,
                    url=url,
                    unresolved=unresolved,
                    downloader=downloader,
                    pipe_to_shell=pipe,
                    source=script.source if script.source != "run" else "run",
                    origin=origin,
                    file=script.file,
                    line=script.first_line + line_no - 1,
                    mutability=classify(url or template, pipe_to_shell=pipe),
                )
            )
    return sites


def substitute(
    template: str, *, inputs: Mapping[str, str], variables: Mapping[str, str]
) -> tuple[str | None, tuple[str, ...]]:
    """Replace ``${{ inputs.x }}``, ``${VAR}``, ``$VAR``, ``$env:VAR`` and ``{field}`` we know.

    Returns the concrete URL, or None with the names that stay templates. Substitution is
    repeated a few times so a variable defined in terms of another resolves too.
    """
    text = template
    for _ in range(4):
        before = text
        text = _INPUT_EXPR.sub(lambda m: inputs.get(m.group(1), m.group(0)), text)
        text = _PS_VAR.sub(lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), text)
        text = _SHELL_VAR.sub(lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), text)
        text = _POSITIONAL.sub(lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), text)
        text = _PY_FIELD.sub(lambda m: variables.get(m.group(1), m.group(0)), text)
        if text == before:
            break
    left = _template_names(text)
    if left:
        return None, left
    return text, ()


def classify(url: str, *, pipe_to_shell: bool = False) -> Mutability:
    """Is this URL pinned to one version, or can its bytes change?

    Mutable: ``releases/latest``, a ``latest`` path segment, a branch name where a ref goes
    (raw.githubusercontent.com, ``/archive/``, ``/blob/``, ``/raw/``), a URL with no version at
    all, or a script piped straight into a shell.
    """
    reasons: list[str] = []
    path = re.sub(r"^https?://[^/]+", "", url).split("?", 1)[0].split("#", 1)[0]
    host = re.match(r"^https?://([^/]+)", url)
    hostname = host.group(1).lower() if host else ""
    segments = [s for s in path.split("/") if s]
    lowered = [s.lower() for s in segments]
    if "releases/latest" in path.lower():
        reasons.append("releases/latest")
    elif any(s == "latest" or s.startswith("latest.") or s.startswith("latest-") for s in lowered):
        reasons.append("'latest' in path")
    branch = _branch_in_path(hostname, segments)
    if branch:
        reasons.append(f"branch '{branch}' in path")
    if not _VERSION_SEGMENT.search(path) and not reasons:
        reasons.append("no version in URL")
    if pipe_to_shell:
        reasons.append("piped to a shell")
    return Mutability(mutable=bool(reasons), reasons=tuple(reasons))


# ----------------------------------------------------------------------------- internals


def _expand_url_variables(line: str, url_variables: Mapping[str, str]) -> str:
    """Put URL-valued variables back in place (``curl "$BASE/x.tgz"``) so the URL is visible."""

    def value(m: re.Match[str]) -> str:
        return url_variables.get(m.group(1) or m.group(2), m.group(0))

    for _ in range(3):
        expanded = _PS_VAR.sub(value, _SHELL_VAR.sub(value, line))
        if expanded == line:
            break
        line = expanded
    return line


def _run_dialect(shell: str | None, text: str) -> str:
    if shell and re.match(r"^\s*(pwsh|powershell)\b", shell):
        return "ps1"
    if shell and re.match(r"^\s*python", shell):
        return "py"
    return "sh"


def _logical_lines(text: str, source: str) -> Iterable[tuple[int, str]]:
    """Lines with continuations joined, numbered by their first physical line."""
    continuation = "`" if source == "ps1" else "\\"
    buffer: list[str] = []
    start = 1
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not buffer:
            start = number
        stripped = line.rstrip()
        if source != "py" and stripped.endswith(continuation):
            buffer.append(stripped[: -len(continuation)])
            continue
        buffer.append(line)
        yield start, " ".join(buffer)
        buffer = []
    if buffer:
        yield start, " ".join(buffer)


def _is_comment(line: str, source: str) -> bool:
    stripped = line.lstrip()
    if source == "js":
        return stripped.startswith("//")
    return stripped.startswith("#")


def _downloads_on_line(line: str, source: str) -> Iterable[tuple[str | None, str, bool]]:
    """``(downloader, url_template, piped_to_shell)`` for each download on a logical line."""
    if _is_comment(line, source):
        return
    pipe = bool(_PIPE_TO_SHELL.search(line))
    if source == "dockerfile":
        add = _DOCKER_ADD.match(line)
        if add:
            for m in _URL_RE.finditer(add.group("rest")):
                yield "ADD", _clean(m.group("url")), False
            return
        if not _DOCKER_RUN.match(line):
            return
    gh = _GH_RELEASE_DOWNLOAD.search(line)
    if gh:
        url = _gh_release_url(gh.group("args"))
        if url:
            yield "gh release download", url, pipe
    downloader = next((name for name, rx in _DOWNLOADERS if rx.search(line)), None)
    if downloader is None:
        if pipe and source in ("sh", "ps1"):
            downloader = None  # URL piped to a shell by other means (e.g. fetch | sh)
        else:
            return
    for m in _URL_RE.finditer(line):
        url = _clean(m.group("url"))
        if _is_api_call(url) and downloader in ("curl", "Invoke-RestMethod", "urllib"):
            # A REST call (release metadata lookup), not a binary download.
            continue
        if downloader == "pip" and _PIP_NOT_A_DOWNLOAD.search(line, 0, m.start()):
            continue
        yield downloader, url, pipe


def _gh_release_url(args: str) -> str | None:
    """``gh release download TAG -R owner/repo -p PATTERN`` as a release-asset URL template."""
    words = args.split()
    repo = tag = pattern = None
    i = 0
    while i < len(words):
        w = words[i].strip("'\"")
        if w in ("-R", "--repo") and i + 1 < len(words):
            repo = words[i + 1].strip("'\"")
            i += 2
            continue
        if w in ("-p", "--pattern") and i + 1 < len(words):
            pattern = words[i + 1].strip("'\"")
            i += 2
            continue
        if w.startswith("-"):
            i += 2 if w in ("-D", "--dir", "-O", "--output", "-A", "--archive") else 1
            continue
        if tag is None and not w.startswith(("&", "|", ";")):
            tag = w
        i += 1
    if not repo:
        return None
    return (
        f"https://github.com/{repo}/releases/download/{tag or '${latest}'}/{pattern or '${asset}'}"
    )


def _clean(url: str) -> str:
    """Drop punctuation that ends the sentence or the shell word, not the URL's templates."""
    while url and url[-1] in ".,;:'\")]`}":
        if url[-1] == "}" and url.count("{") >= url.count("}"):
            break
        url = url[:-1]
    # An f-string field left open by the regex (``{ext`` at the end): close it again.
    if url.count("{") > url.count("}"):
        url += "}"
    return url


def _is_api_call(url: str) -> bool:
    return bool(re.match(r"^https?://api\.github\.com/|^https?://[^/]+/api/v3/", url))


def _assignments(text: str, source: str) -> dict[str, list[str]]:
    """Every value each variable is assigned in the script (``_DYNAMIC`` when unknowable)."""
    rx = {"sh": _SH_ASSIGN, "ps1": _PS_ASSIGN, "dockerfile": _DOCKER_ASSIGN, "py": _PY_ASSIGN}.get(
        source, _SH_ASSIGN
    )
    found: dict[str, list[str]] = {}
    for _, line in _logical_lines(text, source):
        if _is_comment(line, source):
            continue
        for m in rx.finditer(line):
            value = m.group("v")
            if value is None:
                value = _DYNAMIC
            elif len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            elif value.startswith(("$(", "`")) or (
                source in ("py", "ps1") and value[:1] not in "\"'"
            ):
                value = _DYNAMIC
            found.setdefault(m.group(1), []).append(value)
    return found


def _unambiguous(values: Mapping[str, list[str]]) -> dict[str, str]:
    """Keep only variables assigned exactly one known value: anything else is a guess."""
    return {name: vs[0] for name, vs in values.items() if len(set(vs)) == 1 and vs[0] != _DYNAMIC}


def _template_names(text: str) -> tuple[str, ...]:
    names: list[str] = []
    for m in _ANY_EXPR.finditer(text):
        names.append(m.group(0))
    rest = _ANY_EXPR.sub("", text)
    for m in _PS_VAR.finditer(rest):
        names.append("$env:" + (m.group(1) or m.group(2)))
    rest = _PS_VAR.sub("", rest)
    for m in _SHELL_VAR.finditer(rest):
        names.append("$" + (m.group(1) or m.group(2)))
    rest = _SHELL_VAR.sub("", rest)
    for m in _OTHER_PARAM.finditer(rest):
        names.append(m.group(0))
    rest = _OTHER_PARAM.sub("", rest)
    for m in _PY_FIELD.finditer(rest):
        names.append("{" + m.group(1) + "}")
    return tuple(dict.fromkeys(names))


def _branch_in_path(hostname: str, segments: list[str]) -> str | None:
    """A branch name where a Git ref belongs in well-known GitHub URL shapes."""
    if hostname == "raw.githubusercontent.com" and len(segments) >= 3:
        ref = segments[2]
        if ref == "refs" and len(segments) >= 5 and segments[3] == "heads":
            return segments[4]
        return ref if not _looks_pinned(ref) else None
    for marker in ("archive", "blob", "raw", "tarball", "zipball"):
        if marker in segments:
            i = segments.index(marker)
            if i + 1 < len(segments):
                ref = segments[i + 1]
                if ref == "refs" and i + 3 < len(segments) and segments[i + 2] == "heads":
                    return re.sub(r"\.(?:tar\.gz|zip)$", "", segments[i + 3])
                base = re.sub(r"\.(?:tar\.gz|zip)$", "", ref)
                if base in _BRANCH_NAMES:
                    return base
                if marker in ("blob", "raw") and not _looks_pinned(base):
                    return base
    for s in segments:
        base = re.sub(r"\.(?:tar\.gz|zip)$", "", s)
        if base in ("main", "master"):
            return base
    return None


def _looks_pinned(ref: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{40}", ref) or _VERSION_SEGMENT.fullmatch(ref))


def _scan_js(script: ScriptText, *, origin: str) -> list[DownloadSite]:
    """Best-effort: string literals in bundled JavaScript that look like binary downloads.

    Bundles are large and build URLs dynamically; we report literal URLs that end in an archive
    or installer extension or point at a release asset, and say plainly that this is a scan.
    """
    text = script.text[:_JS_SCAN_LIMIT]
    sites: list[DownloadSite] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if "http" not in line:
            continue
        for m in re.finditer(r"""(["'`])(https?://[^"'`\s]+)\1""", line):
            url = m.group(2)
            js_template = "${" in url
            path = url.split("?", 1)[0]
            if not (
                _ARCHIVE_EXT.search(path)
                or "/releases/download/" in path
                or "/releases/latest" in path
            ):
                continue
            if url in seen:
                continue
            seen.add(url)
            unresolved = tuple(re.findall(r"\$\{[^}]*\}", url)) if js_template else ()
            sites.append(
                DownloadSite(
                    template=url,
                    url=None if unresolved else url,
                    unresolved=unresolved,
                    downloader="js-literal",
                    pipe_to_shell=False,
                    source="js",
                    origin=origin,
                    file=script.file,
                    line=script.first_line + number - 1,
                    mutability=classify(url),
                )
            )
    return sites
