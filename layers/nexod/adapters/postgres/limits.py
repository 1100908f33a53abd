"""Concurrency limits (issue 12): the limit rows, the runs they hold back, and the counts that decide.

Every decision (admit a new run, or start held ones when a slot frees) runs under the workspace's
transaction-scoped advisory lock, and the runs it admits are written in the same transaction: the next
decision, waiting on the lock, counts them. Two runs that end at the same moment never over-start."""

from __future__ import annotations

from ...domain.records import HeldRun, OnLimit, RunLimit
from .rows import Queries, Row

_ACTIVE = (
    "SELECT count(*) AS n FROM runs r WHERE r.workspace_id = %s AND r.status IN ('QUEUED', 'RUNNING')"
    " AND NOT EXISTS (SELECT 1 FROM run_queue q WHERE q.run_id = r.id)"
)
_HELD = (
    "SELECT q.run_id, q.flow_id, q.queued_at, q.reason FROM run_queue q JOIN runs r ON r.id = q.run_id"
    " WHERE q.workspace_id = %s AND r.status = 'QUEUED'"
)


def _limit(row: Row | None, flow_id: str | None) -> RunLimit:
    if row is None:
        return RunLimit(flow_id)
    on_limit: OnLimit = "reject" if row["on_limit"] == "reject" else "queue"
    cap = row["max_concurrent_runs"]
    return RunLimit(flow_id, int(cap) if isinstance(cap, int) else None, on_limit)


class PostgresLimits(Queries):
    def of(self, flow_id: str) -> tuple[RunLimit, RunLimit]:
        """The flow's limit and the workspace's, in one statement (the start path's only cost when unset)."""
        rows = self._all(
            "SELECT flow_id, max_concurrent_runs, on_limit FROM run_limits"
            " WHERE workspace_id = %s AND (flow_id IS NULL OR flow_id = %s)",
            (self.workspace_id, flow_id),
        )
        flow = next((r for r in rows if r["flow_id"] is not None), None)
        workspace = next((r for r in rows if r["flow_id"] is None), None)
        return _limit(flow, flow_id), _limit(workspace, None)

    def get(self, flow_id: str | None) -> RunLimit:
        row = self._one(
            "SELECT max_concurrent_runs, on_limit FROM run_limits WHERE workspace_id = %s"
            " AND flow_id IS NOT DISTINCT FROM %s",
            (self.workspace_id, flow_id),
        )
        return _limit(row, flow_id)

    def put(self, limit: RunLimit) -> RunLimit:
        self._run(
            "INSERT INTO run_limits (workspace_id, flow_id, max_concurrent_runs, on_limit) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (workspace_id, COALESCE(flow_id, '00000000-0000-0000-0000-000000000000'::uuid))"
            " DO UPDATE SET max_concurrent_runs = EXCLUDED.max_concurrent_runs, on_limit = EXCLUDED.on_limit,"
            " updated_at = now()",
            (self.workspace_id, limit.flow_id, limit.max_concurrent_runs, limit.on_limit),
        )
        return self.get(limit.flow_id)

    def lock(self) -> None:
        """The workspace's admission lock, held until the transaction ends."""
        self._run(
            "SELECT pg_advisory_xact_lock(hashtextextended('nexod.run_limits:' || %s::text, 0))",
            (self.workspace_id,),
        )

    def active(self, flow_id: str | None = None) -> int:
        """Runs of the flow (None: of the workspace) that hold a slot: QUEUED or RUNNING and not held back."""
        query, params = _ACTIVE, [self.workspace_id]
        if flow_id is not None:
            query += " AND r.flow_id = %s"
            params.append(flow_id)
        row = self._one(query, params)
        return int(row["n"]) if row else 0

    def held(self, flow_id: str | None = None, limit: int = 500) -> list[HeldRun]:
        query, params = _HELD, [self.workspace_id]
        if flow_id is not None:
            query += " AND q.flow_id = %s"
            params.append(flow_id)
        rows = self._all(query + " ORDER BY q.queued_at, q.run_id LIMIT %s", [*params, limit])
        return [HeldRun(str(r["run_id"]), str(r["flow_id"]), r["queued_at"], str(r["reason"])) for r in rows]

    def count_held(self, flow_id: str | None = None) -> int:
        query, params = "SELECT count(*) AS n FROM (" + _HELD, [self.workspace_id]
        if flow_id is not None:
            query += " AND q.flow_id = %s"
            params.append(flow_id)
        row = self._one(query + ") held", params)
        return int(row["n"]) if row else 0

    def hold(self, run_id: str, flow_id: str, reason: str) -> None:
        # A held run has no execution: its active-time window closes (it reopens when an execution starts).
        self._run(
            "WITH held AS (INSERT INTO run_queue (run_id, workspace_id, flow_id, reason) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (run_id) DO NOTHING)"
            " UPDATE runs SET attempt_started_at = NULL WHERE id = %s AND workspace_id = %s",
            (run_id, self.workspace_id, flow_id, reason, run_id, self.workspace_id),
        )

    def release(self, run_id: str) -> bool:
        return (
            self._run("DELETE FROM run_queue WHERE workspace_id = %s AND run_id = %s", (self.workspace_id, run_id)) > 0
        )
