"""The `llm` executor: one chat completion through the LLM port."""

from __future__ import annotations

import json
from typing import Any

from ...domain.nodes import LlmConfig, NodeConfig
from ...domain.nodes.llm import CALL_TIMEOUT_SECONDS
from ..egress import egress_scope
from ..errors import NodeError, NodeFailedError, NodeRetryableError
from ..llm_gateway import Call
from .base import NodeContext, NodeResult, Toolbox, executor, in_node


@executor("llm")
def run_llm(config: NodeConfig, ctx: NodeContext, tools: Toolbox) -> NodeResult:
    assert isinstance(config, LlmConfig)
    if tools.gateway is None:
        raise NodeFailedError(f"node '{ctx.node_id}': this runner has no LLM gateway (a deployment error)")
    # The LLM port takes no allow-list: its adapter's guarded transport reads this scope (see egress.py).
    with egress_scope(ctx.node_id, ctx.allow_hosts):
        try:
            completion = tools.gateway.complete(
                ctx.workspace_id,
                Call(
                    model=config.model,
                    system=config.system,
                    prompt=config.prompt,
                    temperature=config.temperature,
                    max_tokens=config.max_tokens,
                    json_mode=config.json_mode,
                    timeout=float(CALL_TIMEOUT_SECONDS),
                ),
            )
        except NodeError as exc:
            in_node(ctx, exc, "model")
            raise
    output: dict[str, Any] = {"text": completion.text, "model": completion.model}
    if config.json_mode:
        try:
            output["json"] = json.loads(completion.text)
        except json.JSONDecodeError as exc:
            raise NodeRetryableError(
                f"node '{ctx.node_id}': the model was asked for JSON but answered text that does not parse"
                f" ({exc.msg} at char {exc.pos})",
                {"text": completion.text[:2000]},
            ) from exc
    if completion.tool_calls:
        output["tool_calls"] = completion.tool_calls
    usage = {
        "model": completion.model,
        "tokens_in": completion.tokens_in,
        "tokens_out": completion.tokens_out,
        "cost_usd": completion.cost_usd,
    }
    return NodeResult(output, usage)
