"""Hints (:mod:`pinner.sources.hints`): the repositories a run will need, from the raw text.

A hint may miss (the parse finds what it missed) but must never ask for what pin would not:
invalid values, expressions, local and docker uses, silenced lines, excluded targets.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pinner.sources import discover, read_source
from pinner.sources.hints import Hints, hinted_actions, hints_for

WORKFLOW = """\
on: push
jobs:
  reusable:
    uses: acme/shared/.github/workflows/ci.yml@v1
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      -   uses:   "actions/setup-python@v5"   # v5
      - name: cache
        uses: 'actions/cache@1234567890123456789012345678901234567890' # v4.0.0
      - uses: ./local/action
      - uses: docker://alpine:3
      - uses: ${{ matrix.action }}@v1
      - uses: evil/x/../../y@v1
      - uses: silenced/repo@v1 # pinner: ignore
      - uses: partly/silenced@v1 # v1 # pinner: ignore[branch-ref]
      - uses: excluded/repo@v1 # ratchet:exclude
      # - uses: commented/out@v1
      - uses: Actions/Checkout@v3
      - run: echo done
"""


def test_block_uses_lines_are_hinted_and_nothing_pin_would_not_resolve():
    found = [str(a) for a in hinted_actions(WORKFLOW)]
    assert found == [
        "acme/shared/.github/workflows/ci.yml@v1",
        "actions/checkout@v4",
        "actions/setup-python@v5",
        "actions/cache@1234567890123456789012345678901234567890",
        "partly/silenced@v1",  # a silenced rule, not the whole line
        "Actions/Checkout@v3",
    ]


def test_every_spelling_of_a_whole_line_ignore_is_left_out_as_pin_leaves_it():
    text = "steps:\n" + "".join(
        f"  - uses: o/r{n}@v1 # {comment}\n"
        for n, comment in enumerate(
            (
                "pinner: ignore",
                "pinner: ignore[all]",
                "v1 # pinner: ignore[*]",
                "Pinner: Ignore[unpinned-ref, ALL]",
                "pinner: ignore[unpinned-ref]",  # one rule: pin still resolves the line
            )
        )
    )
    assert [str(a) for a in hinted_actions(text)] == ["o/r4@v1"]


def test_crlf_lines_are_hinted_too():
    text = WORKFLOW.replace("\n", "\r\n")
    assert [str(a) for a in hinted_actions(text)] == [str(a) for a in hinted_actions(WORKFLOW)]


def write(root: Path, name: str, data: str | bytes) -> Path:
    path = root / ".github" / "workflows" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


def test_repositories_once_each_in_file_order_and_only_those_wanted(tmp_path):
    write(tmp_path, "a.yml", WORKFLOW)
    write(tmp_path, "b.yml", "jobs:\n  x:\n    steps:\n      - uses: other/tool@v2\n")
    files = discover([tmp_path])
    every = hints_for(files, lambda action, relpath: True).repositories
    assert every == (
        "acme/shared",
        "actions/checkout",
        "actions/setup-python",
        "actions/cache",
        "partly/silenced",
        "other/tool",
    )  # Actions/Checkout is actions/checkout: asked once, first spelling
    asked: list[tuple[str, str]] = []

    def wants(action, relpath):
        asked.append((action.slug, relpath))
        return action.owner.lower() != "actions"

    wanted = hints_for(files, wants).repositories
    assert wanted == ("acme/shared", "partly/silenced", "other/tool")
    assert ("other/tool", ".github/workflows/b.yml") in asked


def test_every_hinted_repository_is_one_the_parse_finds(tmp_path):
    """On a real-looking file the hints are a subset of what the scanner finds."""
    write(tmp_path, "a.yml", WORKFLOW)
    (found,) = discover([tmp_path])
    source = read_source(found)
    parsed = {s.value.action.repo_key for s in source.uses if s.value.action is not None}
    hinted = {r.lower() for r in hints_for([found], lambda a, r: True).repositories}
    assert hinted <= parsed


def test_unreadable_files_are_passed_over_without_blocking(tmp_path):
    write(tmp_path, "binary.yml", b"\xff\xfe uses: a/b@v1\n")
    write(tmp_path, "ok.yml", "steps:\n  - uses: a/ok@v1\n")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / ".github" / "workflows" / "fifo.yml")  # would hang a plain open()
    files = discover([tmp_path])
    assert list(hints_for(files, lambda a, r: True).repositories) == ["a/ok"]


@pytest.mark.parametrize(
    "line",
    [
        "uses: a/b",  # no ref
        "uses:a/b@v1",  # not a mapping entry in block YAML without the space
        "x: {uses: a/b@v1}",  # flow mapping: left to the parse
        "echo uses: a/b@v1",
    ],
)
def test_what_is_not_a_block_uses_line_is_not_hinted(line):
    assert list(hinted_actions(line + "\n")) == []


def test_pinned_commits_are_hinted_once_each_lower_case(tmp_path):
    sha = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
    write(tmp_path, "a.yml", f"steps:\n  - uses: acme/tool@{sha}\n  - uses: acme/tool@v1\n")
    write(tmp_path, "b.yml", f"steps:\n  - uses: Acme/Tool/sub@{sha.lower()}\n  - uses: x/y@main\n")
    files = discover([tmp_path])
    hints = hints_for(files, lambda action, relpath: True)
    assert hints.repositories == ("acme/tool", "x/y")
    assert hints.commits == (("acme/tool", sha.lower()),)
    assert hints_for(files, lambda action, relpath: action.repo_key != "acme/tool") == Hints(
        ("x/y",), ()
    )
