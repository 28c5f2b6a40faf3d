"""The hand-made fixture data is self-consistent, reproducible, and shows what it claims to.

Every end-to-end test (pin, audit, update, checksums, the emulator's fidelity tests) trusts
``fixtures/``: a ref peeling to a commit that does not exist, or an ``expected.json`` naming the
wrong line, would make those tests prove nothing.  So this file checks, for EVERY repository in
``fixtures/forge`` (other suites' ``audit-*``/``upd-*``/``dl-*`` owners too), the rules listed in
``fixtures/README.md``; for every consumer with an ``expected.json``, that each site is where it
says and that its expected SHA follows from the forge data by GitHub's rules; and that
``fixtures/build_fixtures.py`` reproduces its committed output byte for byte.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
FORGE = FIXTURES / "forge"
DOWNLOADS = FORGE / "_downloads"
CONSUMERS = FIXTURES / "consumers"
SHARED_FORGE = ROOT / ".." / "shared" / "corpus" / "forge"

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
FORGE_URL = "__FORGE_URL__"
WRONG_DIGEST_LABEL = "fixture: digest deliberately wrong"
DL_URL_RE = re.compile(re.escape(FORGE_URL) + r"/dl/([^\s\"'<>)]+)")


@functools.cache
def load_generator() -> ModuleType:
    """Import ``fixtures/build_fixtures.py`` (not a package) by path, once."""
    name = "pinner_fixtures_build"
    spec = importlib.util.spec_from_file_location(name, FIXTURES / "build_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------ reading the data


@dataclass(frozen=True)
class SnapshotRepo:
    """One ``OWNER/REPO`` directory, parsed just enough to check its consistency."""

    slug: str
    path: Path
    meta: dict
    tags: dict[str, dict]  # tag object sha -> row
    commits: dict[str, dict]  # sha -> row, in file order
    network: dict[str, dict]  # sha -> row

    @classmethod
    def load(cls, path: Path) -> SnapshotRepo:
        meta = json.loads((path / "refs.json").read_text())
        tags_file = path / "tags.jsonl"
        tag_rows = [json.loads(line) for line in tags_file.read_text().splitlines()]
        commit_rows = [
            json.loads(line) for line in (path / "commits.jsonl").read_text().splitlines()
        ]
        network_file = path / "network.json"
        net_rows = json.loads(network_file.read_text())["commits"] if network_file.exists() else []
        return cls(
            slug=f"{path.parent.name}/{path.name}",
            path=path,
            meta=meta,
            tags={t["sha"]: t for t in tag_rows},
            commits={c["sha"]: c for c in commit_rows},
            network={c["sha"]: c for c in net_rows},
        )

    @property
    def refs(self) -> dict[str, dict]:
        return {r["ref"]: r for r in self.meta["refs"]}

    def resolve(self, ref: str) -> str | None:
        """Tag first, then branch: GitHub's precedence; the peeled commit or None."""
        for full in (f"refs/tags/{ref}", f"refs/heads/{ref}"):
            if full in self.refs:
                return self.refs[full]["peeled"]
        return None

    def peel(self, sha: str) -> str | None:
        """Follow tag objects to a commit; None on a cycle or a dangling object."""
        seen: set[str] = set()
        while sha in self.tags:
            if sha in seen:
                return None
            seen.add(sha)
            sha = self.tags[sha]["object"]
        return sha if sha in self.commits else None

    def releases(self) -> list[dict] | None:
        path = self.path / "releases.json"
        return json.loads(path.read_text()) if path.exists() else None


def forge_repo_dirs() -> list[Path]:
    return sorted(
        p.parent for p in FORGE.glob("*/*/refs.json") if p.parent.parent.name != "_downloads"
    )


