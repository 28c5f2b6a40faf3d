"""The emulator's GitHub GraphQL endpoint, over real HTTP, against the data git and REST serve.

- every repository of ``fixtures/forge`` (real ``git ls-remote``) and of the corpus forge (the
  git endpoint's v2 ``ls-refs``): refs listed by batched GraphQL queries, paged with cursors
  to the end, equal what git lists (names, tag objects, peeled commits, HEAD);
- object lookups: commits, annotated tag objects (peeled through ``Tag.target``),
  fork-network and pull-only commits (as REST ``commits/{sha}`` serves them), unknown SHAs;
- GitHub's shapes: NOT_FOUND beside data, 401, invalid queries, pagination limits,
  RATE_LIMITED in a bucket of its own, faults, latency, the log and ``/_stats``.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from pinner.forge.snapshot import SnapshotData, format_date
from tests.conftest import REPO_ROOT
from tests.forge import gitproto
from tests.test_emulator_fidelity import ls_remote

FIXTURE_FORGE = REPO_ROOT / "fixtures" / "forge"
TOKEN = {"Authorization": "bearer not-a-secret"}
UNKNOWN_SHA = "0123456789abcdef0123456789abcdef01234567"
BATCH = 20  # repositories (or pages) per query, as a batching client would send
# a tag of a tag of a tag: deeper chains are peeled with object(oid:) follow-ups
TARGET = (
    "target { __typename oid ... on Tag { target { __typename oid "
    "... on Tag { target { __typename oid } } } } }"
)
PAGE = "totalCount pageInfo { hasNextPage endCursor } nodes { name " + TARGET + " }"


@functools.cache
def http() -> httpx.Client:
    """One client for the module: a new one per request costs ~70 ms (TLS context set-up)."""
    return httpx.Client(timeout=60)


def post(url: str, query: str, variables: dict | None = None, **kwargs: Any) -> httpx.Response:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    headers = kwargs.pop("headers", TOKEN)
    return http().post(url + kwargs.pop("path", "/graphql"), json=body, headers=headers, **kwargs)


def run(url: str, query: str, variables: dict | None = None, **kwargs: Any) -> dict[str, Any]:
    """A query that must succeed: its ``data``."""
    response = post(url, query, variables, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def lit(value: str) -> str:
    """A GraphQL string literal (JSON's escaping is valid GraphQL)."""
    return json.dumps(value)


def chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@pytest.fixture(scope="module")
def fixture_data() -> SnapshotData:
    if not FIXTURE_FORGE.is_dir():
        pytest.skip(f"{FIXTURE_FORGE} is absent: hand-made fixture snapshots not written yet")
    return SnapshotData(FIXTURE_FORGE)


# ---------------------------------------------------------------------------- ref listings


def peel(url: str, repo: str, target: dict[str, Any]) -> str:
    """The commit under a ref's ``target`` (nested tags followed, deeper ones looked up)."""
    while target["__typename"] == "Tag":
        if "target" not in target:
            owner, name = repo.split("/")
            query = (
                f"{{ repository(owner: {lit(owner)}, name: {lit(name)}) "
                f"{{ object(oid: {lit(target['oid'])}) {{ ... on Tag {{ {TARGET} }} }} }} }}"
            )
            target = run(url, query)["repository"]["object"]
        target = target["target"]
    assert target["__typename"] == "Commit", target
    return target["oid"]


def graphql_listing(url: str, repos: list[str], page: int = 100) -> dict[str, list]:
    """``{repo: [(name, oid), ...]}`` like ``git ls-remote`` prints, from GraphQL only.

    First round: one query per BATCH repositories, each asking HEAD, heads and tags; then
    one query per BATCH unfinished connections, each continuing ``after: endCursor``.
    """
    out: dict[str, list] = {repo: [] for repo in repos}
    pending: list[tuple[str, str, str | None]] = []  # (repo, prefix, cursor)

    def take(repo: str, prefix: str, conn: dict[str, Any]) -> None:
        for node in conn["nodes"]:
            out[repo].append((prefix + node["name"], node["target"]["oid"]))
            if node["target"]["__typename"] == "Tag":
                out[repo].append((prefix + node["name"] + "^{}", peel(url, repo, node["target"])))
        if conn["pageInfo"]["hasNextPage"]:
            pending.append((repo, prefix, conn["pageInfo"]["endCursor"]))

    for group in chunks(repos, BATCH):
        parts = []
        for i, repo in enumerate(group):
            owner, name = repo.split("/")
            parts.append(
                f"r{i}: repository(owner: {lit(owner)}, name: {lit(name)}) {{ nameWithOwner "
                f"defaultBranchRef {{ name target {{ oid }} }} "
                f'heads: refs(refPrefix: "refs/heads/", first: {page}) {{ {PAGE} }} '
                f'tags: refs(refPrefix: "refs/tags/", first: {page}) {{ {PAGE} }} }}'
            )
        data = run(url, "query { rateLimit { cost remaining } " + " ".join(parts) + " }")
        for i, repo in enumerate(group):
            got = data[f"r{i}"]
            assert got["nameWithOwner"] == repo
            if got["defaultBranchRef"] is not None:
                out[repo].append(("HEAD", got["defaultBranchRef"]["target"]["oid"]))
            take(repo, "refs/heads/", got["heads"])
            take(repo, "refs/tags/", got["tags"])
    while pending:
        batch, pending = pending[:BATCH], pending[BATCH:]
        parts = []
        for i, (repo, prefix, cursor) in enumerate(batch):
            owner, name = repo.split("/")
            parts.append(
                f"p{i}: repository(owner: {lit(owner)}, name: {lit(name)}) {{ "
                f"refs(refPrefix: {lit(prefix)}, first: {page}, after: {lit(cursor)}) "
                f"{{ {PAGE} }} }}"
            )
        data = run(url, "{ " + " ".join(parts) + " }")
        for i, (repo, prefix, _) in enumerate(batch):
            take(repo, prefix, data[f"p{i}"]["refs"])
    return out


def ordered(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """ls-remote order: HEAD, then refs by name, each ``^{}`` line after its ref."""
    head = [p for p in pairs if p[0] == "HEAD"]
    rest = sorted(
        (p for p in pairs if p[0] != "HEAD"), key=lambda p: (p[0].removesuffix("^{}"), p[0])
    )
    return head + rest


def heads_and_tags(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [p for p in pairs if p[0] == "HEAD" or p[0].startswith(("refs/heads/", "refs/tags/"))]


def git_endpoint_listing(url: str, repo: str) -> list[tuple[str, str]]:
    """The v2 ``ls-refs`` answer of the git endpoint, as ``ls-remote`` pairs."""
    body = b"".join(
        [
            gitproto.pkt("command=ls-refs\n"),
            gitproto.DELIM,
            gitproto.pkt("peel\n"),
            gitproto.pkt("symrefs\n"),
            gitproto.FLUSH,
        ]
    )
    response = http().post(
        f"{url}/{repo}.git/git-upload-pack",
        content=body,
        headers={
            **TOKEN,
            "Git-Protocol": "version=2",
            "Content-Type": "application/x-git-upload-pack-request",
        },
    )
    assert response.status_code == 200
    pairs = []
    for line in gitproto.parse_pkt_lines(response.content):
        if not line:
            continue
        oid, name, *attrs = line.decode().rstrip("\n").split(" ")
        pairs.append((name, oid))
        pairs += [(name + "^{}", a[len("peeled:") :]) for a in attrs if a.startswith("peeled:")]
    return pairs


def test_fixture_refs_equal_git_ls_remote(emulator, fixture_data):
    """Small pages (2 refs) so that every fixture repository with refs pages with cursors."""
    emu = emulator(FIXTURE_FORGE)
    repos = fixture_data.repo_names()
    got = graphql_listing(emu.url, repos, page=2)
    problems = []
    for repo in repos:
        expected = heads_and_tags(ls_remote(f"{emu.url}/{repo}.git", "2"))
        if ordered(got[repo]) != ordered(expected):
            problems.append(f"{repo}: graphql {ordered(got[repo])[:4]} != git {expected[:4]}")
    assert problems == []
    assert emu.stats()["graphql"] > len(repos) / BATCH  # paging needed follow-up queries


@pytest.mark.corpus
def test_corpus_refs_equal_the_git_endpoint_for_every_repository(emulator, corpus_forge_dir):
    emu = emulator(corpus_forge_dir)
    repos = emu.data.repo_names()
    assert len(repos) >= 100
    got = graphql_listing(emu.url, repos)
    problems = []
    for repo in repos:
        expected = heads_and_tags(git_endpoint_listing(emu.url, repo))
        if ordered(got[repo]) != ordered(expected):
            missing = sorted(set(expected) - set(got[repo]))[:3]
            extra = sorted(set(got[repo]) - set(expected))[:3]
            problems.append(f"{repo}: missing {missing}, unexpected {extra}")
    assert problems == []
    total = sum(len(v) for v in got.values())
    assert total >= 12_000  # the corpus README: 12,919 refs, plus ^{} lines and HEADs


# ---------------------------------------------------------------------------- object lookups

OBJECT = (
    "__typename oid abbreviatedOid commitUrl "
    "... on Commit { committedDate message parents(first: 5) { totalCount nodes { oid } } } "
    "... on Tag { name tagMessage: message tagger { date } target { __typename oid } }"
)


def lookups(url: str, repo: str, oids: list[str]) -> list[dict[str, Any] | None]:
    owner, name = repo.split("/")
    fields = " ".join(f"x{i}: object(oid: {lit(oid)}) {{ {OBJECT} }}" for i, oid in enumerate(oids))
    data = run(url, f"{{ o: repository(owner: {lit(owner)}, name: {lit(name)}) {{ {fields} }} }}")
    return [data["o"][f"x{i}"] for i in range(len(oids))]


def rest_commit(url: str, repo: str, sha: str) -> httpx.Response:
    return http().get(f"{url}/repos/{repo}/commits/{sha}", headers=TOKEN)


def check_objects(url: str, data: SnapshotData, repo: str) -> list[str]:
    """Every kind of object of one repository looked up by oid; the problems found."""
    snap = data.repo(repo)
    problems: list[str] = []
    tags = list(snap.tag_objects.values())[:3]  # loads the repository
    commits: dict[str, list] = {origin: [] for origin in ("refs", "network", "pull")}
    for rec in snap.commits.values():
        commits[rec.origin].append(rec)
    samples = [recs[0] for recs in commits.values() if recs]
    found = lookups(url, repo, [r.sha for r in samples] + [t.sha for t in tags] + [UNKNOWN_SHA])
    for rec, got in zip(samples, found, strict=False):
        rest = rest_commit(url, repo, rec.sha)
        expected = {
            "__typename": "Commit",
            "oid": rec.sha,
            "abbreviatedOid": rec.sha[:7],
            "commitUrl": f"{url}/{snap.name}/commit/{rec.sha}",
            "committedDate": rest.json()["commit"]["committer"]["date"],
            "message": rest.json()["commit"]["message"],
            "parents": {
                "totalCount": len(rec.parents),
                "nodes": [{"oid": p["sha"]} for p in rest.json()["parents"]][:5],
            },
        }
        if rest.status_code != 200 or got != expected:
            problems.append(f"{repo} {rec.origin} commit {rec.sha}: {got} != {expected}")
    for tag, got in zip(tags, found[len(samples) :], strict=False):
        rest = http().get(f"{url}/repos/{repo}/git/tags/{tag.sha}", headers=TOKEN).json()
        expected = {
            "__typename": "Tag",
            "oid": tag.sha,
            "abbreviatedOid": tag.sha[:7],
            "commitUrl": f"{url}/{snap.name}/commit/{tag.object_sha}",
            "name": rest["tag"],
            "tagMessage": rest["message"],
            "tagger": {"date": rest["tagger"]["date"]},
            "target": {"__typename": rest["object"]["type"].title(), "oid": rest["object"]["sha"]},
        }
        if got != expected:
            problems.append(f"{repo} tag {tag.sha}: {got} != {expected}")
    if found[-1] is not None:
        problems.append(f"{repo}: unknown SHA resolved to {found[-1]}")
    return problems


@pytest.mark.parametrize("check", ["objects", "compares"])
def test_fixture_objects_and_compares_match_rest(emulator, fixture_data, check):
    emu = emulator(FIXTURE_FORGE)
    compare = {"objects": check_objects, "compares": check_compares}[check]
    problems = [p for repo in fixture_data.repo_names() for p in compare(emu.url, emu.data, repo)]
    assert problems == []


@pytest.mark.corpus
def test_corpus_objects_match_rest_for_every_repository(emulator, corpus_forge_dir):
    """Commits, pull-only (impostor candidate) commits and tag objects of every repository."""
    emu = emulator(corpus_forge_dir)
    problems = [p for repo in emu.data.repo_names() for p in check_objects(emu.url, emu.data, repo)]
    assert problems == []


COMPARE = (
    "target { oid } compare(headRef: $h) { status aheadBy behindBy baseTarget { oid } "
    "headTarget { oid } commits(first: 100) { totalCount authorCount nodes { oid } } }"
)


def check_compares(url: str, data: SnapshotData, repo: str, max_refs: int = 12) -> list[str]:
    """``Ref.compare`` of refs with heads of every kind (a branch tip, a tag name, commits in
    history, fork-network and pull-only commits, an unknown SHA) against REST's
    ``compare/BASE...HEAD``: the same status and counts, the same commits, null where REST
    answers 404; the problems found."""
    snap = data.repo(repo)
    refs = list(snap.refs())[:max_refs]
    by_origin: dict[str, list[str]] = {}
    for rec in snap.commits.values():
        by_origin.setdefault(rec.origin, []).append(rec.sha)
    heads = [shas[len(shas) // 2] for shas in by_origin.values()] + [UNKNOWN_SHA]
    if refs:
        heads.append(refs[-1].short)  # a symbolic head: resolved as REST resolves it
    owner, name = repo.split("/")
    problems: list[str] = []
    for head in heads:
        fields = " ".join(
            f"c{i}: ref(qualifiedName: {lit(r.name)}) {{ {COMPARE} }}" for i, r in enumerate(refs)
        )
        query = (
            "query($o: String!, $n: String!, $h: String!) "
            f"{{ r: repository(owner: $o, name: $n) {{ {fields} }} }}"
        )
        answers = run(url, query, {"o": owner, "n": name, "h": head})["r"]
        for i, ref in enumerate(refs):
            got = answers[f"c{i}"]
            rest = http().get(
                f"{url}/repos/{repo}/compare/{ref.commit}...{head}?per_page=100", headers=TOKEN
            )
            where = f"{repo} {ref.name}...{head}"
            if got["target"]["oid"] != ref.object:
                problems.append(f"{where}: target {got['target']} is not {ref.object}")
            if rest.status_code == 404:
                if got["compare"] is not None:
                    problems.append(f"{where}: REST 404 but GraphQL {got['compare']}")
                continue
            body = rest.json()
            expected = {
                "status": body["status"].upper(),
                "aheadBy": body["ahead_by"],
                "behindBy": body["behind_by"],
                "baseTarget": {"oid": body["base_commit"]["sha"]},
                "headTarget": {"oid": snap.resolve(head)},
                "commits": {
                    "totalCount": body["total_commits"],
                    "authorCount": 1 if body["commits"] else 0,
                    "nodes": [{"oid": c["sha"]} for c in body["commits"]],
                },
            }
            if got["compare"] != expected:
                problems.append(f"{where}: GraphQL {got['compare']} != REST {expected}")
    return problems


@pytest.mark.corpus
def test_corpus_compares_match_rest(emulator, corpus_forge_dir):
    """actions/checkout with every ref (pull-only commits are its impostor candidates), and a
    few refs of every other repository."""
    emu = emulator(corpus_forge_dir)
    problems = check_compares(emu.url, emu.data, "actions/checkout", max_refs=200)
    for repo in emu.data.repo_names():
        problems += check_compares(emu.url, emu.data, repo, max_refs=2)
    assert problems == []


def test_fork_network_commit_is_served_by_sha_but_listed_nowhere(emulator, fixture_data):
    repo = "pinner-fixtures/checkout-lite"
    snap = fixture_data.repo(repo)
    snap.refs()  # loads the repository
    network = [r for r in snap.commits.values() if r.origin == "network"]
    assert network, "the fixture lost its fork-network commit"
    emu = emulator(FIXTURE_FORGE)
    (got,) = lookups(emu.url, repo, [network[0].sha])
    assert got is not None and got["__typename"] == "Commit"
    assert got["oid"] == network[0].sha
    assert got["parents"]["nodes"] == [{"oid": p} for p in network[0].parents]
    assert rest_commit(emu.url, repo, network[0].sha).status_code == 200  # REST agrees
    listed = graphql_listing(emu.url, [repo])[repo]
    assert network[0].sha not in {oid for _, oid in listed}


def test_nested_annotated_tag_ref_peels_through_tag_targets(emulator, fixture_data):
    nested = [
        (repo, ref)
        for repo in fixture_data.repo_names()
        for ref in fixture_data.repo(repo).tags()
        if ref.annotated and fixture_data.repo(repo).tag_objects[ref.object].object_type == "tag"
    ]
    assert nested, "the fixtures lost their tag of a tag"
    repo, ref = nested[0]
    emu = emulator(FIXTURE_FORGE)
    owner, name = repo.split("/")
    data = run(
        emu.url,
        f"{{ repository(owner: {lit(owner)}, name: {lit(name)}) "
        f"{{ ref(qualifiedName: {lit(ref.name)}) {{ name prefix {TARGET} }} }} }}",
    )
    got = data["repository"]["ref"]
    assert (got["name"], got["prefix"]) == (ref.short, "refs/tags/")
    assert got["target"]["__typename"] == "Tag" and got["target"]["oid"] == ref.object
    assert got["target"]["target"]["__typename"] == "Tag"
    assert peel(emu.url, repo, got["target"]) == ref.commit


def test_object_by_expression_blob_tree_commit_and_tag(emulator, fixture_data):
    def head(repo: str) -> str:
        snap = fixture_data.repo(repo)
        return snap.ref(f"refs/heads/{snap.default_branch}").ref.commit

    repo = next(
        r
        for r in fixture_data.repo_names()
        if any(t.annotated for t in fixture_data.repo(r).tags())
        and fixture_data.repo(r).listdir(head(r), "")
    )
    snap = fixture_data.repo(repo)
    filename = next(n for n, kind in snap.listdir(head(repo), "") if kind == "file")
    tag = next(t for t in snap.tags() if t.annotated)
    emu = emulator(FIXTURE_FORGE)
    owner, name = repo.split("/")
    data = run(
        emu.url,
        f"{{ repository(owner: {lit(owner)}, name: {lit(name)}) {{ "
        f"blob: object(expression: {lit('HEAD:' + filename)}) "
        "{ __typename oid ... on Blob { byteSize text } } "
        f"tree: object(expression: {lit(snap.default_branch + ':')}) {{ __typename }} "
        f"commit: object(expression: {lit(snap.default_branch)}) {{ __typename oid }} "
        f"tag: object(expression: {lit(tag.short)}) {{ __typename oid }} "
        f'none: object(expression: "no-such-ref") {{ oid }} }} }}',
    )["repository"]
    raw = http().get(f"{emu.url}/raw/{repo}/{head(repo)}/{filename}")
    assert data["blob"]["__typename"] == "Blob"
    assert data["blob"]["text"] == raw.text and data["blob"]["byteSize"] == len(raw.content)
    assert data["tree"] == {"__typename": "Tree"}
    assert data["commit"] == {"__typename": "Commit", "oid": head(repo)}
    assert data["tag"] == {"__typename": "Tag", "oid": tag.object}
    assert data["none"] is None


# ---------------------------------------------------------------------------- query semantics


def test_refs_prefix_is_a_plain_string_and_query_filters_names(emulator, fixture_data):
    repo = max(fixture_data.repo_names(), key=lambda r: len(fixture_data.repo(r).tags()))
    tags = [t.short for t in fixture_data.repo(repo).tags()]
    assert len(tags) > 100  # setup-widget: enough to need two pages
    emu = emulator(FIXTURE_FORGE)
    owner, name = repo.split("/")
    stem = tags[0][:2]
    data = run(
        emu.url,
        """query($o: String!, $n: String!, $p: String!, $q: String) {
          repository(owner: $o, name: $n) {
            plain: refs(refPrefix: $p, first: 100) { totalCount nodes { name } }
            filtered: refs(refPrefix: "refs/tags/", query: $q, first: 100) { totalCount }
            desc: refs(refPrefix: "refs/tags/", first: 3,
                       orderBy: {field: ALPHABETICAL, direction: DESC}) { nodes { name } }
            all: refs(refPrefix: "refs/", first: 1) { totalCount nodes { name prefix } }
          }
        }""",
        {"o": owner, "n": name, "p": f"refs/tags/{stem}", "q": tags[-1]},
    )["repository"]
    with_stem = sorted(t for t in tags if t.startswith(stem))
    assert data["plain"]["totalCount"] == len(with_stem)
    assert [n["name"] for n in data["plain"]["nodes"]] == [t[len(stem) :] for t in with_stem][:100]
    assert data["filtered"]["totalCount"] == sum(tags[-1] in t for t in tags)
    assert [n["name"] for n in data["desc"]["nodes"]] == sorted(tags, reverse=True)[:3]
    everything = fixture_data.repo(repo).refs()
    assert data["all"]["totalCount"] == len(everything)
    assert data["all"]["nodes"] == [{"name": everything[0].name[len("refs/") :], "prefix": "refs/"}]


def test_cursors_page_forwards_and_backwards_consistently(emulator, fixture_data):
    repo = max(fixture_data.repo_names(), key=lambda r: len(fixture_data.repo(r).tags()))
    emu = emulator(FIXTURE_FORGE)
    owner, name = repo.split("/")
    query = """query($o: String!, $n: String!, $first: Int, $last: Int, $after: String,
                     $before: String) {
      repository(owner: $o, name: $n) {
        refs(refPrefix: "refs/tags/", first: $first, last: $last, after: $after, before: $before) {
          totalCount
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          edges { cursor node { name } }
        }
      }
    }"""
    forward: list[str] = []
    cursors: list[str] = []
    after = None
    while True:
        conn = run(emu.url, query, {"o": owner, "n": name, "first": 100, "after": after})
        conn = conn["repository"]["refs"]
        forward += [e["node"]["name"] for e in conn["edges"]]
        cursors += [e["cursor"] for e in conn["edges"]]
        assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert forward == sorted(t.short for t in fixture_data.repo(repo).tags())
    assert len(forward) == conn["totalCount"]
    backward: list[str] = []
    before = None
    while True:
        conn = run(emu.url, query, {"o": owner, "n": name, "last": 30, "before": before})
        conn = conn["repository"]["refs"]["edges"]
        backward = [e["node"]["name"] for e in conn] + backward
        if not conn:
            break
        before = conn[0]["cursor"]
    assert backward == forward
    middle = run(
        emu.url,
        query,
        {"o": owner, "n": name, "first": 2, "after": cursors[4], "before": cursors[7]},
    )["repository"]["refs"]
    assert [e["node"]["name"] for e in middle["edges"]] == forward[5:7]
    bad = post(emu.url, query, {"o": owner, "n": name, "first": 1, "after": "not-a-cursor"}).json()
    assert bad["data"] == {"repository": {"refs": None}}
    assert bad["errors"][0]["type"] == "INVALID_CURSOR_ARGUMENTS"
    assert bad["errors"][0]["path"] == ["repository", "refs"]


def test_missing_repository_is_null_data_plus_not_found(emulator):
    emu = emulator(FIXTURE_FORGE)
    response = post(
        emu.url,
        '{\n  r0: repository(owner: "pinner-fixtures", name: "CHECKOUT-LITE") { nameWithOwner }\n'
        '  r1: repository(owner: "nobody", name: "nothing") { nameWithOwner }\n}',
    )
    assert response.status_code == 200
    assert response.json() == {
        "data": {"r0": {"nameWithOwner": "pinner-fixtures/checkout-lite"}, "r1": None},
        "errors": [
            {
                "type": "NOT_FOUND",
                "path": ["r1"],
                "locations": [{"line": 3, "column": 3}],
                "message": "Could not resolve to a Repository with the name 'nobody/nothing'.",
            }
        ],
    }


@pytest.mark.parametrize("path", ["/graphql", "/api/graphql"])
def test_anonymous_requests_are_refused_with_401(emulator, path):
    emu = emulator(FIXTURE_FORGE)
    response = post(emu.url, "{ rateLimit { cost } }", path=path, headers={})
    assert response.status_code == 401
    assert response.json()["message"] == "This endpoint requires you to be authenticated."
    assert "x-ratelimit-remaining" not in response.headers
    assert emu.requests[-1]["kind"] == "graphql" and emu.requests[-1]["status"] == 401


def test_ghes_path_answers_like_github_com(emulator):
    emu = emulator(FIXTURE_FORGE)
    query = '{ repository(owner: "pinner-fixtures", name: "toolkit") { id nameWithOwner } }'
    assert run(emu.url, query, path="/api/graphql") == run(emu.url, query)


@pytest.mark.parametrize(
    ("query", "kind", "message"),
    [
        (
            '{ repository(owner: "a", name: "b") { refs(refPrefix: "refs/") { totalCount } } }',
            "MISSING_PAGINATION_BOUNDARIES",
            "You must provide a `first` or `last` value to properly paginate the `refs` "
            "connection.",
        ),
        (
            '{ repository(owner: "a", name: "b") { refs(refPrefix: "refs/", first: 101) '
            "{ totalCount } } }",
            "EXCESSIVE_PAGINATION",
            "Requesting 101 records on the `refs` connection exceeds the `first` limit of 100 "
            "records.",
        ),
        (
            'query($n: Int = 500) { repository(owner: "a", name: "b") '
            '{ refs(refPrefix: "refs/", last: $n) { totalCount } } }',
            "EXCESSIVE_PAGINATION",
            "Requesting 500 records on the `refs` connection exceeds the `last` limit of 100 "
            "records.",
        ),
        (
            'query($n: Int) { repository(owner: "a", name: "b") '
            '{ refs(refPrefix: "refs/", first: $n) { totalCount } } }',
            "MISSING_PAGINATION_BOUNDARIES",
            "You must provide a `first` or `last` value to properly paginate the `refs` "
            "connection.",
        ),
        (
            '{ repository(owner: "a", name: "b") { object(oid: "x") '
            "{ ... on Commit { parents { totalCount } } } } }",
            "MISSING_PAGINATION_BOUNDARIES",
            "You must provide a `first` or `last` value to properly paginate the `parents` "
            "connection.",
        ),
    ],
)
def test_pagination_limits_refuse_the_whole_query(emulator, query, kind, message):
    emu = emulator(FIXTURE_FORGE)
    response = post(emu.url, query)
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body  # nothing ran (the repository does not even exist)
    (error,) = body["errors"]
    assert (error["type"], error["message"]) == (kind, message)
    assert error["path"][-1] in ("refs", "parents") and error["locations"]
    assert response.headers["x-ratelimit-used"] == "0"  # refused queries cost nothing


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ repository { id } }", "of type 'String!' is required"),
        ("{ nope }", "Cannot query field 'nope' on type 'Query'."),
        ("{ rateLimit { cost }", "Syntax Error"),
        ('{ repository(owner: "a", name: "b") { refs(first: 1) { totalCount } } }', "refPrefix"),
    ],
)
def test_invalid_queries_are_200_with_errors_and_no_data(emulator, query, expected):
    emu = emulator(FIXTURE_FORGE)
    response = post(emu.url, query)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"errors"}
    assert expected in body["errors"][0]["message"]
    assert body["errors"][0]["locations"]


def test_bodies_that_are_not_graphql_requests(emulator):
    emu = emulator(FIXTURE_FORGE)
    broken = http().post(emu.url + "/graphql", content=b"{not json", headers=TOKEN)
    assert broken.status_code == 400
    assert broken.json()["message"] == "Problems parsing JSON"
    no_query = http().post(emu.url + "/graphql", json={"variables": {}}, headers=TOKEN)
    assert no_query.status_code == 200
    assert no_query.json() == {
        "errors": [{"message": "A query attribute must be specified and must be a string."}]
    }
    assert http().get(emu.url + "/graphql", headers=TOKEN).status_code == 404


def test_fragments_variables_and_operation_name(emulator):
    emu = emulator(FIXTURE_FORGE)
    document = """
      fragment Page on RefConnection { totalCount nodes { name target { oid } } }
      query One($o: String!) {
        repository(owner: $o, name: "toolkit") {
          refs(refPrefix: "refs/tags/", first: 2) { ...Page }
        }
      }
      query Two { rateLimit { cost } }
    """
    body = {"query": document, "variables": {"o": "pinner-fixtures"}, "operationName": "One"}
    response = http().post(emu.url + "/graphql", json=body, headers=TOKEN).json()
    assert response["data"]["repository"]["refs"]["totalCount"] >= 1
    body["operationName"] = None
    ambiguous = http().post(emu.url + "/graphql", json=body, headers=TOKEN).json()
    assert set(ambiguous) == {"errors"}


# ---------------------------------------------------------------------------- knobs


def rate_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("x-ratelimit-")}


