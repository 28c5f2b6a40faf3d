"""Byte-exact rewriting and atomic, all-or-nothing writes."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest

from pinner.core import rewrite
from pinner.core.rewrite import Edit, apply_edits, apply_possible_edits, write_all
from pinner.errors import InputError
from pinner.models import SourceFile
from pinner.sources.scan import scan

SHA = "b4ffde65f46336ab88eb53be808477a3936bae11"


def src(body: str, *, bom: bool = False) -> SourceFile:
    return scan(body, ".github/workflows/ci.yml", "workflow", bom=bom)


def steps(*lines: str, nl: str = "\n") -> str:
    head = ["on: push", "jobs:", "  build:", "    runs-on: ubuntu-latest", "    steps:"]
    return nl.join([*head, *lines]) + nl


def pin_all(source: SourceFile, comment: str | None = "v4.2.2") -> str:
    edits = [
        Edit(site, f"{site.value.action.target}@{SHA}", comment)
        for site in source.uses
        if site.value.action is not None
    ]
    data = apply_edits(source, edits)
    return data.decode("utf-8-sig" if source.bom else "utf-8")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("      - uses: actions/checkout@v4", f"      - uses: actions/checkout@{SHA} # v4.2.2"),
        ("      - uses: 'actions/checkout@v4'", f"      - uses: 'actions/checkout@{SHA}' # v4.2.2"),
        (
            '      - uses: "actions/checkout@v4"   ',
            f'      - uses: "actions/checkout@{SHA}" # v4.2.2   ',
        ),
        (
            "      - uses: actions/checkout@v4    # v4",
            f"      - uses: actions/checkout@{SHA}    # v4.2.2",
        ),
        (
            "      - uses: actions/checkout@v4 #tag=v4.0.0",
            f"      - uses: actions/checkout@{SHA} #tag=v4.2.2",  # the dialect is kept
        ),
        (
            "      - uses: actions/checkout@v4 # ratchet:actions/checkout@v4",
            f"      - uses: actions/checkout@{SHA} # ratchet:actions/checkout@v4",  # tracked
        ),
        (
            "      - uses: actions/checkout@v4 # v4 needed for x",
            f"      - uses: actions/checkout@{SHA} # v4.2.2 needed for x",
        ),
        (
            "      - uses: actions/checkout@v4 # needed for x",
            f"      - uses: actions/checkout@{SHA} # v4.2.2 # needed for x",
        ),
        (
            "      - uses: actions/checkout@v4 # v4 # pinner: ignore[ref-confusion]",
            f"      - uses: actions/checkout@{SHA} # v4.2.2 # pinner: ignore[ref-confusion]",
        ),
        (
            "      - {uses: actions/checkout@v4, with: {x: 'a # b'}}",
            f"      - {{uses: actions/checkout@{SHA}, with: {{x: 'a # b'}}}} # v4.2.2",
        ),
        (
            "      - {uses: actions/checkout@v4, with: {fetch-depth: 0}}  # v4",
            f"      - {{uses: actions/checkout@{SHA}, with: {{fetch-depth: 0}}}}  # v4.2.2",
        ),
    ],
)
def test_one_line_rewrites(line: str, expected: str) -> None:
    before = steps("      - run: echo one", line, "      - run: echo two # keep")
    after = pin_all(src(before))
    assert after == before.replace(line, expected)


def test_comment_none_leaves_comment() -> None:
    before = steps("      - uses: actions/checkout@v4 # whatever v1")
    after = pin_all(src(before), comment=None)
    assert after == before.replace("@v4", "@" + SHA)


def test_crlf_and_bom_kept() -> None:
    before = steps("      - uses: actions/checkout@v4", "      - uses: o/r@v1 # v1", nl="\r\n")
    source = src(before, bom=True)
    data = apply_edits(
        source, [Edit(s, f"{s.value.action.target}@{SHA}", "v4.2.2") for s in source.uses]
    )
    assert data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode()
    assert text.count("\r\n") == before.count("\r\n") and text.count("\n") == before.count("\n")
    assert f"actions/checkout@{SHA} # v4.2.2\r\n" in text
    assert f"o/r@{SHA} # v4.2.2\r\n" in text


def test_no_edits_is_identity() -> None:
    before = steps("      - uses: 'a/b@v1'  # x", nl="\r\n")
    assert apply_edits(src(before, bom=True), []) == b"\xef\xbb\xbf" + before.encode()


def test_two_uses_on_one_line_get_no_comment() -> None:
    before = "jobs:\n  j:\n    steps: [{uses: a/b@v1}, {uses: c/d@v2}] # note\n"
    after = pin_all(src(before))
    assert after == f"jobs:\n  j:\n    steps: [{{uses: a/b@{SHA}}}, {{uses: c/d@{SHA}}}] # note\n"


def test_multiline_flow_comment_goes_to_end_of_line() -> None:
    before = "jobs:\n  j:\n    steps:\n      - {uses: a/b@v1,\n         with: {x: 1}}\n"
    after = pin_all(src(before))
    assert (
        after == f"jobs:\n  j:\n    steps:\n      - {{uses: a/b@{SHA}, # v4.2.2\n"
        "         with: {x: 1}}\n"
    )


def test_comment_dropped_when_line_ends_inside_a_flow_scalar() -> None:
    before = "jobs:\n  j:\n    steps:\n      - {uses: a/b@v1, with: {x: abc\n          def}}\n"
    after = pin_all(src(before))
    assert after == before.replace("a/b@v1", f"a/b@{SHA}")


def test_quote_escaping_and_unsafe_plain_value() -> None:
    before = steps("      - uses: 'a/b@v1'", "      - uses: c/d@v1")
    source = src(before)
    data = apply_edits(
        source,
        [Edit(source.uses[0], "a/b@it's", None), Edit(source.uses[1], "c/d@x: y", None)],
    ).decode()
    assert "uses: 'a/b@it''s'" in data
    assert 'uses: "c/d@x: y"' in data


def test_anchor_and_tag_kept() -> None:
    before = steps(
        "      - uses: &co actions/checkout@v4",
        "      - uses: *co",
        "      - uses: !!str 'o/r@v1' # v1",
    )
    after = pin_all(src(before))
    assert f"uses: &co actions/checkout@{SHA} # v4.2.2\n" in after
    assert "uses: *co\n" in after
    assert f"uses: !!str 'o/r@{SHA}' # v4.2.2\n" in after


def test_block_scalar_values_are_rewritten_inside_the_block() -> None:
    """Issue 13, item 4: the reference inside ``uses: >-`` / ``|`` is replaced in place, the
    style, indentation, chomping, blank lines and the header's comment kept."""
    before = steps(
        "      - uses: >-",
        "          a/b@v1",
        "      - uses: |  # v1",
        "          c/d@v1",
        "",
        "      - uses: &keep |+",
        "            e/f@v1",
        "",
        "        with: {x: 1}  # a comment of its own",
        "      - uses: !!str >",
        "          g/h/x/../y@v1",  # a path the runner resolves: written as it reads it
    )
    source = src(before)
    after = pin_all(source)
    assert after == steps(
        "      - uses: >- # v4.2.2",
        f"          a/b@{SHA}",
        "      - uses: |  # v4.2.2",
        f"          c/d@{SHA}",
        "",
        "      - uses: &keep |+ # v4.2.2",
        f"            e/f@{SHA}",
        "",
        "        with: {x: 1}  # a comment of its own",
        "      - uses: !!str > # v4.2.2",
        f"          g/h/y@{SHA}",
    )
    again = src(after)
    assert [u.value.raw.strip() for u in again.uses] == [
        f"{x}@{SHA}" for x in ("a/b", "c/d", "e/f", "g/h/y")
    ]
    assert [u.comment for u in again.uses] == ["v4.2.2"] * 4


