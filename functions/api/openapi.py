"""The OpenAPI document the API serves: Powertools' generated one, completed with what it cannot know.

Powertools documents each operation's success from the route's response model (`responses.py`, also for
201/202 routes, which return `Response[Model]`) and its own 422 format. The API answers every refusal and
failure in one envelope (`responses.Error`), 204s with no body, and takes bodies within the JSON limits of
the door: document them, so that clients, the console's generated types (`openapi_export.py`) and the
schema-driven tests can rely on the document for every answer.
"""

from __future__ import annotations

from typing import Any

from nexod.services.json_limits import MAX_DEPTH, MAX_STORED_DEPTH

from .door import MAX_BODY_BYTES
from .responses import Error

REF = "#/components/schemas/{model}"

LIMITS = f"""Every request body is JSON (Content-Type application/json) of at most {MAX_BODY_BYTES} bytes, nested at
most {MAX_DEPTH} levels of objects and arrays, whose numbers are finite and within ±1.7976931348623157e308 (no NaN
or Infinity) and whose text holds neither NUL (U+0000) nor lone surrogates. Anything else is refused with 422 naming
the place (`details[].field`, e.g. `input.a.b`). A stored value that cannot be served (nested deeper than
{MAX_STORED_DEPTH} levels, or written before these limits) is returned as null and named under the item's
`unreadable` list. Every error answers `{{"error": {{"code", "message", "details"}}}}`."""

_REASONS = {
    400: "The request could not be read",
    401: "Missing, expired or invalid bearer token",
    402: "The workspace's hard monthly budget is spent (a model call was refused)",
    403: "Your role in this workspace does not allow this",
    404: "Not found (another workspace's ids are not found either)",
    409: "The resource is not in a state that allows this",
    410: "The link was used already (`link_used`) or has expired (`link_expired`)",
    413: "Request body too large",
    415: "Request body is not application/json",
    429: "The workspace's LLM rate limit, or a concurrency limit with on_limit reject, is reached: retry later"
    " (`concurrency_limit` names the limit in details)",
    422: "Invalid request: the fields concerned are named in details",
    500: "Internal error: nothing about it is disclosed (it is logged)",
    503: "The database is resuming (Aurora from 0 ACU): retry after the Retry-After header's seconds; or a"
    " service behind this call (the vault, the orchestrator) failed: the same call can be repeated",
}
# Operations whose service refuses some states with 409 (everything else never answers 409).
CONFLICTS = frozenset(
    {
        ("put", "/v1/workspaces/{ws}/members/{user}"),
        ("delete", "/v1/workspaces/{ws}/members/{user}"),
        ("post", "/v1/workspaces/{ws}/flows/{flow}/versions"),
        ("put", "/v1/workspaces/{ws}/flows/{flow}/live"),
        ("get", "/v1/workspaces/{ws}/flows/{flow}/versions/{a}/diff/{b}"),  # a stored definition is unreadable
        ("post", "/v1/workspaces/{ws}/flows/{flow}/runs"),
        ("post", "/v1/workspaces/{ws}/runs/{run}/cancel"),
        ("post", "/v1/approval-links/{token}/decide"),  # decided already
        ("post", "/v1/workspaces/{ws}/runs/{run}/redrive"),
        ("post", "/v1/workspaces/{ws}/credentials"),  # the name exists
        ("delete", "/v1/workspaces/{ws}/credentials/{name}"),  # a live version uses it
        ("delete", "/v1/workspaces/{ws}/agents/{agent}"),  # a flow's live version uses it
        ("put", "/v1/workspaces/{ws}/agents/{agent}/live"),  # no such version
        ("post", "/v1/workspaces/{ws}/knowledge-bases"),  # the name exists
        ("post", "/v1/workspaces/{ws}/approvals/{approval}/decide"),  # decided already
    }
)
# Operations that start a run: a full concurrency limit with `on_limit: reject` answers 429.
STARTS_RUNS = frozenset(
    {
        ("post", "/v1/workspaces/{ws}/flows/{flow}/runs"),
        ("post", "/v1/workspaces/{ws}/runs/{run}/redrive"),
    }
)
# Operations that call an embedding model: the workspace's budget (402) or rate limit (429) may refuse them.
SPENDING = frozenset(
    {
        ("post", "/v1/workspaces/{ws}/knowledge-bases/{kb}/documents"),
        ("post", "/v1/workspaces/{ws}/knowledge-bases/{kb}/query"),
    }
)
AGENT = "/v1/workspaces/{ws}/agents"
# Operations that also take the markdown of an agent spec as the body (`Content-Type: text/markdown`).
MARKDOWN_BODIES = frozenset({("post", AGENT), ("post", AGENT + "/validate"), ("put", AGENT + "/{agent}")})
# Operations whose success is text/markdown, not JSON.
MARKDOWN_ANSWERS = frozenset({("get", AGENT + "/{agent}/versions/{n}/spec.md")})
# Publishing an unchanged agent spec answers 200 with the existing version (a new one: 201).
# So does publishing a flow whose draft is identical to its live version (issue 13).
ALSO_200 = frozenset({("post", AGENT + "/{agent}/versions"), ("post", "/v1/workspaces/{ws}/flows/{flow}/versions")})
MARKDOWN_SCHEMA = {"type": "string", "description": "an agent spec as markdown (front matter and sections)"}
_MARKDOWN = {"schema": MARKDOWN_SCHEMA}


