"""Property-based API fuzzing: every route of /v1/openapi.json, valid and invalid requests, real ids.

Schemathesis derives requests (paths, queries, bodies) from the OpenAPI document the API serves and
sends them, authenticated, to the local stack: real handler, real Postgres, real orchestrator. Each
operation gets requests that fit its schema (positive) and requests that break it (negative); path
parameters are either generated or the ids of a real flow, version, run and member, so the fuzzing
reaches past "not found". Every answer is checked against the document: no server error, a documented
status, the documented content type and schema, invalid data rejected, and auth not ignored.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from nexod.domain.triggers import sign
from nexod.local.boot import LocalStack
from tests.support.api import Api
from tests.support.links import issue_link
from tests.unit.flows import edge, node

from .conftest import publish, run

SIMPLE = {"nodes": [node("start", "input"), node("t", "transform", expression="input")], "edges": [edge("start", "t")]}


WAITING = {
    "nodes": [node("start", "input"), node("pause", "wait", seconds=30)],
    "edges": [edge("start", "pause")],
}
ASKING = {
    "nodes": [node("start", "input"), node("ask", "approval", title="Go?")],
    "edges": [edge("start", "ask")],
}
FAILING = {  # loopback is not on the workspace's allow-list for this host and port: fails at once
    "nodes": [node("start", "input"), node("call", "http", url="http://127.0.0.1:9/closed")],
    "edges": [edge("start", "call")],
}
AGENT = {"name": "fuzzed", "role": "Tester", "goal": "Answer", "backstory": "Fuzzed."}
# With real ids, a body that also passes the rules a schema cannot state (a valid graph, an existing
# version): each operation is called once this way and must succeed, then fuzzed.
BUDGET = ("PUT", "/v1/workspaces/{ws}/budget")
REAL_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/workspaces"): {"name": "fuzzed"},
    ("PUT", "/v1/workspaces/{ws}/allowed-hosts"): {"allowed_hosts": ["example.com"]},
    ("PUT", "/v1/workspaces/{ws}/llm-settings"): {
        "allowed_models": ["openai/gpt-4o-mini"],
        "default_model": "openai/gpt-4o-mini",
        "requests_per_minute": 60,
        "tokens_per_minute": None,
    },
    ("PUT", "/v1/workspaces/{ws}/members/{user}"): {"role": "member"},
    ("POST", "/v1/workspaces/{ws}/flows"): {"name": "fuzzed", "definition": SIMPLE},
    ("POST", "/v1/workspaces/{ws}/flows/validate"): {"definition": SIMPLE},
    ("PUT", "/v1/workspaces/{ws}/flows/{flow}"): {"description": "fuzzed"},
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/versions"): {"description": "fuzzed"},
    ("PUT", "/v1/workspaces/{ws}/flows/{flow}/live"): {"version": 1},
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/runs"): {"input": {"n": 1}},
    ("POST", "/v1/workspaces/{ws}/runs/{run}/redrive"): {},
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/test-runs"): {"input": {"n": 1}},
    ("PUT", "/v1/workspaces/{ws}/flows/{flow}/pins/{node}"): {"output": {"n": 1}},
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/preview"): {"node": "t", "text": "{{ input }}", "kind": "template"},
    ("PATCH", "/v1/workspaces/{ws}/runs/{run}"): {"label": "fuzzed"},
    ("POST", "/v1/workspaces/{ws}/credentials"): {"name": "fuzzed", "type": "api_key", "value": {"key": "fz-0123456"}},
    ("PUT", "/v1/workspaces/{ws}/credentials/{name}"): {"value": {"key": "fz-6543210"}},
    BUDGET: {"monthly_soft_usd": 50, "monthly_hard_usd": 100.5},
    ("POST", "/v1/workspaces/{ws}/agents/validate"): {"spec": AGENT},
    ("POST", "/v1/workspaces/{ws}/agents"): {"spec": AGENT},
    ("PUT", "/v1/workspaces/{ws}/agents/{agent}"): {"spec": AGENT},
    ("POST", "/v1/workspaces/{ws}/agents/{agent}/versions"): {"description": "fuzzed"},
    ("PUT", "/v1/workspaces/{ws}/agents/{agent}/live"): {"version": 1},
    ("POST", "/v1/workspaces/{ws}/knowledge-bases"): {"name": "fuzzed"},
    ("POST", "/v1/workspaces/{ws}/knowledge-bases/{kb}/documents"): {"name": "fuzzed.txt", "content": "fuzzed text"},
    ("POST", "/v1/workspaces/{ws}/knowledge-bases/{kb}/query"): {"text": "fuzzed", "top_k": 3},
    ("POST", "/v1/workspaces/{ws}/approvals/{approval}/decide"): {"decision": "approve", "comment": "fuzzed"},
    ("POST", "/v1/approval-links/{token}/decide"): {"decision": "reject", "comment": "fuzzed"},
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/triggers"): {
        "kind": "schedule",
        "config": {"expression": "cron(0 9 ? * MON-FRI *)", "timezone": "Europe/Berlin", "overlap": "skip"},
    },
    ("PUT", "/v1/workspaces/{ws}/flows/{flow}/triggers/{trigger}"): {"input_mapping": "delivery.body", "version": 1},
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/triggers/{trigger}/test"): {"payload": {"n": 1}},
    ("POST", "/v1/workspaces/{ws}/flows/{flow}/triggers/{trigger}/rotate-secret"): {"secret": "fuzzed-secret-0123456"},
    ("PUT", "/v1/workspaces/{ws}/flows/{flow}/limits"): {"max_concurrent_runs": None, "on_limit": "queue"},
    ("PUT", "/v1/workspaces/{ws}/limits"): {"max_concurrent_runs": None, "on_limit": "reject"},
    ("POST", "/v1/workspaces/{ws}/triggers/preview"): {
        "expression": "cron(0 9 ? * MON-FRI *)",
        "timezone": "Europe/Berlin",
        "count": 3,
    },
}

HOOK = "/v1/hooks/{trigger}"

# Query parameters of the real call (a workspace deletion needs its name typed again).
DELETE_WORKSPACE = ("DELETE", "/v1/workspaces/{ws}")
REAL_QUERIES: dict[tuple[str, str], dict[str, str]] = {DELETE_WORKSPACE: {"confirm": "doomed"}}


class RealIds:
    """A flow with a version, a finished run and a member; fresh ones where a call consumes them."""

    def __init__(self, alice: Api, workspace: str, stack: LocalStack) -> None:
        self.alice, self.ws, self.stack = alice, workspace, stack
        flow = publish(alice, workspace, SIMPLE, name="fuzzed")
        self.waiting = publish(alice, workspace, WAITING, name="waits")
        self.failing = publish(alice, workspace, FAILING, name="fails")
        self.asking = publish(alice, workspace, ASKING, name="asks")
        finished = run(alice, workspace, flow, {"n": 1})
        alice.ok("PUT", f"/v1/workspaces/{workspace}/members/local|fuzz-member", {"role": "member"})
        self.ids = {"ws": workspace, "flow": flow, "run": finished["id"], "n": "1", "user": "local|fuzz-member"}
        self.ids["node"] = "t"  # the flow's transform node (pins)
        self.ids |= {"a": "1", "b": "draft", "template": "summarise-text"}
        self.ids["agent"] = self.agent()
        alice.ok("POST", f"/v1/workspaces/{workspace}/agents/{self.ids['agent']}/versions", {})
        kb = alice.ok("POST", f"/v1/workspaces/{workspace}/knowledge-bases", {"name": "fuzzed-kb"})["id"]
        self.ids["kb"] = kb
        self.ids["doc"] = self.document()
        self.started: list[str] = []
        self.ids["name"] = self.credential()
        self.ids["approval"] = self.approval()
        self.hook_secret = ""
        self.ids["trigger"] = self.trigger()

    def agent(self) -> str:
        return str(self.alice.ok("POST", f"/v1/workspaces/{self.ws}/agents", {"spec": AGENT})["id"])

    def document(self) -> str:
        path = f"/v1/workspaces/{self.ws}/knowledge-bases/{self.ids['kb']}/documents"
        return str(self.alice.ok("POST", path, {"name": "doc.txt", "content": "fuzz document"})["id"])

    def trigger(self) -> str:
        path = f"/v1/workspaces/{self.ws}/flows/{self.ids['flow']}/triggers"
        created = self.alice.ok("POST", path, {"kind": "webhook"})
        self.hook_secret = str(created["secret"])
        return str(created["id"])

    def credential(self) -> str:
        name = f"fz{uuid.uuid4().hex[:8]}"
        body = {"name": name, "type": "api_key", "value": {"key": "fz-0123456789"}}
        self.alice.ok("POST", f"/v1/workspaces/{self.ws}/credentials", body)
        return name

    def approval(self) -> str:
        """A pending approval (a run waiting at an approval node)."""
        run_id = self.run(self.asking, "RUNNING")
        for _ in range(200):
            found = self.alice.ok("GET", f"/v1/workspaces/{self.ws}/approvals?run={run_id}")["items"]
            if found:
                return str(found[0]["id"])
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} asked for no approval")

    def run(self, flow: str, until: str) -> str:
        status, started = self.alice.call("POST", f"/v1/workspaces/{self.ws}/flows/{flow}/runs", {"input": {}})
        assert status == 202, started
        self.started.append(started["id"])
        return str(self.alice.wait_run(self.ws, started["id"], until=(until,))["id"])

    def for_case(self, method: str, path: str) -> dict[str, str]:
        ids = dict(self.ids)
        if (method, path) == DELETE_WORKSPACE:  # a workspace of its own, deleted
            ids["ws"] = str(self.alice.ok("POST", "/v1/workspaces", {"name": "doomed"})["id"])
        if method == "DELETE" and path.endswith("{trigger}"):
            ids["trigger"] = self.trigger()
        elif method == "DELETE" and "{flow}" in path:
            ids["flow"] = publish(self.alice, self.ws, SIMPLE, name="to delete")
        if method == "DELETE" and "{user}" in path:
            ids["user"] = f"local|gone-{uuid.uuid4().hex[:6]}"
            self.alice.ok("PUT", f"/v1/workspaces/{self.ws}/members/{ids['user']}", {"role": "viewer"})
        if method == "DELETE" and path.endswith("{agent}"):
            ids["agent"] = self.agent()
        if method == "DELETE" and "{name}" in path:
            ids["name"] = self.credential()
        if method == "DELETE" and "{doc}" in path:
            ids["doc"] = self.document()
        if path.endswith("/cancel"):
            ids["run"] = self.run(self.waiting, "RUNNING")
        if path.endswith("/redrive"):
            ids["run"] = self.run(self.failing, "FAILED")
        if path.endswith("/decide"):
            ids["approval"] = self.approval()
        if method == "DELETE" and path.endswith("/pins/{node}"):  # a pin to delete, on the fresh flow
            self.alice.ok("PUT", f"/v1/workspaces/{self.ws}/flows/{ids['flow']}/pins/t", {"output": 1})
        if path == HOOK:  # a webhook of its own, enabled, whose secret signs the real delivery
            ids["trigger"] = self.trigger()
        if "{token}" in path:  # a signed one-time link (a fresh one: a link decides once)
            ids["token"] = issue_link(self.stack, self.ws, ids["approval"])
        return ids

    def stop(self) -> None:
        for run_id in self.started:
            self.alice.call("POST", f"/v1/workspaces/{self.ws}/runs/{run_id}/cancel")


def fuzz(operation: Any, mode: GenerationMode, send: Callable[[Any, bool], None]) -> None:
    """Hypothesis over one operation in one generation mode; `send(case, use_real_ids)` does the checking."""

    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy(generation_mode=mode), use_real=st.booleans())
    def check(case: Any, use_real: bool) -> None:
        send(case, use_real and mode is GenerationMode.POSITIVE)

    check()


def test_every_operation_answers_within_its_schema(stack: LocalStack, alice: Api, workspace: str):
    # Given every operation of the published OpenAPI document, and real ids in a workspace of its own
    # (fuzzed writes must not disturb the shared seed data)
    token = stack.platform.issuer.token("alice")
    config = SchemathesisConfig.from_dict(
        {
            # The document's bearer scheme: schemathesis sends it, and also leaves it out on purpose
            "auth": {"openapi": {"bearer": {"bearer": token}}},
            # The document states that text never holds NUL (refused at the door; see test_api_hostile.py)
            "generation": {"allow-x00": False},
            # Invalid data is rejected: schemathesis's default statuses, and 413 (a generated string can make a
            # body larger than the API reads at all: refused before its fields are looked at)
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]
                }
            },
        }
    )
    schema = schemathesis.openapi.from_url(f"{stack.url}/v1/openapi.json", config=config)
    real = RealIds(alice, workspace, stack)

    def send(case: Any, use_real: bool) -> Any:
        params = case.path_parameters or {}
        key = (case.method.upper(), case.operation.path)
        if "ws" in params and key != DELETE_WORKSPACE:  # that one gets a workspace of its own (or a 404)
            params["ws"] = workspace  # always this workspace: another one's ids are only 404s
        if use_real:
            ids = real.for_case(*key)
            for name in params:
                params[name] = ids.get(name, params[name])
            if key in REAL_BODIES:
                case.body = REAL_BODIES[key]
            if key in REAL_QUERIES:
                case.query = REAL_QUERIES[key]
        # When the generated request is sent, authenticated
        # Then the answer conforms to the document (every schemathesis check), never a server error.
        # Flow definitions are checked against graph rules a JSON schema cannot state, so a schema-valid
        # definition may rightly be a 422: positive_data_acceptance cannot apply to this API.
        response = case.call(base_url=stack.url)
        if key[1].endswith("/limits"):  # a fuzzed limit must not hold back the runs later operations start
            alice.ok("PUT", f"/v1/workspaces/{workspace}/limits", {"max_concurrent_runs": None})
            alice.ok(
                "PUT", f"/v1/workspaces/{workspace}/flows/{real.ids['flow']}/limits", {"max_concurrent_runs": None}
            )
        if key == BUDGET:  # nor a fuzzed hard budget (a tiny one refuses later spending operations with 402)
            alice.ok("PUT", f"/v1/workspaces/{workspace}/budget", REAL_BODIES[BUDGET])
        case.validate_response(response, excluded_checks=[positive_data_acceptance])
        answered.setdefault(f"{case.method.upper()} {case.operation.path}", set()).add(response.status_code)
        return response

    answered: dict[str, set[int]] = {}
    checked: list[str] = []
    refusable: list[str] = []
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            key = (operation.method.upper(), operation.path)
            ids = real.for_case(*key)
            params = {p.name: ids[p.name] for p in operation.path_parameters}
            # (JSON: an agent's routes also take text/markdown, and the real bodies are JSON)
            extra: dict[str, Any] = (
                {"body": REAL_BODIES[key], "media_type": "application/json"} if key in REAL_BODIES else {}
            )
            if key in REAL_QUERIES:
                extra["query"] = REAL_QUERIES[key]
            auth = {"Authorization": f"Bearer {token}"}  # (configured auth applies to generated cases only)
            if key == ("POST", HOOK):  # a delivery without a body, signed with its trigger's secret
                stamp = str(int(time.time()))
                auth |= {"X-Nexod-Timestamp": stamp, "X-Nexod-Signature": sign(real.hook_secret, stamp, b"")}
            response = send(operation.Case(path_parameters=params, headers=auth, **extra), use_real=False)
            assert 200 <= response.status_code < 300, (key, params, response.status_code, response.text[:300])
            # Nothing to make invalid in a public operation without parameters or body (GET /v1/health)
            has_inputs = any(len(part) for part in (operation.path_parameters, operation.query, operation.body))
            negative = has_inputs or operation.definition.raw.get("security") != []  # a token can be left out
            if negative:
                refusable.append(f"{operation.method.upper()} {operation.path}")
            for mode in (GenerationMode.POSITIVE, *([GenerationMode.NEGATIVE] if negative else [])):
                fuzz(operation, mode, send)
            checked.append(f"{operation.method.upper()} {operation.path}")
    finally:
        real.stop()
    assert len(checked) >= 25, checked
    # And the fuzzing was authenticated and reached the routes: every operation answered a success at least
    # once (with real ids), and refused some requests (generated ids, invalid data)
    succeeded = {op for op, statuses in answered.items() if any(200 <= s < 300 for s in statuses)}
    assert succeeded == set(checked), {op: answered.get(op) for op in set(checked) - succeeded}
    assert all(any(s >= 400 for s in answered[op]) for op in refusable), answered
