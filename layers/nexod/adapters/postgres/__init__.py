"""PostgreSQL (psycopg 3): connections scoped to a workspace, migrations and the stores."""

from .db import Database, apply_migrations, ensure_app_role
from .store import PostgresStore

__all__ = ["Database", "PostgresStore", "apply_migrations", "ensure_app_role"]
