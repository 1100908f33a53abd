"""The budget guard the LLM gateway consults before every provider call (issue 9, `ports.BudgetGuard`)."""

from __future__ import annotations

from ..ports.store import Store
from .errors import BudgetExceeded


class StoreBudgetGuard:
    """`BudgetGuard` over the Store: one query on the per-month spend counter (migration 0009), which
    `node_runs.finish` keeps in the unit of work that records each node run's cost. On Postgres this is the
    deployment's guard; on the in-memory fake the tests'."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def check(self, workspace_id: str) -> None:
        with self.store.tx(workspace_id) as uow:
            over = uow.budgets.over_hard()
        if over is not None:
            spent, hard = over
            raise BudgetExceeded(
                f"the workspace's hard budget is spent: spent ${spent:.2f} of the ${hard:.2f} monthly budget"
                " (calendar month, UTC); raise it with PUT /v1/workspaces/{ws}/budget",
                {"month_to_date_usd": round(spent, 2), "monthly_hard_usd": hard},
            )
