"""SQL for every record Nexod keeps. One `Tx` is one workspace-scoped transaction."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb as _PsycopgJsonb
from psycopg.types.json import set_json_loads

from ...domain.errors import InvalidInput
from ...ports import BlobRef
from ...services.json_limits import load_stored, storable
from .db import Database

Row = dict[str, Any]


def _dumps(value: Any) -> str:
    # External data (HTTP bodies, model output) may hold what jsonb cannot (U+0000, lone surrogates, NaN,
    # numbers beyond a double) or nest too deep to read back: store a readable copy (json_limits.storable).
    return json.dumps(storable(value), default=str, allow_nan=False)


def Jsonb(value: Any) -> _PsycopgJsonb:
    return _PsycopgJsonb(value, dumps=_dumps)


TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


def page(rows: list[Row], limit: int) -> tuple[list[Row], str | None]:
    """Rows fetched with limit + 1 -> (at most `limit` rows, the cursor of the next page or None)."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["created_at"], rows[-1]["id"])


def encode_cursor(created_at: datetime, row_id: Any) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """A cursor from `encode_cursor`, type-checked before it reaches a query (else a 422, never a 500)."""
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
        if not (isinstance(decoded, list) and len(decoded) == 2 and all(isinstance(v, str) for v in decoded)):
            raise ValueError("not a [timestamp, id] pair")
        created_at = datetime.fromisoformat(decoded[0])
        if created_at.tzinfo is None:
            raise ValueError("timestamp without a time zone")
        return created_at.isoformat(), str(uuid.UUID(decoded[1]))
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise InvalidInput("cursor: not a cursor this API returned", {"field": "cursor"}) from exc


