"""CachedForge: single-flight per run, immutable answers kept forever, TTLs, offline."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pinner.errors import NotFoundError, OfflineMiss, RemoteError
from pinner.forge.base import Forge, NotBatched
from pinner.forge.cache import FileCacheStore
from pinner.forge.cached import (
    _RELEASES,
    _REPO,
    CachedForge,
    comparison_from_json,
    comparison_to_json,
    ref_listing_from_json,
    ref_listing_to_json,
)
from pinner.models import (
    Commit,
    Comparison,
    GitRef,
    RefListing,
    Release,
    ReleaseAsset,
    RepoInfo,
    TagObject,
)

SHA_A = "a" * 40
SHA_B = "b" * 40
SHA_T = "c" * 40
WHEN = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)

LISTING = RefListing(
    repo="Actions/Checkout",
    refs=(
        GitRef("refs/heads/main", SHA_B, SHA_B),
        GitRef("refs/tags/v4.2.2", SHA_T, SHA_A),
        GitRef("refs/tags/v4", SHA_A, SHA_A),
    ),
    default_branch="main",
)
RELEASES = (
    Release(
        tag_name="v4.2.2",
        name="v4.2.2 – ünïcode",
        published_at=WHEN,
        draft=False,
        prerelease=False,
        html_url="https://github.com/actions/checkout/releases/tag/v4.2.2",
        immutable=True,
        assets=(
            ReleaseAsset(
                "tool.tar.gz", "https://api/x", "https://dl/x", 1234, "sha256:" + "0" * 64
            ),
            ReleaseAsset("tool.zip", "https://api/y", "https://dl/y", 0, None),
        ),
    ),
    Release("v1", None, None, True, True, "https://h/v1"),
)


class FakeForge:
    """Answers from fixed data, counts every call, optionally slowly (to expose races)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: Counter[tuple] = Counter()
        self.delay = delay
        self.files: dict[tuple[str, str], bytes] = {(SHA_A, "action.yml"): b"name: checkout\n"}
        self.listing = LISTING
        self.fail_with: Exception | None = None

    async def _tick(self, *key: object) -> None:
        self.calls[key] += 1
        await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with

    async def list_refs(self, repo: str) -> RefListing:
        await self._tick("list_refs", repo)
        if repo.lower() == "nobody/nothing":
            raise NotFoundError(f"repository {repo} not found")
        return self.listing

    async def get_file(self, repo: str, commit: str, path: str) -> bytes | None:
        await self._tick("get_file", repo, commit, path)
        return self.files.get((commit, path))

    async def get_commit(self, repo: str, ref: str) -> Commit:
        await self._tick("get_commit", repo, ref)
        return Commit(SHA_A if ref != "main" else SHA_B, WHEN, (SHA_B,))

    async def compare(self, repo: str, base: str, head: str) -> Comparison | None:
        await self._tick("compare", repo, base, head)
        if head == SHA_T:
            return None
        return Comparison("behind", 0, 3, SHA_A)

    async def get_tag_object(self, repo: str, sha: str) -> TagObject:
        await self._tick("get_tag_object", repo, sha)
        return TagObject(sha, "v4.2.2", SHA_A, "commit", WHEN)

    async def list_releases(self, repo: str) -> tuple[Release, ...]:
        await self._tick("list_releases", repo)
        return RELEASES

    async def get_repo(self, repo: str) -> RepoInfo:
        await self._tick("get_repo", repo)
        return RepoInfo(
            "actions/checkout", "main", "https://github.com/actions/checkout", False, {"id": 1}
        )

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def run(coro):
    return asyncio.run(coro)


async def every_method(forge: Forge) -> tuple:
    return (
        await forge.list_refs("actions/checkout"),
        await forge.get_file("actions/checkout", SHA_A, "action.yml"),
        await forge.get_file("actions/checkout", SHA_A, "action.yaml"),
        await forge.get_commit("actions/checkout", SHA_A),
        await forge.compare("actions/checkout", SHA_B, SHA_A),
        await forge.get_tag_object("actions/checkout", SHA_T),
        await forge.list_releases("actions/checkout"),
        await forge.get_repo("actions/checkout"),
    )


def test_is_a_forge() -> None:
    assert isinstance(CachedForge(FakeForge(), None), Forge)


