"""Listings start while files are read: the prefetcher's chunks and the streaming reader."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pinner.commands import common
from pinner.errors import InputError, NotFoundError
from pinner.forge.prefetch import ListingPrefetch
from pinner.models import RefListing
from pinner.sources import discover


class RecordingForge:
    """list_refs records which repositories were asked for in each loop iteration."""

    def __init__(self, *, missing: frozenset[str] = frozenset(), delay: float = 0.0) -> None:
        self.asked: list[str] = []
        self.missing = missing
        self.delay = delay
        self.cancelled = 0

    async def list_refs(self, repo: str) -> RefListing:
        self.asked.append(repo)
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if repo in self.missing:
            raise NotFoundError(f"repository {repo} not found")
        return RefListing(repo=repo, refs=())


def test_full_chunks_leave_at_once_the_rest_on_flush():
    forge = RecordingForge()

    async def go() -> list[int]:
        prefetch = ListingPrefetch(forge.list_refs, chunk=20)
        seen = []
        for i in range(45):
            prefetch.want([f"o/r{i}"])
            await asyncio.sleep(0)
            seen.append(len(forge.asked))
        prefetch.flush()
        await asyncio.sleep(0)
        seen.append(len(forge.asked))
        return seen

    seen = asyncio.run(go())
    assert seen[18] == 0 and seen[19] == 20  # nothing before the 20th, all 20 right after it
    assert seen[39] == 40 and seen[44] == 40  # the last 5 wait for flush
    assert seen[-1] == 45
    assert forge.asked == [f"o/r{i}" for i in range(45)]


def test_each_repository_is_asked_for_once_whatever_its_case():
    forge = RecordingForge()

    async def go() -> None:
        prefetch = ListingPrefetch(forge.list_refs, chunk=2)
        prefetch.want(["o/a", "O/A", "o/b", "o/a", "o/B"])
        prefetch.flush()
        await asyncio.sleep(0)

    asyncio.run(go())
    assert forge.asked == ["o/a", "o/b"]


def test_failures_are_left_to_the_memo_and_cancel_stops_what_is_in_flight():
    forge = RecordingForge(missing=frozenset({"o/gone"}), delay=10.0)

    async def go() -> None:
        prefetch = ListingPrefetch(forge.list_refs, chunk=1)
        prefetch.want(["o/gone", "o/slow"])
        await asyncio.sleep(0.01)
        prefetch.cancel()
        await asyncio.sleep(0.01)

    asyncio.run(go())  # no exception escapes, no warning about unretrieved failures
    assert forge.asked == ["o/gone", "o/slow"] and forge.cancelled == 2


def write(root: Path, name: str, text: str) -> None:
    path = root / ".github" / "workflows" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


GOOD = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: o/{n}@v1\n"


def test_streaming_reader_hands_over_each_file_in_order_with_the_same_result(tmp_path):
    for n in ("a", "b", "c"):
        write(tmp_path, f"{n}.yml", GOOD.format(n=n))
    files = discover([tmp_path])
    handed: list[str] = []
    streamed = asyncio.run(
        common.read_user_files_streaming(
            files, [tmp_path], lambda s: handed.append(s.relpath), verb="pins"
        )
    )
    assert handed == [f.relpath for f in files]
    assert streamed == common.read_user_files(files, [tmp_path], verb="pins")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("on: push\njobs:\n  a: [\n", "malformed YAML"),
        (GOOD.format(n="x") + "      - uses: o/y@v1\n        uses: o/z@v1\n", "duplicate key"),
    ],
)
def test_streaming_reader_stops_where_the_plain_one_does(tmp_path, bad, message):
    write(tmp_path, "a.yml", GOOD.format(n="a"))
    write(tmp_path, "b.yml", bad)
    write(tmp_path, "c.yml", GOOD.format(n="c"))
    files = discover([tmp_path])
    handed: list[str] = []
    with pytest.raises(InputError) as plain:
        common.read_user_files(files, [tmp_path], verb="pins")
    with pytest.raises(InputError) as streamed:
        asyncio.run(
            common.read_user_files_streaming(
                files, [tmp_path], lambda s: handed.append(s.relpath), verb="pins"
            )
        )
    assert str(streamed.value) == str(plain.value) and message in str(plain.value)
    assert handed == [".github/workflows/a.yml"]  # never the bad file, nothing after it
