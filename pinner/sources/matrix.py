"""A job's ``strategy.matrix``, expanded the way the runner expands it, to name its images.

``container: ${{ matrix.image }}`` runs one image per matrix combination. When the matrix is
written out literally, those images are known without running anything, and each can be
judged like an image written in place: a matrix whose every image is pinned by digest is no
finding, one tag among them is. GitHub's rules (workflow syntax, ``jobs.<id>.strategy.matrix``):

* the combinations are the cartesian product of every key's list (keys other than ``include``
  and ``exclude``);
* ``exclude`` entries then remove each combination they match (a partial match suffices);
* each ``include`` entry is then added to every *original* combination none of whose original
  values it would overwrite (values added by an earlier include may be overwritten); an entry
  that fits none becomes a combination of its own.

Anything not written out (a list or the whole matrix given by an expression, a value that is a
mapping where a string is needed, an expression that reads another context) is not guessed:
the caller keeps the image as written, and it is reported as named by an expression.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping

MAX_COMBINATIONS = 256
"""GitHub runs at most 256 jobs per matrix; a larger product is no matrix GitHub would run."""

_EXPRESSION_RE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_MATRIX_PATH_RE = re.compile(r"\s*matrix((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)\s*")


def combinations(matrix: object) -> list[dict[str, object]] | None:
    """Every combination of a literal ``strategy.matrix`` (plain data), in the runner's order;
    None when it is not written out literally or is larger than GitHub allows."""
    if not isinstance(matrix, Mapping):
        return None
    keys = [k for k in matrix if k not in ("include", "exclude")]
    vectors = [matrix[k] for k in keys]
    if not all(isinstance(v, list) and v for v in vectors):
        return None  # a vector given by an expression (or empty: GitHub refuses the job)
    size = 1
    for vector in vectors:
        size *= len(vector)
    if size > MAX_COMBINATIONS:
        return None
    exclude = matrix.get("exclude", [])
    include = matrix.get("include", [])
    if not isinstance(exclude, list) or not isinstance(include, list):
        return None
    if not all(isinstance(e, Mapping) for e in (*exclude, *include)):
        return None
    originals = [dict(zip(keys, values, strict=True)) for values in itertools.product(*vectors)]
    if not keys:
        originals = []  # only include entries: each is a combination of its own
    originals = [c for c in originals if not any(_matches(c, e) for e in exclude)]
    combos = [dict(c) for c in originals]
    extra: list[dict[str, object]] = []
    for entry in include:
        fitted = False
        for original, combo in zip(originals, combos, strict=True):
            if all(original[k] == v for k, v in entry.items() if k in original):
                combo.update(entry)
                fitted = True
        if not fitted:
            extra.append(dict(entry))
    result = combos + extra
    return result if len(result) <= MAX_COMBINATIONS else None


def _matches(combo: Mapping[str, object], entry: Mapping[str, object]) -> bool:
    return all(k in combo and combo[k] == v for k, v in entry.items())


def expand(template: str, matrix: object) -> list[str] | None:
    """Every distinct value of ``template`` (``ghcr.io/o/i:${{ matrix.tag }}``) over the
    combinations of ``matrix``, in order; None when it reads anything but literal matrix
    values. ``${{ matrix.x }}`` alone is empty where a combination has no ``x``: that
    combination runs without the image (no container), so it names none."""
    parts = _EXPRESSION_RE.split(template)  # literal, expression, literal, ..., literal
    paths = []
    for inner in parts[1::2]:
        path = _MATRIX_PATH_RE.fullmatch(inner)
        if path is None:
            return None
        paths.append(path.group(1)[1:].split("."))
    combos = combinations(matrix)
    if not paths or combos is None:
        return None
    alone = len(paths) == 1 and not parts[0].strip() and not parts[2].strip()
    out: dict[str, None] = {}
    for combo in combos:
        pieces = list(parts)
        for index, path in enumerate(paths):
            value = _lookup(combo, path)
            if value is _MISSING and alone:
                value = ""
            if not isinstance(value, str):
                return None
            pieces[2 * index + 1] = value
        image = "".join(pieces).strip()
        if image:
            out[image] = None
    return list(out)


_MISSING = object()


def _lookup(combo: Mapping[str, object], path: list[str]) -> object:
    """``matrix.a.b`` as the runner formats it into a string: null is empty, booleans are
    ``true``/``false``; a missing key is :data:`_MISSING`, and a mapping or list (no string)
    is returned as it is, for the caller to refuse."""
    value: object = combo
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return _MISSING
        value = value[key]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return value
