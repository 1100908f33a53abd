"""Approval nodes through the API (issue 11): a run waits for people, who decide exactly once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from nexod.local.boot import LocalStack
from tests.support.api import Api
from tests.support.openapi_check import CheckedApi, PublishedSchemas
from tests.unit.flows import edge, node

from .conftest import publish

FORM = {
    "type": "object",
    "properties": {"budget": {"type": "integer", "minimum": 0}, "note": {"type": "string"}},
    "required": ["budget"],
}


@pytest.fixture
def bob(stack: LocalStack, published: PublishedSchemas) -> Api:
    """A member of the team (not the seeded bob, whose workspaces other tests count)."""
    return CheckedApi(stack.url, stack.platform.issuer.token("ben"), published)


@pytest.fixture
def vera(stack: LocalStack, published: PublishedSchemas) -> Api:
    """A viewer of the team."""
    return CheckedApi(stack.url, stack.platform.issuer.token("vic"), published)


@pytest.fixture
def team(alice: Api, workspace: str) -> str:
    """Alice's workspace with ben as a member and vic as a viewer."""
    alice.ok("PUT", f"/v1/workspaces/{workspace}/members/local|ben", {"role": "member"})
    alice.ok("PUT", f"/v1/workspaces/{workspace}/members/local|vic", {"role": "viewer"})
    return workspace


@pytest.fixture
def carol(stack: LocalStack, published: PublishedSchemas) -> Api:
    """A user of Nexod who is not a member of the team's workspace."""
    return CheckedApi(stack.url, stack.platform.issuer.token("carol"), published)


def approval_flow(**config: Any) -> dict[str, Any]:
    """input -> approval -> (ship | stop) -> output of the approval."""
    gate = {"title": "Ship {{ input.what }}?", "message": "Please check **{{ input.what }}**.", **config}
    return {
        "nodes": [
            node("start", "input"),
            node("gate", "approval", **gate),
            node("ship", "transform", expression="'shipped'"),
            node("stop", "transform", expression="'stopped'"),
            node("end", "output", value="{{ nodes.gate.output }}"),
        ],
        "edges": [
            edge("start", "gate"),
            edge("gate", "ship", "output.decision == 'approve'"),
            edge("gate", "stop", "output.decision == 'reject'"),
            edge("gate", "end"),
        ],
    }


def start(api: Api, ws: str, flow_id: str) -> str:
    status, started = api.call("POST", f"/v1/workspaces/{ws}/flows/{flow_id}/runs", {"input": {"what": "v2"}})
    assert status == 202, started
    return str(started["id"])


def pending(api: Api, ws: str, run_id: str, timeout: float = 30) -> dict[str, Any]:
    """The run's approval once it is requested (as listed for `api`'s user)."""
    deadline = time.monotonic() + timeout
    while True:
        items = api.ok("GET", f"/v1/workspaces/{ws}/approvals?status=pending&run={run_id}")["items"]
        if items:
            return dict(items[0])
        assert time.monotonic() < deadline, f"no pending approval for run {run_id}"
        time.sleep(0.05)


def test_an_approver_approves_with_a_comment_and_form_fields_and_the_run_finishes_with_them(
    alice: Api, bob: Api, vera: Api, carol: Api, team: str
) -> None:
    # Given a run waiting at an approval with a form
    flow_id = publish(alice, team, approval_flow(form=FORM), name="ship")
    run_id = start(alice, team, flow_id)
    asked = pending(bob, team, run_id)
    # Then bob (a member: members and admins decide by default) sees it rendered, decidable, with its form
    assert asked["title"] == "Ship v2?" and asked["message"] == "Please check **v2**."
    assert asked["may_decide"] and asked["form"] == FORM and asked["status"] == "pending"
    assert alice.nodes(team, run_id)["gate"]["status"] == "RUNNING"
    path = f"/v1/workspaces/{team}/approvals/{asked['id']}"
    # And vera (a viewer) neither sees it among hers nor may decide it; carol (another workspace) gets 404
    assert vera.ok("GET", f"/v1/workspaces/{team}/approvals?run={run_id}")["items"] == []
    status, body = vera.call("POST", f"{path}/decide", {"decision": "approve", "fields": {"budget": 1}})
    assert status == 403, body
    assert carol.call("POST", f"{path}/decide", {"decision": "approve", "fields": {"budget": 1}})[0] == 404
    assert carol.call("GET", path)[0] == 404
    # And invalid fields are a 422 naming the field
    status, body = bob.call("POST", f"{path}/decide", {"decision": "approve", "fields": {"budget": -5}})
    assert status == 422 and body["error"]["details"] == {"field": "fields.budget"}, body
    status, body = bob.call("POST", f"{path}/decide", {"decision": "approve", "fields": {}})
    assert status == 422 and body["error"]["details"] == {"field": "fields.budget"}, body
    # When bob approves with a comment and the fields
    decided = bob.ok(
        "POST", f"{path}/decide", {"decision": "approve", "comment": "go", "fields": {"budget": 5, "note": "ok"}}
    )
    # Then the approval is approved, a second decision is a conflict, and the run finishes with the fields
    assert decided["status"] == "approved" and not decided["may_decide"]
    assert alice.call("POST", f"{path}/decide", {"decision": "reject", "fields": {"budget": 0}})[0] == 409
    finished = alice.wait_run(team, run_id)
    assert finished["status"] == "SUCCEEDED", finished
    assert finished["output"] == {
        "decision": "approve",
        "by": "local|ben",
        "comment": "go",
        "fields": {"budget": 5, "note": "ok"},
    }
    nodes = alice.nodes(team, run_id)
    assert nodes["ship"]["status"] == "SUCCEEDED" and nodes["stop"]["status"] == "SKIPPED"
    # And the request and the decision are in the audit log
    actions = [e["action"] for e in alice.ok("GET", f"/v1/workspaces/{team}/audit?action=approval.")["items"]]
    assert "approval.decide" in actions and "approval.request" in actions
    assert (
        alice.ok("GET", f"/v1/workspaces/{team}/approvals?status=decided&flow={flow_id}")["items"][0]["id"]
        == (asked["id"])
    )


