"""Credential metadata. Values are never in this table: see the Vault adapters."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ...domain.records import Credential, DefinitionUse
from .rows import Queries, maybe, record

_COLUMNS = "name, type, description, fields, created_by, created_at, rotated_by, rotated_at, last_used_at, provider"


class PostgresCredentials(Queries):
    def create(
        self,
        name: str,
        type_name: str,
        description: str,
        fields: Sequence[str],
        created_by: str,
        provider: str | None = None,
    ) -> bool:
        try:
            with self.conn.transaction():  # a savepoint: a duplicate must not abort the caller's transaction
                self._run(
                    "INSERT INTO credentials (workspace_id, name, type, description, fields, created_by, provider)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (self.workspace_id, name, type_name, description, list(fields), created_by, provider),
                )
        except psycopg.errors.UniqueViolation:
            return False
        return True

    def get(self, name: str, for_update: bool = False) -> Credential | None:
        lock = " FOR UPDATE" if for_update else ""
        return maybe(
            Credential,
            self._one(
                f"SELECT {_COLUMNS} FROM credentials WHERE workspace_id = %s AND name = %s{lock}",
                (self.workspace_id, name),
            ),
        )

    def all(self) -> list[Credential]:
        rows = self._all(
            f"SELECT {_COLUMNS} FROM credentials WHERE workspace_id = %s ORDER BY name", (self.workspace_id,)
        )
        return [record(Credential, r) for r in rows]

    def update(
        self,
        name: str,
        *,
        description: str | None = None,
        fields: Sequence[str] | None = None,
        rotated_by: str | None,
        provider: str | None = None,
    ) -> Credential | None:
        rotated = fields is not None
        return maybe(
            Credential,
            self._one(
                "UPDATE credentials SET description = COALESCE(%s, description),"
                " fields = COALESCE(%s, fields), provider = COALESCE(%s, provider),"
                " rotated_by = CASE WHEN %s THEN %s ELSE rotated_by END,"
                " rotated_at = CASE WHEN %s THEN now() ELSE rotated_at END"
                f" WHERE workspace_id = %s AND name = %s RETURNING {_COLUMNS}",
                (
                    description,
                    list(fields) if fields is not None else None,
                    provider,
                    rotated,
                    rotated_by,
                    rotated,
                    self.workspace_id,
                    name,
                ),
            ),
        )

    def delete(self, name: str) -> bool:
        return self._run("DELETE FROM credentials WHERE workspace_id = %s AND name = %s", (self.workspace_id, name)) > 0

    def types_of(self, names: Sequence[str]) -> dict[str, str]:
        if not names:
            return {}
        rows = self._all(
            "SELECT name, type FROM credentials WHERE workspace_id = %s AND name = ANY(%s)",
            (self.workspace_id, list(names)),
        )
        return {str(r["name"]): str(r["type"]) for r in rows}

    def definitions_naming_secrets(self) -> list[DefinitionUse]:
        rows = self._all(
            "SELECT f.id AS flow_id, f.name AS flow_name, false AS live, f.definition FROM flows f"
            " WHERE f.workspace_id = %(ws)s AND f.deleted_at IS NULL AND f.definition::text LIKE '%%secrets.%%'"
            " UNION ALL"
            " SELECT f.id, f.name, true, v.definition FROM flows f"
            " JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.live_version"
            " WHERE f.workspace_id = %(ws)s AND f.deleted_at IS NULL AND v.definition::text LIKE '%%secrets.%%'"
            " ORDER BY flow_name, flow_id, live",
            {"ws": self.workspace_id},
        )
        return [record(DefinitionUse, r) for r in rows]

    def touch(self, names: Sequence[str]) -> None:
        if names:
            self._run(
                "UPDATE credentials SET last_used_at = now() WHERE workspace_id = %s AND name = ANY(%s)",
                (self.workspace_id, list(names)),
            )
