"""GitHub's GraphQL API over the emulator's snapshot model.

The HTTP side (``POST /graphql``, GHES ``POST /api/graphql``, token, rate limit, faults, stats)
lives in :mod:`tests.forge.server`; this module answers one request body. graphql-core, the
reference implementation, parses, validates and executes against ``github.graphql`` (a subset
of GitHub's published schema), so a query is accepted or refused by the same rules as on
github.com. What GitHub adds on top of the spec is done here:

- before execution, every connection must say ``first`` or ``last`` (at most 100):
  ``MISSING_PAGINATION_BOUNDARIES`` / ``EXCESSIVE_PAGINATION``, and nothing runs; the same walk
  gives the query's rate-limit ``cost`` and ``nodeCount`` by GitHub's published formula;
- errors beside data carry GitHub's ``type`` (``NOT_FOUND`` for a missing repository);
- objects are the ones REST and git serve: the same refs, peeled commits, annotated tag
  objects, fork-network and pull-only commits found by SHA, node IDs and snapshot authors.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hashlib
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    execute_sync,
    get_named_type,
    get_operation_ast,
    is_composite_type,
    parse,
    validate,
    value_from_ast_untyped,
)
from graphql.pyutils import Undefined

from pinner.forge.snapshot import (
    FORGE_URL_PLACEHOLDER,
    CommitRecord,
    RefEntry,
    RepoSnapshot,
    SnapshotData,
    format_date,
)
from pinner.models import SHA_RE, Comparison, TagObject
from tests.forge.server import (
    EPOCH,
    blob_sha,
    commit_message,
    dumps_indented,
    node_id,
    snapshot_person,
    tag_message,
)

SCHEMA_FILE = Path(__file__).with_name("github.graphql")
MAX_PAGE = 100  # GitHub: first/last of any connection
MAX_NODES = 500_000  # GitHub: nodes one query may request
NO_QUERY = "A query attribute must be specified and must be a string."


class GitHubError(Exception):
    """An error GitHub reports beside data, with its ``type`` (``NOT_FOUND``, ...)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@functools.cache
def schema() -> GraphQLSchema:
    """The served schema, built once (the file is read-only data)."""
    return build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class Plan:
    """A valid request, ready to run, and what it costs."""

    document: DocumentNode
    variables: dict[str, Any]
    operation_name: str | None
    cost: int
    node_count: int
    dry_run: bool
    text: str = ""  # the query as sent

    @property
    def operation(self) -> str | None:
        """The name of the operation that runs (``query Refs(...)`` -> ``Refs``), if named."""
        op = get_operation_ast(self.document, self.operation_name)
        return op.name.value if op is not None and op.name is not None else None


def plan(body: bytes) -> Plan | list[dict[str, Any]]:
    """Parse, validate and price one request body; GitHub's error list when it cannot run.

    Raises ValueError for a body that is not a JSON object (GitHub: 400 "Problems parsing
    JSON", not a GraphQL error).
    """
    request = json.loads(body or b"null")
    if not isinstance(request, dict):
        raise ValueError("the body must be a JSON object")
    query = request.get("query")
    if not isinstance(query, str):
        return [{"message": NO_QUERY}]
    variables = request.get("variables") or {}
    if isinstance(variables, str):  # some clients send the variables JSON-encoded
        variables = json.loads(variables or "{}")
    if not isinstance(variables, dict):
        return [{"message": "Variables are invalid JSON."}]
    operation_name = request.get("operationName") or None
    document = checked_document(query)
    if not isinstance(document, DocumentNode):
        return copy.deepcopy(list(document))
    walk = _Walk(document, variables)
    operation = get_operation_ast(document, operation_name)
    if operation is not None:  # else execution reports the unknown operation
        walk.operation(operation)
    if walk.errors:
        return walk.errors
    if walk.nodes > MAX_NODES:
        return [
            {
                "type": "MAX_NODE_LIMIT_EXCEEDED",
                "message": f"This query requests up to {walk.nodes:,} possible nodes which "
                f"exceeds the maximum limit of {MAX_NODES:,}.",
            }
        ]
    cost = max(1, int(walk.requests / 100 + 0.5))
    return Plan(document, variables, operation_name, cost, walk.nodes, walk.dry_run, query)


DOCUMENT_CACHE_SIZE = 256
"""Distinct query texts whose parsed and validated document is kept. A client sends the same
few query shapes again and again (pinner: one per batch size), with other variables."""


@functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def checked_document(query: str) -> DocumentNode | tuple[dict[str, Any], ...]:
    """The parsed document of ``query`` once it validates against :func:`schema`, else its
    errors; memoized by text, as parsing and validating cost more than executing a small query.

    Sharing is safe because the result depends on the text alone (the schema is fixed; variables
    and the operation name are applied later), and graphql-core never mutates a document.
    """
    try:
        document = parse(query)
    except GraphQLError as exc:
        return (exc.formatted,)
    errors = validate(schema(), document)
    if errors:
        return tuple(e.formatted for e in errors)
    return document


class _Walk:
    """One pass over the operation before it runs: pagination limits, cost and node count.

    GitHub's formula: every connection is one request per parent object that may hold it
    (the product of the ``first``/``last`` of the connections above it); cost is the sum of
    requests over 100, rounded, at least 1; nodeCount sums what each connection may return.
    """

    def __init__(self, document: DocumentNode, variables: dict[str, Any]):
        self.variables = dict(variables)
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.errors: list[dict[str, Any]] = []
        self.requests = 0
        self.nodes = 0
        self.dry_run = False

    def operation(self, op: OperationDefinitionNode) -> None:
        for definition in op.variable_definitions or ():
            if definition.default_value is not None:
                default = value_from_ast_untyped(definition.default_value)
                self.variables.setdefault(definition.variable.name.value, default)
        root = schema().get_root_type(op.operation)
        if root is not None:
            self.selections(op.selection_set, root, 1, [])

    def argument(self, node: FieldNode, name: str) -> Any:
        """The value of an argument, literal or variable; None when absent or null."""
        for arg in node.arguments or ():
            if arg.name.value == name:
                value = value_from_ast_untyped(arg.value, self.variables)
                return None if value is Undefined else value
        return None

    def selections(
        self, selection_set: SelectionSetNode, parent: Any, multiplier: int, path: list[str]
    ) -> None:
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                self.field(sel, parent, multiplier, path)
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                target = schema().get_type(cond.name.value) if cond else parent
                self.selections(sel.selection_set, target, multiplier, path)
            elif isinstance(sel, FragmentSpreadNode):
                fragment = self.fragments[sel.name.value]
                target = schema().get_type(fragment.type_condition.name.value)
                self.selections(fragment.selection_set, target, multiplier, path)

    def field(self, node: FieldNode, parent: Any, multiplier: int, path: list[str]) -> None:
        name = node.name.value
        definition = parent.fields.get(name) if hasattr(parent, "fields") else None
        if definition is None:  # __typename and other meta fields
            return
        key = node.alias.value if node.alias else name
        here = [*path, key]
        if name == "rateLimit" and not path:
            self.dry_run |= self.argument(node, "dryRun") is True
        named = get_named_type(definition.type)
        if named.name.endswith("Connection"):
            multiplier = self.connection(node, name, multiplier, here)
        if node.selection_set is not None and is_composite_type(named):
            self.selections(node.selection_set, named, multiplier, here)

    def connection(self, node: FieldNode, name: str, multiplier: int, path: list[str]) -> int:
        first, last = self.argument(node, "first"), self.argument(node, "last")
        if any(
            v is not None and (not isinstance(v, int) or isinstance(v, bool)) for v in (first, last)
        ):
            return multiplier  # not an Int: execution refuses the variable, as GitHub does
        where = {"path": path, "locations": [_location(node)]}
        if first is None and last is None:
            self.errors.append(
                {
                    "type": "MISSING_PAGINATION_BOUNDARIES",
                    **where,
                    "message": f"You must provide a `first` or `last` value to properly "
                    f"paginate the `{name}` connection.",
                }
            )
            return multiplier
        for arg, value in (("first", first), ("last", last)):
            if value is not None and value > MAX_PAGE:
                self.errors.append(
                    {
                        "type": "EXCESSIVE_PAGINATION",
                        **where,
                        "message": f"Requesting {value} records on the `{name}` connection "
                        f"exceeds the `{arg}` limit of {MAX_PAGE} records.",
                    }
                )
        size = max(0, min(MAX_PAGE, first if first is not None else (last or 0)))
        self.requests += multiplier
        self.nodes += multiplier * size
        return multiplier * size


def _location(node: Any) -> dict[str, int]:
    loc = node.loc.source.get_location(node.loc.start)
    return {"line": loc.line, "column": loc.column}


