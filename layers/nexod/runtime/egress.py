"""The egress scope of the node being executed: the hosts its outbound calls may reach despite the guard.

The http executor hands its allow-list to the `Outbound` port explicitly. The `LLM` port has no such
argument (its implementations wrap LiteLLM, whose connections are made deep inside the library), so the
llm executor opens a scope around the call and the LiteLLM adapter's guarded transport reads it. With no
scope open (a call made outside a node), adapters apply the guard with an empty allow-list: fail closed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class EgressScope:
    node_id: str
    allow_hosts: tuple[str, ...]


_CURRENT: ContextVar[EgressScope | None] = ContextVar("nexod_egress_scope", default=None)


@contextmanager
def egress_scope(node_id: str, allow_hosts: Collection[str]) -> Iterator[EgressScope]:
    scope = EgressScope(node_id, tuple(allow_hosts))
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)


def current_egress_scope() -> EgressScope | None:
    return _CURRENT.get()
