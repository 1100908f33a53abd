"""Per-workspace rate limits on Postgres (GCRA; the algorithm is in migrations/0006_rate_limits.sql)."""

from __future__ import annotations

from .db import Database


class PostgresRateLimiter:
    """The `RateLimiter` port. Every call is one short transaction: concurrent runners queue on one row."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire(self, workspace_id: str, bucket: str, amount: float, per_minute: float) -> float:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        with self._db.tenant(workspace_id) as conn:
            row = conn.execute(
                "SELECT nexod_rate_acquire(%s, %s, %s, %s) AS wait", (workspace_id, bucket, amount, per_minute)
            ).fetchone()
        assert row is not None
        return float(row["wait"])

    def settle(self, workspace_id: str, bucket: str, delta: float, per_minute: float) -> None:
        if per_minute <= 0 or delta == 0:
            return
        with self._db.tenant(workspace_id) as conn:
            conn.execute("SELECT nexod_rate_settle(%s, %s, %s, %s)", (workspace_id, bucket, delta, per_minute))
