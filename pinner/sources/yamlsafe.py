"""Guarded YAML: turn untrusted bytes into a small node tree with exact character positions.

Workflows come from the user's repository and, during ``audit``, from any repository on the
internet. Both can be hostile or merely broken, so nothing reaches the parser unguarded:

* size is capped before reading (a 50 MB file is refused from ``stat``, not after reading it);
* NUL bytes (binary files) and invalid UTF-8 are refused with the line of the first bad byte;
* nesting depth is capped while the event stream is consumed: libyaml's composer recurses in C
  (a 100k-deep ``[[[[`` crashes the interpreter) and its scanner is quadratic in flow depth, so
  the depth check must run *on the event stream*, aborting as soon as the limit is crossed;
* the number of nodes is capped (memory stays bounded whatever the file holds);
* a key given twice in one mapping is refused, with both lines: GitHub rejects such a file,
  and which value a tool would read (pinner used to pin the second ``uses:`` and leave the
  first) is anyone's guess;
* alias expansion is counted as events arrive (billion laughs is refused after a few hundred
  events, without ever materialising anything), and recursive aliases are refused.

We compose our own nodes from ruamel.yaml's event stream instead of using its composer: one pass
gives the guards above, exact ``[start, end)`` character offsets for every scalar (the anchor or
tag before a scalar is *not* part of its span, unlike ruamel's marks), and no dependency on the
round-trip loader, which is 25x slower. When ruamel.yaml's libyaml binding (``ruamel.yaml.clibz``
or ``ruamel.yaml.clib``) is installed the events come from C; otherwise from the pure-Python
parser with identical results, only slower.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import events as ev
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.loader import BaseLoader as _PureLoader

from pinner.errors import InputError

try:  # libyaml binding: ~20x faster event stream. The bare parser, not ``CBaseLoader``: only
    # events are read, and the loader's constructor and resolver cost ~10 us per file to set up
    from ruamel.yaml.cyaml import CParser as _CLoader  # type: ignore[attr-defined]
except Exception:  # pragma: no cover - depends on the installed extras
    _CLoader = None

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Largest workflow/action file pinner reads. Real ones are a few KiB; 10 MiB is generous."""

MAX_DEPTH = 128
"""Deepest collection nesting accepted. Real workflows stay below 10."""

MAX_NODES = 500_000
"""Most distinct nodes in one document: bounds memory (a 10 MiB file of ``- a`` lines would be
2.6 million nodes). Real workflows have a few thousand."""

ALIAS_BUDGET = 100_000
"""Nodes that aliases may add on top of twice the document's own nodes (billion laughs guard)."""

HAS_LIBYAML = _CLoader is not None


# ----------------------------------------------------------------------------- nodes


@dataclass(slots=True, eq=False)
class Node:
    """A composed YAML node. Offsets are character offsets into the decoded text (no BOM).

    ``start`` is where the node's own content begins (after any anchor or tag), ``end`` is one
    past its last character. ``line`` and ``column`` are 1-based and refer to ``start``.
    """

    start: int
    end: int
    line: int
    column: int
    anchor: str | None


@dataclass(slots=True, eq=False)
class ScalarNode(Node):
    value: str
    style: str  # "" plain, "'" or '"' quoted, "|" or ">" block
    tag: str | None = None


@dataclass(slots=True, eq=False)
class SequenceNode(Node):
    flow: bool
    items: list[Node] = field(default_factory=list)
    tag: str | None = None


@dataclass(slots=True, eq=False)
class MappingNode(Node):
    flow: bool
    pairs: list[tuple[Node, Node]] = field(default_factory=list)
    tag: str | None = None

    def get(self, key: str) -> Node | None:
        """The value of the string ``key`` (a key given twice is refused while composing)."""
        found = None
        for k, v in self.pairs:
            if isinstance(k, ScalarNode) and k.value == key:
                found = v
        return found


# ----------------------------------------------------------------------------- bytes -> text


