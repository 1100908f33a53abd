"""Response bodies of the HTTPS API: what each route answers, as the OpenAPI document publishes it.

Routes validate what a service returns with `model_validate(value, from_attributes=True)`, which takes
today's dict rows and typed records alike, and Powertools serialises the model and documents its schema.
The wire format is the services' own: a key a service leaves out (a node that has not run has no
`output`; only an item with a stored value that cannot be served has `unreadable`) is left out of the
answer too (pydantic's `MISSING` sentinel), and a key it sends as null stays null.

Stored JSON (a flow's definition, a run's input, output and error, compiled ASL) is `Any`: the API serves
what was stored, and a value that cannot be served is null and named under `unreadable` (see
`nexod.services.json_limits.serve`), so a stored value can never fail response validation.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, WrapSerializer
from pydantic.experimental.missing_sentinel import MISSING

from nexod.domain.agents import AgentSpec
from nexod.services.json_limits import Unreadable

Role = Literal["admin", "member", "viewer"]
RunStatus = Literal["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]
NodeStatus = Literal["PENDING", "RUNNING", "RETRYING", "SUCCEEDED", "FAILED", "SKIPPED"]
HealthStatus = Literal["ready", "starting", "failed"]

STORED = "stored JSON as written; null when it cannot be served (see `unreadable`)"


def _served(value: Any, handler: SerializerFunctionWrapHandler) -> Any:
    """A stored value the database could not decode is null in the answer (the services name it under
    `unreadable`): never a failed response."""
    return None if isinstance(value, Unreadable) else handler(value)


Json = Annotated[Any, WrapSerializer(_served)]
Stored = Annotated[Json, Field(description=STORED)]


class Out(BaseModel):
    """A response body. Unknown attributes of what a service returns are not served."""

    model_config = ConfigDict(from_attributes=True)


M = TypeVar("M", bound=Out)


def reply(model: type[M], value: Any) -> M:
    """A service's result (dict or typed record) as the response model of its route."""
    return model.model_validate(value, from_attributes=True)


# -- errors -------------------------------------------------------------------------------------------
class ErrorBody(Out):
    code: str = Field(description="machine-readable, e.g. not_found, invalid_request")
    message: str = Field(description="what went wrong and, where it helps, what to do")
    details: Any = Field(description="the fields concerned (field, in, message), or null")


class Error(Out):
    """Every refusal and failure (4xx, 5xx), from the door, the handler and the services alike."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorBody


class UnreadableField(Out):
    """A stored value that cannot be served: it is null in the item, and named here with the reason."""

    field: str
    message: str


# -- identity and workspaces ------------------------------------------------------------------------
class User(Out):
    sub: str
    email: str | None
    name: str | None


class WorkspaceSummary(Out):
    """A workspace as its member sees it in listings: with the caller's role."""

    id: UUID
    name: str
    role: Role
    created_at: datetime


class Me(Out):
    user: User
    workspaces: list[WorkspaceSummary]


class WorkspaceList(Out):
    items: list[WorkspaceSummary]


class RunLimits(Out):
    """A flow's (or the workspace's) concurrency limit and the runs it counts now."""

    max_concurrent_runs: int | None = Field(description="at most this many runs at a time; null: no limit")
    on_limit: Literal["queue", "reject"] = Field(description="queue: excess runs wait in order; reject: 429")
    running: int = Field(description="runs holding a slot (queued to start or running)")
    queued: int = Field(description="runs waiting for a slot")


class Workspace(Out):
    id: UUID
    name: str
    limits: RunLimits | MISSING = Field(MISSING, description="GET: its concurrency limit and the runs it counts")
    allowed_hosts: list[str] = Field(description="hosts (or host:port) that http nodes may call although private")
    created_by: str
    created_at: datetime
    role: Role | MISSING = Field(MISSING, description="the caller's role (GET only)")


class WorkspaceDeletion(Out):
    """A deleted workspace: gone for every user, its runs cancelled and its credential values destroyed."""

    id: UUID
    name: str
    deleted_at: datetime = Field(description="when an admin deleted it (from then on every route answers 404)")
    deleted_by: str
    deletion_completed_at: datetime = Field(description="when its runs were cancelled and credentials destroyed")
    runs_cancelled: int = Field(description="runs this call cancelled (each is also audited as run.cancel)")
    credentials_destroyed: list[str] = Field(description="credentials whose values this call destroyed")


