"""Approvals against the in-memory ports: the parker asks, a decision settles the token once."""

from __future__ import annotations

import pytest

from nexod.domain.errors import Conflict, Forbidden, InvalidInput
from nexod.services import approvals, runs, workspaces
from nexod.services.context import Principal
from tests.support.world import World
from tests.unit.flows import edge, node

FORM = {"type": "object", "properties": {"slot": {"type": "string"}}, "required": ["slot"]}
FLOW = {
    "nodes": [node("start", "input"), node("ask", "approval", title="Ship {{ input.what }}?", form=FORM)],
    "edges": [edge("start", "ask")],
}
VERA = Principal("vera")


@pytest.fixture
def asked() -> tuple[World, str, str, str]:
    world = World()
    world.runner.tasks = world.orchestrator
    ws = world.workspace()
    workspaces.put_member(world.services, world.alice, ws, "vera", "viewer", None, None)
    run_id = world.start(ws, world.published(ws, FLOW), {"what": "v2"})
    world.runner.execute(ws, run_id, "ask", task_token="token-1")
    approval = approvals.list_approvals(world.services, world.alice, ws, "pending", run_id, None, None)["items"][0]
    return world, ws, run_id, str(approval["id"])


def test_the_parker_asks_with_the_rendered_title(asked: tuple[World, str, str, str]) -> None:
    world, ws, run_id, approval_id = asked
    got = approvals.get(world.services, world.alice, ws, approval_id)
    assert got["title"] == "Ship v2?" and got["status"] == "pending" and got["may_decide"]
    with world.store.tx(ws) as uow:
        parked = uow.parked.get(run_id, "ask")
    assert parked is not None and parked.waits_for == {"approval": approval_id}


def test_a_decision_records_the_output_then_sends_the_token_once(asked: tuple[World, str, str, str]) -> None:
    world, ws, run_id, approval_id = asked
    # A viewer is not an approver by default; fields must match the form
    with pytest.raises(Forbidden):
        approvals.decide(world.services, VERA, ws, approval_id, "approve", None, {"slot": "9am"})
    with pytest.raises(InvalidInput, match=r"fields\.slot"):
        approvals.decide(world.services, world.alice, ws, approval_id, "approve", None, {})
    decided = approvals.decide(world.services, world.alice, ws, approval_id, "approve", "go", {"slot": "9am"})
    assert decided["status"] == "approved"
    output = {"decision": "approve", "by": "alice", "comment": "go", "fields": {"slot": "9am"}}
    assert world.nodes(ws, run_id)["ask"]["output"] == output
    assert world.orchestrator.task_results == [("token-1", "success", {"take": {}})]
    with pytest.raises(Conflict):
        approvals.decide(world.services, world.alice, ws, approval_id, "reject", None, {"slot": "x"})
    assert len(world.orchestrator.task_results) == 1


def test_cancel_withdraws_the_approval(asked: tuple[World, str, str, str]) -> None:
    world, ws, run_id, approval_id = asked
    runs.cancel(world.services, world.alice, ws, run_id)
    assert approvals.get(world.services, world.alice, ws, approval_id)["status"] == "withdrawn"
    with pytest.raises(Conflict, match="withdrawn"):
        approvals.decide(world.services, world.alice, ws, approval_id, "approve", None, {"slot": "9am"})
