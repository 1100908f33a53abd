"""What the repositories return: one frozen dataclass per stored thing.

Field names are the JSON keys the API serves for them (the API's views and response models read them by
attribute). JSON columns are `Any`: they hold what was stored, or the `Unreadable` marker of
`services.json_limits` when a stored value cannot be decoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from .actor import ActorRef

RunStatus = Literal["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]
RUN_STATUSES: tuple[RunStatus, ...] = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")
# A run in one of these statuses is over: nothing moves it again except a redrive.
TERMINAL: tuple[RunStatus, ...] = ("SUCCEEDED", "FAILED", "CANCELLED")
# RETRYING: the last attempt failed with an error its retry policy retries; the next one is due at
# `next_attempt_at` (migration 0021).
NodeRunStatus = Literal["RUNNING", "RETRYING", "SUCCEEDED", "FAILED", "SKIPPED"]
# A parked task token (callback nodes): waiting, settled by a completion, or closed without one.
ParkedStatus = Literal["PARKED", "COMPLETED", "FAILED", "WITHDRAWN", "EXPIRED"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Credential:
    """A credential's metadata. Its value is only in the vault and is never a field of any record."""

    name: str
    type: str
    description: str
    fields: list[str]
    created_by: str
    created_at: datetime
    rotated_by: str | None
    rotated_at: datetime | None
    last_used_at: datetime | None
    # For llm_provider credentials: the provider its key is for (not secret; None for other types).
    provider: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One line of a workspace's audit log: who did what to which target, with a summary of the change
    (never a secret value)."""

    id: int
    actor: str
    action: str
    target_type: str
    target_id: str
    details: Any
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DefinitionUse:
    """A flow definition that may name credentials: a flow's draft, or its live version (`live`)."""

    flow_id: str
    flow_name: str
    live: bool
    definition: Any


class Cursor(NamedTuple):
    """Where a page of a listing ended: the next page holds what sorts after (created_at, id), newest first."""

    created_at: datetime
    id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Workspace:
    id: str
    name: str
    allowed_hosts: list[str]
    created_by: str
    created_at: datetime
    # The LLM gateway's policy: allowed models (empty = any), the model behind "default" (None: the
    # deployment's), requests and tokens per minute (None: unlimited).
    llm_allowed_models: list[str] = field(default_factory=list)
    llm_default_model: str | None = None
    llm_requests_per_minute: int | None = None
    llm_tokens_per_minute: int | None = None
    # Deletion (migration 0011): set when an admin deletes it (it is gone for everyone from then on), and
    # when every step of the deletion finished (runs cancelled, credential values destroyed).
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    deletion_completed_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Membership:
    """A workspace as one of its members sees it in their list: with their role there."""

    id: str
    name: str
    role: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    user_sub: str
    email: str | None
    name: str | None
    role: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowSummary:
    """A flow in a listing: everything but its (possibly large) draft definition."""

    id: str
    name: str
    description: str
    live_version: int | None
    latest_version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Flow(FlowSummary):
    definition: Any
    state_machine_arn: str | None
    created_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowVersionSummary:
    flow_id: str
    version: int
    config_hash: str
    description: str
    created_by: str
    created_at: datetime
    state_machine_version_arn: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowVersion(FlowVersionSummary):
    definition: Any
    asl: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    id: str
    workspace_id: str
    flow_id: str
    version: int
    status: RunStatus
    input: Any
    output: Any
    error: Any
    execution_arn: str | None
    trigger: str
    attempt: int
    created_by: str
    started_by: ActorRef
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    # Where `output` lives when it is too large for the row (a blob store pointer {key, size, sha256}).
    output_ref: Any = None
    test: bool = False  # a test run of the draft: its version is a test snapshot (negative number)
    # Migration 0021: the run's number in its flow (1, 2, 3…), its optional label, and the milliseconds it
    # spent executing in the executions that ended (None: unknown, a run redriven before the migration).
    number: int = 0
    label: str | None = None
    active_ms: int | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True, slots=True, kw_only=True)