class Member(Out):
    user_sub: str
    email: str | None
    name: str | None
    role: Role
    created_at: datetime


class MemberList(Out):
    items: list[Member]


# -- node types and flows -----------------------------------------------------------------------------
class NodeType(Out):
    type: str
    description: str
    category: str = Field(description="the palette group, e.g. Flow, AI")
    icon: str
    templated_fields: list[str]
    secret_fields: list[str] = Field(description="templated fields where `{{ secrets.NAME.field }}` resolves")
    config_schema: dict[str, Any] = Field(description="JSON Schema of the node's config")
    output_schema: dict[str, Any] | MISSING = Field(MISSING, description="JSON Schema of its output, where known")


class NodeTypeList(Out):
    items: list[NodeType]


# -- audit log ----------------------------------------------------------------------------------------
class AuditEntry(Out):
    id: int
    actor: str = Field(description="a user's subject, `trigger:<id>` or `system:<reason>`")
    action: str = Field(description="e.g. member.put, credential.rotate, flow.publish, flow.live")
    target_type: str
    target_id: str
    details: Stored = Field(description="a summary of the change; never a secret value")
    created_at: datetime


class AuditPage(Out):
    items: list[AuditEntry]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page; null on the last")


# -- run events ---------------------------------------------------------------------------------------
class Event(Out):
    cursor: str = Field(description="pass as `after` to read what follows this event")
    type: str = Field(
        description="run.queued|started|succeeded|failed|cancelled, node.started|retrying|"
        "succeeded|failed|skipped, cost.updated, budget.soft_limit_crossed, ..."
    )
    run_id: str | None = Field(description="null for a workspace event")
    node_id: str | None
    iteration: int | None
    data: Json = Field(description="what changed: status, attempt, error, cost, ...")
    created_at: datetime


class EventPage(Out):
    items: list[Event] = Field(description="oldest first")
    cursor: str = Field(description="pass as `after` next time (unchanged when no event came)")


# -- usage and budgets -----------------------------------------------------------------------------
class UsageAmounts(Out):
    """Dollars rounded to millionths from exact sums: items add up to the total to the cent."""

    llm_usd: float
    compute_usd: float
    orchestration_usd: float
    total_usd: float
    tokens_in: int
    tokens_out: int
    node_runs: int


class UsageItem(UsageAmounts):
    key: str = Field(description="a date YYYY-MM-DD in `tz`, a flow id, a model ('' for none) or a node type")
    label: str = Field(description="the flow's name for group_by=flow, else the key")


class Usage(Out):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    tz: str
    group_by: Literal["day", "flow", "model", "node_type"]
    items: list[UsageItem]
    total: UsageAmounts


class Budget(Out):
    monthly_soft_usd: float | None
    monthly_hard_usd: float | None
    month_to_date_usd: float = Field(description="spent in the current calendar month (UTC), every execution counted")
    soft_crossed_at: datetime | None = Field(description="when this month's spend reached the soft limit")


# -- credentials --------------------------------------------------------------------------------------
class CredentialType(Out):
    type: str
    title: str
    description: str
    default_field: str | None = Field(description="the field `{{ secrets.NAME }}` stands for; null: name one")
    value_schema: dict[str, Any] = Field(description="JSON Schema of the value's fields")


class CredentialTypeList(Out):
    items: list[CredentialType]


class CredentialUse(Out):
    flow_id: UUID
    flow_name: str
    draft: bool = Field(description="the flow's draft names it")
    live: bool = Field(description="the flow's live version names it (deleting it would fail their runs)")


class Credential(Out):
    """A credential's metadata. Its value is write-only: no answer ever carries it."""

    name: str
    type: str
    description: str
    fields: list[str] = Field(description="the fields its value has")
    created_by: str
    created_at: datetime
    rotated_by: str | None
    rotated_at: datetime | None
    last_used_at: datetime | None = Field(description="when a node last resolved it")
    used_by: list[CredentialUse]


