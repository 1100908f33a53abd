"""Runs that read well (issue 13): per-flow numbers and labels, active time, RETRYING nodes, publishing an
unchanged draft, and version diffs, through the API on the local stack."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from nexod.local.boot import LocalStack
from tests.support.api import Api
from tests.unit.flows import edge, node

from .conftest import publish, run

LINE = {
    "nodes": [node("start", "input"), node("work", "transform", expression="input"), node("result", "output")],
    "edges": [edge("start", "work"), edge("work", "result")],
}


def _start(api: Api, ws: str, flow_id: str, **body: Any) -> dict[str, Any]:
    status, started = api.call("POST", f"/v1/workspaces/{ws}/flows/{flow_id}/runs", {"input": {}, **body})
    assert status == 202, started
    return dict(started)


def test_concurrent_starts_of_one_flow_get_distinct_consecutive_numbers(alice: Api, workspace: str):
    # Given a published flow
    flow_id = publish(alice, workspace, LINE)
    # When eight runs start at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        started = list(pool.map(lambda _: _start(alice, workspace, flow_id), range(8)))
    # Then they are numbered 1..8, each number once
    assert sorted(r["number"] for r in started) == list(range(1, 9))
    for r in started:
        alice.wait_run(workspace, r["id"])


def test_a_run_is_labelled_relabelled_and_found_by_its_number(alice: Api, workspace: str, stack: LocalStack):
    # Given a flow with one run, and a second run started with a label
    flow_id = publish(alice, workspace, LINE)
    first = run(alice, workspace, flow_id)
    second = _start(alice, workspace, flow_id, label="nightly import")
    assert (first["number"], first["label"], second["number"], second["label"]) == (1, None, 2, "nightly import")
    # When the first one is labelled
    status, labelled = alice.call("PATCH", f"/v1/workspaces/{workspace}/runs/{first['id']}", {"label": "baseline"})
    # Then it reads back with its label, and `flow` + `number` finds it
    assert (status, labelled["label"], labelled["number"]) == (200, "baseline", 1)
    found = alice.ok("GET", f"/v1/workspaces/{workspace}/runs?flow={flow_id}&number=1")["items"]
    assert [(r["id"], r["label"]) for r in found] == [(first["id"], "baseline")]
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/runs?flow={flow_id}&number=99")["items"] == []
    # And a number without a flow, a label too long, or no label key at all are 422s naming the field
    status, body = alice.call("GET", f"/v1/workspaces/{workspace}/runs?number=1")
    assert (status, body["error"]["details"]) == (422, {"field": "number"})
    status, body = alice.call("PATCH", f"/v1/workspaces/{workspace}/runs/{first['id']}", {"label": "x" * 201})
    assert status == 422 and "label" in str(body["error"]["details"])
    status, _ = alice.call("PATCH", f"/v1/workspaces/{workspace}/runs/{first['id']}", {})
    assert status == 422
    # And null clears it; a run of another id is a 404
    assert alice.ok("PATCH", f"/v1/workspaces/{workspace}/runs/{first['id']}", {"label": None})["label"] is None
    status, _ = alice.call("PATCH", f"/v1/workspaces/{workspace}/runs/{uuid.uuid4()}", {"label": "x"})
    assert status == 404
    # And the run's events carry its number (and its label once it has one), as the bus detail does
    alice.wait_run(workspace, second["id"])
    events = alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{second['id']}/events")["items"]
    ended = [e for e in events if e["type"] == "run.succeeded"][-1]
    assert (ended["data"]["number"], ended["data"]["label"]) == (2, "nightly import")


def _back_date(stack: LocalStack, run_id: str, days: int) -> None:
    """Move everything recorded so far for the run `days` into the past (as if it had failed then)."""
    with psycopg.connect(stack.platform.postgres.admin_url, autocommit=True) as admin:
        shift = f"interval '{days} days'"
        admin.execute(
            f"UPDATE runs SET created_at = created_at - {shift}, started_at = started_at - {shift},"
            f" finished_at = finished_at - {shift} WHERE id = %s",
            (run_id,),
        )
        admin.execute(
            f"UPDATE node_runs SET started_at = started_at - {shift}, finished_at = finished_at - {shift}"
            " WHERE run_id = %s",
            (run_id,),
        )


def test_a_run_redriven_a_day_later_reports_seconds_active_and_a_day_elapsed(
    alice: Api, workspace: str, stack: LocalStack
):
    # Given a run that failed (its lookup answers 404) a day ago
    def flow(path: str) -> dict[str, Any]:
        return {
            "nodes": [
                node("start", "input"),
                node("lookup", "http", url=f"{stack.url}{path}"),
                node("result", "output"),
            ],
            "edges": [edge("start", "lookup"), edge("lookup", "result")],
        }

    flow_id = publish(alice, workspace, flow("/demo/missing"))
    failed = run(alice, workspace, flow_id)
    assert failed["status"] == "FAILED" and failed["active_ms"] is not None
    _back_date(stack, failed["id"], days=1)
    # When the URL is fixed and the run is redriven on the fixed version
    alice.ok("PUT", f"/v1/workspaces/{workspace}/flows/{flow_id}", {"definition": flow("/demo/weather")})
    alice.ok("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/versions", {})
    alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{failed['id']}/redrive", {"version": 2})
    finished = alice.wait_run(workspace, failed["id"])
    # Then the elapsed time counts the day, and the active time only the two executions (seconds)
    assert finished["status"] == "SUCCEEDED"
    assert finished["duration_ms"] >= 86_400_000
    assert 0 < finished["active_ms"] < 60_000
    assert finished["active_ms"] >= failed["active_ms"]


def test_time_parked_at_an_approval_is_not_active_time(alice: Api, workspace: str):
    # Given a run waiting at an approval
    flow_id = publish(
        alice,
        workspace,
        {
            "nodes": [node("start", "input"), node("gate", "approval", title="Go?"), node("done", "output", value=1)],
            "edges": [edge("start", "gate"), edge("gate", "done")],
        },
    )
    started = _start(alice, workspace, flow_id)
    deadline = time.monotonic() + 30
    while not (
        items := alice.ok("GET", f"/v1/workspaces/{workspace}/approvals?status=pending&run={started['id']}")["items"]
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # When it is decided three seconds later
    time.sleep(3)
    alice.ok("POST", f"/v1/workspaces/{workspace}/approvals/{items[0]['id']}/decide", {"decision": "approve"})
    finished = alice.wait_run(workspace, started["id"])
    # Then the run took over three seconds, of which the wait is not active time
    assert finished["status"] == "SUCCEEDED"
    assert finished["duration_ms"] >= 3000
    assert finished["active_ms"] <= finished["duration_ms"] - 2500


def _flaky(stack: LocalStack, fail: int, interval: int) -> dict[str, Any]:
    key = uuid.uuid4().hex
    call = {
        "id": "call",
        "type": "http",
        "config": {"url": f"{stack.url}/demo/flaky?key={key}&fail={fail}"},
        "retry": {"max_attempts": 2, "interval_seconds": interval, "backoff_rate": 2.0},
    }
    return {"nodes": [node("start", "input"), call], "edges": [edge("start", "call")]}


def _until_retrying(api: Api, ws: str, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        call = api.nodes(ws, run_id).get("call", {})
        if call.get("status") == "RETRYING":
            return call
        assert time.monotonic() < deadline, call
        time.sleep(0.05)


def test_a_node_waiting_for_its_retry_is_retrying_with_its_next_attempt_then_succeeds(
    alice: Api, workspace: str, stack: LocalStack
):
    # Given an endpoint that answers 503 once, and a node allowed two retries three seconds apart
    flow_id = publish(alice, workspace, _flaky(stack, fail=1, interval=3))
    # When it runs
    started = _start(alice, workspace, flow_id)
    # Then while Step Functions waits to retry, the node is RETRYING (not FAILED) with its next attempt time
    retrying = _until_retrying(alice, workspace, started["id"])
    assert retrying["next_attempt_at"] and retrying["error"]["type"] == "NodeRetryableError"
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{started['id']}")["status"] == "RUNNING"
    # And the retry succeeds
    finished = alice.wait_run(workspace, started["id"])
    call = alice.nodes(workspace, started["id"])["call"]
    assert (finished["status"], call["status"], call["attempts"]) == ("SUCCEEDED", "SUCCEEDED", 2)
    assert "next_attempt_at" not in call
    types = [e["type"] for e in alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{started['id']}/events")["items"]]
    assert types.count("node.retrying") == 1 and "node.failed" not in types


def test_a_retrying_node_fails_when_the_execution_events_report_its_execution_ended(
    alice: Api, workspace: str, stack: LocalStack
):
    from functions.steps.execution_events import reconcile_event
    from tests.support.events import execution_status_change

    # Given a run whose node waits 30 s for its retry
    flow_id = publish(alice, workspace, _flaky(stack, fail=10, interval=30))
    started = _start(alice, workspace, flow_id)
    _until_retrying(alice, workspace, started["id"])
    with stack.platform.services.store.tx(workspace) as tx:
        arn = tx.runs.get(started["id"]).execution_arn
    # When EventBridge reports that its execution timed out
    event = execution_status_change("TIMED_OUT", arn, {"id": started["id"], "ws": workspace})
    assert reconcile_event(stack.platform.services.store, event) is True
    stack.platform.orchestrator.stop(arn, "test cleanup")
    # Then the run is FAILED and the node no longer says it will retry
    failed = alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{started['id']}")
    call = alice.nodes(workspace, started["id"])["call"]
    assert (failed["status"], call["status"]) == ("FAILED", "FAILED")


def test_publishing_twice_without_changes_leaves_one_version(alice: Api, workspace: str):
    # Given a flow published once
    flow = alice.ok("POST", f"/v1/workspaces/{workspace}/flows", {"name": "same", "definition": LINE})
    path = f"/v1/workspaces/{workspace}/flows/{flow['id']}/versions"
    status, first = alice.call("POST", path, {"description": "first"})
    assert (status, first["version"], first["unchanged"]) == (201, 1, False)
    # When it is published again without a change
    status, again = alice.call("POST", path, {"description": "again"})
    # Then the answer is 200 with version 1, unchanged, and the flow still has one version
    assert (status, again["version"], again["unchanged"], again["is_live"]) == (200, 1, True, True)
    assert [v["version"] for v in alice.ok("GET", path)["items"]] == [1]


def test_two_versions_and_the_draft_are_compared(alice: Api, workspace: str):
    # Given v1, v2 (one node's expression changed, one node added) and a draft that renames a node
    flow_id = publish(alice, workspace, LINE)
    v2 = {
        "nodes": [
            node("start", "input"),
            node("work", "transform", expression="input.n"),
            node("extra", "transform", expression="'x'"),
            node("result", "output"),
        ],
        "edges": [edge("start", "work"), edge("work", "result"), edge("start", "extra"), edge("extra", "result")],
    }
    alice.ok("PUT", f"/v1/workspaces/{workspace}/flows/{flow_id}", {"definition": v2})
    alice.ok("POST", f"/v1/workspaces/{workspace}/flows/{flow_id}/versions", {})
    draft = {**v2, "nodes": [{**n, "name": "Work"} if n["id"] == "work" else n for n in v2["nodes"]]}
    alice.ok("PUT", f"/v1/workspaces/{workspace}/flows/{flow_id}", {"definition": draft})
    base = f"/v1/workspaces/{workspace}/flows/{flow_id}/versions"
    # When v1 and v2 are compared
    diff = alice.ok("GET", f"{base}/1/diff/2")
    # Then the added node and edges and the changed expression are listed
    assert (diff["from"], diff["to"]) == (1, 2)
    assert [n["id"] for n in diff["nodes"]["added"]] == ["extra"] and diff["nodes"]["removed"] == []
    assert diff["nodes"]["changed"] == [
        {
            "id": "work",
            "type": "transform",
            "fields": [{"path": "config.expression", "before": "input", "after": "input.n"}],
        }
    ]
    assert sorted((e["from"], e["to"]) for e in diff["edges"]["added"]) == [("extra", "result"), ("start", "extra")]
    # And v2 against the draft shows the rename
    to_draft = alice.ok("GET", f"{base}/2/diff/draft")
    assert to_draft["to"] == "draft"
    assert to_draft["nodes"]["changed"][0]["fields"] == [{"path": "name", "before": None, "after": "Work"}]
    # And a side that is neither a number nor `draft` is a 422 naming it; a missing version a 404
    status, body = alice.call("GET", f"{base}/1/diff/latest")
    assert (status, body["error"]["details"]) == (422, {"field": "b"})
    status, _ = alice.call("GET", f"{base}/7/diff/1")
    assert status == 404