# Authenticated routes outside any workspace that look one thing up by id (404 when there is no such thing).
UNSCOPED_LOOKUPS = frozenset({"/v1/templates/{template}"})


def _error(code: int) -> dict[str, Any]:
    return {
        "description": _REASONS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


# Public operations whose token is their credential (signed approval links): 401, 404, 410, 503 like an
# authenticated route, without the bearer scheme.
TOKEN_PATHS = frozenset({"/v1/approval-links/{token}", "/v1/approval-links/{token}/decide"})


HOOK_PATH = "/v1/hooks/{trigger}"
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_HEADER = "header"


def _header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": _HEADER, "required": False, "schema": {"type": "string"}, "description": description}


def hook_operation() -> dict[str, Any]:
    """`POST /v1/hooks/{trigger}`: answered before the resolver (the signature covers the raw body), so
    Powertools does not document it; its signature headers are the credential (no bearer token)."""
    outcome = {"application/json": {"schema": {"$ref": REF.format(model="DeliveryOutcome")}}}
    return {
        "tags": ["triggers"],
        "summary": "Deliver to a webhook trigger",
        "operationId": "deliver_webhook",
        "description": "A signed delivery starts one run of the trigger's flow (exactly once per"
        " `Idempotency-Key` or provider delivery id). Signed with the trigger's secret: `X-Nexod-Timestamp`"
        " (unix seconds, within 5 minutes) and `X-Nexod-Signature: sha256=<hex HMAC-SHA256(secret,"
        ' "<timestamp>.<raw body>")>`, or a provider preset (GitHub `X-Hub-Signature-256`, Stripe'
        " `Stripe-Signature`, Slack `X-Slack-Signature` + `X-Slack-Request-Timestamp`). Unknown, disabled,"
        " unsigned, badly signed or stale deliveries all get the same 401. Any body up to 1 MiB (JSON is"
        " parsed; anything else arrives as text). A trigger with `config.response.mode: sync` waits up to"
        " `timeout_seconds` and answers what the run's first `webhook_response` node sets (its status, headers"
        " and body: any status, not described here), else the run's output (200), else 202 as below.",
        "security": [],
        "parameters": [
            {
                "name": "trigger",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "format": "uuid", "pattern": UUID_PATTERN},
            },
            _header("X-Nexod-Timestamp", "unix seconds of the signature (preset nexod)"),
            _header("X-Nexod-Signature", 'sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>'),
            _header("Idempotency-Key", "a duplicate delivery answers the first one's run and starts nothing"),
            _header("X-Hub-Signature-256", "preset github: sha256=<hex HMAC-SHA256(secret, raw body)>"),
            _header("X-GitHub-Delivery", "preset github: the delivery id (deduplicates)"),
            _header("Stripe-Signature", "preset stripe: t=<timestamp>,v1=<hex HMAC-SHA256(secret, t.body)>"),
            _header("X-Slack-Signature", "preset slack: v0=<hex HMAC-SHA256(secret, v0:timestamp:body)>"),
            _header("X-Slack-Request-Timestamp", "preset slack: unix seconds"),
        ],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {}}}},
        "responses": {
            "202": {
                "description": "Accepted: the delivery's outcome and run (sync: the wait ran out)",
                "content": outcome,
            },
            "400": _error(400),
            "401": _error(401),
            "413": _error(413),
            "500": _error(500),
            "422": _error(422),
        },
    }


def document(spec: dict[str, Any], public_paths: frozenset[str]) -> dict[str, Any]:
    """Complete Powertools' document in place and return it."""
    info = spec.setdefault("info", {})
    info["description"] = LIMITS
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error = Error.model_json_schema(ref_template=REF, mode="serialization")
    schemas.update(error.pop("$defs", {}))
    schemas["Error"] = error
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)  # Powertools' own 422 format, which this API never answers
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    spec["security"] = [{"bearer": []}]
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if (method, path) in MARKDOWN_BODIES and "requestBody" in operation:
                operation["requestBody"]["content"]["text/markdown"] = _MARKDOWN
            if (method, path) in MARKDOWN_ANSWERS:
                responses["200"]["content"] = {"text/markdown": _MARKDOWN}
            if (method, path) in ALSO_200:
                responses["200"] = {**responses["201"], "description": "Unchanged: the existing version"}
            if "204" in responses:
                responses["204"].pop("content", None)  # No Content
            # Every route: a request that cannot be read as HTTP (e.g. a bad Content-Length, on a GET too) is a
            # 400 before routing; every route validates its request; 500 is the handler's last line of defence.
            codes = {400, 422, 500}
            if path in TOKEN_PATHS:
                operation["security"] = []
                codes |= {401, 404, 410, 503}
            elif path in public_paths:
                operation["security"] = []
            else:
                codes |= {401, 503}  # every authenticated route reads the database
            if "{ws}" in path:
                codes |= {403, 404}
            elif path in UNSCOPED_LOOKUPS:
                codes.add(404)
            if "requestBody" in operation:
                codes |= {413, 415}
            if (method, path) in CONFLICTS:
                codes.add(409)
            if (method, path) in SPENDING:
                codes |= {402, 429}
            if (method, path) in STARTS_RUNS:
                codes.add(429)
            for code in sorted(codes):
                responses[str(code)] = _error(code)
    spec.setdefault("paths", {})[HOOK_PATH] = {"post": hook_operation()}
    return spec
