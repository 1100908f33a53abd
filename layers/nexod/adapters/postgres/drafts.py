"""Pins, test snapshots of drafts and test runs (issue 13; migration 0020)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...domain.records import Pin
from ...ports import PinnedNode
from .rows import Jsonb, JsonbOrNull, Queries, record


class PostgresDrafts(Queries):
    def pins(self, flow_id: str) -> list[Pin]:
        rows = self._all(
            "SELECT * FROM flow_pins WHERE flow_id = %s AND workspace_id = %s ORDER BY node_id",
            (flow_id, self.workspace_id),
        )
        return [record(Pin, r) for r in rows]

    def pin(self, flow_id: str, node_id: str, output: Any, output_ref: Any, from_run: str | None) -> Pin:
        row = self._one(
            "INSERT INTO flow_pins (workspace_id, flow_id, node_id, output, output_ref, from_run, pinned_by)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (flow_id, node_id) DO UPDATE SET"
            " output = EXCLUDED.output, output_ref = EXCLUDED.output_ref, from_run = EXCLUDED.from_run,"
            " pinned_by = EXCLUDED.pinned_by, pinned_at = now() RETURNING *",
            (
                self.workspace_id,
                flow_id,
                node_id,
                JsonbOrNull(output),
                JsonbOrNull(output_ref),
                from_run,
                self.user_sub or "system",
            ),
        )
        assert row is not None
        return record(Pin, row)

    def unpin(self, flow_id: str, node_id: str) -> bool:
        return (
            self._run(
                "DELETE FROM flow_pins WHERE flow_id = %s AND node_id = %s AND workspace_id = %s",
                (flow_id, node_id, self.workspace_id),
            )
            > 0
        )

    def next_snapshot(self, flow_id: str) -> int:
        row = self._one(
            "SELECT COALESCE(min(version), 0) - 1 AS next FROM flow_versions"
            " WHERE flow_id = %s AND workspace_id = %s AND version < 0",
            (flow_id, self.workspace_id),
        )
        assert row is not None
        return int(row["next"])

    def record_pinned(self, run_id: str, nodes: Sequence[PinnedNode]) -> None:
        for n in nodes:
            self._run(
                "INSERT INTO node_runs (workspace_id, run_id, node_id, iteration, node_type, status, attempts,"
                " executions, config_hash, output, output_ref, take, pinned, started_at, finished_at, duration_ms)"
                " VALUES (%s, %s, %s, 0, %s, 'SUCCEEDED', 0, 0, %s, %s, %s, %s, true, now(), now(), 0)",
                (
                    self.workspace_id,
                    run_id,
                    n.node_id,
                    n.node_type,
                    n.config_hash,
                    JsonbOrNull(n.output),
                    JsonbOrNull(n.output_ref),
                    JsonbOrNull(n.take),
                ),
            )

    def set_take(self, run_id: str, node_id: str, iteration: int, take: dict[str, bool]) -> None:
        self._run(
            "UPDATE node_runs SET take = %s"
            " WHERE run_id = %s AND node_id = %s AND iteration = %s AND workspace_id = %s",
            (Jsonb(take), run_id, node_id, iteration, self.workspace_id),
        )

    def expired_test_runs(self, before: datetime, limit: int = 100) -> list[tuple[str, str]]:
        self._one("SELECT set_config('app.sweep', 'test_runs', true)")
        rows = self._all(
            "SELECT workspace_id, id FROM runs WHERE test AND created_at < %s ORDER BY created_at LIMIT %s",
            (before, limit),
        )
        self._one("SELECT set_config('app.sweep', '', true)")
        return [(str(r["workspace_id"]), str(r["id"])) for r in rows]

    def delete_test_run(self, run_id: str) -> list[str]:
        row = self._one(
            "DELETE FROM runs WHERE id = %s AND workspace_id = %s AND test RETURNING flow_id",
            (run_id, self.workspace_id),
        )
        if row is None:
            return []
        gone = self._all(
            "DELETE FROM flow_versions v WHERE v.flow_id = %s AND v.workspace_id = %s AND v.version < 0"
            " AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.flow_id = v.flow_id AND r.version = v.version)"
            " RETURNING state_machine_version_arn",
            (row["flow_id"], self.workspace_id),
        )
        return [str(g["state_machine_version_arn"]) for g in gone if g["state_machine_version_arn"]]
