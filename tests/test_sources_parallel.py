"""Reading on two cores (:mod:`pinner.sources.parallel`): the same outcomes, in the same order,
whatever the worker does.

Every test compares the forked reader with reading in this process; the worker is made to
crash, to fail, to be killed and to be abandoned half-way, and each time every file still has
exactly its own outcome and no process is left behind.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from pinner.errors import InputError
from pinner.sources import discover, read_source
from pinner.sources import parallel as par
from pinner.sources.parallel import FileReader

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

GOOD = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: o/r{n}@v{n} # v{n}\n"
BAD = "on: push\njobs:\n  a: [\n"


def tree(tmp_path: Path, n: int = 12, bad: tuple[int, ...] = ()) -> list:
    for i in range(n):
        path = tmp_path / ".github" / "workflows" / f"w{i:02}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(BAD if i in bad else GOOD.format(n=i) * (1 + i % 3))
    return discover([tmp_path])


def outcomes(reader: FileReader) -> list[tuple[str, object]]:
    """(relpath, SourceFile or the refusal's text, path and line) for each file, in order."""
    out = []
    for found, outcome in reader:
        if isinstance(outcome, InputError):
            out.append((found.relpath, (str(outcome), outcome.path, outcome.line)))
        else:
            out.append((found.relpath, outcome))
    return out


def serial(files) -> list[tuple[str, object]]:
    return outcomes(FileReader(files, read_source, parallel=False))


def assert_reaped(pid: int) -> None:
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def forked(files, read=read_source) -> list[tuple[str, object]]:
    """Outcomes read with a worker; the worker is reaped once they are all in."""
    reader = FileReader(files, read, parallel=True)
    assert reader.forked
    pid = reader._pid
    got = outcomes(reader)
    assert pid is not None
    assert_reaped(pid)
    return got


def test_the_worker_reads_the_same_outcomes_in_file_order(tmp_path):
    files = tree(tmp_path, bad=(3, 9))
    assert forked(files) == serial(files)


def test_both_processes_read_and_every_file_has_one_outcome(tmp_path):
    files = tree(tmp_path, n=40)
    me = os.getpid()
    here: list[str] = []

    def read(found):
        if os.getpid() == me:
            here.append(found.relpath)
            time.sleep(0.01)  # a slow main process: the worker surely gets its share
        return read_source(found)

    got = forked(files, read)
    assert [relpath for relpath, _ in got] == [f.relpath for f in files]
    assert got == serial(files)
    assert len(set(here)) == len(here)  # this process never read a file twice
    assert len(here) < len(files)  # the worker did part of the work


def test_a_worker_that_dies_leaves_its_files_to_this_process(tmp_path):
    files = tree(tmp_path, n=20, bad=(15,))
    me = os.getpid()

    def read(found):
        if os.getpid() != me and found.relpath.endswith("w12.yml"):
            os._exit(7)  # the worker crashes half-way through its share
        return read_source(found)

    assert forked(files, read) == serial(files)


def test_a_bug_in_the_worker_is_met_again_here_with_its_traceback(tmp_path):
    files = tree(tmp_path, n=10)
    me = os.getpid()

    def read(found):
        if found.relpath.endswith("w08.yml"):
            raise RuntimeError("a bug in the reader")
        return read_source(found)

    with pytest.raises(RuntimeError, match="a bug in the reader"):
        list(FileReader(files, read, parallel=True))

    def read_flaky(found):  # only the worker fails: this process reads the file fine
        if os.getpid() != me and found.relpath.endswith("w08.yml"):
            raise RuntimeError("worker only")
        return read_source(found)

    assert forked(files, read_flaky) == serial(files)


def test_a_killed_worker_changes_nothing(tmp_path):
    files = tree(tmp_path, n=30)
    reader = FileReader(files, read_source, parallel=True)
    assert reader._pid is not None
    os.kill(reader._pid, signal.SIGKILL)
    assert outcomes(reader) == serial(files)


def test_stopping_early_stops_and_reaps_the_worker(tmp_path):
    files = tree(tmp_path, n=30)
    reader = FileReader(files, read_source, parallel=True)
    pid = reader._pid
    assert pid is not None
    for _found, _outcome in reader:
        break  # the consumer gives up (an error in the first file, Ctrl-C)
    assert_reaped(pid)
    reader.close()  # idempotent


def test_garbage_from_the_worker_is_ignored(tmp_path):
    files = tree(tmp_path, n=6)
    reader = FileReader(files, read_source, parallel=False)
    reader._accept(b"not a pickle")
    reader._accept(__import__("pickle").dumps((99, "source", None)))
    reader._accept(__import__("pickle").dumps((0, "source", "not a SourceFile")))
    assert outcomes(reader) == serial(files)


def test_small_inputs_are_read_here_and_large_ones_on_two_cores(tmp_path, monkeypatch):
    files = tree(tmp_path, n=4)
    monkeypatch.setattr(par, "parallel_possible", lambda: True)
    assert not FileReader(files, read_source).forked  # a few hundred bytes: not worth a fork
    monkeypatch.setattr(par, "PARALLEL_MIN_BYTES", 1)
    reader = FileReader(files, read_source)
    assert reader.forked
    assert outcomes(reader) == serial(files)
    monkeypatch.setattr(par, "parallel_possible", lambda: False)
    assert not FileReader(files, read_source).forked
    assert not FileReader(files[:1], read_source, parallel=True).forked  # one file: no worker


def test_parallel_is_only_possible_on_linux_with_cpus_to_spare_and_no_threads(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not par.parallel_possible()
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert not par.parallel_possible()
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(par.threading, "active_count", lambda: 2)
    assert not par.parallel_possible()
    monkeypatch.setattr(par.threading, "active_count", lambda: 1)
    assert par.parallel_possible()
