"""Guarded outbound HTTP (DESIGN §8) on the standard library.

The host is resolved once, every address is checked, and the connection is made to a checked address
(so DNS rebinding cannot swap it). Each redirect hop is checked again. Loopback, private, link-local
(including 169.254.169.254 and the ECS metadata endpoint), unique-local, site-local, CGNAT, multicast,
reserved and every other non-global range are refused unless the host is allow-listed, including when
the address is spelled in decimal, octal or hex, or embedded in an IPv6 address (IPv4-mapped, NAT64,
6to4). `resolve_checked` is the one check: the LLM adapter's transport uses it too.

A redirect to another origin (scheme, host or port) never carries `Authorization`, `Proxy-Authorization`,
`Cookie`, `Host`, any header with a credential-like name, or any header rendered from a secret; a 307/308
that would re-send the body to another origin is refused unless the node allows it. Responses are read
in chunks against a size cap and an overall deadline, and are cut off (not drained) when they exceed it.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import socket
import ssl
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..ports import HttpResponse
from ..runtime.errors import BlockedDestinationError, NodeFailedError, NodeRetryableError
from ..runtime.redaction import is_sensitive_name, redact_url

MAX_BODY_BYTES = 10 * 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# NAT64 prefixes: a gateway translates these to the IPv4 address in their last 32 bits.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_REDIRECTS = (301, 302, 303, 307, 308)
# RFC 9110 token: what a header name may be. Anything else is refused before http.client sees it
# (its own error would quote the value, which may be a credential).
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A host whose last label is a number is an IPv4 address in every resolver (and in the WHATWG URL
# standard): 2130706433, 0x7f000001, 0177.0.0.1 and 127.1 all mean 127.0.0.1.
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+", re.IGNORECASE)
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Any]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def blocked_reason(ip: IpAddress) -> str | None:
    """Why the guard refuses an address, or None for a globally routable unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            why = blocked_reason(inner)
            if why is not None:
                return f"{why}, embedded in {ip}"
            if ip.ipv4_mapped is not None or any(ip in net for net in _NAT64):
                return None  # the same public IPv4 host, reached over IPv6
    checks = (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local (cloud metadata)"),
        (ip.is_unspecified, "unspecified (this host)"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "carrier-grade NAT"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "private (site-local)"),
        (isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.ip_network("fc00::/7"), "private (unique-local)"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        # Python's range tables move between versions (3.12 narrowed is_private): anything it does not call
        # global is refused too.
        (not ip.is_global, "not globally routable"),
    )
    return next((why for hit, why in checks if hit), None)


def ip_literal(host: str) -> IpAddress | None:
    """The address a URL host spells by itself (in any notation a resolver accepts), or None for a name."""
    bare = host.removeprefix("[").removesuffix("]").partition("%")[0]
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    bare = bare.removesuffix(".")
    if not _NUMERIC_LABEL.fullmatch(bare.rpartition(".")[2]):
        return None
    # The resolver would read it as an address (inet_aton rules), so must the guard; anything else
    # ending in a number ("a.1", "1.2.3.4.5") is neither an address nor a host name.
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        raise NodeFailedError(f"host '{host}' is neither a valid IPv4 address nor a DNS name") from None


def normalize_host(host: str) -> str:
    return host.lower().strip("[]").rstrip(".")


def host_allowed(host: str, port: int, allow_hosts: Collection[str]) -> bool:
    """An allow-list entry is a host (any port) or host:port; IPv6 hosts may be written in brackets."""
    name = normalize_host(host)
    wanted = {name, f"[{name}]", f"{name}:{port}", f"[{name}]:{port}"}
    return any(entry.strip().lower().rstrip(".") in wanted for entry in allow_hosts)


def resolve_checked(host: str, port: int, allow_hosts: Collection[str], resolver: Resolver) -> list[IpAddress]:
    """Resolve `host` once and check every address; callers connect to these addresses and nothing else.

    Raises BlockedDestinationError (no connection made) if any address is refused and the host is not
    allow-listed, NodeRetryableError if the name does not resolve.
    """
    literal = ip_literal(host)
    if literal is not None:
        addresses: list[IpAddress] = [literal]
    else:
        try:
            infos = resolver(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise NodeRetryableError(f"cannot resolve host '{host}': {exc}") from exc
        addresses = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]))  # a scoped fe80::1%eth0 keeps its zone
            if ip not in addresses:
                addresses.append(ip)
    if not addresses:
        raise NodeRetryableError(f"host '{host}' has no address")
    if not host_allowed(host, port, allow_hosts):
        for ip in addresses:
            why = blocked_reason(ip)
            if why:
                raise BlockedDestinationError(
                    f"blocked destination: {host}:{port} resolves to {ip} ({why}); no connection was made."
                    " A workspace admin can allow-list the host if this is intended.",
                    {"host": host, "port": port, "address": str(ip), "reason": why},
                )
    return addresses


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (only these addresses) and what to ask for."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]
    path: str

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, normalize_host(self.host), self.port)


