"""Connections and transactions. Every transaction sets app.workspace_id / app.user_sub for row-level security."""

from __future__ import annotations

import hashlib
import logging
import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any, Self

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from ...domain.errors import NexodError
from .rows import cursor_of

log = logging.getLogger(__name__)

APP_ROLE = "nexod_app"
_MIGRATION_LOCK = 7_315_201  # pg_advisory_xact_lock key: one migrator at a time

Connection = psycopg.Connection[DictRow]
# Where a conninfo comes from when it can change (a rotated secret): called for every new connection with
# `refresh=False` (a cached value is fine), and with `refresh=True` after the server refused the password.
ConninfoSource = Callable[[bool], str]


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
# Each connection attempt may wait this long: Aurora holds a connection while it resumes from 0 ACU (~15 s).
CONNECT_TIMEOUT_SECONDS = 10


_SCOPE = "SELECT set_config('app.workspace_id', %s, true), set_config('app.user_sub', %s, true)"
# The node runner's transactions also plan their prepared statements once (`plan_cache_mode`, local to the
# transaction, in the same round trip): its statements look rows up by key, so the generic plan is the custom
# one, and re-planning the claim at every execution cost ~1 ms of server time (docs/decisions.md, 2026-11-27).
_SCOPE_GENERIC = _SCOPE + ", set_config('plan_cache_mode', 'force_generic_plan', true)"


def _auth_failed(exc: psycopg.OperationalError) -> bool:
    # libpq reports a refused password as text only (no SQLSTATE on a failed connection).
    return "password authentication failed" in str(exc)


