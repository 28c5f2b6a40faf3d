"""End to end: the real ``pinner pin`` against the emulator and against ``--snapshot``.

Checked against data written independently of pinner: each fixture consumer's ``expected.json``
and, for the real-world corpus, ``../shared/corpus/consumer_uses.jsonl`` (resolved by plain git).
Every run also proves: nothing outside ``uses:`` lines changes (byte for byte, CRLF and BOM
included), a second run changes nothing, remote failures write nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinner.cli import app
from pinner.core.versions import parse_version
from pinner.forge import graphql
from pinner.sources import parse_version_comment
from tests.test_forge_graphql_emulator import ref_counts

REPO_ROOT = Path(__file__).resolve().parents[1]
CONSUMERS = ("demo", "layouts", "findings")
USES_LINE_RE = re.compile(r"uses:\s*(?P<q>['\"]?)(?P<value>[^'\"\s,}]+)(?P=q)")


def clean_env() -> dict[str, str]:
    """No token from the developer's environment, no ``gh``: runs are hermetic."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    env.pop("GITHUB_SERVER_URL", None)
    env.pop("GITHUB_API_URL", None)
    env["PINNER_NO_GH"] = "1"
    return env


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pinner", "pin", *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=cwd,
        timeout=120,
    )


def invoke(*args: str):
    """In-process run (fast); the result has exit_code, stdout, stderr."""
    runner = CliRunner()
    return runner.invoke(app, ["pin", *args], env=clean_env(), catch_exceptions=False)


def copy_consumer(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("expected.json", "README.md"))
    return dst


def snapshot_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in (".yml", ".yaml")
    }


def lines_of(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def assert_only_lines_changed(before: dict[str, bytes], after: dict[str, bytes], allowed) -> None:
    """Every byte outside the allowed (file, line) pairs is unchanged; CRLF and BOM kept."""
    assert before.keys() == after.keys()
    for rel, old in before.items():
        new = after[rel]
        assert old.startswith(b"\xef\xbb\xbf") == new.startswith(b"\xef\xbb\xbf"), rel
        old_lines, new_lines = lines_of(old), lines_of(new)
        assert len(old_lines) == len(new_lines), rel
        for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=True), start=1):
            if a != b:
                assert (rel, number) in allowed, f"{rel}:{number} changed: {a!r} -> {b!r}"
                assert a.endswith(b"\r") == b.endswith(b"\r"), f"{rel}:{number}: line ending"


def line_text(root: Path, rel: str, line: int) -> str:
    text = (root / rel).read_bytes().decode("utf-8-sig")
    return text.split("\n")[line - 1].rstrip("\r")


def comment_of(line: str, value: str) -> str | None:
    """The trailing comment after the line's last occurrence of ``value``, if any."""
    tail = line[line.rfind(value) + len(value) :]
    hash_at = tail.find(" #")
    return tail[hash_at + 2 :].strip() if hash_at != -1 else None


def same_claim(found: str | None, expected: str) -> bool:
    """A comment states the expected version (any dialect; ``1.0.0`` equals ``v1.0.0``)."""
    if found is None:
        return False
    claimed = parse_version_comment(found)
    if claimed == expected:
        return True
    a, b = parse_version(claimed or "", path="x/y"), parse_version(expected, path="x/y")
    return a is not None and a == b and claimed.rpartition("/")[0] == expected.rpartition("/")[0]


def json_run(result) -> dict:
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


# ----------------------------------------------------------------------------- fixtures