def test_concurrent_callers_share_one_request() -> None:
    inner = FakeForge(delay=0.02)
    forge = CachedForge(inner, None)

    async def main() -> list:
        return await asyncio.gather(
            *(forge.list_refs("actions/checkout") for _ in range(20)),
            *(forge.list_refs("ACTIONS/checkout") for _ in range(5)),  # GitHub ignores case
            *(forge.get_file("actions/checkout", SHA_A, "action.yml") for _ in range(20)),
        )

    results = run(main())
    assert inner.calls == Counter(
        {
            ("list_refs", "actions/checkout"): 1,
            ("get_file", "actions/checkout", SHA_A, "action.yml"): 1,
        }
    )
    assert all(r is LISTING for r in results[:25])
    assert forge.stats["refs.fetch"] == 1 and forge.stats["refs.memo"] == 24


def test_no_request_twice_in_a_run_even_without_store() -> None:
    inner = FakeForge()
    forge = CachedForge(inner, None)

    async def main() -> None:
        first = await every_method(forge)
        second = await every_method(forge)
        assert first == second

    run(main())
    assert set(inner.calls.values()) == {1}
    assert inner.total == 8


def test_errors_are_memoized_for_the_run() -> None:
    inner = FakeForge()
    forge = CachedForge(inner, None)

    async def main() -> None:
        for _ in range(3):
            with pytest.raises(NotFoundError):
                await forge.list_refs("nobody/nothing")

    run(main())
    assert inner.calls[("list_refs", "nobody/nothing")] == 1


def test_failed_request_is_not_persisted(tmp_path: Path) -> None:
    inner = FakeForge()
    inner.fail_with = RemoteError("boom")
    store = FileCacheStore(tmp_path)
    with pytest.raises(RemoteError):
        run(CachedForge(inner, store).get_file("a/b", SHA_A, "action.yml"))
    assert store.info().entries == 0
    inner.fail_with = None
    assert (
        run(CachedForge(inner, store).get_file("a/b", SHA_A, "action.yml")) == b"name: checkout\n"
    )


def test_cancelled_caller_does_not_cancel_the_shared_request() -> None:
    inner = FakeForge(delay=0.05)
    forge = CachedForge(inner, None)

    async def main() -> RefListing:
        impatient = asyncio.create_task(forge.list_refs("actions/checkout"))
        patient = asyncio.create_task(forge.list_refs("actions/checkout"))
        await asyncio.sleep(0.01)
        impatient.cancel()
        return await patient

    assert run(main()) == LISTING
    assert inner.total == 1


def test_memo_survives_into_a_new_event_loop_without_breaking() -> None:
    inner = FakeForge()
    forge = CachedForge(inner, None)
    run(forge.list_refs("actions/checkout"))
    assert run(forge.list_refs("actions/checkout")) == LISTING  # tasks of a closed loop dropped


def test_warm_run_makes_no_request_for_anything_immutable_or_fresh(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path)
    cold_inner = FakeForge()
    cold = run(every_method(CachedForge(cold_inner, store)))
    assert cold_inner.total == 8
    warm_inner = FakeForge()
    warm_forge = CachedForge(warm_inner, FileCacheStore(tmp_path))
    warm = run(every_method(warm_forge))
    assert warm == cold
    assert warm_inner.total == 0
    assert warm_forge.stats["file.store"] == 2  # the "absent" answer too


def test_after_the_ttl_only_mutable_answers_are_fetched_again(tmp_path: Path) -> None:
    clock = Clock()
    run(every_method(CachedForge(FakeForge(), FileCacheStore(tmp_path, clock=clock), refs_ttl=60)))
    clock.now += 61
    inner = FakeForge()
    run(every_method(CachedForge(inner, FileCacheStore(tmp_path, clock=clock), refs_ttl=60)))
    assert set(inner.calls) == {
        ("list_refs", "actions/checkout"),
        ("list_releases", "actions/checkout"),
        ("get_repo", "actions/checkout"),
    }
    assert set(inner.calls.values()) == {1}


def test_refetched_listing_replaces_the_stale_one(tmp_path: Path) -> None:
    clock = Clock()
    run(
        CachedForge(FakeForge(), FileCacheStore(tmp_path, clock=clock), refs_ttl=60).list_refs(
            "a/b"
        )
    )
    clock.now += 120
    newer = FakeForge()
    newer.listing = RefListing("a/b", (GitRef("refs/tags/v5", SHA_B, SHA_B),))
    got = run(
        CachedForge(newer, FileCacheStore(tmp_path, clock=clock), refs_ttl=60).list_refs("a/b")
    )
    assert got == newer.listing
    idle = FakeForge()
    again = run(
        CachedForge(idle, FileCacheStore(tmp_path, clock=clock), refs_ttl=60).list_refs("a/b")
    )
    assert again == newer.listing and idle.total == 0


