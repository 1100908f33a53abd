"""The `callback` ASL shape end to end under moto: a kind registered only in these tests parks its task token,
nothing runs while it waits, and `CallbackCompletions` ends it exactly once (issue 8's registry, issue 11's
approvals and issue 10's agents build on it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexod.domain.errors import Conflict
from nexod.domain.records import ParkedTask
from nexod.local.boot import LocalStack
from nexod.ports import Orchestrator
from nexod.runtime.callbacks import CallbackCompletions
from nexod.runtime.errors import NodeFailedError, NodeRetryableError
from tests.support.api import Api
from tests.support.hold_kind import HEARTBEAT_SECONDS, TRIP, callback_kinds
from tests.unit.flows import edge, node

from .conftest import publish


@pytest.fixture(autouse=True)
def kinds() -> Iterator[None]:
    with callback_kinds():
        yield


def parked(stack: LocalStack, ws: str, run_id: str, node_id: str = "hold") -> ParkedTask | None:
    with stack.platform.services.store.tx(ws) as uow:
        return uow.parked.get(run_id, node_id)


def wait_parked(
    stack: LocalStack, ws: str, run_id: str, node_id: str = "hold", attempt: int = 1, timeout: float = 30
) -> ParkedTask:
    """Until the node's token is parked by its `attempt`-th claim."""
    deadline = time.monotonic() + timeout
    while True:
        found = parked(stack, ws, run_id, node_id)
        if found is not None and found.status == "PARKED" and found.attempt >= attempt:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"node {node_id} of run {run_id} not parked (attempt {attempt}): {found}")
        time.sleep(0.05)


def start(api: Api, ws: str, flow_id: str, run_input: dict[str, Any] | None = None) -> str:
    body = {"input": run_input or {"why": "a test"}}
    status, started = api.call("POST", f"/v1/workspaces/{ws}/flows/{flow_id}/runs", body)
    assert status == 202, started
    return str(started["id"])


def hold_flow(**hold: Any) -> dict[str, Any]:
    """input -> hold -> output (the output reads what the completion recorded)."""
    hold_node = {**node("hold", "hold", reason="{{ input.why }}"), **hold}
    return {
        "nodes": [node("start", "input"), hold_node, node("end", "output", value="{{ nodes.hold.output.answer }}")],
        "edges": [edge("start", "hold"), edge("hold", "end")],
    }


class CountingOrchestrator:
    """The local orchestrator, counting the task results sent through it."""

    def __init__(self, inner: Orchestrator) -> None:
        self.inner = inner
        self.sent: list[str] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def send_task_success(self, task_token: str, output: dict[str, Any]) -> None:
        with self._lock:
            self.sent.append("success")
        self.inner.send_task_success(task_token, output)


def completions(stack: LocalStack) -> CallbackCompletions:
    return stack.platform.services.callbacks


def test_a_callback_node_parks_its_token_holds_no_busy_thread_and_a_completion_finishes_the_run(
    alice: Api, workspace: str, stack: LocalStack
) -> None:
    # Given a flow whose middle node is a callback kind registered only in this test
    flow_id = publish(alice, workspace, hold_flow(), name="hold")
    version = alice.ok("GET", f"/v1/workspaces/{workspace}/flows/{flow_id}/versions/1")
    task = version["asl"]["States"]["hold"]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    # When a run starts
    run_id = start(alice, workspace, flow_id, {"why": "sign-off"})
    token = wait_parked(stack, workspace, run_id)
    # Then its token is parked with what it waits for, the node is RUNNING and the run waits
    assert token.waits_for == {"reason": "sign-off", "claim": 1} and token.task_token
    assert alice.nodes(workspace, run_id)["hold"]["status"] == "RUNNING"
    # And while it waits the process does (almost) nothing: no thread polls for the token
    cpu = time.process_time()
    time.sleep(2.0)
    assert time.process_time() - cpu < 0.25
    assert alice.ok("GET", f"/v1/workspaces/{workspace}/runs/{run_id}")["status"] == "RUNNING"
    # When the completion service completes the node with an output
    done = completions(stack).complete(workspace, run_id, "hold", output={"answer": 42}, by="tester")
    # Then the token went back, the run finishes with that output, and the node recorded it once
    assert done.delivered and done.status == "SUCCEEDED"
    finished = alice.wait_run(workspace, run_id)
    assert finished["status"] == "SUCCEEDED", finished
    assert finished["output"] == 42
    hold = alice.nodes(workspace, run_id)["hold"]
    assert hold["status"] == "SUCCEEDED" and hold["output"] == {"answer": 42} and hold["executions"] == 1
    assert hold["compute_cost_usd"] == 0  # nothing computed while it waited
    settled = parked(stack, workspace, run_id)
    assert settled is not None and settled.status == "COMPLETED" and settled.closed_by == "tester"


