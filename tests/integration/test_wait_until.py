"""Wait nodes under moto's Step Functions interpreter: `until` a templated instant, and redrives that do not
wait again for a wait that already elapsed (after a failure downstream, and after an interrupted wait)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from nexod.domain.nodes.wait import parse_instant, rfc3339
from nexod.local.boot import LocalStack
from nexod.services import runs
from tests.support.api import Api
from tests.unit.flows import edge, node

from .conftest import publish


def _timed_run(alice: Api, ws: str, flow: str, run_input: dict) -> tuple[dict, float]:
    started = time.monotonic()
    status, created = alice.call("POST", f"/v1/workspaces/{ws}/flows/{flow}/runs", {"input": run_input})
    assert status == 202, created
    finished = alice.wait_run(ws, created["id"], timeout=60)
    return finished, time.monotonic() - started


def test_a_wait_until_a_templated_instant_ends_then(alice: Api, workspace: str):
    # Given a flow that waits until the run input's `remind_at`
    doc = {
        "nodes": [
            node("start", "input"),
            node("pause", "wait", until="{{ input.remind_at }}"),
            node("end", "output", value="{{ nodes.pause.output.until }}"),
        ],
        "edges": [edge("start", "pause"), edge("pause", "end")],
    }
    flow = publish(alice, workspace, doc)
    # When it runs with an instant 3 seconds ahead, given with an offset
    at = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    offset = at.astimezone(datetime.now().astimezone().tzinfo).isoformat()
    finished, took = _timed_run(alice, workspace, flow, {"remind_at": offset})
    # Then it succeeded no earlier than that instant, and recorded it in UTC
    assert finished["status"] == "SUCCEEDED", finished
    assert datetime.now(UTC) >= at
    assert took >= 2
    pause = alice.nodes(workspace, finished["id"])["pause"]
    assert pause["output"]["until"] == rfc3339(at)
    assert finished["output"] == rfc3339(at)


def test_a_redrive_after_a_downstream_failure_does_not_wait_again(alice: Api, workspace: str, stack: LocalStack):
    # Given a run that waited 3 seconds and then failed on a flaky endpoint (503 once)
    key = uuid.uuid4().hex
    doc = {
        "nodes": [
            node("start", "input"),
            node("pause", "wait", seconds=3),
            {
                "id": "call",
                "type": "http",
                "config": {"url": f"{stack.url}/demo/flaky?key={key}&fail=1"},
                "retry": {"max_attempts": 0},
            },
        ],
        "edges": [edge("start", "pause"), edge("pause", "call")],
    }
    flow = publish(alice, workspace, doc)
    failed, took = _timed_run(alice, workspace, flow, {})
    assert failed["status"] == "FAILED", failed
    assert took >= 2.5
    # When it is redriven
    started = time.monotonic()
    assert alice.call("POST", f"/v1/workspaces/{workspace}/runs/{failed['id']}/redrive", {})[0] == 202
    redriven = alice.wait_run(workspace, failed["id"], timeout=30)
    # Then it succeeds without waiting the 3 seconds again: the wait node was a memo
    assert redriven["status"] == "SUCCEEDED", redriven
    assert time.monotonic() - started < 2.5
    pause = alice.nodes(workspace, failed["id"])["pause"]
    assert (pause["status"], pause["executions"], pause["output"]["waited_seconds"]) == ("SUCCEEDED", 2, 3)


def test_a_redrive_after_an_interrupted_wait_waits_only_for_what_is_left(
    alice: Api, stack: LocalStack, workspace: str, monkeypatch: pytest.MonkeyPatch
):
    # Given a run in a 5-second wait whose execution dies 2 seconds in (the local orchestrator stopped)
    doc = {
        "nodes": [node("start", "input"), node("pause", "wait", seconds=5), node("end", "output", value="x")],
        "edges": [edge("start", "pause"), edge("pause", "end")],
    }
    flow = publish(alice, workspace, doc)
    status, created = alice.call("POST", f"/v1/workspaces/{workspace}/flows/{flow}/runs", {"input": {}})
    assert status == 202
    deadline = time.monotonic() + 10
    while alice.nodes(workspace, created["id"])["pause"].get("waiting") is not True:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    end = parse_instant(alice.nodes(workspace, created["id"])["pause"]["input"]["until"])
    time.sleep(2)
    with stack.platform.services.store.tx(workspace) as tx:
        run = tx.runs.get(created["id"])
    assert run is not None
    assert run.execution_arn is not None
    # (a process that dies reports no execution end: the end hook is off, so no reconcile races the start-up)
    monkeypatch.setattr(stack.platform.orchestrator, "_on_end", None)
    stack.platform.orchestrator.stop(run.execution_arn, "the local orchestrator stopped")
    assert runs.interrupt_in_flight(stack.platform.services, workspace) == 1
    # When it is redriven
    assert alice.call("POST", f"/v1/workspaces/{workspace}/runs/{created['id']}/redrive", {})[0] == 202
    redriven = alice.wait_run(workspace, created["id"], timeout=30)
    # Then it finished at the end recorded the first time: it did not start a new 5-second wait
    finished_at = datetime.now(UTC)
    assert redriven["status"] == "SUCCEEDED", redriven
    assert end <= finished_at < end + timedelta(seconds=2.5)
    assert alice.nodes(workspace, created["id"])["pause"]["output"]["until"] == rfc3339(end)
