"""The API's door: what every request must satisfy before authentication and routing.

Powertools parses bodies with Python's lenient `json` (NaN, Infinity, lone surrogates, any depth) and
answers some refusals in its own format; PostgreSQL then fails on what Python accepted. So the body is
checked here, once, with the limits in `nexod.services.json_limits`, and every refusal uses the API's
`{"error": {"code", "message", "details"}}` envelope.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from nexod.services.json_limits import MAX_DEPTH, JsonRefused, parse

MAX_BODY_BYTES = 2 * 1024 * 1024  # a 1 MiB flow document plus its JSON envelope
# `curl -d` sends form-urlencoded and some clients send no type: a body that is JSON is taken as JSON.
LENIENT_TYPES = frozenset({"", "application/x-www-form-urlencoded"})
MARKDOWN = "text/markdown"
# Routes that take an agent spec's markdown as the body itself (`Content-Type: text/markdown`): the door
# wraps it as `{"markdown": "<the text>"}`, which the route's body model reads like any JSON body.
MARKDOWN_BODIES = (
    ("POST", re.compile(r"^/v1/workspaces/[^/]+/agents(?:/validate)?$")),
    ("PUT", re.compile(r"^/v1/workspaces/[^/]+/agents/[^/]+$")),
)


def takes_markdown(event: dict[str, Any]) -> bool:
    method = str(event.get("requestContext", {}).get("http", {}).get("method") or event.get("httpMethod") or "")
    path = str(event.get("rawPath") or event.get("path") or "")
    return any(method.upper() == m and rx.match(path) for m, rx in MARKDOWN_BODIES)


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str
    details: Any = None


def media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json_type(media: str) -> bool:
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _body_text(event: dict[str, Any]) -> str | Refusal:
    body = event.get("body") or ""
    if not isinstance(body, str):
        return Refusal(400, "invalid_request", "the request body is not text")
    if event.get("isBase64Encoded") and body:
        # API Gateway base64-encodes bodies of non-text media types; decode once so every later reader
        # (this check and Powertools) sees the same text.
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return Refusal(400, "invalid_request", "the request body is not valid base64")
        if len(raw) > MAX_BODY_BYTES:
            return _too_large(len(raw))
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return Refusal(
                422, "invalid_request", "(body): the request body is not UTF-8 text", [_detail((), "not UTF-8")]
            )
        event["body"], event["isBase64Encoded"] = body, False
    return body


def _too_large(size: int) -> Refusal:
    return Refusal(413, "payload_too_large", f"request body is {size} bytes; the limit is {MAX_BODY_BYTES}")


def _detail(path: tuple[str | int, ...], message: str, reason: str = "malformed") -> dict[str, Any]:
    return {"field": ".".join(str(p) for p in path) or "(body)", "in": "body", "message": message, "reason": reason}


def prepare(event: dict[str, Any]) -> Refusal | None:
    """Before authentication: header names lower-cased, a base64 body decoded, and its size bounded."""
    event["headers"] = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    body = _body_text(event)
    if isinstance(body, Refusal):
        return body
    size = len(body.encode("utf-8", "surrogatepass"))
    return _too_large(size) if size > MAX_BODY_BYTES else None


def check(event: dict[str, Any]) -> Refusal | None:
    """After authentication, before routing: None if the request may proceed, else the refusal to answer.

    Run on a `prepare`d event (headers lower-cased, body text)."""
    headers: dict[str, str] = event["headers"]
    for where, text in (("path", event.get("rawPath") or ""), ("query", event.get("rawQueryString") or "")):
        if "\x00" in text or "%00" in text:  # PostgreSQL cannot store U+0000 in text
            message = f"{where}: text must not contain NUL (U+0000) characters"
            return Refusal(422, "invalid_request", message, [{"field": where, "in": where, "message": message}])
    body = event.get("body") or ""
    if not body:
        return None
    media = media_type(headers)
    if media == MARKDOWN and takes_markdown(event):
        body = event["body"] = json.dumps({"markdown": body}, ensure_ascii=False)
        media = headers["content-type"] = "application/json"
    if not is_json_type(media) and media not in LENIENT_TYPES:
        return Refusal(
            415,
            "unsupported_media_type",
            f"Content-Type '{media}' is not supported: send the body as application/json",
            {"field": "content-type", "in": "header", "supported": ["application/json"]},
        )
    try:
        document = parse(body, MAX_DEPTH)
    except JsonRefused as exc:
        if exc.reason == "malformed" and not is_json_type(media):
            return Refusal(
                415,
                "unsupported_media_type",
                f"the body is not JSON (Content-Type '{media or 'none'}'): send application/json",
                {"field": "content-type", "in": "header", "supported": ["application/json"]},
            )
        return Refusal(422, "invalid_request", str(exc), [_detail(exc.path, exc.problem, exc.reason)])
    if not isinstance(document, dict):
        # Every body of this API is a JSON object; Powertools would otherwise validate the first element
        # of an array against a model whose fields are all optional, and accept it.
        kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
        message = f"(body): must be a JSON object, not {kinds.get(type(document), 'null')}"
        return Refusal(422, "invalid_request", message, [_detail((), "not a JSON object", "type")])
    if media != "application/json":  # Powertools decides how to parse by this header (and refuses +json)
        headers["content-type"] = "application/json"
    return None
