"""Runs: start, watch, cancel and redrive. Node results live in Postgres; executions carry references."""

from __future__ import annotations

import logging
from typing import Any

from ..adapters.postgres.store import TERMINAL, Tx, page
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.expressions import ExpressionError
from ..domain.flow import node_hash
from ..domain.nodes import REGISTRY, AslShape
from ..domain.validation import ValidFlow
from ..ports import Store
from ..runtime.runner import FlowVersionCache, entry_decisions
from .access import authorize, parse_id
from .context import Principal, Services
from .json_limits import readable, serve
from .outputs import stored_output

log = logging.getLogger(__name__)
PAGE = 50
STATUSES = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")


RUN_JSON = ("input", "output", "error")
NODE_JSON = ("input", "output", "error")


def run_view(row: dict[str, Any]) -> dict[str, Any]:
    started, finished = row.get("started_at"), row.get("finished_at")
    duration = int((finished - started).total_seconds() * 1000) if started and finished else None
    view = {
        "id": row["id"],
        "flow_id": row["flow_id"],
        "flow_name": row.get("flow_name"),
        "version": row["version"],
        "status": row["status"],
        "trigger": row["trigger"],
        "input": row["input"],
        "output": row["output"],
        "error": row["error"],
        "attempt": row["attempt"],
        "created_by": row["created_by"],
        "created_at": row["created_at"],
        "started_at": started,
        "finished_at": finished,
        "duration_ms": duration,
        "cost_usd": float(row.get("cost_usd") or 0),
        "tokens": int(row.get("tokens") or 0),
    }
    return serve(view, RUN_JSON)


def execution_input(workspace_id: str, run_id: str, seed: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"run": {"id": run_id, "ws": workspace_id}, "s": seed or {}}


_flows = FlowVersionCache()


def _valid(version: dict[str, Any]) -> ValidFlow:
    """A version row, validated once per process."""
    _, problem = readable(version["definition"])
    if problem is not None:
        raise Conflict(f"version {version['version']} of this flow cannot be read ({problem}); publish a new one")
    return _flows.get(version["flow_id"], int(version["version"]), lambda: version["definition"])


def _record_entry(tx: Tx, version: dict[str, Any], run_id: str, run_input: Any) -> dict[str, Any]:
    """Write the input node's run and return the execution's initial `s` (its edge decisions)."""
    flow = _valid(version)
    entry = flow.node(flow.entry)
    if entry.type != "input":
        return {}
    recorded = tx.node_run(run_id, entry.id)
    current = (
        recorded is not None and recorded["config_hash"] == node_hash(entry) and isinstance(recorded["take"], dict)
    )
    if recorded is not None and current:  # a redrive keeps the first decisions, unless they went stale
        return {entry.id: {"take": recorded["take"]}}
    try:
        take = entry_decisions(flow, run_id, run_input)
    except ExpressionError as exc:
        raise InvalidInput(
            f"input: an edge condition leaving '{entry.id}' failed on this input: {exc}",
            {"field": "input", "node": entry.id},
        ) from exc
    tx.record_entry(run_id, entry.id, node_hash(entry), run_input, take)
    return {entry.id: {"take": take}}


def _launch(
    services: Services,
    principal: Principal | None,
    workspace_id: str,
    run: dict[str, Any],
    target_arn: str,
    execution_name: str,
    seed: dict[str, Any],
) -> None:
    """Start the execution; if that fails the run is marked FAILED with the reason, never left QUEUED."""
    run_id = str(run["id"])
    try:
        arn = services.orchestrator.start(target_arn, execution_name, execution_input(workspace_id, run_id, seed))
    except Exception as exc:
        log.exception("could not start execution for run %s", run_id)
        with services.store.tx(workspace_id, principal.sub if principal else None) as tx:
            tx.mark_run(run_id, "FAILED", error={"code": "StartFailed", "message": f"could not start: {exc}"})
        return
    with services.store.tx(workspace_id, principal.sub if principal else None) as tx:
        tx.start_attempt(run_id, arn)