def check_against_expected(root: Path, expected: dict, document: dict) -> None:
    forge_dir = REPO_ROOT / expected["forge"]
    records = document["records"]
    problems = {(r["file"], r["line"]) for r in records if r["type"] == "problem"}
    warnings = {(r["file"], r["line"]) for r in records if r["type"] == "warning"}
    for site in expected["sites"]:
        rel, line, expect = site["file"], site["line"], site["expect"]
        text = line_text(root, rel, line)
        where = f"{rel}:{line} ({site['uses']}, {expect})"
        assert site["after"] in text, f"{where}: {text!r}"
        comment = comment_of(text, site["after"])
        if expect in ("pin", "repin", "fix-comment"):
            assert same_claim(comment, site["comment"]), f"{where}: comment {comment!r}"
        elif expect == "keep" and site["comment"] is not None:
            # any dialect, any ref that peels to the same commit (``# pin@v3`` for v3.1.0)
            claimed = parse_version_comment(comment) if comment else None
            repo = "/".join(site["uses"].split("@")[0].split("/")[:2])
            refs = _tag_commits(forge_dir, repo)
            assert same_claim(comment, site["comment"]) or (
                refs.get(f"refs/tags/{claimed}") == site["sha"]
            ), f"{where}: comment {comment!r}"
        elif expect in ("impostor", "not-found"):
            assert (rel, line) in problems, f"{where}: not reported"
        if "mutable-branch" in site["findings"] or "ref-confusion" in site["findings"]:
            assert (rel, line) in warnings, f"{where}: no warning"
        if "expression" in site["findings"]:
            assert (rel, line) in warnings, f"{where}: expression not reported"


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_fixture_consumer_against_emulator(consumer, emulator, fixtures_dir, tmp_path) -> None:
    src = fixtures_dir / "consumers" / consumer
    expected = json.loads((src / "expected.json").read_text())
    root = copy_consumer(src, tmp_path / consumer)
    before = snapshot_bytes(root)
    emu = emulator(fixtures_dir / "forge")

    # the consumers name public images (docker.io, ghcr.io): no registry in tests
    images = ("--no-images",)
    result = run_cli("--server-url", emu.url, "--no-cache", *images, "--format", "json", str(root))
    document = json_run(result)
    has_problems = any(s["expect"] in ("impostor", "not-found") for s in expected["sites"])
    assert result.returncode == (1 if has_problems else 0), result.stderr
    assert result.stderr == ""  # json mode: everything is in the document
    check_against_expected(root, expected, document)
    allowed = {(s["file"], s["line"]) for s in expected["sites"]}
    assert_only_lines_changed(before, snapshot_bytes(root), allowed)

    # one ref listing per repository, whatever the number of uses
    git_posts = Counter(r["path"] for r in emu.requests if r["kind"] == "git")
    assert git_posts and max(git_posts.values()) == 1, git_posts

    # a second run changes nothing
    after_first = snapshot_bytes(root)
    again = invoke("--server-url", emu.url, "--no-cache", *images, "--format", "json", str(root))
    assert json_run(again)["summary"]["changes"] == 0
    assert snapshot_bytes(root) == after_first


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_fixture_consumer_from_snapshot(consumer, fixtures_dir, tmp_path) -> None:
    src = fixtures_dir / "consumers" / consumer
    expected = json.loads((src / "expected.json").read_text())
    root = copy_consumer(src, tmp_path / consumer)
    before = snapshot_bytes(root)
    result = invoke("--snapshot", str(fixtures_dir / "forge"), "--format", "json", str(root))
    check_against_expected(root, expected, json_run(result))
    assert_only_lines_changed(
        before, snapshot_bytes(root), {(s["file"], s["line"]) for s in expected["sites"]}
    )
    second = invoke("--snapshot", str(fixtures_dir / "forge"), "--check", str(root))
    has_problems = any(s["expect"] in ("impostor", "not-found") for s in expected["sites"])
    assert second.exit_code == (1 if has_problems else 0), second.stderr
    assert "nothing would change" in second.stderr


