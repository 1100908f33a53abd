"""The workspace a node acts for is taken from the execution that invoked it, not from the execution's
input: starting another flow's state machine with `{"run": {"id": <victim run>, "ws": <victim ws>}}`
executes nothing of the victim's run (and so never reads its secrets)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from functions.steps.node_runner import bind_execution, run_event
from nexod.local.boot import LocalStack
from nexod.runtime.errors import NodeFailedError
from tests.support.api import Api
from tests.unit.flows import edge, node

from .conftest import publish


def _parked_run(api: Api, ws: str) -> tuple[str, str]:
    """(flow id, run id) of a run waiting in a 60 s wait, its `after` node not yet run."""
    flow_id = publish(
        api,
        ws,
        {
            "nodes": [node("start", "input"), node("pause", "wait", seconds=60), node("after", "output", value="x")],
            "edges": [edge("start", "pause"), edge("pause", "after")],
        },
        name="victim",
    )
    _, started = api.call("POST", f"/v1/workspaces/{ws}/flows/{flow_id}/runs", {"input": {}})
    api.wait_run(ws, started["id"], until=("RUNNING",))
    return flow_id, str(started["id"])


def _task_failure(client: Any, execution_arn: str, timeout: float = 20.0) -> str:
    """The error of the execution's first failed Task, waiting for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in client.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]:
            if e["type"] == "TaskFailed":
                return str(e["taskFailedEventDetails"]["error"])
        time.sleep(0.05)
    raise AssertionError(f"no Task of {execution_arn} failed within {timeout}s")


def test_a_forged_execution_input_cannot_run_another_workspace_s_run(
    alice: Api, workspace: str, stack: LocalStack
) -> None:
    # Given a victim workspace with a run parked before its `after` node
    victim_ws = str(alice.ok("POST", "/v1/workspaces", {"name": f"victim-{uuid.uuid4().hex[:6]}"})["id"])
    _, victim_run = _parked_run(alice, victim_ws)
    # And an attacker's flow (in another workspace) with a node of the same id
    attacker_flow = publish(
        alice,
        workspace,
        {"nodes": [node("start", "input"), node("after", "output", value="x")], "edges": [edge("start", "after")]},
        name="attacker",
    )
    versions = alice.ok("GET", f"/v1/workspaces/{workspace}/flows/{attacker_flow}/versions")["items"]
    target = versions[0]["state_machine_version_arn"]
    orchestrator = stack.platform.orchestrator
    # When someone allowed to StartExecution starts the attacker's machine naming the victim's run
    forged = {"run": {"id": victim_run, "ws": victim_ws}, "s": {}}
    execution = orchestrator.client.start_execution(
        stateMachineArn=target, name=f"forged-{uuid.uuid4().hex[:8]}", input=json.dumps(forged)
    )["executionArn"]
    # Then its node Task fails with the refusal (its run-failed handler is refused the same way)...
    assert _task_failure(orchestrator.client, execution) == "NodeFailedError"
    orchestrator.stop(execution, "test cleanup")
    # ...and the victim's run is untouched: still RUNNING, `after` never ran
    nodes = {n["node_id"]: n for n in alice.ok("GET", f"/v1/workspaces/{victim_ws}/runs/{victim_run}/nodes")["items"]}
    assert nodes["after"]["status"] == "PENDING" and nodes["after"]["executions"] == 0
    assert alice.ok("GET", f"/v1/workspaces/{victim_ws}/runs/{victim_run}")["status"] == "RUNNING"
    alice.ok("POST", f"/v1/workspaces/{victim_ws}/runs/{victim_run}/cancel")


