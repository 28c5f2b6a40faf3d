"""Hostile files in the user's repository, through the real CLI (pin, audit, update, checksums).

The contract: each refused input gets one clear line on stderr and exit 2, never a traceback,
never a changed file. The inputs are generated here (a 50 MB file and binary junk do not belong
in git): malformed YAML, alias bombs, a 50 MB file, binary and non-UTF-8 files, control
characters, symlink loops and symlinks leaving the repository, local actions outside it. Inputs
that are valid but unusual (BOM and CRLF, absurdly long lines) must simply work, byte-exact; odd
``uses:`` values (invisible unicode, homoglyphs, ``..``) are reported per line, never followed.

Commands resolve from ``--snapshot fixtures/forge``: no network, so every case runs in
milliseconds and only the local-input handling is under test.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinner.cli import app

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
CHECKOUT_V1 = "pinner-fixtures/checkout-lite@67225fc235da7df7104e91219c0d4f5a70438459 # v1.2.3"

GOOD_WORKFLOW = (
    "on: push\n"
    "jobs:\n"
    "  build:\n"
    "    runs-on: ubuntu-latest\n"
    "    steps:\n"
    "      - uses: pinner-fixtures/checkout-lite@v1\n"
)

COMMANDS: dict[str, list[str]] = {
    "pin": ["pin"],
    "audit": ["audit"],
    "update": ["update", "--now", "2026-01-01T00:00:00Z", "--cooldown", "0"],
    "checksums": ["checksums"],
}


def alias_bomb(levels: int = 9, width: int = 9) -> bytes:
    """Billion laughs: ``width ** levels`` nodes from a few hundred bytes."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return ("\n".join(lines) + "\n").encode()


HOSTILE: dict[str, Callable[[], bytes]] = {
    "malformed-yaml": lambda: b"jobs:\n  build: [unclosed\n    runs-on: x\n",
    "alias-bomb": alias_bomb,
    "recursive-alias": lambda: b"a: &a [*a]\n",
    "binary": lambda: b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8,
    "latin-1": lambda: "name: caf\xe9\non: push\njobs: {}\n".encode("latin-1"),
    "utf-16": lambda: GOOD_WORKFLOW.encode("utf-16"),
    "terminal-escape": lambda: b"name: \x1b]0;pwned\x07\x1b[2J\non: push\njobs: {}\n",
    "deep-nesting": lambda: b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n",
}
"""name -> bytes of a workflow file pinner must refuse to read."""


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env={"PINNER_NO_GH": "1", "NO_COLOR": "1"})


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (symlinks as their target text), to prove nothing changed."""
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


def repository(tmp_path: Path, name: str, bad: bytes | None = None) -> Path:
    """A repository with one good workflow and, optionally, ``bad.yml`` beside it."""
    root = tmp_path / name
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "good.yml").write_text(GOOD_WORKFLOW)
    if bad is not None:
        (workflows / "bad.yml").write_bytes(bad)
    return root


def run(command: str, target: Path, *extra: str):
    return invoke(*COMMANDS[command], str(target), *extra, "--snapshot", str(FORGE))


def assert_refused(result, *, mentions: str) -> None:
    """Exit 2, exactly one line on stderr naming the file, nothing else, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pinner: error: ") and mentions in lines[0], lines[0]
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""


# ----------------------------------------------------------------------------- refused files