def problems_in_repo(repo: SnapshotRepo) -> Iterator[str]:
    """Every broken rule of fixtures/README.md in one repository (empty when consistent)."""
    meta = repo.meta
    for key in ("repo", "default_branch", "snapshot_commit", "truncated", "n_commits", "refs"):
        if key not in meta:
            yield f"refs.json lacks {key}"
            return
    if meta["repo"].lower() != repo.slug.lower():
        yield f"refs.json repo {meta['repo']} but directory {repo.slug}"
    if meta["truncated"] is not False:
        yield "truncated must be false"
    names = [r["ref"] for r in meta["refs"]]
    if names != sorted(names):
        yield "refs not sorted by name"
    if len(set(names)) != len(names):
        yield "duplicate ref names"
    for r in meta["refs"]:
        name, obj, kind, peeled = r["ref"], r["object"], r["type"], r["peeled"]
        if not name.startswith(("refs/heads/", "refs/tags/")):
            yield f"{name}: neither a branch nor a tag"
        if not (SHA_RE.match(obj) and SHA_RE.match(peeled)):
            yield f"{name}: object/peeled are not 40-hex"
        if peeled not in repo.commits:
            yield f"{name}: peeled {peeled} not in commits.jsonl"
        if kind == "commit" and obj != peeled:
            yield f"{name}: type commit but object != peeled"
        elif kind == "tag":
            if obj not in repo.tags:
                yield f"{name}: tag object {obj} not in tags.jsonl"
            elif repo.peel(obj) != peeled:
                yield f"{name}: tag object chain does not end at {peeled}"
        elif kind not in ("commit", "tag"):
            yield f"{name}: unknown type {kind}"
    heads = {n.removeprefix("refs/heads/") for n in names if n.startswith("refs/heads/")}
    tag_names = {n.removeprefix("refs/tags/") for n in names if n.startswith("refs/tags/")}
    default = repo.refs.get(f"refs/heads/{meta['default_branch']}")
    if default is None:
        yield f"default branch {meta['default_branch']} has no ref"
    elif default["peeled"] != meta["snapshot_commit"]:
        yield "snapshot_commit is not the default branch tip"
    ambiguous = sorted(heads & tag_names)
    if meta.get("ambiguous_branch_and_tag", []) != ambiguous:
        yield f"ambiguous_branch_and_tag should be {ambiguous}"
    if meta["n_commits"] != len(repo.commits) or meta.get("n_commits_all_refs") != len(
        repo.commits
    ):
        yield "n_commits/n_commits_all_refs do not match commits.jsonl"

    for sha, tag in repo.tags.items():
        if repo.peel(sha) is None:
            yield f"tag object {sha} ({tag['tag']}) does not peel to a known commit"

    dates = [c["date"] for c in repo.commits.values()]
    if dates != sorted(dates, reverse=True):
        yield "commits.jsonl is not newest first"
    for pool_name, pool in (("commits.jsonl", repo.commits), ("network.json", repo.network)):
        for sha, commit in pool.items():
            for parent in commit["parents"]:
                parent_row = repo.commits.get(parent) or repo.network.get(parent)
                if parent_row is None:
                    yield f"{pool_name}: {sha} has unknown parent {parent}"
                elif not parent_row["date"] < commit["date"]:
                    yield f"{pool_name}: {sha} is not newer than its parent {parent}"
    reachable: set[str] = set()
    stack = [r["peeled"] for r in meta["refs"]]
    while stack:
        sha = stack.pop()
        if sha in reachable or sha not in repo.commits:
            continue
        reachable.add(sha)
        stack.extend(repo.commits[sha]["parents"])
    if unreachable := set(repo.commits) - reachable:
        yield f"commits.jsonl holds commits no ref reaches: {sorted(unreachable)[:3]}"
    peeled_all = {r["peeled"] for r in meta["refs"]} | {r["object"] for r in meta["refs"]}
    for sha in repo.network:
        if sha in repo.commits or sha in peeled_all:
            yield f"network commit {sha} is reachable from a ref"

    files = repo.path / "files"
    if files.is_dir():
        for commit_dir in files.iterdir():
            if commit_dir.name not in repo.commits and commit_dir.name not in repo.network:
                yield f"files/{commit_dir.name} is not a known commit"
        yield from problems_in_files(files)
    yield from problems_in_releases(repo)


