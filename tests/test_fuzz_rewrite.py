"""Property-based tests of the rewrite, on documents a YAML emitter wrote.

``tests/test_rewrite_property.py`` builds workflows as text from templates; here hypothesis
builds them as *data* (jobs, steps with their keys in any order, decoys that look like ``uses:``
but are not sites: a ``with:`` input named ``uses``, ``uses:`` inside a ``run:`` script, an env
var) and ruamel.yaml emits them with random indentation, flow or block steps, quoting and
end-of-line comments; then CRLF and a BOM may be applied. For every such document:

* the scanner finds exactly the real sites, in order, and none of the decoys;
* :func:`pinner.core.rewrite.apply_edits` changes only those values and their comments: the
  result parses to the same structure with just the uses values replaced, every other line is
  byte-identical, line endings and BOM are kept;
* end to end, ``pinner pin --snapshot fixtures/forge`` on the document changes nothing but uses
  values (to the same action at a 40-hex commit) and their comments, and a second run is a no-op.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from typer.testing import CliRunner

from pinner.cli import app
from pinner.core.rewrite import Edit, apply_edits
from pinner.sources.scan import scan
from pinner.sources.yamlsafe import compose, to_python

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
SHA_VALUE_RE = re.compile(r"^(?P<target>[^@]+)@[0-9a-f]{40}$")

# real fixture actions (so the end-to-end test resolves them), plus values pin leaves alone
REMOTE_USES = [
    "pinner-fixtures/checkout-lite@v1",
    "pinner-fixtures/checkout-lite@v1.2.3",
    "pinner-fixtures/toolkit/setup@setup/v1",
    "pinner-fixtures/toolkit/cache@cache/v2",
    "pinner-fixtures/setup-widget@v4",
    "pinner-fixtures/node-leaf@v3",
    "pinner-fixtures/node-leaf@main",
    "pinner-fixtures/docker-image@v1.0.0",
]
OTHER_USES = ["docker://alpine:3.19", "./.github/actions/local"]
REUSABLE_USES = "pinner-fixtures/shared-workflows/.github/workflows/release.yml@v1"
COMMENTS = [None, "keep me", "v0.0.1", "tag=v1", "note: not a version"]

ids = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)


def scalar(value: str, quote: str) -> Any:
    if quote == "'":
        return SingleQuotedScalarString(value)
    if quote == '"':
        return DoubleQuotedScalarString(value)
    return value


@st.composite
def steps(draw: st.DrawFn, sites: list[str]) -> CommentedMap:
    """One step: a uses step (maybe with a comment) or a run step, keys in any order."""
    step = CommentedMap()
    flow = draw(st.integers(0, 3)) == 0
    if draw(st.integers(0, 4)) == 0:
        items = [("run", "echo 'uses: pinner-fixtures/checkout-lite@v1'"), ("shell", "bash")]
    else:
        value = draw(st.sampled_from(REMOTE_USES + OTHER_USES))
        sites.append(value)
        # YAML 1.1 parsers (libyaml, and so pinner) refuse ':' in a plain scalar inside flow
        # collections, which ruamel (YAML 1.2) would emit: quote those
        quote = draw(st.sampled_from(["'", '"'] if flow and ":" in value else ["", "'", '"']))
        items = [("uses", scalar(value, quote))]
        if draw(st.booleans()):
            decoy = CommentedMap(uses="pinner-fixtures/checkout-lite@v1", n=1)  # an input
            items.append(("with", decoy))
    if draw(st.booleans()):
        items.append(("name", draw(ids)))
    if draw(st.booleans()):
        items.append(("env", CommentedMap(USES="pinner-fixtures/node-leaf@v3")))
    for key, value in draw(st.permutations(items)):
        step[key] = value
    comment = draw(st.sampled_from(COMMENTS))
    if "uses" in step and comment and list(step)[-1] == "uses":
        step.yaml_add_eol_comment(f"# {comment}", key="uses")
    if flow and not any(isinstance(v, dict) for v in step.values()):
        step.fa.set_flow_style()
    return step


@st.composite
def workflows(draw: st.DrawFn) -> tuple[str, list[str]]:
    """(YAML text with \\n line ends, the uses values of real sites in file order)."""
    sites: list[str] = []
    doc = CommentedMap()
    doc["name"] = "ci"
    doc["on"] = CommentedSeq(["push"])
    jobs = CommentedMap()
    for index in range(draw(st.integers(1, 3))):
        job = CommentedMap()
        if draw(st.integers(0, 4)) == 0:
            sites.append(REUSABLE_USES)
            job["uses"] = REUSABLE_USES
            job["with"] = CommentedMap(uses="not/a-site@v1")
        else:
            job["runs-on"] = "ubuntu-latest"
            job["steps"] = CommentedSeq(
                [draw(steps(sites)) for _ in range(draw(st.integers(1, 4)))]
            )
        jobs[f"{draw(ids)}{index}"] = job
    doc["jobs"] = jobs
    yaml = YAML()
    mapping = draw(st.sampled_from([2, 4]))
    offset = draw(st.sampled_from([0, 2]))
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue(), sites


def encode(text: str, crlf: bool, bom: bool) -> str:
    return text.replace("\n", "\r\n") if crlf else text


def is_site_path(path: tuple[Any, ...]) -> bool:
    """``jobs.<id>.uses`` or ``jobs.<id>.steps[i].uses``: where uses values may change."""
    return (len(path) == 3 and path[0] == "jobs" and path[2] == "uses") or (
        len(path) == 5 and path[0] == "jobs" and path[2] == "steps" and path[4] == "uses"
    )


def same_but_uses(old: Any, new: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Assert ``new`` equals ``old`` except at uses sites; return the site paths that changed."""
    if isinstance(old, dict):
        assert isinstance(new, dict) and list(old) == list(new), path
        changed = []
        for key in old:
            changed += same_but_uses(old[key], new[key], (*path, key))
        return changed
    if isinstance(old, list):
        assert isinstance(new, list) and len(old) == len(new), path
        changed = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            changed += same_but_uses(a, b, (*path, index))
        return changed
    if old == new:
        return []
    assert is_site_path(path), f"{path}: {old!r} -> {new!r} is not a uses site"
    match = SHA_VALUE_RE.match(new)
    assert match and old.startswith(match["target"] + "@"), (old, new)
    return [path]


