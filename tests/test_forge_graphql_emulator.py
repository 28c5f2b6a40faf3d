"""The GraphQL channel end to end: same answers as git and REST, in far fewer requests.

Against the emulator's GraphQL endpoint (a real GraphQL executor over a subset of GitHub's
schema), on the hand-made fixtures and on every repository of the real-world corpus.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from pinner.errors import NotFoundError
from pinner.forge import graphql as gq
from pinner.forge.github import GitHubForge
from pinner.models import RefListing
from pinner.settings import ForgeUrls, Secret, Settings
from tests.forge.builder import RepoBuilder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "forge"
SCHEMA = Path(__file__).resolve().parent / "forge" / "github.graphql"
TOKEN = "ghp_SENTINELgraphqlE2E"


def repos_in(forge_dir: Path) -> list[str]:
    found = forge_dir.glob("*/*/refs.json")
    return sorted(f"{p.parent.parent.name}/{p.parent.name}" for p in found)


def ref_counts(forge_dir: Path, repo: str) -> tuple[int, int]:
    refs = json.loads((forge_dir / repo / "refs.json").read_text())["refs"]
    tags = sum(1 for r in refs if r["ref"].startswith("refs/tags/"))
    return len(refs) - tags, tags


def forge_run(url: str, work: Callable[[GitHubForge], Awaitable[Any]], **forge_kw: Any) -> Any:
    settings = Settings(urls=ForgeUrls.derive(url), token=Secret(TOKEN), jobs=16, timeout=30.0)

    async def go() -> Any:
        async with GitHubForge(settings, **forge_kw) as forge:
            return await work(forge), forge.stats

    return asyncio.run(go())


def listings(repos: list[str]) -> Callable[[GitHubForge], Awaitable[list[Any]]]:
    async def work(forge: GitHubForge) -> list[Any]:
        return await asyncio.gather(*(forge.list_refs(r) for r in repos), return_exceptions=True)

    return work


def comparable(answer: Any) -> Any:
    if isinstance(answer, RefListing):
        return (answer.repo, answer.refs, answer.default_branch)
    if isinstance(answer, NotFoundError):
        return "not found"
    return repr(answer)


def check_same_listings_fewer_requests(url: str, forge_dir: Path, extra: list[str]) -> None:
    repos = repos_in(forge_dir) + extra
    over_graphql, stats = forge_run(url, listings(repos))
    over_git, git_stats = forge_run(url, listings(repos), graphql=False)
    assert [comparable(a) for a in over_graphql] == [comparable(a) for a in over_git]
    big = [r for r in repos_in(forge_dir) if max(ref_counts(forge_dir, r)) > gq.REF_PAGE]
    assert stats.sent["graphql"] == math.ceil(len(repos) / gq.REPOS_PER_QUERY)
    # git answers only what one GraphQL page cannot: big repositories and missing ones
    assert stats.sent["git"] == len(big) + len(extra)
    assert git_stats.sent["graphql"] == 0 and git_stats.sent["git"] >= len(repos)


def test_fixture_listings_over_graphql_equal_git(emulator):
    if not FIXTURES.is_dir():
        pytest.skip(f"{FIXTURES} is absent")
    emu = emulator(FIXTURES)
    check_same_listings_fewer_requests(emu.url, FIXTURES, ["pinner-fixtures/does-not-exist"])


@pytest.mark.corpus
def test_every_corpus_listing_over_graphql_equals_git(emulator, corpus_forge_dir):
    emu = emulator(corpus_forge_dir)
    check_same_listings_fewer_requests(emu.url, corpus_forge_dir, ["nobody/nothing-here"])


def tag_chain(b: RepoBuilder, name: str, commit: str, depth: int) -> None:
    """``refs/tags/NAME`` at a tag of a tag ... (``depth`` tag objects) of ``commit``."""
    obj = commit
    for level in range(depth):
        obj = b.tag_object(f"{name}-{level}", obj)
    b.ref(f"refs/tags/{name}", obj, commit)


def test_tags_nested_to_the_peel_depth_and_beyond_list_like_git(emulator, tmp_path):
    """The fixtures and the corpus hold tags at most two deep. Here every chain up to the depth
    pinner peels is peeled over GraphQL, and one a level deeper sends its repository (only that
    one) to git, which peels fully; either way the listing is git's."""
    shallow, deep = RepoBuilder("deep/peeled"), RepoBuilder("deep/too-deep")
    for b in (shallow, deep):
        b.branch("main", b.commit("c1"))
    head = shallow.commits[0]["sha"]
    for depth in range(gq._PEEL_DEPTH + 1):
        tag_chain(shallow, f"d{depth}", head, depth)
    tag_chain(deep, "deepest", deep.commits[0]["sha"], gq._PEEL_DEPTH + 1)
    shallow.write(tmp_path)
    deep.write(tmp_path)
    emu = emulator(tmp_path)
    repos = ["deep/peeled", "deep/too-deep"]

    over_graphql, stats = forge_run(emu.url, listings(repos))
    over_git, _ = forge_run(emu.url, listings(repos), graphql=False)
    assert [comparable(a) for a in over_graphql] == [comparable(a) for a in over_git]
    assert stats.sent["graphql"] == 1 and stats.sent["git"] == 1  # deep/too-deep only
    peeled, too_deep = over_graphql
    assert [r.name for r in peeled.refs if r.commit == head] == [
        "refs/heads/main",
        *(f"refs/tags/d{depth}" for depth in range(gq._PEEL_DEPTH + 1)),
    ]
    assert too_deep.tag("deepest").annotated


