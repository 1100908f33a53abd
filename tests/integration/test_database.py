"""Tenancy in the database: forced row-level security, a non-owner app role, immutable versions."""

from __future__ import annotations

import psycopg
import pytest

from nexod.adapters.postgres import apply_migrations
from nexod.local.boot import LocalStack

TENANT_TABLES = [
    "workspaces",
    "members",
    "flows",
    "flow_versions",
    "runs",
    "node_runs",
    "audit_log",
    "agents",
    "agent_versions",
    "approval_notices",
    "approval_links",
]


def test_rls_is_enabled_and_forced_on_every_tenant_table(stack: LocalStack):
    with psycopg.connect(stack.platform.postgres.admin_url) as conn:
        rows = conn.execute(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(%s)",
            (TENANT_TABLES,),
        ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(TENANT_TABLES)
    assert all(r[1] and r[2] for r in rows), rows


def test_the_app_role_is_neither_owner_nor_superuser(stack: LocalStack):
    with psycopg.connect(stack.platform.postgres.app_url) as conn:
        user, superuser, bypass = conn.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        owners = {
            r[0]
            for r in conn.execute(
                "SELECT tableowner FROM pg_tables WHERE tablename = ANY(%s)", (TENANT_TABLES,)
            ).fetchall()
        }
    assert user == "nexod_app" and not superuser and not bypass
    assert "nexod_app" not in owners


def test_without_a_workspace_every_query_returns_nothing(stack: LocalStack, demo_ws: str):
    # Given data exists (the seeded demo workspace)
    # When the app role queries with no app.workspace_id set
    with psycopg.connect(stack.platform.postgres.app_url) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TENANT_TABLES}
    # Then it sees no rows at all
    assert counts == dict.fromkeys(TENANT_TABLES, 0)


def test_a_workspace_sees_only_its_own_rows(stack: LocalStack, demo_ws: str, lab_ws: str):
    store = stack.platform.services.store
    with store.tx(lab_ws) as tx:
        lab_flows = tx.conn.execute("SELECT count(*) AS n FROM flows").fetchone()["n"]
        other = tx.conn.execute("SELECT count(*) AS n FROM flows WHERE workspace_id = %s", (demo_ws,)).fetchone()
    with store.tx(demo_ws) as tx:
        demo_flows = tx.conn.execute("SELECT count(*) AS n FROM flows").fetchone()["n"]
    assert lab_flows == 0 and other["n"] == 0 and demo_flows >= 3


def test_rows_cannot_be_written_into_another_workspace(stack: LocalStack, demo_ws: str, lab_ws: str):
    # Given a transaction scoped to bob's lab
    with pytest.raises(psycopg.errors.InsufficientPrivilege), stack.platform.services.store.tx(lab_ws) as tx:
        # When it tries to insert a flow into the demo workspace / Then RLS's WITH CHECK refuses
        tx.conn.execute(
            "INSERT INTO flows (workspace_id, name, definition, created_by) VALUES (%s, 'x', '{}', 'me')",
            (demo_ws,),
        )


def test_published_versions_are_immutable(stack: LocalStack, demo_ws: str):
    with (
        psycopg.connect(stack.platform.postgres.admin_url) as conn,
        pytest.raises(psycopg.errors.RestrictViolation),
    ):
        conn.execute("UPDATE flow_versions SET description = 'rewritten' WHERE workspace_id = %s", (demo_ws,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), stack.platform.services.store.tx(demo_ws) as tx:
        tx.conn.execute("DELETE FROM flow_versions")


def test_migrations_are_idempotent_and_edits_are_detected(stack: LocalStack):
    admin = stack.platform.postgres.admin_url
    assert apply_migrations(admin) == []
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'tampered' WHERE name = '0001_initial.sql'")
        try:
            with pytest.raises(RuntimeError, match="edited after it was applied"):
                apply_migrations(admin)
        finally:
            import hashlib
            from importlib import resources

            text = (resources.files("nexod") / "migrations" / "0001_initial.sql").read_text()
            conn.execute(
                "UPDATE schema_migrations SET checksum = %s WHERE name = '0001_initial.sql'",
                (hashlib.sha256(text.encode()).hexdigest(),),
            )


def test_connections_wait_for_a_database_that_is_resuming(tmp_path):
    # Given a database that is not up yet (Aurora resuming from 0 ACU) and comes up 2 s later
    import threading
    import time

    from nexod.adapters.postgres import Database
    from nexod.local import pg

    data = tmp_path / "late-pg"
    holder: dict = {}

    def start_later() -> None:
        time.sleep(2)
        holder["pg"] = pg.start(data)

    url = f"postgresql://nexod_app:@/nexod?host={data}"
    starter = threading.Thread(target=start_later)
    starter.start()
    # When the app connects / Then it retries until the server answers, instead of failing the request
    db = Database(url, connect_retry_seconds=60)
    try:
        with db.tenant(None) as conn:
            assert conn.execute("SELECT current_user AS u").fetchone()["u"] == "nexod_app"
    finally:
        starter.join()
        db.close()
        holder["pg"].stop()


TRICKY = [
    "plain",
    "",
    "NULL",
    "null",
    'a "quote"',
    "back\\slash",
    "com,ma",
    "{braces}",
    " spaced ",
    "tab\there",
    "new\nline",
    "é ü 中",
    "\u3000ideographic space",
    None,
]


def test_typed_arrays_reach_postgres_as_the_lists_psycopg_sends_and_come_back_unchanged(stack: LocalStack):
    from nexod.adapters.postgres.rows import BoolArray, IntArray, Jsonb, JsonbArray, TextArray, cursor_of

    cases = [
        ("text[]", TextArray(TRICKY), list(TRICKY)),
        ("int4[]", IntArray([0, -3, None, 2**31 - 1]), [0, -3, None, 2**31 - 1]),
        ("boolean[]", BoolArray([True, False, None]), [True, False, None]),
        ("text[]", TextArray([]), []),
    ]
    documents = [{"a": 'x"y\\z', "n": [1, None, 2.5], "s": "é,{}"}, "text", None, [], {}]
    with stack.platform.admin_db.connection() as conn:
        for kind, typed, plain in cases:
            # Given a typed array and the plain list psycopg would send, when PostgreSQL reads both
            row = cursor_of(conn).execute(f"SELECT %s::{kind} AS typed, %s::{kind} AS plain", (typed, plain)).fetchone()
            # Then they are the same array, and it comes back as the list it was
            assert row is not None and row["typed"] == row["plain"] == plain, kind
        typed_json = JsonbArray([Jsonb(d) for d in documents] + [None])
        row = (
            cursor_of(conn)
            .execute(
                "SELECT %s::jsonb[] AS typed, %s::jsonb[] AS plain",
                (typed_json, [Jsonb(d) for d in documents] + [None]),
            )
            .fetchone()
        )
        assert row is not None and row["typed"] == row["plain"] == [*documents[:2], None, *documents[3:], None]
