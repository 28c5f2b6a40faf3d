"""How long a release must have been public before ``pinner update`` moves a pin to it.

A compromised release does its harm in the first hours or days (tj-actions/changed-files,
Trivy): waiting out a cooldown lets the ecosystem notice first. The policy mirrors Dependabot's
``cooldown`` block so a repository that configures Dependabot gets the same answer from pinner:
``default-days`` plus optional per-semver-level overrides, and ``include``/``exclude`` name
patterns. :func:`resolve_cooldown` decides which source wins (CLI flag, Dependabot,
``[tool.pinner]``, built-in default) and remembers it, because the report must say where the
number came from.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from pinner.errors import ConfigError, InputError, UsageError

DEFAULT_COOLDOWN = timedelta(days=7)

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}
_MAX_DURATION = timedelta(days=3650)

#: Semver levels an update can cross, in Dependabot's vocabulary.
LEVELS = ("major", "minor", "patch")


def parse_duration(text: str) -> timedelta:
    """``7d``, ``36h``, ``2w``, ``90m``, ``0``; a bare number means days (Dependabot's unit).

    Raises UsageError with the offending text: it comes straight from ``--cooldown``.
    """
    match = _DURATION_RE.match(text)
    if not match:
        raise UsageError(
            f"--cooldown {text!r}: expected a number with an optional unit s, m, h, d or w "
            "(e.g. 7d, 36h, 0)"
        )
    value = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    duration = timedelta(seconds=value)
    if duration > _MAX_DURATION:
        raise UsageError(f"--cooldown {text!r}: longer than ten years")
    return duration


def format_duration(duration: timedelta) -> str:
    """The shortest exact spelling: ``7d``, ``36h``, ``0``; for reports and JSON."""
    seconds = int(duration.total_seconds())
    if seconds == 0:
        return "0"
    for unit in ("d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, slots=True)
class Cooldown:
    """A cooldown policy and where it came from.

    ``major``/``minor``/``patch`` override ``default`` for updates of that semver level (None:
    use ``default``). ``include``/``exclude`` are Dependabot's dependency-name patterns
    (``*`` wildcards, case-insensitive) matched against ``owner/repo[/path]``: an excluded
    action, or one not matched by a non-empty ``include``, has no cooldown.
    """

    default: timedelta = DEFAULT_COOLDOWN
    major: timedelta | None = None
    minor: timedelta | None = None
    patch: timedelta | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    source: str = "default"  # "--cooldown", ".github/dependabot.yml", "pyproject.toml", "default"
    floor: timedelta = timedelta(0)  # the least wait for every update, whatever the above say

    def applies_to(self, target: str) -> bool:
        """Whether the include/exclude patterns put ``owner/repo[/path]`` under the cooldown."""
        name = target.lower()
        if any(_matches(name, p) for p in self.exclude):
            return False
        return not self.include or any(_matches(name, p) for p in self.include)

    def for_update(self, target: str, level: str | None) -> timedelta:
        """The wait for an update of ``target`` crossing semver ``level`` (None: unknown)."""
        if not self.applies_to(target):
            return self.floor
        override = {"major": self.major, "minor": self.minor, "patch": self.patch}.get(level or "")
        return max(self.default if override is None else override, self.floor)

    def describe(self) -> str:
        """One line for reports: ``7d (from .github/dependabot.yml; major 14d)``."""
        extra = [
            f"{level} {format_duration(value)}"
            for level, value in (
                ("major", self.major),
                ("minor", self.minor),
                ("patch", self.patch),
            )
            if value is not None
        ]
        if self.floor:
            extra.append(f"at least {format_duration(self.floor)} for every action")
        detail = "; ".join([f"from {self.source}", *extra])
        return f"{format_duration(self.default)} ({detail})"

    def to_json(self) -> dict[str, Any]:
        return {
            "default": format_duration(self.default),
            "default_days": self.default.total_seconds() / 86400,
            "semver_major": None if self.major is None else format_duration(self.major),
            "semver_minor": None if self.minor is None else format_duration(self.minor),
            "semver_patch": None if self.patch is None else format_duration(self.patch),
            "include": list(self.include),
            "exclude": list(self.exclude),
            "source": self.source,
            "floor": format_duration(self.floor) if self.floor else None,
        }


def _matches(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern.lower())


def _days(value: Any, where: str, key: str) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650:
        raise ConfigError(f"{where}: cooldown.{key} must be a whole number of days (0..3650)")
    return timedelta(days=value)


def _patterns(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ConfigError(f"{where}: cooldown.{key} must be a list of strings")
    return tuple(value)


def cooldown_from_mapping(block: Any, *, source: str) -> Cooldown:
    """A Dependabot-style ``cooldown`` mapping (``default-days``, ``semver-major-days``, ...).

    Also accepts underscores (``default_days``) so ``[tool.pinner]`` tables read naturally in TOML.
    """
    if not isinstance(block, dict):
        raise ConfigError(f"{source}: cooldown must be a mapping")
    data = {str(k).replace("_", "-"): v for k, v in block.items()}
    known = {
        "default-days",
        "semver-major-days",
        "semver-minor-days",
        "semver-patch-days",
        "include",
        "exclude",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown cooldown key {unknown[0]!r}")
    default = (
        _days(data["default-days"], source, "default-days")
        if "default-days" in data
        else DEFAULT_COOLDOWN
    )
    levels = {
        level: _days(data[f"semver-{level}-days"], source, f"semver-{level}-days")
        if f"semver-{level}-days" in data
        else None
        for level in LEVELS
    }
    return Cooldown(
        default=default,
        major=levels["major"],
        minor=levels["minor"],
        patch=levels["patch"],
        include=_patterns(data.get("include"), source, "include"),
        exclude=_patterns(data.get("exclude"), source, "exclude"),
        source=source,
    )


DEPENDABOT_FILES = (".github/dependabot.yml", ".github/dependabot.yaml")


def read_dependabot_cooldown(root: Path) -> Cooldown | None:
    """The ``cooldown`` of the ``github-actions`` ecosystem in ``ROOT/.github/dependabot.yml``.

    None when there is no such file, entry or cooldown. When several github-actions entries set
    one (different directories), the longest default wins: the bot and the CLI must never be
    more eager than the strictest Dependabot setting. A malformed file is a ConfigError.
    """
    blocks = _dependabot_cooldowns(root)
    if not blocks:
        return None
    found = [cooldown_from_mapping(block, source=name) for name, block in blocks]
    return max(found, key=lambda c: (c.default, c.major or c.default))


def extension_cooldown_days(root: Path) -> int | None:
    """The cooldown GitHub's ``gh actions-lock`` reads from ``.github/dependabot.yml``.

    Its reading (NOTES.md section 7): the *first* ``github-actions`` entry with a ``cooldown``
    block, and only its ``default-days``, only when above 0 (the ``semver-*-days``, ``include``
    and ``exclude`` keys are ignored). A repository keeping ``actions.lock`` is maintained by
    bots running the extension, so ``pinner update`` there never waits less than this.
    """
    blocks = _dependabot_cooldowns(root)
    if not blocks:
        return None
    days = blocks[0][1].get("default-days")
    return days if isinstance(days, int) and not isinstance(days, bool) and days > 0 else None


def _dependabot_cooldowns(root: Path) -> list[tuple[str, dict[str, Any]]]:
    """``(file name, cooldown block)`` of every ``github-actions`` entry that has one, in
    order; a malformed file is a ConfigError."""
    for name in DEPENDABOT_FILES:
        path = root / name
        if path.is_file():
            break
    else:
        return []
    from pinner.sources.yamlsafe import compose, to_python

    raw = path.read_bytes()
    if len(raw) > 1_000_000:
        raise InputError("file too large to be a Dependabot config", path=name)
    try:
        # the guarded parser caps depth, nodes and alias expansion: a 5,000-deep "[[[["
        # overflowed the stack of ruamel's own composer (a traceback instead of exit 2)
        data = to_python(compose(raw.decode("utf-8-sig"), source=name))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: not valid YAML ({type(exc).__name__})") from None
    except InputError as exc:
        where = f"{name}:{exc.line}: " if exc.line is not None else f"{name}: "
        detail = str(exc).removeprefix(where) + (f", line {exc.line}" if exc.line else "")
        raise ConfigError(f"{name}: not valid YAML ({detail})") from None
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("updates", []), list):
        raise ConfigError(f"{name}: expected a mapping with an 'updates' list")
    found: list[tuple[str, dict[str, Any]]] = []
    for entry in data.get("updates") or []:
        if not isinstance(entry, dict) or entry.get("package-ecosystem") != "github-actions":
            continue
        block = entry.get("cooldown")
        if block is not None:
            if not isinstance(block, dict):
                raise ConfigError(f"{name}: cooldown must be a mapping")
            found.append((name, block))
    return found


def resolve_cooldown(
    *,
    cli: str | None,
    root: Path | None,
    config: timedelta | None = None,
    config_source: str = "[tool.pinner]",
    lockfile: bool = False,
) -> Cooldown:
    """The cooldown for this run: ``--cooldown``, else ``[tool.pinner]``, else Dependabot, else 7d.

    pinner's own configuration outranks Dependabot's because it is the more specific
    instruction; without it, a repository that already tells Dependabot to wait gets the same
    wait from pinner, so the bot and the CLI agree. The winner is recorded in ``source``.

    ``lockfile``: the repository keeps GitHub's ``actions.lock``, maintained by bots through
    ``gh actions-lock``; Dependabot's cooldown then also applies as the extension reads it
    (:func:`extension_cooldown_days`): no update waits less than that, whatever a
    ``semver-*-days`` or ``exclude`` key says.
    """
    if cli is not None:
        return Cooldown(default=parse_duration(cli), source="--cooldown")
    if config is not None:
        return Cooldown(default=config, source=config_source)
    if root is not None and (dependabot := read_dependabot_cooldown(root)) is not None:
        days = extension_cooldown_days(root) if lockfile else None
        if days is not None:
            return replace(dependabot, floor=timedelta(days=days))
        return dependabot
    return Cooldown()
