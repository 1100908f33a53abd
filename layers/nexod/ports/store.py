"""The `Store` port: durable records, one workspace-scoped unit of work at a time.

A unit of work is one transaction. Its repositories are named for the domain (`uow.runs.get(id)`) and
return the records of `nexod.domain.records`; everything they read or write is limited to the unit of
work's workspace (PostgreSQL enforces it with row-level security, the in-memory fake of the tests by
filtering), so another workspace's ids read as absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypedDict

from ..domain.actor import Actor
from ..domain.cost import DEFAULT_RUNNER_MEMORY_MB
from ..domain.events import EventCursor, RunEvent
from ..domain.records import (
    Agent,
    AgentNodeRun,
    AgentSummary,
    AgentTask,
    AgentUse,
    AgentVersion,
    AgentVersionSummary,
    Approval,
    ApprovalLink,
    ApprovalStatus,
    AuditEntry,
    Budget,
    Credential,
    Cursor,
    DefinitionUse,
    Flow,
    FlowSummary,
    FlowUse,
    FlowVersion,
    FlowVersionSummary,
    HeldRun,
    KnowledgeBase,
    KnowledgeDocument,
    Member,
    Membership,
    NodeClaim,
    NodeRun,
    NodeRunStatus,
    ParkedStatus,
    ParkedTask,
    Pin,
    Run,
    RunDetail,
    RunLimit,
    RunStatus,
    SoftBudgetCrossed,
    Trigger,
    TriggerDelivery,
    Usage,
    UsageRow,
    Workspace,
)
from .blobs import BlobRef


class FlowChanges(TypedDict, total=False):
    """What `FlowRepository.update` may change; keys left out stay as they are."""

    name: str
    description: str
    definition: dict[str, Any]
    live_version: int
    latest_version: int
    state_machine_arn: str


class AgentChanges(TypedDict, total=False):
    """What `AgentRepository.update` may change; keys left out stay as they are."""

    name: str
    spec: dict[str, Any]
    live_version: int
    latest_version: int


class WorkspaceRepository(Protocol):
    def create(self, name: str, created_by: str) -> Workspace:
        """The unit of work's workspace itself (its id is the unit of work's `workspace_id`)."""
        ...

    def current(self) -> Workspace | None:
        """The unit of work's workspace."""
        ...

    def of_user(self) -> list[Membership]:
        """The workspaces the unit of work's user belongs to, with their role, oldest first (deleted ones
        are not listed)."""
        ...

    def mark_deleted(self, deleted_by: str) -> Workspace | None:
        """From now on the workspace is deleted for everyone (`deleted_at` = now, once: a second call keeps
        the first time and author). Returns the workspace as it now is."""
        ...

    def complete_deletion(self) -> bool:
        """Every step of the deletion is done: True the first time, False when it already was."""
        ...

    def set_allowed_hosts(self, hosts: Sequence[str]) -> Workspace | None: ...

    def set_llm_settings(
        self,
        allowed_models: Sequence[str],
        default_model: str | None,
        requests_per_minute: int | None,
        tokens_per_minute: int | None,
    ) -> Workspace | None:
        """The LLM gateway's policy for the workspace, replaced as a whole."""
        ...


class MemberRepository(Protocol):
    def role_of(self, user_sub: str, *, deleting: bool = False) -> str | None:
        """The user's role in the workspace; None when they are not a member or the workspace is deleted
        (with `deleting`: their role in a workspace whose deletion has not completed yet, to finish it)."""
        ...

    def all(self) -> list[Member]:
        """Members in the order they joined."""
        ...

    def put(self, user_sub: str, role: str, email: str | None = None, name: str | None = None) -> Member:
        """Add a member, or change their role (email and name are kept unless given)."""
        ...

    def remove(self, user_sub: str) -> bool: ...

    def count_admins(self) -> int: ...


class FlowRepository(Protocol):
    def create(self, name: str, description: str, definition: dict[str, Any]) -> Flow: ...

    def newest(self, limit: int, after: Cursor | None = None) -> list[FlowSummary]:
        """Flows not deleted, newest first, at most `limit`, after `after` when given."""
        ...

    def get(self, flow_id: str, for_update: bool = False) -> Flow | None:
        """A flow not deleted; `for_update` locks it until the unit of work ends."""
        ...

    def update(self, flow_id: str, changes: FlowChanges) -> Flow | None: ...

    def delete(self, flow_id: str) -> bool:
        """Soft delete: the flow's versions and runs stay."""
        ...


