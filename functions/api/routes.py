"""Routes of the v1 API. Each authenticates, calls one service function and returns its response model
(`responses.py`), which Powertools serialises and documents in `/v1/openapi.json`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, TypeVar
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from nexod.domain.agents import AgentSpec
from nexod.domain.credentials import check_name
from nexod.domain.errors import InvalidInput, NotFound
from nexod.domain.nodes import node_type_catalog
from nexod.services import (
    agents,
    approvals,
    audit,
    concurrency,
    credentials,
    events,
    flows,
    knowledge,
    llm_settings,
    runs,
    templates,
    triggers,
    usage,
    workspaces,
)
from nexod.services.access import parse_id
from nexod.services.context import Principal, Services

from .models import (
    AgentWrite,
    AllowedHostsPut,
    ApprovalDecide,
    BudgetPut,
    CredentialCreate,
    CredentialUpdate,
    DocumentCreate,
    FlowCreate,
    FlowUpdate,
    FlowValidate,
    KnowledgeBaseCreate,
    KnowledgeQuery,
    LimitsUpdate,
    LivePut,
    LlmSettingsPut,
    MemberPut,
    RedriveBody,
    RunCreate,
    RunPatch,
    SchedulePreview,
    SecretRotate,
    TriggerCreate,
    TriggerTest,
    TriggerUpdate,
    VersionCreate,
    WorkspaceCreate,
)
from .responses import (
    Agent,
    AgentNodeRunList,
    AgentPage,
    AgentSpecForms,
    AgentSummary,
    AgentVersion,
    AgentVersionList,
    Approval,
    ApprovalPage,
    AuditPage,
    Budget,
    Credential,
    CredentialList,
    CredentialTypeList,
    DeliveryOutcome,
    EventPage,
    Flow,
    FlowPage,
    FlowSummary,
    KnowledgeBase,
    KnowledgeBaseList,
    KnowledgeDocument,
    KnowledgeDocumentPage,
    KnowledgeQueryResult,
    LlmSettings,
    Me,
    Member,
    MemberList,
    NodeRunList,
    NodeTypeList,
    Run,
    RunLimits,
    RunPage,
    SchedulePreviewResult,
    Template,
    TemplateList,
    Trigger,
    TriggerList,
    TriggerWithSecret,
    Usage,
    ValidationResult,
    Version,
    VersionDiff,
    VersionList,
    Workspace,
    WorkspaceDeletion,
    WorkspaceList,
    WorkspaceSummary,
    reply,
)

M = TypeVar("M")
router = APIGatewayHttpRouter()
_services: Callable[[], Services]
_caller: Callable[[], Principal]


def bind(services: Callable[[], Services], caller: Callable[[], Principal]) -> None:
    global _services, _caller
    _services, _caller = services, caller


def _answer(status: int, body: M) -> Response[M]:
    """A 201/202 answer; Powertools serialises and documents the model like a 200's return value."""
    return Response(status_code=status, content_type="application/json", body=body)


def _ws(ws: str) -> str:
    return parse_id(ws, "workspace")


def _user(user: str) -> str:
    """A member's subject from the path. Powertools matches the raw, percent-encoded path and hands the
    segment over as sent: `local%7Calice` (what encodeURIComponent sends) must mean `local|alice`."""
    try:
        return unquote(user, errors="strict")
    except UnicodeDecodeError:
        raise InvalidInput("user: percent-encoded bytes that are not UTF-8", {"field": "user", "in": "path"}) from None


# -- identity and workspaces -----------------------------------------------------------------------
@router.get("/v1/me", tags=["workspaces"])
def get_me() -> Me:
    return reply(Me, workspaces.me(_services(), _caller()))


@router.get("/v1/workspaces", tags=["workspaces"])
def list_workspaces() -> WorkspaceList:
    return WorkspaceList(items=reply(Me, workspaces.me(_services(), _caller())).workspaces)


@router.post("/v1/workspaces", tags=["workspaces"], status_code=201)
def create_workspace(body: WorkspaceCreate) -> Response[WorkspaceSummary]:
    return _answer(201, reply(WorkspaceSummary, workspaces.create_workspace(_services(), _caller(), body.name)))


