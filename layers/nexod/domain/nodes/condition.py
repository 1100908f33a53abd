"""The `condition` kind: an expression whose truth picks the edges taken."""

from __future__ import annotations

from pydantic import Field

from .expression import ExpressionLanguage
from .kind import REGISTRY, NodeConfig, NodeKind


class ConditionConfig(NodeConfig):
    """Evaluates an expression; edges leaving it may carry condition "true" or "false"."""

    language: ExpressionLanguage = "jmespath"
    expression: str = Field(..., min_length=1, max_length=20_000)


KIND = REGISTRY.register(
    NodeKind(
        name="condition",
        config=ConditionConfig,
        category="Logic",
        icon="condition",
        output_schema={
            "type": "object",
            "properties": {"result": {"type": "boolean"}, "value": {}},
            "required": ["result", "value"],
        },
    )
)
