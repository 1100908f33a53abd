"""The `webhook_response` kind: what a synchronous webhook answers its caller (issue 12)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from .kind import REGISTRY, NodeConfig, NodeKind

# Headers a flow may never set on the answer: hop-by-hop and framing headers (the door and API Gateway own
# them), cookies and the browser security policy of the API's own origin (CORS, CSP, HSTS, framing).
DENIED_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "content-encoding",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "date",
        "server",
        "set-cookie",
        "set-cookie2",
        "strict-transport-security",
        "content-security-policy",
        "content-security-policy-report-only",
        "x-frame-options",
        "x-content-type-options",
        "x-xss-protection",
        "referrer-policy",
        "permissions-policy",
        "cross-origin-opener-policy",
        "cross-origin-embedder-policy",
        "cross-origin-resource-policy",
        "www-authenticate",
        "authorization",
        "location",
    }
)
DENIED_PREFIXES = ("access-control-", "x-amz", "x-amzn-", "x-forwarded-", "sec-", "x-nexod-")


def header_denied(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in DENIED_HEADERS or lowered.startswith(DENIED_PREFIXES)


def _status(value: Any) -> int | str:
    if isinstance(value, bool):
        raise ValueError("status must be an HTTP status code from 100 to 599")
    if isinstance(value, str) and "{{" in value:
        return value  # a template: checked once it is rendered
    try:
        code = int(value)
    except (TypeError, ValueError):
        raise ValueError("status must be an HTTP status code from 100 to 599, or a template") from None
    if not 100 <= code <= 599:
        raise ValueError(f"status {code} is not an HTTP status code from 100 to 599")
    return code


class WebhookResponseConfig(NodeConfig):
    """Sets what a synchronous webhook answers its caller: status, headers and body (the first such node to
    finish decides). Security and hop-by-hop headers (Set-Cookie, Content-Length, Access-Control-*, ...) are
    refused. In a run not started by a synchronous webhook it only records its output."""

    status: int | str = Field(200, description="HTTP status (100-599); may be templated, e.g. '{{ input.code }}'")
    headers: dict[str, str] = Field(
        default_factory=dict, description="response headers (names and values may be templated)", max_length=50
    )
    body: Any = Field(None, description="Templated body: JSON, or a string sent as it is")

    @field_validator("status", mode="before")
    @classmethod
    def _valid_status(cls, value: Any) -> int | str:
        return _status(value)

    @field_validator("headers")
    @classmethod
    def _allowed_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, content in value.items():
            if "{{" in name:
                continue  # checked once rendered (the config is validated again then)
            if not name or any(c in name for c in " :\r\n\t") or not name.isascii():
                raise ValueError(f"header name '{name[:50]}' is not a valid HTTP header name")
            if header_denied(name):
                raise ValueError(f"header '{name}' cannot be set by a flow (hop-by-hop or security header)")
            if "\r" in content or "\n" in content:
                raise ValueError(f"header '{name}': a value cannot contain a line break")
        return value


KIND = REGISTRY.register(
    NodeKind(
        name="webhook_response",
        config=WebhookResponseConfig,
        category="Flow",
        icon="webhook_response",
        templated_fields=("status", "headers", "body"),
        output_schema={
            "type": "object",
            "properties": {"status": {"type": "integer"}, "headers": {"type": "object"}, "body": {}},
        },
    )
)