@router.get("/v1/workspaces/<ws>", tags=["workspaces"])
def get_workspace(ws: str) -> Workspace:
    principal = _caller()
    found = workspaces.get_workspace(_services(), principal, _ws(ws))
    return reply(Workspace, {**found, "limits": concurrency.get_workspace(_services(), principal, _ws(ws))})


@router.delete("/v1/workspaces/<ws>", tags=["workspaces"])
def delete_workspace(
    ws: str,
    confirm: Annotated[
        str | None, Query(description="the workspace's exact name, typed again: nothing is deleted without it")
    ] = None,
) -> WorkspaceDeletion:
    """Delete the workspace (admins): it leaves every list and every route under it answers 404 at once; its
    active runs are cancelled and its credential values destroyed. Repeat the call after a 503 to finish."""
    principal = _caller()
    return reply(WorkspaceDeletion, workspaces.delete_workspace(_services(), principal, _ws(ws), confirm))


@router.put("/v1/workspaces/<ws>/allowed-hosts", tags=["workspaces"])
def put_allowed_hosts(ws: str, body: AllowedHostsPut) -> Workspace:
    principal = _caller()
    return reply(Workspace, workspaces.set_allowed_hosts(_services(), principal, _ws(ws), body.allowed_hosts))


@router.get("/v1/workspaces/<ws>/llm-settings", tags=["workspaces"])
def get_llm_settings(ws: str) -> LlmSettings:
    principal = _caller()
    return reply(LlmSettings, llm_settings.get_llm_settings(_services(), principal, _ws(ws)))


@router.put("/v1/workspaces/<ws>/llm-settings", tags=["workspaces"])
def put_llm_settings(ws: str, body: LlmSettingsPut) -> LlmSettings:
    principal = _caller()
    answer = llm_settings.set_llm_settings(
        _services(),
        principal,
        _ws(ws),
        body.allowed_models,
        body.default_model,
        body.requests_per_minute,
        body.tokens_per_minute,
    )
    return reply(LlmSettings, answer)


@router.get("/v1/workspaces/<ws>/members", tags=["workspaces"])
def list_members(ws: str) -> MemberList:
    principal = _caller()
    return reply(MemberList, {"items": workspaces.list_members(_services(), principal, _ws(ws))})


@router.put("/v1/workspaces/<ws>/members/<user>", tags=["workspaces"])
def put_member(ws: str, user: str, body: MemberPut) -> Member:
    principal = _caller()
    member = workspaces.put_member(_services(), principal, _ws(ws), _user(user), body.role, body.email, body.name)
    return reply(Member, member)


@router.delete("/v1/workspaces/<ws>/members/<user>", tags=["workspaces"], status_code=204)
def delete_member(ws: str, user: str) -> Response[str]:
    principal = _caller()
    workspaces.remove_member(_services(), principal, _ws(ws), _user(user))
    return Response(status_code=204, body="")


# -- node types and flows --------------------------------------------------------------------------
@router.get("/v1/node-types", tags=["flows"])
def list_node_types() -> NodeTypeList:
    _caller()
    return reply(NodeTypeList, {"items": node_type_catalog()})


@router.get("/v1/templates", tags=["flows"])
def list_templates() -> TemplateList:
    """Ready-made flows to start from (any signed-in user; they belong to no workspace)."""
    _caller()
    return reply(TemplateList, templates.list_templates(_services()))


@router.get("/v1/templates/<template>", tags=["flows"])
def get_template(template: str) -> Template:
    """A template with its definition (create a flow with it) and its readme (markdown)."""
    _caller()
    return reply(Template, templates.get_template(_services(), template))


@router.post("/v1/workspaces/<ws>/flows/validate", tags=["flows"])
def validate_flow(ws: str, body: FlowValidate) -> ValidationResult:
    return reply(ValidationResult, flows.check_in(_services(), _caller(), _ws(ws), body.definition))


@router.post("/v1/workspaces/<ws>/flows", tags=["flows"], status_code=201)
def create_flow(ws: str, body: FlowCreate) -> Response[Flow]:
    principal = _caller()
    flow = flows.create(_services(), principal, _ws(ws), body.name, body.description, body.definition)
    return _answer(201, reply(Flow, flow))


