"""Which files in the user's tree pinner reads: workflows and in-repo actions.

GitHub runs ``.github/workflows/*.yml`` and ``*.yaml`` at the top level of that directory only
(files in subdirectories are never run), and an in-repo action is any ``action.yml`` /
``action.yaml`` (``uses: ./path``). Discovery follows exactly that; an explicitly named file is
always taken, whatever its name.

Symlinks are where a scan can escape the repository or loop forever, so none is followed
blindly: a link that loops, or that resolves outside the repository root, is skipped and
reported; a link to a file inside the root is read through its target (written back to the
target too, so the link stays a link); a directory link inside the root is not descended into
(its target is scanned in place anyway).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pinner.errors import InputError

log = logging.getLogger(__name__)

SKIP_DIRS = frozenset({".git", "node_modules"})
WORKFLOW_SUFFIXES = (".yml", ".yaml")
ACTION_NAMES = frozenset({"action.yml", "action.yaml"})


@dataclass(frozen=True, slots=True)
class DiscoveredFile:
    """A file to read: where it really is, and how to name it to the user."""

    path: Path  # absolute and resolved: where to read from and write to
    relpath: str  # relative to root, forward slashes, as found (a symlink keeps its own name)
    kind: str  # "workflow" or "action"
    root: Path  # the repository root relpath is relative to


@dataclass(frozen=True, slots=True)
class SkippedPath:
    """A path discovery refused to follow, and why (symlink loop, link out of the root)."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: skipped: {self.reason}"


OnSkip = Callable[[SkippedPath], None]


def _default_on_skip(skipped: SkippedPath) -> None:
    log.warning("%s", skipped)


def kind_of(path: Path) -> str:
    """``"action"`` for ``action.yml``/``action.yaml``, else ``"workflow"``."""
    return "action" if path.name in ACTION_NAMES else "workflow"


def find_root(path: Path) -> Path:
    """The repository root for a single file: the git root above it, else the directory that
    holds ``.github/workflows``, else the file's own directory."""
    path = Path(os.path.abspath(path))
    git_root = _git_root(path.parent)
    if git_root is not None:
        return git_root
    parts = path.parts
    for i in range(len(parts) - 2, 0, -1):
        if parts[i] == ".github" and i + 1 < len(parts) - 1 and parts[i + 1] == "workflows":
            return Path(*parts[:i])
    return path.parent


def _resolve(link: Path) -> Path | str:
    """Resolved path, or the reason it cannot be followed."""
    try:
        return link.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports loops this way
        return "symlink loop"
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            return "symlink loop"
        return f"broken symlink ({exc.strerror or exc})"


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolves_inside(path: Path, root: Path) -> bool:
    """Whether ``path``, every symlink on the way followed, stays inside ``root``: a file the
    user's repository names (a local action, a Dockerfile) is never read from outside it.
    False for a symlink loop; a path that does not exist is judged by where it would be."""
    try:
        return _inside(path.resolve(), root.resolve())
    except (OSError, RuntimeError):  # loops (RuntimeError before Python 3.13)
        return False


class _Collector:
    def __init__(self, on_skip: OnSkip) -> None:
        self._on_skip = on_skip
        self.skipped: set[Path] = set()
        self.seen: set[Path] = set()
        self.files: list[DiscoveredFile] = []
        self.matched = 0  # candidates accepted, found before through another path too

    def on_skip(self, skipped: SkippedPath) -> None:
        """Report each refused path once, however many ways discovery reached it."""
        if skipped.path not in self.skipped:
            self.skipped.add(skipped.path)
            self._on_skip(skipped)

    def add(
        self,
        candidate: Path,
        root: Path,
        kind: str,
        real_dir: Path | None = None,
        relpath: str | None = None,
    ) -> None:
        """Add a file found under ``root`` (resolving symlinks safely).

        ``real_dir`` is the resolved directory ``candidate`` was listed in, when the caller has
        it: a file there that is no symlink is then ``real_dir / name`` without resolving every
        component of its path again (a few hundred files cost dozens of ``lstat`` calls each).
        ``relpath`` is ``candidate`` relative to ``root``, when the caller worked it out already.
        """
        if relpath is None:
            relpath = candidate.relative_to(root).as_posix()
        real: Path | str
        if candidate.is_symlink():
            real = _resolve(candidate)
            if isinstance(real, str):
                self.on_skip(SkippedPath(candidate, real))
                return
            if not _inside(real, root.resolve()):
                self.on_skip(
                    SkippedPath(candidate, f"symlink points outside the repository root ({real})")
                )
                return
            if not real.is_file():
                return
        elif real_dir is not None:
            real = real_dir / candidate.name
        else:
            real = candidate.resolve()
        self.matched += 1
        if real in self.seen:
            return
        self.seen.add(real)
        self.files.append(DiscoveredFile(real, relpath, kind, root))


def _safe_dir(directory: Path, root: Path, on_skip: OnSkip) -> bool:
    """True when ``directory`` can be listed without leaving ``root`` or looping."""
    if not directory.is_symlink():
        return directory.is_dir()
    real = _resolve(directory)
    if isinstance(real, str):
        on_skip(SkippedPath(directory, real))
        return False
    if not _inside(real, root.resolve()):
        on_skip(SkippedPath(directory, f"symlink points outside the repository root ({real})"))
        return False
    return real.is_dir()