class VersionRepository(Protocol):
    def add(
        self,
        flow_id: str,
        version: int,
        definition: dict[str, Any],
        asl: dict[str, Any],
        config_hash: str,
        version_arn: str | None,
        description: str,
    ) -> FlowVersion:
        """Store an immutable version (nothing may change it afterwards)."""
        ...

    def of_flow(self, flow_id: str) -> list[FlowVersionSummary]:
        """A flow's versions, newest first."""
        ...

    def get(self, flow_id: str, version: int) -> FlowVersion | None: ...

    def head(self, flow_id: str, version: int) -> FlowVersionSummary | None:
        """A version without its definition and ASL (starting a run needs neither once cached)."""
        ...


class RunRepository(Protocol):
    def create(self, flow_id: str, version: int, run_input: Any, trigger: str, started_by: Actor) -> Run:
        """A QUEUED run."""
        ...

    def get(self, run_id: str, for_update: bool = False) -> Run | None: ...

    def detail(self, run_id: str) -> RunDetail | None:
        """The run with its flow's name and its node runs' cost and tokens."""
        ...

    def newest(
        self,
        limit: int,
        after: Cursor | None = None,
        flow_id: str | None = None,
        status: RunStatus | None = None,
        number: int | None = None,
        *,
        test: bool | None = False,
    ) -> list[RunDetail]:
        """Runs newest first, at most `limit`, after `after` when given; `number`: only the run of that number.
        `test`: False (default) leaves test runs of drafts out, True lists only them, None both."""
        ...

    def set_label(self, run_id: str, label: str | None) -> Run | None:
        """Name the run (None: no label); the run, or None if it does not exist."""
        ...

    def mark(
        self,
        run_id: str,
        status: RunStatus,
        *,
        execution_arn: str | None = None,
        output: Any = None,
        error: Any = None,
        only_from: tuple[RunStatus, ...] | None = None,
        output_ref: BlobRef | None = None,
    ) -> Run | None:
        """Move a run to `status` (only from `only_from` when given); stamps start and finish times, and
        a terminal status records `output` (or `output_ref`, a large one's blob) and `error`."""
        ...

    def begin_redrive(self, run_id: str) -> Run | None:
        """Back to RUNNING, forgetting the previous execution: a late end event for it must not match."""
        ...

    def set_version(self, run_id: str, version: int) -> None: ...

    def start_attempt(self, run_id: str, execution_arn: str, started: dict[str, Any] | None = None) -> None:
        """Its execution started: one more attempt, its execution, QUEUED becomes RUNNING; when the run is
        RUNNING after it, its `run.started` event with data `started` is written with it (a run cancelled
        meanwhile gets none). Sent with the commit, so the transaction holds its id for no round trip of the
        caller (a run's events are readable only once every older transaction has ended): the unit of work's
        last write, which its later reads do not see."""
        ...


