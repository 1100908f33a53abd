"""The outbound guard refuses private, loopback and metadata destinations before any connection."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from nexod.adapters.outbound_http import GuardedHttp, blocked_reason
from nexod.runtime.errors import BlockedDestinationError, NodeFailedError


def resolver_to(*addresses: str):
    def resolve(host, port, type=0):
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


@pytest.fixture
def no_connections(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "link-local"),  # EC2 instance metadata
        ("169.254.170.2", "link-local"),  # ECS task metadata
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),
        ("::1", "loopback"),
        ("fd00::1", "private"),  # unique-local
        ("fe80::1", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),  # IPv4-mapped IPv6
        ("224.0.0.1", "multicast"),
    ],
)
def test_blocked_ranges(address: str, reason: str):
    assert reason in (blocked_reason(ipaddress.ip_address(address)) or "")


def test_public_addresses_pass():
    assert blocked_reason(ipaddress.ip_address("93.184.216.34")) is None


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://127.0.0.1:5432", "127.0.0.1"),
        ("http://internal.example.com/", "10.0.0.7"),  # a public name resolving to a private address
    ],
)
def test_requests_to_blocked_destinations_fail_without_connecting(no_connections, url: str, address: str):
    # Given a guard whose DNS answers with a blocked address
    guard = GuardedHttp(resolver=resolver_to(address))
    # When a request is made / Then it is refused before any socket is opened
    with pytest.raises(BlockedDestinationError) as caught:
        guard.request(
            "GET",
            url,
            headers={},
            body=None,
            timeout=5,
            follow_redirects=True,
            max_redirects=3,
            allow_hosts=[],
        )
    assert "blocked destination" in caught.value.message and address in caught.value.message


def test_any_blocked_address_among_several_blocks_the_host(no_connections):
    guard = GuardedHttp(resolver=resolver_to("93.184.216.34", "10.0.0.1"))
    with pytest.raises(BlockedDestinationError):
        guard.check("http://mixed.example.com/", [])


def test_allow_listed_host_and_port_pass_the_guard():
    guard = GuardedHttp(resolver=resolver_to("127.0.0.1"))
    assert guard.check("http://localhost:8000/x?y=1", ["localhost:8000"])[3:] == ("127.0.0.1", "/x?y=1")
    # the allow-list entry names a port: another port on the same host stays blocked
    with pytest.raises(BlockedDestinationError):
        guard.check("http://localhost:5432/", ["localhost:8000"])


def test_only_http_and_https_are_allowed():
    with pytest.raises(NodeFailedError, match="only http and https"):
        GuardedHttp().check("file:///etc/passwd", [])
