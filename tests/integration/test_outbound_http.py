"""The outbound guard over real sockets on this machine: allow-lists, DNS pinning, redirects (hop limit,
credentials across origins, bodies), the response-size cap and the overall deadline."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nexod.adapters.outbound_http import GuardedHttp
from nexod.runtime.errors import BlockedDestinationError, NodeFailedError, NodeRetryableError
from tests.support.recording_server import Recorder, serving
from tests.support.tls import LocalAuthority


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


def test_timeouts_are_retryable_and_on_time(target: Recorder):
    started = time.monotonic()
    with pytest.raises(NodeRetryableError, match=r"^GET http://127\.0\.0\.1:\d+/slow timed out after 0\.5s$"):
        request(f"{target.origin}/slow", [target.hostport], timeout=0.5)
    assert time.monotonic() - started < 1.5  # the server answers after 2 s


def test_a_deadline_spent_before_connecting_is_a_timeout(target: Recorder):
    with pytest.raises(NodeRetryableError, match=r"timed out after 1e-06s$"):
        request(f"{target.origin}/json", [target.hostport], timeout=1e-6)
    assert target.requests == []


def test_a_prompt_answer_within_a_short_timeout_is_read(target: Recorder):
    assert request(f"{target.origin}/json", [target.hostport], timeout=0.5).status == 200


def test_a_stalled_body_cannot_outlast_the_node_timeout(target: Recorder):
    # Given a server that sends a byte, pauses 0.6 s, sends another, then goes silent
    started = time.monotonic()
    with pytest.raises(NodeRetryableError, match="timed out after 1s"):
        request(f"{target.origin}/stall", [target.hostport], timeout=1.0)
    # Then the node gives up at its deadline, not a full timeout after the last byte
    assert time.monotonic() - started < 1.4


def test_when_every_checked_address_refuses_the_failure_is_retryable():
    def resolver(host, port, type=0):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in ("127.0.0.3", "127.0.0.4")]

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NodeRetryableError, match=r"connection failed: \[Errno 111\] Connection refused"):
        request(f"http://down.test:{port}/", ["down.test"], GuardedHttp(resolver=resolver))


def test_a_response_that_is_not_http_is_retryable(target: Recorder):
    with pytest.raises(NodeRetryableError, match=r"/garbage: invalid HTTP response: BadStatusLine$"):
        request(f"{target.origin}/garbage", [target.hostport])


def test_undecodable_text_is_replaced_not_fatal(target: Recorder):
    assert request(f"{target.origin}/badutf8", [target.hostport]).body == "\ufffd\ufffdok"


# -- what is sent ----------------------------------------------------------------------------------------


def test_default_headers_are_sent_unless_the_node_sets_them(target: Recorder):
    request(f"{target.origin}/json", [target.hostport])
    request(f"{target.origin}/json", [target.hostport], headers={"user-agent": "mine/1", "ACCEPT": "text/csv"})
    defaults, overridden = (r["all_headers"] for r in target.requests)
    assert ("User-Agent", "Nexod/0.1") in defaults and ("Accept", "application/json, */*;q=0.5") in defaults
    assert [v for k, v in overridden if k.lower() == "user-agent"] == ["mine/1"]
    assert [v for k, v in overridden if k.lower() == "accept"] == ["text/csv"]


def test_bodies_are_encoded_and_typed(target: Recorder):
    allow = [target.hostport]
    request(f"{target.origin}/json", allow, method="POST", body={"caf\u00e9": "\u20ac"})
    request(f"{target.origin}/json", allow, method="POST", body="h\u00e9llo \u20ac")
    request(f"{target.origin}/json", allow, method="POST", body=b"\x00raw")
    request(f"{target.origin}/json", allow, method="POST", body={"a": 1}, headers={"content-type": "text/x"})
    as_json, as_text, as_bytes, typed = target.requests
    assert (
        json.loads(as_json["body"]) == {"caf\u00e9": "\u20ac"}
        and as_json["headers"]["Content-Type"] == "application/json"
    )
    assert as_text["body"] == "h\u00e9llo \u20ac".encode() and "Content-Type" not in as_text["headers"]
    assert as_bytes["body"] == b"\x00raw"
    assert [v for k, v in typed["all_headers"] if k.lower() == "content-type"] == ["text/x"]


def test_a_head_request_stays_a_head_request_across_a_redirect(target: Recorder):
    request(f"{target.origin}/same/302", [target.hostport], method="HEAD")
    assert [(r["method"], r["path"]) for r in target.requests] == [("HEAD", "/same/302"), ("HEAD", "/landed")]


def test_error_messages_name_the_request_without_secret_query_values(target: Recorder):
    guard = GuardedHttp(max_body_bytes=10)
    with pytest.raises(NodeFailedError) as caught:
        request(f"{target.origin}/json?sig=s3cr3t-value&page=2", [target.hostport], guard, secret_headers={"sig"})
    assert caught.value.message.startswith(f"GET {target.origin}/json?sig=[redacted]&page=2: the response is larger")
    assert caught.value.message.endswith("ask for less data (a page, a range, a filter)")
    assert "s3cr3t-value" not in caught.value.message


# -- DNS pinning ---------------------------------------------------------------------------------------


def test_the_connection_goes_to_the_address_the_guard_checked_not_a_second_lookup(monkeypatch):
    # Given two servers on the same port of two loopback addresses, and a DNS name whose answer changes
    # after the first lookup (DNS rebinding) -- for the guard's resolver and the system's alike
    with serving("127.0.0.2", name="checked") as checked, serving("127.0.0.1", checked.server_address[1], "rebound"):
        answers = iter(["127.0.0.2"] + ["127.0.0.1"] * 10)
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
    # Then exactly limit + 1 requests were made, and the error says what to do
    assert [r["path"] for r in target.requests] == [f"/loop/{n}" for n in range(limit + 1)]
    assert caught.value.details == {"redirects": limit, "location": f"/loop/{limit + 1}"}
    assert caught.value.message.endswith("call the final URL directly or raise max_redirects (up to 20)")
    assert caught.value.message.startswith(f"GET {target.origin}/loop/{limit}: ")


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
KEPT = {"Accept": "text/plain", "X-Trace": "XYZ-trace-1"}


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_drops_credentials_and_secret_headers(
    target: Recorder, other: Recorder, status: int
):
    # Given an allow-listed host that redirects to another origin (another port)
    target.redirect_to = other.origin
    headers = {**CREDENTIALS, **KEPT, "X-Vendor": "from-a-secret-0123456789", "Host": target.hostport}
    # When a node sends credentials, its own Host, and a header rendered from a secret (an ordinary name)
    response = request(
        f"{target.origin}/away/{status}",
        [target.hostport, other.hostport],
        headers=headers,
        secret_headers={"x-vendor"},
    )
    # Then the first origin got everything, the second none of the credentials but the rest
    assert response.url == f"{other.origin}/landed"
    first, landed = target.requests[0]["headers"], other.requests[0]["headers"]
    assert all(first[name] == value for name, value in headers.items())
    assert not {n.lower() for n in landed} & {n.lower() for n in [*CREDENTIALS, "X-Vendor"]}
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
    assert other.requests == []
    assert caught.value.details == {"status": status, "location": f"{other.origin}/landed"}
    assert f"to another origin ({other.origin}); set redirect_body_to_other_origins: true" in caught.value.message
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
    # set by the node: must not announce a body, or a type, the GET does not have
    headers = {"Content-Length": "6", "content-type": "application/json"}
    request(
        f"{target.origin}/away/{status}",
        [target.hostport, other.hostport],
        method="POST",
        body="{a: 1}",
        headers=headers,
    )
    landed = other.requests[0]
    assert (landed["method"], landed["body"]) == ("GET", b"")
    assert not {name.lower() for name in landed["headers"]} & {"content-type", "content-length"}


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_get_with_a_body_loses_it_on_a_301_302_303(target: Recorder, status: int):
    request(f"{target.origin}/same/{status}", [target.hostport], body={"q": 1})
    assert [(r["method"], r["body"]) for r in target.requests] == [("GET", b'{"q": 1}'), ("GET", b"")]


# -- response size cap and deadline ---------------------------------------------------------------------


def test_a_response_beyond_the_size_cap_is_cut_off_not_read_to_the_end(target: Recorder):
    # Given a server streaming 64 MiB, and a guard capped at 256 KiB
    guard = GuardedHttp(max_body_bytes=256 * 1024)
    started = time.monotonic()
    # When a node reads it / Then it fails clearly, naming the limit
    with pytest.raises(NodeFailedError, match="larger than the 262144-byte limit") as caught:
        request(f"{target.origin}/stream", [target.hostport], guard)
    assert caught.value.message.startswith(f"GET {target.origin}/stream: the response is larger")
    assert "stopped reading after" in caught.value.message and caught.value.details == {"limit_bytes": 262144}
    # And the connection was dropped early: the server could not send the rest (socket buffers aside)
    assert target.finished_streaming.wait(10)
    assert target.bytes_sent < 16 * 1024 * 1024
    assert time.monotonic() - started < 5


def test_a_declared_length_beyond_the_cap_is_refused_before_reading(target: Recorder):
    with pytest.raises(NodeFailedError, match=r"larger than the 1024-byte limit \(it declares 1099511627776 bytes\)"):
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


# -- TLS: pinned to the checked address, verified against the URL's name ---------------------------------


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> LocalAuthority:
    return LocalAuthority(tmp_path_factory.mktemp("ca"))


def tls_server(authority: LocalAuthority, certificate_for: str, names: list[str]) -> ssl.SSLContext:
    context = authority.server_context(certificate_for)
    context.sni_callback = lambda _sock, name, _ctx: names.append(str(name))
    return context


def pinned_to_loopback(host, port, type=0):
    # 127.0.0.2: a connection made to anything but the checked address (such as "localhost") misses it
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port))]


def test_https_connects_to_the_checked_address_and_verifies_the_url_host(authority: LocalAuthority):
    # Given a TLS server with a certificate for pinned.test, known only to the injected resolver
    names: list[str] = []
    with serving("127.0.0.2", tls=tls_server(authority, "pinned.test", names)) as server:
        guard = GuardedHttp(resolver=pinned_to_loopback, ssl_context=authority.client_context())
        port = server.server_address[1]
        # When the node calls it by name
        response = request(f"https://pinned.test:{port}/json", ["pinned.test"], guard)
    # Then TLS used the name (SNI and certificate), and the request reached the server
    assert (response.status, response.body["server"]) == (200, "a")
    assert names == ["pinned.test"]
    assert server.requests[0]["headers"]["Host"] == f"pinned.test:{port}"


def test_https_refuses_a_certificate_for_another_name(authority: LocalAuthority):
    with serving("127.0.0.2", tls=tls_server(authority, "other.test", [])) as server:
        guard = GuardedHttp(resolver=pinned_to_loopback, ssl_context=authority.client_context())
        with pytest.raises(NodeFailedError, match=r"TLS error: .*(Hostname mismatch|not valid for)") as caught:
            request(f"https://pinned.test:{server.server_address[1]}/json", ["pinned.test"], guard)
    assert not isinstance(caught.value, NodeRetryableError) and server.requests == []


def test_https_trusts_the_system_authorities_by_default(authority: LocalAuthority):
    with serving("127.0.0.2", tls=tls_server(authority, "pinned.test", [])) as server:
        guard = GuardedHttp(resolver=pinned_to_loopback)
        with pytest.raises(NodeFailedError, match="certificate verify failed"):
            request(f"https://pinned.test:{server.server_address[1]}/json", ["pinned.test"], guard)


def test_https_timeouts_are_on_time(authority: LocalAuthority):
    with serving("127.0.0.2", tls=tls_server(authority, "pinned.test", [])) as server:
        guard = GuardedHttp(resolver=pinned_to_loopback, ssl_context=authority.client_context())
        started = time.monotonic()
        with pytest.raises(NodeRetryableError, match=r"timed out after 0\.5s"):
            request(f"https://pinned.test:{server.server_address[1]}/slow", ["pinned.test"], guard, timeout=0.5)
    assert time.monotonic() - started < 1.5
