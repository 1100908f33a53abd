"""Ports of the agent runner's world: the task board the broker serves from, and the launcher.

The agent runner (ecs_tasks/agent_runner) is untrusted: it holds no database URL, no provider key and no
credential. It reaches Nexod only through the broker (`nexod.services.broker`), whose every answer is scoped
by a capability token to one task: (workspace, run, node, iteration, attempt). These ports are the seams the
`agent`/`crew` node kinds plug into: the callback completion service (SendTaskSuccess/Failure/Heartbeat),
run events and knowledge bases implement them; local mode and tests use the in-memory board.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class TaskScope:
    """The one task a capability token is bound to."""

    workspace_id: str
    run_id: str
    node_id: str
    iteration: int = 0
    attempt: int = 1

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        return (self.workspace_id, self.run_id, self.node_id, self.iteration, self.attempt)


@dataclass
class AgentTaskState:
    """What the broker knows about one task: its definition and what the runner reported so far."""

    task: dict[str, Any]
    heartbeats: list[float] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)  # LLM calls the broker made, with usage
    result: dict[str, Any] | None = None


class AgentTaskBoard(Protocol):
    """Where the launcher leaves a task for its runner and the broker records what the runner does.

    `finish` is where SendTaskSuccess/SendTaskFailure happens in the deployed wiring, `heartbeat` where
    SendTaskHeartbeat does, `event` where run events are appended. Every method is keyed by the scope the
    broker read from a verified token, never by ids the runner sent."""

    def put(self, scope: TaskScope, task: dict[str, Any]) -> None: ...

    def get(self, scope: TaskScope) -> AgentTaskState | None: ...

    def heartbeat(self, scope: TaskScope, at: float) -> None: ...

    def event(self, scope: TaskScope, event: dict[str, Any]) -> None: ...

    def call(self, scope: TaskScope, call: dict[str, Any]) -> None: ...

    def finish(self, scope: TaskScope, result: dict[str, Any]) -> None: ...


class KnowledgeSearch(Protocol):
    """`knowledge_search` for agents (knowledge bases, issue 10): chunks with scores and metadata."""

    def search(self, workspace_id: str, knowledge_base: str, text: str, top_k: int) -> list[dict[str, Any]]: ...


class AgentMemory(Protocol):
    """Agents' vector memory (`memory: run | long_term`): recall what an agent wrote down before, remember more."""

    def recall(self, workspace_id: str, agent_id: str, run_id: str | None, text: str, top_k: int) -> list[str]:
        """The memories nearest `text`: of run `run_id` only, or of every run when it is None."""
        ...

    def remember(self, workspace_id: str, agent_id: str, run_id: str, text: str) -> None: ...


class FlowStarter(Protocol):
    """`run_flow` for agents: start a flow's live version with an input on behalf of a task, and wait for it.

    The broker answers within API Gateway's 30 s, so a long sub-flow is waited for in several calls: `wait`
    answers the run's state after at most `seconds`, and the runner asks again while it is still running."""

    def depth(self, workspace_id: str, run_id: str) -> int:
        """How many `run_flow` starts led to this run (0 for a run a person or a trigger started)."""
        ...

    def start(self, scope: TaskScope, flow_id: str, run_input: Any) -> str:
        """Start the flow's live version; its run's actor names the task (`run_flow:<run>:<node>`)."""
        ...

    def wait(self, scope: TaskScope, run_id: str, seconds: float) -> dict[str, Any]:
        """`{run_id, status}` and the `output` or `error` once it ended; only a run this task started."""
        ...


@dataclass(frozen=True)
class Launch:
    """What a launcher needs to start one runner: where the broker is and the token for its one task."""

    scope: TaskScope
    broker_url: str
    token: str


class Launcher(Protocol):
    """Starts one agent runner (a subprocess locally, an ECS Fargate task in AWS); returns its handle
    (a process id, a task ARN)."""

    def launch(self, launch: Launch) -> str: ...
