"""The append-only audit log."""

from __future__ import annotations

from typing import Any

from ...domain.actor import Actor
from ...domain.records import AuditEntry
from .rows import Jsonb, Queries, record


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

    def newest(self, limit: int, before: int | None = None, action: str | None = None) -> list[AuditEntry]:
        where: list[str] = ["workspace_id = %s"]
        params: list[object] = [self.workspace_id]
        if before is not None:
            where.append("id < %s")
            params.append(before)
        if action:
            where.append("starts_with(action, %s)" if action.endswith(".") else "action = %s")
            params.append(action)
        rows = self._all(
            "SELECT id, actor, action, target_type, target_id, details, created_at FROM audit_log"
            f" WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT %s",
            (*params, limit),
        )
        return [record(AuditEntry, r) for r in rows]
