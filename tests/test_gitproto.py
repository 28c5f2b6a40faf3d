"""git smart HTTP: pkt-line codec, ls-refs request bytes, parsers on real captured bytes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from pinner.errors import NotFoundError, RemoteError
from pinner.forge.gitproto import (
    DELIM_PKT,
    FLUSH_PKT,
    LS_REFS_REQUEST,
    fetch_ref_listing,
    iter_pkt_lines,
    parse_info_refs_v0,
    parse_ls_refs_v2,
    pkt_line,
    to_listing,
)
from pinner.forge.http import Transport
from pinner.settings import ForgeUrls, Settings

CAPTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "git-protocol"
C1 = "4fbfc7dd1a7c7a37fc70a08cb41227f128127dd2"
C2 = "5914dc7a4dbd74e4fa4843394215e44ee78885b2"


def capture(name: str) -> bytes:
    path = CAPTURES / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: git protocol captures not available")
    return path.read_bytes()


def parsed_json() -> dict:
    return json.loads(capture("parsed.json"))


def as_mapping(refs) -> dict:
    return {r.name: {"oid": r.oid, "peeled": r.peeled} for r in refs}


# ----------------------------------------------------------------------------- codec


def test_pkt_line_encodes_length_including_header():
    assert pkt_line("command=ls-refs\n") == b"0014command=ls-refs\n"
    assert pkt_line(b"") == b"0004"


def test_ls_refs_request_bytes_exactly():
    assert LS_REFS_REQUEST == (
        b"0014command=ls-refs\n"
        b"0001"
        b"0009peel\n"
        b"000csymrefs\n"
        b"001bref-prefix refs/heads/\n"
        b"001aref-prefix refs/tags/\n"
        b"0014ref-prefix HEAD\n"
        b"0000"
    )


def test_ls_refs_request_uses_the_same_framing_as_real_git():
    """Every packet of real git's request that pinner also sends is byte-identical."""
    real = list(iter_pkt_lines(capture("v2-ls-refs.request")))
    ours = list(iter_pkt_lines(LS_REFS_REQUEST))
    for pkt in ("command=ls-refs\n", "peel\n", "symrefs\n", "ref-prefix refs/heads/\n"):
        assert pkt.encode() in real and pkt.encode() in ours
    assert DELIM_PKT in ours and ours[-1] is FLUSH_PKT


def test_iter_pkt_lines_roundtrip():
    body = pkt_line("a\n") + b"0001" + pkt_line("b") + b"0000"
    assert list(iter_pkt_lines(body)) == [b"a\n", DELIM_PKT, b"b", FLUSH_PKT]


@pytest.mark.parametrize(
    "body",
    [
        b"00",  # truncated header
        b"zzzzdata",  # non-hex length
        b"0003",  # length below the header size
        b"0020short",  # truncated packet
        b"\xff\xfe\xfd\xfc",  # not ASCII
    ],
)
def test_malformed_pkt_lines_raise_remote_error(body):
    with pytest.raises(RemoteError):
        list(iter_pkt_lines(body))


# ----------------------------------------------------------------------------- captured bytes


def test_v2_ls_refs_matches_parsed_json():
    refs = parse_ls_refs_v2(capture("v2-ls-refs.body"))
    assert as_mapping(refs) == parsed_json()["v2_refs_heads_tags_peeled"]


def test_v2_prefix_capture_is_a_plain_string_prefix():
    refs = parse_ls_refs_v2(capture("v2-ls-refs-prefix-v1.body"))
    expected = {
        k: v
        for k, v in parsed_json()["v2_refs_heads_tags_peeled"].items()
        if k.startswith("refs/tags/v1")
    }
    assert as_mapping(refs) == expected


def test_v2_noargs_capture_filters_to_branches_and_tags():
    refs = parse_ls_refs_v2(capture("v2-ls-refs-noargs.body"))
    names = {r.name for r in refs}
    assert {"HEAD", "refs/pull/1/head"} <= names  # the server sent them ...
    listing = to_listing("o/r", refs)
    assert {r.name for r in listing.refs} == set(parsed_json()["v2_refs_heads_tags_peeled"])
    assert all(r.name.startswith(("refs/heads/", "refs/tags/")) for r in listing.refs)


def test_v0_info_refs_matches_parsed_json():
    adv = parse_info_refs_v0(capture("v0-info-refs.body"))
    expected = parsed_json()
    assert list(adv.capabilities) == expected["v0_capabilities"]
    assert as_mapping(adv.refs) == expected["v0_refs"]
    assert adv.head_symref == "refs/heads/main"


def test_v0_and_v2_listings_agree_and_tags_are_peeled():
    adv = parse_info_refs_v0(capture("v0-info-refs.body"))
    v0 = to_listing("o/r", adv.refs, adv.head_symref)
    v2 = to_listing("o/r", parse_ls_refs_v2(capture("v2-ls-refs.body")))
    assert set(v0.refs) == set(v2.refs)
    assert v0.default_branch == "main"
    assert v0.tag("v1.0.0").commit == C1 and v0.tag("v1.0.0").annotated
    assert v0.tag("v1-nested").commit == C2  # a tag of a tag, peeled to the commit
    assert v0.tag("v1.0.0-light").commit == C1 and not v0.tag("v1.0.0-light").annotated
    assert v0.branch("v1") is not None and v0.tag("v1") is not None  # ref confusion kept


