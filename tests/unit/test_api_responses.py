"""Response models serve what the services return: dicts today, typed records tomorrow, the same JSON."""

from __future__ import annotations

import json
import uuid
from dataclasses import make_dataclass
from datetime import UTC, datetime
from typing import Any

from functions.api.responses import Flow, NodeRunList, Run, reply
from nexod.services.json_limits import Unreadable

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RUN: dict[str, Any] = {
    "id": uuid.UUID("6f1c1e7e-8d8e-4b8e-9f8e-1c1e7e8d8e4b"),
    "flow_id": "0b8f5a52-35a8-4c55-9a4b-bb1f2a6a3c11",
    "flow_name": None,
    "version": 1,
    "status": "SUCCEEDED",
    "trigger": "manual",
    "input": {"n": 1},
    "output": None,
    "error": None,
    "attempt": 1,
    "created_by": "local|alice",
    "started_by": {"kind": "user", "id": "local|alice"},
    "created_at": AT,
    "started_at": AT,
    "finished_at": None,
    "duration_ms": None,
    "active_ms": None,
    "number": 1,
    "label": None,
    "cost_usd": 0.0,
    "tokens": 0,
    "cost": {"llm": 0.0, "compute": 0.0, "orchestration": 0.0, "total": 0.0},
}


def served(model: type[Any], value: Any) -> Any:
    """What the API writes for `value`: validated like a route does, serialised like Powertools does."""
    return json.loads(reply(model, value).model_dump_json())


def test_keys_a_service_leaves_out_stay_out_and_nulls_stay_null():
    # Given a node that has not run (only its first keys) and one that ran with no output
    pending = {"node_id": "a", "type": "wait", "name": None, "status": "PENDING", "attempts": 0, "executions": 0}
    ran = {**pending, "node_id": "b", "status": "SUCCEEDED", "iteration": 0, "input": {}, "output": None, "error": None}
    # When the node list is served
    body = served(NodeRunList, {"items": [pending, ran]})
    # Then each item has exactly the keys the service gave, nulls included, and no `unreadable` list
    assert body == {"items": [pending, ran]}


def test_a_typed_record_is_served_like_the_dict_it_replaces():
    # Given the same run as a dict row and as a frozen dataclass with the same attribute names
    record = make_dataclass("RunRecord", [(key, Any) for key in RUN], frozen=True)(**RUN)
    # When both are served / Then the answers are equal, ids as strings and times in RFC 3339
    assert served(Run, record) == served(Run, RUN)
    assert served(Run, RUN)["id"] == str(RUN["id"]) and served(Run, RUN)["created_at"] == "2026-11-26T12:00:00Z"


def test_a_stored_value_that_cannot_be_decoded_is_null_not_a_failed_answer():
    # Given a flow whose stored definition the database loader could not decode, named by the service
    flow = {
        "id": "0b8f5a52-35a8-4c55-9a4b-bb1f2a6a3c11",
        "name": "a",
        "description": "",
        "live_version": None,
        "latest_version": 0,
        "created_at": AT,
        "updated_at": AT,
        "definition": Unreadable("nested deeper than 128 levels"),
        "state_machine_arn": None,
        "valid": False,
        "problems": [{"code": "unreadable", "message": "the stored draft cannot be read", "field": "definition"}],
        "unreadable": [{"field": "definition", "message": "nested deeper than 128 levels"}],
    }
    # When it is served / Then the value is null and the marker says why
    body = served(Flow, flow)
    assert body["definition"] is None and body["unreadable"][0]["field"] == "definition"