def test_edges_branch_on_a_completed_output(alice: Api, workspace: str, stack: LocalStack) -> None:
    # Given a callback node whose edges read its output
    definition = {
        "nodes": [
            node("start", "input"),
            node("hold", "hold"),
            node("yes", "transform", expression="'approved'"),
            node("no", "transform", expression="'rejected'"),
        ],
        "edges": [
            edge("start", "hold"),
            edge("hold", "yes", "output.decision == 'approve'"),
            edge("hold", "no", "output.decision == 'reject'"),
        ],
    }
    flow_id = publish(alice, workspace, definition, name="branch")
    run_id = start(alice, workspace, flow_id)
    wait_parked(stack, workspace, run_id)
    # When it is completed with a rejection
    done = completions(stack).complete(workspace, run_id, "hold", output={"decision": "reject"})
    # Then only the reject branch ran
    assert done.take == {"yes": False, "no": True}
    assert alice.wait_run(workspace, run_id)["status"] == "SUCCEEDED"
    nodes = alice.nodes(workspace, run_id)
    assert nodes["no"]["status"] == "SUCCEEDED" and nodes["yes"]["status"] == "SKIPPED"


def test_a_typed_failure_fails_the_node_and_the_run(alice: Api, workspace: str, stack: LocalStack) -> None:
    # Given a parked node
    flow_id = publish(alice, workspace, hold_flow(), name="fail")
    run_id = start(alice, workspace, flow_id)
    wait_parked(stack, workspace, run_id)
    # When its completer reports a failure retrying cannot fix
    done = completions(stack).complete(workspace, run_id, "hold", error=NodeFailedError("node 'hold': refused"))
    # Then the node and the run fail with it, and the token is settled as FAILED
    assert done.status == "FAILED" and done.delivered
    finished = alice.wait_run(workspace, run_id)
    assert finished["status"] == "FAILED" and finished["error"]["code"] == "NodeFailedError"
    hold = alice.nodes(workspace, run_id)["hold"]
    assert hold["status"] == "FAILED" and hold["error"]["message"] == "node 'hold': refused"
    assert (settled := parked(stack, workspace, run_id)) is not None and settled.status == "FAILED"


def test_a_retryable_failure_parks_again_under_the_retry_policy(alice: Api, workspace: str, stack: LocalStack) -> None:
    # Given a callback node with one retry
    flow_id = publish(alice, workspace, hold_flow(retry={"max_attempts": 1, "interval_seconds": 1}), name="retry")
    run_id = start(alice, workspace, flow_id)
    first = wait_parked(stack, workspace, run_id)
    # When its completer reports a retryable failure
    completions(stack).complete(workspace, run_id, "hold", error=NodeRetryableError("node 'hold': try again"))
    # Then Step Functions retries the Task: the node parks again with a new token, and completing that one
    # finishes the run
    second = wait_parked(stack, workspace, run_id, attempt=2)
    assert second.task_token != first.task_token
    completions(stack).complete(workspace, run_id, "hold", output={"answer": "second time"})
    finished = alice.wait_run(workspace, run_id)
    assert finished["status"] == "SUCCEEDED" and finished["output"] == "second time"
    assert alice.nodes(workspace, run_id)["hold"]["executions"] == 2


