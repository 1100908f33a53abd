"""PostgreSQL (psycopg 3): connections scoped to a workspace, migrations and the stores."""

from .db import Database, apply_migrations, ensure_app_role
from .uow import PostgresStore, PostgresUnitOfWork

__all__ = ["Database", "PostgresStore", "PostgresUnitOfWork", "apply_migrations", "ensure_app_role"]
