"""The scanner: every ``uses:`` layout the runner reads, with exact spans, lines and comments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pinner.models import SiteContext, SourceFile, UsesKind, UsesSite
from pinner.sources.reading import load_yaml, read_source
from pinner.sources.scan import scan, trailing_comment

SHA = "b4ffde65f46336ab88eb53be808477a3936bae11"


def spans(source: SourceFile) -> list[str]:
    return [source.text[s.value_span.start : s.value_span.end] for s in source.uses]


def only(source: SourceFile) -> UsesSite:
    assert len(source.uses) == 1, source.uses
    return source.uses[0]


WORKFLOW = """\
name: ci
on: [push]
jobs:
  build:
    runs-on: ubuntu-latest
    container:
      image: node:20
    services:
      db:
        image: postgres:16
      cache: {image: "redis:7"}
    steps:
      - uses: actions/checkout@v4  # v4.1.1 pinned by hand
      - name: quoted
        uses: 'actions/setup-python@v5'
      - run: echo hi
      - uses: "docker://alpine:3.19"
      - {uses: ./.github/actions/local, with: {x: "a # not a comment"}}  # trailing
  call:
    uses: octo/wf/.github/workflows/reuse.yml@main #main
  other:
    container: ubuntu:22.04
    steps: [{uses: a/b@v1}, {uses: c/d@v2}]
