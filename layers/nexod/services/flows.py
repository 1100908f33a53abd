"""Flows: drafts, validation, immutable versions compiled to ASL, and the live pointer."""

from __future__ import annotations

from typing import Any

from ..adapters.postgres.store import page
from ..domain.compiler import compile_flow, substitute
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.flow import config_hash
from ..domain.validation import validate
from .access import authorize, parse_id
from .context import Principal, Services
from .json_limits import MAX_STORED_DEPTH, find_problem, readable, serve

PAGE = 50


def _flow_view(row: dict[str, Any], with_definition: bool = False) -> dict[str, Any]:
    view = {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "live_version": row["live_version"],
        "latest_version": row["latest_version"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    if with_definition:
        view["definition"] = row["definition"]
        view["state_machine_arn"] = row.get("state_machine_arn")
        serve(view, ("definition",))
    return view


def check(definition: Any) -> dict[str, Any]:
    """Validate and compile without saving."""
    compiled = compile_flow(validate(definition))
    return {"valid": True, "state_count": compiled.state_count}


def check_in(services: Services, principal: Principal, workspace_id: str, definition: Any) -> dict[str, Any]:
    """`check`, for a caller of the workspace (the API's validate route)."""
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "flows.validate")
    return check(definition)


def create(
    services: Services,
    principal: Principal,
    workspace_id: str,
    name: str,
    description: str,
    definition: dict[str, Any],
) -> dict[str, Any]:
    doc = validate(definition).document.canonical()  # drafts are valid flows: errors surface at save
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "flows.write")
        row = tx.create_flow(name, description, doc)
        tx.audit("flow.create", "flow", str(row["id"]), {"name": name})
    return _flow_view(row, with_definition=True)


def list_flows(
    services: Services, principal: Principal, workspace_id: str, cursor: str | None, limit: int = PAGE
) -> dict[str, Any]:
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "flows.read")
        rows, nxt = page(tx.list_flows(limit + 1, cursor), limit)
    return {"items": [_flow_view(r) for r in rows], "next_cursor": nxt}


def get(services: Services, principal: Principal, workspace_id: str, flow_id: str) -> dict[str, Any]:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "flows.read")
        row = tx.get_flow(flow_id)
    if row is None:
        raise NotFound(f"flow '{flow_id}' not found")
    return _flow_view(row, with_definition=True)


def update(
    services: Services, principal: Principal, workspace_id: str, flow_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    flow_id = parse_id(flow_id, "flow")
    if "definition" in fields:
        fields["definition"] = validate(fields["definition"]).document.canonical()
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "flows.write")
        row = tx.update_flow(flow_id, fields) if fields else tx.get_flow(flow_id)
        if row is None:
            raise NotFound(f"flow '{flow_id}' not found")
        tx.audit("flow.update", "flow", flow_id, {"fields": sorted(fields)})
    return _flow_view(row, with_definition=True)


def delete(services: Services, principal: Principal, workspace_id: str, flow_id: str) -> None:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "flows.write")
        if not tx.delete_flow(flow_id):
            raise NotFound(f"flow '{flow_id}' not found")
        tx.audit("flow.delete", "flow", flow_id)


def machine_name(services: Services, workspace_id: str, flow_id: str) -> str:
    return f"{services.state_machine_prefix}-{workspace_id[:8]}-{flow_id}"


def _version_view(row: dict[str, Any], live: int | None, full: bool = False) -> dict[str, Any]:
    view = {
        "version": row["version"],
        "description": row["description"],
        "config_hash": row["config_hash"],
        "created_by": row["created_by"],
        "created_at": row["created_at"],
        "is_live": row["version"] == live,
        "state_machine_version_arn": row.get("state_machine_version_arn"),
    }
    if full:
        view["definition"] = row["definition"]
        view["asl"] = row["asl"]
        serve(view, ("definition", "asl"))
    return view


def publish(
    services: Services, principal: Principal, workspace_id: str, flow_id: str, description: str
) -> dict[str, Any]:
    """Freeze the draft as the next version, publish its state machine version and point `live` at it."""
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "flows.publish")
        flow = tx.get_flow(flow_id, for_update=True)
        if flow is None:
            raise NotFound(f"flow '{flow_id}' not found")
        _, problem = readable(flow["definition"])
        if problem is not None:
            raise Conflict(f"the stored draft cannot be read ({problem}); replace its definition (PUT) first")
        valid = validate(flow["definition"])
        compiled = compile_flow(valid)
        if find_problem(compiled.asl, MAX_STORED_DEPTH) is not None:  # stored and replayed: it must read back
            raise InvalidInput(
                f"definition: this flow compiles to a state machine nested deeper than {MAX_STORED_DEPTH} levels;"
                " nest fewer parallel branches inside each other",
                {"field": "definition"},
            )
        version = int(flow["latest_version"]) + 1
        doc = valid.document.canonical()
        # The orchestrator call happens inside the transaction: if it fails nothing is recorded, and
        # an orphaned state machine version (commit failing afterwards) is harmless and never live.
        machine = services.orchestrator.publish(
            machine_name(services, workspace_id, flow_id),
            substitute(compiled.asl, services.runner_arns),
            description or f"version {version}",
        )
        services.orchestrator.set_live(machine.state_machine_arn, machine.version_arn)
        row = tx.insert_version(flow_id, version, doc, compiled.asl, config_hash(doc), machine.version_arn, description)
        tx.update_flow(
            flow_id,
            {
                "latest_version": version,
                "live_version": version,
                "state_machine_arn": machine.state_machine_arn,
            },
        )
        tx.audit("flow.publish", "flow", flow_id, {"version": version})
    return _version_view(row, version, full=True)


def list_versions(services: Services, principal: Principal, workspace_id: str, flow_id: str) -> dict[str, Any]:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "flows.read")
        flow = tx.get_flow(flow_id)
        if flow is None:
            raise NotFound(f"flow '{flow_id}' not found")
        rows = tx.list_versions(flow_id)
    return {"items": [_version_view(r, flow["live_version"]) for r in rows]}


def get_version(
    services: Services, principal: Principal, workspace_id: str, flow_id: str, version: int
) -> dict[str, Any]:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "flows.read")
        flow = tx.get_flow(flow_id)
        row = tx.get_version(flow_id, version) if flow else None
    if flow is None or row is None:
        raise NotFound(f"flow '{flow_id}' has no version {version}")
    return _version_view(row, flow["live_version"], full=True)


def set_live(services: Services, principal: Principal, workspace_id: str, flow_id: str, version: int) -> dict[str, Any]:
    flow_id = parse_id(flow_id, "flow")
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "flows.live")
        flow = tx.get_flow(flow_id, for_update=True)
        if flow is None:
            raise NotFound(f"flow '{flow_id}' not found")
        row = tx.get_version(flow_id, version)
        if row is None:
            raise Conflict(
                f"flow has no version {version}; published versions are 1..{flow['latest_version']}",
                {"field": "version"},
            )
        services.orchestrator.set_live(flow["state_machine_arn"], row["state_machine_version_arn"])
        flow = tx.update_flow(flow_id, {"live_version": version})
        tx.audit("flow.live", "flow", flow_id, {"version": version})
    assert flow is not None
    return _flow_view(flow)
