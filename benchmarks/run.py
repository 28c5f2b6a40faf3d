"""pinner vs pinact, side by side, on the same files, in one run, against the same emulator.

    python benchmarks/run.py            # from the repository root, after `pip install -e .[test]`

What it does, and why each step is there:

1. Starts the project's GitHub emulator (``python -m tests.forge``) on the corpus forge snapshot
   (``../shared/corpus/forge``) with injected latency (default 50 ms per request), so round
   trips cost what they cost on a real network and requests can be counted (``/_stats``).
2. Copies every consumer repository of ``../shared/corpus/consumers`` once per run: pinner
   cold, pinner warm and pinact each rewrite their own copy of identical files. The file list (top
   level ``.github/workflows/*.y{a,}ml`` plus every ``action.y{a,}ml``) is passed explicitly to
   both tools, so both see exactly the same files.
3. Runs ``pinner pin`` with an empty cache directory (cold), then again with that now-filled
   cache on a fresh copy (warm), then ``pinner lock`` the same two ways (once per consumer, in
   one measured driver process: it locks one repository per run), then ``pinact run`` in GHES
   mode (``GHES_API_URL`` pointed at the emulator), then ``pinact run --verify-comment``: plain
   pinact skips every action already pinned to a SHA, while ``pinner pin`` verifies each of
   them (impostor commits, comments), so the second pinact row is the like-for-like one. Each
   tool runs once unmeasured first, so the emulator's lazy loading is billed to nobody; the
   counters are reset before each run. All of this is repeated ``--repeat`` times (default 5),
   the tools interleaved, and each row reports the round with the median wall time: a shared
   machine has slow spells, and they should not decide a ratio. pinner's bytecode is compiled
   once up front, as installing it does.
4. Measures wall time, CPU time and peak RSS of each child (``os.wait4``), requests from the
   emulator, and how many lines each tool changed (a tool that does nothing is fast).
5. Measures pinner's local work alone: ``pinner pin --snapshot`` on a generated repository of
   1,000 workflow files against a small synthetic forge (no network at all).

It prints a markdown table (paste it into docs/performance.md) and checks the targets
of the performance issue. ``--json FILE`` also writes every number measured.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import difflib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.synthetic import build_forge, build_repo  # noqa: E402

USES_RE = re.compile(r"""^\s*(?:-\s+)?uses:\s*["']?([^\s"'#]+)""", re.MULTILINE)
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
LISTENING_RE = re.compile(r"listening on (https?://\S+)")

# Environment variables that would point either tool somewhere else or leak a real token.
_SCRUBBED = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_SERVER_URL",
    "GITHUB_API_URL",
    "GHES_API_URL",
    "GHES_TOKEN",
    "PINACT_GHES_TOKEN",
    "GITHUB_TOKEN_ENTERPRISE",
    "GITHUB_ENTERPRISE_TOKEN",
    "PINACT_CONFIG",
    "PINNER_CACHE_DIR",
)


class BenchmarkError(Exception):
    """The benchmark cannot run (missing corpus, emulator did not start, ...)."""


# ----------------------------------------------------------------------------- measuring


@dataclass
class Measured:
    """One child process run: what it cost and what it did."""

    label: str
    command: list[str]
    exit_code: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    requests: int | None = None
    request_breakdown: dict[str, object] = field(default_factory=dict)
    wall_all: list[float] = field(default_factory=list)  # every round's wall time, run order
    lines_changed: int | None = None
    pinned_after: int | None = None
    server_cpu_s: float | None = None  # the emulator's CPU during the run (same machine)
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        """pinner: 0 done, 1 changes/findings. Anything else means the run did not complete."""
        return self.exit_code in (0, 1)


