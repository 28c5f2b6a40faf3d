"""Ctrl-C, SIGTERM and SIGHUP at any moment of a run that writes: all files or none, and the truth.

The real CLI, in its own process (and its own session, so that the reading worker it forks can
be looked for afterwards), rewrites a generated repository of 3,000 workflow files with no
network (``--snapshot``), and is sent SIGINT or SIGTERM at a spread of moments: as soon as
pinner handles signals (Linux shows it in ``/proc/PID/status``), while the files are read,
while the new contents are written beside the originals (after the first, and after a
thousand, temporary files appeared), as the renames begin, in the middle of them, and after
the last. After every run, whatever moment the signal actually landed at (a loaded machine
moves it):

* every file is either exactly as it was or exactly as an uninterrupted run writes it, never a
  mix; no ``.pinner-tmp`` or ``.pinner-bak`` file is left anywhere;
* the exit code and the last line agree with what is on disk: 130 and "no file was changed"
  with every file as it was, 130 and "every file was already written" with every file
  pinned, or 0 and the command's own last line (the run had finished) with every file pinned;
  never a process killed by the signal, never a traceback;
* no process of the run is left (the worker that reads on the second core is gone too).

``update`` (with the pull-request texts it writes), ``checksums --write`` and ``lock`` are
interrupted the same way. Two windows too narrow to hit from outside are hit from inside, by
running pinner's entry point with a hook that sends the signal at an exact point: each of a
spread of function calls between the last rename and the interpreter's exit (where a SIGTERM
once killed a run that had written every file), and the instant the reading worker is forked.
A slow test sends a hundred signals at random moments.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
    signal.SIGHUP: (
        "hung up (SIGHUP); no file was changed",
        "hung up (SIGHUP); every file was already written",
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


def start(args: list[str], cwd: Path, *, driver: list[str] | None = None) -> subprocess.Popen[str]:
    """The real CLI, ``python -m pinner *args``; or ``python -c *driver *args`` (a driver that
    runs pinner's entry point itself, with a hook, see :data:`LATE_SIGNAL`)."""
    command = ["-c", *driver] if driver else ["-m", "pinner"]
    return subprocess.Popen(
        [sys.executable, *command, *args],
        cwd=cwd,
        env={**hermetic_env(token=None), "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the worker can be looked for after
    )


# ----------------------------------------------------------------------------- moments


Moment = Callable[[Path, int], bool]
"""Whether the moment to send the signal has come, given the repository being rewritten and
the pid of the process rewriting it."""
STARTING = "starting"  # as soon as pinner handles signals: nothing can have been written


def handling_signals(repo: Path, pid: int) -> bool:
    """Whether pinner's handler is in place: Linux lists the signals a process catches in
    ``/proc/PID/status``, and nothing but pinner catches SIGTERM in a Python process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False  # already gone: the run ends, no signal is sent
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


@pytest.fixture(scope="module", autouse=True)
def proc_status() -> None:
    if not Path(f"/proc/{os.getpid()}/status").is_file():  # not in CI: it runs on Linux
        pytest.skip("needs Linux's /proc/PID/status to see when pinner handles signals")


def after(seconds: float) -> Moment:
    """``seconds`` after pinner began to handle signals."""
    return then(handling_signals, seconds)


def then(moment: Moment, seconds: float) -> Moment:
    """``seconds`` after ``moment``."""
    deadline: list[float] = []

    def due(repo: Path, pid: int) -> bool:
        if not deadline:
            if not moment(repo, pid):
                return False
            deadline.append(time.monotonic() + seconds)
        return time.monotonic() >= deadline[0]

    return due


def temps_at_least(count: int) -> Moment:
    def due(repo: Path, pid: int) -> bool:
        with os.scandir(repo / ".github" / "workflows") as entries:
            return sum(e.name.endswith(".pinner-tmp") for e in entries) >= count

    return due


def renamed(index: int, original: dict[str, bytes]) -> Moment:
    """When file ``index`` no longer has its original size: it has been renamed into place."""
    rel = f".github/workflows/wf{index:04d}.yml"
    size = len(original[rel])

    def due(repo: Path, pid: int) -> bool:
        try:
            return (repo / rel).stat().st_size != size
        except FileNotFoundError:
            return False

    return due


def write_moments(original: dict[str, bytes], files: int) -> dict[str, Moment]:
    """From start-up to after the last rename of a run writing ``files`` workflows."""
    return {
        STARTING: handling_signals,
        "reading": after(0.4),
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
        if due(repo, process.pid):
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


@dataclass(frozen=True)
class Finished:
    """What an uninterrupted run leaves: every file, and the last line it says."""

    files: dict[str, bytes]
    last_line: str


def last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1] if stderr.strip() else ""


@dataclass(frozen=True)
class Scenario:
    """``pinner *args`` (``{repo}`` in them: a fresh copy of ``repo``, holding ``original``),
    and what an uninterrupted run of it leaves."""

    args: list[str]
    repo: Path
    original: dict[str, bytes]
    done: Finished
    scratch: Path

    @classmethod
    def of(cls, args: list[str], repo: Path, done: Finished, scratch: Path) -> Scenario:
        return cls(args, repo, snapshot(repo), done, scratch)


def stop_at_moments(
    scenario: Scenario,
    moments: dict[str, Moment],
    signum: int,
    *,
    before_each: Callable[[], None] = lambda: None,
) -> dict[str, str]:
    """Stop one run per moment there with ``signum``; which outcome each moment gave."""
    outcomes: dict[str, str] = {}
    for name, due in moments.items():
        before_each()
        outcomes[name] = stop_once(scenario, signum, name, due=due)
    return outcomes


def stop_once(
    scenario: Scenario,
    signum: int,
    moment: str,
    *,
    due: Moment | None = None,
    driver: list[str] | None = None,
    again: float | None = None,
) -> str:
    """Run ``scenario`` once, stop it with ``signum`` when ``due`` (None: the ``driver``
    sends the signal itself), and every ``again`` seconds after until it ends (a user who
    presses Ctrl-C again and again); check the module docstring's promises; the outcome."""
    repo = Path(tempfile.mkdtemp(dir=scenario.scratch)) / scenario.repo.name
    shutil.copytree(scenario.repo, repo)
    args = [a.replace("{repo}", str(repo)) for a in scenario.args]
    process = start(args, scenario.scratch, driver=driver)
    try:
        signalled = due is None or run_until(process, repo, due, signum)
        while signalled and again is not None:
            try:
                process.wait(timeout=again)
                break
            except subprocess.TimeoutExpired:
                process.send_signal(signum)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert_no_process_left(process.pid)
    result = outcome(repo, scenario, process.returncode, stderr, signum, moment)
    assert signalled or result == "finished", moment
    shutil.rmtree(repo.parent)
    return result


def outcome(
    repo: Path, scenario: Scenario, returncode: int, stderr: str, signum: int, moment: str
) -> str:
    """ "nothing written", "all written" or "finished", after checking that the files, the exit
    code and the last line agree (see the module docstring)."""
    original, done = scenario.original, scenario.done
    files = snapshot(repo)
    leftovers = [name for name in files if name.endswith(LEFTOVERS)]
    assert not leftovers, (moment, leftovers[:5], len(leftovers))
    assert "Traceback" not in stderr, (moment, stderr)
    assert "Exception ignored" not in stderr, (moment, stderr)  # a signal during shutdown
    assert returncode in (0, 130), f"{moment}: exit status {returncode} (killed?), {stderr!r}"
    last = last_line(stderr)
    nothing, everything = STOPPED[signum]
    if files == original:
        assert returncode == 130, (moment, returncode, stderr)
        assert last == f"pinner: error: {nothing}", (moment, stderr)
        assert stderr.count("pinner: error:") == 1, (moment, stderr)
        return "nothing written"
    changed = sum(files.get(name) != done.files[name] for name in done.files)
    assert files == done.files, (
        f"{moment}: {changed} of {len(done.files)} files not as a whole run leaves them"
    )
    if returncode == 0:
        assert "error" not in stderr, (moment, stderr)
        assert last == done.last_line, (moment, stderr)
        return "finished"
    assert last == f"pinner: error: {everything}", (moment, stderr)
    assert stderr.count("pinner: error:") == 1, (moment, stderr)
    return "all written"


def reference_run(args: list[str], original_repo: Path, scratch: Path, name: str) -> Finished:
    """What an uninterrupted run leaves."""
    repo = Path(tempfile.mkdtemp(prefix=name, dir=scratch)) / original_repo.name
    shutil.copytree(original_repo, repo)
    process = start([a.replace("{repo}", str(repo)) for a in args], scratch)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    files = snapshot(repo)
    assert files != snapshot(original_repo)
    shutil.rmtree(repo.parent)
    return Finished(files, last_line(stderr))


SIGNALS = pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"]
)


# ----------------------------------------------------------------------------- pin


PIN = ["pin", "--snapshot", str(FORGE), "--no-cache", "{repo}"]


@pytest.fixture(scope="module")
def pinned(repository: Path, scratch: Path) -> Finished:
    return reference_run(PIN, repository, scratch, "pinned")


@SIGNALS
def test_pin_stopped_at_any_moment_writes_all_files_or_none_and_says_which(
    repository: Path, pinned: Finished, scratch: Path, signum: int
) -> None:
    scenario = Scenario.of(PIN, repository, pinned, scratch)
    outcomes = stop_at_moments(scenario, write_moments(scenario.original, FILES), signum)
    # the spread reached both sides of the renames (which side a moment near them lands on
    # depends on the machine's load; tests/test_hardening_faults.py holds a signal between two
    # renames deterministically)
    assert outcomes[STARTING] == "nothing written", outcomes
    assert outcomes["after the last rename"] != "nothing written", outcomes


# ----------------------------------------------------------------------------- late signals

LATE_SIGNAL = r"""
import atexit, os, sys

signum, renames, at, report = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
del sys.argv[1:5]
sys.argv[0] = "pinner"
calls = 0


def profile(frame, event, arg):
    global calls
    calls += 1
    if calls == at:
        sys.setprofile(None)
        with open(report, "a") as out:
            out.write("sent\n")
        os.kill(os.getpid(), signum)


real_replace = os.replace


def replace(*args, **kwargs):
    global renames
    real_replace(*args, **kwargs)
    renames -= 1
    if renames == 0:
        sys.setprofile(profile)


os.replace = replace


@atexit.register  # before pinner's own: the last exit callback
def last():
    sys.setprofile(None)
    if at == 0:
        with open(report, "w") as out:
            out.write(f"{calls}\n")


from pinner.__main__ import main

main()
"""
"""pinner's entry point, with ``signum`` sent by the process to itself at the ``at``-th Python
or C function call after the ``renames``-th rename (0: none, and write how many calls there
were, up to the last exit callback, to ``report``)."""

LATE_FILES = 3


@pytest.fixture(scope="module")
def late_repository(scratch: Path) -> Path:
    return generate(scratch / "late-original", LATE_FILES, workflow)


@pytest.fixture(scope="module")
def late_run(late_repository: Path, scratch: Path) -> tuple[Scenario, int]:
    """The run, and how many function calls it makes after its last rename."""
    done = reference_run(PIN, late_repository, scratch, "late")
    scenario = Scenario.of(PIN, late_repository, done, scratch)
    report = scratch / "late-count.txt"
    driver = [LATE_SIGNAL, str(signal.SIGTERM), str(LATE_FILES), "0", str(report)]
    assert stop_once(scenario, signal.SIGTERM, "counting", driver=driver) == "finished"
    return scenario, int(report.read_text())


@SIGNALS
def test_a_signal_after_the_last_rename_up_to_the_interpreters_exit_is_never_a_kill(
    late_run: tuple[Scenario, int], scratch: Path, signum: int
) -> None:
    """From the last rename to the process's end, a signal at any point (a spread of the
    function calls in between, denser towards the end, where the interpreter shuts down) gets
    130 and "every file was already written", or, once the outcome is out, the command's own
    result and status: never a process killed by the signal with no line, never a second or an
    untrue line, never a traceback or "Exception ignored" from the shutdown."""
    scenario, calls = late_run
    points = {1 + calls * step // 24 for step in range(24)}  # evenly spread
    points |= {calls - (1 << i) for i in range(calls.bit_length()) if (1 << i) < calls}
    points.add(calls)  # in the last exit callback

    def stop_at(at: int) -> str:
        report = scratch / f"late-{signum}-{at}.txt"
        driver = [LATE_SIGNAL, str(signum), str(LATE_FILES), str(at), str(report)]
        moment = f"call {at} of {calls} after the last rename"
        result = stop_once(scenario, signum, moment, driver=driver)
        assert report.is_file(), f"{moment}: the signal was never sent"
        return result

    with ThreadPoolExecutor(max_workers=2) as pool:  # two runs at a time: about 0.5 s each
        outcomes = dict(zip(sorted(points), pool.map(stop_at, sorted(points)), strict=True))
    # the spread covered both: stopped with the truth, and past the point where the outcome is
    # decided (from there on it is the command's own)
    assert set(outcomes.values()) == {"all written", "finished"}, outcomes


HUNG_THREAD = r"""
import sys, threading

sys.argv[0] = "pinner"
threading.Thread(target=threading.Event().wait).start()  # never ends

from pinner.__main__ import main

main()
"""
"""pinner's entry point in a process with a thread that never ends, which the interpreter
waits for at exit (as it would for a DNS lookup a stopped run left behind)."""


@SIGNALS
def test_a_signal_while_the_interpreter_waits_for_a_thread_at_exit_ends_it_with_the_status(
    late_run: tuple[Scenario, int], signum: int
) -> None:
    """The run is over and the process hangs in the interpreter's shutdown: a signal ends it
    at once, with the run's own status (or, if the first landed before the run was over, 130
    and the truthful line), not a traceback from the shutdown or a kill."""
    scenario, _ = late_run
    over = then(renamed(LATE_FILES - 1, scenario.original), 0.5)
    moment = "waiting for a thread at exit"
    result = stop_once(scenario, signum, moment, due=over, driver=[HUNG_THREAD], again=0.2)
    assert result in ("finished", "all written")


FORK_SIGNAL = r"""
import os, sys

signum = int(sys.argv[1])
del sys.argv[1]
sys.argv[0] = "pinner"
real_fork = os.fork


def fork():
    pid = real_fork()
    if pid:  # the main process, the instant the reading worker exists
        os.kill(os.getpid(), signum)
    return pid


os.fork = fork

from pinner.__main__ import main

main()
"""
"""pinner's entry point, with ``signum`` sent by the main process to itself as soon as it has
forked its reading worker."""


@SIGNALS
def test_a_signal_the_instant_the_reading_worker_is_forked_leaves_no_worker_behind(
    repository: Path, pinned: Finished, scratch: Path, signum: int
) -> None:
    scenario = Scenario.of(PIN, repository, pinned, scratch)
    driver = [FORK_SIGNAL, str(signum)]
    result = stop_once(scenario, signum, "as the worker is forked", driver=driver)
    assert result == "nothing written"


# ----------------------------------------------------------------------------- at random


STRESS_FILES = 600  # enough bytes for pinner to read on two cores


@pytest.fixture(scope="module")
def stress_repository(scratch: Path) -> Path:
    return generate(scratch / "stress-original", STRESS_FILES, workflow)


def random_moment(rng: random.Random, original: dict[str, bytes], duration: float) -> Moment:
    """A moment anywhere in a run of ``duration`` seconds, with more of them where a run
    changes state quickly: the temporary files, the renames, the end."""
    kind = rng.randrange(4)
    if kind == 0:
        return after(rng.uniform(0, duration * 1.1))
    if kind == 1:
        return then(temps_at_least(1), rng.uniform(0, 0.02))
    if kind == 2:
        return renamed(rng.randrange(STRESS_FILES), original)
    return then(renamed(STRESS_FILES - 1, original), rng.uniform(0, 0.05))


@pytest.mark.slow
def test_signals_at_a_hundred_random_moments_always_leave_all_or_nothing_and_the_truth(
    stress_repository: Path, scratch: Path
) -> None:
    """SIGINT, SIGTERM or SIGHUP at random moments of a hundred runs (more, or a given seed:
    PINNER_SIGNAL_RUNS, PINNER_SIGNAL_SEED), in a quarter of them sent again and again until
    the run ends: every one keeps the promises of the module docstring. (A run stopped by a
    plain KeyboardInterrupt once ended, about one time in ten, as killed by SIGINT after
    printing its line; a second signal once printed "Exception ignored" from a callback of the
    garbage collector.)"""
    seed = int(os.environ.get("PINNER_SIGNAL_SEED", str(time.time_ns())))
    runs = int(os.environ.get("PINNER_SIGNAL_RUNS", "100"))
    rng = random.Random(seed)
    began = time.monotonic()
    done = reference_run(PIN, stress_repository, scratch, "stress")
    duration = time.monotonic() - began
    scenario = Scenario.of(PIN, stress_repository, done, scratch)
    drawn = [
        (
            rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGHUP]),
            rng.random(),
            rng.choice([None, None, None, rng.uniform(0.001, 0.03)]),  # a quarter: again
        )
        for _ in range(runs)
    ]

    def stop(run: int) -> str:
        signum, draw, again = drawn[run]
        due = random_moment(random.Random(draw), scenario.original, duration)
        name = signal.Signals(signum).name
        moment = f"run {run} (PINNER_SIGNAL_SEED={seed}), {name}, again every {again} s"
        return stop_once(scenario, signum, moment, due=due, again=again)

    with ThreadPoolExecutor(max_workers=2) as pool:  # two at a time: more load, half the wait
        outcomes = list(pool.map(stop, range(runs)))
    tally = {name: outcomes.count(name) for name in set(outcomes)}
    assert tally.get("nothing written") and tally.get("all written"), (seed, tally)


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
        Path(name).name for name in updated.files
    }
    original = snapshot(update_repository)
    moments = write_moments(original, UPDATE_FILES)
    del moments["reading"]  # update reads a few hundred files in a blink
    scenario = Scenario.of(UPDATE, update_repository, updated, scratch)
    outcomes = stop_at_moments(scenario, moments, signum)
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
        return then(lambda repo, pid: arrived.is_set(), extra)

    moments = {
        STARTING: handling_signals,
        "first download": downloading(0.0),
        "downloads half done": downloading(0.4),
    }

    scenario = Scenario.of(args, manifest_dir, written, scratch)
    outcomes = stop_at_moments(scenario, moments, signum, before_each=arrived.clear)
    assert outcomes["first download"] == "nothing written", outcomes