def test_mutable_refs_are_never_persisted(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path)

    async def main(forge: CachedForge) -> None:
        await forge.get_commit("actions/checkout", "main")  # a branch moves
        await forge.get_file("actions/checkout", "v4", "action.yml")  # a tag can be moved
        await forge.compare("actions/checkout", "main", SHA_A)  # main moves
        await forge.get_commit("actions/checkout", SHA_A[:7])  # short SHA: ambiguous later

    run(main(CachedForge(FakeForge(), store)))
    assert store.info().entries == 0
    inner = FakeForge()
    run(main(CachedForge(inner, store)))
    assert inner.total == 4


def test_compare_404_between_shas_is_kept_only_for_the_ttl(tmp_path: Path) -> None:
    clock = Clock()
    make = lambda inner: CachedForge(inner, FileCacheStore(tmp_path, clock=clock), refs_ttl=60)  # noqa: E731
    assert run(make(FakeForge()).compare("a/b", SHA_A, SHA_T)) is None
    assert run(make(FakeForge()).compare("a/b", SHA_A, SHA_B)) is not None
    clock.now += 3600
    inner = FakeForge()
    forge = make(inner)
    assert run(forge.compare("a/b", SHA_A, SHA_T)) is None
    assert run(forge.compare("a/b", SHA_A, SHA_B)) == Comparison("behind", 0, 3, SHA_A)
    assert inner.calls == Counter({("compare", "a/b", SHA_A, SHA_T): 1})


