"""Callback kinds that exist only in tests: a node that waits until the test completes it.

`hold` parks its token and waits (TimeoutSeconds only); `beat` also has HeartbeatSeconds, so its completer
must send heartbeats. `trip` is an invoke kind that fails while `TRIP["armed"]` is set (to fail a run after a
callback node finished, then redrive it). Registered for the duration of `callback_kinds()` only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import Field

from nexod.domain.nodes import REGISTRY, AslShape, NodeConfig, NodeKind
from nexod.ports import UnitOfWork
from nexod.runtime.errors import NodeFailedError
from nexod.runtime.executors import EXECUTORS, PARKERS, NodeContext, NodeResult, Toolbox, executor, parks

HEARTBEAT_SECONDS = 2
TRIP: dict[str, bool] = {"armed": False}


class HoldConfig(NodeConfig):
    """Waits until something completes it."""

    reason: str = Field("", max_length=200, description="Recorded as what it waits for; may be templated")


class TripConfig(NodeConfig):
    """Fails while the test arms it."""


def park_hold(config: NodeConfig, ctx: NodeContext, _: UnitOfWork) -> dict[str, Any]:
    assert isinstance(config, HoldConfig)
    return {"reason": config.reason, "claim": ctx.attempt}


def run_trip(_: NodeConfig, ctx: NodeContext, __: Toolbox) -> NodeResult:
    if TRIP["armed"]:
        raise NodeFailedError(f"node '{ctx.node_id}': tripped")
    return NodeResult({"tripped": False})


@contextmanager
def callback_kinds() -> Iterator[None]:
    REGISTRY.register(
        NodeKind(
            name="hold",
            config=HoldConfig,
            category="Testing",
            icon="hold",
            shape=AslShape.CALLBACK,
            templated_fields=("reason",),
            default_timeout_seconds=3600,
        )
    )
    REGISTRY.register(
        NodeKind(
            name="beat",
            config=HoldConfig,
            category="Testing",
            icon="beat",
            shape=AslShape.CALLBACK,
            default_timeout_seconds=3600,
            heartbeat_seconds=HEARTBEAT_SECONDS,
        )
    )
    REGISTRY.register(NodeKind(name="trip", config=TripConfig, category="Testing", icon="trip"))
    parks("hold")(park_hold)
    parks("beat")(park_hold)
    executor("trip")(run_trip)
    try:
        yield
    finally:
        for kind in ("hold", "beat", "trip"):
            REGISTRY.unregister(kind)
            PARKERS.pop(kind, None)
            EXECUTORS.pop(kind, None)
        TRIP["armed"] = False
