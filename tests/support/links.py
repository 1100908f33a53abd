"""A signed one-time approval link, issued as the notices service issues them (for route-level tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nexod.local.boot import LocalStack


def issue_link(stack: LocalStack, workspace_id: str, approval_id: str, email: str = "guest@example.com") -> str:
    signer = stack.platform.services.approval_links
    assert signer is not None, "local mode signs approval links"
    expires = datetime.now(UTC) + timedelta(days=1)
    claims = signer.issue(approval_id, workspace_id, email, expires)
    with stack.platform.services.store.tx(workspace_id) as uow:
        uow.approvals.issue_link(claims.nonce, approval_id, email, expires)
    return signer.token(claims)
