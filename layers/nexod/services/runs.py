"""Runs: start, watch, cancel and redrive. Node results live in Postgres; executions carry references."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..domain.actor import Actor, SystemActor, UserActor
from ..domain.errors import Conflict, FlowInvalid, InvalidInput, NotFound
from ..domain.expressions import ExpressionError
from ..domain.flow import node_hash
from ..domain.nodes import REGISTRY, AslShape
from ..domain.records import RUN_STATUSES, FlowVersion, FlowVersionSummary, NodeRun, Run, RunDetail, RunStatus
from ..domain.validation import ValidFlow
from ..ports import Store, UnitOfWork
from ..runtime.events import nodes_failed, run_status_changed, run_status_data
from ..runtime.runner import FlowVersionCache, entry_decisions
from . import approvals, limits
from .access import authorize, flow_or_404, parse_id
from .context import Principal, Services
from .json_limits import readable, serve
from .outputs import stored_output
from .paging import decode_cursor, page

log = logging.getLogger(__name__)
PAGE = 50
STATUSES = RUN_STATUSES


RUN_JSON = ("input", "output", "error")
NODE_JSON = ("input", "output", "error")


def cost_breakdown(llm: float, compute: float, orchestration: float) -> dict[str, float]:
    """A run's (or any group's) cost in dollars, each part and the total rounded to millionths (sub-cent
    compute and orchestration costs stay visible; rounding never moves a total by a cent)."""
    return {
        "llm": round(llm, 6),
        "compute": round(compute, 6),
        "orchestration": round(orchestration, 6),
        "total": round(llm + compute + orchestration, 6),
    }


def run_view(run: RunDetail, *, output: Any = None) -> dict[str, Any]:
    """A run as the API serves it. `output`: the value read back from the blob store, when the run's
    output lives there (listings leave it unread: null)."""
    started, finished = run.started_at, run.finished_at
    duration = int((finished - started).total_seconds() * 1000) if started and finished else None
    view = {
        "id": run.id,
        "number": run.number,
        "label": run.label,
        "flow_id": run.flow_id,
        "flow_name": run.flow_name,
        "version": max(run.version, 0),  # a test run executes a snapshot of the draft: version 0
        "test": run.test,
        "status": run.status,
        "trigger": run.trigger,
        "input": run.input,
        "output": output if run.output_ref is not None else run.output,
        "error": run.error,
        "attempt": run.attempt,
        "created_by": run.created_by,
        "started_by": run.started_by.as_json(),
        "created_at": run.created_at,
        "started_at": started,
        "finished_at": finished,
        "duration_ms": duration,
        "active_ms": run.active_ms,
        "cost_usd": run.cost_usd,
        "tokens": run.tokens,
        "cost": cost_breakdown(run.llm_cost_usd, run.compute_cost_usd, run.orchestration_cost_usd),
    }
    return serve(view, RUN_JSON)


def execution_input(
    workspace_id: str,
    run_id: str,
    seed: dict[str, Any] | None = None,
    *,
    flow_id: str | None = None,
    version: int | None = None,
) -> dict[str, Any]:
    """An execution's input: the run it executes (with its flow version, the node runner's hint) and `s`."""
    run: dict[str, Any] = {"id": run_id, "ws": workspace_id}
    if flow_id is not None and version is not None:
        run |= {"flow": flow_id, "version": version}
    return {"run": run, "s": seed or {}}


_flows = FlowVersionCache()


def _readable_definition(version: FlowVersion) -> Any:
    """The stored version's definition, or a 409 saying it cannot be read."""
    _, problem = readable(version.definition)
    if problem is not None:
        raise Conflict(f"version {version.version} of this flow cannot be read ({problem}); publish a new one")
    return version.definition


def _valid(version: FlowVersion) -> ValidFlow:
    """A stored version, validated once per process."""
    definition = _readable_definition(version)
    return _flows.get(version.flow_id, version.version, lambda: definition)


