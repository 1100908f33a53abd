"""Request bodies of the HTTPS API. Unknown fields are rejected."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexod.domain.agents import AgentSpec


class Body(BaseModel):
    # strict: a JSON body says what it means ("1" is not 1, true is not 1), as the OpenAPI schema states.
    model_config = ConfigDict(extra="forbid", strict=True)


class WorkspaceCreate(Body):
    name: str = Field(..., min_length=1, max_length=200)


Host = Annotated[str, Field(min_length=1, max_length=261, pattern=r"^[^\s/]+$")]


class AllowedHostsPut(Body):
    allowed_hosts: list[Host] = Field(..., max_length=200, description="host or host:port entries")


Model = Annotated[str, Field(min_length=1, max_length=200)]


class LlmSettingsPut(Body):
    allowed_models: list[Model] = Field(..., max_length=200, description="models nodes may name; empty: any")
    default_model: Model | None = Field(None, description="the model behind 'default'; null: the deployment's")
    requests_per_minute: int | None = Field(None, ge=1, le=1_000_000, description="null: unlimited")
    tokens_per_minute: int | None = Field(None, ge=1, le=1_000_000_000, description="null: unlimited")


Dollars = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]  # up to $1bn a month


class BudgetPut(Body):
    """Monthly limits in dollars (calendar month, UTC); null or absent: no limit. Hard >= soft when both set."""

    monthly_soft_usd: Dollars | None = Field(None, description="crossing it is recorded once a month in the audit log")
    monthly_hard_usd: Dollars | None = Field(None, description="once spent, LLM calls fail with BudgetExceeded")


class MemberPut(Body):
    role: Literal["admin", "member", "viewer"]
    email: str | None = Field(None, max_length=320)
    name: str | None = Field(None, max_length=200)


class FlowCreate(Body):
    name: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    definition: dict[str, Any] = Field(..., description="{nodes: [...], edges: [...]}")


class FlowUpdate(Body):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    definition: dict[str, Any] | None = None


class FlowValidate(Body):
    definition: dict[str, Any]


class VersionCreate(Body):
    description: str = Field("", max_length=256)


class LivePut(Body):
    version: int = Field(..., ge=1)


class RedriveBody(Body):
    version: int | None = Field(
        None, ge=1, description="Move the run to this version: changed nodes and their dependants run again"
    )


class RunCreate(Body):
    input: dict[str, Any] = Field(default_factory=dict)
    version: int | None = Field(None, ge=1)
    label: str | None = Field(None, max_length=200, description="a name for the run, shown beside its number")


class RunPatch(Body):
    label: str | None = Field(..., max_length=200, description="the run's new label; null or empty clears it")


class CredentialCreate(Body):
    name: str = Field(..., min_length=1, max_length=64, description="letters, digits, _ and -; starts with a letter")
    type: str = Field(..., description="one of GET /v1/credential-types")
    description: str = Field("", max_length=1000)
    value: dict[str, Any] = Field(..., description="the type's fields (write-only: never returned)")


class CredentialUpdate(Body):
    description: str | None = Field(None, max_length=1000)
    value: dict[str, Any] | None = Field(None, description="a new value replaces the old one in full (rotation)")


class AgentWrite(Body):
    """An agent's spec: the JSON form (`spec`) or its markdown (`markdown`), exactly one. A request with
    `Content-Type: text/markdown` sends the markdown itself as the body."""

    spec: AgentSpec | None = Field(None, description="the spec's JSON form (as GET .../spec.json answers)")
    markdown: str | None = Field(
        None, max_length=500_000, description="the spec's markdown (as GET .../spec.md answers)"
    )

    @model_validator(mode="after")
    def _one(self) -> AgentWrite:
        if (self.spec is None) == (self.markdown is None):
            raise ValueError("send exactly one of 'spec' (JSON) and 'markdown'")
        return self


class PineconeIndex(Body):
    index_host: str = Field(
        ..., min_length=1, max_length=300, description="https://<index>-<project>.svc.<env>.pinecone.io"
    )
    credential: str = Field(
        ..., min_length=1, max_length=64, description="an api_key credential holding the Pinecone API key"
    )


class KnowledgeBaseCreate(Body):
    name: str = Field(..., min_length=1, max_length=128)
    description: str = Field("", max_length=2000)
    embedding_model: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="`wordllama` (offline) or a LiteLLM embedding model; null: the deployment's default",
    )
    dimensions: int | None = Field(
        None, ge=1, le=2000, description="required for models whose size Nexod does not know"
    )
    store: Literal["pgvector", "pinecone"] = "pgvector"
    pinecone: PineconeIndex | None = None


class DocumentCreate(Body):
    """A document: `content` for text, markdown or HTML, or `content_base64` (any type, PDF always)."""

    name: str = Field(..., min_length=1, max_length=256)
    content_type: Literal["text/plain", "text/markdown", "text/html", "application/pdf"] = "text/plain"
    content: str | None = Field(None, description="the text itself")
    content_base64: str | None = Field(None, description="the file, base64-encoded (at most 1 MiB decoded)")
    metadata: dict[str, Any] | None = Field(
        None, description="flat: strings, numbers, booleans or lists of strings; queries can filter on it"
    )


class KnowledgeQuery(Body):
    text: str = Field(..., min_length=1, max_length=8000)
    top_k: int = Field(5, ge=1, le=50)
    filter: dict[str, Any] | None = Field(
        None, description='metadata filter: {"field": value} or {"field": {"$eq|$ne|$gt|$gte|$lt|$lte|$in|$nin": ...}}'
    )


class ApprovalDecide(Body):
    decision: Literal["approve", "reject"]
    comment: str | None = Field(None, max_length=4000)
    fields: dict[str, Any] = Field(
        default_factory=dict, description="Values for the approval's form (a JSON Schema); they reach the output"
    )


TriggerKind = Literal["schedule", "webhook", "sqs", "eventbridge"]
Mapping = Annotated[str, Field(min_length=1, max_length=4000)]
Secret = Annotated[str, Field(min_length=16, max_length=256)]


class TriggerCreate(Body):
    kind: TriggerKind
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="schedule: {expression, timezone, start_date, end_date, overlap, catch_up}; "
        "webhook: {preset: nexod|github|stripe|slack}; sqs: {}; eventbridge: {event_pattern, bus}",
    )
    enabled: bool = True
    version: int | None = Field(None, ge=1, description="a pinned version; null: the flow's live version")
    input_mapping: Mapping | None = Field(
        None, description="JMESPath over {delivery: {body, headers, query, received_at}, trigger}; null: the body"
    )
    secret: Secret | None = Field(
        None, description="webhook: the signing secret to use (e.g. Stripe's or Slack's); omitted: one is made"
    )


class TriggerUpdate(Body):
    """Only the fields sent change; `version: null` goes back to the live version."""

    config: dict[str, Any] | None = None
    enabled: bool | None = None
    version: int | None = Field(None, ge=1)
    input_mapping: Mapping | None = None


class TriggerTest(Body):
    payload: Any = Field(None, description="the sample delivery's body")


class SchedulePreview(Body):
    """A schedule not saved yet: its next due times, as the scheduler computes them (the cron helper)."""

    expression: str = Field(..., min_length=1, max_length=300, description="cron(...), rate(...) or at(...)")
    timezone: str = Field("UTC", min_length=1, max_length=100, description="an IANA time zone")
    start_date: str | None = Field(None, max_length=64, description="ISO 8601; no due time before it")
    end_date: str | None = Field(None, max_length=64, description="ISO 8601; no due time after it")
    count: int = Field(5, ge=1, le=20, description="how many due times")


class SecretRotate(Body):
    secret: Secret | None = Field(None, description="the new signing secret; omitted: one is made")


class TestRunCreate(Body):
    """A test run of the flow's draft (issue 13)."""

    input: dict[str, Any] | None = Field(
        None, description="the run's input; default: `from_run`'s input when given, else {}"
    )
    use_pins: bool = Field(True, description="pinned nodes do not execute: their pinned output is used")
    only: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="run this node alone: the other nodes' outputs come from `from_run` or the pins",
    )
    from_run: str | None = Field(None, description="an earlier run of this flow (with `only`)")
    label: str | None = Field(None, max_length=200, description="a name for the run")


