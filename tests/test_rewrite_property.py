"""Property: for generated workflows in every style, rewriting changes only uses values/comments.

Documents are generated as text (so layout is under the test's control): random key order,
block and flow steps, plain/single/double quotes, comments in several dialects or none, LF or
CRLF, with or without BOM. For each, some sites get a new value and maybe a new comment; the
result must parse to the same data with only those values replaced, keep every other line
byte for byte, keep line endings and BOM, and scan back to the new values and comments.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pinner.core.rewrite import Edit, apply_edits
from pinner.sources.comments import covers, parse_comment, render_comment
from pinner.sources.scan import scan
from pinner.sources.yamlsafe import compose, to_python

names = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8).filter(
    lambda s: s[0].isalnum() and s[-1].isalnum()
)
refs = st.one_of(
    st.sampled_from(["v1", "v4.2.2", "main", "release/v2", "1.0.0"]),
    st.text("0123456789abcdef", min_size=40, max_size=40),
)
comments = st.sampled_from(
    [
        None,
        "v1.2.3",
        "tag=v1",
        "ratchet:o/r@v1",
        "v2 needed for x",
        "pinner: ignore[a,b]",
        "v1 # pinner: ignore[x]",
        "note only",
        "version: 1.2.3",
    ]
)


@st.composite
def uses_values(draw: st.DrawFn) -> str:
    owner, repo = draw(names), draw(names)
    path = draw(st.one_of(st.none(), names))
    target = f"{owner}/{repo}/{path}" if path else f"{owner}/{repo}"
    return f"{target}@{draw(refs)}"


def quoted(value: str, quote: str) -> str:
    return f"{quote}{value}{quote}"


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[str]]:
    """(text with \\n line ends, the uses values in file order)."""
    values: list[str] = []
    lines: list[str] = []

    def trail() -> str:
        comment = draw(comments)
        spaces = " " * draw(st.integers(1, 3))
        return f"{spaces}# {comment}" if comment else draw(st.sampled_from(["", "  "]))

    def uses_step(indent: str) -> list[str]:
        value = draw(uses_values())
        values.append(value)
        quote = draw(st.sampled_from(["", "'", '"']))
        written = quoted(value, quote)
        style = draw(st.sampled_from(["block", "block-first", "flow", "flow-with"]))
        if style == "block":
            return [f"{indent}- name: step", f"{indent}  uses: {written}{trail()}"]
        if style == "block-first":
            return [
                f"{indent}- uses: {written}{trail()}",
                f"{indent}  with:",
                f"{indent}    x: 'a # b'",
            ]
        if style == "flow":
            return [f"{indent}- {{uses: {written}}}{trail()}"]
        return [f'{indent}- {{name: s, uses: {written}, with: {{x: "y # z", n: 1}}}}{trail()}']

    def job(job_id: str) -> list[str]:
        out = [f"  {job_id}:"]
        if draw(st.booleans()) and not values:  # a reusable workflow call
            value = f"{draw(names)}/{draw(names)}/.github/workflows/w.yml@{draw(refs)}"
            values.append(value)
            written = quoted(value, draw(st.sampled_from(["", '"'])))
            parts = [[f"    uses: {written}{trail()}"], ["    with:", "      a: 1"]]
        else:
            step_lines = ["    steps:"]
            for _ in range(draw(st.integers(1, 4))):
                if draw(st.integers(0, 3)) == 0:
                    step_lines += ["      - run: echo hi # not a uses", "        shell: bash"]
                else:
                    step_lines += uses_step("      ")
            parts = [["    runs-on: ubuntu-latest"], step_lines, ["    env: {A: '1'}"]]
        for part in draw(st.permutations(parts)):
            out += part
        return out

    jobs = ["jobs:"]
    for index in range(draw(st.integers(1, 3))):
        jobs += job(f"j{index}")
    top = [["name: ci"], ["on: [push]"], ["# a comment line", "permissions: {}"], jobs]
    for part in draw(st.permutations(top)):
        lines += part
    return "\n".join(lines) + "\n", values


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), crlf=st.booleans(), bom=st.booleans(), data=st.data())
def test_rewrite_changes_only_uses(
    doc: tuple[str, list[str]], crlf: bool, bom: bool, data: st.DataObject
) -> None:
    text, values = doc
    if crlf:
        text = text.replace("\n", "\r\n")
    source = scan(text, ".github/workflows/x.yml", "workflow", bom=bom)
    assert [s.value.raw for s in source.uses] == values

    chosen = data.draw(st.lists(st.sampled_from(source.uses), unique=True)) if values else []
    edits = []
    for site in chosen:
        action = site.value.action
        assert action is not None
        new_value = f"{action.target}@{'c' * 40}"
        new_comment = data.draw(st.sampled_from([None, "v9.8.7", "main"]))
        edits.append(Edit(site, new_value, new_comment))

    out = apply_edits(source, edits)
    assert out.startswith(b"\xef\xbb\xbf") == bom
    new_text = out.decode("utf-8")[1:] if bom else out.decode("utf-8")

    # same data, only the edited values replaced
    expected = to_python(
        compose(text, source="x"), replace={e.site.value_span.start: e.value for e in edits}
    )
    assert to_python(compose(new_text, source="x")) == expected

    # every line without an edited site is byte-identical; line endings unchanged
    old_lines = text.splitlines(keepends=True)
    new_lines = new_text.splitlines(keepends=True)
    assert len(old_lines) == len(new_lines)
    edited_lines = {e.site.line for e in edits}
    for number, (old, new) in enumerate(zip(old_lines, new_lines, strict=True), start=1):
        if number not in edited_lines:
            assert old == new
        assert old.endswith("\r\n") == new.endswith("\r\n")

    # scanning the result finds the new values, the new comments, the kept notes/directives
    rescanned = scan(new_text, ".github/workflows/x.yml", "workflow")
    by_start = {e.site.value_span.start: e for e in edits}
    shared_lines = {s.line for s in source.uses if sum(t.line == s.line for t in source.uses) > 1}
    assert len(rescanned.uses) == len(source.uses)
    for before, after in zip(source.uses, rescanned.uses, strict=True):
        edit = by_start.get(before.value_span.start)
        assert after.quote == before.quote
        if edit is None:
            assert after.value.raw == before.value.raw
            continue
        assert after.value.raw == edit.value
        if edit.comment is None or before.line in shared_lines:
            assert after.comment == before.comment
            continue
        assert after.comment == render_comment(before.comment, edit.comment)
        parsed_after = parse_comment(after.comment or "")
        claimed = parsed_after.version or ""
        # the claim, spelled in the old dialect: a tracked ref that includes it stays, a
        # "version:" written without "v" stays without
        assert (
            claimed == edit.comment
            or (parsed_after.tracks and covers(claimed, edit.comment))
            or (parsed_after.dialect == "version" and "v" + claimed == edit.comment)
        ), after.comment
        if before.comment:
            parsed_before = parse_comment(before.comment)
            assert parsed_after.ignore == parsed_before.ignore
            if parsed_before.version is None:  # no claim: kept verbatim after pinner's
                assert after.comment.endswith("# " + before.comment)
            else:  # everything around the claim is kept (a note may gain a "#" of its own)
                assert after.comment.startswith(before.comment[: parsed_before.value_start])
                assert after.comment.endswith(before.comment[parsed_before.value_end :])