def _valid_head(uow: UnitOfWork, head: FlowVersionSummary) -> ValidFlow:
    """A stored version, validated once per process; its definition is read from the store only then."""

    def definition() -> Any:
        stored = uow.versions.get(head.flow_id, head.version)
        assert stored is not None  # the head was read in this unit of work
        return _readable_definition(stored)

    return _flows.get(head.flow_id, head.version, definition)


def _record_entry(uow: UnitOfWork, flow: ValidFlow, run_id: str, run_input: Any) -> dict[str, Any]:
    """Write the input node's run and return the execution's initial `s` (its edge decisions)."""
    entry = flow.node(flow.entry)
    if entry.type != "input":
        return {}
    recorded = uow.node_runs.get(run_id, entry.id)
    current = recorded is not None and recorded.config_hash == node_hash(entry) and isinstance(recorded.take, dict)
    if recorded is not None and current:  # a redrive keeps the first decisions, unless they went stale
        return {entry.id: {"take": recorded.take}}
    try:
        take = entry_decisions(flow, run_id, run_input)
    except ExpressionError as exc:
        raise InvalidInput(
            f"input: an edge condition leaving '{entry.id}' failed on this input: {exc}",
            {"field": "input", "node": entry.id},
        ) from exc
    uow.node_runs.record_entry(run_id, entry.id, node_hash(entry), run_input, take)
    uow.events.append(run_id, "node.succeeded", entry.id, 0, {"take": take})
    return {entry.id: {"take": take}}


def _user_of(actor: Actor) -> str | None:
    return actor.sub if isinstance(actor, UserActor) else None


def _launch(
    services: Services,
    actor: Actor,
    workspace_id: str,
    run_id: str,
    version: FlowVersionSummary,
    execution_name: str,
    seed: dict[str, Any],
) -> None:
    """Start the execution; if that fails the run is marked FAILED with the reason, never left QUEUED."""
    payload = execution_input(workspace_id, run_id, seed, flow_id=version.flow_id, version=version.version)
    try:
        arn = services.orchestrator.start(version.state_machine_version_arn or "", execution_name, payload)
    except Exception as exc:
        log.exception("could not start execution for run %s", run_id)
        with services.store.tx(workspace_id, _user_of(actor)) as uow:
            failed = uow.runs.mark(
                run_id, "FAILED", error={"code": "StartFailed", "message": f"could not start: {exc}"}
            )
            if failed is not None:
                run_status_changed(uow, failed)
        services.publish_events(workspace_id)
        return
    with services.store.tx(workspace_id, _user_of(actor)) as uow:
        # Read first, write with the commit: while the execution's first nodes claim, this transaction holds
        # no id the run's events must wait for (docs/decisions.md, 2026-11-27 "the API's start written with its
        # commit").
        run = uow.runs.get(run_id)
        if run is not None:
            running = replace(run, attempt=run.attempt + 1, status="RUNNING", execution_arn=arn)
            # (a run that ended already, or was cancelled meanwhile, gets no started event: the write checks)
            uow.runs.start_attempt(run_id, arn, None if run.is_terminal else run_status_data(running))
    services.publish_events(workspace_id)


