"""The `wait` kind: a native Wait state, so the pause bills no compute."""

from __future__ import annotations

from pydantic import Field

from .kind import REGISTRY, AslShape, NodeConfig, NodeKind


class WaitConfig(NodeConfig):
    """Pauses the branch; Step Functions waits for free (no compute is billed)."""

    seconds: int = Field(..., ge=0, le=31_536_000)


KIND = REGISTRY.register(
    NodeKind(
        name="wait",
        config=WaitConfig,
        category="Logic",
        icon="wait",
        shape=AslShape.WAIT,
        output_schema={
            "type": "object",
            "properties": {"waited_seconds": {"type": "integer"}},
            "required": ["waited_seconds"],
        },
    )
)