def problems_in_files(files: Path) -> Iterator[str]:
    yaml = YAML(typ="safe", pure=True)
    for path in sorted(p for p in files.rglob("*") if p.is_file()):
        rel = path.relative_to(files).as_posix()
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yml", ".yaml"):
            try:
                doc = yaml.load(text)
            except YAMLError as exc:
                yield f"files/{rel}: invalid YAML ({type(exc).__name__})"
                continue
            if path.name.startswith("action.") and not (
                isinstance(doc, dict) and isinstance(doc.get("runs"), dict)
            ):
                yield f"files/{rel}: action metadata without runs"
        for match in DL_URL_RE.finditer(text):
            target = match.group(1)
            if "$" not in target and not (DOWNLOADS / target).is_file():
                yield f"files/{rel}: {FORGE_URL}/dl/{target} is not under _downloads/"


def problems_in_releases(repo: SnapshotRepo) -> Iterator[str]:
    releases = repo.releases()
    if releases is None:
        return
    if not isinstance(releases, list):
        yield "releases.json is not a list"
        return
    tag_names = {r["ref"].removeprefix("refs/tags/") for r in repo.meta["refs"]}
    for release in releases:
        for key in ("tag_name", "draft", "prerelease", "assets"):
            if key not in release:
                yield f"release lacks {key}"
                return
        tag = release["tag_name"]
        if not release["draft"] and tag not in tag_names:
            yield f"published release {tag} has no tag"
        for asset in release["assets"]:
            digest = asset.get("digest") or ""
            if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
                yield f"{tag}/{asset.get('name')}: digest is not sha256:<hex>"
                continue
            url = asset.get("browser_download_url", "")
            if not url.startswith(FORGE_URL + "/"):
                continue
            rel = url.removeprefix(FORGE_URL + "/").removeprefix("dl/")
            local = DOWNLOADS / rel
            if not local.is_file():
                yield f"{tag}/{asset['name']}: {rel} is not under _downloads/"
                continue
            data = local.read_bytes()
            if asset.get("size") != len(data):
                yield f"{tag}/{asset['name']}: size {asset.get('size')} != {len(data)}"
            matches = digest == "sha256:" + hashlib.sha256(data).hexdigest()
            if matches == (asset.get("label") == WRONG_DIGEST_LABEL):
                yield f"{tag}/{asset['name']}: digest match={matches} contradicts its label"


# ------------------------------------------------------------------------------------ the tests


def test_generator_reproduces_committed_files() -> None:
    generator = load_generator()
    assert generator.differences(FIXTURES, generator.build()) == []


def test_generator_writes_only_its_own_paths(tmp_path: Path) -> None:
    generator = load_generator()
    foreign = [tmp_path / "forge/audit-x/repo/refs.json", tmp_path / "consumers/upd-y/a.yml"]
    for path in foreign:
        path.parent.mkdir(parents=True)
        path.write_text("not mine\n")
    stale = tmp_path / f"forge/{generator.OWNER}/old-repo/refs.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    built = generator.build()
    generator.write(tmp_path, built)
    assert all(p.read_text() == "not mine\n" for p in foreign)
    assert not stale.exists()
    assert generator.differences(tmp_path, built) == []
    (tmp_path / "consumers/demo/.github/workflows/ci.yml").write_text("edited\n")
    assert generator.differences(tmp_path, built) == [
        "differs: consumers/demo/.github/workflows/ci.yml"
    ]