@pytest.fixture(scope="module")
def fifty_megabytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Read lazily by the test that needs it; 50 MB of valid-looking YAML."""
    return b"key: value\n" * (50 * 1024 * 1024 // 11)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_file_named_on_the_command_line_is_refused(
    tmp_path: Path, case: str, command: str
) -> None:
    root = repository(tmp_path, "repo", HOSTILE[case]())
    before = tree(root)
    result = run(command, root / ".github" / "workflows" / "bad.yml")
    assert_refused(result, mentions="bad.yml")
    assert tree(root) == before


@pytest.mark.parametrize("command", ["audit", "checksums"])
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_file_found_in_the_repository_is_refused(
    tmp_path: Path, case: str, command: str
) -> None:
    root = repository(tmp_path, "repo", HOSTILE[case]())
    before = tree(root)
    result = run(command, root)
    assert_refused(result, mentions="bad.yml")
    assert tree(root) == before


@pytest.mark.parametrize("command", ["pin", "update"])
@pytest.mark.parametrize("case", ["malformed-yaml", "alias-bomb", "binary"])
def test_writers_refuse_a_repository_with_a_hostile_file(
    tmp_path: Path, case: str, command: str
) -> None:
    root = repository(tmp_path, "repo", HOSTILE[case]())
    before = tree(root)
    result = run(command, root)
    assert_refused(result, mentions="bad.yml")
    assert "--skip-unreadable" in result.stderr
    assert tree(root) == before


@pytest.mark.parametrize(("command", "codes"), [("pin", (1,)), ("update", (0, 1))])
def test_writers_skipping_unreadable_files_report_the_hostile_file_in_one_line(
    tmp_path: Path, command: str, codes: tuple[int, ...]
) -> None:
    """With --skip-unreadable: one problem line for the broken file, which is never touched;
    the good file is still rewritten."""
    for case, make in HOSTILE.items():
        root = repository(tmp_path / command, case, make())
        bad_before = (root / ".github" / "workflows" / "bad.yml").read_bytes()
        result = run(command, root, "--skip-unreadable")
        assert result.exit_code in codes, (case, result.output)  # update: 0 with a problem
        problems = [ln for ln in result.output.splitlines() if "bad.yml" in ln]
        assert len(problems) == 1 and "not" in problems[0], (case, problems)
        assert "Traceback" not in result.output and "\x1b" not in result.output
        assert (root / ".github" / "workflows" / "bad.yml").read_bytes() == bad_before


@pytest.mark.parametrize("command", COMMANDS)
def test_fifty_megabyte_file_is_refused_without_reading_it(
    tmp_path: Path, fifty_megabytes: bytes, command: str
) -> None:
    root = repository(tmp_path, "repo", fifty_megabytes)
    result = run(command, root / ".github" / "workflows" / "bad.yml")
    assert_refused(result, mentions="limit")
    assert (root / ".github" / "workflows" / "bad.yml").stat().st_size == len(fifty_megabytes)


# ----------------------------------------------------------------------------- valid but odd


def test_bom_and_crlf_are_kept_byte_for_byte(tmp_path: Path) -> None:
    text = GOOD_WORKFLOW + "      - run: echo done   # trailing comment\n"
    original = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()
    root = repository(tmp_path, "repo", original)
    bad = root / ".github" / "workflows" / "bad.yml"
    result = run("pin", bad)
    assert result.exit_code == 0, result.output
    expected = original.replace(b"pinner-fixtures/checkout-lite@v1", CHECKOUT_V1.encode())
    assert bad.read_bytes() == expected
    for command in ("audit", "update", "checksums"):
        again = run(command, bad)
        assert again.exit_code == 0, (command, again.output)
    assert bad.read_bytes() == expected


def test_absurdly_long_lines_are_handled_and_kept(tmp_path: Path) -> None:
    long_run = "      - run: echo " + "x" * 2_000_000 + "\n"
    root = repository(tmp_path, "repo", (GOOD_WORKFLOW + long_run).encode())
    bad = root / ".github" / "workflows" / "bad.yml"
    for command, code in (("audit", 1), ("update", 0), ("checksums", 0)):  # audit: unpinned-ref
        result = run(command, bad)
        assert result.exit_code == code, (command, result.output[:500])
        assert len(result.output) < 10_000  # the long line is not echoed
    result = run("pin", bad)
    assert result.exit_code == 0, result.output[:500]
    assert (
        bad.read_text()
        == GOOD_WORKFLOW.replace("pinner-fixtures/checkout-lite@v1", CHECKOUT_V1) + long_run
    )


# ----------------------------------------------------------------------------- odd uses values

ODD_USES = {
    "zero-width space": "pinner-fixtures/check\u200bout-lite@v1",
    "right-to-left override": "pinner-fixtures/checkout-lite@v1\u202e",
    "cyrillic homoglyph": "pinner-fixtures/\u0441heckout-lite@v1",
    "fullwidth at sign": "pinner-fixtures/checkout-lite\uff20v1",
    "path traversal": "pinner-fixtures/checkout-lite/../../x@v1",
    "absurdly long ref": "pinner-fixtures/checkout-lite@v" + "1" * 100_000,
}


@pytest.mark.parametrize("name", ODD_USES)
def test_odd_uses_values_are_problems_on_their_line_never_followed_never_rewritten(
    tmp_path: Path, name: str
) -> None:
    """A uses value outside the runner's grammar is a problem on its own line (issue 13, item
    5): never resolved, never rewritten, invisible characters shown escaped, and the rest of
    the run still done: the good workflow beside it is pinned, updated and audited."""
    value = ODD_USES[name]
    workflow = GOOD_WORKFLOW.replace("pinner-fixtures/checkout-lite@v1", value)
    root = repository(tmp_path, "repo", workflow.encode())
    bad = root / ".github" / "workflows" / "bad.yml"
    expected = {"pin": 1, "audit": 1, "update": 0, "checksums": 0}
    for command in COMMANDS:
        for target in (bad, root):
            result = run(command, target, *(("--check",) if command == "pin" else ()))
            assert result.exit_code == expected[command], (command, result.output)
            if command != "checksums":  # (checksums hashes downloads; the walk skips the value)
                assert "bad.yml:6" in result.output, (command, result.output)
                assert "invalid uses value" in result.output, (command, result.output)
            assert "\u200b" not in result.output and "\u202e" not in result.output
            assert "Traceback" not in result.output and len(result.output) < 20_000
            assert bad.read_bytes() == workflow.encode()
    pinned = run("pin", root)
    assert pinned.exit_code == 1, pinned.output
    assert CHECKOUT_V1 in (root / ".github" / "workflows" / "good.yml").read_text()
    assert bad.read_bytes() == workflow.encode()


# ----------------------------------------------------------------------------- symlinks


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the repository with a workflow and an action: off limits."""
    target = tmp_path / "outside"
    (target / "action").mkdir(parents=True)
    (target / "wf.yml").write_text(GOOD_WORKFLOW)
    (target / "action" / "action.yml").write_text(
        "name: outside\nruns:\n  using: composite\n  steps:\n"
        "    - uses: pinner-fixtures/lint-action@v2\n"
    )
    return target


