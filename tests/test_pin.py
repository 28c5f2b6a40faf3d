"""``plan_pins``: what each kind of ``uses:`` becomes, what is reported, and what it costs.

Sources are scanned from real YAML text (pinner.sources); the forge is the in-memory fake with a
real commit graph, so every expectation here follows from the data, not from a mock's script.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from test_pin_fakes import FakeForge, FakeRepo, sha_of

from pinner.core.pin import IgnorePolicy, PinPlan, PinPlanner, TargetFilter, plan_pins
from pinner.core.rewrite import Edit, apply_edits
from pinner.models import TagObject
from pinner.sources import scan


def world() -> tuple[FakeForge, dict[str, str]]:
    tool = FakeRepo("acme/tool")
    main = tool.chain("m", 6)
    tool.branch("main", main[5])
    tool.tag("v1.0.0", main[1])
    tool.tag("v1.1.0", main[2], annotated=True)
    tool.tag("v1", main[2], annotated=True)
    tool.tag("v2.0.0", main[4])
    tool.tag("v2", main[4])
    tool.branch("v2", main[5])  # ref confusion
    rel = tool.chain("r", 2, start=main[1])
    tool.branch("releases/v1", rel[1])
    evil = tool.commit("evil", main[5], fork=True)
    mono = FakeRepo("acme/mono")
    mm = mono.chain("x", 2)
    mono.branch("main", mm[1])
    mono.tag("setup/v1.2.3", mm[0])
    mono.tag("setup/v1", mm[0])
    mono.tag("cache/v9.0.0", mm[0])
    mono.tag("v0.5.0", mm[1])
    c = {f"m{i}": s for i, s in enumerate(main)}
    c.update(r0=rel[0], r1=rel[1], evil=evil, mono0=mm[0], mono1=mm[1])
    c["v1obj"] = next(r.object for r in tool.refs if r.name == "refs/tags/v1.1.0")
    return FakeForge(tool, mono), c


def plan_for(text: str, forge: FakeForge, **kw) -> tuple[PinPlan, str]:
    source = scan(text, ".github/workflows/ci.yml", "workflow")
    plan = asyncio.run(plan_pins([source], forge, **kw))
    edits = [Edit(c.site, c.new_value, c.claim, c.word_is_ref, c.floating) for c in plan.changes]
    new = apply_edits(source, edits).decode() if edits else text
    return plan, new


def steps(*uses: str) -> str:
    body = "".join(f"      - uses: {u}\n" for u in uses)
    return f"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n{body}"


def test_tags_branches_and_monorepo_paths_are_pinned_with_truthful_comments() -> None:
    forge, c = world()
    plan, new = plan_for(
        steps("acme/tool@v1", "Acme/Tool@main", "acme/mono/setup@setup/v1", "acme/tool@v2"),
        forge,
    )
    assert new == steps(
        f"acme/tool@{c['m2']} # v1.1.0",  # annotated tag peeled, most specific in family
        f"Acme/Tool@{c['m5']} # main",  # the user's spelling kept; branch named
        f"acme/mono/setup@{c['mono0']} # setup/v1.2.3",  # path family, subpath kept
        f"acme/tool@{c['m4']} # v2.0.0",  # tag wins over the v2 branch
    )
    codes = sorted(i.code for i in plan.issues)
    assert codes == ["branch-ref", "ref-confusion"]
    assert not plan.problems
    assert forge.calls["list_refs"] == 2  # one listing per repository, whatever the case
    assert forge.calls["compare"] == forge.calls["get_commit"] == 0


def test_second_run_is_a_no_op() -> None:
    forge, _ = world()
    _, once = plan_for(steps("acme/tool@v1", "acme/tool@main", "acme/mono/setup@setup/v1"), forge)
    plan, twice = plan_for(once, forge)
    assert twice == once and plan.changes == ()


def test_sha_pins_comment_added_fixed_kept() -> None:
    forge, c = world()
    text = steps(
        f"acme/tool@{c['m1']}",  # tip of v1.0.0, no comment -> added
        f"acme/tool@{c['m1']} # v1",  # v1 points at m2 -> corrected
        f"acme/tool@{c['m2']} # tag=v1",  # true, other dialect -> kept
        f"acme/tool@{c['m1']} # version: 1.0.0",  # same version without v -> kept
        f"acme/tool@{c['m1']} # keep this",  # a note: version put in front, note kept
        f"acme/tool@{c['m1']} # important",  # a one-word note (no ref of acme/tool): the same
    )
    plan, new = plan_for(text, forge)
    assert new == steps(
        f"acme/tool@{c['m1']} # v1.0.0",
        f"acme/tool@{c['m1']} # v1.0.0",
        f"acme/tool@{c['m2']} # tag=v1",
        f"acme/tool@{c['m1']} # version: 1.0.0",
        f"acme/tool@{c['m1']} # v1.0.0 # keep this",
        f"acme/tool@{c['m1']} # v1.0.0 # important",
    )
    assert [ch.reason for ch in plan.changes] == [
        "comment-added",
        "comment-fixed",
        "comment-added",
        "comment-added",
    ]
    assert [i.code for i in plan.issues] == ["comment-mismatch"]


def test_history_commit_verified_and_impostor_reported_not_blessed() -> None:
    forge, c = world()
    text = steps(
        f"acme/tool@{c['m0']}",  # in main's history: fine, no tag -> nothing to add
        f"acme/tool@{c['r0']}",  # only on releases/v1: fine
        f"acme/tool@{c['evil']} # v2.0.0",  # fork commit with a borrowed comment
        f"acme/tool@{sha_of('nowhere')}",
    )
    plan, new = plan_for(text, forge)
    assert new == text
    assert [(i.severity, i.code, i.line) for i in plan.issues] == [
        ("warning", "stale-pin", 6),
        ("warning", "stale-pin", 7),
        ("problem", "impostor-commit", 8),
        ("problem", "unresolvable", 9),
    ]
    assert "in the history of main" in plan.issues[0].message
    assert "in the history of releases/v1" in plan.issues[1].message


def test_unverifiable_sha_out_of_budget_is_a_problem() -> None:
    forge, c = world()
    plan, new = plan_for(steps(f"acme/tool@{c['evil']}"), forge, budget=1)
    assert new == steps(f"acme/tool@{c['evil']}")  # never blessed
    assert [i.code for i in plan.problems] == ["unverified-commit"]
    assert "budget" in plan.problems[0].message
    assert forge.calls["compare"] == 1


def test_tag_object_sha_is_replaced_by_its_commit() -> None:
    forge, c = world()
    plan, new = plan_for(steps(f"acme/tool@{c['v1obj']}"), forge)
    assert new == steps(f"acme/tool@{c['m2']} # v1.1.0")
    assert [i.code for i in plan.issues] == ["tag-object-pin"]


def test_missing_repo_and_ref_are_problems_and_the_rest_is_pinned() -> None:
    forge, c = world()
    plan, new = plan_for(steps("acme/gone@v1", "acme/tool@v9", "acme/tool@v1.0.0"), forge)
    assert new == steps("acme/gone@v1", "acme/tool@v9", f"acme/tool@{c['m1']} # v1.0.0")
    assert [(i.code, i.line) for i in plan.problems] == [("unresolvable", 6), ("unresolvable", 7)]


def test_remote_failure_is_reported_per_use_not_as_a_problem() -> None:
    forge, _ = world()
    forge.fail_repos.add("acme/mono")
    plan, _ = plan_for(steps("acme/mono/setup@setup/v1", "acme/tool@v1"), forge)
    assert [i.line for i in plan.remote_failures] == [6]
    assert not plan.problems and len(plan.changes) == 1


def test_local_docker_expression_and_invalid_uses() -> None:
    forge, _ = world()
    text = steps("./local", "docker://alpine:3", "acme/tool@${{ inputs.ref }}", "just-a-name")
    plan, new = plan_for(text, forge)
    assert new == text
    assert [(i.severity, i.code) for i in plan.issues] == [
        ("warning", "expression-ref"),
        ("problem", "invalid"),
    ]
    assert forge.calls["list_refs"] == 0


def test_include_exclude_and_ignore_comments() -> None:
    forge, c = world()
    text = steps(
        "acme/tool@v1",
        "acme/mono/setup@setup/v1",
        "acme/tool@v2.0.0 # pinner: ignore",
        "acme/tool@main # pinner: ignore[branch-ref]",
    )
    plan, new = plan_for(text, forge, targets=TargetFilter(exclude=(re.compile("^acme/mono"),)))
    assert new == steps(
        f"acme/tool@{c['m2']} # v1.1.0",
        "acme/mono/setup@setup/v1",
        "acme/tool@v2.0.0 # pinner: ignore",
        f"acme/tool@{c['m5']} # main # pinner: ignore[branch-ref]",
    )
    assert plan.skipped == 2 and plan.issues == ()
    plan, _ = plan_for(text, forge, targets=TargetFilter(include=(re.compile("mono"),)))
    assert [ch.line for ch in plan.changes] == [7]


def test_ignore_all_in_brackets_keeps_pin_off_the_line_as_audit_does() -> None:
    # audit reads "ignore[all]" and "ignore[*]" as a bare "pinner: ignore": so does pin
    forge, _ = world()
    text = steps("acme/tool@v1 # pinner: ignore[all]", "acme/tool@main # pinner: ignore[*]")
    plan, new = plan_for(text, forge)
    assert new == text
    assert plan.skipped == 2 and plan.changes == () and plan.issues == ()


def test_ratchet_exclude_keeps_pin_off_the_line() -> None:
    forge, c = world()
    text = steps("acme/tool@v1 # ratchet:exclude", "acme/tool@v2.0.0 # v2.0.0 # ratchet:exclude")
    plan, new = plan_for(text + steps("acme/tool@v2.0.0").split("steps:\n")[1], forge)
    assert new == text + f"      - uses: acme/tool@{c['m4']} # v2.0.0\n"
    assert plan.skipped == 2 and plan.issues == ()


def test_comment_dialects_are_kept_and_tracked_refs_keep_being_tracked() -> None:
    forge, c = world()  # m1 is v1.0.0; v1 and v1.1.0 point at m2; v2.0.0 at m4
    text = steps(
        f"acme/tool@{c['m1']} # tag=v1.1.0",
        f"acme/tool@{c['m1']} # version: 1.1.0",
        f"acme/tool@{c['m1']} # pin@v2.0.0",
        f"acme/tool@{c['m1']} # ratchet:acme/tool@v1.1.0",
        f"acme/tool@{c['m1']}    #   v1.1.0   # a note",
        f"acme/tool@{c['m1']} # ratchet:acme/tool@v1",  # v1.0.0 is a v1 release: true
        f"acme/tool@{c['m1']} # pin@v1",
        "acme/tool@v1 # ratchet:acme/tool@v1",  # pinned; ratchet keeps following v1
    )
    plan, new = plan_for(text, forge)
    assert new == steps(
        f"acme/tool@{c['m1']} # tag=v1.0.0",
        f"acme/tool@{c['m1']} # version: 1.0.0",
        f"acme/tool@{c['m1']} # pin@v1.0.0",
        f"acme/tool@{c['m1']} # ratchet:acme/tool@v1.0.0",
        f"acme/tool@{c['m1']}    #   v1.0.0   # a note",
        f"acme/tool@{c['m1']} # ratchet:acme/tool@v1",
        f"acme/tool@{c['m1']} # pin@v1",
        f"acme/tool@{c['m2']} # ratchet:acme/tool@v1",
    )
    assert [i.line for i in plan.issues if i.code == "comment-mismatch"] == [6, 7, 8, 9, 10]
    assert [ch.new_comment for ch in plan.changes][:2] == ["tag=v1.0.0", "version: 1.0.0"]
    _, twice = plan_for(new, forge)
    assert twice == new


def test_a_corrected_tracked_ref_keeps_its_precision() -> None:
    """A tracked ref the pin is not in is corrected at the precision it was written with,
    where the repository has that ref (``v2``), else to the release (``setup/v1.2.3``'s
    family has no ``setup/v1.2``)."""
    forge, c = world()
    text = steps(
        f"acme/tool@{c['m4']} # ratchet:acme/tool@v1",
        f"acme/tool@{c['m4']} # ratchet:acme/tool@v1.1.0",
        f"acme/mono/setup@{c['mono0']} # ratchet:acme/mono/setup@setup/v0.9",
    )
    plan, new = plan_for(text, forge)
    assert new == steps(
        f"acme/tool@{c['m4']} # ratchet:acme/tool@v2",
        f"acme/tool@{c['m4']} # ratchet:acme/tool@v2.0.0",
        f"acme/mono/setup@{c['mono0']} # ratchet:acme/mono/setup@setup/v1.2.3",
    )
    assert plan.changes[0].new_comment == "ratchet:acme/tool@v2"
    _, twice = plan_for(new, forge)
    assert twice == new


def test_a_lone_word_is_a_claim_only_when_it_names_a_ref() -> None:
    forge, c = world()
    plan, new = plan_for(
        steps(
            "acme/tool@v1 # TODO",
            "acme/tool@v1 # main",
            "acme/tool@v1 # releases/v1",
            f"acme/tool@{c['m1']} # wip",
            f"acme/tool@{c['m5']} # wip",  # an untagged branch tip: the branch is named
        ),
        forge,
    )
    assert new == steps(
        f"acme/tool@{c['m2']} # v1.1.0 # TODO",
        f"acme/tool@{c['m2']} # v1.1.0",
        f"acme/tool@{c['m2']} # v1.1.0",
        f"acme/tool@{c['m1']} # v1.0.0 # wip",
        f"acme/tool@{c['m5']} # main # wip",
    )
    # "releases/v1" reads as a (monorepo-style) version: a claim whatever the listing says
    assert [ch.word_is_ref for ch in plan.changes] == [False, True, False, False, False]


class _Config:
    """The one method IgnorePolicy needs from pinner.config.Config."""

    def __init__(self, rule: str | None, action: str) -> None:
        self.rule, self.action = rule, action

    def ignored_by(self, rule: str, target: str, file: str) -> object | None:
        if self.rule is not None and self.rule != rule:
            return None
        return self if target.startswith(self.action) else None


@pytest.mark.parametrize(("rule", "pinned"), [("unpinned-ref", False), ("missing-comment", True)])
def test_config_ignore_entries(rule: str, pinned: bool) -> None:
    forge, _ = world()
    plan, _ = plan_for(steps("acme/tool@v1"), forge, ignores=IgnorePolicy(_Config(rule, "acme/")))
    assert bool(plan.changes) is pinned


def test_listings_are_fetched_concurrently() -> None:
    repos = []
    for i in range(8):
        r = FakeRepo(f"org/a{i}")
        head = r.chain("c", 1)[0]
        r.branch("main", head)
        r.tag("v1.0.0", head)
        repos.append(r)
    forge = FakeForge(*repos, delay=0.05)
    text = steps(*(f"org/a{i}@v1.0.0" for i in range(8)))

    async def timed() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await plan_pins([scan(text, "w.yml", "workflow")], forge)
        return loop.time() - start

    elapsed = asyncio.run(timed())
    assert forge.calls["list_refs"] == 8
    assert elapsed < 0.05 * 4  # sequential would be >= 0.4 s


def test_two_uses_on_one_line_get_no_comment_and_no_endless_change() -> None:
    forge, c = world()
    text = (
        "on: push\njobs:\n  a:\n    runs-on: x\n"
        "    steps: [{uses: acme/tool@v1}, {uses: acme/tool@v1.0.0}]\n"
    )
    plan, once = plan_for(text, forge)
    assert once == text.replace("@v1}", f"@{c['m2']}}}").replace("@v1.0.0}", f"@{c['m1']}}}")
    plan, twice = plan_for(once, forge)
    assert twice == once and plan.changes == ()


def test_tag_object_of_a_fork_commit_is_not_blessed() -> None:
    forge, c = world()
    tool = forge.repos["acme/tool"]
    rogue = sha_of("rogue-tag-object")  # a tag object only a fork has, no ref lists it
    tool.tag_objects[rogue] = TagObject(rogue, "v9.9.9", c["evil"], "commit", None)
    text = steps(f"acme/tool@{rogue}")
    plan, new = plan_for(text, forge)
    assert new == text
    assert [(i.severity, i.code) for i in plan.issues] == [("problem", "impostor-commit")]


# ----------------------------------------------------------------------------- streaming


def _streamed_sources(c: dict[str, str]) -> list:
    return [
        scan(steps("acme/tool@v1", f"acme/tool@{c['m0']}"), ".github/workflows/a.yml", "workflow"),
        scan(steps(f"acme/tool@{c['evil']} # v2.0.0"), ".github/workflows/b.yml", "workflow"),
        scan(
            steps("acme/mono/setup@setup/v1", "acme/tool@main"),
            ".github/workflows/c.yml",
            "workflow",
        ),
    ]


def test_files_added_one_by_one_give_the_plan_of_all_at_once() -> None:
    forge, c = world()
    sources = _streamed_sources(c)
    whole = asyncio.run(plan_pins(sources, forge))

    async def streamed() -> PinPlan:
        planner = PinPlanner(FakeForge(*forge.repos.values()))
        planner.expect(["acme/tool"])
        for source in sources:
            planner.add(source)
            await asyncio.sleep(0)
        planner.add(sources[0])  # a file added twice counts once
        return await planner.finish(sources)

    assert asyncio.run(streamed()) == whole


def test_references_start_as_their_file_is_read_not_at_the_end() -> None:
    """A hinted repository's references resolve and verify before finish() is called; a
    repository nobody asked for yet waits for a full batch (or the end), not a small query."""
    forge, c = world()
    sources = _streamed_sources(c)

    async def go() -> tuple[list[tuple[str, str]], PinPlan]:
        planner = PinPlanner(forge)
        planner.expect(["acme/tool"])
        for source in sources:
            planner.add(source)
        for _ in range(50):
            await asyncio.sleep(0)
        before_finish = list(forge.log)
        return before_finish, await planner.finish(sources)

    before, plan = asyncio.run(go())
    assert ("list_refs", "acme/tool") in before
    assert ("compare", "acme/tool") in before  # the fork commit's verification started too
    assert ("list_refs", "acme/mono") not in before  # not hinted: waits for the batch
    assert forge.calls["list_refs"] == 2
    assert [i.code for i in plan.problems] == ["impostor-commit"]


def test_cancel_stops_references_in_flight() -> None:
    tool = FakeRepo("acme/tool")
    tool.tag("v1", tool.commit("a"))
    forge = FakeForge(tool, delay=10.0)

    async def go() -> None:
        planner = PinPlanner(forge)
        planner.expect(["acme/tool"])
        planner.add(scan(steps("acme/tool@v1"), "w.yml", "workflow"))
        await asyncio.sleep(0.01)
        planner.cancel()
        await asyncio.sleep(0.01)

    asyncio.run(go())  # no warning about tasks destroyed while pending
    assert forge.calls["list_refs"] == 1


class BatchingForge(FakeForge):
    """A fake that, like GitHubForge with GraphQL, can start lookups early."""

    def __init__(self, *repos: FakeRepo) -> None:
        super().__init__(*repos)
        self.prefetched: list[tuple[str, str]] = []

    def prefetch_lookups(self, keys) -> None:
        self.prefetched.extend(keys)


def test_hinted_commits_are_handed_to_a_forge_that_can_look_them_up_early() -> None:
    forge, c = world()
    batching = BatchingForge(*forge.repos.values())
    source = scan(steps(f"acme/tool@{c['m0']}"), ".github/workflows/a.yml", "workflow")

    async def go(f: FakeForge) -> PinPlan:
        planner = PinPlanner(f)
        planner.expect(["acme/tool"], [("acme/tool", c["m0"])])
        return await planner.finish([source])

    assert asyncio.run(go(batching)) == asyncio.run(go(FakeForge(*forge.repos.values())))
    assert batching.prefetched == [("acme/tool", c["m0"])]
