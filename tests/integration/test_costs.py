"""Costs, usage and budgets (issue 9, DESIGN §9) through the API, on the local stack's PostgreSQL."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from nexod.testing.stub_llm import OpenAIStub
from tests.support.api import Api
from tests.unit.flows import edge, node

from .conftest import publish, run

FLOW = {
    "nodes": [
        node("start", "input"),
        node("shape", "transform", expression="{n: input.n}"),
        node("ask", "llm", model="default", prompt="Say {{ nodes.shape.output.n }}"),
        node("result", "output"),
    ],
    "edges": [edge("start", "shape"), edge("shape", "ask"), edge("ask", "result")],
}
AMOUNTS = ("llm_usd", "compute_usd", "orchestration_usd", "total_usd")


def _error_field(body: dict[str, Any]) -> str:
    details = body["error"]["details"]
    return str((details[0] if isinstance(details, list) else details)["field"])


def test_a_run_reports_its_cost_and_usage_adds_up_to_the_cent(alice: Api, workspace: str):
    # Given two flows, each run twice, with an input, a transform, an llm node (the local unpriced model) and an output
    flows = [publish(alice, workspace, FLOW, name=name) for name in ("first", "second")]
    runs = [run(alice, workspace, flow_id, {"n": i}) for flow_id in flows for i in range(2)]
    assert {r["status"] for r in runs} == {"SUCCEEDED"}, runs
    # Then each node run has its costs, and each run's cost is the sum of its parts
    nodes = [n for r in runs for n in alice.nodes(workspace, r["id"]).values()]
    ask = [n for n in nodes if n["type"] == "llm"]
    assert {n["cost_source"] for n in ask} == {"unknown"} and {n["cost_usd"] for n in ask} == {0}
    assert all(n["transitions"] == 1 and n["orchestration_cost_usd"] == 0.000025 for n in nodes if n["type"] != "input")
    assert all(n["compute_cost_usd"] is not None and n["compute_cost_usd"] >= 0 for n in nodes if n["type"] != "input")
    for r in runs:
        cost = alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{r['id']}")["cost"]
        assert cost["total"] == pytest.approx(cost["llm"] + cost["compute"] + cost["orchestration"], abs=2e-6)
        assert cost["orchestration"] == pytest.approx(3 * 0.000025)  # transform, llm, output: one Task attempt each
    spent = sum(
        (n.get("cost_usd") or 0) + (n.get("compute_cost_usd") or 0) + (n.get("orchestration_cost_usd") or 0)
        for n in nodes
    )
    # When usage is read grouped by day, flow, model and node type
    today = datetime.now(UTC).date().isoformat()
    for group in ("day", "flow", "model", "node_type"):
        usage = alice.ok("GET", f"/v1/workspaces/{workspace}/usage?from={today}&to={today}&tz=UTC&group_by={group}")
        # Then the groups add up to the total, and the total to the node runs' costs, to the cent
        assert (usage["from"], usage["to"], usage["tz"], usage["group_by"]) == (today, today, "UTC", group)
        for amount in AMOUNTS:
            assert round(sum(i[amount] for i in usage["items"]), 2) == round(usage["total"][amount], 2), group
        assert round(usage["total"]["total_usd"], 2) == round(spent, 2) and usage["total"]["total_usd"] > 0
        assert (
            sum(i["node_runs"] for i in usage["items"]) == usage["total"]["node_runs"] == 16
        )  # input nodes included, at $0
        assert sum(i["tokens_in"] for i in usage["items"]) == usage["total"]["tokens_in"] > 0
        if group == "flow":
            assert {(i["key"], i["label"]) for i in usage["items"]} == {(flows[0], "first"), (flows[1], "second")}
        if group == "node_type":
            assert {i["key"] for i in usage["items"]} == {"input", "transform", "llm", "output"}
    # And the default window (this month to today, UTC, by day) holds the same spend
    assert round(alice.ok("GET", f"/v1/workspaces/{workspace}/usage")["total"]["total_usd"], 2) == round(spent, 2)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01", "from"),
        ("from=yesterday", "from"),
        ("to=2026-1-1", "to"),
        ("from=2026-02-01&to=2026-01-31", "to"),
        ("from=2024-01-01&to=2025-01-01", "to"),  # 367 days
        ("tz=Mars/Olympus", "tz"),
        ("tz=../../etc/passwd", "tz"),
        ("tz=localtime", "tz"),  # the host's zone file, not an IANA name
        ("tz=right/UTC", "tz"),
        ("group_by=week", "group_by"),
    ],
)
def test_bad_usage_queries_are_422_naming_the_field(alice: Api, workspace: str, query: str, field: str):
    status, body = alice.get(f"/v1/workspaces/{workspace}/usage?{query}")
    assert status == 422, body
    assert _error_field(body) == field


def test_366_days_in_another_time_zone_is_a_valid_range(alice: Api, workspace: str):
    usage = alice.ok("GET", f"/v1/workspaces/{workspace}/usage?from=2024-01-01&to=2024-12-31&tz=Asia/Kolkata")
    assert (usage["items"], usage["total"]["node_runs"], usage["tz"]) == ([], 0, "Asia/Kolkata")


def test_admins_set_budgets_viewers_read_them_and_bad_limits_are_refused(alice: Api, vera: Api, workspace: str):
    # Given a workspace without a budget, and a viewer
    alice.ok("PUT", f"/v1/workspaces/{workspace}/members/local|vera", {"role": "viewer"})
    empty = vera.ok("GET", f"/v1/workspaces/{workspace}/budget")
    assert empty == {
        "monthly_soft_usd": None,
        "monthly_hard_usd": None,
        "month_to_date_usd": 0,
        "soft_crossed_at": None,
    }
    # When the admin sets both limits
    set_to = alice.ok("PUT", f"/v1/workspaces/{workspace}/budget", {"monthly_soft_usd": 50, "monthly_hard_usd": 80.5})
    # Then everyone reads them back, and the audit log has the change with the previous limits
    assert (set_to["monthly_soft_usd"], set_to["monthly_hard_usd"]) == (50, 80.5)
    assert vera.ok("GET", f"/v1/workspaces/{workspace}/budget") == set_to
    entry = alice.ok("GET", f"/v1/workspaces/{workspace}/audit?action=workspace.budget")["items"][0]
    assert entry["details"]["monthly_hard_usd"] == 80.5 and entry["details"]["previous"]["monthly_hard_usd"] is None
    # And a viewer may not set them
    assert vera.call("PUT", f"/v1/workspaces/{workspace}/budget", {"monthly_soft_usd": 1})[0] == 403
    # And bad limits are 422s naming the field, changing nothing
    for bad, field in [
        ({"monthly_soft_usd": -1}, "monthly_soft_usd"),
        ({"monthly_hard_usd": "10"}, "monthly_hard_usd"),
        ({"monthly_soft_usd": 10, "monthly_hard_usd": 5}, "monthly_hard_usd"),
        ({"monthly_hard_usd": 1e13}, "monthly_hard_usd"),
        ({"monthly_hard_usd": 999999999999.9999}, "monthly_hard_usd"),  # what the column cannot hold: never a 500
        ({"monthly": 1}, "monthly"),
    ]:
        status, body = alice.put(f"/v1/workspaces/{workspace}/budget", bad)
        assert status == 422 and _error_field(body) == field, (bad, body)
    assert vera.ok("GET", f"/v1/workspaces/{workspace}/budget") == set_to


def test_crossing_the_soft_budget_is_recorded_once_a_month(alice: Api, workspace: str):
    # Given a soft budget of $0 (any spend crosses it)
    alice.ok("PUT", f"/v1/workspaces/{workspace}/budget", {"monthly_soft_usd": 0, "monthly_hard_usd": None})
    flow_id = publish(alice, workspace, FLOW)
    # When two runs spend
    for i in range(2):
        assert run(alice, workspace, flow_id, {"n": i})["status"] == "SUCCEEDED"
    # Then the crossing is in the audit log once, with the month, and the budget says when
    crossed = alice.ok("GET", f"/v1/workspaces/{workspace}/audit?action=budget.soft_crossed")["items"]
    assert len(crossed) == 1 and crossed[0]["actor"] == "system", crossed
    assert crossed[0]["details"]["month"] == datetime.now(UTC).strftime("%Y-%m")
    budget = alice.ok("GET", f"/v1/workspaces/{workspace}/budget")
    assert budget["soft_crossed_at"] is not None and budget["month_to_date_usd"] > 0
    # And it is one workspace event (no run) in the workspace's stream, with the month and the limit
    events = alice.ok("GET", f"/v1/workspaces/{workspace}/events?limit=500")["items"]
    soft = [e for e in events if e["type"] == "budget.soft_limit_crossed"]
    assert len(soft) == 1 and soft[0]["run_id"] is None, soft
    assert soft[0]["data"]["month"] == crossed[0]["details"]["month"] and soft[0]["data"]["monthly_soft_usd"] == 0


def test_a_hard_budget_of_a_cent_lets_the_crossing_call_finish_and_stops_the_next(alice: Api, openai_stub: OpenAIStub):
    # Given a workspace whose openai key points at the test server, a priced model, and a hard budget of $0.01
    ws = str(alice.ok("POST", "/v1/workspaces", {"name": f"budget-{uuid.uuid4().hex[:6]}"})["id"])
    alice.ok("PUT", f"/v1/workspaces/{ws}/allowed-hosts", {"allowed_hosts": [urlsplit(openai_stub.base_url).netloc]})
    key = {"provider": "openai", "key": "budget-key-0123", "base_url": openai_stub.base_url}
    alice.ok("POST", f"/v1/workspaces/{ws}/credentials", {"name": "openai", "type": "llm_provider", "value": key})
    alice.ok("PUT", f"/v1/workspaces/{ws}/budget", {"monthly_soft_usd": None, "monthly_hard_usd": 0.01})
    flow_id = publish(
        alice,
        ws,
        {
            "nodes": [node("start", "input"), node("ask", "llm", model="openai/gpt-4", prompt="word " * 200)],
            "edges": [edge("start", "ask")],
        },
    )
    # When a run calls the model with nothing spent this month
    sent = len(openai_stub.requests)
    first = run(alice, ws, flow_id)
    # Then the call reaches the server and completes, crossing $0.01 (priced from LiteLLM's table)
    assert first["status"] == "SUCCEEDED", first
    assert len(openai_stub.requests) == sent + 1
    assert alice.nodes(ws, first["id"])["ask"]["cost_source"] == "price_table"
    assert alice.ok("GET", f"/v1/workspaces/{ws}/budget")["month_to_date_usd"] > 0.01
    # And the next run's call fails with BudgetExceeded naming the spend and the limit, without reaching it
    second = run(alice, ws, flow_id)
    assert second["status"] == "FAILED"
    error = alice.nodes(ws, second["id"])["ask"]["error"]
    assert error["type"] == "BudgetExceeded", error
    assert re.search(r"spent \$0\.0\d of the \$0\.01 monthly budget", error["message"]), error
    assert len(openai_stub.requests) == sent + 1
    # And raising the hard budget lets calls through again
    alice.ok("PUT", f"/v1/workspaces/{ws}/budget", {"monthly_soft_usd": None, "monthly_hard_usd": 10})
    assert run(alice, ws, flow_id)["status"] == "SUCCEEDED"
    assert len(openai_stub.requests) == sent + 2
