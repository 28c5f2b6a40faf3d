"""The emulator's GraphQL shortcuts never change an answer.

Parsed and validated documents are memoized by query text, and resolver objects per snapshot
(:mod:`tests.forge.graphql`), so a stale entry would answer one request with another's data.
Each check here sends the same text with other variables, or reads the same snapshot under
another base URL, and compares with the answer worked out from the snapshot itself. The
server's fast indented JSON writer must give ``json.dumps(indent=2)``'s text for any value.
"""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest

from pinner.forge.snapshot import SnapshotData
from tests.forge import graphql as gql
from tests.forge.server import dumps_indented
from tests.test_emulator_graphql import FIXTURE_FORGE, post, run

REFS = """query($o: String!, $n: String!, $first: Int!) {
  rateLimit { cost nodeCount }
  repository(owner: $o, name: $n) {
    nameWithOwner
    refs(refPrefix: "refs/tags/", first: $first) { totalCount nodes { name target { oid } } }
  }
}"""


@pytest.fixture(scope="module")
def fixture_data() -> SnapshotData:
    if not FIXTURE_FORGE.is_dir():
        pytest.skip(f"{FIXTURE_FORGE} is absent")
    return SnapshotData(FIXTURE_FORGE)


def body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": variables or {}}).encode()


def test_same_text_other_variables_answers_for_those_variables(emulator, fixture_data):
    """One cached document, three requests: each answer is that request's repository and
    page size, and the node count (priced before execution) follows the variables too."""
    emu = emulator(FIXTURE_FORGE)
    tagged = [r for r in fixture_data.repo_names() if len(fixture_data.repo(r).tags()) >= 3]
    a, b = tagged[:2]
    for repo, first in ((a, 1), (b, 3), (a, 2)):
        owner, name = repo.split("/")
        data = run(emu.url, REFS, {"o": owner, "n": name, "first": first})
        snap = fixture_data.repo(repo)
        tags = snap.tags()[:first]
        assert data["repository"]["nameWithOwner"] == snap.name
        assert data["repository"]["refs"]["totalCount"] == len(snap.tags())
        assert data["repository"]["refs"]["nodes"] == [
            {"name": t.short, "target": {"oid": t.object}} for t in tags
        ]
        assert data["rateLimit"]["nodeCount"] == first


def test_same_text_variables_that_break_pagination_are_refused_after_a_valid_run(emulator):
    emu = emulator(FIXTURE_FORGE)
    variables = {"o": "pinner-fixtures", "n": "toolkit", "first": 2}
    assert run(emu.url, REFS, variables)["repository"]["refs"]["nodes"]
    refused = post(emu.url, REFS, {**variables, "first": 101}).json()
    assert set(refused) == {"errors"}
    assert refused["errors"][0]["type"] == "EXCESSIVE_PAGINATION"


def test_cached_errors_are_copies():
    """The error list of an invalid text is cached; a caller that edits its copy must not
    change what the next request with that text is told."""
    query = "{ nope }"
    first = gql.plan(body(query))
    assert isinstance(first, list)
    expected = json.dumps(first)
    first[0]["message"] = "edited"
    first[0]["locations"].clear()
    again = gql.plan(body(query))
    assert json.dumps(again) == expected


def test_document_cache_is_bounded():
    for i in range(gql.DOCUMENT_CACHE_SIZE + 10):
        assert not isinstance(gql.plan(body(f"query Q{i} {{ rateLimit {{ cost }} }}")), list)
    info = gql.checked_document.cache_info()
    assert info.maxsize == gql.DOCUMENT_CACHE_SIZE
    assert info.currsize <= gql.DOCUMENT_CACHE_SIZE


def test_objects_cached_per_snapshot_take_the_base_url_of_each_request():
    """Commit objects outlive a request; the URL they show is the requesting server's."""
    data = SnapshotData(FIXTURE_FORGE)
    query = """query($o: String!, $n: String!) { repository(owner: $o, name: $n) {
      defaultBranchRef { target { oid commitUrl } } } }"""
    plan = gql.plan(body(query, {"o": "pinner-fixtures", "n": "toolkit"}))
    assert not isinstance(plan, list)
    urls = []
    for base in ("http://one.test", "http://two.test"):
        target = gql.execute(plan, data, base, {})["data"]["repository"]["defaultBranchRef"]
        oid = target["target"]["oid"]
        urls.append(target["target"]["commitUrl"])
    assert urls == [
        f"{b}/pinner-fixtures/toolkit/commit/{oid}" for b in ("http://one.test", "http://two.test")
    ]


