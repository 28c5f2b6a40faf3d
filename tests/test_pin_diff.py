"""The patch ``--diff`` prints (pin, update, lock) and the one ``lock --format json`` carries.

pinner's rewrites change values inside lines, never the number of lines: each changed line is
shown beside its original, in hunks of three lines of context, and the patch applies with
``git apply`` to the bytes on disk.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from pinner.formats.pin_diff import unified_diff

STEP = "      - uses: {}\n        with:\n          persist-credentials: false\n"


def steps(*uses: str) -> str:
    return "jobs:\n  j:\n    steps:\n" + "".join(STEP.format(u) for u in uses)


def changed_lines(patch: str) -> list[str]:
    return [ln for ln in patch.splitlines() if ln[:1] in "-+" and ln[:3] not in ("---", "+++")]


def test_each_rewritten_line_is_shown_beside_its_original() -> None:
    """A workflow of many near-identical steps (``with:`` on every other line): difflib's
    matcher showed two adjacent changed steps as their whole block removed and re-added."""
    old = steps(*[f"org/a{i}@v1" for i in range(150)])
    new = old.replace("org/a70@v1", "org/a70@v1.2.0").replace("org/a71@v1", "org/a71@v1.0.3")
    patch = unified_diff("ci.yml", old, new)
    assert changed_lines(patch) == [
        "-      - uses: org/a70@v1",
        "+      - uses: org/a70@v1.2.0",
        "-      - uses: org/a71@v1",
        "+      - uses: org/a71@v1.0.3",
    ]
    first = 4 + 70 * 3  # the line of step 70; step 71's is 3 lines on
    assert patch.splitlines()[2] == f"@@ -{first - 3},10 +{first - 3},10 @@"


def test_the_format_is_unified_diffs() -> None:
    old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\no\np\n"
    new = old.replace("b\n", "B\n").replace("j\n", "J\n").replace("p\n", "P\n")
    # 7 unchanged lines between b and j: two hunks; 5 between j and p: one
    assert unified_diff("f.yml", old, new) == (
        "--- a/f.yml\n+++ b/f.yml\n"
        "@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n"
        "@@ -7,10 +7,10 @@\n g\n h\n i\n-j\n+J\n k\n l\n m\n n\n o\n-p\n+P\n"
    )
    six_apart = old.replace("b\n", "B\n").replace("i\n", "I\n")  # still one hunk
    assert unified_diff("f.yml", old, six_apart).count("@@ -") == 1
    assert unified_diff("f.yml", "a\n", "b\n") == "--- a/f.yml\n+++ b/f.yml\n@@ -1 +1 @@\n-a\n+b\n"
    assert unified_diff("f.yml", old, old) == ""


def test_a_last_line_without_a_newline_says_so() -> None:
    assert unified_diff("f.yml", "a\nb", "a\nc") == (
        "--- a/f.yml\n+++ b/f.yml\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n"
        "+c\n\\ No newline at end of file\n"
    )


def test_texts_of_different_lengths_still_diff() -> None:
    patch = unified_diff("f.yml", "a\nb\n", "a\nx\nb\n")
    assert patch == "--- a/f.yml\n+++ b/f.yml\n@@ -1,2 +1,3 @@\n a\n+x\n b\n"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_every_patch_applies_and_gives_the_new_text(tmp_path: Path) -> None:
    """Random files of few distinct lines (where matching is ambiguous), random lines changed,
    CRLF and a missing final newline included: ``git apply`` turns old into new."""
    rng = random.Random(7)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    for case in range(60):
        ending = rng.choice(["\n", "\r\n"])
        vocab = [f"line {k}{ending}" for k in range(rng.randint(1, 6))]
        old = [rng.choice(vocab) for _ in range(rng.randint(1, 80))]
        new = list(old)
        for _ in range(rng.randint(1, 6)):
            new[rng.randrange(len(new))] = rng.choice([*vocab, f"changed{ending}"])
        if rng.random() < 0.3:
            old[-1], new[-1] = old[-1].rstrip("\r\n"), new[-1].rstrip("\r\n")
        old_text, new_text = "".join(old), "".join(new)
        patch = unified_diff("f.yml", old_text, new_text)
        if old_text == new_text:
            assert patch == ""
            continue
        (tmp_path / "f.yml").write_bytes(old_text.encode())
        applied = subprocess.run(
            ["git", "apply", "-"], cwd=tmp_path, input=patch.encode(), capture_output=True
        )
        assert applied.returncode == 0, (case, applied.stderr, patch)
        assert (tmp_path / "f.yml").read_bytes() == new_text.encode(), case
