"""Deleting a workspace against the in-memory store, orchestrator and vault: confirmation, who may, what
disappears at once, what is cancelled and destroyed, the audit trail, and a failed step that a repeated
call finishes."""

from __future__ import annotations

import pytest

from nexod.domain.errors import DeletionIncomplete, Forbidden, InvalidInput, NotFound, VaultUnavailable
from nexod.services import credentials, flows, runs, workspaces
from nexod.services.context import Principal
from tests.support.fakes import MemoryVault
from tests.support.world import World
from tests.unit.flows import edge, node

LINE = {
    "nodes": [node("start", "input"), node("work", "transform", expression="input.n"), node("result", "output")],
    "edges": [edge("start", "work"), edge("work", "result")],
}
BOB = Principal("bob")
CAROL = Principal("carol")


class FlakyVault(MemoryVault):
    """Refuses the first `failures` deletions (Secrets Manager throttling, say), then works."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def delete(self, workspace_id: str, name: str) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise VaultUnavailable("Secrets Manager is unreachable: EndpointConnectionError")
        super().delete(workspace_id, name)


@pytest.fixture
def world() -> World:
    w = World()
    w.services.vault = MemoryVault()
    return w


def _tenant(world: World) -> tuple[str, str, str]:
    """A workspace ("test") with a running run, a credential and bob as a member: (ws, flow, run)."""
    ws = world.workspace()
    workspaces.put_member(world.services, world.alice, ws, "bob", "member", None, None)
    credentials.create_credential(world.services, world.alice, ws, "svc", "api_key", "", {"key": "k-1"})
    credentials.create_credential(world.services, world.alice, ws, "db", "bearer", "", {"token": "t-1"})
    flow_id = world.published(ws, LINE)
    run_id = world.start(ws, flow_id)
    return ws, flow_id, run_id


def _actions(world: World, ws: str) -> list[str]:
    with world.store.tx(ws) as uow:
        return [e.action for e in uow.audit.entries()]


def test_a_deleted_workspace_is_gone_at_once_its_runs_cancelled_and_its_credentials_destroyed(world: World):
    # Given a workspace with a running run and two credentials
    ws, flow_id, run_id = _tenant(world)
    with world.store.tx(ws) as uow:
        running = uow.runs.get(run_id)
    assert running is not None
    assert running.execution_arn
    # When its admin deletes it, typing its name
    done = workspaces.delete_workspace(world.services, world.alice, ws, "test")
    # Then the answer sums it up
    assert (done["name"], done["deleted_by"], done["runs_cancelled"]) == ("test", "alice", 1)
    assert sorted(done["credentials_destroyed"]) == ["db", "svc"]
    assert done["deletion_completed_at"] is not None
    # And nobody lists it or reaches anything under it any more
    for who in (world.alice, BOB):
        assert workspaces.me(world.services, who)["workspaces"] == []
        with pytest.raises(NotFound):
            workspaces.get_workspace(world.services, who, ws)
    with pytest.raises(NotFound):
        flows.get(world.services, world.alice, ws, flow_id)
    with pytest.raises(NotFound):
        runs.get(world.services, world.alice, ws, run_id)
    # And the run's execution was stopped through the orchestrator and the run is CANCELLED
    assert [arn for arn, _ in world.orchestrator.stopped] == [running.execution_arn]
    with world.store.tx(ws) as uow:
        run = uow.runs.get(run_id)
        assert run is not None
        assert run.status == "CANCELLED"
        assert uow.credentials.all() == []
        deletion = [e for e in uow.audit.entries() if e.action == "workspace.delete"]
    # And the values left the vault
    assert world.services.vault.values == {}
    # And the audit log keeps every step with its actor, the deletion last with a summary
    assert _actions(world, ws)[-4:] == ["run.cancel", "credential.delete", "credential.delete", "workspace.delete"]
    assert len(deletion) == 1
    assert deletion[0].actor == "alice"
    assert deletion[0].details["name"] == "test"
    assert deletion[0].details["runs_cancelled"] == 1


def test_nothing_is_deleted_unless_the_name_is_typed_again(world: World):
    # Given a workspace
    ws, _, run_id = _tenant(world)
    # When its admin deletes it without the confirmation, or with another name
    for confirm in (None, "", "Test", "test "):
        with pytest.raises(InvalidInput, match="confirm") as refused:
            workspaces.delete_workspace(world.services, world.alice, ws, confirm)
        # Then the refusal names the field
        assert refused.value.details == {"field": "confirm", "in": "query"}
    # And nothing changed
    assert workspaces.get_workspace(world.services, world.alice, ws)["name"] == "test"
    assert world.run(ws, run_id)["status"] != "CANCELLED"
    assert "workspace.delete" not in _actions(world, ws)


def test_only_the_workspace_admins_may_delete_it(world: World):
    # Given a workspace where bob is a member and carol is nobody
    ws, _, _ = _tenant(world)
    # When they try: a member is refused, an outsider does not see it
    with pytest.raises(Forbidden, match="admin"):
        workspaces.delete_workspace(world.services, BOB, ws, "test")
    with pytest.raises(NotFound):
        workspaces.delete_workspace(world.services, CAROL, ws, "test")
    # Then it is still there
    assert workspaces.get_workspace(world.services, BOB, ws)["role"] == "member"


def test_a_failed_step_is_a_clear_error_and_the_same_call_finishes_the_deletion(world: World):
    # Given a workspace whose vault fails the first deletion
    ws, _, run_id = _tenant(world)
    world.services.vault = FlakyVault(failures=1)
    world.services.vault.values = {(ws, "svc"): {"key": "k-1"}, (ws, "db"): {"token": "t-1"}}
    # When its admin deletes it
    with pytest.raises(DeletionIncomplete, match="repeat the DELETE") as failed:
        workspaces.delete_workspace(world.services, world.alice, ws, "test")
    assert failed.value.status == 503
    assert failed.value.details == {"step": "destroying its credentials"}
    # Then it is already gone for its users and its run already cancelled, but not recorded as deleted
    assert workspaces.me(world.services, BOB)["workspaces"] == []
    with pytest.raises(NotFound):
        workspaces.get_workspace(world.services, world.alice, ws)
    assert "workspace.delete" not in _actions(world, ws)
    assert "run.cancel" in _actions(world, ws)
    # And a member still cannot finish it; the admin's repeated call does
    with pytest.raises(Forbidden):
        workspaces.delete_workspace(world.services, BOB, ws, "test")
    done = workspaces.delete_workspace(world.services, world.alice, ws, "test")
    assert sorted(done["credentials_destroyed"]) == ["db", "svc"]
    assert done["runs_cancelled"] == 0  # the first call cancelled it
    assert world.services.vault.values == {}
    with world.store.tx(ws) as uow:
        run = uow.runs.get(run_id)
        assert run is not None
        assert run.status == "CANCELLED"
    assert _actions(world, ws).count("workspace.delete") == 1
    # And once complete it is gone for its admin too
    with pytest.raises(NotFound):
        workspaces.delete_workspace(world.services, world.alice, ws, "test")


def test_an_orchestrator_that_cannot_stop_an_execution_leaves_the_deletion_to_be_finished(world: World):
    # Given a workspace with a running run, and Step Functions failing to stop executions
    ws, _, run_id = _tenant(world)
    failing_stop = world.orchestrator.stop

    def refuse(execution_arn: str, cause: str) -> None:
        raise ConnectionError("states.us-east-1.amazonaws.com unreachable")

    world.orchestrator.stop = refuse  # type: ignore[method-assign]
    # When its admin deletes it
    with pytest.raises(DeletionIncomplete, match="cancelling its runs failed"):
        workspaces.delete_workspace(world.services, world.alice, ws, "test")
    # Then the run is still active and the credentials still there, to be done by the next call
    with world.store.tx(ws) as uow:
        run = uow.runs.get(run_id)
        assert run is not None
        assert run.status in ("QUEUED", "RUNNING")
        assert len(uow.credentials.all()) == 2
    # When Step Functions answers again and the admin repeats the call
    world.orchestrator.stop = failing_stop  # type: ignore[method-assign]
    done = workspaces.delete_workspace(world.services, world.alice, ws, "test")
    # Then everything is done
    assert done["runs_cancelled"] == 1
    assert sorted(done["credentials_destroyed"]) == ["db", "svc"]


def test_creating_a_workspace_is_audited_with_its_name(world: World):
    ws = world.workspace()
    with world.store.tx(ws) as uow:
        created = [(e.action, e.actor, e.details) for e in uow.audit.entries()]
    assert created == [("workspace.create", "alice", {"name": "test"})]
