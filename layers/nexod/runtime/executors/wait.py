"""The `wait` executor: Step Functions did the waiting; this records the node."""

from __future__ import annotations

from ...domain.nodes import NodeConfig, WaitConfig
from .base import NodeContext, NodeResult, Toolbox, executor


@executor("wait")
def run_wait(config: NodeConfig, _: NodeContext, __: Toolbox) -> NodeResult:
    assert isinstance(config, WaitConfig)
    return NodeResult({"waited_seconds": config.seconds})
