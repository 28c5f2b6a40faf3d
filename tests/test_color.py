"""One colour policy for every command (``pinner.formats.style``), checked on the real CLI.

Each command runs as a subprocess with its output piped (never a terminal): ``--color always``
must paint anyway (it used to be stripped by click in ``update``, and ``pin`` had no colour),
``never`` and ``auto`` must not, ``NO_COLOR`` turns ``auto`` off but not an explicit ``always``,
and ``FORCE_COLOR`` turns ``auto`` on. Machine formats are never painted. The same meaning gets
the same colour in every command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pinner.formats import style

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
NOW = "2026-06-01T00:00:00Z"
ANSI = "\x1b["


@pytest.fixture
def repos(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name in ("demo", "upd-demo"):
        out[name] = tmp_path / name
        shutil.copytree(
            ROOT / "fixtures" / "consumers" / name,
            out[name],
            ignore=shutil.ignore_patterns("expected.json", "README.md"),
        )
    return out


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    base.update({"PINNER_NO_GH": "1", "TERM": "xterm-256color"})
    return subprocess.run(
        [sys.executable, "-m", "pinner", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=120,
    )


def commands(repos: dict[str, Path], tmp_path: Path) -> dict[str, list[str]]:
    """A text-producing run of each command; the painted stream is checked per command."""
    demo, upd = str(repos["demo"]), str(repos["upd-demo"])
    return {
        "pin --check": ["pin", "--snapshot", str(FORGE), "--check", demo],
        "pin --diff": ["pin", "--snapshot", str(FORGE), "--diff", demo],
        "audit": ["audit", "--snapshot", str(FORGE), demo],
        "lock --check": ["lock", "--snapshot", str(FORGE), "--check", demo],
        "lock --diff": ["lock", "--snapshot", str(FORGE), "--diff", demo],
        "update --check": ["update", "--snapshot", str(FORGE), "--now", NOW, "--check", upd],
        "update --diff": ["update", "--snapshot", str(FORGE), "--now", NOW, "--diff", upd],
    }


def write_changed_manifest(tmp_path: Path, url: str) -> Path:
    """A manifest whose only entry no longer matches what ``url`` serves (a MISMATCH)."""
    path = tmp_path / "manifest.json"
    path.write_text(
        '{"schema": "pinner.checksums/1", "downloads": {"' + url + '": '
        '{"sha256": "' + "0" * 64 + '", "size": 1, "mutable": false, "mutable_reasons": [], '
        '"found_in": []}}}\n'
    )
    return path


def painted_output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "name",
    [
        "pin --check",
        "pin --diff",
        "audit",
        "lock --check",
        "lock --diff",
        "update --check",
        "update --diff",
    ],
)
def test_always_paints_in_a_pipe_never_and_auto_do_not(
    name: str, repos: dict[str, Path], tmp_path: Path
) -> None:
    args = commands(repos, tmp_path)[name]
    always = cli(*args, "--color", "always")
    assert ANSI in always.stdout, f"{name}: --color always did not paint stdout\n{always.stdout}"
    assert "Traceback" not in always.stderr
    never = cli(*args, "--color", "never", env={"FORCE_COLOR": "1"})
    auto = cli(*args)
    for proc in (never, auto):
        assert ANSI not in painted_output(proc), name
        assert proc.returncode == always.returncode
    # the words are the same, only the paint differs
    assert strip(always.stdout) == auto.stdout


def test_checksums_paints_its_report(tmp_path: Path, emulator) -> None:
    emu = emulator(FORGE)
    url = f"{emu.url}/dl/pinner-fixtures/helper-2.1.0-linux-amd64"
    args = ["checksums", "--verify", str(write_changed_manifest(tmp_path, url))]
    always = cli(*args, "--color", "always")
    assert always.returncode == 1, always.stderr
    assert style.paint("MISMATCH", "error", True) in always.stderr, always.stderr
    auto = cli(*args)
    assert "MISMATCH" in auto.stderr and ANSI not in auto.stderr


def test_no_color_turns_auto_off_but_not_always(repos: dict[str, Path], tmp_path: Path) -> None:
    args = commands(repos, tmp_path)["pin --check"]
    assert ANSI in cli(*args, "--color", "always", env={"NO_COLOR": "1"}).stdout
    assert ANSI not in cli(*args, env={"NO_COLOR": "1", "FORCE_COLOR": "1"}).stdout


def test_force_color_turns_auto_on(repos: dict[str, Path], tmp_path: Path) -> None:
    args = commands(repos, tmp_path)["update --check"]
    assert ANSI in cli(*args, env={"FORCE_COLOR": "1"}).stdout


@pytest.mark.parametrize("name", ["audit", "update --diff", "update --check"])
def test_a_report_written_to_a_file_is_painted_only_with_always(
    name: str, repos: dict[str, Path], tmp_path: Path
) -> None:
    """``--output FILE`` is no terminal: ``--color always`` paints it as it paints a pipe
    (update used to ignore it there), ``auto`` does not, not even with ``FORCE_COLOR``, which
    asks for colour in CI logs, not in the files a run leaves behind (audit painted them)."""
    args = commands(repos, tmp_path)[name]
    report = tmp_path / "report.txt"
    always = cli(*args, "--output", str(report), "--color", "always")
    assert always.returncode in (0, 1) and "Traceback" not in always.stderr, always.stderr
    painted = report.read_text(encoding="utf-8")
    assert ANSI in painted, f"{name}: --color always did not paint {report}"
    report.unlink()
    forced = cli(*args, "--output", str(report), env={"FORCE_COLOR": "1"})
    assert forced.returncode == always.returncode, forced.stderr
    plain = report.read_text(encoding="utf-8")
    assert ANSI not in plain, f"{name}: FORCE_COLOR painted {report}"
    assert strip(painted) == plain  # the same words


def test_problems_are_red_on_stderr_when_painted(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: nobody/missing@v1\n"
    )
    proc = cli("pin", "--snapshot", str(FORGE), "--color", "always", str(repo))
    assert proc.returncode == 1
    assert style.paint("problem:", "error", True) in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["pin", "--format", "json", "--check"],
        ["lock", "--format", "json", "--check"],
        ["audit", "--format", "json"],
        ["audit", "--format", "sarif"],
        ["audit", "--format", "github"],
        ["update", "--format", "json", "--now", NOW, "--check"],
    ],
)
def test_machine_formats_are_never_painted(
    args: list[str], repos: dict[str, Path], tmp_path: Path
) -> None:
    target = repos["upd-demo"] if args[0] == "update" else repos["demo"]
    proc = cli(*args, "--snapshot", str(FORGE), "--color", "always", str(target))
    assert ANSI not in proc.stdout


def test_same_meaning_same_colour() -> None:
    """The palette is shared: a failing thing is the same red in audit, pin and checksums."""
    from pinner.formats import audit_text, checksums_text, update_text  # noqa: F401
    from pinner.rules.base import Severity

    assert style.paint("x", audit_text._STYLES[Severity.HIGH], True) == style.paint(
        "x", "error", True
    )
    assert update_text._STYLE["problem"] == "error"
    assert update_text._STYLE["held"] == audit_text._STYLES[Severity.MEDIUM] == "warning"


def test_policy_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    for var in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(var, raising=False)
    assert style.color_enabled("auto", Tty())
    assert not style.color_enabled("auto", object())
    assert style.color_enabled("always", object())
    assert not style.color_enabled("never", Tty())
    monkeypatch.setenv("TERM", "dumb")
    assert not style.color_enabled("auto", Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert style.color_enabled("always", object())


def strip(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)