ANSWER_CACHE_SIZE = 512
"""Distinct requests whose answer is kept per snapshot (see :func:`answer`)."""

_answers: weakref.WeakKeyDictionary[SnapshotData, OrderedDict[tuple[Any, ...], _Answer]]
_answers = weakref.WeakKeyDictionary()
_answers_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Answer:
    body: dict[str, Any]  # read-only: shared by every request that gets this answer
    data: bytes  # the body as the server writes it (indented JSON, UTF-8)


def execute(plan: Plan, data: SnapshotData, base_url: str, rate: dict[str, Any]) -> dict[str, Any]:
    """Run a planned request: GitHub's ``{"data": ..., "errors": [...]}`` body (read-only: it
    may be shared with other requests). See :func:`answer`."""
    return answer(plan, data, base_url, rate).body


def answer(plan: Plan, data: SnapshotData, base_url: str, rate: dict[str, Any]) -> _Answer:
    """Run a planned request: its body, and that body as the server writes it.

    ``rate`` is what ``rateLimit`` answers (the bucket after this query was charged).
    Raises RuntimeError when a resolver failed for a reason other than a GitHub error: that
    is an emulator bug, and the server answers 500 and remembers it.

    Answers are memoized per snapshot by query text, variables, operation name and base URL,
    except for queries that mention ``rateLimit`` (their answer follows the bucket). Why: the
    snapshot never changes while it is served, so the answer is a function of those alone,
    and graphql-core's per-field execution costs about 0.1 s of CPU for a 20-repository
    listing, writing its JSON another 10 ms. GitHub answers concurrent queries side by side;
    this process would answer them one after another on one interpreter lock, on the same
    cores as the client being measured.
    """
    key: tuple[Any, ...] | None = None
    if "rateLimit" not in plan.text:
        variables = json.dumps(plan.variables, sort_keys=True, default=str)
        key = (plan.text, variables, plan.operation_name, base_url)
        with _answers_lock:
            known = _answers.get(data)
            found = known.get(key) if known is not None else None
            if found is not None:
                known.move_to_end(key)  # type: ignore[union-attr]
                return found
    body = _execute(plan, data, base_url, rate)
    found = _Answer(body, dumps_indented(body).encode())
    if key is not None:
        with _answers_lock:
            known = _answers.setdefault(data, OrderedDict())
            known[key] = found
            while len(known) > ANSWER_CACHE_SIZE:
                known.popitem(last=False)
    return found


def _execute(plan: Plan, data: SnapshotData, base_url: str, rate: dict[str, Any]) -> dict[str, Any]:
    result = execute_sync(
        schema(),
        plan.document,
        root_value=_Root(),
        context_value=_Context(data, base_url, rate),
        variable_values=plan.variables,
        operation_name=plan.operation_name,
        type_resolver=lambda value, _info, _type: value.typename,
    )
    errors = [_format(e) for e in result.errors or ()]
    if result.data is None:  # refused before execution (variables, operation name)
        return {"errors": errors}
    body: dict[str, Any] = {"data": result.data}
    if errors:
        body["errors"] = errors
    return body


