"""Flows (drafts, soft-deleted) and their immutable versions."""

from __future__ import annotations

from typing import Any

from ...domain.records import Cursor, Flow, FlowSummary, FlowVersion, FlowVersionSummary
from ...ports.store import FlowChanges
from .rows import Jsonb, Queries, maybe, record

_CHANGEABLE = frozenset(FlowChanges.__annotations__)


class PostgresFlows(Queries):
    def create(self, name: str, description: str, definition: dict[str, Any]) -> Flow:
        row = self._one(
            "INSERT INTO flows (workspace_id, name, description, definition, created_by)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING *",
            (self.workspace_id, name, description, Jsonb(definition), self.user_sub),
        )
        assert row is not None
        return record(Flow, row)

    def newest(self, limit: int, after: Cursor | None = None) -> list[FlowSummary]:
        params: list[Any] = [self.workspace_id]
        where = ""
        if after is not None:
            where = " AND (created_at, id) < (%s::timestamptz, %s::uuid)"
            params += [after.created_at, after.id]
        rows = self._all(
            "SELECT id, name, description, live_version, latest_version, created_at, updated_at FROM flows"
            f" WHERE workspace_id = %s AND deleted_at IS NULL{where} ORDER BY created_at DESC, id DESC LIMIT %s",
            [*params, limit],
        )
        return [record(FlowSummary, r) for r in rows]

    def get(self, flow_id: str, for_update: bool = False) -> Flow | None:
        lock = " FOR UPDATE" if for_update else ""
        return maybe(
            Flow,
            self._one(
                f"SELECT * FROM flows WHERE id = %s AND workspace_id = %s AND deleted_at IS NULL{lock}",
                (flow_id, self.workspace_id),
            ),
        )

    def update(self, flow_id: str, changes: FlowChanges) -> Flow | None:
        assert set(changes) <= _CHANGEABLE, set(changes) - _CHANGEABLE
        if not changes:
            return self.get(flow_id)
        sets = ", ".join(f"{k} = %s" for k in changes)
        values = [Jsonb(v) if k == "definition" else v for k, v in changes.items()]
        return maybe(
            Flow,
            self._one(
                f"UPDATE flows SET {sets}, updated_at = now() WHERE id = %s AND workspace_id = %s"
                " AND deleted_at IS NULL RETURNING *",
                [*values, flow_id, self.workspace_id],
            ),
        )

    def delete(self, flow_id: str) -> bool:
        return (
            self._run(
                "UPDATE flows SET deleted_at = now() WHERE id = %s AND workspace_id = %s AND deleted_at IS NULL",
                (flow_id, self.workspace_id),
            )
            > 0
        )


class PostgresVersions(Queries):
    def add(
        self,
        flow_id: str,
        version: int,
        definition: dict[str, Any],
        asl: dict[str, Any],
        config_hash: str,
        version_arn: str | None,
        description: str,
    ) -> FlowVersion:
        row = self._one(
            "INSERT INTO flow_versions (workspace_id, flow_id, version, definition, asl, config_hash,"
            " state_machine_version_arn, description, created_by)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
            (
                self.workspace_id,
                flow_id,
                version,
                Jsonb(definition),
                Jsonb(asl),
                config_hash,
                version_arn,
                description,
                self.user_sub,
            ),
        )
        assert row is not None
        return record(FlowVersion, row)

    def of_flow(self, flow_id: str) -> list[FlowVersionSummary]:
        rows = self._all(
            "SELECT flow_id, version, config_hash, description, created_by, created_at, state_machine_version_arn"
            " FROM flow_versions WHERE flow_id = %s AND workspace_id = %s AND version > 0 ORDER BY version DESC",
            (flow_id, self.workspace_id),
        )
        return [record(FlowVersionSummary, r) for r in rows]

    def head(self, flow_id: str, version: int) -> FlowVersionSummary | None:
        return maybe(
            FlowVersionSummary,
            self._one(
                "SELECT flow_id, version, config_hash, description, created_by, created_at, state_machine_version_arn"
                " FROM flow_versions WHERE flow_id = %s AND version = %s AND workspace_id = %s",
                (flow_id, version, self.workspace_id),
            ),
        )

    def get(self, flow_id: str, version: int) -> FlowVersion | None:
        return maybe(
            FlowVersion,
            self._one(
                "SELECT * FROM flow_versions WHERE flow_id = %s AND version = %s AND workspace_id = %s",
                (flow_id, version, self.workspace_id),
            ),
        )