class LlmSettings(Out):
    allowed_models: list[str] = Field(description="models the workspace's nodes may name; empty: any")
    default_model: str | None = Field(description="the model behind 'default'; null: the deployment's")
    requests_per_minute: int | None
    tokens_per_minute: int | None
    providers: list[str] = Field(description="providers the workspace has an llm_provider credential for")


class CredentialList(Out):
    items: list[Credential]


class ValidationResult(Out):
    valid: bool
    state_count: int = Field(description="states of the compiled state machine")


class FlowSummary(Out):
    id: UUID
    name: str
    description: str
    live_version: int | None
    latest_version: int
    created_at: datetime
    updated_at: datetime


class FlowWarning(Out):
    code: str = Field(description="e.g. missing_credential")
    credential: str | MISSING = MISSING
    message: str


class FlowProblem(Out):
    """Something that keeps the draft from being published (or test-run), naming where it is."""

    code: str = Field(description="e.g. invalid_config, dangling_edge, cycle, no_entry")
    message: str
    node: str | MISSING = MISSING
    edge: str | MISSING = MISSING
    field: str | MISSING = MISSING


class Flow(FlowSummary):
    definition: Stored
    state_machine_arn: str | None
    valid: bool = Field(description="whether the draft can be published as it is")
    problems: list[FlowProblem] = Field(description="what publishing would refuse; empty when valid")
    limits: RunLimits | MISSING = Field(MISSING, description="GET: its concurrency limit and the runs it counts")
    unreadable: list[UnreadableField] | MISSING = MISSING
    warnings: list[FlowWarning] | MISSING = Field(
        MISSING, description="saved, but a run would fail: e.g. a credential the workspace does not have"
    )