def read_bytes_capped(path: Path, *, source: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Read a regular file, refusing anything over ``max_bytes`` *before* reading it.

    The size is checked on the open descriptor (no race with a swap between stat and open) and
    the read itself is bounded too, in case the file grows while we read it.
    """
    try:
        # O_NONBLOCK: opening a FIFO must not hang waiting for a writer (no effect on files)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InputError("no such file", path=source) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a YAML file", path=source) from None
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror or exc}", path=source) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file (device, FIFO or socket)", path=source)
        if st.st_size > max_bytes:
            raise InputError(
                f"file is {st.st_size:,} bytes, over the {max_bytes:,}-byte limit", path=source
            )
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=source) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise InputError(f"file is over the {max_bytes:,}-byte limit", path=source)
    return data


def decode(data: bytes, *, source: str, max_bytes: int = MAX_FILE_BYTES) -> tuple[str, bool]:
    """UTF-8 bytes -> (text without BOM, had_bom). Refuses binary and non-UTF-8 input.

    Line endings are left exactly as they are: offsets into the returned text are what a
    rewrite splices, and CRLF files must stay CRLF.
    """
    if len(data) > max_bytes:
        raise InputError(
            f"file is {len(data):,} bytes, over the {max_bytes:,}-byte limit", path=source
        )
    nul = data.find(b"\x00")
    if nul != -1:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputError("UTF-16 text is not supported, save the file as UTF-8", path=source)
        line = data.count(b"\n", 0, nul) + 1
        raise InputError("binary file (NUL byte), expected UTF-8 YAML", path=source, line=line)
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"not valid UTF-8 (byte 0x{body[exc.start]:02x}); pinner reads UTF-8 only",
            path=source,
            line=line,
        ) from None
    return text, bom


def dominant_newline(text: str) -> str:
    """``"\\r\\n"`` when most line breaks are CRLF, else ``"\\n"``: used for inserted text."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


# ----------------------------------------------------------------------------- composing


def _content_start(text: str, start: int, end: int, has_props: bool) -> int:
    """Skip ``&anchor`` and ``!tag`` properties that ruamel includes in a node's start mark."""
    if not has_props:
        return start
    pos = start
    n = min(end, len(text))
    while pos < n and text[pos] in "&!":
        while pos < n and text[pos] not in " \t\r\n":
            pos += 1
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
    return pos


def _error_line(exc: YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def _one_line(message: str) -> str:
    return " ".join(message.split())


def compose(text: str, *, source: str) -> Node | None:
    """Parse one YAML document into nodes, with every guard applied. ``None`` for empty input.

    Raises :class:`InputError` (exit 2) with the file and line for malformed YAML, too-deep
    nesting, alias bombs, recursive aliases, multi-document streams and duplicate keys.
    """
    try:
        return _compose_events(text, source=source, loader_cls=_CLoader or _PureLoader)
    except InputError:
        raise
    except MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "malformed YAML"
        raise InputError(
            f"malformed YAML: {_one_line(str(problem))}", path=source, line=_error_line(exc)
        ) from None
    except YAMLError as exc:
        raise InputError(f"malformed YAML: {_one_line(str(exc))}", path=source) from None
    except RecursionError:  # pure parser on pathological input
        raise InputError("YAML nesting too deep", path=source) from None
    except UnicodeError:
        raise InputError("text is not valid Unicode (lone surrogate?)", path=source) from None
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        # the parser's own failure on input it should have rejected cleanly: still the
        # input's fault as far as the user is concerned, so no traceback
        raise InputError(f"cannot parse YAML ({type(exc).__name__})", path=source) from None


def _compose_events(text: str, *, source: str, loader_cls: Any) -> Node | None:
    loader = loader_cls(text)
    try:
        return _ComposeState(text, source).run(loader.get_event)
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose is not None:
            dispose()


def iter_events(text: str) -> Iterator[Any]:
    """ruamel.yaml events for ``text`` (libyaml when available), without composing nodes.

    For text that already passed :func:`compose` (or differs from such text only in scalar
    values and comments): the rewrite compares old and new event streams with it. Raises
    ruamel.yaml's ``YAMLError`` on malformed input.
    """
    loader = (_CLoader or _PureLoader)(text)
    end_t = ev.StreamEndEvent
    try:
        while True:
            event = loader.get_event()
            yield event
            if type(event) is end_t:
                return
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose is not None:
            dispose()


def scalar_start(text: str, event: Any) -> int:
    """Where a scalar event's content starts: after its ``&anchor`` / ``!tag``, if any."""
    has_props = event.anchor is not None or event.tag is not None
    return _content_start(text, event.start_mark.index, event.end_mark.index, has_props)


def _position(text: str, start: int) -> tuple[int, int]:
    """1-based (line, column) of offset ``start`` (for nodes whose mark ruamel puts elsewhere)."""
    return text.count("\n", 0, start) + 1, start - (text.rfind("\n", 0, start) + 1) + 1


_TAG_SLOT = "ctag" if "ctag" in getattr(ev.ScalarEvent, "__slots__", ()) else "tag"
"""ruamel.yaml 0.18+ keeps an event's raw tag in ``ctag`` and derives ``tag`` through a property;
reading the slot skips a Python call per event (``str()`` is applied to the rare tagged one)."""


class _ComposeState:
    """Builds nodes from events while enforcing depth and alias-expansion limits.

    This loop runs once per event of every file read (about half of the CPU of reading a
    workflow is spent here, the other half creating the events), so it is written for
    CPython: counters and limits are locals, the common events come first, and a scalar
    without anchor or tag costs one node and nothing else.
    """

    __slots__ = ("anchors", "sizes", "source", "text")

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.anchors: dict[str, Node | None] = {}  # None: anchor still being composed
        self.sizes: dict[int, int] = {}  # id(node) -> expanded node count, for anchored nodes

    def _fail(self, message: str, mark: Any) -> InputError:
        return InputError(message, path=self.source, line=mark.line + 1 if mark else None)

    def _refuse_duplicate(self, pairs: list[tuple[Node, Node]]) -> None:
        """Raise for the first key given twice in one mapping: GitHub rejects the file (and
        which of the two values a tool reads is anyone's guess), so it is malformed input.
        (Fewer distinct plain keys than pairs may also mean keys that are collections.)"""
        seen: dict[str, ScalarNode] = {}
        for key, _ in pairs:
            if type(key) is not ScalarNode:
                continue
            first = seen.setdefault(key.value, key)
            if first is not key:
                name = key.value if len(key.value) <= 60 else key.value[:60] + "..."
                raise InputError(
                    f"duplicate key {name!r} in one mapping (lines {first.line} and "
                    f"{key.line}): GitHub rejects a workflow with a key given twice",
                    path=self.source,
                    line=key.line,
                )

    def run(self, next_event: Any) -> Node | None:
        text = self.text
        anchors, sizes = self.anchors, self.sizes
        max_nodes, max_depth, alias_budget = MAX_NODES, MAX_DEPTH, ALIAS_BUDGET  # per call
        tag_slot = _TAG_SLOT
        root: Node | None = None
        documents = 0
        distinct = expanded = 0  # nodes written / nodes once aliases are expanded
        last_end = 0  # end offset of the latest scalar, alias or collection
        # stack entries: [collection, expanded-count-at-start, pending key (or no_key),
        # is-a-sequence]; ``top`` is the last entry (None at the document level)
        stack: list[list[Any]] = []
        no_key = stack  # sentinel object meaning "next node is a key"
        top: list[Any] | None = None
        scalar_t, alias_t = ev.ScalarEvent, ev.AliasEvent
        mstart_t, sstart_t = ev.MappingStartEvent, ev.SequenceStartEvent
        mend_t, send_t = ev.MappingEndEvent, ev.SequenceEndEvent
        docstart_t, streamend_t = ev.DocumentStartEvent, ev.StreamEndEvent

        while True:
            event = next_event()
            etype = type(event)
            node: Node
            if etype is scalar_t:
                sm = event.start_mark
                start = sm.index
                end = last_end = event.end_mark.index
                anchor = event.anchor
                tag = getattr(event, tag_slot)
                if anchor is None and tag is None:
                    node = ScalarNode(
                        start, end, sm.line + 1, sm.column + 1, None, event.value,
                        event.style or "", None,
                    )  # fmt: skip
                else:
                    if tag is not None:
                        tag = str(tag)
                    line, column = sm.line + 1, sm.column + 1
                    start = _content_start(text, start, end, True)
                    if start != sm.index:
                        line, column = _position(text, start)
                    node = ScalarNode(
                        start, end, line, column, anchor, event.value, event.style or "", tag
                    )
                distinct += 1
                expanded += 1
                if distinct > max_nodes:
                    raise self._fail(f"more than {max_nodes:,} YAML nodes", sm)
                if anchor is not None:
                    anchors[anchor] = node
                    sizes[id(node)] = 1
            elif etype is mend_t or etype is send_t:
                coll, expanded_at_start, _, _ = stack.pop()
                if etype is mend_t:
                    pairs = coll.pairs
                    if len(pairs) > 1:  # a key given twice? one set per mapping
                        try:
                            distinct_keys = len({k.value for k, _ in pairs})
                        except AttributeError:  # a key that is a collection
                            distinct_keys = 0
                        if distinct_keys != len(pairs):
                            self._refuse_duplicate(pairs)
                top = stack[-1] if stack else None
                # block end events are marked at the *next* token: use the last child's end
                coll.end = last_end = event.end_mark.index if coll.flow else last_end
                if coll.anchor is not None:
                    anchors[coll.anchor] = coll
                    sizes[id(coll)] = expanded - expanded_at_start
                node = coll
            elif etype is mstart_t or etype is sstart_t:
                sm = event.start_mark
                if len(stack) >= max_depth:
                    raise self._fail(f"YAML nesting deeper than {max_depth} levels", sm)
                anchor = event.anchor
                tag = getattr(event, tag_slot)
                start = sm.index
                line, column = sm.line + 1, sm.column + 1
                if anchor is not None or tag is not None:
                    if tag is not None:
                        tag = str(tag)
                    start = _content_start(text, start, len(text), True)
                    if start != sm.index:
                        line, column = _position(text, start)
                flow = bool(event.flow_style)
                coll: Node
                if etype is mstart_t:
                    coll = MappingNode(start, start, line, column, anchor, flow, tag=tag)
                else:
                    coll = SequenceNode(start, start, line, column, anchor, flow, tag=tag)
                if anchor is not None:
                    anchors[anchor] = None
                distinct += 1
                expanded += 1
                if distinct > max_nodes:
                    raise self._fail(f"more than {max_nodes:,} YAML nodes", sm)
                top = [coll, expanded - 1, no_key, etype is sstart_t]
                stack.append(top)
                continue
            elif etype is alias_t:
                anchor = event.anchor
                if anchor not in anchors:
                    raise self._fail(f"undefined alias *{anchor}", event.start_mark)
                target = anchors[anchor]
                if target is None:
                    raise self._fail(f"recursive alias *{anchor}", event.start_mark)
                expanded += sizes[id(target)]
                if expanded > 2 * distinct + alias_budget:
                    raise self._fail(
                        "alias expansion too large (YAML alias bomb?): refusing to read",
                        event.start_mark,
                    )
                last_end = event.end_mark.index
                node = target
            elif etype is docstart_t:
                documents += 1
                if documents > 1:
                    raise self._fail("more than one YAML document in the file", event.start_mark)
                continue
            elif etype is streamend_t:
                return root
            else:
                continue

            if top is None:
                root = node
            elif top[3]:
                top[0].items.append(node)
            elif top[2] is no_key:
                top[2] = node
            else:
                top[0].pairs.append((top[2], node))
                top[2] = no_key


# ----------------------------------------------------------------------------- plain data

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})