# ----------------------------------------------------------------------------- lock

LOCK_FILES = 600
LOCK = ["lock", "--snapshot", str(FORGE), "--no-cache", "{repo}"]
LOCKFILE = ".github/workflows/actions.lock"


def local_workflow(index: int) -> str:
    return (
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: ./local\n      - run: echo {index}\n"
    )


@pytest.fixture(scope="module")
def lock_repository(scratch: Path) -> Path:
    """Every workflow runs ``./local`` (``pinner lock`` rewrites each to ``$/local``) and the
    lockfile only locks a workflow that is gone: one run rewrites 600 files and removes the
    emptied lockfile."""
    from pinner.formats.lockfile import LockEntry, Lockfile, render

    repo = generate(scratch / "lock-original", LOCK_FILES, local_workflow)
    (repo / "local").mkdir()
    (repo / "local" / "action.yml").write_text(
        "name: l\nruns:\n  using: composite\n  steps:\n    - {run: echo hi, shell: bash}\n"
    )
    key = "pinner-fixtures/checkout-lite@v1.2.3"
    entry = LockEntry("v1.2.3", "sha1-67225fc235da7df7104e91219c0d4f5a70438459", 1, 2)
    lockfile = Lockfile({".github/workflows/gone.yml": (key,)}, {key: entry})
    (repo / LOCKFILE).write_bytes(render(lockfile))
    return repo


