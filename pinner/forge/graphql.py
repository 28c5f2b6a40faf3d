"""GitHub's GraphQL API as a batching channel: many repositories per request.

Why: git ``ls-refs`` lists a repository's refs in one request, but it is one request *per
repository*, and the REST API is one request per commit or tag object. A workflow tree that
uses 120 repositories therefore costs 120 round trips before anything else can happen. One
GraphQL query can carry many repositories under aliases (``r0: repository(...) {...}``), so
the same questions travel in a handful of requests.

The impostor check's comparisons travel the same way: ``Ref.compare(headRef:)`` under aliases
compares a commit with 50 refs in one query, where REST needs a ``compare`` request per ref.

GraphQL is only used where it gives the very answer the other channels give, in one page:

* it needs a token (GitHub refuses anonymous GraphQL), so without one nothing here runs;
* a repository with more than :data:`REF_PAGE` branches or tags, an annotated tag nested
  deeper than we peel, a repository GraphQL cannot find (renamed, private, missing: git says
  which, in its own words) or an answer we cannot attribute is left to git or REST for that
  repository or object: each such answer is ``None`` below, "ask the other channel";
* an endpoint that is missing or refuses the query (HTTP 4xx, a query-level error) switches
  GraphQL off for the rest of the run; everything then goes the per-repository way.

Rate limits and retries are the transport's (an exhausted GraphQL budget is an HTTP 200 with a
``RATE_LIMITED`` error, which the transport recognises). Malformed answers are RemoteErrors,
as from any channel.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pinner.errors import RemoteError

# the batch sizes live where importing them costs nothing; re-exported as GraphQL's own
from pinner.forge.batch_sizes import COMPARES_PER_QUERY as COMPARES_PER_QUERY
from pinner.forge.batch_sizes import OBJECTS_PER_QUERY as OBJECTS_PER_QUERY
from pinner.forge.batch_sizes import REPOS_PER_QUERY as REPOS_PER_QUERY
from pinner.forge.http import RequestKind, Transport, safe_url
from pinner.forge.rest import JsonShape, split_repo
from pinner.models import (
    SHA_RE,
    Commit,
    Comparison,
    GitRef,
    RefListing,
    RepoInfo,
    TagObject,
    is_database_id,
)

log = logging.getLogger("pinner.forge")

K = TypeVar("K")
T = TypeVar("T")

REF_PAGE = 100  # GitHub's maximum page size for a connection
PARENT_PAGE = 100
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
_PEEL_DEPTH = 3  # tags of tags of tags: deeper nesting is left to git, which peels fully

# What a ref points at, peeled _PEEL_DEPTH tags deep. Listings hold thousands of refs and every
# field is work for the server (and bytes on the wire), so each level asks only what
# parse_listing reads: ``oid``, and a Tag's own ``target``. Whether that nested ``target`` key is
# present tells a tag from anything else, so no level but the innermost needs ``__typename``;
# the innermost one does, to tell *yet another* tag (too deep: git answers) from a commit.
_TARGET = "target { __typename oid }"
for _ in range(_PEEL_DEPTH):
    _TARGET = "target { oid ... on Tag { " + _TARGET + " } }"

REPO_FRAGMENT = """
fragment Repo on Repository {
  databaseId
  nameWithOwner
  isArchived
  url
  defaultBranchRef { name }
  owner { login ... on Organization { databaseId } ... on User { databaseId } }
}
"""
"""What a repository is now (:func:`parse_repo_node`): ids, current name, default branch."""

REFS_FRAGMENTS = f"""
fragment Listing on Repository {{
  ...Repo
  heads: refs(refPrefix: "refs/heads/", first: {REF_PAGE}) {{ ...RefPage }}
  tags: refs(refPrefix: "refs/tags/", first: {REF_PAGE}) {{ ...RefPage }}
}}
fragment RefPage on RefConnection {{
  totalCount
  nodes {{ name {_TARGET} }}
}}
{REPO_FRAGMENT}"""
"""The listing of one repository: a page of branches and a page of tags, and the repository's
metadata (``...Repo``: a few fields beside up to 200 refs). ``pinner lock`` needs the ids of
every repository whose refs it lists: asked here, the listing answers them too, where a
separate ``Repos`` query cost a request and a round trip per 20 repositories in every run.

