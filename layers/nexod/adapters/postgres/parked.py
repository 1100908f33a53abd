"""Parked task tokens of callback nodes (migration 0013): one row per node run, settled by compare-and-set."""

from __future__ import annotations

from typing import Any

from ...domain.records import ParkedStatus, ParkedTask
from .rows import Jsonb, Queries, record

_KEY = "run_id = %(run)s AND node_id = %(node)s AND iteration = %(iteration)s AND workspace_id = %(ws)s"


class PostgresParkedTasks(Queries):
    def park(
        self,
        run_id: str,
        node_id: str,
        iteration: int,
        node_type: str,
        *,
        attempt: int,
        task_token: str,
        waits_for: Any,
        timeout_seconds: int | None,
    ) -> ParkedTask:
        row = self._one(
            "INSERT INTO parked_tasks (workspace_id, run_id, node_id, iteration, node_type, attempt, task_token,"
            " waits_for, status, timeout_at)"
            " VALUES (%(ws)s, %(run)s, %(node)s, %(iteration)s, %(type)s, %(attempt)s, %(token)s, %(waits)s, 'PARKED',"
            "  now() + make_interval(secs => %(timeout)s))"
            " ON CONFLICT (run_id, node_id, iteration) DO UPDATE SET node_type = EXCLUDED.node_type,"
            "  attempt = EXCLUDED.attempt, task_token = EXCLUDED.task_token, waits_for = EXCLUDED.waits_for,"
            "  status = 'PARKED', parked_at = now(), heartbeat_at = NULL, timeout_at = EXCLUDED.timeout_at,"
            "  closed_at = NULL, closed_by = NULL"
            " RETURNING *",
            {
                "ws": self.workspace_id,
                "run": run_id,
                "node": node_id,
                "iteration": iteration,
                "type": node_type,
                "attempt": attempt,
                "token": task_token,
                "waits": Jsonb(waits_for),
                "timeout": timeout_seconds,
            },
        )
        assert row is not None
        return record(ParkedTask, row)

    def get(self, run_id: str, node_id: str, iteration: int = 0, for_update: bool = False) -> ParkedTask | None:
        row = self._one(
            f"SELECT * FROM parked_tasks WHERE {_KEY}" + (" FOR UPDATE" if for_update else ""),
            {"run": run_id, "node": node_id, "iteration": iteration, "ws": self.workspace_id},
        )
        return None if row is None else record(ParkedTask, row)

    def of_run(self, run_id: str) -> list[ParkedTask]:
        rows = self._all(
            "SELECT * FROM parked_tasks WHERE run_id = %s AND workspace_id = %s ORDER BY parked_at, node_id",
            (run_id, self.workspace_id),
        )
        return [record(ParkedTask, r) for r in rows]

    def settle(
        self, run_id: str, node_id: str, iteration: int, status: ParkedStatus, closed_by: str
    ) -> ParkedTask | None:
        # The compare-and-set: concurrent settles of one row queue on its lock; the first commits, and the
        # others re-read the row, find it no longer PARKED and update nothing.
        row = self._one(
            f"UPDATE parked_tasks SET status = %(status)s, closed_at = now(), closed_by = %(by)s"
            f" WHERE {_KEY} AND status = 'PARKED' RETURNING *",
            {
                "status": status,
                "by": closed_by,
                "run": run_id,
                "node": node_id,
                "iteration": iteration,
                "ws": self.workspace_id,
            },
        )
        return None if row is None else record(ParkedTask, row)

    def close_open(self, run_id: str, status: ParkedStatus, reason: str) -> list[ParkedTask]:
        rows = self._all(
            "UPDATE parked_tasks SET status = %s, closed_at = now(), closed_by = %s"
            " WHERE run_id = %s AND workspace_id = %s AND status = 'PARKED' RETURNING *",
            (status, reason, run_id, self.workspace_id),
        )
        return [record(ParkedTask, r) for r in rows]

    def beat(self, run_id: str, node_id: str, iteration: int = 0) -> ParkedTask | None:
        row = self._one(
            f"UPDATE parked_tasks SET heartbeat_at = now() WHERE {_KEY} AND status = 'PARKED' RETURNING *",
            {"run": run_id, "node": node_id, "iteration": iteration, "ws": self.workspace_id},
        )
        return None if row is None else record(ParkedTask, row)
