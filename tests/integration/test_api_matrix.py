"""Role x route: every operation of /v1/openapi.json, called as each role, answers what its role allows.

The expected permission of every operation is declared once, in EXPECTED below. An operation the API
serves without a declared expectation fails the test, so a new route cannot ship unchecked.
Roles: admin, member and viewer of the workspace; an outsider (admin of another workspace) using this
workspace's ids, and the same outsider using them inside his own workspace; and an anonymous caller.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from nexod.local.boot import LocalStack
from tests.support.api import Api
from tests.support.links import issue_link
from tests.unit.flows import edge, node

from .conftest import publish

RANK = {"viewer": 0, "member": 1, "admin": 2}
AGENT = {"name": "matrix", "role": "Tester", "goal": "Check roles", "backstory": "Strict."}
SIMPLE = {"nodes": [node("start", "input"), node("t", "transform", expression="input")], "edges": [edge("start", "t")]}
WAITING = {
    "nodes": [node("start", "input"), node("pause", "wait", seconds=30), node("end", "output", value="x")],
    "edges": [edge("start", "pause"), edge("pause", "end")],
}
ASKING = {
    "nodes": [node("start", "input"), node("ask", "approval", title="Go?"), node("end", "output", value="x")],
    "edges": [edge("start", "ask"), edge("ask", "end")],
}
# Loopback is not on this workspace's allow-list: the http node fails at once, so the run is FAILED.
FAILING = {
    "nodes": [node("start", "input"), node("call", "http", url="http://127.0.0.1:9/closed")],
    "edges": [edge("start", "call")],
}


@dataclass
class World:
    """The workspace under test, its users and shared resources, and factories for fresh ones."""

    stack: LocalStack
    apis: dict[str, Api]
    ids: dict[str, str]
    home: str  # the outsider's own workspace
    started: list[str] = field(default_factory=list)

    @property
    def admin(self) -> Api:
        return self.apis["admin"]

    def ws(self) -> str:
        return self.ids["ws"]

    def fresh_flow(self) -> str:
        return str(
            self.admin.ok("POST", f"/v1/workspaces/{self.ws()}/flows", {"name": "x", "definition": SIMPLE})["id"]
        )

    def start(self, flow: str, until: tuple[str, ...]) -> str:
        status, run = self.admin.call("POST", f"/v1/workspaces/{self.ws()}/flows/{flow}/runs", {"input": {}})
        assert status == 202, run
        self.started.append(run["id"])
        self.admin.wait_run(self.ws(), run["id"], until=until)
        return str(run["id"])

    def running_run(self) -> str:
        run_id = self.start(self.ids["waiting_flow"], ("RUNNING",))
        deadline = time.monotonic() + 10
        while self.admin.nodes(self.ws(), run_id)["pause"]["status"] != "RUNNING":  # parked in the wait
            assert time.monotonic() < deadline
            time.sleep(0.05)
        return run_id

    def pending_approval(self) -> str:
        """A run waiting at an approval node; its approval's id (members and admins may decide it)."""
        run_id = self.start(self.ids["asking_flow"], ("RUNNING",))
        deadline = time.monotonic() + 10
        while not (found := self.admin.ok("GET", f"/v1/workspaces/{self.ws()}/approvals?run={run_id}")["items"]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        return str(found[0]["id"])

    def fresh_link(self, approval: str | None = None) -> str:
        return issue_link(self.stack, self.ws(), approval or self.ids["approval"])

    def failed_run(self) -> str:
        return self.start(self.ids["failing_flow"], ("FAILED",))

    def fresh_credential(self) -> str:
        name = f"c{uuid.uuid4().hex[:8]}"
        body = {"name": name, "type": "api_key", "value": {"key": "matrix-key-0123"}}
        self.admin.ok("POST", f"/v1/workspaces/{self.ws()}/credentials", body)
        return name

    def fresh_workspace(self) -> str:
        """A workspace of the admin's named "matrix" too (the confirmation of the shared one fits it)."""
        return str(self.admin.ok("POST", "/v1/workspaces", {"name": "matrix"})["id"])

    def fresh_agent(self) -> str:
        return str(self.admin.ok("POST", f"/v1/workspaces/{self.ws()}/agents", {"spec": AGENT})["id"])

    def fresh_document(self) -> str:
        path = f"/v1/workspaces/{self.ws()}/knowledge-bases/{self.ids['kb']}/documents"
        return str(self.admin.ok("POST", path, {"name": "doc.txt", "content": "a document to delete"})["id"])

    def fresh_trigger(self) -> str:
        path = f"/v1/workspaces/{self.ws()}/flows/{self.ids['flow']}/triggers"
        return str(self.admin.ok("POST", path, {"kind": "webhook"})["id"])

    def fresh_pin(self) -> str:
        """The shared flow's node `t`, pinned (a DELETE consumes its pin)."""
        self.admin.ok("PUT", f"/v1/workspaces/{self.ws()}/flows/{self.ids['flow']}/pins/t", {"output": {"n": 1}})
        return "t"

    def fresh_member(self) -> str:
        user = f"local|tmp-{uuid.uuid4().hex[:8]}"
        self.admin.ok("PUT", f"/v1/workspaces/{self.ws()}/members/{user}", {"role": "viewer"})
        return user


@dataclass(frozen=True)
class Op:
    """`needs`: public | token | user (any signed-in caller) | viewer | member | admin (of the workspace).

    `token`: a public route whose path carries its credential (a signed approval link): every caller holding
    the link is allowed, with or without a JWT (`test_a_link_route_trusts_only_its_token` checks the rest).

    `ok`: the status an allowed caller gets. `prepare(world, allowed)` returns path parameters that
    differ from the shared ones, and the body: fresh resources for an allowed caller where the call
    consumes them (delete, cancel, redrive), shared ones otherwise."""

    needs: str
    ok: int
    prepare: Callable[[World, bool], tuple[dict[str, str], Any]] = lambda world, allowed: ({}, None)
    query: str = ""  # appended to the path, e.g. a confirmation


def body(value: Any) -> Callable[[World, bool], tuple[dict[str, str], Any]]:
    return lambda world, allowed: ({}, value)


EXPECTED: dict[tuple[str, str], Op] = {
    ("GET", "/v1/health"): Op("public", 200),
    # identity and workspaces
    ("GET", "/v1/me"): Op("user", 200),
    ("GET", "/v1/workspaces"): Op("user", 200),
    ("POST", "/v1/workspaces"): Op("user", 201, body({"name": "made by anyone signed in"})),
    ("GET", "/v1/node-types"): Op("user", 200),
    ("GET", "/v1/templates"): Op("user", 200),
    ("GET", "/v1/templates/{template}"): Op("user", 200),
    ("GET", "/v1/workspaces/{ws}"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/members"): Op("viewer", 200),
    ("PUT", "/v1/workspaces/{ws}/allowed-hosts"): Op("admin", 200, body({"allowed_hosts": ["example.com"]})),
    ("DELETE", "/v1/workspaces/{ws}"): Op(
        "admin", 200, lambda w, allowed: ({"ws": w.fresh_workspace()} if allowed else {}, None), "?confirm=matrix"
    ),
    ("GET", "/v1/workspaces/{ws}/llm-settings"): Op("viewer", 200),
    ("PUT", "/v1/workspaces/{ws}/llm-settings"): Op(
        "admin",
        200,
        body(
            {
                "allowed_models": ["openai/gpt-4o-mini"],
                "default_model": "openai/gpt-4o-mini",
                "requests_per_minute": 60,
                "tokens_per_minute": None,
            }
        ),
    ),
    ("PUT", "/v1/workspaces/{ws}/members/{user}"): Op(
        "admin", 200, lambda w, allowed: ({"user": f"local|new-{uuid.uuid4().hex[:8]}"}, {"role": "admin"})
    ),
    ("DELETE", "/v1/workspaces/{ws}/members/{user}"): Op(
        "admin", 204, lambda w, allowed: ({"user": w.fresh_member() if allowed else w.ids["user"]}, None)
    ),
    # flows and versions
    ("POST", "/v1/workspaces/{ws}/flows/validate"): Op("viewer", 200, body({"definition": SIMPLE})),
    ("POST", "/v1/workspaces/{ws}/flows"): Op("member", 201, body({"name": "new", "definition": SIMPLE})),
    ("GET", "/v1/workspaces/{ws}/flows"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/flows/{flow}"): Op("viewer", 200),
    ("PUT", "/v1/workspaces/{ws}/flows/{flow}"): Op("member", 200, body({"description": "edited"})),
    ("DELETE", "/v1/workspaces/{ws}/flows/{flow}"): Op(
        "member", 204, lambda w, allowed: ({"flow": w.fresh_flow()} if allowed else {}, None)
    ),
    # (the shared flow's draft stays equal to its live version: publishing it again answers 200, unchanged)
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/versions"): Op("member", 200, body({"description": "again"})),
    ("GET", "/v1/workspaces/{ws}/flows/{flow}/versions/{a}/diff/{b}"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/flows/{flow}/versions"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/flows/{flow}/versions/{n}"): Op("viewer", 200),
    ("PUT", "/v1/workspaces/{ws}/flows/{flow}/live"): Op("member", 200, body({"version": 1})),
    # drafts: test runs and pins (issue 13)
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/test-runs"): Op("member", 202, body({"input": {"n": 1}})),
    ("GET", "/v1/workspaces/{ws}/flows/{flow}/pins"): Op("viewer", 200),
    ("PUT", "/v1/workspaces/{ws}/flows/{flow}/pins/{node}"): Op("member", 200, body({"output": {"n": 2}})),
    ("DELETE", "/v1/workspaces/{ws}/flows/{flow}/pins/{node}"): Op(
        "member", 204, lambda w, allowed: ({"node": w.fresh_pin()} if allowed else {}, None)
    ),
    # the editor's live preview of a field: part of editing (it evaluates the text sent), members and up
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/preview"): Op("member", 200, body({"node": "t", "text": "{{ input }}"})),
    # agents (the shared agent's draft stays equal to its version 1: publishing it again answers 200)
    ("POST", "/v1/workspaces/{ws}/agents/validate"): Op("viewer", 200, body({"spec": AGENT})),
    ("POST", "/v1/workspaces/{ws}/agents"): Op("member", 201, body({"spec": AGENT})),
    ("GET", "/v1/workspaces/{ws}/agents"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/agents/{agent}"): Op("viewer", 200),
    ("PUT", "/v1/workspaces/{ws}/agents/{agent}"): Op("member", 200, body({"spec": AGENT})),
    ("DELETE", "/v1/workspaces/{ws}/agents/{agent}"): Op(
        "member", 204, lambda w, allowed: ({"agent": w.fresh_agent()} if allowed else {}, None)
    ),
    ("POST", "/v1/workspaces/{ws}/agents/{agent}/versions"): Op("member", 200, body({})),
    ("GET", "/v1/workspaces/{ws}/agents/{agent}/versions"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/agents/{agent}/versions/{n}"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/agents/{agent}/versions/{n}/spec.md"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/agents/{agent}/versions/{n}/spec.json"): Op("viewer", 200),
    ("PUT", "/v1/workspaces/{ws}/agents/{agent}/live"): Op("member", 200, body({"version": 1})),
    ("GET", "/v1/workspaces/{ws}/agents/{agent}/runs"): Op("viewer", 200),
    # runs
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/runs"): Op("member", 202, body({"input": {"n": 1}})),
    ("GET", "/v1/workspaces/{ws}/runs"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/runs/{run}"): Op("viewer", 200),
    ("PATCH", "/v1/workspaces/{ws}/runs/{run}"): Op("member", 200, body({"label": "named by the matrix"})),
    ("GET", "/v1/workspaces/{ws}/runs/{run}/nodes"): Op("viewer", 200),
    ("POST", "/v1/workspaces/{ws}/runs/{run}/cancel"): Op(
        "member", 200, lambda w, allowed: ({"run": w.running_run() if allowed else w.ids["running_run"]}, None)
    ),
    ("POST", "/v1/workspaces/{ws}/runs/{run}/redrive"): Op(
        "member", 202, lambda w, allowed: ({"run": w.failed_run() if allowed else w.ids["failed_run"]}, {})
    ),
    # approvals: any member may read them; each approval names who decides (by default members and admins)
    ("GET", "/v1/workspaces/{ws}/approvals"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/approvals/{approval}"): Op("viewer", 200),
    ("POST", "/v1/workspaces/{ws}/approvals/{approval}/decide"): Op(
        "member",
        200,
        lambda w, allowed: (
            {"approval": w.pending_approval() if allowed else w.ids["approval"]},
            {"decision": "approve"},
        ),
    ),
    # signed one-time approval links: the token is the credential (a fresh one each call: a link decides once)
    ("GET", "/v1/approval-links/{token}"): Op("token", 200, lambda w, allowed: ({"token": w.fresh_link()}, None)),
    ("POST", "/v1/approval-links/{token}/decide"): Op(
        "token", 200, lambda w, allowed: ({"token": w.fresh_link(w.pending_approval())}, {"decision": "approve"})
    ),
    ("GET", "/v1/workspaces/{ws}/runs/{run}/events"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/events"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/audit"): Op("admin", 200),
    # usage and budgets
    ("GET", "/v1/workspaces/{ws}/usage"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/budget"): Op("viewer", 200),
    ("PUT", "/v1/workspaces/{ws}/budget"): Op("admin", 200, body({"monthly_soft_usd": 500, "monthly_hard_usd": 1000})),
    # credentials: metadata for viewers, values for nobody
    ("GET", "/v1/credential-types"): Op("user", 200),
    ("GET", "/v1/workspaces/{ws}/credentials"): Op("viewer", 200),
    ("POST", "/v1/workspaces/{ws}/credentials"): Op(
        "member",
        201,
        lambda w, allowed: ({}, {"name": f"c{uuid.uuid4().hex[:8]}", "type": "api_key", "value": {"key": "k-0123"}}),
    ),
    ("GET", "/v1/workspaces/{ws}/credentials/{name}"): Op("viewer", 200),
    ("PUT", "/v1/workspaces/{ws}/credentials/{name}"): Op("member", 200, body({"value": {"key": "rotated-0123"}})),
    ("DELETE", "/v1/workspaces/{ws}/credentials/{name}"): Op(
        "member", 204, lambda w, allowed: ({"name": w.fresh_credential() if allowed else w.ids["name"]}, None)
    ),
    # knowledge bases: viewers read and query, members write
    ("GET", "/v1/workspaces/{ws}/knowledge-bases"): Op("viewer", 200),
    ("POST", "/v1/workspaces/{ws}/knowledge-bases"): Op(
        "member", 201, lambda w, allowed: ({}, {"name": f"kb-{uuid.uuid4().hex[:8]}"})
    ),
    ("GET", "/v1/workspaces/{ws}/knowledge-bases/{kb}/documents"): Op("viewer", 200),
    ("POST", "/v1/workspaces/{ws}/knowledge-bases/{kb}/documents"): Op(
        "member", 201, body({"name": "notes.md", "content": "# Notes", "content_type": "text/markdown"})
    ),
    ("DELETE", "/v1/workspaces/{ws}/knowledge-bases/{kb}/documents/{doc}"): Op(
        "member", 204, lambda w, allowed: ({"doc": w.fresh_document() if allowed else w.ids["doc"]}, None)
    ),
    ("POST", "/v1/workspaces/{ws}/knowledge-bases/{kb}/query"): Op("viewer", 200, body({"text": "notes"})),
    # triggers: viewers read, members manage and test
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/triggers"): Op("member", 201, body({"kind": "webhook"})),
    ("GET", "/v1/workspaces/{ws}/flows/{flow}/triggers"): Op("viewer", 200),
    ("GET", "/v1/workspaces/{ws}/flows/{flow}/triggers/{trigger}"): Op("viewer", 200),
    ("PUT", "/v1/workspaces/{ws}/flows/{flow}/triggers/{trigger}"): Op(
        "member", 200, body({"input_mapping": "delivery.body"})
    ),
    ("DELETE", "/v1/workspaces/{ws}/flows/{flow}/triggers/{trigger}"): Op(
        "member", 204, lambda w, allowed: ({"trigger": w.fresh_trigger() if allowed else w.ids["trigger"]}, None)
    ),
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/triggers/{trigger}/enable"): Op("member", 200),
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/triggers/{trigger}/disable"): Op("member", 200),
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/triggers/{trigger}/test"): Op(
        "member", 202, body({"payload": {"n": 1}})
    ),
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/triggers/{trigger}/rotate-secret"): Op("member", 200, body({})),
    # webhook deliveries: the trigger's signature is the credential, a JWT counts for nothing (unsigned: 401)
    ("POST", "/v1/hooks/{trigger}"): Op("public", 401, body({"n": 1})),
    # concurrency limits: viewers read, members limit a flow, admins the workspace (null: no limit)
    ("GET", "/v1/workspaces/{ws}/flows/{flow}/limits"): Op("viewer", 200),
    ("PUT", "/v1/workspaces/{ws}/flows/{flow}/limits"): Op("member", 200, body({"max_concurrent_runs": None})),
    ("GET", "/v1/workspaces/{ws}/limits"): Op("viewer", 200),
    ("PUT", "/v1/workspaces/{ws}/limits"): Op("admin", 200, body({"max_concurrent_runs": None})),
    ("POST", "/v1/workspaces/{ws}/triggers/preview"): Op("viewer", 200, body({"expression": "rate(5 minutes)"})),
}

ROLES = ("admin", "member", "viewer", "outsider", "outsider-at-home", "anonymous")


@pytest.fixture(scope="module")
def world(stack: LocalStack, alice: Api, bob: Api, lab_ws: str) -> Iterator[World]:
    issuer = stack.platform.issuer
    apis = {
        "admin": alice,
        "member": Api(stack.url, issuer.token("carol")),
        "viewer": Api(stack.url, issuer.token("valerie")),
        "outsider": bob,
        "outsider-at-home": bob,
        "anonymous": Api(stack.url, None),
    }
    ws = alice.ok("POST", "/v1/workspaces", {"name": "matrix"})["id"]
    alice.ok("PUT", f"/v1/workspaces/{ws}/members/local|carol", {"role": "member"})
    alice.ok("PUT", f"/v1/workspaces/{ws}/members/local|valerie", {"role": "viewer"})
    world = World(
        stack,
        apis,
        {"ws": ws, "n": "1", "a": "1", "b": "draft", "template": "weather-brief", "user": "local|valerie", "node": "t"},
        home=lab_ws,
    )
    world.ids["flow"] = publish(alice, ws, SIMPLE, name="shared")
    world.ids["waiting_flow"] = publish(alice, ws, WAITING, name="waits")
    world.ids["failing_flow"] = publish(alice, ws, FAILING, name="fails")
    world.ids["asking_flow"] = publish(alice, ws, ASKING, name="asks")
    world.ids["approval"] = world.pending_approval()
    world.ids["run"] = world.start(world.ids["flow"], ("SUCCEEDED",))
    world.ids["running_run"] = world.running_run()
    world.ids["failed_run"] = world.failed_run()
    world.ids["name"] = world.fresh_credential()
    world.ids["agent"] = world.fresh_agent()
    alice.ok("POST", f"/v1/workspaces/{ws}/agents/{world.ids['agent']}/versions", {})
    world.ids["kb"] = alice.ok("POST", f"/v1/workspaces/{ws}/knowledge-bases", {"name": "shared"})["id"]
    world.ids["doc"] = world.fresh_document()
    world.ids["trigger"] = world.fresh_trigger()
    yield world
    for run_id in world.started:  # stop the executions still parked in their wait
        alice.call("POST", f"/v1/workspaces/{ws}/runs/{run_id}/cancel")


@pytest.fixture(scope="module")
def spec(stack: LocalStack) -> dict[str, Any]:
    with urllib.request.urlopen(stack.url + "/v1/openapi.json") as resp:
        return dict(json.loads(resp.read()))


def served_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, operations in spec["paths"].items() for method in operations}


def test_every_served_operation_declares_its_permission(spec: dict[str, Any]):
    # Given the operations the API serves, from its own OpenAPI document
    served = served_operations(spec)
    # Then each one has exactly one declared expectation, and no declaration is stale
    undeclared = served - set(EXPECTED)
    assert not undeclared, f"declare the permission of these operations in EXPECTED: {sorted(undeclared)}"
    stale = set(EXPECTED) - served
    assert not stale, f"EXPECTED names operations the API does not serve: {sorted(stale)}"


def expected_status(op: Op, role: str, path: str) -> int:
    if op.needs in ("public", "token"):
        return op.ok
    if role == "anonymous":
        return 401
    if op.needs == "user":
        return op.ok
    if role.startswith("outsider"):
        return 404  # another workspace's ids are not found, never forbidden
    return op.ok if RANK[role] >= RANK[op.needs] else 403


def call_as(world: World, role: str, method: str, path: str, op: Op, allowed: bool) -> tuple[int, Any, str]:
    params, payload = op.prepare(world, allowed)
    ids = {**world.ids, **params}
    if role == "outsider-at-home":
        ids["ws"] = world.home  # the outsider's own workspace, with this workspace's flow and run ids
    url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path) + op.query
    if payload is None and method in ("POST", "PUT"):
        payload = {}
    status, answer = world.apis[role].call(method, url, payload)
    return status, answer, url


def matrix_cases() -> Iterator[Any]:
    for method, path in sorted(EXPECTED):
        for role in ROLES:
            if role == "outsider-at-home" and not re.search(r"\{(flow|run|agent|kb)\}", path):
                continue  # only flow, run, agent and knowledge-base ids belong to a workspace; the outsider's own is his to use
            yield pytest.param(method, path, role, id=f"{method} {path} as {role}")


@pytest.mark.parametrize(("method", "path", "role"), list(matrix_cases()))
def test_each_role_gets_what_its_role_allows(world: World, method: str, path: str, role: str):
    op = EXPECTED[(method, path)]
    expected = expected_status(op, role, path)
    # When the operation is called as this role
    status, answer, url = call_as(world, role, method, path, op, allowed=expected < 300)
    # Then the answer is the one the role allows, refusals in the error envelope
    assert status == expected, (method, url, role, status, answer)
    if expected >= 400:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found"}[expected]
        assert set(answer) == {"error"} and answer["error"]["code"] == code, answer


def test_refused_calls_change_nothing(world: World):
    # Given the shared running and failed runs, after the viewer and the outsiders were refused on them
    ws = world.ws()
    for role in ("viewer", "outsider"):
        world.apis[role].call("POST", f"/v1/workspaces/{ws}/runs/{world.ids['running_run']}/cancel", {})
        world.apis[role].call("POST", f"/v1/workspaces/{ws}/runs/{world.ids['failed_run']}/redrive", {})
        world.apis[role].call("PUT", f"/v1/workspaces/{ws}/allowed-hosts", {"allowed_hosts": ["evil.example"]})
        world.apis[role].call("PUT", f"/v1/workspaces/{ws}/members/local|mallory", {"role": "admin"})
    world.apis["member"].call("PUT", f"/v1/workspaces/{ws}/members/local|mallory", {"role": "admin"})
    world.apis["member"].call("DELETE", f"/v1/workspaces/{ws}/members/local|valerie")
    for role in ("member", "viewer", "outsider"):
        world.apis[role].call("DELETE", f"/v1/workspaces/{ws}?confirm=matrix")
    # Then the runs kept their state, and neither the allow-list nor the members changed
    assert world.admin.ok("GET", f"/v1/workspaces/{ws}/runs/{world.ids['running_run']}")["status"] == "RUNNING"
    assert world.admin.ok("GET", f"/v1/workspaces/{ws}/runs/{world.ids['failed_run']}")["status"] == "FAILED"
    assert "evil.example" not in world.admin.ok("GET", f"/v1/workspaces/{ws}")["allowed_hosts"]
    members = {m["user_sub"]: m["role"] for m in world.admin.ok("GET", f"/v1/workspaces/{ws}/members")["items"]}
    assert "local|mallory" not in members and members["local|valerie"] == "viewer"
    assert ws in {w["id"] for w in world.apis["viewer"].ok("GET", "/v1/workspaces")["items"]}


def test_a_link_route_trusts_only_its_token(world: World):
    # Given a link to the shared approval, and the same link with its signature changed
    token = world.fresh_link()
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for role in ("admin", "member", "anonymous"):
        # When anyone (a JWT or none) opens the forged link: 401, a JWT is no substitute for the signature
        status, answer = world.apis[role].call("GET", f"/v1/approval-links/{forged}")
        assert status == 401 and answer["error"]["code"] == "bad_signature", (role, answer)
        status, answer = world.apis[role].call("POST", f"/v1/approval-links/{forged}/decide", {"decision": "approve"})
        assert status == 401 and answer["error"]["code"] == "bad_signature", (role, answer)
    # And a token that is not shaped like a link is a 422 naming it, never a 500
    for junk in ("x", "v1.e30.", "v1..", "a" * 3000, "v1." + "e" * 2001 + "." + "s" * 43):
        status, answer = world.apis["anonymous"].call("GET", f"/v1/approval-links/{junk}")
        assert status == 422 and answer["error"]["details"][0]["field"] == "token", answer
    # And the real link still opens
    assert world.apis["anonymous"].ok("GET", f"/v1/approval-links/{token}")["approval"]["id"] == world.ids["approval"]


def test_redriving_a_running_run_is_a_conflict(world: World):
    # Given a run parked in a wait (RUNNING)
    run_id = world.running_run()
    # When a member redrives it
    status, answer = world.apis["member"].call("POST", f"/v1/workspaces/{world.ws()}/runs/{run_id}/redrive", {})
    # Then it is a 409 naming its state, and the run goes on as it was
    assert status == 409 and answer["error"]["code"] == "conflict", answer
    assert "RUNNING" in answer["error"]["message"]
    assert world.admin.ok("GET", f"/v1/workspaces/{world.ws()}/runs/{run_id}")["attempt"] == 1