A page is complete when ``totalCount == len(nodes)``: every ref the server counts is on it.
That is the one completeness check :func:`parse_listing` needs, so a page does not also ask
``pageInfo { hasNextPage }``: on a first page it says nothing the count does not (there is a
next page exactly when the count exceeds the page), and it would not notice a page that came
back short of what the count says. ``totalCount`` is one field where ``pageInfo`` is two per
connection; :data:`OBJECT_FRAGMENT` checks a commit's parents the same way.
"""

OBJECT_FRAGMENT = f"""
fragment Obj on GitObject {{
  __typename
  oid
  ... on Commit {{
    committedDate
    parents(first: {PARENT_PAGE}) {{ totalCount nodes {{ oid }} }}
  }}
  ... on Tag {{ name tagger {{ date }} target {{ __typename oid }} }}
}}
"""


def graphql_url(api_url: str) -> str:
    """Where GraphQL lives for an API base: ``api.github.com/graphql``, GHES
    ``HOST/api/graphql`` (its REST API is ``HOST/api/v3``)."""
    api = api_url.rstrip("/")
    if api.endswith("/api/v3"):
        return api[: -len("/v3")] + "/graphql"
    return api + "/graphql"


@dataclass(frozen=True, slots=True)
class Missing:
    """GraphQL's definitive "no such object in this repository" (``object(oid:)`` is null)."""


MISSING = Missing()
ObjectAnswer = Commit | TagObject | Missing


class GraphQLClient:
    """Posts queries to one GraphQL endpoint through the shared transport."""

    def __init__(self, transport: Transport, url: str) -> None:
        self.transport = transport
        self.url = url
        self.unavailable: str | None = None  # why GraphQL is off for the rest of the run

    @property
    def usable(self) -> bool:
        return self.unavailable is None and self.transport.authenticated

    async def query(
        self, text: str, variables: Mapping[str, str], what: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """``(data, errors)`` of one query; None when GraphQL cannot be used (now switched off).

        Remote failures (network, 5xx after retries, rate limits) propagate: git or REST would
        meet the same server.
        """
        if not self.usable:
            return None
        response = await self.transport.request(
            "POST",
            self.url,
            kind=RequestKind.GRAPHQL,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            content=json.dumps({"query": text, "variables": dict(variables)}).encode(),
            max_bytes=MAX_RESPONSE_BYTES,
            what=what,
        )
        if response.from_another_host:
            # an answer serves every caller of its batch, and a commit is kept for ever: one
            # the forge did not give cannot be this run's only, so it is not taken at all
            self.switch_off(f"answered by another host ({safe_url(response.url)})")
            return None
        if response.status != 200:
            self.switch_off(f"HTTP {response.status} from {safe_url(response.url)}")
            return None
        payload = response.json(what)
        if not isinstance(payload, dict):
            raise RemoteError(f"{what}: expected a JSON object from {safe_url(response.url)}")
        errors = payload.get("errors") or []
        if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
            raise RemoteError(f"{what}: malformed 'errors' from {safe_url(response.url)}")
        data = payload.get("data")
        if not isinstance(data, dict):
            # the whole query failed (refused, too costly, timed out): not a per-repo answer
            message = next((str(e.get("message", ""))[:200] for e in errors), "no data")
            self.switch_off(f"query refused: {self.transport.scrub(message)}")
            return None
        return data, errors

    def switch_off(self, reason: str) -> None:
        log.info("GraphQL unavailable (%s); asking git and REST instead", reason)
        self.unavailable = reason


@dataclass(frozen=True, slots=True)
class _Answer:
    """A query's data, its errors, and the top-level aliases those errors belong to."""

    data: dict[str, Any]
    errors: list[dict[str, Any]]
    failed: frozenset[str]


async def _ask(
    client: GraphQLClient, text: str, variables: Mapping[str, str], what: str
) -> _Answer | None:
    """Run an aliased query; None when its answer cannot be attributed alias by alias (an
    error that names no alias switches GraphQL off: nothing in that answer is trusted)."""
    answer = await client.query(text, variables, what)
    if answer is None:
        return None
    data, errors = answer
    failed: set[str] = set()
    for error in errors:
        path = error.get("path")
        if not (isinstance(path, list) and path and isinstance(path[0], str)):
            client.switch_off("an error not tied to a repository")
            return None
        failed.add(path[0])
    return _Answer(data, errors, frozenset(failed))


def _repo_variables(repos: Sequence[str]) -> tuple[str, dict[str, str]]:
    """``$o0: String!, $n0: String!, ...`` and their values, one pair per repository."""
    declarations: list[str] = []
    variables: dict[str, str] = {}
    for i, repo in enumerate(repos):
        owner, name = split_repo(repo)
        declarations.append(f"$o{i}: String!, $n{i}: String!")
        variables[f"o{i}"], variables[f"n{i}"] = owner, name
    return ", ".join(declarations), variables


def repositories_query(
    operation: str, fragment: str, fragments: str, repos: Sequence[str]
) -> tuple[str, dict[str, str]]:
    """The query (and its variables) asking ``...fragment`` of every repository in ``repos``,
    aliased ``r0``, ``r1``...; ``fragments`` defines it."""
    declarations, variables = _repo_variables(repos)
    fields = "\n".join(
        f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{ ...{fragment} }}"
        for i in range(len(repos))
    )
    return f"query {operation}({declarations}) {{\n{fields}\n}}\n{fragments}", variables