class NodeRunRepository(Protocol):
    def get(self, run_id: str, node_id: str, iteration: int = 0) -> NodeRun | None: ...

    def of_run(self, run_id: str) -> list[NodeRun]:
        """A run's node runs in the order they started (not started last)."""
        ...

    def claim(
        self,
        run_id: str,
        node_id: str,
        iteration: int,
        node_type: str,
        config_hash: str,
        *,
        flow_id: str,
        version: int,
        upstream: Sequence[str],
        begin_input: dict[str, Any] | None = None,
    ) -> NodeClaim:
        """The node runner's claim, in one round trip: read the run; if it is active (neither CANCELLED nor
        SUCCEEDED) and still runs `version` of `flow_id`, insert or lock the node run counting one more
        attempt, move a QUEUED run to RUNNING, and read the finished outputs of `upstream`.

        With `begin_input` (a node with nothing to render: its recorded input is known before the claim), a
        node run that is not a memo hit (SUCCEEDED with `config_hash`) also begins its execution in the same
        round trip, exactly as `begin_execution(..., begin_input)` after a `node.started` event with its
        attempt would; the answer says so (`begun`). A memo hit is left as it was.

        A run that is absent, not active or on another version comes back unclaimed (`node_run` None)."""
        ...

    def begin_execution(self, run_id: str, node_id: str, iteration: int, config_hash: str, node_input: Any) -> None:
        """The node's side effect is about to run: RUNNING, one more execution, its rendered input."""
        ...

    def finish(
        self,
        run_id: str,
        node_id: str,
        iteration: int,
        *,
        status: NodeRunStatus,
        output: Any = None,
        take: dict[str, bool] | None = None,
        error: Any = None,
        usage: Usage | None = None,
        output_ref: BlobRef | None = None,
        memory_mb: int = DEFAULT_RUNNER_MEMORY_MB,
        next_attempt_at: datetime | None = None,
    ) -> SoftBudgetCrossed | None:
        """Record how the node run ended; a large output is in the blob store and `output_ref` points to it.
        RETRYING (an attempt failed and the orchestrator retries it at `next_attempt_at`) counts one more
        retry; any other status resets the count.

        Also its costs (nexod.domain.cost: LLM with its source, compute from the measured duration at
        `memory_mb`, one transition per attempt) and, in the same statement's transaction, the workspace's
        spend for the current UTC month (every execution's cost counts, a re-executed node's too). The
        first time this month's spend reaches the soft budget, the crossing comes back (else None)."""
        ...

    def add_compute_cost(self, run_id: str, node_id: str, iteration: int, usd: float) -> None:
        """Compute that ran outside the runner functions for this node run (an agent runner's Fargate task);
        the caller adds it to the month's spend too (`BudgetRepository.add_spend`)."""
        ...

    def record_entry(self, run_id: str, node_id: str, config_hash: str, run_input: Any, take: dict[str, bool]) -> None:
        """The input node's run, written with the run itself: its output is the run input."""
        ...

    def record_skipped(self, run_id: str, nodes: Sequence[tuple[str, str]]) -> list[str]:
        """Mark those of (node id, node type) that have no node run yet (they never ran in a finished run) as
        SKIPPED; returns their ids, in the order given. Nodes that have one are left as they are."""
        ...

    def fail_running(self, run_id: str, error: Any) -> list[tuple[str, int]]:
        """Every RUNNING (or RETRYING) node run of the run becomes FAILED (keeping an error it already had);
        returns their (node id, iteration)."""
        ...

    def outputs(self, run_id: str, node_ids: Sequence[str]) -> dict[str, Any]:
        """Outputs of finished node runs (iteration 0), keyed by node id: a `BlobRef` for one in the blob store."""
        ...

    def invalidate(self, run_id: str, node_ids: Sequence[str]) -> None:
        """Keep the history, lose the memo: these nodes execute again on the next attempt."""
        ...


class ParkedTaskRepository(Protocol):
    """Task tokens of callback nodes, parked until something completes them (one row per node run)."""

    def park(
        self,
        run_id: str,
        node_id: str,
        iteration: int,
        node_type: str,
        *,
        attempt: int,
        task_token: str,
        waits_for: Any,
        timeout_seconds: int | None,
    ) -> ParkedTask:
        """Park (or park again, replacing an earlier token) the node run's token: PARKED."""
        ...

    def get(self, run_id: str, node_id: str, iteration: int = 0, for_update: bool = False) -> ParkedTask | None: ...

    def of_run(self, run_id: str) -> list[ParkedTask]: ...

    def settle(
        self, run_id: str, node_id: str, iteration: int, status: ParkedStatus, closed_by: str
    ) -> ParkedTask | None:
        """Compare-and-set: PARKED becomes `status` (COMPLETED or FAILED). None when it was not PARKED (another
        completion won, or it was withdrawn or expired): exactly one of concurrent settles gets the row."""
        ...

    def close_open(self, run_id: str, status: ParkedStatus, reason: str) -> list[ParkedTask]:
        """Every PARKED token of the run becomes `status` (WITHDRAWN or EXPIRED) with `reason`; those it closed."""
        ...

    def beat(self, run_id: str, node_id: str, iteration: int = 0) -> ParkedTask | None:
        """A heartbeat of a PARKED token: `heartbeat_at` = now. None when it is not PARKED."""
        ...