@pytest.mark.parametrize("repo_dir", forge_repo_dirs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_forge_repository_is_consistent(repo_dir: Path) -> None:
    assert list(problems_in_repo(SnapshotRepo.load(repo_dir))) == []


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("unknown-parent", "has unknown parent"),
        ("old-child", "is not newer than its parent"),
        ("dangling-peel", "not in commits.jsonl"),
        ("unsorted-refs", "refs not sorted by name"),
        ("network-in-commits", "is reachable from a ref"),
        ("bad-digest", "contradicts its label"),
        ("missing-download", "is not under _downloads/"),
        ("orphan-commit", "commits.jsonl holds commits no ref reaches"),
    ],
)
def test_consistency_check_catches_breakage(tmp_path: Path, breakage: str, expected: str) -> None:
    """The validator above must fail on broken data, or the parametrized test proves nothing."""
    source = FORGE / "pinner-fixtures" / "checkout-lite"
    target = tmp_path / "pinner-fixtures" / "checkout-lite"
    shutil.copytree(source, target)
    repo = SnapshotRepo.load(target)
    commits = list(repo.commits.values())
    meta = repo.meta
    if breakage == "unknown-parent":
        commits[-1]["parents"] = ["f" * 40]
    elif breakage == "old-child":
        commits[0]["date"] = "2000-01-01T00:00:00Z"
        commits.sort(key=lambda c: c["date"], reverse=True)
    elif breakage == "dangling-peel":
        meta["refs"][0]["peeled"] = meta["refs"][0]["object"] = "e" * 40
    elif breakage == "unsorted-refs":
        meta["refs"].reverse()
    elif breakage == "network-in-commits":
        commits.insert(0, next(iter(repo.network.values())))
        meta["n_commits"] = meta["n_commits_all_refs"] = len(commits)
        meta["refs"][0]["object"] = meta["refs"][0]["peeled"] = commits[0]["sha"]
        meta["snapshot_commit"] = commits[0]["sha"]
    elif breakage == "orphan-commit":
        commits.insert(0, {"sha": "d" * 40, "parents": [], "date": "2030-01-01T00:00:00Z"})
        meta["n_commits"] = meta["n_commits_all_refs"] = len(commits)
    elif breakage in ("bad-digest", "missing-download"):
        releases = json.loads((FORGE / "pinner-fixtures/install-tool/releases.json").read_text())
        asset = next(a for r in releases for a in r["assets"] if not a["label"])
        if breakage == "bad-digest":
            asset["digest"] = "sha256:" + "0" * 64
        else:
            asset["browser_download_url"] = f"{FORGE_URL}/dl/nowhere/file"
        (target / "releases.json").write_text(json.dumps(releases))
        tags = {r["tag_name"] for r in releases}
        meta["refs"] += [
            {
                "ref": f"refs/tags/{t}",
                "object": commits[0]["sha"],
                "type": "commit",
                "peeled": commits[0]["sha"],
            }
            for t in sorted(tags)
        ]
        meta["refs"].sort(key=lambda r: r["ref"])
    (target / "refs.json").write_text(json.dumps(meta))
    (target / "commits.jsonl").write_text("".join(json.dumps(c) + "\n" for c in commits))
    problems = list(problems_in_repo(SnapshotRepo.load(target)))
    assert any(expected in p for p in problems), problems


def test_downloads_are_referenced_files() -> None:
    """Every ``__FORGE_URL__/dl/`` literal in the whole forge names a file that exists."""
    missing = []
    for path in FORGE.rglob("*"):
        if path.is_file() and DOWNLOADS not in path.parents and path.suffix != ".json":
            for match in DL_URL_RE.finditer(path.read_text(encoding="utf-8", errors="replace")):
                if "$" not in match.group(1) and not (DOWNLOADS / match.group(1)).is_file():
                    missing.append((path.relative_to(FORGE).as_posix(), match.group(1)))
    assert missing == []


@pytest.mark.corpus
@pytest.mark.parametrize("slug", ["actions/checkout", "codecov/codecov-action", "actions/cache"])
def test_ref_rules_hold_on_real_snapshots(slug: str) -> None:
    """The ref and tag rules are GitHub's, not ours: real snapshot data obeys them too."""
    path = SHARED_FORGE / slug
    if not path.is_dir():
        pytest.skip(f"../shared/corpus/forge/{slug} not available")
    problems = [
        p
        for p in problems_in_repo(SnapshotRepo.load(path))
        # real committer clocks go backwards, and the corpus lists commits in rev-list order
        if "not newer than its parent" not in p
        and "newest first" not in p
        and not p.startswith("files/")
    ]
    assert problems == []


# ------------------------------------------------------------------------------------ consumers


def consumer_dirs_with_expected() -> list[Path]:
    return sorted(p.parent for p in CONSUMERS.glob("*/expected.json"))


def consumer_source_files(consumer: Path) -> list[Path]:
    """What pinner scans: workflow files and every action.y{a,}ml in the tree."""
    workflows = [
        p for p in (consumer / ".github" / "workflows").glob("*") if p.suffix in (".yml", ".yaml")
    ]
    actions = [*consumer.rglob("action.yml"), *consumer.rglob("action.yaml")]
    return sorted(set(workflows) | set(actions))


