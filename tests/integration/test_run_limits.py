"""Concurrency limits (issue 12) against the real local stack: runs of a flow or a workspace beyond the limit
wait in order or are refused, for manual runs, redrives and trigger deliveries alike; and delivery recovery
(a delivery recorded by a process that died before starting its run is started later, exactly once)."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nexod.domain.actor import SystemActor
from nexod.domain.triggers import sign
from nexod.local.boot import LocalStack
from nexod.local.platform import psql_admin
from nexod.services import runs, triggers
from tests.integration.conftest import publish
from tests.support.api import Api
from tests.unit.flows import edge, node


def _pausing(seconds: int) -> dict[str, Any]:
    return {
        "nodes": [node("start", "input"), node("pause", "wait", seconds=seconds), node("end", "output", value="ok")],
        "edges": [edge("start", "pause"), edge("pause", "end")],
    }


def _limits(ws: str, flow: str | None = None) -> str:
    return f"/v1/workspaces/{ws}/flows/{flow}/limits" if flow else f"/v1/workspaces/{ws}/limits"


def _start(api: Api, ws: str, flow: str) -> tuple[int, Any]:
    return api.call("POST", f"/v1/workspaces/{ws}/flows/{flow}/runs", {"input": {}})


def _active(stack: LocalStack, flow: str) -> int:
    """Runs of the flow holding a slot, read straight from the database (not through the code under test)."""
    with psql_admin(stack.platform) as conn:
        row = conn.execute(
            "SELECT count(*) FROM runs r WHERE r.flow_id = %s AND r.status IN ('QUEUED', 'RUNNING')"
            " AND NOT EXISTS (SELECT 1 FROM run_queue q WHERE q.run_id = r.id)",
            (flow,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _webhook(api: Api, ws: str, flow: str) -> dict[str, Any]:
    return dict(api.ok("POST", f"/v1/workspaces/{ws}/flows/{flow}/triggers", {"kind": "webhook"}))


def _deliver(stack: LocalStack, hook: dict[str, Any], body: dict[str, Any], key: str | None = None) -> Any:
    raw = json.dumps(body).encode()
    ts = str(int(time.time()))
    headers = {"X-Nexod-Timestamp": ts, "X-Nexod-Signature": sign(hook["secret"], ts, raw)}
    if key is not None:
        headers["Idempotency-Key"] = key
    status, answer = Api(stack.url, None).call("POST", f"/v1/hooks/{hook['id']}", raw=raw, headers=headers)
    assert status == 202, answer
    return answer


def test_a_flow_limit_of_two_runs_ten_quick_deliveries_at_most_two_at_a_time_and_all_finish(
    alice: Api, stack: LocalStack, workspace: str
):
    # Given a flow whose runs take a second, limited to 2 concurrent runs (excess queues), and a webhook
    flow = publish(alice, workspace, _pausing(1), "limited")
    shown = alice.ok("PUT", _limits(workspace, flow), {"max_concurrent_runs": 2, "on_limit": "queue"})
    assert shown == {"max_concurrent_runs": 2, "on_limit": "queue", "running": 0, "queued": 0}
    hook = _webhook(alice, workspace, flow)
    # When 10 deliveries arrive at once, while the running count is sampled from the database
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(_active(stack, flow))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(lambda i: _deliver(stack, hook, {"n": i}), range(10)))
        # Then every delivery started a run (8 of them queued, saying so)
        assert [a["status"] for a in answers] == ["started"] * 10
        assert sum(1 for a in answers if (a["reason"] or "").startswith("queued")) >= 7
        # And the flow shows its limit with the running and waiting runs
        during = alice.ok("GET", _limits(workspace, flow))
        assert during["running"] <= 2 and during["running"] + during["queued"] >= 1
        # (the flow's own GET shows the same)
        assert alice.ok("GET", f"/v1/workspaces/{workspace}/flows/{flow}")["limits"]["max_concurrent_runs"] == 2
        finished = [alice.wait_run(workspace, a["run_id"], timeout=120) for a in answers]
    finally:
        done.set()
        sampler.join()
    # And all 10 finished, never more than 2 at a time, and 2 did run together
    assert [r["status"] for r in finished] == ["SUCCEEDED"] * 10
    assert max(samples) == 2, samples
    assert alice.ok("GET", _limits(workspace, flow))["queued"] == 0


def test_reject_answers_429_naming_the_limit_and_a_delivery_is_recorded_rejected(
    alice: Api, stack: LocalStack, workspace: str
):
    # Given a flow limited to 1 run with on_limit reject, and one run in progress
    flow = publish(alice, workspace, _pausing(30), "strict")
    alice.ok("PUT", _limits(workspace, flow), {"max_concurrent_runs": 1, "on_limit": "reject"})
    status, first = _start(alice, workspace, flow)
    assert status == 202, first
    # When another run is started by hand
    status, refused = _start(alice, workspace, flow)
    # Then it is 429 with a JSON error naming the limit, and no run was made
    assert status == 429, refused
    assert refused["error"]["code"] == "concurrency_limit"
    assert refused["error"]["details"] == {"limit": "flow", "max_concurrent_runs": 1}
    assert "limit of 1 concurrent runs" in refused["error"]["message"]
    listed = alice.ok("GET", f"/v1/workspaces/{workspace}/runs?flow={flow}")["items"]
    assert [r["id"] for r in listed] == [first["id"]]
    # And a webhook delivery is recorded rejected with the reason
    hook = _webhook(alice, workspace, flow)
    answer = _deliver(stack, hook, {"x": 1})
    assert (answer["status"], answer["run_id"]) == ("rejected", None)
    assert "limit of 1 concurrent runs is reached" in answer["reason"]
    trigger = alice.ok("GET", f"/v1/workspaces/{workspace}/flows/{flow}/triggers/{hook['id']}")
    assert trigger["deliveries"][0]["status"] == "rejected"
    # And once the run is over, a start is admitted again
    alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{first['id']}/cancel")
    status, again = _start(alice, workspace, flow)
    assert status == 202, again
    alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{again['id']}/cancel")


def test_a_redrive_re_enters_the_limit(alice: Api, stack: LocalStack, workspace: str):
    # Given a cancelled run, and its flow limited to 1 with another run in progress
    flow = publish(alice, workspace, _pausing(2), "redriven")
    status, cancelled = _start(alice, workspace, flow)
    alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{cancelled['id']}/cancel")
    alice.ok("PUT", _limits(workspace, flow), {"max_concurrent_runs": 1, "on_limit": "reject"})
    status, busy = _start(alice, workspace, flow)
    assert status == 202, busy
    # When the cancelled run is redriven in reject mode: 429, and it stays CANCELLED
    status, refused = alice.call("POST", f"/v1/workspaces/{workspace}/runs/{cancelled['id']}/redrive", {})
    assert status == 429, refused
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{cancelled['id']}")["status"] == "CANCELLED"
    # When it is redriven in queue mode: it waits QUEUED, then runs once the slot frees
    alice.ok("PUT", _limits(workspace, flow), {"max_concurrent_runs": 1, "on_limit": "queue"})
    redriven = alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{cancelled['id']}/redrive", {})
    assert redriven["status"] == "QUEUED"
    assert alice.ok("GET", _limits(workspace, flow))["queued"] == 1
    assert alice.wait_run(workspace, busy["id"])["status"] == "SUCCEEDED"
    assert alice.wait_run(workspace, cancelled["id"], timeout=60)["status"] == "SUCCEEDED"


def test_the_workspace_limit_is_an_admins_and_caps_every_flow_together(
    alice: Api, bob: Api, vera: Api, stack: LocalStack, workspace: str
):
    alice.ok("PUT", f"/v1/workspaces/{workspace}/members/local%7Cbob", {"role": "member"})
    alice.ok("PUT", f"/v1/workspaces/{workspace}/members/local%7Cvera", {"role": "viewer"})
    one = publish(alice, workspace, _pausing(1), "one")
    two = publish(alice, workspace, _pausing(1), "two")
    # Given: a member may not set the workspace's limit; a viewer reads it but sets no flow limit
    assert bob.call("PUT", _limits(workspace), {"max_concurrent_runs": 1})[0] == 403
    assert vera.call("PUT", _limits(workspace, one), {"max_concurrent_runs": 1})[0] == 403
    assert vera.ok("GET", _limits(workspace)) == {
        "max_concurrent_runs": None,
        "on_limit": "queue",
        "running": 0,
        "queued": 0,
    }
    # And a bad value is a 422 naming the field
    status, bad = alice.call("PUT", _limits(workspace), {"max_concurrent_runs": 0})
    assert status == 422 and "max_concurrent_runs" in json.dumps(bad)
    # When the admin limits the workspace to 1 run and runs of two flows start
    alice.ok("PUT", _limits(workspace), {"max_concurrent_runs": 1, "on_limit": "queue"})
    first = bob.ok("POST", f"/v1/workspaces/{workspace}/flows/{one}/runs", {"input": {}})
    second = bob.ok("POST", f"/v1/workspaces/{workspace}/flows/{two}/runs", {"input": {}})
    # Then the second waits for the first, and both finish
    assert second["status"] == "QUEUED"
    assert vera.ok("GET", _limits(workspace))["queued"] == 1
    shown = vera.ok("GET", f"/v1/workspaces/{workspace}")["limits"]
    assert (shown["max_concurrent_runs"], shown["queued"]) == (1, 1)
    assert alice.wait_run(workspace, first["id"])["status"] == "SUCCEEDED"
    assert alice.wait_run(workspace, second["id"])["status"] == "SUCCEEDED"
    # And removing the limit (null) is allowed
    assert alice.ok("PUT", _limits(workspace), {"max_concurrent_runs": None})["max_concurrent_runs"] is None


def test_concurrent_admissions_never_start_more_than_the_free_slots(alice: Api, stack: LocalStack, workspace: str):
    # Given a flow limited to 1 with one long run and 5 runs waiting
    flow = publish(alice, workspace, _pausing(30), "crowded")
    alice.ok("PUT", _limits(workspace, flow), {"max_concurrent_runs": 1, "on_limit": "queue"})
    started = [alice.ok("POST", f"/v1/workspaces/{workspace}/flows/{flow}/runs", {"input": {}}) for _ in range(6)]
    assert [r["status"] for r in started[1:]] == ["QUEUED"] * 5
    # When the limit is raised to 3 behind the API's back and 8 admissions race
    with psql_admin(stack.platform) as conn:
        conn.execute("UPDATE run_limits SET max_concurrent_runs = 3 WHERE flow_id = %s", (flow,))
    with ThreadPoolExecutor(8) as pool:
        admitted = list(pool.map(lambda _: runs.admit_queued(stack.platform.services, workspace), range(8)))
    # Then exactly 2 more runs started, the oldest ones, and 3 still wait
    assert sum(admitted) == 2, admitted
    assert _active(stack, flow) == 3
    waiting = alice.ok("GET", _limits(workspace, flow))
    assert (waiting["running"], waiting["queued"]) == (3, 3)
    states = [alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{r['id']}")["status"] for r in started]
    assert states[3:] == ["QUEUED"] * 3
    # And a cancelled waiting run leaves the queue
    alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{started[5]['id']}/cancel")
    assert alice.ok("GET", _limits(workspace, flow))["queued"] == 2
    alice.ok("PUT", _limits(workspace, flow), {"max_concurrent_runs": None})
    for r in started:
        alice.call("POST", f"/v1/workspaces/{workspace}/runs/{r['id']}/cancel")


def test_a_sub_flow_child_is_never_held_by_a_full_limit(alice: Api, stack: LocalStack, workspace: str):
    # Given a flow limited to 1 (reject) with a run in progress
    flow = publish(alice, workspace, _pausing(30), "parent")
    alice.ok("PUT", _limits(workspace, flow), {"max_concurrent_runs": 1, "on_limit": "reject"})
    status, parent = _start(alice, workspace, flow)
    assert status == 202
    # When a run of it starts as a sub-flow child (its parent's admission covers it)
    child = runs.start(stack.platform.services, SystemActor("subflow"), workspace, flow, {}, None, trigger="subflow")
    # Then it started rather than waiting on a slot its parent may hold
    assert child["status"] in ("RUNNING", "SUCCEEDED")
    for r in (parent, child):
        alice.call("POST", f"/v1/workspaces/{workspace}/runs/{r['id']}/cancel")


class _Died(BaseException):
    """The process dying between recording a delivery and starting its run (not an Exception: nothing in
    the pipeline may catch it)."""


def _left_received(
    alice: Api, stack: LocalStack, workspace: str, monkeypatch: pytest.MonkeyPatch, name: str, key: str, body: Any
) -> tuple[str, dict[str, Any], Any, datetime]:
    """A webhook trigger's delivery recorded by a process that died right after recording it (before the run
    started): the flow, the hook, the trigger record and when it was received."""
    flow = publish(alice, workspace, _pausing(0), name)
    hook = _webhook(alice, workspace, flow)
    services = stack.platform.services
    with services.store.tx(workspace) as uow:
        trigger = uow.triggers.get(hook["id"])
    assert trigger is not None

    def dies(*args: Any, **kwargs: Any) -> Any:
        raise _Died

    monkeypatch.setattr(triggers.runs, "start", dies)
    now = datetime.now(UTC)
    with pytest.raises(_Died):
        triggers.deliver(services, workspace, trigger, key, body, {}, {}, now)
    monkeypatch.undo()
    return flow, hook, trigger, now


def test_a_delivery_left_received_by_a_dead_process_is_started_once_by_recovery(
    alice: Api, stack: LocalStack, workspace: str, monkeypatch: pytest.MonkeyPatch
):
    # Given a delivery whose process dies right after recording it
    flow, hook, trigger, now = _left_received(
        alice, stack, workspace, monkeypatch, "recovered", "order-7", {"order": 7}
    )
    services = stack.platform.services
    with services.store.tx(workspace) as uow:
        left = uow.triggers.delivery(trigger.id, "order-7")
    assert left is not None and (left.status, left.run_id) == ("received", None)
    # When it is younger than the recovery delay nothing happens; after it, four sweeps race
    assert triggers.recover_deliveries(services, workspace, now) == 0
    later = now + triggers.RECOVER_AFTER + timedelta(seconds=1)
    with ThreadPoolExecutor(4) as pool:
        recovered = list(pool.map(lambda _: triggers.recover_deliveries(services, workspace, later), range(4)))
    # Then exactly one run started, with the input the delivery mapped to, and the delivery names it
    assert sum(recovered) == 1, recovered
    with services.store.tx(workspace) as uow:
        settled = uow.triggers.delivery(trigger.id, "order-7")
    assert settled is not None and settled.status == "started" and settled.run_id is not None
    run = alice.wait_run(workspace, settled.run_id)
    assert (run["status"], run["input"]) == ("SUCCEEDED", {"order": 7})
    # And a copy of the delivery sent now answers that run, starting nothing
    again = _deliver(stack, hook, {"order": 7}, key="order-7")
    assert (again["status"], again["run_id"]) == ("duplicate", settled.run_id)
    listed = alice.ok("GET", f"/v1/workspaces/{workspace}/runs?flow={flow}")["items"]
    assert len(listed) == 1


def test_a_delivery_left_received_by_a_dead_process_is_started_once_by_the_senders_retry(
    alice: Api, stack: LocalStack, workspace: str, monkeypatch: pytest.MonkeyPatch
):
    # Given a delivery whose process dies right after recording it (in AWS nothing sweeps: the sender retries)
    flow, _, trigger, now = _left_received(alice, stack, workspace, monkeypatch, "retried", "order-8", {"order": 8})
    services = stack.platform.services
    monkeypatch.setattr(triggers, "DUPLICATE_WAIT_S", 0.2)  # how long a copy waits for the first to name its run

    # When the sender retries it twice at once (same key, same body)
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(
            pool.map(
                lambda _: triggers.deliver(services, workspace, trigger, "order-8", {"order": 8}, {}, {}, now),
                range(2),
            )
        )

    # Then exactly one run started, with the delivery's input, and both answers name it
    assert sorted(o.status for o in outcomes) == ["duplicate", "started"], outcomes
    assert len({o.run_id for o in outcomes}) == 1 and outcomes[0].run_id is not None
    run = alice.wait_run(workspace, str(outcomes[0].run_id))
    assert (run["status"], run["input"]) == ("SUCCEEDED", {"order": 8})
    assert len(alice.ok("GET", f"/v1/workspaces/{workspace}/runs?flow={flow}")["items"]) == 1


def test_the_execution_events_function_starts_a_held_run_when_an_execution_ends(
    alice: Api, stack: LocalStack, workspace: str, monkeypatch: pytest.MonkeyPatch
):
    from functions.steps import execution_events
    from tests.support.events import execution_status_change

    # (the local loop's own admission pass is paused: here the function alone may start the run)
    assert stack.platform.scheduler is not None
    monkeypatch.setattr(stack.platform.scheduler, "admit", lambda now: 0)

    # Given a flow limited to 1 with a running run and one waiting for its slot
    flow = publish(alice, workspace, _pausing(30), "aws-admission")
    alice.ok("PUT", _limits(workspace, flow), {"max_concurrent_runs": 1, "on_limit": "queue"})
    running = alice.ok("POST", f"/v1/workspaces/{workspace}/flows/{flow}/runs", {"input": {}})
    waiting = alice.ok("POST", f"/v1/workspaces/{workspace}/flows/{flow}/runs", {"input": {}})
    assert waiting["status"] == "QUEUED"
    with stack.platform.services.store.tx(workspace) as uow:
        # The run is cancelled in the database only (as if its execution's abort is what EventBridge reports)
        uow.runs.mark(running["id"], "CANCELLED")
        arn = uow.runs.get(running["id"]).execution_arn
    assert alice.ok("GET", _limits(workspace, flow))["queued"] == 1
    # When the function gets the "Execution Status Change" of the first run's execution
    execution_events.configure_admission(lambda ws: runs.admit_queued(stack.platform.services, ws))
    try:
        event = execution_status_change("ABORTED", arn, {"id": running["id"], "ws": workspace})
        answer = execution_events.handle(event, lambda: stack.platform.services.store)
    finally:
        execution_events.configure_admission(None)
    # Then the waiting run started
    assert answer["admitted"] == 1
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{waiting['id']}")["status"] in ("RUNNING", "SUCCEEDED")
    for r in (running, waiting):
        alice.call("POST", f"/v1/workspaces/{workspace}/runs/{r['id']}/cancel")
    stack.platform.orchestrator.stop(arn, "test cleanup")


def test_a_run_held_by_a_limit_counts_no_active_time_while_it_waits(alice: Api, stack: LocalStack, workspace: str):
    # Given a flow limited to one run at a time (queue), one run in its 2-second wait
    flow = publish(alice, workspace, _pausing(2), "held-clock")
    alice.ok("PUT", _limits(workspace, flow), {"max_concurrent_runs": 1, "on_limit": "queue"})
    status, busy = _start(alice, workspace, flow)
    assert status == 202, busy
    # When a second run is started: it waits QUEUED for the slot, then runs
    status, held = _start(alice, workspace, flow)
    assert status == 202 and held["status"] == "QUEUED", held
    done = alice.wait_run(workspace, held["id"], timeout=60)
    assert done["status"] == "SUCCEEDED", done
    # Then the time it waited for the slot is not in its active time (its window opened when it started)
    waited = datetime.fromisoformat(done["started_at"]) - datetime.fromisoformat(done["created_at"])
    assert waited.total_seconds() >= 1, done  # it really waited (the first run's 2-second wait)
    assert done["active_ms"] < waited.total_seconds() * 1000, done