class RunDetail(Run):
    """A run as the API lists it: with its flow's name and the cost and tokens of its node runs."""

    flow_name: str | None = None
    cost_usd: float = 0.0  # the LLM cost, as before issue 9's breakdown
    tokens: int = 0
    llm_cost_usd: float = 0.0
    compute_cost_usd: float = 0.0
    orchestration_cost_usd: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeRun:
    run_id: str
    node_id: str
    iteration: int
    node_type: str
    status: NodeRunStatus
    attempts: int
    executions: int
    config_hash: str
    input: Any
    output: Any
    take: Any
    error: Any
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    model: str | None
    tokens_in: int | None
    tokens_out: int | None
    cost_usd: float | None  # the LLM cost (LiteLLM's price table); nexod.domain.cost
    output_ref: Any = None  # as on Run
    cost_source: str | None = None  # 'price_table' | 'unknown' (tokens without a price) | None (no model call)
    compute_cost_usd: float | None = None  # Lambda GB-seconds of the measured duration
    transitions: int | None = None  # Step Functions transitions attributed to the node (one per Task attempt)
    orchestration_cost_usd: float | None = None
    pinned: bool = False  # a test run used the node's pinned output: it never executed
    next_attempt_at: datetime | None = None  # RETRYING: when the orchestrator tries again (migration 0021)
    retries: int = 0  # retries recorded since the node last succeeded or failed for good