def test_commit_and_tag_lookups_over_graphql_equal_rest(emulator):
    if not FIXTURES.is_dir():
        pytest.skip(f"{FIXTURES} is absent")
    emu = emulator(FIXTURES)
    repos = repos_in(FIXTURES)
    refs = {r: json.loads((FIXTURES / r / "refs.json").read_text())["refs"] for r in repos}
    questions = [
        (method, repo, sha)
        for repo in repos
        for ref in refs[repo]
        for method, sha in (("get_commit", ref["peeled"]), ("get_tag_object", ref["object"]))
    ]
    questions.append(("get_commit", repos[0], "0" * 39 + "1"))  # no such object

    async def ask(forge: GitHubForge) -> list[Any]:
        return await asyncio.gather(
            *(getattr(forge, method)(repo, sha) for method, repo, sha in questions),
            return_exceptions=True,
        )

    over_graphql, stats = forge_run(emu.url, ask)
    over_rest, _ = forge_run(emu.url, ask, graphql=False)
    assert [comparable(a) for a in over_graphql] == [comparable(a) for a in over_rest]
    assert stats.sent["rest"] == 0
    assert stats.sent["graphql"] <= math.ceil(len(questions) / gq.OBJECTS_PER_QUERY) + 1


def test_a_listing_answers_its_repositorys_metadata(emulator, tmp_path):
    """The ``Refs`` query asks each repository's metadata too (``pinner lock`` needs the ids of
    every repository it lists): ``get_repo`` after ``list_refs`` sends no query of its own,
    and a repository whose metadata GraphQL cannot give in full (no default branch) goes to
    REST at once, where a ``Repos`` query would have sent it. Answers are REST's either way."""
    full = RepoBuilder("o/full")
    full.branch("main", full.commit("c"))
    full.write(tmp_path)
    empty = RepoBuilder("o/no-default")
    empty.light_tag("v1", empty.commit("c"))
    empty.write(tmp_path)
    emu = emulator(tmp_path)
    repos = ["O/Full", "o/no-default"]

    async def list_then_ask(forge: GitHubForge) -> list[Any]:
        await asyncio.gather(*(forge.list_refs(r) for r in repos))
        return [await forge.get_repo(r) for r in repos]

    infos, stats = forge_run(emu.url, list_then_ask)
    assert stats.sent["graphql"] == 1 and stats.sent["rest"] == 1  # Refs; REST for no-default
    over_rest, _ = forge_run(emu.url, lambda forge: forge.rest.get_repo("O/Full"))
    assert infos[0] == over_rest
    assert (infos[0].repo_id, infos[0].owner_id) == (over_rest.repo_id, over_rest.owner_id)
    assert infos[0].repo_id == emu.data.repo("o/full").repo_id
    assert infos[1].full_name == "o/no-default"


