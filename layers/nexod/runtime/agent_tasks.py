"""Agent runners' tasks in a run: the task board the broker serves from, and the launch of a runner.

The agent launcher (the `fargate` runtime's node runner) parks an agent or crew node's Task token and writes
the runner's task in the claim's unit of work (`executors.agent`), then, after the commit, mints a capability
token bound to (workspace, run, node, iteration, attempt) and starts the runner (`AgentLaunch`). From then on
the runner talks to the broker only, and the broker acts through `RunAgentTaskBoard`:

- `get`: the task of the claim the token names; a claim that is no longer the node's parked one (the node was
  retried, cancelled, timed out) reads as finished, so a stale runner is refused (409) and stops;
- `heartbeat`: SendTaskHeartbeat for the parked token (the Task's HeartbeatSeconds starts again);
- `event`: an `agent.step` run event, so everyone watching the run sees the step as it happens;
- `call`: the LLM call the broker made (tokens and cost), recorded with the task;
- `finish`: the callback completion (`CallbackCompletions`): the node's output with per-agent usage, the
  node run's tokens and cost (and the workspace's spend), each agent's share for the agents dashboard, then
  SendTaskSuccess; or the runner's typed error and SendTaskFailure.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from ..domain.cost import fargate_cost_usd
from ..domain.errors import Conflict
from ..domain.records import AgentUse, Usage
from ..ports import Store, UnitOfWork
from ..ports.agents import AgentTaskState, TaskScope
from .agent_launch import AgentLaunch as AgentLaunch  # re-exported: the composition roots' name
from .callbacks import CallbackCompletions
from .errors import NodeError, NodeFailedError, NodeRetryableError

log = logging.getLogger(__name__)


class AgentTaskFailed(NodeFailedError):
    """The agent runner reported a failure (its type and message are in the error)."""


class AgentTaskRetryable(NodeRetryableError):
    """The agent runner failed for a reason that may pass (a provider down): the node's retry policy applies."""