@router.get("/v1/workspaces/<ws>/flows", tags=["flows"])
def list_flows(
    ws: str, cursor: Annotated[str | None, Query()] = None, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> FlowPage:
    principal = _caller()
    return reply(FlowPage, flows.list_flows(_services(), principal, _ws(ws), cursor, limit))


@router.get("/v1/workspaces/<ws>/flows/<flow>", tags=["flows"])
def get_flow(ws: str, flow: str) -> Flow:
    principal = _caller()
    found = flows.get(_services(), principal, _ws(ws), flow)
    return reply(Flow, {**found, "limits": concurrency.get_flow(_services(), principal, _ws(ws), flow)})


@router.put("/v1/workspaces/<ws>/flows/<flow>", tags=["flows"])
def put_flow(ws: str, flow: str, body: FlowUpdate) -> Flow:
    principal = _caller()
    fields = body.model_dump(exclude_none=True)
    return reply(Flow, flows.update(_services(), principal, _ws(ws), flow, fields))


@router.delete("/v1/workspaces/<ws>/flows/<flow>", tags=["flows"], status_code=204)
def delete_flow(ws: str, flow: str) -> Response[str]:
    principal = _caller()
    flows.delete(_services(), principal, _ws(ws), flow)
    return Response(status_code=204, body="")


@router.post("/v1/workspaces/<ws>/flows/<flow>/versions", tags=["versions"], status_code=201)
def publish_version(ws: str, flow: str, body: VersionCreate | None = None) -> Response[Version]:
    principal = _caller()
    description = body.description if body else ""
    published = flows.publish(_services(), principal, _ws(ws), flow, description)
    # A draft identical to the live version publishes nothing: 200 with the live version, `unchanged`.
    return _answer(200 if published["unchanged"] else 201, reply(Version, published))


@router.get("/v1/workspaces/<ws>/flows/<flow>/versions", tags=["versions"])
def list_versions(ws: str, flow: str) -> VersionList:
    principal = _caller()
    return reply(VersionList, flows.list_versions(_services(), principal, _ws(ws), flow))


@router.get("/v1/workspaces/<ws>/flows/<flow>/versions/<n>", tags=["versions"])
def get_version(ws: str, flow: str, n: str) -> Version:
    principal = _caller()
    if not n.isdigit():
        from nexod.domain.errors import NotFound

        raise NotFound(f"version '{n}' not found")
    return reply(Version, flows.get_version(_services(), principal, _ws(ws), flow, int(n)))


@router.get("/v1/workspaces/<ws>/flows/<flow>/versions/<a>/diff/<b>", tags=["versions"])
def diff_versions(ws: str, flow: str, a: str, b: str) -> VersionDiff:
    """What changed from version `a` to version `b`; either may be `draft`, the flow's unpublished draft."""
    principal = _caller()
    return reply(VersionDiff, flows.diff(_services(), principal, _ws(ws), flow, a, b))


@router.put("/v1/workspaces/<ws>/flows/<flow>/live", tags=["versions"])
def put_live(ws: str, flow: str, body: LivePut) -> FlowSummary:
    principal = _caller()
    return reply(FlowSummary, flows.set_live(_services(), principal, _ws(ws), flow, body.version))


# -- runs ------------------------------------------------------------------------------------------
@router.post("/v1/workspaces/<ws>/flows/<flow>/runs", tags=["runs"], status_code=202)
def start_run(ws: str, flow: str, body: RunCreate | None = None) -> Response[Run]:
    principal = _caller()
    body = body or RunCreate()
    started = runs.start(_services(), principal.actor(), _ws(ws), flow, body.input, body.version, label=body.label)
    return _answer(202, reply(Run, started))


@router.get("/v1/workspaces/<ws>/runs", tags=["runs"])
def list_runs(
    ws: str,
    flow: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    test: Annotated[bool, Query(description="list the test runs of drafts instead (never listed otherwise)")] = False,
    number: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> RunPage:
    """Runs newest first. `flow` and `number` together find run #number of that flow."""
    principal = _caller()
    return reply(
        RunPage, runs.list_runs(_services(), principal, _ws(ws), flow, status, cursor, limit, number, test=test)
    )


@router.get("/v1/workspaces/<ws>/runs/<run>", tags=["runs"])
def get_run(ws: str, run: str) -> Run:
    principal = _caller()
    return reply(Run, runs.get(_services(), principal, _ws(ws), run))


@router.patch("/v1/workspaces/<ws>/runs/<run>", tags=["runs"])
def patch_run(ws: str, run: str, body: RunPatch) -> Run:
    """Name the run (its label); null or an empty label clears it."""
    principal = _caller()
    return reply(Run, runs.set_label(_services(), principal, _ws(ws), run, body.label))


@router.get("/v1/workspaces/<ws>/runs/<run>/nodes", tags=["runs"])
def get_run_nodes(ws: str, run: str) -> NodeRunList:
    principal = _caller()
    return reply(NodeRunList, runs.nodes(_services(), principal, _ws(ws), run))


@router.post("/v1/workspaces/<ws>/runs/<run>/cancel", tags=["runs"])
def cancel_run(ws: str, run: str) -> Run:
    principal = _caller()
    return reply(Run, runs.cancel(_services(), principal, _ws(ws), run))


@router.get("/v1/workspaces/<ws>/approvals", tags=["approvals"])
def list_approvals(
    ws: str,
    status: Annotated[str | None, Query(description="pending, decided, expired or withdrawn")] = None,
    run: Annotated[str | None, Query()] = None,
    flow: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ApprovalPage:
    principal = _caller()
    found = approvals.list_approvals(_services(), principal, _ws(ws), status, run, flow, cursor, limit)
    return reply(ApprovalPage, found)


@router.get("/v1/workspaces/<ws>/approvals/<approval>", tags=["approvals"])
def get_approval(ws: str, approval: str) -> Approval:
    principal = _caller()
    return reply(Approval, approvals.get(_services(), principal, _ws(ws), approval))


@router.post("/v1/workspaces/<ws>/approvals/<approval>/decide", tags=["approvals"])
def decide_approval(ws: str, approval: str, body: ApprovalDecide) -> Approval:
    principal = _caller()
    decided = approvals.decide(_services(), principal, _ws(ws), approval, body.decision, body.comment, body.fields)
    return reply(Approval, decided)


@router.post("/v1/workspaces/<ws>/runs/<run>/redrive", tags=["runs"], status_code=202)
def redrive_run(ws: str, run: str, body: RedriveBody | None = None) -> Response[Run]:
    principal = _caller()
    version = body.version if body else None
    return _answer(202, reply(Run, runs.redrive(_services(), principal, _ws(ws), run, version)))


# -- run events (long poll; the local server also streams them as Server-Sent Events) ----------------------
_AFTER = "the `cursor` of the last event read (or of the previous answer); 0 or absent: from the first"
_WAIT = "seconds to wait for an event when there is none yet (long poll), at most 25; default 0"


@router.get("/v1/workspaces/<ws>/runs/<run>/events", tags=["runs"])
def get_run_events(
    ws: str,
    run: str,
    after: Annotated[str | None, Query(description=_AFTER, max_length=64)] = None,
    wait: Annotated[float | None, Query(description=_WAIT, ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventPage:
    principal = _caller()
    return reply(EventPage, events.run_events(_services(), principal, _ws(ws), run, after, wait, limit))


@router.get("/v1/workspaces/<ws>/events", tags=["runs"])
def get_workspace_events(
    ws: str,
    after: Annotated[str | None, Query(description=_AFTER, max_length=64)] = None,
    wait: Annotated[float | None, Query(description=_WAIT, ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventPage:
    principal = _caller()
    return reply(EventPage, events.workspace_events(_services(), principal, _ws(ws), after, wait, limit))


# -- audit log (admins) ------------------------------------------------------------------------------------
@router.get("/v1/workspaces/<ws>/audit", tags=["workspaces"])
def list_audit(
    ws: str,
    cursor: Annotated[str | None, Query()] = None,
    action: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    principal = _caller()
    return reply(AuditPage, audit.list_entries(_services(), principal, _ws(ws), cursor, action, limit))


# -- usage and budgets (DESIGN §9) -------------------------------------------------------------------------
@router.get("/v1/workspaces/<ws>/usage", tags=["workspaces"])
def get_usage(
    ws: str,
    from_: Annotated[
        str | None, Query(alias="from", description="first day, YYYY-MM-DD in `tz`; default the 1st")
    ] = None,
    to: Annotated[str | None, Query(description="last day (included) in `tz`; default today; at most 366 days")] = None,
    tz: Annotated[str | None, Query(description="IANA time zone of the days; default UTC")] = None,
    group_by: Annotated[str | None, Query(description="day (default), flow, model or node_type")] = None,
    test: Annotated[bool, Query(description="count test runs of drafts too (left out by default)")] = False,
) -> Usage:
    principal = _caller()
    return reply(Usage, usage.usage(_services(), principal, _ws(ws), from_, to, tz, group_by, test))


@router.get("/v1/workspaces/<ws>/budget", tags=["workspaces"])
def get_budget(ws: str) -> Budget:
    principal = _caller()
    return reply(Budget, usage.get_budget(_services(), principal, _ws(ws)))


@router.put("/v1/workspaces/<ws>/budget", tags=["workspaces"])
def put_budget(ws: str, body: BudgetPut) -> Budget:
    principal = _caller()
    return reply(
        Budget, usage.put_budget(_services(), principal, _ws(ws), body.monthly_soft_usd, body.monthly_hard_usd)
    )


# -- credentials (write-only values: no route answers one) -------------------------------------------------
def _credential(name: str) -> str:
    """A credential name from the path: one that breaks the naming rules cannot exist (404)."""
    try:
        return check_name(unquote(name, errors="strict"))
    except (InvalidInput, UnicodeDecodeError):
        raise NotFound(f"credential '{name}' not found") from None


@router.get("/v1/credential-types", tags=["credentials"])
def list_credential_types() -> CredentialTypeList:
    _caller()
    return reply(CredentialTypeList, credentials.credential_types())


@router.get("/v1/workspaces/<ws>/credentials", tags=["credentials"])
def list_credentials(ws: str) -> CredentialList:
    principal = _caller()
    return reply(CredentialList, credentials.list_credentials(_services(), principal, _ws(ws)))


@router.post("/v1/workspaces/<ws>/credentials", tags=["credentials"], status_code=201)
def create_credential(ws: str, body: CredentialCreate) -> Response[Credential]:
    principal = _caller()
    created = credentials.create_credential(
        _services(), principal, _ws(ws), body.name, body.type, body.description, body.value
    )
    return _answer(201, reply(Credential, created))


@router.get("/v1/workspaces/<ws>/credentials/<name>", tags=["credentials"])
def get_credential(ws: str, name: str) -> Credential:
    principal = _caller()
    return reply(Credential, credentials.get_credential(_services(), principal, _ws(ws), _credential(name)))


@router.put("/v1/workspaces/<ws>/credentials/<name>", tags=["credentials"])
def update_credential(ws: str, name: str, body: CredentialUpdate) -> Credential:
    principal = _caller()
    changed = credentials.update_credential(
        _services(), principal, _ws(ws), _credential(name), body.description, body.value
    )
    return reply(Credential, changed)


@router.delete("/v1/workspaces/<ws>/credentials/<name>", tags=["credentials"], status_code=204)
def delete_credential(ws: str, name: str, force: Annotated[bool, Query()] = False) -> Response[str]:
    principal = _caller()
    credentials.delete_credential(_services(), principal, _ws(ws), _credential(name), force)
    return Response(status_code=204, body="")


# -- agents (AgentSpec: versioned like flows; markdown and JSON) --------------------------------------------
MARKDOWN = "text/markdown; charset=utf-8"


def _source(body: AgentWrite) -> agents.SpecSource:
    return agents.SpecSource(spec=body.spec, markdown=body.markdown)


def _version_number(n: str) -> int:
    if not n.isdigit() or len(n) > 9:
        raise NotFound(f"version '{n}' not found")
    return int(n)


@router.post("/v1/workspaces/<ws>/agents/validate", tags=["agents"])
def validate_agent(ws: str, body: AgentWrite) -> AgentSpecForms:
    """Check a spec without saving it and answer it in both forms (JSON and markdown)."""
    return reply(AgentSpecForms, agents.convert(_services(), _caller(), _ws(ws), _source(body)))


@router.post("/v1/workspaces/<ws>/agents", tags=["agents"], status_code=201)
def create_agent(ws: str, body: AgentWrite) -> Response[Agent]:
    """Create an agent from a spec: JSON `{"spec": {...}}` or `{"markdown": "..."}`, or the markdown itself
    with `Content-Type: text/markdown`."""
    principal = _caller()
    return _answer(201, reply(Agent, agents.create(_services(), principal, _ws(ws), _source(body))))


@router.get("/v1/workspaces/<ws>/agents", tags=["agents"])
def list_agents(
    ws: str, cursor: Annotated[str | None, Query()] = None, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> AgentPage:
    principal = _caller()
    return reply(AgentPage, agents.list_agents(_services(), principal, _ws(ws), cursor, limit))


@router.get("/v1/workspaces/<ws>/agents/<agent>", tags=["agents"])
def get_agent(ws: str, agent: str) -> Agent:
    principal = _caller()
    return reply(Agent, agents.get(_services(), principal, _ws(ws), agent))


@router.put("/v1/workspaces/<ws>/agents/<agent>", tags=["agents"])
def put_agent(ws: str, agent: str, body: AgentWrite) -> Agent:
    """Replace the draft: JSON `{"spec": {...}}` or `{"markdown": "..."}`, or `Content-Type: text/markdown`."""
    principal = _caller()
    return reply(Agent, agents.update(_services(), principal, _ws(ws), agent, _source(body)))


@router.delete("/v1/workspaces/<ws>/agents/<agent>", tags=["agents"], status_code=204)
def delete_agent(ws: str, agent: str) -> Response[str]:
    """Refused with 409, naming them, while the live version of a flow uses the agent."""
    principal = _caller()
    agents.delete(_services(), principal, _ws(ws), agent)
    return Response(status_code=204, body="")


@router.post("/v1/workspaces/<ws>/agents/<agent>/versions", tags=["agents"], status_code=201)
def publish_agent(ws: str, agent: str, body: VersionCreate | None = None) -> Response[AgentVersion]:
    """Publish the draft as the next version and move `live` to it (201). A draft identical to the latest
    version creates nothing: 200 with that version and `unchanged: true`."""
    principal = _caller()
    description = body.description if body else ""
    view, created = agents.publish(_services(), principal, _ws(ws), agent, description)
    return _answer(201 if created else 200, reply(AgentVersion, view))


@router.get("/v1/workspaces/<ws>/agents/<agent>/versions", tags=["agents"])
def list_agent_versions(ws: str, agent: str) -> AgentVersionList:
    principal = _caller()
    return reply(AgentVersionList, agents.list_versions(_services(), principal, _ws(ws), agent))


@router.get("/v1/workspaces/<ws>/agents/<agent>/versions/<n>", tags=["agents"])
def get_agent_version(ws: str, agent: str, n: str) -> AgentVersion:
    principal = _caller()
    return reply(AgentVersion, agents.get_version(_services(), principal, _ws(ws), agent, _version_number(n)))


@router.get("/v1/workspaces/<ws>/agents/<agent>/versions/<n>/spec.md", tags=["agents"])
def get_agent_spec_markdown(ws: str, agent: str, n: str) -> Response[str]:
    """The version's spec as markdown (text/markdown)."""
    principal = _caller()
    text = agents.spec_markdown(_services(), principal, _ws(ws), agent, _version_number(n))
    return Response(status_code=200, content_type=MARKDOWN, body=text)


@router.get("/v1/workspaces/<ws>/agents/<agent>/versions/<n>/spec.json", tags=["agents"])
def get_agent_spec_json(ws: str, agent: str, n: str) -> AgentSpec:
    """The version's spec in its JSON form."""
    principal = _caller()
    return AgentSpec.model_validate(agents.spec_json(_services(), principal, _ws(ws), agent, _version_number(n)))


@router.put("/v1/workspaces/<ws>/agents/<agent>/live", tags=["agents"])
def put_agent_live(ws: str, agent: str, body: LivePut) -> AgentSummary:
    """Move `live` to a published version (a rollback is a move to an older one)."""
    principal = _caller()
    return reply(AgentSummary, agents.set_live(_services(), principal, _ws(ws), agent, body.version))


@router.get("/v1/workspaces/<ws>/agents/<agent>/runs", tags=["agents"])
def list_agent_runs(ws: str, agent: str, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> AgentNodeRunList:
    """The node runs that used the agent, newest first, with the version, tokens and cost of each."""
    principal = _caller()
    return reply(AgentNodeRunList, agents.runs(_services(), principal, _ws(ws), agent, limit))


# -- knowledge bases (issue 10) ------------------------------------------------------------------------------
@router.get("/v1/workspaces/<ws>/knowledge-bases", tags=["knowledge"])
def list_knowledge_bases(ws: str) -> KnowledgeBaseList:
    principal = _caller()
    return reply(KnowledgeBaseList, knowledge.list_knowledge_bases(_services(), principal, _ws(ws)))


@router.post("/v1/workspaces/<ws>/knowledge-bases", tags=["knowledge"], status_code=201)
def create_knowledge_base(ws: str, body: KnowledgeBaseCreate) -> Response[KnowledgeBase]:
    principal = _caller()
    created = knowledge.create_knowledge_base(
        _services(),
        principal,
        _ws(ws),
        body.name,
        body.description,
        body.embedding_model,
        body.dimensions,
        body.store,
        body.pinecone.model_dump() if body.pinecone else None,
    )
    return _answer(201, reply(KnowledgeBase, created))


@router.post("/v1/workspaces/<ws>/knowledge-bases/<kb>/documents", tags=["knowledge"], status_code=201)
def add_document(ws: str, kb: str, body: DocumentCreate) -> Response[KnowledgeDocument]:
    principal = _caller()
    added = knowledge.add_document(
        _services(),
        principal,
        _ws(ws),
        kb,
        body.name,
        body.content_type,
        body.content,
        body.content_base64,
        body.metadata,
    )
    return _answer(201, reply(KnowledgeDocument, added))


@router.get("/v1/workspaces/<ws>/knowledge-bases/<kb>/documents", tags=["knowledge"])
def list_documents(
    ws: str, kb: str, cursor: Annotated[str | None, Query()] = None, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> KnowledgeDocumentPage:
    principal = _caller()
    return reply(KnowledgeDocumentPage, knowledge.list_documents(_services(), principal, _ws(ws), kb, cursor, limit))


@router.delete("/v1/workspaces/<ws>/knowledge-bases/<kb>/documents/<doc>", tags=["knowledge"], status_code=204)
def delete_document(ws: str, kb: str, doc: str) -> Response[str]:
    principal = _caller()
    knowledge.delete_document(_services(), principal, _ws(ws), kb, doc)
    return Response(status_code=204, body="")


@router.post("/v1/workspaces/<ws>/knowledge-bases/<kb>/query", tags=["knowledge"])
def query_knowledge_base(ws: str, kb: str, body: KnowledgeQuery) -> KnowledgeQueryResult:
    principal = _caller()
    found = knowledge.query(_services(), principal, _ws(ws), kb, body.text, body.top_k, body.filter)
    return reply(KnowledgeQueryResult, found)


__all__ = ["bind", "json", "router"]


# -- triggers ----------------------------------------------------------------------------------------
@router.post("/v1/workspaces/<ws>/flows/<flow>/triggers", tags=["triggers"], status_code=201)
def create_trigger(ws: str, flow: str, body: TriggerCreate) -> Response[TriggerWithSecret]:
    """A trigger of the flow. A webhook's answer carries its `url` and `secret`: the secret is shown this once."""
    principal = _caller()
    created = triggers.create(
        _services(),
        principal,
        _ws(ws),
        flow,
        body.kind,
        body.config,
        body.enabled,
        body.version,
        body.input_mapping,
        body.secret,
    )
    return _answer(201, reply(TriggerWithSecret, created))


@router.get("/v1/workspaces/<ws>/flows/<flow>/triggers", tags=["triggers"])
def list_triggers(ws: str, flow: str) -> TriggerList:
    principal = _caller()
    return reply(TriggerList, triggers.list_triggers(_services(), principal, _ws(ws), flow))


@router.get("/v1/workspaces/<ws>/flows/<flow>/triggers/<trigger>", tags=["triggers"])
def get_trigger(ws: str, flow: str, trigger: str) -> Trigger:
    """The trigger with its recent deliveries (their outcome and run)."""
    principal = _caller()
    return reply(Trigger, triggers.get(_services(), principal, _ws(ws), flow, trigger))


@router.put("/v1/workspaces/<ws>/flows/<flow>/triggers/<trigger>", tags=["triggers"])
def put_trigger(ws: str, flow: str, trigger: str, body: TriggerUpdate) -> Trigger:
    principal = _caller()
    fields = {name: getattr(body, name) for name in body.model_fields_set}
    for name in ("config", "enabled"):
        if name in fields and fields[name] is None:
            raise InvalidInput(f"{name}: must not be null", {"field": name, "in": "body"})
    return reply(Trigger, triggers.update(_services(), principal, _ws(ws), flow, trigger, fields))


@router.delete("/v1/workspaces/<ws>/flows/<flow>/triggers/<trigger>", tags=["triggers"], status_code=204)
def delete_trigger(ws: str, flow: str, trigger: str) -> Response[str]:
    principal = _caller()
    triggers.delete(_services(), principal, _ws(ws), flow, trigger)
    return Response(status_code=204, body="")


@router.post("/v1/workspaces/<ws>/flows/<flow>/triggers/<trigger>/enable", tags=["triggers"])
def enable_trigger(ws: str, flow: str, trigger: str) -> Trigger:
    principal = _caller()
    return reply(Trigger, triggers.set_enabled(_services(), principal, _ws(ws), flow, trigger, True))


@router.post("/v1/workspaces/<ws>/flows/<flow>/triggers/<trigger>/disable", tags=["triggers"])
def disable_trigger(ws: str, flow: str, trigger: str) -> Trigger:
    principal = _caller()
    return reply(Trigger, triggers.set_enabled(_services(), principal, _ws(ws), flow, trigger, False))


@router.post("/v1/workspaces/<ws>/flows/<flow>/triggers/<trigger>/test", tags=["triggers"], status_code=202)
def fire_trigger_test(ws: str, flow: str, trigger: str, body: TriggerTest | None = None) -> Response[DeliveryOutcome]:
    """Fire once now with a sample payload (the delivery's body), even while disabled."""
    principal = _caller()
    payload = body.payload if body is not None else None
    outcome = triggers.test(_services(), principal, _ws(ws), flow, trigger, payload)
    return _answer(202, reply(DeliveryOutcome, outcome))


@router.post("/v1/workspaces/<ws>/flows/<flow>/triggers/<trigger>/rotate-secret", tags=["triggers"])
def rotate_trigger_secret(ws: str, flow: str, trigger: str, body: SecretRotate | None = None) -> TriggerWithSecret:
    """A new signing secret for a webhook, shown this once; the old one stops verifying at once."""
    principal = _caller()
    secret = body.secret if body is not None else None
    return reply(TriggerWithSecret, triggers.rotate_secret(_services(), principal, _ws(ws), flow, trigger, secret))


# -- concurrency limits --------------------------------------------------------------------------------
@router.get("/v1/workspaces/<ws>/flows/<flow>/limits", tags=["flows"])
def get_flow_limits(ws: str, flow: str) -> RunLimits:
    """The flow's concurrency limit, with how many of its runs hold a slot and how many wait for one."""
    principal = _caller()
    return reply(RunLimits, concurrency.get_flow(_services(), principal, _ws(ws), flow))


@router.put("/v1/workspaces/<ws>/flows/<flow>/limits", tags=["flows"])
def put_flow_limits(ws: str, flow: str, body: LimitsUpdate) -> RunLimits:
    """Set the flow's concurrency limit (members); raising it starts waiting runs at once."""
    principal = _caller()
    fields = {"max_concurrent_runs": body.max_concurrent_runs, "on_limit": body.on_limit}
    return reply(RunLimits, concurrency.put_flow(_services(), principal, _ws(ws), flow, fields))


@router.get("/v1/workspaces/<ws>/limits", tags=["workspaces"])
def get_workspace_limits(ws: str) -> RunLimits:
    """The workspace's concurrency limit (all flows together), with its running and waiting runs."""
    principal = _caller()
    return reply(RunLimits, concurrency.get_workspace(_services(), principal, _ws(ws)))


@router.put("/v1/workspaces/<ws>/limits", tags=["workspaces"])
def put_workspace_limits(ws: str, body: LimitsUpdate) -> RunLimits:
    """Set the workspace's concurrency limit (admins)."""
    principal = _caller()
    fields = {"max_concurrent_runs": body.max_concurrent_runs, "on_limit": body.on_limit}
    return reply(RunLimits, concurrency.put_workspace(_services(), principal, _ws(ws), fields))


@router.post("/v1/workspaces/<ws>/triggers/preview", tags=["triggers"])
def preview_schedule(ws: str, body: SchedulePreview) -> SchedulePreviewResult:
    """The next due times of a schedule expression before it is saved (viewers too); a bad expression or
    time zone is a 422 naming it and saying why."""
    principal = _caller()
    fields = body.model_dump(exclude={"count"}, exclude_none=True)
    found = triggers.preview(_services(), principal, _ws(ws), fields, body.count)
    return reply(SchedulePreviewResult, found)