def test_each_snapshot_has_its_own_objects(tmp_path):
    """Two data directories with the same repository name: answers never cross over."""
    repo = tmp_path / "pinner-fixtures" / "toolkit"
    repo.mkdir(parents=True)
    sha = "1" * 40
    refs = {"default_branch": "main", "refs": [{"ref": "refs/heads/main", "object": sha}]}
    (repo / "refs.json").write_text(json.dumps(refs), encoding="utf-8")
    query = """{ repository(owner: "pinner-fixtures", name: "toolkit") {
      defaultBranchRef { target { oid } } } }"""
    plan = gql.plan(body(query))
    assert not isinstance(plan, list)
    fixture = gql.execute(plan, SnapshotData(FIXTURE_FORGE), "http://h", {})
    other = gql.execute(plan, SnapshotData(tmp_path), "http://h", {})
    toolkit = SnapshotData(FIXTURE_FORGE).repo("pinner-fixtures/toolkit")
    oid = toolkit.resolve(toolkit.default_branch)
    assert fixture["data"]["repository"]["defaultBranchRef"]["target"]["oid"] == oid
    assert other["data"]["repository"]["defaultBranchRef"]["target"]["oid"] == sha


LISTING = """query($o: String!, $n: String!) { repository(owner: $o, name: $n) {
  nameWithOwner refs(refPrefix: "refs/tags/", first: 5) { nodes { name target { oid } } } } }"""


def test_a_repeated_request_is_answered_from_memory_with_the_same_answer(monkeypatch):
    data = SnapshotData(FIXTURE_FORGE)
    runs: list[str] = []
    real = gql._execute

    def counting(plan, *args):
        runs.append(plan.variables["n"])
        return real(plan, *args)

    monkeypatch.setattr(gql, "_execute", counting)
    ask = {"o": "pinner-fixtures", "n": "toolkit"}
    first = gql.execute(gql.plan(body(LISTING, ask)), data, "http://h", {})
    again = gql.execute(gql.plan(body(LISTING, dict(reversed(ask.items())))), data, "http://h", {})
    assert again == first and runs == ["toolkit"]  # same variables in another order: memoized
    other = data.repo_names()[1].split("/")[1]
    gql.execute(gql.plan(body(LISTING, {**ask, "n": other})), data, "http://h", {})
    gql.execute(gql.plan(body(LISTING, ask)), data, "http://other", {})  # URLs differ
    gql.execute(gql.plan(body(LISTING, ask)), SnapshotData(FIXTURE_FORGE), "http://h", {})
    assert runs == ["toolkit", other, "toolkit", "toolkit"]


def test_rate_limit_answers_are_never_memoized(emulator):
    """``rateLimit`` follows the bucket: each request is answered as it stands then."""
    emu = emulator(FIXTURE_FORGE)
    query = "{ rateLimit { remaining used } }"
    seen = [run(emu.url, query)["rateLimit"] for _ in range(3)]
    assert [s["used"] for s in seen] == [1, 2, 3]
    assert len({s["remaining"] for s in seen}) == 3


def test_the_answer_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(gql, "ANSWER_CACHE_SIZE", 3)
    data = SnapshotData(FIXTURE_FORGE)
    for i in range(6):
        gql.execute(gql.plan(body(f"query Q{i} {{ __typename }}")), data, "http://h", {})
    assert len(gql._answers[data]) == 3


class _Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        [[], {}, [[]]],
        {"a": {"b": [1, -2, 10**30, True, False, None]}, "c": ""},
        {"é": 'ü\n"\\\t\u2028 😀', "x": "plain"},
        "alone",
        0,
        None,
        {"float": 1.5, "nan": float("nan")},  # floats: the standard library writes them
        {"tuple": (1, 2)},
        {1: "int key", None: "null key"},
        [_Level.HIGH],
    ],
)
def test_indented_json_is_the_standard_librarys_text(value):
    assert dumps_indented(value) == json.dumps(value, indent=2)
