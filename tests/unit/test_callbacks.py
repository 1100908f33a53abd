"""Callback nodes against the in-memory ports: parking, completing exactly once, memo hits, withdrawal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nexod.domain.errors import Conflict, NotFound
from nexod.runtime.callbacks import CallbackCompletions
from nexod.runtime.errors import NodeFailedError
from nexod.services import runs
from tests.support.hold_kind import callback_kinds
from tests.support.world import World
from tests.unit.flows import edge, node

FLOW = {
    "nodes": [node("start", "input"), node("hold", "hold", reason="{{ input.why }}"), node("end", "output", value="x")],
    "edges": [edge("start", "hold"), edge("hold", "end")],
}


@pytest.fixture(autouse=True)
def kinds() -> Iterator[None]:
    with callback_kinds():
        yield


@pytest.fixture
def world() -> World:
    w = World()
    w.runner.tasks = w.orchestrator
    return w


def test_the_runner_parks_the_token_in_the_claim_and_returns(world: World) -> None:
    # Given a run at its callback node
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, FLOW), {"why": "review"})
    # When the node's Task reaches the runner with its token
    answer = world.runner.execute(ws, run_id, "hold", task_token="token-1")
    # Then the token is parked beside what the node waits for, and the node is RUNNING with one execution
    assert answer == {"parked": True}
    with world.store.tx(ws) as uow:
        parked = uow.parked.get(run_id, "hold")
    assert parked is not None and parked.status == "PARKED" and parked.task_token == "token-1"
    assert parked.waits_for == {"reason": "review", "claim": 1} and parked.attempt == 1
    hold = world.nodes(ws, run_id)["hold"]
    assert hold["status"] == "RUNNING" and hold["executions"] == 1
    assert world.orchestrator.task_results == []


def test_a_callback_task_without_a_token_fails_saying_to_publish_again(world: World) -> None:
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, FLOW), {"why": "x"})
    with pytest.raises(NodeFailedError, match="sent no task token: publish the flow again"):
        world.runner.execute(ws, run_id, "hold")
    assert world.nodes(ws, run_id)["hold"]["status"] == "FAILED"


def test_a_completion_records_first_then_sends_and_a_second_one_conflicts(world: World) -> None:
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, FLOW), {"why": "x"})
    world.runner.execute(ws, run_id, "hold", task_token="token-1")
    service = CallbackCompletions(world.store, world.orchestrator)
    # When it is completed
    done = service.complete(ws, run_id, "hold", output={"ok": True}, by="alice")
    # Then the node run holds the output and decisions, and the token went back with the decisions only
    assert done.delivered and done.take == {"end": True}
    hold = world.nodes(ws, run_id)["hold"]
    assert hold["status"] == "SUCCEEDED" and hold["output"] == {"ok": True}
    assert world.orchestrator.task_results == [("token-1", "success", {"take": {"end": True}})]
    # And a second completion is a conflict that sends nothing
    with pytest.raises(Conflict, match="no longer waits: COMPLETED"):
        service.complete(ws, run_id, "hold", output={"ok": False})
    assert len(world.orchestrator.task_results) == 1
    # And a node that never parked is not found
    with pytest.raises(NotFound):
        service.complete(ws, run_id, "end", output=1)


def test_a_memo_hit_completes_the_new_token_at_once(world: World) -> None:
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, FLOW), {"why": "x"})
    world.runner.execute(ws, run_id, "hold", task_token="token-1")
    CallbackCompletions(world.store, world.orchestrator).complete(ws, run_id, "hold", output=1)
    # When the Task runs again (a redrive, a retry after the attempt finished) with a new token
    answer = world.runner.execute(ws, run_id, "hold", task_token="token-2")
    # Then nothing parks or executes again: the new token is completed with the recorded decisions
    assert answer == {"take": {"end": True}, "memo": True}
    assert world.orchestrator.task_results[-1] == ("token-2", "success", {"take": {"end": True}})
    assert world.nodes(ws, run_id)["hold"]["executions"] == 1


def test_a_lost_send_is_recorded_all_the_same(world: World) -> None:
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, FLOW), {"why": "x"})
    world.runner.execute(ws, run_id, "hold", task_token="token-1")
    world.orchestrator.gone_tokens.add("token-1")  # the Task timed out meanwhile
    done = CallbackCompletions(world.store, world.orchestrator).complete(ws, run_id, "hold", output=1)
    assert not done.delivered and world.nodes(ws, run_id)["hold"]["status"] == "SUCCEEDED"


def test_cancel_withdraws_parked_tokens_and_names_them_in_the_audit(world: World) -> None:
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, FLOW), {"why": "x"})
    world.runner.execute(ws, run_id, "hold", task_token="token-1")
    runs.cancel(world.services, world.alice, ws, run_id)
    with world.store.tx(ws) as uow:
        parked = uow.parked.get(run_id, "hold")
    assert parked is not None and parked.status == "WITHDRAWN"
    assert world.store.tables.audit[-1].details == {"withdrawn": ["hold"]}
    with pytest.raises(Conflict, match="WITHDRAWN"):
        CallbackCompletions(world.store, world.orchestrator).complete(ws, run_id, "hold", output=1)


def test_a_restart_resumes_a_run_that_was_only_waiting_and_interrupts_the_others(world: World) -> None:
    ws = world.workspace()
    flow_id = world.published(ws, FLOW)
    waiting = world.start(ws, flow_id, {"why": "x"})
    world.runner.execute(ws, waiting, "hold", task_token="token-1")
    busy = world.start(
        ws, world.published(ws, {"nodes": [node("start", "input"), node("t")], "edges": [edge("start", "t")]})
    )
    with world.store.tx(ws) as uow:  # a node caught mid-execution by the restart
        uow.node_runs.claim(
            busy, "t", 0, "transform", "h", flow_id=world.run(ws, busy)["flow_id"], version=1, upstream=[]
        )
    started = len(world.orchestrator.started)
    # When local mode starts again
    interrupted = runs.interrupt_in_flight(world.services, ws)
    # Then the waiting run is resumed on a new execution, still RUNNING and parked; the other is interrupted
    assert interrupted == 1
    assert world.run(ws, waiting)["status"] == "RUNNING" and world.run(ws, busy)["status"] == "FAILED"
    assert [name for _, name, _ in world.orchestrator.started[started:]] == [f"{waiting}-r2"]


@pytest.mark.parametrize(
    ("ended", "closed"), [("TIMED_OUT", "EXPIRED"), ("ABORTED", "WITHDRAWN"), ("FAILED", "WITHDRAWN")]
)
def test_an_execution_that_ends_abnormally_closes_its_parked_tokens(world: World, ended: str, closed: str) -> None:
    # Given a run parked on a callback node
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, FLOW), {"why": "x"})
    world.runner.execute(ws, run_id, "hold", task_token="token-1")
    with world.store.tx(ws) as uow:
        found = uow.runs.get(run_id)
    assert found is not None and found.execution_arn
    # When the execution-events handler (or local mode's watcher) reconciles its abnormal end
    assert runs.reconcile(world.store, ws, run_id, ended, found.execution_arn)
    # Then the node is not left RUNNING and its token is closed, so a completion gets a conflict
    with world.store.tx(ws) as uow:
        parked = uow.parked.get(run_id, "hold")
    assert parked is not None and parked.status == closed
    assert world.nodes(ws, run_id)["hold"]["status"] == "FAILED"
    with pytest.raises(Conflict):
        CallbackCompletions(world.store, world.orchestrator).complete(ws, run_id, "hold", output=1)