def start(
    services: Services,
    actor: Actor,
    workspace_id: str,
    flow_id: str,
    run_input: Any,
    version: int | None,
    trigger: str = "manual",
    within: Callable[[UnitOfWork, Run, str | None], None] | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """Start a run of `version` (else the live one), named `label` if given. A user needs a role that may
    start runs; a trigger or the system acts for the workspace that owns it. `within(uow, run, queued_reason)`
    runs in the unit of work that creates the run (a trigger settles its delivery there: both commit, or
    neither)."""
    flow_id = parse_id(flow_id, "flow")
    label = _label(label)
    with services.store.tx(workspace_id, _user_of(actor)) as uow:
        if isinstance(actor, UserActor):
            actor = UserActor(actor.sub, authorize(uow, Principal(actor.sub), "runs.start"))
        flow = flow_or_404(uow, flow_id)
        chosen = version if version is not None else flow.live_version
        if chosen is None:
            raise Conflict("this flow has no published version yet: publish it first (POST .../versions)")
        # The version's head only: its definition is read once per process, its ASL not at all.
        stored = uow.versions.head(flow_id, chosen)
        if stored is None:
            raise InvalidInput(f"version: flow has no version {chosen}", {"field": "version"})
        flow_version = _valid_head(uow, stored)
        held = limits.gate(uow, flow_id, trigger)  # a full limit: wait (queue) or LimitReached (reject)
        run = uow.runs.create(flow_id, chosen, run_input, trigger, actor)
        if label is not None:
            run = uow.runs.set_label(run.id, label) or run
        run_status_changed(uow, run, trigger=trigger)
        seed = _record_entry(uow, flow_version, run.id, run_input)
        uow.audit.record("run.start", "run", run.id, {"flow": flow_id, "version": chosen}, actor=actor)
        if held is not None:
            uow.limits.hold(run.id, flow_id, held.reason)
        if within is not None:
            within(uow, run, held.reason if held is not None else None)
    if held is None:
        _launch(services, actor, workspace_id, run.id, stored, run.id, seed)
    with services.store.tx(workspace_id, _user_of(actor)) as uow:
        detail = uow.runs.detail(run.id)
    assert detail is not None
    return run_view(detail)


def get(services: Services, principal: Principal, workspace_id: str, run_id: str) -> dict[str, Any]:
    run_id = parse_id(run_id, "run")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "runs.read")
        run = uow.runs.detail(run_id)
    if run is None:
        raise NotFound(f"run '{run_id}' not found")
    return run_view(run, output=stored_output(services.blobs, workspace_id, run_id, run))


def list_runs(
    services: Services,
    principal: Principal,
    workspace_id: str,
    flow_id: str | None,
    status: str | None,
    cursor: str | None,
    limit: int = PAGE,
    number: int | None = None,
    test: bool = False,
) -> dict[str, Any]:
    """Runs newest first; with `flow` and `number`, the one run of that number (a page of one, or empty);
    `test`: the test runs of drafts instead (they are never listed among the others)."""
    wanted = _status(status)
    if flow_id:
        flow_id = parse_id(flow_id, "flow")
    if number is not None and not flow_id:
        raise InvalidInput("number: a run number is per flow; pass `flow` too", {"field": "number"})
    after = decode_cursor(cursor) if cursor else None
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "runs.read")
        runs, nxt = page(uow.runs.newest(limit + 1, after, flow_id, wanted, number, test=test), limit)
    return {"items": [run_view(r) for r in runs], "next_cursor": nxt}


MAX_LABEL = 200


def _label(label: str | None) -> str | None:
    """A run label as stored: trimmed, 1..200 characters, or None (an empty label clears it)."""
    if label is None:
        return None
    label = label.strip()
    if len(label) > MAX_LABEL:
        raise InvalidInput(f"label: at most {MAX_LABEL} characters", {"field": "label"})
    return label or None


def set_label(
    services: Services, principal: Principal, workspace_id: str, run_id: str, label: str | None
) -> dict[str, Any]:
    """Name a run (or clear its name with null or an empty label); audited as `run.label`."""
    run_id = parse_id(run_id, "run")
    label = _label(label)
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "runs.label")
        if uow.runs.set_label(run_id, label) is None:
            raise NotFound(f"run '{run_id}' not found")
        uow.audit.record("run.label", "run", run_id, {"label": label})
    return get(services, principal, workspace_id, run_id)


def _status(status: str | None) -> RunStatus | None:
    for known in STATUSES:
        if status == known:
            return known
    if status:
        raise InvalidInput(f"status: must be one of {', '.join(STATUSES)}", {"field": "status"})
    return None


