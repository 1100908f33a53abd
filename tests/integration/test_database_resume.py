"""Connections that warm Lambdas hold: closed by the server when idle (so Aurora can pause), replaced
transparently when dead, and a 503 with Retry-After while the database does not answer."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import psycopg
import pytest

from nexod.adapters.postgres import Database, PostgresStore
from nexod.adapters.postgres.db import IDLE_SESSION_TIMEOUT_MS, DatabaseUnavailable
from nexod.local.boot import LocalStack
from nexod.services.context import Principal, Services

NOWHERE = "postgresql://nexod_app@127.0.0.1:1/nexod"  # nothing listens on port 1


def _pid(db: Database) -> int:
    with db.tenant(None) as conn:
        row = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()
    assert row is not None
    return int(row["pid"])


def _terminate(admin_url: str, pid: int) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


def test_a_pooled_connection_killed_by_the_server_is_replaced_transparently(stack: LocalStack) -> None:
    # Given a pool holding one idle connection
    pg = stack.platform.postgres
    db = Database(pg.app_url, max_size=1)
    first = _pid(db)
    # When an admin terminates its backend (as a failover or an idle timeout would)
    _terminate(pg.admin_url, first)
    time.sleep(0.1)
    # Then the next transaction works, on a new backend
    assert _pid(db) != first
    db.close()


def test_a_dead_connection_the_liveness_check_cannot_see_is_retried_once(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a pooled connection whose death leaves no trace on the socket (a silent network drop)
    pg = stack.platform.postgres
    db = Database(pg.app_url, max_size=1)
    first = _pid(db)
    _terminate(pg.admin_url, first)
    time.sleep(0.1)
    monkeypatch.setattr(Database, "_looks_alive", staticmethod(lambda conn: True))
    # When the next transaction starts on it
    # Then its first statement fails, and the transaction starts again on a fresh connection
    assert _pid(db) != first
    db.close()


def test_idle_connections_are_closed_by_the_server_and_reconnected(stack: LocalStack) -> None:
    # Given a pool whose connections the server closes after 300 ms idle
    pg = stack.platform.postgres
    db = Database(pg.app_url, max_size=1, idle_session_timeout_ms=300)
    with db.tenant(None) as conn:
        shown = conn.execute("SHOW idle_session_timeout").fetchone()
    assert shown == {"idle_session_timeout": "300ms"}
    first = _pid(db)
    # When it stays idle longer than that
    time.sleep(0.8)
    # Then the server has ended that backend, and the next transaction still works
    with psycopg.connect(pg.admin_url) as admin:
        alive = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (first,)).fetchone()
    assert alive == (0,)
    assert _pid(db) != first
    db.close()


def test_the_app_role_itself_carries_the_idle_session_timeout(stack: LocalStack) -> None:
    # Given the app role as ensure_app_role leaves it
    # When another client (psql, a tool) connects as it without options
    with psycopg.connect(stack.platform.postgres.app_url) as conn:
        shown = conn.execute("SHOW idle_session_timeout").fetchone()
    # Then idle sessions are still closed
    assert shown == (f"{IDLE_SESSION_TIMEOUT_MS // 60_000}min",)


def test_a_lambda_pool_holds_one_connection_and_starts_no_thread_before_it_is_used(stack: LocalStack) -> None:
    # Given a Lambda's pool (at most one connection), built at cold start
    before = {t.name for t in threading.enumerate()}
    db = Database(stack.platform.postgres.app_url, max_size=1, name="lambda-test")
    # Then nothing runs or connects until a transaction needs it
    assert {t.name for t in threading.enumerate()} == before
    # When four threads start transactions at once
    pids: list[int] = []

    def work() -> None:
        with db.tenant(None) as conn:
            row = conn.execute("SELECT pg_backend_pid() AS pid, pg_sleep(0.05)").fetchone()
        assert row is not None
        pids.append(int(row["pid"]))

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    # Then they took turns on one connection, and the pool runs two idle threads (its scheduler and worker)
    assert len(pids) == 4 and len(set(pids)) == 1
    assert sorted(t.name for t in threading.enumerate() if t.name.startswith("lambda-test")) == [
        "lambda-test-scheduler",
        "lambda-test-worker-0",
    ]
    db.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("lambda-test")]


def test_the_local_pool_fits_the_widest_fan_out_the_server_accepts(stack: LocalStack) -> None:
    from nexod.domain.flow import MAX_NODES
    from nexod.local.platform import LOCAL_POOL_HEADROOM, local_pool_size

    # Given the embedded server's connection limit
    with psycopg.connect(stack.platform.postgres.admin_url) as conn:
        row = conn.execute("SELECT current_setting('max_connections')::int AS m").fetchone()
    assert row is not None
    # When the local composition root sizes the app's pool
    store = stack.platform.services.store
    assert isinstance(store, PostgresStore)
    size = store.db.pool.max_size
    # Then it is as wide as a flow can fan out, less what the server keeps for others
    assert size == local_pool_size(stack.platform.postgres.admin_url)
    assert size == min(MAX_NODES, row[0] - 3 - LOCAL_POOL_HEADROOM)
    assert store.db.pool.min_size == 0


def test_an_unreachable_database_is_a_503_within_the_budget() -> None:
    # Given a database that accepts no connection
    db = Database(NOWHERE, connect_retry_seconds=1)
    started = time.monotonic()
    # When a transaction starts
    with pytest.raises(DatabaseUnavailable) as raised, db.tenant(None):
        pass
    # Then it gives up within its budget with a 503 that says when to retry
    assert time.monotonic() - started < 5
    assert raised.value.status == 503 and raised.value.retry_after > 0


class _Verifier:
    def verify(self, authorization: str | None) -> Principal:
        return Principal(sub="alice")


def test_the_api_answers_503_with_retry_after_while_the_database_resumes(stack: LocalStack) -> None:
    from functions.api import handler as api

    # Given the API wired to a database that does not answer yet
    services = Services(
        store=PostgresStore(Database(NOWHERE, connect_retry_seconds=1)),
        orchestrator=stack.platform.services.orchestrator,
        runner_arns=stack.platform.services.runner_arns,
        state_machine_prefix="nexod",
    )
    previous = (api._services, api._verifier)
    api.configure(services, _Verifier())  # type: ignore[arg-type]
    try:
        # When a request needs it
        response: dict[str, Any] = api.handler(_event("GET", "/v1/workspaces"), _Context())
    finally:
        api._services, api._verifier = previous
    # Then the answer is a 503 JSON error with Retry-After, not a timeout
    assert response["statusCode"] == 503
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    multi = {k.lower(): v for k, v in (response.get("multiValueHeaders") or {}).items()}
    assert headers.get("retry-after") == "10" or multi.get("retry-after") == ["10"]
    assert json.loads(response["body"])["error"]["code"] == "database_unavailable"


def _event(method: str, path: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"authorization": "Bearer x"},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "test",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


class _Context:
    function_name = "api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api"
    aws_request_id = "test"
