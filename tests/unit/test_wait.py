"""The `wait` kind: `seconds` or `until` (exactly one, errors naming the field), and the runner's `until`
answer: computed and recorded the first time, read back by a retry or a redrive, past once the node finished."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nexod.domain.errors import FlowInvalid
from nexod.domain.nodes.wait import ELAPSED, WaitConfig, parse_instant, rfc3339
from nexod.domain.validation import validate
from nexod.runtime.errors import NodeFailedError
from tests.support.world import World
from tests.unit.flows import edge, node


def _flow(**config: Any) -> dict[str, Any]:
    return {
        "nodes": [node("start", "input"), node("pause", "wait", **config), node("end", "output", value="x")],
        "edges": [edge("start", "pause"), edge("pause", "end")],
    }


def _issues(**config: Any) -> list[tuple[str, str, str]]:
    with pytest.raises(FlowInvalid) as refused:
        validate(_flow(**config))
    return [(i["node"], i["field"], i["message"]) for i in refused.value.details]


# -- validation -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "field", "says"),
    [
        ({}, "config.seconds", "`seconds`) or until when (`until`)"),
        ({"seconds": 5, "until": "2026-12-01T09:00:00Z"}, "config.seconds", "not both"),
        ({"until": "next tuesday"}, "config.until", "ISO-8601"),
        ({"until": "2026-13-01T09:00:00Z"}, "config.until", "ISO-8601"),
        ({"seconds": -1}, "config.seconds", "greater than or equal to 0"),
        ({"seconds": 31_536_001}, "config.seconds", "less than or equal to 31536000"),
        ({"until": "{{ input. }}"}, "config.until", ""),
    ],
)
def test_a_wait_needs_exactly_one_valid_seconds_or_until_and_the_error_names_the_field(
    config: dict[str, Any], field: str, says: str
):
    # When a flow with such a wait is validated / Then the issue names the node and the field
    found = _issues(**config)
    assert any(n == "pause" and f == field and says in m for n, f, m in found), found


@pytest.mark.parametrize(
    "until", ["2026-12-01T09:00:00Z", "2026-12-01T10:00:00+01:00", "2026-12-01T09:00:00", "{{ input.remind_at }}"]
)
def test_a_wait_until_an_instant_or_a_template_is_valid(until: str):
    assert validate(_flow(until=until)).node("pause").config == {"until": until}


def test_instants_become_the_utc_form_a_wait_state_accepts():
    # Given instants with an offset, without one (UTC), and with fractions of a second
    assert rfc3339(parse_instant("2026-12-01T10:00:00+01:00")) == "2026-12-01T09:00:00Z"
    assert rfc3339(parse_instant("2026-12-01T09:00:00")) == "2026-12-01T09:00:00Z"
    assert rfc3339(parse_instant("2026-12-01T09:00:00.900Z")) == "2026-12-01T09:00:00Z"
    # And a wait of `seconds` ends that long after the next whole second
    now = datetime(2026, 12, 1, 9, 0, 0, 250_000, tzinfo=UTC)
    assert WaitConfig(seconds=30).end(now) == datetime(2026, 12, 1, 9, 0, 31, tzinfo=UTC)


# -- the runner's answer --------------------------------------------------------------------------------------
@pytest.fixture
def world() -> World:
    return World()


def test_the_end_of_a_wait_is_recorded_once_and_a_finished_wait_is_not_waited_again(world: World):
    # Given a run at its 60-second wait
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, _flow(seconds=60)), {})
    before = datetime.now(UTC)
    # When the wait's first Task asks when it ends
    first = world.runner.until(ws, run_id, "pause")["until"]
    # Then it is about a minute from now, recorded with the node run, which is RUNNING and shown waiting
    end = parse_instant(first)
    assert timedelta(seconds=59) <= end - before <= timedelta(seconds=62)
    shown = world.nodes(ws, run_id)["pause"]
    assert (shown["status"], shown["waiting"], shown["input"]["until"]) == ("RUNNING", True, first)
    # When it is asked again (a retried Task, or a redrive after the local orchestrator stopped mid-wait)
    # Then the recorded end comes back: the wait is not timed again
    assert world.runner.until(ws, run_id, "pause")["until"] == first
    # When the wait ends and the node is recorded
    world.runner.execute(ws, run_id, "pause")
    done = world.nodes(ws, run_id)["pause"]
    assert (done["status"], done["output"]) == ("SUCCEEDED", {"waited_seconds": 60, "until": first})
    assert "waiting" not in done
    # Then a redrive's Task gets an instant in the past: the Wait state does not wait again
    assert world.runner.until(ws, run_id, "pause") == {"until": ELAPSED}


def test_a_templated_until_is_rendered_from_the_run_input_in_utc(world: World):
    # Given a wait until the run input's `remind_at`
    ws = world.workspace()
    flow = world.published(ws, _flow(until="{{ input.remind_at }}"))
    run_id = world.start(ws, flow, {"remind_at": "2030-01-02T03:04:05+02:00"})
    # When its first Task runs / Then the end is that instant in UTC
    assert world.runner.until(ws, run_id, "pause") == {"until": "2030-01-02T01:04:05Z"}
    # And the recorded node says when it waited until
    world.runner.execute(ws, run_id, "pause")
    assert world.nodes(ws, run_id)["pause"]["output"]["until"] == "2030-01-02T01:04:05Z"


def test_an_until_already_past_is_not_waited_for(world: World):
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, _flow(until="{{ input.at }}")), {"at": "2001-01-01T00:00:00Z"})
    assert world.runner.until(ws, run_id, "pause") == {"until": "2001-01-01T00:00:00Z"}
    world.runner.execute(ws, run_id, "pause")
    assert world.nodes(ws, run_id)["pause"]["output"] == {"waited_seconds": 0, "until": "2001-01-01T00:00:00Z"}


@pytest.mark.parametrize("remind_at", ["tomorrow", 1_700_000_000, "2026-02-30T09:00:00Z"])
def test_an_until_that_renders_to_no_instant_fails_the_node_naming_the_field(world: World, remind_at: Any):
    # Given a wait until an input value that is not a date-time
    ws = world.workspace()
    run_id = world.start(ws, world.published(ws, _flow(until="{{ input.remind_at }}")), {"remind_at": remind_at})
    # When its first Task runs / Then the node fails, naming the field
    with pytest.raises(NodeFailedError, match=r"node 'pause' config\.until"):
        world.runner.until(ws, run_id, "pause")
    assert world.nodes(ws, run_id)["pause"]["status"] == "FAILED"