def nodes(services: Services, principal: Principal, workspace_id: str, run_id: str) -> dict[str, Any]:
    """Every node of the run's flow version, in flow order, with what happened to it."""
    run_id = parse_id(run_id, "run")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "runs.read")
        run = uow.runs.get(run_id)
        if run is None:
            raise NotFound(f"run '{run_id}' not found")
        version = uow.versions.get(run.flow_id, run.version)
        assert version is not None
        rows = {(r.node_id, r.iteration): r for r in uow.node_runs.of_run(run_id)}
    items: list[dict[str, Any]] = []
    _, problem = readable(version.definition)
    flow: ValidFlow | None = None
    if problem is None:
        try:
            flow = _valid(version)
        except FlowInvalid as exc:  # repaired or damaged out of band: no longer a flow this code accepts
            problem = f"the stored definition is not a valid flow: {exc}"
    if flow is None:  # without the flow's order and kinds, list what was recorded
        for recorded in rows.values():
            view = {
                "node_id": recorded.node_id,
                "iteration": recorded.iteration,
                "status": recorded.status,
                "attempts": recorded.attempts,
                "executions": recorded.executions,
                "input": recorded.input,
                "output": stored_output(services.blobs, workspace_id, run_id, recorded),
                "error": recorded.error,
                "type": recorded.node_type,
            }
            items.append(serve(view, NODE_JSON))
        return {"items": items, "unreadable": [{"field": "definition", "message": problem or ""}]}
    for node in flow.document.nodes:
        row = rows.get((node.id, 0))
        if row is None:
            items.append(
                {
                    "node_id": node.id,
                    "type": node.type,
                    "name": node.name,
                    "status": "PENDING",
                    "attempts": 0,
                    "executions": 0,
                    **(_waiting(flow, node.id, rows) if run.status == "RUNNING" and _waits(node.type) else {}),
                }
            )
            continue
        view = {
            "node_id": node.id,
            "type": node.type,
            "name": node.name,
            "iteration": row.iteration,
            "status": row.status,
            "attempts": row.attempts,
            "executions": row.executions,
            "input": row.input,
            "output": stored_output(services.blobs, workspace_id, run_id, row),  # a blob pointer is read back
            "error": row.error,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
            "duration_ms": row.duration_ms,
            "model": row.model,
            "tokens_in": row.tokens_in,
            "tokens_out": row.tokens_out,
            "cost_usd": row.cost_usd,
            "cost_source": row.cost_source,
            "compute_cost_usd": row.compute_cost_usd,
            "transitions": row.transitions,
            "orchestration_cost_usd": row.orchestration_cost_usd,
            "pinned": row.pinned,  # a test run used its pinned output: it did not execute (issue 13)
        }
        if row.status == "RETRYING":
            view["next_attempt_at"] = row.next_attempt_at  # when the orchestrator tries the node again
        if _waits(node.type) and row.status == "RUNNING" and run.status == "RUNNING":
            view["waiting"] = True  # in its Wait state, until `input.until`
        items.append(serve(view, NODE_JSON))
    return {"items": items}


def _waits(node_type: str) -> bool:
    """A node whose state is a native Wait: RUNNING from its first Task until the wait ends."""
    return REGISTRY[node_type].shape is AslShape.WAIT


def _waiting(flow: ValidFlow, node_id: str, rows: dict[tuple[str, int], NodeRun]) -> dict[str, Any]:
    """A wait node whose first Task has not recorded it yet is waiting once an upstream node that finished
    took the edge into it (its start is that node's finish)."""
    started = [
        r.finished_at
        for e in flow.edges_in[node_id]
        if (r := rows.get((e.source, 0)))
        and r.status == "SUCCEEDED"
        and r.finished_at is not None
        and isinstance(r.take, dict)
        and r.take.get(node_id)
    ]
    if not started:
        return {}
    return {"status": "RUNNING", "started_at": max(started), "waiting": True}


