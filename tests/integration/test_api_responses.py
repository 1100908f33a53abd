"""Real answers of a whole flow's life validate against the response schemas the API publishes."""

from __future__ import annotations

import copy
import json
import re
import urllib.request
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from nexod.local.boot import LocalStack
from tests.support.api import Api
from tests.unit.flows import edge, node

from .conftest import publish

FINISHING = {
    "nodes": [node("start", "input"), node("double", "transform", expression="{n: input.n}"), node("end", "output")],
    "edges": [edge("start", "double"), edge("double", "end")],
}
WAITING = {"nodes": [node("start", "input"), node("pause", "wait", seconds=30)], "edges": [edge("start", "pause")]}


def closed(schema: Any) -> Any:
    """The schema with every object that lists its properties closed to others: an answer must not carry
    a key its schema does not name (the generated console types would not know it)."""
    schema = copy.deepcopy(schema)
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "properties" in item:
                item.setdefault("additionalProperties", False)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return schema


class Checked(Api):
    """An API client that validates every answer against the document's schema for its operation and status."""

    def __init__(self, base_url: str, token: str | None, spec: dict[str, Any]) -> None:
        super().__init__(base_url, token)
        self.components = closed(spec["components"])
        self.routes = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), method.upper(), path, op)
            for path, ops in spec["paths"].items()
            for method, op in ops.items()
        ]
        self.seen: set[tuple[str, str, int]] = set()

    def exchange(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        status, answer_headers, payload = super().exchange(method, path, body, raw, headers)
        bare = path.split("?", 1)[0]
        ((template, op),) = [(t, op) for rx, m, t, op in self.routes if m == method and rx.match(bare)]
        response = op["responses"].get(str(status))
        assert response is not None, f"{method} {template} answered {status}, which it does not document: {payload}"
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            assert payload is None, (method, template, status, payload)
        else:
            Draft202012Validator(
                {**schema, "components": self.components}, format_checker=Draft202012Validator.FORMAT_CHECKER
            ).validate(payload)
        self.seen.add((method, template, status))
        return status, answer_headers, payload


@pytest.fixture(scope="module")
def spec(stack: LocalStack) -> dict[str, Any]:
    with urllib.request.urlopen(stack.url + "/v1/openapi.json") as resp:
        return dict(json.loads(resp.read()))


def test_a_flows_whole_life_answers_within_the_published_schemas(stack: LocalStack, spec: dict[str, Any]):
    # Given a client that checks every answer against the document /v1/openapi.json publishes
    api = Checked(stack.url, stack.platform.issuer.token("alice"), spec)
    # When it goes through a workspace, its members, a flow, its versions and its runs
    api.ok("GET", "/v1/health")
    api.ok("GET", "/v1/node-types")
    ws = api.ok("POST", "/v1/workspaces", {"name": "typed answers"})["id"]
    api.ok("GET", "/v1/me")
    api.ok("GET", "/v1/workspaces")
    api.ok("GET", f"/v1/workspaces/{ws}")
    api.ok("PUT", f"/v1/workspaces/{ws}/allowed-hosts", {"allowed_hosts": ["example.com"]})
    api.ok("PUT", f"/v1/workspaces/{ws}/members/local|carol", {"role": "member", "email": "carol@example.com"})
    api.ok("GET", f"/v1/workspaces/{ws}/members")
    api.ok("POST", f"/v1/workspaces/{ws}/flows/validate", {"definition": FINISHING})
    flow = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": "finishes", "definition": FINISHING})["id"]
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{flow}", {"description": "doubles n"})
    api.ok("GET", f"/v1/workspaces/{ws}/flows/{flow}")
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow}/versions", {"description": "first"})
    api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow}/versions", {})
    api.ok("GET", f"/v1/workspaces/{ws}/flows/{flow}/versions")
    api.ok("GET", f"/v1/workspaces/{ws}/flows/{flow}/versions/1")
    api.ok("PUT", f"/v1/workspaces/{ws}/flows/{flow}/live", {"version": 2})
    api.ok("GET", f"/v1/workspaces/{ws}/flows?limit=1")
    finished = api.wait_run(ws, api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow}/runs", {"input": {"n": 2}})["id"])
    assert finished["status"] == "SUCCEEDED" and finished["output"], finished
    api.ok("GET", f"/v1/workspaces/{ws}/runs/{finished['id']}/nodes")
    # (a wait node that is waiting, a cancelled run and its redrive)
    waits = publish(api, ws, WAITING, name="waits")
    started = api.ok("POST", f"/v1/workspaces/{ws}/flows/{waits}/runs", {"input": {}})["id"]
    api.wait_run(ws, started, until=("RUNNING",))
    api.ok("GET", f"/v1/workspaces/{ws}/runs/{started}/nodes")
    api.ok("POST", f"/v1/workspaces/{ws}/runs/{started}/cancel")
    api.ok("POST", f"/v1/workspaces/{ws}/runs/{started}/redrive", {})
    api.ok("POST", f"/v1/workspaces/{ws}/runs/{started}/cancel")
    api.ok("GET", f"/v1/workspaces/{ws}/runs?limit=5")
    api.ok("DELETE", f"/v1/workspaces/{ws}/members/local|carol")
    # (and refusals: another workspace's ids, bad bodies, states that do not allow it, no token)
    draft = api.ok("POST", f"/v1/workspaces/{ws}/flows", {"name": "draft", "definition": FINISHING})["id"]
    refusals = [
        api.call("GET", f"/v1/workspaces/{ws}/flows/{'0' * 8}-0000-4000-8000-{'0' * 12}"),
        api.call("POST", f"/v1/workspaces/{ws}/flows", {"name": "x"}),
        api.call("POST", f"/v1/workspaces/{ws}/flows/{draft}/runs", {"input": {}}),
        api.call("POST", f"/v1/workspaces/{ws}/runs/{finished['id']}/cancel"),
        Checked(stack.url, None, spec).call("GET", "/v1/me"),
    ]
    api.ok("DELETE", f"/v1/workspaces/{ws}/flows/{draft}")
    # Then every answer validated against its schema (the client asserts it), refusals included
    assert [status for status, _ in refusals] == [404, 422, 409, 409, 401]
    # And every operation of the document was seen answering its success
    documented = {
        (method.upper(), path, int(code))
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        for code in op["responses"]
        if code.startswith("2")
    }
    assert documented - api.seen == set()