def assert_only_uses_lines_changed(old: bytes, new: bytes, sites: list[str]) -> None:
    old_lines, new_lines = old.split(b"\n"), new.split(b"\n")
    assert len(old_lines) == len(new_lines)
    for a, b in zip(old_lines, new_lines, strict=True):
        if a == b:
            continue
        assert b"uses" in a, (a, b)
        assert a.endswith(b"\r") == b.endswith(b"\r")
        value = next(v for v in sites if v.encode() in a)
        prefix = a[: a.index(value.encode())]
        assert b.startswith(prefix), (a, b)  # everything before the value is untouched


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=workflows(), crlf=st.booleans(), bom=st.booleans(), data=st.data())
def test_emitted_documents_rewrite_only_uses_values_and_comments(
    doc: tuple[str, list[str]], crlf: bool, bom: bool, data: st.DataObject
) -> None:
    text, sites = doc
    text = encode(text, crlf, bom)
    source = scan(text, ".github/workflows/fuzz.yml", "workflow", bom=bom)
    assert [s.value.raw for s in source.uses] == sites  # every real site, no decoy

    remote = [s for s in source.uses if s.value.action is not None]
    chosen = data.draw(st.lists(st.sampled_from(remote), unique=True)) if remote else []
    edits = [
        Edit(
            s, f"{s.value.action.target}@{'ab' * 20}", data.draw(st.sampled_from([None, "v9.9.9"]))
        )
        for s in chosen
        if s.value.action is not None
    ]
    out = apply_edits(source, edits)

    original = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    assert out.startswith(b"\xef\xbb\xbf") == bom
    new_text = out.decode("utf-8").removeprefix("\ufeff")
    old_data = to_python(compose(text, source="old"))
    new_data = to_python(compose(new_text, source="new"))
    assert len(same_but_uses(old_data, new_data)) == len(edits)
    assert_only_uses_lines_changed(original, out, sites)
    rescanned = scan(new_text, ".github/workflows/fuzz.yml", "workflow", bom=bom)
    by_line = {s.line: s for s in rescanned.uses}
    for edit in edits:
        again = by_line[edit.site.line]
        assert again.value.raw == edit.value
        if edit.comment is not None:
            assert again.comment is not None and edit.comment in again.comment


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=workflows(), crlf=st.booleans(), bom=st.booleans())
def test_pin_end_to_end_changes_only_uses_and_is_idempotent(
    tmp_path_factory, doc: tuple[str, list[str]], crlf: bool, bom: bool
) -> None:
    text, sites = doc
    original = (b"\xef\xbb\xbf" if bom else b"") + encode(text, crlf, bom).encode()
    root = tmp_path_factory.mktemp("fuzz")
    workflow = root / ".github" / "workflows" / "fuzz.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_bytes(original)
    env = {"PINNER_NO_GH": "1", "NO_COLOR": "1"}
    first = CliRunner().invoke(app, ["pin", str(root), "--snapshot", str(FORGE)], env=env)
    assert first.exit_code in (0, 1), first.output  # 1: a problem such as a missing local action
    assert "Traceback" not in first.output
    pinned = workflow.read_bytes()
    assert pinned.startswith(b"\xef\xbb\xbf") == bom
    old_data = to_python(compose(text, source="old"))
    new_data = to_python(compose(pinned.decode("utf-8").removeprefix("\ufeff"), source="new"))
    changed = same_but_uses(old_data, new_data)
    remote_sites = [v for v in sites if not v.startswith(("docker://", "./"))]
    assert len(changed) == len(remote_sites)  # every remote use pinned, nothing else
    assert_only_uses_lines_changed(original, pinned, sites)
    second = CliRunner().invoke(app, ["pin", str(root), "--snapshot", str(FORGE)], env=env)
    assert second.exit_code == first.exit_code
    assert workflow.read_bytes() == pinned