def run_measured(
    label: str, command: list[str], *, cwd: Path, env: dict[str, str], timeout: float, logs: Path
) -> Measured:
    """Run ``command`` and collect its wall time, CPU time and peak RSS via ``os.wait4``.

    ``subprocess.run`` cannot report a child's resource usage; ``wait4`` reaps the one child we
    started and returns its own rusage, unaffected by other children of this process.
    """
    out = (logs / f"{label}.stdout").open("wb")
    err = (logs / f"{label}.stderr").open("wb")
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        _pid, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
        out.close()
        err.close()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: keep Popen from waiting again
    tail = (logs / f"{label}.stderr").read_text(errors="replace")[-2000:]
    return Measured(
        label=label,
        command=command,
        exit_code=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # Linux: KiB
        stderr_tail=tail,
    )


# ----------------------------------------------------------------------------- the emulator


class Emulator:
    """The project's GitHub emulator as a child process, with its request counters."""

    def __init__(self, data: Path, latency_ms: int, logs: Path) -> None:
        self.data = data
        self.latency_ms = latency_ms
        self.logs = logs
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> Emulator:
        command = [
            sys.executable,
            "-m",
            "tests.forge",
            "--data",
            str(self.data),
            "--latency-ms",
            str(self.latency_ms),
        ]
        self.proc = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=(self.logs / "emulator.stderr").open("wb"),
            text=True,
            env=_clean_env(),
        )
        deadline = time.monotonic() + 60
        assert self.proc.stdout is not None
        seen: list[str] = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if match := LISTENING_RE.search(line):
                self.url = match.group(1).rstrip("/")
                # keep draining its stdout so the emulator never blocks on a full pipe
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        self.__exit__(None, None, None)
        raise BenchmarkError(
            "the emulator did not say 'listening on URL' within 60 s: "
            + " ".join(command)
            + "\n"
            + "".join(seen)[-1000:]
            + (self.logs / "emulator.stderr").read_text(errors="replace")[-2000:]
        )

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for _ in self.proc.stdout:
            pass

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def reset(self) -> None:
        self._call("/_reset", method="POST")

    def cpu_seconds(self) -> float | None:
        """CPU the emulator has used so far (Linux ``/proc``), else None.

        The emulator shares the machine with the tool under test; its CPU during a run says how
        much of the wall time was the test rig rather than the tool.
        """
        if self.proc is None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stats(self) -> dict[str, object]:
        data = json.loads(self._call("/_stats"))
        if not isinstance(data, dict):
            raise BenchmarkError(f"/_stats answered {data!r}")
        return data

    def _call(self, path: str, method: str = "GET") -> bytes:
        request = urllib.request.Request(
            self.url + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()


def total_requests(stats: dict[str, object]) -> int:
    """The emulator's request count, whatever the exact shape of ``/_stats``."""
    for key in ("requests", "total", "total_requests", "count"):
        value = stats.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, dict):
            inner = value.get("total")
            if isinstance(inner, int):
                return inner
            if all(isinstance(v, int) for v in value.values()):
                return sum(value.values())  # type: ignore[arg-type]
    raise BenchmarkError(f"cannot find a request count in /_stats: {json.dumps(stats)[:500]}")


# ----------------------------------------------------------------------------- the corpus


def consumer_files(consumer: Path) -> list[Path]:
    """The files both tools pin: top-level workflows and every action metadata file."""
    workflows = consumer / ".github" / "workflows"
    found = [
        p for p in sorted(workflows.glob("*")) if p.suffix in (".yml", ".yaml") and p.is_file()
    ]
    found += sorted(
        p for p in consumer.rglob("action.y*ml") if p.name in ("action.yml", "action.yaml")
    )
    return sorted(set(found))


def remote_uses(text: str) -> list[str]:
    """Remote ``owner/repo[/path]@ref`` values in a file (a regex is enough to count them)."""
    values = []
    for value in USES_RE.findall(text):
        if value.startswith(("./", ".\\", "docker://", "$")) or "${{" in value:
            continue
        if "@" in value and value.count("/") >= 1:
            values.append(value)
    return values


