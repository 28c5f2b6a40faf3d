"""Fixture data for security advisories and archived repositories, generated and checked here.

Run ``python tests/test_advisory_fixtures.py`` to (re)write what this module owns under
``fixtures/``: the repositories ``tj-actions/changed-files``, ``reviewdog/action-setup`` and
``adv-org/*`` in ``fixtures/forge/``, the snapshot's ``fixtures/forge/advisories.json`` and the
consumer ``fixtures/consumers/adv-scenarios/``. The test below fails when the committed files
differ from what this description produces, so the data and the expectations the advisory tests
import from here never drift apart. SHAs are sha1 of readable seeds.

The two real advisories, with their real ranges (GitHub Advisory Database):

- GHSA-mrrh-fwg8-r2c3 / CVE-2025-30066, ``tj-actions/changed-files`` ``< 46.0.1``, first
  patched ``46.0.1``: every tag up to v45.0.7 was moved to a commit printing secrets to the log.
- GHSA-qmg3-hpqr-gqvc / CVE-2025-30154, ``reviewdog/action-setup`` ``= 1`` (no patched version):
  ``@v1`` was compromised on 2025-03-11; the repository is shown as it was in that window, ``v1``
  on the compromised commit, ``v1.3.2`` the maintainers' fix just after.

Both are reached only transitively: ``adv-org/changed-lint`` v1.0.0 uses changed-files at
v45.0.7 (its v2.0.0 at v46.0.1), ``adv-org/review-lint`` uses ``reviewdog/action-setup@v1``, and
``adv-org/ci-bundle`` v1.0.0 uses both plus ``adv-org/retired``, an **archived** repository
(``meta.json``). Synthetic advisories against ``adv-org/ranges`` exercise every range operator,
the ``v`` prefix, a commit and a tag named exactly, a package name in another letter case, and
three that must be ignored (withdrawn, unreviewed, another ecosystem); one names the monorepo
action ``adv-org/kit/setup``.

Tag dates put the fixed releases of changed-files inside a 7-day cooldown at :data:`NOW`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make ``tests`` importable
    sys.path.insert(0, str(ROOT))

from tests.forge.builder import SnapshotRepo  # noqa: E402

FORGE = ROOT / "fixtures" / "forge"
CONSUMER = ROOT / "fixtures" / "consumers" / "adv-scenarios"
ADVISORIES = FORGE / "advisories.json"
OWNED = (FORGE / "tj-actions", FORGE / "reviewdog", FORGE / "adv-org", CONSUMER)
NOW = "2025-03-20T00:00:00Z"
"""The clock of the update tests: v46.0.1 (2025-03-16) and v46.0.2 (2025-03-19) are too fresh
for a 7-day cooldown, v45.0.7 is long eligible."""

TJ = "GHSA-mrrh-fwg8-r2c3"
TJ_SUMMARY = (
    "tj-actions changed-files through 45.0.7 allows remote attackers to discover secrets by "
    "reading actions logs."
)
REVIEWDOG = "GHSA-qmg3-hpqr-gqvc"


def sha(*parts: str) -> str:
    return hashlib.sha1("\0".join(("pinner-advisories", *parts)).encode()).hexdigest()


class Repo(SnapshotRepo):
    """A repository of this module: SHAs seeded by owner, name and label."""

    seed = "pinner-advisories"

    def __init__(self, owner: str, name: str, default_branch: str = "main") -> None:
        super().__init__(name, default_branch)
        self._owner = owner
        self.meta: dict[str, object] | None = None

    @property
    def slug(self) -> str:
        return f"{self._owner}/{self.name}"

    def render(self) -> dict[str, bytes]:
        files = super().render()
        if self.meta is not None:
            files["meta.json"] = (json.dumps(self.meta, indent=1) + "\n").encode()
        return files

    def tag(self, name: str) -> str:
        """The commit ``refs/tags/NAME`` peels to."""
        return self.refs[f"refs/tags/{name}"].peeled

    def release(self, version: str, date: str, files: dict[str, str], *, parent: str | None = None):
        """A commit labelled ``version`` with an annotated tag of that name an hour later."""
        parents = [parent] if parent else list(self.commits)[-1:]
        self.commit(version, date, parents, files)
        hour = int(date[11:13]) + 1
        self.annotated_tag(version, version, f"{date[:11]}{hour:02d}{date[13:]}")


def node_action(name: str, version: str) -> dict[str, str]:
    return {
        "action.yml": (
            f"name: {name}\ndescription: {name} ({version})\n"
            "runs:\n  using: node20\n  main: dist/index.js\n"
        )
    }


def composite(name: str, *uses: str) -> dict[str, str]:
    steps = "".join(f"    - uses: {u}\n" for u in uses)
    return {"action.yml": f"name: {name}\nruns:\n  using: composite\n  steps:\n{steps}"}


# ------------------------------------------------------------------------------- repositories


def changed_files() -> Repo:
    repo = Repo("tj-actions", "changed-files")
    dates = {
        "v44.5.0": "2024-05-20T10:00:00Z",
        "v45.0.0": "2024-09-01T10:00:00Z",
        "v45.0.7": "2025-02-10T10:00:00Z",
    }
    for version, date in dates.items():
        repo.release(version, date, node_action("Changed Files", version))
    # main moved on between releases: a commit no tag points at
    repo.commit(
        "untagged", "2025-02-20T10:00:00Z", ["v45.0.7"], node_action("Changed Files", "dev")
    )
    repo.release("v46.0.0", "2025-03-15T10:00:00Z", node_action("Changed Files", "v46.0.0"))
    repo.release("v46.0.1", "2025-03-16T10:00:00Z", node_action("Changed Files", "v46.0.1"))
    repo.release("v46.0.2", "2025-03-19T10:00:00Z", node_action("Changed Files", "v46.0.2"))
    repo.lightweight_tag("v44", "v44.5.0")
    repo.lightweight_tag("v45", "v45.0.7")
    repo.lightweight_tag("v46", "v46.0.2")
    repo.branch("main", "v46.0.2")
    return repo


def action_setup() -> Repo:
    repo = Repo("reviewdog", "action-setup")
    repo.release("v1.3.0", "2024-08-01T10:00:00Z", node_action("Setup reviewdog", "v1.3.0"))
    repo.commit(
        "compromised", "2025-03-11T18:42:00Z", ["v1.3.0"], node_action("Setup reviewdog", "v1")
    )
    repo.release("v1.3.2", "2025-03-11T20:31:00Z", node_action("Setup reviewdog", "v1.3.2"))
    repo.lightweight_tag("v1", "compromised")  # the window: v1 on the compromised commit
    repo.branch("main", "v1.3.2")
    return repo


RANGE_TAGS = (
    "v0.9.0",
    "v1.0.0",
    "v1.1.0",
    "v1.2.0",
    "v1.3.0",
    "v2.0.0",
    "v2.1.0",
    "v2.2.0",
    "v3.0.0",
    "v4.0.0",
    "v4.1.0",
)


def build_repos() -> dict[str, Repo]:
    repos = {"changed-files": changed_files(), "action-setup": action_setup()}
    tj = repos["changed-files"]

    retired = repos["retired"] = Repo("adv-org", "retired")
    retired.release("v1.0.0", "2023-01-10T10:00:00Z", node_action("Retired", "v1.0.0"))
    retired.branch("main", "v1.0.0")
    retired.meta = {"archived": True}

    lint = repos["changed-lint"] = Repo("adv-org", "changed-lint")
    lint.release(
        "v1.0.0",
        "2025-02-15T10:00:00Z",
        composite("changed-lint", f"tj-actions/changed-files@{tj.tag('v45.0.7')} # v45.0.7"),
    )
    lint.release(
        "v2.0.0",
        "2025-03-17T10:00:00Z",
        composite("changed-lint", f"tj-actions/changed-files@{tj.tag('v46.0.1')} # v46.0.1"),
    )
    lint.lightweight_tag("v1", "v1.0.0")
    lint.lightweight_tag("v2", "v2.0.0")
    lint.branch("main", "v2.0.0")

    review = repos["review-lint"] = Repo("adv-org", "review-lint")
    review.release(
        "v1.0.0", "2024-09-01T10:00:00Z", composite("review-lint", "reviewdog/action-setup@v1")
    )
    review.branch("main", "v1.0.0")

    bundle = repos["ci-bundle"] = Repo("adv-org", "ci-bundle")
    bundle.release(
        "v1.0.0",
        "2025-02-16T10:00:00Z",
        composite(
            "ci-bundle",
            f"adv-org/changed-lint@{lint.tag('v1.0.0')} # v1.0.0",
            f"adv-org/review-lint@{review.tag('v1.0.0')} # v1.0.0",
            f"adv-org/retired@{retired.tag('v1.0.0')} # v1.0.0",
        ),
    )
    bundle.branch("main", "v1.0.0")

    ranges = repos["ranges"] = Repo("adv-org", "ranges")
    for n, version in enumerate(RANGE_TAGS):
        ranges.release(version, f"2024-{n + 1:02d}-01T10:00:00Z", node_action("Ranges", version))
        if version == "v3.0.0":  # a commit between releases that one advisory names
            ranges.commit(
                "hotfix", "2024-09-15T10:00:00Z", ["v3.0.0"], node_action("Ranges", "hotfix")
            )
            ranges.commit(
                "nightly", "2024-09-20T10:00:00Z", ["hotfix"], node_action("Ranges", "nightly")
            )
            ranges.lightweight_tag("nightly", "nightly")
    ranges.branch("main", "v4.1.0")

    kit = repos["kit"] = Repo("adv-org", "kit")
    kit.commit("first", "2024-03-01T10:00:00Z", [], {**_kit_files("1.0.0")})
    kit.annotated_tag("setup/v1.0.0", "first", "2024-03-01T11:00:00Z")
    kit.annotated_tag("cache/v1.0.0", "first", "2024-03-01T11:00:00Z")
    kit.commit("second", "2024-04-01T10:00:00Z", ["first"], {**_kit_files("1.1.0")})
    kit.annotated_tag("setup/v1.1.0", "second", "2024-04-01T11:00:00Z")
    kit.branch("main", "second")
    return repos


def _kit_files(version: str) -> dict[str, str]:
    return {
        f"{part}/action.yml": node_action(f"kit {part}", version)["action.yml"]
        for part in ("setup", "cache")
    }


# ------------------------------------------------------------------------------- advisories


def advisory(ghsa: str, package: str, vulnerable: str | None, patched: str | None, **extra):
    """One ``advisories.json`` entry (the emulator fills in every other field)."""
    entry: dict[str, object] = {
        "ghsa_id": ghsa,
        "summary": extra.pop("summary", f"Synthetic advisory {ghsa} for {package}"),
        "severity": extra.pop("severity", "high"),
        "published_at": extra.pop("published_at", "2025-01-15T00:00:00Z"),
        "vulnerabilities": [
            {
                "package": {"ecosystem": extra.pop("ecosystem", "actions"), "name": package},
                "vulnerable_version_range": vulnerable,
                "first_patched_version": patched,
            }
        ],
    }
    entry.update(extra)
    return entry


def build_advisories(repos: dict[str, Repo]) -> list[dict]:
    ranges = repos["ranges"]
    real = [
        {
            "ghsa_id": TJ,
            "cve_id": "CVE-2025-30066",
            "html_url": f"https://github.com/advisories/{TJ}",
            "summary": TJ_SUMMARY,
            "description": "tj-actions changed-files before 46 allows remote attackers to "
            "discover secrets by reading actions logs. (The tags v1 through v45.0.7 were "
            "affected on 2025-03-14 and 2025-03-15 because they were modified by a threat actor "
            "to point at commit 0e58ed8, which contained malicious updateFeatures code.)",
            "severity": "high",
            "published_at": "2025-03-15T06:30:34Z",
            "updated_at": "2025-03-16T17:18:03Z",
            "github_reviewed_at": "2025-03-15T16:39:06Z",
            "nvd_published_at": "2025-03-15T06:15:12Z",
            "source_code_location": "https://github.com/tj-actions/changed-files",
            "references": [
                "https://nvd.nist.gov/vuln/detail/CVE-2025-30066",
                "https://github.com/tj-actions/changed-files/issues/2463",
            ],
            "cvss": {"score": 8.6, "vector_string": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N"},
            "cwes": [{"cwe_id": "CWE-506", "name": "Embedded Malicious Code"}],
            "vulnerabilities": [
                {
                    "package": {"ecosystem": "actions", "name": "tj-actions/changed-files"},
                    "vulnerable_version_range": "< 46.0.1",
                    "first_patched_version": "46.0.1",
                }
            ],
        },
        {
            "ghsa_id": REVIEWDOG,
            "cve_id": "CVE-2025-30154",
            "html_url": f"https://github.com/advisories/{REVIEWDOG}",
            "summary": "Multiple Reviewdog actions were compromised during a specific time period",
            "description": "reviewdog/action-setup@v1 was compromised March 11, 2025, between "
            "18:42 and 20:31 UTC, with malicious code added that dumps exposed secrets to Github "
            "Actions Workflow Logs.",
            "severity": "high",
            "published_at": "2025-03-19T15:19:12Z",
            "updated_at": "2025-03-19T15:19:12Z",
            "github_reviewed_at": "2025-03-19T15:19:12Z",
            "source_code_location": "https://github.com/reviewdog/reviewdog",
            "references": ["https://github.com/reviewdog/reviewdog/issues/2079"],
            "cvss": {"score": 8.6, "vector_string": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N"},
            "cwes": [{"cwe_id": "CWE-506", "name": "Embedded Malicious Code"}],
            "vulnerabilities": [
                {
                    "package": {"ecosystem": "actions", "name": "reviewdog/action-setup"},
                    "vulnerable_version_range": "= 1",
                    "first_patched_version": None,
                }
            ],
        },
    ]
    pkg = "adv-org/ranges"
    synthetic = [
        advisory("GHSA-r001-less-than0", pkg, "< 1.0.0", "1.0.0", severity="low"),
        advisory("GHSA-r002-gt-and-lte", pkg, "> 1.0.0, <= 1.1.0", "1.2.0", severity="medium"),
        advisory("GHSA-r003-equal-noop", pkg, "= 1.2.0", "1.3.0", severity="critical"),
        advisory("GHSA-r004-gte-and-lt", pkg, ">= 2.0.0, < 2.1.0", "2.1.0"),
        advisory(
            "GHSA-r005-v-prefixed", "ADV-org/Ranges", "= v2.2.0", "v3.0.0", severity="unknown"
        ),
        advisory("GHSA-r006-open-ended", pkg, ">= 4.1.0", None),
        advisory("GHSA-r007-one-commit", pkg, f"= {ranges.commit_sha('hotfix')}", "4.0.0"),
        advisory("GHSA-r008-named-tagz", pkg, "= nightly", None, severity="medium"),
        advisory(
            "GHSA-r009-withdrawnxx", pkg, "< 9.0.0", None, withdrawn_at="2025-02-01T00:00:00Z"
        ),
        advisory("GHSA-r010-unreviewed", pkg, "< 9.0.0", None, type="unreviewed"),
        advisory("GHSA-r011-other-ecosy", pkg, "< 9.0.0", None, ecosystem="npm"),
        advisory(
            "GHSA-k001-kit-setupxx", "adv-org/kit/setup", "< 1.1.0", "1.1.0", severity="medium"
        ),
    ]
    return real + synthetic


# ------------------------------------------------------------------------------- consumer


WORKFLOW = "on: push\njobs:\n  {job}:\n    runs-on: ubuntu-latest\n    steps:\n{steps}"


def workflow(job: str, *uses: str) -> str:
    return WORKFLOW.format(job=job, steps="".join(f"      - uses: {u}\n" for u in uses))


def range_lines(repos: dict[str, Repo]) -> dict[str, set[str]]:
    """Each ``uses:`` of ranges.yml and the advisory ids that must fire on it (in order)."""
    ranges, kit = repos["ranges"], repos["kit"]
    expected = {
        "v0.9.0": {"GHSA-r001-less-than0"},
        "v1.0.0": set(),
        "v1.1.0": {"GHSA-r002-gt-and-lte"},
        "v1.2.0": {"GHSA-r003-equal-noop"},
        "v1.3.0": set(),
        "v2.0.0": {"GHSA-r004-gte-and-lt"},
        "v2.1.0": set(),
        "v2.2.0": {"GHSA-r005-v-prefixed"},
        "v3.0.0": set(),
        "v4.0.0": set(),
        "v4.1.0": {"GHSA-r006-open-ended"},
    }
    out = {f"adv-org/ranges@{ranges.tag(v)} # {v}": ids for v, ids in expected.items()}
    out[f"adv-org/ranges@{ranges.commit_sha('hotfix')}"] = {"GHSA-r007-one-commit"}
    out["adv-org/ranges@nightly"] = {"GHSA-r008-named-tagz"}
    out[f"adv-org/kit/setup@{kit.tag('setup/v1.0.0')} # setup/v1.0.0"] = {"GHSA-k001-kit-setupxx"}
    out[f"adv-org/kit/setup@{kit.tag('setup/v1.1.0')} # setup/v1.1.0"] = set()
    out[f"adv-org/kit/cache@{kit.tag('cache/v1.0.0')} # cache/v1.0.0"] = set()
    return out


def build_consumer(repos: dict[str, Repo]) -> dict[str, str]:
    tj, lint, bundle = repos["changed-files"], repos["changed-lint"], repos["ci-bundle"]
    wf = ".github/workflows/"
    return {
        # the acceptance case: an action that uses changed-files at a vulnerable version
        wf + "changed.yml": workflow(
            "changed", f"adv-org/changed-lint@{lint.tag('v1.0.0')} # v1.0.0"
        ),
        # the same action at the release that moved to 46.0.1
        wf + "patched.yml": workflow(
            "patched", f"adv-org/changed-lint@{lint.tag('v2.0.0')} # v2.0.0"
        ),
        # three levels: both compromises and an archived repository, all nested
        wf + "bundle.yml": workflow("bundle", f"adv-org/ci-bundle@{bundle.tag('v1.0.0')} # v1.0.0"),
        # a commit no tag points at, with a comment that claims a version: unknown, not clean
        wf + "unknown.yml": workflow(
            "unknown", f"tj-actions/changed-files@{tj.commit_sha('untagged')} # v45.0.7"
        ),
        wf + "ranges.yml": workflow("ranges", *range_lines(repos)),
        # update: a vulnerable direct pin (the fix is inside the cooldown) and a clean one
        wf + "update.yml": workflow(
            "update",
            f"tj-actions/changed-files@{tj.tag('v45.0.7')} # v45.0.7",
            f"adv-org/changed-lint@{lint.tag('v1.0.0')} # v1.0.0",
        ),
    }


# ------------------------------------------------------------------------------- writing


def expected_files() -> dict[Path, bytes]:
    repos = build_repos()
    files: dict[Path, bytes] = {}
    for repo in repos.values():
        for rel, data in repo.render().items():
            files[FORGE / repo.slug / rel] = data
    for rel, text in build_consumer(repos).items():
        files[CONSUMER / rel] = text.encode()
    files[ADVISORIES] = (json.dumps(build_advisories(repos), indent=1) + "\n").encode()
    return files


def write() -> None:
    for path, data in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_committed_fixtures_match_the_generator() -> None:
    expected = expected_files()
    for path, data in expected.items():
        assert path.is_file(), f"{path} missing: run python tests/test_advisory_fixtures.py"
        assert path.read_bytes() == data, f"{path} differs from the generator"
    on_disk = {p for base in OWNED for p in base.rglob("*") if p.is_file()} | {ADVISORIES}
    assert on_disk == set(expected), "stray files under the advisory fixtures"


if __name__ == "__main__":
    write()
    sys.exit(0)
