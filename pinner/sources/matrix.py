"""Expand ``${{ matrix.* }}`` in a job's values from a literal ``strategy.matrix``, as runners do.

``container: ${{ matrix.image }}`` names as many images as the matrix has values for ``image``;
``image: python:${{ matrix.python }}-slim`` one per Python version. The runner builds the
combinations like this (GitHub's documentation of ``jobs.<id>.strategy.matrix``):

1. every key but ``include`` and ``exclude`` is a list; the combinations are their product;
2. an ``exclude`` entry removes every combination it matches (all its keys equal);
3. each ``include`` entry is added to every combination whose *original* values it does not
   change (values added by an earlier include may be overwritten); an entry that fits no
   combination becomes a combination of its own.

Only literal data takes part: a matrix that is an expression (``${{ fromJSON(...) }}``), a key
whose list is one, or a value built from anything but ``matrix.*`` cannot be expanded, and
:func:`expand` says why instead of guessing. Each expanded value remembers the scalar node
that supplied it when that node holds the whole value, so a rewrite can pin the image where
it is written: in the matrix.

This is the one implementation of matrix expansion: the audit's ``unpinned-image`` rule and
``pinner pin`` both read its result (:attr:`pinner.models.ImageSite.variants`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from pinner.sources.yamlsafe import MappingNode, Node, ScalarNode, SequenceNode, to_python

MAX_COMBINATIONS = 256
"""The runner's own limit on a matrix's jobs: larger is not a matrix GitHub would run."""

_EXPRESSION_RE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_MATRIX_REF_RE = re.compile(r"^\s*matrix((?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\s*'[^']*'\s*\])+)\s*$")
_STEP_RE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*'([^']*)'\s*\]")


@dataclass(frozen=True, slots=True)
class Expanded:
    """One value an expression takes; ``node`` is the matrix scalar holding all of it, when
    the expression is exactly one ``${{ matrix.x }}`` (the place to pin it), else None."""

    value: str
    node: ScalarNode | None


@dataclass(frozen=True, slots=True)
class Expansion:
    """Every value (deduplicated, in matrix order), or why there is none."""

    values: tuple[Expanded, ...] = ()
    reason: str | None = None  # set when the expression cannot be expanded


def has_expression(value: str) -> bool:
    return "${{" in value


def expand(value: str, job: Node | None) -> Expansion:
    """The values ``value`` takes over the job's matrix (see module doc)."""
    pieces: list[str | tuple[str, ...]] = []
    position = 0
    for match in _EXPRESSION_RE.finditer(value):
        pieces.append(value[position : match.start()])
        ref = _MATRIX_REF_RE.match(match.group(1))
        if ref is None:
            inner = " ".join(match.group(1).split())
            return Expansion(reason=f"${{{{ {inner} }}}} is not a matrix value")
        pieces.append(tuple(a or b for a, b in _STEP_RE.findall(ref.group(1))))
        position = match.end()
    pieces.append(value[position:])
    if "${{" in value[position:]:
        return Expansion(reason="unterminated ${{ expression")
    paths = [p for p in pieces if isinstance(p, tuple)]
    if not paths:
        return Expansion(reason="no matrix value in the expression")
    combos = combinations(job)
    if isinstance(combos, str):
        return Expansion(reason=combos)
    whole = len(pieces) == 3 and pieces[0] == "" and pieces[2] == ""
    found: dict[str, Expanded] = {}
    for combo in combos:
        parts: list[str] = []
        node: ScalarNode | None = None
        for piece in pieces:
            if isinstance(piece, str):
                parts.append(piece)
                continue
            got = _lookup(combo, piece)
            if isinstance(got, str):
                return Expansion(reason=got)
            parts.append(got.value)
            node = got if whole else None
        text = "".join(parts)
        if text not in found:
            found[text] = Expanded(text, node)
        elif found[text].node is not None and found[text].node is not node:
            found[text] = Expanded(text, None)  # written in two places: no single one to pin
    if not found:
        return Expansion(reason="the matrix has no combination")
    return Expansion(values=tuple(found.values()))


def _lookup(combo: dict[str, Node], path: tuple[str, ...]) -> ScalarNode | str:
    """The scalar at ``matrix.<path>`` in one combination, or why there is none."""
    name = "matrix." + ".".join(path)
    node: Node | None = combo.get(path[0])
    for step in path[1:]:
        node = node.get(step) if isinstance(node, MappingNode) else None
    if node is None:
        return f"{name} is not set in every matrix combination"
    if not isinstance(node, ScalarNode) or node.style in ("|", ">"):
        return f"{name} is not a plain value"
    if has_expression(node.value):
        return f"{name} is itself an expression"
    return node


def combinations(job: Node | None) -> list[dict[str, Node]] | str:
    """The matrix combinations of a job (key -> value node), or why they are not literal."""
    if not isinstance(job, MappingNode):
        return "the job has no matrix"
    strategy = job.get("strategy")
    if not isinstance(strategy, MappingNode):
        return "the job has no strategy.matrix"
    matrix = strategy.get("matrix")
    if matrix is None:
        return "the job has no strategy.matrix"
    if not isinstance(matrix, MappingNode):
        return "strategy.matrix is not literal (an expression)"
    base: list[tuple[str, list[Node]]] = []
    include: list[MappingNode] = []
    exclude: list[MappingNode] = []
    for key_node, value in matrix.pairs:
        if not isinstance(key_node, ScalarNode):
            return "strategy.matrix has a key that is not a string"
        key = key_node.value
        if key in ("include", "exclude"):
            if not isinstance(value, SequenceNode) or not all(
                isinstance(item, MappingNode) for item in value.items
            ):
                return f"strategy.matrix.{key} is not a literal list of mappings"
            (include if key == "include" else exclude).extend(value.items)  # type: ignore[arg-type]
            continue
        if not isinstance(value, SequenceNode):
            return f"strategy.matrix.{key} is not a literal list"
        base.append((key, list(value.items)))
    size = 1
    for _, items in base:
        size *= len(items)
        if size > MAX_COMBINATIONS:
            return f"strategy.matrix has more than {MAX_COMBINATIONS} combinations"
    keys = [key for key, _ in base]
    combos: list[dict[str, Node]] = []
    if base:
        for values in itertools.product(*(items for _, items in base)):
            combos.append(dict(zip(keys, values, strict=True)))
    combos = [c for c in combos if not any(_matches(entry, c) for entry in exclude)]
    original = {k for k, _ in base}
    extra: list[dict[str, Node]] = []
    for entry in include:
        pairs = [(k.value, v) for k, v in entry.pairs if isinstance(k, ScalarNode)]
        fitted = False
        for combo in combos:
            if all(
                _same(combo[key], value) for key, value in pairs if key in original and key in combo
            ):
                for key, value in pairs:
                    if key not in original:
                        combo[key] = value
                fitted = True
        if not fitted:
            extra.append(dict(pairs))
    return combos + extra


def _matches(entry: MappingNode, combo: dict[str, Node]) -> bool:
    for key_node, value in entry.pairs:
        if not isinstance(key_node, ScalarNode):
            return False
        have = combo.get(key_node.value)
        if have is None or not _same(have, value):
            return False
    return True


def _same(a: Node, b: Node) -> bool:
    return to_python(a) == to_python(b)