def count_changes(original: Path, copy: Path, files: list[Path]) -> tuple[int, int]:
    """Lines changed in ``copy`` versus ``original``, and remote uses now pinned to a SHA."""
    changed = pinned = 0
    for rel in files:
        before = (original / rel).read_text(errors="replace").splitlines()
        after_text = (copy / rel).read_text(errors="replace")
        after = after_text.splitlines()
        if before != after:
            matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
            changed += sum(
                max(i2 - i1, j2 - j1)
                for tag, i1, i2, j1, j2 in matcher.get_opcodes()
                if tag != "equal"
            )
        pinned += sum(1 for v in remote_uses(after_text) if SHA_RE.match(v.rsplit("@", 1)[1]))
    return changed, pinned


# ----------------------------------------------------------------------------- the runs


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update(NO_COLOR="1", PINNER_NO_GH="1")
    env.update(extra)
    return env


def find_pinact() -> str | None:
    """pinact from this venv (PyPI ``astral-dev-toolchain-pinact``), else from PATH."""
    local = Path(sys.executable).parent / "pinact"
    if local.exists():
        return str(local)
    return shutil.which("pinact")


def pinner_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pinner", *args]


@dataclass
class Corpus:
    root: Path  # where the original consumers live
    files: list[Path]  # relative to a copy root: CONSUMER/...
    remote_uses: int
    distinct_actions: int  # distinct owner/repo[/path]@ref, case-folded
    distinct_repos: int


def load_corpus(consumers: Path) -> Corpus:
    files: list[Path] = []
    uses: list[str] = []
    for consumer in sorted(p for p in consumers.iterdir() if p.is_dir()):
        for f in consumer_files(consumer):
            files.append(f.relative_to(consumers))
            uses += remote_uses(f.read_text(errors="replace"))
    if not files:
        raise BenchmarkError(f"no workflow or action files under {consumers}")
    return Corpus(
        root=consumers,
        files=files,
        remote_uses=len(uses),
        distinct_actions=len({u.lower() for u in uses}),
        distinct_repos=len({"/".join(u.split("@")[0].split("/")[:2]).lower() for u in uses}),
    )


