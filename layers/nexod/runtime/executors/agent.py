"""The `agent` and `crew` kinds' runtime (issue 10): write the runner's task, then start the runner.

Parking (in the claim's unit of work) resolves each agent the node names at `live` or its pinned version,
and writes the task an agent runner gets from the broker: the agents' specs, the rendered tasks, the process.
After the commit, `start` launches the runner (`Toolbox.agents`: an ECS task in AWS, a subprocess locally)
with a capability token for this one claim. Whatever the runner does then reaches Nexod through the broker
(`nexod.runtime.agent_tasks.RunAgentTaskBoard`), which completes the node.
"""

from __future__ import annotations

from typing import Any

from ...domain.nodes import NodeConfig
from ...domain.nodes.agent import AGENT_TASK, AgentNodeConfig, CrewNodeConfig, members
from ...ports import Store, UnitOfWork
from ...ports.agents import TaskScope
from ..errors import NodeFailedError
from .base import NodeContext, Parked, Toolbox, parks, starts

# How often a runner heartbeats, as a share of the node's heartbeat_seconds: three beats may go missing.
BEATS_PER_WINDOW = 3


def _specs(config: AgentNodeConfig | CrewNodeConfig, ctx: NodeContext, uow: UnitOfWork) -> dict[str, Any]:
    specs: dict[str, Any] = {}
    for key, agent_id, version in members(config):
        where = f"node '{ctx.node_id}' config.{'agent' if isinstance(config, AgentNodeConfig) else 'agents'}"
        agent = uow.agents.get(agent_id)  # the config checked it is a UUID
        if agent is None:
            raise NodeFailedError(f"{where}: agent '{agent_id}' does not exist in this workspace")
        number = agent.live_version if version == "live" else version
        if number is None:
            raise NodeFailedError(f"{where}: agent '{agent.name}' has no published version (publish one first)")
        stored = uow.agents.version(agent_id, number)
        if stored is None:
            raise NodeFailedError(f"{where}: agent '{agent.name}' has no version {number}")
        specs[key] = {**dict(stored.spec), "agent_id": agent_id, "agent_version": number}
    return specs


def _task(config: NodeConfig, ctx: NodeContext, uow: UnitOfWork) -> dict[str, Any]:
    assert isinstance(config, AgentNodeConfig | CrewNodeConfig)
    specs = _specs(config, ctx, uow)
    if isinstance(config, AgentNodeConfig):
        tasks = [
            {
                "id": AGENT_TASK,
                "agent": "agent",
                "description": config.task,
                "expected_output": config.expected_output,
                "context": [],
            }
        ]
        process, manager = "sequential", None
    else:
        tasks = [t.model_dump() for t in config.tasks]
        process = config.process
        manager = config.manager_model or ("default" if process == "hierarchical" else None)
    task: dict[str, Any] = {
        "agents": specs,
        "tasks": tasks,
        "process": process,
        "manager_model": manager,
        "heartbeat_seconds": max(2, config.heartbeat_seconds // BEATS_PER_WINDOW),
        "depth": 0,
        "node": ctx.node_id,
        "run": ctx.run_id,
    }
    uow.agent_tasks.put(ctx.run_id, ctx.node_id, ctx.iteration, ctx.attempt, task)
    return {
        "agent_task": {"attempt": ctx.attempt},
        "agents": {k: {"id": s["agent_id"], "version": s["agent_version"]} for k, s in specs.items()},
    }


@parks("agent")
def ask_agent(config: NodeConfig, ctx: NodeContext, uow: UnitOfWork) -> dict[str, Any]:
    return _task(config, ctx, uow)


@parks("crew")
def ask_crew(config: NodeConfig, ctx: NodeContext, uow: UnitOfWork) -> dict[str, Any]:
    return _task(config, ctx, uow)


def start(parked: Parked, tools: Toolbox, store: Store) -> None:
    """Start the runner for the parked claim and record its handle."""
    if tools.agents is None:
        raise NodeFailedError(
            f"node '{parked.node_id}' is an agent node, but this runner cannot start agent runners (no launcher)"
        )
    scope = TaskScope(parked.workspace_id, parked.run_id, parked.node_id, parked.iteration, parked.attempt)
    handle = tools.agents.start(scope)
    with store.tx(parked.workspace_id) as uow:
        uow.agent_tasks.started(parked.run_id, parked.node_id, parked.iteration, parked.attempt, handle)


starts("agent")(start)
starts("crew")(start)
