"""The node runner against the in-memory store: memoisation, edge decisions, failures and tenancy."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from nexod.runtime.errors import NodeFailedError, NodeRetryableError, RunNotActiveError
from nexod.runtime.executors import EXECUTORS, NodeResult
from nexod.runtime.runner import NodeRunner
from nexod.services import flows, runs
from tests.support.fakes import MemoryRuns
from tests.support.world import World
from tests.unit.flows import edge, node

LINE = {
    "nodes": [node("start", "input"), node("double", "transform", expression="input.n"), node("result", "output")],
    "edges": [edge("start", "double"), edge("double", "result")],
}
BRANCH = {
    "nodes": [
        node("start", "input"),
        node("check", "condition", expression="input.go"),
        node("yes", "transform", expression="'went'"),
        node("no", "transform", expression="'stayed'"),
    ],
    "edges": [edge("start", "check"), edge("check", "yes", "true"), edge("check", "no", "false")],
}


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each node's executor really ran (transform nodes)."""
    counted: Counter[str] = Counter()
    real = EXECUTORS["transform"]

    def counting(config: Any, ctx: Any, tools: Any) -> NodeResult:
        counted[ctx.node_id] += 1
        return real(config, ctx, tools)

    monkeypatch.setitem(EXECUTORS, "transform", counting)
    return counted


def test_a_finished_node_is_not_executed_again(world: World, calls: Counter[str]):
    # Given a run whose `double` node has finished
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, LINE), {"n": 21})
    first = world.runner.execute(ws, run_id, "double")
    # When Step Functions calls the runner for it again (a retried Task, a redrive)
    again = world.runner.execute(ws, run_id, "double")
    # Then the stored decision comes back as a memo hit, and the side effect ran once
    assert first == {"take": {"result": True}}
    assert again == {"take": {"result": True}, "memo": True}
    assert calls["double"] == 1
    recorded = world.nodes(ws, run_id)["double"]
    assert (recorded["status"], recorded["output"], recorded["attempts"], recorded["executions"]) == (
        "SUCCEEDED",
        21,
        2,
        1,
    )


def test_upstream_outputs_reach_the_templates_and_the_last_node_records_the_run_end(world: World):
    # Given a run of start -> double -> result
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, LINE), {"n": 4})
    # When every node runs and the last one finishes the run
    world.runner.execute(ws, run_id, "double")
    world.runner.handle({"run": {"id": run_id, "ws": ws}, "node": "result", "finish": True})
    # Then the run SUCCEEDED with the output node's value, and it was RUNNING since its first node
    run = world.run(ws, run_id)
    assert run["status"] == "SUCCEEDED"
    assert run["output"] == {"double": 4}  # an output node without a value passes its inputs on
    assert run["started_at"] is not None and run["finished_at"] is not None


def test_a_condition_takes_one_edge_and_the_other_branch_is_recorded_skipped(world: World, calls: Counter[str]):
    # Given a run whose input sends the condition down its true edge
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, BRANCH), {"go": True})
    # When the condition runs
    decided = world.runner.execute(ws, run_id, "check")
    # Then it takes `yes` and not `no`
    assert decided == {"take": {"yes": True, "no": False}}
    # And when the taken branch runs and the run finishes, the other branch never ran and shows SKIPPED
    world.runner.execute(ws, run_id, "yes")
    world.runner.finish(ws, run_id)
    nodes = world.nodes(ws, run_id)
    assert (nodes["yes"]["status"], nodes["no"]["status"]) == ("SUCCEEDED", "SKIPPED")
    assert calls == Counter({"yes": 1})
    assert world.run(ws, run_id)["status"] == "SUCCEEDED"


def test_a_failing_node_records_its_error_and_the_run_names_it(world: World, monkeypatch: pytest.MonkeyPatch):
    # Given a node whose executor fails for good
    def broken(config: Any, ctx: Any, tools: Any) -> NodeResult:
        raise NodeFailedError(f"node '{ctx.node_id}': the upstream service said no")

    monkeypatch.setitem(EXECUTORS, "transform", broken)
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, LINE), {"n": 1})
    # When it runs / Then the error reaches Step Functions (its class name is the ASL error name)
    with pytest.raises(NodeFailedError, match="the upstream service said no"):
        world.runner.execute(ws, run_id, "double")
    # And the node run is FAILED with the error, and the run-failed state names the node
    world.runner.handle({"run": {"id": run_id, "ws": ws}, "op": "fail", "error": {"Error": "NodeFailedError"}})
    nodes = world.nodes(ws, run_id)
    assert nodes["double"]["status"] == "FAILED"
    assert nodes["double"]["error"]["type"] == "NodeFailedError"
    run = world.run(ws, run_id)
    assert (run["status"], run["error"]["code"], run["error"]["node"]) == ("FAILED", "NodeFailedError", "double")