async def ask_repositories(
    client: GraphQLClient,
    repos: Sequence[str],
    query: tuple[str, Mapping[str, str]],
    what: str,
    parse: Callable[[str, Any], T | None],
) -> dict[str, T | None]:
    """Run a :func:`repositories_query` and ``parse`` each repository's answer; None where the
    other channel must answer (GraphQL off; the repository missing, renamed away, private or
    with an error: git or REST says which, in its own words)."""
    answer = await _ask(client, *query, what)
    if answer is None:
        return dict.fromkeys(repos)
    result: dict[str, T | None] = {}
    for i, repo in enumerate(repos):
        alias = f"r{i}"
        node = answer.data.get(alias)
        result[repo] = None if alias in answer.failed or node is None else parse(repo, node)
    return result


# ----------------------------------------------------------------------------- ref listings


def refs_query(repos: Sequence[str]) -> tuple[str, dict[str, str]]:
    """The query (and its variables) listing refs of every repository, aliased ``r0``...."""
    return repositories_query("Refs", "Listing", REFS_FRAGMENTS, repos)


Listed = tuple[RefListing | None, RepoInfo | None]
"""A repository's ref listing and its metadata, from one answer; None where git (for the
refs) or REST (for the metadata: a ``Repos`` query would say no more) must answer."""


async def list_refs_many(client: GraphQLClient, repos: Sequence[str]) -> dict[str, Listed]:
    """The ref listing and metadata of each ``owner/name`` in ``repos``."""
    what = f"list refs of {len(repos)} repositories"
    answers = await ask_repositories(client, repos, refs_query(repos), what, _parse_listed)
    return {repo: answer or (None, None) for repo, answer in answers.items()}


def _parse_listed(repo: str, node: Any) -> Listed:
    """One ``...Listing`` answer: the refs, and the metadata beside them when it is whole."""
    try:
        info = parse_repo_node(repo, node)
    except RemoteError:
        info = None  # asked again on its own if needed; the refs need not wait for that
    return parse_listing(repo, node), info