def test_a_value_spread_over_lines_is_declined_and_the_rest_is_still_rewritten() -> None:
    before = steps('      - uses: "a/b\\', '          @v1"', "      - uses: c/d@v1")
    source = src(before)
    assert source.uses[0].value.raw == "a/b@v1"  # an escaped line break: a valid value
    edits = [Edit(site, f"{site.value.action.target}@{SHA}", "v4.2.2") for site in source.uses]
    data, declined = apply_possible_edits(source, edits)
    assert data.decode() == steps(
        '      - uses: "a/b\\', '          @v1"', f"      - uses: c/d@{SHA} # v4.2.2"
    )
    [refused] = declined
    assert refused.edit.site.line == 6 and "several lines" in refused.reason
    with pytest.raises(InputError, match="several lines") as raised:
        apply_edits(source, edits)
    assert raised.value.line == 6


def test_stale_or_foreign_site_is_a_bug() -> None:
    source = src(steps("      - uses: a/b@v1"))
    other = src(steps("      - uses: x/yz@v1"))
    with pytest.raises(ValueError, match="does not match"):
        apply_edits(source, [Edit(other.uses[0], "a/b@v2")])
    with pytest.raises(ValueError, match="conflicting"):
        apply_edits(source, [Edit(source.uses[0], "a/b@v2"), Edit(source.uses[0], "a/b@v3")])
    with pytest.raises(ValueError, match="control character"):
        apply_edits(source, [Edit(source.uses[0], "a/b@v2\n  evil: 1")])
    same = Edit(source.uses[0], "a/b@v2", "v2")
    assert apply_edits(source, [same, same]).count(b"a/b@v2 # v2") == 1


