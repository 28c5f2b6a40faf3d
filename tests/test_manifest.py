"""The checksums manifest: deterministic text, strict reading."""

from __future__ import annotations

import json

import pytest

from pinner.core.manifest import (
    SCHEMA,
    FoundIn,
    Manifest,
    ManifestEntry,
    group_by_url,
    load_manifest,
)
from pinner.errors import InputError

A = "a" * 64
B = "b" * 64


def entry(url: str, sha: str = A, **kw) -> ManifestEntry:
    return ManifestEntry(url=url, sha256=sha, size=3, **kw)


def test_text_is_sorted_and_stable_whatever_the_input_order():
    places = (FoundIn("o/r@1", "action.yml", 9), FoundIn("o/r@1", "action.yml", 2))
    one = Manifest((entry("https://b.example/x", found_in=places), entry("https://a.example/y")))
    two = Manifest(
        (entry("https://a.example/y"), entry("https://b.example/x", found_in=places[::-1]))
    )
    assert one.to_text() == two.to_text()
    data = json.loads(one.to_text())
    assert data["schema"] == SCHEMA
    assert list(data["downloads"]) == ["https://a.example/y", "https://b.example/x"]
    assert [f["line"] for f in data["downloads"]["https://b.example/x"]["found_in"]] == [2, 9]
    assert one.to_text().endswith("}\n")


def test_round_trip(tmp_path):
    m = Manifest(
        (
            entry(
                "https://a.example/v1.0/t.tgz",
                B,
                mutable=True,
                mutable_reasons=("piped to a shell",),
                release_digest="sha256:" + B,
                found_in=(FoundIn(".", ".github/workflows/ci.yml", 12),),
            ),
        )
    )
    path = tmp_path / "m.json"
    path.write_text(m.to_text())
    assert load_manifest(path).to_text() == m.to_text()


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe",
        b"[]",
        b'{"schema": "other/1", "downloads": {}}',
        json.dumps({"schema": SCHEMA, "downloads": {"ftp://x": {"sha256": A, "size": 1}}}).encode(),
        json.dumps(
            {"schema": SCHEMA, "downloads": {"https://x": {"sha256": "zz", "size": 1}}}
        ).encode(),
        json.dumps(
            {"schema": SCHEMA, "downloads": {"https://x": {"sha256": A, "size": -1}}}
        ).encode(),
        # wrong types deeper down: never a TypeError/ValueError/OverflowError traceback
        json.dumps(
            {"schema": SCHEMA, "downloads": {"https://x": {"sha256": A, "size": 1, "found_in": 7}}}
        ).encode(),
        b'{"schema": "pinner.checksums/1", "downloads": {"https://x": {"sha256": "'
        + A.encode()
        + b'", "size": 1, "found_in": [{"origin": ".", "file": "f", "line": 1e400}]}}}',
        b'{"schema": "pinner.checksums/1", "downloads": {}, "n": ' + b"9" * 5000 + b"}",
    ],
)
def test_malformed_manifests_are_input_errors(tmp_path, content):
    path = tmp_path / "m.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_manifest(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_a_json_file_without_a_schema_says_so_in_words(tmp_path):
    path = tmp_path / "m.json"
    path.write_text('{"downloads": {}}')
    with pytest.raises(InputError) as info:
        load_manifest(path)
    assert "no 'schema' key (expected 'pinner.checksums/1')" in str(info.value)
    assert "None" not in str(info.value)


def test_group_by_url_merges_duplicate_places():
    p = FoundIn("o/r@1", "x.sh", 3)
    grouped = group_by_url([("https://u", p), ("https://u", p), ("https://a", p)])
    assert list(grouped) == ["https://a", "https://u"]
    assert grouped["https://u"] == (p,)