class BatchingFake(FakeForge):
    """A FakeForge that can batch comparisons (``compare_ref``), except for ``refused`` refs."""

    compares_per_request = 50
    authenticated = True

    def __init__(self, refused: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.refused = refused

    async def compare_ref(self, repo: str, ref: GitRef, head: str) -> Comparison | None:
        await self._tick("compare_ref", repo, ref.name, head)
        if ref.name in self.refused:
            raise NotBatched(ref.name)
        return None if head == SHA_T else Comparison("behind", 0, 3, None)

    def compare_quota(self) -> int:
        return 7


def test_batched_comparisons_are_stored_like_single_ones(tmp_path: Path) -> None:
    """compare_ref answers are kept under compare()'s key: a warm run asks nothing either way;
    a ref the batch cannot answer is NotBatched and leaves compare() free to ask REST."""
    main, v1 = (GitRef(f"refs/heads/{n}", c, c) for n, c in (("main", SHA_A), ("v1", SHA_B)))

    async def cold(forge: CachedForge):
        found = await asyncio.gather(
            forge.compare_ref("a/b", main, SHA_B), forge.compare_ref("a/b", main, SHA_T)
        )
        with pytest.raises(NotBatched):
            await forge.compare_ref("a/b", v1, SHA_A)
        return [*found, await forge.compare("a/b", SHA_B, SHA_A)]

    inner = BatchingFake(refused=frozenset({"refs/heads/v1"}))
    forge = CachedForge(inner, FileCacheStore(tmp_path))
    assert (forge.compares_per_request, forge.compare_quota(), forge.authenticated) == (50, 7, True)
    behind, none, single = run(cold(forge))
    assert behind == Comparison("behind", 0, 3, None) and none is None and single is not None
    assert inner.calls[("compare", "a/b", SHA_B, SHA_A)] == 1  # NotBatched did not stick

    warm_inner = BatchingFake()
    warm = CachedForge(warm_inner, FileCacheStore(tmp_path))
    assert run(warm.compare("a/b", SHA_A, SHA_B)) == behind
    assert run(warm.compare_ref("a/b", main, SHA_B)) == behind
    assert run(warm.compare("a/b", SHA_B, SHA_A)) == single
    assert warm_inner.total == 0
    offline = CachedForge(BatchingFake(), FileCacheStore(tmp_path), offline=True)
    assert (offline.compares_per_request, offline.compare_quota()) == (1, None)
    with pytest.raises(NotBatched):  # offline, the store answers through compare()
        run(offline.compare_ref("a/b", main, SHA_B))


def test_scopes_keep_forges_apart(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path)
    run(CachedForge(FakeForge(), store, scope="github.com").list_refs("a/b"))
    other = FakeForge()
    run(CachedForge(other, store, scope="127.0.0.1:8080").list_refs("a/b"))
    assert other.total == 1


def test_offline_answers_from_the_store_even_when_stale(tmp_path: Path) -> None:
    clock = Clock()
    run(every_method(CachedForge(FakeForge(), FileCacheStore(tmp_path, clock=clock), refs_ttl=1)))
    clock.now += 10**6
    inner = FakeForge()
    forge = CachedForge(inner, FileCacheStore(tmp_path, clock=clock), offline=True, refs_ttl=1)
    assert run(every_method(forge))[0] == LISTING
    assert inner.total == 0


def test_offline_miss_is_a_clear_remote_error(tmp_path: Path) -> None:
    inner = FakeForge()
    forge = CachedForge(inner, FileCacheStore(tmp_path), offline=True)
    with pytest.raises(OfflineMiss) as err:
        run(forge.list_refs("actions/setup-go"))
    assert "--offline" in str(err.value) and "actions/setup-go" in str(err.value)
    assert "\n" not in str(err.value)
    assert err.value.exit_code == 3
    with pytest.raises(OfflineMiss):
        run(forge.get_commit("actions/setup-go", "main"))  # never persisted: always a miss
    assert inner.total == 0


def test_offline_without_store_is_refused() -> None:
    with pytest.raises(ValueError):
        CachedForge(FakeForge(), None, offline=True)


def test_undecodable_store_entry_is_a_miss(tmp_path: Path) -> None:
    store = FileCacheStore(tmp_path)
    forge = CachedForge(FakeForge(), store)
    run(forge.list_refs("a/b"))
    key = "refs//a/b"
    assert store.get(key) is not None
    store.put(key, b'{"repo": 5, "refs": []}', ttl=600)
    inner = FakeForge()
    assert run(CachedForge(inner, store).list_refs("a/b")) == LISTING
    assert inner.total == 1


# --------------------------------------------------------------------------- codec


def test_codec_round_trips_every_model() -> None:
    assert ref_listing_from_json(ref_listing_to_json(LISTING)) == LISTING
    assert _RELEASES.decode(_RELEASES.encode(RELEASES)) == RELEASES
    info = RepoInfo("o/r", "main", "https://h/o/r", True, {"visibility": "public"})
    back = _REPO.decode(_REPO.encode(info))
    assert back == info and back.extra == {"visibility": "public"}
    cmp = Comparison("diverged", 2, 5, None)
    assert comparison_from_json(comparison_to_json(cmp)) == cmp
    assert comparison_from_json(comparison_to_json(None)) is None
    assert _RELEASES.decode(_RELEASES.encode(RELEASES))[0].published_at == WHEN  # tz kept


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"repo": "a/b"}',
        b'{"repo": "a/b", "refs": [["x", "y"]]}',
        b'{"repo": "a/b", "refs": [[1, 2, 3]]}',
    ],
)
def test_codec_rejects_malformed_listings(payload: bytes) -> None:
    from pinner.forge.cached import _REFS

    with pytest.raises((ValueError, KeyError, TypeError)):
        _REFS.decode(payload)


def test_a_run_with_a_shorter_ttl_refuses_older_listings(tmp_path: Path) -> None:
    """The TTL is fixed at write time; a later run asking for younger answers still gets them."""
    clock = Clock()

    async def both(forge: CachedForge) -> None:
        await forge.list_refs("a/b")
        await forge.get_file("a/b", SHA_A, "action.yml")

    run(both(CachedForge(FakeForge(), FileCacheStore(tmp_path, clock=clock), refs_ttl=600)))
    clock.now += 30
    lenient = FakeForge()
    run(both(CachedForge(lenient, FileCacheStore(tmp_path, clock=clock), refs_ttl=600)))
    assert lenient.total == 0
    strict = FakeForge()
    run(both(CachedForge(strict, FileCacheStore(tmp_path, clock=clock), refs_ttl=10)))
    assert strict.calls == Counter({("list_refs", "a/b"): 1})  # immutable: age never matters
    always = FakeForge()
    run(both(CachedForge(always, FileCacheStore(tmp_path, clock=clock), refs_ttl=0)))
    assert always.calls == Counter({("list_refs", "a/b"): 1})