class FlowPage(Out):
    items: list[FlowSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class VersionSummary(Out):
    version: int
    description: str
    config_hash: str
    created_by: str
    created_at: datetime
    is_live: bool
    state_machine_version_arn: str | None


class Version(VersionSummary):
    definition: Stored
    asl: Stored
    unreadable: list[UnreadableField] | MISSING = MISSING
    unchanged: bool | MISSING = Field(
        MISSING,
        description="publish only: true (status 200) when the draft is identical to the live version, which"
        " is returned and nothing is published; false (status 201) for a new version",
    )


class VersionList(Out):
    items: list[VersionSummary]


class TemplateSummary(Out):
    id: str
    name: str
    description: str
    category: str
    node_types: list[str] = Field(description="the node kinds the template uses, in order of appearance")


class TemplateList(Out):
    items: list[TemplateSummary]


class Template(TemplateSummary):
    definition: dict[str, Json] = Field(description="a flow definition: create a flow with it")
    readme: str = Field(description="markdown: what the template does, its input, and what to change")


class FieldChange(Out):
    path: str = Field(description="a JSON path inside the node (`config.url`, `config.items[2]`) or the document")
    before: Json = Field(description="null when the field was absent")
    after: Json = Field(description="null when the field is absent")


class NodeChange(Out):
    id: str
    type: str | None
    fields: list[FieldChange]


class NodesDiff(Out):
    added: list[dict[str, Json]] = Field(description="nodes of `to` whose id `from` lacks")
    removed: list[dict[str, Json]] = Field(description="nodes of `from` whose id `to` lacks")
    changed: list[NodeChange] = Field(description="nodes in both whose type, name, config or policies differ")


class EdgesDiff(Out):
    added: list[dict[str, Json]]
    removed: list[dict[str, Json]]


class VersionDiff(Out):
    """What changed from one version (or the draft) to another. Nodes are matched by id, edges by (from, to,
    condition): a changed condition is one removed and one added edge. Canvas positions are not compared."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    from_: int | Literal["draft"] = Field(alias="from", serialization_alias="from")
    to: int | Literal["draft"]
    nodes: NodesDiff
    edges: EdgesDiff
    settings: list[FieldChange] = Field(description="changes outside nodes and edges")


# -- runs ---------------------------------------------------------------------------------------------
class StartedBy(Out):
    """Who started a run: a user (`id` is their subject), a trigger (its id) or the system (the reason)."""

    kind: Literal["user", "trigger", "system"]
    id: str


class RunCost(Out):
    """Dollars, rounded to millionths; `total` is the sum of the three parts."""

    llm: float
    compute: float
    orchestration: float
    total: float


class Run(Out):
    id: UUID
    number: int = Field(description="the run's number in its flow: 1, 2, 3… in the order runs were created")
    label: str | None = Field(description="a name given at start or with PATCH; null when none")
    flow_id: UUID
    flow_name: str | None
    version: int = Field(description="the flow version it runs; 0 for a test run of the draft")
    test: bool = Field(False, description="a test run of the draft: not in run lists or usage unless asked for")
    status: RunStatus
    trigger: str
    input: Stored
    output: Stored
    error: Stored
    attempt: int
    created_by: str
    started_by: StartedBy
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None = Field(description="elapsed: from the first start to the end, redrives included")
    active_ms: int | None = Field(
        description="time executing: the sum over the run's executions of each one's span, less the time when"
        " only approval and wait nodes were in flight; waits between a failure and its redrive never count."
        " Null when unknown (a run redriven before this was recorded)"
    )
    cost_usd: float = Field(description="the LLM cost (as `cost.llm`), kept for existing clients")
    tokens: int
    cost: RunCost
    unreadable: list[UnreadableField] | MISSING = MISSING


class RunPage(Out):
    items: list[Run]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class NodeRun(Out):
    """A node of the run's flow version. A node that has not run (PENDING) has only the first keys."""

    node_id: str
    type: str
    status: NodeStatus
    attempts: int
    executions: int
    name: str | MISSING | None = MISSING
    iteration: int | MISSING = MISSING
    input: Json = Field(MISSING, description=STORED)
    output: Json = Field(MISSING, description=STORED)
    error: Json = Field(MISSING, description=STORED)
    started_at: datetime | MISSING | None = MISSING
    finished_at: datetime | MISSING | None = MISSING
    duration_ms: int | MISSING | None = MISSING
    model: str | MISSING | None = MISSING
    tokens_in: int | MISSING | None = MISSING
    tokens_out: int | MISSING | None = MISSING
    cost_usd: float | MISSING | None = Field(MISSING, description="the LLM cost, from LiteLLM's price table")
    cost_source: Literal["price_table", "unknown"] | MISSING | None = Field(
        MISSING, description="`unknown`: the model reported tokens but has no price (its LLM cost counts as 0)"
    )
    compute_cost_usd: float | MISSING | None = Field(
        MISSING, description="Lambda GB-seconds of the measured duration at the runner's memory (arm64 price)"
    )
    transitions: int | MISSING | None = Field(
        MISSING, description="Step Functions state transitions attributed to the node: one per Task attempt"
    )
    orchestration_cost_usd: float | MISSING | None = MISSING
    waiting: bool | MISSING = Field(MISSING, description="a wait node that is waiting (status RUNNING)")
    pinned: bool | MISSING = Field(
        MISSING, description="a test run used the node's pinned output: it did not execute (executions 0)"
    )
    next_attempt_at: datetime | MISSING | None = Field(
        MISSING, description="RETRYING: when the orchestrator tries the node again (from its retry policy)"
    )
    unreadable: list[UnreadableField] | MISSING = MISSING


class NodeRunList(Out):
    items: list[NodeRun]
    unreadable: list[UnreadableField] | MISSING = Field(
        MISSING, description="the flow version cannot be read: items are the recorded node runs only"
    )


# -- health -------------------------------------------------------------------------------------------
class ComponentHealth(Out):
    name: str
    status: HealthStatus
    detail: str
    since: datetime
    restarts: int
    checked_at: datetime | None


class Health(Out):
    status: HealthStatus
    components: list[ComponentHealth]


# -- agents -------------------------------------------------------------------------------------------
class AgentUsage(Out):
    """What the node runs that used the agent consumed (every version)."""

    runs: int
    tokens: int
    cost_usd: float = Field(description="LLM + compute + orchestration, dollars rounded to millionths")
    last_run_at: datetime | None


class AgentSummary(Out):
    id: UUID
    name: str
    model: str = Field(description="the draft's model: a LiteLLM model string or 'default'")
    live_version: int | None
    latest_version: int
    created_at: datetime
    updated_at: datetime
    usage: AgentUsage


class Agent(AgentSummary):
    created_by: str
    spec: AgentSpec = Field(description="the draft, in its JSON form")
    markdown: str = Field(description="the draft as markdown")


class AgentSpecForms(Out):
    """A valid spec in both of its forms."""

    spec: AgentSpec
    markdown: str


class AgentVersionSummary(Out):
    agent_id: UUID
    version: int
    spec_hash: str = Field(description="sha256 of the spec's canonical JSON")
    description: str
    created_by: str
    created_at: datetime
    is_live: bool


class AgentVersion(AgentVersionSummary):
    spec: AgentSpec
    markdown: str
    unchanged: bool | MISSING = Field(
        MISSING, description="publish only: true when the draft equals the latest version (nothing was created)"
    )
    message: str | MISSING = Field(MISSING, description="publish only: what happened")


class AgentVersionList(Out):
    items: list[AgentVersionSummary]


class AgentNodeRun(Out):
    run_id: UUID
    flow_id: UUID
    node_id: str
    iteration: int
    status: NodeStatus
    agent_version: int | None
    model: str | None
    tokens_in: int | None
    tokens_out: int | None
    cost_usd: float | None = Field(description="the LLM cost")
    compute_cost_usd: float | None
    orchestration_cost_usd: float | None
    total_cost_usd: float
    started_at: datetime | None
    finished_at: datetime | None


class AgentNodeRunList(Out):
    items: list[AgentNodeRun]


class AgentListItem(AgentSummary):
    recent_runs: list[AgentNodeRun] = Field(description="the agent's newest node runs (at most 5), newest first")


class AgentPage(Out):
    items: list[AgentListItem]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


# -- knowledge bases -----------------------------------------------------------------------------------------
class KnowledgeBase(Out):
    id: UUID
    name: str
    description: str
    embedding_model: str
    dimensions: int
    store: Literal["pgvector", "pinecone"]
    pinecone: Json = Field(description="{index_host, credential} for store pinecone, else null")
    created_by: str
    created_at: datetime
    documents: int
    chunks: int


class KnowledgeBaseList(Out):
    items: list[KnowledgeBase]


class KnowledgeDocument(Out):
    id: UUID
    knowledge_base_id: UUID
    name: str
    content_type: str
    size_bytes: int
    sha256: str
    chunks: int
    metadata: Json
    embedding_tokens: int
    embedding_cost_usd: float | None = Field(description="null when the embedding model has no price")
    created_by: str
    created_at: datetime


class KnowledgeDocumentPage(Out):
    items: list[KnowledgeDocument]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page; null on the last")


class KnowledgeMatch(Out):
    id: str = Field(description="the chunk: <document>#<n>")
    document_id: str
    text: str
    score: float = Field(description="cosine similarity, 1 = the same direction")
    metadata: Json


class KnowledgeQueryResult(Out):
    matches: list[KnowledgeMatch]
    model: str = Field(description="the embedding model of the query")
    tokens: int
    cost_usd: float | None = Field(description="the query's embedding cost; null when the model has no price")


ApprovalStatus = Literal["pending", "approved", "rejected", "expired", "withdrawn"]


class ApprovalDecision(Out):
    by: str
    decision: Literal["approve", "reject"]
    comment: str | None
    fields: dict[str, Any]
    at: str


class Approval(Out):
    """An approval node's request: what is asked, of whom, and the decisions so far."""

    id: UUID
    run_id: UUID
    flow_id: UUID
    node_id: str
    iteration: int
    title: str
    message: str = Field(description="markdown, rendered from upstream outputs when the node ran")
    approvers: dict[str, list[str]]
    required_approvals: int
    form: dict[str, Any] | None = Field(description="JSON Schema of the fields an approver fills in")
    on_timeout: Literal["reject", "approve", "fail"]
    remind_every_seconds: int | None
    status: ApprovalStatus
    decisions: list[ApprovalDecision]
    outcome: dict[str, Any] | None = Field(
        description="the node's output once decided: {decision, by, comment, fields}"
    )
    created_at: datetime
    expires_at: datetime | None
    decided_at: datetime | None
    may_decide: bool = Field(description="whether the caller may decide it now")


class ApprovalLinkApproval(Out):
    """The approval as a link's recipient sees it (no approvers, no other decisions)."""

    id: UUID
    title: str
    message: str = Field(description="markdown, rendered from upstream outputs when the node ran")
    form: dict[str, Any] | None = Field(description="JSON Schema of the fields the recipient fills in")
    status: ApprovalStatus
    required_approvals: int
    expires_at: datetime | None


class NameOnly(Out):
    name: str


class ApprovalLinkView(Out):
    approval: ApprovalLinkApproval
    workspace: NameOnly
    flow: NameOnly
    recipient: str = Field(description="the email the link was sent to")


class ApprovalPage(Out):
    items: list[Approval]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


# -- triggers -----------------------------------------------------------------------------------------
DeliveryStatus = Literal["received", "duplicate", "started", "rejected"]


class TriggerDelivery(Out):
    """One delivery a trigger received and what came of it (kept 30 days)."""

    id: UUID
    received_at: datetime
    idempotency_key: str
    status: DeliveryStatus
    reason: str | None
    run_id: UUID | None


class TriggerIngress(Out):
    """Where an sqs or eventbridge trigger's deliveries come from (what the console shows to send one)."""

    queue_url: str | MISSING | None = Field(MISSING, description="sqs: the deployment's ingress queue")
    message_shape: Stored | MISSING = Field(MISSING, description="sqs: the body a message carries")
    bus: str | MISSING = Field(MISSING, description="eventbridge: the bus the trigger's rule listens on")
    rule_name: str | MISSING = Field(MISSING, description="eventbridge: the trigger's rule (AWS)")


class Trigger(Out):
    id: UUID
    flow_id: UUID
    kind: Literal["schedule", "webhook", "sqs", "eventbridge"]
    config: Stored
    enabled: bool
    version: int | None = Field(description="the pinned version; null: the flow's live version at each firing")
    input_mapping: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_fired_at: datetime | None
    next_fire_at: datetime | None = Field(description="schedules: the next due time (UTC)")
    fires: bool = Field(description="false for kinds accepted but not fired yet (none today)")
    url: str | None = Field(description="webhooks: where to POST signed deliveries")
    ingress: TriggerIngress | None = Field(description="sqs and eventbridge: the queue or bus and rule")
    secret_set_at: datetime | None
    deliveries: list[TriggerDelivery] = Field(description="the most recent deliveries (GET of one trigger)")


class TriggerWithSecret(Trigger):
    """A webhook trigger as created or rotated: the one answer that carries its secret."""

    secret: str | MISSING = Field(MISSING, description="the signing secret, shown this once")


class TriggerList(Out):
    items: list[Trigger]


class DeliveryOutcome(Out):
    delivery_id: str
    status: DeliveryStatus
    run_id: UUID | None
    reason: str | None


class PinItem(Out):
    node_id: str
    output: Stored
    from_run: UUID | None = Field(description="the run its output was copied from; null when typed by hand")
    pinned_by: str
    pinned_at: datetime
    stale: bool = Field(description="its node is no longer in the draft: test runs ignore it")
    unreadable: list[UnreadableField] | MISSING = MISSING


class PinList(Out):
    items: list[PinItem]


class Preview(Out):
    """A field rendered against a run: what the node would have received. Secrets show as «secret:NAME»."""

    value: Stored = Field(description="the rendered value (null when the flow has no run yet)")
    run: UUID | None = Field(description="the run it was rendered against; null: the flow has never run")
    run_number: int | None = Field(description="that run's number in its flow")
    truncated: bool = Field(description="the value was larger than 64 KiB: `value` is the start of its JSON text")


class SchedulePreviewResult(Out):
    """The next due times of a schedule expression, in UTC (render them in any zone)."""

    expression: str
    timezone: str
    after: datetime = Field(description="the times are the first ones strictly after this instant")
    next: list[datetime] = Field(description="at most `count`; fewer when the schedule ends (at(), end_date)")