def test_a_direct_event_naming_another_flow_s_execution_is_refused(
    alice: Api, workspace: str, stack: LocalStack
) -> None:
    # Given a parked run and the ARN of an execution of some other state machine of its workspace
    _, run_id = _parked_run(alice, workspace)
    other = f"arn:aws:states:us-east-1:123456789012:execution:nexod-{workspace[:8]}-{uuid.uuid4()}:x"
    # When the node runner gets an event for that run sent by that execution
    event = {"run": {"id": run_id, "ws": workspace}, "exec": other, "node": "after"}
    # Then it refuses before touching the run
    with pytest.raises(NodeFailedError, match="refused"):
        run_event(event)
    nodes = {n["node_id"]: n for n in alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{run_id}/nodes")["items"]}
    assert nodes["after"]["status"] == "PENDING"
    alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{run_id}/cancel")


class _NoStore:
    def tx(self, workspace_id: str | None, user_sub: str | None = None) -> AbstractContextManager[Any]:
        raise AssertionError("the database must not be read for an event that cannot be bound")


@pytest.mark.parametrize(
    "event",
    [
        {"run": {"id": str(uuid.uuid4()), "ws": str(uuid.uuid4())}, "node": "n"},
        {"run": {"id": str(uuid.uuid4()), "ws": str(uuid.uuid4())}, "exec": "not-an-arn", "node": "n"},
        {
            "run": {"id": str(uuid.uuid4()), "ws": str(uuid.uuid4())},
            "exec": "arn:aws:lambda:r:1:function:f",
            "node": "n",
        },
    ],
)
def test_in_aws_an_event_without_its_execution_is_refused(event: dict[str, Any]) -> None:
    # Given the Lambda handler's rule (exec required: every version compiled now carries it)
    # When an event lacks a Step Functions execution ARN
    # Then it is refused without reading the database
    with pytest.raises(NodeFailedError):
        bind_execution(_NoStore(), event, required=True)  # type: ignore[arg-type]


class _CountingStore:
    """The stack's store, counting units of work; the first is held until `go` so that the others arrive
    while it reads."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.reads = 0
        self.go = threading.Event()

    def tx(self, workspace_id: str | None, user_sub: str | None = None) -> AbstractContextManager[Any]:
        self.reads += 1
        assert self.go.wait(10)
        return self.store.tx(workspace_id, user_sub)


def _bind_at_once(store: _CountingStore, event: dict[str, Any], n: int) -> list[Any]:
    answers: list[Any] = [None] * n

    def bind(i: int) -> None:
        try:
            answers[i] = bind_execution(store, event, required=True)  # type: ignore[arg-type]
        except NodeFailedError as exc:
            answers[i] = exc

    threads = [threading.Thread(target=bind, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    time.sleep(0.3)  # every thread is in: one reads (held), the others wait for its answer
    store.go.set()
    for t in threads:
        t.join(10)
    return answers


def test_the_branches_of_a_new_execution_bind_it_with_one_read(alice: Api, workspace: str, stack: LocalStack) -> None:
    # Given a parked run and its state machine's execution ARN
    flow_id, run_id = _parked_run(alice, workspace)
    machine = f"{stack.platform.settings.state_machine_prefix}-{workspace[:8]}-{flow_id}"
    event = {"run": {"id": run_id, "ws": workspace}, "exec": f"arn:aws:states:r:1:execution:{machine}:e", "node": "n"}
    # When 8 branches bind it at once
    store = _CountingStore(stack.platform.services.store)
    answers = _bind_at_once(store, event, 8)
    # Then all are bound to the run's flow version, and the run was read once
    assert answers == [(flow_id, 1)] * 8
    assert store.reads == 1
    # And an execution of another flow is refused to every one of them (each reads it: a refusal is not kept)
    other = {**event, "exec": f"arn:aws:states:r:1:execution:nexod-{workspace[:8]}-{uuid.uuid4()}:e"}
    store = _CountingStore(stack.platform.services.store)
    answers = _bind_at_once(store, other, 8)
    assert all(isinstance(a, NodeFailedError) and "refused" in str(a) for a in answers)
    assert store.reads == 8
    alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{run_id}/cancel")


@pytest.fixture(autouse=True)
def _fresh_binding_cache() -> Iterator[None]:
    from functions.steps import node_runner

    node_runner._BOUND.clear()
    yield
    node_runner._BOUND.clear()


def test_an_execution_status_event_cannot_end_another_workspace_s_run(
    alice: Api, workspace: str, stack: LocalStack
) -> None:
    from functions.steps.execution_events import reconcile_event
    from tests.support.events import execution_status_change

    # Given a victim's parked run, and an execution of another flow whose input names that run
    victim_ws = str(alice.ok("POST", "/v1/workspaces", {"name": f"victim-{uuid.uuid4().hex[:6]}"})["id"])
    _, victim_run = _parked_run(alice, victim_ws)
    forged_arn = f"arn:aws:states:us-east-1:123456789012:execution:nexod-{workspace[:8]}-{uuid.uuid4()}:forged"
    # EventBridge reports the real execution; the input is the forger's
    event = execution_status_change("ABORTED", forged_arn, {"id": victim_run, "ws": victim_ws})
    # When EventBridge delivers that execution's end
    # Then the victim's run is not touched: only the execution recorded on the run may end it
    assert reconcile_event(stack.platform.services.store, event) is False
    assert alice.ok("GET", f"/v1/workspaces/{victim_ws}/runs/{victim_run}")["status"] == "RUNNING"
    alice.ok("POST", f"/v1/workspaces/{victim_ws}/runs/{victim_run}/cancel")
