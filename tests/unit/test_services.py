"""Use cases behind the API against the in-memory store and orchestrator: flows, versions, runs, tenancy."""

from __future__ import annotations

import pytest

from nexod.domain.actor import SystemActor, TriggerActor
from nexod.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from nexod.services import flows, runs, workspaces
from nexod.services.context import Principal
from tests.support.world import World
from tests.unit.flows import edge, node

LINE = {
    "nodes": [node("start", "input"), node("work", "transform", expression="input.n"), node("result", "output")],
    "edges": [edge("start", "work"), edge("work", "result")],
}
BOB = Principal("bob")


@pytest.fixture
def world() -> World:
    return World()


# -- flows and versions -------------------------------------------------------------------------------
def test_a_created_flow_is_a_canonical_draft_with_no_version(world: World):
    # Given a workspace
    ws = world.workspace()
    # When alice creates a flow
    created = flows.create(world.services, world.alice, ws, "line", "a line", LINE)
    # Then it reads back as a draft: no version yet, nothing published
    got = flows.get(world.services, world.alice, ws, str(created["id"]))
    assert (got["name"], got["live_version"], got["latest_version"]) == ("line", None, 0)
    assert [n["id"] for n in got["definition"]["nodes"]] == ["start", "work", "result"]
    assert world.orchestrator.published == []


def test_publishing_freezes_the_draft_publishes_a_machine_version_and_moves_live(world: World):
    # Given a flow
    ws = world.workspace()
    flow_id = str(flows.create(world.services, world.alice, ws, "line", "", LINE)["id"])
    # When it is published twice, the draft changing in between
    first = flows.publish(world.services, world.alice, ws, flow_id, "first")
    changed = {**LINE, "nodes": [LINE["nodes"][0], node("work", "transform", expression="'x'"), LINE["nodes"][2]]}
    flows.update(world.services, world.alice, ws, flow_id, {"definition": changed})
    second = flows.publish(world.services, world.alice, ws, flow_id, "second")
    # Then each is a version of its own with its compiled state machine, and live follows the latest
    assert (first["version"], second["version"]) == (1, 2)
    assert first["config_hash"] != second["config_hash"]
    assert second["asl"]["StartAt"]
    assert len(world.orchestrator.published) == 2
    machine = next(iter(world.orchestrator.live))
    assert world.orchestrator.live[machine] == second["state_machine_version_arn"]
    listed = flows.list_versions(world.services, world.alice, ws, flow_id)["items"]
    assert [(v["version"], v["is_live"]) for v in listed] == [(2, True), (1, False)]


def test_publishing_a_draft_identical_to_the_live_version_publishes_nothing(world: World):
    # Given a flow with one version
    ws = world.workspace()
    flow_id = str(flows.create(world.services, world.alice, ws, "line", "", LINE)["id"])
    first = flows.publish(world.services, world.alice, ws, flow_id, "first")
    assert first["unchanged"] is False
    # When it is published again without a change
    again = flows.publish(world.services, world.alice, ws, flow_id, "again")
    # Then the answer is the live version, said to be unchanged, and nothing new was published
    assert (again["version"], again["unchanged"], again["is_live"]) == (1, True, True)
    assert len(flows.list_versions(world.services, world.alice, ws, flow_id)["items"]) == 1
    assert len(world.orchestrator.published) == 1


def test_a_draft_identical_to_an_older_version_is_a_new_version(world: World):
    # Given versions 1 and 2 (different), with 2 live, and the draft changed back to version 1's definition
    ws = world.workspace()
    flow_id = str(flows.create(world.services, world.alice, ws, "line", "", LINE)["id"])
    flows.publish(world.services, world.alice, ws, flow_id, "first")
    changed = {**LINE, "nodes": [LINE["nodes"][0], node("work", "transform", expression="'x'"), LINE["nodes"][2]]}
    flows.update(world.services, world.alice, ws, flow_id, {"definition": changed})
    flows.publish(world.services, world.alice, ws, flow_id, "second")
    flows.update(world.services, world.alice, ws, flow_id, {"definition": LINE})
    # When it is published
    third = flows.publish(world.services, world.alice, ws, flow_id, "back")
    # Then it is version 3 (only "identical to live" publishes nothing)
    assert (third["version"], third["unchanged"]) == (3, False)