# ----------------------------------------------------------------------------- write_all


def test_write_all_replaces_and_keeps_mode(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yml", tmp_path / "sub" / "b.yml"
    b.parent.mkdir()
    a.write_bytes(b"old a\n")
    b.write_bytes(b"old b\n")
    os.chmod(a, 0o640)
    os.chmod(b, 0o755)
    write_all({a: b"new a\r\n", b: b"new b\n"})
    assert a.read_bytes() == b"new a\r\n" and b.read_bytes() == b"new b\n"
    assert stat.S_IMODE(a.stat().st_mode) == 0o640
    assert stat.S_IMODE(b.stat().st_mode) == 0o755
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.yml", "b.yml", "sub"]


def test_write_all_through_symlink(tmp_path: Path) -> None:
    target = tmp_path / "real.yml"
    target.write_bytes(b"old\n")
    link = tmp_path / "link.yml"
    link.symlink_to(target)
    write_all({link: b"new\n"})
    assert link.is_symlink() and target.read_bytes() == b"new\n"


def test_write_phase_failure_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [tmp_path / f"{n}.yml" for n in "abc"]
    for f in files:
        f.write_bytes(b"orig")
    real_temp = rewrite._new_temp
    made: list[str] = []

    def failing_temp(directory: int, name: str, suffix: str) -> tuple[str, int]:
        if name == "c.yml" and suffix == ".pinner-tmp":
            raise OSError(28, "No space left on device")
        temp, fd = real_temp(directory, name, suffix)
        made.append(temp)
        return temp, fd

    monkeypatch.setattr(rewrite, "_new_temp", failing_temp)
    with pytest.raises(InputError, match=r"c\.yml: cannot write: No space left"):
        write_all({f: b"new" for f in files})
    assert len(made) == 2  # the temps of a and b (their backups are hard links)
    assert [f.read_bytes() for f in files] == [b"orig"] * 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yml", "b.yml", "c.yml"]


def _many(root: Path, n: int) -> list[Path]:
    files = [root / ("sub" if i % 2 else "") / f"f{i}.yml" for i in range(n)]
    (root / "sub").mkdir(exist_ok=True)
    for f in files:
        f.write_bytes(b"orig " + f.name.encode())
    return files


def test_bulk_write_flushes_once_per_filesystem_before_any_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _many(tmp_path, rewrite.BULK_WRITE)
    real = rewrite._syncfs()
    if real is None:
        pytest.skip("no syncfs here: every file is fsynced (the other tests cover that)")
    flushes: list[int] = []
    fsyncs: list[int] = []
    monkeypatch.setattr(rewrite, "_syncfs", lambda: lambda fd: flushes.append(fd) or real(fd))
    monkeypatch.setattr(rewrite.os, "fsync", lambda fd: fsyncs.append(fd))
    write_all({f: b"new " + f.name.encode() for f in files})
    assert len(flushes) == 1  # both directories live on one filesystem
    assert len(fsyncs) == 2  # only the two directories, after the renames
    assert all(f.read_bytes() == b"new " + f.name.encode() for f in files)
    assert sorted(p.name for p in tmp_path.rglob("*.pinner-*")) == []


def test_a_failed_bulk_flush_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ctypes

    files = _many(tmp_path, rewrite.BULK_WRITE + 3)

    def failing_syncfs(fd: int) -> int:
        ctypes.set_errno(5)
        return -1

    monkeypatch.setattr(rewrite, "_syncfs", lambda: failing_syncfs)
    with pytest.raises(InputError, match="cannot write: Input/output error"):
        write_all({f: b"new" for f in files})
    assert all(f.read_bytes() == b"orig " + f.name.encode() for f in files)
    assert sorted(p.name for p in tmp_path.rglob("*.pinner-*")) == []


def test_few_files_or_no_syncfs_fsync_each_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync
    fsyncs: list[int] = []
    monkeypatch.setattr(rewrite.os, "fsync", lambda fd: fsyncs.append(fd) or real_fsync(fd))
    monkeypatch.setattr(rewrite, "_syncfs", lambda: None)  # e.g. macOS
    files = _many(tmp_path, rewrite.BULK_WRITE)
    write_all({f: b"new" for f in files})
    assert len(fsyncs) == len(files) + 2  # every file, then its two directories
    assert all(f.read_bytes() == b"new" for f in files)


def test_unwritable_directory(tmp_path: Path) -> None:
    locked_dir = tmp_path / "locked"
    locked_dir.mkdir()
    locked = locked_dir / "x.yml"
    locked.write_bytes(b"x\n")
    os.chmod(locked_dir, 0o500)
    try:
        if os.access(locked_dir, os.W_OK):
            pytest.skip("running as root: directory permissions are not enforced")
        with pytest.raises(InputError, match="cannot write"):
            write_all({locked: b"changed\n"})
    finally:
        os.chmod(locked_dir, 0o700)
    assert locked.read_bytes() == b"x\n"


def test_rename_phase_failure_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [tmp_path / f"{n}.yml" for n in "abc"]
    for f in files:
        f.write_bytes(b"orig " + f.name.encode())
    real_replace = os.replace
    calls = {"n": 0}

    def flaky_replace(src: str, dst: str, **dir_fds: int) -> None:
        if str(src).endswith(".pinner-tmp"):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(28, "No space left on device")
        real_replace(src, dst, **dir_fds)

    monkeypatch.setattr(rewrite.os, "replace", flaky_replace)
    with pytest.raises(InputError, match="no file was changed"):
        write_all({f: b"new" for f in files})
    assert [f.read_bytes() for f in files] == [b"orig " + f.name.encode() for f in files]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yml", "b.yml", "c.yml"]


def test_sigint_deferred_until_renames_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [tmp_path / f"{n}.yml" for n in "ab"]
    for f in files:
        f.write_bytes(b"old")
    real_replace = os.replace

    def interrupted_replace(src: str, dst: str, **dir_fds: int) -> None:
        real_replace(src, dst, **dir_fds)
        if str(dst).endswith("a.yml"):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C between the two renames

    monkeypatch.setattr(rewrite.os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        write_all({f: b"new" for f in files})
    assert [f.read_bytes() for f in files] == [b"new", b"new"]  # both renames happened
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_site_inside_a_longer_scalar_is_caught_by_the_event_check() -> None:
    source = src(steps("      - uses: a/b@v1"))
    longer = scan("x: a/b@v1 zz\n", ".github/workflows/ci.yml", "workflow")
    site = source.uses[0]
    fake = type(site)(
        **{
            **{f: getattr(site, f) for f in site.__slots__},
            "value_span": type(site.value_span)(3, 9),
            "line": 1,
        }
    )
    with pytest.raises(ValueError, match="does not match"):
        apply_edits(longer, [Edit(fake, "a/b@v2")])


def test_corpus_files_rewrite_cleanly(shared_dir: Path) -> None:
    """Pin every remote ``uses:`` of every real workflow in the corpus: the result keeps each
    line without a site byte-identical and parses to the same data with just the values
    replaced."""
    from pinner.sources.discovery import discover
    from pinner.sources.reading import read_source
    from pinner.sources.yamlsafe import compose, to_python

    consumers = shared_dir / "corpus" / "consumers"
    if not consumers.is_dir():
        pytest.skip(f"{consumers} is absent")
    rewritten = 0
    for repo in sorted(consumers.iterdir()):
        for found in discover([repo], on_skip=lambda s: None):
            try:
                source = read_source(found)
            except InputError:  # zizmor's deliberately invalid test fixtures
                continue
            edits = [
                Edit(s, f"{s.value.action.target}@{'e' * 40}", "v1.2.3")
                for s in source.uses
                if s.value.action is not None and "\n" not in s.value.raw
            ]
            if not edits:
                continue
            new_text = apply_edits(source, edits).decode("utf-8-sig" if source.bom else "utf-8")
            expected = to_python(
                compose(source.text, source=source.relpath),
                replace={e.site.value_span.start: e.value for e in edits},
            )
            assert to_python(compose(new_text, source=source.relpath)) == expected
            old_lines = source.text.splitlines(keepends=True)
            new_lines = new_text.splitlines(keepends=True)
            assert len(old_lines) == len(new_lines), found.relpath
            edited = {e.site.line for e in edits}
            for number, (old, new) in enumerate(zip(old_lines, new_lines, strict=True), 1):
                if number not in edited:
                    assert old == new, f"{found.relpath}:{number}"
            rewritten += 1
    assert rewritten > 100
