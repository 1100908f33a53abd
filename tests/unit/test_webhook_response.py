"""The `webhook_response` node kind (issue 12): its config refuses what a flow may not answer with, before and
after rendering, and its executor records the answer a synchronous webhook gives."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from nexod.domain.errors import InvalidInput
from nexod.domain.nodes import REGISTRY, Runtime
from nexod.domain.nodes.webhook_response import WebhookResponseConfig, header_denied
from nexod.domain.triggers import validate_config
from nexod.runtime.errors import NodeFailedError
from nexod.runtime.executors import EXECUTORS, NodeContext, Toolbox


def _never() -> Any:
    raise AssertionError("a webhook_response node reaches no port")


def _run(config: WebhookResponseConfig) -> Any:
    ctx = NodeContext(run_id="r", workspace_id="w", node_id="reply", run_input={}, upstream={}, predecessors=[])
    return EXECUTORS["webhook_response"](config, ctx, Toolbox(runtime=Runtime.CORE, outbound=_never)).output


@pytest.mark.parametrize(
    "name",
    [
        "Set-Cookie",
        "content-length",
        "Transfer-Encoding",
        "CONNECTION",
        "Access-Control-Allow-Origin",
        "access-control-allow-credentials",
        "Strict-Transport-Security",
        "Location",
        "X-Forwarded-For",
        "Keep-Alive",
    ],
)
def test_hop_by_hop_and_security_headers_are_refused(name: str) -> None:
    # Given a config that sets a denied header, then it is refused naming it
    assert header_denied(name)
    with pytest.raises(ValidationError, match=name):
        WebhookResponseConfig.model_validate({"headers": {name: "x"}})


def test_ordinary_headers_a_status_and_a_template_are_accepted_and_recorded() -> None:
    config = WebhookResponseConfig.model_validate({"status": "201", "headers": {"X-Order": "7"}, "body": {"ok": True}})
    assert _run(config) == {"status": 201, "headers": {"X-Order": "7"}, "body": {"ok": True}}
    assert WebhookResponseConfig.model_validate({"status": "{{ input.code }}"}).status == "{{ input.code }}"
    assert "status" in REGISTRY["webhook_response"].templated_fields


@pytest.mark.parametrize("status", [99, 600, "abc", True, "2OO"])
def test_a_status_outside_100_to_599_is_refused(status: Any) -> None:
    with pytest.raises(ValidationError, match="status"):
        WebhookResponseConfig.model_validate({"status": status})


def test_a_header_name_rendered_to_a_denied_one_fails_the_node() -> None:
    # Given a header name known only once rendered (the validator lets the template through)
    config = WebhookResponseConfig.model_validate({"headers": {"{{ input.h }}": "v"}})
    rendered = config.model_copy(update={"headers": {"Set-Cookie": "v"}})
    # When it runs, then the node fails naming the header
    with pytest.raises(NodeFailedError, match="Set-Cookie"):
        _run(rendered)


def test_a_webhook_trigger_s_response_mode_and_timeout_are_validated() -> None:
    assert validate_config("webhook", {})["response"] == {"mode": "async", "timeout_seconds": 10}
    assert (
        validate_config("webhook", {"response": {"mode": "sync", "timeout_seconds": 25}})["response"]["mode"] == "sync"
    )
    for bad in ({"mode": "sync", "timeout_seconds": 26}, {"mode": "sync", "timeout_seconds": 0}, {"mode": "later"}):
        with pytest.raises(InvalidInput, match=r"config\.response"):
            validate_config("webhook", {"response": bad})
