"""What the expression executors (`transform`, `condition`) share."""

from __future__ import annotations

from typing import Any

from ...domain.expressions import ExpressionError, evaluate
from ...domain.nodes import ConditionConfig, TransformConfig
from ..errors import NodeFailedError
from .base import NodeContext


def expression(config: TransformConfig | ConditionConfig, ctx: NodeContext) -> Any:
    try:
        return evaluate(config.expression, ctx.data, config.language)
    except ExpressionError as exc:
        raise NodeFailedError(f"node '{ctx.node_id}': {exc}") from exc
