"""Triggers and their deliveries (issue 12). The UNIQUE (trigger_id, idempotency_key) of
`trigger_deliveries` makes a delivery count once however many copies arrive at the same moment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from ...domain.records import TERMINAL, Trigger, TriggerDelivery
from .rows import Jsonb, Queries, maybe, record

_COLUMNS = (
    "id, flow_id, kind, config, enabled, version, input_mapping, secret_set_at, created_by, created_at,"
    " updated_at, last_fired_at, next_fire_at"
)
_DELIVERY = "id, trigger_id, received_at, idempotency_key, status, reason, run_id"
_CHANGEABLE = frozenset(
    {"config", "enabled", "version", "input_mapping", "next_fire_at", "secret_set_at", "last_fired_at"}
)


class PostgresTriggers(Queries):
    def create(
        self,
        flow_id: str,
        kind: str,
        config: dict[str, Any],
        enabled: bool,
        version: int | None,
        input_mapping: str | None,
        created_by: str,
        next_fire_at: datetime | None,
    ) -> Trigger:
        row = self._one(
            "INSERT INTO triggers (workspace_id, flow_id, kind, config, enabled, version, input_mapping,"
            f" created_by, next_fire_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
            (
                self.workspace_id,
                flow_id,
                kind,
                Jsonb(config),
                enabled,
                version,
                input_mapping,
                created_by,
                next_fire_at,
            ),
        )
        assert row is not None
        self._run(
            "INSERT INTO trigger_hooks (trigger_id, workspace_id) VALUES (%s, %s)", (row["id"], self.workspace_id)
        )
        return record(Trigger, row)

    def get(self, trigger_id: str, for_update: bool = False) -> Trigger | None:
        lock = " FOR UPDATE" if for_update else ""
        return maybe(
            Trigger,
            self._one(
                f"SELECT {_COLUMNS} FROM triggers WHERE workspace_id = %s AND id = %s{lock}",
                (self.workspace_id, trigger_id),
            ),
        )

    def of_flow(self, flow_id: str) -> list[Trigger]:
        rows = self._all(
            f"SELECT {_COLUMNS} FROM triggers WHERE workspace_id = %s AND flow_id = %s ORDER BY created_at, id",
            (self.workspace_id, flow_id),
        )
        return [record(Trigger, r) for r in rows]

    def all(self) -> list[Trigger]:
        rows = self._all(
            f"SELECT {_COLUMNS} FROM triggers WHERE workspace_id = %s ORDER BY created_at, id", (self.workspace_id,)
        )
        return [record(Trigger, r) for r in rows]

    def update(self, trigger_id: str, changes: dict[str, Any]) -> Trigger | None:
        unknown = set(changes) - _CHANGEABLE
        if unknown:
            raise ValueError(f"not changeable: {sorted(unknown)}")
        sets: list[sql.Composable] = [sql.SQL("{} = %s").format(sql.Identifier(name)) for name in changes]
        sets.append(sql.SQL("updated_at = now()"))
        values = [Jsonb(v) if name == "config" else v for name, v in changes.items()]
        query = sql.SQL("UPDATE triggers SET {} WHERE workspace_id = %s AND id = %s RETURNING {}").format(
            sql.SQL(", ").join(sets), sql.SQL(_COLUMNS)
        )
        row = self.conn.execute(query, (*values, self.workspace_id, trigger_id)).fetchone()
        return maybe(Trigger, row)

    def delete(self, trigger_id: str) -> bool:
        return (
            self._run("DELETE FROM triggers WHERE workspace_id = %s AND id = %s", (self.workspace_id, trigger_id)) > 0
        )

    def claim_due(self, now: datetime, limit: int = 20) -> list[Trigger]:
        rows = self._all(
            f"SELECT {_COLUMNS} FROM triggers WHERE workspace_id = %s AND kind = 'schedule' AND enabled"
            " AND next_fire_at <= %s ORDER BY next_fire_at LIMIT %s FOR UPDATE SKIP LOCKED",
            (self.workspace_id, now, limit),
        )
        return [record(Trigger, r) for r in rows]

    def record_delivery(
        self, trigger_id: str, idempotency_key: str, status: str, reason: str | None = None
    ) -> TriggerDelivery | None:
        try:
            with self.conn.transaction():  # a savepoint: a duplicate must not abort the caller's transaction
                row = self._one(
                    "INSERT INTO trigger_deliveries (workspace_id, trigger_id, idempotency_key, status, reason)"
                    f" VALUES (%s, %s, %s, %s, %s) RETURNING {_DELIVERY}",
                    (self.workspace_id, trigger_id, idempotency_key, status, reason),
                )
        except psycopg.errors.UniqueViolation:
            return None
        return maybe(TriggerDelivery, row)

    def delivery(self, trigger_id: str, idempotency_key: str) -> TriggerDelivery | None:
        return maybe(
            TriggerDelivery,
            self._one(
                f"SELECT {_DELIVERY} FROM trigger_deliveries WHERE workspace_id = %s AND trigger_id = %s"
                " AND idempotency_key = %s",
                (self.workspace_id, trigger_id, idempotency_key),
            ),
        )

    def settle_delivery(self, delivery_id: str, status: str, reason: str | None, run_id: str | None) -> None:
        self._run(
            "UPDATE trigger_deliveries SET status = %s, reason = %s, run_id = %s WHERE workspace_id = %s AND id = %s",
            (status, reason, run_id, self.workspace_id, delivery_id),
        )
        if status == "started":
            self._run(
                "UPDATE triggers SET last_fired_at = now() WHERE workspace_id = %s"
                " AND id = (SELECT trigger_id FROM trigger_deliveries WHERE workspace_id = %s AND id = %s)",
                (self.workspace_id, self.workspace_id, delivery_id),
            )

    def record_input(self, delivery_id: str, run_input: Any) -> None:
        self._run(
            "UPDATE trigger_deliveries SET run_input = %s WHERE workspace_id = %s AND id = %s",
            (Jsonb(run_input), self.workspace_id, delivery_id),
        )

    def settle_received(self, delivery_id: str, status: str, reason: str | None, run_id: str | None) -> bool:
        # The UPDATE locks the row and re-checks `status` after any concurrent settle commits: one wins.
        row = self._one(
            "UPDATE trigger_deliveries SET status = %s, reason = %s, run_id = %s"
            " WHERE workspace_id = %s AND id = %s AND status = 'received' RETURNING trigger_id",
            (status, reason, run_id, self.workspace_id, delivery_id),
        )
        if row is not None and status == "started":
            self._run(
                "UPDATE triggers SET last_fired_at = now() WHERE workspace_id = %s AND id = %s",
                (self.workspace_id, row["trigger_id"]),
            )
        return row is not None

    def unsettled(self, before: datetime, limit: int = 50) -> list[tuple[TriggerDelivery, bool, Any]]:
        rows = self._all(
            f"SELECT {_DELIVERY}, run_input IS NOT NULL AS kept, run_input FROM trigger_deliveries"
            " WHERE workspace_id = %s AND status = 'received' AND received_at < %s ORDER BY received_at LIMIT %s",
            (self.workspace_id, before, limit),
        )
        return [(record(TriggerDelivery, r), bool(r["kept"]), r["run_input"]) for r in rows]

    def deliveries(self, trigger_id: str, limit: int = 20) -> list[TriggerDelivery]:
        rows = self._all(
            f"SELECT {_DELIVERY} FROM trigger_deliveries WHERE workspace_id = %s AND trigger_id = %s"
            " ORDER BY received_at DESC, id LIMIT %s",
            (self.workspace_id, trigger_id, limit),
        )
        return [record(TriggerDelivery, r) for r in rows]

    def running(self, trigger_id: str) -> int:
        row = self._one(
            "SELECT count(*) AS n FROM runs WHERE workspace_id = %s AND started_by_kind = 'trigger'"
            " AND started_by_id = %s AND status <> ALL(%s)",
            (self.workspace_id, str(trigger_id), list(TERMINAL)),
        )
        return int(row["n"]) if row else 0

    def prune_deliveries(self, before: datetime) -> int:
        return self._run(
            "DELETE FROM trigger_deliveries WHERE workspace_id = %s AND received_at < %s", (self.workspace_id, before)
        )

    def workspace_of_hook(self, trigger_id: str) -> str | None:
        row = self._one("SELECT workspace_id FROM trigger_hooks WHERE trigger_id = %s", (trigger_id,))
        return str(row["workspace_id"]) if row else None