@dataclass(frozen=True, slots=True, kw_only=True)
class Pin:
    """A node's pinned output (issue 13): a test run with `use_pins` uses it instead of executing the node."""

    flow_id: str
    node_id: str
    output: Any
    output_ref: Any  # a large output copied from a run: its blob pointer (then `output` is null)
    from_run: str | None
    pinned_by: str
    pinned_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """What one node execution consumed (LLM kinds); empty for the rest."""

    model: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None

    @classmethod
    def of(cls, usage: dict[str, Any] | None) -> Usage:
        usage = usage or {}
        return cls(
            model=usage.get("model"),
            tokens_in=usage.get("tokens_in"),
            tokens_out=usage.get("tokens_out"),
            cost_usd=usage.get("cost_usd"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SoftBudgetCrossed:
    """Recording a node run's cost took the month's spend over the soft budget (first time this month)."""

    month: str  # YYYY-MM, UTC
    month_to_date_usd: float
    soft_limit_usd: float


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRow:
    """One group of a workspace's usage, its sums unrounded."""

    key: str
    label: str
    llm_usd: float = 0.0
    compute_usd: float = 0.0
    orchestration_usd: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    node_runs: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """A workspace's monthly limits (None: no limit) and what the current UTC month has spent."""

    monthly_soft_usd: float | None = None
    monthly_hard_usd: float | None = None
    month_to_date_usd: float = 0.0
    soft_crossed_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeClaim:
    """The node runner's claim on one node run, read in one round trip with what it needs to go on.

    `run` is None when the run does not exist (in this workspace); `node_run` is None when the run is not
    active (CANCELLED or SUCCEEDED: nothing was claimed); `upstream` holds the finished outputs of the
    requested upstream nodes (iteration 0). `begun`: the claim also began the node's execution (it was given
    the node's input and the node run is not a memo hit; see `NodeRunRepository.claim`)."""

    run: Run | None
    node_run: NodeRun | None
    upstream: dict[str, Any] = field(default_factory=dict)
    begun: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSummary:
    """An agent in a listing: its draft's name and model, its versions, and what its node runs consumed."""

    id: str
    name: str
    model: str
    live_version: int | None
    latest_version: int
    created_at: datetime
    updated_at: datetime
    runs: int = 0  # node runs that used one of its versions
    tokens: int = 0
    cost_usd: float = 0.0  # LLM + compute + orchestration of those node runs
    last_run_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent(AgentSummary):
    spec: Any  # the draft: an AgentSpec's JSON form
    created_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentVersionSummary:
    agent_id: str
    version: int
    spec_hash: str
    description: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentVersion(AgentVersionSummary):
    spec: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentNodeRun:
    """A node run that used an agent: which version, in which run, and what it consumed."""

    run_id: str
    flow_id: str
    node_id: str
    iteration: int
    status: NodeRunStatus
    agent_version: int | None
    model: str | None
    tokens_in: int | None
    tokens_out: int | None
    cost_usd: float | None  # LLM
    compute_cost_usd: float | None
    orchestration_cost_usd: float | None
    total_cost_usd: float
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentUse:
    """What one agent (a crew `member`) of an agent or crew node run consumed, at the version that ran."""

    member: str
    agent_id: str
    agent_version: int
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentTask:
    """An agent runner's task (one claim of an agent or crew node run) as the broker serves and records it."""

    run_id: str
    node_id: str
    iteration: int
    attempt: int
    task: Any
    calls: Any
    result: Any
    runner: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowUse:
    """A flow whose live version names an agent (what a delete would break)."""

    flow_id: str
    flow_name: str
    version: int
    definition: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class KnowledgeBase:
    """A knowledge base: where its chunks live (`store`) and the embedding model that made them."""

    id: str
    name: str
    description: str
    embedding_model: str
    dimensions: int
    store: Literal["pgvector", "pinecone"]
    pinecone: Any  # {index_host, credential} for store = pinecone, else None
    created_by: str
    created_at: datetime
    documents: int = 0
    chunks: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class KnowledgeDocument:
    id: str
    knowledge_base_id: str
    name: str
    content_type: str
    size_bytes: int
    sha256: str
    chunks: int
    metadata: Any
    embedding_tokens: int
    embedding_cost_usd: float | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ParkedTask:
    """A callback node's task token, parked by the node runner until something completes it (one per node run).

    `attempt` is the node run's claim that parked it; `waits_for` says what the node waits for (kind-specific
    ids, never node data). A retry, redrive or resume parks again: a new token and attempt, back to PARKED."""

    run_id: str
    node_id: str
    iteration: int
    node_type: str
    attempt: int
    task_token: str
    waits_for: Any
    status: ParkedStatus
    parked_at: datetime
    heartbeat_at: datetime | None
    timeout_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None


ApprovalStatus = Literal["pending", "approved", "rejected", "expired", "withdrawn"]


@dataclass(frozen=True, slots=True)
class Approval:
    """An approval node's request to people, with their decisions (issue 11)."""

    id: str
    run_id: str
    node_id: str
    iteration: int
    flow_id: str
    title: str
    message: str
    approvers: Any  # {"roles": [...], "users": [...]}
    required_approvals: int
    form: Any
    on_timeout: str
    remind_every_seconds: int | None
    status: ApprovalStatus
    decisions: Any  # [{by, decision, comment, fields, at}]
    outcome: Any
    created_at: datetime
    expires_at: datetime | None
    decided_at: datetime | None
    notify: Any = None  # {"emails": [...], "chat_webhook_credential": NAME} (migration 0017)
    notified_at: datetime | None = None
    last_reminded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApprovalLink:
    """One signed one-time link sent to a recipient (migration 0017); the token itself is never stored."""

    nonce: str
    approval_id: str
    recipient: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    """What starts a flow on its own (issue 12). A webhook's secret is never a field: it is in the vault."""

    id: str
    flow_id: str
    kind: str
    config: Any
    enabled: bool
    version: int | None  # None: the flow's live version at each firing
    input_mapping: str | None
    secret_set_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_fired_at: datetime | None
    next_fire_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerDelivery:
    """One delivery a trigger received and what came of it (kept 30 days)."""

    id: str
    trigger_id: str
    received_at: datetime
    idempotency_key: str
    status: str  # received | duplicate | started | rejected
    reason: str | None
    run_id: str | None


OnLimit = Literal["queue", "reject"]


@dataclass(frozen=True, slots=True)
class RunLimit:
    """A concurrency limit: at most `max_concurrent_runs` runs of a flow (or of a workspace when `flow_id` is
    None) at a time; what exceeds it waits (`queue`) or is refused (`reject`). None: unlimited."""

    flow_id: str | None
    max_concurrent_runs: int | None = None
    on_limit: OnLimit = "queue"

    @property
    def limits(self) -> bool:
        return self.max_concurrent_runs is not None


@dataclass(frozen=True, slots=True)
class HeldRun:
    """A run that a concurrency limit holds back (QUEUED, no execution yet), oldest first."""

    run_id: str
    flow_id: str
    queued_at: datetime
    reason: str