def test_a_rejection_takes_the_reject_branch(alice: Api, bob: Api, team: str) -> None:
    flow_id = publish(alice, team, approval_flow(), name="reject")
    run_id = start(alice, team, flow_id)
    asked = pending(bob, team, run_id)
    bob.ok("POST", f"/v1/workspaces/{team}/approvals/{asked['id']}/decide", {"decision": "reject", "comment": "no"})
    finished = alice.wait_run(team, run_id)
    assert finished["status"] == "SUCCEEDED" and finished["output"]["decision"] == "reject"
    nodes = alice.nodes(team, run_id)
    assert nodes["stop"]["status"] == "SUCCEEDED" and nodes["ship"]["status"] == "SKIPPED"


def test_two_required_approvals_wait_for_a_second_approver(alice: Api, bob: Api, team: str) -> None:
    flow_id = publish(alice, team, approval_flow(required_approvals=2), name="two")
    run_id = start(alice, team, flow_id)
    asked = pending(bob, team, run_id)
    path = f"/v1/workspaces/{team}/approvals/{asked['id']}/decide"
    # When bob approves, the approval stays pending and bob may not approve again
    assert bob.ok("POST", path, {"decision": "approve"})["status"] == "pending"
    assert bob.call("POST", path, {"decision": "approve"})[0] == 409
    assert alice.ok("GET", f"/v1/workspaces/{team}/runs/{run_id}")["status"] == "RUNNING"
    # And alice's approval settles it
    assert alice.ok("POST", path, {"decision": "approve"})["status"] == "approved"
    assert alice.wait_run(team, run_id)["output"]["decision"] == "approve"


@pytest.mark.parametrize(
    ("on_timeout", "run_status", "decision"),
    [("reject", "SUCCEEDED", "reject"), ("approve", "SUCCEEDED", "approve"), ("fail", "FAILED", None)],
)
def test_an_approval_nobody_decides_in_time_follows_its_timeout_policy(
    alice: Api, bob: Api, team: str, on_timeout: str, run_status: str, decision: str | None
) -> None:
    # Given an approval with a 1 s deadline
    flow_id = publish(alice, team, approval_flow(timeout_seconds=1, on_timeout=on_timeout), name="late")
    run_id = start(alice, team, flow_id)
    # When nobody decides
    finished = alice.wait_run(team, run_id, timeout=30)
    # Then the policy decides the run, the approval reads expired and can no longer be decided
    assert finished["status"] == run_status, finished
    approval = alice.ok("GET", f"/v1/workspaces/{team}/approvals?run={run_id}")["items"][0]
    assert approval["status"] == "expired"
    gate = alice.nodes(team, run_id)["gate"]
    if decision is None:
        assert gate["status"] == "FAILED" and "on_timeout: fail" in gate["error"]["message"]
    else:
        assert gate["status"] == "SUCCEEDED" and gate["output"]["decision"] == decision
        assert gate["output"]["by"] == "timeout"
    status, _ = bob.call("POST", f"/v1/workspaces/{team}/approvals/{approval['id']}/decide", {"decision": "approve"})
    assert status == 409


def test_cancelling_the_run_withdraws_its_pending_approval(alice: Api, bob: Api, team: str) -> None:
    flow_id = publish(alice, team, approval_flow(), name="withdraw")
    run_id = start(alice, team, flow_id)
    asked = pending(bob, team, run_id)
    alice.ok("POST", f"/v1/workspaces/{team}/runs/{run_id}/cancel")
    path = f"/v1/workspaces/{team}/approvals/{asked['id']}"
    assert bob.ok("GET", path)["status"] == "withdrawn"
    assert bob.call("POST", f"{path}/decide", {"decision": "approve"})[0] == 409


def test_twenty_concurrent_decisions_one_wins_nineteen_conflict_one_task_success(
    alice: Api, bob: Api, team: str, stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a pending approval and the task results sent through the orchestrator counted
    callbacks = stack.platform.services.callbacks
    real = callbacks.orchestrator
    assert real is not None
    sent: list[str] = []
    send = real.send_task_success

    def counting(task_token: str, output: dict[str, Any]) -> None:
        sent.append(task_token)
        send(task_token, output)

    monkeypatch.setattr(real, "send_task_success", counting)
    flow_id = publish(alice, team, approval_flow(), name="race")
    run_id = start(alice, team, flow_id)
    asked = pending(bob, team, run_id)
    path = f"/v1/workspaces/{team}/approvals/{asked['id']}/decide"
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def decide(api: Api, i: int) -> None:
        barrier.wait()
        status, _ = api.call("POST", path, {"decision": "approve", "comment": f"#{i}"})
        with lock:
            statuses.append(status)

    # When alice and bob send twenty decisions at once
    threads = [threading.Thread(target=decide, args=(alice if i % 2 else bob, i)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # Then exactly one is recorded, nineteen get 409, and one SendTaskSuccess was sent
    assert sorted(statuses) == [200] + [409] * 19, statuses
    assert len(sent) == 1
    assert alice.wait_run(team, run_id)["status"] == "SUCCEEDED"
    assert len(alice.ok("GET", f"/v1/workspaces/{team}/approvals/{asked['id']}")["decisions"]) == 1
