"""Where advisories and archived flags come from: REST, the emulator, the cache, the snapshot.

``GET /advisories?ecosystem=actions&type=reviewed&affects=P1,P2,...`` answers many packages at
once and pages with cursors in ``Link`` (never a built URL); concurrent questions share one
request; answers live in the cache for the listings' TTL and ``--offline`` reads them back; the
emulator serves the endpoint with GitHub's filters and paging from ``advisories.json``; a ref
listing over GraphQL carries ``isArchived``, so a token costs no repository lookup.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from pinner.errors import InputError, NotFoundError, OfflineMiss, RemoteError
from pinner.forge.cached import CachedForge, advisory_from_json, advisory_to_json
from pinner.forge.factory import open_forge
from pinner.forge.github import GitHubForge
from pinner.forge.http import Transport
from pinner.forge.snapshot import SnapshotForge
from pinner.settings import ForgeUrls, Secret, Settings
from tests.test_advisory_fixtures import REVIEWDOG, TJ
from tests.test_forge_github import MemoryCache, make_settings, spec_example

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
API = "https://api.github.com"


async def _no_sleep(_seconds: float) -> None:
    return None


def advisory_body(ghsa: str, *packages: tuple[str, str, str | None], **extra: Any) -> dict:
    """The official example advisory, renamed, naming ``packages`` (name, range, patched)."""
    body = spec_example("GET /advisories")[0]
    body.update(ghsa_id=ghsa, html_url=f"https://github.com/advisories/{ghsa}", **extra)
    body["vulnerabilities"] = [
        {
            "package": {"ecosystem": "actions", "name": name},
            "vulnerable_version_range": rng,
            "first_patched_version": fix,
            "vulnerable_functions": [],
        }
        for name, rng, fix in packages
    ]
    return body


def rest_advisories(packages: list[str], settings: Settings | None = None) -> dict:
    async def go() -> dict:
        s = settings or make_settings()
        transport = Transport(s, sleep=_no_sleep)
        async with GitHubForge(s, None, transport=transport, graphql=False) as forge:
            try:
                return await forge.rest.list_advisories(packages)
            finally:
                await transport.aclose()

    return asyncio.run(go())


# ----------------------------------------------------------------------------- REST


@respx.mock
def test_one_request_for_many_packages_following_the_cursor_links() -> None:
    first = advisory_body("GHSA-aaaa-aaaa-aaaa", ("o/one", "< 2.0.0", "2.0.0"))
    second = advisory_body(
        "GHSA-bbbb-bbbb-bbbb",
        ("O/Two", "= 1", None),
        ("o/one", ">= 3.0.0, < 3.0.2", "3.0.2"),
    )
    other = advisory_body("GHSA-cccc-cccc-cccc", ("somebody/else", "< 1", "1"))
    cursor = f"{API}/advisories?ecosystem=actions&affects=o%2Fone&per_page=100&after=Y3Vyc29y"
    route = respx.get(f"{API}/advisories").mock(
        side_effect=[
            httpx.Response(200, json=[first], headers={"Link": f'<{cursor}>; rel="next"'}),
            httpx.Response(200, json=[second, other]),
        ]
    )
    found = rest_advisories(["o/one", "o/two", "o/three"])
    assert route.call_count == 2
    query = parse_qs(urlsplit(str(route.calls[0].request.url)).query)
    assert query == {
        "ecosystem": ["actions"],
        "type": ["reviewed"],
        "affects": ["o/one,o/two,o/three"],
        "per_page": ["100"],
    }
    assert "affects=o/one,o/two,o/three" in str(route.calls[0].request.url)  # not %2F/%2C
    assert str(route.calls[1].request.url) == cursor  # the Link, as given
    assert [a.ghsa_id for a in found["o/one"]] == ["GHSA-aaaa-aaaa-aaaa", "GHSA-bbbb-bbbb-bbbb"]
    assert [a.ghsa_id for a in found["o/two"]] == ["GHSA-bbbb-bbbb-bbbb"]  # any letter case
    assert found["o/three"] == ()
    one = found["o/one"][0]
    assert one.packages[0].vulnerable_range == "< 2.0.0" and one.cvss_score == 7.6
    assert one.cve_id == "CVE-2050-00000" and one.severity == "high"


@respx.mock
def test_no_advisory_database_is_not_found_and_a_bad_answer_is_a_remote_error() -> None:
    respx.get(f"{API}/advisories").mock(return_value=httpx.Response(404, json={"message": "x"}))
    with pytest.raises(NotFoundError, match="no /advisories endpoint"):
        rest_advisories(["o/r"])
    respx.get(f"{API}/advisories").mock(return_value=httpx.Response(200, json={"not": "a list"}))
    with pytest.raises(RemoteError, match="expected a JSON list"):
        rest_advisories(["o/r"])
    broken = advisory_body("GHSA-aaaa-aaaa-aaaa", ("o/r", "< 1", "1"))
    del broken["summary"]
    respx.get(f"{API}/advisories").mock(return_value=httpx.Response(200, json=[broken]))
    with pytest.raises(RemoteError, match="summary"):
        rest_advisories(["o/r"])


@respx.mock
def test_paging_never_leaves_the_api_host() -> None:
    evil = "https://evil.example/advisories?after=x"
    respx.get(f"{API}/advisories").mock(
        return_value=httpx.Response(200, json=[], headers={"Link": f'<{evil}>; rel="next"'})
    )
    with pytest.raises(RemoteError, match="left the API host"):
        rest_advisories(["o/r"])


def test_advisories_round_trip_through_the_cache_codec() -> None:
    found = SnapshotForge(FORGE)
    advisories = asyncio.run(found.list_advisories("tj-actions/changed-files"))
    assert [advisory_from_json(advisory_to_json(a)) for a in advisories] == list(advisories)


# ----------------------------------------------------------------------------- the emulator


def get(url: str, **params: str) -> httpx.Response:
    return httpx.get(url, params=params, timeout=30)


def test_emulator_filters_like_github(emulator) -> None:
    emu = emulator(FORGE)
    every = get(f"{emu.url}/advisories", per_page="100").json()
    ids = {a["ghsa_id"] for a in every}
    assert TJ in ids and REVIEWDOG in ids
    assert "GHSA-r010-unreviewed" not in ids  # type=reviewed by default
    unreviewed = get(f"{emu.url}/advisories", type="unreviewed").json()
    assert [a["ghsa_id"] for a in unreviewed] == ["GHSA-r010-unreviewed"]
    npm = get(f"{emu.url}/advisories", ecosystem="npm").json()
    assert [a["ghsa_id"] for a in npm] == ["GHSA-r011-other-ecosy"]
    both = get(f"{emu.url}/advisories", affects="tj-actions/changed-files,REVIEWDOG/action-setup")
    assert {a["ghsa_id"] for a in both.json()} == {TJ, REVIEWDOG}
    listed = httpx.get(
        f"{emu.url}/advisories?affects[]=tj-actions/changed-files&affects[]=reviewdog/action-setup"
    )
    assert {a["ghsa_id"] for a in listed.json()} == {TJ, REVIEWDOG}
    versioned = get(f"{emu.url}/advisories", affects="tj-actions/changed-files@45.0.7").json()
    assert [a["ghsa_id"] for a in versioned] == [TJ]
    assert get(f"{emu.url}/advisories", affects="tj-actions/changed-files@46.0.1").json() == []
    high = get(f"{emu.url}/advisories", severity="critical", per_page="100").json()
    assert [a["ghsa_id"] for a in high] == ["GHSA-r003-equal-noop"]
    withdrawn = get(f"{emu.url}/advisories", is_withdrawn="true").json()
    assert [a["ghsa_id"] for a in withdrawn] == ["GHSA-r009-withdrawnxx"]
    one = get(f"{emu.url}/advisories/{TJ}")
    assert one.status_code == 200 and one.json()["cve_id"] == "CVE-2025-30066"
    assert one.json()["vulnerabilities"][0]["vulnerable_version_range"] == "< 46.0.1"
    assert get(f"{emu.url}/advisories/GHSA-none-none-none").status_code == 404
    for bad in ({"type": "bogus"}, {"ecosystem": "cobol"}, {"after": "not-a-cursor"}):
        response = get(f"{emu.url}/advisories", **bad)
        assert response.status_code == 422, bad
    assert emu.stats()["endpoints"]["GET /advisories"] >= 10  # and every body met the schema


def test_emulator_pages_with_cursors_both_ways(emulator) -> None:
    emu = emulator(FORGE)
    one_page = get(f"{emu.url}/advisories", per_page="100", affects="adv-org/ranges")
    everything = [a["ghsa_id"] for a in one_page.json()]
    assert len(everything) == 10 and "next" not in one_page.links  # npm one too: no ecosystem
    seen: list[str] = []
    response = get(f"{emu.url}/advisories", per_page="3", affects="adv-org/ranges")
    pages = [response]
    while "next" in response.links:
        assert "&page=" not in response.links["next"]["url"]  # cursors, not page numbers
        response = httpx.get(response.links["next"]["url"])
        pages.append(response)
    for page in pages:
        seen += [a["ghsa_id"] for a in page.json()]
    assert seen == everything  # every advisory once, in the same order
    assert len(pages) == 4
    back = httpx.get(pages[-1].links["prev"]["url"])
    assert back.json() == pages[-2].json()


# ----------------------------------------------------------------------------- GitHubForge


def settings_for(url: str, cache: Path | None, *, token: bool, offline: bool = False) -> Settings:
    return Settings(
        urls=ForgeUrls.derive(url),
        token=Secret("t") if token else None,
        cache_dir=cache,
        offline=offline,
    )


async def ask(settings: Settings, packages: list[str], repos: list[str]) -> tuple:
    async with open_forge(settings) as forge:
        advisories = await asyncio.gather(*(forge.list_advisories(p) for p in packages))
        infos = await asyncio.gather(*(forge.get_repo(r) for r in repos))
        listings = await asyncio.gather(*(forge.list_refs(r) for r in repos))
        return advisories, [i.archived for i in infos], [x.archived for x in listings]


PACKAGES = ["tj-actions/changed-files", "reviewdog/action-setup", "adv-org/kit/setup", "x/y"]
REPOS = ["adv-org/retired", "adv-org/ranges"]


def test_concurrent_questions_share_one_request_and_a_warm_run_asks_nothing(
    emulator, tmp_path: Path
) -> None:
    emu = emulator(FORGE)
    cache = tmp_path / "cache"
    cold = asyncio.run(ask(settings_for(emu.url, cache, token=False), PACKAGES, REPOS))
    advisories, archived, listed = cold
    assert [a.ghsa_id for a in advisories[0]] == [TJ]
    assert [a.ghsa_id for a in advisories[1]] == [REVIEWDOG]
    assert [a.ghsa_id for a in advisories[2]] == ["GHSA-k001-kit-setupxx"]
    assert advisories[3] == ()
    assert archived == [True, False]
    assert listed == [None, None]  # git says nothing about archiving
    assert emu.stats()["endpoints"]["GET /advisories"] == 1
    emu.reset()
    assert asyncio.run(ask(settings_for(emu.url, cache, token=False), PACKAGES, REPOS)) == cold
    assert emu.stats()["total"] == 0
    offline = settings_for(emu.url, cache, token=False, offline=True)
    assert asyncio.run(ask(offline, PACKAGES, REPOS)) == cold
    assert emu.stats()["total"] == 0
    with pytest.raises(OfflineMiss, match="security advisories of never/asked"):
        asyncio.run(ask(offline, ["never/asked"], []))


def test_more_packages_than_a_request_carries_go_in_several(emulator) -> None:
    emu = emulator(FORGE)
    many = [f"o/r{i}" for i in range(150)] + ["tj-actions/changed-files"]

    async def go() -> list:
        async with open_forge(settings_for(emu.url, None, token=False)) as forge:
            return await asyncio.gather(*(forge.list_advisories(p) for p in many))

    found = asyncio.run(go())
    assert [a.ghsa_id for a in found[-1]] == [TJ] and not any(found[:-1])
    assert emu.stats()["endpoints"]["GET /advisories"] == 2  # 100 per request


def test_graphql_listings_say_whether_a_repository_is_archived(emulator) -> None:
    emu = emulator(FORGE)

    async def go() -> list:
        async with open_forge(settings_for(emu.url, None, token=True)) as forge:
            return [(await forge.list_refs(r)).archived for r in REPOS]

    assert asyncio.run(go()) == [True, False]
    assert emu.stats()["rest"] == 0


def test_the_listing_archived_flag_survives_the_store(emulator, tmp_path: Path) -> None:
    emu = emulator(FORGE)
    cache = tmp_path / "cache"

    async def go(offline: bool) -> bool | None:
        settings = settings_for(emu.url, cache, token=True, offline=offline)
        async with open_forge(settings) as forge:
            return (await forge.list_refs("adv-org/retired")).archived

    assert asyncio.run(go(False)) is True
    assert asyncio.run(go(True)) is True


# ----------------------------------------------------------------------------- snapshot


def test_snapshot_answers_like_the_api(tmp_path: Path) -> None:
    forge = SnapshotForge(FORGE)
    tj = asyncio.run(forge.list_advisories("TJ-Actions/Changed-Files"))
    assert [a.ghsa_id for a in tj] == [TJ]
    assert tj[0].html_url == f"https://github.com/advisories/{TJ}" and tj[0].cvss_score == 8.6
    ranges = {a.ghsa_id for a in asyncio.run(forge.list_advisories("adv-org/ranges"))}
    assert "GHSA-r005-v-prefixed" in ranges  # named ADV-org/Ranges
    assert "GHSA-r009-withdrawnxx" in ranges  # withdrawn ones come back, marked
    assert not ranges & {"GHSA-r010-unreviewed", "GHSA-r011-other-ecosy"}
    retired = asyncio.run(forge.get_repo("adv-org/retired"))
    assert retired.archived is True
    assert asyncio.run(forge.list_refs("adv-org/retired")).archived is True
    assert asyncio.run(forge.get_repo("adv-org/ranges")).archived is False


def test_later_snapshot_directories_replace_an_advisory(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "advisories.json").write_text(
        json.dumps(
            [
                {
                    "ghsa_id": TJ,
                    "summary": "corrected",
                    "vulnerabilities": [
                        {
                            "package": {"ecosystem": "actions", "name": "tj-actions/changed-files"},
                            "vulnerable_version_range": "< 47",
                            "first_patched_version": "47.0.0",
                        }
                    ],
                }
            ]
        )
    )
    forge = SnapshotForge(FORGE, overlay)
    [tj] = asyncio.run(forge.list_advisories("tj-actions/changed-files"))
    assert tj.summary == "corrected" and tj.packages[0].vulnerable_range == "< 47"
    assert tj.severity == "unknown"  # the default of a field left out


@pytest.mark.parametrize("text", ["{}", "[1]", '[{"summary": "no id"}]', "not json"])
def test_a_malformed_advisories_file_is_an_input_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "advisories.json").write_text(text)
    with pytest.raises(InputError, match=r"advisories\.json"):
        asyncio.run(SnapshotForge(tmp_path).list_advisories("o/r"))


def test_the_cached_forge_keeps_snapshot_answers_per_package() -> None:
    cached = CachedForge(SnapshotForge(FORGE), None)

    async def go() -> tuple:
        first = await cached.list_advisories("tj-actions/changed-files")
        again = await cached.list_advisories("TJ-ACTIONS/changed-files")
        return first, again

    first, again = asyncio.run(go())
    assert first == again
    assert cached.stats["advisories.fetch"] == 1 and cached.stats["advisories.memo"] == 1


def test_the_github_forge_batches_concurrent_questions(emulator) -> None:
    emu = emulator(FORGE)
    cache = MemoryCache()

    async def go() -> list:
        s = settings_for(emu.url, None, token=False)
        async with GitHubForge(s, cache) as forge:
            return await asyncio.gather(*(forge.list_advisories(p) for p in PACKAGES))

    found = asyncio.run(go())
    assert [len(a) for a in found] == [1, 1, 1, 0]
    assert emu.stats()["rest"] == 1


def test_a_forge_without_advisory_database_is_said_once_and_checks_nothing(capsys) -> None:
    from pinner.core.advisories import ResolvedAction, gather_facts
    from pinner.models import ActionRef, RepoInfo

    class NoDatabase:
        def __init__(self) -> None:
            self.asked: list[str] = []

        async def list_advisories(self, package: str) -> tuple:
            self.asked.append(package)
            raise NotFoundError("security advisories: the forge has no /advisories endpoint")

        async def get_repo(self, repo: str) -> RepoInfo:
            if repo == "gone/away":
                raise NotFoundError("repository gone/away not found")
            return RepoInfo(repo, "main", f"https://example.test/{repo}", archived=True)

    actions = [
        ResolvedAction(ActionRef("o", "r", "sub", "v1"), "o/r"),
        ResolvedAction(ActionRef("o", "r", None, "v1"), "o/r"),
        ResolvedAction(ActionRef("gone", "away", None, "v1"), "gone/away"),
        ResolvedAction(ActionRef("l", "listed", None, "v1"), "l/listed", archived=False),
    ]
    forge = NoDatabase()
    facts = asyncio.run(gather_facts(actions, forge))  # type: ignore[arg-type]
    assert sorted(forge.asked) == ["gone/away", "l/listed", "o/r", "o/r/sub"]
    assert facts.advisories == {}
    assert facts.archived == {"o/r": True, "l/listed": False}  # the listing's flag: not asked
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("pinner: warning: the forge has no security advisory database")


def test_the_cvss_score_falls_back_to_cvss_severities() -> None:
    from pinner.models import cvss_base_score

    v3 = {"score": 8.6, "vector_string": "CVSS:3.1/..."}
    v4 = {"score": 9.3, "vector_string": "CVSS:4.0/..."}
    assert cvss_base_score({"cvss": v3}) == 8.6
    assert cvss_base_score({"cvss": None, "cvss_severities": {"cvss_v3": v3, "cvss_v4": v4}}) == 9.3
    assert cvss_base_score({"cvss_severities": {"cvss_v3": v3, "cvss_v4": None}}) == 8.6
    for none in ({}, {"cvss": {"score": None}}, {"cvss": {"score": True}}, {"cvss": {"score": 11}}):
        assert cvss_base_score(none) is None
