"""Run events (`EventLog`): appended with the change they describe, read in an order no late commit breaks.

Appends are buffered by the unit of work and written in one statement just before it commits (the same
transaction), so a node run's events cost one round trip however many there are. The node runner's claim and
finish statements take the buffer into themselves (`PostgresEvents.take_into`, a data-modifying CTE): the
events of a node's transaction then cost no statement of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...domain.events import EVENT_TYPES, EventCursor, RunEvent
from .rows import BoolArray, IntArray, Jsonb, JsonbArray, Queries, Row, TextArray

_COLUMNS = "id, xact_id::text::bigint AS xact, workspace_id, run_id, type, node_id, iteration, data, created_at"
# Only events whose transaction began before the oldest one still running: those are all committed (or rolled
# back), and any transaction that commits later has a greater xact_id than every event returned here.
_VISIBLE = "xact_id < pg_snapshot_xmin(pg_current_snapshot())"
_INSERT = (
    "INSERT INTO run_events (workspace_id, run_id, type, node_id, iteration, data, publish)"
    " SELECT %(ws)s, * FROM unnest(%(ev_run)s::uuid[], %(ev_type)s::text[], %(ev_node)s::text[],"
    " %(ev_iteration)s::int[], %(ev_data)s::jsonb[], %(ev_publish)s::boolean[])"
)


def _event(row: Row) -> RunEvent:
    return RunEvent(
        cursor=EventCursor(int(row["xact"]), int(row["id"])),
        workspace_id=str(row["workspace_id"]),
        run_id=None if row["run_id"] is None else str(row["run_id"]),
        type=row["type"],
        node_id=row["node_id"],
        iteration=row["iteration"],
        data=row["data"] if isinstance(row["data"], dict) else {},
        created_at=row["created_at"],
    )


class PostgresEvents(Queries):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._pending: list[tuple[str | None, str, str | None, int | None, dict[str, Any], bool]] = []
        self.taken = 0  # events written so far in this unit of work

    def append(
        self,
        run_id: str | None,
        type: str,
        node_id: str | None = None,
        iteration: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        kind = EVENT_TYPES[type]  # refuses an unregistered type before anything is written
        self._pending.append((run_id, type, node_id, iteration, dict(data or {}), kind.published))

    def _take(self) -> dict[str, Any]:
        pending, self._pending = self._pending, []
        self.taken += len(pending)
        return {
            "ws": self.workspace_id,
            "ev_run": TextArray(p[0] for p in pending),
            "ev_type": TextArray(p[1] for p in pending),
            "ev_node": TextArray(p[2] for p in pending),
            "ev_iteration": IntArray(p[3] for p in pending),
            "ev_data": JsonbArray(Jsonb(p[4]) for p in pending),
            "ev_publish": BoolArray(p[5] for p in pending),
        }

    @property
    def buffered(self) -> bool:
        """Events appended and not yet written."""
        return bool(self._pending)

    def take_into(self, query: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """`query` (named parameters, `%(ws)s` the workspace) with the buffered events inserted by the same
        statement, as a data-modifying CTE (PostgreSQL runs it whether or not the rest reads it); unchanged
        when nothing is buffered. The events still commit with the change: they are in its statement."""
        if not self._pending:
            return query, params
        insert = f"_events AS ({_INSERT} RETURNING 1)"
        query = f"WITH {insert}, {query[5:]}" if query.startswith("WITH ") else f"WITH {insert} {query}"
        return query, params | self._take()

    def flush(self) -> int:
        """Write the buffered events (the unit of work calls it before committing); how many were appended in
        this unit of work, whether written here or by a statement that took them (`take_into`)."""
        self._write()
        written, self.taken = self.taken, 0
        return written

    def _write(self) -> None:
        if self._pending:
            self._run(_INSERT, self._take())

    def after(self, cursor: EventCursor | None, run_id: str | None = None, limit: int = 100) -> list[RunEvent]:
        self._write()
        where = ["workspace_id = %(ws)s", _VISIBLE]
        params: dict[str, Any] = {"ws": self.workspace_id, "limit": limit}
        if run_id is not None:
            where.append("run_id = %(run)s")
            params["run"] = run_id
        if cursor is not None:
            where.append("(xact_id, id) > (%(xact)s::text::xid8, %(id)s)")
            params |= {"xact": cursor.xact, "id": cursor.id}
        rows = self._all(
            f"SELECT {_COLUMNS} FROM run_events WHERE {' AND '.join(where)} ORDER BY xact_id, id LIMIT %(limit)s",
            params,
        )
        return [_event(r) for r in rows]

    def unpublished(self, limit: int = 10) -> list[RunEvent]:
        self._write()
        rows = self._all(
            f"SELECT {_COLUMNS} FROM run_events WHERE workspace_id = %s AND publish AND published_at IS NULL"
            " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (self.workspace_id, limit),
        )
        return [_event(r) for r in rows]

    def mark_published(self, cursors: Sequence[EventCursor]) -> None:
        if cursors:
            self._run(
                "UPDATE run_events SET published_at = now() WHERE workspace_id = %s AND id = ANY(%s)",
                (self.workspace_id, [c.id for c in cursors]),
            )
