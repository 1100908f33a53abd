"""Workspaces and their members."""

from __future__ import annotations

from collections.abc import Sequence

from ...domain.records import Member, Membership, Workspace
from .rows import Queries, maybe, record

_MEMBER = "user_sub, email, name, role, created_at"


class PostgresWorkspaces(Queries):
    def create(self, name: str, created_by: str) -> Workspace:
        row = self._one(
            "INSERT INTO workspaces (id, name, created_by) VALUES (%s, %s, %s) RETURNING *",
            (self.workspace_id, name, created_by),
        )
        assert row is not None
        return record(Workspace, row)

    def current(self) -> Workspace | None:
        return maybe(Workspace, self._one("SELECT * FROM workspaces WHERE id = %s", (self.workspace_id,)))

    def of_user(self) -> list[Membership]:
        rows = self._all(
            "SELECT w.id, w.name, m.role, w.created_at FROM members m JOIN workspaces w ON w.id = m.workspace_id"
            " WHERE m.user_sub = %s AND w.deleted_at IS NULL ORDER BY w.created_at, w.id",
            (self.user_sub,),
        )
        return [record(Membership, r) for r in rows]

    def mark_deleted(self, deleted_by: str) -> Workspace | None:
        marked = self._one(
            "UPDATE workspaces SET deleted_at = now(), deleted_by = %s WHERE id = %s AND deleted_at IS NULL"
            " RETURNING *",
            (deleted_by, self.workspace_id),
        )
        return record(Workspace, marked) if marked is not None else self.current()

    def complete_deletion(self) -> bool:
        return (
            self._run(
                "UPDATE workspaces SET deletion_completed_at = now()"
                " WHERE id = %s AND deleted_at IS NOT NULL AND deletion_completed_at IS NULL",
                (self.workspace_id,),
            )
            > 0
        )

    def set_allowed_hosts(self, hosts: Sequence[str]) -> Workspace | None:
        return maybe(
            Workspace,
            self._one(
                "UPDATE workspaces SET allowed_hosts = %s WHERE id = %s RETURNING *", (list(hosts), self.workspace_id)
            ),
        )

    def set_llm_settings(
        self,
        allowed_models: Sequence[str],
        default_model: str | None,
        requests_per_minute: int | None,
        tokens_per_minute: int | None,
    ) -> Workspace | None:
        return maybe(
            Workspace,
            self._one(
                "UPDATE workspaces SET llm_allowed_models = %s, llm_default_model = %s, llm_requests_per_minute = %s,"
                " llm_tokens_per_minute = %s WHERE id = %s RETURNING *",
                (list(allowed_models), default_model, requests_per_minute, tokens_per_minute, self.workspace_id),
            ),
        )


class PostgresMembers(Queries):
    def role_of(self, user_sub: str, *, deleting: bool = False) -> str | None:
        row = self._one(
            "SELECT m.role FROM members m JOIN workspaces w ON w.id = m.workspace_id"
            " WHERE m.workspace_id = %s AND m.user_sub = %s"
            " AND (w.deleted_at IS NULL OR (%s AND w.deletion_completed_at IS NULL))",
            (self.workspace_id, user_sub, deleting),
        )
        return str(row["role"]) if row else None

    def all(self) -> list[Member]:
        rows = self._all(
            f"SELECT {_MEMBER} FROM members WHERE workspace_id = %s ORDER BY created_at, user_sub",
            (self.workspace_id,),
        )
        return [record(Member, r) for r in rows]

    def put(self, user_sub: str, role: str, email: str | None = None, name: str | None = None) -> Member:
        row = self._one(
            "INSERT INTO members (workspace_id, user_sub, role, email, name) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (workspace_id, user_sub) DO UPDATE SET role = EXCLUDED.role,"
            " email = COALESCE(EXCLUDED.email, members.email), name = COALESCE(EXCLUDED.name, members.name)"
            f" RETURNING {_MEMBER}",
            (self.workspace_id, user_sub, role, email, name),
        )
        assert row is not None
        return record(Member, row)

    def remove(self, user_sub: str) -> bool:
        return (
            self._run("DELETE FROM members WHERE workspace_id = %s AND user_sub = %s", (self.workspace_id, user_sub))
            > 0
        )

    def count_admins(self) -> int:
        row = self._one(
            "SELECT count(*) AS n FROM members WHERE workspace_id = %s AND role = 'admin'",
            (self.workspace_id,),
        )
        return int(row["n"]) if row else 0
