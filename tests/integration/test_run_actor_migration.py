"""Migration 0003 (who started a run): existing runs stay valid and are backfilled; old writers keep working."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from nexod.adapters.postgres import apply_migrations, db
from nexod.local import pg


def test_runs_from_before_the_actor_migration_are_backfilled_from_created_by(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Given a database migrated up to 0002 that holds a run started by alice
    every = db._migrations()
    monkeypatch.setattr(db, "_migrations", lambda: [m for m in every if m[0] < "0003"])
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
            conn.execute(
                "INSERT INTO runs (workspace_id, flow_id, version, status, created_by)"
                " VALUES (%s, %s, 1, 'SUCCEEDED', 'alice')",
                (ws[0], flow[0]),
            )
        # When the remaining migrations are applied
        monkeypatch.setattr(db, "_migrations", lambda: every)
        applied = apply_migrations(server.admin_url)
        # Then the run says alice started it
        assert "0003_run_actor.sql" in applied
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            rows = conn.execute("SELECT started_by_kind, started_by_id FROM runs").fetchall()
            assert rows == [("user", "alice")]
            # And a writer that predates the migration (no started_by) records the run's creator
            conn.execute(
                "INSERT INTO runs (workspace_id, flow_id, version, status, created_by)"
                " VALUES (%s, %s, 1, 'QUEUED', 'bob')",
                (ws[0], flow[0]),
            )
            latest = conn.execute("SELECT started_by_kind, started_by_id FROM runs WHERE created_by = 'bob'").fetchone()
            assert latest == ("user", "bob")
            # And an unknown kind of actor is refused
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(
                    "INSERT INTO runs (workspace_id, flow_id, version, status, created_by, started_by_kind,"
                    " started_by_id) VALUES (%s, %s, 1, 'QUEUED', 'x', 'robot', 'x')",
                    (ws[0], flow[0]),
                )
    finally:
        server.stop()
