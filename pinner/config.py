"""``[tool.pinner]`` configuration: what to ignore, which actions to consider, default policies.

Read from ``.github/pinner.toml`` (keys at the top level, or under ``[tool.pinner]``) or from
``[tool.pinner]`` in ``pyproject.toml`` at the repository root. Both places holding pinner settings
is an error (one source of truth). Command-line flags win over the file: callers pass their flag
values to :meth:`Config.merged`.

Every key is validated strictly: a typo in an ignore list would otherwise silently stop ignoring
(or stop auditing), so an unknown key, an unknown rule id, a bad regular expression or a bad
duration is a :class:`pinner.errors.ConfigError` (exit 2) naming the file and the key.

Example::

    [tool.pinner]
    min-severity = "medium"          # audit exit 1 at or above this
    cooldown = "7d"                  # update: only releases at least this old (int = days)
    include = ["^actions/"]          # regexes on owner/repo[/path]; default everything
    exclude = ["^my-org/"]
    ignore = [
        "missing-comment",                                   # a rule, everywhere
        { rule = "unpinned-ref", action = "my-org/*" },      # a rule, for some actions (glob)
        { action = "docker/*", reason = "audited separately" },  # every rule, some actions
        { rule = "stale-pin", path = ".github/workflows/legacy.yml" },
    ]
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinner.errors import ConfigError

if TYPE_CHECKING:  # the rules load only for a config that names a rule or a severity
    from pinner.rules.base import Severity

CONFIG_FILES = (".github/pinner.toml", "pyproject.toml")

KNOWN_KEYS = frozenset({"ignore", "include", "exclude", "cooldown", "min-severity"})
"""Keys this module validates."""

PASSTHROUGH_KEYS: frozenset[str] = frozenset()
"""Keys owned by other commands, kept in :attr:`Config.extra` for them to validate. None yet:
a key that nothing reads is an error, not a setting silently ignored."""

_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks", "": "days"}


@dataclass(frozen=True, slots=True)
class IgnoreEntry:
    """Ignore findings of ``rule`` (None: every rule) for matching actions and files.

    ``action`` is a glob (fnmatch, case-insensitive) on the offending reference's
    ``owner/repo[/path]`` (or image); ``path`` a glob on the user's file the finding is rooted in.
    """

    rule: str | None = None
    action: str | None = None
    path: str | None = None
    reason: str | None = None

    def matches(self, rule: str, target: str, file: str) -> bool:
        if self.rule is not None and self.rule != rule:
            return False
        if self.action is not None and not fnmatch.fnmatchcase(target.lower(), self.action.lower()):
            return False
        return self.path is None or fnmatch.fnmatchcase(file, self.path)


@dataclass(frozen=True, slots=True)
class Config:
    """Validated settings; every field None/empty means "not configured"."""

    source: Path | None = None
    ignore: tuple[IgnoreEntry, ...] = ()
    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    cooldown: timedelta | None = None
    min_severity: Severity | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def selects(self, target: str) -> bool:
        """Whether ``owner/repo[/path]`` is audited/pinned: included (if any) and not excluded."""
        if self.include and not any(p.search(target) for p in self.include):
            return False
        return not any(p.search(target) for p in self.exclude)

    def ignored_by(self, rule: str, target: str, file: str) -> IgnoreEntry | None:
        return next((e for e in self.ignore if e.matches(rule, target, file)), None)

    def merged(
        self,
        *,
        min_severity: Severity | None = None,
        include: tuple[re.Pattern[str], ...] | None = None,
        exclude: tuple[re.Pattern[str], ...] | None = None,
        cooldown: timedelta | None = None,
        ignore_rules: tuple[str, ...] = (),
    ) -> Config:
        """This config with command-line values applied on top (flags win)."""
        return replace(
            self,
            min_severity=min_severity if min_severity is not None else self.min_severity,
            include=include if include else self.include,
            exclude=exclude if exclude else self.exclude,
            cooldown=cooldown if cooldown is not None else self.cooldown,
            ignore=self.ignore + tuple(IgnoreEntry(rule=r) for r in ignore_rules),
        )


def parse_duration(value: object, *, where: str) -> timedelta:
    """``7`` (days), ``"7d"``, ``"12h"``, ``"2w"``, ``"90m"``, ``"30s"`` -> timedelta."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{where}: expected a number of days or a duration like '7d'")
    if isinstance(value, int):
        if value < 0:
            raise ConfigError(f"{where}: must not be negative")
        return timedelta(days=value)
    m = _DURATION_RE.match(value)
    if not m:
        raise ConfigError(f"{where}: {value!r} is not a duration (e.g. 7d, 12h, 2w)")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def compile_patterns(values: object, *, where: str) -> tuple[re.Pattern[str], ...]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}: expected a list of regular expressions")
    out = []
    for i, v in enumerate(values):
        try:
            out.append(re.compile(v))
        except re.error as exc:
            raise ConfigError(f"{where}[{i}]: invalid regular expression {v!r}: {exc}") from None
    return tuple(out)


def _rule_id(value: object, *, where: str) -> str | None:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a rule id string")
    if value in ("*", "all"):
        return None
    from pinner.rules.base import all_rules

    rules = all_rules()
    if value not in rules:
        raise ConfigError(f"{where}: unknown rule {value!r} (known: {', '.join(rules)})")
    return value