"""


def test_workflow_layouts() -> None:
    source = scan(WORKFLOW, ".github/workflows/ci.yml", "workflow")
    assert spans(source) == [
        "actions/checkout@v4",
        "'actions/setup-python@v5'",
        '"docker://alpine:3.19"',
        "./.github/actions/local",
        "octo/wf/.github/workflows/reuse.yml@main",
        "a/b@v1",
        "c/d@v2",
    ]
    first, quoted, docker, local, reusable, flow_a, flow_b = source.uses
    assert (first.line, first.column, first.job, first.step) == (13, 15, "build", 0)
    assert first.context is SiteContext.WORKFLOW_STEP
    assert first.comment == "v4.1.1 pinned by hand"
    assert first.comment_span is not None
    assert WORKFLOW[first.comment_span.start : first.comment_span.end] == "# v4.1.1 pinned by hand"
    assert (quoted.quote, quoted.step, quoted.comment) == ("'", 1, None)
    assert quoted.value.action is not None and quoted.value.action.repo == "setup-python"
    assert (docker.quote, docker.value.kind, docker.step) == ('"', UsesKind.DOCKER, 3)
    assert local.value.kind is UsesKind.LOCAL
    assert local.comment == "trailing"  # the "#" inside quotes is not a comment
    assert (reusable.context, reusable.job, reusable.step) == (
        SiteContext.REUSABLE_JOB,
        "call",
        None,
    )
    assert reusable.comment == "main"
    assert (flow_a.line, flow_b.line, flow_a.step, flow_b.step) == (23, 23, 0, 1)
    images = [(i.image, i.context, i.line) for i in source.images]
    assert images == [
        ("node:20", "container", 7),
        ("postgres:16", "service", 10),
        ("redis:7", "service", 11),
        ("alpine:3.19", "step", 17),
        ("ubuntu:22.04", "container", 22),
    ]


def test_composite_action() -> None:
    text = (
        "name: x\nruns:\n  using: composite\n  steps:\n"
        "    - uses: actions/cache/restore@v4 # tag=v4.0.2\n"
        "    - shell: bash\n      run: echo\n"
        "    - uses: ./inner\n"
    )
    source = scan(text, "action.yml", "action")
    assert spans(source) == ["actions/cache/restore@v4", "./inner"]
    assert all(s.context is SiteContext.COMPOSITE_STEP and s.job is None for s in source.uses)
    assert [s.step for s in source.uses] == [0, 2]
    assert source.uses[0].comment == "tag=v4.0.2"


def test_docker_action_runs_image() -> None:
    text = "runs:\n  using: docker\n  image: docker://ghcr.io/o/i:1\n"
    source = scan(text, "action.yml", "action")
    assert [(i.image, i.context, i.line, i.column) for i in source.images] == [
        ("ghcr.io/o/i:1", "runs.image", 3, 10)
    ]
    assert scan("runs:\n  using: docker\n  image: Dockerfile\n", "a.yml", "action").images == ()


def test_not_uses_elsewhere() -> None:
    text = "on: push\nenv:\n  uses: a/b@v1\njobs:\n  j:\n    with:\n      uses: c/d@v1\n"
    assert scan(text, "w.yml", "workflow").uses == ()


def test_crlf_and_unicode_offsets() -> None:
    text = 'jobs:\r\n  j:\r\n    name: é𝄞\r\n    steps:\r\n      - uses: "o/r@v1"  # c\r\n'
    source = scan(text, "w.yml", "workflow")
    site = only(source)
    assert source.newline == "\r\n"
    assert spans(source) == ['"o/r@v1"']
    assert (site.line, site.column) == (5, 15)
    assert site.comment == "c"
    assert site.comment_span is not None
    assert text[site.comment_span.start : site.comment_span.end] == "# c"  # no \r


def test_non_bmp_characters_before_value_on_same_line() -> None:
    text = "jobs:\n  j:\n    steps:\n      - {name: '𝄞𝄞', uses: o/r@v1}  # x\n"
    site = only(scan(text, "w.yml", "workflow"))
    assert text[site.value_span.start : site.value_span.end] == "o/r@v1"
    assert site.comment == "x"


def test_anchor_alias_reported_once_at_definition() -> None:
    text = (
        "jobs:\n"
        "  a:\n    steps:\n      - &checkout\n        uses: &u actions/checkout@v4 # v4\n"
        "  b:\n    steps:\n      - *checkout\n      - uses: *u\n"
    )
    source = scan(text, "w.yml", "workflow")
    site = only(source)
    assert text[site.value_span.start : site.value_span.end] == "actions/checkout@v4"
    assert (site.job, site.line, site.column) == ("a", 5, 18)
    assert site.comment == "v4"


def test_tagged_scalar_span_excludes_tag() -> None:
    text = "jobs:\n  j:\n    steps:\n      - uses: !!str 'o/r@v1'\n"
    site = only(scan(text, "w.yml", "workflow"))
    assert (spans(scan(text, "w.yml", "workflow")), site.quote) == (["'o/r@v1'"], "'")


def test_non_string_uses_is_invalid_site() -> None:
    text = "jobs:\n  j:\n    steps:\n      - uses: [a, b]\n      - uses:\n"
    source = scan(text, "w.yml", "workflow")
    assert [s.value.kind for s in source.uses] == [UsesKind.INVALID, UsesKind.INVALID]
    assert "must be a string" in (source.uses[0].value.error or "")


def test_multiline_plain_scalar_located() -> None:
    text = "jobs:\n  j:\n    uses: o/r/.github/workflows/x.yml@\n      main\n"
    site = only(scan(text, "w.yml", "workflow"))
    assert site.value.raw == "o/r/.github/workflows/x.yml@ main"
    assert site.value.kind is UsesKind.INVALID  # the runner would see a space in the ref


def test_block_scalar_comment_is_the_one_on_its_header_line() -> None:
    text = (
        "jobs:\n  j:\n    steps:\n"
        "      - uses: >-  # v1.2.3\n          o/r@v1\n"
        "      - uses: |\n          o/s@v1\n        with: {a: 1}  # belongs to with\n"
    )
    first, second = scan(text, "w.yml", "workflow").uses
    assert (first.value.raw, first.comment, first.line) == ("o/r@v1", "v1.2.3", 4)
    assert text[first.comment_span.start : first.comment_span.end] == "# v1.2.3"
    assert (second.value.raw, second.comment) == ("o/s@v1\n", None)
    assert second.value.kind is UsesKind.REMOTE  # the block's line break is no part of it


@pytest.mark.parametrize(
    ("line", "comment"),
    [
        ("x  # c", "c"),
        ("x #c d ", "c d"),
        ("x#c", None),
        ("x, y: 'a # b'}", None),
        ("x, y: 'it''s # b'} # real", "real"),
        ('x, y: "a \\" # b"} # real', "real"),
        ("x, y: 'multi", None),
        ("x", None),
    ],
)
def test_trailing_comment_lexer(line: str, comment: str | None) -> None:
    text = "k: " + line + "\nnext: # other\n"
    found = trailing_comment(text, 4)
    assert (found[0] if found else None) == comment


def test_empty_and_non_mapping_documents() -> None:
    assert scan("", "w.yml", "workflow").uses == ()
    assert scan("# only a comment\n", "w.yml", "workflow").uses == ()
    assert scan("- a\n- b\n", "w.yml", "workflow").uses == ()
    assert scan("jobs: [1, 2]\n", "w.yml", "workflow").uses == ()


def test_load_yaml_for_fetched_files() -> None:
    text = b"\xef\xbb\xbfon: push\njobs:\n  j:\n    steps:\n      - uses: a/b@v1\n"
    loaded = load_yaml(text, source="o/r@sha/.github/workflows/x.yml")
    assert loaded.kind == "workflow"
    assert loaded.data == {"on": "push", "jobs": {"j": {"steps": [{"uses": "a/b@v1"}]}}}
    assert [(s.line, s.relpath) for s in loaded.uses] == [(5, "o/r@sha/.github/workflows/x.yml")]
    action = load_yaml("runs:\n  using: node20\n  main: x.js\n", source="a/b@v1/action.yml")
    assert action.kind == "action"
    assert action.data == {"runs": {"using": "node20", "main": "x.js"}}


def test_plain_data_yaml_1_2_scalars() -> None:
    data = load_yaml("on: yes\na: 1\nb: 0x1F\nc: 1.5\nd: true\ne: ~\nf: '1'\n", source="s").data
    assert data == {"on": "yes", "a": 1, "b": 31, "c": 1.5, "d": True, "e": None, "f": "1"}


def test_corpus_every_uses_found(shared_dir: Path) -> None:
    """Every ``uses:`` the corpus lists (found with PyYAML) is found, same line, same value."""
    corpus = shared_dir / "corpus"
    if not (corpus / "consumer_uses.jsonl").is_file():
        pytest.skip("corpus consumer_uses.jsonl absent")
    expected: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for raw in (corpus / "consumer_uses.jsonl").read_text().splitlines():
        entry = json.loads(raw)
        kind = {"dynamic": "expression"}.get(entry["type"], entry["type"])
        items = expected.setdefault((entry["consumer"], entry["file"]), [])
        item = (entry["line"], entry["uses"], kind)
        if item not in items:  # the corpus lists an aliased value once per use; we once per text
            items.append(item)
    assert len(expected) > 200
    for (consumer, relpath), items in expected.items():
        path = corpus / "consumers" / consumer.replace("/", "__") / relpath
        source = read_source(path, relpath=relpath)
        got = [(s.line, s.value.raw, s.value.kind.value) for s in source.uses]
        assert got == items, relpath
        for site in source.uses:
            written = source.text[site.value_span.start : site.value_span.end]
            assert written.strip(site.quote) == site.value.raw
