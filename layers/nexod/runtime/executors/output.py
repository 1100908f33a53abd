"""The `output` executor: the run's result."""

from __future__ import annotations

from ...domain.nodes import NodeConfig, OutputConfig
from .base import NodeContext, NodeResult, Toolbox, executor


@executor("output")
def run_output(config: NodeConfig, ctx: NodeContext, _: Toolbox) -> NodeResult:
    assert isinstance(config, OutputConfig)
    if config.value is not None:
        return NodeResult(config.value)
    return NodeResult({p: ctx.upstream[p] for p in ctx.predecessors if p in ctx.upstream})