def _retryable_names() -> set[str]:
    names: set[str] = set()
    todo: list[type[NodeError]] = [NodeRetryableError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names | {"LLMUnavailable"}


def runner_error(error: dict[str, Any]) -> NodeError:
    """The runner's `{type, message}` as the node's typed error."""
    kind = str(error.get("type") or "AgentError")
    message = f"{kind}: {error.get('message') or 'the agent runner failed'}"
    cls: type[NodeError] = AgentTaskRetryable if kind in _retryable_names() else AgentTaskFailed
    return cls(message, {"type": kind})


def node_output(result: dict[str, Any]) -> Any:
    """The node's output: the runner's `{final, tasks}` with the broker's per-agent usage (never the runner's)."""
    usage = result.get("usage") or {}
    output = result.get("output")
    shown = {k: usage.get(k, 0) for k in ("tokens_in", "tokens_out", "cost_usd")}
    shown["agents"] = usage.get("agents") or {}
    calls = list(usage.get("calls") or [])  # per call: agent, model, tokens, cost, ms
    shown["calls"] = calls[:MAX_CALLS_SHOWN]
    if len(calls) > MAX_CALLS_SHOWN:
        shown["calls_omitted"] = len(calls) - MAX_CALLS_SHOWN
    if isinstance(output, dict):
        return {**output, "usage": shown}
    return {"final": output, "tasks": {}, "usage": shown}


def node_usage(result: dict[str, Any]) -> Usage:
    usage = result.get("usage") or {}
    models = {str(c.get("model")) for c in usage.get("calls") or [] if c.get("model")}
    return Usage(
        model=models.pop() if len(models) == 1 else ("several" if models else None),
        tokens_in=int(usage.get("tokens_in") or 0),
        tokens_out=int(usage.get("tokens_out") or 0),
        cost_usd=float(usage.get("cost_usd") or 0.0),
    )


def agent_uses(task: dict[str, Any], result: dict[str, Any]) -> list[AgentUse]:
    """Each agent's share of the calls, at the version the task carried."""
    per_agent = (result.get("usage") or {}).get("agents") or {}
    uses = []
    for member, spec in (task.get("agents") or {}).items():
        used = per_agent.get(member) or {}
        uses.append(
            AgentUse(
                member=member,
                agent_id=str(spec["agent_id"]),
                agent_version=int(spec["agent_version"]),
                calls=int(used.get("calls") or 0),
                tokens_in=int(used.get("tokens_in") or 0),
                tokens_out=int(used.get("tokens_out") or 0),
                cost_usd=float(used.get("cost_usd") or 0.0),
            )
        )
    return uses


def _ids(scope: TaskScope) -> bool:
    try:
        uuid.UUID(scope.workspace_id), uuid.UUID(scope.run_id)
    except ValueError:
        return False
    return True


CLOSED = {"status": "CLOSED"}  # a claim that is no longer the node's parked one
MAX_CALLS_SHOWN = 200  # the per-call record in a node's output (the sums count every call)


class RunAgentTaskBoard:
    """The agent task board of a deployment and of local mode: tasks in Postgres, results through callbacks."""

    def __init__(self, store: Store, completions: CallbackCompletions) -> None:
        self.store = store
        self.completions = completions

    def _current(self, uow: UnitOfWork, scope: TaskScope) -> bool:
        parked = uow.parked.get(scope.run_id, scope.node_id, scope.iteration)
        return parked is not None and parked.status == "PARKED" and parked.attempt == scope.attempt

    def put(self, scope: TaskScope, task: dict[str, Any]) -> None:
        with self.store.tx(scope.workspace_id) as uow:
            uow.agent_tasks.put(scope.run_id, scope.node_id, scope.iteration, scope.attempt, task)

    def get(self, scope: TaskScope) -> AgentTaskState | None:
        if not _ids(scope):  # a token names the ids its launcher had: anything else is no task of ours
            return None
        with self.store.tx(scope.workspace_id) as uow:
            found = uow.agent_tasks.get(scope.run_id, scope.node_id, scope.iteration, scope.attempt)
            if found is None:
                return None
            current = self._current(uow, scope)
        result = found.result if found.result is not None else (None if current else CLOSED)
        return AgentTaskState(task=dict(found.task), calls=list(found.calls or []), result=result)

    def heartbeat(self, scope: TaskScope, at: float) -> None:
        with self.store.tx(scope.workspace_id) as uow:
            if not self._current(uow, scope):
                raise Conflict("this agent task is no longer awaited")
        self.completions.heartbeat(scope.workspace_id, scope.run_id, scope.node_id, scope.iteration)

    def event(self, scope: TaskScope, event: dict[str, Any]) -> None:
        data = {k: v for k, v in event.items() if k != "type"}
        with self.store.tx(scope.workspace_id) as uow:
            uow.events.append(
                scope.run_id, "agent.step", scope.node_id, scope.iteration, {"step": event.get("type"), **data}
            )

    def call(self, scope: TaskScope, call: dict[str, Any]) -> None:
        with self.store.tx(scope.workspace_id) as uow:
            uow.agent_tasks.add_call(scope.run_id, scope.node_id, scope.iteration, scope.attempt, call)

    def finish(self, scope: TaskScope, result: dict[str, Any]) -> None:
        def record(uow: UnitOfWork, parked: Any) -> None:
            if parked.attempt != scope.attempt:  # the node was retried meanwhile: this runner's word is stale
                raise Conflict("this agent task is no longer awaited")
            found = uow.agent_tasks.get(scope.run_id, scope.node_id, scope.iteration, scope.attempt)
            if found is None or not uow.agent_tasks.finish(
                scope.run_id, scope.node_id, scope.iteration, scope.attempt, result
            ):
                raise Conflict("this agent task has already finished")
            uow.agents.record_usage(scope.run_id, scope.node_id, scope.iteration, agent_uses(found.task, result))
            # The runner's Fargate task, from launch to result (nothing ran in a Lambda function meanwhile).
            row = uow.node_runs.get(scope.run_id, scope.node_id, scope.iteration)
            compute = fargate_cost_usd(row.duration_ms if row else None)
            uow.node_runs.add_compute_cost(scope.run_id, scope.node_id, scope.iteration, compute)
            uow.budgets.add_spend(compute)

        error = runner_error(result["error"]) if result.get("status") == "FAILED" else None
        self.completions.complete(
            scope.workspace_id,
            scope.run_id,
            scope.node_id,
            scope.iteration,
            output=None if error else node_output(result),
            error=error,
            by="agent-runner",
            usage=node_usage(result),
            within=record,
        )