def test_rate_limit_is_a_separate_graphql_bucket_in_points(emulator):
    emu = emulator(FIXTURE_FORGE, graphql_rate_limit=3, rate_limit=100)
    query = "{ rateLimit { cost limit remaining used resetAt nodeCount } }"
    for used in (1, 2, 3):
        response = post(emu.url, query)
        headers = rate_headers(response)
        rate = response.json()["data"]["rateLimit"]
        assert headers["x-ratelimit-resource"] == "graphql"
        assert headers["x-ratelimit-used"] == str(used) == str(rate["used"])
        assert headers["x-ratelimit-remaining"] == str(3 - used) == str(rate["remaining"])
        assert headers["x-ratelimit-limit"] == "3" == str(rate["limit"])
        reset = int(headers["x-ratelimit-reset"])
        assert rate["resetAt"] == format_date(datetime.fromtimestamp(reset, UTC))
        assert rate["cost"] == 1 and rate["nodeCount"] == 0
    limited = post(emu.url, query)
    assert limited.status_code == 200
    assert limited.json() == {
        "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]
    }
    assert rate_headers(limited)["x-ratelimit-remaining"] == "0"
    assert emu.stats()["rate_limited"] == 1
    assert emu.requests[-1]["rate_limited"] is True
    # REST is untouched, and its /rate_limit reports the GraphQL bucket
    rest = http().get(emu.url + "/rate_limit", headers=TOKEN).json()["resources"]
    assert rest["core"]["used"] == 0
    assert (rest["graphql"]["limit"], rest["graphql"]["used"]) == (3, 3)
    repo = http().get(emu.url + "/repos/pinner-fixtures/toolkit", headers=TOKEN)
    assert repo.status_code == 200
    assert rate_headers(repo)["x-ratelimit-resource"] == "core"
    # a different token has a bucket of its own
    other = post(emu.url, query, headers={"Authorization": "bearer other"})
    assert other.json()["data"]["rateLimit"]["used"] == 1