def test_not_found_is_kept_for_the_ttl_then_asked_again(tmp_path: Path) -> None:
    clock = Clock()

    def forge(inner: FakeForge, **kw) -> CachedForge:
        return CachedForge(inner, FileCacheStore(tmp_path, clock=clock), refs_ttl=60, **kw)

    with pytest.raises(NotFoundError, match="nobody/nothing not found"):
        run(forge(FakeForge()).list_refs("nobody/nothing"))
    warm = FakeForge()
    with pytest.raises(NotFoundError, match="nobody/nothing not found"):
        run(forge(warm).list_refs("nobody/nothing"))
    assert warm.total == 0
    clock.now += 61
    offline = FakeForge()
    with pytest.raises(NotFoundError):  # stale, but offline takes what it knows
        run(forge(offline, offline=True).list_refs("nobody/nothing"))
    assert offline.total == 0
    later = FakeForge()
    with pytest.raises(NotFoundError):
        run(forge(later).list_refs("nobody/nothing"))
    assert later.total == 1


def test_not_found_at_a_sha_is_kept_only_for_the_ttl(tmp_path: Path) -> None:
    class Unknown(FakeForge):
        async def get_commit(self, repo: str, ref: str) -> Commit:
            await self._tick("get_commit", repo, ref)
            raise NotFoundError(f"no commit {ref} in {repo}")

    clock = Clock()
    store = FileCacheStore(tmp_path, clock=clock)
    with pytest.raises(NotFoundError):
        run(CachedForge(Unknown(), store, refs_ttl=60).get_commit("a/b", SHA_B))
    again = Unknown()
    with pytest.raises(NotFoundError, match=f"no commit {SHA_B}"):
        run(CachedForge(again, store, refs_ttl=60).get_commit("a/b", SHA_B))
    assert again.total == 0
    clock.now += 61
    found = FakeForge()  # the commit was pushed meanwhile
    assert run(CachedForge(found, store, refs_ttl=60).get_commit("a/b", SHA_B)).sha == SHA_A
    assert found.total == 1


def test_memo_only_not_found_is_never_stored(tmp_path: Path) -> None:
    class NoBranch(FakeForge):
        async def get_commit(self, repo: str, ref: str) -> Commit:
            await self._tick("get_commit", repo, ref)
            raise NotFoundError(f"no ref {ref}")

    store = FileCacheStore(tmp_path)
    with pytest.raises(NotFoundError):
        run(CachedForge(NoBranch(), store).get_commit("a/b", "feature"))
    assert store.info().entries == 0


class _Remote:
    remote = True

    def __init__(self) -> None:
        self.prefetched: list[tuple[str, str]] = []

    def prefetch_lookups(self, keys) -> None:
        self.prefetched.extend(keys)


class _Local:
    remote = False


def test_remote_follows_the_inner_forge_and_is_never_offline(tmp_path) -> None:
    store = FileCacheStore(tmp_path)
    assert CachedForge(_Remote(), store).remote  # type: ignore[arg-type]
    assert not CachedForge(_Remote(), store, offline=True).remote  # type: ignore[arg-type]
    assert not CachedForge(_Local(), None).remote  # type: ignore[arg-type]


def test_early_lookups_leave_out_what_the_store_knows_and_nothing_offline(tmp_path) -> None:
    store = FileCacheStore(tmp_path)
    known, unknown = "a" * 40, "b" * 40

    async def fill() -> None:
        await CachedForge(FakeForge(), store).get_commit("o/r", known)

    asyncio.run(fill())
    inner = _Remote()
    CachedForge(inner, store).prefetch_lookups([("O/R", known), ("o/r", unknown)])  # type: ignore[arg-type]

    async def listed() -> None:  # a fresh listing of the repository: nothing of it is asked
        await CachedForge(FakeForge(), store).list_refs("o/listed")

    asyncio.run(listed())
    CachedForge(inner, store).prefetch_lookups([("O/Listed", unknown)])  # type: ignore[arg-type]
    offline = _Remote()
    CachedForge(offline, store, offline=True).prefetch_lookups([("o/r", unknown)])  # type: ignore[arg-type]
    CachedForge(_Local(), store).prefetch_lookups([("o/r", unknown)])  # type: ignore[arg-type]
    assert inner.prefetched == [("o/r", unknown)] and offline.prefetched == []
