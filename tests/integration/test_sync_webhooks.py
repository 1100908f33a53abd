"""Synchronous webhooks (issue 12) against the real local stack: the hook waits for the run and answers with
what its first `webhook_response` node set, else the run's output, else 202 naming the run; a flow never sets
hop-by-hop or security headers."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from nexod.domain.triggers import sign
from nexod.local.boot import LocalStack
from tests.integration.conftest import publish
from tests.support.api import Api
from tests.unit.flows import edge, node

REPLIES = {
    "nodes": [
        node("start", "input"),
        node(
            "reply",
            "webhook_response",
            status="{{ input.code }}",
            headers={"X-Order": "{{ input.order }}", "Content-Type": "application/vnd.shop+json"},
            body={"accepted": "{{ input.order }}", "note": "thanks"},
        ),
        node("pause", "wait", seconds=2),
        node("end", "output", value="done"),
    ],
    "edges": [edge("start", "reply"), edge("reply", "pause"), edge("pause", "end")],
}
ECHOES = {
    "nodes": [node("start", "input"), node("echo", "transform", expression="{total: input.a}"), node("end", "output")],
    "edges": [edge("start", "echo"), edge("echo", "end")],
}
SLOW = {
    "nodes": [node("start", "input"), node("pause", "wait", seconds=30), node("end", "output", value="late")],
    "edges": [edge("start", "pause"), edge("pause", "end")],
}


def _json(body: Any) -> Any:
    """A body as JSON (the client parses application/json itself; other types arrive as text)."""
    return json.loads(body) if isinstance(body, str) else body


def _hook(api: Api, ws: str, flow: str, timeout: int = 10, mode: str = "sync") -> dict[str, Any]:
    config = {"response": {"mode": mode, "timeout_seconds": timeout}}
    return dict(api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow}/triggers", {"kind": "webhook", "config": config}))


def _post(stack: LocalStack, hook: dict[str, Any], body: dict[str, Any], key: str | None = None) -> Any:
    raw = json.dumps(body).encode()
    ts = str(int(time.time()))
    headers = {"X-Nexod-Timestamp": ts, "X-Nexod-Signature": sign(hook["secret"], ts, raw)}
    if key:
        headers["Idempotency-Key"] = key
    return Api(stack.url, None).exchange("POST", f"/v1/hooks/{hook['id']}", raw=raw, headers=headers)


def test_a_sync_webhook_answers_with_the_first_webhook_response_node(alice: Api, stack: LocalStack, workspace: str):
    # Given a sync webhook on a flow that answers with a templated status, headers and body, then goes on
    flow = publish(alice, workspace, REPLIES, "replies")
    hook = _hook(alice, workspace, flow)
    assert hook["config"]["response"] == {"mode": "sync", "timeout_seconds": 10}
    # When a delivery arrives
    started = time.monotonic()
    status, headers, body = _post(stack, hook, {"code": 201, "order": "A-7"})
    # Then the caller gets the node's answer before the run is over (it still waits 2 s)
    assert status == 201, body
    assert _json(body) == {"accepted": "A-7", "note": "thanks"}
    assert headers["x-order"] == "A-7"
    assert headers["content-type"] == "application/vnd.shop+json"
    assert time.monotonic() - started < 10
    # And a copy of the delivery gets the same answer from the same run
    again = _post(stack, hook, {"code": 201, "order": "A-7"}, key="k1")
    first = _post(stack, hook, {"code": 201, "order": "A-7"}, key="k1")
    assert again[0] == first[0] == 201


def test_a_sync_webhook_without_a_response_node_answers_the_run_output(alice: Api, stack: LocalStack, workspace: str):
    flow = publish(alice, workspace, ECHOES, "echoes")
    hook = _hook(alice, workspace, flow)
    status, headers, body = _post(stack, hook, {"a": 5})
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    assert _json(body) == {"echo": {"total": 5}}


def test_a_sync_webhook_that_times_out_answers_202_with_the_run_id(alice: Api, stack: LocalStack, workspace: str):
    flow = publish(alice, workspace, SLOW, "slow")
    hook = _hook(alice, workspace, flow, timeout=1)
    status, _, body = _post(stack, hook, {})
    answer = _json(body)
    assert status == 202, answer
    assert answer["status"] == "started" and answer["run_id"]
    alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{answer['run_id']}/cancel")


def test_an_async_webhook_still_answers_202_at_once(alice: Api, stack: LocalStack, workspace: str):
    flow = publish(alice, workspace, REPLIES, "async")
    hook = _hook(alice, workspace, flow, mode="async")
    status, _, body = _post(stack, hook, {"code": 201, "order": "B"})
    assert status == 202 and _json(body)["status"] == "started"


@pytest.mark.parametrize(
    "header",
    [
        "Set-Cookie",
        "set-cookie",
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
        "Access-Control-Allow-Origin",
        "Strict-Transport-Security",
        "Content-Security-Policy",
        "X-Frame-Options",
        "Location",
        "X-Amzn-Trace-Id",
    ],
)
def test_a_flow_cannot_set_hop_by_hop_or_security_headers(alice: Api, workspace: str, header: str):
    # Given a flow whose webhook_response sets a denied header
    flow = {
        "nodes": [
            node("start", "input"),
            node("reply", "webhook_response", headers={header: "x"}),
            node("end", "output"),
        ],
        "edges": [edge("start", "reply"), edge("reply", "end")],
    }
    # When it is saved (a draft always saves), then the draft is invalid with a problem naming the node's headers
    status, saved = alice.call("POST", f"/v1/workspaces/{workspace}/flows", {"name": "bad", "definition": flow})
    assert status == 201 and saved["valid"] is False, saved
    assert header in json.dumps(saved["problems"]) and "headers" in json.dumps(saved["problems"])
    assert any(p.get("node") == "reply" for p in saved["problems"]), saved["problems"]
    # And publishing it is refused with a 422 naming the same
    status, refused = alice.call("POST", f"/v1/workspaces/{workspace}/flows/{saved['id']}/versions", {})
    assert status == 422, refused
    assert header in json.dumps(refused) and "headers" in json.dumps(refused)


def test_a_denied_header_named_by_a_template_fails_the_node_and_is_never_sent(
    alice: Api, stack: LocalStack, workspace: str
):
    # Given a flow whose header name is only known once rendered (it renders to Set-Cookie)
    flow = {
        "nodes": [
            node("start", "input"),
            node("reply", "webhook_response", status=200, headers={"{{ input.name }}": "session=stolen"}),
            node("end", "output", value="ok"),
        ],
        "edges": [edge("start", "reply"), edge("reply", "end")],
    }
    hook = _hook(alice, workspace, publish(alice, workspace, flow, "sneaky"))
    # When a delivery names Set-Cookie
    status, headers, body = _post(stack, hook, {"name": "Set-Cookie"})
    # Then no cookie is set: the node failed, and the caller learns the run failed
    assert "set-cookie" not in headers
    assert status == 502, body
    assert _json(body)["error"]["code"] == "run_failed"
