"""The repository contract: the same scenarios against the in-memory fake and the real PostgreSQL adapter.

Unit tests trust the fake (tests/support/fakes.py) to behave as the adapter does; these keep it honest.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from nexod.domain.actor import SystemActor, TriggerActor, UserActor
from nexod.domain.records import Cursor
from nexod.local.boot import LocalStack
from nexod.ports import Store
from tests.support.fakes import MemoryStore

DEFINITION = {"nodes": [{"id": "start", "type": "input", "config": {}}], "edges": []}
ASL = {"StartAt": "x", "States": {"x": {"Type": "Succeed"}}}


@pytest.fixture(params=["memory", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    else:
        stack: LocalStack = request.getfixturevalue("stack")
        yield stack.platform.services.store


def new_workspace(store: Store, admin: str = "ann") -> str:
    ws = str(uuid.uuid4())
    with store.tx(ws, admin) as uow:
        uow.workspaces.create("contract", admin)
        uow.members.put(admin, "admin", f"{admin}@example.com", admin.title())
    return ws


def published(store: Store, ws: str, versions: int = 1) -> str:
    with store.tx(ws, "ann") as uow:
        flow = uow.flows.create("flow", "", DEFINITION)
        for v in range(1, versions + 1):
            uow.versions.add(flow.id, v, DEFINITION, ASL, f"hash{v}", f"arn:v{v}", "")
    return flow.id


def queued_run(store: Store, ws: str, flow_id: str) -> str:
    with store.tx(ws, "ann") as uow:
        return uow.runs.create(flow_id, 1, {"n": 1}, "manual", UserActor("ann")).id


def test_a_workspace_and_its_members(store: Store):
    # Given a new workspace with ann as admin
    ws = new_workspace(store)
    bob = f"bob-{uuid.uuid4().hex[:8]}"  # the Postgres store is shared by the session: a subject of its own
    # When bob joins as a viewer and is then promoted without repeating his email
    with store.tx(ws, "ann") as uow:
        uow.members.put(bob, "viewer", "bob@example.com", None)
        promoted = uow.members.put(bob, "member")
    # Then the members, roles and counts read back, and each sees the workspace in their list
    assert (promoted.role, promoted.email) == ("member", "bob@example.com")
    with store.tx(ws, "ann") as uow:
        assert [(m.user_sub, m.role) for m in uow.members.all()] == [("ann", "admin"), (bob, "member")]
        assert (uow.members.role_of(bob), uow.members.role_of("carol")) == ("member", None)
        assert uow.members.count_admins() == 1
        current = uow.workspaces.current()
        assert current is not None and (current.id, current.allowed_hosts) == (ws, [])
        assert uow.workspaces.set_allowed_hosts(["api.example.com"]).allowed_hosts == ["api.example.com"]
    with store.tx(None, bob) as uow:
        assert [(w.id, w.role) for w in uow.workspaces.of_user()] == [(ws, "member")]
    # And a removed member is gone
    with store.tx(ws, "ann") as uow:
        assert uow.members.remove(bob) is True
        assert uow.members.remove(bob) is False
        assert uow.members.role_of(bob) is None


def test_flows_page_newest_first_update_and_soft_delete(store: Store):
    # Given three flows
    ws = new_workspace(store)
    ids = []
    for i in range(3):
        with store.tx(ws, "ann") as uow:
            ids.append(uow.flows.create(f"f{i}", "", DEFINITION).id)
    # When they are listed two at a time, one is renamed and one deleted
    with store.tx(ws, "ann") as uow:
        first = uow.flows.newest(2)
        rest = uow.flows.newest(2, Cursor(first[-1].created_at, first[-1].id))
        renamed = uow.flows.update(ids[0], {"name": "renamed", "live_version": 1})
        assert uow.flows.delete(ids[1]) is True
        assert uow.flows.delete(ids[1]) is False
    # Then the pages are newest first, the change reads back, and the deleted flow is gone
    assert [f.id for f in first + rest] == ids[::-1]
    assert renamed is not None and (renamed.name, renamed.live_version, renamed.created_by) == ("renamed", 1, "ann")
    with store.tx(ws, "ann") as uow:
        assert uow.flows.get(ids[1]) is None
        assert uow.flows.update(ids[1], {"name": "x"}) is None
        assert [f.id for f in uow.flows.newest(10)] == [ids[2], ids[0]]


def test_versions_read_back_newest_first(store: Store):
    ws = new_workspace(store)
    flow_id = published(store, ws, versions=2)
    with store.tx(ws, "ann") as uow:
        listed = uow.versions.of_flow(flow_id)
        v1 = uow.versions.get(flow_id, 1)
        missing = uow.versions.get(flow_id, 3)
    assert [(v.version, v.config_hash, v.state_machine_version_arn) for v in listed] == [
        (2, "hash2", "arn:v2"),
        (1, "hash1", "arn:v1"),
    ]
    assert v1 is not None and (v1.definition, v1.asl, v1.created_by) == (DEFINITION, ASL, "ann")
    assert missing is None


@pytest.mark.parametrize(
    ("actor", "kind", "actor_id", "created_by"),
    [
        (UserActor("ann", "admin"), "user", "ann", "ann"),
        (TriggerActor("trg-9", "webhook"), "trigger", "trg-9", "trigger:trg-9"),
        (SystemActor("replay"), "system", "replay", "system:replay"),
    ],
)
def test_a_run_records_who_started_it(store: Store, actor, kind, actor_id, created_by):
    ws = new_workspace(store)
    flow_id = published(store, ws)
    with store.tx(ws) as uow:
        created = uow.runs.create(flow_id, 1, {"a": [1, 2]}, "manual", actor)
    with store.tx(ws) as uow:
        run = uow.runs.get(created.id)
    assert run is not None
    assert (run.started_by.kind, run.started_by.id, run.created_by) == (kind, actor_id, created_by)
    assert (run.status, run.input, run.attempt, run.workspace_id) == ("QUEUED", {"a": [1, 2]}, 0, ws)


def test_a_run_moves_through_its_statuses(store: Store):
    # Given a queued run
    ws = new_workspace(store)
    flow_id = published(store, ws)
    run_id = queued_run(store, ws, flow_id)
    with store.tx(ws) as uow:
        # When its execution starts, a guarded move does not apply, and it ends
        started = uow.runs.start_attempt(run_id, "arn:exec:1")
        refused = uow.runs.mark(run_id, "SUCCEEDED", only_from=("QUEUED",))
        failed = uow.runs.mark(run_id, "FAILED", error={"code": "X"}, only_from=("RUNNING",))
    # Then each step reads as it should
    assert started is not None and (started.status, started.attempt, started.execution_arn) == (
        "RUNNING",
        1,
        "arn:exec:1",
    )
    assert refused is None
    assert failed is not None and (failed.status, failed.error, failed.is_terminal) == ("FAILED", {"code": "X"}, True)
    assert failed.finished_at is not None
    # And a redrive forgets the execution and the error, and may move the run to another version
    with store.tx(ws) as uow:
        again = uow.runs.begin_redrive(run_id)
        uow.runs.set_version(run_id, 1)
        listed = uow.runs.newest(10, status="RUNNING")
        detail = uow.runs.detail(run_id)
    assert again is not None and (again.status, again.error, again.execution_arn, again.finished_at) == (
        "RUNNING",
        None,
        None,
        None,
    )
    assert [r.id for r in listed] == [run_id]
    assert detail is not None and (detail.flow_name, detail.cost_usd, detail.tokens) == ("flow", 0.0, 0)


def test_claiming_a_node_counts_attempts_reads_upstream_and_refuses_inactive_runs(store: Store):
    # Given a queued run whose input node finished
    ws = new_workspace(store)
    flow_id = published(store, ws, versions=2)
    run_id = queued_run(store, ws, flow_id)
    with store.tx(ws) as uow:
        uow.node_runs.record_entry(run_id, "start", "h0", {"n": 1}, {"a": True})
    # When node `a` is claimed twice
    with store.tx(ws) as uow:
        first = uow.node_runs.claim(run_id, "a", 0, "transform", "ha", flow_id=flow_id, version=1, upstream=["start"])
    with store.tx(ws) as uow:
        second = uow.node_runs.claim(run_id, "a", 0, "transform", "ha", flow_id=flow_id, version=1, upstream=["start"])
        run_now = uow.runs.get(run_id)
    # Then the first claim inserted it RUNNING, the second counted an attempt, both read the upstream output
    assert first.run is not None and first.run.status == "QUEUED"  # the run as it was before the claim
    assert first.node_run is not None and (first.node_run.status, first.node_run.attempts) == ("RUNNING", 1)
    assert second.node_run is not None and second.node_run.attempts == 2
    assert first.upstream == second.upstream == {"start": {"n": 1}}
    assert run_now is not None and run_now.status == "RUNNING" and run_now.started_at is not None
    # And once it finished with that config, a claim is a memo hit that reads no upstream
    with store.tx(ws) as uow:
        uow.node_runs.begin_execution(run_id, "a", 0, "ha", {"rendered": True})
        uow.node_runs.finish(run_id, "a", 0, status="SUCCEEDED", output={"v": 1}, take={"b": True})
    with store.tx(ws) as uow:
        memo = uow.node_runs.claim(run_id, "a", 0, "transform", "ha", flow_id=flow_id, version=1, upstream=["start"])
        stale = uow.node_runs.claim(run_id, "a", 0, "transform", "hb", flow_id=flow_id, version=1, upstream=["start"])
    assert memo.node_run is not None and (memo.node_run.status, memo.node_run.take, memo.upstream) == (
        "SUCCEEDED",
        {"b": True},
        {},
    )
    assert memo.node_run.executions == 1 and memo.node_run.input == {"rendered": True}
    assert stale.upstream == {"start": {"n": 1}}  # another config: not a memo hit
    # And a claim naming another version, or on a finished run, claims nothing
    with store.tx(ws) as uow:
        other = uow.node_runs.claim(run_id, "c", 0, "transform", "hc", flow_id=flow_id, version=2, upstream=[])
        uow.runs.mark(run_id, "SUCCEEDED")
        done = uow.node_runs.claim(run_id, "c", 0, "transform", "hc", flow_id=flow_id, version=1, upstream=[])
        missing = uow.node_runs.claim(str(uuid.uuid4()), "c", 0, "t", "h", flow_id=flow_id, version=1, upstream=[])
        assert uow.node_runs.get(run_id, "c") is None
    assert other.run is not None and other.node_run is None
    assert done.run is not None and done.run.status == "SUCCEEDED" and done.node_run is None
    assert missing.run is None and missing.node_run is None


def test_node_runs_fail_skip_and_lose_their_memo(store: Store):
    ws = new_workspace(store)
    flow_id = published(store, ws)
    run_id = queued_run(store, ws, flow_id)
    with store.tx(ws) as uow:
        uow.node_runs.claim(run_id, "a", 0, "transform", "ha", flow_id=flow_id, version=1, upstream=[])
        uow.node_runs.claim(run_id, "b", 0, "llm", "hb", flow_id=flow_id, version=1, upstream=[])
        uow.node_runs.finish(run_id, "b", 0, status="SUCCEEDED", output="ok", usage=_usage())
        uow.node_runs.fail_running(run_id, {"code": "Cancelled"})
        uow.node_runs.record_skipped(run_id, [("c", "transform"), ("b", "llm")])
        uow.node_runs.invalidate(run_id, ["b"])
    with store.tx(ws) as uow:
        by_id = {n.node_id: n for n in uow.node_runs.of_run(run_id)}
        outputs = uow.node_runs.outputs(run_id, ["a", "b", "c"])
        detail = uow.runs.detail(run_id)
    assert {k: n.status for k, n in by_id.items()} == {"a": "FAILED", "b": "SUCCEEDED", "c": "SKIPPED"}
    assert by_id["a"].error == {"code": "Cancelled"}
    assert (by_id["b"].config_hash, by_id["b"].model, by_id["b"].cost_usd) == ("stale", "m", 0.25)
    assert outputs == {"b": "ok"}
    assert detail is not None and (detail.cost_usd, detail.tokens) == (0.25, 15)


def _usage():
    from nexod.domain.records import Usage

    return Usage(model="m", tokens_in=10, tokens_out=5, cost_usd=0.25)


def test_another_workspace_sees_nothing_and_no_workspace_sees_nothing(store: Store):
    # Given a workspace with a flow, a run and a node run
    ws = new_workspace(store)
    flow_id = published(store, ws)
    run_id = queued_run(store, ws, flow_id)
    with store.tx(ws) as uow:
        uow.node_runs.record_entry(run_id, "start", "h", {}, {})
    other = new_workspace(store, admin="zed")
    # When another workspace, and no workspace, look for them / Then nothing is there
    for scope in (other, None):
        with store.tx(scope, "zed") as uow:
            assert uow.flows.get(flow_id) is None
            assert uow.flows.newest(10) == []
            assert uow.versions.get(flow_id, 1) is None
            assert uow.runs.get(run_id) is None
            assert uow.runs.newest(10) == []
            assert uow.node_runs.of_run(run_id) == []
            assert uow.members.role_of("ann") is None
            claim = uow.node_runs.claim(run_id, "x", 0, "t", "h", flow_id=flow_id, version=1, upstream=["start"])
            assert claim.run is None
    # And the run was not touched by those claims
    with store.tx(ws) as uow:
        assert [n.node_id for n in uow.node_runs.of_run(run_id)] == ["start"]


def test_a_unit_of_work_that_raises_leaves_nothing_behind(store: Store):
    # Given a unit of work that creates a flow and then fails
    ws = new_workspace(store)
    created: list[str] = []

    def doomed() -> None:
        with store.tx(ws, "ann") as uow:
            created.append(uow.flows.create("doomed", "", DEFINITION).id)
            raise RuntimeError("rolled back")

    # When it raises / Then the flow was never stored
    with pytest.raises(RuntimeError):
        doomed()
    with store.tx(ws, "ann") as uow:
        assert created and uow.flows.get(created[0]) is None
