"""The `input` executor: its output is the run input."""

from __future__ import annotations

from ...domain.nodes import NodeConfig
from .base import NodeContext, NodeResult, Toolbox, executor


@executor("input")
def run_input(_: NodeConfig, ctx: NodeContext, __: Toolbox) -> NodeResult:
    return NodeResult(ctx.run_input)
