"""Reading GitHub's actions lockfile, with the rules of its official parser.

The runner, ``gh actions-lock``, Dependabot and Renovate all read ``actions.lock`` through one
Go parser (github/actions-lockfile ``go/pkg/lockfile``). pinner reads it with the same rules
(``../shared/actions-lockfile/NOTES.md`` section 10), so a file pinner accepts is one GitHub
accepts, and a file GitHub would refuse is refused here too, with its line, before pinner
builds anything on it (exit 2: a broken lockfile is bad input, like malformed YAML):

* both schema versions: ``v0.0.2``, and ``v0.0.1`` migrated as the parser does (``tag``, else
  ``branch``, else the key's ref becomes ``ref``; the legacy ``:sha1-<hex>`` suffix is
  dropped from keys and lists); a newer version is refused with its own message;
* pin keys ``owner/repo@ref`` (split at the first ``@``, exactly one ``/``, no ``:`` in the
  ref), owner and repository case-folded, the ref kept as written; two spellings of one key
  merge when their bodies agree;
* every entry complete (``ref``, ``commit`` as ``sha1-``/``sha256-`` hex, positive integer ids)
  and consistent with its key (``ref`` equals the key's ref, except for a full-SHA key whose
  ``commit`` must then be that SHA);
* safe workflow paths, no unknown fields, no duplicate keys, no ``uses`` cycle.

What the parser lets through but a lockfile cannot mean (an entry with a ``null`` body, a
list naming a key that has no entry) is read as it is: :mod:`pinner.core.lock` reports it.
"""

from __future__ import annotations

import re
from pathlib import Path

from pinner.errors import InputError
from pinner.formats.lockfile import LOCKFILE_PATH, VERSION, LockEntry, Lockfile
from pinner.models import ActionRef
from pinner.sources.yamlsafe import MappingNode, Node, ScalarNode, SequenceNode, compose, decode

MAX_BYTES = 1 << 20
"""The official parser refuses a lockfile over 1 MiB before reading it."""

LEGACY_VERSION = "v0.0.1"
_DIGEST_RE = re.compile(r"^(?:sha1-[0-9a-fA-F]{40}|sha256-[0-9a-fA-F]{64})$", re.IGNORECASE)
_FULL_SHA_RE = re.compile(r"^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")
_LEGACY_SUFFIX_RE = re.compile(r":(?:sha1|sha256)-[0-9a-f]+$")
_ID_RE = re.compile(r"^[+-]?[0-9]+$")
_SEMVER_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)")
_FIELDS = {
    VERSION: ("ref", "commit", "owner_id", "repo_id", "uses"),
    LEGACY_VERSION: ("tag", "branch", "commit", "owner_id", "repo_id", "uses"),
}
_CONTROL_RE = re.compile("[\x00-\x1f\x7f]")


# ----------------------------------------------------------------------------- pin keys


def split_pin(text: str) -> tuple[str, str, str] | None:
    """``owner/repo@ref`` -> (owner, repo, ref) as the parser splits it; None if invalid.

    The first ``@`` ends the repository (so ``a/b@predicate@1.1.4`` has the ref
    ``predicate@1.1.4``); the part before it has exactly one ``/``; the ref is not empty and
    has no ``:``. A sub-path (``owner/repo/path@ref``) is not a pin: the lockfile pins whole
    repositories at a ref.
    """
    name, at, ref = text.partition("@")
    if not at or not ref or ":" in ref or name.count("/") != 1:
        return None
    owner, repo = name.split("/")
    if not owner or not repo:
        return None
    return owner, repo, ref


def pin_key(owner: str, repo: str, ref: str) -> str:
    """The canonical key: owner and repository case-folded (GitHub's names are
    case-insensitive), the ref as written (refs are case-sensitive)."""
    return f"{owner.lower()}/{repo.lower()}@{ref}"


def key_of(action: ActionRef, ref: str | None = None) -> str:
    """The key a ``uses:`` reference is locked under: its repository at its ref, whatever
    sub-path it names (the runner downloads ``owner/repo@ref`` once for all of them)."""
    return pin_key(action.owner, action.repo, action.ref if ref is None else ref)


