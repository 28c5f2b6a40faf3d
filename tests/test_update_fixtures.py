"""Fixture forge and consumers for ``pinner update``: built here, committed, checked byte for byte.

Run ``python tests/test_update_fixtures.py`` to (re)write ``fixtures/forge/upd-fixtures/`` and
``fixtures/consumers/upd-*/``; the tests below fail when the committed files differ from what
this description produces, so the data and its documentation (the constants below, which the
update tests import) can never drift apart.

Every repository has releases at known dates; tests fix the clock at :data:`NOW`
(2026-06-01T00:00:00Z), so with the default 7-day cooldown anything published after
2026-05-25T00:00:00Z is too fresh.

- ``setup-tool`` (releases.json): v1.0.0, v1.1.0, v1.2.0, v2.0.0, v2.1.0 (eligible),
  v2.2.0 (published 2026-05-28: too fresh), v2.3.0 (**draft**, although its tag exists),
  v3.0.0-rc.1 and v3.0.0-rc.2 (prereleases, old enough). Floating ``v1`` (at v1.2.0) and ``v2``
  (**moved**: it pointed at v2.0.0, now at the fresh v2.2.0).
- ``monorepo`` (no releases.json: releases synthesised from tags): actions at ``setup/`` and
  ``cache/`` with ``setup/v1.0.0``, ``setup/v1.1.0``, ``setup/v2.0.0`` (fresh), ``cache/v3.0.0``,
  ``cache/v3.1.0``, and root tags ``v9.0.0`` that belong to neither action.
- ``codeql-like``: releases are named ``codeql-bundle-v2.25.5`` / ``codeql-bundle-v2.25.6``
  (the "latest" release is no action version); action versions are tags only: ``v3.28.0``
  (annotated: tagger date), ``v3.29.0`` (lightweight: commit date), ``v3.29.1`` (annotated,
  fresh), floating ``v3`` at v3.29.1.
- ``many-releases``: no floating tags at all, 120 releases ``v1.0.0`` ... ``v1.119.0`` one day
  apart from 2026-02-01 (so the API pages through them); at NOW ``v1.112.0`` is the newest
  eligible one (``v1.113.0`` was published 2026-05-25T12:00Z, half a day too late).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make ``tests`` importable
    sys.path.insert(0, str(ROOT))

from tests.forge.builder import SnapshotRepo  # noqa: E402

FIXTURES = ROOT / "fixtures"
OWNER = "upd-fixtures"
FORGE_URL = "__FORGE_URL__"
NOW = "2026-06-01T00:00:00Z"
CONSUMERS = ("upd-demo", "upd-dependabot")


def fake_sha(*parts: str) -> str:
    return hashlib.sha1("\0".join(("upd-fixtures", *parts)).encode()).hexdigest()


def day(date: str, hour: int = 12) -> str:
    return f"{date}T{hour:02d}:00:00Z"


class Repo(SnapshotRepo):
    """An ``upd-fixtures`` repository: one linear history, each commit newer than its parent."""

    owner = OWNER
    seed = "upd-fixtures"  # as fake_sha

    def commit(self, label: str, date: str, files: dict[str, str] | None = None) -> str:
        """The next commit of the (linear) history: its parent is the previous commit."""
        previous = list(self.commits.values())[-1:]
        if previous and previous[0].date >= date:
            raise ValueError(f"{self.slug}: commit {label} is not newer than its parent")
        return super().commit(label, date, [c.label for c in previous], files)

    def sha(self, ref: str) -> str:
        """The commit the tag ``ref`` points at."""
        return self.refs[f"refs/tags/{ref}"].peeled


def action_yml(title: str, version: str) -> str:
    return (
        f"name: {title}\n"
        f"description: {title} ({version})\n"
        f"author: {OWNER}\n"
        "runs:\n"
        "  using: node20\n"
        "  main: dist/index.js\n"
    )


def release(
    repo: Repo,
    rid: int,
    tag: str,
    published: str | None,
    *,
    draft: bool = False,
    prerelease: bool = False,
    immutable: bool = False,
    name: str | None = None,
) -> dict:
    created = published or day("2026-05-10")
    return {
        "id": rid,
        "tag_name": tag,
        "target_commitish": repo.default_branch,
        "name": name or f"{repo.name} {tag}",
        "draft": draft,
        "prerelease": prerelease,
        "immutable": immutable,
        "created_at": created,
        "published_at": published,
        "html_url": f"{FORGE_URL}/{repo.slug}/releases/tag/{tag}",
        "body": f"Release notes for {tag}.",
        "assets": [],
    }


# ------------------------------------------------------------------------------- repositories

SETUP_TOOL_DATES = {
    "v1.0.0": "2025-01-10",
    "v1.1.0": "2025-03-01",
    "v1.2.0": "2025-06-01",
    "v2.0.0": "2026-01-15",
    "v2.1.0": "2026-04-01",
    "v3.0.0-rc.1": "2026-04-20",
    "v3.0.0-rc.2": "2026-05-05",
    "v2.3.0": "2026-05-10",
    "v2.2.0": "2026-05-28",
}


def setup_tool() -> Repo:
    repo = Repo("setup-tool")
    for tag, date in sorted(SETUP_TOOL_DATES.items(), key=lambda kv: kv[1]):
        repo.commit(tag, day(date, 10), {"action.yml": action_yml("Setup Tool", tag)})
    for tag, date in SETUP_TOOL_DATES.items():
        repo.annotated_tag(tag, tag, day(date, 11))
    repo.commit("main", day("2026-05-30", 9), {"action.yml": action_yml("Setup Tool", "dev")})
    repo.lightweight_tag("v1", "v1.2.0")
    repo.lightweight_tag("v1.2", "v1.2.0")
    repo.lightweight_tag("v2", "v2.2.0")  # moved: was at v2.0.0, then v2.1.0, now the fresh v2.2.0
    repo.branch("main", "main")
    rels = []
    rid = 5000
    for tag, date in sorted(SETUP_TOOL_DATES.items(), key=lambda kv: kv[1]):
        rid += 1
        if tag == "v2.3.0":
            rels.append(release(repo, rid, tag, None, draft=True))
            continue
        rels.append(
            release(
                repo,
                rid,
                tag,
                day(date, 14),
                prerelease="-" in tag,
                immutable=tag in ("v2.1.0", "v2.2.0"),
            )
        )
    repo.releases = sorted(rels, key=lambda r: r["created_at"], reverse=True)
    return repo


MONOREPO_TAGS = {
    "setup/v1.0.0": "2025-02-01",
    "cache/v3.0.0": "2026-01-01",
    "cache/v3.1.0": "2026-03-01",
    "setup/v1.1.0": "2025-08-01",
    "v9.0.0": "2026-04-01",
    "setup/v2.0.0": "2026-05-30",
}


def monorepo() -> Repo:
    repo = Repo("monorepo")
    for tag, date in sorted(MONOREPO_TAGS.items(), key=lambda kv: kv[1]):
        repo.commit(
            tag,
            day(date, 10),
            {
                "setup/action.yml": action_yml("Mono Setup", tag),
                "cache/action.yml": action_yml("Mono Cache", tag),
            },
        )
        repo.lightweight_tag(tag, tag)
    repo.branch("main", "setup/v2.0.0")
    return repo


def codeql_like() -> Repo:
    repo = Repo("codeql-like")
    repo.commit("bundle-2.25.5", day("2026-04-01", 8), {"action.yml": action_yml("CodeQL", "b5")})
    repo.lightweight_tag("codeql-bundle-v2.25.5", "bundle-2.25.5")
    repo.commit("v3.28.0", day("2026-04-02", 8), {"action.yml": action_yml("CodeQL", "v3.28.0")})
    repo.annotated_tag("v3.28.0", "v3.28.0", day("2026-04-03", 9))
    repo.commit("v3.29.0", day("2026-05-01", 8), {"action.yml": action_yml("CodeQL", "v3.29.0")})
    repo.lightweight_tag("v3.29.0", "v3.29.0")
    repo.commit("bundle-2.25.6", day("2026-05-20", 8), {"action.yml": action_yml("CodeQL", "b6")})
    repo.lightweight_tag("codeql-bundle-v2.25.6", "bundle-2.25.6")
    repo.commit("v3.29.1", day("2026-05-29", 8), {"action.yml": action_yml("CodeQL", "v3.29.1")})
    repo.annotated_tag("v3.29.1", "v3.29.1", day("2026-05-29", 9))
    repo.lightweight_tag("v3", "v3.29.1")
    repo.branch("main", "v3.29.1")
    repo.releases = [
        release(
            repo, 7002, "codeql-bundle-v2.25.6", day("2026-05-20", 12), name="CodeQL Bundle v2.25.6"
        ),
        release(
            repo, 7001, "codeql-bundle-v2.25.5", day("2026-04-01", 12), name="CodeQL Bundle v2.25.5"
        ),
    ]
    return repo


MANY_START = "2026-02-01"
MANY_COUNT = 120


def many_releases() -> Repo:
    from datetime import date, timedelta

    repo = Repo("many-releases")
    start = date.fromisoformat(MANY_START)
    rels = []
    for n in range(MANY_COUNT):
        tag = f"v1.{n}.0"
        when = (start + timedelta(days=n)).isoformat()
        repo.commit(tag, day(when, 10), {"action.yml": action_yml("Many", tag)})
        repo.lightweight_tag(tag, tag)
        rels.append(release(repo, 9000 + n, tag, day(when, 12)))
    repo.branch("main", f"v1.{MANY_COUNT - 1}.0")
    repo.releases = list(reversed(rels))
    return repo


def repositories() -> list[Repo]:
    return [setup_tool(), monorepo(), codeql_like(), many_releases()]


REPOS = {r.name: r for r in repositories()}


def sha(repo: str, tag: str) -> str:
    """The commit a fixture tag points at (what tests expect pins to become)."""
    return REPOS[repo].sha(tag)


# ------------------------------------------------------------------------------- consumers


def demo_workflow() -> str:
    st = sha("setup-tool", "v1.1.0")
    st_old_v2 = sha("setup-tool", "v2.0.0")
    rc1 = sha("setup-tool", "v3.0.0-rc.1")
    mono = sha("monorepo", "setup/v1.0.0")
    cq = sha("codeql-like", "v3.28.0")
    many = sha("many-releases", "v1.0.0")
    return (
        "name: ci\n"
        "on: [push]\n"
        "permissions: {}\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        f"      - uses: {OWNER}/setup-tool@{st} # v1.1.0\n"
        f"      - uses: {OWNER}/setup-tool@v2\n"
        f"      - uses: '{OWNER}/setup-tool@{st_old_v2}'  # v2 (stale: v2 moved)\n"
        f"      - uses: {OWNER}/setup-tool@{rc1} # v3.0.0-rc.1\n"
        f"      - uses: {OWNER}/monorepo/setup@{mono} # setup/v1.0.0\n"
        f"      - uses: {OWNER}/monorepo/cache@cache/v3.0.0\n"
        f'      - uses: "{OWNER}/codeql-like@{cq}" # tag=v3.28.0\n'
        f"      - uses: {OWNER}/codeql-like@v3\n"
        f"      - {{uses: {OWNER}/many-releases@{many}, with: {{x: 1}}}} # v1.0.0\n"
        "      - uses: ./local-action\n"
        f"      - uses: {OWNER}/setup-tool@main\n"
        "  lint:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        f"      - uses: {OWNER}/setup-tool@{st} # v1.1.0\n"
        f"      - uses: {OWNER}/missing-repo@v1\n"
    )


def dependabot_workflow() -> str:
    st = sha("setup-tool", "v1.1.0")
    return (
        "name: release\n"
        "on: [workflow_dispatch]\n"
        "permissions: {}\n"
        "jobs:\n"
        "  release:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        f"      - uses: {OWNER}/setup-tool@{st} # v1.1.0\n"
    )


DEPENDABOT_YML = """\
version: 2
updates:
  - package-ecosystem: pip
    directory: /
    schedule: {interval: weekly}
    cooldown:
      default-days: 1
  - package-ecosystem: github-actions
    directory: /
    schedule:
      interval: weekly
    cooldown:
      default-days: 60
      semver-major-days: 90