def _split(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise NodeFailedError(f"URL '{redact_url(url)}' is not valid: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise NodeFailedError(f"only http and https URLs are allowed, not '{parts.scheme or redact_url(url)}'")
    if not host:
        raise NodeFailedError(f"URL '{redact_url(url)}' has no host")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise NodeFailedError(f"URL '{redact_url(url)}' has an invalid international host name") from exc
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever DNS says now; the Host header keeps the name."""

    raw: socket.socket | None = None  # the connected socket, kept for per-read deadlines

    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = self.raw = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address, verified against the URL's host name (SNI and certificate)."""

    raw: socket.socket | None = None

    def __init__(self, host: str, port: int, ip: str, timeout: float, context: ssl.SSLContext) -> None:
        self._ctx = context
        super().__init__(host, port, timeout=timeout, context=context)
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self.raw = self._ctx.wrap_socket(sock, server_hostname=self.host)


def _validated_headers(headers: dict[str, str]) -> None:
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise NodeFailedError(f"header name {name[:100]!r} is not a valid HTTP header name")
        if any(c in value for c in "\r\n\0"):
            raise NodeFailedError(f"header '{name}': its value contains a line break or NUL character; remove it")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise NodeFailedError(
                f"header '{name}': its value has characters outside ISO-8859-1; percent-encode or base64 it"
            ) from exc


def _has(headers: dict[str, str], name: str) -> bool:
    return any(k.lower() == name for k in headers)


class GuardedHttp:
    """The `Outbound` port. `resolver` is injectable so tests can pin DNS answers."""

    def __init__(
        self,
        resolver: Resolver = socket.getaddrinfo,
        user_agent: str = "Nexod/0.1",
        max_body_bytes: int = MAX_BODY_BYTES,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._resolve = resolver
        self._user_agent = user_agent
        self.max_body_bytes = max_body_bytes
        # Verifies certificates and host names (a private CA can be given instead of the system's).
        self._ssl = ssl_context or ssl.create_default_context()

    def check(self, url: str, allow_hosts: Collection[str]) -> Target:
        """Validate a URL and resolve it to the checked addresses to connect to."""
        scheme, host, port, path = _split(url)
        addresses = resolve_checked(host, port, allow_hosts, self._resolve)
        return Target(scheme, host, port, tuple(str(ip) for ip in addresses), path)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: Any,
        timeout: float,
        follow_redirects: bool,
        max_redirects: int,
        allow_hosts: list[str],
        secret_headers: Collection[str] = (),
        redirect_body_to_other_origins: bool = False,
    ) -> HttpResponse:
        """One request, following redirects hop by hop. `secret_headers` are the names of headers whose
        value came from a secret: like credentials, they are never sent to another origin."""
        deadline = time.monotonic() + timeout
        _validated_headers(headers)
        send_headers = dict(headers)
        if not _has(send_headers, "user-agent"):
            send_headers["User-Agent"] = self._user_agent
        if not _has(send_headers, "accept"):
            send_headers["Accept"] = "application/json, */*;q=0.5"
        payload: bytes | None = None
        if body is not None:
            if isinstance(body, str | bytes):
                payload = body.encode() if isinstance(body, str) else body
            else:
                payload = json.dumps(body).encode()
                if not _has(send_headers, "content-type"):
                    send_headers["Content-Type"] = "application/json"
        hops = 0
        while True:
            target = self.check(url, allow_hosts)
            shown = f"{method} {redact_url(url, secret_headers)}"
            status, resp_headers, raw = self._exchange(target, method, payload, send_headers, deadline, shown, timeout)
            if not (follow_redirects and status in _REDIRECTS and "location" in resp_headers):
                body_value = _decode(raw, resp_headers.get("content-type", ""))
                return HttpResponse(status, resp_headers, body_value, url)
            hops += 1
            if hops > max_redirects:
                raise NodeFailedError(
                    f"{shown}: stopped after {max_redirects} redirects (max_redirects); call the final URL"
                    " directly or raise max_redirects (up to 20)",
                    {"redirects": max_redirects, "location": redact_url(resp_headers["location"])},
                )
            next_url = urljoin(url, resp_headers["location"])
            next_origin = _split(next_url)
            cross_origin = (next_origin[0], normalize_host(next_origin[1]), next_origin[2]) != target.origin
            if status in (301, 302, 303):
                # As `requests` does: the follow-up is a GET (a HEAD stays a HEAD) and never carries the body.
                method = "HEAD" if method == "HEAD" else "GET"
                payload = None
                for name in [k for k in send_headers if k.lower() in ("content-type", "content-length")]:
                    del send_headers[name]
            elif payload is not None and cross_origin and not redirect_body_to_other_origins:
                raise NodeFailedError(
                    f"{shown} answered {status}, which re-sends the request body to another origin"
                    f" ({next_origin[0]}://{next_origin[1]}:{next_origin[2]}); set"
                    " redirect_body_to_other_origins: true on the node if that is intended",
                    {"status": status, "location": redact_url(next_url)},
                )
            if cross_origin:
                # Credentials belong to the origin they were written for (as browsers and `requests` do).
                send_headers = {
                    k: v
                    for k, v in send_headers.items()
                    if k.lower() != "host" and not is_sensitive_name(k, secret_headers)
                }
            url = next_url

    def _exchange(
        self,
        target: Target,
        method: str,
        payload: bytes | None,
        headers: dict[str, str],
        deadline: float,
        shown: str,
        timeout: float,
    ) -> tuple[int, dict[str, str], bytes]:
        last_error: OSError | None = None
        for ip in target.addresses:  # every one of them was checked; try them in the resolver's order
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            conn: _PinnedHTTPConnection | _PinnedHTTPSConnection
            if target.scheme == "https":
                conn = _PinnedHTTPSConnection(target.host, target.port, ip, remaining, self._ssl)
            else:
                conn = _PinnedHTTPConnection(target.host, target.port, ip, remaining)
            try:
                conn.request(method, target.path, body=payload, headers=headers)
                resp = conn.getresponse()
                resp_headers = {k.lower(): v for k, v in resp.getheaders()}
                raw = self._read_body(resp, conn.raw, deadline, shown)
                return resp.status, resp_headers, raw
            except TimeoutError as exc:
                raise NodeRetryableError(f"{shown} timed out after {timeout:g}s") from exc
            except ssl.SSLError as exc:
                raise NodeFailedError(f"{shown}: TLS error: {exc}") from exc
            except http.client.HTTPException as exc:
                raise NodeRetryableError(f"{shown}: invalid HTTP response: {type(exc).__name__}") from exc
            except ConnectionRefusedError as exc:
                last_error = exc  # the next checked address may answer
            except OSError as exc:
                raise NodeRetryableError(f"{shown}: connection failed: {exc}") from exc
            finally:
                conn.close()
        if last_error is None:
            raise NodeRetryableError(f"{shown} timed out after {timeout:g}s")
        raise NodeRetryableError(f"{shown}: connection failed: {last_error}") from last_error

    def _read_body(
        self, resp: http.client.HTTPResponse, sock: socket.socket | None, deadline: float, shown: str
    ) -> bytes:
        """The body, read in chunks against the size cap and the overall deadline (a server trickling bytes
        cannot hold the node past its timeout, nor make it buffer more than the cap)."""
        limit = self.max_body_bytes
        declared = resp.getheader("content-length")
        if declared and declared.strip().isdigit() and int(declared) > limit:
            raise _too_large(shown, limit, f"it declares {int(declared)} bytes")
        received = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if sock is not None:
                sock.settimeout(remaining)
            chunk = resp.read1(READ_CHUNK_BYTES)
            if not chunk:
                return bytes(received)
            received += chunk
            if len(received) > limit:
                raise _too_large(shown, limit, f"stopped reading after {len(received)} bytes")


def _too_large(shown: str, limit: int, how: str) -> NodeFailedError:
    return NodeFailedError(
        f"{shown}: the response is larger than the {limit}-byte limit ({how}); ask for less data"
        " (a page, a range, a filter)",
        {"limit_bytes": limit},
    )


def _decode(raw: bytes, content_type: str) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text
