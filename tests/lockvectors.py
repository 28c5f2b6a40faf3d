"""The actions-lockfile vectors (``../shared/actions-lockfile/vectors``) as emulator snapshots.

Each vector gives the upstream facts a GitHub API would answer (``facts.json``: tags,
branches, what each ref resolves to, ids, action.yml contents, releases). This module turns
them into a snapshot directory the emulator serves (refs, commits, files, ``meta.json`` with the
ids), so the real ``pinner lock`` runs against them; nothing of the vectors is copied into the
repository. It also states, in one place, how pinner's rewritten files differ from the
extension's by design: pinner adds no "managed by" header to workflows, and keeps the comment
of a ``uses:`` line it narrows.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import SHARED_DIR
from tests.forge.builder import RepoBuilder

LOCKFILE_DIR = SHARED_DIR / "actions-lockfile"
VECTORS_DIR = LOCKFILE_DIR / "vectors"
LOCKCHECK = LOCKFILE_DIR / "lockcheck"
SENTINEL = "# This workflow is managed by gh actions-lock.\n"
_COMMENT_RE = re.compile(r"^(?P<code>.*?\S)(?P<comment>\s+#.*)$")


def vector_dirs() -> list[Path]:
    """Every vector directory present (three of the ten are kept back upstream)."""
    if not VECTORS_DIR.is_dir():
        return []
    return sorted(p for p in VECTORS_DIR.iterdir() if (p / "facts.json").is_file())


@dataclass(frozen=True)
class Vector:
    """One vector: its facts, the command line, and what it must produce."""

    root: Path

    @property
    def facts(self) -> dict:
        return json.loads((self.root / "facts.json").read_text(encoding="utf-8"))

    @property
    def name(self) -> str:
        return self.root.name

    def arguments(self) -> list[str]:
        """pinner's arguments for the vector's invocation: its flags and explicit paths."""
        invocation = self.facts["invocation"].split("(", 1)[0].split()
        assert invocation[:2] == ["gh", "actions-lock"], invocation
        paths = [word for word in invocation[2:] if not word.startswith("-")]
        return [*self.facts.get("flags", []), *paths]

    def write_repository(self, target: Path) -> Path:
        """The repository before the run (``input/``), writable (the vectors are read-only)."""
        source = self.root / "input"
        target.mkdir(parents=True)
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                rel = path.relative_to(source)
                if path.is_dir():
                    (target / rel).mkdir(parents=True, exist_ok=True)
                elif path.name != ".keep":
                    (target / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, target / rel)
        return target

    def write_snapshot(self, target: Path) -> Path:
        """The emulator's snapshot for the vector's facts."""
        target.mkdir(parents=True, exist_ok=True)
        for name, repo in self.facts.get("repos", {}).items():
            write_repo_facts(target, name, repo)
        return target

    def expected_lockfile(self) -> bytes | None:
        path = self.root / "expected" / "actions.lock"
        return path.read_bytes() if path.is_file() else None

    def expected_files(self) -> dict[str, bytes]:
        """Every rewritten file as pinner writes it (see :func:`pinner_bytes`)."""
        base = self.root / "expected" / "files"
        out = {}
        for path in sorted(base.rglob("*")) if base.is_dir() else []:
            if path.is_file():
                rel = path.relative_to(base).as_posix()
                before = (self.root / "input" / rel).read_bytes()
                out[rel] = pinner_bytes(before, path.read_bytes())
        return out


def pinner_bytes(before: bytes, extension: bytes) -> bytes:
    """What pinner writes where the extension writes ``extension`` over ``before``.

    Two documented differences, nothing else: no "managed by gh actions-lock" header (pinner
    adds nothing to a workflow), and a rewritten ``uses:`` line keeps its comment (pinner
    only edits the value's bytes; the extension drops the comment).
    """
    text = extension.decode("utf-8")
    old = before.decode("utf-8")
    if text.startswith(SENTINEL) and not old.startswith(SENTINEL):
        text = text[len(SENTINEL) :]
        if text.startswith("\n") and not old.startswith(("#", "\n")):
            text = text[1:]
    new_lines = text.split("\n")
    old_lines = old.split("\n")
    assert len(new_lines) == len(old_lines), "a vector that adds or removes lines"
    for i, (was, now) in enumerate(zip(old_lines, new_lines, strict=True)):
        match = _COMMENT_RE.match(was)
        if was != now and match is not None and "#" not in now:
            new_lines[i] = now + match.group("comment")
    return "\n".join(new_lines).encode("utf-8")


def write_repo_facts(root: Path, name: str, repo: dict) -> Path:
    """One repository of a ``facts.json`` as a snapshot directory.

    Tags and branches point at their commits; a ref the facts resolve that is neither (``v6``
    when only ``v6.0.0`` is listed) becomes a tag on its commit, which is how GitHub would
    resolve it; a branch given by the commits it ``contains`` gets a head commit whose
    parents are those. ``action_yml`` sits at the root of every resolved commit, and
    ``action_yml_by_path`` under each path.
    """
    builder = RepoBuilder(name, default_branch=repo.get("default_branch", "main"))
    commits: dict[str, dict] = {}

    history = repo.get("parents", {})

    def commit(sha: str, parents: tuple[str, ...] = ()) -> str:
        parents = parents or tuple(history.get(sha, ()))
        for parent in parents:
            commit(parent)
        if sha not in commits:
            commits[sha] = {"sha": sha, "parents": list(parents), "date": "2024-01-01T00:00:00Z"}
            builder.commits.append(commits[sha])
        return sha

    for tag in repo.get("tags", []):
        builder.light_tag(tag["name"], commit(tag["sha"]))
    for branch in repo.get("branches", []):
        if "sha" in branch:
            builder.branch(branch["name"], commit(branch["sha"]))
        else:
            parents = tuple(commit(sha) for sha in branch.get("contains", []))
            head = commit(_fake(f"{name}:{branch['name']}"), parents)
            builder.branch(branch["name"], head)
    names = {r["ref"].split("/", 2)[2] for r in builder.refs}
    for ref, sha in repo.get("resolve", {}).items():
        commit(sha)
        if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", ref) and ref not in names:
            builder.light_tag(ref, sha)
        if "action_yml" in repo:
            builder.file(sha, "action.yml", repo["action_yml"])
        for path, body in repo.get("action_yml_by_path", {}).items():
            builder.file(sha, f"{path.strip('/')}/action.yml", body)
    if "releases" in repo:
        builder.releases = [
            {
                "tag_name": r["tag_name"],
                "name": r["tag_name"],
                "draft": False,
                "prerelease": False,
                "published_at": r.get("published_at"),
                "immutable": r.get("immutable", False),
                "assets": [],
            }
            for r in repo["releases"]
        ]
    written = builder.write(root)
    meta = {k: repo[k] for k in ("repo_id", "owner_id", "full_name") if k in repo}
    (written / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return written


def _fake(label: str) -> str:
    import hashlib

    return hashlib.sha1(label.encode()).hexdigest()


def lockcheck(path: Path) -> dict:
    """GitHub's parser on ``path``: its JSON when it accepts the file; AssertionError with
    its message when it refuses it."""
    done = subprocess.run(
        [str(LOCKCHECK), str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"lockcheck refuses {path}: {done.stdout}{done.stderr}"
    return json.loads(done.stdout)


def lockcheck_accepts(data: bytes, tmp: Path) -> tuple[bool, str]:
    """Whether GitHub's parser accepts ``data`` (and its message when it does not)."""
    path = tmp / "candidate.lock"
    path.write_bytes(data)
    done = subprocess.run(
        [str(LOCKCHECK), str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode == 0, done.stdout.strip()
