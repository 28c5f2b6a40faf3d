"""A host that DNS says does not exist fails at once, in one line; a resolver hiccup is retried."""

from __future__ import annotations

import socket

import httpx
import pytest
import respx

from pinner.core.pin import PinIssue, PinPlan
from pinner.errors import RemoteError
from pinner.formats import pin_text
from tests.test_forge_http import API, get, make_transport


def _connect_error(errno: int) -> httpx.ConnectError:
    error = httpx.ConnectError(f"[Errno {errno}] resolver says no")
    error.__cause__ = socket.gaierror(errno, "resolver says no")
    return error


@respx.mock
def test_unknown_host_is_not_retried_and_says_what_to_check():
    route = respx.get(f"{API}/x").mock(side_effect=_connect_error(socket.EAI_NONAME))
    transport, fake = make_transport()
    with pytest.raises(RemoteError) as info:
        get(transport, f"{API}/x")
    assert route.call_count == 1 and fake.sleeps == []
    message = str(info.value)
    assert message.startswith("cannot resolve host ")
    assert "--server-url" in message and "\n" not in message


def test_temporary_resolver_failure_is_retried():
    with respx.mock:
        route = respx.get(f"{API}/x").mock(
            side_effect=[_connect_error(socket.EAI_AGAIN), httpx.Response(200, text="ok")]
        )
        transport, fake = make_transport()
        assert get(transport, f"{API}/x").body == b"ok"
    assert route.call_count == 2 and len(fake.sleeps) == 1


def test_one_remote_failure_on_many_uses_is_printed_once():
    def remote(line: int, message: str) -> PinIssue:
        return PinIssue("remote", "remote-failure", "ci.yml", line, "o/r@v1", message)

    plan = PinPlan(
        sources=(),
        changes=(),
        issues=(
            remote(3, "cannot resolve host x"),
            remote(9, "cannot resolve host x"),
            remote(12, "cannot resolve host x"),
            remote(20, "another failure"),
        ),
    )
    _, errors = pin_text.render(plan)
    assert errors == [
        "ci.yml:3: remote error: cannot resolve host x (and 2 more uses)",
        "ci.yml:20: remote error: another failure",
    ]
