"""The `condition` executor: evaluates its expression and says whether it is true."""

from __future__ import annotations

from ...domain.expressions import truthy
from ...domain.nodes import ConditionConfig, NodeConfig
from .base import NodeContext, NodeResult, Toolbox, executor
from .expression import expression


@executor("condition")
def run_condition(config: NodeConfig, ctx: NodeContext, _: Toolbox) -> NodeResult:
    assert isinstance(config, ConditionConfig)
    value = expression(config, ctx)
    return NodeResult({"result": truthy(value), "value": value})
