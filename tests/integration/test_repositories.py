"""The repository contract: the same scenarios against the in-memory fake and the real PostgreSQL adapter.

Unit tests trust the fake (tests/support/fakes.py) to behave as the adapter does; these keep it honest.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from nexod.domain.actor import SystemActor, TriggerActor, UserActor
from nexod.domain.records import Cursor, NodeClaim
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
        head = uow.versions.head(flow_id, 2)
        missing = uow.versions.get(flow_id, 3)
        missing_head = uow.versions.head(flow_id, 3)
    assert head == listed[0]
    assert missing_head is None
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


def test_a_started_run_gets_its_started_event_with_the_start_and_a_cancelled_one_none(store: Store):
    # Given two queued runs, the second cancelled before its execution's start is recorded
    ws = new_workspace(store)
    flow_id = published(store, ws)
    started_id, cancelled_id = queued_run(store, ws, flow_id), queued_run(store, ws, flow_id)
    with store.tx(ws) as uow:
        uow.runs.mark(cancelled_id, "CANCELLED")
    # When both starts are recorded with the event the caller built
    for run_id in (started_id, cancelled_id):
        with store.tx(ws) as uow:
            uow.runs.start_attempt(run_id, f"arn:exec:{run_id}", {"status": "RUNNING", "attempt": 1})
    # Then the running one says so once, with that data; the cancelled one has its execution but no event
    with store.tx(ws) as uow:
        started, cancelled = uow.runs.get(started_id), uow.runs.get(cancelled_id)
        events = {run_id: uow.events.after(None, run_id) for run_id in (started_id, cancelled_id)}
    assert started is not None and (started.status, started.attempt) == ("RUNNING", 1)
    assert cancelled is not None and (cancelled.status, cancelled.execution_arn) == (
        "CANCELLED",
        f"arn:exec:{cancelled_id}",
    )
    assert [(e.type, e.data) for e in events[started_id]] == [("run.started", {"status": "RUNNING", "attempt": 1})]
    assert [e.type for e in events[cancelled_id]] == []


def test_the_start_is_written_with_the_commit_so_the_transaction_holds_no_id_before(stack: LocalStack):
    # Given a queued run in PostgreSQL
    store = stack.platform.services.store
    ws = new_workspace(store)
    run_id = queued_run(store, ws, published(store, ws))
    with store.tx(ws) as uow:
        # When its start is recorded and the caller goes on in the same unit of work
        uow.runs.start_attempt(run_id, "arn:exec:late", {"status": "RUNNING"})
        conn = uow.conn  # type: ignore[attr-defined]
        # Then nothing was written yet: no transaction id a run's events would wait for
        (xid,) = conn.execute("SELECT pg_current_xact_id_if_assigned()::text").fetchone().values()
        assert xid is None
    # And the commit wrote it
    with store.tx(ws) as uow:
        run = uow.runs.get(run_id)
    assert run is not None and (run.status, run.execution_arn) == ("RUNNING", "arn:exec:late")


def test_the_node_runners_transactions_plan_their_statements_once_and_the_apis_per_execution(stack: LocalStack):
    # Given the local platform's API store and the store its node runners were given
    from functions.steps import node_runner

    api_store = stack.platform.services.store
    runner_store = node_runner.CORE.runner().store
    ws = new_workspace(api_store)
    modes = {}
    for name, store in (("api", api_store), ("runner", runner_store)):
        # When each opens a unit of work
        with store.tx(ws) as uow:
            conn = uow.conn  # type: ignore[attr-defined]
            modes[name] = conn.execute("SELECT current_setting('plan_cache_mode') AS mode").fetchone()["mode"]
    # Then only the runner's uses generic plans, and only inside its transactions
    assert modes == {"api": "auto", "runner": "force_generic_plan"}


def test_a_run_moves_through_its_statuses(store: Store):
    # Given a queued run
    ws = new_workspace(store)
    flow_id = published(store, ws)
    run_id = queued_run(store, ws, flow_id)
    with store.tx(ws) as uow:
        # When its execution starts (recorded with the commit), a guarded move does not apply, and it ends
        uow.runs.start_attempt(run_id, "arn:exec:1")
    with store.tx(ws) as uow:
        started = uow.runs.get(run_id)
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


def test_a_claim_given_the_input_begins_the_execution_as_begin_execution_would_except_on_a_memo_hit(store: Store):
    # Given a queued run
    ws = new_workspace(store)
    flow_id = published(store, ws)
    run_id = queued_run(store, ws, flow_id)
    claim = {"flow_id": flow_id, "version": 1, "upstream": []}
    # When node `a` is claimed and begun in two steps, and node `b` by a claim given its input
    with store.tx(ws) as uow:
        stepwise = uow.node_runs.claim(run_id, "a", 0, "transform", "ha", **claim)
        uow.events.append(run_id, "node.started", "a", 0, {"attempt": 1})
        uow.node_runs.begin_execution(run_id, "a", 0, "ha", {"expression": "1"})
    with store.tx(ws) as uow:
        folded = uow.node_runs.claim(run_id, "b", 0, "transform", "ha", **claim, begin_input={"expression": "1"})
    with store.tx(ws) as uow:  # (events read once committed)
        a, b = uow.node_runs.get(run_id, "a"), uow.node_runs.get(run_id, "b")
        events = [(e.type, e.node_id, e.data) for e in uow.events.after(None, run_id)]
    # Then both node runs read the same, and each has its node.started event
    assert not stepwise.begun and folded.begun
    assert a is not None and b is not None and folded.node_run is not None
    seen = ("status", "attempts", "executions", "config_hash", "input", "error", "finished_at", "next_attempt_at")
    assert (
        [getattr(b, f) for f in seen]
        == [getattr(a, f) for f in seen]
        == ["RUNNING", 1, 1, "ha", {"expression": "1"}, None, None, None]
    )
    assert (folded.node_run.status, folded.node_run.executions) == ("RUNNING", 1)  # the row as begun
    assert [e for e in events if e[0] == "node.started"] == [
        ("node.started", "a", {"attempt": 1}),
        ("node.started", "b", {"attempt": 1}),
    ]
    # And a failed attempt claimed again with its input begins again: RUNNING, the error gone, one more execution
    with store.tx(ws) as uow:
        uow.node_runs.finish(run_id, "b", 0, status="FAILED", error={"type": "X"})
    with store.tx(ws) as uow:
        again = uow.node_runs.claim(run_id, "b", 0, "transform", "hb", **claim, begin_input={"expression": "2"})
    assert again.begun and again.node_run is not None
    assert (again.node_run.status, again.node_run.attempts, again.node_run.executions) == ("RUNNING", 2, 2)
    assert (again.node_run.error, again.node_run.finished_at, again.node_run.config_hash) == (None, None, "hb")
    assert again.node_run.input == {"expression": "2"}
    # And once it succeeded with that config, the claim is a memo hit: only an attempt counted, nothing begun
    with store.tx(ws) as uow:
        uow.node_runs.finish(run_id, "b", 0, status="SUCCEEDED", output=1, take={})
    with store.tx(ws) as uow:
        memo = uow.node_runs.claim(run_id, "b", 0, "transform", "hb", **claim, begin_input={"expression": "3"})
    with store.tx(ws) as uow:
        started = [e for e in uow.events.after(None, run_id) if e.type == "node.started" and e.node_id == "b"]
    assert not memo.begun and memo.node_run is not None
    assert (memo.node_run.status, memo.node_run.attempts, memo.node_run.executions) == ("SUCCEEDED", 3, 2)
    assert memo.node_run.input == {"expression": "2"} and memo.node_run.finished_at is not None
    assert [e.data for e in started] == [{"attempt": 1}, {"attempt": 2}]


def test_a_claim_does_not_wait_for_the_run_row_another_transaction_holds(stack: LocalStack):
    # Given a queued run whose row another transaction holds (another node's claim moving it to RUNNING)
    store = stack.platform.services.store
    ws = new_workspace(store)
    flow_id = published(store, ws)
    run_id = queued_run(store, ws, flow_id)
    claimed: list[NodeClaim] = []

    def claim_b() -> None:
        with store.tx(ws) as uow:
            claimed.append(
                uow.node_runs.claim(run_id, "b", 0, "transform", "h", flow_id=flow_id, version=1, upstream=[])
            )

    with store.tx(ws) as holder:
        conn = holder.conn  # type: ignore[attr-defined]
        assert conn.execute("SELECT 1 FROM runs WHERE id = %s FOR NO KEY UPDATE", (run_id,)).fetchone()
        # When a node is claimed meanwhile
        claimer = threading.Thread(target=claim_b)
        claimer.start()
        claimer.join(timeout=10)
        # Then the claim did not wait for that transaction (the run row it holds is left to it)
        assert not claimer.is_alive()
    assert claimed and claimed[0].node_run is not None and claimed[0].node_run.status == "RUNNING"


def test_node_runs_fail_skip_and_lose_their_memo(store: Store):
    ws = new_workspace(store)
    flow_id = published(store, ws)
    run_id = queued_run(store, ws, flow_id)
    with store.tx(ws) as uow:
        uow.node_runs.claim(run_id, "a", 0, "transform", "ha", flow_id=flow_id, version=1, upstream=[])
        uow.node_runs.claim(run_id, "b", 0, "llm", "hb", flow_id=flow_id, version=1, upstream=[])
        uow.node_runs.finish(run_id, "b", 0, status="SUCCEEDED", output="ok", usage=_usage())
        uow.node_runs.fail_running(run_id, {"code": "Cancelled"})
        skipped = uow.node_runs.record_skipped(run_id, [("c", "transform"), ("b", "llm")])
        uow.node_runs.invalidate(run_id, ["b"])
    with store.tx(ws) as uow:
        by_id = {n.node_id: n for n in uow.node_runs.of_run(run_id)}
        outputs = uow.node_runs.outputs(run_id, ["a", "b", "c"])
        detail = uow.runs.detail(run_id)
    assert skipped == ["c"]  # b has a node run: only c is marked
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
            assert uow.versions.head(flow_id, 1) is None
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


def _finish_llm(store: Store, ws: str, run_id: str, node_id: str, cost: float, tokens: int = 10) -> object:
    """Claim (one attempt) and, in a later unit of work, finish an llm node that spent `cost`."""
    from nexod.domain.records import Usage

    flow_id = _run_flow(store, ws, run_id)
    with store.tx(ws) as uow:
        uow.node_runs.claim(run_id, node_id, 0, "llm", "h", flow_id=flow_id, version=1, upstream=[])
    with store.tx(ws) as uow:
        usage = Usage(model="gpt-4", tokens_in=tokens, tokens_out=tokens, cost_usd=cost)
        return uow.node_runs.finish(run_id, node_id, 0, status="SUCCEEDED", output="ok", usage=usage)


def _run_flow(store: Store, ws: str, run_id: str) -> str:
    with store.tx(ws) as uow:
        run = uow.runs.get(run_id)
    assert run is not None
    return run.flow_id


def test_a_finished_node_run_records_its_costs_and_the_runs_roll_them_up(store: Store):
    from nexod.domain.cost import SFN_TRANSITION_USD, usd_per_ms
    from nexod.domain.records import Usage

    # Given a run whose llm node was claimed twice (a retried Task), a model without a price, and a transform
    ws = new_workspace(store)
    flow_id = published(store, ws)
    run_id = queued_run(store, ws, flow_id)
    for node_id, kind in (("a", "llm"), ("a", "llm"), ("b", "llm"), ("c", "transform")):
        with store.tx(ws) as uow:
            uow.node_runs.claim(run_id, node_id, 0, kind, "h", flow_id=flow_id, version=1, upstream=[])
    # When each finishes in its own unit of work, on a runner with 2048 MB
    with store.tx(ws) as uow:
        priced = Usage(model="gpt-4", tokens_in=100, tokens_out=50, cost_usd=0.0061234567)
        uow.node_runs.finish(run_id, "a", 0, status="SUCCEEDED", output="ok", usage=priced, memory_mb=2048)
        unpriced = Usage(model="local-model", tokens_in=7, tokens_out=3, cost_usd=0.0)
        uow.node_runs.finish(run_id, "b", 0, status="SUCCEEDED", output="ok", usage=unpriced, memory_mb=2048)
        uow.node_runs.finish(run_id, "c", 0, status="FAILED", error={"message": "no"}, memory_mb=2048)
    with store.tx(ws) as uow:
        nodes = {n.node_id: n for n in uow.node_runs.of_run(run_id)}
        detail = uow.runs.detail(run_id)
        budget = uow.budgets.get()
    # Then the LLM cost keeps LiteLLM's price (to the column's millionth) with its source
    a, b, c = nodes["a"], nodes["b"], nodes["c"]
    assert (a.cost_usd, a.cost_source) == (0.006123, "price_table")
    assert (b.cost_usd, b.cost_source) == (0.0, "unknown")  # tokens without a price
    assert (c.cost_usd, c.cost_source) == (None, None)  # no model call
    # And compute is the measured duration at 2048 MB, arm64; one transition per attempt
    for n in (a, b, c):
        assert n.duration_ms is not None and n.duration_ms > 0
        assert n.compute_cost_usd == round(n.duration_ms * usd_per_ms(2048), 8)
    assert (a.transitions, b.transitions, c.transitions) == (2, 1, 1)
    assert a.orchestration_cost_usd == round(2 * SFN_TRANSITION_USD, 8) == 0.00005
    # And the run rolls them up, and the month's spend counted every part of every node run
    assert detail is not None
    assert detail.llm_cost_usd == detail.cost_usd == 0.006123
    assert detail.compute_cost_usd == pytest.approx(sum(n.compute_cost_usd or 0 for n in (a, b, c)), abs=1e-12)
    assert detail.orchestration_cost_usd == pytest.approx(4 * SFN_TRANSITION_USD, abs=1e-12)
    expected = detail.llm_cost_usd + detail.compute_cost_usd + detail.orchestration_cost_usd
    assert budget.month_to_date_usd == pytest.approx(expected, abs=1e-8)


def test_the_soft_budget_is_crossed_once_a_month_and_the_hard_one_is_one_query(store: Store):
    # Given a workspace with a soft budget of $0.10 and a hard budget of $0.30
    ws = new_workspace(store)
    flow_id = published(store, ws)
    run_id = queued_run(store, ws, flow_id)
    with store.tx(ws) as uow:
        assert uow.budgets.get().monthly_hard_usd is None  # never set: no limits, nothing spent
        set_to = uow.budgets.put(0.1, 0.3)
    assert (set_to.monthly_soft_usd, set_to.monthly_hard_usd, set_to.soft_crossed_at) == (0.1, 0.3, None)
    # When node runs spend $0.05, then $0.08 (crossing $0.10), then $0.20 (crossing $0.30)
    below = _finish_llm(store, ws, run_id, "a", 0.05)
    crossing = _finish_llm(store, ws, run_id, "b", 0.08)
    with store.tx(ws) as uow:
        under_hard = uow.budgets.over_hard()
    again = _finish_llm(store, ws, run_id, "c", 0.20)
    # Then only the crossing reports the soft limit, once
    assert below is None and again is None
    assert crossing is not None and crossing.soft_limit_usd == 0.1
    assert 0.13 <= crossing.month_to_date_usd < 0.131
    # And the hard limit is reached only after the spend reached it
    assert under_hard is None
    with store.tx(ws) as uow:
        over = uow.budgets.over_hard()
        budget = uow.budgets.get()
    assert over is not None and over[1] == 0.3 and 0.33 <= over[0] < 0.331
    assert budget.soft_crossed_at is not None and budget.month_to_date_usd == over[0]
    # And another workspace neither sees this spend nor is over any budget
    other = new_workspace(store)
    with store.tx(other) as uow:
        assert uow.budgets.over_hard() is None and uow.budgets.get().month_to_date_usd == 0


def test_parallel_finishes_add_up_and_cross_the_soft_budget_exactly_once(store: Store):
    from concurrent.futures import ThreadPoolExecutor

    # Given a soft budget of $0.10 and 16 llm node runs of one run, claimed
    ws = new_workspace(store)
    flow_id = published(store, ws)
    run_id = queued_run(store, ws, flow_id)
    with store.tx(ws) as uow:
        uow.budgets.put(0.1, None)
    nodes = [f"n{i}" for i in range(16)]
    for node_id in nodes:
        with store.tx(ws) as uow:
            uow.node_runs.claim(run_id, node_id, 0, "llm", "h", flow_id=flow_id, version=1, upstream=[])

    def finish(node_id: str) -> object:
        from nexod.domain.records import Usage

        with store.tx(ws) as uow:
            usage = Usage(model="gpt-4", tokens_in=1, tokens_out=1, cost_usd=0.01)
            return uow.node_runs.finish(run_id, node_id, 0, status="SUCCEEDED", output="ok", usage=usage)

    # When they all finish at once ($0.16 in all), and one more node finishes afterwards
    with ThreadPoolExecutor(8) as pool:
        reports = list(pool.map(finish, nodes))
    with store.tx(ws) as uow:
        uow.node_runs.claim(run_id, "last", 0, "llm", "h", flow_id=flow_id, version=1, upstream=[])
    reports.append(finish("last"))
    # Then the crossing is reported exactly once (at the latest by the next finish), and the spend adds up
    crossings = [r for r in reports if r is not None]
    assert len(crossings) == 1, reports
    with store.tx(ws) as uow:
        budget = uow.budgets.get()
        costs = sum(n.cost_usd or 0 for n in uow.node_runs.of_run(run_id))
    assert costs == pytest.approx(0.17)
    assert budget.soft_crossed_at is not None and budget.month_to_date_usd >= 0.17


def test_usage_groups_finished_node_runs_by_day_flow_model_and_node_type(store: Store):
    from datetime import UTC, datetime, timedelta

    # Given two flows' runs whose llm nodes spent $0.05 and $0.07 (gpt-4) and a transform
    ws = new_workspace(store)
    first, second = published(store, ws), published(store, ws)
    run_1, run_2 = queued_run(store, ws, first), queued_run(store, ws, second)
    _finish_llm(store, ws, run_1, "a", 0.05, tokens=3)
    _finish_llm(store, ws, run_2, "a", 0.07, tokens=4)
    with store.tx(ws) as uow:
        uow.node_runs.claim(run_2, "t", 0, "transform", "h", flow_id=second, version=1, upstream=[])
    with store.tx(ws) as uow:
        uow.node_runs.finish(run_2, "t", 0, status="SUCCEEDED", output=1)
    now = datetime.now(UTC)
    window = (now - timedelta(days=400), now + timedelta(days=400))
    # When usage is grouped each way
    with store.tx(ws) as uow:
        nodes = uow.node_runs.of_run(run_1) + uow.node_runs.of_run(run_2)
        grouped = {g: uow.budgets.usage(*window, "Pacific/Auckland", g) for g in ("day", "flow", "model", "node_type")}
        empty = uow.budgets.usage(now - timedelta(days=3), now - timedelta(days=2), "UTC", "flow")
    # Then every grouping sums to the node runs' costs and tokens
    spent = sum((n.cost_usd or 0) + (n.compute_cost_usd or 0) + (n.orchestration_cost_usd or 0) for n in nodes)
    for group, rows in grouped.items():
        total = sum(r.llm_usd + r.compute_usd + r.orchestration_usd for r in rows)
        assert total == pytest.approx(spent, abs=1e-9), group
        assert sum(r.tokens_in for r in rows) == 7 and sum(r.node_runs for r in rows) == 3, group
    # And flows are keyed by id with their names; models and node types by name; days in the time zone
    assert {r.key for r in grouped["flow"]} == {first, second}
    assert {r.label for r in grouped["flow"]} == {"flow"}
    by_model = {r.key: r for r in grouped["model"]}
    assert set(by_model) == {"gpt-4", ""} and by_model["gpt-4"].llm_usd == pytest.approx(0.12)
    assert {r.key for r in grouped["node_type"]} == {"llm", "transform"}
    finished = nodes[0].finished_at
    assert finished is not None
    from zoneinfo import ZoneInfo

    assert grouped["day"][0].key == finished.astimezone(ZoneInfo("Pacific/Auckland")).strftime("%Y-%m-%d")
    # And a window without node runs has no groups, and a zone the store does not know is refused by name
    assert empty == []
    from nexod.domain.errors import InvalidInput

    with pytest.raises(InvalidInput, match="tz: 'Nowhere/Zone'"), store.tx(ws) as uow:
        uow.budgets.usage(*window, "Nowhere/Zone", "day")


def test_the_knowledge_catalog_counts_pages_and_scopes_documents(store: Store):
    from datetime import UTC, datetime

    from nexod.domain.records import KnowledgeDocument

    # Given a workspace with a knowledge base (a second one of the same name is refused)
    ws = new_workspace(store)
    with store.tx(ws, "ann") as uow:
        kb = uow.knowledge.create_base("handbook", "", "wordllama", 256, "pgvector", None, "ann")
        assert kb is not None and (kb.documents, kb.chunks) == (0, 0)
        assert uow.knowledge.create_base("handbook", "", "wordllama", 256, "pgvector", None, "ann") is None
    # When three documents are added in three transactions
    ids = []
    for n in range(3):
        with store.tx(ws, "ann") as uow:
            doc = uow.knowledge.add_document(
                KnowledgeDocument(
                    id=str(uuid.uuid4()),
                    knowledge_base_id=kb.id,
                    name=f"d{n}",
                    content_type="text/plain",
                    size_bytes=10,
                    sha256="x",
                    chunks=n + 1,
                    metadata={"n": n},
                    embedding_tokens=3,
                    embedding_cost_usd=None,
                    created_by="ann",
                    created_at=datetime.now(UTC),
                )
            )
            ids.append(doc.id)
    # Then the knowledge base counts them, pages list them newest first, and delete removes one
    with store.tx(ws, "ann") as uow:
        listed = uow.knowledge.bases()
        assert [(b.name, b.documents, b.chunks) for b in listed] == [("handbook", 3, 6)]
        first = uow.knowledge.documents(kb.id, 2)
        assert [d.name for d in first] == ["d2", "d1"]
        rest = uow.knowledge.documents(kb.id, 2, (first[-1].created_at, first[-1].id))
        assert [d.name for d in rest] == ["d0"]
        assert uow.knowledge.delete_document(kb.id, ids[0]) and not uow.knowledge.delete_document(kb.id, ids[0])
    # And another workspace sees none of it
    other = new_workspace(store, "bob")
    with store.tx(other, "bob") as uow:
        assert uow.knowledge.bases() == [] and uow.knowledge.base(kb.id) is None
        assert uow.knowledge.document(kb.id, ids[1]) is None


def test_events_are_read_in_order_after_a_cursor_per_run_and_per_workspace(store: Store):
    # Given two runs of a workspace and another workspace
    ws, other = new_workspace(store), new_workspace(store)
    flow = published(store, ws)
    run_1, run_2 = queued_run(store, ws, flow), queued_run(store, ws, flow)
    # When events are appended in three units of work, one of them a workspace event
    with store.tx(ws) as uow:
        uow.events.append(run_1, "run.queued", data={"status": "QUEUED"})
        uow.events.append(run_1, "node.started", "a", 0, {"attempt": 1})
    with store.tx(ws) as uow:
        uow.events.append(run_2, "run.queued")
        uow.events.append(None, "budget.soft_limit_crossed", data={"month": "2026-11"})
    with store.tx(ws) as uow:
        uow.events.append(run_1, "node.retrying", "a", 0, {"attempt": 2})
    # Then one run's events come oldest first, with what was appended
    with store.tx(ws) as uow:
        mine = uow.events.after(None, run_1)
        everything = uow.events.after(None)
    assert [(e.type, e.node_id, e.iteration, e.data) for e in mine] == [
        ("run.queued", None, None, {"status": "QUEUED"}),
        ("node.started", "a", 0, {"attempt": 1}),
        ("node.retrying", "a", 0, {"attempt": 2}),
    ]
    assert [e.type for e in everything] == [
        "run.queued",
        "node.started",
        "run.queued",
        "budget.soft_limit_crossed",
        "node.retrying",
    ]
    assert everything[3].run_id is None and everything[2].run_id == run_2
    # And cursors increase, and reading after one gives exactly what follows it (limit respected)
    cursors = [e.cursor for e in everything]
    assert cursors == sorted(cursors) and len(set(cursors)) == 5
    with store.tx(ws) as uow:
        assert [e.cursor for e in uow.events.after(cursors[1], None, limit=2)] == cursors[2:4]
        assert uow.events.after(cursors[-1]) == []
        assert [e.type for e in uow.events.after(mine[0].cursor, run_1)] == ["node.started", "node.retrying"]
    # And another workspace sees none of them
    with store.tx(other) as uow:
        assert uow.events.after(None) == []


def _append_then_fail(store: Store, ws: str, run_id: str) -> None:
    with store.tx(ws) as uow:
        uow.events.append(run_id, "run.started")
        raise RuntimeError("the change failed")


def test_an_unregistered_event_type_is_refused_and_a_rolled_back_change_leaves_no_event(store: Store):
    # Given a run
    ws = new_workspace(store)
    run_id = queued_run(store, ws, published(store, ws))
    # When an unknown type is appended, or the unit of work that appended an event fails
    with pytest.raises(ValueError, match="not registered"), store.tx(ws) as uow:
        uow.events.append(run_id, "run.exploded")
    with pytest.raises(RuntimeError):
        _append_then_fail(store, ws, run_id)
    # Then nothing was recorded
    with store.tx(ws) as uow:
        assert uow.events.after(None, run_id) == []


def test_the_outbox_holds_published_types_until_marked(store: Store):
    # Given a run's lifecycle event (published), a node event (not) and a budget crossing (published)
    ws = new_workspace(store)
    run_id = queued_run(store, ws, published(store, ws))
    with store.tx(ws) as uow:
        uow.events.append(run_id, "run.succeeded", data={"status": "SUCCEEDED"})
        uow.events.append(run_id, "node.succeeded", "a", 0)
        uow.events.append(None, "budget.soft_limit_crossed")
    # When the relay reads what is pending and marks the first as published
    with store.tx(ws) as uow:
        pending = uow.events.unpublished(10)
        uow.events.mark_published([pending[0].cursor])
    # Then only the published types were pending, and only the unmarked one still is
    assert [e.type for e in pending] == ["run.succeeded", "budget.soft_limit_crossed"]
    with store.tx(ws) as uow:
        assert [e.type for e in uow.events.unpublished(10)] == ["budget.soft_limit_crossed"]


def test_fail_running_names_the_node_runs_it_failed(store: Store):
    # Given a run with one running and one finished node run
    ws = new_workspace(store)
    flow = published(store, ws)
    run_id = queued_run(store, ws, flow)
    with store.tx(ws) as uow:
        for node in ("a", "b"):
            uow.node_runs.claim(run_id, node, 0, "transform", "h", flow_id=flow, version=1, upstream=[])
        uow.node_runs.finish(run_id, "a", 0, status="SUCCEEDED", output=1)
    # When the running ones fail
    with store.tx(ws) as uow:
        failed = uow.node_runs.fail_running(run_id, {"type": "Cancelled"})
    # Then it names b only
    assert failed == [("b", 0)]
