"""What a workspace spends (issue 9, DESIGN §9): usage grouped by day, flow, model or node type, and the
monthly budgets (calendar months in UTC) the LLM gateway enforces through `runtime.budget.StoreBudgetGuard`."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ..domain.errors import InvalidInput
from ..domain.records import Budget, UsageRow
from .access import authorize
from .context import Principal, Services

GROUPS = ("day", "flow", "model", "node_type")
MAX_DAYS = 366
_PLACES = 6  # amounts in dollars to millionths: sub-cent compute and orchestration costs stay visible


def _day(value: str, name: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name}: '{value[:40]}' is not a date YYYY-MM-DD", {"field": name}) from None


def _zone(tz: str | None) -> ZoneInfo:
    name = tz or "UTC"
    try:
        # IANA names only: not a path, not the host's `localtime`, nor tzdata's `posix/` and `right/` copies.
        if name not in _zones() or name in ("localtime", "Factory"):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"tz: '{name[:64]}' is not an IANA time zone such as Europe/Paris", {"field": "tz"}
        ) from None


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _amounts(rows: list[UsageRow]) -> dict[str, Any]:
    llm = sum(r.llm_usd for r in rows)
    compute = sum(r.compute_usd for r in rows)
    orchestration = sum(r.orchestration_usd for r in rows)
    return {
        "llm_usd": round(llm, _PLACES),
        "compute_usd": round(compute, _PLACES),
        "orchestration_usd": round(orchestration, _PLACES),
        "total_usd": round(llm + compute + orchestration, _PLACES),
        "tokens_in": sum(r.tokens_in for r in rows),
        "tokens_out": sum(r.tokens_out for r in rows),
        "node_runs": sum(r.node_runs for r in rows),
    }


def usage(
    services: Services,
    principal: Principal,
    workspace_id: str,
    start: str | None,
    end: str | None,
    tz: str | None,
    group_by: str | None,
    test: bool = False,
) -> dict[str, Any]:
    """Node runs that finished from the start of `start` to the end of `end` (both days in `tz`; by default
    the current month to today), grouped.

    Every amount is rounded to millionths of a dollar from the exact sums, so the groups add up to the
    total within a millionth per group: to the cent for any range (366 days of any grouping)."""
    zone = _zone(tz)
    today = datetime.now(zone).date()
    first = today.replace(day=1) if start is None else _day(start, "from")
    last = today if end is None else _day(end, "to")
    group = group_by or "day"
    if group not in GROUPS:
        raise InvalidInput(f"group_by: one of {', '.join(GROUPS)}", {"field": "group_by"})
    if last < first:
        raise InvalidInput("to: before from", {"field": "to"})
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(f"to: a range of at most {MAX_DAYS} days", {"field": "to"})
    lower = datetime.combine(first, datetime.min.time(), zone)
    upper = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "usage.read")
        rows = uow.budgets.usage(lower, upper, zone.key, group, test=test)  # test runs of drafts: when asked
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "tz": zone.key,
        "group_by": group,
        "items": [{"key": r.key, "label": r.label, **_amounts([r])} for r in rows],
        "total": _amounts(rows),
    }


def _budget_view(budget: Budget) -> dict[str, Any]:
    return {
        "monthly_soft_usd": budget.monthly_soft_usd,
        "monthly_hard_usd": budget.monthly_hard_usd,
        "month_to_date_usd": round(budget.month_to_date_usd, _PLACES),
        "soft_crossed_at": budget.soft_crossed_at,
    }


def get_budget(services: Services, principal: Principal, workspace_id: str) -> dict[str, Any]:
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "budget.read")
        return _budget_view(uow.budgets.get())


def _limit(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or value < 0 or value > 1e9:
        raise InvalidInput(f"{name}: a non-negative number of dollars (or null for no limit)", {"field": name})
    return round(value, 2)


def put_budget(
    services: Services, principal: Principal, workspace_id: str, soft: float | None, hard: float | None
) -> dict[str, Any]:
    """Set both monthly limits (null: none); an admin decision, in the audit log as `workspace.budget`."""
    soft, hard = _limit(soft, "monthly_soft_usd"), _limit(hard, "monthly_hard_usd")
    if soft is not None and hard is not None and hard < soft:
        raise InvalidInput("monthly_hard_usd: below monthly_soft_usd", {"field": "monthly_hard_usd"})
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "budget.write")
        before = uow.budgets.get()
        after = uow.budgets.put(soft, hard)
        uow.audit.record(
            "workspace.budget",
            "workspace",
            workspace_id,
            {
                "monthly_soft_usd": soft,
                "monthly_hard_usd": hard,
                "previous": {"monthly_soft_usd": before.monthly_soft_usd, "monthly_hard_usd": before.monthly_hard_usd},
            },
        )
        return _budget_view(after)