def _plain_scalar(node: ScalarNode) -> object:
    """YAML 1.2 core schema for plain scalars (what GitHub does: ``on`` stays a string)."""
    if node.style or node.tag == "!":
        return node.value
    value = node.value
    if node.tag is not None and node.tag.endswith(":str"):
        return value
    if value in _NULLS:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value[:1] in "-+0123456789." and value not in ("-", "+", "."):
        try:
            if value.lstrip("+-").isdigit():
                return int(value)
            if value.startswith(("0x", "0o")):
                return int(value, 0)
            if any(c.isdigit() for c in value):
                return float(value)
        except ValueError:
            return value
    return value


def to_python(node: Node | None, *, replace: Mapping[int, str] | None = None) -> object:
    """Nodes -> plain dict/list/str/int/float/bool/None, aliases shared (never copied).

    Mapping keys that are collections become their string form: GitHub only uses scalar keys.
    ``replace`` maps a scalar's ``start`` offset to a string that stands in for its value: the
    rewrite uses it to say what a file must parse to once its ``uses:`` values are replaced.
    """
    memo: dict[int, object] = {}

    def build(n: Node | None) -> object:
        if n is None:
            return None
        key = id(n)
        if key in memo:
            return memo[key]
        if isinstance(n, ScalarNode):
            result: object = _plain_scalar(n)
            if replace is not None and n.start in replace:
                result = replace[n.start]
            memo[key] = result
            return result
        if isinstance(n, SequenceNode):
            items: list[object] = []
            memo[key] = items
            items.extend(build(item) for item in n.items)
            return items
        assert isinstance(n, MappingNode)
        mapping: dict[object, object] = {}
        memo[key] = mapping
        for k, v in n.pairs:
            kv = build(k)
            if isinstance(kv, (dict, list)):
                kv = str(kv)
            mapping[kv] = build(v)
        return mapping

    try:
        return build(node)
    except RecursionError:  # pragma: no cover - depth is capped at MAX_DEPTH
        raise InputError("YAML nesting too deep") from None