class Tx:
    """Queries inside one transaction. Row-level security limits every statement to the workspace."""

    def __init__(self, conn: psycopg.Connection[Row], workspace_id: str | None, user_sub: str | None) -> None:
        # A stored value that cannot be decoded becomes an `Unreadable` marker for its row alone, instead of
        # an exception that fails every listing it appears in (psycopg caches these loader classes).
        set_json_loads(load_stored, conn)
        self.conn = conn
        self.workspace_id = workspace_id
        self.user_sub = user_sub

    def _one(self, query: str, params: Any = ()) -> Row | None:
        return self.conn.execute(query.encode(), params).fetchone()

    def _all(self, query: str, params: Any = ()) -> list[Row]:
        return self.conn.execute(query.encode(), params).fetchall()

    # -- workspaces and members -------------------------------------------------------------------
    def create_workspace(self, workspace_id: str, name: str, user: Row) -> Row:
        """Create a workspace with its creator as admin. The caller scoped this Tx to `workspace_id`."""
        ws = self._one(
            "INSERT INTO workspaces (id, name, created_by) VALUES (%s, %s, %s) RETURNING *",
            (workspace_id, name, user["sub"]),
        )
        assert ws is not None
        self.add_member(user["sub"], "admin", user.get("email"), user.get("name"))
        return ws

    def workspaces_of_user(self) -> list[Row]:
        return self._all(
            "SELECT w.id, w.name, m.role, w.created_at FROM members m JOIN workspaces w ON w.id = m.workspace_id"
            " WHERE m.user_sub = %s ORDER BY w.created_at, w.id",
            (self.user_sub,),
        )

    def role_of(self, user_sub: str) -> str | None:
        row = self._one(
            "SELECT role FROM members WHERE workspace_id = %s AND user_sub = %s",
            (self.workspace_id, user_sub),
        )
        return row["role"] if row else None

    def get_workspace(self) -> Row | None:
        return self._one("SELECT * FROM workspaces WHERE id = %s", (self.workspace_id,))

    def list_members(self) -> list[Row]:
        return self._all(
            "SELECT user_sub, email, name, role, created_at FROM members WHERE workspace_id = %s"
            " ORDER BY created_at, user_sub",
            (self.workspace_id,),
        )

    def add_member(self, user_sub: str, role: str, email: str | None = None, name: str | None = None) -> Row:
        row = self._one(
            "INSERT INTO members (workspace_id, user_sub, role, email, name) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (workspace_id, user_sub) DO UPDATE SET role = EXCLUDED.role,"
            " email = COALESCE(EXCLUDED.email, members.email), name = COALESCE(EXCLUDED.name, members.name)"
            " RETURNING user_sub, email, name, role, created_at",
            (self.workspace_id, user_sub, role, email, name),
        )
        assert row is not None
        return row

    def remove_member(self, user_sub: str) -> bool:
        cur = self.conn.execute(
            "DELETE FROM members WHERE workspace_id = %s AND user_sub = %s", (self.workspace_id, user_sub)
        )
        return cur.rowcount > 0

    def count_admins(self) -> int:
        row = self._one(
            "SELECT count(*) AS n FROM members WHERE workspace_id = %s AND role = 'admin'",
            (self.workspace_id,),
        )
        return int(row["n"]) if row else 0

    def set_allowed_hosts(self, hosts: list[str]) -> Row | None:
        return self._one(
            "UPDATE workspaces SET allowed_hosts = %s WHERE id = %s RETURNING *", (hosts, self.workspace_id)
        )

    # -- flows -------------------------------------------------------------------------------------
    def create_flow(self, name: str, description: str, definition: dict[str, Any]) -> Row:
        row = self._one(
            "INSERT INTO flows (workspace_id, name, description, definition, created_by)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING *",
            (self.workspace_id, name, description, Jsonb(definition), self.user_sub),
        )
        assert row is not None
        return row

    def list_flows(self, limit: int, cursor: str | None) -> list[Row]:
        params: list[Any] = [self.workspace_id]
        where = ""
        if cursor:
            created_at, row_id = decode_cursor(cursor)
            where = " AND (created_at, id) < (%s::timestamptz, %s::uuid)"
            params += [created_at, row_id]
        return self._all(
            "SELECT id, name, description, live_version, latest_version, created_at, updated_at FROM flows"
            f" WHERE workspace_id = %s AND deleted_at IS NULL{where} ORDER BY created_at DESC, id DESC LIMIT %s",
            [*params, limit],
        )

    def get_flow(self, flow_id: str, for_update: bool = False) -> Row | None:
        lock = " FOR UPDATE" if for_update else ""
        return self._one(
            f"SELECT * FROM flows WHERE id = %s AND workspace_id = %s AND deleted_at IS NULL{lock}",
            (flow_id, self.workspace_id),
        )

    def update_flow(self, flow_id: str, fields: dict[str, Any]) -> Row | None:
        allowed = {"name", "description", "definition", "live_version", "latest_version", "state_machine_arn"}
        assert set(fields) <= allowed, set(fields) - allowed
        sets = ", ".join(f"{k} = %s" for k in fields)
        values = [Jsonb(v) if k == "definition" else v for k, v in fields.items()]
        return self._one(
            f"UPDATE flows SET {sets}, updated_at = now() WHERE id = %s AND workspace_id = %s"
            " AND deleted_at IS NULL RETURNING *",
            [*values, flow_id, self.workspace_id],
        )

    def delete_flow(self, flow_id: str) -> bool:
        cur = self.conn.execute(
            "UPDATE flows SET deleted_at = now() WHERE id = %s AND workspace_id = %s AND deleted_at IS NULL",
            (flow_id, self.workspace_id),
        )
        return cur.rowcount > 0

    # -- versions ----------------------------------------------------------------------------------
    def insert_version(
        self,
        flow_id: str,
        version: int,
        definition: dict[str, Any],
        asl: dict[str, Any],
        config_hash: str,
        version_arn: str | None,
        description: str,
    ) -> Row:
        row = self._one(
            "INSERT INTO flow_versions (workspace_id, flow_id, version, definition, asl, config_hash,"
            " state_machine_version_arn, description, created_by)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
            (
                self.workspace_id,
                flow_id,
                version,
                Jsonb(definition),
                Jsonb(asl),
                config_hash,
                version_arn,
                description,
                self.user_sub,
            ),
        )
        assert row is not None
        return row

    def list_versions(self, flow_id: str) -> list[Row]:
        return self._all(
            "SELECT version, config_hash, description, created_by, created_at, state_machine_version_arn"
            " FROM flow_versions WHERE flow_id = %s AND workspace_id = %s ORDER BY version DESC",
            (flow_id, self.workspace_id),
        )

    def get_version(self, flow_id: str, version: int) -> Row | None:
        return self._one(
            "SELECT * FROM flow_versions WHERE flow_id = %s AND version = %s AND workspace_id = %s",
            (flow_id, version, self.workspace_id),
        )

    def all_versions_for_replay(self) -> list[Row]:
        """Every published version in this workspace, oldest first (local orchestrator start-up)."""
        return self._all(
            "SELECT v.flow_id, v.version, v.asl, f.state_machine_arn FROM flow_versions v"
            " JOIN flows f ON f.id = v.flow_id WHERE v.workspace_id = %s ORDER BY v.flow_id, v.version",
            (self.workspace_id,),
        )

    # -- runs --------------------------------------------------------------------------------------
    def create_run(self, flow_id: str, version: int, run_input: Any, trigger: str) -> Row:
        row = self._one(
            "INSERT INTO runs (workspace_id, flow_id, version, status, input, trigger, created_by)"
            " VALUES (%s, %s, %s, 'QUEUED', %s, %s, %s) RETURNING *",
            (self.workspace_id, flow_id, version, Jsonb(run_input), trigger, self.user_sub),
        )
        assert row is not None
        return row

    _RUN_COLUMNS = (
        "r.*, f.name AS flow_name,"
        " (SELECT COALESCE(sum(n.cost_usd), 0) FROM node_runs n WHERE n.run_id = r.id) AS cost_usd,"
        " (SELECT COALESCE(sum(n.tokens_in), 0) + COALESCE(sum(n.tokens_out), 0)"
        "  FROM node_runs n WHERE n.run_id = r.id) AS tokens"
    )

    def run_row(self, run_id: str) -> Row | None:
        return self._one("SELECT * FROM runs WHERE id = %s AND workspace_id = %s", (run_id, self.workspace_id))

    def get_run(self, run_id: str, for_update: bool = False) -> Row | None:
        if for_update:
            return self._one(
                "SELECT * FROM runs WHERE id = %s AND workspace_id = %s FOR UPDATE",
                (run_id, self.workspace_id),
            )
        return self._one(
            f"SELECT {self._RUN_COLUMNS} FROM runs r JOIN flows f ON f.id = r.flow_id"
            " WHERE r.id = %s AND r.workspace_id = %s",
            (run_id, self.workspace_id),
        )

    def list_runs(self, limit: int, cursor: str | None, flow_id: str | None, status: str | None) -> list[Row]:
        where = ["r.workspace_id = %s"]
        params: list[Any] = [self.workspace_id]
        if flow_id:
            where.append("r.flow_id = %s")
            params.append(flow_id)
        if status:
            where.append("r.status = %s")
            params.append(status)
        if cursor:
            created_at, row_id = decode_cursor(cursor)
            where.append("(r.created_at, r.id) < (%s::timestamptz, %s::uuid)")
            params += [created_at, row_id]
        return self._all(
            f"SELECT {self._RUN_COLUMNS} FROM runs r JOIN flows f ON f.id = r.flow_id"
            f" WHERE {' AND '.join(where)} ORDER BY r.created_at DESC, r.id DESC LIMIT %s",
            [*params, limit],
        )

    def mark_run(
        self,
        run_id: str,
        status: str,
        *,
        execution_arn: str | None = None,
        output: Any = None,
        error: Any = None,
        only_from: tuple[str, ...] | None = None,
        output_ref: BlobRef | None = None,
    ) -> Row | None:
        """Move a run to `status` (only from `only_from` when given); stamps start and finish times."""
        sets = ["status = %s"]
        params: list[Any] = [status]
        if execution_arn is not None:
            sets.append("execution_arn = %s")
            params.append(execution_arn)
        if status == "RUNNING":
            sets.append("started_at = COALESCE(started_at, now()), finished_at = NULL, error = NULL")
        if status in TERMINAL:
            sets.append("finished_at = now()")
            sets.append("output = %s")
            params.append(Jsonb(output) if output is not None else None)
            sets.append("output_ref = %s")  # a large output lives in the blob store (0004_output_blobs.sql)
            params.append(Jsonb(output_ref.as_json()) if output_ref is not None else None)
            sets.append("error = %s")
            params.append(Jsonb(error) if error is not None else None)
        guard = ""
        if only_from:
            guard = " AND status = ANY(%s)"
        query = f"UPDATE runs SET {', '.join(sets)} WHERE id = %s AND workspace_id = %s{guard} RETURNING *"
        params += [run_id, self.workspace_id]
        if only_from:
            params.append(list(only_from))
        return self._one(query, params)

    def begin_redrive(self, run_id: str) -> Row | None:
        """Back to RUNNING, forgetting the previous execution: a late end event for it must not match."""
        return self._one(
            "UPDATE runs SET status = 'RUNNING', error = NULL, output = NULL, output_ref = NULL, finished_at = NULL,"
            " execution_arn = NULL WHERE id = %s AND workspace_id = %s RETURNING *",
            (run_id, self.workspace_id),
        )

    def set_run_version(self, run_id: str, version: int) -> None:
        self.conn.execute(
            "UPDATE runs SET version = %s WHERE id = %s AND workspace_id = %s", (version, run_id, self.workspace_id)
        )

    def invalidate_node_runs(self, run_id: str, node_ids: list[str]) -> None:
        """Keep the history, lose the memo: these nodes execute again on the next attempt."""
        if node_ids:
            self.conn.execute(
                "UPDATE node_runs SET config_hash = 'stale' WHERE run_id = %s AND workspace_id = %s"
                " AND node_id = ANY(%s)",
                (run_id, self.workspace_id, node_ids),
            )

    def start_attempt(self, run_id: str, execution_arn: str) -> Row | None:
        return self._one(
            "UPDATE runs SET attempt = attempt + 1, execution_arn = %s,"
            " status = CASE WHEN status = 'QUEUED' THEN 'RUNNING' ELSE status END,"
            " started_at = COALESCE(started_at, now()) WHERE id = %s AND workspace_id = %s RETURNING *",
            (execution_arn, run_id, self.workspace_id),
        )

    # -- node runs ---------------------------------------------------------------------------------
    def node_run(self, run_id: str, node_id: str, iteration: int = 0, lock: bool = False) -> Row | None:
        return self._one(
            "SELECT * FROM node_runs WHERE run_id = %s AND node_id = %s AND iteration = %s AND workspace_id = %s"
            + (" FOR UPDATE" if lock else ""),
            (run_id, node_id, iteration, self.workspace_id),
        )

    def claim_node(self, run_id: str, node_id: str, iteration: int, node_type: str, config_hash: str) -> Row:
        """Insert or lock the node run row and count one more attempt."""
        row = self._one(
            "INSERT INTO node_runs (workspace_id, run_id, node_id, iteration, node_type, status, attempts,"
            " config_hash, started_at) VALUES (%s, %s, %s, %s, %s, 'RUNNING', 1, %s, now())"
            " ON CONFLICT (run_id, node_id, iteration) DO UPDATE SET attempts = node_runs.attempts + 1"
            " RETURNING *",
            (self.workspace_id, run_id, node_id, iteration, node_type, config_hash),
        )
        assert row is not None
        return row

    def begin_execution(self, run_id: str, node_id: str, iteration: int, config_hash: str, node_input: Any) -> None:
        self.conn.execute(
            "UPDATE node_runs SET status = 'RUNNING', executions = executions + 1, config_hash = %s,"
            " input = %s, error = NULL, started_at = COALESCE(started_at, now()), finished_at = NULL"
            " WHERE run_id = %s AND node_id = %s AND iteration = %s AND workspace_id = %s",
            (config_hash, Jsonb(node_input), run_id, node_id, iteration, self.workspace_id),
        )

    def finish_node(
        self,
        run_id: str,
        node_id: str,
        iteration: int,
        *,
        status: str,
        output: Any = None,
        take: dict[str, bool] | None = None,
        error: Any = None,
        node_input: Any = None,
        usage: dict[str, Any] | None = None,
        output_ref: BlobRef | None = None,
    ) -> None:
        usage = usage or {}
        self.conn.execute(
            "UPDATE node_runs SET status = %s, output = %s, output_ref = %s, take = %s, error = %s,"
            " input = COALESCE(%s, input), finished_at = now(),"
            " duration_ms = (extract(epoch FROM now() - started_at) * 1000)::int,"
            " model = %s, tokens_in = %s, tokens_out = %s, cost_usd = %s"
            " WHERE run_id = %s AND node_id = %s AND iteration = %s AND workspace_id = %s",
            (
                status,
                Jsonb(output) if output is not None else None,
                Jsonb(output_ref.as_json()) if output_ref is not None else None,
                Jsonb(take) if take is not None else None,
                Jsonb(error) if error is not None else None,
                Jsonb(node_input) if node_input is not None else None,
                usage.get("model"),
                usage.get("tokens_in"),
                usage.get("tokens_out"),
                usage.get("cost_usd"),
                run_id,
                node_id,
                iteration,
                self.workspace_id,
            ),
        )

    def record_entry(self, run_id: str, node_id: str, config_hash: str, run_input: Any, take: dict[str, bool]) -> None:
        """The input node's run, written with the run itself: its output is the run input."""
        self.conn.execute(
            "INSERT INTO node_runs (workspace_id, run_id, node_id, iteration, node_type, status, attempts, executions,"
            " config_hash, input, output, take, started_at, finished_at, duration_ms)"
            " VALUES (%s, %s, %s, 0, 'input', 'SUCCEEDED', 1, 1, %s, %s, %s, %s, now(), now(), 0)"
            " ON CONFLICT (run_id, node_id, iteration) DO UPDATE SET config_hash = EXCLUDED.config_hash,"
            " take = EXCLUDED.take, status = 'SUCCEEDED', attempts = node_runs.attempts + 1",
            (self.workspace_id, run_id, node_id, config_hash, Jsonb(run_input), Jsonb(run_input), Jsonb(take)),
        )

    def record_skipped(self, run_id: str, nodes: list[tuple[str, str]]) -> None:
        """Mark nodes that never ran in a finished run as SKIPPED."""
        for node_id, node_type in nodes:
            self.conn.execute(
                "INSERT INTO node_runs (workspace_id, run_id, node_id, iteration, node_type, status, config_hash)"
                " VALUES (%s, %s, %s, 0, %s, 'SKIPPED', '') ON CONFLICT DO NOTHING",
                (self.workspace_id, run_id, node_id, node_type),
            )

    def fail_running_nodes(self, run_id: str, error: Any) -> None:
        self.conn.execute(
            "UPDATE node_runs SET status = 'FAILED', error = COALESCE(error, %s), finished_at = now(),"
            " duration_ms = (extract(epoch FROM now() - started_at) * 1000)::int"
            " WHERE run_id = %s AND workspace_id = %s AND status = 'RUNNING'",
            (Jsonb(error), run_id, self.workspace_id),
        )

    def node_runs(self, run_id: str) -> list[Row]:
        return self._all(
            "SELECT * FROM node_runs WHERE run_id = %s AND workspace_id = %s ORDER BY started_at NULLS LAST,"
            " node_id, iteration",
            (run_id, self.workspace_id),
        )

    def outputs(self, run_id: str, node_ids: list[str]) -> dict[str, Any]:
        """Outputs of finished node runs (iteration 0), keyed by node id; a `BlobRef` for one kept in the blob
        store (nexod.runtime.blobs hydrates it)."""
        if not node_ids:
            return {}
        rows = self._all(
            "SELECT node_id, output, output_ref FROM node_runs WHERE run_id = %s AND workspace_id = %s"
            " AND iteration = 0"
            " AND status = 'SUCCEEDED' AND node_id = ANY(%s)",
            (run_id, self.workspace_id, node_ids),
        )
        return {
            r["node_id"]: r["output"] if r["output_ref"] is None else BlobRef.from_json(r["output_ref"]) for r in rows
        }

    # -- audit -------------------------------------------------------------------------------------
    def audit(self, action: str, target_type: str, target_id: str, details: dict[str, Any] | None = None) -> None:
        self.conn.execute(
            "INSERT INTO audit_log (workspace_id, actor, action, target_type, target_id, details)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                self.workspace_id,
                self.user_sub or "system",
                action,
                target_type,
                target_id,
                Jsonb(details or {}),
            ),
        )


class PostgresStore:
    """The `Store` port over PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def tx(self, workspace_id: str | None, user_sub: str | None = None) -> Iterator[Tx]:
        with self.db.tenant(workspace_id, user_sub) as conn:
            yield Tx(conn, workspace_id, user_sub)
