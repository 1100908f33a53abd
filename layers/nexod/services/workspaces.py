"""Workspaces and their members."""

from __future__ import annotations

import uuid
from typing import Any

from ..auth import subject_problem
from ..domain.errors import Conflict, InvalidInput, NotFound
from .access import authorize
from .context import Principal, Services


def me(services: Services, principal: Principal) -> dict[str, Any]:
    with services.store.tx(None, principal.sub) as tx:
        workspaces = tx.workspaces_of_user()
    return {"user": principal.as_user(), "workspaces": workspaces}


def create_workspace(services: Services, principal: Principal, name: str) -> dict[str, Any]:
    workspace_id = str(uuid.uuid4())
    with services.store.tx(workspace_id, principal.sub) as tx:
        ws = tx.create_workspace(workspace_id, name, principal.as_user())
        tx.audit("workspace.create", "workspace", workspace_id, {"name": name})
    return {"id": ws["id"], "name": ws["name"], "role": "admin", "created_at": ws["created_at"]}


def get_workspace(services: Services, principal: Principal, workspace_id: str) -> dict[str, Any]:
    with services.store.tx(workspace_id, principal.sub) as tx:
        role = authorize(tx, principal, "workspace.read")
        ws = tx.get_workspace()
        assert ws is not None
    return {**ws, "role": role}


def list_members(services: Services, principal: Principal, workspace_id: str) -> list[dict[str, Any]]:
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "members.read")
        return tx.list_members()


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
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "members.manage")
        current = tx.role_of(user_sub)
        if current == "admin" and role != "admin" and tx.count_admins() == 1:
            raise Conflict("a workspace keeps at least one admin; make someone else admin first")
        member = tx.add_member(user_sub, role, email, name)
        tx.audit("member.put", "member", user_sub, {"role": role})
    return member


def remove_member(services: Services, principal: Principal, workspace_id: str, user_sub: str) -> None:
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "members.manage")
        role = tx.role_of(user_sub)
        if role is None:
            raise NotFound(f"member '{user_sub}' not found")
        if role == "admin" and tx.count_admins() == 1:
            raise Conflict("cannot remove the last admin of a workspace")
        tx.remove_member(user_sub)
        tx.audit("member.remove", "member", user_sub)


def set_allowed_hosts(services: Services, principal: Principal, workspace_id: str, hosts: list[str]) -> dict[str, Any]:
    cleaned = []
    for host in hosts:
        h = host.strip().lower()
        if not h or "/" in h or " " in h:
            raise InvalidInput(f"allowed_hosts: '{host}' is not a host or host:port", {"field": "allowed_hosts"})
        cleaned.append(h)
    with services.store.tx(workspace_id, principal.sub) as tx:
        authorize(tx, principal, "workspace.allowed_hosts")
        ws = tx.set_allowed_hosts(sorted(set(cleaned)))
        tx.audit("workspace.allowed_hosts", "workspace", workspace_id, {"allowed_hosts": cleaned})
    assert ws is not None
    return ws
