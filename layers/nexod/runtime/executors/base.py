"""What every executor sees and returns, and the registry of executors by node kind."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...domain.nodes import REGISTRY, AslShape, NodeConfig, Runtime
from ...domain.records import ParkedTask
from ...ports import LLM, Outbound, Store, UnitOfWork
from ..errors import NodeError, NodeFailedError
from ..redaction import Scrubber

if TYPE_CHECKING:
    from ..agent_launch import AgentLaunch
    from ..knowledge import KnowledgeEngine
    from ..llm_gateway import LlmGateway


@dataclass
class NodeContext:
    """What a node can see: the run input, upstream outputs, and workspace policy."""

    run_id: str
    workspace_id: str
    node_id: str
    run_input: Any
    upstream: dict[str, Any]
    predecessors: list[str]
    allow_hosts: list[str] = field(default_factory=list)
    # Names of headers/query parameters whose value was rendered from a secret: redacted when recorded,
    # never sent to another origin.
    secret_names: frozenset[str] = frozenset()
    # Which claim of this node run this is (1 the first time; each retry and each rate-limit wait adds one).
    attempt: int = 1
    iteration: int = 0  # the Map iteration the node runs in (0 outside any Map)
    # A wait-shaped node: when its wait ends (RFC 3339, UTC), recorded the first time, and how long it lasts.
    wait_until: str | None = None
    wait_seconds: int | None = None

    @property
    def data(self) -> dict[str, Any]:
        return {
            "input": self.run_input,
            "nodes": {k: {"output": v} for k, v in self.upstream.items()},
            "run": {"id": self.run_id},
        }


@dataclass
class NodeResult:
    output: Any
    usage: dict[str, Any] = field(default_factory=dict)


@dataclass
class Toolbox:
    """Adapters the executors may use, built once per container by the composition root for one runtime.

    Only the `llm` runtime's function carries LiteLLM, so only its toolbox has a model client."""

    runtime: Runtime
    outbound: Callable[[], Outbound]
    llm: Callable[[], LLM] | None = None
    # Every model call goes through the gateway (workspace keys, budgets): built by the composition root.
    gateway: LlmGateway | None = None
    # Knowledge bases (rag_search, rag_upsert): embeddings need the model client's runtime.
    knowledge: KnowledgeEngine | None = None
    # Agent and crew nodes (the `fargate` runtime's launcher): starts an agent runner for a task.
    agents: AgentLaunch | None = None

    def __post_init__(self) -> None:
        if (self.llm is not None) != (self.runtime is Runtime.LLM):
            raise ValueError(f"a '{self.runtime.value}' toolbox has a model client exactly when its runtime is 'llm'")
        if self.gateway is not None and self.runtime is not Runtime.LLM:
            raise ValueError(f"a '{self.runtime.value}' toolbox has no LLM gateway")


Executor = Callable[[NodeConfig, NodeContext, Toolbox], NodeResult]

EXECUTORS: dict[str, Executor] = {}


@dataclass(frozen=True)
class Credentials:
    """How a kind's config carries credentials, for kinds whose config may hold them.

    `secret_names` reads the raw config (before templating) for the names whose value comes from a
    secret; `recorded` is the config as viewers may read it; `scrubber` removes the rendered secret
    values from errors. Kinds without an entry are recorded as they are and scrub nothing.
    """

    secret_names: Callable[[Mapping[str, Any]], frozenset[str]]
    recorded: Callable[[Any, frozenset[str]], Any]
    scrubber: Callable[[Mapping[str, Any], frozenset[str]], Scrubber]


CREDENTIALS: dict[str, Credentials] = {}


