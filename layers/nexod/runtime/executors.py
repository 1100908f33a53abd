"""What each node type does once its config is rendered. Side effects go through ports only."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..domain.expressions import ExpressionError, evaluate, truthy
from ..domain.nodes import (
    ConditionConfig,
    HttpConfig,
    LlmConfig,
    NodeConfig,
    OutputConfig,
    TransformConfig,
    WaitConfig,
)
from ..ports import LLM, Outbound
from .egress import egress_scope
from .errors import NodeError, NodeFailedError, NodeRetryableError
from .redaction import redact_mapping, redact_url


@dataclass
class NodeContext:
    """What a node can see: the run input, upstream outputs, and workspace policy."""

    run_id: str
    workspace_id: str
    node_id: str
    run_input: Any
    upstream: dict[str, Any]
    predecessors: list[str]
    allow_hosts: list[str] = field(default_factory=list)
    # Names of headers/query parameters whose value was rendered from a secret: redacted when recorded,
    # never sent to another origin.
    secret_names: frozenset[str] = frozenset()

    @property
    def data(self) -> dict[str, Any]:
        return {
            "input": self.run_input,
            "nodes": {k: {"output": v} for k, v in self.upstream.items()},
            "run": {"id": self.run_id},
        }


@dataclass
class NodeResult:
    output: Any
    usage: dict[str, Any] = field(default_factory=dict)


@dataclass
class Toolbox:
    """Adapters the executors may use, built once per container by the composition root."""

    llm: Callable[[], LLM]
    outbound: Callable[[], Outbound]


def _expression(config: TransformConfig | ConditionConfig, ctx: NodeContext) -> Any:
    try:
        return evaluate(config.expression, ctx.data, config.language)
    except ExpressionError as exc:
        raise NodeFailedError(f"node '{ctx.node_id}': {exc}") from exc


def run_input(_: NodeConfig, ctx: NodeContext, __: Toolbox) -> NodeResult:
    return NodeResult(ctx.run_input)


def run_output(config: NodeConfig, ctx: NodeContext, _: Toolbox) -> NodeResult:
    assert isinstance(config, OutputConfig)
    if config.value is not None:
        return NodeResult(config.value)
    return NodeResult({p: ctx.upstream[p] for p in ctx.predecessors if p in ctx.upstream})


def run_transform(config: NodeConfig, ctx: NodeContext, _: Toolbox) -> NodeResult:
    assert isinstance(config, TransformConfig)
    return NodeResult(_expression(config, ctx))


def run_condition(config: NodeConfig, ctx: NodeContext, _: Toolbox) -> NodeResult:
    assert isinstance(config, ConditionConfig)
    value = _expression(config, ctx)
    return NodeResult({"result": truthy(value), "value": value})


def run_wait(config: NodeConfig, _: NodeContext, __: Toolbox) -> NodeResult:
    assert isinstance(config, WaitConfig)
    return NodeResult({"waited_seconds": config.seconds})


def _in_node(ctx: NodeContext, exc: NodeError, field_name: str | None = None) -> None:
    """Prefix an adapter's error with the node (and field) it concerns: the user's starting point."""
    prefix = f"node '{ctx.node_id}'"
    if not exc.message.startswith(prefix):
        where = f"{prefix} config.{field_name}" if field_name else prefix
        exc.message = f"{where}: {exc.message}"
        exc.args = (exc.message,)


def run_http(config: NodeConfig, ctx: NodeContext, tools: Toolbox) -> NodeResult:
    assert isinstance(config, HttpConfig)
    url = config.url
    if config.query:
        from urllib.parse import urlencode

        url += ("&" if "?" in url else "?") + urlencode(config.query)
    try:
        response = tools.outbound().request(
            config.method,
            url,
            headers=config.headers,
            body=config.body,
            timeout=config.timeout_seconds,
            follow_redirects=config.follow_redirects,
            max_redirects=config.max_redirects,
            allow_hosts=ctx.allow_hosts,
            secret_headers=ctx.secret_names,
            redirect_body_to_other_origins=config.redirect_body_to_other_origins,
        )
    except NodeError as exc:
        _in_node(ctx, exc)
        raise
    shown_url = redact_url(response.url, ctx.secret_names)
    output = {
        "status": response.status,
        # Set-Cookie and other credential-like response headers are not kept: downstream nodes and viewers
        # read the stored output.
        "headers": redact_mapping(response.headers),
        "body": response.body,
        "url": shown_url,
    }
    if config.fail_on_status and response.status >= 400:
        message = f"node '{ctx.node_id}': {config.method} {shown_url} answered HTTP {response.status}"
        details = {"status": response.status, "body": response.body}
        if response.status in (408, 425, 429) or response.status >= 500:
            raise NodeRetryableError(message, details)
        raise NodeFailedError(message, details)
    return NodeResult(output)


def run_llm(config: NodeConfig, ctx: NodeContext, tools: Toolbox) -> NodeResult:
    assert isinstance(config, LlmConfig)
    # The LLM port takes no allow-list: its adapter's guarded transport reads this scope (see egress.py).
    with egress_scope(ctx.node_id, ctx.allow_hosts):
        try:
            completion = tools.llm().complete(
                model=config.model,
                system=config.system,
                prompt=config.prompt,
                temperature=config.temperature,
                max_tokens=config.max_tokens,
                json_mode=config.json_mode,
                timeout=600.0,
            )
        except NodeError as exc:
            _in_node(ctx, exc, "model")
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


EXECUTORS: dict[str, Callable[[NodeConfig, NodeContext, Toolbox], NodeResult]] = {
    "input": run_input,
    "output": run_output,
    "transform": run_transform,
    "condition": run_condition,
    "wait": run_wait,
    "http": run_http,
    "llm": run_llm,
}
