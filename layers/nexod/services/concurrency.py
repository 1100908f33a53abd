"""The concurrency limits' API (issue 12): read and set a flow's or the workspace's limit, with the runs it
counts. Admission itself is `limits.gate` (starts) and `runs.admit_queued` (slots freed)."""

from __future__ import annotations

from typing import Any

from ..domain.errors import InvalidInput
from ..domain.records import RunLimit
from ..ports import UnitOfWork
from .access import authorize, flow_or_404, parse_id
from .context import Principal, Services
from .runs import admit_queued

MAX_LIMIT = 10_000


def _view(uow: UnitOfWork, limit: RunLimit) -> dict[str, Any]:
    return {
        "max_concurrent_runs": limit.max_concurrent_runs,
        "on_limit": limit.on_limit,
        "running": uow.limits.active(limit.flow_id),
        "queued": uow.limits.count_held(limit.flow_id),
    }


def _checked(fields: dict[str, Any]) -> tuple[int | None, str]:
    cap = fields.get("max_concurrent_runs")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_LIMIT):
        raise InvalidInput(
            f"max_concurrent_runs: an integer from 1 to {MAX_LIMIT}, or null for no limit",
            {"field": "max_concurrent_runs"},
        )
    on_limit = fields.get("on_limit", "queue")
    if on_limit not in ("queue", "reject"):
        raise InvalidInput("on_limit: one of queue, reject", {"field": "on_limit"})
    return cap, str(on_limit)


def _flow(uow: UnitOfWork, flow_id: str) -> str:
    flow_id = parse_id(flow_id, "flow")
    flow_or_404(uow, flow_id)
    return flow_id


def get_flow(services: Services, principal: Principal, workspace_id: str, flow_id: str) -> dict[str, Any]:
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "limits.read")
        return _view(uow, uow.limits.get(_flow(uow, flow_id)))


def put_flow(
    services: Services, principal: Principal, workspace_id: str, flow_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """Set the flow's limit (null: unlimited). A raised limit starts waiting runs at once."""
    cap, on_limit = _checked(fields)
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "flows.limits")
        flow_id = _flow(uow, flow_id)
        uow.limits.lock()
        limit = uow.limits.put(RunLimit(flow_id, cap, "reject" if on_limit == "reject" else "queue"))
        uow.audit.record("flow.limits", "flow", flow_id, {"max_concurrent_runs": cap, "on_limit": on_limit})
    admit_queued(services, workspace_id)
    with services.store.tx(workspace_id, principal.sub) as uow:
        return _view(uow, limit)


def get_workspace(services: Services, principal: Principal, workspace_id: str) -> dict[str, Any]:
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "limits.read")
        return _view(uow, uow.limits.get(None))


def put_workspace(
    services: Services, principal: Principal, workspace_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """Set the workspace's limit (admins): it caps the runs of every flow together."""
    cap, on_limit = _checked(fields)
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "workspace.limits")
        uow.limits.lock()
        limit = uow.limits.put(RunLimit(None, cap, "reject" if on_limit == "reject" else "queue"))
        uow.audit.record(
            "workspace.limits", "workspace", workspace_id, {"max_concurrent_runs": cap, "on_limit": on_limit}
        )
    admit_queued(services, workspace_id)
    with services.store.tx(workspace_id, principal.sub) as uow:
        return _view(uow, limit)
