"""Monthly budgets, the per-month spend counter (migration 0009; in slots since 0010) and usage from node runs."""

from __future__ import annotations

from datetime import datetime

import psycopg

from ...domain.errors import InvalidInput
from ...domain.records import Budget, UsageRow
from .rows import Queries

# The current UTC month, and one of its 16 spend slots at random (migration 0010): the node runs' finish
# (nexod.adapters.postgres.node_runs) and `add_spend` write the same counter the same way.
MONTH = "date_trunc('month', now() AT TIME ZONE 'UTC')::date"
# A finish adds to the slot of its connection (one transaction at a time on each): concurrent finishes on
# different connections meet on a slot only when their backend pids are equal modulo 64 (migration 0024).
SPEND_SLOT = "(pg_backend_pid() %% 64)::smallint"  # (%% : a literal % in a statement with parameters)

# Group expressions over node runs n (joined to runs r and flows f); each is (key, label).
_GROUPS = {
    "day": ("to_char(n.finished_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD')", None),
    "flow": ("r.flow_id::text", "max(f.name)"),
    "model": ("COALESCE(n.model, '')", None),
    "node_type": ("n.node_type", None),
}


class PostgresBudgets(Queries):
    def get(self) -> Budget:
        row = self._one(
            "SELECT b.monthly_soft_usd, b.monthly_hard_usd, c.soft_crossed_at,"
            f" (SELECT sum(s.spent_usd) FROM workspace_spend s WHERE s.workspace_id = w.ws AND s.month = {MONTH})"
            " AS spent_usd"
            " FROM (SELECT %s::uuid AS ws) w LEFT JOIN workspace_budgets b ON b.workspace_id = w.ws"
            f" LEFT JOIN workspace_budget_crossings c ON c.workspace_id = w.ws AND c.month = {MONTH}",
            (self.workspace_id,),
        )
        assert row is not None
        return Budget(
            monthly_soft_usd=None if row["monthly_soft_usd"] is None else float(row["monthly_soft_usd"]),
            monthly_hard_usd=None if row["monthly_hard_usd"] is None else float(row["monthly_hard_usd"]),
            month_to_date_usd=float(row["spent_usd"] or 0),
            soft_crossed_at=row["soft_crossed_at"],
        )

    def add_spend(self, usd: float) -> None:
        self._run(
            "INSERT INTO workspace_spend (workspace_id, month, slot, spent_usd)"
            f" VALUES (%s, {MONTH}, {SPEND_SLOT}, %s)"
            " ON CONFLICT (workspace_id, month, slot)"
            " DO UPDATE SET spent_usd = workspace_spend.spent_usd + EXCLUDED.spent_usd",
            (self.workspace_id, usd),
        )

    def put(self, monthly_soft_usd: float | None, monthly_hard_usd: float | None) -> Budget:
        self._run(
            "INSERT INTO workspace_budgets (workspace_id, monthly_soft_usd, monthly_hard_usd) VALUES (%s, %s, %s)"
            " ON CONFLICT (workspace_id) DO UPDATE SET monthly_soft_usd = EXCLUDED.monthly_soft_usd,"
            " monthly_hard_usd = EXCLUDED.monthly_hard_usd, updated_at = now()",
            (self.workspace_id, monthly_soft_usd, monthly_hard_usd),
        )
        return self.get()

    def over_hard(self) -> tuple[float, float] | None:
        row = self._one(
            "SELECT s.spent_usd, b.monthly_hard_usd FROM workspace_budgets b,"
            " LATERAL (SELECT sum(w.spent_usd) AS spent_usd FROM workspace_spend w"
            f" WHERE w.workspace_id = b.workspace_id AND w.month = {MONTH}) s"
            " WHERE b.workspace_id = %s AND b.monthly_hard_usd IS NOT NULL AND s.spent_usd >= b.monthly_hard_usd",
            (self.workspace_id,),
        )
        return None if row is None else (float(row["spent_usd"]), float(row["monthly_hard_usd"]))

    def usage(self, start: datetime, end: datetime, tz: str, group_by: str, *, test: bool = False) -> list[UsageRow]:
        key, label = _GROUPS[group_by]
        try:
            rows = self._all(
                f"SELECT {key} AS key, {label or key} AS label,"
                " COALESCE(sum(n.cost_usd), 0) AS llm, COALESCE(sum(n.compute_cost_usd), 0) AS compute,"
                " COALESCE(sum(n.orchestration_cost_usd), 0) AS orchestration,"
                " COALESCE(sum(n.tokens_in), 0) AS tokens_in, COALESCE(sum(n.tokens_out), 0) AS tokens_out,"
                " count(*) AS node_runs"
                " FROM node_runs n JOIN runs r ON r.id = n.run_id JOIN flows f ON f.id = r.flow_id"
                " WHERE n.workspace_id = %(ws)s AND n.finished_at >= %(start)s AND n.finished_at < %(end)s"
                " AND (%(test)s OR NOT r.test)"  # test runs of drafts count only when asked for (issue 13)
                f" GROUP BY {key} ORDER BY {key}",
                {"ws": self.workspace_id, "start": start, "end": end, "tz": tz, "test": test},
            )
        except psycopg.errors.InvalidParameterValue:  # a zone Python knows and this server's tzdata does not
            raise InvalidInput(f"tz: '{tz}' is not a time zone this database knows", {"field": "tz"}) from None
        return [
            UsageRow(
                key=r["key"],
                label=r["label"],
                llm_usd=float(r["llm"]),
                compute_usd=float(r["compute"]),
                orchestration_usd=float(r["orchestration"]),
                tokens_in=int(r["tokens_in"]),
                tokens_out=int(r["tokens_out"]),
                node_runs=int(r["node_runs"]),
            )
            for r in rows
        ]