def test_lookups_started_early_answer_later_questions_and_never_go_to_rest(emulator):
    """prefetch_lookups: one batched query now; the later get_commit asks nothing more; a
    repository GraphQL cannot find is left alone (no REST request on a hint)."""
    if not FIXTURES.is_dir():
        pytest.skip(f"{FIXTURES} is absent")
    emu = emulator(FIXTURES)
    repo = repos_in(FIXTURES)[0]
    sha = json.loads((FIXTURES / repo / "refs.json").read_text())["refs"][0]["peeled"]

    async def early(forge: GitHubForge) -> Any:
        forge.prefetch_lookups([(repo.upper(), sha), ("nobody/nothing-here", "1" * 40)])
        for _ in range(100):  # let the batch leave and come back
            await asyncio.sleep(0.01)
            if forge.stats.sent["graphql"] and not forge._prefetching:
                break
        before = dict(forge.stats.sent)
        return await forge.get_commit(repo, sha), before

    (commit, before), stats = forge_run(emu.url, early)
    assert commit.sha == sha
    assert before.get("graphql") == 1 and not before.get("rest")
    assert stats.sent == before  # the question was answered from the early lookup

    async def anonymous() -> dict[str, int]:  # without a token nothing is asked on a hint
        settings = Settings(urls=ForgeUrls.derive(emu.url), token=None, jobs=16, timeout=30.0)
        async with GitHubForge(settings) as forge:
            forge.prefetch_lookups([(repo, sha)])
            await asyncio.sleep(0.05)
            return dict(forge.stats.sent)

    assert not any(asyncio.run(anonymous()).values())


def test_lookups_started_early_and_stopped_before_they_ran_leave_nothing_unawaited(emulator):
    """A run that stops right after its hints went out (a malformed file) closes the forge
    before the early lookups' tasks ever ran: no coroutine may be left never awaited (Python
    reports one on stderr as a RuntimeWarning, which a user must never see)."""
    import gc
    import warnings

    emu = emulator(FIXTURES)
    repo = repos_in(FIXTURES)[0]
    sha = json.loads((FIXTURES / repo / "refs.json").read_text())["refs"][0]["peeled"]

    async def stop_at_once(forge: GitHubForge) -> int:
        forge.prefetch_lookups([(repo, sha), (repo, "2" * 40)])
        await forge.aclose()  # the tasks are cancelled before their first step
        return len(forge._prefetching)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pending, stats = forge_run(emu.url, stop_at_once)
        gc.collect()
    assert pending == 2  # both were started (and then cancelled)
    assert not stats.sent.get("graphql")  # never sent: the run stopped first
    never_awaited = [w for w in caught if "never awaited" in str(w.message)]
    assert never_awaited == []


def test_pinners_queries_are_valid_against_githubs_schema():
    """The emulator's schema file is a subset of GitHub's published one, signatures intact:
    a field, argument or variable type pinner gets wrong fails here, not on github.com."""
    graphql = pytest.importorskip("graphql")
    schema = graphql.build_schema(SCHEMA.read_text())
    refs_text, refs_variables = gq.refs_query(["o/a", "o/b", "p/c"])
    objects_text, objects_variables, _ = gq.objects_query(
        [("o/a", "1" * 40), ("o/a", "2" * 40), ("p/c", "3" * 40)]
    )
    for text, variables in ((refs_text, refs_variables), (objects_text, objects_variables)):
        document = graphql.parse(text)
        errors = graphql.validate(schema, document)
        assert errors == [], [e.message for e in errors]
        declared = {
            d.variable.name.value
            for op in document.definitions
            if isinstance(op, graphql.OperationDefinitionNode)
            for d in op.variable_definitions
        }
        assert declared == set(variables)
