"""Every connection LiteLLM makes for an `llm` node goes through the outbound guard (DESIGN §8).

A model name picks a provider, and some providers default to this machine (`ollama/x` to localhost:11434,
`llamafile/x` to 127.0.0.1:8080) or to addresses a deployment configures. So the guard is applied where
the connection is made, not to the model string:

1. The transport. LiteLLM's HTTP clients (its own `HTTPHandler`s and the OpenAI SDK clients it builds) all
   get one shared httpx transport. It hands each request to a connection pool private to the current call,
   whose network backend resolves the host once with the guard (`resolve_checked`: allow-list aware,
   every address checked) and connects to the checked address. Redirects and retries are new requests
   through the same transport, so they are checked too; no pooled connection outlives its call, so one
   node's allow-list never serves another's request.
2. The backstop. A few LiteLLM paths open connections with other libraries (`requests`, aiohttp, botocore,
   google-auth, a bare `httpx.get`). A `socket.connect` audit hook refuses, for the duration of the call
   and in its thread, any connection to a non-global address that the guard did not approve. Audit hooks
   are not a sandbox against hostile Python code; they are enough here, where the untrusted input is a
   model name and not code.

Refusals are recorded on the call, so the adapter reports the guard's own message (host, address, reason)
whatever exception LiteLLM wrapped it in.
"""

from __future__ import annotations

import ipaddress
import sys
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from ..runtime.errors import BlockedDestinationError, NodeError, NodeFailedError
from .outbound_http import Resolver, blocked_reason, resolve_checked


class EgressRefusedError(ConnectionRefusedError):
    """A connection the guard refused, raised inside a library's stack. An OSError, so every library
    treats it as a failed connection; the call's recorded refusal carries the explanation."""


@dataclass
class GuardedCall:
    """One LLM call: what it may reach, what the guard approved, and what it refused."""

    allow_hosts: tuple[str, ...]
    resolver: Resolver
    approved: set[tuple[str, int]] = field(default_factory=set)
    refusals: list[NodeError] = field(default_factory=list)
    transport: httpx.HTTPTransport | None = None

    def approve(self, host: str, port: int) -> list[str]:
        """The checked addresses to connect to; refusals are recorded and raised as EgressRefusedError."""
        try:
            addresses = resolve_checked(host, port, self.allow_hosts, self.resolver)
        except NodeFailedError as exc:
            self.refusals.append(exc)
            raise EgressRefusedError(exc.message) from exc
        except NodeError as exc:  # the name does not resolve: a plain connection failure
            raise OSError(exc.message) from exc
        ips = [str(ip) for ip in addresses]
        self.approved.update((ip, port) for ip in ips)
        return ips

    def refuse(self, address: str, port: int, why: str) -> EgressRefusedError:
        error = BlockedDestinationError(
            f"blocked destination: {address}:{port} ({why}); no connection was made."
            " A workspace admin can allow-list the host if this is intended.",
            {"host": address, "port": port, "address": address, "reason": why},
        )
        self.refusals.append(error)
        return EgressRefusedError(error.message)

    def pool(self) -> httpx.HTTPTransport:
        if self.transport is None:
            self.transport = guarded_transport(self)
        return self.transport


_CALL: ContextVar[GuardedCall | None] = ContextVar("nexod_llm_call", default=None)


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses the guard checked for this call."""

    def __init__(self, call: GuardedCall) -> None:
        self._call = call

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._call.approve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        failure: httpcore.ConnectError | None = None
        for ip in addresses:
            try:
                return super().connect_tcp(ip, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # the next checked address may answer
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise httpcore.ConnectError(str(self._call.refuse(path, 0, "a local socket")))


def guarded_transport(call: GuardedCall) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport()
    # httpx takes no network backend argument; its transport is a thin adapter over this one pool.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), network_backend=_GuardedBackend(call)
    )
    return transport


class _CallTransport(httpx.BaseTransport):
    """The transport every LiteLLM client shares: each request goes to its call's private pool. Outside
    a call (nothing in Nexod does that), a throwaway pool with an empty allow-list: fail closed."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        call = _CALL.get()
        if call is None:
            call = GuardedCall(allow_hosts=(), resolver=_default_resolver())
            transport = guarded_transport(call)
            response = transport.handle_request(request)
            response.read()  # the pool is closed below: take the body first
            transport.close()
            return response
        return call.pool().handle_request(request)

    def close(self) -> None:
        """Shared by every LiteLLM client: a client closing must not close it (calls close their pools)."""


class _SharedClient(httpx.Client):
    """An httpx client handed to every OpenAI SDK client LiteLLM builds; the SDK closes its client when it
    is evicted from LiteLLM's cache, which must not close this one."""

    def close(self) -> None:
        pass


def _default_resolver() -> Resolver:
    import socket

    return socket.getaddrinfo


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "socket.connect":
        return
    call = _CALL.get()
    if call is None:
        return
    address = args[1]
    if not isinstance(address, tuple):  # AF_UNIX and friends: a local daemon (docker, ollama's socket...)
        raise call.refuse(str(address), 0, "a local socket")
    host, port = str(address[0]), int(address[1])
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:  # connect() by name: resolve and check like the transport would (no pinning here)
        call.approve(host, port)
        return
    if (str(ip), port) in call.approved:
        return
    why = blocked_reason(ip)
    if why is not None:
        raise call.refuse(str(ip), port, f"{why}; reached outside the guarded transport")


_install_lock = threading.Lock()
_installed: list[bool] = []


def install(litellm: Any) -> None:
    """Route LiteLLM's HTTP through the guarded transport (once per process)."""
    with _install_lock:
        if _installed:
            return
        shared = _CallTransport()
        # LiteLLM builds its HTTPHandler clients on `sync_transport` unless `force_ipv4` asks for its own.
        litellm.force_ipv4 = False
        litellm.sync_transport = shared
        # The OpenAI SDK clients (openai and every OpenAI-compatible provider) use `client_session`.
        litellm.client_session = _SharedClient(transport=shared, follow_redirects=True, timeout=httpx.Timeout(600.0))
        # Built at import time, before this ran.
        litellm.module_level_client.client = _SharedClient(
            transport=shared, follow_redirects=True, timeout=httpx.Timeout(600.0)
        )
        cache = getattr(litellm, "in_memory_llm_clients_cache", None)
        if cache is not None:
            cache.flush_cache()  # clients cached before this point keep their own transports
        sys.addaudithook(_audit)
        _installed.append(True)


@contextmanager
def guarded_call(allow_hosts: Collection[str], resolver: Resolver) -> Iterator[GuardedCall]:
    """Everything LiteLLM connects to inside this block goes through the guard with `allow_hosts`."""
    call = GuardedCall(allow_hosts=tuple(allow_hosts), resolver=resolver)
    token = _CALL.set(call)
    try:
        yield call
    finally:
        _CALL.reset(token)
        if call.transport is not None:
            call.transport.close()