def _discover_dir(scope: Path, root: Path, collector: _Collector) -> None:
    found: list[tuple[str, Path, str, Path]] = []
    workflows = root / ".github" / "workflows"
    in_scope = _inside(workflows, scope) or _inside(scope, workflows)
    if (
        in_scope
        and _safe_dir(root / ".github", root, collector.on_skip)
        and _safe_dir(workflows, root, collector.on_skip)
    ):
        real_workflows = workflows.resolve()  # .github or workflows may be a link in the root
        for entry in sorted(os.scandir(workflows), key=lambda e: e.name):
            if entry.name.endswith(WORKFLOW_SUFFIXES) and (entry.is_symlink() or entry.is_file()):
                candidate = workflows / entry.name
                relpath = candidate.relative_to(root).as_posix()
                found.append((relpath, candidate, "workflow", real_workflows))
    actions: list[tuple[str, Path, str, Path]] = []
    real_scope = scope.resolve()
    for dirpath, dirnames, filenames in os.walk(scope, followlinks=False):
        current = Path(dirpath)
        kept = []
        for name in sorted(dirnames):
            if name in SKIP_DIRS:
                continue
            sub = current / name
            if sub.is_symlink():
                # not descended into; report only links that loop or leave the root
                real = _resolve(sub)
                if isinstance(real, str):
                    collector.on_skip(SkippedPath(sub, real))
                elif not _inside(real, root.resolve()):
                    collector.on_skip(
                        SkippedPath(sub, f"symlink points outside the repository root ({real})")
                    )
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            if name in ACTION_NAMES:
                candidate = current / name
                relpath = candidate.relative_to(root).as_posix()
                # os.walk descends into no symlinked directory: below scope nothing is a link
                real_current = real_scope / current.relative_to(scope)
                actions.append((relpath, candidate, "action", real_current))
    for relpath, candidate, kind, real_dir in sorted(found) + sorted(actions):
        collector.add(candidate, root, kind, real_dir, relpath)


def discover(
    paths: Sequence[Path], *, on_skip: OnSkip | None = None, require: bool = False
) -> list[DiscoveredFile]:
    """Every workflow and action file under ``paths`` (directories or files), deduplicated.

    Order is deterministic: arguments in the order given; within a directory, workflows
    sorted by name, then actions sorted by relative path. A directory is its own repository
    root, except ``.github`` or ``.github/workflows`` themselves, whose root is the directory
    holding ``.github``. A file's root is the git root above it (see :func:`find_root`).
    Symlinks found while walking that loop or leave the root are skipped and go to
    ``on_skip`` (default: a logged warning). Raises :class:`InputError` for a path that does
    not exist, and for a file named explicitly that is such a symlink (the user asked for that
    very file: skipping it silently would look like success).

    With ``require`` (what every command passes), a directory under which nothing is found is
    an :class:`InputError` too (:class:`NoFilesFound`): a wrong directory or a typo must never
    look like a clean repository, least of all to ``pin --check`` gating a CI job.
    """
    collector = _Collector(on_skip or _default_on_skip)
    for given in paths or [Path(".")]:
        before = collector.matched
        path = Path(os.path.abspath(given))  # normalise "..", keep symlinks as written
        if not path.exists() and not path.is_symlink():
            raise InputError("no such file or directory", path=str(given))
        if path.is_dir():
            root = path
            if path.name == "workflows" and path.parent.name == ".github":
                root = path.parent.parent
            elif path.name == ".github":
                root = path.parent
            _refuse_unsafe_link(path, _git_root(path) or root, given)
            _discover_dir(path, root, collector)
        else:
            root = find_root(path)
            _refuse_unsafe_link(path, root, given)
            collector.add(path, root, kind_of(path))
        if require and collector.matched == before:
            raise NoFilesFound(given)
    return collector.files


def _git_root(path: Path) -> Path | None:
    """The nearest directory at or above ``path`` (as written, links not followed) that holds
    ``.git``, or None."""
    for candidate in (path, *path.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


class NoFilesFound(InputError):
    """A path under which discovery found no workflow and no action file (exit 2)."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"no workflow or action files under {path} (pinner reads "
            ".github/workflows/*.yml, *.yaml and every action.yml / action.yaml)"
        )
        self.given = path


def _refuse_unsafe_link(path: Path, root: Path, given: Path) -> None:
    """A path named on the command line that is a looping symlink, or that leads outside its
    repository (through its own symlink or through a symlinked directory on its way), is an
    input error (exit 2), not a warning: the user asked for exactly that path, and pinner
    would read and write wherever the link leads."""
    if path.is_symlink():
        real = _resolve(path)
        if isinstance(real, str):
            raise InputError(f"{real}; refusing to read it", path=str(given))
    else:
        real = path.resolve()
    if not _inside(real, root.resolve()):
        raise InputError(
            f"symlink points outside the repository root ({real}); refusing to read it",
            path=str(given),
        )
