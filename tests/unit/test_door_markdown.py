"""The API door takes an agent spec's markdown as a body where a spec is expected, and only there."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from functions.api import door

WS = "0b7e7a8e-2d2a-4f5c-9d55-6a8f3f1f0c11"
AGENT = "6f1c2d8e-1111-4222-8333-944455556666"
TEXT = "---\nname: é\n---\n\n# Role\n\nr\n"


def event(method: str, path: str, body: str, media: str = "text/markdown", encoded: bool = False) -> dict[str, Any]:
    raw = base64.b64encode(body.encode()).decode() if encoded else body
    return {
        "rawPath": path,
        "requestContext": {"http": {"method": method, "path": path}},
        "headers": {"Content-Type": media},
        "body": raw,
        "isBase64Encoded": encoded,
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"/v1/workspaces/{WS}/agents"),
        ("POST", f"/v1/workspaces/{WS}/agents/validate"),
        ("PUT", f"/v1/workspaces/{WS}/agents/{AGENT}"),
    ],
)
@pytest.mark.parametrize("encoded", [False, True], ids=["text", "base64"])
def test_markdown_to_a_route_that_takes_a_spec_becomes_its_json_body(method: str, path: str, encoded: bool) -> None:
    # Given markdown sent as text/markdown (as API Gateway passes it, or base64-encoded)
    request = event(method, path, TEXT, "text/markdown; charset=utf-8", encoded)
    # When the door prepares and checks it
    assert door.prepare(request) is None
    assert door.check(request) is None
    # Then the route reads {"markdown": <the text>} as JSON
    assert json.loads(request["body"]) == {"markdown": TEXT}
    assert request["headers"]["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"/v1/workspaces/{WS}/flows"),
        ("PUT", f"/v1/workspaces/{WS}/agents/{AGENT}/live"),
        ("POST", f"/v1/workspaces/{WS}/agents/{AGENT}/versions"),
        ("GET", f"/v1/workspaces/{WS}/agents/{AGENT}"),
    ],
)
def test_markdown_anywhere_else_is_still_refused_as_415(method: str, path: str) -> None:
    request = event(method, path, TEXT)
    assert door.prepare(request) is None
    refusal = door.check(request)
    assert refusal is not None and refusal.status == 415


def test_wrapped_markdown_keeps_the_json_limits() -> None:
    # A NUL in the text is refused like in any JSON body, naming the field
    request = event("POST", f"/v1/workspaces/{WS}/agents", "---\nname: a\x00\n---\n")
    assert door.prepare(request) is None
    refusal = door.check(request)
    assert refusal is not None and refusal.status == 422 and refusal.details[0]["field"] == "markdown"
