"""The `transform` kind: reshapes upstream data with an expression."""

from __future__ import annotations

from pydantic import Field

from .expression import ExpressionLanguage
from .kind import REGISTRY, NodeConfig, NodeKind


class TransformConfig(NodeConfig):
    """Reshapes upstream data with an expression over {input, nodes: {id: {output}}}."""

    language: ExpressionLanguage = "jmespath"
    expression: str = Field(..., min_length=1, max_length=20_000)


KIND = REGISTRY.register(NodeKind(name="transform", config=TransformConfig, category="Logic", icon="transform"))
