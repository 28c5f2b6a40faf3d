"""Hostile and broken inputs: each is one clear InputError (or an INVALID site), fast."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinner.errors import EXIT_USAGE, InputError
from pinner.models import UsesKind
from pinner.sources import yamlsafe
from pinner.sources.reading import load_yaml, read_source
from pinner.sources.scan import scan
from pinner.sources.yamlsafe import compose

pytestmark = pytest.mark.timeout(20)

STEP = "jobs:\n  j:\n    steps:\n      - uses: {}\n"


def write(tmp_path: Path, data: bytes, name: str = "ci.yml") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        read_source(path, relpath=path.name)
    error = info.value
    assert error.exit_code == EXIT_USAGE
    assert "\n" not in str(error)
    assert str(error).startswith(path.name + ":")
    return error


def test_bom_and_crlf_kept(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + STEP.format("o/r@v1").replace("\n", "\r\n").encode()
    source = read_source(write(tmp_path, data), relpath="ci.yml")
    assert source.bom is True
    assert source.newline == "\r\n"
    assert not source.text.startswith("\ufeff")
    assert source.text.encode() == data[3:]
    assert source.uses[0].value.raw == "o/r@v1"


def test_relpath_from_root_and_kind_from_name(tmp_path: Path) -> None:
    sub = tmp_path / "x"
    sub.mkdir()
    path = write(sub, b"runs:\n  using: composite\n  steps: []\n", "action.yaml")
    source = read_source(path, root=tmp_path)
    assert (source.relpath, source.kind) == ("x/action.yaml", "action")


def test_file_over_the_cap_refused_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yml"
    with path.open("wb") as handle:  # sparse 50 MB file: refusing must not read it
        handle.truncate(50 * 1024 * 1024)
    error = refused(path)
    assert "over the" in str(error)


def test_cap_is_configurable(tmp_path: Path) -> None:
    path = write(tmp_path, STEP.format("o/r@v1").encode())
    with pytest.raises(InputError, match="limit"):
        read_source(path, max_bytes=10)


def test_nul_bytes_are_binary(tmp_path: Path) -> None:
    error = refused(write(tmp_path, b"a: 1\nb: \x00\x01\x02\n"))
    assert "binary" in str(error) and error.line == 2


def test_latin1_refused_with_line(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "a: 1\nname: caf\xe9\n".encode("latin-1")))
    assert "UTF-8" in str(error) and error.line == 2


def test_utf16_refused(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "a: 1\n".encode("utf-16")))
    assert "UTF-16" in str(error)


def test_malformed_yaml_has_line(tmp_path: Path) -> None:
    error = refused(write(tmp_path, b"jobs:\n  j:\n    steps:\n  - uses: [a\n    b: c\n"))
    assert "malformed YAML" in str(error)
    assert error.line is not None and error.line >= 4


def test_tab_indentation_refused(tmp_path: Path) -> None:
    refused(write(tmp_path, b"jobs:\n\tj: 1\n"))


def test_control_character_refused(tmp_path: Path) -> None:
    refused(write(tmp_path, b"a: \x1b[31m\n"))


def test_billion_laughs_refused_fast(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("jobs: *j")
    error = refused(write(tmp_path, ("\n".join(lines) + "\n").encode()))
    assert "alias" in str(error)


def test_moderate_aliases_accepted(tmp_path: Path) -> None:
    text = "x: &env {A: 1, B: 2, C: 3}\njobs:\n" + "".join(
        f"  j{i}:\n    env: *env\n    steps:\n      - uses: o/r@v1\n" for i in range(200)
    )
    source = read_source(write(tmp_path, text.encode()))
    assert len(source.uses) == 200


def test_recursive_alias_refused(tmp_path: Path) -> None:
    error = refused(write(tmp_path, b"a: &a [1, *a]\n"))
    assert "recursive alias" in str(error)


def test_undefined_alias_refused(tmp_path: Path) -> None:
    refused(write(tmp_path, b"a: *nope\n"))


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 100_000 + "]" * 100_000,
        "a: " + "{a: " * 100_000 + "}" * 100_000,
        "- " * 100_000 + "x\n",
        "".join(" " * i + f"k{i}:\n" for i in range(300)),
    ],
    ids=["flow-seq", "flow-map", "block-seq", "block-map"],
)
def test_deep_nesting_refused_fast(tmp_path: Path, text: str) -> None:
    error = refused(write(tmp_path, text.encode()))
    assert "nesting" in str(error) or "malformed" in str(error)


def test_node_count_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsafe, "MAX_NODES", 1000)
    read_source(write(tmp_path, b"- a\n" * 900, "ok.yml"))
    error = refused(write(tmp_path, b"- []\n" * 1200))
    assert "more than 1,000 YAML nodes" in str(error)


def test_multiple_documents_refused(tmp_path: Path) -> None:
    error = refused(write(tmp_path, b"a: 1\n---\nb: 2\n"))
    assert "more than one YAML document" in str(error) and error.line == 2


@pytest.mark.parametrize(
    ("text", "key", "lines"),
    [
        (STEP.format("a/b@v1") + "        uses: c/d@v1\n", "uses", (4, 5)),
        (STEP.format("a/b@v1") + '        "uses": c/d@v1\n', "uses", (4, 5)),  # same key
        ("on: push\njobs: {}\non: pull_request\n", "on", (1, 3)),
        ("jobs:\n  j: {uses: a/b@v1, uses: c/d@v1}\n", "uses", (2, 2)),
        ("a:\n  b: 1\n  c:\n    d: 1\n    d: 2\n", "d", (4, 5)),  # at any depth
    ],
)
def test_a_key_given_twice_is_refused_with_both_lines(
    tmp_path: Path, text: str, key: str, lines: tuple[int, int]
) -> None:
    error = refused(write(tmp_path, text.encode()))
    assert f"duplicate key {key!r} in one mapping (lines {lines[0]} and {lines[1]})" in str(error)
    assert error.line == lines[1]


def test_equal_keys_in_different_mappings_are_fine() -> None:
    text = (
        "jobs:\n  a:\n    steps:\n      - uses: a/b@v1\n      - uses: c/d@v1\n  b: {uses: e/f@v1}\n"
    )
    assert len(scan(text, "w.yml", "workflow").uses) == 3
    assert compose("{[1]: a, [2]: b, x: 1}", source="x") is not None  # keys that are lists


def test_long_line_is_fine(tmp_path: Path) -> None:
    text = STEP.format("o/r@v1") + "    env:\n      X: " + "x" * 100_000 + "\n"
    text = "name: " + "y" * 100_000 + "\n" + text
    source = read_source(write(tmp_path, text.encode()))
    assert [s.value.raw for s in source.uses] == ["o/r@v1"]


@pytest.mark.parametrize(
    "value",
    ["owner/repo/../../x@v1", "ow\u202ener/repo@v1", "оwner/repo@v1", "o/r@v1\u200b"],
)
def test_odd_uses_values_are_invalid_sites(tmp_path: Path, value: str) -> None:
    source = read_source(write(tmp_path, STEP.format(f'"{value}"').encode()))
    assert source.uses[0].value.kind is UsesKind.INVALID


def test_directory_and_missing_and_fifo(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory"):
        read_source(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        read_source(tmp_path / "missing.yml")
    fifo = tmp_path / "fifo.yml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_source(fifo)


def test_load_yaml_guards() -> None:
    with pytest.raises(InputError, match="binary"):
        load_yaml(b"a: \x00", source="x/action.yml")
    with pytest.raises(InputError, match="UTF-8"):
        load_yaml(b"a: \xff", source="x/action.yml")
    with pytest.raises(InputError, match=r"^x/action.yml:\d+: malformed YAML"):
        load_yaml("a: [", source="x/action.yml")
    with pytest.raises(InputError, match="limit"):
        load_yaml("a: b\n", source="x", max_bytes=2)
    with pytest.raises(InputError, match="alias"):
        load_yaml(
            "a: &a [1,1,1,1,1,1,1,1,1,1]\n"
            + "".join(
                f"{c}: &{c} [" + ",".join([f"*{p}"] * 10) + "]\n"
                for p, c in zip("abcdefgh", "bcdefghi", strict=True)
            ),
            source="x",
        )


@pytest.mark.skipif(not yamlsafe.HAS_LIBYAML, reason="libyaml binding not installed")
def test_pure_and_libyaml_compose_identically() -> None:
    """Without ruamel.yaml.clibz the pure parser is used: it must give the same nodes."""
    text = (
        "\ufeff"[1:] + "on: push\r\njobs:\r\n  j:\r\n    steps:\r\n"
        "      - &s {uses: 'a/b@v1', with: {x: \"é # y\"}} # c\r\n"
        "      - *s\r\n      - uses: !!str c/d@v2\r\n      - uses: >-\r\n          e/f@v3\r\n"
    )
    fast = compose(text, source="t")
    pure = yamlsafe._compose_events(text, source="t", loader_cls=yamlsafe._PureLoader)
    assert repr(fast) == repr(pure)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        st.characters(blacklist_categories=("Cs",)) | st.sampled_from(list(":-[]{}&*!|>'\"#\n ")),
        max_size=200,
    )
)
def test_arbitrary_text_is_scanned_or_refused(text: str) -> None:
    """Whatever the text, scanning returns sites or raises InputError: never anything else."""
    try:
        source = scan(text, "fuzz.yml", "workflow")
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    for site in source.uses:
        assert 0 <= site.value_span.start <= site.value_span.end <= len(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_loaded_or_refused(data: bytes) -> None:
    try:
        loaded = load_yaml(data, source="fuzz.yml")
    except InputError as exc:
        assert str(exc).startswith("fuzz.yml") and "\n" not in str(exc)
        return
    assert not loaded.text.startswith("\ufeff")


def test_lone_surrogate_refused() -> None:
    with pytest.raises(InputError, match=r"Unicode|unacceptable character"):
        load_yaml("a: \udc80\n", source="x.yml")