def _glob(value: object, *, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a non-empty glob pattern string")
    return value


def _parse_ignore(value: object, *, where: str) -> tuple[IgnoreEntry, ...]:
    entries: list[IgnoreEntry] = []
    if isinstance(value, Mapping):  # { rule-id = ["glob", ...] }
        for rule, patterns in value.items():
            key = f"{where}.{rule}"
            rule_id = _rule_id(rule, where=key)
            if isinstance(patterns, str):
                patterns = [patterns]
            if not isinstance(patterns, list) or not patterns:
                raise ConfigError(f"{key}: expected a list of action patterns")
            for i, p in enumerate(patterns):
                entries.append(IgnoreEntry(rule=rule_id, action=_glob(p, where=f"{key}[{i}]")))
        return tuple(entries)
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list of rule ids / tables, or a table")
    for i, item in enumerate(value):
        key = f"{where}[{i}]"
        if isinstance(item, str):
            entries.append(IgnoreEntry(rule=_rule_id(item, where=key)))
            continue
        if not isinstance(item, Mapping):
            raise ConfigError(f"{key}: expected a rule id or a table {{rule, action, path}}")
        unknown = set(item) - {"rule", "action", "path", "reason"}
        if unknown:
            raise ConfigError(
                f"{key}: unknown key {sorted(unknown)[0]!r} (expected rule, action, path, reason)"
            )
        if not ({"rule", "action", "path"} & set(item)):
            raise ConfigError(f"{key}: needs at least one of rule, action, path")
        reason = item.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise ConfigError(f"{key}.reason: expected a string")
        entries.append(
            IgnoreEntry(
                rule=_rule_id(item["rule"], where=f"{key}.rule") if "rule" in item else None,
                action=_glob(item["action"], where=f"{key}.action") if "action" in item else None,
                path=_glob(item["path"], where=f"{key}.path") if "path" in item else None,
                reason=reason,
            )
        )
    return tuple(entries)


def parse_config(data: Mapping[str, Any], *, source: Path | None, prefix: str) -> Config:
    """Validate one ``[tool.pinner]`` table; ``prefix`` names it in messages."""
    where = f"{source}: {prefix}" if source is not None else prefix

    def key(name: str) -> str:
        return f"{where}.{name}" if prefix else f"{source}: {name}"

    for name in data:
        if name not in KNOWN_KEYS and name not in PASSTHROUGH_KEYS:
            allowed = ", ".join(sorted(KNOWN_KEYS | PASSTHROUGH_KEYS))
            raise ConfigError(f"{key(name)}: unknown key (known: {allowed})")
    min_severity = None
    if "min-severity" in data:
        value = data["min-severity"]
        from pinner.rules.base import Severity

        try:
            min_severity = Severity.parse(value) if isinstance(value, str) else None
        except ValueError as exc:
            raise ConfigError(f"{key('min-severity')}: {exc}") from None
        if min_severity is None:
            raise ConfigError(f"{key('min-severity')}: expected a string")
    return Config(
        source=source,
        ignore=_parse_ignore(data["ignore"], where=key("ignore")) if "ignore" in data else (),
        include=compile_patterns(data["include"], where=key("include"))
        if "include" in data
        else (),
        exclude=compile_patterns(data["exclude"], where=key("exclude"))
        if "exclude" in data
        else (),
        cooldown=parse_duration(data["cooldown"], where=key("cooldown"))
        if "cooldown" in data
        else None,
        min_severity=min_severity,
        extra={k: v for k, v in data.items() if k in PASSTHROUGH_KEYS},
    )


def _read_toml(path: Path) -> dict[str, Any]:
    # imported here, not at the top: a repository with no config file never pays tomllib's
    # import (~5 ms of regexes)
    import tomllib

    try:
        with path.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size > MAX_CONFIG_BYTES:
                raise ConfigError(f"{path}: over {MAX_CONFIG_BYTES:,} bytes; not a config file")
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except RecursionError:  # tomllib recurses per nesting level: "x = [[[[..." of 100k
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None


MAX_CONFIG_BYTES = 10 * 1024 * 1024
"""pyproject.toml files are kilobytes; a hostile one is refused before it is parsed."""


def _tool_table(data: Mapping[str, Any], path: Path) -> Mapping[str, Any] | None:
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, Mapping):
        raise ConfigError(f"{path}: tool: expected a table")
    table = tool.get("pinner")
    if table is not None and not isinstance(table, Mapping):
        raise ConfigError(f"{path}: tool.pinner: expected a table")
    return table


def load_config(root: Path, *, explicit: Path | None = None) -> Config:
    """The configuration of the repository at ``root`` (an empty Config when there is none).

    ``explicit`` (a ``--config FILE``) is read instead of looking in the default places.
    """
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        return _load_file(explicit)
    found: list[Config] = []
    for name in CONFIG_FILES:
        path = root / name
        if path.is_file():
            config = _load_file(path)
            if config.source is not None:
                found.append(config)
    if len(found) > 1:
        raise ConfigError(
            f"pinner settings in both {found[0].source} and {found[1].source}; keep one"
        )
    return found[0] if found else Config()


def _load_file(path: Path) -> Config:
    data = _read_toml(path)
    table = _tool_table(data, path)
    if path.name == "pyproject.toml":
        if table is None:
            return Config()  # a pyproject without [tool.pinner]: nothing configured
        return parse_config(table, source=path, prefix="tool.pinner")
    if table is not None:
        rest = {k: v for k, v in data.items() if k != "tool"}
        if rest:
            raise ConfigError(f"{path}: use either top-level keys or [tool.pinner], not both")
        return parse_config(table, source=path, prefix="tool.pinner")
    return parse_config(data, source=path, prefix="")
