"""The `output` kind: the run's result."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .kind import REGISTRY, NodeConfig, NodeKind


class OutputConfig(NodeConfig):
    """The run's result. Without `value`, the outputs of the nodes feeding it, keyed by node id."""

    value: Any = Field(None, description="Templated value, e.g. '{{ nodes.summarise.output.text }}'")


KIND = REGISTRY.register(
    NodeKind(name="output", config=OutputConfig, category="Flow", icon="output", templated_fields=("value",))
)