class ApprovalRepository(Protocol):
    """Approval nodes' requests and decisions (issue 11)."""

    def request(
        self,
        run_id: str,
        node_id: str,
        iteration: int,
        *,
        flow_id: str,
        title: str,
        message: str,
        approvers: Any,
        required_approvals: int,
        form: Any,
        on_timeout: str,
        remind_every_seconds: int | None,
        timeout_seconds: int,
        notify: Any = None,
    ) -> Approval:
        """Ask (or ask again, as a retry or a resumed execution does): a pending request keeps its id and its
        decisions; one that was closed (withdrawn, expired) is pending again with none."""
        ...

    def get(self, approval_id: str, for_update: bool = False) -> Approval | None: ...

    def of_node(self, run_id: str, node_id: str, iteration: int = 0) -> Approval | None: ...

    def newest(
        self,
        limit: int,
        after: Cursor | None = None,
        statuses: Sequence[ApprovalStatus] = (),
        run_id: str | None = None,
        flow_id: str | None = None,
        decider: tuple[str, str] | None = None,
    ) -> list[Approval]:
        """Newest first, at most `limit`, after `after`, only `statuses` (all when empty), of a run or flow, and
        with `decider` (user, role) only those that name the user or the role among their approvers.

        A pending request whose token was closed (cancel, failed run) reads as withdrawn or expired."""
        ...

    def record(
        self, approval_id: str, *, status: ApprovalStatus, decisions: Any, outcome: Any = None
    ) -> Approval | None:
        """Store its decisions and status (a final status stamps `decided_at` and keeps `outcome`)."""
        ...

    def close_pending(self, run_id: str, status: ApprovalStatus) -> list[Approval]:
        """Every pending request of the run becomes `status` (withdrawn by a cancel)."""
        ...

    def schedule_notice(self, approval_id: str, due_at: datetime | None) -> None:
        """When the approval's next notice (first notification or reminder) is due; None: no more notices."""
        ...

    def notice_due_at(self, approval_id: str) -> datetime | None:
        """When the approval's next notice is due (None: none is scheduled)."""
        ...

    def due_notice(self, approval_id: str, now: datetime) -> bool:
        """Lock the approval's notice if it is due at `now`; False when it is not due or another sender has it."""
        ...

    def due_notices(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        """(workspace id, approval id) of notices due at `now` in every workspace (ids only: the sweeper's)."""
        ...

    def mark_notified(self, approval_id: str, now: datetime, reminder: bool) -> None: ...

    def issue_link(self, nonce: str, approval_id: str, recipient: str, expires_at: datetime) -> None:
        """Record a one-time link sent to `recipient` (its token is signed, never stored)."""
        ...

    def link(self, nonce: str, for_update: bool = False) -> ApprovalLink | None: ...

    def use_link(self, nonce: str) -> bool:
        """Mark the link used: False when it was used already (a link decides once)."""
        ...


class CredentialRepository(Protocol):
    """Credential metadata (name, type, which fields are set, who created and rotated it); values live
    behind the `Vault` port, never here."""

    def create(
        self,
        name: str,
        type_name: str,
        description: str,
        fields: Sequence[str],
        created_by: str,
        provider: str | None = None,
    ) -> bool:
        """Add one; False when the workspace already has a credential of that name. `provider`: an
        llm_provider credential's provider (metadata, not secret)."""
        ...

    def get(self, name: str, for_update: bool = False) -> Credential | None: ...

    def all(self) -> list[Credential]:
        """Every credential of the workspace, by name."""
        ...

    def update(
        self,
        name: str,
        *,
        description: str | None = None,
        fields: Sequence[str] | None = None,
        rotated_by: str | None,
        provider: str | None = None,
    ) -> Credential | None:
        """Change the description and/or record a rotation (new `fields` and `provider`, by `rotated_by`, now)."""
        ...

    def delete(self, name: str) -> bool: ...

    def types_of(self, names: Sequence[str]) -> dict[str, str]:
        """name -> type for those of `names` that exist (what the node runner needs to resolve references)."""
        ...

    def touch(self, names: Sequence[str]) -> None:
        """They were just used by a node: `last_used_at` = now."""
        ...

    def definitions_naming_secrets(self) -> list[DefinitionUse]:
        """Drafts and live versions of the workspace's flows whose text mentions `secrets.` (a superset of
        those that reference a credential: callers parse them)."""
        ...


class BudgetRepository(Protocol):
    def get(self) -> Budget:
        """The workspace's limits and the current UTC month's spend (no limits, $0 when never set)."""
        ...

    def put(self, monthly_soft_usd: float | None, monthly_hard_usd: float | None) -> Budget: ...

    def add_spend(self, usd: float) -> None:
        """Add a cost outside any node run (an API request's embeddings) to this UTC month's spend."""
        ...

    def over_hard(self) -> tuple[float, float] | None:
        """(month to date, hard limit) when this month's spend reached the hard limit, else None: one query."""
        ...

    def usage(self, start: datetime, end: datetime, tz: str, group_by: str, *, test: bool = False) -> list[UsageRow]:
        """Finished node runs with `start` <= finished_at < `end`, grouped by `group_by` (day in `tz`, flow,
        model, node_type), each group's costs summed exactly (unrounded)."""
        ...


class AgentRepository(Protocol):
    """Agents (a draft spec each, soft-deleted) and their immutable versions."""

    def create(self, name: str, spec: dict[str, Any]) -> Agent: ...

    def newest(self, limit: int, after: Cursor | None = None) -> list[AgentSummary]:
        """Agents not deleted, newest first, with what their node runs consumed."""
        ...

    def get(self, agent_id: str, for_update: bool = False) -> Agent | None: ...

    def update(self, agent_id: str, changes: AgentChanges) -> Agent | None: ...

    def delete(self, agent_id: str) -> bool:
        """Soft delete: versions stay (node runs name them)."""
        ...

    def add_version(
        self, agent_id: str, version: int, spec: dict[str, Any], spec_hash: str, description: str
    ) -> AgentVersion:
        """Store an immutable version."""
        ...

    def versions(self, agent_id: str) -> list[AgentVersionSummary]:
        """An agent's versions, newest first."""
        ...

    def version(self, agent_id: str, version: int) -> AgentVersion | None: ...

    def node_runs(self, agent_id: str, limit: int) -> list[AgentNodeRun]:
        """The node runs that used the agent, newest first."""
        ...

    def recent_node_runs(self, agent_ids: list[str], per_agent: int) -> dict[str, list[AgentNodeRun]]:
        """Each agent's newest `per_agent` node runs, newest first, in one read (a dashboard page's)."""
        ...

    def record_usage(self, run_id: str, node_id: str, iteration: int, used: list[AgentUse]) -> None:
        """What each agent of an agent or crew node run consumed (replaces an earlier record of that run)."""
        ...

    def live_flows_mentioning(self, agent_id: str) -> list[FlowUse]:
        """Live versions of flows not deleted whose definition mentions the id (a superset of those that
        use the agent: callers parse them)."""
        ...


class AgentTaskRepository(Protocol):
    """Agent runners' tasks, one per claim of an agent or crew node run (nexod.ports.agents)."""

    def put(self, run_id: str, node_id: str, iteration: int, attempt: int, task: dict[str, Any]) -> None: ...

    def get(self, run_id: str, node_id: str, iteration: int, attempt: int) -> AgentTask | None: ...

    def add_call(self, run_id: str, node_id: str, iteration: int, attempt: int, call: dict[str, Any]) -> None: ...

    def started(self, run_id: str, node_id: str, iteration: int, attempt: int, runner: str) -> None:
        """The handle of the runner started for it (a process id, a task ARN)."""
        ...

    def finish(self, run_id: str, node_id: str, iteration: int, attempt: int, result: dict[str, Any]) -> bool:
        """Record the runner's result once; False when it was recorded already."""
        ...


class AuditLog(Protocol):
    def record(
        self,
        action: str,
        target_type: str,
        target_id: str,
        details: dict[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> None:
        """Append an entry; the actor defaults to the unit of work's user (else the system)."""
        ...

    def newest(self, limit: int, before: int | None = None, action: str | None = None) -> list[AuditEntry]:
        """Entries newest first, at most `limit`, with ids below `before`; only `action` (or every action
        starting with it, when it ends in '.', e.g. 'credential.') when given."""
        ...


class KnowledgeRepository(Protocol):
    """The catalog of knowledge bases and their documents (the chunks live behind the `VectorStore` port)."""

    def create_base(
        self,
        name: str,
        description: str,
        embedding_model: str,
        dimensions: int,
        store: str,
        pinecone: dict[str, Any] | None,
        created_by: str,
    ) -> KnowledgeBase | None:
        """The new knowledge base, or None when the workspace already has one of that name."""
        ...

    def bases(self) -> list[KnowledgeBase]:
        """Every knowledge base of the workspace by name, with its document and chunk counts."""
        ...

    def base(self, kb_id: str) -> KnowledgeBase | None: ...

    def add_document(self, document: KnowledgeDocument) -> KnowledgeDocument: ...

    def documents(self, kb_id: str, limit: int, before: tuple[datetime, str] | None = None) -> list[KnowledgeDocument]:
        """Newest first, at most `limit`, strictly older than `before` (created_at, id) when given."""
        ...

    def document(self, kb_id: str, document_id: str) -> KnowledgeDocument | None: ...

    def delete_document(self, kb_id: str, document_id: str) -> bool: ...


class EventLog(Protocol):
    """Run and workspace events (nexod.domain.events), appended in the unit of work of the change they
    describe: they commit with it or not at all."""

    def append(
        self,
        run_id: str | None,
        type: str,
        node_id: str | None = None,
        iteration: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Record an event of a registered type (`run_id` None: a workspace-level event). Types that go to
        EventBridge are also queued for the relay (`unpublished`)."""
        ...

    def after(self, cursor: EventCursor | None, run_id: str | None = None, limit: int = 100) -> list[RunEvent]:
        """Events after `cursor` (from the first when None), of one run or of the whole workspace, oldest
        first; only those no still-running transaction can precede, so a reader never skips one."""
        ...

    def unpublished(self, limit: int = 10) -> list[RunEvent]:
        """Events for EventBridge not yet published, oldest first, locked for this unit of work (others skip
        them)."""
        ...

    def mark_published(self, cursors: Sequence[EventCursor]) -> None: ...


class TriggerRepository(Protocol):
    """Triggers of the workspace and their deliveries (issue 12)."""

    def create(
        self,
        flow_id: str,
        kind: str,
        config: dict[str, Any],
        enabled: bool,
        version: int | None,
        input_mapping: str | None,
        created_by: str,
        next_fire_at: datetime | None,
    ) -> Trigger: ...

    def get(self, trigger_id: str, for_update: bool = False) -> Trigger | None: ...

    def of_flow(self, flow_id: str) -> list[Trigger]: ...

    def all(self) -> list[Trigger]: ...

    def update(self, trigger_id: str, changes: dict[str, Any]) -> Trigger | None:
        """Set the named columns (config, enabled, version, input_mapping, next_fire_at, secret_set_at)."""
        ...

    def delete(self, trigger_id: str) -> bool: ...

    def claim_due(self, now: datetime, limit: int = 20) -> list[Trigger]:
        """Enabled schedules due at `now`, locked (SKIP LOCKED) until the transaction ends: two loops never
        claim the same due time."""
        ...

    def record_delivery(
        self, trigger_id: str, idempotency_key: str, status: str, reason: str | None = None
    ) -> TriggerDelivery | None:
        """A new delivery; None when one with this key exists (it decides: see `delivery`)."""
        ...

    def delivery(self, trigger_id: str, idempotency_key: str) -> TriggerDelivery | None: ...

    def settle_delivery(self, delivery_id: str, status: str, reason: str | None, run_id: str | None) -> None: ...

    def record_input(self, delivery_id: str, run_input: Any) -> None:
        """Keep the run input a new delivery maps to (delivery recovery starts the run from it)."""
        ...

    def settle_received(self, delivery_id: str, status: str, reason: str | None, run_id: str | None) -> bool:
        """Settle a delivery that is still `received` (row-locked until the unit of work ends); False if
        another process settled it first."""
        ...

    def unsettled(self, before: datetime, limit: int = 50) -> list[tuple[TriggerDelivery, bool, Any]]:
        """Deliveries still `received` that arrived before `before`, oldest first, with whether their run
        input was kept and that input."""
        ...

    def deliveries(self, trigger_id: str, limit: int = 20) -> list[TriggerDelivery]: ...

    def running(self, trigger_id: str) -> int:
        """How many runs this trigger started are not over yet (the overlap policy)."""
        ...

    def prune_deliveries(self, before: datetime) -> int: ...

    def workspace_of_hook(self, trigger_id: str) -> str | None:
        """The workspace owning a trigger, readable without a workspace in scope (the webhook door)."""
        ...


class RunLimitRepository(Protocol):
    """Concurrency limits per flow and per workspace, and the runs they hold back (issue 12)."""

    def of(self, flow_id: str) -> tuple[RunLimit, RunLimit]:
        """The flow's limit and the workspace's (unlimited ones when unset)."""
        ...

    def get(self, flow_id: str | None) -> RunLimit: ...

    def put(self, limit: RunLimit) -> RunLimit: ...

    def lock(self) -> None:
        """The workspace's admission lock, held until the unit of work ends: every admission decision
        takes it, so decisions are serialized and each counts the runs the previous one admitted."""
        ...

    def active(self, flow_id: str | None = None) -> int:
        """Runs holding a slot (QUEUED or RUNNING, not held back) of the flow; None: of the workspace."""
        ...

    def held(self, flow_id: str | None = None, limit: int = 500) -> list[HeldRun]:
        """Runs held back by a limit, oldest first."""
        ...

    def count_held(self, flow_id: str | None = None) -> int: ...

    def hold(self, run_id: str, flow_id: str, reason: str) -> None: ...

    def release(self, run_id: str) -> bool:
        """The run leaves the queue (it starts now, or it was cancelled)."""
        ...


class UnitOfWork(Protocol):
    """One transaction in one workspace: committed when its block ends, rolled back if it raises."""

    @property
    def workspace_id(self) -> str | None: ...

    @property
    def user_sub(self) -> str | None: ...

    @property
    def workspaces(self) -> WorkspaceRepository: ...

    @property
    def members(self) -> MemberRepository: ...

    @property
    def flows(self) -> FlowRepository: ...

    @property
    def versions(self) -> VersionRepository: ...

    @property
    def runs(self) -> RunRepository: ...

    @property
    def node_runs(self) -> NodeRunRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def credentials(self) -> CredentialRepository: ...

    @property
    def budgets(self) -> BudgetRepository: ...

    @property
    def agents(self) -> AgentRepository: ...

    @property
    def knowledge(self) -> KnowledgeRepository: ...

    @property
    def parked(self) -> ParkedTaskRepository: ...

    @property
    def agent_tasks(self) -> AgentTaskRepository: ...

    @property
    def approvals(self) -> ApprovalRepository: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def triggers(self) -> TriggerRepository: ...

    @property
    def drafts(self) -> DraftRepository: ...

    @property
    def limits(self) -> RunLimitRepository: ...


@dataclass(frozen=True)
class PinnedNode:
    """A node a test run does not execute: its node run is recorded SUCCEEDED with this output (issue 13).
    `take` None: its edge decisions are taken by the runner when its Task reaches it (they may read upstream)."""

    node_id: str
    node_type: str
    config_hash: str
    output: Any
    output_ref: Any = None
    take: dict[str, bool] | None = None


class DraftRepository(Protocol):
    """Pins, test snapshots of drafts and test runs (issue 13)."""

    def pins(self, flow_id: str) -> list[Pin]: ...

    def pin(self, flow_id: str, node_id: str, output: Any, output_ref: Any, from_run: str | None) -> Pin:
        """Set (or replace) the node's pin."""
        ...

    def unpin(self, flow_id: str, node_id: str) -> bool: ...

    def next_snapshot(self, flow_id: str) -> int:
        """The number of the flow's next test snapshot: -1, -2, ... (the caller locked the flow)."""
        ...

    def record_pinned(self, run_id: str, nodes: Sequence[PinnedNode]) -> None:
        """Record the nodes as SUCCEEDED and pinned (executions 0) before the run's execution starts."""
        ...

    def set_take(self, run_id: str, node_id: str, iteration: int, take: dict[str, bool]) -> None: ...

    def expired_test_runs(self, before: datetime, limit: int = 100) -> list[tuple[str, str]]:
        """(workspace id, run id) of test runs created before `before`, in every workspace (the sweeper's)."""
        ...

    def delete_test_run(self, run_id: str) -> list[str]:
        """Delete a test run (its node runs and events go with it) and the test snapshots no run uses any more;
        returns the state machine version ARNs of the snapshots deleted."""
        ...


class Store(Protocol):
    """Durable records, one workspace-scoped unit of work at a time."""

    def tx(self, workspace_id: str | None, user_sub: str | None = None) -> AbstractContextManager[UnitOfWork]:
        """A unit of work in `workspace_id` (None: no workspace, only the user's memberships are visible)."""
        ...
