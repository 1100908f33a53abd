"""Roles: viewers read, members build and run, admins manage members. Unknown workspaces are 404."""

from __future__ import annotations

import uuid

from ..adapters.postgres.store import Tx
from ..domain.errors import Forbidden, NotFound
from .context import Principal

RANK = {"viewer": 0, "member": 1, "admin": 2}
WHAT = {"viewer": "read", "member": "build and run flows", "admin": "manage the workspace"}


def parse_id(value: str, what: str) -> str:
    """Ids are UUIDs; anything else cannot exist, so it is a 404 like another workspace's id."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"{what} '{value}' not found") from None


def require(tx: Tx, principal: Principal, needed: str) -> str:
    role = tx.role_of(principal.sub)
    if role is None:
        raise NotFound(f"workspace '{tx.workspace_id}' not found")
    if RANK[role] < RANK[needed]:
        raise Forbidden(f"your role in this workspace is {role}; you need {needed} to {WHAT[needed]}")
    return role