def test_cost_and_node_count_follow_githubs_formula(emulator):
    emu = emulator(FIXTURE_FORGE)
    repos = "".join(
        f'r{i}: repository(owner: "a", name: "b") {{ '
        f'refs(refPrefix: "refs/tags/", first: 100) {{ nodes {{ target {{ ... on Commit '
        f"{{ parents(first: 5) {{ totalCount }} }} }} }} }} }} "
        for i in range(2)
    )
    rate = post(emu.url, "{ rateLimit { cost nodeCount } " + repos + "}").json()["data"]
    # per repository: 1 refs request + 100 parents requests; nodes 100 + 100 * 5
    assert rate["rateLimit"] == {"cost": 2, "nodeCount": 1200}
    dry = post(emu.url, "{ rateLimit(dryRun: true) { cost used } " + repos + "}").json()
    assert dry["data"]["rateLimit"] == {"cost": 2, "used": 2}  # not charged again
    dry_var = "query($d: Boolean) { rateLimit(dryRun: $d) { cost used } " + repos + "}"
    assert post(emu.url, dry_var, {"d": True}).json()["data"]["rateLimit"]["used"] == 2
    assert post(emu.url, dry_var, {"d": False}).json()["data"]["rateLimit"]["used"] == 4


def test_faults_latency_log_and_stats_apply_to_graphql(emulator, tmp_path: Path):
    log = tmp_path / "log.jsonl"
    emu = emulator(FIXTURE_FORGE, fail_rate=1.0, faults=("503",), retry_after=7, log=log)
    response = post(emu.url, "{ rateLimit { cost } }")
    assert response.status_code == 503 and response.headers["Retry-After"] == "7"
    assert emu.stats()["faults"] == {"503": 1}
    broken = emulator(FIXTURE_FORGE, fail_rate=1.0, faults=("reset",))
    with pytest.raises(httpx.TransportError):
        post(broken.url, "{ rateLimit { cost } }")
    slow = emulator(FIXTURE_FORGE, latency_ms=150)
    started = time.perf_counter()
    run(slow.url, "{ rateLimit { cost } }")
    assert time.perf_counter() - started >= 0.15
    healthy = emulator(FIXTURE_FORGE)
    for path in ("/graphql", "/api/graphql", "/graphql"):
        run(healthy.url, "{ rateLimit { cost } }", path=path)
    http().get(healthy.url + "/repos/pinner-fixtures/toolkit", headers=TOKEN)
    stats = http().get(healthy.url + "/_stats").json()
    assert (stats["graphql"], stats["rest"], stats["total"]) == (3, 1, 4)
    assert stats["endpoints"]["POST /graphql"] == 3
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["kind"], e["path"], e["status"], e["fault"]) for e in entries] == [
        ("graphql", "/graphql", 503, "503")
    ]
    http().get(healthy.url + "/_reset")
    assert healthy.stats()["graphql"] == 0