def canonical_pin(text: str) -> str | None:
    """``text`` as a canonical key, or None when it is no valid pin."""
    parts = split_pin(text)
    return pin_key(*parts) if parts is not None else None


def key_ref(key: str) -> str:
    """The ref part of a canonical key."""
    return key.partition("@")[2]


def key_repo(key: str) -> str:
    """The ``owner/repo`` part of a canonical key (case-folded)."""
    return key.partition("@")[0]


def is_workflow_file(relpath: str) -> bool:
    """``.github/workflows/NAME.y{a,}ml``: the files GitHub runs, and the lockfile lists."""
    parts = relpath.split("/")
    return (
        len(parts) == 3
        and parts[:2] == [".github", "workflows"]
        and relpath.endswith((".yml", ".yaml"))
    )


def is_full_sha(ref: str) -> bool:
    """A 40- or 64-hex ref: a commit, not a name (the lockfile's SHA keys)."""
    return bool(_FULL_SHA_RE.match(ref))


# ----------------------------------------------------------------------------- reading


def read_lockfile(root: Path) -> Lockfile | None:
    """The lockfile of the repository at ``root``, or None when it has none.

    Raises :class:`InputError` (exit 2) naming the line when GitHub's parser would refuse it.
    """
    data = read_lockfile_bytes(root)
    return parse_lockfile(data) if data is not None else None


def read_lockfile_bytes(root: Path) -> bytes | None:
    """The bytes of the repository's lockfile, or None when it has none; a directory in its
    place is an input error (exit 2), never taken for "no lockfile"."""
    try:
        return (root / LOCKFILE_PATH).read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise InputError("is a directory, not a lockfile", path=LOCKFILE_PATH) from None


