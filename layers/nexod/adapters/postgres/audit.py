"""The append-only audit log."""

from __future__ import annotations

from typing import Any

from ...domain.actor import Actor
from .rows import Jsonb, Queries


class PostgresAudit(Queries):
    def record(
        self,
        action: str,
        target_type: str,
        target_id: str,
        details: dict[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> None:
        who = actor.ref.label if actor is not None else (self.user_sub or "system")
        self._run(
            "INSERT INTO audit_log (workspace_id, actor, action, target_type, target_id, details)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (self.workspace_id, who, action, target_type, target_id, Jsonb(details or {})),
        )