class PreviewRequest(Body):
    """One field's text, rendered for `node` against a run of the flow (the editor's live preview)."""

    node: str = Field(..., min_length=1, max_length=64, description="the draft's node the field belongs to")
    text: str = Field(..., max_length=20_000, description="the template or expression as typed")
    kind: Literal["template", "jmespath", "jsonata"] = Field(
        "template", description="a `{{ … }}` template, or an expression in that language"
    )
    run: str | None = Field(None, description="a run of this flow; default: its newest run with upstream outputs")
    json_: bool = Field(
        False, alias="json", description="`text` is a JSON document whose strings hold templates (a JSON field)"
    )
    edge: bool = Field(
        False, description="`text` is the condition of an edge leaving `node`: it also sees `output`, the node's own"
    )


class PinPut(Body):
    """Exactly one of `output` (typed by hand) and `from_run` (copies that run's output of the node)."""

    output: Any = Field(None, description="the node's output to use instead of executing it")
    from_run: str | None = Field(None, description="a run of this flow whose output of the node is pinned")


class LimitsUpdate(Body):
    """A concurrency limit: at most `max_concurrent_runs` at a time (null: no limit); what exceeds it waits
    in order (`queue`) or is refused with 429 (`reject`; a trigger's delivery is recorded `rejected`)."""

    max_concurrent_runs: int | None = Field(..., ge=1, le=10_000)
    on_limit: Literal["queue", "reject"] = "queue"
