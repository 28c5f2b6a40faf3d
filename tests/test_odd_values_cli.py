"""End to end: one odd value never aborts the run (issue 13, items 4 to 7).

The real ``pinner pin``, ``update`` and ``audit`` against the emulator on repositories with a
block-scalar ``uses:`` (pinned inside the block), a value that cannot be rewritten byte for
byte (reported on its line), every form of zizmor's ``obfuscation`` test data (read as the
runner reads them), values outside the grammar (a problem on their line), a key given twice
(the file is invalid, as for GitHub) and a broken fixture file (``--skip-unreadable``, which
``audit`` now takes too). Each time: one clear line where something is wrong, and the rest of
the run done.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pinner.cli import app
from tests.test_pin_cli import clean_env

LITE = "pinner-fixtures/checkout-lite"
V123 = "67225fc235da7df7104e91219c0d4f5a70438459"  # v1.2.3 (v1 points at it)
SETUP = "pinner-fixtures/toolkit/setup"
SETUP_V123 = "522d8154e115981220ce8e83d412cc774b7a04d4"  # setup/v1.2.3 (setup/v1)
LEAF = "pinner-fixtures/node-leaf"
LEAF_V310 = "f2641282044e1252df8dfbfe7b14415f6e9eb491"  # v3.1.0 (v3)
HEAD = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"


def cli(command: str, *args: str):
    """The real CLI, in process; the result has exit_code, stdout, stderr."""
    return CliRunner().invoke(app, [command, *args], env=clean_env(), catch_exceptions=False)


def repository(tmp_path: Path, **files: str) -> Path:
    """``name=text``: ``.github/workflows/NAME.yml`` (``action`` -> ``x/action.yml``)."""
    root = tmp_path / "repo"
    for name, text in files.items():
        path = root / ("x/action.yml" if name == "action" else f".github/workflows/{name}.yml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def read(root: Path, name: str) -> str:
    return (root / ".github" / "workflows" / f"{name}.yml").read_text()


# ----------------------------------------------------------------------------- item 4


BLOCKS = HEAD + (
    "      - uses: >-\n"
    f"          {LITE}@v1\n"
    "      - name: literal, with a comment on its header\n"
    "        uses: |  # keep me\n"
    f"          {SETUP}@setup/v1\n"
    "\n"
    "      - uses: &leaf |+\n"
    f"          {LEAF}@v3\n"
    "\n"
    "        with: {a: 1}  # the with's own comment\n"
)


def test_block_scalar_values_are_pinned_inside_the_block(emulator, fixtures_dir, tmp_path):
    """Item 4: ``uses: >-`` / ``|`` / ``|+``: the reference inside the block is pinned, the
    block style, chomping, blank lines, anchors and comments kept; the comment goes on the
    header line, where YAML allows it."""
    root = repository(tmp_path, blocks=BLOCKS)
    emu = emulator(fixtures_dir / "forge")
    result = cli("pin", "--server-url", emu.url, "--no-cache", str(root))
    assert result.exit_code == 0, result.output
    assert read(root, "blocks") == HEAD + (
        "      - uses: >- # v1.2.3\n"
        f"          {LITE}@{V123}\n"
        "      - name: literal, with a comment on its header\n"
        "        uses: |  # v1.2.3 # keep me\n"
        f"          {SETUP}@{SETUP_V123}\n"
        "\n"
        "      - uses: &leaf |+ # v3.1.0\n"
        f"          {LEAF}@{LEAF_V310}\n"
        "\n"
        "        with: {a: 1}  # the with's own comment\n"
    ).replace("# v1.2.3 # keep me", "# setup/v1.2.3 # keep me")
    again = cli("pin", "--server-url", emu.url, "--no-cache", "--check", str(root))
    assert again.exit_code == 0 and "nothing would change" in again.stderr
    # audit reads the pinned blocks as pinned, with their comments
    audit = cli("audit", "--server-url", emu.url, "--no-cache", "--format", "json", str(root))
    roots = [f for f in json.loads(audit.stdout)["findings"] if len(f["chain"]) == 1]
    assert not roots, roots


def test_update_moves_a_block_scalar_inside_the_block(emulator, fixtures_dir, tmp_path):
    """Item 4, for update: the block is rewritten in place, and a second run has nothing to do
    (the block's line break is no difference)."""
    block = HEAD + "      - uses: |\n          upd-fixtures/setup-tool@v1\n"
    root = repository(tmp_path, block=block)
    emu = emulator(fixtures_dir / "forge")
    args = ("--server-url", emu.url, "--no-cache", "--now", "2026-06-01T00:00:00Z", str(root))
    first = cli("update", *args)
    assert first.exit_code == 0, first.output
    assert read(root, "block") == HEAD + (
        "      - uses: | # v2.1.0\n"
        "          upd-fixtures/setup-tool@fc1881c4b5a34f611583941f5368ae95acee6c48\n"
    )
    again = cli("update", *args)
    assert again.exit_code == 0 and "nothing to update" in again.stdout, again.output


def test_a_value_that_cannot_be_rewritten_is_reported_and_the_rest_pinned(
    emulator, fixtures_dir, tmp_path
):
    """Item 4: where byte-exact rewriting is impossible (a value continued over two lines
    with an escaped line break), the line is a problem, every other line and file is pinned."""
    odd = HEAD + f'      - uses: "{LITE}\\\n          @v1"\n' + f"      - uses: {LEAF}@v3\n"
    root = repository(tmp_path, odd=odd, plain=HEAD + f"      - uses: {LITE}@v1\n")
    emu = emulator(fixtures_dir / "forge")
    result = cli("pin", "--server-url", emu.url, "--no-cache", str(root))
    assert result.exit_code == 1, result.output
    assert (
        ".github/workflows/odd.yml:6: problem: not pinned: cannot rewrite a value spread "
        "over several lines; put it on one line" in result.stderr.splitlines()
    )
    assert read(root, "odd") == odd.replace(f"{LEAF}@v3", f"{LEAF}@{LEAF_V310} # v3.1.0")
    assert read(root, "plain") == HEAD + f"      - uses: {LITE}@{V123} # v1.2.3\n"


# ----------------------------------------------------------------------------- item 5

OBFUSCATED = [  # the forms of zizmor's obfuscation test data, on fixture repositories
    (f"{LITE}/@v1", f"{LITE}@{V123} # v1.2.3"),  # trailing slash
    (f"{LITE}////@v1", f"{LITE}@{V123} # v1.2.3"),  # many trailing slashes
    ("pinner-fixtures/toolkit/./setup@setup/v1", f"{SETUP}@{SETUP_V123} # setup/v1.2.3"),
    (f"{LITE}/.@v1", f"{LITE}@{V123} # v1.2.3"),  # a trailing "."
    ("pinner-fixtures/toolkit/cache/../setup@setup/v1", f"{SETUP}@{SETUP_V123} # setup/v1.2.3"),
    ("pinner-fixtures\\checkout-lite@v1", f"{LITE}@{V123} # v1.2.3"),  # a backslash
    (f"{LITE}//@{V123} # v1.2.3", f"{LITE}@{V123} # v1.2.3"),  # already pinned
]


def test_forms_the_runner_accepts_are_pinned_as_the_runner_reads_them(
    emulator, fixtures_dir, tmp_path
):
    """Item 5: zizmor's obfuscation forms resolve to what the runner runs, are written in the
    runner's own form, and are said to have been; a trailing newline in ``|`` is no part."""
    steps = "".join(f"      - uses: {written}\n" for written, _ in OBFUSCATED)
    steps += f"      - uses: |\n          {LEAF}@v3\n"
    root = repository(tmp_path, obfuscated=HEAD + steps)
    emu = emulator(fixtures_dir / "forge")
    audit = cli("audit", "--server-url", emu.url, "--no-cache", "--format", "json", str(root))
    unresolvable = [f for f in json.loads(audit.stdout)["findings"] if f["rule"] == "unresolvable"]
    assert unresolvable == [], unresolvable

    result = cli("pin", "--server-url", emu.url, "--no-cache", str(root))
    assert result.exit_code == 0, result.output
    expected = "".join(f"      - uses: {pinned}\n" for _, pinned in OBFUSCATED)
    expected += f"      - uses: | # v3.1.0\n          {LEAF}@{LEAF_V310}\n"
    assert read(root, "obfuscated") == HEAD + expected
    warnings = [line for line in result.stderr.splitlines() if "which the runner reads as" in line]
    assert len(warnings) == len(OBFUSCATED), result.stderr
    assert warnings[0] == (
        ".github/workflows/obfuscated.yml:6: warning: written as "
        "'pinner-fixtures/checkout-lite/@v1', which the runner reads as "
        "pinner-fixtures/checkout-lite@v1: written in that form"
    )
    again = cli("pin", "--server-url", emu.url, "--no-cache", "--check", str(root))
    assert again.exit_code == 0 and "nothing would change" in again.stderr


INVALID = {
    6: f"{LITE}/../../x@v1",  # climbs out of the repository
    7: f"{LITE}@v1\u202e",  # a right-to-left override
    8: f"{LITE}@v" + "1" * 5000,  # longer than git allows
    9: LITE,  # no ref
}


def test_values_outside_the_grammar_are_problems_on_their_line(emulator, fixtures_dir, tmp_path):
    """Item 5: no value stops the run with exit 2 any more: each is a problem on its line
    (exit 1), never requested or rewritten, and the rest is pinned, updated and audited."""
    bad = HEAD + "".join(f"      - uses: {value}\n" for value in INVALID.values())
    bad += f"      - uses: {LEAF}@v3\n"
    root = repository(tmp_path, bad=bad, good=HEAD + f"      - uses: {LITE}@v1\n")
    emu = emulator(fixtures_dir / "forge")

    audit = cli("audit", "--server-url", emu.url, "--no-cache", "--format", "json", str(root))
    assert audit.exit_code == 1, audit.output
    findings = json.loads(audit.stdout)["findings"]
    invalid = {f["line"]: f["message"] for f in findings if f["file"].endswith("bad.yml")}
    assert all("invalid uses value" in invalid[line] for line in INVALID), invalid

    update = cli(
        "update", "--server-url", emu.url, "--no-cache", "--cooldown", "0", "--format", "json",
        str(root),
    )  # fmt: skip
    assert update.exit_code == 0, update.output
    problems = [s for s in json.loads(update.stdout)["skipped"] if s["problem"]]
    assert sorted(loc["line"] for s in problems for loc in s["files"]) == sorted(INVALID)

    pin = cli("pin", "--server-url", emu.url, "--no-cache", str(root))
    assert pin.exit_code == 1, pin.output
    lines = pin.stderr.splitlines()
    for line in INVALID:
        [message] = [m for m in lines if m.startswith(f".github/workflows/bad.yml:{line}: ")]
        assert message.startswith(
            f".github/workflows/bad.yml:{line}: problem: invalid uses value '"
        ), message
        assert len(message) < 400 and "\u202e" not in message
    assert read(root, "bad").endswith(f"      - uses: {LEAF}@{LEAF_V310} # v3.1.0\n")
    assert read(root, "bad").startswith(HEAD + f"      - uses: {INVALID[6]}\n")
    assert read(root, "good") == HEAD + f"      - uses: {LITE}@{V123} # v1.2.3\n"


# ----------------------------------------------------------------------------- items 6, 7

TWICE = HEAD + f"      - uses: {LITE}@v1\n        name: twice\n        uses: {LEAF}@v3\n"


def test_a_key_given_twice_makes_the_file_invalid(emulator, fixtures_dir, tmp_path):
    """Item 6: ``uses:`` twice in one step is an invalid file, as for GitHub: one line naming
    the file, both lines and the key, exit 2, nothing written; ``--skip-unreadable`` makes it
    a reported skip and the rest is done."""
    root = repository(tmp_path, twice=TWICE, good=HEAD + f"      - uses: {LITE}@v1\n")
    emu = emulator(fixtures_dir / "forge")
    forge = ("--server-url", emu.url, "--no-cache")
    update_args = ("--cooldown", "0")
    for command, extra in (("pin", ()), ("update", update_args), ("audit", ())):
        refused = cli(command, *forge, *extra, str(root))
        assert refused.exit_code == 2, (command, refused.output)
        [line] = refused.stderr.splitlines()
        assert line.startswith(
            "pinner: error: .github/workflows/twice.yml:8: duplicate key 'uses' in one mapping "
            "(lines 6 and 8)"
        ), line
        assert "--skip-unreadable" in line
    assert read(root, "twice") == TWICE and read(root, "good").endswith(f"{LITE}@v1\n")

    pin = cli("pin", *forge, "--skip-unreadable", str(root))
    assert pin.exit_code == 1, pin.output
    assert (
        ".github/workflows/twice.yml:8: problem: not pinned: duplicate key 'uses' in one "
        "mapping (lines 6 and 8)"
    ) in pin.stderr
    assert read(root, "twice") == TWICE
    assert read(root, "good") == HEAD + f"      - uses: {LITE}@{V123} # v1.2.3\n"


def test_audit_skips_unreadable_files_when_asked_and_says_so(emulator, fixtures_dir, tmp_path):
    """Item 7: ``audit --skip-unreadable`` audits the rest of a repository that ships a broken
    fixture (zizmor's does), and reports the skip in every format; without the flag the
    message names the flag. A local action that was skipped is a finding where it is used."""
    root = repository(
        tmp_path,
        broken="on: push\njobs:\n  build: [unclosed\n",
        good=HEAD + f"      - uses: {LITE}@v1\n      - uses: ./x\n",
        action="runs:\n  using: composite\n  steps: [\n",
    )
    emu = emulator(fixtures_dir / "forge")
    forge = ("--server-url", emu.url, "--no-cache")
    refused = cli("audit", *forge, str(root))
    assert refused.exit_code == 2 and "--skip-unreadable" in refused.stderr, refused.output

    for output_format in ("text", "json", "sarif", "github"):
        audited = cli("audit", *forge, "--skip-unreadable", "--format", output_format, str(root))
        assert audited.exit_code == 1, audited.output  # the findings decide, not the skips
        skips = [line for line in audited.stderr.splitlines() if "skipped" in line]
        assert len(skips) == 2, audited.stderr
        assert skips[0].startswith("pinner: skipped .github/workflows/broken.yml:4: not audited")
        assert "x/action.yml" in skips[1]
    document = json.loads(
        cli("audit", *forge, "--skip-unreadable", "--format", "json", str(root)).stdout
    )
    assert [s["file"] for s in document["skipped"]] == [
        ".github/workflows/broken.yml",
        "x/action.yml",
    ]
    rules = {(f["line"], f["rule"]) for f in document["findings"]}
    assert (6, "unpinned-ref") in rules  # the good workflow is audited
    [local] = [f for f in document["findings"] if f["line"] == 7]
    assert local["rule"] == "unresolvable" and "x/action.yml cannot be read" in local["message"]


def test_audit_of_several_repositories_names_the_repository_of_a_skipped_file(
    emulator, fixtures_dir, tmp_path, monkeypatch
):
    one = repository(tmp_path / "one", good=HEAD + f"      - uses: {LITE}@{V123} # v1.2.3\n")
    two = repository(tmp_path / "two", broken="on: push\njobs: [\n")
    monkeypatch.chdir(tmp_path)
    emu = emulator(fixtures_dir / "forge")
    forge = ("--server-url", emu.url, "--no-cache", "--format", "json", "--skip-unreadable")
    audited = cli("audit", *forge, str(one.relative_to(tmp_path)), str(two.relative_to(tmp_path)))
    assert audited.exit_code == 0, audited.output
    [skip] = json.loads(audited.stdout)["skipped"]
    assert skip["file"] == "two/repo/.github/workflows/broken.yml"
    assert "pinner: skipped two/repo/.github/workflows/broken.yml:" in audited.stderr