def start(
    services: Services,
    principal: Principal,
    workspace_id: str,
    flow_id: str,
    run_input: Any,
    version: int | None,
    trigger: str = "manual",
) -> dict[str, Any]:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "runs.start")
        flow = tx.get_flow(flow_id)
        if flow is None:
            raise NotFound(f"flow '{flow_id}' not found")
        chosen = version if version is not None else flow["live_version"]
        if chosen is None:
            raise Conflict("this flow has no published version yet: publish it first (POST .../versions)")
        row = tx.get_version(flow_id, chosen)
        if row is None:
            raise InvalidInput(f"version: flow has no version {chosen}", {"field": "version"})
        run = tx.create_run(flow_id, chosen, run_input, trigger)
        seed = _record_entry(tx, row, str(run["id"]), run_input)
        tx.audit("run.start", "run", str(run["id"]), {"flow": flow_id, "version": chosen})
    _launch(services, principal, workspace_id, run, row["state_machine_version_arn"], str(run["id"]), seed)
    return get(services, principal, workspace_id, str(run["id"]))


def get(services: Services, principal: Principal, workspace_id: str, run_id: str) -> dict[str, Any]:
    run_id = parse_id(run_id, "run")
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "runs.read")
        row = tx.get_run(run_id)
    if row is None:
        raise NotFound(f"run '{run_id}' not found")
    return run_view({**row, "output": stored_output(services.blobs, workspace_id, run_id, row)})


def list_runs(
    services: Services,
    principal: Principal,
    workspace_id: str,
    flow_id: str | None,
    status: str | None,
    cursor: str | None,
    limit: int = PAGE,
) -> dict[str, Any]:
    if status and status not in STATUSES:
        raise InvalidInput(f"status: must be one of {', '.join(STATUSES)}", {"field": "status"})
    if flow_id:
        flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "runs.read")
        rows, nxt = page(tx.list_runs(limit + 1, cursor, flow_id, status), limit)
    return {"items": [run_view(r) for r in rows], "next_cursor": nxt}


def nodes(services: Services, principal: Principal, workspace_id: str, run_id: str) -> dict[str, Any]:
    """Every node of the run's flow version, in flow order, with what happened to it."""
    run_id = parse_id(run_id, "run")
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "runs.read")
        run = tx.run_row(run_id)
        if run is None:
            raise NotFound(f"run '{run_id}' not found")
        version = tx.get_version(str(run["flow_id"]), int(run["version"]))
        assert version is not None
        rows = {(r["node_id"], r["iteration"]): r for r in tx.node_runs(run_id)}
    items: list[dict[str, Any]] = []
    _, problem = readable(version["definition"])
    if problem is not None:  # without the flow's order and kinds, list what was recorded
        for recorded in rows.values():
            keys = ("node_id", "iteration", "status", "attempts", "executions", *NODE_JSON)
            view = {k: recorded[k] for k in keys}
            view["output"] = stored_output(services.blobs, workspace_id, run_id, recorded)
            items.append(serve({**view, "type": recorded["node_type"]}, NODE_JSON))
        return {"items": items, "unreadable": [{"field": "definition", "message": problem}]}
    flow = _valid(version)
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
                    **(_waiting(flow, node.id, rows) if run["status"] == "RUNNING" and _waits(node.type) else {}),
                }
            )
            continue
        view = {
            "node_id": node.id,
            "type": node.type,
            "name": node.name,
            "iteration": row["iteration"],
            "status": row["status"],
            "attempts": row["attempts"],
            "executions": row["executions"],
            "input": row["input"],
            "output": stored_output(services.blobs, workspace_id, run_id, row),  # a blob pointer is read back
            "error": row["error"],
            "started_at": row["started_at"],
            "finished_at": row["finished_at"],
            "duration_ms": row["duration_ms"],
            "model": row["model"],
            "tokens_in": row["tokens_in"],
            "tokens_out": row["tokens_out"],
            "cost_usd": float(row["cost_usd"]) if row["cost_usd"] is not None else None,
        }
        items.append(serve(view, NODE_JSON))
    return {"items": items}


def _waits(node_type: str) -> bool:
    """A node whose state is a native Wait: it has no row until the wait ends."""
    return REGISTRY[node_type].shape is AslShape.WAIT


