"""The outbound guard refuses private, loopback and metadata destinations before any connection."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from nexod.adapters.outbound_http import GuardedHttp, blocked_reason, host_allowed, ip_literal, normalize_host
from nexod.runtime.errors import BlockedDestinationError, NodeFailedError, NodeRetryableError


def resolver_to(*addresses: str, calls: list[str] | None = None):
    def resolve(host, port, type=0):
        if calls is not None:
            calls.append(host)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    return resolve


def no_resolver(host, port, type=0):
    raise AssertionError(f"'{host}' is an address: the guard must not ask DNS about it")


@pytest.fixture
def no_connections(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)


def refused(guard: GuardedHttp, url: str, allow: list[str] | None = None) -> BlockedDestinationError:
    with pytest.raises(BlockedDestinationError) as caught:
        guard.request(
            "GET",
            url,
            headers={},
            body=None,
            timeout=5,
            follow_redirects=True,
            max_redirects=3,
            allow_hosts=allow or [],
        )
    return caught.value


LINK_LOCAL = "link-local (cloud metadata)"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", LINK_LOCAL),  # EC2 instance metadata
        ("169.254.170.2", LINK_LOCAL),  # ECS task metadata
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified (this host)"),
        ("0.1.2.3", "private"),  # "this network": Linux connects 0.x to the local host
        ("::", "unspecified (this host)"),
        ("::1", "loopback"),
        ("fd00::1", "private (unique-local)"),
        ("fc00::1", "private (unique-local)"),
        ("fec0::1", "private (site-local)"),  # deprecated, but Python calls it global
        ("fe80::1", LINK_LOCAL),
        ("fd00:ec2::254", "private (unique-local)"),  # EC2 metadata over IPv6
        ("::ffff:169.254.169.254", f"{LINK_LOCAL}, embedded in ::ffff:a9fe:a9fe"),  # IPv4-mapped IPv6
        ("::ffff:127.0.0.1", "loopback, embedded in ::ffff:7f00:1"),
        ("::ffff:10.0.0.1", "private, embedded in ::ffff:a00:1"),
        ("64:ff9b::a9fe:a9fe", f"{LINK_LOCAL}, embedded in 64:ff9b::a9fe:a9fe"),  # NAT64 of the metadata address
        ("64:ff9b:1::7f00:1", "loopback, embedded in 64:ff9b:1::7f00:1"),  # local-use NAT64 prefix
        ("2002:a9fe:a9fe::", f"{LINK_LOCAL}, embedded in 2002:a9fe:a9fe::"),  # 6to4 of the metadata address
        ("2002:7f00:1::", "loopback, embedded in 2002:7f00:1::"),
        ("::7f00:1", "reserved"),  # IPv4-compatible (deprecated)
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "reserved"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "private"),  # documentation
        ("198.18.0.1", "private"),  # benchmarking
        ("2001:db8::1", "private"),  # documentation
        ("2001::1", "private"),  # Teredo
    ],
)
def test_blocked_ranges(address: str, reason: str):
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "2606:4700:4700::1111",
        "::ffff:93.184.216.34",
        "64:ff9b::5db8:d822",
        "2002:5db8:d822::",
    ],
)
def test_public_addresses_pass(address: str):
    assert blocked_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://127.0.0.1:5432", "127.0.0.1"),
        ("http://2130706433/", "127.0.0.1"),  # decimal
        ("http://017700000001/", "127.0.0.1"),  # octal
        ("http://0x7f000001/", "127.0.0.1"),  # hex
        ("http://0x7F.0.0.1/", "127.0.0.1"),  # hex label
        ("http://0177.0.0.1/", "127.0.0.1"),  # octal label
        ("http://127.1/", "127.0.0.1"),  # short form
        ("http://127.0.0.1./", "127.0.0.1"),  # trailing dot
        ("http://0251.0376.0251.0376/", "169.254.169.254"),
        ("http://169.254.43518/", "169.254.169.254"),
        ("http://2852039166/", "169.254.169.254"),
        ("http://0/", "0.0.0.0"),
        ("http://0.0.0.0:8000/", "0.0.0.0"),
        ("http://[::]/", "::"),
        ("http://[::1]:8080/", "::1"),
        ("http://[0:0:0:0:0:0:0:1]/", "::1"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1"),
        ("http://[::ffff:a9fe:a9fe]/", "::ffff:a9fe:a9fe"),
        ("http://[fe80::1%25eth0]/", "fe80::1"),
        ("http://[fd00::1]/", "fd00::1"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254"),
    ],
)
def test_addresses_in_every_spelling_are_refused_without_dns_or_connection(no_connections, url: str, address: str):
    # Given a guard whose resolver must not be consulted for literal addresses
    guard = GuardedHttp(resolver=no_resolver)
    # When a request is made / Then it is refused before any socket is opened, naming the address
    error = refused(guard, url)
    assert "blocked destination" in error.message and address in error.message
    assert error.details["address"] == address


@pytest.mark.parametrize(
    "url",
    ["http://internal.example.com/", "http://LOCALHOST./", "http://metadata.google.internal/"],
)
def test_names_resolving_to_blocked_addresses_are_refused(no_connections, url: str):
    # Given DNS answering with a private address for a public-looking name
    calls: list[str] = []
    guard = GuardedHttp(resolver=resolver_to("10.0.0.7", calls=calls))
    # Then the request is refused, after exactly one lookup
    assert "10.0.0.7" in refused(guard, url).message
    assert len(calls) == 1


def test_a_refusal_explains_itself_and_asks_dns_once_for_a_stream_to_the_port(no_connections):
    calls: list[tuple[object, ...]] = []

    def resolver(host, port, type=0):
        calls.append((host, port, type))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    error = refused(GuardedHttp(resolver=resolver), "http://internal.example.com/x")
    assert calls == [("internal.example.com", 80, socket.SOCK_STREAM)]
    assert error.details == {"host": "internal.example.com", "port": 80, "address": "10.0.0.7", "reason": "private"}
    assert error.message == (
        "blocked destination: internal.example.com:80 resolves to 10.0.0.7 (private); no connection was made."
        " A workspace admin can allow-list the host if this is intended."
    )


def test_public_numeric_hosts_are_read_as_addresses_not_names():
    guard = GuardedHttp(resolver=no_resolver)
    assert guard.check("http://1572395042/", []).addresses == ("93.184.216.34",)
    assert guard.check("https://[2606:4700:4700::1111]/", []).addresses == ("2606:4700:4700::1111",)


@pytest.mark.parametrize("host", ["1.2.3.4.5", "foo.123", "0x", "1..2", "256.256.256.256.1"])
def test_hosts_that_look_numeric_but_are_not_addresses_are_rejected(host: str):
    with pytest.raises(NodeFailedError, match="neither a valid IPv4 address nor a DNS name"):
        ip_literal(host)


def test_dns_names_are_not_literals():
    assert ip_literal("example.com") is None
    assert ip_literal("a1.example") is None
    assert ip_literal("1a") is None


@pytest.mark.parametrize(
    ("host", "address"),
    [("[::1]", "::1"), ("[fe80::1%eth0]", "fe80::1"), ("fe80::1%25eth0", "fe80::1"), ("127.0.0.1.", "127.0.0.1")],
)
def test_bracketed_and_scoped_literals_are_read(host: str, address: str):
    assert ip_literal(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(("host", "normal"), [("[::1]", "::1"), ("Example.COM.", "example.com"), ("a.b", "a.b")])
def test_host_normalisation(host: str, normal: str):
    assert normalize_host(host) == normal


def test_any_blocked_address_among_several_blocks_the_host(no_connections):
    guard = GuardedHttp(resolver=resolver_to("93.184.216.34", "10.0.0.1"))
    with pytest.raises(BlockedDestinationError, match=r"10\.0\.0\.1"):
        guard.check("http://mixed.example.com/", [])


def test_every_checked_address_is_kept_once_in_resolver_order():
    guard = GuardedHttp(resolver=resolver_to("93.184.216.34", "93.184.216.34", "2606:2800:220:1::1"))
    target = guard.check("https://example.com/a?b=1", [])
    assert target.addresses == ("93.184.216.34", "2606:2800:220:1::1")
    assert (target.scheme, target.host, target.port, target.path) == ("https", "example.com", 443, "/a?b=1")
    assert target.origin == ("https", "example.com", 443)


def test_allow_listed_host_and_port_pass_the_guard():
    guard = GuardedHttp(resolver=resolver_to("127.0.0.1"))
    target = guard.check("http://localhost:8000/x?y=1", ["localhost:8000"])
    assert (target.addresses, target.path, target.port) == (("127.0.0.1",), "/x?y=1", 8000)
    # the allow-list entry names a port: another port on the same host stays blocked
    with pytest.raises(BlockedDestinationError):
        guard.check("http://localhost:5432/", ["localhost:8000"])
    # and a blocked host stays blocked when only another host is listed
    with pytest.raises(BlockedDestinationError):
        guard.check("http://db.internal:8000/", ["localhost:8000"])


@pytest.mark.parametrize(
    ("host", "port", "entries", "allowed"),
    [
        ("localhost", 8000, ["localhost"], True),  # a bare host allows every port
        ("LocalHost.", 8000, ["localhost:8000"], True),
        ("localhost", 8000, ["LOCALHOST:8000"], True),
        ("localhost", 8000, [" localhost:8000 "], True),
        ("::1", 8000, ["[::1]:8000"], True),
        ("::1", 8000, ["::1"], True),
        ("localhost", 8001, ["localhost:8000"], False),
        ("other", 8000, ["localhost:8000"], False),
        ("localhost", 8000, [], False),
        ("localhost", 8000, ["localhost.evil.com"], False),
        ("localhost", 8000, ["localhost."], True),
        ("localhost", 8000, [".localhost"], False),
        ("::1", 8000, ["[::1]"], True),
        ("[::1]", 8000, ["::1"], True),
    ],
)
def test_allow_list_matching(host: str, port: int, entries: list[str], allowed: bool):
    assert host_allowed(host, port, entries) is allowed


def test_urls_default_their_port_and_path():
    guard = GuardedHttp(resolver=resolver_to("93.184.216.34"))
    assert (guard.check("http://example.com", []).port, guard.check("http://example.com", []).path) == (80, "/")
    assert guard.check("https://example.com?q=1", []).port == 443
    assert guard.check("https://example.com?q=1", []).path == "/?q=1"
    assert guard.check("http://example.com:8080/", []).port == 8080


def test_international_host_names_are_resolved_in_their_ascii_form():
    calls: list[str] = []
    guard = GuardedHttp(resolver=resolver_to("93.184.216.34", calls=calls))
    assert guard.check("http://b\u00fccher.example/", []).host == "xn--bcher-kva.example"
    assert calls == ["xn--bcher-kva.example"]
    with pytest.raises(NodeFailedError, match="invalid international host name"):
        guard.check("http://" + "\u00fc" * 70 + ".example/", [])


def test_only_http_and_https_are_allowed():
    with pytest.raises(NodeFailedError, match="only http and https URLs are allowed, not 'file'"):
        GuardedHttp().check("file:///etc/passwd", [])
    with pytest.raises(NodeFailedError, match=r"only http and https URLs are allowed, not 'example\.com/path'"):
        GuardedHttp().check("example.com/path", [])
    with pytest.raises(NodeFailedError, match="only http and https"):
        GuardedHttp().check("gopher://127.0.0.1:70/", [])


@pytest.mark.parametrize(("url", "message"), [("http:///path", "has no host"), ("http://h:99999/", "not valid")])
def test_malformed_urls_fail_clearly(url: str, message: str):
    with pytest.raises(NodeFailedError, match=message):
        GuardedHttp(resolver=no_resolver).check(url, [])


def test_resolution_failures_are_retryable():
    def fails(host, port, type=0):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(NodeRetryableError, match=r"cannot resolve host 'nowhere\.example'"):
        GuardedHttp(resolver=fails).check("http://nowhere.example/", [])
    with pytest.raises(NodeRetryableError, match="has no address"):
        GuardedHttp(resolver=lambda host, port, type=0: []).check("http://empty.example/", [])


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Authorization": "Bearer sk-live-secret\r\nX-Injected: 1"}, "line break"),
        ({"X-Api-Key": "sk-live-secret\x00"}, "line break or NUL"),
        ({"Bad Name": "v"}, "not a valid HTTP header name"),
        ({"Authorization": "Bearer sk-live-s\u00e9cr\u20acet"}, "outside ISO-8859-1"),
    ],
)
def test_invalid_headers_are_refused_without_quoting_their_value(no_connections, headers, message: str):
    guard = GuardedHttp(resolver=no_resolver)
    with pytest.raises(NodeFailedError, match=message) as caught:
        guard.request(
            "GET",
            "http://93.184.216.34/",
            headers=headers,
            body=None,
            timeout=5,
            follow_redirects=False,
            max_redirects=0,
            allow_hosts=[],
        )
    assert "secret" not in caught.value.message and "s\u00e9cr" not in caught.value.message
