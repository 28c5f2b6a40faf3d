"""The user documentation (README.md and docs/) stays navigable and true to the code.

Links between pages must land on a file and a heading that exist (GitHub's anchor rules), every
audit rule must have its section in docs/rules.md (SARIF ``helpUri`` and ``--list-rules`` point
there), and CI must run exactly the test command the README's quick start gives, so the quick start
cannot drift from what is actually tested.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from pinner.rules import all_rules

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

_FENCE_RE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_LINK_RE = re.compile(r"\]\(([^)\s]+)\)")
_HEADING_RE = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_HTML_ANCHOR_RE = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")


def prose(text: str) -> str:
    """The page without its fenced code blocks (a ``# comment`` in a block is no heading)."""
    return _FENCE_RE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to -."""
    text = re.sub(r"<[^>]+>", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor a link may target on ``page`` (duplicates get -1, -2 like on GitHub)."""
    text = prose(page.read_text(encoding="utf-8"))
    found: set[str] = set(_HTML_ANCHOR_RE.findall(text))
    seen: dict[str, int] = {}
    for heading in _HEADING_RE.findall(text):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(page: Path) -> list[str]:
    return _LINK_RE.findall(prose(page.read_text(encoding="utf-8")))


def test_slug_follows_github() -> None:
    assert slug("The GitHub emulator (`tests/forge/`)") == "the-github-emulator-testsforge"
    assert slug("`pinner pin` ([docs/pin.md](docs/pin.md))") == "pinner-pin-docspinmd"
    assert slug("JSON (`--format json`, schema `pinner.audit/1`)") == (
        "json---format-json-schema-pinneraudit1"
    )


PROJECT_FILES = re.compile(r"^https://github\.com/pinner-dev/pinner/(?:blob|tree)/main/")
"""README links to the project's own files by URL: it is PyPI's project page too, where a
relative link lands nowhere. Those links are checked against the files here like relative ones."""


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_to_a_project_file_lands(page: Path) -> None:
    broken = []
    for target in links(page):
        base = page.parent
        if PROJECT_FILES.match(target):
            target, base = PROJECT_FILES.sub("", target), ROOT
        elif re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path_part, _, fragment = target.partition("#")
        dest = (base / path_part).resolve() if path_part else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            broken.append(f"{target}: no heading with anchor #{fragment}")
    assert not broken, broken


def test_the_readme_links_no_file_relatively() -> None:
    """The README is the PyPI page as well: a relative link there is a dead link."""
    relative = [
        target
        for target in links(ROOT / "README.md")
        if not target.startswith("#") and not re.match(r"^[a-z][a-z0-9+.-]*:", target)
    ]
    assert not relative, relative


def test_every_rule_has_a_complete_section() -> None:
    text = (DOCS / "rules.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", prose(text), flags=re.MULTILINE)
    by_id = {s.split("\n", 1)[0].strip(): s for s in sections[1:]}
    for rule_id, rule in all_rules().items():
        assert rule_id in by_id, f"docs/rules.md has no section for {rule_id}"
        body = by_id[rule_id]
        for part in ("**What it catches.**", "**Why it matters.**", "**How to fix.**"):
            assert part in body, f"{rule_id}: missing {part}"
        assert "**How to ignore.**" in body and rule_id in body.split("**How to ignore.**")[1]
        assert f"*Default severity: {rule.severity.label}" in body, rule_id


def quick_start_commands() -> list[str]:
    """The two ```sh commands of the README's Quick start, word for word."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.DOTALL)


def test_ci_runs_the_readme_test_command() -> None:
    install_and_demo, install_and_test = quick_start_commands()
    assert "pinner pin --snapshot fixtures/forge" in install_and_demo
    readme_pytest = shlex.split(install_and_test.split("&&")[-1])
    assert readme_pytest[0] == ".venv/bin/python", readme_pytest
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    ci_pytest = [
        shlex.split(line) for line in ci.splitlines() if line.strip().startswith("python -m pytest")
    ]
    assert ci_pytest == [["python", *readme_pytest[1:]]], ci_pytest


def test_readme_is_the_users_page() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 330, f"README.md has {lines} lines; depth belongs in docs/"
    for page in ("pin", "audit", "update", "checksums", "rules", "configuration", "security"):
        assert (DOCS / f"{page}.md").is_file(), page
