"""Completing callback nodes: the other half of the `callback` ASL shape (lambda:invoke.waitForTaskToken).

The node runner parked the Task's token in Postgres and returned (`NodeRunner.execute`). Whatever the node
waits for (a person's decision, an agent runner) ends it here, exactly once:

1. in one unit of work: lock the run, compare-and-set the parked token PARKED -> COMPLETED (or FAILED), and
   record the node run's result (output, edge decisions; the memo) or its typed error;
2. after the commit, send SendTaskSuccess `{"take": ...}` (node data stays in Postgres, never in the
   execution) or SendTaskFailure with the error's class name, which the Task's Retry and Catch match.

Concurrent completions of one token queue on its row: one wins, the others get `Conflict`. Recording first
means a send that is lost (the Task timed out meanwhile and is retried, or a restart re-runs the
execution) is repaired by the retried Task itself: the node is a memo hit, and the runner completes the
new token at once with the recorded decisions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..domain.errors import Conflict, NotFound
from ..domain.expressions import ExpressionError
from ..domain.nodes import REGISTRY
from ..domain.records import ParkedStatus, ParkedTask, Run, Usage
from ..ports import Orchestrator, Store, TaskGone, UnitOfWork
from .blobs import OutputBlobs, hydrate_upstream, offload_output
from .errors import NodeError, NodeFailedError
from .executors import EXPIRERS, NodeContext
from .runner import FlowVersionCache, _audit_soft_crossing, edge_taken

log = logging.getLogger(__name__)

# Nothing computes while a callback node waits: its node run costs no Lambda time (its duration is the wait).
WAITING_MEMORY_MB = 0

Within = Callable[[UnitOfWork, ParkedTask], None]


@dataclass(frozen=True)
class Completed:
    """How a completion ended: the node run's status, and whether the orchestrator still waited for the token
    (`delivered` False: the Task had timed out or its execution ended; the result is recorded all the same)."""

    run_id: str
    node_id: str
    iteration: int
    status: Literal["SUCCEEDED", "FAILED"]
    delivered: bool
    take: dict[str, bool]


@dataclass(frozen=True)
class Settled:
    """A token settled and its node run recorded, in a unit of work not yet committed: `send` it afterwards."""

    parked: ParkedTask
    take: dict[str, bool]
    error: NodeError | None


class CallbackCompletions:
    """Complete, fail or keep alive a parked callback node by (run, node, iteration)."""

    def __init__(
        self,
        store: Store,
        orchestrator: Orchestrator | None,
        outputs: OutputBlobs | None = None,
        flows: FlowVersionCache | None = None,
    ) -> None:
        self.store = store
        self.orchestrator = orchestrator
        self.outputs = outputs
        self.flows = flows or FlowVersionCache()

    def complete(
        self,
        workspace_id: str,
        run_id: str,
        node_id: str,
        iteration: int = 0,
        *,
        output: Any = None,
        error: NodeError | None = None,
        by: str = "system",
        user_sub: str | None = None,
        usage: Usage | None = None,
        within: Within | None = None,
    ) -> Completed:
        """Record the node's `output` (or typed `error`), then send the token back. `within(uow, parked)` runs in
        the same unit of work after the compare-and-set (a decision's own rows and audit entry).

        `NotFound` when nothing was ever parked for that node run; `Conflict` when its token is not parked any
        more (completed by someone else, withdrawn by a cancel, expired) or the run is not active."""
        with self.store.tx(workspace_id, user_sub) as uow:
            run = uow.runs.get(run_id, for_update=True)  # cancel locks the run first too: no lock-order cycle
            if run is None:
                raise NotFound(f"run '{run_id}' not found")
            settled = self.settle(uow, run, node_id, iteration, output=output, error=error, by=by, usage=usage)
            if within is not None:
                within(uow, settled.parked)
        return self.send(settled)

    def settle(
        self,
        uow: UnitOfWork,
        run: Run,
        node_id: str,
        iteration: int = 0,
        *,
        output: Any = None,
        error: NodeError | None = None,
        by: str = "system",
        usage: Usage | None = None,
        closed: ParkedStatus | None = None,
    ) -> Settled:
        """The recording half of `complete`, inside the caller's unit of work, which must hold the run's row
        lock (`uow.runs.get(run_id, for_update=True)`). Send the result with `send` after the commit."""
        run_id = run.id
        parked = uow.parked.settle(run_id, node_id, iteration, closed or ("FAILED" if error else "COMPLETED"), by)
        if parked is None:
            raise self._not_parked(uow, run_id, node_id, iteration)
        if run.is_terminal:
            raise Conflict(f"run '{run_id}' is {run.status}: node '{node_id}' cannot be completed")
        take: dict[str, bool] = {}
        if error is None:
            try:
                take = self._decisions(uow, run_id, node_id, run.input, run.flow_id, run.version, output)
            except ExpressionError as exc:
                error = NodeFailedError(f"node '{node_id}': edge condition failed: {exc}")
        workspace_id = uow.workspace_id or ""
        if error is None:
            stored, output_ref = offload_output(self.outputs, workspace_id, run_id, node_id, iteration, output)
            crossed = uow.node_runs.finish(
                run_id,
                node_id,
                iteration,
                status="SUCCEEDED",
                output=stored,
                output_ref=output_ref,
                take=take,
                usage=usage or Usage(),
                memory_mb=WAITING_MEMORY_MB,
            )
        else:
            recorded = {"type": type(error).__name__, "message": error.message, "details": error.details}
            crossed = uow.node_runs.finish(  # what was spent before the failure (an agent's calls) still counts
                run_id,
                node_id,
                iteration,
                status="FAILED",
                error=recorded,
                usage=usage or Usage(),
                memory_mb=WAITING_MEMORY_MB,
            )
        _audit_soft_crossing(uow, workspace_id, crossed)
        return Settled(parked, take, error)

    def send(self, settled: Settled) -> Completed:
        """The sending half of `complete`, after the unit of work that settled the token committed."""
        parked = settled.parked
        delivered = self._send(parked, settled.take, settled.error)
        status: Literal["SUCCEEDED", "FAILED"] = "FAILED" if settled.error else "SUCCEEDED"
        return Completed(parked.run_id, parked.node_id, parked.iteration, status, delivered, settled.take)

    def expire(self, workspace_id: str, run_id: str, node_id: str, iteration: int = 0) -> dict[str, Any]:
        """The node's Task timed out and its kind makes that an outcome: record what its expirer says (the
        token EXPIRED), and return the edge decisions for the state machine (the `expire-<id>` Task)."""
        with self.store.tx(workspace_id) as uow:
            run = uow.runs.get(run_id, for_update=True)
            if run is None:
                raise NodeFailedError(f"run {run_id} does not exist in workspace {workspace_id}")
            row = uow.node_runs.get(run_id, node_id, iteration)
            if row is not None and row.status == "SUCCEEDED":  # completed at the deadline; its send was too late
                return {"take": row.take or {}}
            node = self.flows.of(uow, run.flow_id, run.version).node(node_id)
            expirer = EXPIRERS.get(node.type)
            output: Any = None
            error: NodeError | None = None
            try:
                if expirer is None:
                    raise NodeFailedError(f"node '{node_id}' timed out")
                config = REGISTRY[node.type].config.model_validate(node.config)
                output = expirer(config, uow, uow.parked.get(run_id, node_id, iteration))
            except NodeError as exc:
                error = exc
            settled = self.settle(
                uow, run, node_id, iteration, output=output, error=error, by="timeout", closed="EXPIRED"
            )
        if settled.error is not None:
            raise settled.error
        return {"take": settled.take}

    def heartbeat(self, workspace_id: str, run_id: str, node_id: str, iteration: int = 0) -> ParkedTask:
        """The completer is still at work: SendTaskHeartbeat, so the Task's HeartbeatSeconds starts again."""
        with self.store.tx(workspace_id) as uow:
            parked = uow.parked.beat(run_id, node_id, iteration)
            if parked is None:
                raise self._not_parked(uow, run_id, node_id, iteration)
        if self.orchestrator is None:
            raise RuntimeError("these callback completions have no orchestrator to send heartbeats through")
        try:
            self.orchestrator.send_task_heartbeat(parked.task_token)
        except TaskGone as exc:
            raise Conflict(f"node '{node_id}' of run '{run_id}': its Task no longer waits ({exc})") from None
        return parked

    # -- parts ---------------------------------------------------------------------------------------------
    @staticmethod
    def _not_parked(uow: UnitOfWork, run_id: str, node_id: str, iteration: int) -> Exception:
        found = uow.parked.get(run_id, node_id, iteration)
        if found is None:
            return NotFound(f"node '{node_id}' of run '{run_id}' is not waiting for a callback")
        how = f" ({found.closed_by})" if found.closed_by else ""
        return Conflict(f"node '{node_id}' of run '{run_id}' no longer waits: {found.status}{how}")

    def _decisions(
        self, uow: UnitOfWork, run_id: str, node_id: str, run_input: Any, flow_id: str, version: int, output: Any
    ) -> dict[str, bool]:
        """The node's edge decisions on its output, as the runner takes them for any node."""
        flow = self.flows.of(uow, flow_id, version)
        edges = flow.edges_out[node_id]
        upstream: dict[str, Any] = {}
        if any(e.condition and e.condition.strip() not in ("true", "false") for e in edges):
            upstream = uow.node_runs.outputs(run_id, sorted(flow.dag.ancestors()[node_id]))
            hydrate_upstream(self.outputs, uow.workspace_id or "", run_id, node_id, upstream)
        ctx = NodeContext(
            run_id=run_id,
            workspace_id=uow.workspace_id or "",
            node_id=node_id,
            run_input=run_input,
            upstream=upstream,
            predecessors=list(flow.dag.pred[node_id]),
        )
        return {e.target: edge_taken(e.condition, output, ctx) for e in edges}

    def _send(self, parked: ParkedTask, take: dict[str, bool], error: NodeError | None) -> bool:
        if self.orchestrator is None:
            raise RuntimeError("these callback completions have no orchestrator to send task results through")
        try:
            if error is None:
                self.orchestrator.send_task_success(parked.task_token, {"take": take})
            else:
                cause = json.dumps({"errorType": type(error).__name__, "errorMessage": error.message})
                self.orchestrator.send_task_failure(parked.task_token, type(error).__name__, cause)
        except TaskGone as exc:
            # Recorded all the same: a retried Task (or a resumed execution) finds the memo and completes itself.
            log.warning(
                "run %s node %s: the orchestrator no longer waits for its token: %s", parked.run_id, parked.node_id, exc
            )
            return False
        return True
