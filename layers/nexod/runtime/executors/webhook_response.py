"""The `webhook_response` executor: records the answer a synchronous webhook gives (the hook reads it)."""

from __future__ import annotations

from ...domain.nodes import NodeConfig
from ...domain.nodes.webhook_response import WebhookResponseConfig, header_denied
from ..errors import NodeFailedError
from .base import NodeContext, NodeResult, Toolbox, executor


@executor("webhook_response")
def run_webhook_response(config: NodeConfig, ctx: NodeContext, _: Toolbox) -> NodeResult:
    assert isinstance(config, WebhookResponseConfig)
    if not isinstance(config.status, int):  # a template that did not render to a number
        raise NodeFailedError(f"node '{ctx.node_id}': config.status rendered to '{config.status}', not a status code")
    denied = sorted(name for name in config.headers if header_denied(name))
    if denied:  # (a rendered name: the config validator skipped it as a template)
        raise NodeFailedError(f"node '{ctx.node_id}': config.headers: {', '.join(denied)} cannot be set by a flow")
    return NodeResult({"status": config.status, "headers": dict(config.headers), "body": config.body})