def parse_lockfile(data: bytes, *, source: str = LOCKFILE_PATH) -> Lockfile:
    """Parse lockfile bytes (either schema version) into a v0.0.2 :class:`Lockfile`."""
    return _Reader(source).read(data)


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str, node: Node | None = None) -> InputError:
        return InputError(
            f"not a valid actions lockfile: {message}",
            path=self.source,
            line=node.line if node is not None else None,
        )

    def read(self, data: bytes) -> Lockfile:
        if len(data) > MAX_BYTES:
            raise self.fail(f"lockfile too large: {len(data)} bytes (max {MAX_BYTES})")
        text, _ = decode(data, source=self.source, max_bytes=MAX_BYTES)
        root = compose(text, source=self.source)
        if root is None or (isinstance(root, ScalarNode) and root.value in ("", "~", "null")):
            raise self.fail("dependency lockfile version is required")
        if not isinstance(root, MappingNode):
            raise self.fail("expected a mapping at the top level", root)
        sections = self.unique_pairs(root, "lockfile field")
        for name, (key, _) in sections.items():
            if name not in ("version", "workflows", "dependencies"):
                raise self.fail(f"unknown lockfile field {name!r}", key)
        version = self.version(sections.get("version"), root)
        workflows = self.workflows(sections.get("workflows"), version)
        dependencies = self.dependencies(sections.get("dependencies"), version)
        lockfile = Lockfile(workflows=workflows, dependencies=dependencies, version=version)
        self.refuse_cycles(lockfile, sections.get("dependencies"))
        return lockfile

    # -- helpers

    def unique_pairs(self, mapping: MappingNode, what: str) -> dict[str, tuple[Node, Node]]:
        out: dict[str, tuple[Node, Node]] = {}
        for key, value in mapping.pairs:
            name = self.text(key, what)
            if name in out:
                raise self.fail(f"{what} {name!r} is defined twice", key)
            out[name] = (key, value)
        return out

    def text(self, node: Node, what: str) -> str:
        if not isinstance(node, ScalarNode):
            raise self.fail(f"{what} must be a scalar", node)
        return node.value

    @staticmethod
    def is_null(node: Node | None) -> bool:
        return node is None or (
            isinstance(node, ScalarNode) and not node.style and node.value in ("", "~", "null")
        )

    # -- sections

    def version(self, pair: tuple[Node, Node] | None, root: Node) -> str:
        if pair is None or self.is_null(pair[1]):
            raise self.fail("dependency lockfile version is required", root)
        node = pair[1]
        value = self.text(node, "version")
        if value in (VERSION, LEGACY_VERSION):
            return value
        newer = _SEMVER_RE.match(value)
        if newer and tuple(int(n) for n in newer.groups()) > (0, 0, 2):
            raise self.fail(
                f"lockfile version {value} is newer than pinner supports ({VERSION}); upgrade "
                "pinner",
                node,
            )
        raise self.fail(f"unsupported dependency lockfile version {value!r}", node)

    def pin(self, node: Node, version: str, what: str) -> str:
        text = self.text(node, what)
        if version == LEGACY_VERSION:
            text = _LEGACY_SUFFIX_RE.sub("", text)
        key = canonical_pin(text)
        if key is None:
            raise self.fail(f"{text!r} is not a valid pin (expected OWNER/REPO@REF)", node)
        return key

    def pins(self, node: Node | None, version: str, what: str) -> tuple[str, ...]:
        if self.is_null(node):
            return ()
        if not isinstance(node, SequenceNode):
            raise self.fail(f"{what} must be a list of pins", node)
        return tuple(self.pin(item, version, what) for item in node.items)

    def workflows(self, pair: tuple[Node, Node] | None, version: str) -> dict[str, tuple[str, ...]]:
        if pair is None or self.is_null(pair[1]):
            return {}
        node = pair[1]
        if not isinstance(node, MappingNode):
            raise self.fail("workflows must be a mapping of workflow paths", node)
        out: dict[str, tuple[str, ...]] = {}
        for path, (key, value) in self.unique_pairs(node, "workflow").items():
            problem = workflow_path_problem(path)
            if problem is not None:
                raise self.fail(f"workflow path {path!r} {problem}", key)
            out[path] = self.pins(value, version, f"the list of {path}")
        return out

    def dependencies(
        self, pair: tuple[Node, Node] | None, version: str
    ) -> dict[str, LockEntry | None]:
        if pair is None or self.is_null(pair[1]):
            return {}
        node = pair[1]
        if not isinstance(node, MappingNode):
            raise self.fail("dependencies must be a mapping of pin keys", node)
        out: dict[str, LockEntry | None] = {}
        seen: dict[str, Node] = {}
        for key_node, body in node.pairs:
            key = self.pin(key_node, version, "dependency key")
            entry = self.entry(key, body, version)
            if key in out:
                if out[key] != entry:
                    raise self.fail(
                        f"duplicate action key {key!r} after canonicalization with differing "
                        f"metadata (first defined at line {seen[key].line})",
                        key_node,
                    )
                if self.text(key_node, "key") == self.text(seen[key], "key"):
                    raise self.fail(f"duplicate dependency key {key!r}", key_node)
                continue
            out[key] = entry
            seen[key] = key_node
        return out

    def entry(self, key: str, body: Node, version: str) -> LockEntry | None:
        if self.is_null(body):
            return None  # the parser lets this through unchecked; pinner: not locked
        if not isinstance(body, MappingNode):
            raise self.fail(f"dependency {key!r} must be a mapping", body)
        fields = self.unique_pairs(body, "action field")
        for name, (field_node, _) in fields.items():
            if name not in _FIELDS[version]:
                raise self.fail(f"unknown action field {name!r} in {key!r}", field_node)
        for name in ("commit", "owner_id", "repo_id", *(("ref",) if version == VERSION else ())):
            if name not in fields:
                raise self.fail(f"missing required action field {name!r} in {key!r}", body)
        pinned = key_ref(key)
        if version == VERSION:
            ref = self.string_field(fields, "ref", key)
        elif is_full_sha(pinned):  # v0.0.1: the parser's migration, tag else branch else key
            ref = self.legacy_ref(fields, "tag") or self.legacy_ref(fields, "branch") or pinned
        else:
            # v0.0.1 never required ``tag`` to equal the key's ref (``@v4`` with ``tag:
            # v4.2.1``); v0.0.2 does, so the entry is read as what the key says
            ref = pinned
        commit = self.string_field(fields, "commit", key)
        if not _DIGEST_RE.match(commit):
            raise self.fail(
                f"commit {commit!r} of {key!r} must be an algo-hex digest (sha1-<40 hex> or "
                "sha256-<64 hex>)",
                fields["commit"][1],
            )
        owner_id = self.id_field(fields, "owner_id", key)
        repo_id = self.id_field(fields, "repo_id", key)
        uses = self.pins(fields["uses"][1] if "uses" in fields else None, version, f"uses of {key}")
        if version == VERSION:
            if is_full_sha(pinned):
                if commit.partition("-")[2].lower() != pinned.lower():
                    raise self.fail(
                        f"pin key ref is a full SHA ({pinned}) but commit digest {commit} does "
                        "not match",
                        fields["commit"][1],
                    )
            elif ref != pinned:
                raise self.fail(
                    f"action body ref {ref!r} does not match pin key ref {pinned!r} for "
                    f"dependency {key!r}",
                    fields["ref"][1],
                )
        return LockEntry(ref, commit, owner_id, repo_id, uses)

    def string_field(self, fields: dict[str, tuple[Node, Node]], name: str, key: str) -> str:
        node = fields[name][1]
        if not isinstance(node, ScalarNode):
            raise self.fail(f"{name} of {key!r} must be a string", node)
        if not node.value:
            raise self.fail(f"{name} of {key!r} must not be empty", node)
        return node.value

    def legacy_ref(self, fields: dict[str, tuple[Node, Node]], name: str) -> str:
        node = fields[name][1] if name in fields else None
        if node is None or self.is_null(node):
            return ""
        if not isinstance(node, ScalarNode):
            raise self.fail(f"{name} must be a string", node)
        return node.value

    def id_field(self, fields: dict[str, tuple[Node, Node]], name: str, key: str) -> int:
        node = fields[name][1]
        if not isinstance(node, ScalarNode) or node.style:
            raise self.fail(f"{name} of {key!r} must be an integer", node)
        value = int(node.value) if _ID_RE.match(node.value) else 0
        if not 0 < value < 1 << 63:
            raise self.fail(f"{name} of {key!r} must be a positive integer", node)
        return value

    def refuse_cycles(self, lockfile: Lockfile, pair: tuple[Node, Node] | None) -> None:
        cycle = uses_cycle(lockfile)
        if cycle is not None:
            raise self.fail(
                f"uses cycle detected at dependency {cycle!r}", pair[0] if pair else None
            )


