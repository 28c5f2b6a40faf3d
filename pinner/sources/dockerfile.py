"""The ``FROM`` lines of a Dockerfile: which images a docker action builds on, with exact spans.

A docker action whose ``runs.image`` names a Dockerfile builds it on the runner, so every
``FROM`` image runs with the job's token. This reader finds each one the way BuildKit's parser
does, with the character span of the image so a digest can be spliced in without touching
anything else (``--platform=...`` flags and ``AS name`` are kept as written):

* instructions are case-insensitive and may be indented; ``#`` lines are comments;
* the escape character (``\\`` or a ``# escape=`` directive's backtick) at the end of a line
  continues the instruction on the next line;
* ``FROM scratch`` and ``FROM <earlier stage>`` name no image; a stage name is compared
  case-insensitively, as BuildKit does;
* the body of a heredoc (``RUN <<EOF`` ... ``EOF``) is data, whatever its lines say;
* an image built from a build argument (``FROM $BASE``, ``FROM python:${PY}``) cannot be
  pinned statically and is reported as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pinner.errors import InputError
from pinner.models import Span
from pinner.sources.yamlsafe import decode, read_bytes_capped

MAX_DOCKERFILE_BYTES = 1024 * 1024
"""Largest Dockerfile read (real ones are a few KiB)."""

_DIRECTIVE_RE = re.compile(r"^#\s*([A-Za-z_]+)\s*=\s*(\S+)\s*$")
_HEREDOC_RE = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")


@dataclass(frozen=True, slots=True)
class FromLine:
    """One ``FROM`` that names an image: where the image token is, and what it says."""

    line: int  # 1-based line of the image token
    column: int
    image: str  # the token as written
    span: Span  # the token's characters in the decoded text
    stage: str | None = None  # the ``AS`` name, when given

    @property
    def variable(self) -> bool:
        """Named by a build argument (``$BASE``, ``${PY}``): cannot be pinned statically."""
        return "$" in self.image


@dataclass(frozen=True, slots=True)
class Dockerfile:
    """A Dockerfile of the user's repository, read once: its text and its ``FROM`` images."""

    path: Path
    relpath: str
    text: str  # decoded, without BOM, line endings as in the file
    bom: bool
    froms: tuple[FromLine, ...]


def parse_froms(text: str) -> list[FromLine]:
    """Every ``FROM`` of ``text`` naming an image (not ``scratch``, not an earlier stage)."""
    escape = "\\"
    lines = text.splitlines(keepends=True)
    offsets = []
    position = 0
    for line in lines:
        offsets.append(position)
        position += len(line)
    # parser directives: only at the very top, before any other line
    for line in lines:
        match = _DIRECTIVE_RE.match(line.strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            escape = match.group(2)
    stages: set[str] = set()
    found: list[FromLine] = []
    index = 0
    while index < len(lines):
        tokens, index = _instruction(lines, offsets, index, escape)
        if not tokens or tokens[0][0].upper() != "FROM":
            index = _after_heredocs(lines, index, tokens)
            continue
        args = tokens[1:]
        while args and args[0][0].startswith("--"):
            args = args[1:]
        if not args:
            continue
        image, start, end = args[0]
        stage = args[2][0] if len(args) >= 3 and args[1][0].upper() == "AS" else None
        if image.lower() != "scratch" and image.lower() not in stages:
            line_number = text.count("\n", 0, start) + 1
            column = start - (text.rfind("\n", 0, start) + 1) + 1
            found.append(FromLine(line_number, column, image, Span(start, end), stage))
        if stage:
            stages.add(stage.lower())
    return found


def _after_heredocs(lines: list[str], index: int, tokens: list[tuple[str, int, int]]) -> int:
    """The line after the bodies of the heredocs an instruction opens (``<<EOF``, ``<<-EOF``)."""
    for token, _, _ in tokens:
        for dash, _, word in _HEREDOC_RE.findall(token):
            while index < len(lines):
                line = lines[index].rstrip("\r\n")
                index += 1
                if (line.lstrip("\t") if dash else line) == word:
                    break
    return index


def _instruction(
    lines: list[str], offsets: list[int], index: int, escape: str
) -> tuple[list[tuple[str, int, int]], int]:
    """Tokens (text, start, end) of the instruction starting at line ``index``, and the index
    of the line after it. Comment and blank lines yield no tokens."""
    tokens: list[tuple[str, int, int]] = []
    first = True
    while index < len(lines):
        line = lines[index]
        base = offsets[index]
        index += 1
        body = line.rstrip("\r\n")
        stripped = body.lstrip()
        if stripped.startswith("#") and (first or tokens):
            if first:
                return [], index
            continue  # a comment inside a continued instruction is dropped, as BuildKit does
        if first and not stripped:
            return [], index
        first = False
        content = body.rstrip()
        continued = content.endswith(escape)
        if continued:
            content = content[: -len(escape)]
        for match in re.finditer(r"\S+", content):
            tokens.append((match.group(), base + match.start(), base + match.end()))
        if not continued:
            break
    return tokens, index


def read_dockerfile(path: Path, *, relpath: str) -> Dockerfile:
    """Read and parse one Dockerfile of the user's repository (size cap, UTF-8, no NUL);
    InputError names the file when it cannot be read."""
    data = read_bytes_capped(path, source=relpath, max_bytes=MAX_DOCKERFILE_BYTES)
    try:
        text, bom = decode(data, source=relpath, max_bytes=MAX_DOCKERFILE_BYTES)
    except InputError as exc:
        raise InputError(
            exc.reason.replace("YAML", "Dockerfile"), path=relpath, line=exc.line
        ) from None
    return Dockerfile(path, relpath, text, bom, tuple(parse_froms(text)))


def dockerfile_images(text: str) -> list[tuple[int, str]]:
    """``(line, image)`` for each ``FROM`` naming an image (the audit's view of a Dockerfile)."""
    return [(f.line, f.image) for f in parse_froms(text)]
