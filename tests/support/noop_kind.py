"""A node kind that exists only in tests: proof that a kind is one domain module plus one executor."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import Field

from nexod.domain.nodes import REGISTRY, NodeConfig, NodeKind
from nexod.runtime.executors import EXECUTORS, NodeContext, NodeResult, Toolbox, executor


class NoopConfig(NodeConfig):
    """Does nothing but echo its (templated) note."""

    note: str = Field("", max_length=200, description="Echoed as output.note; may be templated")


def run_noop(config: NodeConfig, _: NodeContext, __: Toolbox) -> NodeResult:
    assert isinstance(config, NoopConfig)
    return NodeResult({"note": config.note})


@contextmanager
def noop_kind() -> Iterator[dict[str, Any]]:
    """Register `noop` for the duration of the block (the registries are process-wide)."""
    REGISTRY.register(
        NodeKind(name="noop", config=NoopConfig, category="Testing", icon="noop", templated_fields=("note",))
    )
    executor("noop")(run_noop)
    try:
        yield {"type": "noop"}
    finally:
        REGISTRY.unregister("noop")
        EXECUTORS.pop("noop", None)