def test_a_timed_out_node_retries_then_fails_the_run_and_is_never_left_running(
    alice: Api, workspace: str, stack: LocalStack
) -> None:
    # Given a callback node with a 1 s timeout and one retry
    definition = hold_flow(timeout_seconds=1, retry={"max_attempts": 1, "interval_seconds": 1})
    flow_id = publish(alice, workspace, definition, name="timeout")
    run_id = start(alice, workspace, flow_id)
    first = wait_parked(stack, workspace, run_id)
    # When nobody completes it
    # Then it times out, is retried (parked again with a new token), times out again, and the run fails
    second = wait_parked(stack, workspace, run_id, attempt=2)
    assert second.task_token != first.task_token
    finished = alice.wait_run(workspace, run_id, timeout=30)
    assert finished["status"] == "FAILED" and finished["error"]["code"] == "States.Timeout", finished
    hold = alice.nodes(workspace, run_id)["hold"]
    assert hold["status"] == "FAILED" and hold["attempts"] == 2
    assert (closed := parked(stack, workspace, run_id)) is not None and closed.status == "EXPIRED"
    # And a completion that comes too late is refused
    with pytest.raises(Conflict, match="no longer waits: EXPIRED"):
        completions(stack).complete(workspace, run_id, "hold", output={"answer": "late"})


def test_a_timed_out_node_that_lets_its_flow_continue_is_recorded_failed(
    alice: Api, workspace: str, stack: LocalStack
) -> None:
    # Given a callback node with a 1 s timeout whose flow continues without it
    definition = hold_flow(timeout_seconds=1, on_error="continue")
    definition["nodes"][2]["config"] = {"value": "done anyway"}
    flow_id = publish(alice, workspace, definition, name="continue")
    # When it times out
    run_id = start(alice, workspace, flow_id)
    finished = alice.wait_run(workspace, run_id, timeout=30)
    # Then the run succeeds and the node is FAILED (timed out), not RUNNING forever, its token expired
    assert finished["status"] == "SUCCEEDED", finished
    hold = alice.nodes(workspace, run_id)["hold"]
    assert hold["status"] == "FAILED" and hold["error"]["type"] == "States.Timeout"
    assert (closed := parked(stack, workspace, run_id)) is not None and closed.status == "EXPIRED"


def test_heartbeats_keep_a_node_alive_and_a_silent_completer_times_it_out(
    alice: Api, workspace: str, stack: LocalStack
) -> None:
    # Given a callback kind with HeartbeatSeconds
    definition = hold_flow()
    definition["nodes"][1] = node("hold", "beat")
    definition["nodes"][2]["config"] = {"value": "{{ nodes.hold.output }}"}
    flow_id = publish(alice, workspace, definition, name="heartbeat")
    version = alice.ok("GET", f"/v1/workspaces/{workspace}/flows/{flow_id}/versions/1")
    assert version["asl"]["States"]["hold"]["HeartbeatSeconds"] == HEARTBEAT_SECONDS
    run_id = start(alice, workspace, flow_id)
    wait_parked(stack, workspace, run_id)
    # When its completer sends a heartbeat every half interval for twice the interval
    for _ in range(4):
        time.sleep(HEARTBEAT_SECONDS / 2)
        beat = completions(stack).heartbeat(workspace, run_id, "hold")
        assert beat.heartbeat_at is not None
    # Then the node is still parked on its first claim, and completing it finishes the run
    assert (still := parked(stack, workspace, run_id)) is not None and still.attempt == 1 and still.status == "PARKED"
    completions(stack).complete(workspace, run_id, "hold", output="alive")
    assert alice.wait_run(workspace, run_id)["output"] == "alive"
    # And when a completer goes silent, the node times out by heartbeat and the run fails
    silent = start(alice, workspace, flow_id)
    wait_parked(stack, workspace, silent)
    finished = alice.wait_run(workspace, silent, timeout=HEARTBEAT_SECONDS * 5)
    assert finished["status"] == "FAILED" and "Timeout" in finished["error"]["code"], finished
    assert alice.nodes(workspace, silent)["hold"]["status"] == "FAILED"
    with pytest.raises(Conflict):
        completions(stack).heartbeat(workspace, silent, "hold")


def test_cancelling_a_run_withdraws_its_parked_token(alice: Api, workspace: str, stack: LocalStack) -> None:
    # Given a parked node
    flow_id = publish(alice, workspace, hold_flow(), name="cancel")
    run_id = start(alice, workspace, flow_id)
    wait_parked(stack, workspace, run_id)
    # When the run is cancelled
    cancelled = alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{run_id}/cancel")
    # Then its token is withdrawn, the node is not left running, and a completion gets a conflict
    assert cancelled["status"] == "CANCELLED"
    assert (closed := parked(stack, workspace, run_id)) is not None and closed.status == "WITHDRAWN"
    assert alice.nodes(workspace, run_id)["hold"]["status"] == "FAILED"
    with pytest.raises(Conflict, match="WITHDRAWN"):
        completions(stack).complete(workspace, run_id, "hold", output={"answer": 1})