def _waiting(flow: ValidFlow, node_id: str, rows: dict[tuple[str, int], dict[str, Any]]) -> dict[str, Any]:
    """A wait node is a native Wait state with no row of its own until it ends: it is waiting once an
    upstream node that finished took the edge into it (its start is that node's finish)."""
    started = [
        r["finished_at"]
        for e in flow.edges_in[node_id]
        if (r := rows.get((e.source, 0)))
        and r["status"] == "SUCCEEDED"
        and isinstance(r["take"], dict)
        and r["take"].get(node_id)
    ]
    if not started:
        return {}
    return {"status": "RUNNING", "started_at": max(started), "waiting": True}


def cancel(services: Services, principal: Principal, workspace_id: str, run_id: str) -> dict[str, Any]:
    run_id = parse_id(run_id, "run")
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "runs.cancel")
        run = tx.get_run(run_id, for_update=True)
        if run is None:
            raise NotFound(f"run '{run_id}' not found")
        if run["status"] in TERMINAL:
            raise Conflict(f"run is already {run['status']}")
        if run["execution_arn"]:
            services.orchestrator.stop(run["execution_arn"], f"cancelled by {principal.sub}")
        error = {"code": "Cancelled", "message": f"cancelled by {principal.sub}"}
        tx.fail_running_nodes(run_id, error)
        tx.mark_run(run_id, "CANCELLED", error=error)
        tx.audit("run.cancel", "run", run_id)
    return get(services, principal, workspace_id, run_id)


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
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "runs.redrive")
        run = tx.get_run(run_id, for_update=True)
        if run is None:
            raise NotFound(f"run '{run_id}' not found")
        if run["status"] not in ("FAILED", "CANCELLED"):
            raise Conflict(f"only FAILED or CANCELLED runs can be redriven; this one is {run['status']}")
        _, problem = readable(run["input"])
        if problem is not None:
            raise Conflict(f"this run's stored input cannot be read ({problem}); start a new run instead")
        current = tx.get_version(str(run["flow_id"]), int(run["version"]))
        assert current is not None
        version_row = current
        if version is not None and version != run["version"]:
            target = tx.get_version(str(run["flow_id"]), version)
            if target is None:
                raise InvalidInput(f"version: flow has no version {version}", {"field": "version"})
            stale = stale_nodes(_valid(current), _valid(target))
            tx.invalidate_node_runs(run_id, sorted(stale))
            tx.set_run_version(run_id, version)
            version_row = target
        seed = _record_entry(tx, version_row, run_id, run["input"])
        tx.begin_redrive(run_id)
        tx.audit(
            "run.redrive",
            "run",
            run_id,
            {"attempt": int(run["attempt"]) + 1, "from_version": run["version"], "version": version_row["version"]},
        )
    name = f"{run_id}-r{int(run['attempt']) + 1}"
    _launch(services, principal, workspace_id, run, version_row["state_machine_version_arn"], name, seed)
    return get(services, principal, workspace_id, run_id)


def reconcile(store: Store, workspace_id: str, run_id: str, execution_status: str, execution_arn: str) -> bool:
    """An execution ended outside the flow's own bookkeeping (timeout, abort, a failed fail-handler).

    Shared by the EventBridge handler (AWS) and the local orchestrator's watcher. True if it repaired a run."""
    if execution_status in ("RUNNING", "SUCCEEDED"):
        return False  # still going, or the flow recorded its own success
    with store.tx(workspace_id) as tx:
        run = tx.run_row(run_id)
        if run is None or run["status"] in TERMINAL or run["execution_arn"] != execution_arn:
            return False
        status = "CANCELLED" if execution_status == "ABORTED" else "FAILED"
        error = {
            "code": f"Execution{execution_status.title().replace('_', '')}",
            "message": f"the execution ended {execution_status}",
        }
        tx.fail_running_nodes(run_id, error)
        tx.mark_run(run_id, status, error=error)
    return True


def interrupt_in_flight(services: Services, workspace_id: str) -> int:
    """Local mode start-up: runs whose execution died with the previous process become redrivable."""
    with services.store.tx(workspace_id) as tx:
        rows = tx.list_runs(10_000, None, None, "RUNNING") + tx.list_runs(10_000, None, None, "QUEUED")
        error = {
            "code": "Interrupted",
            "message": "the local orchestrator stopped while this run was in flight; redrive it to resume",
        }
        for row in rows:
            tx.fail_running_nodes(str(row["id"]), error)
            tx.mark_run(str(row["id"]), "FAILED", error=error)
    return len(rows)