def forge_repo(slug: str) -> SnapshotRepo | None:
    """Case-insensitive lookup, as GitHub compares owner/repo."""
    owner, name = slug.split("/")
    for candidate in forge_repo_dirs():
        if (candidate.parent.name.lower(), candidate.name.lower()) == (owner.lower(), name.lower()):
            return SnapshotRepo.load(candidate)
    return None


def site_problems(consumer: Path, site: dict) -> Iterator[str]:
    """Check one expected.json site against the file and, independently, the forge data."""
    where = f"{site['file']}:{site['line']}"
    raw = (consumer / site["file"]).read_bytes().decode("utf-8").removeprefix("\ufeff")
    line = raw.split("\n")[site["line"] - 1].rstrip("\r")
    quote = site["quote"]
    written = f"{quote}{site['uses']}{quote}"
    col = site["column"] - 1
    if line[col : col + len(written)] != written or "uses:" not in line[:col]:
        yield f"{where}: {written!r} is not at column {site['column']} after uses:"
    kept = site.get("comment_text_kept")
    if kept is not None and line[col + len(written) :].count(kept) != 1:
        yield f"{where}: comment text {kept!r} is not once in the trailing comment"
    if site["kind"] != "remote":
        if site["expect"] != "skip" or site["after"] != site["uses"]:
            yield f"{where}: a {site['kind']} use must be skipped and left as written"
        return
    target, ref = site["uses"].rsplit("@", 1)
    repo = forge_repo("/".join(target.split("/")[:2]))
    expect, sha = site["expect"], site["sha"]
    if expect == "not-found":
        if repo is not None and (
            repo.resolve(ref) or ref in repo.commits or ref in repo.tags or ref in repo.network
        ):
            yield f"{where}: expected not-found but {ref} exists"
        return
    if repo is None:
        yield f"{where}: repository {target} is not in fixtures/forge"
        return
    if expect == "pin":
        actual = repo.resolve(ref)
    elif expect == "repin":
        actual = repo.peel(ref) if ref in repo.tags else None
    elif expect in ("keep", "fix-comment"):
        actual = ref if ref in repo.commits else None
    elif expect == "impostor":
        actual = ref if ref in repo.network and ref not in repo.commits else None
    else:
        yield f"{where}: unknown expect {expect}"
        return
    if actual is None or actual != sha:
        yield f"{where}: expected {sha} but the forge gives {actual}"
    if expect in ("pin", "repin") and site["after"] != f"{target}@{sha}":
        yield f"{where}: after should be {target}@{sha}"
    if expect not in ("pin", "repin") and site["after"] != site["uses"]:
        yield f"{where}: a {expect} site must stay as written"
    comment = site["comment"]
    if comment is not None and expect != "impostor":
        branch = repo.refs.get(f"refs/heads/{comment}")
        tag = repo.refs.get(f"refs/tags/{comment}")
        if site["ref_kind"] == "branch":
            if branch is None or comment != ref:
                yield f"{where}: a branch pin's comment names the branch"
        elif tag is None or tag["peeled"] != sha:
            yield f"{where}: comment {comment} is not a tag at {sha}"


@pytest.mark.parametrize("consumer", consumer_dirs_with_expected(), ids=lambda p: p.name)
def test_consumer_expected_results_follow_from_the_forge(consumer: Path) -> None:
    expected = json.loads((consumer / "expected.json").read_text())
    if "sites" not in expected:
        pytest.skip(f"{consumer.name}/expected.json uses another schema (no 'sites')")
    problems = [p for site in expected["sites"] for p in site_problems(consumer, site)]
    assert problems == []


def coverage_mismatch(consumer: Path, expected: dict) -> set[tuple[str, int]]:
    """``uses:`` lines that are neither a site nor a decoy, plus sites/decoys on no such line."""
    sites = {(s["file"], s["line"]) for s in expected["sites"]}
    decoys = {(d["file"], d["line"]) for d in expected.get("decoys", [])}
    found = set()
    for path in consumer_source_files(consumer):
        text = path.read_bytes().decode("utf-8")
        for number, line in enumerate(text.split("\n"), start=1):
            if "uses:" in line:
                found.add((path.relative_to(consumer).as_posix(), number))
    return found ^ (sites | decoys)


