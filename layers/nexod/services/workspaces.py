"""Workspaces and their members."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from ..auth import subject_problem
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.records import Member, Workspace
from .access import authorize
from .context import Principal, Services


def _workspace_view(ws: Workspace) -> dict[str, Any]:
    return asdict(ws)


def _member_view(member: Member) -> dict[str, Any]:
    return asdict(member)


def me(services: Services, principal: Principal) -> dict[str, Any]:
    with services.store.tx(None, principal.sub) as uow:
        workspaces = uow.workspaces.of_user()
    return {"user": principal.as_user(), "workspaces": [asdict(w) for w in workspaces]}


def create_workspace(services: Services, principal: Principal, name: str) -> dict[str, Any]:
    workspace_id = str(uuid.uuid4())
    with services.store.tx(workspace_id, principal.sub) as uow:
        ws = uow.workspaces.create(name, principal.sub)
        uow.members.put(principal.sub, "admin", principal.email, principal.name)
        uow.audit.record("workspace.create", "workspace", workspace_id, {"name": name})
    return {"id": ws.id, "name": ws.name, "role": "admin", "created_at": ws.created_at}


def get_workspace(services: Services, principal: Principal, workspace_id: str) -> dict[str, Any]:
    with services.store.tx(workspace_id, principal.sub) as uow:
        role = authorize(uow, principal, "workspace.read")
        ws = uow.workspaces.current()
        assert ws is not None
    return {**_workspace_view(ws), "role": role}


def list_members(services: Services, principal: Principal, workspace_id: str) -> list[dict[str, Any]]:
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "members.read")
        return [_member_view(m) for m in uow.members.all()]


def put_member(
    services: Services,
    principal: Principal,
    workspace_id: str,
    user_sub: str,
    role: str,
    email: str | None,
    name: str | None,
) -> dict[str, Any]:
    problem = subject_problem(user_sub)  # the subject a token will carry: the same rules
    if problem is not None:
        raise InvalidInput(f"user: {problem}", {"field": "user", "in": "path"})
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "members.manage")
        current = uow.members.role_of(user_sub)
        if current == "admin" and role != "admin" and uow.members.count_admins() == 1:
            raise Conflict("a workspace keeps at least one admin; make someone else admin first")
        member = uow.members.put(user_sub, role, email, name)
        uow.audit.record("member.put", "member", user_sub, {"role": role, "previous_role": current})
    return _member_view(member)


def remove_member(services: Services, principal: Principal, workspace_id: str, user_sub: str) -> None:
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "members.manage")
        role = uow.members.role_of(user_sub)
        if role is None:
            raise NotFound(f"member '{user_sub}' not found")
        if role == "admin" and uow.members.count_admins() == 1:
            raise Conflict("cannot remove the last admin of a workspace")
        uow.members.remove(user_sub)
        uow.audit.record("member.remove", "member", user_sub)


def set_allowed_hosts(services: Services, principal: Principal, workspace_id: str, hosts: list[str]) -> dict[str, Any]:
    cleaned = []
    for host in hosts:
        h = host.strip().lower()
        if not h or "/" in h or " " in h:
            raise InvalidInput(f"allowed_hosts: '{host}' is not a host or host:port", {"field": "allowed_hosts"})
        cleaned.append(h)
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "workspace.allowed_hosts")
        before = uow.workspaces.current()
        ws = uow.workspaces.set_allowed_hosts(sorted(set(cleaned)))
        previous = sorted(before.allowed_hosts) if before else []
        uow.audit.record(
            "workspace.allowed_hosts",
            "workspace",
            workspace_id,
            {
                "allowed_hosts": cleaned,
                "added": sorted(set(cleaned) - set(previous)),
                "removed": sorted(set(previous) - set(cleaned)),
            },
        )
    assert ws is not None
    return _workspace_view(ws)
