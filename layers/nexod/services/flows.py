"""Flows: drafts, validation, immutable versions compiled to ASL, and the live pointer."""

from __future__ import annotations

from typing import Any

from ..domain.compiler import compile_flow, substitute
from ..domain.diff import diff_flows
from ..domain.drafts import check_shape, problems, valid_or_raise
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.flow import config_hash
from ..domain.records import Flow, FlowSummary, FlowVersion, FlowVersionSummary
from ..domain.validation import validate
from ..ports import FlowChanges
from . import triggers
from .access import authorize, flow_or_404, parse_id
from .context import Principal, Services
from .credentials import missing_credentials
from .json_limits import MAX_STORED_DEPTH, find_problem, readable, serve
from .paging import decode_cursor, page

PAGE = 50


def _flow_view(flow: FlowSummary, with_definition: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": flow.id,
        "name": flow.name,
        "description": flow.description,
        "live_version": flow.live_version,
        "latest_version": flow.latest_version,
        "created_at": flow.created_at,
        "updated_at": flow.updated_at,
    }
    if with_definition:
        assert isinstance(flow, Flow)
        view["definition"] = flow.definition
        view["state_machine_arn"] = flow.state_machine_arn
        serve(view, ("definition",))
        # A draft saves valid or not (issue 13): what publishing would refuse, each naming its node/edge/field.
        found = problems(flow.definition) if "unreadable" not in view else _unreadable_problems(view)
        view["valid"] = not found
        view["problems"] = found
    return view


def _unreadable_problems(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "code": "unreadable",
            "message": f"the stored draft cannot be read: {u.get('message', '')}",
            "field": "definition",
        }
        for u in view.get("unreadable", [])
    ]


def _draft(definition: Any) -> dict[str, Any]:
    """What a draft stores: the canonical document when it is valid, else the document as sent (it always saves;
    only a value that is no flow document at all, or too large or deep to store, is refused)."""
    check_shape(definition)
    _, problem = readable(definition)
    if problem is not None:
        raise InvalidInput(f"definition: {problem}", {"field": "definition"})
    try:
        return validate(definition).document.canonical()
    except InvalidInput:
        return dict(definition)


def check(definition: Any) -> dict[str, Any]:
    """Validate and compile without saving."""
    compiled = compile_flow(validate(definition))
    return {"valid": True, "state_count": compiled.state_count}


def check_in(services: Services, principal: Principal, workspace_id: str, definition: Any) -> dict[str, Any]:
    """`check`, for a caller of the workspace (the API's validate route)."""
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.validate")
    return check(definition)


def create(
    services: Services,
    principal: Principal,
    workspace_id: str,
    name: str,
    description: str,
    definition: dict[str, Any],
) -> dict[str, Any]:
    doc = _draft(definition)  # saved valid or not: the answer lists its problems
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.write")
        flow = uow.flows.create(name, description, doc)
        uow.audit.record("flow.create", "flow", flow.id, {"name": name})
        warnings = missing_credentials(uow, doc)
    return _with_warnings(_flow_view(flow, with_definition=True), warnings)


def list_flows(
    services: Services, principal: Principal, workspace_id: str, cursor: str | None, limit: int = PAGE
) -> dict[str, Any]:
    after = decode_cursor(cursor) if cursor else None
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.read")
        items, nxt = page(uow.flows.newest(limit + 1, after), limit)
    return {"items": [_flow_view(f) for f in items], "next_cursor": nxt}


def get(services: Services, principal: Principal, workspace_id: str, flow_id: str) -> dict[str, Any]:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.read")
        flow = flow_or_404(uow, flow_id)
    return _flow_view(flow, with_definition=True)