def test_moving_live_back_points_the_alias_and_the_flow_at_the_older_version(world: World):
    # Given a flow with two versions
    ws = world.workspace()
    flow_id = world.published(ws, LINE)
    changed = {**LINE, "nodes": [LINE["nodes"][0], node("work", "transform", expression="'x'"), LINE["nodes"][2]]}
    flows.update(world.services, world.alice, ws, flow_id, {"definition": changed})
    flows.publish(world.services, world.alice, ws, flow_id, "again")
    # When live moves back to version 1
    moved = flows.set_live(world.services, world.alice, ws, flow_id, 1)
    # Then the flow and the alias name version 1
    assert moved["live_version"] == 1
    v1 = flows.get_version(world.services, world.alice, ws, flow_id, 1)
    assert v1["is_live"] is True
    assert list(world.orchestrator.live.values()) == [v1["state_machine_version_arn"]]
    # And a version that does not exist is a conflict naming the published ones
    with pytest.raises(Conflict, match=r"published versions are 1\.\.2"):
        flows.set_live(world.services, world.alice, ws, flow_id, 3)


def test_listing_flows_pages_newest_first_with_a_cursor(world: World):
    # Given three flows
    ws = world.workspace()
    ids = [str(flows.create(world.services, world.alice, ws, f"f{i}", "", LINE)["id"]) for i in range(3)]
    # When they are listed two at a time
    first = flows.list_flows(world.services, world.alice, ws, None, limit=2)
    rest = flows.list_flows(world.services, world.alice, ws, first["next_cursor"], limit=2)
    # Then the pages hold them newest first, and the last page has no cursor
    assert [f["id"] for f in first["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None


# -- runs ---------------------------------------------------------------------------------------------
def test_starting_a_run_records_who_started_it_and_starts_the_live_version(world: World):
    # Given a published flow
    ws = world.workspace()
    flow_id = world.published(ws, LINE)
    # When alice starts a run
    started = runs.start(world.services, world.alice.actor(), ws, flow_id, {"n": 1}, None)
    # Then it is RUNNING on version 1, started by alice, with the input node's decisions in the execution
    assert (started["status"], started["version"], started["attempt"]) == ("RUNNING", 1, 1)
    assert started["started_by"] == {"kind": "user", "id": "alice"}
    assert started["created_by"] == "alice"
    target, name, payload = world.orchestrator.started[0]
    assert target.endswith(":1") and name == started["id"]
    assert payload == {
        "run": {"id": started["id"], "ws": ws, "flow": flow_id, "version": 1},
        "s": {"start": {"take": {"work": True}}},
    }
    assert world.nodes(ws, started["id"])["start"]["status"] == "SUCCEEDED"


def test_runs_are_numbered_per_flow_labelled_and_found_by_number(world: World):
    # Given two published flows
    ws = world.workspace()
    one, two = world.published(ws, LINE), world.published(ws, LINE)
    # When two runs of the first and one of the second start, the second one labelled
    first = runs.start(world.services, world.alice.actor(), ws, one, {}, None)
    second = runs.start(world.services, world.alice.actor(), ws, one, {}, None, label="  nightly  ")
    other = runs.start(world.services, world.alice.actor(), ws, two, {}, None)
    # Then each flow counts its own runs from 1, and the label is kept trimmed
    assert (first["number"], second["number"], other["number"]) == (1, 2, 1)
    assert (first["label"], second["label"]) == (None, "nightly")
    # And `flow` with `number` finds the one run
    found = runs.list_runs(world.services, world.alice, ws, one, None, None, number=2)["items"]
    assert [r["id"] for r in found] == [second["id"]]
    assert runs.list_runs(world.services, world.alice, ws, one, None, None, number=9)["items"] == []
    # And a number without a flow is refused, naming the field
    with pytest.raises(InvalidInput) as refused:
        runs.list_runs(world.services, world.alice, ws, None, None, None, number=1)
    assert refused.value.details == {"field": "number"}
    # And a member relabels the run, an empty label clears it, and a viewer may not
    assert runs.set_label(world.services, world.alice, ws, first["id"], "retry of #1")["label"] == "retry of #1"
    assert runs.set_label(world.services, world.alice, ws, first["id"], "")["label"] is None
    workspaces.put_member(world.services, world.alice, ws, "bob", "viewer", None, None)
    with pytest.raises(Forbidden):
        runs.set_label(world.services, BOB, ws, first["id"], "mine")


def test_a_trigger_or_the_system_starts_runs_without_a_member_role(world: World):
    # Given a published flow
    ws = world.workspace()
    flow_id = world.published(ws, LINE)
    # When a schedule and the system start runs
    by_trigger = runs.start(world.services, TriggerActor("trg-1", "schedule"), ws, flow_id, {}, None, "schedule")
    by_system = runs.start(world.services, SystemActor("replay"), ws, flow_id, {}, None)
    # Then each run says who started it
    assert by_trigger["started_by"] == {"kind": "trigger", "id": "trg-1"}
    assert (by_trigger["created_by"], by_trigger["trigger"]) == ("trigger:trg-1", "schedule")
    assert by_system["started_by"] == {"kind": "system", "id": "replay"}


def test_a_viewer_cannot_start_a_run_and_an_outsider_cannot_see_the_flow(world: World):
    # Given alice's workspace where bob is a viewer, and carol who is not a member
    ws = world.workspace()
    flow_id = world.published(ws, LINE)
    workspaces.put_member(world.services, world.alice, ws, "bob", "viewer", None, None)
    # When they start a run / Then bob is refused by role and carol is told it does not exist
    with pytest.raises(Forbidden):
        runs.start(world.services, BOB.actor(), ws, flow_id, {}, None)
    with pytest.raises(NotFound):
        runs.start(world.services, Principal("carol").actor(), ws, flow_id, {}, None)
    assert world.orchestrator.started == []


def test_a_run_whose_execution_cannot_start_is_failed_with_the_reason(world: World):
    # Given an orchestrator that refuses to start executions
    ws = world.workspace()
    flow_id = world.published(ws, LINE)
    world.orchestrator.fail_start = RuntimeError("throttled")
    # When a run starts / Then it is FAILED with StartFailed, never left QUEUED
    started = runs.start(world.services, world.alice.actor(), ws, flow_id, {}, None)
    assert started["status"] == "FAILED"
    assert started["error"] == {"code": "StartFailed", "message": "could not start: throttled"}


def test_cancelling_stops_the_execution_fails_running_nodes_and_refuses_twice(world: World):
    # Given a run with a node running (claimed, not finished)
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, LINE), {"n": 1})
    with world.store.tx(ws) as uow:
        run = uow.runs.get(run_id)
        assert run is not None
        uow.node_runs.claim(run_id, "work", 0, "transform", "h", flow_id=run.flow_id, version=1, upstream=[])
    # When alice cancels it
    cancelled = runs.cancel(world.services, world.alice, ws, run_id)
    # Then the execution is stopped, the run and its running node are CANCELLED/FAILED, and again is a conflict
    assert cancelled["status"] == "CANCELLED"
    assert world.orchestrator.stopped == [(run.execution_arn, "cancelled by alice")]
    assert world.nodes(ws, run_id)["work"]["status"] == "FAILED"
    with pytest.raises(Conflict, match="already CANCELLED"):
        runs.cancel(world.services, world.alice, ws, run_id)


