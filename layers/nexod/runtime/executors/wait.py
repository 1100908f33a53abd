"""The `wait` executor: Step Functions did the waiting (until the end the runner recorded); this records the node."""

from __future__ import annotations

from ...domain.nodes import NodeConfig, WaitConfig
from .base import NodeContext, NodeResult, Toolbox, executor


@executor("wait")
def run_wait(config: NodeConfig, ctx: NodeContext, __: Toolbox) -> NodeResult:
    assert isinstance(config, WaitConfig)
    assert ctx.wait_until is not None  # the runner records it for every wait-shaped node
    return NodeResult({"waited_seconds": ctx.wait_seconds or 0, "until": ctx.wait_until})
