"""The agent broker's HTTP surface, served by the API function under `/v1/broker/`.

Not a user route: it takes no user JWT but the capability token the launcher minted for one agent task
(`Authorization: Bearer nxc1.…`), and it is left out of the public OpenAPI document. Every answer is JSON;
a refused request is `{"error": {"code", "type", "message"}}` with 401 (token), 404 (no such task), 409
(task finished), 422 (bad body), 402/429/503 (the LLM gateway's budget, rate limit, provider errors).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from nexod.domain.errors import NexodError
from nexod.services.broker import Broker, BrokerError

from .encoding import dumps

PREFIX = "/v1/broker/"
_TOOL = re.compile(r"^/v1/broker/tools/(?P<name>[a-z_]{1,64})$")

_broker: Callable[[], Broker | None] = lambda: None  # noqa: E731


def bind(broker: Callable[[], Broker | None]) -> None:
    global _broker
    _broker = broker


def _reply(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {})},
        "body": dumps(body),
    }


def _error(status: int, code: str, message: str, type_: str | None = None) -> dict[str, Any]:
    return _reply(status, {"error": {"code": code, "type": type_ or code, "message": message}})


def refusal(status: int, code: str, message: str) -> dict[str, Any]:
    """A request the door refused before the broker saw it (a body too large, not UTF-8)."""
    return _error(status, code, message)


def handle(event: dict[str, Any]) -> dict[str, Any]:
    """Answer one broker request (an API Gateway v2 event whose headers `door.prepare` lower-cased)."""
    broker = _broker()
    if broker is None:
        return _error(503, "broker_unavailable", "this deployment serves no agent broker")
    method = str(event.get("requestContext", {}).get("http", {}).get("method") or event.get("httpMethod") or "")
    path = str(event.get("rawPath") or "")
    auth = str(event["headers"].get("authorization") or "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
    try:
        body = json.loads(event.get("body") or "null") if method == "POST" else None
    except ValueError:
        return _error(422, "invalid_request", "(body): not JSON")
    try:
        if method == "GET" and path == PREFIX + "task":
            return _reply(200, broker.task(token))
        if method == "POST":
            if path == PREFIX + "llm":
                return _reply(200, broker.llm(token, body))
            if path == PREFIX + "heartbeat":
                return _reply(200, broker.heartbeat(token))
            if path == PREFIX + "events":
                return _reply(200, broker.events(token, body))
            if path == PREFIX + "memory/recall":
                return _reply(200, broker.recall(token, body))
            if path == PREFIX + "memory/remember":
                return _reply(200, broker.remember(token, body))
            if path == PREFIX + "result":
                return _reply(200, broker.finish(token, body))
            if found := _TOOL.match(path):
                return _reply(200, broker.tool(token, found["name"], body))
        return _error(404, "not_found", f"no broker route {method} {path}")
    except BrokerError as exc:
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))} if exc.retry_after else None
        body = {"error": {"code": "llm_error", "type": exc.type, "message": exc.message}}
        if exc.retry_after:
            body["error"]["retry_after_seconds"] = exc.retry_after
        return _reply(exc.status, body, headers)
    except NexodError as exc:
        return _error(exc.status, exc.code, exc.message)
    except Exception:  # never a stack trace to an untrusted caller
        logging.getLogger(__name__).exception("broker error")
        return _error(500, "internal", "internal error")
