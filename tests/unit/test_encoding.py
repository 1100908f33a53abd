"""The API's JSON encoder: records of the domain encode with their field names as keys."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from functions.api.encoding import dumps
from nexod.domain.actor import ActorRef
from nexod.domain.records import Member, Workspace

WHEN = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_a_record_encodes_as_an_object_of_its_fields():
    # Given a member record nested in a response body
    member = Member(user_sub="local|alice", email=None, name="Alice", role="admin", created_at=WHEN)
    # When it is encoded / Then its keys are the record's fields, values encoded as the API does
    assert json.loads(dumps({"items": [member]})) == {
        "items": [
            {
                "user_sub": "local|alice",
                "email": None,
                "name": "Alice",
                "role": "admin",
                "created_at": "2026-11-26T12:00:00+00:00",
            }
        ]
    }


def test_records_inside_records_and_the_scalars_the_database_returns_encode():
    ws = Workspace(id=str(uuid.UUID(int=1)), name="w", allowed_hosts=["a.example"], created_by="x", created_at=WHEN)
    body = {"workspace": ws, "by": ActorRef("trigger", "t1"), "cost": Decimal("0.25"), "id": uuid.UUID(int=2)}
    decoded = json.loads(dumps(body))
    assert decoded["workspace"]["allowed_hosts"] == ["a.example"]
    assert decoded["by"] == {"kind": "trigger", "id": "t1"}
    assert (decoded["cost"], decoded["id"]) == (0.25, str(uuid.UUID(int=2)))


def test_a_record_class_or_an_unknown_object_is_refused():
    with pytest.raises(TypeError, match="cannot serialise"):
        dumps({"x": Member})
    with pytest.raises(TypeError, match="cannot serialise"):
        dumps({"x": object()})
