"""Ctrl-C and SIGTERM at any moment of a run that writes: all files or none, and the truth.

The real CLI, in its own process (and its own session, so that the reading worker it forks can
be looked for afterwards), rewrites a generated repository of 3,000 workflow files with no
network (``--snapshot``), and is sent SIGINT or SIGTERM at a spread of moments: while Python
starts, while the files are read, while the new contents are written beside the originals
(after the first, and after a thousand, temporary files appeared), as the renames begin, in
the middle of them, and after the last. After every run:

* every file is either exactly as it was or exactly as an uninterrupted run writes it, never a
  mix; no ``.pinner-tmp`` or ``.pinner-bak`` file is left anywhere;
* the exit code and the last line agree with what is on disk: 130 and "no file was changed"
  with every file as it was, 130 and "every file was already written" with every file
  pinned, or 0 (the run had finished) with every file pinned;
* no process of the run is left (the worker that reads on the second core is gone too).

``update`` (with the pull-request texts it writes) and ``checksums --write`` are interrupted
the same way.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.test_hardening_faults import hermetic_env, slow_forge  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[1]
FORGE = ROOT / "fixtures" / "forge"
FILES = 3000
LEFTOVERS = (".pinner-tmp", ".pinner-bak")

# The exit status and last line of a stopped run, by signal: (nothing written, all written).
STOPPED = {
    signal.SIGINT: (
        "interrupted; no file was changed",
        "interrupted; every file was already written",
    ),
    signal.SIGTERM: (
        "terminated (SIGTERM); no file was changed",
        "terminated (SIGTERM); every file was already written",
    ),
}


def scratch_root() -> Path:
    """Where the generated repositories live: memory when the machine has /dev/shm (3,000
    files are copied for every run, and a disk's flush would make each run seconds long)."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="pinner-signals-", dir=base))


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    root = scratch_root()
    yield root
    shutil.rmtree(root, ignore_errors=True)


def workflow(index: int) -> str:
    return (
        f"name: wf{index}\non: push\npermissions: {{}}\njobs:\n  build:\n"
        "    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: pinner-fixtures/checkout-lite@v1\n"
        f"      - run: echo {index}\n"
        "      - uses: pinner-fixtures/toolkit/setup@setup/v1\n"
    )


def generate(repo: Path, count: int, text: Callable[[int], str]) -> Path:
    """A repository with ``count`` workflow files, ``wf0000.yml`` holding ``text(0)``..."""
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (repo / ".git").mkdir()
    for index in range(count):
        (workflows / f"wf{index:04d}.yml").write_text(text(index))
    return repo


@pytest.fixture(scope="module")
def repository(scratch: Path) -> Path:
    return generate(scratch / "original", FILES, workflow)


def snapshot(repo: Path) -> dict[str, bytes]:
    """Every file under ``repo`` by relative path (temporary files would show up too)."""
    return {p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*") if p.is_file()}


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pinner", *args],
        cwd=cwd,
        env={**hermetic_env(token=None), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the worker can be looked for after
    )


# ----------------------------------------------------------------------------- moments


Moment = Callable[[Path], bool]
"""Whether the moment to send the signal has come, given the repository being rewritten."""
STARTING = "starting"  # the one moment at which Python may not even have started pinner yet


def after(seconds: float) -> Moment:
    deadline: list[float] = []

    def due(repo: Path) -> bool:
        if not deadline:
            deadline.append(time.monotonic() + seconds)
        return time.monotonic() >= deadline[0]

    return due


def temps_at_least(count: int) -> Moment:
    def due(repo: Path) -> bool:
        with os.scandir(repo / ".github" / "workflows") as entries:
            return sum(e.name.endswith(".pinner-tmp") for e in entries) >= count

    return due


def renamed(index: int, original: dict[str, bytes]) -> Moment:
    """When file ``index`` no longer has its original size: it has been renamed into place."""
    rel = f".github/workflows/wf{index:04d}.yml"
    size = len(original[rel])

    def due(repo: Path) -> bool:
        try:
            return (repo / rel).stat().st_size != size
        except FileNotFoundError:
            return False

    return due


def write_moments(original: dict[str, bytes], files: int) -> dict[str, Moment]:
    """From start-up to after the last rename of a run writing ``files`` workflows."""
    return {
        STARTING: after(0.3),
        "reading": after(0.6),
        "first temporary file": temps_at_least(1),
        "a third of the temporary files": temps_at_least(files // 3),
        "first rename": renamed(0, original),
        "halfway through the renames": renamed(files // 2, original),
        "after the last rename": renamed(files - 1, original),
    }


def run_until(process: subprocess.Popen[str], repo: Path, due: Moment, signum: int) -> bool:
    """Send ``signum`` once ``due``; False if the run ended first."""
    deadline = time.monotonic() + 300
    while process.poll() is None:
        if due(repo):
            process.send_signal(signum)
            return True
        if time.monotonic() > deadline:
            raise AssertionError("the moment never came")
        time.sleep(0.0005)
    return False


def assert_no_process_left(group: int) -> None:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return
    os.killpg(group, signal.SIGKILL)
    raise AssertionError("a process of the run outlived it (the reading worker?)")


def stop_at_moments(
    args: list[str],
    original_repo: Path,
    done: dict[str, bytes],
    moments: dict[str, Moment],
    signum: int,
    scratch: Path,
    *,
    before_each: Callable[[], None] = lambda: None,
) -> dict[str, str]:
    """Run ``pinner *args`` (``{repo}`` in them is the copy) on a fresh copy of
    ``original_repo`` per moment, stop it there with ``signum``, check the module docstring's
    promises; which outcome each moment gave."""
    original = snapshot(original_repo)
    outcomes: dict[str, str] = {}
    for name, due in moments.items():
        repo = Path(tempfile.mkdtemp(dir=scratch)) / original_repo.name
        shutil.copytree(original_repo, repo)
        before_each()
        process = start([a.replace("{repo}", str(repo)) for a in args], scratch)
        try:
            signalled = run_until(process, repo, due, signum)
            _, stderr = process.communicate(timeout=300)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        assert_no_process_left(process.pid)
        outcomes[name] = outcome(repo, original, done, process.returncode, stderr, signum, name)
        assert signalled or outcomes[name] == "finished", name
        shutil.rmtree(repo.parent)
    return outcomes


def outcome(
    repo: Path,
    original: dict[str, bytes],
    done: dict[str, bytes],
    returncode: int,
    stderr: str,
    signum: int,
    moment: str,
) -> str:
    """ "nothing written", "all written" or "finished", after checking that the files, the exit
    code and the last line agree (see the module docstring)."""
    files = snapshot(repo)
    leftovers = [name for name in files if name.endswith(LEFTOVERS)]
    assert not leftovers, (moment, leftovers[:5], len(leftovers))
    assert "Traceback" not in stderr, (moment, stderr)
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    nothing, everything = STOPPED[signum]
    if files == original:
        if moment == STARTING and returncode == -signum and not stderr:
            return "nothing written"  # killed before Python had even started pinner
        assert returncode == 130, (moment, returncode, stderr)
        assert last == f"pinner: error: {nothing}", (moment, stderr)
        return "nothing written"
    changed = sum(files.get(name) != done[name] for name in done)
    assert files == done, f"{moment}: {changed} of {len(done)} files not as a whole run leaves them"
    if returncode == 0:
        assert "error" not in stderr, (moment, stderr)
        return "finished"
    assert returncode == 130, (moment, returncode, stderr)
    assert last == f"pinner: error: {everything}", (moment, stderr)
    return "all written"


def reference_run(
    args: list[str], original_repo: Path, scratch: Path, name: str
) -> dict[str, bytes]:
    """What an uninterrupted run leaves."""
    repo = Path(tempfile.mkdtemp(prefix=name, dir=scratch)) / original_repo.name
    shutil.copytree(original_repo, repo)
    process = start([a.replace("{repo}", str(repo)) for a in args], scratch)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    files = snapshot(repo)
    assert files != snapshot(original_repo)
    shutil.rmtree(repo.parent)
    return files


SIGNALS = pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"]
)


# ----------------------------------------------------------------------------- pin


PIN = ["pin", "--snapshot", str(FORGE), "--no-cache", "{repo}"]


@pytest.fixture(scope="module")
def pinned(repository: Path, scratch: Path) -> dict[str, bytes]:
    return reference_run(PIN, repository, scratch, "pinned")


@SIGNALS
def test_pin_stopped_at_any_moment_writes_all_files_or_none_and_says_which(
    repository: Path, pinned: dict[str, bytes], scratch: Path, signum: int
) -> None:
    original = snapshot(repository)
    outcomes = stop_at_moments(
        PIN, repository, pinned, write_moments(original, FILES), signum, scratch
    )
    # the spread reached both sides of the renames (which side a moment near them lands on
    # depends on the machine's load; tests/test_hardening_faults.py holds a signal between two
    # renames deterministically)
    assert outcomes[STARTING] == "nothing written", outcomes
    assert outcomes["after the last rename"] != "nothing written", outcomes


# ----------------------------------------------------------------------------- update

UPDATE_FILES = 600
UPDATE = [
    "update",
    "--snapshot",
    str(FORGE),
    "--no-cache",
    "--now",
    "2026-06-01T00:00:00Z",
    "--pr-title",
    "{repo}/.github/workflows/pr-title.txt",
    "--pr-body",
    "{repo}/.github/workflows/pr-body.md",
    "--commit-message",
    "{repo}/.github/workflows/commit-message.txt",
    "{repo}",
]


def update_workflow(index: int) -> str:
    return (
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: upd-fixtures/setup-tool@d00de53c6623e5a5801b88bc3606a5e230823609"
        f" # v1.1.0\n      - run: echo {index}\n"
    )


@pytest.fixture(scope="module")
def update_repository(scratch: Path) -> Path:
    return generate(scratch / "update-original", UPDATE_FILES, update_workflow)


@SIGNALS
def test_update_stopped_at_any_moment_writes_workflows_and_pr_texts_all_or_none(
    update_repository: Path, scratch: Path, signum: int
) -> None:
    updated = reference_run(UPDATE, update_repository, scratch, "updated")
    assert {"pr-title.txt", "pr-body.md", "commit-message.txt"} <= {
        Path(name).name for name in updated
    }
    original = snapshot(update_repository)
    moments = write_moments(original, UPDATE_FILES)
    del moments["reading"]  # update reads a few hundred files in a blink
    outcomes = stop_at_moments(UPDATE, update_repository, updated, moments, signum, scratch)
    assert outcomes[STARTING] == "nothing written", outcomes


# ----------------------------------------------------------------------------- checksums


DOWNLOADS = (
    "pinner-fixtures/helper-2.1.0-linux-amd64",
    "pinner-fixtures/tool-plugins/plugin-0.3.1-linux-amd64",
    "pinner-fixtures/evil/payload.sh",
)


@SIGNALS
def test_checksums_write_stopped_at_any_moment_keeps_the_old_manifest_or_writes_the_new(
    slow_forge,  # noqa: F811 (the fixture imported above)
    scratch: Path,
    signum: int,
) -> None:
    forge, arrived = slow_forge, slow_forge.arrived
    manifest_dir = scratch / f"manifest-{signum}"
    manifest_dir.mkdir()
    (manifest_dir / "checksums.json").write_text(
        '{"schema": "pinner.checksums/1", "downloads": {}}\n'
    )
    args = [
        "checksums",
        "--server-url",
        forge.url,
        "--no-cache",
        "--write",
        "{repo}/checksums.json",
    ]
    for path in DOWNLOADS:
        args += ["--url", f"{forge.url}/dl/{path}"]
    written = reference_run(args, manifest_dir, scratch, f"checksums-{signum}")

    def downloading(extra: float) -> Moment:
        waited = after(extra)
        return lambda repo: arrived.is_set() and waited(repo)

    moments = {
        STARTING: after(0.3),
        "first download": downloading(0.0),
        "downloads half done": downloading(0.4),
    }

    outcomes = stop_at_moments(
        args, manifest_dir, written, moments, signum, scratch, before_each=arrived.clear
    )
    assert outcomes["first download"] == "nothing written", outcomes
