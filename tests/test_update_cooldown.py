"""The cooldown policy: durations, Dependabot's cooldown block, and which source wins."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pinner.core.cooldown import (
    Cooldown,
    cooldown_from_mapping,
    format_duration,
    parse_duration,
    read_dependabot_cooldown,
    resolve_cooldown,
)
from pinner.errors import ConfigError, UsageError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("7", timedelta(days=7)),
        ("36h", timedelta(hours=36)),
        ("2w", timedelta(days=14)),
        ("90m", timedelta(minutes=90)),
        ("0", timedelta(0)),
        (" 1.5d ", timedelta(hours=36)),
        ("30S", timedelta(seconds=30)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "-1d", "7 days", "d", "1y", "99999d"])
def test_parse_duration_rejects_with_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="--cooldown"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0"),
        (timedelta(days=7), "7d"),
        (timedelta(days=14), "14d"),
        (timedelta(hours=36), "36h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=30), "30s"),
    ],
)
def test_format_duration_round_trips(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == value


def test_levels_include_and_exclude() -> None:
    cooldown = cooldown_from_mapping(
        {
            "default-days": 3,
            "semver-major-days": 30,
            "semver-patch-days": 1,
            "exclude": ["my-org/*"],
        },
        source="x",
    )
    assert cooldown.for_update("actions/checkout", "major") == timedelta(days=30)
    assert cooldown.for_update("actions/checkout", "minor") == timedelta(days=3)  # no override
    assert cooldown.for_update("actions/checkout", "patch") == timedelta(days=1)
    assert cooldown.for_update("actions/checkout", None) == timedelta(days=3)
    assert cooldown.for_update("My-Org/tool", "major") == timedelta(0)  # excluded, any case
    only = Cooldown(default=timedelta(days=5), include=("actions/*",))
    assert only.for_update("actions/cache/save", "minor") == timedelta(days=5)
    assert only.for_update("docker/login-action", "minor") == timedelta(0)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"default-days": "7"}, "whole number"),
        ({"default-days": -1}, "whole number"),
        ({"default-days": True}, "whole number"),
        ({"default-dayz": 7}, "unknown cooldown key"),
        ({"include": "actions/*"}, "list of strings"),
        ([], "mapping"),
    ],
)
def test_bad_cooldown_blocks_are_config_errors(block: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cooldown_from_mapping(block, source=".github/dependabot.yml")


def _dependabot(root: Path, text: str, name: str = "dependabot.yml") -> None:
    (root / ".github").mkdir(parents=True, exist_ok=True)
    (root / ".github" / name).write_text(text, encoding="utf-8")


def test_dependabot_github_actions_cooldown_is_read(tmp_path: Path) -> None:
    _dependabot(
        tmp_path,
        "version: 2\nupdates:\n"
        "  - package-ecosystem: npm\n    directory: /\n    cooldown: {default-days: 99}\n"
        "  - package-ecosystem: github-actions\n    directory: /\n"
        "    cooldown:\n      default-days: 10\n      semver-major-days: 20\n",
    )
    cooldown = read_dependabot_cooldown(tmp_path)
    assert cooldown is not None
    assert cooldown.default == timedelta(days=10)  # the npm entry does not count
    assert cooldown.major == timedelta(days=20)
    assert cooldown.source == ".github/dependabot.yml"


def test_dependabot_strictest_of_several_entries_and_yaml_extension(tmp_path: Path) -> None:
    _dependabot(
        tmp_path,
        "version: 2\nupdates:\n"
        "  - {package-ecosystem: github-actions, directory: /, cooldown: {default-days: 2}}\n"
        "  - {package-ecosystem: github-actions, directory: /sub, cooldown: {default-days: 9}}\n",
        name="dependabot.yaml",
    )
    cooldown = read_dependabot_cooldown(tmp_path)
    assert cooldown is not None and cooldown.default == timedelta(days=9)
    assert cooldown.source == ".github/dependabot.yaml"


@pytest.mark.parametrize(
    "text",
    [
        "",  # empty file
        "version: 2\nupdates: []\n",
        "version: 2\nupdates:\n  - {package-ecosystem: github-actions, directory: /}\n",
    ],
)
def test_dependabot_without_actions_cooldown_gives_none(tmp_path: Path, text: str) -> None:
    _dependabot(tmp_path, text)
    assert read_dependabot_cooldown(tmp_path) is None


def test_malformed_dependabot_is_a_config_error(tmp_path: Path) -> None:
    _dependabot(tmp_path, "updates: [\n")
    with pytest.raises(ConfigError, match=r"dependabot\.yml: not valid YAML"):
        read_dependabot_cooldown(tmp_path)
    _dependabot(tmp_path, "- a list\n")
    with pytest.raises(ConfigError, match="updates"):
        read_dependabot_cooldown(tmp_path)


def test_precedence_cli_then_config_then_dependabot_then_default(tmp_path: Path) -> None:
    assert resolve_cooldown(cli=None, root=tmp_path) == Cooldown()
    assert resolve_cooldown(cli=None, root=tmp_path).source == "default"
    _dependabot(
        tmp_path,
        "version: 2\nupdates:\n"
        "  - {package-ecosystem: github-actions, directory: /, cooldown: {default-days: 30}}\n",
    )
    from_bot = resolve_cooldown(cli=None, root=tmp_path)
    assert (from_bot.default, from_bot.source) == (timedelta(days=30), ".github/dependabot.yml")
    from_config = resolve_cooldown(
        cli=None, root=tmp_path, config=timedelta(days=2), config_source="pyproject.toml"
    )
    assert (from_config.default, from_config.source) == (timedelta(days=2), "pyproject.toml")
    from_cli = resolve_cooldown(cli="0", root=tmp_path, config=timedelta(days=2))
    assert (from_cli.default, from_cli.source) == (timedelta(0), "--cooldown")


def test_describe_says_where_it_came_from() -> None:
    cooldown = Cooldown(default=timedelta(days=60), major=timedelta(days=90), source="x.yml")
    assert cooldown.describe() == "60d (from x.yml; major 90d)"
    assert cooldown.to_json()["source"] == "x.yml"
    assert cooldown.to_json()["semver_major"] == "90d"
