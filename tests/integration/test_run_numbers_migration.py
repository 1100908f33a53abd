"""Migration 0021 (run numbers, labels, active time, RETRYING): existing runs are numbered in the order they
were created, flows count on from there, and active time is backfilled where it can be measured."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from nexod.adapters.postgres import apply_migrations, db
from nexod.local import pg


def test_existing_runs_are_numbered_in_created_order_and_new_ones_count_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Given a database migrated up to 0020 whose flow has three runs (one redriven), created out of id order
    every = db._migrations()
    monkeypatch.setattr(db, "_migrations", lambda: [m for m in every if m[0] < "0021"])
    server = pg.start(tmp_path / "pg")
    try:
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            ws = conn.execute("INSERT INTO workspaces (name, created_by) VALUES ('w', 'alice') RETURNING id").fetchone()
            flow = conn.execute(
                "INSERT INTO flows (workspace_id, name, definition, created_by) VALUES (%s, 'f', '{}', 'alice')"
                " RETURNING id",
                ws,
            ).fetchone()
            conn.execute(
                "INSERT INTO flow_versions (workspace_id, flow_id, version, definition, asl, config_hash, created_by)"
                " VALUES (%s, %s, 1, '{}', '{}', 'h', 'alice')",
                (ws[0], flow[0]),
            )
            for minutes, attempt, status in ((30, 1, "SUCCEEDED"), (10, 2, "SUCCEEDED"), (20, 1, "RUNNING")):
                conn.execute(
                    "INSERT INTO runs (workspace_id, flow_id, version, status, created_by, attempt, created_at,"
                    " started_at, finished_at) VALUES (%s, %s, 1, %s, 'alice', %s, now() - make_interval(mins => %s),"
                    " now() - make_interval(mins => %s), CASE WHEN %s = 'SUCCEEDED' THEN now() END)",
                    (ws[0], flow[0], status, attempt, minutes, minutes, status),
                )
        # When the remaining migrations are applied
        monkeypatch.setattr(db, "_migrations", lambda: every)
        assert "0021_run_numbers.sql" in apply_migrations(server.admin_url)
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            rows = conn.execute("SELECT number, attempt, status, active_ms FROM runs ORDER BY created_at").fetchall()
            # Then the oldest is #1; a run that ran once has its active time, a redriven one cannot be measured,
            # and one in flight counts from its start
            assert [(r[0], r[1], r[2]) for r in rows] == [(1, 1, "SUCCEEDED"), (2, 1, "RUNNING"), (3, 2, "SUCCEEDED")]
            assert rows[0][3] >= 29 * 60_000 and rows[2][3] is None and rows[1][3] == 0
            # And the next run of the flow is #4
            number = conn.execute(
                "INSERT INTO runs (workspace_id, flow_id, version, status, created_by)"
                " VALUES (%s, %s, 1, 'QUEUED', 'bob') RETURNING number",
                (ws[0], flow[0]),
            ).fetchone()
            assert number == (4,)
            # And a number cannot be taken twice
            with pytest.raises(psycopg.errors.UniqueViolation):
                conn.execute(
                    "INSERT INTO runs (workspace_id, flow_id, version, status, created_by, number)"
                    " VALUES (%s, %s, 1, 'QUEUED', 'bob', 2)",
                    (ws[0], flow[0]),
                )
    finally:
        server.stop()