def test_an_unexpected_error_is_retryable_and_does_not_leak_its_chain(world: World, monkeypatch: pytest.MonkeyPatch):
    # Given an executor with a bug
    def buggy(config: Any, ctx: Any, tools: Any) -> NodeResult:
        raise KeyError("oops")

    monkeypatch.setitem(EXECUTORS, "transform", buggy)
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, LINE), {"n": 1})
    # When it runs / Then Step Functions sees a retryable error naming the node and the exception type
    with pytest.raises(NodeRetryableError, match="node 'double': KeyError") as raised:
        world.runner.execute(ws, run_id, "double")
    assert raised.value.__cause__ is None
    assert world.nodes(ws, run_id)["double"]["status"] == "FAILED"


def test_a_node_whose_retry_is_pending_is_retrying_with_its_next_attempt_time(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    # Given a node allowed two retries, 5 s apart doubling, that fails with a retryable error every time
    def flaky(config: Any, ctx: Any, tools: Any) -> NodeResult:
        raise NodeRetryableError(f"node '{ctx.node_id}': try again")

    monkeypatch.setitem(EXECUTORS, "transform", flaky)
    policy = {"max_attempts": 2, "interval_seconds": 5, "backoff_rate": 2.0}
    retried = {**LINE, "nodes": [{**n, "retry": policy} if n["id"] == "double" else n for n in LINE["nodes"]]}
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, retried), {"n": 1})
    waits = []
    for _ in range(2):
        # When an attempt fails while retries are left
        before = datetime.now(UTC)
        with pytest.raises(NodeRetryableError):
            world.runner.execute(ws, run_id, "double")
        # Then the node is RETRYING (not FAILED) with the time of its next attempt, from the policy
        shown = world.nodes(ws, run_id)["double"]
        assert shown["status"] == "RETRYING"
        waits.append((shown["next_attempt_at"] - before).total_seconds())
    assert 5 <= waits[0] < 6 and 10 <= waits[1] < 11  # interval, then interval * backoff
    # And the attempt after the last retry fails for good
    with pytest.raises(NodeRetryableError):
        world.runner.execute(ws, run_id, "double")
    shown = world.nodes(ws, run_id)["double"]
    assert (shown["status"], shown["attempts"]) == ("FAILED", 3)
    assert "next_attempt_at" not in shown


def test_an_error_no_retry_catches_fails_the_node_at_once_even_with_a_retry_policy(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    # Given a node with retries left whose executor fails for good (an error its Retry does not catch)
    def broken(config: Any, ctx: Any, tools: Any) -> NodeResult:
        raise NodeFailedError(f"node '{ctx.node_id}': bad request")

    monkeypatch.setitem(EXECUTORS, "transform", broken)
    retried = {
        **LINE,
        "nodes": [{**n, "retry": {"max_attempts": 3}} if n["id"] == "double" else n for n in LINE["nodes"]],
    }
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, retried), {"n": 1})
    # When it runs / Then it is FAILED, not RETRYING: Step Functions will not try again
    with pytest.raises(NodeFailedError):
        world.runner.execute(ws, run_id, "double")
    assert world.nodes(ws, run_id)["double"]["status"] == "FAILED"


def test_a_retry_wait_is_capped_by_the_policys_max_delay():
    # Given a policy whose backoff would wait 2 * 3^4 = 162 s before the fifth retry, capped at 60 s
    from nexod.domain.flow import RetryPolicy

    policy = RetryPolicy(max_attempts=5, interval_seconds=2, backoff_rate=3.0, max_delay_seconds=60)
    # When the waits are computed / Then they grow by the backoff until the cap
    assert [policy.delay_seconds(n) for n in range(5)] == [2, 6, 18, 54, 60]


def test_a_cancelled_run_refuses_to_execute_its_nodes(world: World, calls: Counter[str]):
    # Given a cancelled run
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, LINE), {"n": 1})
    runs.cancel(world.services, world.alice, ws, run_id)
    # When a node's Task arrives anyway / Then it is refused and nothing runs
    with pytest.raises(RunNotActiveError, match="is CANCELLED"):
        world.runner.execute(ws, run_id, "double")
    assert calls["double"] == 0
    assert world.nodes(ws, run_id)["double"]["status"] == "PENDING"


