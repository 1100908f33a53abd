"""The outbound guard over real sockets on this machine: allow-lists, DNS pinning, redirects (hop limit,
credentials across origins, bodies), the response-size cap and the overall deadline."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nexod.adapters.outbound_http import GuardedHttp
from nexod.runtime.errors import BlockedDestinationError, NodeFailedError, NodeRetryableError
from tests.support.recording_server import Recorder, serving


@pytest.fixture
def target() -> Iterator[Recorder]:
    with serving(name="target") as server:
        yield server


@pytest.fixture
def other() -> Iterator[Recorder]:
    with serving(name="other") as server:
        yield server


def request(url: str, allow: list[str], guard: GuardedHttp | None = None, method: str = "GET", **kwargs: Any):
    args = {"headers": {}, "body": None, "timeout": 5.0, "follow_redirects": True, "max_redirects": 3, **kwargs}
    return (guard or GuardedHttp()).request(method, url, allow_hosts=allow, **args)


def test_loopback_is_refused_unless_allow_listed(target: Recorder):
    with pytest.raises(BlockedDestinationError):
        request(f"{target.origin}/json", [])
    assert target.requests == []  # refused before connecting
    response = request(f"{target.origin}/json", [target.hostport])
    assert (response.status, response.body) == (200, {"hello": "world", "server": "target"})


def test_redirects_are_followed_and_each_hop_is_checked(target: Recorder):
    assert request(f"{target.origin}/hop", [target.hostport]).url.endswith("/json")
    # An allowed host redirecting to the metadata endpoint is stopped at the hop
    with pytest.raises(BlockedDestinationError, match=r"169\.254\.169\.254"):
        request(f"{target.origin}/to-metadata", [target.hostport])


def test_timeouts_are_retryable(target: Recorder):
    with pytest.raises(NodeRetryableError, match="timed out"):
        request(f"{target.origin}/slow", [target.hostport], timeout=0.5)


# -- DNS pinning ---------------------------------------------------------------------------------------


def test_the_connection_goes_to_the_address_the_guard_checked_not_a_second_lookup(monkeypatch):
    # Given two servers on the same port of two loopback addresses, and a DNS name whose answer changes
    # after the first lookup (DNS rebinding) -- for the guard's resolver and the system's alike
    with serving("127.0.0.1", name="checked") as checked, serving("127.0.0.2", checked.server_address[1], "rebound"):
        answers = iter(["127.0.0.1"] + ["127.0.0.2"] * 10)
        lookups: list[str] = []
        real_getaddrinfo = socket.getaddrinfo

        def rebinding(host, port, family=0, type=0, proto=0, flags=0):
            if host != "rebind.test":
                return real_getaddrinfo(host, port, family, type, proto, flags)
            lookups.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        guard = GuardedHttp(resolver=rebinding)
        # When the node calls the name (allow-listed, as loopback would otherwise be refused)
        response = request(f"http://rebind.test:{checked.server_address[1]}/json", ["rebind.test"], guard)
    # Then it was looked up once, and the server at the checked address answered, with the name as Host
    assert lookups == ["rebind.test"]
    assert response.body["server"] == "checked"
    assert checked.requests[0]["headers"]["Host"] == f"rebind.test:{checked.server_address[1]}"


def test_each_redirect_hop_is_resolved_and_checked_again(target: Recorder):
    # Given a name that is public on the first lookup and private on the second
    answers = iter(["127.0.0.1", "10.0.0.9"])

    def resolver(host, port, type=0):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    guard = GuardedHttp(resolver=resolver)
    # When the first hop (allow-listed by address) redirects to the name
    target.redirect_to = "http://flip.test"
    with pytest.raises(BlockedDestinationError, match=r"10\.0\.0\.9"):
        request(f"http://flip.test:{target.server_address[1]}/away", [f"flip.test:{target.server_address[1]}"], guard)
    assert [r["path"] for r in target.requests] == ["/away"]


def test_a_refused_address_falls_back_to_the_next_checked_one(target: Recorder):
    # Given a name with two checked addresses, the first of which refuses connections
    def resolver(host, port, type=0):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in ("127.0.0.3", "127.0.0.1")]

    port = target.server_address[1]
    response = request(f"http://two.test:{port}/json", ["two.test"], GuardedHttp(resolver=resolver))
    assert response.body["server"] == "target"


# -- redirect hop limit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_redirects_stop_at_the_hop_limit(target: Recorder, limit: int):
    # Given a server that redirects forever
    # When a node allows `limit` redirects
    with pytest.raises(NodeFailedError, match=f"stopped after {limit} redirects") as caught:
        request(f"{target.origin}/loop/0", [target.hostport], max_redirects=limit)
    # Then exactly limit + 1 requests were made
    assert [r["path"] for r in target.requests] == [f"/loop/{n}" for n in range(limit + 1)]
    assert caught.value.details["redirects"] == limit


def test_the_last_allowed_hop_is_followed(target: Recorder):
    response = request(f"{target.origin}/hop", [target.hostport], max_redirects=1)
    assert response.status == 200 and response.url == f"{target.origin}/json"


def test_redirects_are_returned_as_is_when_not_followed(target: Recorder):
    response = request(f"{target.origin}/loop/0", [target.hostport], follow_redirects=False)
    assert (response.status, response.headers["location"]) == (302, "/loop/1")
    assert len(target.requests) == 1


# -- credentials never cross origins -----------------------------------------------------------------------

CREDENTIALS = {
    "Authorization": "Bearer sk-live-0123456789",
    "Proxy-Authorization": "Basic cHJveHk6c2VjcmV0",
    "Cookie": "session=0123456789",
    "X-Api-Key": "key-0123456789",
    "X-Auth-Token": "tok-0123456789",
}
KEPT = {"Accept": "text/plain", "X-Trace": "trace-1"}


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_drops_credentials_and_secret_headers(
    target: Recorder, other: Recorder, status: int
):
    # Given an allow-listed host that redirects to another origin (another port)
    target.redirect_to = other.origin
    headers = {**CREDENTIALS, **KEPT, "X-From-Secret": "from-a-secret-0123456789"}
    # When a node sends credentials and a header rendered from a secret
    response = request(
        f"{target.origin}/away/{status}",
        [target.hostport, other.hostport],
        headers=headers,
        secret_headers={"x-from-secret"},
    )
    # Then the first origin got everything, the second none of the credentials but the rest
    assert response.url == f"{other.origin}/landed"
    first, landed = target.requests[0]["headers"], other.requests[0]["headers"]
    assert all(first[name] == value for name, value in headers.items())
    assert not {n.lower() for n in landed} & {n.lower() for n in [*CREDENTIALS, "X-From-Secret"]}
    assert all(landed[name] == value for name, value in KEPT.items())
    assert landed["Host"] == other.hostport


def test_a_redirect_to_another_host_name_on_the_same_port_is_another_origin(target: Recorder):
    # Given "localhost" and "127.0.0.1": the same server, two origins
    target.redirect_to = f"http://localhost:{target.server_address[1]}"
    request(f"{target.origin}/away", [target.hostport, "localhost"], headers=dict(CREDENTIALS))
    assert "Authorization" in target.requests[0]["headers"]
    assert "Authorization" not in target.requests[1]["headers"]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_same_origin_redirect_keeps_credentials(target: Recorder, status: int):
    request(f"{target.origin}/same/{status}", [target.hostport], headers=dict(CREDENTIALS))
    assert [r["path"] for r in target.requests] == [f"/same/{status}", "/landed"]
    assert target.requests[1]["headers"]["Authorization"] == CREDENTIALS["Authorization"]


@pytest.mark.parametrize("status", [307, 308])
def test_a_body_is_not_resent_to_another_origin_unless_the_node_allows_it(
    target: Recorder, other: Recorder, status: int
):
    target.redirect_to = other.origin
    allow = [target.hostport, other.hostport]
    # When a POST is answered with a 307/308 to another origin / Then it is refused, naming the flag
    with pytest.raises(NodeFailedError, match="redirect_body_to_other_origins") as caught:
        request(f"{target.origin}/away/{status}", allow, method="POST", body={"card": "4111"})
    assert other.requests == [] and caught.value.details["status"] == status
    # And with the flag set, the body follows (still without credentials)
    request(
        f"{target.origin}/away/{status}",
        allow,
        method="POST",
        body={"card": "4111"},
        headers={"Authorization": "Bearer x"},
        redirect_body_to_other_origins=True,
    )
    assert other.requests[0]["method"] == "POST" and json.loads(other.requests[0]["body"]) == {"card": "4111"}
    assert "Authorization" not in other.requests[0]["headers"]


@pytest.mark.parametrize("status", [307, 308])
def test_a_body_follows_a_same_origin_307(target: Recorder, status: int):
    request(f"{target.origin}/same/{status}", [target.hostport], method="POST", body="payload")
    assert [(r["method"], r["body"]) for r in target.requests] == [("POST", b"payload"), ("POST", b"payload")]


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_post_redirected_with_301_302_303_becomes_a_get_without_body(target: Recorder, other: Recorder, status: int):
    target.redirect_to = other.origin
    request(f"{target.origin}/away/{status}", [target.hostport, other.hostport], method="POST", body={"a": 1})
    landed = other.requests[0]
    assert (landed["method"], landed["body"]) == ("GET", b"")
    assert "Content-Type" not in landed["headers"]


# -- response size cap and deadline ---------------------------------------------------------------------


def test_a_response_beyond_the_size_cap_is_cut_off_not_read_to_the_end(target: Recorder):
    # Given a server streaming 64 MiB, and a guard capped at 256 KiB
    guard = GuardedHttp(max_body_bytes=256 * 1024)
    started = time.monotonic()
    # When a node reads it / Then it fails clearly, naming the limit
    with pytest.raises(NodeFailedError, match="larger than the 262144-byte limit") as caught:
        request(f"{target.origin}/stream", [target.hostport], guard)
    assert "stopped reading after" in caught.value.message and caught.value.details == {"limit_bytes": 262144}
    # And the connection was dropped early: the server could not send the rest (socket buffers aside)
    assert target.finished_streaming.wait(10)
    assert target.bytes_sent < 16 * 1024 * 1024
    assert time.monotonic() - started < 5


def test_a_declared_length_beyond_the_cap_is_refused_before_reading(target: Recorder):
    with pytest.raises(NodeFailedError, match=r"it declares 1099511627776 bytes"):
        request(f"{target.origin}/declared-huge", [target.hostport], GuardedHttp(max_body_bytes=1024))


def test_a_response_exactly_at_the_cap_is_read(target: Recorder):
    size = len(json.dumps({"hello": "world", "server": "target"}))
    assert request(f"{target.origin}/json", [target.hostport], GuardedHttp(max_body_bytes=size)).status == 200
    with pytest.raises(NodeFailedError, match="limit"):
        request(f"{target.origin}/json", [target.hostport], GuardedHttp(max_body_bytes=size - 1))


def test_a_trickling_response_cannot_outlast_the_node_timeout(target: Recorder):
    # Given a server that sends one byte every 0.2 s (each read is fast, the response takes 200 s)
    started = time.monotonic()
    with pytest.raises(NodeRetryableError, match="timed out after 1s"):
        request(f"{target.origin}/drip", [target.hostport], timeout=1.0)
    assert time.monotonic() - started < 3


def test_the_default_size_cap_is_ten_mebibytes():
    assert GuardedHttp().max_body_bytes == 10 * 1024 * 1024


def test_response_headers_are_returned_lowercased(target: Recorder):
    response = request(f"{target.origin}/cookie", [target.hostport])
    assert response.headers["set-cookie"] == "session=abc123secret"
    assert response.headers["content-type"] == "application/json"
