"""Approvals (issue 11): what the caller may decide, one approval, and deciding it exactly once.

A decision is recorded under the run's row lock (as cancel and every callback completion take it), appended
to the approval's decisions, and audited. The decision that settles it (any rejection, or the last approval
needed) also settles the node's parked token and records the node's output `{decision, by, comment, fields}`
in the same unit of work; SendTaskSuccess follows the commit (`nexod.runtime.callbacks`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from jsonschema import Draft202012Validator

from ..domain.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, Unauthorized
from ..domain.records import Approval, ApprovalStatus
from ..ports import UnitOfWork
from .access import authorize, parse_id
from .approval_links import LinkClaims
from .context import Principal, Services
from .paging import decode_cursor, page

if TYPE_CHECKING:
    from ..runtime.callbacks import Settled

log = logging.getLogger(__name__)

PAGE = 50
# The listing's `status`: pending, decided (approved or rejected), expired, withdrawn.
STATUS_FILTERS: dict[str, tuple[ApprovalStatus, ...]] = {
    "pending": ("pending",),
    "decided": ("approved", "rejected"),
    "expired": ("expired",),
    "withdrawn": ("withdrawn",),
}
MAX_COMMENT = 4000


def may_decide(approval: Approval, user: str, role: str) -> bool:
    approvers = approval.approvers if isinstance(approval.approvers, dict) else {}
    return user in (approvers.get("users") or []) or role in (approvers.get("roles") or [])


def view(approval: Approval, user: str, role: str) -> dict[str, Any]:
    return {
        "id": approval.id,
        "run_id": approval.run_id,
        "flow_id": approval.flow_id,
        "node_id": approval.node_id,
        "iteration": approval.iteration,
        "title": approval.title,
        "message": approval.message,
        "approvers": approval.approvers,
        "required_approvals": approval.required_approvals,
        "form": approval.form,
        "on_timeout": approval.on_timeout,
        "remind_every_seconds": approval.remind_every_seconds,
        "status": approval.status,
        "decisions": approval.decisions,
        "outcome": approval.outcome,
        "created_at": approval.created_at,
        "expires_at": approval.expires_at,
        "decided_at": approval.decided_at,
        "may_decide": approval.status == "pending"
        and may_decide(approval, user, role)
        and all(d.get("by") != user for d in approval.decisions or []),
    }


def list_approvals(
    services: Services,
    principal: Principal,
    workspace_id: str,
    status: str | None,
    run_id: str | None,
    flow_id: str | None,
    cursor: str | None,
    limit: int = PAGE,
) -> dict[str, Any]:
    """The approvals the caller may decide (named, or their role is), newest first."""
    if status is not None and status not in STATUS_FILTERS:
        raise InvalidInput(f"status: must be one of {', '.join(STATUS_FILTERS)}", {"field": "status"})
    run_id = parse_id(run_id, "run") if run_id else None
    flow_id = parse_id(flow_id, "flow") if flow_id else None
    after = decode_cursor(cursor) if cursor else None
    with services.store.tx(workspace_id, principal.sub) as uow:
        role = authorize(uow, principal, "approvals.read")
        found = uow.approvals.newest(
            limit + 1,
            after,
            STATUS_FILTERS[status] if status else (),
            run_id=run_id,
            flow_id=flow_id,
            decider=(principal.sub, role),
        )
    items, nxt = page(found, limit)
    return {"items": [view(a, principal.sub, role) for a in items], "next_cursor": nxt}


def get(services: Services, principal: Principal, workspace_id: str, approval_id: str) -> dict[str, Any]:
    approval_id = parse_id(approval_id, "approval")
    with services.store.tx(workspace_id, principal.sub) as uow:
        role = authorize(uow, principal, "approvals.read")
        approval = uow.approvals.get(approval_id)
    if approval is None:
        raise NotFound(f"approval '{approval_id}' not found")
    return view(approval, principal.sub, role)


def _check_fields(approval: Approval, fields: dict[str, Any]) -> None:
    """The approver's form values against the approval's form (a JSON Schema): 422 naming the first field."""
    if approval.form is None:
        if fields:
            raise InvalidInput("fields: this approval has no form", {"field": "fields"})
        return
    errors = sorted(Draft202012Validator(approval.form).iter_errors(fields), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(["fields", *(str(p) for p in first.absolute_path)])
        if first.validator == "required" and isinstance(first.validator_value, list):
            missing = [f for f in first.validator_value if isinstance(first.instance, dict) and f not in first.instance]
            if missing:
                where = f"{where}.{missing[0]}"
        raise InvalidInput(f"{where}: {first.message}", {"field": where})


def decide(
    services: Services,
    principal: Principal,
    workspace_id: str,
    approval_id: str,
    decision: Literal["approve", "reject"],
    comment: str | None,
    fields: dict[str, Any] | None,
) -> dict[str, Any]:
    """Record the caller's decision once. 404 outside the workspace, 403 for who is not an approver, 409 when
    it was decided (or withdrawn, or expired) already or the caller decided before, 422 for invalid fields."""
    approval_id = parse_id(approval_id, "approval")
    with services.store.tx(workspace_id, principal.sub) as uow:
        role = authorize(uow, principal, "approvals.decide")
        found = uow.approvals.get(approval_id)
        if found is None:
            raise NotFound(f"approval '{approval_id}' not found")

        def check(approval: Approval) -> None:
            if not may_decide(approval, principal.sub, role):
                raise Forbidden("you are not one of this approval's approvers")

        recorded, settled, waking = _decide_in(
            services, uow, found, principal.sub, decision, comment, fields or {}, check, via="member"
        )
    if settled is not None:
        services.callbacks.send(settled)
    stop_reminders(services, workspace_id, recorded.id, waking)
    return view(recorded, principal.sub, role)


def stop_reminders(services: Services, workspace_id: str, approval_id: str, due_at: datetime | None) -> None:
    """After a final decision, or a cancellation that withdrew the approval: delete the reminder's wake-up still
    waiting (the starter's one-time schedule).
    One that cannot be deleted only costs a wake-up that finds the approval decided and sends nothing."""
    if due_at is None or services.reminder_clock is None:
        return
    try:
        services.reminder_clock.clear(workspace_id, approval_id, due_at)
    except Exception as exc:  # the decision is recorded: a leftover wake-up sends nothing
        log.warning("approval %s: could not delete its reminder schedule: %s", approval_id, exc)


def _decide_in(
    services: Services,
    uow: UnitOfWork,
    found: Approval,
    by: str,
    decision: Literal["approve", "reject"],
    comment: str | None,
    fields: dict[str, Any],
    check: Callable[[Approval], None],
    via: str,
) -> tuple[Approval, Settled | None, datetime | None]:
    """The decision `by` someone, under the run's lock; `check` refuses who may not decide (before 409).
    Also answers when the reminder that a final decision cancelled was due (None: none was)."""
    settled = None
    waking = None
    run = uow.runs.get(found.run_id, for_update=True)  # first the run, like cancel and every completion
    approval = uow.approvals.get(found.id, for_update=True)
    if run is None or approval is None:
        raise NotFound(f"approval '{found.id}' not found")
    check(approval)
    if approval.status != "pending":
        raise Conflict(f"this approval is {approval.status} already")
    decisions = list(approval.decisions or [])
    if any(d.get("by") == by for d in decisions):
        raise Conflict("you have decided on this approval already")
    _check_fields(approval, fields)
    now = datetime.now(UTC).isoformat()
    decisions.append({"by": by, "decision": decision, "comment": comment, "fields": fields, "at": now})
    approvals = [d for d in decisions if d["decision"] == "approve"]
    final = decision == "reject" or len(approvals) >= approval.required_approvals
    status: ApprovalStatus = "pending"
    outcome = None
    if final:
        merged: dict[str, Any] = {}
        for d in approvals if decision == "approve" else decisions[-1:]:
            merged.update(d["fields"] or {})
        outcome = {"decision": decision, "by": by, "comment": comment, "fields": merged}
        # Settles the parked token (compare-and-set: a conflict if it is not parked any more) and records
        # the node's output, in this unit of work.
        settled = services.callbacks.settle(uow, run, approval.node_id, approval.iteration, output=outcome, by=by)
        status = "approved" if decision == "approve" else "rejected"
        waking = uow.approvals.notice_due_at(approval.id)
        uow.approvals.schedule_notice(approval.id, None)  # no more reminders
    recorded = uow.approvals.record(approval.id, status=status, decisions=decisions, outcome=outcome)
    assert recorded is not None
    uow.events.append(
        approval.run_id,
        "approval.decided",
        approval.node_id,
        approval.iteration,
        {"approval": approval.id, "title": approval.title, "decision": decision, "by": by, "final": final},
    )
    uow.audit.record(
        "approval.decide",
        "approval",
        approval.id,
        {
            "run": approval.run_id,
            "node": approval.node_id,
            "decision": decision,
            "final": final,
            "fields": sorted(fields),
            "via": via,
        },
    )
    return recorded, settled, waking


# -- signed one-time links (public routes: the token is the credential) --------------------------------------
def _link_scope(services: Services, token: str) -> LinkClaims:
    if services.approval_links is None:
        raise NotFound("approval links are not configured in this deployment")
    claims = services.approval_links.verify(token)
    parse_id(claims.approval_id, "approval")
    parse_id(claims.workspace_id, "workspace")
    return claims


def _usable_link(uow: UnitOfWork, claims: LinkClaims, for_update: bool = False) -> None:
    link = uow.approvals.link(claims.nonce, for_update=for_update)
    if link is None or link.approval_id != claims.approval_id or link.recipient != claims.recipient:
        raise Unauthorized("this approval link is not valid")
    if link.used_at is not None:
        raise Gone("link_used", "this approval link was used already")


def _link_view(approval: Approval) -> dict[str, Any]:
    return {
        "id": approval.id,
        "title": approval.title,
        "message": approval.message,
        "form": approval.form,
        "status": approval.status,
        "required_approvals": approval.required_approvals,
        "expires_at": approval.expires_at,
    }


def open_link(services: Services, token: str) -> dict[str, Any]:
    """What a link's recipient sees: the approval, its workspace's and flow's names. 401 for a token this
    deployment did not sign, 410 `link_expired` / `link_used`."""
    claims = _link_scope(services, token)
    with services.store.tx(claims.workspace_id, f"link:{claims.recipient}") as uow:
        _usable_link(uow, claims)
        approval = uow.approvals.get(claims.approval_id)
        if approval is None:
            raise NotFound("this approval no longer exists")
        workspace = uow.workspaces.current()
        flow = uow.flows.get(approval.flow_id)
    return {
        "approval": _link_view(approval),
        "workspace": {"name": workspace.name if workspace else ""},
        "flow": {"name": flow.name if flow else ""},
        "recipient": claims.recipient,
    }


def decide_by_link(
    services: Services,
    token: str,
    decision: Literal["approve", "reject"],
    comment: str | None,
    fields: dict[str, Any] | None,
) -> dict[str, Any]:
    """Decide through a link, once: `by` is `link:<email>`; the same 409 and 422 as the member route."""
    claims = _link_scope(services, token)
    by = f"link:{claims.recipient}"
    with services.store.tx(claims.workspace_id, by) as uow:
        found = uow.approvals.get(claims.approval_id)
        if found is None:
            raise NotFound("this approval no longer exists")

        def check(_: Approval) -> None:
            _usable_link(uow, claims, for_update=True)  # after the run's and the approval's locks

        recorded, settled, waking = _decide_in(
            services, uow, found, by, decision, comment, fields or {}, check, via="link"
        )
        if not uow.approvals.use_link(claims.nonce):
            raise Gone("link_used", "this approval link was used already")
    if settled is not None:
        services.callbacks.send(settled)
    stop_reminders(services, claims.workspace_id, recorded.id, waking)
    return _link_view(recorded)


def remind_due(services: Services, now: datetime | None = None) -> int:
    """The sweeper: send every approval notice due at `now` (first notices and reminders); how many went."""
    if services.notices is None:
        return 0
    return services.notices.remind_due(now)
