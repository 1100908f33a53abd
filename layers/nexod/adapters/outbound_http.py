"""Guarded outbound HTTP (DESIGN §8) on the standard library.

The host is resolved once, every address is checked, and the connection is made to the checked address
(so DNS rebinding cannot swap it). Each redirect hop is checked again. Loopback, private, link-local
(including 169.254.169.254 and the ECS metadata endpoint), unique-local, CGNAT, multicast and reserved
ranges are refused unless the host is allow-listed.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..ports import HttpResponse
from ..runtime.errors import BlockedDestinationError, NodeFailedError, NodeRetryableError

MAX_BODY_BYTES = 10 * 1024 * 1024
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_REDIRECTS = (301, 302, 303, 307, 308)
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def blocked_reason(ip: IpAddress) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local (cloud metadata)"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "carrier-grade NAT"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
    )
    return next((why for hit, why in checks if hit), None)


def _allowed(host: str, port: int, allow_hosts: list[str]) -> bool:
    host = host.lower().strip("[]")
    return any(entry.lower() in (host, f"{host}:{port}") for entry in allow_hosts)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        self._ctx = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._ctx)
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self.host)


class GuardedHttp:
    """The `Outbound` port. `resolver` is injectable so tests can pin DNS answers."""

    def __init__(self, resolver: Any = socket.getaddrinfo, user_agent: str = "Nexod/0.1") -> None:
        self._resolve = resolver
        self._user_agent = user_agent

    def check(self, url: str, allow_hosts: list[str]) -> tuple[str, str, int, str, str]:
        """Validate a URL and pick the address to connect to: (scheme, host, port, ip, path)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise NodeFailedError(f"only http and https URLs are allowed, not '{parts.scheme or url}'")
        if not parts.hostname:
            raise NodeFailedError(f"URL '{url}' has no host")
        host = parts.hostname
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise NodeFailedError(f"URL '{url}' has an invalid port") from exc
        try:
            infos = self._resolve(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NodeRetryableError(f"cannot resolve host '{host}': {exc}") from exc
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        if not addresses:
            raise NodeRetryableError(f"host '{host}' has no address")
        if not _allowed(host, port, allow_hosts):
            for ip in addresses:
                why = blocked_reason(ip)
                if why:
                    raise BlockedDestinationError(
                        f"blocked destination: {host}:{port} resolves to {ip} ({why}); no connection was made."
                        " A workspace admin can allow-list the host if this is intended.",
                        {"host": host, "port": port, "address": str(ip), "reason": why},
                    )
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return parts.scheme, host, port, str(addresses[0]), path

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
    ) -> HttpResponse:
        deadline = time.monotonic() + timeout
        payload: bytes | None = None
        send_headers = {"User-Agent": self._user_agent, "Accept": "application/json, */*;q=0.5", **headers}
        if body is not None:
            if isinstance(body, str | bytes):
                payload = body.encode() if isinstance(body, str) else body
            else:
                payload = json.dumps(body).encode()
                send_headers.setdefault("Content-Type", "application/json")
        hops = 0
        while True:
            scheme, host, port, ip, path = self.check(url, allow_hosts)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NodeRetryableError(f"{method} {url} timed out after {timeout:g}s")
            cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
            conn = cls(host, port, ip, remaining)
            try:
                conn.request(method, path, body=payload, headers=send_headers)
                resp = conn.getresponse()
                raw = resp.read(MAX_BODY_BYTES + 1)
                status, resp_headers = resp.status, {k.lower(): v for k, v in resp.getheaders()}
            except TimeoutError as exc:
                raise NodeRetryableError(f"{method} {url} timed out after {timeout:g}s") from exc
            except ssl.SSLError as exc:
                raise NodeFailedError(f"{method} {url}: TLS error: {exc}") from exc
            except (OSError, http.client.HTTPException) as exc:
                raise NodeRetryableError(f"{method} {url}: connection failed: {exc}") from exc
            finally:
                conn.close()
            if len(raw) > MAX_BODY_BYTES:
                raise NodeFailedError(f"{method} {url}: response larger than {MAX_BODY_BYTES} bytes")
            if follow_redirects and status in _REDIRECTS and "location" in resp_headers:
                hops += 1
                if hops > max_redirects:
                    raise NodeFailedError(f"{method} {url}: more than {max_redirects} redirects")
                url = urljoin(url, resp_headers["location"])
                if status in (301, 302, 303) and method not in ("GET", "HEAD"):
                    method, payload = "GET", None
                    send_headers.pop("Content-Type", None)
                continue
            return HttpResponse(status, resp_headers, _decode(raw, resp_headers.get("content-type", "")), url)


def _decode(raw: bytes, content_type: str) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text
