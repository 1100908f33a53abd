"""`POST /v1/hooks/{trigger_id}`: webhook deliveries, authenticated by the trigger's signature, not a JWT.

Answered here, before the JWT check and the Powertools resolver: the signature covers the raw body, which
must reach the verifier byte for byte. Unknown, disabled, unsigned, badly signed or stale deliveries all
get the same 401; bodies above 1 MiB a 413; an accepted delivery a 202 naming its run (a duplicate the
first delivery's run)."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any
from urllib.parse import parse_qsl

from nexod.domain.errors import NexodError
from nexod.domain.nodes.webhook_response import header_denied
from nexod.domain.triggers import MAX_HOOK_BODY
from nexod.services import triggers
from nexod.services.context import Services

from .encoding import dumps

PREFIX = triggers.HOOK_PREFIX
log = logging.getLogger(__name__)


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": dumps(body),
    }


def _error(status: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    return _answer(status, {"error": {"code": code, "message": message, "details": details}})


def _raw_body(event: dict[str, Any]) -> bytes | None:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    return str(body).encode("utf-8", "surrogatepass")


def handle(services: Services, event: dict[str, Any]) -> dict[str, Any]:
    method = str(event.get("requestContext", {}).get("http", {}).get("method") or event.get("httpMethod") or "")
    path = str(event.get("rawPath") or event.get("path") or "")
    trigger_id = path[len(PREFIX) :]
    if method.upper() != "POST":
        refused = _error(
            405, "method_not_allowed", f"{method} is not allowed on {path}; allowed: POST", {"allowed": ["POST"]}
        )
        refused["headers"]["Allow"] = "POST"
        return refused
    if not trigger_id or "/" in trigger_id:
        return _error(404, "not_found", f"no route {method} {path}")
    raw = _raw_body(event)
    if raw is None:
        return _error(400, "invalid_request", "the request body is not valid base64")
    if len(raw) > MAX_HOOK_BODY:
        return _error(413, "payload_too_large", f"request body is {len(raw)} bytes; the limit is {MAX_HOOK_BODY}")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    query = dict(parse_qsl(str(event.get("rawQueryString") or ""), keep_blank_values=True))
    try:
        outcome = triggers.receive_webhook(services, trigger_id, headers, raw, query)
        answer = triggers.await_answer(services, outcome)  # a synchronous webhook: what its run answers
    except NexodError as exc:
        return _error(exc.status, exc.code, exc.message)
    except Exception:
        log.exception("webhook delivery failed")
        return _error(500, "internal", "internal error")
    if answer is not None:
        return flow_answer(answer)
    return _answer(202, outcome.as_json())


def flow_answer(answer: triggers.HookAnswer) -> dict[str, Any]:
    """A flow's answer to a synchronous webhook: its status, its headers less every header a flow may not set
    (hop-by-hop, framing, cookies, CORS and other security headers: checked again here, whatever the node
    recorded), and its body: a string as it is (text/plain unless the flow names a type), anything else JSON."""
    headers = {k: v for k, v in answer.headers.items() if not header_denied(k) and "\n" not in v and "\r" not in v}
    named = next((k for k in headers if k.lower() == "content-type"), None)
    if isinstance(answer.body, str):
        body = answer.body
        content_type = headers.pop(named) if named else "text/plain; charset=utf-8"
    else:
        body = dumps(answer.body)
        content_type = headers.pop(named) if named else "application/json"
    return {"statusCode": answer.status, "headers": {**headers, "Content-Type": content_type}, "body": body}
