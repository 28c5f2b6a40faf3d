"""One-record-per-line JSON documents read back exactly."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from pinner.formats.jsontext import dumps_document

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=10), values, max_size=6))
def test_round_trip(document):
    assert json.loads(dumps_document(document)) == document


def test_one_record_per_line():
    text = dumps_document({"schema": "x/1", "records": [{"a": 1}, {"b": "é"}], "empty": []})
    assert text.splitlines() == [
        "{",
        '  "schema": "x/1",',
        '  "records": [',
        '    {"a": 1},',
        '    {"b": "é"}',
        "  ],",
        '  "empty": []',
        "}",
    ]