def executor(kind: str) -> Callable[[Executor], Executor]:
    """Register the decorated function as what a node of `kind` does once its config is rendered.

    The registered executor first checks that this process is the function of the kind's runtime: a Task
    that reached another runner (a state machine compiled before its kind named that runtime) fails the
    node with what to do, instead of running it without the libraries it needs."""

    def register(fn: Executor) -> Executor:
        if kind in EXECUTORS:
            raise ValueError(f"node kind '{kind}' already has an executor")

        def on_its_runtime(config: NodeConfig, ctx: NodeContext, tools: Toolbox) -> NodeResult:
            wanted = REGISTRY[kind].runtime
            if tools.runtime is not wanted:
                raise NodeFailedError(
                    f"node '{ctx.node_id}' is a '{kind}' node, which runs on the '{wanted.value}' runtime, but it"
                    f" reached the '{tools.runtime.value}' runner: publish the flow again so that its Task invokes"
                    f" the '{wanted.value}' runner"
                )
            return fn(config, ctx, tools)

        EXECUTORS[kind] = on_its_runtime
        return fn

    return register


# What a `callback` kind does when its Task starts, in the claim's unit of work: write what the node waits for
# (an approval, an agent task) through `uow` and return it as JSON (ids, never node data); the runner parks the
# task token beside it. Nothing runs afterwards: whatever the node waits for completes it later through
# `nexod.runtime.callbacks.CallbackCompletions`.
Parker = Callable[[NodeConfig, NodeContext, UnitOfWork], dict[str, Any]]

PARKERS: dict[str, Parker] = {}


def parks(kind: str) -> Callable[[Parker], Parker]:
    """Register the decorated function as what a `callback` node of `kind` records before its token is parked."""

    def register(fn: Parker) -> Parker:
        if kind in PARKERS or kind in EXECUTORS:
            raise ValueError(f"node kind '{kind}' already has an executor")
        if REGISTRY[kind].shape is not AslShape.CALLBACK:
            raise ValueError(f"node kind '{kind}' is not a callback kind: register an @executor instead")
        PARKERS[kind] = fn
        return fn

    return register


@dataclass(frozen=True)
class Parked:
    """A callback node whose token was just parked and committed: what a starter needs to start its work."""

    workspace_id: str
    run_id: str
    node_id: str
    iteration: int
    attempt: int
    node_type: str
    waits_for: dict[str, Any]


# What a `callback` kind starts once its token is parked and the claim committed (an agent runner), so that
# whatever it starts finds the node parked. It returns a handle to record (a process id, a task ARN) or None;
# an exception fails this attempt (the Task's retry policy applies).
Starter = Callable[[Parked, "Toolbox", Store], None]


# What a `callback` kind with a `timeout_outcome_field` records when its Task times out: the node's output
# (e.g. an approval's `{"decision": "reject", "by": "timeout"}`), or raise NodeFailedError to fail it. Runs in
# the unit of work that records the node run; `parked` is its token's row (None if it never parked).
Expirer = Callable[[NodeConfig, UnitOfWork, ParkedTask | None], Any]

EXPIRERS: dict[str, Expirer] = {}


STARTERS: dict[str, Starter] = {}


def starts(kind: str) -> Callable[[Starter], Starter]:
    """Register the decorated function as what a parked `callback` node of `kind` starts after the commit."""

    def register(fn: Starter) -> Starter:
        if REGISTRY[kind].shape is not AslShape.CALLBACK:
            raise ValueError(f"node kind '{kind}' is not a callback kind")
        STARTERS[kind] = fn
        return fn

    return register


def expires(kind: str) -> Callable[[Expirer], Expirer]:
    def register(fn: Expirer) -> Expirer:
        if REGISTRY[kind].timeout_outcome_field is None:
            raise ValueError(f"node kind '{kind}' has no timeout outcome")
        EXPIRERS[kind] = fn
        return fn

    return register


def in_node(ctx: NodeContext, exc: NodeError, field_name: str | None = None) -> None:
    """Prefix an adapter's error with the node (and field) it concerns: the user's starting point."""
    prefix = f"node '{ctx.node_id}'"
    if not exc.message.startswith(prefix):
        where = f"{prefix} config.{field_name}" if field_name else prefix
        exc.message = f"{where}: {exc.message}"
        exc.args = (exc.message,)
