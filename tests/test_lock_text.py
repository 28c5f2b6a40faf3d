"""What ``pinner lock`` says to a person: one line per cause, not per line of every workflow.

Through the real CLI against the emulator (the world of ``tests/test_lock_cli.py``): a first
``lock --check`` with no lockfile names each workflow once, with its lines; bare SHAs kept with
``--no-narrow`` likewise; a ``uses:`` value the runner cannot run is a blocking finding on its
line (it used to be skipped, and ``--check`` passed); a reference that cannot be resolved is
named once in its line; the summary counts in the singular where there is one.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_lock_cli import C2, C4, findings, make, run_lock, workflow, world

LOCK = ".github/workflows/actions.lock"


def test_a_first_check_names_each_workflow_once_with_its_lines(emulator, tmp_path: Path) -> None:
    files = {
        ".github/workflows/a.yml": workflow("acme/tool@v1", "acme/wrap@v2.0.0", "acme/tool@v1"),
        ".github/workflows/b.yml": workflow("acme/tool@v1.2.0"),
    }
    forge, repo = make(tmp_path, world(), files)
    emu = emulator(forge)
    check = run_lock(emu, "--check", cwd=repo)
    assert check.returncode == 1
    lines = check.stderr.splitlines()
    assert (
        ".github/workflows/a.yml: error not-pinned: there is no lockfile: 3 uses: lines "
        "(6, 7, 8) are not pinned; run `pinner lock`"
    ) in lines
    # one line alone keeps its own file:line form
    assert any(line.startswith(".github/workflows/b.yml:6: error not-pinned: ") for line in lines)
    assert sum("not-pinned" in line for line in lines) == 2
    assert lines[-1] == (
        f"pinner: {LOCK}: 2 entries for 2 workflows (2 added), 2 uses: rewritten in 1 file; "
        "would change; 4 blocking finding(s)"
    )
    # the JSON keeps one finding per line, as the extension reports them
    as_json = run_lock(emu, "--check", "--format", "json", cwd=repo)
    assert sum(f["category"] == "not-pinned" for f in findings(as_json)) == 4


def test_a_workflow_new_to_an_existing_lockfile_is_named_once(emulator, tmp_path: Path) -> None:
    files = {".github/workflows/a.yml": workflow("acme/tool@v1.2.0")}
    forge, repo = make(tmp_path, world(), files)
    emu = emulator(forge)
    assert run_lock(emu, cwd=repo).returncode == 0
    (repo / ".github/workflows/new.yml").write_text(workflow("acme/tool@v1.2.0", "acme/tool@v1"))
    check = run_lock(emu, "--check", cwd=repo)
    assert check.returncode == 1
    assert (
        ".github/workflows/new.yml: error not-pinned: not in the lockfile: 2 uses: lines (6, 7) "
        "are not pinned; run `pinner lock`"
    ) in check.stderr.splitlines()


def test_bare_shas_kept_with_no_narrow_are_one_warning_per_workflow(
    emulator, tmp_path: Path
) -> None:
    files = {".github/workflows/a.yml": workflow(f"acme/tool@{C2}", f"acme/tool@{C2}")}
    forge, repo = make(tmp_path, world(), files)
    emu = emulator(forge)
    assert run_lock(emu, "--no-narrow", cwd=repo).returncode == 0
    again = run_lock(emu, "--no-narrow", "--check", cwd=repo)
    assert again.returncode == 0, again.stderr
    warnings = [line for line in again.stderr.splitlines() if "sha-as-ref" in line]
    assert warnings == [
        ".github/workflows/a.yml: warning sha-as-ref: 2 uses: lines (6, 7) pin a bare SHA "
        "without a symbolic ref"
    ]
    assert again.stderr.splitlines()[-1] == (f"pinner: {LOCK}: 1 entry for 1 workflow; up to date")


def test_a_value_the_runner_cannot_run_is_a_blocking_finding_on_its_line(
    emulator, tmp_path: Path
) -> None:
    files = {".github/workflows/a.yml": workflow("acme/tool@v1.2.0", "acme/tool")}
    forge, repo = make(tmp_path, world(), files)
    emu = emulator(forge)
    write = run_lock(emu, cwd=repo)
    assert write.returncode == 1  # the rest is locked; the invalid value blocks
    assert (repo / LOCK).is_file()
    line = next(x for x in write.stderr.splitlines() if "invalid-uses" in x)
    assert line.startswith(".github/workflows/a.yml:7: error invalid-uses: invalid uses value ")
    check = run_lock(emu, "--check", "--format", "json", cwd=repo)
    assert check.returncode == 1
    (found,) = (f for f in findings(check) if f["category"] == "invalid-uses")
    assert found["blocking"] and found["line"] == 7 and found["dependency"] == "acme/tool"


def test_a_reference_that_cannot_be_resolved_is_named_once(emulator, tmp_path: Path) -> None:
    missing = "9" * 40
    files = {".github/workflows/a.yml": workflow(f"acme/tool@{missing}")}
    forge, repo = make(tmp_path, world(), files)
    emu = emulator(forge)
    check = run_lock(emu, "--check", cwd=repo)
    assert check.returncode == 1
    line = next(x for x in check.stderr.splitlines() if "cannot be locked" in x)
    assert line.count(f"acme/tool@{missing}") == 1, line


def test_a_tag_name_no_real_tag_can_have_is_never_recorded_as_a_ref(
    emulator, tmp_path: Path
) -> None:
    """A hostile forge lists a "tag" with terminal escapes on the commit a bare SHA names:
    ``actions.lock`` records the branch that contains the commit instead (git forbids such
    names, so only an attacker serves one)."""
    hostile = "zz\x1b]0;pwned\x07"
    tool = world()["acme/tool"]
    repos = world(acme__tool={"tags": [*tool["tags"], {"name": hostile, "sha": C4}]})
    files = {".github/workflows/a.yml": workflow(f"acme/tool@{C4}")}
    forge, repo = make(tmp_path, repos, files)
    emu = emulator(forge)
    done = run_lock(emu, "--no-narrow", cwd=repo)
    assert done.returncode == 0, done.stderr
    written = (repo / LOCK).read_text(encoding="utf-8")
    assert "pwned" not in written and "\\e" not in written
    assert "ref: 'side'" in written


def test_a_directory_where_the_lockfile_belongs_is_an_input_error(emulator, tmp_path: Path) -> None:
    """Not "no lockfile" (``--check`` said "would change") nor "changed on disk while pinner
    ran" (the write refused it): one line saying what is there, exit 2, nothing written."""
    files = {".github/workflows/a.yml": workflow("acme/tool@v1")}
    forge, repo = make(tmp_path, world(), files)
    (repo / LOCK).mkdir()
    emu = emulator(forge)
    for args in ((), ("--check",)):
        done = run_lock(emu, *args, cwd=repo)
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"pinner: error: {LOCK}: is a directory, not a lockfile\n"
    assert (repo / ".github/workflows/a.yml").read_text() == files[".github/workflows/a.yml"]
