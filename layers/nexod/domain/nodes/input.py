"""The `input` kind: the run's entry point."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .kind import REGISTRY, NodeConfig, NodeKind


class InputConfig(NodeConfig):
    """The run's entry point: its output is the run input."""

    example: dict[str, Any] | None = Field(None, description="Example run input shown in the console")


KIND = REGISTRY.register(NodeKind(name="input", config=InputConfig, category="Flow", icon="input"))