def workflow_path_problem(path: str) -> str | None:
    """Why the parser refuses ``path`` as a workflow key, or None: keys are used as file
    paths by whoever reads the lockfile, so only plain repository-relative ones pass."""
    if not path:
        return "is empty"
    if path.startswith("/"):
        return "is absolute"
    if _CONTROL_RE.search(path):
        return "contains a control character"
    if "\\" in path or ":" in path:
        return "contains '\\\\' or ':'"
    if ".." in path.split("/"):
        return "contains a '..' segment"
    return None


def uses_cycle(lockfile: Lockfile) -> str | None:
    """A key on a ``uses`` cycle (the parser refuses cycles: the runner could never run
    one), or None."""
    deps = lockfile.dependencies
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for start in sorted(deps):
        if state.get(start):
            continue
        stack: list[tuple[str, list[str]]] = [(start, list(_children(deps, start)))]
        state[start] = 1
        while stack:
            key, todo = stack[-1]
            if not todo:
                state[key] = 2
                stack.pop()
                continue
            child = todo.pop()
            if state.get(child) == 1:
                return child
            if not state.get(child):
                state[child] = 1
                stack.append((child, list(_children(deps, child))))
    return None


def _children(deps: dict[str, LockEntry | None] | object, key: str) -> tuple[str, ...]:
    entry = deps.get(key)  # type: ignore[attr-defined]
    return entry.uses if entry is not None else ()