@pytest.mark.parametrize("command", COMMANDS)
def test_symlinks_named_on_the_command_line_are_refused(
    tmp_path: Path, outside: Path, command: str
) -> None:
    root = repository(tmp_path, "repo")
    workflows = root / ".github" / "workflows"
    os.symlink("loop.yml", workflows / "loop.yml")
    os.symlink(outside / "wf.yml", workflows / "escape.yml")
    before, outside_before = tree(root), tree(outside)
    loop = run(command, workflows / "loop.yml")
    assert_refused(loop, mentions="loop.yml")
    escape = run(command, workflows / "escape.yml")
    assert_refused(escape, mentions="outside the repository")
    assert tree(root) == before and tree(outside) == outside_before


@pytest.mark.parametrize("command", COMMANDS)
def test_symlinks_found_in_the_repository_are_skipped_with_one_line_each(
    tmp_path: Path, outside: Path, command: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Skips are warnings (logging; on a terminal, one stderr line each), not errors: the rest of
    the repository is still handled, and nothing outside it is read or written."""
    root = repository(tmp_path, "repo")
    workflows = root / ".github" / "workflows"
    os.symlink("loop.yml", workflows / "loop.yml")
    os.symlink(outside / "wf.yml", workflows / "escape.yml")
    os.symlink(outside / "action", root / "vendored")  # a directory leaving the root
    os.symlink(".", workflows / "again")  # a directory loop
    outside_before = tree(outside)
    result = run(command, root, *(["--check"] if command in ("pin", "update") else []))
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert all("\n" not in line for line in skipped)
    assert len(skipped) == 3, skipped  # loop.yml, escape.yml, vendored: once each
    assert any("loop.yml" in ln and "symlink loop" in ln for ln in skipped)
    assert sum("outside the repository root" in ln for ln in skipped) == 2
    assert "lint-action" not in result.stdout  # the action outside was never read
    assert tree(outside) == outside_before


@pytest.mark.parametrize(
    "uses",
    ["./../outside/action", "./.github/../../outside/action", "./vendored", "./vendored/"],
)
def test_local_actions_outside_the_repository_are_never_read(
    tmp_path: Path, outside: Path, uses: str
) -> None:
    root = repository(tmp_path, "repo", GOOD_WORKFLOW.replace(
        "pinner-fixtures/checkout-lite@v1", uses
    ).encode())  # fmt: skip
    os.symlink(outside / "action", root / "vendored")
    bad = root / ".github" / "workflows" / "bad.yml"
    for output_format in ("text", "json"):
        audit = run("audit", bad, "--format", output_format)
        assert audit.exit_code == 1, audit.output
        assert "unresolvable" in audit.stdout and "lint-action" not in audit.stdout
    checksums = run("checksums", bad)
    assert checksums.exit_code in (0, 1) and "Traceback" not in checksums.output
    assert "lint-action" not in checksums.output


def test_local_docker_action_cannot_read_a_dockerfile_outside(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("FROM evil.example/exfiltrated:latest\n")
    root = repository(tmp_path, "repo", GOOD_WORKFLOW.replace(
        "pinner-fixtures/checkout-lite@v1", "./.github/actions/docker"
    ).encode())  # fmt: skip
    action = root / ".github" / "actions" / "docker"
    action.mkdir(parents=True)
    (action / "action.yml").write_text(
        "name: d\nruns:\n  using: docker\n  image: ../../../../secret.txt\n"
    )
    result = run("audit", root / ".github" / "workflows" / "bad.yml", "--format", "json")
    assert "Traceback" not in result.output
    assert "exfiltrated" not in result.output


HOSTILE_CONFIG = {
    "binary": b"\x00\x01\x02binary",
    "not-utf-8": b"\xff\xfe[tool.pinner]\n",
    "malformed-toml": b"[tool.pinner\nx =\n",
    "wrong-type": b"[tool.pinner]\nignore = 5\n",
    "deep-nesting": b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "huge": b"# padding\n" * (11 * 1024 * 1024 // 10),
}


@pytest.mark.parametrize("command", ["pin", "audit", "update"])
@pytest.mark.parametrize("case", HOSTILE_CONFIG)
def test_hostile_configuration_is_refused_in_one_line(
    tmp_path: Path, case: str, command: str
) -> None:
    root = repository(tmp_path, "repo")
    (root / "pyproject.toml").write_bytes(HOSTILE_CONFIG[case])
    before = tree(root)
    result = run(command, root)
    assert_refused(result, mentions="pyproject.toml")
    assert tree(root) == before


HOSTILE_DEPENDABOT = {
    "deep-nesting": b"version: 2\nupdates: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "alias-bomb": alias_bomb() + b"version: 2\n",
    "binary": b"\x00\x01version: 2\n",
    "malformed": b"updates: [\n",
}


@pytest.mark.parametrize("case", HOSTILE_DEPENDABOT)
def test_hostile_dependabot_config_is_refused_in_one_line(tmp_path: Path, case: str) -> None:
    """``update`` reads the github-actions cooldown of .github/dependabot.yml: guarded too."""
    root = repository(tmp_path, "repo")
    (root / ".github" / "dependabot.yml").write_bytes(HOSTILE_DEPENDABOT[case])
    before = tree(root)
    result = invoke(  # no --cooldown: that would win over dependabot.yml, which is then unread
        "update", str(root), "--now", "2026-01-01T00:00:00Z", "--snapshot", str(FORGE)
    )
    assert_refused(result, mentions="dependabot.yml")
    assert tree(root) == before