@pytest.mark.parametrize("consumer", consumer_dirs_with_expected(), ids=lambda p: p.name)
def test_consumer_expected_results_cover_every_uses_line(consumer: Path) -> None:
    """No ``uses:`` line is forgotten, and no decoy (comment, run text, alias) counts as a site."""
    expected = json.loads((consumer / "expected.json").read_text())
    if "sites" not in expected:
        pytest.skip(f"{consumer.name}/expected.json uses another schema (no 'sites')")
    sites = [(s["file"], s["line"]) for s in expected["sites"]]
    decoys = {(d["file"], d["line"]) for d in expected.get("decoys", [])}
    assert len(set(sites)) == len(sites), "two sites on one line"
    assert not set(sites) & decoys
    assert coverage_mismatch(consumer, expected) == set()


def test_consumer_checks_catch_wrong_expectations() -> None:
    """The two consumer checks above must fail on a wrong expected.json."""
    consumer = CONSUMERS / "layouts"
    expected = json.loads((consumer / "expected.json").read_text())
    pin = next(s for s in expected["sites"] if s["expect"] == "pin")
    assert list(site_problems(consumer, pin)) == []
    wrong = [
        (pin | {"sha": "0" * 40}, "but the forge gives"),
        (pin | {"line": pin["line"] + 1}, "is not at column"),
        (pin | {"comment": "v1.0.0"}, "is not a tag at"),
        (pin | {"after": pin["uses"]}, "after should be"),
        (pin | {"expect": "not-found"}, "expected not-found but"),
        (pin | {"comment_text_kept": "gone"}, "is not once in the trailing comment"),
    ]
    for site, message in wrong:
        problems = list(site_problems(consumer, site))
        assert any(message in p for p in problems), (site, problems)
    forgotten = expected | {"sites": expected["sites"][1:]}
    assert coverage_mismatch(consumer, forgotten) == {(pin["file"], pin["line"])}
    no_decoys = expected | {"decoys": []}
    assert len(coverage_mismatch(consumer, no_decoys)) == len(expected["decoys"])


# -------------------------------------------------------------------- the documented scenarios


def fixture(name: str) -> SnapshotRepo:
    return SnapshotRepo.load(FORGE / "pinner-fixtures" / name)


def test_nested_annotated_tag_and_moved_major() -> None:
    repo = fixture("checkout-lite")
    v1 = repo.refs["refs/tags/v1"]
    inner = repo.tags[v1["object"]]["object"]
    assert repo.tags[inner]["tag"] == "v1.2.3"  # v1 is a tag of the tag v1.2.3
    assert repo.tags[inner]["object"] == v1["peeled"] == repo.resolve("v1.2.3")
    assert repo.refs["refs/tags/v1.0.0"]["type"] == "commit"  # lightweight
    # the commit v1 pointed at before it moved is still reachable (an ancestor of main)
    old = repo.resolve("v1.1.0")
    assert old != v1["peeled"] and old in repo.commits
    assert {"refs/tags/v2.0.0-rc.1", "refs/tags/v2.0.0-beta.2"} <= set(repo.refs)


def test_impostor_commit_has_an_action_file() -> None:
    repo = fixture("checkout-lite")
    (evil,) = repo.network
    action = (repo.path / "files" / evil / "action.yml").read_text()
    assert "| bash" in action
    assert evil not in repo.commits


def test_branch_and_tag_share_a_name() -> None:
    repo = fixture("lint-action")
    assert repo.meta["ambiguous_branch_and_tag"] == ["v2"]
    assert repo.refs["refs/tags/v2"]["peeled"] != repo.refs["refs/heads/v2"]["peeled"]


def test_monorepo_path_tags_and_subdirectory_actions() -> None:
    repo = fixture("toolkit")
    for tag, path in (("setup/v1.2.3", "setup"), ("cache/v2.0.0", "cache")):
        commit = repo.resolve(tag)
        assert (repo.path / "files" / commit / path / "action.yml").is_file()
    assert repo.resolve("setup/v1") == repo.resolve("setup/v1.2.3")