def calibration_seconds() -> float:
    """CPU seconds of a fixed pure-Python loop, best of three: a shared or throttled VM can run
    at half speed for minutes, and a reader of the table should know which speed it ran at."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        total = 0
        for i in range(3_000_000):
            total += i
        best = min(best, time.process_time() - start)
    return best


def _settle_disk() -> None:
    """Flush the benchmark's own file copies before a measured run: a tool's fsync would
    otherwise also write out megabytes the setup just copied, and bill them to that tool."""
    if hasattr(os, "sync"):
        os.sync()


def copy_corpus(corpus: Corpus, target: Path) -> Path:
    """A fresh copy of the corpus's files at ``target``, whatever a previous round left there:
    the lockfile a ``pinner lock`` round wrote would otherwise be the next round's input (a
    re-lock: recorded entries kept, nothing narrowed), not the first lock it measures."""
    shutil.rmtree(target, ignore_errors=True)
    for rel in corpus.files:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(corpus.root / rel, target / rel)
    return target


def run_network_benchmark(args: argparse.Namespace, work: Path, logs: Path) -> dict[str, object]:
    corpus = load_corpus(args.corpus / "consumers")
    # pinact gets the file list (it has no discovery for nested repositories); pinner gets the
    # repository roots and discovers the very same files itself (workflows + action.y{a,}ml).
    files = [str(f) for f in corpus.files]
    roots = sorted({f.parts[0] for f in corpus.files})
    pinact = None if args.skip_pinact else find_pinact()
    if pinact is None and not args.skip_pinact:
        print(
            "pinact not found (pip install astral-dev-toolchain-pinact): skipped", file=sys.stderr
        )

    def run_pinner(label: str, url: str, *cache_args: str) -> tuple[Measured, Path]:
        copy = copy_corpus(corpus, work / label)
        _settle_disk()
        command = pinner_command(
            "pin", *roots, "--server-url", url, *cache_args, "--jobs", str(args.jobs),
            "--format", "json",
            # zizmor ships a deliberately invalid action.yml among its test fixtures
            "--skip-unreadable",
            # like for like: pinact pins no container images, and the emulator is no registry
            "--no-images",
        )  # fmt: skip
        env = _clean_env(GITHUB_TOKEN="ghp_benchmark")  # a token, as real users have one
        return run_measured(
            label, command, cwd=copy, env=env, timeout=args.timeout, logs=logs
        ), copy

    def run_lock(label: str, url: str, *cache_args: str) -> tuple[Measured, Path]:
        """``pinner lock`` on every consumer (it locks one repository per run), one after the
        other in one measured process: the requests, wall and CPU of locking the corpus."""
        copy = copy_corpus(corpus, work / label)
        _settle_disk()
        each = pinner_command(
            "lock", "--server-url", url, *cache_args, "--jobs", str(args.jobs), "--format", "json"
        )
        command = [sys.executable, "-c", LOCK_LOOP, json.dumps(each), *roots]
        env = _clean_env(GITHUB_TOKEN="ghp_benchmark")
        return run_measured(
            label, command, cwd=copy, env=env, timeout=args.timeout, logs=logs
        ), copy

    def run_pinact(label: str, url: str, *extra: str) -> tuple[Measured, Path]:
        assert pinact is not None
        copy = copy_corpus(corpus, work / label)
        _settle_disk()
        env = _clean_env(GHES_API_URL=url, GHES_TOKEN="x")
        command = [pinact, "run", *extra, *files]
        return run_measured(
            label, command, cwd=copy, env=env, timeout=args.timeout, logs=logs
        ), copy

    rounds: dict[str, list[Measured]] = {}
    with Emulator(args.corpus / "forge", args.latency_ms, logs) as emulator:
        # Warm-up, not measured: the emulator reads each repository's snapshot on first use,
        # which would otherwise bill whichever tool runs first for the emulator's start-up.
        run_pinner("warmup-pinner", emulator.url, "--no-cache")
        if pinact is not None:
            run_pinact("warmup-pinact", emulator.url)

        def measure(run: Callable[..., tuple[Measured, Path]], label: str, *extra: str) -> None:
            emulator.reset()
            cpu = emulator.cpu_seconds()
            m, copy = run(label, emulator.url, *extra)
            _finish(m, emulator, corpus, copy, cpu)
            rounds.setdefault(label, []).append(m)

        # Rounds interleave the tools, so a slow spell of a shared machine hits all of them;
        # each row reports the round with the median wall time.
        for n in range(args.repeat):
            cache = str(work / f"cache-{n}")  # empty for each round's cold run
            measure(run_pinner, "pinner-cold", "--cache-dir", cache)
            measure(run_pinner, "pinner-warm", "--cache-dir", cache)
            if not args.skip_lock:
                lock_cache = str(work / f"lock-cache-{n}")
                measure(run_lock, "lock-cold", "--cache-dir", lock_cache)
                measure(run_lock, "lock-warm", "--cache-dir", lock_cache)
            if pinact is not None:
                measure(run_pinact, "pinact")
                if args.pinact_verify:
                    # like for like: pinner pin also verifies every existing SHA pin and comment
                    measure(run_pinact, "pinact-verify", "--verify-comment")
    results = [_median_round(ms) for ms in rounds.values()]
    return {"corpus": corpus, "runs": results, "rounds": rounds}


LOCK_LOOP = """
import json, subprocess, sys
command, worst = json.loads(sys.argv[1]), 0
for root in sys.argv[2:]:
    done = subprocess.run([*command, root], stdout=subprocess.DEVNULL)
    worst = max(worst, done.returncode)