def test_check_and_diff_write_nothing(fixtures_dir, tmp_path) -> None:
    root = copy_consumer(fixtures_dir / "consumers" / "demo", tmp_path / "demo")
    before = snapshot_bytes(root)
    forge = str(fixtures_dir / "forge")

    check = invoke("--snapshot", forge, "--check", str(root))
    assert check.exit_code == 1
    assert ".github/workflows/ci.yml:18: pinner-fixtures/checkout-lite@v1 -> " in check.stdout
    assert "would change" in check.stderr

    diff = invoke("--snapshot", forge, "--diff", str(root))
    assert diff.exit_code == 0
    assert "--- a/.github/workflows/ci.yml\n+++ b/.github/workflows/ci.yml\n" in diff.stdout
    assert (
        "+      - uses: pinner-fixtures/checkout-lite@67225fc235da7df7104e91219c0d4f5a70438459"
        " # v1.2.3\n" in diff.stdout
    )
    assert snapshot_bytes(root) == before

    # the diff is the change: applying it gives exactly what a real run writes
    patched = tmp_path / "patched"
    shutil.copytree(root, patched)
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed: cannot apply the diff")
    subprocess.run(
        [git, "apply", "-p1", "-"], input=diff.stdout, text=True, cwd=patched, check=True
    )
    written = invoke("--snapshot", forge, str(root))
    assert written.exit_code == 0
    assert snapshot_bytes(patched) == snapshot_bytes(root)


def test_text_output_problems_on_stderr_with_file_and_line(fixtures_dir, tmp_path) -> None:
    root = copy_consumer(fixtures_dir / "consumers" / "findings", tmp_path / "findings")
    result = invoke("--snapshot", str(fixtures_dir / "forge"), str(root))
    assert result.exit_code == 1
    err = result.stderr.splitlines()
    assert ".github/workflows/audit-me.yml:12: problem: " in "\n".join(err)
    assert any(
        line.startswith(".github/workflows/audit-me.yml:38: problem: ") and "no-such-action" in line
        for line in err
    )
    assert any(line.startswith(".github/workflows/audit-me.yml:30: warning: ") for line in err)
    assert err[-1].startswith("pinner: 12 use(s) in 1 file(s) changed; 5 problem(s)")
    assert all(line.count(": ") >= 1 for line in result.stdout.splitlines())


def test_remote_failure_writes_nothing_unless_partial(emulator, fixtures_dir, tmp_path) -> None:
    # every REST call is rate limited (reset an hour away): SHA pins cannot be checked
    emu = emulator(fixtures_dir / "forge", rate_limit=0, anon_rate_limit=0)
    root = copy_consumer(fixtures_dir / "consumers" / "findings", tmp_path / "findings")
    before = snapshot_bytes(root)

    result = run_cli("--server-url", emu.url, "--no-cache", str(root))
    assert result.returncode == 3, result.stderr
    assert "remote error: " in result.stderr and "rate limit" in result.stderr
    assert "no file was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot_bytes(root) == before

    partial = run_cli("--server-url", emu.url, "--no-cache", "--partial", str(root))
    assert partial.returncode == 3
    after = snapshot_bytes(root)
    assert after != before
    text = after[".github/workflows/audit-me.yml"].decode()
    assert "pinner-fixtures/lint-action@0dd86a0166f217164d6fda0bbaa72a38af328094 # v2.0.0" in text


def test_include_exclude(fixtures_dir, tmp_path) -> None:
    root = copy_consumer(fixtures_dir / "consumers" / "demo", tmp_path / "demo")
    forge = str(fixtures_dir / "forge")
    only = invoke("--snapshot", forge, "--format", "json", "--include", "/toolkit/", str(root))
    changes = [r for r in json_run(only)["records"] if r["type"] == "change"]
    assert {c["old"].split("@")[0] for c in changes} == {
        "pinner-fixtures/toolkit/setup",
        "pinner-fixtures/toolkit/cache",
    }
    rest = invoke("--snapshot", forge, "--format", "json", "--exclude", "checkout", str(root))
    changes = [r for r in json_run(rest)["records"] if r["type"] == "change"]
    assert changes and not any("checkout-lite" in c["old"] for c in changes)


