"""Connections and transactions. Every transaction sets app.workspace_id / app.user_sub for row-level security."""

from __future__ import annotations

import hashlib
import logging
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from ...domain.errors import NexodError

log = logging.getLogger(__name__)

APP_ROLE = "nexod_app"
_MIGRATION_LOCK = 7_315_201  # pg_advisory_xact_lock key: one migrator at a time


class DatabaseUnavailable(NexodError):
    """The database did not accept a connection in time (Aurora resuming from 0 ACU, a failover).

    The API answers 503 with `Retry-After`; callers with more time (the node runner) wait longer."""

    code = "database_unavailable"
    status = 503

    def __init__(self, message: str, retry_after: int = 10) -> None:
        super().__init__(message, {"retry_after_seconds": retry_after})
        self.retry_after = retry_after


# A connection idle this long is closed by the server: warm Lambda containers must not hold connections
# that keep Aurora Serverless from pausing (starter's idle cost assumes it pauses). Reconnecting costs
# one TLS handshake; set per connection (and on the app role, see ensure_app_role).
IDLE_SESSION_TIMEOUT_MS = 120_000


class Database:
    """A small connection pool (a list of idle connections) that survives dropped connections.

    Lambda keeps one connection per container; the local server a handful shared by its threads. A pooled
    connection the server closed meanwhile (idle timeout, pg_terminate_backend, failover) is replaced
    transparently: it is checked without a round trip before reuse, and a transaction whose first
    statement finds it dead starts again on a fresh one (nothing had been done in it yet).
    """

    def __init__(
        self,
        conninfo: str | Callable[[], str],
        max_idle: int = 8,
        # The API's budget by default: it answers 503 well inside API Gateway's 29 s. Callers with more
        # time (node runner, execution events) pass more.
        connect_retry_seconds: float = 20.0,
        idle_session_timeout_ms: int | None = IDLE_SESSION_TIMEOUT_MS,
    ) -> None:
        # A callable conninfo is re-read after an authentication failure (a rotated secret).
        self._conninfo_source = conninfo
        self._conninfo = conninfo if isinstance(conninfo, str) else conninfo()
        self._idle: list[psycopg.Connection[dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._max_idle = max_idle
        self._retry_seconds = connect_retry_seconds
        self._options = f"-c idle_session_timeout={idle_session_timeout_ms}" if idle_session_timeout_ms else None

    def _connect(self) -> psycopg.Connection[dict[str, Any]]:
        """Connect, waiting out an Aurora Serverless resume from 0 ACU (~15 s) and a rotated password,
        within `connect_retry_seconds` in all (each attempt's timeout fits in what is left)."""
        deadline = time.monotonic() + self._retry_seconds
        delay = 0.5
        refreshed = False
        while True:
            left = deadline - time.monotonic()
            extra: dict[str, Any] = {"options": self._options} if self._options else {}
            try:
                return psycopg.connect(
                    self._conninfo,
                    row_factory=dict_row,
                    autocommit=False,
                    connect_timeout=max(2, min(10, int(left))),
                    **extra,
                )
            except psycopg.OperationalError as exc:
                auth_failed = "password authentication failed" in str(exc)
                if auth_failed and not refreshed and callable(self._conninfo_source):
                    self._conninfo = self._conninfo_source()
                    refreshed = True
                    continue
                if auth_failed:
                    raise
                if time.monotonic() + delay > deadline:
                    raise DatabaseUnavailable(
                        "the database is not accepting connections (it may be resuming from pause): "
                        "retry in a few seconds"
                    ) from exc
                log.warning("database not reachable yet (%s); retrying in %.1fs", str(exc).strip()[:200], delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    @staticmethod
    def _looks_alive(conn: psycopg.Connection[dict[str, Any]]) -> bool:
        """An idle connection has nothing to read; if the server wrote (a FATAL before closing) or the
        socket closed, it is dead. No round trip."""
        if conn.closed or conn.broken or conn.info.transaction_status != TransactionStatus.IDLE:
            return False
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError, psycopg.Error):
            return False
        return not readable

    def _checkout(self) -> tuple[psycopg.Connection[dict[str, Any]], bool]:
        """(connection, came from the pool)."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect(), False
            if self._looks_alive(conn):
                return conn, True
            conn.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        conn, _ = self._checkout()
        try:
            yield conn
        finally:
            self._give_back(conn)

    def _give_back(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        if not (conn.closed or conn.broken):
            try:
                conn.rollback()  # no-op when idle; never hand out a connection inside a transaction
                with self._lock:
                    if len(self._idle) < self._max_idle:
                        self._idle.append(conn)
                        return
            except psycopg.Error:
                pass
        conn.close()

    @contextmanager
    def tenant(
        self, workspace_id: str | None, user_sub: str | None = None
    ) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """One transaction scoped to a workspace (and user, for listing their memberships)."""
        scope = (workspace_id or "", user_sub or "")
        for attempt in range(2):
            conn, pooled = self._checkout()
            try:
                # Opens the transaction (autocommit is off); settings are local to it.
                conn.execute(
                    "SELECT set_config('app.workspace_id', %s, true), set_config('app.user_sub', %s, true)", scope
                )
            except psycopg.OperationalError:
                conn.close()
                if pooled and attempt == 0:
                    log.info("pooled database connection was dead; reconnecting")
                    continue
                raise
            break
        try:
            yield conn
        except BaseException:
            if not (conn.closed or conn.broken):
                conn.rollback()
            raise
        else:
            conn.commit()
        finally:
            self._give_back(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _migrations() -> list[tuple[str, str]]:
    files = resources.files("nexod") / "migrations"
    found = sorted((f.name, f.read_text()) for f in files.iterdir() if f.name.endswith(".sql"))
    return found


def apply_migrations(admin_conninfo: str) -> list[str]:
    """Apply pending migrations in order, each in its own transaction; refuse edited ones."""
    applied: list[str] = []
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for name, text in _migrations():
            checksum = hashlib.sha256(text.encode()).hexdigest()
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                row = conn.execute("SELECT checksum FROM schema_migrations WHERE name = %s", (name,)).fetchone()
                if row:
                    if row[0] != checksum:
                        raise RuntimeError(
                            f"migration {name} was edited after it was applied; add a new migration instead"
                        )
                    continue
                conn.execute(text.encode())
                conn.execute("INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)", (name, checksum))
                applied.append(name)
                log.info("applied migration %s", name)
    return applied


def ensure_app_role(admin_conninfo: str, password: str | None = None, role: str = APP_ROLE) -> None:
    """Create (or update) the login role the app uses: not the owner, not a superuser, no BYPASSRLS."""
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        stmt = sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE").format(
            sql.Identifier(role)
        )
        if password:
            stmt = stmt + sql.SQL(" PASSWORD {}").format(sql.Literal(password))
        conn.execute(stmt)
        dbname = conn.info.dbname
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname), sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
                sql.Identifier(role)
            )
        )
        conn.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {}").format(sql.Identifier(role)))
        # Published versions are immutable and history is append-only, for the app as well.
        conn.execute(sql.SQL("REVOKE UPDATE, DELETE ON flow_versions FROM {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("REVOKE UPDATE, DELETE ON audit_log FROM {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("REVOKE ALL ON schema_migrations FROM {}").format(sql.Identifier(role)))
        # Also enforced per connection by Database; on the role it covers any other client (psql, tools).
        conn.execute(
            sql.SQL("ALTER ROLE {} SET idle_session_timeout = {}").format(
                sql.Identifier(role), sql.Literal(IDLE_SESSION_TIMEOUT_MS)
            )
        )