def cancel(services: Services, principal: Principal, workspace_id: str, run_id: str) -> dict[str, Any]:
    run_id = parse_id(run_id, "run")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "runs.cancel")
        run = uow.runs.get(run_id, for_update=True)
        if run is None:
            raise NotFound(f"run '{run_id}' not found")
        if run.is_terminal:
            raise Conflict(f"run is already {run.status}")
        after_commit = stop(services, uow, run, f"cancelled by {principal.sub}")
    after_commit()
    services.publish_events(workspace_id)
    admit_queued(services, workspace_id)  # its slot is free (a held run's too: nothing changes then)
    return get(services, principal, workspace_id, run_id)


def stop(
    services: Services, uow: UnitOfWork, run: Run, cause: str, details: dict[str, Any] | None = None
) -> Callable[[], None]:
    """Cancel an active run the caller locked: its execution stops (Step Functions ends the execution), its
    running nodes fail and the run is CANCELLED, audited as `run.cancel`. The caller authorized it.

    Returns what to do once the caller's transaction committed: delete the reminder wake-ups of the approvals
    the cancellation withdrew (the starter's one-time schedules)."""
    if run.execution_arn:
        services.orchestrator.stop(run.execution_arn, cause)
    error = {"code": "Cancelled", "message": cause}
    # Its parked callback tokens are withdrawn: a completion that comes later gets a conflict.
    withdrawn = uow.parked.close_open(run.id, "WITHDRAWN", f"the run was {cause}")
    withdrawn_approvals = uow.approvals.close_pending(run.id, "withdrawn")
    wakeups = [(a.id, uow.approvals.notice_due_at(a.id)) for a in withdrawn_approvals]
    nodes_failed(uow, run.id, uow.node_runs.fail_running(run.id, error), error)
    uow.limits.release(run.id)  # a run waiting for a slot waits no more
    cancelled = uow.runs.mark(run.id, "CANCELLED", error=error)
    if cancelled is not None:
        run_status_changed(uow, cancelled)
    if withdrawn:
        details = {**(details or {}), "withdrawn": [p.node_id for p in withdrawn]}
    uow.audit.record("run.cancel", "run", run.id, details)

    def after_commit() -> None:
        for approval_id, due_at in wakeups:
            approvals.stop_reminders(services, run.workspace_id, approval_id, due_at)

    return after_commit


def _signature(flow: ValidFlow, node_id: str) -> tuple[Any, ...]:
    """What a finished node run depends on: its config and error policy, the edges into it (its inputs)
    and out of it (the decisions it recorded)."""
    return (
        node_hash(flow.node(node_id)),
        tuple(sorted(e.source for e in flow.edges_in[node_id])),
        tuple(sorted((e.target, e.condition or "") for e in flow.edges_out[node_id])),
    )


def stale_nodes(old: ValidFlow, new: ValidFlow) -> set[str]:
    """Nodes of `new` whose earlier results cannot be reused: changed ones and everything downstream."""
    old_ids = set(old.dag.order)
    changed = {n for n in new.dag.order if n not in old_ids or _signature(old, n) != _signature(new, n)}
    stale = set(changed)
    for n in new.dag.topo_order():
        if any(p in stale for p in new.dag.pred[n]):
            stale.add(n)
    return stale