def test_many_tags_with_floating_majors_and_minors() -> None:
    repo = fixture("setup-widget")
    tags = [r for r in repo.refs if r.startswith("refs/tags/")]
    assert len(tags) == 250
    assert repo.resolve("v4") == repo.resolve("v4.9") == repo.resolve("v4.9.4")
    assert repo.resolve("v3.4") == repo.resolve("v3.4.4")
    assert repo.resolve("v5.0.0-rc.2") in repo.commits


def test_composite_chain_three_deep() -> None:
    yaml = YAML(typ="safe", pure=True)

    def action_at(name: str, ref: str) -> dict:
        repo = fixture(name)
        return yaml.load((repo.path / "files" / repo.resolve(ref) / "action.yml").read_text())

    top = action_at("composite-top", "v1")
    mid = action_at("composite-mid", "v2")
    leaf = action_at("node-leaf", "v3")
    assert top["runs"]["using"] == mid["runs"]["using"] == "composite"
    assert "pinner-fixtures/composite-mid@v2" in [s.get("uses") for s in top["runs"]["steps"]]
    mid_uses = [s.get("uses") for s in mid["runs"]["steps"]]
    assert f"pinner-fixtures/node-leaf@{fixture('node-leaf').resolve('v3.1.0')}" in mid_uses
    assert leaf["runs"]["using"] == "node20"


def test_reusable_workflow_calls_reusable_workflow() -> None:
    yaml = YAML(typ="safe", pure=True)
    repo = fixture("shared-workflows")
    files = repo.path / "files" / repo.resolve("v1")
    release = yaml.load((files / ".github/workflows/release.yml").read_text())
    build = yaml.load((files / ".github/workflows/build.yml").read_text())
    assert "workflow_call" in release["on"] and "workflow_call" in build["on"]
    called = release["jobs"]["build"]["uses"]
    assert called == "pinner-fixtures/shared-workflows/.github/workflows/build.yml@v1"


def test_docker_actions() -> None:
    yaml = YAML(typ="safe", pure=True)
    build = fixture("docker-build")
    files = build.path / "files" / build.resolve("v1")
    assert yaml.load((files / "action.yml").read_text())["runs"]["image"] == "Dockerfile"
    froms = [ln for ln in (files / "Dockerfile").read_text().splitlines() if ln.startswith("FROM")]
    assert froms[0] == "FROM golang:1.22-alpine AS build" and "@sha256:" in froms[1]
    image = fixture("docker-image")
    action = yaml.load((image.path / "files" / image.resolve("v1") / "action.yml").read_text())
    assert action["runs"]["image"] == "docker://alpine:3.19"


def test_release_branch_only_commit() -> None:
    repo = fixture("lts-action")
    (backport,) = repo.commits[repo.resolve("v1.1.1")]["parents"]
    assert backport not in {r["peeled"] for r in repo.meta["refs"]}  # no tag, no branch tip

    def ancestors(tip: str) -> set[str]:
        seen, stack = set(), [tip]
        while stack:
            sha = stack.pop()
            if sha not in seen:
                seen.add(sha)
                stack.extend(repo.commits[sha]["parents"])
        return seen

    assert backport not in ancestors(repo.resolve("main"))
    assert backport in ancestors(repo.resolve("releases/v1"))


def test_releases_json_scenarios() -> None:
    releases = fixture("install-tool").releases()
    assert releases is not None
    assert [r["draft"] for r in releases].count(True) == 1
    assert [r["tag_name"] for r in releases if r["prerelease"]] == ["v1.5.0-rc.1"]
    labelled = [a["name"] for r in releases for a in r["assets"] if a["label"]]
    assert labelled == ["tool-1.3.0-linux-amd64"]
    checked = [a for r in releases for a in r["assets"] if not a["label"]]
    for asset in checked:
        rel = asset["browser_download_url"].removeprefix(FORGE_URL + "/")
        data = (DOWNLOADS / rel).read_bytes()
        assert asset["digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert len(checked) >= 4


def test_downloading_action_names_served_files() -> None:
    repo = fixture("install-tool")
    files = repo.path / "files" / repo.resolve("v1")
    action, script = (files / "action.yml").read_text(), (files / "install.sh").read_text()
    assert "curl" in action and DL_URL_RE.search(action)
    assert "curl" in script and "wget" in script and DL_URL_RE.search(script)