def test_json_records_shape(fixtures_dir, tmp_path) -> None:
    root = copy_consumer(fixtures_dir / "consumers" / "findings", tmp_path / "findings")
    result = invoke("--snapshot", str(fixtures_dir / "forge"), "--format", "json", str(root))
    document = json_run(result)
    assert document["schema"] == "pinner.pin/1" and document["written"] is True
    change = next(r for r in document["records"] if r["type"] == "change" and r["line"] == 29)
    assert change == {
        "type": "change",
        "kind": "action",
        "file": ".github/workflows/audit-me.yml",
        "path": str((root / ".github/workflows/audit-me.yml").resolve()),
        "line": 29,
        "column": 15,
        "old": "pinner-fixtures/lint-action@v2",
        "new": "pinner-fixtures/lint-action@0dd86a0166f217164d6fda0bbaa72a38af328094",
        "sha": "0dd86a0166f217164d6fda0bbaa72a38af328094",
        "version": "v2.0.0",
        "old_comment": None,
        "new_comment": "v2.0.0",
        "reason": "pinned-tag",
    }
    problem = next(r for r in document["records"] if r["type"] == "problem" and r["line"] == 37)
    assert problem["code"] == "unresolvable" and "v9" in problem["message"]
    assert document["summary"]["problems"] == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--include", "("], "--include '(': invalid regular expression"),
        (["--diff", "--format", "json"], "--diff prints a patch"),
        (["--format", "xml"], "--format must be text or json"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args, message, fixtures_dir, tmp_path) -> None:
    root = copy_consumer(fixtures_dir / "consumers" / "demo", tmp_path / "demo")
    result = invoke("--snapshot", str(fixtures_dir / "forge"), *args, str(root))
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_malformed_explicit_file_is_an_input_error(fixtures_dir, tmp_path) -> None:
    workflows = tmp_path / "repo" / ".github" / "workflows"
    workflows.mkdir(parents=True)
    bad = workflows / "bad.yml"
    bad.write_text("jobs:\n  a:\n    steps: [\n")
    good = workflows / "good.yml"
    good.write_text("jobs:\n  a:\n    steps:\n      - uses: pinner-fixtures/node-leaf@v3\n")
    forge = str(fixtures_dir / "forge")
    explicit = invoke("--snapshot", forge, str(bad))
    assert explicit.exit_code == 2 and "bad.yml" in explicit.stderr
    walked = invoke("--snapshot", forge, str(tmp_path / "repo"))
    assert walked.exit_code == 2 and "--skip-unreadable" in walked.stderr
    assert "# v3.1.0" not in good.read_text()  # nothing is written
    skipping = invoke("--snapshot", forge, "--skip-unreadable", str(tmp_path / "repo"))
    assert skipping.exit_code == 1
    assert ".github/workflows/bad.yml:" in skipping.stderr and "not pinned" in skipping.stderr
    assert "# v3.1.0" in good.read_text()


def test_help_documents_every_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pinner", "pin", "--help"],
        capture_output=True,
        text=True,
        env={**clean_env(), "COLUMNS": "200", "TERM": "dumb"},
    )
    assert result.returncode == 0
    for option in (
        "--check", "--diff", "--format", "--include", "--exclude", "--partial",
        "--verify-budget", "--server-url", "--api-url", "--token", "--cache-dir", "--no-cache",
        "--offline", "--jobs", "--snapshot", "--color",
    ):  # fmt: skip
        assert option in result.stdout, option


# ----------------------------------------------------------------------------- corpus


def _corpus_uses(shared_dir: Path) -> list[dict]:
    path = shared_dir / "corpus" / "consumer_uses.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is absent: corpus not available")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _tag_commits(forge_dir: Path, repo: str) -> dict[str, str]:
    refs = forge_dir / repo / "refs.json"
    if not refs.is_file():
        return {}
    data = json.loads(refs.read_text())
    return {r["ref"]: r["peeled"] for r in data["refs"]}