def parse_listing(repo: str, node: Any) -> RefListing | None:
    """One ``...Listing`` answer as a :class:`RefListing` in git's order (by full ref name);
    None when it is incomplete (more than a page of refs, a tag nested too deep).

    A target is a Tag when it has a nested ``target`` (only ``... on Tag`` asks for one), and
    the commit otherwise; see :data:`REFS_FRAGMENTS` for what a complete page is.

    Plain dict access in one ``try``: listings hold thousands of refs, and a typed accessor per
    field cost more than the rest of the run's JSON handling together.
    """
    refs: list[GitRef] = []
    try:
        for prefix, key in (("refs/heads/", "heads"), ("refs/tags/", "tags")):
            page = node[key]
            if page is None:
                return None  # a connection GraphQL could not resolve: git will say
            nodes = page["nodes"]
            total = page["totalCount"]
            if type(total) is not int or type(nodes) is not list:
                raise TypeError(key)
            if total != len(nodes):
                return None  # more refs than a page (or a page short of them): git lists all
            for raw in nodes:
                name, target = raw["name"], raw["target"]
                peeled = target
                for _ in range(_PEEL_DEPTH):
                    if "target" not in peeled:
                        break  # not a Tag: the commit (a tree or blob is taken as it is)
                    peeled = peeled["target"]
                else:
                    if peeled["__typename"] == "Tag":
                        return None  # a tag nested deeper than we peel: git peels fully
                obj, commit = target["oid"], peeled["oid"]
                if not (type(name) is str and SHA_RE.match(obj) and SHA_RE.match(commit)):
                    raise TypeError(name)
                if name:
                    refs.append(GitRef(name=prefix + name, object=obj, commit=commit))
        default = node["defaultBranchRef"]
        default_branch = default["name"] if default is not None else None
        if default_branch is not None and type(default_branch) is not str:
            raise TypeError("defaultBranchRef")
        archived = node.get("isArchived")
        if archived is not None and type(archived) is not bool:
            raise TypeError("isArchived")
    except (KeyError, TypeError, IndexError) as exc:
        raise RemoteError(f"refs of {repo}: malformed GraphQL answer near {exc!s:.60}") from None
    refs.sort(key=lambda r: r.name)
    return RefListing(
        repo=repo, refs=tuple(refs), default_branch=default_branch or None, archived=archived
    )


def parse_repo_node(repo: str, node: object) -> RepoInfo | None:
    """One ``...Repo`` answer for ``repo``; None when it lacks what REST would give (an empty
    repository has no default branch, an id GitHub withholds): REST then answers."""
    try:
        if not isinstance(node, dict):
            raise TypeError(type(node).__name__)
        owner = node["owner"]
        default = node["defaultBranchRef"]
        repo_id, owner_id = node["databaseId"], owner.get("databaseId")
        name, url, archived = node["nameWithOwner"], node["url"], node["isArchived"]
        if not (isinstance(name, str) and name.count("/") == 1 and isinstance(url, str)):
            raise TypeError("nameWithOwner")
        if not isinstance(archived, bool):
            raise TypeError("isArchived")
    except (KeyError, TypeError, AttributeError) as exc:
        where = f"{exc!s:.60}"
        raise RemoteError(f"metadata of {repo}: malformed GraphQL answer near {where}") from None
    ids_ok = is_database_id(repo_id) and is_database_id(owner_id)
    if default is None or not isinstance(default.get("name"), str) or not ids_ok:
        return None
    return RepoInfo(
        full_name=name,
        default_branch=default["name"],
        html_url=url,
        archived=archived,
        repo_id=repo_id,
        owner_id=owner_id,
    )


# ----------------------------------------------------------------------------- objects


