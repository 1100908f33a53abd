"""Routes of the v1 API. Each authenticates, calls one service function and maps the result."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from nexod.domain.errors import InvalidInput
from nexod.domain.nodes import node_type_catalog
from nexod.services import flows, runs, workspaces
from nexod.services.access import parse_id
from nexod.services.context import Principal, Services

from .encoding import dumps
from .models import (
    AllowedHostsPut,
    FlowCreate,
    FlowUpdate,
    FlowValidate,
    LivePut,
    MemberPut,
    RedriveBody,
    RunCreate,
    VersionCreate,
    WorkspaceCreate,
)

router = APIGatewayHttpRouter()
_services: Callable[[], Services]
_caller: Callable[[], Principal]


def bind(services: Callable[[], Services], caller: Callable[[], Principal]) -> None:
    global _services, _caller
    _services, _caller = services, caller


def _json(status: int, body: Any) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=dumps(body))


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
def get_me() -> dict[str, Any]:
    return workspaces.me(_services(), _caller())


@router.get("/v1/workspaces", tags=["workspaces"])
def list_workspaces() -> dict[str, Any]:
    return {"items": workspaces.me(_services(), _caller())["workspaces"]}


@router.post("/v1/workspaces", tags=["workspaces"], status_code=201)
def create_workspace(body: WorkspaceCreate) -> Response[str]:
    return _json(201, workspaces.create_workspace(_services(), _caller(), body.name))


@router.get("/v1/workspaces/<ws>", tags=["workspaces"])
def get_workspace(ws: str) -> dict[str, Any]:
    principal = _caller()
    return workspaces.get_workspace(_services(), principal, _ws(ws))


@router.put("/v1/workspaces/<ws>/allowed-hosts", tags=["workspaces"])
def put_allowed_hosts(ws: str, body: AllowedHostsPut) -> dict[str, Any]:
    principal = _caller()
    return workspaces.set_allowed_hosts(_services(), principal, _ws(ws), body.allowed_hosts)


@router.get("/v1/workspaces/<ws>/members", tags=["workspaces"])
def list_members(ws: str) -> dict[str, Any]:
    principal = _caller()
    return {"items": workspaces.list_members(_services(), principal, _ws(ws))}


@router.put("/v1/workspaces/<ws>/members/<user>", tags=["workspaces"])
def put_member(ws: str, user: str, body: MemberPut) -> dict[str, Any]:
    principal = _caller()
    return workspaces.put_member(_services(), principal, _ws(ws), _user(user), body.role, body.email, body.name)


@router.delete("/v1/workspaces/<ws>/members/<user>", tags=["workspaces"], status_code=204)
def delete_member(ws: str, user: str) -> Response[str]:
    principal = _caller()
    workspaces.remove_member(_services(), principal, _ws(ws), _user(user))
    return Response(status_code=204, body="")


# -- node types and flows --------------------------------------------------------------------------
@router.get("/v1/node-types", tags=["flows"])
def list_node_types() -> dict[str, Any]:
    _caller()
    return {"items": node_type_catalog()}


@router.post("/v1/workspaces/<ws>/flows/validate", tags=["flows"])
def validate_flow(ws: str, body: FlowValidate) -> dict[str, Any]:
    return flows.check_in(_services(), _caller(), _ws(ws), body.definition)


@router.post("/v1/workspaces/<ws>/flows", tags=["flows"], status_code=201)
def create_flow(ws: str, body: FlowCreate) -> Response[str]:
    principal = _caller()
    flow = flows.create(_services(), principal, _ws(ws), body.name, body.description, body.definition)
    return _json(201, flow)


@router.get("/v1/workspaces/<ws>/flows", tags=["flows"])
def list_flows(
    ws: str, cursor: Annotated[str | None, Query()] = None, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> dict[str, Any]:
    principal = _caller()
    return flows.list_flows(_services(), principal, _ws(ws), cursor, limit)


@router.get("/v1/workspaces/<ws>/flows/<flow>", tags=["flows"])
def get_flow(ws: str, flow: str) -> dict[str, Any]:
    principal = _caller()
    return flows.get(_services(), principal, _ws(ws), flow)


@router.put("/v1/workspaces/<ws>/flows/<flow>", tags=["flows"])
def put_flow(ws: str, flow: str, body: FlowUpdate) -> dict[str, Any]:
    principal = _caller()
    fields = body.model_dump(exclude_none=True)
    return flows.update(_services(), principal, _ws(ws), flow, fields)


@router.delete("/v1/workspaces/<ws>/flows/<flow>", tags=["flows"], status_code=204)
def delete_flow(ws: str, flow: str) -> Response[str]:
    principal = _caller()
    flows.delete(_services(), principal, _ws(ws), flow)
    return Response(status_code=204, body="")


@router.post("/v1/workspaces/<ws>/flows/<flow>/versions", tags=["versions"], status_code=201)
def publish_version(ws: str, flow: str, body: VersionCreate | None = None) -> Response[str]:
    principal = _caller()
    description = body.description if body else ""
    return _json(201, flows.publish(_services(), principal, _ws(ws), flow, description))


@router.get("/v1/workspaces/<ws>/flows/<flow>/versions", tags=["versions"])
def list_versions(ws: str, flow: str) -> dict[str, Any]:
    principal = _caller()
    return flows.list_versions(_services(), principal, _ws(ws), flow)


@router.get("/v1/workspaces/<ws>/flows/<flow>/versions/<n>", tags=["versions"])
def get_version(ws: str, flow: str, n: str) -> dict[str, Any]:
    principal = _caller()
    if not n.isdigit():
        from nexod.domain.errors import NotFound

        raise NotFound(f"version '{n}' not found")
    return flows.get_version(_services(), principal, _ws(ws), flow, int(n))


@router.put("/v1/workspaces/<ws>/flows/<flow>/live", tags=["versions"])
def put_live(ws: str, flow: str, body: LivePut) -> dict[str, Any]:
    principal = _caller()
    return flows.set_live(_services(), principal, _ws(ws), flow, body.version)


# -- runs ------------------------------------------------------------------------------------------
@router.post("/v1/workspaces/<ws>/flows/<flow>/runs", tags=["runs"], status_code=202)
def start_run(ws: str, flow: str, body: RunCreate | None = None) -> Response[str]:
    principal = _caller()
    body = body or RunCreate()
    return _json(202, runs.start(_services(), principal.actor(), _ws(ws), flow, body.input, body.version))


@router.get("/v1/workspaces/<ws>/runs", tags=["runs"])
def list_runs(
    ws: str,
    flow: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    principal = _caller()
    return runs.list_runs(_services(), principal, _ws(ws), flow, status, cursor, limit)


@router.get("/v1/workspaces/<ws>/runs/<run>", tags=["runs"])
def get_run(ws: str, run: str) -> dict[str, Any]:
    principal = _caller()
    return runs.get(_services(), principal, _ws(ws), run)


@router.get("/v1/workspaces/<ws>/runs/<run>/nodes", tags=["runs"])
def get_run_nodes(ws: str, run: str) -> dict[str, Any]:
    principal = _caller()
    return runs.nodes(_services(), principal, _ws(ws), run)


@router.post("/v1/workspaces/<ws>/runs/<run>/cancel", tags=["runs"])
def cancel_run(ws: str, run: str) -> dict[str, Any]:
    principal = _caller()
    return runs.cancel(_services(), principal, _ws(ws), run)


@router.post("/v1/workspaces/<ws>/runs/<run>/redrive", tags=["runs"], status_code=202)
def redrive_run(ws: str, run: str, body: RedriveBody | None = None) -> Response[str]:
    principal = _caller()
    version = body.version if body else None
    return _json(202, runs.redrive(_services(), principal, _ws(ws), run, version))


__all__ = ["bind", "json", "router"]