def test_a_run_of_another_workspace_does_not_exist_for_the_runner(world: World, calls: Counter[str]):
    # Given a run in alice's workspace and another workspace
    ws = world.workspace()
    other = world.workspace()
    run_id = world.start(ws, world.published(ws, LINE), {"n": 1})
    # When an event names the run with the other workspace / Then it does not exist there, and nothing runs
    with pytest.raises(NodeFailedError, match="does not exist in workspace"):
        world.runner.execute(other, run_id, "double")
    assert calls["double"] == 0


def test_a_node_that_ran_before_a_redrive_onto_another_version_runs_that_version(world: World, calls: Counter[str]):
    # Given a run whose `double` ran on version 1 (the runner remembers the run's version), then was cancelled
    ws = world.workspace()
    flow_id = world.published(ws, LINE)
    run_id = world.start(ws, flow_id, {"n": 3})
    world.runner.execute(ws, run_id, "double")
    runs.cancel(world.services, world.alice, ws, run_id)
    # And a version 2 whose `double` differs
    fixed = {**LINE, "nodes": [LINE["nodes"][0], node("double", "transform", expression="'v2'"), LINE["nodes"][2]]}
    flows.update(world.services, world.alice, ws, flow_id, {"definition": fixed})
    flows.publish(world.services, world.alice, ws, flow_id, "v2")
    # When the run is redriven onto version 2 and `double` runs again
    runs.redrive(world.services, world.alice, ws, run_id, version=2)
    world.runner.execute(ws, run_id, "double")
    # Then it executed again, with version 2's config (not the memo of version 1)
    assert world.nodes(ws, run_id)["double"]["output"] == "v2"
    assert calls["double"] == 2


def test_a_runner_that_never_saw_the_run_claims_without_reading_it_first(
    world: World, monkeypatch: pytest.MonkeyPatch, calls: Counter[str]
):
    # Given a run whose execution input names its flow version (the API records it when it starts one)
    ws = world.workspace()
    flow_id = world.published(ws, LINE)
    run_id = world.start(ws, flow_id, {"n": 2})
    event = {"run": world.orchestrator.started[0][2]["run"], "exec": "e", "node": "double"}
    assert event["run"] == {"id": run_id, "ws": ws, "flow": flow_id, "version": 1}
    # And a fresh runner (another Lambda container)
    fresh = NodeRunner(world.store, world.runner.tools)
    reads: list[str] = []
    real_get = MemoryRuns.get
    monkeypatch.setattr(
        MemoryRuns,
        "get",
        lambda self, run_id, for_update=False: reads.append(run_id) or real_get(self, run_id, for_update),
    )
    # When it runs the node
    fresh.handle(event)
    # Then it claimed straight away: the run was never read on its own
    assert reads == []
    assert calls["double"] == 1


def test_a_stale_version_in_the_execution_input_is_checked_and_the_runs_version_runs(world: World, calls: Counter[str]):
    # Given a run on version 1 and an event whose input claims version 2 (there is one, with another config)
    ws = world.workspace()
    flow_id = world.published(ws, LINE)
    run_id = world.start(ws, flow_id, {"n": 7})
    fixed = {**LINE, "nodes": [LINE["nodes"][0], node("double", "transform", expression="'v2'"), LINE["nodes"][2]]}
    flows.update(world.services, world.alice, ws, flow_id, {"definition": fixed})
    flows.publish(world.services, world.alice, ws, flow_id, "v2")
    # When the node runs with that hint
    world.runner.handle({"run": {"id": run_id, "ws": ws, "flow": flow_id, "version": 2}, "node": "double"})
    # Then the claim refused the hint, and the run's own version 1 ran
    assert world.nodes(ws, run_id)["double"]["output"] == 7
    assert calls["double"] == 1


@pytest.mark.parametrize("version", [9, 2])
def test_a_hint_naming_no_version_or_one_without_the_node_is_ignored(world: World, calls: Counter[str], version: int):
    # Given a run on version 1, and a version 2 without the node `double`
    ws = world.workspace()
    flow_id = world.published(ws, LINE)
    run_id = world.start(ws, flow_id, {"n": 8})
    other = {"nodes": [node("start", "input"), node("result", "output")], "edges": [edge("start", "result")]}
    flows.update(world.services, world.alice, ws, flow_id, {"definition": other})
    flows.publish(world.services, world.alice, ws, flow_id, "v2")
    # When an event's hint names a version that does not exist, or one without the node
    world.runner.handle({"run": {"id": run_id, "ws": ws, "flow": flow_id, "version": version}, "node": "double"})
    # Then the runner read the run and ran its version's node
    assert world.nodes(ws, run_id)["double"]["output"] == 8
    assert calls["double"] == 1
