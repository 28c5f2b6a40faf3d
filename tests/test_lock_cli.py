"""End to end: the real ``pinner lock`` against the emulator, on hand-written repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TOKEN = "pinner-test-token"
_LOCKCHECK = REPO_ROOT.parent / "shared" / "actions-lockfile" / "lockcheck"


def clean_env() -> dict[str, str]:
    """No token or forge from the developer's environment, no ``gh``: runs are hermetic."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_SERVER_URL", "GITHUB_API_URL")
    }
    env["PINNER_NO_GH"] = "1"
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def run_lock(emu, *args: str, cwd: Path, token: bool = True) -> subprocess.CompletedProcess[str]:
    """``pinner lock ARGS`` in ``cwd`` against the emulator ``emu`` (no cache).

    Whatever lockfile the run leaves must be one GitHub's parser accepts: checked here, after
    every run of every test (when ``lockcheck`` is there).
    """
    forge = ["--server-url", emu.url, "--no-cache", *(["--token", TOKEN] if token else [])]
    done = subprocess.run(
        [sys.executable, "-m", "pinner", "lock", *forge, *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=cwd,
        timeout=180,
    )
    written = cwd / ".github/workflows/actions.lock"
    if written.is_file() and done.returncode != 2 and _LOCKCHECK.exists():
        from tests.lockvectors import lockcheck

        lockcheck(written)
    return done


def files_of(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ----------------------------------------------------------------------------- a small world

import json  # noqa: E402
import shutil  # noqa: E402

import jsonschema  # noqa: E402
import pytest  # noqa: E402

from pinner.core.lockfile import parse_lockfile  # noqa: E402
from pinner.formats.lockfile import LockEntry, Lockfile, render  # noqa: E402
from tests.lockvectors import LOCKCHECK, lockcheck, write_repo_facts  # noqa: E402

LOCK = ".github/workflows/actions.lock"
C1, C2, C3, C4 = ("1" * 40, "2" * 40, "3" * 40, "4" * 40)
NODE = "name: n\nruns:\n  using: node20\n  main: index.js\n"


def composite(*uses: str) -> str:
    steps = "".join(f"    - uses: {u}\n" for u in uses)
    return f"name: c\nruns:\n  using: composite\n  steps:\n{steps}"


def workflow(*uses: str) -> str:
    steps = "".join(f"      - uses: {u}\n" for u in uses)
    return f"on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n{steps}"


def world(**overrides: dict) -> dict:
    """``acme/tool``: v1 and v1.2.0 on C2 (C1 -> C2 -> C3 on main, C4 on a side branch);
    ``acme/wrap``: a composite at v2.0.0 using ``acme/tool@v1.2.0``."""
    repos = {
        "acme/tool": {
            "owner_id": 10,
            "repo_id": 20,
            "resolve": {"v1": C2, "v1.2.0": C2, "v1.1.0": C1, "main": C3},
            "parents": {C2: [C1], C3: [C2], C4: [C1]},
            "tags": [
                {"name": "v1", "sha": C2},
                {"name": "v1.2.0", "sha": C2},
                {"name": "v1.1.0", "sha": C1},
            ],
            "branches": [{"name": "main", "sha": C3}, {"name": "side", "sha": C4}],
            "action_yml": NODE,
        },
        "acme/wrap": {
            "owner_id": 10,
            "repo_id": 30,
            "resolve": {"v2.0.0": "a" * 40},
            "tags": [{"name": "v2.0.0", "sha": "a" * 40}],
            "action_yml": composite("acme/tool@v1.2.0"),
        },
    }
    for name, change in overrides.items():
        repos[name.replace("__", "/")] = {**repos.get(name.replace("__", "/"), {}), **change}
    return repos


def make(tmp: Path, repos: dict, files: dict[str, str], name: str = "forge") -> tuple[Path, Path]:
    forge = tmp / name
    forge.mkdir()
    for slug, facts in repos.items():
        write_repo_facts(forge, slug, facts)
    repo = tmp / "repo"
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    return forge, repo


def findings(result: subprocess.CompletedProcess[str]) -> list[dict]:
    return json.loads(result.stdout)["findings"]


def categories(result: subprocess.CompletedProcess[str]) -> set[str]:
    return {f["category"] for f in findings(result) if not f["fixed"]}


def lockfile_of(repo: Path) -> Lockfile:
    return parse_lockfile((repo / LOCK).read_bytes())


needs_lockcheck = pytest.mark.skipif(not LOCKCHECK.exists(), reason="lockcheck absent")


# ----------------------------------------------------------------------------- modes


@needs_lockcheck
def test_check_diff_and_write_agree(emulator, tmp_path: Path) -> None:
    """``--check`` exits 1 and writes nothing; ``--diff`` prints a patch that ``git apply``
    turns into exactly what a write run writes; then ``--check`` passes."""
    forge, repo = make(tmp_path, world(), {".github/workflows/ci.yml": workflow("acme/tool@v1")})
    emu = emulator(forge)
    before = files_of(repo)
    check = run_lock(emu, "--check", "--format", "json", cwd=repo)
    assert check.returncode == 1
    assert "not-pinned" in categories(check)
    assert files_of(repo) == before
    diff = run_lock(emu, "--diff", cwd=repo)
    assert diff.returncode == 0, diff.stderr
    assert diff.stdout.startswith("--- /dev/null\n+++ b/.github/workflows/actions.lock\n")
    assert "-      - uses: acme/tool@v1\n+      - uses: acme/tool@v1.2.0\n" in diff.stdout
    assert files_of(repo) == before
    applied = tmp_path / "applied"
    shutil.copytree(repo, applied)
    subprocess.run(["git", "init", "-q"], cwd=applied, check=True)
    subprocess.run(["git", "apply"], cwd=applied, input=diff.stdout, text=True, check=True)
    write = run_lock(emu, cwd=repo)
    assert write.returncode == 0, write.stderr
    assert {k: v for k, v in files_of(applied).items() if not k.startswith(".git/")} == files_of(
        repo
    )
    lockcheck(repo / LOCK)
    assert run_lock(emu, "--check", cwd=repo).returncode == 0


@needs_lockcheck
def test_json_matches_the_shipped_schema(emulator, tmp_path: Path) -> None:
    from pinner.formats import schemas

    schema = schemas.load_schema(schemas.LOCK)
    from pinner.core.lock import FINDINGS

    assert set(schema["$defs"]["finding"]["properties"]["category"]["enum"]) == set(FINDINGS)
    documented = (REPO_ROOT / "docs" / "lock.md").read_text(encoding="utf-8")
    for category, (severity, blocking, _) in FINDINGS.items():  # the docs' table is the code's
        row = next(line for line in documented.splitlines() if line.startswith(f"| `{category}`"))
        assert f"| {severity}" in row and ("| yes" in row) == blocking, row
    files = {
        ".github/workflows/ci.yml": workflow("acme/wrap@v2.0.0", "acme/tool@v1"),
        ".github/workflows/docs.yml": workflow("./local-thing"),
        "local-thing/action.yml": composite("acme/tool@v1.1.0"),
    }
    forge, repo = make(tmp_path, world(), files)
    emu = emulator(forge)
    documents = [
        run_lock(emu, "--format", "json", *mode, cwd=repo) for mode in (["--check"], [], [])
    ]
    for result in documents:
        document = json.loads(result.stdout)
        assert document["schema"] == schemas.LOCK
        jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    check, write, again = (json.loads(r.stdout) for r in documents)
    assert check["mode"] == "check" and not check["written"] and check["lockfile"]["changed"]
    assert write["written"] and write["summary"]["added"] == 3
    deps = {d["key"]: d for d in write["dependencies"]}
    assert deps["acme/tool@v1.2.0"]["direct"] and deps["acme/tool@v1.2.0"]["required_by"] == [
        ".github/workflows/ci.yml",
        "acme/wrap@v2.0.0",
    ]
    assert deps["acme/tool@v1.1.0"]["required_by"] == [".github/workflows/docs.yml"]
    assert {e["reason"] for e in write["change"]["edits"]} == {"narrowed", "migrated"}
    assert not again["written"] and not again["lockfile"]["changed"]
    assert all(f["fixed"] for f in write["findings"] if f["category"] == "not-pinned")


# ----------------------------------------------------------------------------- verification


def _locked(emulator, tmp_path: Path, files: dict[str, str]):  # type: ignore[no-untyped-def]
    forge, repo = make(tmp_path, world(), files)
    result = run_lock(emulator(forge), cwd=repo)
    assert result.returncode == 0, result.stderr
    return repo


@needs_lockcheck
def test_recreated_repository_is_an_identity_change(emulator, tmp_path: Path) -> None:
    repo = _locked(emulator, tmp_path, {".github/workflows/ci.yml": workflow("acme/tool@v1.2.0")})
    before = files_of(repo)
    # the repository was deleted and someone else created one under the same name
    forge, _ = make(tmp_path, world(acme__tool={"repo_id": 99, "owner_id": 11}), {}, "forge2")
    emu = emulator(forge)
    check = run_lock(emu, "--check", "--format", "json", cwd=repo)
    assert check.returncode == 1
    (hit,) = [f for f in findings(check) if f["category"] == "repo-identity-changed"]
    assert hit["severity"] == "error" and hit["blocking"]
    assert "owner_id 10 -> 11" in hit["detail"] and "repo_id 20 -> 99" in hit["detail"]
    # a write keeps the locked entry as it was and locks no new ref of that repository
    (repo / ".github/workflows/ci.yml").write_text(workflow("acme/tool@v1.2.0", "acme/tool@v1.1.0"))
    write = run_lock(emu, "--format", "json", cwd=repo)
    assert write.returncode == 1
    assert "acme/tool@v1.1.0" not in lockfile_of(repo).dependencies
    assert (repo / LOCK).read_bytes() == before[LOCK]


def test_renamed_repository_is_reported(emulator, tmp_path: Path) -> None:
    repo = _locked(emulator, tmp_path, {".github/workflows/ci.yml": workflow("acme/tool@v1.2.0")})
    forge, _ = make(tmp_path, world(acme__tool={"full_name": "acme-labs/tool"}), {}, "forge2")
    for token in (True, False):  # GraphQL follows the rename; so does REST, through its 301
        check = run_lock(emulator(forge), "--check", "--format", "json", cwd=repo, token=token)
        assert check.returncode == 1, check.stderr
        (hit,) = [f for f in findings(check) if f["category"] == "repo-renamed"]
        assert "acme-labs/tool" in hit["detail"]


def test_ref_moved_forward_is_a_warning_and_relock_takes_it(emulator, tmp_path: Path) -> None:
    repo = _locked(emulator, tmp_path, {".github/workflows/ci.yml": workflow("acme/tool@main")})
    assert lockfile_of(repo).dependencies["acme/tool@main"].sha == C3  # type: ignore[union-attr]
    moved = world(acme__tool={"parents": {C2: [C1], C3: [C2], "5" * 40: [C3], C4: [C1]}})
    moved["acme/tool"]["branches"] = [{"name": "main", "sha": "5" * 40}]
    moved["acme/tool"]["resolve"] = {"main": "5" * 40}
    forge, _ = make(tmp_path, moved, {}, "forge2")
    emu = emulator(forge)
    check = run_lock(emu, "--check", "--format", "json", cwd=repo)
    assert check.returncode == 0  # the lockfile still pins a commit of main's history: fine
    (hit,) = [f for f in findings(check) if f["category"] == "ref-moved"]
    assert not hit["blocking"] and "--relock" in hit["remediation"]
    relock = run_lock(emu, "--relock", "--format", "json", cwd=repo)
    assert relock.returncode == 0, relock.stderr
    assert json.loads(relock.stdout)["dependencies"][0]["status"] == "relocked"
    assert lockfile_of(repo).dependencies["acme/tool@main"].sha == "5" * 40  # type: ignore[union-attr]


def test_ref_force_moved_is_an_unreachable_pin(emulator, tmp_path: Path) -> None:
    repo = _locked(emulator, tmp_path, {".github/workflows/ci.yml": workflow("acme/tool@main")})
    moved = world()
    moved["acme/tool"]["branches"] = [{"name": "main", "sha": C4}, {"name": "side", "sha": C4}]
    moved["acme/tool"]["resolve"] = {"main": C4}
    forge, _ = make(tmp_path, moved, {}, "forge2")
    emu = emulator(forge)
    check = run_lock(emu, "--check", "--format", "json", cwd=repo)
    assert check.returncode == 1
    assert "unreachable-pin" in categories(check)
    assert run_lock(emu, "--relock", cwd=repo).returncode == 1  # --relock does not take it
    assert lockfile_of(repo).dependencies["acme/tool@main"].sha == C3  # type: ignore[union-attr]
    accepted = run_lock(emu, "--accept-moved", "--format", "json", cwd=repo)
    assert accepted.returncode == 0
    assert lockfile_of(repo).dependencies["acme/tool@main"].sha == C4  # type: ignore[union-attr]
    assert [f["fixed"] for f in findings(accepted) if f["category"] == "unreachable-pin"] == [True]


def test_composite_step_missing_from_the_lockfile(emulator, tmp_path: Path) -> None:
    repo = _locked(emulator, tmp_path, {".github/workflows/ci.yml": workflow("acme/wrap@v2.0.0")})
    lockfile = lockfile_of(repo)
    wrap = lockfile.dependencies["acme/wrap@v2.0.0"]
    assert wrap is not None and wrap.uses == ("acme/tool@v1.2.0",)
    deps = {"acme/wrap@v2.0.0": LockEntry(wrap.ref, wrap.commit, wrap.owner_id, wrap.repo_id)}
    (repo / LOCK).write_bytes(render(Lockfile(lockfile.workflows, deps)))
    emu = emulator(tmp_path / "forge")
    check = run_lock(emu, "--check", "--format", "json", cwd=repo)
    assert check.returncode == 1
    (hit,) = [f for f in findings(check) if f["category"] == "not-pinned"]
    assert (hit["dependency"], hit["required_by"]) == ("acme/tool@v1.2.0", "acme/wrap@v2.0.0")
    assert run_lock(emu, cwd=repo).returncode == 0
    assert lockfile_of(repo) == lockfile
    # the composite still lists its step in `uses`, but the step's entry is gone
    deps = {k: v for k, v in lockfile.dependencies.items() if k != "acme/tool@v1.2.0"}
    (repo / LOCK).write_bytes(render(Lockfile(lockfile.workflows, deps)))
    dangling = run_lock(emu, "--check", "--format", "json", cwd=repo)
    assert dangling.returncode == 1
    assert [(f["category"], f["dependency"]) for f in findings(dangling)] == [
        ("not-pinned", "acme/tool@v1.2.0")
    ]


# ----------------------------------------------------------------------------- input


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 'v0.0.2'\nworkflows: [\n", "malformed YAML"),
        ("version: 'v0.0.9'\n", "newer than pinner supports"),
        ("version: '0.0.2'\n", "unsupported dependency lockfile version"),
        (
            "version: 'v0.0.2'\ndependencies:\n  'a/b@v1':\n    ref: 'v1.0.0'\n"
            f"    commit: 'sha1-{C1}'\n    owner_id: 1\n    repo_id: 2\n",
            "does not match pin key ref",
        ),
    ],
)
def test_a_lockfile_github_refuses_is_an_input_error(
    text: str, message: str, emulator, tmp_path: Path
) -> None:
    forge, repo = make(tmp_path, world(), {".github/workflows/ci.yml": workflow("acme/tool@v1")})
    (repo / LOCK).write_text(text)
    result = run_lock(emulator(forge), cwd=repo)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert result.stderr.startswith(f"pinner: error: {LOCK}:")


def test_explicit_path_relocks_only_that_workflow(emulator, tmp_path: Path) -> None:
    files = {
        ".github/workflows/a.yml": workflow("acme/tool@v1.2.0"),
        ".github/workflows/b.yml": workflow("acme/wrap@v2.0.0"),
    }
    repo = _locked(emulator, tmp_path, files)
    emu = emulator(tmp_path / "forge")
    (repo / ".github/workflows/b.yml").unlink()
    (repo / ".github/workflows/a.yml").write_text(workflow("acme/tool@v1.1.0"))
    only_a = run_lock(emu, ".github/workflows/a.yml", cwd=repo)
    assert only_a.returncode == 0, only_a.stderr
    lockfile = lockfile_of(repo)
    assert lockfile.workflows[".github/workflows/a.yml"] == ("acme/tool@v1.1.0",)
    assert ".github/workflows/b.yml" in lockfile.workflows  # not pruned: not a full scan
    full = run_lock(emu, "--format", "json", cwd=repo)
    assert "stale-workflow" in {f["category"] for f in findings(full)}
    assert ".github/workflows/b.yml" not in lockfile_of(repo).workflows
    (repo / ".github/workflows/a.yml").unlink()
    (repo / ".github/workflows/c.yml").write_text(workflow("./nothing-here"))
    gone = run_lock(emu, cwd=repo)
    assert not (repo / LOCK).exists(), gone.stderr  # nothing left to lock: removed
    assert "removed" in gone.stderr
    outside = run_lock(emu, "README.md", cwd=repo)
    assert outside.returncode == 2


def test_remote_failure_writes_nothing(
    emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    from typer.testing import CliRunner

    from pinner.cli import app
    from pinner.commands import common
    from pinner.settings import Settings

    # keep the retry phase short: the point is the exit code once retries are exhausted
    monkeypatch.setattr(common, "Settings", functools.partial(Settings, max_retry_time=0.5))
    forge, repo = make(tmp_path, world(), {".github/workflows/ci.yml": workflow("acme/tool@v1")})
    before = files_of(repo)
    emu = emulator(forge, fail_rate=1.0, faults=("502",))
    args = ["lock", "--server-url", emu.url, "--token", TOKEN, "--no-cache", str(repo)]
    result = CliRunner().invoke(app, args, env=clean_env(), catch_exceptions=False)
    assert result.exit_code == 3, result.output
    assert "remote error" in result.output and "Traceback" not in result.output
    assert files_of(repo) == before


def test_local_and_self_repository_references(emulator, tmp_path: Path) -> None:
    files = {
        ".github/workflows/local.yml": workflow("./helper # keep"),
        ".github/workflows/bad.yml": workflow("$/helper@v1", "acme/tool@v1"),
        ".github/workflows/reuse.yml": "on: push\njobs:\n  call:\n"
        "    uses: acme/wrap/.github/workflows/r.yml@v2.0.0\n",
        "helper/action.yml": composite("acme/tool@v1.2.0"),
    }
    forge, repo = make(tmp_path, world(), files)
    emu = emulator(forge)
    kept = run_lock(emu, "--no-migrate-local-actions", "--format", "json", cwd=repo)
    assert kept.returncode == 1  # $/helper@v1 is an error
    assert {"local-action", "invalid-self-repository-ref", "reusable-workflow-not-locked"} <= (
        categories(kept)
    )
    lockfile = lockfile_of(repo) if (repo / LOCK).exists() else Lockfile()
    assert lockfile.workflows == {}  # none of them can be locked
    assert (repo / ".github/workflows/bad.yml").read_text() == files[".github/workflows/bad.yml"]
    migrated = run_lock(emu, cwd=repo)
    assert migrated.returncode == 1
    assert (repo / ".github/workflows/local.yml").read_text() == workflow("$/helper # keep")
    assert lockfile_of(repo).workflows == {".github/workflows/local.yml": ("acme/tool@v1.2.0",)}


def test_sticky_precision_and_no_narrow(emulator, tmp_path: Path) -> None:
    files = {".github/workflows/a.yml": workflow("acme/tool@v1")}
    forge, repo = make(tmp_path, world(), files)
    emu = emulator(forge)
    assert run_lock(emu, "--no-narrow", cwd=repo).returncode == 0
    assert lockfile_of(repo).workflows[".github/workflows/a.yml"] == ("acme/tool@v1",)
    # a new workflow using another partial ref of a repository already locked imprecisely
    # is not narrowed either (the extension's "sticky precision")
    (repo / ".github/workflows/b.yml").write_text(workflow("acme/tool@v1", "acme/wrap@v2.0.0"))
    assert run_lock(emu, cwd=repo).returncode == 0
    assert lockfile_of(repo).workflows[".github/workflows/b.yml"] == (
        "acme/tool@v1",
        "acme/wrap@v2.0.0",
    )
    assert (repo / ".github/workflows/b.yml").read_text().count("acme/tool@v1\n") == 1


@needs_lockcheck
def test_a_uses_cycle_is_left_out_and_reported(emulator, tmp_path: Path) -> None:
    repos = {
        "acme/a": {
            "owner_id": 1,
            "repo_id": 2,
            "resolve": {"v1.0.0": "a" * 40},
            "tags": [{"name": "v1.0.0", "sha": "a" * 40}],
            "action_yml": composite("acme/b@v1.0.0"),
        },
        "acme/b": {
            "owner_id": 1,
            "repo_id": 3,
            "resolve": {"v1.0.0": "b" * 40},
            "tags": [{"name": "v1.0.0", "sha": "b" * 40}],
            "action_yml": composite("acme/a@v1.0.0"),
        },
    }
    forge, repo = make(tmp_path, repos, {".github/workflows/ci.yml": workflow("acme/a@v1.0.0")})
    result = run_lock(emulator(forge), "--format", "json", cwd=repo)
    assert result.returncode == 1
    assert "uses-cycle" in categories(result)
    lockcheck(repo / LOCK)  # GitHub's parser refuses cycles: none is written
    assert lockfile_of(repo).dependencies["acme/b@v1.0.0"].uses == ()  # type: ignore[union-attr]


def test_hostile_text_in_a_lockfile_is_never_printed_raw(emulator, tmp_path: Path) -> None:
    """Keys and refs come from a file anyone can edit in a pull request: escapes must not reach
    the terminal (or a CI log, where a line could start a workflow command)."""
    forge, repo = make(
        tmp_path, world(), {".github/workflows/ci.yml": workflow("acme/tool@v1.2.0")}
    )
    evil = "x\x1b]0;owned\x07\x1b[31m"
    deps = {f"acme/tool@{evil}": LockEntry(evil, f"sha1-{C2}", 10, 20)}
    workflows = {".github/workflows/ci.yml": (f"acme/tool@{evil}",)}
    (repo / LOCK).write_bytes(render(Lockfile(workflows, deps)))
    result = run_lock(emulator(forge), "--check", cwd=repo)
    assert result.returncode == 1
    assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stderr
    assert "stale" in result.stderr  # the entry is still reported, escaped
