"""``[tool.pinner]`` / ``.github/pinner.toml``: strict validation, file and key in every error."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pinner.config import Config, IgnoreEntry, load_config, parse_duration
from pinner.errors import ConfigError
from pinner.rules.base import Severity


def _pyproject(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(body)
    return tmp_path


def test_no_config_anywhere(tmp_path: Path) -> None:
    assert load_config(tmp_path) == Config()
    _pyproject(tmp_path, "[project]\nname = 'x'\n")
    assert load_config(tmp_path) == Config()


def test_full_pyproject_table(tmp_path: Path) -> None:
    _pyproject(
        tmp_path,
        """
[tool.pinner]
min-severity = "high"
cooldown = "2w"
include = ["^actions/"]
exclude = "^actions/cache"
ignore = [
  "missing-comment",
  { rule = "unpinned-ref", action = "Actions/*", reason = "trusted" },
  { action = "docker/*" },
  { rule = "stale-pin", path = ".github/workflows/old-*.yml" },
]
""",
    )
    config = load_config(tmp_path)
    assert config.source == tmp_path / "pyproject.toml"
    assert config.min_severity is Severity.HIGH
    assert config.cooldown == timedelta(weeks=2)
    assert config.selects("actions/checkout") and not config.selects("actions/cache/restore")
    assert not config.selects("docker/login-action")
    assert config.ignored_by("missing-comment", "x/y", "a.yml") is not None
    assert config.ignored_by("unpinned-ref", "actions/checkout", "a.yml").reason == "trusted"
    assert config.ignored_by("unpinned-ref", "other/thing", "a.yml") is None
    assert config.ignored_by("branch-ref", "docker/build-push-action", "a.yml") is not None
    assert config.ignored_by("stale-pin", "x/y", ".github/workflows/old-ci.yml") is not None
    assert config.ignored_by("stale-pin", "x/y", ".github/workflows/ci.yml") is None


def test_pinner_toml_top_level_and_mapping_form(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "pinner.toml").write_text(
        'cooldown = 3\n[ignore]\nunpinned-image = ["ghcr.io/me/*"]\n"*" = "my-org/*"\n'
    )
    config = load_config(tmp_path)
    assert config.cooldown == timedelta(days=3)
    assert config.ignore == (
        IgnoreEntry(rule="unpinned-image", action="ghcr.io/me/*"),
        IgnoreEntry(rule=None, action="my-org/*"),
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[tool.pinner]\nignores = ["x"]\n', "pyproject.toml: tool.pinner.ignores: unknown key"),
        ('[tool.pinner]\nignore = ["nope"]\n', "tool.pinner.ignore[0]: unknown rule 'nope'"),
        (
            '[tool.pinner]\nignore = [{ rule = "stale-pin", actions = "x" }]\n',
            "tool.pinner.ignore[0]: unknown key 'actions'",
        ),
        ('[tool.pinner]\nignore = [{ reason = "x" }]\n', "needs at least one of rule"),
        ("[tool.pinner]\nignore = [3]\n", "tool.pinner.ignore[0]: expected a rule id or a table"),
        ('[tool.pinner]\nmin-severity = "urgent"\n', "tool.pinner.min-severity: unknown severity"),
        ("[tool.pinner]\nmin-severity = 2\n", "tool.pinner.min-severity: expected a string"),
        ('[tool.pinner]\ncooldown = "soon"\n', "tool.pinner.cooldown: 'soon' is not a duration"),
        ("[tool.pinner]\ncooldown = -1\n", "tool.pinner.cooldown: must not be negative"),
        ('[tool.pinner]\ninclude = ["("]\n', "tool.pinner.include[0]: invalid regular expression"),
        ("[tool.pinner]\nexclude = [1]\n", "tool.pinner.exclude: expected a list"),
        ("[tool.pinner\n", "pyproject.toml: invalid TOML"),
        ("tool = 3\n", "pyproject.toml: tool: expected a table"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, body: str, message: str) -> None:
    _pyproject(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert message in str(info.value)
    assert str(tmp_path / "pyproject.toml") in str(info.value)
    assert info.value.exit_code == 2


def test_both_places_is_an_error(tmp_path: Path) -> None:
    _pyproject(tmp_path, "[tool.pinner]\ncooldown = 1\n")
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "pinner.toml").write_text("cooldown = 2\n")
    with pytest.raises(ConfigError, match="keep one"):
        load_config(tmp_path)


def test_pinner_toml_cannot_mix_forms(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "pinner.toml").write_text("cooldown = 2\n[tool.pinner]\ncooldown = 1\n")
    with pytest.raises(ConfigError, match="not both"):
        load_config(tmp_path)


def test_explicit_file(tmp_path: Path) -> None:
    other = tmp_path / "audit.toml"
    other.write_text('min-severity = "low"\n')
    assert load_config(tmp_path, explicit=other).min_severity is Severity.LOW
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path, explicit=tmp_path / "missing.toml")


def test_flags_win_over_the_file(tmp_path: Path) -> None:
    import re

    _pyproject(
        tmp_path,
        '[tool.pinner]\nmin-severity = "high"\ncooldown = 7\ninclude = ["^a/"]\n'
        'ignore = ["stale-pin"]\n',
    )
    config = load_config(tmp_path).merged(
        min_severity=Severity.LOW,
        cooldown=timedelta(days=1),
        include=(re.compile("^b/"),),
        ignore_rules=("missing-comment",),
    )
    assert config.min_severity is Severity.LOW
    assert config.cooldown == timedelta(days=1)
    assert config.selects("b/x") and not config.selects("a/x")
    assert [e.rule for e in config.ignore] == ["stale-pin", "missing-comment"]
    unchanged = load_config(tmp_path).merged()
    assert unchanged.min_severity is Severity.HIGH and unchanged.selects("a/x")


def test_keys_nothing_reads_are_errors_not_silently_ignored(tmp_path: Path) -> None:
    _pyproject(tmp_path, '[tool.pinner]\ncomment-style = "tag"\n')
    with pytest.raises(ConfigError, match="comment-style"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, timedelta(days=7)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("30s", timedelta(seconds=30)),
        ("5", timedelta(days=5)),
        (0, timedelta(0)),
    ],
)
def test_durations(value: object, expected: timedelta) -> None:
    assert parse_duration(value, where="x") == expected


@pytest.mark.parametrize("value", [True, 1.5, "1y", "", None])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^x: "):
        parse_duration(value, where="x")