def check_corpus(workdir: Path, shared_dir: Path, document: dict) -> None:
    forge_dir = shared_dir / "corpus" / "forge"
    by_site: dict[tuple[str, int], list[dict]] = {}
    for record in document["records"]:
        if record["path"]:
            by_site.setdefault((record["path"], record["line"]), []).append(record)
    refs_cache: dict[str, dict[str, str]] = {}
    checked = 0
    for use in _corpus_uses(shared_dir):
        if use["type"] != "remote":
            continue
        consumer_dir = workdir / use["consumer"].replace("/", "__")
        path = consumer_dir / use["file"]
        key = (str(path.resolve()), use["line"])
        text = line_text(consumer_dir, use["file"], use["line"])
        where = f"{use['consumer']}:{use['file']}:{use['line']} ({use['uses']})"
        target = use["uses"].split("@", 1)[0]
        if use["resolved"] is None:
            assert use["uses"] in text, f"{where}: changed although unresolvable: {text!r}"
            kinds = {r["type"] for r in by_site.get(key, [])}
            assert "problem" in kinds, f"{where}: not reported ({kinds})"
            continue
        expected_value = f"{target}@{use['resolved']}"
        assert expected_value in text, f"{where}: {text!r}"
        repo = "/".join(target.split("/")[:2])
        refs = refs_cache.setdefault(repo.lower(), _tag_commits(forge_dir, repo))
        comment = comment_of(text, expected_value)
        claimed = parse_version_comment(comment) if comment else None
        if not use["sha_pinned"]:
            ref = use["uses"].split("@", 1)[1]
            is_branch = f"refs/tags/{ref}" not in refs and f"refs/heads/{ref}" in refs
            assert claimed is not None, f"{where}: no comment after pinning: {text!r}"
            if is_branch:
                assert claimed == ref, f"{where}: branch comment {claimed!r}"
            else:
                assert refs.get(f"refs/tags/{claimed}") == use["resolved"], (
                    f"{where}: comment {claimed!r} is not a tag at {use['resolved']}"
                )
        elif claimed is not None and f"refs/tags/{claimed}" in refs:
            # a comment naming a tag must name one at this commit, unless pinner reported it
            reported = {r.get("code") for r in by_site.get(key, [])}
            assert refs[f"refs/tags/{claimed}"] == use["resolved"] or (
                "comment-mismatch" in reported
            ), f"{where}: comment {claimed!r} names another commit and was not reported"
        checked += 1
    assert checked > 2000


