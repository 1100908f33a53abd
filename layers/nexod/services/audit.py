"""The audit log as admins read it: who did what, newest first (append-only; see migration 0007)."""

from __future__ import annotations

import re
from typing import Any

from ..domain.errors import InvalidInput
from .access import authorize
from .context import Principal, Services

PAGE = 50
_ACTION = re.compile(r"^[a-z_]+(\.[a-z_]+)*\.?$")


def _before(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18 or int(cursor) < 1:
        raise InvalidInput("cursor: not a cursor this API returned", {"field": "cursor"})
    return int(cursor)


def list_entries(
    services: Services,
    principal: Principal,
    workspace_id: str,
    cursor: str | None,
    action: str | None,
    limit: int = PAGE,
) -> dict[str, Any]:
    """A page of entries; `action` is one action (`credential.rotate`) or a family (`credential.`)."""
    before = _before(cursor)
    if action is not None and (len(action) > 64 or not _ACTION.match(action)):
        raise InvalidInput("action: an action such as member.put, or a family such as credential.", {"field": "action"})
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "audit.read")
        entries = uow.audit.newest(limit + 1, before, action)
    page = entries[:limit]
    nxt = str(page[-1].id) if len(entries) > limit else None
    items = [
        {
            "id": e.id,
            "actor": e.actor,
            "action": e.action,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "details": e.details,
            "created_at": e.created_at,
        }
        for e in page
    ]
    return {"items": items, "next_cursor": nxt}
