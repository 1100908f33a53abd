"""Concurrency limits per flow and per workspace (issue 12).

`max_concurrent_runs` (null: unlimited) and `on_limit` (`queue` | `reject`) on a flow and on the workspace.
Every start path calls `gate` in the unit of work that creates the run (manual runs, redrives, every trigger
kind): with no limit set it costs one read; otherwise it takes the workspace's advisory lock, counts the runs
holding a slot, and either admits the run, holds it back (`queue`: the run stays QUEUED with no execution,
in `run_queue`) or refuses it (`reject`: `LimitReached`, 429). `runs.admit_queued` starts held runs, oldest
first, when slots free (a run's execution ends; the local scheduler loop also looks every tick).

Sub-flow children (`trigger="subflow"`) are never held: a parent holding the last slot while its child waits
for one would wait forever. The parent's admission covers its children.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.errors import InvalidInput, LimitReached, NotFound
from ..domain.records import RunLimit
from ..ports import UnitOfWork
from .access import authorize, parse_id
from .context import Principal, Services

EXEMPT_TRIGGERS = frozenset({"subflow"})
MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Held:
    """Why a new run waits: the limit that is full."""

    scope: str  # flow | workspace
    limit: int

    @property
    def reason(self) -> str:
        return f"queued: the {self.scope}'s limit of {self.limit} concurrent runs is reached"


def _full(uow: UnitOfWork, flow_id: str, limit: RunLimit, scope: str) -> bool:
    if limit.max_concurrent_runs is None:
        return False
    scoped = flow_id if scope == "flow" else None
    if uow.limits.active(scoped) >= limit.max_concurrent_runs:
        return True
    # Queue mode is first come, first served: while older runs wait, a new one waits behind them.
    return limit.on_limit == "queue" and uow.limits.count_held(scoped) > 0


def gate(uow: UnitOfWork, flow_id: str, trigger: str) -> Held | None:
    """Admit a run of `flow_id` about to be created (or redriven) in this unit of work: None if it may start
    now, a `Held` if it must wait; raises `LimitReached` when a full limit rejects. Takes the workspace's
    admission lock when a limit is set, so the caller must create or hold the run in the same unit of work."""
    if trigger in EXEMPT_TRIGGERS:
        return None
    flow, workspace = uow.limits.of(flow_id)
    if not flow.limits and not workspace.limits:
        return None
    uow.limits.lock()
    for scope, limit in (("flow", flow), ("workspace", workspace)):
        if _full(uow, flow_id, limit, scope):
            assert limit.max_concurrent_runs is not None
            if limit.on_limit == "reject":
                raise LimitReached(
                    f"the {scope}'s limit of {limit.max_concurrent_runs} concurrent runs is reached"
                    " (on_limit: reject); try again when a run has finished",
                    {"limit": scope, "max_concurrent_runs": limit.max_concurrent_runs},
                )
            return Held(scope, limit.max_concurrent_runs)
    return None


def admissible(uow: UnitOfWork, flow_id: str, taken: dict[str | None, int]) -> bool:
    """Whether a held run of `flow_id` may start now, given the slots `taken` (by flow id; None: workspace)
    that this admission already counted; counts it when it may."""
    flow, workspace = uow.limits.of(flow_id)
    for key, limit in ((flow_id, flow), (None, workspace)):
        if key not in taken:
            taken[key] = uow.limits.active(key)
        if limit.max_concurrent_runs is not None and taken[key] >= limit.max_concurrent_runs:
            return False
    taken[flow_id] += 1
    taken[None] += 1
    return True


# -- the API ------------------------------------------------------------------------------------------------
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
    if uow.flows.get(flow_id) is None:
        raise NotFound(f"flow '{flow_id}' not found")
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
    from .runs import admit_queued

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
    from .runs import admit_queued

    admit_queued(services, workspace_id)
    with services.store.tx(workspace_id, principal.sub) as uow:
        return _view(uow, limit)
