"""Runs: one row per run of a flow version, with its status, input, output and who started it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...domain.actor import Actor
from ...domain.events import EVENT_TYPES
from ...domain.records import TERMINAL, Cursor, Run, RunDetail, RunStatus
from ...ports import BlobRef
from .rows import Jsonb, JsonbOrNull, Queries, run_detail, run_record

# A run in flight adds its current execution's active time so far (run_active_ms, migration 0021).
_DETAIL = (
    "r.*, f.name AS flow_name, c.*, CASE WHEN r.attempt_started_at IS NULL THEN r.active_ms"
    " ELSE r.active_ms + run_active_ms(r.id, r.attempt_started_at, now()) END AS active_ms_now"
)
_COSTS = (
    " CROSS JOIN LATERAL (SELECT COALESCE(sum(n.cost_usd), 0) AS cost_usd,"
    " COALESCE(sum(n.tokens_in), 0) + COALESCE(sum(n.tokens_out), 0) AS tokens,"
    " COALESCE(sum(n.cost_usd), 0) AS llm_cost_usd, COALESCE(sum(n.compute_cost_usd), 0) AS compute_cost_usd,"
    " COALESCE(sum(n.orchestration_cost_usd), 0) AS orchestration_cost_usd"
    " FROM node_runs n WHERE n.run_id = r.id AND n.workspace_id = r.workspace_id) c"
)


# The execution's start, recorded with the commit (`start_attempt`), and the run's `run.started` event when it is
# RUNNING after it (not when a cancel came first).
_START_ATTEMPT = (
    "WITH started AS (UPDATE runs SET attempt = attempt + 1, execution_arn = %(arn)s,"
    " status = CASE WHEN status = 'QUEUED' THEN 'RUNNING' ELSE status END,"
    " started_at = COALESCE(started_at, now()),"
    " attempt_started_at = COALESCE(attempt_started_at, now())"  # a run a limit held opens its window now
    " WHERE id = %(run)s AND workspace_id = %(ws)s RETURNING id, status)"
)
_STARTED_EVENT = (
    " INSERT INTO run_events (workspace_id, run_id, type, data, publish)"
    " SELECT %(ws)s, id, 'run.started', %(data)s, %(publish)s FROM started WHERE status = 'RUNNING'"
)


class PostgresRuns(Queries):
    def __init__(self, *args: Any, with_commit: Callable[[str, dict[str, Any], int], None]) -> None:
        super().__init__(*args)
        self.with_commit = with_commit  # the unit of work's statements sent with its COMMIT

    def create(self, flow_id: str, version: int, run_input: Any, trigger: str, started_by: Actor) -> Run:
        ref = started_by.ref
        row = self._one(
            "INSERT INTO runs (workspace_id, flow_id, version, status, input, trigger, created_by,"
            " started_by_kind, started_by_id) VALUES (%s, %s, %s, 'QUEUED', %s, %s, %s, %s, %s) RETURNING *",
            (self.workspace_id, flow_id, version, Jsonb(run_input), trigger, ref.label, ref.kind, ref.id),
        )
        assert row is not None
        return run_record(row)

    def get(self, run_id: str, for_update: bool = False) -> Run | None:
        lock = " FOR UPDATE" if for_update else ""
        row = self._one(f"SELECT * FROM runs WHERE id = %s AND workspace_id = %s{lock}", (run_id, self.workspace_id))
        return None if row is None else run_record(row)

    def detail(self, run_id: str) -> RunDetail | None:
        row = self._one(
            f"SELECT {_DETAIL} FROM runs r JOIN flows f ON f.id = r.flow_id{_COSTS}"
            " WHERE r.id = %s AND r.workspace_id = %s",
            (run_id, self.workspace_id),
        )
        return None if row is None else run_detail(row)

    def newest(
        self,
        limit: int,
        after: Cursor | None = None,
        flow_id: str | None = None,
        status: RunStatus | None = None,
        number: int | None = None,
        *,
        test: bool | None = False,
    ) -> list[RunDetail]:
        where = ["r.workspace_id = %s"]
        params: list[Any] = [self.workspace_id]
        if test is not None:  # test runs of drafts are listed only when asked for (issue 13)
            where.append("r.test = %s")
            params.append(test)
        if flow_id:
            where.append("r.flow_id = %s")
            params.append(flow_id)
        if number is not None:
            where.append("r.number = %s")
            params.append(number)
        if status:
            where.append("r.status = %s")
            params.append(status)
        if after is not None:
            where.append("(r.created_at, r.id) < (%s::timestamptz, %s::uuid)")
            params += [after.created_at, after.id]
        rows = self._all(
            f"SELECT {_DETAIL} FROM runs r JOIN flows f ON f.id = r.flow_id{_COSTS}"
            f" WHERE {' AND '.join(where)} ORDER BY r.created_at DESC, r.id DESC LIMIT %s",
            [*params, limit],
        )
        return [run_detail(r) for r in rows]

    def mark(
        self,
        run_id: str,
        status: RunStatus,
        *,
        execution_arn: str | None = None,
        output: Any = None,
        error: Any = None,
        only_from: tuple[RunStatus, ...] | None = None,
        output_ref: BlobRef | None = None,
    ) -> Run | None:
        sets = ["status = %s"]
        params: list[Any] = [status]
        if execution_arn is not None:
            sets.append("execution_arn = %s")
            params.append(execution_arn)
        if status == "RUNNING":
            sets.append("started_at = COALESCE(started_at, now()), finished_at = NULL, error = NULL")
        if status in TERMINAL:
            # The execution's active time is added once: the first terminal mark closes its window.
            sets.append(
                "active_ms = active_ms + COALESCE(run_active_ms(id, attempt_started_at, now()), 0),"
                " attempt_started_at = NULL"
            )
            sets.append("finished_at = now()")
            sets.append("output = %s")
            params.append(JsonbOrNull(output))
            sets.append("output_ref = %s")  # a large output lives in the blob store (0004_output_blobs.sql)
            params.append(JsonbOrNull(output_ref.as_json() if output_ref is not None else None))
            sets.append("error = %s")
            params.append(JsonbOrNull(error))
        guard = " AND status = ANY(%s)" if only_from else ""
        params += [run_id, self.workspace_id]
        if only_from:
            params.append(list(only_from))
        row = self._one(
            f"UPDATE runs SET {', '.join(sets)} WHERE id = %s AND workspace_id = %s{guard} RETURNING *", params
        )
        return None if row is None else run_record(row)

    def begin_redrive(self, run_id: str) -> Run | None:
        row = self._one(
            "UPDATE runs SET status = 'RUNNING', error = NULL, output = NULL, output_ref = NULL, finished_at = NULL,"
            " execution_arn = NULL, attempt_started_at = now(),"
            # An execution lost without a terminal mark (local mode resuming a parked run) keeps its span.
            " active_ms = active_ms + COALESCE(run_active_ms(id, attempt_started_at, now()), 0)"
            " WHERE id = %s AND workspace_id = %s RETURNING *",
            (run_id, self.workspace_id),
        )
        return None if row is None else run_record(row)

    def set_version(self, run_id: str, version: int) -> None:
        self._run(
            "UPDATE runs SET version = %s WHERE id = %s AND workspace_id = %s", (version, run_id, self.workspace_id)
        )

    def set_label(self, run_id: str, label: str | None) -> Run | None:
        row = self._one(
            "UPDATE runs SET label = %s WHERE id = %s AND workspace_id = %s RETURNING *",
            (label, run_id, self.workspace_id),
        )
        return None if row is None else run_record(row)

    def start_attempt(self, run_id: str, execution_arn: str, started: dict[str, Any] | None = None) -> None:
        params: dict[str, Any] = {"ws": self.workspace_id, "run": run_id, "arn": execution_arn}
        query = _START_ATTEMPT
        if started is not None:
            query += _STARTED_EVENT
            params |= {"data": Jsonb(started), "publish": EVENT_TYPES["run.started"].published}
        else:
            query += " SELECT 1"
        self.with_commit(query, params, 0 if started is None else 1)
