"""Approval requests and decisions (migration 0013, issue 11)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...domain.records import Approval, ApprovalLink, ApprovalStatus, Cursor
from .rows import Jsonb, JsonbOrNull, Queries, record

_FINAL = ("approved", "rejected", "expired")
# A pending request whose token is no longer parked was closed by whatever closed the token (a cancel, a
# failed run, a reconciliation, a restart that interrupted the run): it reads as withdrawn or expired.
_STATUS = (
    "CASE WHEN a.status = 'pending' AND p.status = 'EXPIRED' THEN 'expired'"
    " WHEN a.status = 'pending' AND p.status IN ('WITHDRAWN', 'FAILED') THEN 'withdrawn' ELSE a.status END"
)
_FROM = (
    f"SELECT a.*, {_STATUS} AS effective_status FROM approvals a LEFT JOIN parked_tasks p"
    " ON p.run_id = a.run_id AND p.node_id = a.node_id AND p.iteration = a.iteration"
    " AND p.workspace_id = a.workspace_id"
)


def _approval(row: dict[str, Any]) -> Approval:
    return record(Approval, {**row, "status": row["effective_status"]})


class PostgresApprovals(Queries):
    def request(
        self,
        run_id: str,
        node_id: str,
        iteration: int,
        *,
        flow_id: str,
        title: str,
        message: str,
        approvers: Any,
        required_approvals: int,
        form: Any,
        on_timeout: str,
        remind_every_seconds: int | None,
        timeout_seconds: int,
        notify: Any = None,
    ) -> Approval:
        row = self._one(
            "INSERT INTO approvals (workspace_id, run_id, node_id, iteration, flow_id, title, message, approvers,"
            " required_approvals, form, on_timeout, remind_every_seconds, status, expires_at, notify)"
            " VALUES (%(ws)s, %(run)s, %(node)s, %(iteration)s, %(flow)s, %(title)s, %(message)s, %(approvers)s,"
            "  %(required)s, %(form)s, %(on_timeout)s, %(remind)s, 'pending', now() + make_interval(secs => %(t)s),"
            "  %(notify)s)"
            " ON CONFLICT (run_id, node_id, iteration) DO UPDATE SET title = EXCLUDED.title,"
            "  message = EXCLUDED.message, approvers = EXCLUDED.approvers,"
            "  required_approvals = EXCLUDED.required_approvals, form = EXCLUDED.form,"
            "  on_timeout = EXCLUDED.on_timeout, remind_every_seconds = EXCLUDED.remind_every_seconds,"
            "  expires_at = EXCLUDED.expires_at, notify = EXCLUDED.notify,"
            "  decisions = CASE WHEN approvals.status = 'pending' THEN approvals.decisions ELSE '[]' END,"
            "  outcome = NULL, decided_at = NULL, status = 'pending'"
            " RETURNING *",
            {
                "ws": self.workspace_id,
                "run": run_id,
                "node": node_id,
                "iteration": iteration,
                "flow": flow_id,
                "title": title,
                "message": message,
                "approvers": Jsonb(approvers),
                "required": required_approvals,
                "form": JsonbOrNull(form),
                "on_timeout": on_timeout,
                "remind": remind_every_seconds,
                "t": timeout_seconds,
                "notify": JsonbOrNull(notify),
            },
        )
        assert row is not None
        return record(Approval, row)

    def get(self, approval_id: str, for_update: bool = False) -> Approval | None:
        row = self._one(
            f"{_FROM} WHERE a.id = %s AND a.workspace_id = %s" + (" FOR UPDATE OF a" if for_update else ""),
            (approval_id, self.workspace_id),
        )
        return None if row is None else _approval(row)

    def of_node(self, run_id: str, node_id: str, iteration: int = 0) -> Approval | None:
        row = self._one(
            f"{_FROM} WHERE a.run_id = %s AND a.node_id = %s AND a.iteration = %s AND a.workspace_id = %s",
            (run_id, node_id, iteration, self.workspace_id),
        )
        return None if row is None else _approval(row)

    def newest(
        self,
        limit: int,
        after: Cursor | None = None,
        statuses: Sequence[ApprovalStatus] = (),
        run_id: str | None = None,
        flow_id: str | None = None,
        decider: tuple[str, str] | None = None,
    ) -> list[Approval]:
        where = ["a.workspace_id = %s"]
        params: list[Any] = [self.workspace_id]
        if statuses:
            where.append(f"({_STATUS}) = ANY(%s)")
            params.append(list(statuses))
        if run_id:
            where.append("a.run_id = %s")
            params.append(run_id)
        if flow_id:
            where.append("a.flow_id = %s")
            params.append(flow_id)
        if decider is not None:  # (user, role): requests that name the user, or the user's role
            where.append("(a.approvers->'users' ? %s OR a.approvers->'roles' ? %s)")
            params += list(decider)
        if after is not None:
            where.append("(a.created_at, a.id) < (%s::timestamptz, %s::uuid)")
            params += [after.created_at, after.id]
        rows = self._all(
            f"{_FROM} WHERE {' AND '.join(where)} ORDER BY a.created_at DESC, a.id DESC LIMIT %s",
            [*params, limit],
        )
        return [_approval(r) for r in rows]

    def record(
        self, approval_id: str, *, status: ApprovalStatus, decisions: Any, outcome: Any = None
    ) -> Approval | None:
        row = self._one(
            "UPDATE approvals SET status = %s, decisions = %s, outcome = %s,"
            " decided_at = CASE WHEN %s THEN now() ELSE decided_at END"
            " WHERE id = %s AND workspace_id = %s RETURNING *",
            (status, Jsonb(decisions), JsonbOrNull(outcome), status in _FINAL, approval_id, self.workspace_id),
        )
        return None if row is None else record(Approval, row)  # what was just written: its own status

    def close_pending(self, run_id: str, status: ApprovalStatus) -> list[Approval]:
        rows = self._all(
            "UPDATE approvals SET status = %s, decided_at = now() WHERE run_id = %s AND workspace_id = %s"
            " AND status = 'pending' RETURNING *",
            (status, run_id, self.workspace_id),
        )
        return [record(Approval, r) for r in rows]

    # -- notices and links (migration 0017) ------------------------------------------------------------------
    def schedule_notice(self, approval_id: str, due_at: datetime | None) -> None:
        if due_at is None:
            self._run("DELETE FROM approval_notices WHERE approval_id = %s", (approval_id,))
            return
        self._run(
            "INSERT INTO approval_notices (approval_id, workspace_id, due_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (approval_id) DO UPDATE SET due_at = EXCLUDED.due_at",
            (approval_id, self.workspace_id, due_at),
        )

    def notice_due_at(self, approval_id: str) -> datetime | None:
        row = self._one(
            "SELECT due_at FROM approval_notices WHERE approval_id = %s AND workspace_id = %s",
            (approval_id, self.workspace_id),
        )
        return None if row is None else row["due_at"]

    def due_notice(self, approval_id: str, now: datetime) -> bool:
        """Lock the approval's notice row if it is due (others skip it): True when this unit of work owns it."""
        row = self._one(
            "SELECT approval_id FROM approval_notices WHERE approval_id = %s AND workspace_id = %s AND due_at <= %s"
            " FOR UPDATE SKIP LOCKED",
            (approval_id, self.workspace_id, now),
        )
        return row is not None

    def due_notices(self, now: datetime, limit: int = 100) -> list[tuple[str, str]]:
        self._one("SELECT set_config('app.sweep', 'approval_notices', true)")
        rows = self._all(
            "SELECT workspace_id, approval_id FROM approval_notices WHERE due_at <= %s ORDER BY due_at LIMIT %s",
            (now, limit),
        )
        self._one("SELECT set_config('app.sweep', '', true)")
        return [(str(r["workspace_id"]), str(r["approval_id"])) for r in rows]

    def mark_notified(self, approval_id: str, now: datetime, reminder: bool) -> None:
        column = "last_reminded_at" if reminder else "notified_at"
        self._run(
            f"UPDATE approvals SET {column} = %s WHERE id = %s AND workspace_id = %s",
            (now, approval_id, self.workspace_id),
        )

    def issue_link(self, nonce: str, approval_id: str, recipient: str, expires_at: datetime) -> None:
        self._run(
            "INSERT INTO approval_links (nonce, workspace_id, approval_id, recipient, expires_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (nonce, self.workspace_id, approval_id, recipient, expires_at),
        )

    def link(self, nonce: str, for_update: bool = False) -> ApprovalLink | None:
        row = self._one(
            "SELECT * FROM approval_links WHERE nonce = %s AND workspace_id = %s"
            + (" FOR UPDATE" if for_update else ""),
            (nonce, self.workspace_id),
        )
        return None if row is None else record(ApprovalLink, row)

    def use_link(self, nonce: str) -> bool:
        return (
            self._run(
                "UPDATE approval_links SET used_at = now() WHERE nonce = %s AND workspace_id = %s AND used_at IS NULL",
                (nonce, self.workspace_id),
            )
            == 1
        )
