"""The `approval` kind's runtime (issue 11): ask, then wait (a callback: nothing runs meanwhile).

Parking writes the approval request in the claim's unit of work (title and message rendered from upstream
outputs); `nexod.services.approvals.decide` completes it. When nobody decides in time, the Task times out
and `expire` applies the node's `on_timeout`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ...domain.nodes import NodeConfig
from ...domain.nodes.approval import ApprovalConfig
from ...domain.records import ParkedTask
from ...ports import UnitOfWork
from ..errors import NodeFailedError
from .base import NodeContext, expires, parks


@parks("approval")
def ask(config: NodeConfig, ctx: NodeContext, uow: UnitOfWork) -> dict[str, Any]:
    assert isinstance(config, ApprovalConfig)
    run = uow.runs.get(ctx.run_id)
    if run is None:
        raise NodeFailedError(f"node '{ctx.node_id}': run {ctx.run_id} does not exist")
    approval = uow.approvals.request(
        ctx.run_id,
        ctx.node_id,
        ctx.iteration,
        flow_id=run.flow_id,
        title=config.title,
        message=config.message,
        approvers=config.approvers.model_dump(),
        required_approvals=config.required_approvals,
        form=config.form,
        on_timeout=config.on_timeout,
        remind_every_seconds=config.remind_every_seconds,
        timeout_seconds=config.timeout_seconds,
        notify=config.notify.model_dump() if config.notify else None,
    )
    # Emails and chat go out after the commit (the runner's `on_parked`, or the sweeper): due now, if any.
    outside = config.notify is not None and bool(config.notify.emails or config.notify.chat_webhook_credential)
    uow.approvals.schedule_notice(approval.id, datetime.now(UTC) if outside else None)
    uow.events.append(
        ctx.run_id,
        "approval.requested",
        ctx.node_id,
        ctx.iteration,
        {
            "approval": approval.id,
            "title": approval.title,
            "flow_id": run.flow_id,
            "version": run.version,
            "console_path": f"#/w/{ctx.workspace_id}/approvals/{approval.id}",  # below the console's URL
        },
    )
    uow.audit.record(
        "approval.request", "approval", approval.id, {"run": ctx.run_id, "node": ctx.node_id, "attempt": ctx.attempt}
    )
    return {"approval": approval.id}


@expires("approval")
def expire(config: NodeConfig, uow: UnitOfWork, parked: ParkedTask | None) -> dict[str, Any]:
    """Nobody decided in time: `on_timeout` rejects, approves, or fails the node."""
    assert isinstance(config, ApprovalConfig)
    approval = uow.approvals.of_node(parked.run_id, parked.node_id, parked.iteration) if parked else None
    outcome: dict[str, Any] = {"decision": config.on_timeout, "by": "timeout", "comment": None, "fields": {}}
    if approval is not None:
        kept = outcome if config.on_timeout != "fail" else None
        uow.approvals.record(approval.id, status="expired", decisions=approval.decisions, outcome=kept)
        uow.approvals.schedule_notice(approval.id, None)
        uow.events.append(
            approval.run_id,
            "approval.expired",
            approval.node_id,
            approval.iteration,
            {"approval": approval.id, "title": approval.title, "decision": config.on_timeout, "by": "timeout"},
        )
        uow.audit.record(
            "approval.expire", "approval", approval.id, {"run": approval.run_id, "on_timeout": config.on_timeout}
        )
    if config.on_timeout == "fail":
        node = parked.node_id if parked else "?"
        raise NodeFailedError(f"node '{node}': nobody decided within {config.timeout_seconds} s (on_timeout: fail)")
    return outcome
