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

from ..domain.errors import LimitReached
from ..domain.records import RunLimit
from ..ports import UnitOfWork

EXEMPT_TRIGGERS = frozenset({"subflow"})


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