def objects_query(
    keys: Sequence[tuple[str, str]],
) -> tuple[str, dict[str, str], dict[str, list[str]]]:
    """The query (and its variables) looking up every ``(repo, sha)``: repository ``rI``,
    object ``xJ`` within it; also the SHAs per repository in alias order."""
    per_repo: dict[str, list[str]] = {}
    for repo, sha in keys:
        per_repo.setdefault(repo, []).append(sha)
    declarations, variables = _repo_variables(list(per_repo))
    oid_declarations: list[str] = []
    fields: list[str] = []
    for i, shas in enumerate(per_repo.values()):
        objects = []
        for j, sha in enumerate(shas):
            oid_declarations.append(f"$s{i}_{j}: GitObjectID!")
            variables[f"s{i}_{j}"] = sha
            objects.append(f"x{j}: object(oid: $s{i}_{j}) {{ ...Obj }}")
        fields.append(f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{ {' '.join(objects)} }}")
    all_declarations = ", ".join([declarations, *oid_declarations])
    body = "\n".join(fields)
    return (
        f"query Objects({all_declarations}) {{\n{body}\n}}\n{OBJECT_FRAGMENT}",
        variables,
        per_repo,
    )


async def lookup_objects_many(
    client: GraphQLClient, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], ObjectAnswer | None]:
    """What each ``(owner/name, 40-hex sha)`` is: a Commit, a TagObject, or MISSING; None
    where REST must answer (GraphQL off, repository not found, an error on that object)."""
    text, variables, per_repo = objects_query(keys)
    answer = await _ask(client, text, variables, f"look up {len(keys)} commits")
    if answer is None:
        return dict.fromkeys(keys)
    groups = [[(repo, sha) for sha in shas] for repo, shas in per_repo.items()]
    return {
        key: parse_object(*key, raw) if answered else None
        for key, raw, answered in _nested_answers(answer, groups, "x")
    }


def _nested_answers(
    answer: _Answer, groups: Iterable[Sequence[K]], item: str
) -> Iterator[tuple[K, Any, bool]]:
    """Each key of a query aliased ``rI`` (a repository) then ``{item}J`` (a question in it):
    the key, its raw answer, and False when it has none to trust (the repository is missing,
    or an error names it or that question)."""
    failed = {
        (e["path"][0], e["path"][1])
        for e in answer.errors
        if len(e.get("path") or ()) >= 2 and isinstance(e["path"][1], str)
    }
    for i, keys in enumerate(groups):
        alias = f"r{i}"
        node = answer.data.get(alias)
        whole_repo_failed = node is None or (
            alias in answer.failed and not any(a == alias for a, _ in failed)
        )
        for j, key in enumerate(keys):
            if whole_repo_failed or (alias, f"{item}{j}") in failed:
                yield key, None, False
            else:
                yield key, JsonShape(node, alias).obj.get(f"{item}{j}"), True


def parse_object(repo: str, sha: str, raw: Any) -> ObjectAnswer | None:
    """One ``...Obj`` answer; None when it cannot stand in for the REST answer."""
    if raw is None:
        return MISSING
    what = f"object {sha} of {repo}"
    shape = JsonShape(raw, what)
    if shape.sha("oid") != sha:
        raise RemoteError(f"{what}: GraphQL answered for another object")
    kind = shape.str("__typename")
    if kind == "Commit":
        parents = shape.sub("parents")
        nodes = parents.list("nodes")
        if parents.int("totalCount") != len(nodes):
            return None  # an octopus merge beyond one page: REST lists every parent
        return Commit(
            sha=sha,
            date=shape.date("committedDate"),
            parents=tuple(JsonShape(p, f"{what}.parents[]").sha("oid") for p in nodes),
        )
    if kind == "Tag":
        target = shape.sub("target")
        tagger = shape.opt_sub("tagger")
        return TagObject(
            sha=sha,
            tag=shape.str("name"),
            object_sha=target.sha("oid"),
            object_type=target.str("__typename").lower(),
            tagger_date=tagger.date("date") if tagger is not None else None,
        )
    return MISSING  # a tree or a blob: neither a commit nor a tag object