@pytest.mark.corpus
def test_corpus_against_emulator(emulator, shared_dir, corpus_forge_dir, tmp_path) -> None:
    uses = _corpus_uses(shared_dir)
    workdir = tmp_path / "consumers"
    shutil.copytree(shared_dir / "corpus" / "consumers", workdir)
    roots = sorted(p for p in workdir.iterdir() if p.is_dir())
    before = {r.name: snapshot_bytes(r) for r in roots}
    emu = emulator(corpus_forge_dir)

    # a token, as any real run over 2,600 uses has: anonymous REST allows 60 requests an hour
    auth = ("--token", "pinner-test-token")
    # zizmor ships a deliberately invalid action.yml among its test fixtures: leave it out
    auth = (*auth, "--skip-unreadable", "--no-images")  # public images: no registry in tests
    result = run_cli(
        "--server-url", emu.url, *auth, "--no-cache", "--format", "json", *map(str, roots)
    )
    document = json_run(result)
    failures = [r for r in document["records"] if r["type"] == "remote-failure"]
    assert not failures, failures[:3]
    assert result.returncode == 1, result.stderr[-2000:]  # the corpus has unresolvable pins
    check_corpus(workdir, shared_dir, document)

    allowed: dict[str, set] = {}
    for use in uses:
        allowed.setdefault(use["consumer"].replace("/", "__"), set()).add(
            (use["file"], use["line"])
        )
    for root in roots:
        assert_only_lines_changed(before[root.name], snapshot_bytes(root), allowed[root.name])

    # Listings travel in GraphQL batches of REPOS_PER_QUERY; git lists, once each, only what one
    # GraphQL page cannot: repositories with more than REF_PAGE branches or tags, and missing ones.
    repositories = document["summary"]["repositories"]
    git_posts = Counter(r["path"] for r in emu.requests if r["kind"] == "git")
    assert max(git_posts.values()) == 1
    listed_over_git = {p.removeprefix("/").removesuffix(".git/git-upload-pack") for p in git_posts}
    for repo in listed_over_git:
        if (corpus_forge_dir / repo / "refs.json").is_file():
            assert max(ref_counts(corpus_forge_dir, repo)) > graphql.REF_PAGE, repo
    # the listing batches, then at most one batch of commit lookups per listing answer (a
    # GraphQL batch or a git listing): each reference goes on as soon as its listing is in
    batches = -(-repositories // graphql.REPOS_PER_QUERY)
    assert 0 < emu.stats()["graphql"] <= 2 * batches + len(git_posts)

    second = invoke(
        "--server-url", emu.url, *auth, "--no-cache", "--format", "json", *map(str, roots)
    )
    assert json_run(second)["summary"]["changes"] == 0


@pytest.mark.corpus
def test_corpus_from_snapshot(shared_dir, corpus_forge_dir, tmp_path) -> None:
    workdir = tmp_path / "consumers"
    shutil.copytree(shared_dir / "corpus" / "consumers", workdir)
    roots = [str(p) for p in sorted(workdir.iterdir()) if p.is_dir()]
    # zizmor ships a deliberately invalid action.yml among its test fixtures: leave it out
    base = ("--snapshot", str(corpus_forge_dir), "--skip-unreadable", "--format", "json")
    result = invoke(*base, *roots)
    assert result.exit_code == 1
    check_corpus(workdir, shared_dir, json_run(result))
    second = invoke(*base, *roots)
    assert json_run(second)["summary"]["changes"] == 0


def test_warm_cache_with_a_token_makes_no_request(emulator, fixtures_dir, tmp_path) -> None:
    """With a token, listings and the early lookups of SHA pins travel over GraphQL; a warm
    run must still ask nothing (early lookups skip what the cache answers)."""
    emu = emulator(fixtures_dir / "forge")
    root = copy_consumer(fixtures_dir / "consumers" / "findings", tmp_path / "findings")
    cache = str(tmp_path / "cache")
    base = ("--server-url", emu.url, "--token", "pinner-test-token", "--cache-dir", cache)
    cold = invoke(*base, "--format", "json", "--check", str(root))
    assert emu.stats()["graphql"] > 0
    emu.reset()
    warm = invoke(*base, "--format", "json", "--check", str(root))
    assert emu.stats()["total"] == 0
    assert json_run(warm)["records"] == json_run(cold)["records"]


def test_warm_cache_makes_no_request_and_offline_answers(emulator, fixtures_dir, tmp_path) -> None:
    emu = emulator(fixtures_dir / "forge")
    root = copy_consumer(fixtures_dir / "consumers" / "findings", tmp_path / "findings")
    cache = str(tmp_path / "cache")
    base = ("--server-url", emu.url, "--cache-dir", cache, "--format", "json", "--check")
    cold = invoke(*base, str(root))
    assert emu.stats()["total"] > 0
    emu.reset()
    warm = invoke(*base, str(root))
    assert emu.stats()["total"] == 0
    assert json_run(warm)["records"] == json_run(cold)["records"]
    offline = invoke(*base, "--offline", str(root))
    assert offline.exit_code == 1 and emu.stats()["total"] == 0
    assert json_run(offline)["summary"] == json_run(cold)["summary"]