def redrive(
    services: Services, principal: Principal, workspace_id: str, run_id: str, version: int | None = None
) -> dict[str, Any]:
    """Run a failed, cancelled or interrupted run again; finished nodes are reused.

    With `version`, the run moves to that version of its flow: nodes that changed, and everything
    downstream of them, run again; the rest keep their results (no side effect repeats)."""
    run_id = parse_id(run_id, "run")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "runs.redrive")
        run = uow.runs.get(run_id, for_update=True)
        if run is None:
            raise NotFound(f"run '{run_id}' not found")
        if run.status not in ("FAILED", "CANCELLED"):
            raise Conflict(f"only FAILED or CANCELLED runs can be redriven; this one is {run.status}")
        _, problem = readable(run.input)
        if problem is not None:
            raise Conflict(f"this run's stored input cannot be read ({problem}); start a new run instead")
        current = uow.versions.get(run.flow_id, run.version)
        assert current is not None
        target = current
        if version is not None and run.test:
            raise InvalidInput(
                "version: a test run stays on its snapshot of the draft; start a new test run", {"field": "version"}
            )
        if version is not None and version != run.version:
            moved = uow.versions.get(run.flow_id, version)
            if moved is None:
                raise InvalidInput(f"version: flow has no version {version}", {"field": "version"})
            stale = stale_nodes(_valid(current), _valid(moved))
            uow.node_runs.invalidate(run_id, sorted(stale))
            uow.runs.set_version(run_id, version)
            target = moved
        seed = _record_entry(uow, _valid(target), run_id, run.input)
        held = limits.gate(uow, run.flow_id, run.trigger)  # a redrive re-enters its flow's limit
        redriven = uow.runs.begin_redrive(run_id)
        if redriven is not None:
            # Queued again for its next execution (the row says RUNNING already; run.started follows).
            run_status_changed(uow, replace(redriven, status="QUEUED"), redrive=True)
        if held is not None:  # it waits for a slot, QUEUED with no execution
            uow.runs.mark(run_id, "QUEUED")
            uow.limits.hold(run_id, run.flow_id, held.reason)
        uow.audit.record(
            "run.redrive",
            "run",
            run_id,
            {"attempt": run.attempt + 1, "from_version": run.version, "version": target.version},
        )
    if held is None:
        _launch(services, principal.actor(), workspace_id, run_id, target, f"{run_id}-r{run.attempt + 1}", seed)
    return get(services, principal, workspace_id, run_id)


def admit_queued(services: Services, workspace_id: str) -> int:
    """Start the runs a concurrency limit held back, oldest first, as far as the free slots allow (a run of a
    flow whose own limit is full does not block another flow's). Called when a run's execution ends, when a
    limit changes and by the local scheduler loop; the decision runs under the workspace's admission lock and
    takes the runs out of the queue in the same transaction, so concurrent callers never over-start.
    Returns how many runs it started."""
    chosen: list[tuple[str, FlowVersionSummary, str, dict[str, Any]]] = []
    with services.store.tx(workspace_id) as uow:
        waiting = uow.limits.held()
        if not waiting:
            return 0
        uow.limits.lock()
        taken: dict[str | None, int] = {}
        for held in uow.limits.held():  # read again under the lock
            if not limits.admissible(uow, held.flow_id, taken):
                continue
            run = uow.runs.get(held.run_id, for_update=True)
            uow.limits.release(held.run_id)
            if run is None or run.status != "QUEUED":
                continue
            head = uow.versions.head(run.flow_id, run.version)
            assert head is not None
            seed = _record_entry(uow, _valid_head(uow, head), run.id, run.input)
            name = run.id if run.attempt == 0 else f"{run.id}-r{run.attempt + 1}"
            chosen.append((run.id, head, name, seed))
    for run_id, head, name, seed in chosen:
        log.info("run %s: a slot is free, starting it", run_id)
        _launch(services, SystemActor("limits"), workspace_id, run_id, head, name, seed)
    return len(chosen)


def reconcile(store: Store, workspace_id: str, run_id: str, execution_status: str, execution_arn: str) -> bool:
    """An execution ended outside the flow's own bookkeeping (timeout, abort, a failed fail-handler).

    Shared by the EventBridge handler (AWS) and the local orchestrator's watcher. True if it repaired a run."""
    if execution_status in ("RUNNING", "SUCCEEDED"):
        return False  # still going, or the flow recorded its own success
    with store.tx(workspace_id) as uow:
        run = uow.runs.get(run_id, for_update=True)
        if run is None or run.is_terminal or run.execution_arn != execution_arn:
            return False
        status: RunStatus = "CANCELLED" if execution_status == "ABORTED" else "FAILED"
        error = {
            "code": f"Execution{execution_status.title().replace('_', '')}",
            "message": f"the execution ended {execution_status}",
        }
        # No node is left RUNNING and no token parked: nothing will ever complete them.
        uow.parked.close_open(run_id, "EXPIRED" if execution_status == "TIMED_OUT" else "WITHDRAWN", error["message"])
        nodes_failed(uow, run_id, uow.node_runs.fail_running(run_id, error), error)
        ended = uow.runs.mark(run_id, status, error=error)
        if ended is not None:
            run_status_changed(uow, ended)
    return True


