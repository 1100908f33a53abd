"""The `http` kind: one outbound HTTP request through the egress guard."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..flow import RetryPolicy
from .kind import REGISTRY, NodeConfig, NodeKind

# The Task's limit; the request's own `timeout_seconds` (at most 900) is enforced inside it.
TIMEOUT_SECONDS = 900


class HttpConfig(NodeConfig):
    """An outbound HTTP request. Private, loopback and metadata addresses are refused unless allow-listed.

    Credential headers (Authorization, Cookie, X-Api-Key, names containing token/secret/key/password/auth)
    are recorded redacted and never follow a redirect to another origin.
    """

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: str = Field(..., min_length=1, max_length=8192, description="http(s) URL; may be templated")
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(None, description="JSON body (objects are sent as application/json) or a string")
    timeout_seconds: float = Field(30.0, gt=0, le=900)
    follow_redirects: bool = True
    max_redirects: int = Field(5, ge=0, le=20)
    redirect_body_to_other_origins: bool = Field(
        False,
        description="Follow a 307/308 redirect that re-sends the request body to another scheme, host or port"
        " (credential headers are dropped on any redirect to another origin either way)",
    )
    fail_on_status: bool = Field(True, description="Fail the node on a 4xx/5xx response")


KIND = REGISTRY.register(
    NodeKind(
        name="http",
        config=HttpConfig,
        category="Connectors",
        icon="http",
        templated_fields=("url", "headers", "query", "body"),
        secret_fields=("url", "headers", "query", "body"),
        output_schema={
            "type": "object",
            "properties": {
                "status": {"type": "integer"},
                "headers": {"type": "object"},
                "body": {},
                "url": {"type": "string"},
            },
            "required": ["status", "headers", "body", "url"],
        },
        default_retry=RetryPolicy(),
        default_timeout_seconds=TIMEOUT_SECONDS,
        calls_out=True,
    )
)
