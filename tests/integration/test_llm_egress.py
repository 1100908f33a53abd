"""Every LiteLLM provider prefix, named by a flow's `llm` node, is refused or guarded: none reaches a
loopback, private or metadata address.

Two proofs of "no connection": listening sockets on the loopback ports providers default to (each accept
is recorded), and a recorder on `socket.socket.connect` that notes every connection that reached the
operating system (and refuses anything but loopback, so this test never leaves the machine).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import select
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import litellm
import pytest

from nexod.adapters.llm_egress import EgressRefusedError, guarded_call, install
from nexod.adapters.llm_litellm import AMBIENT_CREDENTIAL_PROVIDERS, LiteLLM
from nexod.runtime.egress import egress_scope
from nexod.runtime.errors import BlockedDestinationError, NodeError, NodeFailedError
from nexod.settings import DEFAULT_LLM_PROVIDERS

PROVIDERS = sorted(str(getattr(p, "value", p)) for p in litellm.provider_list)
# Providers measured (LiteLLM 1.102.4) to connect to this machine by default with no configuration:
# the test fails if any of them is not refused by the guard, and if LiteLLM stops listing them (so the
# proof cannot go vacuous after an upgrade). `langgraph` (localhost:2024) and `langflow` (localhost:7860)
# also default to loopback, but refuse the node's temperature parameter before connecting; the general
# assertions (no listener accepted, no loopback connection reached the OS) cover them.
KNOWN_LOOPBACK_DEFAULTS = {
    "ollama": 11434,
    "ollama_chat": 11434,
    "llamafile": 8080,
    "lemonade": 8000,
    "docker_model_runner": 22088,
}
# Further ports local model servers listen on (lm_studio, xinference, infinity, vllm, litellm proxy...).
OTHER_LOCAL_PORTS = (1234, 2024, 4000, 7860, 5000, 7997, 8001, 9997, 11435)


@dataclass
class Listeners:
    bound: dict[int, socket.socket] = field(default_factory=dict)
    busy: list[int] = field(default_factory=list)  # in use by another process: the recorder covers those
    accepts: list[int] = field(default_factory=list)


@pytest.fixture(scope="module")
def listeners() -> Iterator[Listeners]:
    found = Listeners()
    for port in sorted({*KNOWN_LOOPBACK_DEFAULTS.values(), *OTHER_LOCAL_PORTS}):
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            found.busy.append(port)
            continue
        sock.listen(16)
        sock.setblocking(False)
        found.bound[port] = sock
    stop = threading.Event()

    def accept_loop() -> None:
        while not stop.is_set():
            ready, _, _ = select.select(list(found.bound.values()), [], [], 0.05)
            for sock in ready:
                with contextlib.suppress(OSError):
                    conn, _ = sock.accept()
                    found.accepts.append(sock.getsockname()[1])
                    conn.close()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    yield found
    stop.set()
    thread.join(2)
    for sock in found.bound.values():
        sock.close()


@dataclass
class Connects:
    reached_os: list[tuple[Any, str]] = field(default_factory=list)  # (address, thread)
    refused_by_guard: list[Any] = field(default_factory=list)


@pytest.fixture
def connects(monkeypatch) -> Connects:
    seen = Connects()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def allowed(address: Any) -> bool:
        if not isinstance(address, tuple):
            return False
        try:
            return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
        except ValueError:
            return False

    def connect(self: socket.socket, address: Any) -> None:
        if not allowed(address):  # this test never leaves the machine (CI may have a network)
            seen.reached_os.append((address, threading.current_thread().name))
            raise ConnectionRefusedError(f"test: no connections beyond loopback ({address})")
        try:
            real_connect(self, address)
        except EgressRefusedError:
            seen.refused_by_guard.append(address)
            raise
        seen.reached_os.append((address, threading.current_thread().name))

    def connect_ex(self: socket.socket, address: Any) -> int:
        seen.reached_os.append((address, threading.current_thread().name))
        if not allowed(address):
            return 111
        return int(real_connect_ex(self, address))

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return seen


def offline_resolver(host: str, port: int, type: int = 0) -> list[tuple[Any, ...]]:
    """The guard's DNS for this test: this machine's names only, nothing leaves it."""
    if host.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
    raise socket.gaierror(socket.EAI_NONAME, f"test: no DNS for {host}")


def call(llm: LiteLLM, model: str) -> BaseException | None:
    try:
        with egress_scope("ask", []):
            llm.complete(model=model, system=None, prompt="hi", temperature=0, max_tokens=5, json_mode=False, timeout=3)
    except BaseException as exc:  # every outcome is data here; the assertions below judge it
        return exc
    return None


def test_litellm_still_lists_the_providers_known_to_default_to_loopback():
    assert set(KNOWN_LOOPBACK_DEFAULTS) <= set(PROVIDERS), "LiteLLM renamed providers: re-measure this test"


def test_with_the_default_settings_no_provider_outside_the_enabled_list_gets_a_connection(
    listeners: Listeners, connects: Connects
):
    # Given the deployment's default provider list
    llm = LiteLLM("openai/unused", resolver=offline_resolver)
    outcomes = {p: call(llm, f"{p}/some-model") for p in PROVIDERS if p not in DEFAULT_LLM_PROVIDERS}
    # Then each one is refused by the policy, naming the setting, and nothing connected anywhere
    for provider, outcome in outcomes.items():
        assert isinstance(outcome, NodeFailedError), f"{provider}: {outcome!r}"
        assert "NEXOD_LLM_PROVIDERS" in outcome.message and f"'{provider}'" in outcome.message
    assert connects.reached_os == [] and connects.refused_by_guard == []
    assert listeners.accepts == []


def test_even_with_every_provider_enabled_none_reaches_a_non_public_address(
    listeners: Listeners, connects: Connects, monkeypatch
):
    # Given an operator who enabled every provider LiteLLM lists (worst case) and placeholder keys, so
    # providers get as far as connecting instead of stopping at a missing key
    for name in ("OPENAI", "ANTHROPIC", "LM_STUDIO", "HOSTED_VLLM", "XINFERENCE", "LITELLM_PROXY", "OLLAMA"):
        monkeypatch.setenv(f"{name}_API_KEY", "placeholder")
    monkeypatch.setenv("HOME", os.environ.get("TMPDIR", "/tmp"))
    llm = LiteLLM("openai/unused", providers=PROVIDERS, resolver=offline_resolver)
    # When a flow names each provider (16 at a time: OpenAI-compatible providers retry with back-off)
    with ThreadPoolExecutor(16) as pool:
        outcomes = dict(zip(PROVIDERS, pool.map(lambda p: call(llm, f"{p}/some-model"), PROVIDERS), strict=True))
    # Then no connection reached the operating system for a non-public address, and no listener accepted
    reached = [a for a, _ in connects.reached_os if isinstance(a, tuple)]
    assert not [a for a in reached if ipaddress.ip_address(str(a[0]).split("%")[0]).is_loopback], reached
    assert listeners.accepts == [], f"accepted on {listeners.accepts} (busy, not listened on: {listeners.busy})"
    # And every provider known to default to loopback was refused by the guard, naming the address
    blocked = {p: o for p, o in outcomes.items() if isinstance(o, BlockedDestinationError)}
    for provider, port in KNOWN_LOOPBACK_DEFAULTS.items():
        outcome = outcomes[provider]
        assert isinstance(outcome, BlockedDestinationError), f"{provider}: {outcome!r}"
        assert outcome.details["port"] == port and outcome.details["provider"] == provider
        assert "loopback" in outcome.details["reason"] and "no connection was made" in outcome.message
    # And providers signing with the runtime's cloud credentials were refused for want of a role
    for provider in AMBIENT_CREDENTIAL_PROVIDERS & set(PROVIDERS):
        outcome = outcomes[provider]
        assert isinstance(outcome, NodeFailedError) and "NEXOD_LLM_PROVIDER_ROLES" in outcome.message, provider
    # Every outcome is a node error or a library's own error for a call that never connected
    assert all(o is None or isinstance(o, NodeError | Exception) for o in outcomes.values())
    assert set(blocked) >= set(KNOWN_LOOPBACK_DEFAULTS)


def test_an_allow_listed_local_provider_does_connect(listeners: Listeners, connects: Connects, monkeypatch):
    # Given a workspace that allow-lists a local Ollama (here: a listener on a free port)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(5)
        port = server.getsockname()[1]
        monkeypatch.setenv("OLLAMA_API_BASE", f"http://localhost:{port}")
        llm = LiteLLM("openai/unused", providers=["ollama"], resolver=offline_resolver)
        accepted: list[int] = []

        def accept() -> None:
            with contextlib.suppress(OSError):
                conn, _ = server.accept()
                accepted.append(port)
                conn.close()

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        # When the node runs with the host allow-listed (the listener answers nothing: the call fails after
        # connecting, but not because of the guard)
        with pytest.raises(Exception) as caught, egress_scope("ask", [f"localhost:{port}"]):
            llm.complete(
                model="ollama/llama3", system=None, prompt="hi", temperature=0, max_tokens=5, json_mode=False, timeout=3
            )
        assert not isinstance(caught.value, BlockedDestinationError)
        thread.join(5)
    # Then it connected: the detectors above would have seen a connection if the guard let one through
    assert accepted == [port]
    assert ("127.0.0.1", port) in [a for a, _ in connects.reached_os]


def test_the_backstop_refuses_connections_made_outside_the_guarded_transport(tmp_path):
    # Given a loopback server and a unix socket, and a guarded call that allow-lists the server's host
    with socket.socket() as server, socket.socket(socket.AF_UNIX) as unix_server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]
        unix_server.bind(str(tmp_path / "daemon.sock"))
        unix_server.listen(1)
        install(litellm)
        with guarded_call([f"127.0.0.1:{port}"], offline_resolver) as guarded:
            # When a library connects on its own (not through LiteLLM's transport), by address or by URL
            with pytest.raises(EgressRefusedError, match="reached outside the guarded transport"):
                socket.create_connection(("127.0.0.1", port), timeout=2)
            with pytest.raises(urllib.error.URLError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            with pytest.raises(EgressRefusedError, match="a local socket"), socket.socket(socket.AF_UNIX) as client:
                client.connect(str(tmp_path / "daemon.sock"))
        # Then each was refused before connecting, and recorded for the adapter to report
        assert len(guarded.refusals) == 3 and all("no connection was made" in r.message for r in guarded.refusals)
        server.settimeout(0.2)
        with pytest.raises(TimeoutError):
            server.accept()
        # And outside a guarded call, the process's other connections are untouched
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert server.accept()[0] is not None
