"""The `llm` executor: one chat completion through the LLM gateway, with fallback models and an output schema."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from jsonschema import Draft202012Validator

from ...domain.nodes import LlmConfig, NodeConfig
from ...domain.nodes.llm import CALL_TIMEOUT_SECONDS
from ...ports import Completion
from ..egress import egress_scope
from ..errors import LLMRateLimited, NodeError, NodeFailedError, NodeRetryableError
from ..llm_gateway import Call, LlmGateway
from .base import NodeContext, NodeResult, Toolbox, executor, in_node

MAX_SCHEMA_ERRORS = 5
# A node told to wait by a rate limit this many times fails instead: the bound on the state machine's wait
# loop (each wait is one more claim of the node run, so one more attempt).
WAIT_LIMIT = 60


@executor("llm")
def run_llm(config: NodeConfig, ctx: NodeContext, tools: Toolbox) -> NodeResult:
    assert isinstance(config, LlmConfig)
    if tools.gateway is None:
        raise NodeFailedError(f"node '{ctx.node_id}': this runner has no LLM gateway (a deployment error)")
    gateway = tools.gateway
    wants_json = config.json_mode or config.output_schema is not None
    system = config.system
    if config.output_schema is not None:
        rule = f"Answer with only a JSON value that matches this JSON Schema:\n{json.dumps(config.output_schema)}"
        system = f"{system}\n\n{rule}" if system else rule
    call = Call(
        model=config.model,
        system=system,
        prompt=config.prompt,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        json_mode=wants_json,
        timeout=float(CALL_TIMEOUT_SECONDS),
    )
    usage: dict[str, Any] = {"tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0}
    # The LLM port takes no allow-list: its adapter's guarded transport reads this scope (see egress.py).
    with egress_scope(ctx.node_id, ctx.allow_hosts):
        try:
            completion, attempts = _with_fallbacks(gateway, ctx, call, config.fallback_models, usage)
        except LLMRateLimited as exc:
            if ctx.attempt >= WAIT_LIMIT:
                raise NodeFailedError(
                    f"{exc.message} (still rate limited after {ctx.attempt} attempts: the node gives up)", exc.details
                ) from None
            raise
        answered = replace(call, model=attempts[-1]["model"])
        output: dict[str, Any] = {"text": completion.text, "model": completion.model}
        if config.output_schema is not None:
            output["json"], completion = _conforming(gateway, ctx, answered, completion, config.output_schema, usage)
            output["text"] = completion.text
        elif config.json_mode:
            output["json"] = _parsed(ctx, completion.text)
    if completion.tool_calls:
        output["tool_calls"] = completion.tool_calls
    if config.fallback_models:
        output["attempts"] = attempts
    usage["model"] = completion.model
    return NodeResult(output, usage)


def _complete(gateway: LlmGateway, ctx: NodeContext, call: Call, usage: dict[str, Any]) -> Completion:
    try:
        completion = gateway.complete(ctx.workspace_id, call)
    except NodeError as exc:
        in_node(ctx, exc, "model")
        raise
    usage["tokens_in"] += completion.tokens_in
    usage["tokens_out"] += completion.tokens_out
    usage["cost_usd"] += completion.cost_usd
    return completion


def _with_fallbacks(
    gateway: LlmGateway, ctx: NodeContext, call: Call, fallbacks: list[str], usage: dict[str, Any]
) -> tuple[Completion, list[dict[str, Any]]]:
    """The first model that answers, trying the fallbacks in order on retryable provider errors."""
    attempts: list[dict[str, Any]] = []
    models = [call.model, *fallbacks]
    for i, model in enumerate(models):
        try:
            completion = _complete(gateway, ctx, replace(call, model=model), usage)
        except NodeRetryableError as exc:
            workspace_limit = isinstance(exc, LLMRateLimited) and (exc.details or {}).get("source") == "workspace"
            attempts.append({"model": model, "error": exc.message})
            if workspace_limit or i == len(models) - 1:  # another model cannot lift the workspace's own limit
                if len(attempts) > 1:
                    exc.details = {**(exc.details if isinstance(exc.details, dict) else {}), "attempts": attempts}
                raise
            continue
        attempts.append({"model": model, "error": None})
        return completion, attempts
    raise AssertionError("unreachable: the last model either answers or raises")


def _parsed(ctx: NodeContext, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NodeRetryableError(
            f"node '{ctx.node_id}': the model was asked for JSON but answered text that does not parse"
            f" ({exc.msg} at char {exc.pos})",
            {"text": text[:2000]},
        ) from exc


def _problems(text: str, schema: dict[str, Any]) -> tuple[Any, list[str]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [f"not JSON ({exc.msg} at char {exc.pos})"]
    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    return value, [f"at {e.json_path}: {e.message}" for e in errors[:MAX_SCHEMA_ERRORS]]


def _conforming(
    gateway: LlmGateway,
    ctx: NodeContext,
    call: Call,
    completion: Completion,
    schema: dict[str, Any],
    usage: dict[str, Any],
) -> tuple[Any, Completion]:
    """The answer parsed and valid against `schema`; one repair prompt when it is not, then a retryable error."""
    value, problems = _problems(completion.text, schema)
    if not problems:
        return value, completion
    repair = (
        f"{call.prompt}\n\nYour previous answer was:\n{completion.text[:20_000]}\n\nIt does not match the JSON Schema"
        f" ({'; '.join(problems)}). Answer again with only a JSON value that matches the schema."
    )
    repaired = _complete(gateway, ctx, replace(call, prompt=repair), usage)
    value, again = _problems(repaired.text, schema)
    if again:
        raise NodeRetryableError(
            f"node '{ctx.node_id}': the answer does not match config.output_schema after one repair prompt"
            f" ({'; '.join(again)})",
            {"text": repaired.text[:2000], "errors": again},
        )
    return value, repaired
