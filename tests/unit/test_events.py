"""Run events without a database: what the services and the node runner append, the cursor, the long poll's
waiting, and the EventBridge relay (an outbox that loses nothing when the bus fails)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from nexod.domain.errors import InvalidInput
from nexod.domain.events import EVENT_TYPES, EventCursor, EventType, EventTypes
from nexod.ports import BusEvent
from nexod.runtime.errors import NodeRetryableError
from nexod.runtime.events import BackgroundRelay, EventRelay
from nexod.runtime.executors import EXECUTORS, NodeResult
from nexod.services import events, runs, usage
from tests.support.world import World
from tests.unit.flows import edge, node

LINE = {
    "nodes": [node("start", "input"), node("double", "transform", expression="input.n"), node("result", "output")],
    "edges": [edge("start", "double"), edge("double", "result")],
}


@pytest.fixture
def world() -> World:
    return World()


class Bus:
    """An `EventPublisher` that records what it accepted, and can refuse (raise) or drop some."""

    def __init__(self) -> None:
        self.accepted: list[BusEvent] = []
        self.down = False
        self.refuse: set[str] = set()

    def publish(self, batch: Sequence[BusEvent]) -> set[str]:
        if self.down:
            raise ConnectionError("the bus is unreachable")
        kept = [e for e in batch if e.detail.get("type") not in self.refuse]
        self.accepted += kept
        return {e.key for e in kept}


def _types(world: World, ws: str, run_id: str | None = None) -> list[tuple[str, str | None]]:
    with world.store.tx(ws) as uow:
        return [(e.type, e.node_id) for e in uow.events.after(None, run_id, limit=500)]


def test_a_run_s_state_changes_are_events_in_order(world: World):
    # Given a published input -> transform -> output flow
    ws = world.workspace()
    flow_id = world.published(ws, LINE)
    # When a run starts and the runner executes its nodes, the last one finishing the run
    run_id = world.start(ws, flow_id, {"n": 2})
    world.runner.execute(ws, run_id, "double")
    world.runner.execute(ws, run_id, "result")
    world.runner.finish(ws, run_id)
    # Then the run's events tell it in order
    assert _types(world, ws, run_id) == [
        ("run.queued", None),
        ("node.succeeded", "start"),
        ("run.started", None),
        ("node.started", "double"),
        ("node.succeeded", "double"),
        ("node.started", "result"),
        ("node.succeeded", "result"),
        ("run.succeeded", None),
    ]
    # And the last carries the flow, version, status and cost that go to EventBridge
    with world.store.tx(ws) as uow:
        last = uow.events.after(None, run_id, 500)[-1]
    assert (last.data["flow_id"], last.data["version"], last.data["status"]) == (flow_id, 1, "SUCCEEDED")
    assert set(last.data["cost"]) == {"llm", "compute", "orchestration", "total"}


def test_a_retried_node_says_so_with_its_attempt(world: World, monkeypatch: pytest.MonkeyPatch):
    # Given a transform with a retry policy that fails once with a retryable error
    real = EXECUTORS["transform"]
    failures = [NodeRetryableError("node 'double': flaky")]

    def flaky(config: Any, ctx: Any, tools: Any) -> NodeResult:
        if failures:
            raise failures.pop()
        return real(config, ctx, tools)

    monkeypatch.setitem(EXECUTORS, "transform", flaky)
    ws = world.workspace()
    retried = {
        **LINE,
        "nodes": [{**n, "retry": {"max_attempts": 2}} if n["id"] == "double" else n for n in LINE["nodes"]],
    }
    run_id = world.start(ws, world.published(ws, retried), {"n": 1})
    # When Step Functions retries it (its retry policy allows two retries)
    with pytest.raises(NodeRetryableError):
        world.runner.execute(ws, run_id, "double")
    world.runner.execute(ws, run_id, "double")
    # Then its events are started, retrying (with the error and when the next attempt is due), started
    # (attempt 2), succeeded
    with world.store.tx(ws) as uow:
        mine = [e for e in uow.events.after(None, run_id, 500) if e.node_id == "double"]
    assert [(e.type, e.data.get("attempt")) for e in mine] == [
        ("node.started", 1),
        ("node.retrying", None),
        ("node.started", 2),
        ("node.succeeded", None),
    ]
    assert mine[1].data["error"]["type"] == "NodeRetryableError"
    assert mine[1].data["next_attempt_at"]


def test_cancelling_a_run_fails_its_running_nodes_in_events(world: World, monkeypatch: pytest.MonkeyPatch):
    # Given a run whose transform has begun (its claim recorded) when the run is cancelled
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, LINE), {"n": 1})

    def cancelled_meanwhile(config: Any, ctx: Any, tools: Any) -> NodeResult:
        runs.cancel(world.services, world.alice, ws, run_id)
        return NodeResult(output=1)

    monkeypatch.setitem(EXECUTORS, "transform", cancelled_meanwhile)
    world.runner.execute(ws, run_id, "double")
    # Then the stream says the node failed with the cancellation, then the run was cancelled
    types = _types(world, ws, run_id)
    assert types[-3:-1] == [("node.failed", "double"), ("run.cancelled", None)]


def test_the_soft_budget_crossing_is_one_workspace_event_and_goes_to_the_bus(world: World):
    # Given a soft budget of $0 and a bus behind the runner's relay
    ws = world.workspace()
    usage.put_budget(world.services, world.alice, ws, 0, None)
    bus = Bus()
    world.runner.relay = EventRelay(world.store, bus)
    flow_id = world.published(ws, LINE)
    # When two runs' nodes spend
    for n in range(2):
        run_id = world.start(ws, flow_id, {"n": n})
        world.runner.execute(ws, run_id, "double")
    # Then the crossing is one workspace-level event (no run), published once to nexod.budget
    crossed = [(t, n) for t, n in _types(world, ws) if t == "budget.soft_limit_crossed"]
    assert crossed == [("budget.soft_limit_crossed", None)]
    budget = [e for e in bus.accepted if e.source == "nexod.budget"]
    assert len(budget) == 1 and budget[0].detail_type == "Budget Soft Limit Crossed"
    assert budget[0].detail["monthly_soft_usd"] == 0 and "run_id" not in budget[0].detail


def test_the_relay_keeps_what_the_bus_did_not_take_and_sends_it_later(world: World):
    # Given a run's lifecycle events waiting in the outbox, and a bus that is down
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, LINE), {"n": 1})
    bus = Bus()
    relay = EventRelay(world.store, bus)
    bus.down = True
    # When the relay runs: nothing is lost and nothing raises
    assert relay.flush(ws) == 0
    # And when the bus refuses one type, that one stays queued
    bus.down, bus.refuse = False, {"run.started"}
    assert relay.flush(ws) == 1
    assert [e.detail["type"] for e in bus.accepted] == ["run.queued"]
    # Then a later flush with the bus back sends the rest, once, as Run Status Change from nexod.run
    bus.refuse = set()
    assert relay.flush(ws) == 1 and relay.flush(ws) == 0
    assert [(e.source, e.detail_type, e.detail["status"]) for e in bus.accepted] == [
        ("nexod.run", "Run Status Change", "QUEUED"),
        ("nexod.run", "Run Status Change", "RUNNING"),
    ]
    assert all(e.detail["run_id"] == run_id and e.detail["workspace_id"] == ws for e in bus.accepted)
    # And node events never leave the deployment
    assert not any(e.detail["type"].startswith("node.") for e in bus.accepted)


class SlowBus(Bus):
    """A bus whose PutEvents blocks until the test lets it go, and records the thread that called it."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()
        self.threads: set[str] = set()

    def publish(self, batch: Sequence[BusEvent]) -> set[str]:
        self.threads.add(threading.current_thread().name)
        assert self.go.wait(10)
        return super().publish(batch)