def test_a_redriven_run_completes_a_finished_callback_node_from_its_memo(
    alice: Api, workspace: str, stack: LocalStack
) -> None:
    # Given a run whose callback node was completed and whose next node then failed
    definition = {
        "nodes": [
            node("start", "input"),
            node("hold", "hold"),
            node("trip", "trip"),
            node("end", "output", value="{{ nodes.hold.output.answer }}"),
        ],
        "edges": [edge("start", "hold"), edge("hold", "trip"), edge("trip", "end")],
    }
    flow_id = publish(alice, workspace, definition, name="redrive")
    TRIP["armed"] = True
    run_id = start(alice, workspace, flow_id)
    first = wait_parked(stack, workspace, run_id)
    counting = CountingOrchestrator(stack.platform.services.orchestrator)
    CallbackCompletions(stack.platform.services.store, counting).complete(
        workspace, run_id, "hold", output={"answer": 7}
    )
    assert alice.wait_run(workspace, run_id)["status"] == "FAILED"
    # When it is redriven
    TRIP["armed"] = False
    alice.ok("POST", f"/v1/workspaces/{workspace}/runs/{run_id}/redrive", {})
    # Then the callback node's new Task completes at once from the memo: no second completion, no new park
    finished = alice.wait_run(workspace, run_id)
    assert finished["status"] == "SUCCEEDED" and finished["output"] == 7, finished
    hold = alice.nodes(workspace, run_id)["hold"]
    assert hold["executions"] == 1 and hold["attempts"] == 2
    settled = parked(stack, workspace, run_id)
    assert settled is not None and settled.status == "COMPLETED" and settled.task_token == first.task_token
    assert counting.sent == ["success"]


def test_twenty_concurrent_completions_one_wins_and_one_task_success_is_sent(
    alice: Api, workspace: str, stack: LocalStack
) -> None:
    # Given a parked node and a completion service whose task results are counted
    flow_id = publish(alice, workspace, hold_flow(), name="race")
    run_id = start(alice, workspace, flow_id)
    wait_parked(stack, workspace, run_id)
    counting = CountingOrchestrator(stack.platform.services.orchestrator)
    service = CallbackCompletions(stack.platform.services.store, counting)
    barrier = threading.Barrier(20)
    results: list[str] = []
    lock = threading.Lock()

    def decide(i: int) -> None:
        barrier.wait()
        try:
            service.complete(workspace, run_id, "hold", output={"answer": i}, by=f"user-{i}")
            outcome = f"won:{i}"
        except Conflict:
            outcome = "conflict"
        with lock:
            results.append(outcome)

    # When twenty completions race
    threads = [threading.Thread(target=decide, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # Then exactly one wins, nineteen get a conflict, and one SendTaskSuccess is sent
    winners = [r for r in results if r.startswith("won:")]
    assert len(winners) == 1 and results.count("conflict") == 19, results
    assert counting.sent == ["success"]
    finished = alice.wait_run(workspace, run_id)
    assert finished["status"] == "SUCCEEDED" and finished["output"] == int(winners[0].split(":")[1])
    assert alice.nodes(workspace, run_id)["hold"]["executions"] == 1


def test_a_run_waiting_on_a_callback_survives_a_restart_of_local_mode(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{root / 'layers'}:{root}"}

    def life(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "tests.support.parked_restart", str(tmp_path / "state"), *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    # Given a run parked on a callback node when `nexod up` stops (its moto execution is gone with it)
    first = life("park")
    # When local mode starts again on the same state and the node is completed
    second = life("complete", first["ws"], first["run"])
    # Then the run was resumed, not interrupted: its node parked again with a new token and the completion
    # finished the run
    assert second["status_at_start"] == "RUNNING"
    assert second["token"] != first["token"] and second["delivered"]
    assert second["status"] == "SUCCEEDED" and second["output"] == {"decided": "after restart"}