def update(
    services: Services, principal: Principal, workspace_id: str, flow_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    flow_id = parse_id(flow_id, "flow")
    changes: FlowChanges = {}
    if "name" in fields:
        changes["name"] = fields["name"]
    if "description" in fields:
        changes["description"] = fields["description"]
    if "definition" in fields:
        changes["definition"] = _draft(fields["definition"])
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.write")
        flow = uow.flows.update(flow_id, changes) if changes else uow.flows.get(flow_id)
        if flow is None:
            raise NotFound(f"flow '{flow_id}' not found")
        uow.audit.record("flow.update", "flow", flow_id, {"fields": sorted(fields)})
        warnings = missing_credentials(uow, changes["definition"]) if "definition" in changes else []
    return _with_warnings(_flow_view(flow, with_definition=True), warnings)


def _with_warnings(view: dict[str, Any], warnings: list[dict[str, Any]]) -> dict[str, Any]:
    """What saving succeeded with but a run would trip on (a credential the workspace lacks)."""
    return {**view, "warnings": warnings} if warnings else view


def delete(services: Services, principal: Principal, workspace_id: str, flow_id: str) -> None:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.write")
        hooked = uow.triggers.of_flow(flow_id)  # their rows go with the flow (ON DELETE CASCADE)
        if not uow.flows.delete(flow_id):
            raise NotFound(f"flow '{flow_id}' not found")
        uow.audit.record("flow.delete", "flow", flow_id)
    triggers.forget(services, workspace_id, hooked)


def machine_name(services: Services, workspace_id: str, flow_id: str) -> str:
    return f"{services.state_machine_prefix}-{workspace_id[:8]}-{flow_id}"


def _version_view(version: FlowVersionSummary, live: int | None, full: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "version": version.version,
        "description": version.description,
        "config_hash": version.config_hash,
        "created_by": version.created_by,
        "created_at": version.created_at,
        "is_live": version.version == live,
        "state_machine_version_arn": version.state_machine_version_arn,
    }
    if full:
        assert isinstance(version, FlowVersion)
        view["definition"] = version.definition
        view["asl"] = version.asl
        serve(view, ("definition", "asl"))
    return view


def publish(
    services: Services, principal: Principal, workspace_id: str, flow_id: str, description: str
) -> dict[str, Any]:
    """Freeze the draft as the next version, publish its state machine version and point `live` at it."""
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.publish")
        flow = flow_or_404(uow, flow_id, for_update=True)
        _, problem = readable(flow.definition)
        if problem is not None:
            raise Conflict(f"the stored draft cannot be read ({problem}); replace its definition (PUT) first")
        valid = valid_or_raise(flow.definition)  # a draft saves invalid; publishing it is 422 listing its problems
        compiled = compile_flow(valid)
        if find_problem(compiled.asl, MAX_STORED_DEPTH) is not None:  # stored and replayed: it must read back
            raise InvalidInput(
                f"definition: this flow compiles to a state machine nested deeper than {MAX_STORED_DEPTH} levels;"
                " nest fewer parallel branches inside each other",
                {"field": "definition"},
            )
        doc = valid.document.canonical()
        if flow.live_version is not None:
            # The same definition as the live version (same config hash): nothing to publish. Only the live
            # version counts; a draft identical to an older version becomes a new version (it is a change).
            live = uow.versions.get(flow_id, flow.live_version)
            if live is not None and live.config_hash == config_hash(doc):
                return {**_version_view(live, flow.live_version, full=True), "unchanged": True}
        version = flow.latest_version + 1
        # The orchestrator call happens inside the transaction: if it fails nothing is recorded, and
        # an orphaned state machine version (commit failing afterwards) is harmless and never live.
        machine = services.orchestrator.publish(
            machine_name(services, workspace_id, flow_id),
            substitute(compiled.asl, services.runner_arns),
            description or f"version {version}",
        )
        services.orchestrator.set_live(machine.state_machine_arn, machine.version_arn)
        stored = uow.versions.add(
            flow_id, version, doc, compiled.asl, config_hash(doc), machine.version_arn, description
        )
        uow.flows.update(
            flow_id,
            {"latest_version": version, "live_version": version, "state_machine_arn": machine.state_machine_arn},
        )
        uow.audit.record("flow.publish", "flow", flow_id, {"version": version})
    return {**_version_view(stored, version, full=True), "unchanged": False}


def list_versions(services: Services, principal: Principal, workspace_id: str, flow_id: str) -> dict[str, Any]:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.read")
        flow = flow_or_404(uow, flow_id)
        versions = uow.versions.of_flow(flow_id)
    return {"items": [_version_view(v, flow.live_version) for v in versions]}


def get_version(
    services: Services, principal: Principal, workspace_id: str, flow_id: str, version: int
) -> dict[str, Any]:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.read")
        flow = uow.flows.get(flow_id)
        stored = uow.versions.get(flow_id, version) if flow else None
    if flow is None or stored is None or version < 1:  # (test snapshots of drafts are negative: never served)
        raise NotFound(f"flow '{flow_id}' has no version {version}")
    return _version_view(stored, flow.live_version, full=True)


def set_live(services: Services, principal: Principal, workspace_id: str, flow_id: str, version: int) -> dict[str, Any]:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.live")
        flow = flow_or_404(uow, flow_id, for_update=True)
        stored = uow.versions.get(flow_id, version)
        if stored is None:
            raise Conflict(
                f"flow has no version {version}; published versions are 1..{flow.latest_version}",
                {"field": "version"},
            )
        services.orchestrator.set_live(flow.state_machine_arn or "", stored.state_machine_version_arn or "")
        moved = uow.flows.update(flow_id, {"live_version": version})
        uow.audit.record("flow.live", "flow", flow_id, {"version": version})
    assert moved is not None
    return _flow_view(moved)


DRAFT = "draft"
MAX_VERSION = 2_147_483_647


def _side(value: str, field: str) -> int | str:
    """A side of a diff: a version number or `draft`; a 422 naming the path parameter otherwise."""
    if value == DRAFT:
        return DRAFT
    if value.isdigit() and 1 <= int(value) <= MAX_VERSION:
        return int(value)
    raise InvalidInput(f"{field}: a version number (1, 2, ...) or 'draft'", {"field": field})


def diff(services: Services, principal: Principal, workspace_id: str, flow_id: str, a: str, b: str) -> dict[str, Any]:
    """What changed from `a` to `b` (version numbers or `draft`): nodes and edges added, removed, changed."""
    flow_id = parse_id(flow_id, "flow")
    sides = (_side(a, "a"), _side(b, "b"))
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.read")
        flow = flow_or_404(uow, flow_id)
        documents: list[Any] = []
        for side in sides:
            if side == DRAFT:
                documents.append(flow.definition)
                continue
            assert isinstance(side, int)
            stored = uow.versions.get(flow_id, side)
            if stored is None:
                raise NotFound(f"flow '{flow_id}' has no version {side}")
            documents.append(stored.definition)
    for side, document in zip(sides, documents, strict=True):
        _, problem = readable(document)
        if problem is not None or not isinstance(document, dict):
            raise Conflict(f"{side}: this definition cannot be read ({problem or 'not an object'})")
    return {"from": sides[0], "to": sides[1], **diff_flows(documents[0], documents[1])}