def test_the_background_relay_publishes_off_the_run_s_path_once_and_stops_on_close(world: World):
    # Given a bus that blocks each PutEvents until it is let go, behind a background relay used by the runner
    ws = world.workspace()
    bus = SlowBus()
    relay = BackgroundRelay(EventRelay(world.store, bus))
    world.runner.relay = relay
    flow_id = world.published(ws, LINE)
    run_id = world.start(ws, flow_id, {"n": 3})
    world.runner.execute(ws, run_id, "double")
    world.runner.execute(ws, run_id, "result")
    # When the run ends (its end asks for a relay) and another relay of the workspace is asked for meanwhile
    world.runner.finish(ws, run_id)
    relay.flush(ws)
    # Then the run's end did not wait for the bus: nothing is published yet
    assert bus.accepted == []
    # And once the bus answers, the relay's own thread sends each status change exactly once
    bus.go.set()
    assert relay.drain(10)
    assert [e.detail["status"] for e in bus.accepted] == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert bus.threads == {"nexod-event-relay"}
    # And after close, a request publishes nothing: the events wait in the outbox for a later relay
    relay.close()
    second = world.start(ws, flow_id, {"n": 4})
    relay.flush(ws)
    assert relay.drain(1) and len(bus.accepted) == 3
    assert EventRelay(world.store, bus).flush(ws) > 0
    assert bus.accepted[3].detail["status"] == "QUEUED"
    assert {e.detail["run_id"] for e in bus.accepted[3:]} == {second}