"""


def consumer_files() -> dict[str, bytes]:
    return {
        "upd-demo/.github/workflows/ci.yml": demo_workflow().encode(),
        "upd-demo/local-action/action.yml": (
            "name: local\ndescription: local composite\nruns:\n  using: composite\n"
            f"  steps:\n    - uses: {OWNER}/setup-tool@v1.0.0\n"
        ).encode(),
        "upd-dependabot/.github/workflows/release.yml": dependabot_workflow().encode(),
        "upd-dependabot/.github/dependabot.yml": DEPENDABOT_YML.encode(),
    }


# ------------------------------------------------------------------------------- build / check


def expected_files() -> dict[Path, bytes]:
    out: dict[Path, bytes] = {}
    for repo in repositories():
        for rel, data in repo.render().items():
            out[FIXTURES / "forge" / OWNER / repo.name / rel] = data
    for rel, data in consumer_files().items():
        out[FIXTURES / "consumers" / rel] = data
    return out


def owned_roots() -> list[Path]:
    return [FIXTURES / "forge" / OWNER, *(FIXTURES / "consumers" / c for c in CONSUMERS)]


def write() -> None:
    import shutil

    for root in owned_roots():
        if root.exists():
            shutil.rmtree(root)
    for path, data in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_committed_fixtures_match_their_description() -> None:
    expected = expected_files()
    actual = {
        p: p.read_bytes()
        for root in owned_roots()
        if root.exists()
        for p in root.rglob("*")
        if p.is_file()
    }
    if not actual:
        pytest.fail("fixtures missing: run `python tests/test_update_fixtures.py`")
    assert sorted(actual) == sorted(expected)
    for path, data in expected.items():
        assert actual[path] == data, f"{path} differs: run `python tests/test_update_fixtures.py`"


def test_fixture_dates_make_the_scenarios() -> None:
    """The scenarios rely on these facts; a careless edit of the dates must fail loudly."""
    fresh_after = "2026-05-25"
    assert SETUP_TOOL_DATES["v2.2.0"] > fresh_after > SETUP_TOOL_DATES["v2.1.0"]
    assert MONOREPO_TAGS["setup/v2.0.0"] > fresh_after > MONOREPO_TAGS["setup/v1.1.0"]
    setup = REPOS["setup-tool"]
    assert setup.sha("v2") == setup.sha("v2.2.0")
    assert any(r["draft"] and r["tag_name"] == "v2.3.0" for r in setup.releases or [])
    assert len(REPOS["many-releases"].releases or []) > 100
    many_tags = [
        r.removeprefix("refs/tags/")
        for r in REPOS["many-releases"].refs
        if r.startswith("refs/tags/")
    ]
    assert many_tags and all(t.count(".") == 2 for t in many_tags)  # no floating tags


if __name__ == "__main__":
    write()
    sys.exit(0)
