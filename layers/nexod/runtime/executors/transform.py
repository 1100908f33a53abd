"""The `transform` executor: evaluates its expression."""

from __future__ import annotations

from ...domain.nodes import NodeConfig, TransformConfig
from .base import NodeContext, NodeResult, Toolbox, executor
from .expression import expression


@executor("transform")
def run_transform(config: NodeConfig, ctx: NodeContext, _: Toolbox) -> NodeResult:
    assert isinstance(config, TransformConfig)
    return NodeResult(expression(config, ctx))
