"""What a node kind is: everything the compiler, the runner, the API and the console know about one type."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..flow import RetryPolicy


class NodeConfig(BaseModel):
    """Base of every node config: unknown fields are rejected so typos surface at save time."""

    model_config = ConfigDict(extra="forbid")


class AslShape(StrEnum):
    """How the compiler turns a node of this kind into states."""

    INVOKE = "invoke"  # a lambda:invoke Task on the kind's runner
    CALLBACK = "callback"  # lambda:invoke.waitForTaskToken: the handler parks the token, something else completes it
    WAIT = "wait"  # a native Wait state, then a Task that records the node
    MAP = "map"  # a Map state whose iterations run a sub-plan with `iteration` set
    SUBFLOW = "subflow"  # a callback that starts a child run


class Runtime(StrEnum):
    """The compute that runs a kind's Tasks: light kinds stay out of the function that carries LiteLLM.

    The compiler targets each runtime's function through its own ASL placeholder (`compiler.RUNNER_TARGETS`)
    and refuses a kind whose runtime has none yet.
    """

    CORE = "core"  # the small node runner: no LiteLLM (input, output, transform, condition, http, wait)
    LLM = "llm"  # the node runner that also carries the LLM layer
    # Agent and crew nodes: their Task invokes the agent launcher, which starts an ECS Fargate task (a subprocess
    # locally) that completes the node through the broker.
    FARGATE = "fargate"
    SANDBOX = "sandbox"  # isolated code execution (declared; no kind and no target yet)


# Task timeout of kinds that name none: the node runner's own work (render, evaluate, record) is short.
FALLBACK_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class NodeKind:
    """One node type, declared in one place (see "How to add a node kind" in docs/architecture.md)."""

    name: str
    config: type[NodeConfig]
    category: str
    icon: str
    shape: AslShape = AslShape.INVOKE
    runtime: Runtime = Runtime.CORE
    # Config fields whose strings are templates over upstream outputs ({{ nodes.x.output... }}).
    templated_fields: tuple[str, ...] = ()
    # Templated fields where `{{ secrets.NAME.field }}` is resolved at the moment of use (never recorded).
    secret_fields: tuple[str, ...] = ()
    # JSON Schema of the node's output, where it is known before the node runs.
    output_schema: dict[str, Any] | None = None
    # Retries Step Functions makes when the flow sets none: kinds that talk to the outside world have one.
    default_retry: RetryPolicy | None = None
    # Further error names (exception class names) the retry policy covers besides NodeRetryableError:
    # Step Functions matches the Lambda error type exactly, not its base classes.
    retry_errors: tuple[str, ...] = ()
    # An error (class name) whose Lambda errorMessage is JSON with `wait_seconds`: the compiled Task catches
    # it, waits that long in a Wait state and runs again, so a rate limit delays the run instead of failing it.
    wait_error: str | None = None
    default_timeout_seconds: int = FALLBACK_TIMEOUT_SECONDS
    # `callback` kinds whose completer reports progress (an agent runner): the Task's HeartbeatSeconds. A
    # completer that stops sending SendTaskHeartbeat this long times the node out (its retry policy applies).
    heartbeat_seconds: int | None = None
    # A config field that overrides `heartbeat_seconds` per node (an agent node's `heartbeat_seconds`).
    heartbeat_field: str | None = None
    # A `callback` kind whose timeout is an outcome, not an error (an approval that expires): its Task's
    # TimeoutSeconds is this config field, and States.Timeout is caught into an `expire-<id>` Task where the
    # kind's expirer (runtime `@expires`) records the node's result (or fails it); then the flow goes on.
    timeout_outcome_field: str | None = None
    # Whether it reaches the network: only such nodes get the workspace's allowed hosts.
    calls_out: bool = False
    description: str = field(default="")

    def __post_init__(self) -> None:
        if self.heartbeat_field is not None and self.heartbeat_seconds is None:
            raise ValueError(f"node kind '{self.name}': a heartbeat_field needs a default heartbeat_seconds")
        if self.heartbeat_seconds is not None and self.shape is not AslShape.CALLBACK:
            raise ValueError(f"node kind '{self.name}': only `callback` kinds have heartbeat_seconds")
        if self.timeout_outcome_field is not None and self.shape is not AslShape.CALLBACK:
            raise ValueError(f"node kind '{self.name}': only `callback` kinds have a timeout outcome")
        if not self.description:
            # The config model's docstring is the description the palette shows.
            object.__setattr__(self, "description", (self.config.__doc__ or "").strip())

    def catalog_entry(self) -> dict[str, Any]:
        """What `GET /v1/node-types` says about this kind."""
        return {
            "type": self.name,
            "description": self.description,
            "category": self.category,
            "icon": self.icon,
            "templated_fields": list(self.templated_fields),
            "secret_fields": list(self.secret_fields),
            "config_schema": self.config.model_json_schema(),
            **({"output_schema": self.output_schema} if self.output_schema is not None else {}),
        }


class KindRegistry:
    """Node kinds by type, in the order they were registered (the palette's order)."""

    def __init__(self) -> None:
        self._kinds: dict[str, NodeKind] = {}

    def register(self, kind: NodeKind) -> NodeKind:
        if kind.name in self._kinds:
            raise ValueError(f"node kind '{kind.name}' is already registered")
        self._kinds[kind.name] = kind
        return kind

    def unregister(self, type_: str) -> None:
        """Forget a kind (tests register kinds of their own and must leave the registry as they found it)."""
        self._kinds.pop(type_, None)

    def get(self, type_: str) -> NodeKind | None:
        return self._kinds.get(type_)

    def __getitem__(self, type_: str) -> NodeKind:
        return self._kinds[type_]

    def __contains__(self, type_: object) -> bool:
        return type_ in self._kinds

    def types(self) -> list[str]:
        return list(self._kinds)

    def all(self) -> list[NodeKind]:
        return list(self._kinds.values())


REGISTRY = KindRegistry()