# ----------------------------------------------------------------------------- comparisons

CompareKey = tuple[str, str, str, str]
"""``(owner/name, full ref name, the object the listing saw it point at, head SHA)``."""

UNANSWERED = object()
"""A comparison this channel did not answer (error, moved or vanished ref): ask REST."""


def compares_query(
    keys: Sequence[CompareKey],
) -> tuple[str, dict[str, str], dict[str, list[CompareKey]]]:
    """The query (and its variables) comparing each head with each ref: repository ``rI``,
    comparison ``cJ`` within it; also the keys per repository in alias order.

    ``Ref.compare(headRef:)`` compares the ref, as base, with any revision as head, like REST
    ``compare/BASE...HEAD``; ``target { oid }`` says whether the ref still points where the
    listing saw it (a comparison against a ref that moved is not the one that was asked).
    """
    per_repo: dict[str, list[CompareKey]] = {}
    for key in keys:
        per_repo.setdefault(key[0], []).append(key)
    declarations, variables = _repo_variables(list(per_repo))
    ref_declarations: list[str] = []
    fields: list[str] = []
    for i, repo_keys in enumerate(per_repo.values()):
        compares = []
        for j, (_repo, name, _obj, head) in enumerate(repo_keys):
            ref_declarations.append(f"$q{i}_{j}: String!, $h{i}_{j}: String!")
            variables[f"q{i}_{j}"], variables[f"h{i}_{j}"] = name, head
            compares.append(
                f"c{j}: ref(qualifiedName: $q{i}_{j}) {{ target {{ oid }} "
                f"compare(headRef: $h{i}_{j}) {{ status aheadBy behindBy }} }}"
            )
        fields.append(f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{ {' '.join(compares)} }}")
    all_declarations = ", ".join([declarations, *ref_declarations])
    body = "\n".join(fields)
    return f"query Compare({all_declarations}) {{\n{body}\n}}\n", variables, per_repo


async def compare_many(client: GraphQLClient, keys: Sequence[CompareKey]) -> dict[CompareKey, Any]:
    """Each key's :class:`Comparison`, None where GitHub says the comparison cannot be made
    (no common history: REST's 404), or :data:`UNANSWERED` where REST must answer."""
    text, variables, per_repo = compares_query(keys)
    answer = await _ask(client, text, variables, f"compare {len(keys)} refs")
    if answer is None:
        return dict.fromkeys(keys, UNANSWERED)
    return {
        key: parse_comparison(key, raw) if answered else UNANSWERED
        for key, raw, answered in _nested_answers(answer, per_repo.values(), "c")
    }


_STATUSES = {"AHEAD": "ahead", "BEHIND": "behind", "DIVERGED": "diverged", "IDENTICAL": "identical"}


def parse_comparison(key: CompareKey, raw: Any) -> Any:
    """One ``ref { target compare }`` answer: a Comparison, None, or :data:`UNANSWERED`."""
    repo, name, obj, head = key
    if raw is None:
        return UNANSWERED  # the ref is gone since it was listed: its commit may still compare
    what = f"compare {name}...{head[:12]} in {repo}"
    shape = JsonShape(raw, what)
    target = shape.opt_sub("target")
    if target is None or target.sha("oid") != obj.lower():
        return UNANSWERED  # the ref moved: this is not the comparison that was asked
    comparison = shape.opt_sub("compare")
    if comparison is None:
        return None  # "if the comparison can be made": no common history
    status = _STATUSES.get(comparison.str("status"))
    if status is None:
        raise RemoteError(f"{what}: unknown status {comparison.str('status')[:40]!r}")
    return Comparison(
        status=status,
        ahead_by=comparison.int("aheadBy"),
        behind_by=comparison.int("behindBy"),
        merge_base=None,
    )
