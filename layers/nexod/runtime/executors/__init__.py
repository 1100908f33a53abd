"""Executors: what each node kind does once its config is rendered, one module per kind.

Side effects go through ports only. Importing this package registers the built-in kinds' executors in
`EXECUTORS`; a new kind adds a module here that decorates its function with `@executor("<kind>")`.
"""

from __future__ import annotations

from . import (  # noqa: F401  (registers the executors)
    agent,
    approval,
    condition,
    http,
    input,
    llm,
    output,
    rag,
    transform,
    wait,
    webhook_response,
)
from .base import (
    CREDENTIALS,
    EXECUTORS,
    EXPIRERS,
    PARKERS,
    STARTERS,
    Credentials,
    Executor,
    Expirer,
    NodeContext,
    NodeResult,
    Parked,
    Parker,
    Starter,
    Toolbox,
    executor,
    expires,
    in_node,
    parks,
    starts,
)

__all__ = [
    "CREDENTIALS",
    "EXECUTORS",
    "EXPIRERS",
    "PARKERS",
    "STARTERS",
    "Credentials",
    "Executor",
    "Expirer",
    "NodeContext",
    "NodeResult",
    "Parked",
    "Parker",
    "Starter",
    "Toolbox",
    "executor",
    "expires",
    "in_node",
    "parks",
    "starts",
]