def rewritten(index: int, original: dict[str, bytes]) -> Moment:
    """When workflow ``index`` no longer holds its original bytes (``./local`` and
    ``$/local`` have the same length: the size cannot tell)."""
    rel = f".github/workflows/wf{index:04d}.yml"

    def due(repo: Path, pid: int) -> bool:
        try:
            return (repo / rel).read_bytes() != original[rel]
        except FileNotFoundError:
            return False

    return due


@SIGNALS
def test_lock_stopped_at_any_moment_rewrites_and_removes_the_lockfile_all_or_none(
    lock_repository: Path, scratch: Path, signum: int
) -> None:
    """Removing the emptied lockfile is part of the write: at no moment are the workflows
    rewritten while the lockfile that no longer matches them is still there (or the other way
    round), and "every file was already written" means the lockfile is gone too."""
    removed = reference_run(LOCK, lock_repository, scratch, "locked")
    assert LOCKFILE not in removed.files
    original = snapshot(lock_repository)
    moments = write_moments(original, LOCK_FILES)
    del moments["reading"]
    for name, index in (
        ("first rename", 0),
        ("halfway through the renames", LOCK_FILES // 2),
        ("after the last rename", LOCK_FILES - 1),
    ):
        moments[name] = rewritten(index, original)
    scenario = Scenario.of(LOCK, lock_repository, removed, scratch)
    outcomes = stop_at_moments(scenario, moments, signum)
    assert outcomes[STARTING] == "nothing written", outcomes