def test_the_long_poll_answers_when_an_event_arrives_and_waits_at_most_25_seconds(world: World):
    # Given a run read to its last event
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, LINE), {"n": 1})
    cursor = events.run_events(world.services, world.alice, ws, run_id, None)["cursor"]
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the node runs while the reader waits
        slept.append(seconds)
        clock[0] += seconds
        if len(slept) == 3:
            world.runner.execute(ws, run_id, "double")

    # When it long-polls with wait=10
    page = events.run_events(world.services, world.alice, ws, run_id, cursor, 10, sleep=sleep, clock=lambda: clock[0])
    # Then it answers on the poll after the node started, with the events since the cursor
    assert [e["type"] for e in page["items"]] == ["node.started", "node.succeeded"]
    assert len(slept) == 3 and page["cursor"] == page["items"][-1]["cursor"]
    # And a wait of an hour gives up empty after 25 s, keeping the cursor
    slept.clear()
    clock[0] = 0.0
    quiet = events.workspace_events(
        world.services, world.alice, ws, page["cursor"], 3600, sleep=sleep, clock=lambda: clock[0]
    )
    assert quiet == {"items": [], "cursor": page["cursor"]}
    assert 24.8 <= clock[0] <= 25.0


@pytest.mark.parametrize(
    ("after", "wait", "field"),
    [
        ("x", None, "after"),
        ("1-", None, "after"),
        ("01-2", None, "after"),
        (None, -1.0, "wait"),
        (None, float("nan"), "wait"),
    ],
)
def test_a_bad_cursor_or_wait_is_a_422_naming_it(world: World, after: str | None, wait: float | None, field: str):
    ws = world.workspace()
    with pytest.raises(InvalidInput) as refused:
        events.workspace_events(world.services, world.alice, ws, after, wait)
    assert refused.value.details == {"field": field}


def test_cursors_round_trip_and_order_by_transaction_then_id():
    cursor = EventCursor.parse("12-345")
    assert cursor == EventCursor(12, 345) and str(cursor) == "12-345"
    assert EventCursor.parse("0") is None and EventCursor.parse(None) is None
    assert EventCursor(1, 9) < EventCursor(2, 1) < EventCursor(2, 3)


def test_event_types_are_a_registry_later_kinds_extend():
    # Given a registry like the domain's
    types = EventTypes()
    approval = types.register(EventType("approval.requested", "node", "nexod.run", "Approval Requested"))
    # Then a registered type is found and published; a duplicate or half a bus address is refused
    assert types["approval.requested"] is approval and approval.published
    with pytest.raises(ValueError, match="already registered"):
        types.register(EventType("approval.requested", "node"))
    with pytest.raises(ValueError, match="go together"):
        types.register(EventType("approval.decided", "node", "nexod.run"))
    with pytest.raises(ValueError, match="not registered"):
        types["approval.decided"]
    # And the domain's own list has the run lifecycle on the bus and node events off it
    assert EVENT_TYPES["run.succeeded"].source == "nexod.run" and not EVENT_TYPES["node.retrying"].published