def _format(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if original is None:
        return error.formatted
    if not isinstance(original, GitHubError):
        raise RuntimeError(f"resolver failed: {type(original).__name__}: {original}") from original
    formatted = error.formatted
    return {
        "type": original.kind,
        "path": formatted.get("path"),
        "locations": formatted.get("locations"),
        "message": original.message,
    }


# ---------------------------------------------------------------------------- connections


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        if text.startswith("cursor:v2:"):
            return int(text[len("cursor:v2:") :])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise GitHubError(
        "INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor."
    )


def connection(
    items: Sequence[Any],
    make: Callable[[Any], Any],
    *,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
) -> dict[str, Any]:
    """One page of ``items`` as a Relay connection; ``make`` builds the nodes of the page only.

    Cursors are opaque positions in the full (filtered, ordered) list, so ``after:
    endCursor`` continues exactly where a page stopped; ``totalCount`` ignores paging.
    """
    start, end = 0, len(items)
    if after is not None:
        start = max(start, _decode_cursor(after) + 1)
    if before is not None:
        end = min(end, _decode_cursor(before))
    if first is not None:
        end = min(end, start + max(0, first))
    if last is not None:
        start = max(start, end - max(0, last))
    edges = [{"cursor": _cursor(i), "node": make(items[i])} for i in range(start, end)]
    return {
        "edges": edges,
        "nodes": [e["node"] for e in edges],
        "totalCount": len(items),
        "pageInfo": {
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
        },
    }


# ---------------------------------------------------------------------------- resolvers
#
# A query lists hundreds of refs per repository and graphql-core visits every selected field
# of each, so the objects below are built once per snapshot and reused by every later query:
# a repository view per RepoSnapshot (the snapshot never changes once loaded), refs, commits
# and tags per view, and every field that costs a hash or a date format is computed on first
# selection only. Nothing cached depends on the request: the base URL is read from the context
# when ``commitUrl`` (or a blob's text) is selected.


@dataclass(frozen=True, slots=True)
class _Context:
    data: SnapshotData
    base: str
    rate: dict[str, Any]


_VIEWS: weakref.WeakKeyDictionary[RepoSnapshot, _Repository] = weakref.WeakKeyDictionary()
_VIEWS_LOCK = threading.Lock()


class _Root:
    """``Query``: resolvers are methods called as ``method(info, **arguments)``."""

    def repository(
        self, info: Any, owner: str, name: str, followRenames: bool = True
    ) -> _Repository:
        # case-insensitive; a renamed repository (meta.json full_name) answers to its old name
        # only when following renames, with its current nameWithOwner, as on GitHub
        snap = info.context.data.find(f"{owner}/{name}")
        renamed = snap is not None and snap.full_name.lower() != f"{owner}/{name}".lower()
        if renamed and not followRenames:
            snap = None
        if snap is None:
            raise GitHubError(
                "NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'."
            )
        return _Repository.of(snap)

    def rateLimit(self, info: Any, dryRun: bool = False) -> dict[str, Any]:
        return info.context.rate


class _Repository:
    typename = "Repository"

    @classmethod
    def of(cls, snap: RepoSnapshot) -> _Repository:
        """The one view of ``snap``, whose caches live (and die) with the snapshot."""
        with _VIEWS_LOCK:
            view = _VIEWS.get(snap)
            if view is None:
                view = _VIEWS[snap] = cls(snap)
            return view

    def __init__(self, snap: RepoSnapshot):
        self.snap = snap
        full_name = snap.full_name
        self.id = node_id("R", full_name.lower())
        self.databaseId = snap.repo_id  # REST's ``id``: the same number on both APIs
        self.nameWithOwner = full_name
        self.isArchived = snap.archived  # meta.json, as REST answers
        login, self.name = full_name.split("/", 1)
        self.owner = _Owner(login, snap.owner_id)
        # keyed by snapshot data only, so they stay bounded by the snapshot's size
        self._records: dict[str, CommitRecord] = {}
        self._commits: dict[str, _Commit] = {}
        self._tags: dict[tuple[str, Any], _Tag] = {}
        self._refs: dict[tuple[str, str], _Ref] = {}

    def url(self, info: Any) -> str:
        return f"{info.context.base}/{self.nameWithOwner}"

    def defaultBranchRef(self, info: Any) -> _Ref | None:
        entry = self.snap.ref(f"refs/heads/{self.snap.default_branch}")
        return self.make_ref(entry, "refs/heads/") if entry else None

    def ref(self, info: Any, qualifiedName: str) -> _Ref | None:
        # fully qualified first, then git's short-name rules (refs/, tags, heads)
        for full in (
            qualifiedName,
            f"refs/{qualifiedName}",
            f"refs/tags/{qualifiedName}",
            f"refs/heads/{qualifiedName}",
        ):
            entry = self.snap.ref(full)
            if entry is not None and full.startswith("refs/"):
                return self.make_ref(entry, "/".join(full.split("/")[:2]) + "/")
        return None

    def refs(
        self,
        info: Any,
        refPrefix: str,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
        direction: str | None = None,
        orderBy: dict[str, str] | None = None,
        query: str | None = None,
    ) -> dict[str, Any]:
        """``ls-remote`` with a ``ref-prefix``: a plain string prefix, names without it."""
        entries = [self.snap.ref(r.name) for r in self.snap.refs() if r.name.startswith(refPrefix)]
        found = [e for e in entries if e is not None]
        if query:
            found = [e for e in found if query in e.ref.name[len(refPrefix) :]]
        field = (orderBy or {}).get("field", "ALPHABETICAL")
        descending = (orderBy or {}).get("direction", direction) == "DESC"
        if field == "TAG_COMMIT_DATE":
            found.sort(key=self._commit_date)
        if descending:
            found.reverse()
        return connection(
            found,
            lambda e: self.make_ref(e, refPrefix),
            first=first,
            last=last,
            after=after,
            before=before,
        )

    def make_ref(self, entry: RefEntry, prefix: str) -> _Ref:
        key = (entry.ref.name, prefix)
        ref = self._refs.get(key)
        if ref is None:
            ref = self._refs[key] = _Ref(self, entry, prefix)
        return ref

    def _commit_date(self, entry: RefEntry) -> tuple[str, str]:
        rec = self.record(entry.ref.commit)
        return (format_date(rec.date) if rec and rec.date else EPOCH), entry.ref.name

    def record(self, sha: str) -> CommitRecord | None:
        """``snap.commit``, remembered when found (a miss scans every ref, and is not kept:
        clients may ask for any SHA)."""
        rec = self._records.get(sha)
        if rec is None:
            rec = self.snap.commit(sha)
            if rec is not None:
                self._records[sha] = rec
        return rec

    def object(self, info: Any, oid: str | None = None, expression: str | None = None) -> Any:
        if oid is not None:
            return self.by_oid(oid)
        if expression is None:
            return None
        rev, colon, path = expression.partition(":")
        if rev in ("", "HEAD"):
            rev = self.snap.default_branch
        if not colon:
            tag = self.snap.ref(f"refs/tags/{rev}")
            if tag is not None and tag.object_type == "tag":
                return self.tag(tag.ref.object, tag.ref)
            if SHA_RE.match(rev):
                return self.by_oid(rev)
        sha = self.snap.resolve(rev)
        if sha is None:
            return None
        if not colon:
            return self.commit(sha)
        return self.tree_entry(info.context.base, sha, path.strip("/"))

    def by_oid(self, oid: str) -> _Commit | _Tag | None:
        """A commit (fork-network and pull-only ones too, as REST serves them) or a tag."""
        if oid in self.snap.tag_objects:
            return self.tag(oid)
        rec = self.record(oid) if SHA_RE.match(oid) else None
        return self.commit(oid) if rec is not None else None

    def commit(self, sha: str) -> _Commit:
        commit = self._commits.get(sha)
        if commit is None:
            rec = self.record(sha) or CommitRecord(sha, (), None, "refs")
            commit = self._commits[sha] = _Commit(self, rec)
        return commit

    def tag(self, sha: str, ref: Any = None) -> _Tag:
        known = self.snap.tag_objects.get(sha)
        key = (sha, None if known is not None else ref)
        found = self._tags.get(key)
        if found is not None:
            return found
        tag = known
        if tag is None:  # refs.json says annotated, tags.jsonl forgot it: still that tag
            tag = TagObject(
                sha, ref.short if ref else sha, ref.commit if ref else sha, "commit", None
            )
        found = self._tags[key] = _Tag(self, tag)
        return found

    def tree_entry(self, base: str, commit: str, path: str) -> _Blob | _Tree | None:
        body = self.snap.file(commit, path) if path else None
        if body is not None:
            data = body.replace(FORGE_URL_PLACEHOLDER.encode(), base.encode())
            return _Blob(self, data)
        if self.snap.listdir(commit, path) is None:
            return None
        # the same tree SHAs REST reports (contents API for directories, commit tree at root)
        seed = path.encode() if path else f"tree:{commit}".encode()
        return _Tree(self, hashlib.sha1(seed).hexdigest())


class _Owner:
    """``RepositoryOwner``: the snapshot's owners are organizations, as REST says."""

    typename = "Organization"

    def __init__(self, login: str, database_id: int):
        self.id = node_id("U", login.lower())
        self.databaseId = database_id  # REST's ``owner.id``
        self.login = login


class _Ref:
    typename = "Ref"

    def __init__(self, repo: _Repository, entry: RefEntry, prefix: str):
        self.repo = self.repository = repo
        self.entry = entry
        self.name = entry.ref.name[len(prefix) :]
        self.prefix = prefix

    @functools.cached_property
    def id(self) -> str:
        return node_id("REF", self.repo.snap.name.lower(), self.entry.ref.name)

    @functools.cached_property
    def target(self) -> _Commit | _Tag:
        ref = self.entry.ref
        if self.entry.object_type == "tag":
            return self.repo.tag(ref.object, ref)
        return self.repo.commit(ref.object)

    def compare(self, info: Any, headRef: str) -> _Comparison | None:
        """This ref (peeled) as base against any revision as head, as REST's
        ``compare/BASE...HEAD`` resolves and answers it; null "if the comparison cannot be
        made" (an unknown head, or no common history: REST's 404)."""
        snap = self.repo.snap
        base, head = self.entry.ref.commit, snap.resolve(headRef)
        result = snap.compare(base, head) if head is not None else None
        if result is None or head is None:
            return None
        comparison, ahead = result
        return _Comparison(self.repo, base, head, comparison, ahead)


class _Comparison:
    """``Comparison``: what REST's compare says, in GraphQL's names (status in capitals)."""

    typename = "Comparison"

    def __init__(
        self,
        repo: _Repository,
        base: str,
        head: str,
        comparison: Comparison,
        ahead: Sequence[str],
    ):
        self.repo = repo
        self.id = node_id("CMP", repo.snap.name.lower(), base, head)
        self.status = comparison.status.upper()
        self.aheadBy = comparison.ahead_by
        self.behindBy = comparison.behind_by
        self.baseTarget = repo.commit(base)
        self.headTarget = repo.commit(head)
        self.ahead = list(ahead)  # commits in head but not in base, oldest first (REST's order)

    def commits(
        self,
        info: Any,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> dict[str, Any]:
        page = connection(
            self.ahead, self.repo.commit, first=first, last=last, after=after, before=before
        )
        # every snapshot commit has the one snapshot author
        return {**page, "authorCount": 1 if self.ahead else 0}


class _GitObject:
    """Fields every ``GitObject`` has; ``commit_oid`` is the commit its web URL shows."""

    typename = "GitObject"

    def __init__(self, repo: _Repository, oid: str, commit_oid: str | None = None):
        self.repository = repo
        self.oid = oid
        self.commit_oid = commit_oid or oid

    @functools.cached_property
    def abbreviatedOid(self) -> str:
        return self.oid[:7]

    @functools.cached_property
    def commitResourcePath(self) -> str:
        return f"/{self.repository.snap.name}/commit/{self.commit_oid}"

    def commitUrl(self, info: Any) -> str:
        return info.context.base + self.commitResourcePath


class _Commit(_GitObject):
    typename = "Commit"

    def __init__(self, repo: _Repository, rec: CommitRecord):
        super().__init__(repo, rec.sha)
        self.rec = rec

    @functools.cached_property
    def id(self) -> str:
        return node_id("C", self.oid)

    @functools.cached_property
    def committedDate(self) -> str:
        return format_date(self.rec.date) or EPOCH

    @property
    def authoredDate(self) -> str:
        return self.committedDate

    @functools.cached_property
    def author(self) -> dict[str, str]:
        return snapshot_person("Author", self.committedDate)

    @property
    def committer(self) -> dict[str, str]:
        return self.author

    @functools.cached_property
    def message(self) -> str:
        return commit_message(self.oid)

    @property
    def messageHeadline(self) -> str:
        return self.message

    def parents(
        self,
        info: Any,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> dict[str, Any]:
        return connection(
            self.rec.parents,
            self.repository.commit,
            first=first,
            last=last,
            after=after,
            before=before,
        )


class _Tag(_GitObject):
    typename = "Tag"

    def __init__(self, repo: _Repository, tag: TagObject):
        # GitHub's Tag.commitUrl shows the object the tag points to, not the tag
        super().__init__(repo, tag.sha, tag.object_sha)
        self.tag = tag
        self.name = tag.tag

    @functools.cached_property
    def id(self) -> str:
        return node_id("TAG", self.oid)

    @functools.cached_property
    def message(self) -> str:
        return tag_message(self.tag.tag)

    @functools.cached_property
    def tagger(self) -> dict[str, str]:
        return snapshot_person("Tagger", format_date(self.tag.tagger_date) or EPOCH)

    @functools.cached_property
    def target(self) -> _Commit | _Tag:
        if self.tag.object_type == "tag":
            return self.repository.tag(self.tag.object_sha)
        return self.repository.commit(self.tag.object_sha)


class _Blob(_GitObject):
    typename = "Blob"

    def __init__(self, repo: _Repository, data: bytes):
        super().__init__(repo, blob_sha(data))
        self.id = node_id("B", self.oid)
        self.byteSize = len(data)
        self.isBinary = b"\0" in data
        self.isTruncated = False
        self.text = None if self.isBinary else data.decode("utf-8", "replace")


class _Tree(_GitObject):
    typename = "Tree"

    def __init__(self, repo: _Repository, oid: str):
        super().__init__(repo, oid)
        self.id = node_id("T", oid)
