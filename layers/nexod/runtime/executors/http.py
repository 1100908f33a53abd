"""The `http` executor: one request through the Outbound port (the egress guard in production)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...domain.nodes import HttpConfig, NodeConfig
from ..errors import NodeError, NodeFailedError, NodeRetryableError
from ..redaction import Scrubber, redact_http_config, redact_mapping, redact_url, secret_templated_names
from .base import CREDENTIALS, Credentials, NodeContext, NodeResult, Toolbox, executor, in_node


@executor("http")
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
        in_node(ctx, exc)
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


def _secret_names(config: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(secret_templated_names(config.get("headers")) | secret_templated_names(config.get("query")))


def _recorded(config: Any, secret_names: frozenset[str]) -> Any:
    return redact_http_config(config, secret_names) if isinstance(config, Mapping) else config


CREDENTIALS["http"] = Credentials(secret_names=_secret_names, recorded=_recorded, scrubber=Scrubber.for_http)
