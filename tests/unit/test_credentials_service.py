"""The credentials use cases against the in-memory store and vault: write-only values, no half-written
credential, usage by flows, and the audit trail without values."""

from __future__ import annotations

import json

import pytest

from nexod.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, VaultUnavailable
from nexod.services import credentials, flows, workspaces
from nexod.services.context import Principal
from tests.support.fakes import MemoryVault
from tests.support.world import World
from tests.unit.flows import edge, node

CANARY = "canary-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
USES = {
    "nodes": [node("start", "input"), node("call", "http", url="https://api.example.com/?k={{ secrets.svc }}")],
    "edges": [edge("start", "call")],
}


class BrokenVault(MemoryVault):
    def put(self, workspace_id: str, name: str, value: dict) -> None:
        raise VaultUnavailable("the vault is down")


@pytest.fixture
def world() -> World:
    w = World()
    w.services.vault = MemoryVault()
    return w


def test_create_stores_the_value_in_the_vault_and_answers_metadata_only(world: World):
    # Given a workspace
    ws = world.workspace()
    # When a credential is created
    made = credentials.create_credential(world.services, world.alice, ws, "svc", "api_key", "", {"key": CANARY})
    # Then the vault holds the value, the answer and the audit trail do not
    assert world.services.vault.get(ws, "svc") == {"key": CANARY}
    assert made["fields"] == ["key"] and made["created_by"] == "alice"
    with world.store.tx(ws) as uow:
        trail = [(e.action, e.details) for e in uow.audit.entries()]
    assert ("credential.create", {"type": "api_key", "fields": ["key"]}) in trail
    assert CANARY not in json.dumps([made, trail], default=str)


def test_a_vault_that_refuses_leaves_no_credential_behind(world: World):
    ws = world.workspace()
    world.services.vault = BrokenVault()
    with pytest.raises(VaultUnavailable):
        credentials.create_credential(world.services, world.alice, ws, "svc", "api_key", "", {"key": CANARY})
    assert credentials.list_credentials(world.services, world.alice, ws)["items"] == []


def test_rotation_replaces_the_value_and_records_who(world: World):
    ws = world.workspace()
    credentials.create_credential(
        world.services, world.alice, ws, "svc", "basic", "", {"username": "u", "password": "p1"}
    )
    rotated = credentials.update_credential(
        world.services, world.alice, ws, "svc", None, {"username": "u", "password": "p2"}
    )
    assert world.services.vault.get(ws, "svc") == {"username": "u", "password": "p2"}
    assert rotated["rotated_by"] == "alice" and rotated["rotated_at"] is not None
    # A value of the wrong shape for the type is refused naming the field, and the old value stays
    with pytest.raises(InvalidInput, match=r"value\.password"):
        credentials.update_credential(world.services, world.alice, ws, "svc", None, {"username": "u"})
    assert world.services.vault.get(ws, "svc") == {"username": "u", "password": "p2"}


def test_usage_names_the_flows_and_guards_deletion(world: World):
    # Given a credential that a published flow's live version names
    ws = world.workspace()
    credentials.create_credential(world.services, world.alice, ws, "svc", "api_key", "", {"key": CANARY})
    flow_id = world.published(ws, USES)
    # Then it is listed as used by that flow's draft and live version
    got = credentials.get_credential(world.services, world.alice, ws, "svc")
    assert got["used_by"] == [{"flow_id": flow_id, "flow_name": "flow", "draft": True, "live": True}]
    # And deleting it is a conflict naming the flow, unless forced
    with pytest.raises(Conflict) as caught:
        credentials.delete_credential(world.services, world.alice, ws, "svc", force=False)
    assert caught.value.details == {"flows": [{"flow_id": flow_id, "flow_name": "flow"}]}
    credentials.delete_credential(world.services, world.alice, ws, "svc", force=True)
    assert world.services.vault.get(ws, "svc") is None
    with pytest.raises(NotFound):
        credentials.get_credential(world.services, world.alice, ws, "svc")


def test_saving_a_flow_that_names_a_missing_credential_warns(world: World):
    ws = world.workspace()
    saved = flows.create(world.services, world.alice, ws, "f", "", USES)
    assert [w["credential"] for w in saved["warnings"]] == ["svc"]
    credentials.create_credential(world.services, world.alice, ws, "svc", "api_key", "", {"key": CANARY})
    again = flows.update(world.services, world.alice, ws, str(saved["id"]), {"definition": USES})
    assert "warnings" not in again


def test_viewers_read_metadata_and_outsiders_see_nothing(world: World):
    ws = world.workspace()
    credentials.create_credential(world.services, world.alice, ws, "svc", "api_key", "", {"key": CANARY})
    workspaces.put_member(world.services, world.alice, ws, "vera", "viewer", None, None)
    vera, bob = Principal("vera"), Principal("bob")
    assert [c["name"] for c in credentials.list_credentials(world.services, vera, ws)["items"]] == ["svc"]
    with pytest.raises(Forbidden):
        credentials.create_credential(world.services, vera, ws, "mine", "api_key", "", {"key": "x"})
    with pytest.raises(NotFound):
        credentials.list_credentials(world.services, bob, ws)
