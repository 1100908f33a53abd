"""Issue 13 against the in-memory store and orchestrator: drafts that always save, test runs of the draft, pins
and running one node (the node runner's memo short-circuits pinned nodes)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nexod.domain.drafts import check_shape, node_ids, problems
from nexod.domain.errors import FlowInvalid, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from nexod.services import flows, runs, test_runs, workspaces
from nexod.services.context import Principal
from tests.support.world import World
from tests.unit.flows import edge, node

LINE = {
    "nodes": [
        node("start", "input"),
        node("work", "transform", expression="input.n"),
        node("double", "transform", expression="{twice: nodes.work.output}"),
        node("result", "output"),
    ],
    "edges": [edge("start", "work"), edge("work", "double"), edge("double", "result")],
}
BROKEN = {
    "nodes": [node("start", "input"), node("fetch", "http"), node("ghostly", "nope")],
    "edges": [edge("start", "fetch"), edge("fetch", "nowhere")],
}


@pytest.fixture
def world() -> World:
    return World()


def _draft(world: World, ws: str, definition: dict[str, object]) -> str:
    return str(flows.create(world.services, world.alice, ws, "draft", "", definition)["id"])


# -- domain -----------------------------------------------------------------------------------------------
def test_problems_name_the_node_edge_and_field_of_everything_wrong():
    # Given a draft with a missing config field, an unknown node type and a dangling edge
    # When its problems are listed
    found = problems(BROKEN)
    # Then each one names where it is
    assert {"code": "invalid_config", "node": "fetch", "field": "config.url"}.items() <= found[0].items()
    assert any(p.get("node") == "ghostly" for p in found)
    assert any(p.get("edge") == "fetch->nowhere" for p in found)
    # And a valid flow has none
    assert problems(LINE) == []


def test_a_problem_names_a_node_as_text_whatever_the_draft_calls_it():
    # Given a draft whose node ids are not strings / When its problems are listed
    found = problems({"nodes": [{"id": 7, "type": "input"}, {"id": {"a": 1}, "type": "transform"}]})
    # Then every key the API serves is text
    assert found and all(isinstance(v, str) for p in found for v in p.values())


def test_only_what_is_no_flow_document_at_all_is_refused_at_save():
    # Given values that could never become a flow / Then each is a 4xx naming the field
    with pytest.raises(InvalidInput, match=r"definition\.nodes"):
        check_shape({"nodes": {"a": 1}})
    with pytest.raises(InvalidInput, match=r"definition\.edges\.0"):
        check_shape({"nodes": [], "edges": ["a->b"]})
    with pytest.raises(PayloadTooLarge):
        check_shape({"nodes": [], "blob": "x" * (1024 * 1024)})
    # And a half-built draft passes the shape check (it saves)
    check_shape({"nodes": [{"id": "a"}], "edges": [], "extra": True})
    assert node_ids({"nodes": [{"id": "a"}, {"type": "x"}, "junk"]}) == ["a"]


# -- drafts -----------------------------------------------------------------------------------------------
def test_an_invalid_draft_saves_lists_and_reads_back_with_its_problems(world: World):
    # Given a workspace
    ws = world.workspace()
    # When alice saves a broken draft, then updates it with another broken one
    created = flows.create(world.services, world.alice, ws, "broken", "", BROKEN)
    flow_id = str(created["id"])
    updated = flows.update(world.services, world.alice, ws, flow_id, {"definition": {**BROKEN, "edges": []}})
    # Then both saves answer with the problems, naming nodes and fields
    assert created["valid"] is False and any(p.get("edge") == "fetch->nowhere" for p in created["problems"])
    assert updated["valid"] is False and not any("edge" in p for p in updated["problems"])
    # And the flow lists and reads back (a saved draft never breaks a listing or a GET)
    assert [f["id"] for f in flows.list_flows(world.services, world.alice, ws, None)["items"]] == [created["id"]]
    got = flows.get(world.services, world.alice, ws, flow_id)
    assert got["definition"]["nodes"][1] == {"id": "fetch", "type": "http", "config": {}}
    assert got["problems"] == updated["problems"]


def test_publishing_an_invalid_draft_is_422_listing_the_same_problems(world: World):
    # Given a saved broken draft
    ws = world.workspace()
    flow_id = _draft(world, ws, BROKEN)
    # When alice publishes it / Then it is refused with every problem, and nothing is published
    with pytest.raises(FlowInvalid) as refused:
        flows.publish(world.services, world.alice, ws, flow_id, "")
    assert refused.value.details == flows.get(world.services, world.alice, ws, flow_id)["problems"]
    assert world.orchestrator.published == []
    # And once fixed it publishes
    fixed = flows.update(world.services, world.alice, ws, flow_id, {"definition": LINE})
    assert (fixed["valid"], fixed["problems"]) == (True, [])
    assert flows.publish(world.services, world.alice, ws, flow_id, "")["version"] == 1


# -- test runs --------------------------------------------------------------------------------------------
def test_a_test_run_runs_a_snapshot_of_the_draft_on_the_test_machine_never_live(world: World):
    # Given a flow published once, whose draft then changed
    ws = world.workspace()
    flow_id = world.published(ws, LINE)
    changed = {
        **LINE,
        "nodes": [*LINE["nodes"][:1], node("work", "transform", expression="input.m"), *LINE["nodes"][2:]],
    }
    flows.update(world.services, world.alice, ws, flow_id, {"definition": changed})
    live_before = dict(world.orchestrator.live)
    # When alice test-runs the draft
    started = test_runs.start(world.services, world.alice, ws, flow_id, {"m": 3})
    # Then it is a test run of version 0, started on a version of the flow's test machine
    assert (started["test"], started["version"], started["trigger"], started["status"]) == (True, 0, "test", "RUNNING")
    name, _, _ = world.orchestrator.published[-1]
    assert name == f"nexod-test-{ws[:8]}-{flow_id}"
    assert world.orchestrator.started[-1][0].split(":stateMachine:")[1] == f"{name}:1"
    # And the live alias did not move and no version was published
    assert world.orchestrator.live == live_before
    assert [v["version"] for v in flows.list_versions(world.services, world.alice, ws, flow_id)["items"]] == [1]
    # And the runner executes the draft's nodes
    run_id = str(started["id"])
    world.runner.execute(ws, run_id, "work")
    assert world.nodes(ws, run_id)["work"]["output"] == 3


def test_test_runs_are_listed_only_when_asked_for(world: World):
    # Given a published flow with one run and one test run
    ws = world.workspace()
    flow_id = world.published(ws, LINE)
    real = world.start(ws, flow_id, {"n": 1})
    test = str(test_runs.start(world.services, world.alice, ws, flow_id, {"n": 1})["id"])
    # When the runs are listed / Then the test run is left out, and `test` lists it alone
    listed = runs.list_runs(world.services, world.alice, ws, flow_id, None, None)
    assert [r["id"] for r in listed["items"]] == [real]
    tests = runs.list_runs(world.services, world.alice, ws, flow_id, None, None, test=True)
    assert [r["id"] for r in tests["items"]] == [test]


def test_a_broken_draft_cannot_be_test_run_and_a_viewer_cannot_start_one(world: World):
    # Given a broken draft
    ws = world.workspace()
    flow_id = _draft(world, ws, BROKEN)
    # When alice test-runs it / Then 422 lists its problems
    with pytest.raises(FlowInvalid) as refused:
        test_runs.start(world.services, world.alice, ws, flow_id, {})
    assert any(p.get("node") == "fetch" for p in refused.value.details)
    # And a viewer may not start a test run
    workspaces.put_member(world.services, world.alice, ws, "vic", "viewer", None, None)
    with pytest.raises(Forbidden):
        test_runs.start(world.services, Principal("vic"), ws, _draft(world, ws, LINE), {})


# -- pins ---------------------------------------------------------------------------------------------------
def test_a_pinned_node_is_recorded_succeeded_and_never_executes(world: World):
    # Given a draft with `work` pinned by hand
    ws = world.workspace()
    flow_id = _draft(world, ws, LINE)
    test_runs.put_pin(world.services, world.alice, ws, flow_id, "work", {"output": 42})
    # When it is test-run
    run_id = str(test_runs.start(world.services, world.alice, ws, flow_id, {"n": 1})["id"])
    # Then `work` is SUCCEEDED and pinned with the pinned output, and never executed
    work = world.nodes(ws, run_id)["work"]
    assert (work["status"], work["pinned"], work["executions"], work["output"]) == ("SUCCEEDED", True, 0, 42)
    # And its Task is a memo hit that decides its edges on the pinned output; downstream reads the pin
    assert world.runner.execute(ws, run_id, "work") == {"take": {"double": True}, "memo": True}
    world.runner.execute(ws, run_id, "double")
    after = world.nodes(ws, run_id)
    assert after["double"]["output"] == {"twice": 42} and after["work"]["executions"] == 0
    # And without pins the node executes
    plain = str(test_runs.start(world.services, world.alice, ws, flow_id, {"n": 1}, use_pins=False)["id"])
    world.runner.execute(ws, plain, "work")
    assert (world.nodes(ws, plain)["work"]["executions"], world.nodes(ws, plain)["work"]["pinned"]) == (1, False)


def test_pins_copy_a_runs_output_and_a_removed_nodes_pin_is_stale_and_ignored(world: World):
    # Given a test run in which `work` executed
    ws = world.workspace()
    flow_id = _draft(world, ws, LINE)
    first = str(test_runs.start(world.services, world.alice, ws, flow_id, {"n": 7})["id"])
    world.runner.execute(ws, first, "work")
    # When alice pins `work` from that run, and `double` by hand
    pinned = test_runs.put_pin(world.services, world.alice, ws, flow_id, "work", {"from_run": first})
    test_runs.put_pin(world.services, world.alice, ws, flow_id, "double", {"output": {"twice": 1}})
    # Then the pin holds the run's output and where it came from
    assert (pinned["output"], pinned["from_run"], pinned["pinned_by"]) == (7, first, "alice")
    # When `double` is removed from the draft
    without = {
        "nodes": [n for n in LINE["nodes"] if n["id"] != "double"],
        "edges": [edge("start", "work"), edge("work", "result")],
    }
    flows.update(world.services, world.alice, ws, flow_id, {"definition": without})
    # Then its pin is listed as stale, and a test run ignores it
    listed = {p["node_id"]: p["stale"] for p in test_runs.list_pins(world.services, world.alice, ws, flow_id)["items"]}
    assert listed == {"double": True, "work": False}
    run_id = str(test_runs.start(world.services, world.alice, ws, flow_id, {"n": 1})["id"])
    assert "double" not in world.nodes(ws, run_id)
    # And a pin is deleted once; pins name exactly one source and an existing node
    test_runs.delete_pin(world.services, world.alice, ws, flow_id, "double")
    with pytest.raises(NotFound):
        test_runs.delete_pin(world.services, world.alice, ws, flow_id, "double")
    with pytest.raises(InvalidInput, match="exactly one"):
        test_runs.put_pin(world.services, world.alice, ws, flow_id, "work", {"output": 1, "from_run": first})
    with pytest.raises(NotFound, match="no node 'ghost'"):
        test_runs.put_pin(world.services, world.alice, ws, flow_id, "ghost", {"output": 1})
    with pytest.raises(InvalidInput, match="input node"):
        test_runs.put_pin(world.services, world.alice, ws, flow_id, "start", {"output": 1})


# -- run one node -------------------------------------------------------------------------------------------
def test_running_one_node_takes_the_other_outputs_from_an_earlier_run(world: World):
    # Given a test run in which `work` produced 5
    ws = world.workspace()
    flow_id = _draft(world, ws, LINE)
    earlier = str(test_runs.start(world.services, world.alice, ws, flow_id, {"n": 5}, use_pins=False)["id"])
    world.runner.execute(ws, earlier, "work")
    # When alice runs `double` alone from that run
    one = str(test_runs.start(world.services, world.alice, ws, flow_id, None, only="double", from_run=earlier)["id"])
    # Then every other node is pinned with the earlier run's output (the run's input too), and only `double` runs
    nodes = world.nodes(ws, one)
    assert (nodes["work"]["pinned"], nodes["work"]["output"], nodes["work"]["executions"]) == (True, 5, 0)
    assert world.run(ws, one)["input"] == {"n": 5}
    world.runner.execute(ws, one, "double")
    ran = world.nodes(ws, one)["double"]
    assert (ran["output"], ran["executions"], ran["input"]) == (
        {"twice": 5},
        1,
        {"expression": "{twice: nodes.work.output}"},
    )


def test_running_one_node_without_its_upstream_output_is_422_naming_it(world: World):
    # Given a draft with no pins
    ws = world.workspace()
    flow_id = _draft(world, ws, LINE)
    # When alice runs `double` alone / Then it is refused, naming the upstream node it reads
    with pytest.raises(InvalidInput) as refused:
        test_runs.start(world.services, world.alice, ws, flow_id, {}, only="double")
    assert refused.value.details == {"field": "only", "node": "work"}
    # And a node the draft lacks, the input node, and another flow's run are refused by field
    with pytest.raises(InvalidInput, match="no node 'ghost'"):
        test_runs.start(world.services, world.alice, ws, flow_id, {}, only="ghost")
    with pytest.raises(InvalidInput, match="input node"):
        test_runs.start(world.services, world.alice, ws, flow_id, {}, only="start")
    other = world.start(ws, world.published(ws, LINE), {"n": 1})
    with pytest.raises(InvalidInput, match="not a run of this flow"):
        test_runs.start(world.services, world.alice, ws, flow_id, {}, only="double", from_run=other)
    # And with `work` pinned it runs
    test_runs.put_pin(world.services, world.alice, ws, flow_id, "work", {"output": 2})
    assert test_runs.start(world.services, world.alice, ws, flow_id, {}, only="double")["test"] is True


# -- retention ------------------------------------------------------------------------------------------------
def test_the_sweeper_deletes_test_runs_past_retention_with_their_snapshots(world: World):
    # Given a published flow with a real run and a finished test run
    ws = world.workspace()
    flow_id = world.published(ws, LINE)
    real = world.start(ws, flow_id, {"n": 1})
    old = str(test_runs.start(world.services, world.alice, ws, flow_id, {"n": 1})["id"])
    world.runner.fail(ws, old, {"Error": "States.Timeout"})
    # When the sweeper runs within the retention period / Then nothing goes
    assert test_runs.sweep(world.services) == 0
    # When it runs after the retention period
    later = world.store._clock + timedelta(days=world.services.test_run_retention_days, minutes=1)
    assert test_runs.sweep(world.services, now=later) == 1
    # Then the test run and its snapshot's state machine version are gone, and the real run stays
    with pytest.raises(NotFound):
        runs.get(world.services, world.alice, ws, old)
    assert world.orchestrator.deleted_versions and ":stateMachine:nexod-test-" in world.orchestrator.deleted_versions[0]
    assert runs.get(world.services, world.alice, ws, real)["id"] == real
