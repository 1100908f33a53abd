"""The `agent` and `crew` kinds (issue 10): agents of the workspace (versioned AgentSpecs) do a task.

Both are callbacks run on the `fargate` runtime: the launcher parks the Task's token, leaves the task (the
agents' specs at the version the node names, the rendered task descriptions) on the agent task board and
starts an agent runner (an ECS Fargate task in AWS, a subprocess locally) that holds nothing but a broker URL
and a capability token for that one task. The runner heartbeats while it works (the Task's HeartbeatSeconds:
a runner that dies times the node out and its retry policy applies) and its result completes the node.

`agent`: one agent performs one task. `crew`: several agents and tasks, `sequential` or `hierarchical` (a
manager model delegates); `context` says which earlier tasks' outputs feed a task. The output of both is
`{"final": ..., "tasks": {<task id>: ...}, "usage": {"agents": {<key>: {calls, tokens_in, tokens_out,
cost_usd}}, ...}}`, so downstream nodes read `nodes.<id>.output.tasks.<task>`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..flow import RetryPolicy
from .kind import REGISTRY, AslShape, NodeConfig, NodeKind, Runtime

DEFAULT_TIMEOUT_SECONDS = 1800
MAX_TIMEOUT_SECONDS = 24 * 3600
DEFAULT_HEARTBEAT_SECONDS = 60
MIN_HEARTBEAT_SECONDS = 10
AGENT_ID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
TASK_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# The id of the one task of an `agent` node (its output is also `output.tasks.task`).
AGENT_TASK = "task"
MANAGER_KEY = "__manager__"

VersionRef = Literal["live"] | int


def _version(value: Any) -> Any:
    if value == "live" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise ValueError("'live' or a version number (1 or more)")


class _AgentWork(NodeConfig):
    # How long the agents may work in all is the node's own `timeout_seconds` (default DEFAULT_TIMEOUT_SECONDS).
    heartbeat_seconds: int = Field(
        DEFAULT_HEARTBEAT_SECONDS,
        ge=MIN_HEARTBEAT_SECONDS,
        le=3600,
        description="A runner silent this long is taken for dead: the node times out and its retry policy applies",
    )


class AgentNodeConfig(_AgentWork):
    """One of the workspace's agents performs one task (templated from upstream outputs and the run input)."""

    agent: str = Field(..., pattern=AGENT_ID, description="The agent's id")
    version: VersionRef = Field("live", description="'live' or a pinned version number")
    task: str = Field(..., min_length=1, max_length=20_000, description="What the agent is to do")
    expected_output: str = Field(
        "A complete answer.", min_length=1, max_length=5_000, description="What a good answer looks like"
    )

    @field_validator("version", mode="before")
    @classmethod
    def _check_version(cls, value: Any) -> Any:
        return _version(value)


class CrewMember(NodeConfig):
    key: str = Field(..., description="The name tasks use for this agent in the crew")
    agent: str = Field(..., pattern=AGENT_ID, description="The agent's id")
    version: VersionRef = Field("live", description="'live' or a pinned version number")

    @field_validator("version", mode="before")
    @classmethod
    def _check_version(cls, value: Any) -> Any:
        return _version(value)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not TASK_ID.match(value):
            raise ValueError("lower-case letters, digits and _, starting with a letter (at most 64)")
        return value


class CrewTask(NodeConfig):
    id: str = Field(..., description="The task's id: its output is output.tasks.<id>")
    agent: str | None = Field(None, description="The crew member (key) who does it; none in a hierarchical crew")
    description: str = Field(..., min_length=1, max_length=20_000)
    expected_output: str = Field("A complete answer.", min_length=1, max_length=5_000)
    context: list[str] = Field(default_factory=list, description="Earlier tasks whose outputs this task reads")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not TASK_ID.match(value):
            raise ValueError("lower-case letters, digits and _, starting with a letter (at most 64)")
        return value


class CrewNodeConfig(_AgentWork):
    """Several of the workspace's agents work through tasks together, in order or under a manager model; each
    task's output is `output.tasks.<task id>`."""

    agents: list[CrewMember] = Field(..., min_length=1, max_length=10)
    tasks: list[CrewTask] = Field(..., min_length=1, max_length=20)
    process: Literal["sequential", "hierarchical"] = "sequential"
    manager_model: str | None = Field(
        None, max_length=200, description="The model of a hierarchical crew's manager ('default' when unset)"
    )

    @model_validator(mode="after")
    def _refs(self) -> CrewNodeConfig:
        keys = [m.key for m in self.agents]
        if len(set(keys)) != len(keys):
            raise ValueError(f"agents: each key once ({sorted(k for k in set(keys) if keys.count(k) > 1)})")
        seen: set[str] = set()
        for i, task in enumerate(self.tasks):
            if task.id in seen:
                raise ValueError(f"tasks[{i}].id: '{task.id}' is used twice")
            if task.agent is None and self.process == "sequential":
                raise ValueError(f"tasks[{i}].agent: a sequential crew's task names the member who does it")
            if task.agent is not None and task.agent not in keys:
                raise ValueError(f"tasks[{i}].agent: '{task.agent}' is not a member of this crew ({keys})")
            for ref in task.context:
                if ref not in seen:
                    raise ValueError(f"tasks[{i}].context: '{ref}' is not an earlier task")
            seen.add(task.id)
        if self.manager_model is not None and self.process != "hierarchical":
            raise ValueError("manager_model: only a hierarchical crew has a manager")
        return self


_USAGE = {
    "type": "object",
    "properties": {
        "agents": {"type": "object"},
        "tokens_in": {"type": "integer"},
        "tokens_out": {"type": "integer"},
        "cost_usd": {"type": "number"},
    },
}
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"final": {}, "tasks": {"type": "object"}, "usage": _USAGE},
    "required": ["final", "tasks"],
}

# A runner that dies (its container stopped, the provider hung) is retried once on a fresh runner.
_RETRY = RetryPolicy(max_attempts=1, interval_seconds=5, backoff_rate=2.0)

AGENT_KIND = REGISTRY.register(
    NodeKind(
        name="agent",
        config=AgentNodeConfig,
        category="AI",
        icon="agent",
        shape=AslShape.CALLBACK,
        runtime=Runtime.FARGATE,
        templated_fields=("task", "expected_output"),
        output_schema=OUTPUT_SCHEMA,
        default_retry=_RETRY,
        retry_errors=("AgentTaskRetryable",),
        default_timeout_seconds=DEFAULT_TIMEOUT_SECONDS,
        heartbeat_seconds=DEFAULT_HEARTBEAT_SECONDS,
        heartbeat_field="heartbeat_seconds",
    )
)
CREW_KIND = REGISTRY.register(
    NodeKind(
        name="crew",
        config=CrewNodeConfig,
        category="AI",
        icon="crew",
        shape=AslShape.CALLBACK,
        runtime=Runtime.FARGATE,
        templated_fields=("tasks",),
        output_schema=OUTPUT_SCHEMA,
        default_retry=_RETRY,
        retry_errors=("AgentTaskRetryable",),
        default_timeout_seconds=DEFAULT_TIMEOUT_SECONDS,
        heartbeat_seconds=DEFAULT_HEARTBEAT_SECONDS,
        heartbeat_field="heartbeat_seconds",
    )
)


def members(config: AgentNodeConfig | CrewNodeConfig) -> list[tuple[str, str, VersionRef]]:
    """(key, agent id, version) of the agents a node names: an `agent` node's one agent has the key `agent`."""
    if isinstance(config, AgentNodeConfig):
        return [("agent", config.agent, config.version)]
    return [(m.key, m.agent, m.version) for m in config.agents]