sys.exit(worst)
"""
"""The driver of the lock rows: ``pinner lock`` once per consumer, the worst exit code."""


def _median_round(rounds: list[Measured]) -> Measured:
    """The round with the median wall time (the upper median for an even count), with every
    wall time of the label kept beside it."""
    ordered = sorted(rounds, key=lambda m: m.wall_s)
    chosen = ordered[len(ordered) // 2]
    chosen.wall_all = [round(m.wall_s, 2) for m in rounds]
    return chosen


def _finish(
    m: Measured, emulator: Emulator, corpus: Corpus, copy: Path, cpu_before: float | None
) -> None:
    cpu_after = emulator.cpu_seconds()
    if cpu_before is not None and cpu_after is not None:
        m.server_cpu_s = cpu_after - cpu_before
    stats = emulator.stats()
    m.requests = total_requests(stats)
    m.request_breakdown = {k: v for k, v in stats.items() if k not in ("log",)}
    m.lines_changed, m.pinned_after = count_changes(corpus.root, copy, corpus.files)
    if m.label.startswith("pinact"):
        # pinact exits non-zero when any line cannot be pinned (the corpus has refs that do not
        # exist, on purpose); it still rewrites every other line, which is what we compare.
        if m.exit_code != 0:
            print(
                f"note: pinact exited {m.exit_code} (unpinnable lines in the corpus)",
                file=sys.stderr,
            )
    elif not m.ok:
        print(f"warning: {m.label} exited {m.exit_code}:\n{m.stderr_tail}", file=sys.stderr)


def run_local_benchmark(args: argparse.Namespace, work: Path, logs: Path) -> dict[str, object]:
    snapshot = work / "synthetic-forge"
    repo = work / "synthetic-repo"
    actions = build_forge(snapshot)
    uses = build_repo(repo, actions, files=args.synthetic_files)
    original = work / "synthetic-original"
    shutil.copytree(repo, original)
    _settle_disk()
    m = run_measured(
        "pinner-local",
        pinner_command("pin", ".", "--snapshot", str(snapshot), "--no-cache", "--format", "json"),
        cwd=repo,
        env=_clean_env(),
        timeout=args.timeout,
        logs=logs,
    )
    files = sorted(p.relative_to(repo) for p in (repo / ".github" / "workflows").glob("*.yml"))
    m.lines_changed, m.pinned_after = count_changes(original, repo, files)
    if not m.ok:
        print(f"warning: pinner-local exited {m.exit_code}:\n{m.stderr_tail}", file=sys.stderr)
    return {"files": len(files), "uses": uses, "run": m}


# ----------------------------------------------------------------------------- reporting


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return "n/a"
    return f"{a / b:.3f}"


def render(network: dict[str, object] | None, local: dict[str, object] | None, args) -> str:
    out: list[str] = []
    if network is not None:
        corpus: Corpus = network["corpus"]  # type: ignore[assignment]
        runs: list[Measured] = network["runs"]  # type: ignore[assignment]
        out.append(
            f"Corpus: {len(corpus.files)} files of {len({f.parts[0] for f in corpus.files})} "
            f"repositories, {corpus.remote_uses} remote `uses:`, {corpus.distinct_actions} "
            f"distinct actions (action@ref) in {corpus.distinct_repos} repositories; emulator "
            f"latency {args.latency_ms} ms per request; pinner --jobs {args.jobs}; "
            f"{os.cpu_count()} CPUs, load average {args.load_before:.1f} before and "
            f"{os.getloadavg()[0]:.1f} after (other work on the machine inflates wall times); "
            f"calibration loop {args.calibration_before:.2f} s before and "
            f"{calibration_seconds():.2f} s after (a fixed pure-Python loop: how fast this "
            "machine was running; pinner's CPU-bound times scale with it, pinact's latency-bound "
            "ones do not)."
        )
        out.append("")
        out.append(
            "| run | wall (s) | requests | requests / distinct action | CPU (s) "
            "| emulator CPU (s) | peak RSS (MB) | lines changed | SHA-pinned uses after | exit |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for m in runs:
            per = m.requests / corpus.distinct_actions if m.requests is not None else None
            server = f"{m.server_cpu_s:.2f}" if m.server_cpu_s is not None else "n/a"
            out.append(
                f"| {m.label} | {m.wall_s:.2f} | {m.requests} | {per:.2f} | {m.cpu_s:.2f} | "
                f"{server} | {m.peak_rss_mb:.0f} | {m.lines_changed} | {m.pinned_after} | "
                f"{m.exit_code} |"
            )
        by = {m.label: m for m in runs}
        for baseline in ("pinact", "pinact-verify"):
            base = by.get(baseline)
            if base is None:
                continue
            for label in ("pinner-cold", "pinner-warm"):
                m = by[label]
                out.append(
                    f"| {label} / {baseline} | {_ratio(m.wall_s, base.wall_s)} | "
                    f"{_ratio(m.requests, base.requests)} | | | | | | | |"
                )
        out.append("")
        out.append(
            "Wall times of every round (the median is in the table): "
            + "; ".join(f"{m.label} {', '.join(f'{w:.2f}' for w in m.wall_all)}" for m in runs)
            + "."
        )
        out.append("")
        out.append("Requests by endpoint:")
        for m in runs:
            endpoints = m.request_breakdown.get("endpoints") or {}
            kinds = ", ".join(
                f"{k} {m.request_breakdown[k]}"
                for k in ("graphql", "git", "rest", "raw")
                if m.request_breakdown.get(k)
            )
            detail = ", ".join(f"`{e}` {n}" for e, n in sorted(endpoints.items()))  # type: ignore[union-attr]
            out.append(f"- {m.label}: {kinds or 'none'}" + (f" ({detail})" if detail else ""))
    if local is not None:
        m = local["run"]  # type: ignore[assignment]
        out.append("")
        out.append(
            f"Local work: `pinner pin --snapshot` on a synthetic repository of {local['files']} "
            f"workflow files ({local['uses']} remote `uses:`), no network: CPU {m.cpu_s:.2f} s, "
            f"wall {m.wall_s:.2f} s, peak RSS {m.peak_rss_mb:.0f} MB, "
            f"{m.lines_changed} lines rewritten, exit {m.exit_code}."
        )
    return "\n".join(out)


def check_targets(network, local) -> list[tuple[str, bool | None, str]]:
    """(target, held?, measured) for each target of the performance issue."""
    checks: list[tuple[str, bool | None, str]] = []
    if network is not None:
        corpus: Corpus = network["corpus"]
        by = {m.label: m for m in network["runs"]}
        cold, warm, pinact = by.get("pinner-cold"), by.get("pinner-warm"), by.get("pinact")
        if cold:
            checks.append(("pinner cold run completed", cold.ok, f"exit {cold.exit_code}"))
        if warm:
            checks.append(("pinner warm run completed", warm.ok, f"exit {warm.exit_code}"))
        if cold and pinact and pinact.pinned_after is not None:
            checks.append(
                (
                    "pinner pins at least every uses pinact pins (same work)",
                    (cold.pinned_after or 0) >= pinact.pinned_after,
                    f"{cold.pinned_after} vs {pinact.pinned_after} SHA-pinned after the run",
                )
            )
        if cold and pinact and pinact.requests:
            r = cold.requests / pinact.requests
            checks.append(("cold requests <= 0.5 x pinact", r <= 0.5, f"{r:.3f} x"))
            w = cold.wall_s / pinact.wall_s
            checks.append(("cold wall time <= 0.25 x pinact", w <= 0.25, f"{w:.3f} x"))
        for label in ("lock-cold", "lock-warm"):
            if label in by:
                m = by[label]
                checks.append((f"pinner {label} run completed", m.ok, f"exit {m.exit_code}"))
        lock_warm = by.get("lock-warm")
        if lock_warm:
            checks.append(
                (
                    "lock warm: no request (every answer cached and fresh)",
                    lock_warm.requests == 0,
                    f"{lock_warm.requests} requests",
                )
            )
        if warm:
            checks.append(
                (
                    "warm: at most one revalidation per repository",
                    warm.requests is not None and warm.requests <= corpus.distinct_repos,
                    f"{warm.requests} requests for {corpus.distinct_repos} repositories",
                )
            )
        if cold:
            checks.append(
                (
                    "peak memory < 150 MB (whole corpus)",
                    cold.peak_rss_mb < 150,
                    f"{cold.peak_rss_mb:.0f} MB",
                )
            )
    if local is not None:
        m = local["run"]
        checks.append(
            (
                f"local work on {local['files']} files < 3 s CPU",
                m.cpu_s < 3.0 and m.ok,
                f"{m.cpu_s:.2f} s",
            )
        )
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=REPO_ROOT / ".." / "shared" / "corpus",
        help="corpus directory (consumers/ and forge/); default ../shared/corpus",
    )
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument(
        "--repeat", type=int, default=5, help="rounds of the network runs (median reported)"
    )
    parser.add_argument("--synthetic-files", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=1800, help="per run, seconds")
    parser.add_argument("--skip-pinact", action="store_true")
    parser.add_argument("--skip-lock", action="store_true", help="skip the `pinner lock` rows")
    parser.add_argument(
        "--no-pinact-verify",
        dest="pinact_verify",
        action="store_false",
        help="skip the extra `pinact run --verify-comment` row",
    )
    parser.add_argument("--skip-network", action="store_true", help="only the local benchmark")
    parser.add_argument("--skip-local", action="store_true", help="only the network benchmark")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    args.corpus = args.corpus.resolve()
    args.load_before = os.getloadavg()[0]
    args.calibration_before = calibration_seconds()
    if not args.skip_network and not (args.corpus / "consumers").is_dir():
        print(f"benchmark: corpus not found at {args.corpus}", file=sys.stderr)
        return 2

    # Measure pinner as installed: pip compiles a wheel's modules at install time, and any
    # machine writes the bytecode on the first run. Without this, an editable install under
    # PYTHONDONTWRITEBYTECODE (set on some CI images) would recompile pinner in every run.
    compileall.compile_dir(REPO_ROOT / "pinner", quiet=1)
    work = Path(tempfile.mkdtemp(prefix="pinner-bench-"))
    logs = work / "logs"
    logs.mkdir()
    try:
        network = None if args.skip_network else run_network_benchmark(args, work, logs)
        local = None if args.skip_local else run_local_benchmark(args, work, logs)
    except BenchmarkError as exc:
        print(f"benchmark: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work directory kept: {work}", file=sys.stderr)

    print(render(network, local, args))
    print()
    checks = check_targets(network, local)
    for name, held, measured in checks:
        mark = "held" if held else "MISSED"
        print(f"- {name}: {mark} ({measured})")
    print(f"\nReproduce: {' '.join(['python', 'benchmarks/run.py', *(argv or sys.argv[1:])])}")
    if args.json:
        payload = {
            "latency_ms": args.latency_ms,
            "jobs": args.jobs,
            "network": None
            if network is None
            else {
                "corpus": {k: v for k, v in asdict(network["corpus"]).items() if k != "files"}
                | {"files": len(network["corpus"].files), "root": str(network["corpus"].root)},
                "runs": [asdict(m) for m in network["runs"]],
            },
            "local": None if local is None else local | {"run": asdict(local["run"])},
            "targets": [{"target": n, "held": h, "measured": v} for n, h, v in checks],
            "rusage_self_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return 0 if all(h for _n, h, _v in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