class Database:
    """A psycopg_pool `ConnectionPool` that survives dropped connections and rotated passwords.

    Lambda holds at most one connection per container (`max_size=1`) and none once it has been idle
    (`min_size=0`; the server ends idle sessions after `idle_session_timeout`); the local server shares a
    pool sized for its widest fan-out between its threads. A pooled connection the server closed meanwhile
    (idle timeout, pg_terminate_backend, failover) is replaced transparently: it is checked without a round
    trip before use, and a transaction whose first statement finds it dead starts again on another one
    (nothing had been done in it yet). No connection within `connect_retry_seconds` (the pool keeps trying
    meanwhile, with backoff) is `DatabaseUnavailable`: the API's 503 with Retry-After.
    """

    def __init__(
        self,
        conninfo: str | ConninfoSource,
        max_size: int = 8,
        # The API's budget by default: it answers 503 well inside API Gateway's 29 s. Callers with more
        # time (node runner, execution events) pass more.
        connect_retry_seconds: float = 20.0,
        idle_session_timeout_ms: int | None = IDLE_SESSION_TIMEOUT_MS,
        name: str = "nexod",
    ) -> None:
        self._source = conninfo
        self._retry_seconds = connect_retry_seconds
        kwargs: dict[str, Any] = {
            "row_factory": dict_row,
            "autocommit": False,
            "connect_timeout": max(2, min(CONNECT_TIMEOUT_SECONDS, int(connect_retry_seconds))),
            # Server-side prepare on first use (psycopg's default waits for a statement's 5th run on that
            # connection). The node runner's claim and finish are planned once per pooled connection
            # instead of five times; with a pool of 48 connections that planning was a quarter of the
            # server's CPU per fan-out run (docs/decisions.md, 2026-11-26). Preparing costs no extra round trip.
            "prepare_threshold": 0,
        }
        if idle_session_timeout_ms:
            kwargs["options"] = f"-c idle_session_timeout={idle_session_timeout_ms}"
        self.pool: ConnectionPool[Connection] = ConnectionPool(
            conninfo if isinstance(conninfo, str) else (lambda: conninfo(False)),
            connection_class=self._connection_class(),
            kwargs=kwargs,
            min_size=0,  # nothing is connected before it is needed, nor kept once idle
            max_size=max_size,
            # Let go of connections unused this long, as the server would (one per interval, above min_size).
            max_idle=(idle_session_timeout_ms or 600_000) / 1000,
            timeout=connect_retry_seconds,
            # The workers keep connecting (backoff 1 s doubling) as long as a caller may still be waiting.
            reconnect_timeout=connect_retry_seconds,
            # One worker per connection up to three: a Lambda's pool starts two threads (scheduler + worker),
            # blocked on a queue between requests; they never delay a response or keep the container busy.
            num_workers=min(3, max_size),
            name=name,
            open=False,
        )
        self._opened = False

    def _connection_class(self) -> type[Connection]:
        source = self._source

        class _Connection(psycopg.Connection[DictRow]):
            """Connects again at once with a re-read conninfo when the server refused the password."""

            @classmethod
            def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:
                try:
                    return super().connect(conninfo, **kwargs)
                except psycopg.OperationalError as exc:
                    if isinstance(source, str) or not _auth_failed(exc):
                        raise
                    fresh = source(True)
                    if fresh == conninfo:
                        raise
                    log.warning("database password refused; connecting again with the re-read secret")
                    return super().connect(fresh, **kwargs)

        return _Connection

    def _open(self) -> ConnectionPool[Connection]:
        # Opening starts the pool's threads: only when a first connection is wanted, never at import.
        if not self._opened:
            self.pool.open()
            self._opened = True
        return self.pool

    @staticmethod
    def _looks_alive(conn: Connection) -> bool:
        """An idle connection has nothing to read; if the server wrote (a FATAL before closing) or the
        socket closed, it is dead. No round trip (psycopg_pool's `check_connection` costs one per use)."""
        if conn.closed or conn.broken or conn.info.transaction_status != TransactionStatus.IDLE:
            return False
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError, psycopg.Error):
            return False
        return not readable

    def _checkout(self) -> Connection:
        """A live connection from the pool within the budget; dead ones are closed (the pool replaces them,
        and this waits for the replacement: psycopg_pool's own `check` would back off 1 s, 2 s, ... after
        the second dead one, which idle timeouts make common)."""
        pool = self._open()
        deadline = time.monotonic() + self._retry_seconds
        try:
            while True:
                conn = pool.getconn(timeout=deadline - time.monotonic())
                if self._looks_alive(conn):
                    return conn
                log.info("pooled database connection was dead; reconnecting")
                conn.close()
                pool.putconn(conn)
        except PoolTimeout as exc:
            raise DatabaseUnavailable(
                "the database is not accepting connections (it may be resuming from pause): retry in a few seconds"
            ) from exc

    def _give_back(self, conn: Connection) -> None:
        """Return a connection outside any transaction; the pool replaces a broken one."""
        if not (conn.closed or conn.broken) and conn.info.transaction_status != TransactionStatus.IDLE:
            try:
                conn.rollback()  # a `connection()` user's reads; the pool would roll back too, with a warning
            except psycopg.Error:
                conn.close()
        self.pool.putconn(conn)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection for the caller's own statements (no workspace scope); rolled back when returned."""
        conn = self._checkout()
        try:
            yield conn
        finally:
            self._give_back(conn)

    @contextmanager
    def tenant(
        self, workspace_id: str | None, user_sub: str | None = None, *, generic_plans: bool = False
    ) -> Iterator[Connection]:
        """One transaction scoped to a workspace (and user, for listing their memberships); `generic_plans`:
        its prepared statements use their generic plan (statements that find rows by key only)."""
        scope = (workspace_id or "", user_sub or "")
        opening = _SCOPE_GENERIC if generic_plans else _SCOPE
        for attempt in range(2):
            conn = self._checkout()
            try:
                # Opens the transaction (autocommit is off); settings are local to it.
                cursor_of(conn).execute(opening, scope)
            except psycopg.OperationalError:
                self._give_back(conn)
                if attempt == 0:
                    # Dead without a trace on the socket (a silent network drop): nothing was done in it
                    # yet, so start again once, on another connection.
                    log.info("database connection died before its first statement; reconnecting")
                    continue
                raise
            except BaseException:
                self._give_back(conn)
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
        if self._opened:
            self.pool.close()


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
        # (each once its migration has run: a database being migrated step by step may not have it yet)
        # A workspace is deleted with a tombstone (0011): its row stays, as its audit log references it.
        for table, rights in (
            ("flow_versions", "UPDATE, DELETE"),
            ("agent_versions", "UPDATE, DELETE"),
            ("audit_log", "UPDATE, DELETE"),
            ("workspaces", "DELETE"),
        ):
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",)).fetchone()
            if exists is not None and exists[0]:
                conn.execute(
                    sql.SQL("REVOKE {} ON {} FROM {}").format(
                        sql.SQL(rights), sql.Identifier(table), sql.Identifier(role)
                    )
                )
        conn.execute(sql.SQL("REVOKE ALL ON schema_migrations FROM {}").format(sql.Identifier(role)))
        # Also enforced per connection by Database; on the role it covers any other client (psql, tools).
        conn.execute(
            sql.SQL("ALTER ROLE {} SET idle_session_timeout = {}").format(
                sql.Identifier(role), sql.Literal(IDLE_SESSION_TIMEOUT_MS)
            )
        )