def test_a_redrive_starts_a_new_execution_and_keeps_finished_nodes(world: World):
    # Given a run whose `work` node finished before the run failed
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, LINE), {"n": 5})
    world.runner.execute(ws, run_id, "work")
    world.runner.fail(ws, run_id, {"Error": "States.Timeout"})
    # When alice redrives it
    redriven = runs.redrive(world.services, world.alice, ws, run_id)
    # Then a second execution named after the attempt starts, the run is RUNNING again, and `work` is a memo hit
    assert (redriven["status"], redriven["attempt"], redriven["error"]) == ("RUNNING", 2, None)
    assert world.orchestrator.started[-1][1] == f"{run_id}-r2"
    assert world.runner.execute(ws, run_id, "work") == {"take": {"result": True}, "memo": True}
    # And a run that is running cannot be redriven
    with pytest.raises(Conflict, match="only FAILED or CANCELLED"):
        runs.redrive(world.services, world.alice, ws, run_id)


def test_another_workspaces_run_is_not_found(world: World):
    # Given a run in alice's workspace and bob's own workspace
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, LINE), {})
    bobs = world.workspace(BOB)
    # When bob asks for alice's run through his workspace / Then it does not exist there
    with pytest.raises(NotFound):
        runs.get(world.services, BOB, bobs, run_id)
    with pytest.raises(NotFound):
        runs.cancel(world.services, BOB, bobs, run_id)
    assert runs.list_runs(world.services, BOB, bobs, None, None, None)["items"] == []


def test_reconciling_an_aborted_execution_cancels_the_run_once(world: World):
    # Given a running run
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, LINE), {})
    arn = world.orchestrator.started[0][0] + f":execution:{run_id}"
    # When its execution's ABORTED event arrives, twice
    first = runs.reconcile(world.store, ws, run_id, "ABORTED", arn)
    second = runs.reconcile(world.store, ws, run_id, "ABORTED", arn)
    # Then the run is CANCELLED once
    assert (first, second) == (True, False)
    assert world.run(ws, run_id)["status"] == "CANCELLED"