def interrupt_in_flight(services: Services, workspace_id: str) -> int:
    """Local mode start-up: runs whose execution died with the previous process become redrivable.

    A run that was only waiting (every node in flight is a callback node with its token parked) lost nothing
    but its execution: it resumes on a new one (see `resume_parked`) and stays decidable. Returns how many
    runs were interrupted."""
    with services.store.tx(workspace_id) as uow:
        waits = {h.run_id for h in uow.limits.held(limit=10_000)}  # held by a limit: no execution to lose
        in_flight: list[Run] = [
            *uow.runs.newest(10_000, status="RUNNING", test=None),  # test runs of drafts too
            *(r for r in uow.runs.newest(10_000, status="QUEUED", test=None) if r.id not in waits),
        ]
        error = {
            "code": "Interrupted",
            "message": "the local orchestrator stopped while this run was in flight; redrive it to resume",
        }
        interrupted, waiting = 0, []
        for listed in in_flight:
            # The run row first, as every path that ends a run locks it (reconcile, fail, finish, cancel):
            # touching its parked tokens and node runs first deadlocked with a concurrent reconcile.
            run = uow.runs.get(listed.id, for_update=True)
            if run is None or run.is_terminal:
                continue
            if _only_parked(uow, run.id):
                waiting.append(run.id)
                continue
            uow.parked.close_open(run.id, "WITHDRAWN", "the local orchestrator stopped")
            nodes_failed(uow, run.id, uow.node_runs.fail_running(run.id, error), error)
            ended = uow.runs.mark(run.id, "FAILED", error=error)
            if ended is not None:
                run_status_changed(uow, ended)
            interrupted += 1
    for run_id in waiting:
        resume_parked(services, workspace_id, run_id)
    return interrupted


def _only_parked(uow: UnitOfWork, run_id: str) -> bool:
    """Whether the run is waiting and nothing else: it has parked tokens and no other node run in flight."""
    parked = {(p.node_id, p.iteration) for p in uow.parked.of_run(run_id) if p.status == "PARKED"}
    running = {(n.node_id, n.iteration) for n in uow.node_runs.of_run(run_id) if n.status == "RUNNING"}
    return bool(parked) and running <= parked


def resume_parked(services: Services, workspace_id: str, run_id: str) -> None:
    """Start a new execution for a run whose execution was lost while it waited on callback nodes (a restart
    of local mode: moto keeps executions in memory). Finished nodes are memo hits; each waiting node's Task
    parks again with its new token, so the tokens stay decidable by (run, node). A completion that lands in
    between is recorded first and completes the new Task at once (a memo hit)."""
    with services.store.tx(workspace_id) as uow:
        run = uow.runs.get(run_id, for_update=True)
        if run is None or run.is_terminal:
            return
        stored = uow.versions.get(run.flow_id, run.version)
        assert stored is not None
        seed = _record_entry(uow, _valid(stored), run_id, run.input)
        redriven = uow.runs.begin_redrive(run_id)
        if redriven is not None:
            run_status_changed(uow, replace(redriven, status="QUEUED"), redrive=True)
    log.info("run %s was waiting on a callback when the orchestrator stopped: resuming it", run_id)
    _launch(services, SystemActor("resume"), workspace_id, run_id, stored, f"{run_id}-r{run.attempt + 1}", seed)