def test_v2_symref_target_gives_default_branch():
    body = (
        pkt_line(f"{C2} HEAD symref-target:refs/heads/trunk\n")
        + pkt_line(f"{C2} refs/heads/trunk\n")
        + b"0000"
    )
    listing = to_listing("o/r", parse_ls_refs_v2(body))
    assert listing.default_branch == "trunk"
    assert [r.name for r in listing.refs] == ["refs/heads/trunk"]


@pytest.mark.parametrize(
    "body",
    [
        pkt_line(f"{C2} refs/heads/main\n"),  # no flush: truncated
        pkt_line("nothex refs/heads/main\n") + b"0000",
        pkt_line(f"{C2}\n") + b"0000",  # no ref name
        pkt_line(f"{C2} refs/tags/v1 peeled:xyz\n") + b"0000",
        pkt_line("ERR access denied\n") + b"0000",
        pkt_line(f"{C2} refs/heads/main\n") + b"0001" + b"0000",
    ],
)
def test_v2_garbage_raises_remote_error(body):
    with pytest.raises(RemoteError):
        parse_ls_refs_v2(body)


@pytest.mark.parametrize("cut", [1, 3, 10, 40, 200, 600, 1127])
def test_truncated_v0_capture_raises_remote_error(cut):
    with pytest.raises(RemoteError):
        parse_info_refs_v0(capture("v0-info-refs.body")[:cut])


def test_v0_peel_line_for_unknown_ref_is_rejected():
    body = pkt_line(f"{C2} refs/tags/x^{{}}\n") + b"0000"
    with pytest.raises(RemoteError):
        parse_info_refs_v0(body)


def test_v0_empty_repository_placeholder_lists_nothing():
    body = pkt_line("# service=git-upload-pack\n") + b"0000"
    body += pkt_line("0" * 40 + " capabilities^{}\0agent=git/2\n") + b"0000"
    adv = parse_info_refs_v0(body)
    assert adv.refs == () and adv.capabilities == ("agent=git/2",)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_escape_as_anything_but_remote_error(data):
    for parser in (parse_ls_refs_v2, parse_info_refs_v0):
        with contextlib.suppress(RemoteError):
            parser(data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_capture_never_escapes_as_anything_but_remote_error(data):
    body = bytearray(capture("v0-info-refs.body"))
    pos = data.draw(st.integers(0, len(body) - 1))
    body[pos] = data.draw(st.integers(0, 255))
    with contextlib.suppress(RemoteError):
        parse_info_refs_v0(bytes(body))


# ----------------------------------------------------------------------------- over HTTP


def run(coro):
    return asyncio.run(coro)


SETTINGS = Settings(urls=ForgeUrls.derive("https://ghe.example.com"))
GIT = "https://ghe.example.com/o/r.git"


async def _list(settings: Settings = SETTINGS):
    async with Transport(settings) as transport:
        return await fetch_ref_listing(transport, GIT, "o/r")


def test_v2_request_shape_and_result():
    body = capture("v2-ls-refs.body")
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(f"{GIT}/git-upload-pack").mock(
            return_value=httpx.Response(200, content=body)
        )
        listing = run(_list())
    request = route.calls.last.request
    assert request.content == LS_REFS_REQUEST
    assert request.headers["git-protocol"] == "version=2"
    assert request.headers["content-type"] == "application/x-git-upload-pack-request"
    assert "authorization" not in request.headers  # no token configured
    assert listing.tag("v1.1.0").commit == C2


def test_empty_v2_body_falls_back_to_v0():
    with respx.mock(assert_all_called=True) as mock:
        mock.post(f"{GIT}/git-upload-pack").mock(
            return_value=httpx.Response(200, content=capture("v2-ls-refs-no-header.body"))
        )
        v0 = mock.get(f"{GIT}/info/refs", params={"service": "git-upload-pack"}).mock(
            return_value=httpx.Response(200, content=capture("v0-info-refs.body"))
        )
        listing = run(_list())
    assert v0.called
    assert listing.default_branch == "main"
    assert listing.tag("v1.0.0").commit == C1
    assert "refs/pull/1/head" not in {r.name for r in listing.refs}


@pytest.mark.parametrize("status", [401, 403, 404])
def test_missing_repository_is_not_found(status):
    with respx.mock:
        respx.post(f"{GIT}/git-upload-pack").mock(return_value=httpx.Response(status))
        with pytest.raises(NotFoundError, match="o/r"):
            run(_list())


def test_garbage_over_http_is_remote_error():
    with respx.mock:
        respx.post(f"{GIT}/git-upload-pack").mock(
            return_value=httpx.Response(200, content=b"<html>")
        )
        with pytest.raises(RemoteError):
            run(_list())


def test_protocol_errors_name_the_request():
    with respx.mock:
        respx.post(f"{GIT}/git-upload-pack").mock(
            return_value=httpx.Response(200, content=b"<!DOCTYPE html><html>login</html>")
        )
        with pytest.raises(RemoteError, match=r"list refs of o/r: git: .*git-upload-pack\)$"):
            run(_list())


def test_renamed_repository_redirect_keeps_the_ls_refs_post():
    """A 301 on the POST (renamed repository) must re-POST the same body, not turn into GET."""
    new = "https://ghe.example.com/o/renamed.git/git-upload-pack"
    with respx.mock:
        respx.post(f"{GIT}/git-upload-pack").mock(
            return_value=httpx.Response(301, headers={"location": new})
        )
        target = respx.post(new).mock(
            return_value=httpx.Response(200, content=capture("v2-ls-refs.body"))
        )
        listing = run(_list())
    assert target.calls.last.request.content == LS_REFS_REQUEST
    assert target.calls.last.request.headers["git-protocol"] == "version=2"
    assert listing.branch("main").commit == C2
