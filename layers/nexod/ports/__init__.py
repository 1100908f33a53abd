"""Ports: what the domain and runtime need from the outside world, named in the domain's words."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .blobs import BlobNotFound, BlobRef, BlobStore
from .event_rules import EventRules
from .knowledge import (
    ChunkMatch,
    ChunkVector,
    DocumentReader,
    Embedder,
    Embeddings,
    Found,
    Indexed,
    KnowledgeWorker,
    Namespace,
    VectorStore,
    VectorStoreUnavailable,
)
from .notify import ChatWebhook, Notification, NotificationFailed, Notifier
from .scheduler import ReminderClock, Scheduler
from .store import (
    AgentChanges,
    AgentRepository,
    ApprovalRepository,
    AuditLog,
    CredentialRepository,
    DraftRepository,
    EventLog,
    FlowChanges,
    FlowRepository,
    KnowledgeRepository,
    MemberRepository,
    NodeRunRepository,
    ParkedTaskRepository,
    PinnedNode,
    RunLimitRepository,
    RunRepository,
    Store,
    TriggerRepository,
    UnitOfWork,
    VersionRepository,
    WorkspaceRepository,
)

__all__ = [
    "LLM",
    "AgentChanges",
    "AgentRepository",
    "ApprovalRepository",
    "AuditLog",
    "BlobNotFound",
    "BlobRef",
    "BlobStore",
    "BudgetGuard",
    "BusEvent",
    "ChatWebhook",
    "ChunkMatch",
    "ChunkVector",
    "Completion",
    "CredentialRepository",
    "DocumentReader",
    "DraftRepository",
    "Embedder",
    "Embeddings",
    "EventLog",
    "EventPublisher",
    "EventRules",
    "FlowChanges",
    "FlowRepository",
    "Found",
    "HttpResponse",
    "Indexed",
    "KnowledgeRepository",
    "KnowledgeWorker",
    "MemberRepository",
    "Namespace",
    "NodeRunRepository",
    "Notification",
    "NotificationFailed",
    "Notifier",
    "Orchestrator",
    "Outbound",
    "ParkedTaskRepository",
    "PinnedNode",
    "ProviderKey",
    "PublishedMachine",
    "RateLimiter",
    "ReminderClock",
    "RunLimitRepository",
    "RunRepository",
    "Scheduler",
    "Store",
    "TaskGone",
    "TriggerRepository",
    "UnitOfWork",
    "Vault",
    "VectorStore",
    "VectorStoreUnavailable",
    "VersionRepository",
    "WorkspaceRepository",
]


@dataclass(frozen=True)
class PublishedMachine:
    state_machine_arn: str
    version_arn: str


class TaskGone(Exception):
    """A task token the orchestrator no longer waits for: its Task timed out, its execution ended, or it was
    completed already (SendTask* answered TaskTimedOut, TaskDoesNotExist or InvalidToken)."""


class Orchestrator(Protocol):
    """Runs compiled flows: Step Functions in AWS, moto's interpreter of the same ASL locally.

    The `send_task_*` methods complete (or keep alive) a callback Task by its token; they raise `TaskGone`
    when the orchestrator no longer waits for that token."""

    def publish(self, name: str, definition: dict[str, Any], description: str) -> PublishedMachine: ...

    def set_live(self, state_machine_arn: str, version_arn: str) -> None: ...

    def start(self, target_arn: str, execution_name: str, payload: dict[str, Any]) -> str: ...

    def stop(self, execution_arn: str, cause: str) -> None: ...

    def status(self, execution_arn: str) -> str: ...

    def delete_version(self, version_arn: str) -> None:
        """Delete a state machine version that nothing runs on any more (a swept test snapshot of a draft)."""
        ...

    def send_task_success(self, task_token: str, output: dict[str, Any]) -> None: ...

    def send_task_failure(self, task_token: str, error: str, cause: str) -> None: ...

    def send_task_heartbeat(self, task_token: str) -> None: ...


@dataclass
class Completion:
    text: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ProviderKey:
    """A workspace's key for one LLM provider (from its `llm_provider` credential), passed per call.

    Never printed: its repr hides the key, so a log line or an error quoting the object cannot leak it."""

    provider: str
    key: str = field(repr=False)
    base_url: str | None = None
    api_version: str | None = None


class LLM(Protocol):
    """One chat completion. Implementations raise NodeRetryableError / NodeFailedError (the typed LLM errors).

    `credentials`: the workspace's key for the model's provider (the gateway's choice); None means the
    implementation's own configuration (local mode: environment keys or the offline model)."""

    def complete(
        self,
        *,
        model: str,
        system: str | None,
        prompt: str,
        temperature: float,
        max_tokens: int | None,
        json_mode: bool,
        timeout: float,
        credentials: ProviderKey | None = None,
    ) -> Completion: ...


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: Any
    url: str


class Outbound(Protocol):
    """Guarded outbound HTTP: refuses private, loopback and metadata destinations unless allow-listed.

    A redirect to another origin drops credentials and the headers named in `secret_headers` (rendered
    from secrets), and refuses to re-send a body there unless `redirect_body_to_other_origins`.
    """

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: Any,
        timeout: float,
        follow_redirects: bool,
        max_redirects: int,
        allow_hosts: list[str],
        secret_headers: Collection[str] = (),
        redirect_body_to_other_origins: bool = False,
    ) -> HttpResponse: ...


class Vault(Protocol):
    """Credential values (DESIGN §7). The API writes them and never reads them back; the node runner reads
    one at the moment of use. Metadata (type, which fields are set, who rotated it) lives in the database.
    Implementations raise `VaultUnavailable` when the value store cannot be reached."""

    def put(self, workspace_id: str, name: str, value: dict[str, Any]) -> None: ...

    def get(self, workspace_id: str, name: str) -> dict[str, Any] | None: ...

    def delete(self, workspace_id: str, name: str) -> None: ...


class RateLimiter(Protocol):
    """Limits shared by every process of a deployment (LLM requests and tokens per minute per workspace)."""

    def acquire(self, workspace_id: str, bucket: str, amount: float, per_minute: float) -> float:
        """Spend `amount` if the bucket allows it now: 0.0; else spend nothing and return seconds to wait."""
        ...

    def settle(self, workspace_id: str, bucket: str, delta: float, per_minute: float) -> None:
        """Correct an earlier spend by `delta` units (negative gives back)."""
        ...


class BudgetGuard(Protocol):
    """Spending limits the LLM gateway consults before every call (issue 9)."""

    def check(self, workspace_id: str) -> None:
        """Raise `runtime.errors.BudgetExceeded` when the workspace's hard monthly budget is spent."""
        ...


@dataclass(frozen=True)
class BusEvent:
    """One event for the deployment's EventBridge bus (nexod.domain.events names its source and detail type)."""

    key: str  # the event's cursor: which entry failed, so only that one is retried
    source: str
    detail_type: str
    detail: dict[str, Any]
    resources: tuple[str, ...] = ()


class EventPublisher(Protocol):
    """Publishes events to the deployment's EventBridge bus (a log line and moto's EventBridge locally)."""

    def publish(self, events: Sequence[BusEvent]) -> set[str]:
        """Send them; returns the keys of those the bus accepted (the rest are retried later)."""
        ...
